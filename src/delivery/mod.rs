//! Delivering invitations and reminders: the outbox dispatch over files, SMTP or an SMS webhook,
//! expiry, opt-out, and the purge of personal data once a survey is over.

pub mod dispatch;
pub mod message;
pub mod opt_out;
pub mod purge;
pub mod transport;

pub use dispatch::{DeliveryError, DispatchReport, Dispatcher};
