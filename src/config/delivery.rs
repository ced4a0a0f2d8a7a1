//! `[default.delivery]` and `[default.retention]`: how invitations reach citizens, and when
//! their personal data goes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Secret;

/// What carries e-mails: `file` (one `.eml` per message in `file_dir`, the embedded default) or
/// `smtp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTransport {
    File,
    Smtp,
}

/// What carries text messages to phone-only contacts (when `sampling.sms_enabled`): `file` (one
/// `.json` per message in `file_dir`) or `webhook` (a POST to `delivery.webhook.url`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsTransport {
    File,
    Webhook,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: a relay on the same host or network.
    Plain,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    /// Also `ROCKET_DELIVERY={smtp={password="…"}}`.
    pub password: Option<Secret>,
    /// Connections kept open to the server.
    pub pool_size: u32,
    /// Messages per second at most (0: no limit).
    pub max_per_second: f64,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub url: String,
    /// Sent as `Authorization: Bearer …`.
    pub token: Option<Secret>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    /// The dispatch job's schedule (six fields, seconds first); empty disables it.
    pub cron: String,
    pub transport: EmailTransport,
    pub sms_transport: SmsTransport,
    /// Where the file transports write, relative to the working directory.
    pub file_dir: PathBuf,
    /// The sender, e.g. `Ville de Laval <sondage@laval.ca>`.
    pub from: String,
    /// The city's name in the messages.
    pub city_name: String,
    /// Attempts of a message before it fails (temporary errors are retried with back-off).
    pub max_attempts: u32,
    /// First retry after this many seconds, doubling each attempt (with jitter).
    pub retry_base_secs: u64,
    /// A claimed message not finished within this time is claimable again (a dispatcher died).
    pub lease_secs: u64,
    /// Messages claimed per batch.
    pub batch_size: u32,
    /// Messages sent at once.
    pub concurrency: usize,
    /// The one reminder, this many days after the first send when there is no response.
    pub reminder_after_days: u32,
    pub smtp: SmtpSettings,
    pub webhook: WebhookSettings,
    /// Key of the survey tokens (HMAC-SHA256 of each invitation's salt). Unset: derived from
    /// Rocket's `secret_key`. Changing it breaks the links of invitations not yet ended.
    pub token_key: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// The purge job's schedule; empty disables it.
    pub cron: String,
    /// Contact e-mail and phone are erased this many days after the request closed or its survey
    /// ended, whichever is later.
    pub contact_days: u32,
    /// Kept ingestion errors (their raw input holds personal data) are erased after this many days.
    pub ingestion_error_days: u32,
    /// Traces of logins that name a person or an address — failed attempts (the e-mail typed,
    /// the client address), ended sessions (their address), the details of login entries in the
    /// audit log — are erased after this many days.
    #[serde(default = "default_security_log_days")]
    pub security_log_days: u32,
}

fn default_security_log_days() -> u32 {
    90
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            cron: "0 * * * * *".into(),
            transport: EmailTransport::File,
            sms_transport: SmsTransport::File,
            file_dir: "mail".into(),
            from: "Ville <sondage@ville.example>".into(),
            city_name: "Ville".into(),
            max_attempts: 6,
            retry_base_secs: 60,
            lease_secs: 300,
            batch_size: 500,
            concurrency: 16,
            reminder_after_days: 5,
            smtp: SmtpSettings {
                host: String::new(),
                port: 587,
                security: SmtpSecurity::Starttls,
                username: None,
                password: None,
                pool_size: 8,
                max_per_second: 0.0,
                timeout_secs: 30,
            },
            webhook: WebhookSettings { url: String::new(), token: None, timeout_secs: 15 },
            token_key: None,
        }
    }
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            cron: "0 30 3 * * *".into(),
            contact_days: 30,
            ingestion_error_days: 90,
            security_log_days: default_security_log_days(),
        }
    }
}
