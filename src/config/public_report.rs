//! `[default.public_report]`: the public report card at `/resultats`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicReportSettings {
    /// Off unless the city decides to publish.
    pub enabled: bool,
    /// Complete quarters shown, the latest first.
    pub quarters: u32,
}

impl Default for PublicReportSettings {
    fn default() -> Self {
        PublicReportSettings { enabled: false, quarters: 4 }
    }
}
