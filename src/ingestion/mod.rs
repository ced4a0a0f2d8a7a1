//! Ingestion of closed service requests (JSON API, CSV import, Open311 poller) and of
//! historical responses. Three doors, one code path: `service::Ingestor`. Rejected items are
//! kept in `ingestion_errors` with their reasons, replayable once the cause is fixed.

pub mod api;
pub mod csv_file;
pub mod fields;
pub mod file_import;
pub mod item;
pub mod open311;
pub mod reference;
pub mod replay;
pub mod responses;
pub mod service;

pub use item::{ItemResult, Outcome, Source, SourcedItem, Summary};
pub use service::Ingestor;
