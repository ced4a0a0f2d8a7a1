//! `[default.survey]`: the citizen's survey page.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveySettings {
    /// Look-ups of unknown survey links allowed per client address and minute (429 beyond);
    /// 0 turns the limit off (a proxy in front limits already). Valid links are never limited.
    pub unknown_token_lookups_per_minute: u32,
    /// An overall score at or below this, with a comment, creates a follow-up item.
    pub follow_up_max_score: u8,
}

impl Default for SurveySettings {
    fn default() -> Self {
        SurveySettings { unknown_token_lookups_per_minute: 30, follow_up_max_score: 6 }
    }
}
