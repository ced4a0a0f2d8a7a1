//! Roll-up of responses per calendar day (city time zone), beside the monthly one: any period
//! is then answered from small tables — its whole months from `response_cells_monthly`, the
//! days at either end from this one — instead of a scan of `responses`. Kept by each write in
//! the same transaction; filled for existing responses by the application at start-up (the day
//! of a response depends on the configured time zone, which SQL here does not know).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("response_cells_daily")
                    .if_not_exists()
                    // "YYYY-MM-DD"
                    .col(string_len("day", 10))
                    .col(big_integer("direction_id"))
                    .col(big_integer("channel_id"))
                    .col(string_len("stratum", 160))
                    .col(small_integer("score"))
                    .col(big_integer("n"))
                    .col(double("sum_w"))
                    .col(double("sum_w2"))
                    .primary_key(
                        Index::create().col("day").col("direction_id").col("channel_id").col("stratum").col("score"),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("response_cells_daily").if_exists().take()).await
    }
}
