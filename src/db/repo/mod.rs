//! Repositories: one module per aggregate, plain async functions over any connection.

pub mod api_keys;
pub mod audit;
pub mod cells;
pub mod directions;
pub mod follow_ups;
pub mod frame;
pub mod ingestion_errors;
pub mod job_state;
pub mod outbox;
pub mod requests;
pub mod responses;
pub mod retention;
pub mod rollups;
pub mod sampling;
pub mod users;
