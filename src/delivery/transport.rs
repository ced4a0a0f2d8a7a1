//! What carries messages: e-mails to files or over SMTP (lettre, pooled connections), text
//! messages to files or to a webhook. Each failure is classified: temporary ones (SMTP 4xx,
//! timeouts, refused connections, HTTP 5xx and 429) are retried, permanent ones (SMTP 5xx such as
//! an unknown mailbox, HTTP 4xx) are not.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::{
    Message,
    transport::smtp::{
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::{AsyncSmtpConnection, TlsParameters},
        extension::ClientId,
    },
};
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::config::{DeliverySettings, EmailTransport, Secret, SmsTransport, SmtpSecurity, SmtpSettings};

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
    Smtp(SmtpPool),
}

/// Open SMTP connections, reused message after message.
///
/// Why not lettre's own pool (`AsyncSmtpTransport`): measured against aiosmtpd on loopback, it
/// sent 320 messages a second with 16 connections. It checks every pooled connection with a NOOP
/// before each message (a round trip, and a command the server must handle), and its sockets keep
/// Nagle's algorithm, so the last small write of a message can wait for the server's delayed ACK.
/// Here a connection is a lettre `AsyncSmtpConnection` (lettre still speaks the protocol) on a
/// socket with `TCP_NODELAY`, used without a NOOP; a reused connection the server has closed is
/// replaced once, at once.
struct SmtpPool {
    settings: SmtpSettings,
    hello: ClientId,
    idle: std::sync::Mutex<Vec<AsyncSmtpConnection>>,
    open: tokio::sync::Semaphore,
}

type SmtpError = lettre::transport::smtp::Error;

impl SmtpPool {
    fn new(settings: &SmtpSettings) -> SmtpPool {
        SmtpPool {
            settings: settings.clone(),
            hello: ClientId::default(),
            idle: std::sync::Mutex::new(Vec::new()),
            open: tokio::sync::Semaphore::new(settings.pool_size as usize),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_secs)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let smtp = &self.settings;
        let tls = || TlsParameters::new(smtp.host.clone()).map_err(|e| SendError::Temporary(format!("SMTP TLS: {e}")));
        let mut connection = match smtp.security {
            SmtpSecurity::Tls => AsyncSmtpConnection::connect_tokio1(
                (smtp.host.as_str(), smtp.port),
                Some(self.timeout()),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(classify_smtp)?,
            SmtpSecurity::Plain | SmtpSecurity::Starttls => {
                let unreachable = |e: String| SendError::Temporary(format!("SMTP: {}:{}: {e}", smtp.host, smtp.port));
                let connecting = tokio::net::TcpStream::connect((smtp.host.as_str(), smtp.port));
                let stream = tokio::time::timeout(self.timeout(), connecting)
                    .await
                    .map_err(|_| unreachable("no answer".into()))?
                    .map_err(|e| unreachable(e.to_string()))?;
                stream.set_nodelay(true).map_err(|e| unreachable(e.to_string()))?;
                let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                    .await
                    .map_err(classify_smtp)?;
                if smtp.security == SmtpSecurity::Starttls {
                    connection.starttls(tls()?, &self.hello).await.map_err(classify_smtp)?;
                }
                connection
            }
        };
        if let Some(username) = &smtp.username {
            let password = smtp.password.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default();
            connection
                .auth(DEFAULT_MECHANISMS, &Credentials::new(username.clone(), password))
                .await
                .map_err(classify_smtp)?;
        }
        Ok(connection)
    }

    fn put_back(&self, connection: AsyncSmtpConnection) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(connection);
    }

    async fn send(&self, message: &Message) -> Result<(), SendError> {
        let _slot = self.open.acquire().await.map_err(|e| SendError::Temporary(e.to_string()))?;
        let bytes = message.formatted();
        let reused = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let was_reused = reused.is_some();
        let mut connection = match reused {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        match self.send_on(&mut connection, message, &bytes).await {
            Ok(()) => {
                self.put_back(connection);
                Ok(())
            }
            // The server closed an idle connection: the message never reached it; again, on a new one.
            Err(SendOnError::Connection(_)) if was_reused => {
                let mut connection = self.connect().await?;
                self.send_on(&mut connection, message, &bytes).await.map_err(SendOnError::into_send_error)?;
                self.put_back(connection);
                Ok(())
            }
            // lettre aborts a connection on any error: it is dropped here.
            Err(error) => Err(error.into_send_error()),
        }
    }

    async fn send_on(
        &self,
        connection: &mut AsyncSmtpConnection,
        message: &Message,
        bytes: &[u8],
    ) -> Result<(), SendOnError> {
        match tokio::time::timeout(self.timeout(), connection.send(message.envelope(), bytes)).await {
            Err(_) => Err(SendOnError::Reply(SendError::Temporary("SMTP: the server did not answer in time".into()))),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) if error.is_permanent() || error.is_transient() => {
                Err(SendOnError::Reply(classify_smtp(error)))
            }
            Ok(Err(error)) => Err(SendOnError::Connection(classify_smtp(error))),
        }
    }
}

/// A reply of the server (4xx, 5xx, or none in time), or a broken connection.
enum SendOnError {
    Reply(SendError),
    Connection(SendError),
}

impl SendOnError {
    fn into_send_error(self) -> SendError {
        match self {
            SendOnError::Reply(error) | SendOnError::Connection(error) => error,
        }
    }
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
            EmailTransport::Smtp => EmailSender::Smtp(SmtpPool::new(&settings.smtp)),
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
            EmailSender::Smtp(pool) => {
                if let Some(limit) = &self.limit {
                    limit.wait().await;
                }
                pool.send(message).await
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

/// SMTP 5xx is permanent; 4xx, timeouts, refused or dropped connections are temporary.
fn classify_smtp(error: SmtpError) -> SendError {
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
