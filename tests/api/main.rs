//! Integration tests: one binary, one module per feature. Tests that touch the database run
//! once on SQLite and once on PostgreSQL (see `on_both_databases!`).

mod factories;
mod frame;
mod helpers;

mod accounts;
mod adjust;
mod api_contract;
mod architecture;
mod cli;
mod constraints;
mod dashboard;
mod delivery;
mod demo;
mod e2e;
mod health;
mod hostile;
mod ingestion_api;
mod ingestion_concurrency;
mod ingestion_files;
mod migrations;
mod open311;
mod pages;
mod rollup;
mod sampling;
mod stats;
mod survey;
