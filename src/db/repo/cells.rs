//! Reading sufficient statistics, from `responses` or from the roll-ups (which `rollups`
//! writes): one GROUP BY yields, per (direction, channel, month, stratum, score), the count, Σw
//! and Σw² that every estimate is computed from.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DbErr, FromQueryResult,
    sea_query::{Alias, CaseStatement, Expr, ExprTrait, Func, IntoIden, Order, Query, SelectStatement, SimpleExpr},
};

pub use super::rollups::{
    CellDelta, CellKey, CellSums, MonthBoundary, Rollup, ScoreColumn, add_to_cells, label_by_starts, refresh_days,
    rollup_rows,
};
use crate::db::entities::{channel, direction, response};
use crate::domain::Driver;
use crate::stats::Cell;

/// What cells are split by beyond (direction, channel, stratum, score).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Split {
    /// The month of submission (for breakdowns by month).
    pub months: bool,
    /// The class month, the month of the request's closing (for the nonresponse adjustment).
    pub classes: bool,
}

impl Split {
    pub const NONE: Split = Split { months: false, classes: false };
    pub const MONTHS: Split = Split { months: true, classes: false };
}

#[derive(Debug, FromQueryResult)]
struct CellRow {
    direction: String,
    channel: String,
    month: String,
    class_month: String,
    stratum: String,
    score: i32,
    n: i64,
    sum_w: f64,
    sum_w2: f64,
}

/// Joins the direction and channel codes onto a table holding `direction_id` and `channel_id`.
pub(crate) fn join_codes(query: &mut SelectStatement, table: impl IntoIden + Clone + 'static) {
    query
        .inner_join(
            direction::Entity,
            Expr::col((direction::Entity, direction::Column::Id)).equals((table.clone(), Alias::new("direction_id"))),
        )
        .inner_join(
            channel::Entity,
            Expr::col((channel::Entity, channel::Column::Id)).equals((table, Alias::new("channel_id"))),
        );
}

/// Groups by the cell key (the caller adds the month when it is one) and fixes the order, so
/// that floating-point sums give the same digits on every run.
fn by_cell_key(query: &mut SelectStatement) {
    for key in ["direction", "channel", "stratum", "score"] {
        query.group_by_col(Alias::new(key));
    }
    for key in ["direction", "channel", "month", "class_month", "stratum", "score"] {
        query.order_by(Alias::new(key), Order::Asc);
    }
}

async fn load_cells(db: &impl ConnectionTrait, query: &SelectStatement) -> Result<Vec<Cell>, DbErr> {
    let statement = db.get_database_backend().build(query);
    Ok(CellRow::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .filter(|r| (0..=10).contains(&r.score))
        .map(|r| Cell {
            direction: r.direction,
            channel: r.channel,
            month: r.month,
            class_month: r.class_month,
            stratum: r.stratum,
            score: r.score as u8,
            count: r.n as u64,
            sum_w: r.sum_w,
            sum_w2: r.sum_w2,
        })
        .collect())
}

/// Cells of responses submitted in `[from, to)`. `months` (ascending) labels each response with
/// its month in the city's time zone; empty when the breakdown does not need months.
/// `class_months`, when given, labels each with the month its request closed (they must cover
/// every closing), '' when it has none.
pub async fn cells(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    months: &[MonthBoundary],
    class_months: Option<&[MonthBoundary]>,
    score: ScoreColumn,
) -> Result<Vec<Cell>, DbErr> {
    use response::Column as R;
    let submitted = || Expr::col((response::Entity, R::SubmittedAt));
    // Each response labelled with its month by the months' starts.
    let month = label_by_starts(submitted, months);
    let closed = || Expr::col((response::Entity, R::RequestClosedAt));
    let class_month: SimpleExpr = match class_months {
        Some(boundaries) => CaseStatement::new()
            .case(closed().is_null(), Expr::val(""))
            .finally(label_by_starts(closed, boundaries))
            .into(),
        None => Expr::val(""),
    };
    let score_column = score.column();
    let weight = || Expr::col((response::Entity, R::Weight));
    let mut query = Query::select();
    query
        .expr_as(Expr::col((direction::Entity, direction::Column::Code)), Alias::new("direction"))
        .expr_as(Expr::col((channel::Entity, channel::Column::Code)), Alias::new("channel"))
        .expr_as(month, Alias::new("month"))
        .expr_as(class_month, Alias::new("class_month"))
        .expr_as(Expr::col((response::Entity, R::Stratum)), Alias::new("stratum"))
        .expr_as(Expr::col((response::Entity, score_column)).cast_as(Alias::new("integer")), Alias::new("score"))
        .expr_as(Func::count(Expr::col((response::Entity, R::Id))), Alias::new("n"))
        .expr_as(Func::sum(weight()).cast_as(Alias::new("double precision")), Alias::new("sum_w"))
        .expr_as(Func::sum(weight().mul(weight())).cast_as(Alias::new("double precision")), Alias::new("sum_w2"))
        .from(response::Entity)
        .and_where(Expr::col((response::Entity, score_column)).is_not_null())
        .group_by_col(Alias::new("month"))
        .group_by_col(Alias::new("class_month"));
    join_codes(&mut query, response::Entity);
    by_cell_key(&mut query);
    if let Some(from) = from {
        query.and_where(submitted().gte(from));
    }
    if let Some(to) = to {
        query.and_where(submitted().lt(to));
    }
    load_cells(db, &query).await
}

