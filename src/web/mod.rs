//! The Rocket layer: routes, request guards, fairings, templates. Handlers are thin: they take
//! guards and parsed input, call one service function, and pick a template or JSON.

pub mod api;
pub mod errors;
pub mod fairings;
pub mod guards;
pub mod health;
pub mod locale;
pub mod pages;
pub mod templates;
