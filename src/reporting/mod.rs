//! Reporting: turns a request for figures (period, breakdown, options) into cells from the
//! database and estimates from `stats`. Shared by the JSON API and the CLI, so both return the
//! same numbers; `export` writes them for people (tables, CSV, French number format).

pub mod analysis;
pub mod export;
pub mod period;
pub mod service;

pub use service::{ReportError, Scope, StatsQuery, StatsResponse, stats};