#[derive(Debug, FromQueryResult)]
struct Span {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

/// First and last submission times (to lay out months when no period is given).
pub async fn submission_span(
    db: &impl ConnectionTrait,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), DbErr> {
    let query = Query::select()
        .expr_as(Func::min(Expr::col(response::Column::SubmittedAt)), Alias::new("first"))
        .expr_as(Func::max(Expr::col(response::Column::SubmittedAt)), Alias::new("last"))
        .from(response::Entity)
        .take();
    let statement = db.get_database_backend().build(&query);
    let span = Span::find_by_statement(statement).one(db).await?;
    Ok(span.map(|s| (s.first, s.last)).unwrap_or((None, None)))
}

/// First and last closing instants of the requests of the responses submitted in `[from, to)`
/// (to lay out the class months a recompute labels them with).
pub async fn closing_span(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), DbErr> {
    use response::Column as R;
    let mut query = Query::select()
        .expr_as(Func::min(Expr::col(R::RequestClosedAt)), Alias::new("first"))
        .expr_as(Func::max(Expr::col(R::RequestClosedAt)), Alias::new("last"))
        .from(response::Entity)
        .take();
    if let Some(from) = from {
        query.and_where(Expr::col(R::SubmittedAt).gte(from));
    }
    if let Some(to) = to {
        query.and_where(Expr::col(R::SubmittedAt).lt(to));
    }
    let statement = db.get_database_backend().build(&query);
    let span = Span::find_by_statement(statement).one(db).await?;
    Ok(span.map(|s| (s.first, s.last)).unwrap_or((None, None)))
}

/// The sums of the overall score y beside a driver's score x, as SQL expressions over
/// `responses`: Σy, Σy², Σwy, Σwy².
fn overall_sums(query: &mut SelectStatement, table: impl IntoIden + Clone + 'static) {
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let weight = || col("weight");
    let y = || col("overall_score").cast_as(Alias::new("double precision"));
    query
        .expr_as(Func::sum(y()), Alias::new("sum_y"))
        .expr_as(Func::sum(y().mul(y())), Alias::new("sum_y2"))
        .expr_as(Func::sum(weight().mul(y())), Alias::new("sum_wy"))
        .expr_as(Func::sum(weight().mul(y()).mul(y())), Alias::new("sum_wy2"));
}

#[derive(Debug, FromQueryResult)]
struct MomentRow {
    direction: String,
    channel: String,
    driver: i32,
    #[sea_orm(nested)]
    sums: SumsRow,
}

/// A cell's sums as a query names them (`n`, `sum_w`, … `sum_wy2`).
#[derive(Debug, FromQueryResult)]
struct SumsRow {
    n: i64,
    sum_w: f64,
    sum_w2: f64,
    sum_y: f64,
    sum_y2: f64,
    sum_wy: f64,
    sum_wy2: f64,
}

impl From<SumsRow> for CellSums {
    fn from(r: SumsRow) -> CellSums {
        CellSums {
            n: r.n,
            sum_w: r.sum_w,
            sum_w2: r.sum_w2,
            sum_y: r.sum_y,
            sum_y2: r.sum_y2,
            sum_wy: r.sum_wy,
            sum_wy2: r.sum_wy2,
        }
    }
}

async fn load_moments(
    db: &impl ConnectionTrait,
    query: &SelectStatement,
) -> Result<Vec<crate::stats::drivers::MomentCell>, DbErr> {
    let statement = db.get_database_backend().build(query);
    Ok(MomentRow::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .filter(|r| (0..=10).contains(&r.driver))
        .map(|r| crate::stats::drivers::MomentCell {
            driver: r.driver as u8,
            sums: r.sums.into(),
            direction: r.direction,
            channel: r.channel,
        })
        .collect())
}

/// Groups moment rows by (direction, channel, driver score), in that order.
fn by_moment_key(query: &mut SelectStatement) {
    for key in ["direction", "channel", "driver"] {
        query.group_by_col(Alias::new(key)).order_by(Alias::new(key), Order::Asc);
    }
}

/// A driver's moment cells (per direction, channel and driver score, with the sums of the
/// overall score) computed from the responses submitted in `[from, to)`. The reports read them
/// from the roll-ups (`rolled_up_moments`); this scan is the reference they are checked against.
pub async fn scanned_moments(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    driver: Driver,
) -> Result<Vec<crate::stats::drivers::MomentCell>, DbErr> {
    use response::Column as R;
    let driver = ScoreColumn::Driver(driver).column();
    let weight = || Expr::col((response::Entity, R::Weight));
    let mut query = Query::select();
    query
        .expr_as(Expr::col((direction::Entity, direction::Column::Code)), Alias::new("direction"))
        .expr_as(Expr::col((channel::Entity, channel::Column::Code)), Alias::new("channel"))
        .expr_as(Expr::col((response::Entity, driver)).cast_as(Alias::new("integer")), Alias::new("driver"))
        .expr_as(Func::count(Expr::col((response::Entity, R::Id))), Alias::new("n"))
        .expr_as(Func::sum(weight()).cast_as(Alias::new("double precision")), Alias::new("sum_w"))
        .expr_as(Func::sum(weight().mul(weight())).cast_as(Alias::new("double precision")), Alias::new("sum_w2"))
        .from(response::Entity)
        .and_where(Expr::col((response::Entity, driver)).is_not_null());
    overall_sums(&mut query, response::Entity);
    join_codes(&mut query, response::Entity);
    by_moment_key(&mut query);
    if let Some(from) = from {
        query.and_where(Expr::col((response::Entity, R::SubmittedAt)).gte(from));
    }
    if let Some(to) = to {
        query.and_where(Expr::col((response::Entity, R::SubmittedAt)).lt(to));
    }
    load_moments(db, &query).await
}

#[derive(Debug, FromQueryResult)]
struct RateRow {
    stratum: String,
    sent: i64,
    complete: i64,
    partial: i64,
}

/// Per stratum: invitations sent in `[from, to)` (of one direction, by its code, when given), and
/// how many of them got a complete or a partial response.
pub async fn response_counts(
    db: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    direction: Option<&str>,
) -> Result<Vec<(String, u64, u64, u64)>, DbErr> {
    use crate::db::entities::invitation::{self, Column as I};
    let completion = |kind: &str| {
        Func::sum(
            CaseStatement::new()
                .case(Expr::col((response::Entity, response::Column::Completion)).eq(kind), Expr::val(1))
                .finally(Expr::val(0)),
        )
    };
    let mut query = Query::select();
    query
        .expr_as(Expr::col((invitation::Entity, I::Stratum)), Alias::new("stratum"))
        .expr_as(Func::count(Expr::col((invitation::Entity, I::Id))).cast_as(Alias::new("bigint")), Alias::new("sent"))
        .expr_as(completion("complete").cast_as(Alias::new("bigint")), Alias::new("complete"))
        .expr_as(completion("partial").cast_as(Alias::new("bigint")), Alias::new("partial"))
        .from(invitation::Entity)
        .left_join(
            response::Entity,
            Expr::col((response::Entity, response::Column::InvitationId)).equals((invitation::Entity, I::Id)),
        )
        .and_where(Expr::col((invitation::Entity, I::SentAt)).is_not_null())
        .group_by_col((invitation::Entity, I::Stratum))
        .order_by((invitation::Entity, I::Stratum), Order::Asc);
    if let Some(from) = from {
        query.and_where(Expr::col((invitation::Entity, I::SentAt)).gte(from));
    }
    if let Some(to) = to {
        query.and_where(Expr::col((invitation::Entity, I::SentAt)).lt(to));
    }
    if let Some(code) = direction {
        query.and_where(
            Expr::col((invitation::Entity, I::DirectionId)).in_subquery(
                Query::select()
                    .column(direction::Column::Id)
                    .from(direction::Entity)
                    .and_where(Expr::col(direction::Column::Code).eq(code))
                    .take(),
            ),
        );
    }
    let statement = db.get_database_backend().build(&query);
    Ok(RateRow::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.stratum, r.sent as u64, r.complete as u64, r.partial as u64))
        .collect())
}

