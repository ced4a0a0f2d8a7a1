//! Weighting classes for the nonresponse adjustment: a response's class is its stratum
//! (direction × channel) in the city month its request closed. `responses.request_closed_at`
//! keeps that instant (copied from the request when the response is stored; filled here from
//! the invitation's request for the responses already collected; empty for responses imported
//! from an earlier tool, which have no frame on the platform). The roll-ups gain the class
//! month in their key (`class_month`, '' when there is none); they are derived data, recreated
//! empty and rebuilt by the application at start-up (their layout number changes with this
//! migration).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [(&str, &str, u32); 2] = [("response_cells_monthly", "month", 7), ("response_cells_daily", "day", 10)];

fn table(name: &'static str, period: &'static str, length: u32, with_class: bool) -> TableCreateStatement {
    let mut table = Table::create();
    table.table(name).if_not_exists().col(string_len("item", 16)).col(string_len(period, length));
    let mut key = Index::create();
    key.col("item").col(period);
    if with_class {
        table.col(string_len("class_month", 7).default(""));
        key.col("class_month");
    }
    table
        .col(big_integer("direction_id"))
        .col(big_integer("channel_id"))
        .col(string_len("stratum", 160))
        .col(small_integer("score"))
        .col(big_integer("n"));
    for sum in ["sum_w", "sum_w2", "sum_y", "sum_y2", "sum_wy", "sum_wy2"] {
        table.col(double(sum));
    }
    key.col("direction_id").col("channel_id").col("stratum").col("score");
    table.primary_key(&mut key).take()
}

async fn recreate(manager: &SchemaManager<'_>, with_class: bool) -> Result<(), DbErr> {
    for (name, period, length) in TABLES {
        manager.drop_table(Table::drop().table(name).if_exists().take()).await?;
        manager.create_table(table(name, period, length, with_class)).await?;
    }
    // Whatever the application recorded as built no longer describes these tables.
    manager
        .exec_stmt(Query::delete().from_table("job_state").and_where(Expr::col("name").eq("rollup.built")).take())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("responses").add_column(timestamp_with_time_zone_null("request_closed_at")).take(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE responses SET request_closed_at = (SELECT service_requests.closed_at \
                 FROM invitations JOIN service_requests ON service_requests.id = invitations.service_request_id \
                 WHERE invitations.id = responses.invitation_id) WHERE invitation_id IS NOT NULL",
            )
            .await?;
        recreate(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        recreate(manager, false).await?;
        manager.alter_table(Table::alter().table("responses").drop_column("request_closed_at").take()).await
    }
}
