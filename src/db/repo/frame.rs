//! `frame_counts_monthly`: closed requests per stratum and city month of closing (the frame of
//! the nonresponse adjustment). Written by adding what request writes change, and recomputed
//! from `service_requests`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DbErr, FromQueryResult, TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait, Func, Order, Query},
};

use super::rollups::{MonthBoundary, label_by_starts};
use crate::db::entities::{channel, direction, service_request};

const TABLE: &str = "frame_counts_monthly";

/// What writes add to (or take from) one month of one stratum.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FrameDelta {
    /// "YYYY-MM"
    pub month: String,
    pub direction_id: i64,
    pub channel_id: i64,
    pub requests: i64,
}

/// Add the deltas (in key order: concurrent writers lock the rows in the same order); rows
/// brought to zero are deleted, so the table holds what a recompute holds.
pub async fn add(db: &impl ConnectionTrait, deltas: &[FrameDelta]) -> Result<(), DbErr> {
    let keys = ["month", "direction_id", "channel_id"];
    crate::db::sql::add_rows(db, TABLE, &keys, &["requests"], deltas, |params, d| {
        vec![
            params.bind(d.month.clone()),
            params.bind(d.direction_id),
            params.bind(d.channel_id),
            params.bind(d.requests),
        ]
    })
    .await?;
    if deltas.iter().any(|d| d.requests < 0) {
        db.execute_unprepared(&format!("DELETE FROM {TABLE} WHERE requests <= 0")).await?;
    }
    Ok(())
}

/// Replace the whole table by a recompute from `service_requests` over `months` (label and the
/// instant each begins, ascending; the last ends at `end`: every closing month), in one
/// transaction, so that readers see the old counts or the new ones.
pub async fn rebuild<C>(db: &C, months: &[MonthBoundary], end: DateTime<Utc>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    use sea_orm::TransactionSession;
    use service_request::Column as R;
    let closed = || Expr::col(R::ClosedAt);
    let delete = Query::delete().from_table(Alias::new(TABLE)).take();
    let txn = crate::db::begin_write(db).await?;
    txn.execute(&delete).await?;
    let Some(first) = months.first() else { return txn.commit().await };
    let select = Query::select()
        .expr_as(label_by_starts(closed, months), Alias::new("month_label"))
        .columns([R::DirectionId, R::ChannelId])
        .expr(Func::count(Expr::col(R::Id)))
        .from(service_request::Entity)
        .and_where(Expr::col(R::Status).eq("closed"))
        .and_where(closed().gte(first.starts))
        .and_where(closed().lt(end))
        .group_by_col(Alias::new("month_label"))
        .group_by_columns([R::DirectionId, R::ChannelId])
        .take();
    let insert = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns(["month", "direction_id", "channel_id", "requests"].map(Alias::new))
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .take();
    txn.execute(&insert).await?;
    txn.commit().await
}

/// First and last closing instants of closed requests.
pub async fn closing_span(db: &impl ConnectionTrait) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), DbErr> {
    #[derive(FromQueryResult)]
    struct Span {
        first: Option<DateTime<Utc>>,
        last: Option<DateTime<Utc>>,
    }
    use service_request::Column as R;
    let query = Query::select()
        .expr_as(Func::min(Expr::col(R::ClosedAt)), Alias::new("first"))
        .expr_as(Func::max(Expr::col(R::ClosedAt)), Alias::new("last"))
        .from(service_request::Entity)
        .and_where(Expr::col(R::Status).eq("closed"))
        .take();
    let span = Span::find_by_statement(db.get_database_backend().build(&query)).one(db).await?;
    Ok(span.map(|s| (s.first, s.last)).unwrap_or((None, None)))
}

/// The frame counts of the months `[first, last]` ("YYYY-MM", inclusive; `None` open-ended),
/// with the direction and channel codes: (direction, channel, month, requests), in key order.
pub async fn counts(
    db: &impl ConnectionTrait,
    first: Option<&str>,
    last: Option<&str>,
) -> Result<Vec<(String, String, String, u64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        direction: String,
        channel: String,
        month: String,
        requests: i64,
    }
    let table = Alias::new(TABLE);
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let mut query = Query::select();
    query
        .expr_as(Expr::col((direction::Entity, direction::Column::Code)), Alias::new("direction"))
        .expr_as(Expr::col((channel::Entity, channel::Column::Code)), Alias::new("channel"))
        .expr_as(col("month"), Alias::new("month"))
        .expr_as(col("requests"), Alias::new("requests"))
        .from(table.clone())
        .order_by(Alias::new("direction"), Order::Asc)
        .order_by(Alias::new("channel"), Order::Asc)
        .order_by(Alias::new("month"), Order::Asc);
    super::cells::join_codes(&mut query, table.clone());
    if let Some(first) = first {
        query.and_where(col("month").gte(first));
    }
    if let Some(last) = last {
        query.and_where(col("month").lte(last));
    }
    let rows = Row::find_by_statement(db.get_database_backend().build(&query)).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.direction, r.channel, r.month, u64::try_from(r.requests).unwrap_or(0))).collect())
}

/// Every row, in key order (for checks against a recompute).
pub async fn rows(db: &impl ConnectionTrait) -> Result<Vec<FrameDelta>, DbErr> {
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT month, direction_id, channel_id, requests FROM {TABLE} ORDER BY month, direction_id, channel_id"
            ),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FrameDelta {
                month: row.try_get_by_index(0)?,
                direction_id: row.try_get_by_index(1)?,
                channel_id: row.try_get_by_index(2)?,
                requests: row.try_get_by_index(3)?,
            })
        })
        .collect()
}