/// Cells from a roll-up for the periods `[first, last]` (labels, inclusive; `None` is
/// open-ended), labelled by their month when `split.months` (a day's month is its label's first
/// seven characters) and by their class month when `split.classes`.
async fn rolled_up_cells(
    db: &impl ConnectionTrait,
    rollup: Rollup,
    item: ScoreColumn,
    first: Option<&str>,
    last: Option<&str>,
    split: Split,
) -> Result<Vec<Cell>, DbErr> {
    let with_months = split.months;
    let table = Alias::new(rollup.table());
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let month_of_row = || match rollup {
        Rollup::Monthly => col("month"),
        Rollup::Daily => Expr::cust("substr(response_cells_daily.day, 1, 7)"),
    };
    let month: SimpleExpr = if with_months { month_of_row() } else { Expr::val("") };
    let mut query = Query::select();
    query
        .expr_as(Expr::col((direction::Entity, direction::Column::Code)), Alias::new("direction"))
        .expr_as(Expr::col((channel::Entity, channel::Column::Code)), Alias::new("channel"))
        .expr_as(month, Alias::new("month"))
        .expr_as(if split.classes { col("class_month") } else { Expr::val("") }, Alias::new("class_month"))
        .expr_as(col("stratum"), Alias::new("stratum"))
        .expr_as(col("score").cast_as(Alias::new("integer")), Alias::new("score"))
        .expr_as(Func::sum(col("n")).cast_as(Alias::new("bigint")), Alias::new("n"))
        .expr_as(Func::sum(col("sum_w")).cast_as(Alias::new("double precision")), Alias::new("sum_w"))
        .expr_as(Func::sum(col("sum_w2")).cast_as(Alias::new("double precision")), Alias::new("sum_w2"))
        .from(table.clone())
        .and_where(col("item").eq(item.label()));
    join_codes(&mut query, table.clone());
    by_cell_key(&mut query);
    if with_months {
        // The table's own column or expression (GROUP BY resolves names to input columns first).
        query.add_group_by([month_of_row()]);
    }
    if split.classes {
        query.group_by_col((table.clone(), Alias::new("class_month")));
    }
    if let Some(first) = first {
        query.and_where(col(rollup.period()).gte(first));
    }
    if let Some(last) = last {
        query.and_where(col(rollup.period()).lte(last));
    }
    load_cells(db, &query).await
}

