//! `[default.open311]`: the GeoReport v2 poller.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Secret;

/// The Open311 GeoReport v2 poller. Disabled while `endpoint` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Open311Settings {
    /// Base URL, e.g. `https://311.ville.example/open311/v2` (requests.json is appended).
    pub endpoint: String,
    /// Six-field cron expression (seconds first); empty disables the scheduled poll.
    pub cron: String,
    pub jurisdiction_id: Option<String>,
    pub api_key: Option<Secret>,
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
    /// Polls that try again a page the server sent unreadable (invalid JSON, an unknown shape)
    /// before it is skipped; each attempt keeps the page in `ingestion_errors`.
    pub max_page_attempts: u32,
    /// Requests still open on the platform re-asked by id at each poll (0: never), so that a
    /// request closed long after it was opened is seen even where windows follow
    /// `requested_datetime`.
    pub recheck_open_per_poll: u32,
    /// The city's own channel words: `{ web = "web_form", open311 = "portal" }` (any case).
    pub channel_aliases: BTreeMap<String, String>,
    /// The city's own direction codes mapped to the platform's: `{ "Streets & Sanitation" = "TP" }`.
    pub direction_aliases: BTreeMap<String, String>,
}
