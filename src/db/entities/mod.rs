//! SeaORM entities, one per table, matching `migrations/` exactly. Behaviour lives in `db::repo`.

pub mod api_key;
pub mod audit_log;
pub mod channel;
pub mod direction;
pub mod follow_up;
pub mod ingestion_error;
pub mod invitation;
pub mod job_state;
pub mod opt_out;
pub mod outbox;
pub mod questionnaire;
pub mod response;
pub mod sampling_decision;
pub mod sampling_run;
pub mod service_request;
pub mod user;