/// Cells of `item` from the daily roll-up for the days `[first, last]` ("YYYY-MM-DD",
/// inclusive).
pub async fn daily_cells(
    db: &impl ConnectionTrait,
    item: ScoreColumn,
    first: &str,
    last: &str,
    split: Split,
) -> Result<Vec<Cell>, DbErr> {
    rolled_up_cells(db, Rollup::Daily, item, Some(first), Some(last), split).await
}

/// Cells of `item` from the monthly roll-up for the months `[first, last]` ("YYYY-MM",
/// inclusive; `None` is open-ended), split as `split` says.
pub async fn rollup_cells(
    db: &impl ConnectionTrait,
    item: ScoreColumn,
    first: Option<&str>,
    last: Option<&str>,
    split: Split,
) -> Result<Vec<Cell>, DbErr> {
    rolled_up_cells(db, Rollup::Monthly, item, first, last, split).await
}

/// The respondents of every weighting class over all time — (direction, channel, class month),
/// count and Σw of the design weights — from the monthly roll-up's overall-score cells.
pub async fn class_tallies(db: &impl ConnectionTrait) -> Result<Vec<crate::stats::adjust::ClassTally>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        direction: String,
        channel: String,
        class_month: String,
        n: i64,
        sum_w: f64,
    }
    let table = Alias::new(Rollup::Monthly.table());
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let mut query = Query::select();
    query
        .expr_as(Expr::col((direction::Entity, direction::Column::Code)), Alias::new("direction"))
        .expr_as(Expr::col((channel::Entity, channel::Column::Code)), Alias::new("channel"))
        .expr_as(col("class_month"), Alias::new("class_month"))
        .expr_as(Func::sum(col("n")).cast_as(Alias::new("bigint")), Alias::new("n"))
        .expr_as(Func::sum(col("sum_w")).cast_as(Alias::new("double precision")), Alias::new("sum_w"))
        .from(table.clone())
        .and_where(col("item").eq(ScoreColumn::Overall.label()))
        .and_where(col("class_month").ne(""));
    join_codes(&mut query, table.clone());
    query.add_group_by([
        Expr::col((direction::Entity, direction::Column::Code)),
        Expr::col((channel::Entity, channel::Column::Code)),
        col("class_month"),
    ]);
    for key in ["direction", "channel", "class_month"] {
        query.order_by(Alias::new(key), Order::Asc);
    }
    let statement = db.get_database_backend().build(&query);
    Ok(Row::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .map(|r| crate::stats::adjust::ClassTally {
            class: crate::stats::adjust::ClassKey::of(&r.direction, &r.channel, &r.class_month),
            respondents: r.n as u64,
            design_weight: r.sum_w,
        })
        .collect())
}

