//! Each request is decided by exactly one sampling run: `service_requests.sampling_run_id` is
//! set by the run that first considered it (sampled or not), so a request not drawn is never
//! given a second chance, which would make its true inclusion probability 1-(1-p)^k instead of
//! the recorded p.

use crate::conventions::*;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("service_requests").add_column(big_integer_null("sampling_run_id")).take(),
            )
            .await?;
        manager.create_index(index("service_requests", &["sampling_run_id", "closed_at"])).await?;
        manager.create_index(index("invitations", &["created_at"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_invitations_created_at").table("invitations").to_owned()).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_service_requests_sampling_run_id_closed_at")
                    .table("service_requests")
                    .to_owned(),
            )
            .await?;
        manager.alter_table(Table::alter().table("service_requests").drop_column("sampling_run_id").take()).await?;
        Ok(())
    }
}
