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
    /// PostgreSQL only: `work_mem` of the product's sessions (memory for each sort or hash in a
    /// query). The server's default of 4 MB makes the reports' GROUP BY over a month of daily
    /// cells sort on disk instead of hashing in memory (measured: 98 ms against 21 ms).
    #[serde(default = "default_postgres_work_mem")]
    pub postgres_work_mem: String,
    /// SQLite only: the page cache, in MiB, of the one connection `satisfaction import` writes
    /// through (SQLite's default is 2 MiB). A large import inserts into indexes in random order
    /// (the contact hash); with 2 MiB every commit reads back pages it had just written.
    #[serde(default = "default_sqlite_import_cache_mb")]
    pub sqlite_import_cache_mb: u32,
}

pub fn default_sqlite_import_cache_mb() -> u32 {
    64
}

pub fn default_postgres_work_mem() -> String {
    "16MB".into()
}
