//! The Rocket layer: routes, request guards, fairings, and the one mapping from errors to HTTP
//! (`error`). Handlers are thin: they take guards and parsed input, call one service or job,
//! and pick a page or JSON.

pub mod api;
pub mod dashboard;
pub mod error;
pub mod fairings;
pub mod guards;
pub mod health;
pub mod locale;
pub mod login;
pub mod ops;
pub mod opt_out;
pub mod page;
pub mod pages;
pub mod survey;
