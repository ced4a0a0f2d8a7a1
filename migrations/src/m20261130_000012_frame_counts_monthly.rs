//! The frame of the nonresponse adjustment: how many requests of each stratum (direction ×
//! channel) closed in each city month, cancelled and duplicate ones excluded, with or without a
//! usable contact. Kept by every write of `service_requests` in the same transaction; derived
//! data, built for existing requests by the application at start-up (the month of a request
//! depends on the configured time zone, which SQL here does not know).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("frame_counts_monthly")
                    .if_not_exists()
                    .col(string_len("month", 7))
                    .col(big_integer("direction_id"))
                    .col(big_integer("channel_id"))
                    .col(big_integer("requests"))
                    .primary_key(Index::create().col("month").col("direction_id").col("channel_id"))
                    .take(),
            )
            .await?;
        // Whatever the application recorded as built does not include this table.
        manager
            .exec_stmt(Query::delete().from_table("job_state").and_where(Expr::col("name").eq("rollup.built")).take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("frame_counts_monthly").if_exists().take()).await
    }
}
