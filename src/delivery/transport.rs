//! What carries messages: e-mails to files or over SMTP (lettre, pooled connections), text
//! messages to files or to a webhook. Each failure is classified: temporary ones (SMTP 4xx,
//! timeouts, refused connections, HTTP 5xx and 429) are retried, permanent ones (SMTP 5xx such as
//! an unknown mailbox, HTTP 4xx) are not.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    transport::smtp::{
        PoolConfig,
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
};
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{DeliverySettings, EmailTransport, Secret, SmsTransport, SmtpSecurity};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    #[error("temporary: {0}")]
    Temporary(String),
    #[error("permanent: {0}")]
    Permanent(String),
}

#[derive(Debug, thiserror::Error)]
#[error("cannot set up the {what} transport: {reason}")]
pub struct TransportError {
    what: &'static str,
    reason: String,
}

enum EmailSender {
    File(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

enum SmsSender {
    File(PathBuf),
    Webhook { client: reqwest::Client, url: String, token: Option<Secret> },
}

/// At most `per_second` sends a second: each send takes the next slot.
struct RateLimit {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimit {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

pub struct Transports {
    email: EmailSender,
    sms: SmsSender,
    limit: Option<RateLimit>,
}

/// The JSON a text message is posted as (and written as, by the file transport).
#[derive(Debug, Serialize)]
pub struct SmsPayload<'a> {
    pub to: &'a str,
    pub body: &'a str,
    pub message_id: &'a str,
}

impl Transports {
    pub fn from_settings(settings: &DeliverySettings) -> Result<Transports, TransportError> {
        let email = match settings.transport {
            EmailTransport::File => EmailSender::File(settings.file_dir.clone()),
            EmailTransport::Smtp => EmailSender::Smtp(smtp(settings)?),
        };
        let sms = match settings.sms_transport {
            SmsTransport::File => SmsSender::File(settings.file_dir.clone()),
            SmsTransport::Webhook => SmsSender::Webhook {
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(settings.webhook.timeout_secs))
                    .build()
                    .map_err(|e| TransportError { what: "webhook", reason: e.to_string() })?,
                url: settings.webhook.url.clone(),
                token: settings.webhook.token.clone(),
            },
        };
        let limit =
            (settings.transport == EmailTransport::Smtp && settings.smtp.max_per_second > 0.0).then(|| RateLimit {
                interval: Duration::from_secs_f64(1.0 / settings.smtp.max_per_second),
                next: Mutex::new(Instant::now()),
            });
        Ok(Transports { email, sms, limit })
    }

    /// Where the file transports write (none when both go elsewhere).
    pub fn file_dir(&self) -> Option<&Path> {
        match (&self.email, &self.sms) {
            (EmailSender::File(dir), _) | (_, SmsSender::File(dir)) => Some(dir),
            _ => None,
        }
    }

    /// Send an e-mail; `name` names its file for the file transport (the same message, sent
    /// again, replaces its file).
    pub async fn send_email(&self, message: &Message, name: &str) -> Result<(), SendError> {
        match &self.email {
            EmailSender::File(dir) => write_file(dir, &format!("{name}.eml"), &message.formatted()).await,
            EmailSender::Smtp(transport) => {
                if let Some(limit) = &self.limit {
                    limit.wait().await;
                }
                transport.send(message.clone()).await.map(|_| ()).map_err(classify_smtp)
            }
        }
    }

    pub async fn send_sms(&self, payload: &SmsPayload<'_>, name: &str) -> Result<(), SendError> {
        match &self.sms {
            SmsSender::File(dir) => {
                let json = serde_json::to_vec_pretty(payload).map_err(|e| SendError::Permanent(e.to_string()))?;
                write_file(dir, &format!("{name}.sms.json"), &json).await
            }
            SmsSender::Webhook { client, url, token } => {
                let mut request = client.post(url).json(payload);
                if let Some(token) = token {
                    request = request.bearer_auth(token.expose());
                }
                let response = request.send().await.map_err(|e| SendError::Temporary(format!("webhook: {e}")))?;
                let status = response.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
                    Err(SendError::Temporary(format!("webhook answered {status}")))
                } else {
                    Err(SendError::Permanent(format!("webhook answered {status}")))
                }
            }
        }
    }
}

fn smtp(settings: &DeliverySettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, TransportError> {
    let smtp = &settings.smtp;
    let error = |e: lettre::transport::smtp::Error| TransportError { what: "smtp", reason: e.to_string() };
    let tls = match smtp.security {
        SmtpSecurity::Plain => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(TlsParameters::new(smtp.host.clone()).map_err(error)?),
        SmtpSecurity::Tls => Tls::Wrapper(TlsParameters::new(smtp.host.clone()).map_err(error)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs)))
        .pool_config(PoolConfig::new().max_size(smtp.pool_size));
    if let Some(username) = &smtp.username {
        let password = smtp.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
        builder = builder.credentials(Credentials::new(username.clone(), password));
    }
    Ok(builder.build())
}

/// SMTP 5xx is permanent; 4xx, timeouts, refused or dropped connections are temporary.
fn classify_smtp(error: lettre::transport::smtp::Error) -> SendError {
    let text = error.to_string();
    if error.is_permanent() {
        SendError::Permanent(format!("SMTP {text}"))
    } else {
        SendError::Temporary(format!("SMTP {text}"))
    }
}

/// Write `bytes` to `dir/name` whole or not at all (a temporary file renamed into place).
async fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), SendError> {
    let io = |e: std::io::Error| SendError::Temporary(format!("cannot write to {}: {e}", dir.display()));
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let temporary = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&temporary, bytes).await.map_err(io)?;
    tokio::fs::rename(&temporary, dir.join(name)).await.map_err(io)
}
