//! `GET /s/<token>` and `POST /s/<token>`: the survey a citizen answers, server-rendered, no
//! JavaScript. Unknown links 404, closed ones 410, answered ones 200 with a page saying so (409
//! to a second POST). Look-ups of unknown links are limited per client address; valid links never
//! are.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use minijinja::{Value, context};
use rocket::{
    Request, State,
    form::Form,
    get,
    http::{ContentType, Header, Status},
    post,
    request::{FromRequest, Outcome},
    response::{self, Responder, Response},
    routes,
};

use crate::domain::Locale;
use crate::domain::survey_token::{form_token, form_token_matches};
use crate::jobs::Jobs;
use crate::survey::{
    self, Invitation, QuestionnaireCache, Status as LinkStatus,
    questionnaire::{FieldError, Kind, Questionnaire},
};
use crate::templates::Templates;
use crate::web::error::AppError;
use crate::web::page::PageMeta;

use crate::survey::FORM_PURPOSE;

/// The client's address, when known (a local test client has none).
pub struct ClientAddress(pub Option<IpAddr>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddress {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(ClientAddress(request.client_ip()))
    }
}

/// Counts look-ups of unknown links per client address and minute.
pub struct UnknownLinkLimiter {
    per_minute: u32,
    seen: Mutex<HashMap<Option<IpAddr>, Window>>,
}

/// The minute counted from, and the unknown links seen since.
type Window = (DateTime<Utc>, u32);

impl UnknownLinkLimiter {
    pub fn new(per_minute: u32) -> UnknownLinkLimiter {
        UnknownLinkLimiter { per_minute, seen: Mutex::new(HashMap::new()) }
    }

    /// Count one more unknown link from `address`; whether it is over the limit.
    fn over_limit(&self, address: Option<IpAddr>, now: DateTime<Utc>) -> bool {
        if self.per_minute == 0 {
            return false;
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (since, _)| now - *since < Duration::minutes(1));
        }
        let entry = seen.entry(address).or_insert((now, 0));
        if now - entry.0 >= Duration::minutes(1) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 > self.per_minute
    }
}

/// A page with its status (and `Retry-After` for 429).
pub struct SurveyPage {
    status: Status,
    html: String,
}

impl<'r> Responder<'r, 'static> for SurveyPage {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::HTML)
            .sized_body(self.html.len(), std::io::Cursor::new(self.html));
        if self.status == Status::TooManyRequests {
            response.header(Header::new("Retry-After", "60"));
        }
        Ok(response.finalize())
    }
}

fn message(
    templates: &Templates,
    page: &PageMeta,
    status: Status,
    key: &str,
    follow_up: bool,
) -> Result<SurveyPage, AppError> {
    let ctx = context! {
        path => page.path.clone(),
        title_key => format!("survey.{key}_title"),
        message_key => format!("survey.{key}"),
        follow_up,
    };
    Ok(SurveyPage { status, html: templates.render("survey_message.html.j2", page.locale, ctx)? })
}

/// The page for a link that is not open (unknown, answered, closed), or `None` when it is.
fn not_open(
    templates: &Templates,
    page: &PageMeta,
    invitation: Option<&Invitation>,
    limiter: &UnknownLinkLimiter,
    address: &ClientAddress,
    now: DateTime<Utc>,
    answered_status: Status,
) -> Result<Option<SurveyPage>, AppError> {
    let Some(invitation) = invitation else {
        if limiter.over_limit(address.0, now) {
            return message(templates, page, Status::TooManyRequests, "too_many", false).map(Some);
        }
        return message(templates, page, Status::NotFound, "unknown", false).map(Some);
    };
    match invitation.status(now) {
        LinkStatus::Open => Ok(None),
        LinkStatus::Answered => message(templates, page, answered_status, "answered", false).map(Some),
        LinkStatus::Closed => message(templates, page, Status::Gone, "expired", false).map(Some),
    }
}

/// An open link and what its form is made of.
struct OpenSurvey<'a> {
    token: &'a str,
    key: &'a [u8],
    invitation: &'a Invitation,
    questionnaire: &'a Questionnaire,
}

