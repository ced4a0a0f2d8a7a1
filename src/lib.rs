//! Citizen satisfaction survey platform for a city's 311 centre.
//!
//! Layers, from the outside in: `web` (Rocket routes, guards, fairings) and `cli` call the
//! services (`accounts`, later `ingestion`, `sampling`, ...), which use `db` repositories and the
//! pure `domain` types. Only `web`, `app` and `error` import Rocket; only `db` builds queries.

pub mod accounts;
pub mod app;
pub mod auth;
pub mod cli;
pub mod cli_import;
pub mod cli_stats;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod ingestion;
pub mod reporting;
pub mod sampling;
pub mod scheduler;
pub mod stats;
pub mod telemetry;
pub mod web;
