//! Typed settings, read once at start-up from Rocket's figment: built-in defaults, then
//! `Rocket.toml` (profile `[default]`, then `[debug]`/`[release]`), then `ROCKET_*` environment
//! variables (`ROCKET_DATABASE_URL`, `ROCKET_PORT`, `ROCKET_PUBLIC_BASE_URL`, ...).
//!
//! Every key is documented in the README. A bad value stops start-up with a message naming it.

use std::path::PathBuf;

use chrono_tz::Tz;
use rocket::figment::{
    Figment,
    providers::{Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use url::Url;

mod auth;
mod database;
mod delivery;
mod ingestion;
mod open311;
mod public_report;
mod sampling;
mod secret;
mod server;
mod stats;
mod survey;

pub use auth::AuthSettings;
pub use database::DatabaseSettings;
pub use delivery::{
    DeliverySettings, EmailTransport, RetentionSettings, SmsTransport, SmtpSecurity, SmtpSettings, WebhookSettings,
};
pub use ingestion::{IngestionSettings, UnknownDirections};
pub use open311::Open311Settings;
pub use public_report::PublicReportSettings;
pub use sampling::SamplingSettings;
pub use secret::Secret;
pub use server::{SchedulerSettings, SecuritySettings};
pub use stats::StatsSettings;
pub use survey::SurveySettings;

use crate::domain::{Channel, ContactHasher};

/// The whole application configuration (Rocket's own keys — port, address, secret_key,
/// limits — are read by Rocket from the same figment).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `sqlite://FILE?mode=rwc` (embedded default) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// The address citizens reach; survey links and opt-out links are built from it.
    pub public_base_url: Url,
    /// The city's time zone: report periods (`from`/`to`, months) are dates in this zone.
    pub time_zone: Tz,
    /// Folder of the minijinja templates.
    pub templates_dir: PathBuf,
    /// Folder of the static assets served under `/static`.
    pub static_dir: PathBuf,
    /// Where the generated cookie-signing key is kept when `secret_key` is not configured.
    pub secret_key_file: PathBuf,
    pub database: DatabaseSettings,
    pub scheduler: SchedulerSettings,
    pub security: SecuritySettings,
    pub ingestion: IngestionSettings,
    pub open311: Open311Settings,
    pub sampling: SamplingSettings,
    pub stats: StatsSettings,
    pub delivery: DeliverySettings,
    pub retention: RetentionSettings,
    pub survey: SurveySettings,
    pub auth: AuthSettings,
    pub public_report: PublicReportSettings,
}

/// Keys that belong to Rocket itself and may appear in the same figment.
const ROCKET_KEYS: &[&str] = &[
    "address",
    "port",
    "workers",
    "max_blocking",
    "ident",
    "ip_header",
    "limits",
    "temp_dir",
    "keep_alive",
    "shutdown",
    "log_level",
    "cli_colors",
    "secret_key",
    "tls",
    "mtls",
    "proxy_proto_header",
    "profile",
];

impl Default for Settings {
    fn default() -> Self {
        let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Settings {
            database_url: "sqlite://satisfaction.db?mode=rwc".into(),
            public_base_url: Url::parse("http://127.0.0.1:8000/").expect("static URL is valid"),
            time_zone: chrono_tz::America::Toronto,
            templates_dir: manifest_dir.join("templates"),
            static_dir: manifest_dir.join("static"),
            secret_key_file: "satisfaction.secret".into(),
            database: DatabaseSettings {
                max_connections: 10,
                min_connections: 1,
                acquire_timeout_secs: 5,
                migrate_on_start: true,
                postgres_work_mem: database::default_postgres_work_mem(),
                sqlite_import_cache_mb: database::default_sqlite_import_cache_mb(),
            },
            scheduler: SchedulerSettings { enabled: true },
            security: SecuritySettings { hsts: false },
            ingestion: IngestionSettings {
                batch_max_items: 1000,
                unknown_directions: UnknownDirections::Register,
                contact_hash_key: None,
                assume_local_time: false,
                rollup_deferral_rows: ingestion::default_rollup_deferral_rows(),
            },
            open311: Open311Settings {
                endpoint: String::new(),
                cron: "0 */10 * * * *".into(),
                jurisdiction_id: None,
                api_key: None,
                page_size: 100,
                window_days: 90,
                use_updated_after: false,
                initial_lookback_days: 14,
                overlap_minutes: 60,
                default_channel: "portal".into(),
                channel_attribute: "channel".into(),
                email_attribute: "email".into(),
                phone_attribute: "phone".into(),
                locale_attribute: "locale".into(),
                timeout_secs: 30,
                max_page_attempts: 3,
                recheck_open_per_poll: 200,
                channel_aliases: Default::default(),
                direction_aliases: Default::default(),
            },
            sampling: SamplingSettings {
                cron: "0 */15 * * * *".into(),
                delay_minutes: 120,
                max_age_days: 14,
                default_rate: 0.25,
                direction_rates: Default::default(),
                channel_rates: Default::default(),
                stratum_rates: Default::default(),
                monthly_target: None,
                min_rate: 0.01,
                adaptive_lookback_days: 90,
                assumed_response_rate: 0.3,
                quarantine_days: 90,
                excluded_service_codes: Vec::new(),
                sms_enabled: false,
                batch_size: 100_000,
                invitation_valid_days: 14,
                lock_timeout_minutes: 30,
            },
            stats: StatsSettings { min_n: 10, confidence: 0.95, min_class_respondents: 5 },
            delivery: DeliverySettings::default(),
            retention: RetentionSettings::default(),
            survey: SurveySettings::default(),
            auth: AuthSettings::default(),
            public_report: PublicReportSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("could not read configuration")]
    Figment(#[from] Box<rocket::figment::Error>),
}

impl Settings {
    /// Rocket's figment (Rocket.toml + ROCKET_* variables) on top of our defaults.
    pub fn figment() -> Figment {
        Figment::from(Serialized::defaults(Settings::default())).merge(rocket::Config::figment())
    }

    /// A figment for a specific `Rocket.toml`-style file, used by tests and `--config`.
    pub fn figment_with_file(path: &std::path::Path) -> Figment {
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(rocket::Config::figment())
            .merge(Toml::file(path).nested())
    }

    /// Extract and validate the settings; unknown top-level keys are reported, not ignored.
    pub fn from_figment(figment: &Figment) -> Result<Settings, ConfigError> {
        let mut value: serde_json::Map<String, serde_json::Value> =
            figment.extract().map_err(|e| ConfigError::Figment(Box::new(e)))?;
        for key in ROCKET_KEYS {
            value.remove(*key);
        }
        // The error names the key (`delivery.transport: unknown variant …`).
        let mut settings: Settings = serde_path_to_error::deserialize(serde_json::Value::Object(value))
            .map_err(|e| ConfigError::Invalid(format!("{}: {}", e.path(), e.inner())))?;
        settings.validate()?;
        if settings.ingestion.contact_hash_key.is_none() {
            let key = derive_key(figment, b"satisfaction contact hash v1");
            settings.ingestion.contact_hash_key = Some(Secret::new(hex::encode(key)));
        }
        if settings.delivery.token_key.is_none() {
            settings.delivery.token_key =
                Some(Secret::new(hex::encode(derive_key(figment, b"satisfaction survey token v1"))));
        }
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = &self.database_url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(ConfigError::Invalid(format!(
                "database_url must start with sqlite:, postgres:// or postgresql://, got {:?}",
                redact_url(url)
            )));
        }
        if !matches!(self.public_base_url.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid(format!(
                "public_base_url must be an http(s) URL, got {}",
                self.public_base_url
            )));
        }
        if self.ingestion.batch_max_items == 0 {
            return Err(ConfigError::Invalid("ingestion.batch_max_items must be at least 1".into()));
        }
        if !(1..=90).contains(&self.open311.window_days) {
            return Err(ConfigError::Invalid(
                "open311.window_days must be between 1 and 90 (GeoReport v2 limit)".into(),
            ));
        }
        if !self.open311.endpoint.is_empty() && Url::parse(&self.open311.endpoint).is_err() {
            return Err(ConfigError::Invalid(format!("open311.endpoint is not a URL: {:?}", self.open311.endpoint)));
        }
        for (word, channel) in &self.open311.channel_aliases {
            if Channel::parse(channel).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "open311.channel_aliases.{word} = {channel:?} is not one of {}",
                    Channel::expected()
                )));
            }
        }
        if self.open311.max_page_attempts == 0 {
            return Err(ConfigError::Invalid("open311.max_page_attempts must be at least 1".into()));
        }
        if Channel::parse(&self.open311.default_channel).is_none() {
            return Err(ConfigError::Invalid(format!(
                "open311.default_channel {:?} is not one of {}",
                self.open311.default_channel,
                Channel::expected()
            )));
        }
        let sampling = &self.sampling;
        let rates = std::iter::once(("default_rate".to_owned(), sampling.default_rate))
            .chain(sampling.direction_rates.iter().map(|(k, v)| (format!("direction_rates.{k}"), *v)))
            .chain(sampling.channel_rates.iter().map(|(k, v)| (format!("channel_rates.{k}"), *v)))
            .chain(sampling.stratum_rates.iter().map(|(k, v)| (format!("stratum_rates.{k}"), *v)));
        for (key, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError::Invalid(format!("sampling.{key} must be between 0 and 1, got {rate}")));
            }
        }
        if !(sampling.min_rate > 0.0 && sampling.min_rate <= 1.0) {
            return Err(ConfigError::Invalid("sampling.min_rate must be in (0, 1]".into()));
        }
        if !(sampling.assumed_response_rate > 0.0 && sampling.assumed_response_rate <= 1.0) {
            return Err(ConfigError::Invalid("sampling.assumed_response_rate must be in (0, 1]".into()));
        }
        if sampling.batch_size == 0 || sampling.adaptive_lookback_days == 0 {
            return Err(ConfigError::Invalid(
                "sampling.batch_size and sampling.adaptive_lookback_days must be at least 1".into(),
            ));
        }
        if !(self.stats.confidence > 0.0 && self.stats.confidence < 1.0) {
            return Err(ConfigError::Invalid("stats.confidence must be between 0 and 1 (e.g. 0.95)".into()));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid("database.max_connections must be at least 1".into()));
        }
        if self.database.min_connections > self.database.max_connections {
            return Err(ConfigError::Invalid("database.min_connections cannot exceed database.max_connections".into()));
        }
        self.validate_delivery()
    }

    fn validate_delivery(&self) -> Result<(), ConfigError> {
        let delivery = &self.delivery;
        let invalid = |message: String| Err(ConfigError::Invalid(message));
        if delivery.max_attempts == 0 {
            return invalid("delivery.max_attempts must be at least 1".into());
        }
        if delivery.batch_size == 0 || delivery.concurrency == 0 {
            return invalid("delivery.batch_size and delivery.concurrency must be at least 1".into());
        }
        if delivery.lease_secs < 10 {
            return invalid("delivery.lease_secs must be at least 10 (a message must have time to be sent)".into());
        }
        if delivery.from.parse::<lettre::message::Mailbox>().is_err() {
            return invalid(format!(
                "delivery.from must be an address such as \"Ville <sondage@ville.example>\", got {:?}",
                delivery.from
            ));
        }
        if delivery.transport == EmailTransport::Smtp && delivery.smtp.host.trim().is_empty() {
            return invalid("delivery.smtp.host is required when delivery.transport = \"smtp\"".into());
        }
        if delivery.smtp.max_per_second < 0.0 || !delivery.smtp.max_per_second.is_finite() {
            return invalid("delivery.smtp.max_per_second must be 0 (no limit) or more".into());
        }
        if delivery.smtp.pool_size == 0 {
            return invalid("delivery.smtp.pool_size must be at least 1".into());
        }
        if delivery.sms_transport == SmsTransport::Webhook && Url::parse(&delivery.webhook.url).is_err() {
            return invalid(format!(
                "delivery.webhook.url must be a URL when delivery.sms_transport = \"webhook\", got {:?}",
                delivery.webhook.url
            ));
        }
        let auth = &self.auth;
        if auth.session_idle_minutes == 0 || auth.session_max_hours == 0 || auth.lockout_minutes == 0 {
            return invalid(
                "auth.session_idle_minutes, auth.session_max_hours and auth.lockout_minutes must be at least 1".into(),
            );
        }
        if auth.max_failures_per_account == 0 || auth.max_failures_per_address == 0 {
            return invalid(
                "auth.max_failures_per_account and auth.max_failures_per_address must be at least 1".into(),
            );
        }
        if self.survey.follow_up_max_score > 10 {
            return invalid("survey.follow_up_max_score must be between 0 and 10".into());
        }
        if self.retention.contact_days == 0 {
            return invalid("retention.contact_days must be at least 1".into());
        }
        if u64::from(self.retention.security_log_days) * 24 * 60 < u64::from(self.auth.lockout_minutes) {
            return invalid("retention.security_log_days must cover auth.lockout_minutes".into());
        }
        Ok(())
    }

    /// The contact hasher, keyed with `ingestion.contact_hash_key` (always set after
    /// `from_figment`: configured, or derived from Rocket's secret key).
    pub fn contact_hasher(&self) -> ContactHasher {
        let key = self.ingestion.contact_hash_key.as_ref().map(Secret::expose).unwrap_or_default();
        ContactHasher::new(key.as_bytes())
    }

    /// The key survey tokens are derived with (`SurveyToken::derive`; always set after
    /// `from_figment`: configured, or derived from Rocket's secret key).
    pub fn token_key(&self) -> &[u8] {
        self.delivery.token_key.as_ref().map(|k| k.expose().as_bytes()).unwrap_or_default()
    }

    /// Whether cookies must be `Secure` (configured, else when citizens reach us over https).
    pub fn secure_cookies(&self) -> bool {
        self.auth.secure_cookies.unwrap_or(self.public_base_url.scheme() == "https")
    }

    /// Survey and opt-out links: `public_base_url` joined with a path, whatever its trailing slash.
    pub fn public_url(&self, path: &str) -> String {
        let base = self.public_base_url.as_str().trim_end_matches('/');
        format!("{base}/{}", path.trim_start_matches('/'))
    }
}

