//! Repositories: one module per aggregate, plain async functions over any connection.

pub mod api_keys;
pub mod audit;
pub mod directions;
pub mod users;
