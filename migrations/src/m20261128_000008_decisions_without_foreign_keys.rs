//! `sampling_decisions` without foreign keys. The ledger is append-only and written in bulk: a
//! first run over a backlog decides a million requests at once. On PostgreSQL every foreign-key
//! check is a per-row trigger that also takes a KEY SHARE lock on the referenced row; measured on
//! a million decisions, the two checks took 5.2 s of a 6.9 s insert. Its rows are written only by
//! the sampling run, for request ids it has just read, under its run id; a purge that deletes
//! requests or runs deletes their decisions itself (the cascade these keys gave).
//!
//! PostgreSQL drops the constraints; SQLite cannot, so the table is rebuilt there.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const RUN_INDEX: &str = "idx_sampling_decisions_sampling_run_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One connection and all or nothing: on SQLite the migrator otherwise sends each statement
    /// to any connection of the pool, and the rename does not see the drop.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild(manager, false).await,
            _ => {
                for column in ["service_request_id", "sampling_run_id"] {
                    manager
                        .drop_foreign_key(
                            ForeignKey::drop()
                                .name(format!("fk_sampling_decisions_{column}"))
                                .table("sampling_decisions")
                                .to_owned(),
                        )
                        .await?;
                }
                Ok(())
            }
        }
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild(manager, true).await,
            _ => {
                for (column, table) in
                    [("service_request_id", "service_requests"), ("sampling_run_id", "sampling_runs")]
                {
                    manager
                        .create_foreign_key(
                            ForeignKey::create()
                                .name(format!("fk_sampling_decisions_{column}"))
                                .from("sampling_decisions", column)
                                .to(table, "id")
                                .on_delete(ForeignKeyAction::Cascade)
                                .on_update(ForeignKeyAction::Cascade)
                                .to_owned(),
                        )
                        .await?;
                }
                Ok(())
            }
        }
    }
}

/// SQLite: copy the ledger into a table of the same columns, with or without the keys, and put it
/// in the old one's place.
async fn rebuild(manager: &SchemaManager<'_>, with_foreign_keys: bool) -> Result<(), DbErr> {
    let mut table = Table::create();
    table
        .table("sampling_decisions_rebuilt")
        .col(big_integer("service_request_id").primary_key())
        .col(big_integer("sampling_run_id"))
        .col(timestamp_with_time_zone("decided_at").default(Expr::current_timestamp()));
    if with_foreign_keys {
        for (column, target) in [("service_request_id", "service_requests"), ("sampling_run_id", "sampling_runs")] {
            table.foreign_key(
                ForeignKey::create()
                    .name(format!("fk_sampling_decisions_{column}"))
                    .from("sampling_decisions_rebuilt", column)
                    .to(target, "id")
                    .on_delete(ForeignKeyAction::Cascade)
                    .on_update(ForeignKeyAction::Cascade),
            );
        }
    }
    manager.create_table(table.to_owned()).await?;
    let db = manager.get_connection();
    db.execute_unprepared(
        "INSERT INTO sampling_decisions_rebuilt (service_request_id, sampling_run_id, decided_at) \
         SELECT service_request_id, sampling_run_id, decided_at FROM sampling_decisions",
    )
    .await?;
    manager.drop_table(Table::drop().table("sampling_decisions").to_owned()).await?;
    manager.rename_table(Table::rename().table("sampling_decisions_rebuilt", "sampling_decisions").to_owned()).await?;
    manager
        .create_index(
            Index::create()
                .name(RUN_INDEX)
                .table("sampling_decisions")
                .col("sampling_run_id")
                .if_not_exists()
                .to_owned(),
        )
        .await
}
