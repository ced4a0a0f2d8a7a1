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
    /// A weighting class (stratum × month of closing) with fewer respondents is collapsed with
    /// its direction's other channels for the month, then with its direction over the quarter.
    #[serde(default = "default_min_class_respondents")]
    pub min_class_respondents: u64,
}

fn default_min_class_respondents() -> u64 {
    5
}
