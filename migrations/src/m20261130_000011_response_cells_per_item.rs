//! The roll-ups hold every 0–10 item, not only the overall score: a cell is now (period, item,
//! direction, channel, stratum, score), `item` being `overall` or a driver (`timeliness`, …).
//! Beside n, Σw and Σw² each cell keeps the sums of the same responses' overall score y (Σy,
//! Σy², Σwy, Σwy²), from which a driver's correlation with the overall score follows without
//! reading `responses`. The roll-ups are derived data: the tables are recreated empty and the
//! application rebuilds them at start-up (their layout number changes with this migration).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [(&str, &str, u32); 2] = [("response_cells_monthly", "month", 7), ("response_cells_daily", "day", 10)];

fn table(name: &'static str, period: &'static str, length: u32, per_item: bool) -> TableCreateStatement {
    let mut table = Table::create();
    table.table(name).if_not_exists();
    let mut key = Index::create();
    if per_item {
        // Item first: a query reads one item over a range of periods.
        table.col(string_len("item", 16));
        key.col("item");
    }
    table
        .col(string_len(period, length))
        .col(big_integer("direction_id"))
        .col(big_integer("channel_id"))
        .col(string_len("stratum", 160))
        .col(small_integer("score"))
        .col(big_integer("n"))
        .col(double("sum_w"))
        .col(double("sum_w2"));
    if per_item {
        for sum in ["sum_y", "sum_y2", "sum_wy", "sum_wy2"] {
            table.col(double(sum));
        }
    }
    key.col(period).col("direction_id").col("channel_id").col("stratum").col("score");
    table.primary_key(&mut key).take()
}

async fn recreate(manager: &SchemaManager<'_>, per_item: bool) -> Result<(), DbErr> {
    for (name, period, length) in TABLES {
        manager.drop_table(Table::drop().table(name).if_exists().take()).await?;
        manager.create_table(table(name, period, length, per_item)).await?;
    }
    // Whatever the application recorded as built no longer describes these tables.
    manager
        .exec_stmt(Query::delete().from_table("job_state").and_where(Expr::col("name").eq("rollup.built")).take())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, false).await
    }
}
