//! Responses: storing them (one code path for the historical import today and the survey page
//! next) and the monthly roll-up of their sufficient statistics, kept incrementally in the same
//! transaction as each write, with a full recompute as the repair tool.

pub mod rollup;
pub mod store;
