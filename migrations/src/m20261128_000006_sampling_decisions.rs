//! Each request is decided by exactly one sampling run: a row in `sampling_decisions` is written
//! by the run that first considered it (sampled or not), so a request not drawn is never given a
//! second chance, which would make its true inclusion probability 1-(1-p)^k instead of the
//! recorded p. A narrow table of its own rather than a column of `service_requests`: a run over
//! a million requests then inserts a million small rows instead of rewriting a million wide ones
//! and every index on them.

use crate::conventions::*;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sampling_decisions")
                    .if_not_exists()
                    .col(big_integer("service_request_id").primary_key())
                    .col(big_integer("sampling_run_id"))
                    .col(timestamp_with_time_zone("decided_at").default(Expr::current_timestamp()))
                    .foreign_key(&mut fk(
                        "sampling_decisions",
                        "service_request_id",
                        "service_requests",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "sampling_decisions",
                        "sampling_run_id",
                        "sampling_runs",
                        ForeignKeyAction::Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager.create_index(index("sampling_decisions", &["sampling_run_id"])).await?;
        // The sampling frame is read in (closed_at, id) order.
        manager.create_index(index("service_requests", &["closed_at", "id"])).await?;
        manager.create_index(index("invitations", &["created_at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_invitations_created_at").table("invitations").to_owned()).await?;
        manager
            .drop_index(Index::drop().name("idx_service_requests_closed_at_id").table("service_requests").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("sampling_decisions").if_exists().take()).await?;
        Ok(())
    }
}
