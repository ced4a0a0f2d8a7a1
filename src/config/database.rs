//! `[default.database]`: the connection pool and migrations.

use serde::{Deserialize, Serialize};

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
