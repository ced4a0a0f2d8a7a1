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
}

/// Defaults of the statistics interfaces (each request may override them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSettings {
    /// Cells with fewer responses are reported as suppressed.
    pub min_n: u64,
    /// Confidence level of the intervals.
    pub confidence: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub max_connections: u32,
    pub min_connections: u32,
    /// Seconds to wait for a pooled connection before answering "unavailable".
    pub acquire_timeout_secs: u64,
    /// Run pending migrations when the server starts.
    pub migrate_on_start: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    /// Run the scheduled jobs inside `serve`. Turn off on all but the instances meant to run jobs
    /// if you prefer; the jobs are safe to run on several instances at once either way.
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// Send `Strict-Transport-Security`; turn on when the server is reached over HTTPS only.
    pub hsts: bool,
}

/// What to do with a direction code (`agency_responsible`) the platform has never seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownDirections {
    /// Register it, with the code as its name until an administrator names it.
    Register,
    /// Reject the item (kept in ingestion_errors, replayable once the direction exists).
    Reject,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestionSettings {
    /// Most items accepted in one `POST /api/v1/requests`.
    pub batch_max_items: usize,
    pub unknown_directions: UnknownDirections,
    /// Key of the contact hash (HMAC-SHA256). Unset: derived from Rocket's `secret_key`. Set it
    /// explicitly in production: changing it breaks the quarantine and opt-out matching.
    pub contact_hash_key: Option<String>,
}

/// The Open311 GeoReport v2 poller. Disabled while `endpoint` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Settings {
    /// Base URL, e.g. `https://311.ville.example/open311/v2` (requests.json is appended).
    pub endpoint: String,
    /// Six-field cron expression (seconds first); empty disables the scheduled poll.
    pub cron: String,
    pub jurisdiction_id: Option<String>,
    pub api_key: Option<String>,
    /// Page size asked for where the server offers `page`/`page_size`.
    pub page_size: u32,
    /// Width of one `start_date`/`end_date` window (the standard allows at most 90 days).
    pub window_days: u32,
    /// Ask with `updated_after` (GeoReport v2.1 draft) instead of `start_date`/`end_date`.
    pub use_updated_after: bool,
    /// How far back the very first poll looks.
    pub initial_lookback_days: u32,
    /// Minutes re-read before the high-water mark each time, for late-committed records.
    pub overlap_minutes: u32,
    /// Channel when the record does not say (standard GET responses carry none).
    pub default_channel: String,
    /// Keys of `extended_attributes` (the `extensions=true` extension) holding channel and contact.
    pub channel_attribute: String,
    pub email_attribute: String,
    pub phone_attribute: String,
    pub locale_attribute: String,
    /// Seconds before an HTTP call to the endpoint is abandoned.
    pub timeout_secs: u64,
}

/// The sampling job: eligibility rules and the stratified Poisson design.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SamplingSettings {
    /// Six-field cron expression; empty disables the scheduled run.
    pub cron: String,
    /// A request is considered once it has been closed this long (minutes).
    pub delay_minutes: u32,
    /// ... and no longer than this (days): older ones are out of the frame.
    pub max_age_days: u32,
    /// Rate of a stratum with no override.
    pub default_rate: f64,
    /// Overrides, most specific first: `stratum_rates` ("TP:phone"), `channel_rates`, `direction_rates`.
    pub direction_rates: std::collections::BTreeMap<String, f64>,
    pub channel_rates: std::collections::BTreeMap<String, f64>,
    pub stratum_rates: std::collections::BTreeMap<String, f64>,
    /// Responses wanted per stratum per month; when set, each stratum's rate adapts to reach it.
    pub monthly_target: Option<u32>,
    /// Floor of an adaptive rate (the ceiling is 1).
    pub min_rate: f64,
    /// Days of history the adaptive rate learns volume and response rate from.
    pub adaptive_lookback_days: u32,
    /// Response rate assumed for a stratum with fewer than 20 invitations in the lookback.
    pub assumed_response_rate: f64,
    /// A contact invited less than this many days ago is not invited again.
    pub quarantine_days: u32,
    /// Service codes never surveyed (sensitive matters).
    pub excluded_service_codes: Vec<String>,
    /// Phone-only contacts are usable (invitations by SMS).
    pub sms_enabled: bool,
    /// Requests decided per transaction (their decision marks, invitations and outbox rows).
    pub batch_size: usize,
    /// Days an invitation stays answerable after it is sent (set by delivery).
    pub invitation_valid_days: u32,
    /// A run holding the lock longer than this (minutes) is presumed dead and its lock taken over.
    pub lock_timeout_minutes: u32,
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
            },
            scheduler: SchedulerSettings { enabled: true },
            security: SecuritySettings { hsts: false },
            ingestion: IngestionSettings {
                batch_max_items: 1000,
                unknown_directions: UnknownDirections::Register,
                contact_hash_key: None,
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
            stats: StatsSettings { min_n: 10, confidence: 0.95 },
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
        let mut settings: Settings = serde_json::from_value(serde_json::Value::Object(value))
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        if settings.ingestion.contact_hash_key.is_none() {
            settings.ingestion.contact_hash_key = Some(hex::encode(derive_contact_hash_key(figment)));
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
        if !crate::ingestion::fields::CHANNELS.contains(&self.open311.default_channel.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "open311.default_channel {:?} is not one of {}",
                self.open311.default_channel,
                crate::ingestion::fields::CHANNELS.join(", ")
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
        Ok(())
    }

    /// The contact hasher, keyed with `ingestion.contact_hash_key` (always set after
    /// `from_figment`: configured, or derived from Rocket's secret key).
    pub fn contact_hasher(&self) -> crate::ingestion::contact::ContactHasher {
        let key = self.ingestion.contact_hash_key.as_deref().unwrap_or_default();
        crate::ingestion::contact::ContactHasher::new(key.as_bytes())
    }

    /// Survey and opt-out links: `public_base_url` joined with a path, whatever its trailing slash.
    pub fn public_url(&self, path: &str) -> String {
        let base = self.public_base_url.as_str().trim_end_matches('/');
        format!("{base}/{}", path.trim_start_matches('/'))
    }
}

/// HMAC(secret_key, label): a stable key for contact hashes when none is configured.
fn derive_contact_hash_key(figment: &Figment) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let secret: String = figment.extract_inner("secret_key").unwrap_or_default();
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(b"satisfaction contact hash v1");
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
        let settings = Settings::from_figment(&Settings::figment()).unwrap();
        assert!(settings.database_url.starts_with("sqlite:") || std::env::var("ROCKET_DATABASE_URL").is_ok());
        assert_eq!(Settings::default().time_zone, chrono_tz::America::Toronto);
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