/// What the survey pages keep between requests: the limit on unknown links, the active
/// questionnaire, and the questions of a blank form, rendered once per version and language
/// (most of a page view's work otherwise: 132 radio buttons through the template engine).
pub struct SurveyPages {
    limiter: UnknownLinkLimiter,
    questionnaires: QuestionnaireCache,
    blank_forms: RwLock<HashMap<(i32, Locale), Arc<String>>>,
    /// Invitations of links viewed in the last `VIEWED_FOR`, by link: a citizen opening the page
    /// again (or a preview a mail client makes) costs no query. Only page views read it; a
    /// submission always reads the database, and drops the link from here. Unknown links are
    /// not kept (a guesser would fill it).
    viewed: Mutex<HashMap<String, (DateTime<Utc>, Invitation)>>,
}

/// How long a viewed link's invitation is kept: an invitation that expired or was opted out
/// meanwhile may show its form that much longer (its submission is then refused).
const VIEWED_FOR: Duration = Duration::seconds(10);
const VIEWED_MAX: usize = 50_000;

impl SurveyPages {
    pub fn new(unknown_links_per_minute: u32) -> SurveyPages {
        SurveyPages {
            limiter: UnknownLinkLimiter::new(unknown_links_per_minute),
            questionnaires: QuestionnaireCache::default(),
            blank_forms: RwLock::new(HashMap::new()),
            viewed: Mutex::new(HashMap::new()),
        }
    }

    /// The invitation of a link, for a page view.
    async fn invitation_for_view(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Invitation>, sea_orm::DbErr> {
        if let Some((at, invitation)) = self.viewed.lock().unwrap_or_else(|p| p.into_inner()).get(token)
            && now - *at < VIEWED_FOR
            && *at <= now
        {
            return Ok(Some(invitation.clone()));
        }
        let invitation = survey::find(db, token).await?;
        if let Some(invitation) = &invitation {
            let mut viewed = self.viewed.lock().unwrap_or_else(|p| p.into_inner());
            if viewed.len() >= VIEWED_MAX {
                viewed.retain(|_, (at, _)| now - *at < VIEWED_FOR);
                if viewed.len() >= VIEWED_MAX {
                    viewed.clear();
                }
            }
            viewed.insert(token.to_owned(), (now, invitation.clone()));
        }
        Ok(invitation)
    }

    /// A submission's outcome makes what was kept of its link stale.
    fn forget(&self, token: &str) {
        self.viewed.lock().unwrap_or_else(|p| p.into_inner()).remove(token);
    }

    /// The questions' HTML for what was entered and its errors (a blank form from the cache).
    fn questions(
        &self,
        templates: &Templates,
        locale: Locale,
        questionnaire: &Questionnaire,
        entered: &BTreeMap<String, String>,
        errors: &[FieldError],
    ) -> Result<Arc<String>, minijinja::Error> {
        let blank = entered.is_empty() && errors.is_empty();
        let key = (questionnaire.version, locale);
        if blank && let Some(html) = self.blank_forms.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(html.clone());
        }
        let html = Arc::new(render_questions(templates, locale, questionnaire, entered, errors)?);
        if blank {
            self.blank_forms.write().unwrap_or_else(|p| p.into_inner()).insert(key, html.clone());
        }
        Ok(html)
    }
}