/// The sums of one roll-up cell with its codes: an item's score in a (direction, channel,
/// stratum), over some period.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemCell {
    pub item: ScoreColumn,
    pub direction: String,
    pub channel: String,
    pub stratum: String,
    pub score: u8,
    pub sums: CellSums,
}

#[derive(Debug, FromQueryResult)]
struct ItemRow {
    item: String,
    direction: String,
    channel: String,
    stratum: String,
    score: i32,
    #[sea_orm(nested)]
    sums: SumsRow,
}

/// The cells of several items from a roll-up for the periods `[first, last]` (labels,
/// inclusive; `None` is open-ended), every sum kept: one query for all the drivers, from which
/// both their score cells and their moments with the overall score follow.
pub async fn rolled_up_items(
    db: &impl ConnectionTrait,
    rollup: Rollup,
    items: &[ScoreColumn],
    first: Option<&str>,
    last: Option<&str>,
) -> Result<Vec<ItemCell>, DbErr> {
    let table = Alias::new(rollup.table());
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let sum = |name: &str| Func::sum(col(name)).cast_as(Alias::new("double precision"));
    let mut query = Query::select();
    query
        .expr_as(col("item"), Alias::new("item"))
        .expr_as(Expr::col((direction::Entity, direction::Column::Code)), Alias::new("direction"))
        .expr_as(Expr::col((channel::Entity, channel::Column::Code)), Alias::new("channel"))
        .expr_as(col("stratum"), Alias::new("stratum"))
        .expr_as(col("score").cast_as(Alias::new("integer")), Alias::new("score"))
        .expr_as(Func::sum(col("n")).cast_as(Alias::new("bigint")), Alias::new("n"));
    for name in ["sum_w", "sum_w2", "sum_y", "sum_y2", "sum_wy", "sum_wy2"] {
        query.expr_as(sum(name), Alias::new(name));
    }
    query.from(table.clone()).and_where(col("item").is_in(items.iter().map(|item| item.label())));
    join_codes(&mut query, table.clone());
    for key in ["item", "direction", "channel", "stratum", "score"] {
        query.group_by_col(Alias::new(key)).order_by(Alias::new(key), Order::Asc);
    }
    if let Some(first) = first {
        query.and_where(col(rollup.period()).gte(first));
    }
    if let Some(last) = last {
        query.and_where(col(rollup.period()).lte(last));
    }
    let statement = db.get_database_backend().build(&query);
    Ok(ItemRow::find_by_statement(statement)
        .all(db)
        .await?
        .into_iter()
        .filter(|r| (0..=10).contains(&r.score))
        .filter_map(|r| {
            Some(ItemCell {
                item: ScoreColumn::from_label(&r.item)?,
                direction: r.direction,
                channel: r.channel,
                stratum: r.stratum,
                score: r.score as u8,
                sums: r.sums.into(),
            })
        })
        .collect())
}
