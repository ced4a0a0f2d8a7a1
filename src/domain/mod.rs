//! Domain types: values that cannot hold a bad value once built. No Rocket, no SeaORM here.

mod email;
mod locale;
mod role;
mod survey_token;

pub use email::{Email, EmailError};
pub use locale::Locale;
pub use role::{Role, RoleError};
pub use survey_token::SurveyToken;
