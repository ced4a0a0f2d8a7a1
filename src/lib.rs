//! Citizen satisfaction survey platform for a city's 311 centre.
//!
//! Layers, from the outside in: `web` (Rocket routes, guards, the one error mapping), `cli` and
//! `scheduler` call `jobs` and the services (`accounts`, `ingestion`, `sampling`, `responses`,
//! `reporting`), which use the `db` repositories (the only place that builds queries), the pure
//! `stats` engine and the `domain` types. `domain`, `stats`, `config`, `db` and `clock` import
//! nothing from the layers above them (checked by `tests/api/architecture.rs`).

pub mod accounts;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod frame;
pub mod i18n;
pub mod ingestion;
pub mod jobs;
pub mod reporting;
pub mod responses;
pub mod sampling;
pub mod scheduler;
pub mod sessions;
pub mod stats;
pub mod survey;
pub mod telemetry;
pub mod templates;
pub mod web;
