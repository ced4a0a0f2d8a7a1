//! `[default.sampling]`: eligibility rules and the stratified Poisson design.

use serde::{Deserialize, Serialize};

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
