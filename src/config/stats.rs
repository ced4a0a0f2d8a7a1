//! `[default.stats]`: defaults of the statistics interfaces.

use serde::{Deserialize, Serialize};

/// Defaults of the statistics interfaces (each request may override them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatsSettings {
    /// Cells with fewer responses are reported as suppressed.
    pub min_n: u64,
    /// Confidence level of the intervals.
    pub confidence: f64,
}
