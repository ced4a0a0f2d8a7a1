//! Roll-up of responses per calendar month (city time zone): the sufficient statistics of every
//! (month, direction, channel, stratum, score). Statistics over whole months read these few
//! thousand rows instead of every response; a month's rows are recomputed from `responses`
//! whenever responses of that month are stored.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("response_cells_monthly")
                    .if_not_exists()
                    .col(string_len("month", 7))
                    .col(big_integer("direction_id"))
                    .col(big_integer("channel_id"))
                    .col(string_len("stratum", 160))
                    .col(small_integer("score"))
                    .col(big_integer("n"))
                    .col(double("sum_w"))
                    .col(double("sum_w2"))
                    .primary_key(
                        Index::create().col("month").col("direction_id").col("channel_id").col("stratum").col("score"),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("response_cells_monthly").if_exists().take()).await
    }
}
