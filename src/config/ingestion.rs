//! `[default.ingestion]`: the doors closed requests come in by.

use serde::{Deserialize, Serialize};

use super::Secret;

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
    pub contact_hash_key: Option<Secret>,
    /// Read a date-time without a zone offset ("2022-04-14T06:37:38", as older Open311 servers
    /// and many CSV exports write) in the city's `time_zone`. Off: such a value is rejected, with
    /// the reason.
    pub assume_local_time: bool,
    /// After this many responses, `import responses` stops keeping the statistics roll-ups row by
    /// row and recomputes the months it wrote at its end.
    #[serde(default = "default_rollup_deferral_rows")]
    pub rollup_deferral_rows: usize,
}

pub fn default_rollup_deferral_rows() -> usize {
    20_000
}
