//! `[default.scheduler]` and `[default.security]`: how the server process runs.

use serde::{Deserialize, Serialize};

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
