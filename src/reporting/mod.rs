//! Reporting: turns a request for figures (period, breakdown, options) into cells from the
//! database and estimates from `stats`. Shared by the JSON API and the CLI, so both return the
//! same numbers.

pub mod analysis;
pub mod period;
pub mod rollup;
pub mod service;

pub use service::{ReportError, StatsQuery, StatsResponse, stats};
