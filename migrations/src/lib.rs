//! Database migrations for the satisfaction platform.
//!
//! Append-only: never edit a migration that has been applied somewhere; add a new file instead.
//! The same migrations run on SQLite (embedded default) and PostgreSQL (production).

pub use sea_orm_migration::prelude::*;

/// The questionnaire the survey page asks (seeded by migration 15), for the survey module's tests.
pub use m20261130_000015_survey::QUESTIONNAIRE_V2;

mod m20261128_000001_reference_tables;
mod m20261128_000002_requests_and_sampling;
mod m20261128_000003_responses;
mod m20261128_000004_access_and_audit;
mod m20261128_000005_seed_reference_data;
mod m20261128_000006_sampling_decisions;
mod m20261128_000007_response_cells_monthly;
mod m20261128_000008_decisions_without_foreign_keys;
mod m20261130_000009_ingestion_errors_kept_once;
mod m20261130_000010_response_cells_daily;
mod m20261130_000011_response_cells_per_item;
mod m20261130_000012_frame_counts_monthly;
mod m20261130_000013_weighting_classes;
mod m20261130_000014_delivery;
mod m20261130_000015_survey;
mod m20261130_000016_sessions;
mod m20261201_000017_requests_without_contact_hash_index;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_reference_tables::Migration),
            Box::new(m20261128_000002_requests_and_sampling::Migration),
            Box::new(m20261128_000003_responses::Migration),
            Box::new(m20261128_000004_access_and_audit::Migration),
            Box::new(m20261128_000005_seed_reference_data::Migration),
            Box::new(m20261128_000006_sampling_decisions::Migration),
            Box::new(m20261128_000007_response_cells_monthly::Migration),
            Box::new(m20261128_000008_decisions_without_foreign_keys::Migration),
            Box::new(m20261130_000009_ingestion_errors_kept_once::Migration),
            Box::new(m20261130_000010_response_cells_daily::Migration),
            Box::new(m20261130_000011_response_cells_per_item::Migration),
            Box::new(m20261130_000012_frame_counts_monthly::Migration),
            Box::new(m20261130_000013_weighting_classes::Migration),
            Box::new(m20261130_000014_delivery::Migration),
            Box::new(m20261130_000015_survey::Migration),
            Box::new(m20261130_000016_sessions::Migration),
            Box::new(m20261201_000017_requests_without_contact_hash_index::Migration),
        ]
    }
}

/// Helpers shared by the migration files: the conventions every table follows.
pub(crate) mod conventions {
    use sea_orm_migration::{prelude::*, schema::*};

    /// `created_at` with the database's current time as default, with time zone.
    pub fn created_at() -> ColumnDef {
        timestamp_with_time_zone("created_at").default(Expr::current_timestamp()).take()
    }

    /// A foreign key declared inside `CREATE TABLE` (SQLite cannot add one later).
    pub fn fk(
        from_table: &'static str,
        column: &'static str,
        to_table: &'static str,
        on_delete: ForeignKeyAction,
    ) -> ForeignKeyCreateStatement {
        ForeignKey::create()
            .name(format!("fk_{from_table}_{column}"))
            .from(from_table, column)
            .to(to_table, "id")
            .on_delete(on_delete)
            .on_update(ForeignKeyAction::Cascade)
            .take()
    }

    pub fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
        let mut index = Index::create();
        index.name(format!("idx_{table}_{}", columns.join("_"))).table(table).if_not_exists();
        for column in columns {
            index.col(*column);
        }
        index.take()
    }

    pub fn unique_index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
        let mut index = index(table, columns);
        index.name(format!("uq_{table}_{}", columns.join("_"))).unique();
        index
    }
}
