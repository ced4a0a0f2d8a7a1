//! Rendering a message from its templates (`templates/email/<lang>/`): an e-mail with its subject,
//! plain-text and HTML parts and its headers, or a text message of at most 160 characters. Only
//! the city's name, the request's reference and subject, the links and the expiry date go in:
//! no other personal data.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lettre::message::{
    Mailbox, Message, MultiPart, SinglePart,
    header::{HeaderName, HeaderValue},
};
use minijinja::context;

use crate::domain::Locale;
use crate::i18n;
use crate::templates::Templates;

/// The longest text message sent (one SMS segment in GSM-7; longer ones are cut by carriers).
pub const SMS_MAX_CHARS: usize = 160;

/// What one message says.
#[derive(Debug, Clone)]
pub struct Content {
    pub locale: Locale,
    pub reminder: bool,
    pub city: String,
    /// The request's CRM reference.
    pub reference: String,
    /// What the request was about (the service's name), if known.
    pub subject: Option<String>,
    pub link: String,
    pub opt_out_link: String,
    pub expires_at: DateTime<Utc>,
}

/// A rendered e-mail's parts.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("cannot render the message: {0}")]
    Template(#[from] minijinja::Error),
    #[error("cannot build the message: {0}")]
    Build(String),
}

fn template(locale: Locale, part: &str) -> String {
    format!("email/{}/{part}.j2", locale.as_str())
}

fn values(content: &Content, zone: Tz) -> minijinja::Value {
    let expires = i18n::long_date(content.expires_at.with_timezone(&zone).date_naive(), content.locale);
    context! {
        reminder => content.reminder,
        city => &content.city,
        reference => &content.reference,
        subject => &content.subject,
        link => &content.link,
        opt_out_link => &content.opt_out_link,
        expires => expires,
    }
}

pub fn render(templates: &Templates, content: &Content, zone: Tz) -> Result<Rendered, MessageError> {
    let ctx = values(content, zone);
    let render = |part: &str| templates.render(&template(content.locale, part), content.locale, ctx.clone());
    Ok(Rendered {
        subject: render("message.subject")?.trim().to_owned(),
        text: render("message.txt")?,
        html: render("message.html")?,
    })
}

/// The text of a text message, at most `SMS_MAX_CHARS` characters: the template's, or the link
/// alone after the city's name when a long subject or city name would not fit.
pub fn render_sms(templates: &Templates, content: &Content, zone: Tz) -> Result<String, MessageError> {
    let text = templates.render(&template(content.locale, "sms.txt"), content.locale, values(content, zone))?;
    let text = text.trim().to_owned();
    if text.chars().count() <= SMS_MAX_CHARS {
        return Ok(text);
    }
    let short = format!("{}: {}", content.city, content.link);
    Ok(if short.chars().count() <= SMS_MAX_CHARS { short } else { content.link.clone() })
}

/// The stable identity of an outbox message: a resend after a crash carries the same one.
pub fn message_id(outbox_id: i64, invitation_id: i64, from: &Mailbox) -> String {
    format!("<outbox-{outbox_id}.invitation-{invitation_id}@{}>", from.email.domain())
}

/// The e-mail as SMTP sends it (RFC 5322): multipart/alternative with the plain text first,
/// `List-Unsubscribe` with its one-click POST (RFC 8058), `Auto-Submitted`, `Content-Language`.
pub fn email(
    rendered: Rendered,
    from: &Mailbox,
    to: &str,
    message_id: String,
    content: &Content,
    now: DateTime<Utc>,
) -> Result<Message, MessageError> {
    let to: Mailbox = to.parse().map_err(|e| MessageError::Build(format!("the contact address is not usable: {e}")))?;
    let raw = |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(message_id))
        .date(now.into())
        .raw_header(raw("Content-Language", content.locale.html_lang().into()))
        .raw_header(raw("List-Unsubscribe", format!("<{}>", content.opt_out_link)))
        .raw_header(raw("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
        .raw_header(raw("Auto-Submitted", "auto-generated".into()))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(rendered.text))
                .singlepart(SinglePart::html(rendered.html)),
        )
        .map_err(|e| MessageError::Build(e.to_string()))
}
