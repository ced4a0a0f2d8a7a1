//! Domain types: values that cannot hold a bad value once built, and the facts every layer
//! shares (channels, request statuses, months, scores, contact hashes). No Rocket, no SeaORM,
//! and nothing from the layers above.

mod channel;
pub mod contact;
mod email;
mod locale;
pub mod month;
mod request_status;
mod role;
mod run_status;
mod score;
pub mod survey_token;

pub use channel::Channel;
pub use contact::{ContactHasher, ContactKey, PhoneNumber};
pub use email::{Email, EmailError};
pub use locale::Locale;
pub use month::Month;
pub use request_status::RequestStatus;
pub use role::{Role, RoleError};
pub use run_status::RunStatus;
pub use score::{Driver, Score};
pub use survey_token::{SurveyToken, TokenSalt};