fn render_questions(
    templates: &Templates,
    locale: Locale,
    questionnaire: &Questionnaire,
    entered: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Result<String, minijinja::Error> {
    let items: Vec<Value> = questionnaire
        .definition
        .items
        .iter()
        .map(|item| {
            let kind = match item.kind {
                Kind::Scale0To10 => "scale_0_10",
                Kind::Choice => "choice",
                Kind::Text => "text",
                Kind::Boolean => "boolean",
            };
            let options: Vec<Value> = item
                .options
                .iter()
                .map(|o| context! { value => o.value.clone(), label => o.label.get(locale) })
                .collect();
            context! {
                id => item.id.clone(),
                kind,
                label => item.label.get(locale),
                required => item.required,
                not_applicable => item.not_applicable,
                options,
                value => entered.get(&item.id).map(|v| v.trim().to_owned()).unwrap_or_default(),
                error => errors.iter().find(|e| e.item == item.id).map(|e| e.message.clone()),
            }
        })
        .collect();
    let scale = &questionnaire.definition.scale;
    let anchors = match locale {
        Locale::Fr => scale.anchors.fr.clone(),
        Locale::En => scale.anchors.en.clone(),
    };
    let ctx = context! { items, scale_min => scale.min, scale_max => scale.max, anchors };
    templates.render("survey_items.html.j2", locale, ctx)
}

/// The form, with what was entered and the errors found in it.
fn form(
    templates: &Templates,
    pages: &SurveyPages,
    page: &PageMeta,
    survey: &OpenSurvey<'_>,
    entered: &BTreeMap<String, String>,
    errors: &[FieldError],
) -> Result<SurveyPage, AppError> {
    let OpenSurvey { token, key, invitation, questionnaire } = *survey;
    let questions = pages.questions(templates, page.locale, questionnaire, entered, errors)?;
    let ctx = context! {
        path => page.path.clone(),
        reference => invitation.crm_id.clone(),
        subject => invitation.subject(),
        items_html => questions.as_str(),
        errors => Value::from(minijinja::value::Serde(errors)),
        csrf => form_token(key, FORM_PURPOSE, token),
        opt_out_path => format!("/opt-out/{token}"),
    };
    let status = if errors.is_empty() { Status::Ok } else { Status::UnprocessableEntity };
    Ok(SurveyPage { status, html: templates.render("survey.html.j2", page.locale, ctx)? })
}

#[get("/s/<token>")]
async fn show(
    token: &str,
    address: ClientAddress,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    pages: &State<SurveyPages>,
    page: PageMeta,
) -> Result<SurveyPage, AppError> {
    let now = jobs.clock.now();
    let invitation = pages.invitation_for_view(&jobs.db, token, now).await?;
    let page = match &invitation {
        Some(invitation) => page.defaulting_to(invitation.locale()),
        None => page,
    };
    if let Some(closed) = not_open(templates, &page, invitation.as_ref(), &pages.limiter, &address, now, Status::Ok)? {
        return Ok(closed);
    }
    let invitation = invitation.expect("open links have an invitation");
    let questionnaire = pages.questionnaires.get(&jobs.db, now).await?;
    let survey =
        OpenSurvey { token, key: jobs.settings.token_key(), invitation: &invitation, questionnaire: &questionnaire };
    form(templates, pages, &page, &survey, &BTreeMap::new(), &[])
}

#[post("/s/<token>", data = "<fields>")]
async fn submit(
    token: &str,
    fields: Form<HashMap<String, String>>,
    address: ClientAddress,
    jobs: &State<Jobs>,
    templates: &State<Templates>,
    pages: &State<SurveyPages>,
    page: PageMeta,
) -> Result<SurveyPage, AppError> {
    let fields: BTreeMap<String, String> = fields.into_inner().into_iter().collect();
    let key = jobs.settings.token_key();
    if !fields.get("csrf").is_some_and(|given| form_token_matches(key, FORM_PURPOSE, token, given)) {
        return Err(AppError::BadFormToken);
    }
    let invitation = survey::find(&jobs.db, token).await?;
    let page = match &invitation {
        Some(invitation) => page.defaulting_to(invitation.locale()),
        None => page,
    };
    let now = jobs.clock.now();
    if let Some(closed) =
        not_open(templates, &page, invitation.as_ref(), &pages.limiter, &address, now, Status::Conflict)?
    {
        return Ok(closed);
    }
    let invitation = invitation.expect("open links have an invitation");
    let questionnaire = pages.questionnaires.get(&jobs.db, now).await?;
    let answers = match questionnaire.validate(&fields, page.locale) {
        Ok(answers) => answers,
        Err(errors) => {
            let survey = OpenSurvey { token, key, invitation: &invitation, questionnaire: &questionnaire };
            return form(templates, pages, &page, &survey, &fields, &errors);
        }
    };
    let row = survey::response_row(&invitation, &questionnaire, &answers, now);
    let follow_up = survey::follow_up_reason(&answers, jobs.settings.survey.follow_up_max_score);
    let outcome = survey::submit(&jobs.db, jobs.settings.time_zone, row, follow_up).await;
    pages.forget(token);
    match outcome {
        Ok(stored) => {
            message(templates, &page, Status::Ok, "thanks", stored.follow_up_requested && follow_up.is_some())
        }
        Err(survey::SubmitError::AlreadyAnswered) => message(templates, &page, Status::Conflict, "answered", false),
        Err(survey::SubmitError::Db(err)) => Err(err.into()),
    }
}

pub fn routes() -> Vec<rocket::Route> {
    routes![show, submit]
}