/// HMAC(secret_key, label): a stable key for one purpose (contact hashes, survey tokens) when
/// none is configured.
fn derive_key(figment: &Figment, label: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let secret: String = figment.extract_inner("secret_key").unwrap_or_default();
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().to_vec()
}

/// A database URL safe to print: the password, if any, is replaced.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::figment::providers::Serialized as S;

    #[test]
    fn defaults_are_valid_and_embedded() {
        // The built-in defaults and the shipped Rocket.toml, without the environment (which CI
        // or a developer may set): a fresh checkout runs on the embedded database.
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Rocket.toml");
        for figment in [
            Figment::from(Serialized::defaults(Settings::default())),
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::file(shipped).nested()),
        ] {
            let settings = Settings::from_figment(&figment).unwrap();
            assert!(settings.database_url.starts_with("sqlite:"), "{}", settings.database_url);
            assert_eq!(settings.time_zone, chrono_tz::America::Toronto);
            assert!(settings.ingestion.contact_hash_key.is_some(), "a contact hash key is always derived");
        }
    }

    #[test]
    fn settings_print_no_secret() {
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(S::default("ingestion.contact_hash_key", "very-secret-hash-key"))
            .merge(S::default("open311.api_key", "very-secret-api-key"));
        let settings = Settings::from_figment(&figment).unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("very-secret"), "{printed}");
        assert_eq!(settings.open311.api_key.as_ref().map(Secret::expose), Some("very-secret-api-key"));
    }

    #[test]
    fn bad_delivery_settings_stop_start_up_naming_the_key() {
        let error = |key: &str, value: serde_json::Value| {
            let figment = Figment::from(Serialized::defaults(Settings::default())).merge(S::default(key, value));
            Settings::from_figment(&figment).unwrap_err().to_string()
        };
        let unknown = error("delivery.transport", "pigeon".into());
        assert!(unknown.contains("delivery.transport") && unknown.contains("pigeon"), "{unknown}");
        let no_host = error("delivery.transport", "smtp".into());
        assert!(no_host.contains("delivery.smtp.host is required"), "{no_host}");
        assert!(error("delivery.max_attempts", 0.into()).contains("delivery.max_attempts must be at least 1"));
        assert!(error("delivery.sms_transport", "webhook".into()).contains("delivery.webhook.url"));
        assert!(error("delivery.from", "not an address".into()).contains("delivery.from"));
        let typo = error("delivery.smtp.hots", "x".into());
        assert!(typo.contains("delivery.smtp") && typo.contains("hots"), "{typo}");
    }

    #[test]
    fn a_survey_token_key_is_always_derived() {
        let settings = Settings::from_figment(&Figment::from(Serialized::defaults(Settings::default()))).unwrap();
        assert!(!settings.token_key().is_empty());
        assert_ne!(settings.token_key(), settings.ingestion.contact_hash_key.as_ref().unwrap().expose().as_bytes());
    }

    #[test]
    fn rejects_unknown_database_scheme() {
        let figment = Settings::figment().merge(S::default("database_url", "mysql://x@y/z"));
        let err = Settings::from_figment(&figment).unwrap_err().to_string();
        assert!(err.contains("database_url must start with"), "{err}");
    }

    #[test]
    fn rejects_bad_time_zone_and_unknown_keys() {
        let figment = Settings::figment().merge(S::default("time_zone", "Mars/Olympus"));
        assert!(Settings::from_figment(&figment).is_err());
        let figment = Settings::figment().merge(S::default("databse_url", "sqlite://x"));
        let err = Settings::from_figment(&figment).unwrap_err().to_string();
        assert!(err.contains("databse_url"), "{err}");
    }

    #[test]
    fn public_url_joins_without_double_slash() {
        let settings = Settings {
            public_base_url: Url::parse("https://sondage.ville.example/app/").unwrap(),
            ..Settings::default()
        };
        assert_eq!(settings.public_url("/s/abc"), "https://sondage.ville.example/app/s/abc");
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }
}
