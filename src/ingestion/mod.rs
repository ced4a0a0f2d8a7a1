//! Ingestion of closed service requests (JSON API, CSV import, Open311 poller) and of
//! historical responses. Three doors, one code path: `service::Ingestor`.

pub mod contact;
pub mod csv_file;
pub mod fields;
pub mod file_import;
pub mod open311;
pub mod reference;
pub mod replay;
pub mod responses;
pub mod service;

pub use service::{Ingestor, ItemResult, Outcome, Source, SourcedItem, Summary};
