//! Writing the roll-ups of the response cells (`response_cells_monthly`, `response_cells_daily`):
//! adding what stored responses contribute, and recomputing periods from `responses`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DbErr,
    sea_query::{Alias, CaseStatement, Expr, ExprTrait, Func, Query, SimpleExpr},
};

use crate::db::entities::response;

/// A month of the report: its label and where it starts (UTC instant of local midnight).
#[derive(Debug, Clone)]
pub struct MonthBoundary {
    pub label: String,
    pub starts: DateTime<Utc>,
}

/// The two roll-ups of the response cells: per city month and per city day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollup {
    Monthly,
    Daily,
}

impl Rollup {
    pub const ALL: [Rollup; 2] = [Rollup::Monthly, Rollup::Daily];

    pub(crate) fn table(self) -> &'static str {
        match self {
            Rollup::Monthly => "response_cells_monthly",
            Rollup::Daily => "response_cells_daily",
        }
    }

    /// The column holding the period's label ("YYYY-MM" or "YYYY-MM-DD").
    pub(crate) fn period(self) -> &'static str {
        match self {
            Rollup::Monthly => "month",
            Rollup::Daily => "day",
        }
    }
}

/// The roll-up cell a response counts in.
#[derive(Debug, Clone, PartialEq)]
pub struct CellKey {
    /// "YYYY-MM" or "YYYY-MM-DD" (as the roll-up is), in the city's time zone.
    pub period: String,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    pub score: i16,
}

/// Add one response of weight `weight` to its cell (`sign` = 1), or take one away (`sign` = −1),
/// in one atomic statement: `INSERT … ON CONFLICT DO UPDATE` adds to the row whoever else is
/// adding to it at the same moment. A cell brought to zero responses is deleted, so the table
/// holds exactly the cells a full recompute would.
pub async fn add_to_cell(
    db: &impl ConnectionTrait,
    rollup: Rollup,
    key: &CellKey,
    weight: f64,
    sign: i8,
) -> Result<(), DbErr> {
    let sign = f64::from(sign.signum());
    let delta = CellDelta { key: key.clone(), n: sign as i64, sum_w: sign * weight, sum_w2: sign * weight * weight };
    add_to_cells(db, rollup, &[delta]).await
}

/// Every row of a roll-up, in key order (for checks against a recompute).
pub async fn rollup_rows(db: &impl ConnectionTrait, rollup: Rollup) -> Result<Vec<(CellKey, i64, f64, f64)>, DbErr> {
    let (table, period) = (rollup.table(), rollup.period());
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT {period}, direction_id, channel_id, stratum, score, n, sum_w, sum_w2 FROM {table} \
                 ORDER BY {period}, direction_id, channel_id, stratum, score"
            ),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let key = CellKey {
                period: row.try_get_by_index(0)?,
                direction_id: row.try_get_by_index(1)?,
                channel_id: row.try_get_by_index(2)?,
                stratum: row.try_get_by_index(3)?,
                score: row.try_get_by_index(4)?,
            };
            Ok((key, row.try_get_by_index(5)?, row.try_get_by_index(6)?, row.try_get_by_index(7)?))
        })
        .collect()
}

/// The label of the period an instant falls in, by the periods' starts (ascending; the last
/// runs to whatever bound the query sets): `CASE WHEN t < start(p2) THEN p1 … ELSE last END`,
/// or the one label, or '' when there is no period.
pub fn label_by_starts(at: impl Fn() -> SimpleExpr, periods: &[MonthBoundary]) -> SimpleExpr {
    match periods {
        [] => Expr::val(""),
        [only] => Expr::val(only.label.clone()),
        [first, rest @ ..] => {
            let mut case = CaseStatement::new();
            let mut previous = first.label.clone();
            for period in rest {
                case = case.case(at().lt(period.starts), Expr::val(previous.clone()));
                previous = period.label.clone();
            }
            case.finally(Expr::val(previous)).into()
        }
    }
}

/// Recompute the rows of a roll-up for consecutive periods (months or days: label and the
/// instant each begins, ascending; the last ends at `end`) from `responses`, in one transaction:
/// delete them, then one `INSERT … SELECT` labelling each response by `label_by_starts`.
pub async fn refresh<C>(db: &C, rollup: Rollup, periods: &[MonthBoundary], end: DateTime<Utc>) -> Result<(), DbErr>
where
    C: ConnectionTrait + sea_orm::TransactionTrait,
{
    use response::Column as R;
    use sea_orm::TransactionSession;
    let (Some(first), Some(last)) = (periods.first(), periods.last()) else { return Ok(()) };
    let table = Alias::new(rollup.table());
    let submitted = || Expr::col(R::SubmittedAt);
    let weight = || Expr::col(R::Weight);
    let delete = Query::delete()
        .from_table(table.clone())
        .and_where(Expr::col(Alias::new(rollup.period())).gte(first.label.clone()))
        .and_where(Expr::col(Alias::new(rollup.period())).lte(last.label.clone()))
        .take();
    let select = Query::select()
        .expr_as(label_by_starts(submitted, periods), Alias::new("period_label"))
        .columns([R::DirectionId, R::ChannelId, R::Stratum, R::OverallScore])
        .expr(Func::count(Expr::col(R::Id)))
        .expr(Func::sum(weight()))
        .expr(Func::sum(weight().mul(weight())))
        .from(response::Entity)
        .and_where(submitted().gte(first.starts))
        .and_where(submitted().lt(end))
        .group_by_col(Alias::new("period_label"))
        .group_by_columns([R::DirectionId, R::ChannelId, R::Stratum, R::OverallScore])
        .take();
    let columns = [rollup.period(), "direction_id", "channel_id", "stratum", "score", "n", "sum_w", "sum_w2"];
    let insert = Query::insert()
        .into_table(table)
        .columns(columns.map(Alias::new))
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .take();
    let txn = crate::db::begin_write(db).await?;
    txn.execute(&delete).await?;
    txn.execute(&insert).await?;
    txn.commit().await
}

/// What a set of writes adds to one cell (negative when responses leave it).
#[derive(Debug, Clone, PartialEq)]
pub struct CellDelta {
    pub key: CellKey,
    pub n: i64,
    pub sum_w: f64,
    pub sum_w2: f64,
}

/// Add many deltas to a roll-up: one `INSERT … VALUES … ON CONFLICT DO UPDATE` per thousand
/// cells, the numbers bound as typed parameters (no decimal text in between). Cells brought to
/// zero responses are deleted.
pub async fn add_to_cells(db: &impl ConnectionTrait, rollup: Rollup, deltas: &[CellDelta]) -> Result<(), DbErr> {
    use crate::db::sql::Params;
    let (table, period) = (rollup.table(), rollup.period());
    for chunk in crate::db::sql::fixed_shapes(deltas) {
        let mut params = Params::new(db.get_database_backend());
        let rows: Vec<String> = chunk
            .iter()
            .map(|delta| {
                let values = [
                    params.bind(delta.key.period.clone()),
                    params.bind(delta.key.direction_id),
                    params.bind(delta.key.channel_id),
                    params.bind(delta.key.stratum.clone()),
                    params.bind(delta.key.score),
                    params.bind(delta.n),
                    params.bind(delta.sum_w),
                    params.bind(delta.sum_w2),
                ];
                format!("({})", values.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table} ({period}, direction_id, channel_id, stratum, score, n, sum_w, sum_w2) VALUES {} \
             ON CONFLICT ({period}, direction_id, channel_id, stratum, score) DO UPDATE SET \
             n = {table}.n + excluded.n, sum_w = {table}.sum_w + excluded.sum_w, \
             sum_w2 = {table}.sum_w2 + excluded.sum_w2",
            rows.join(", ")
        );
        db.execute_raw(params.statement(sql)).await?;
    }
    for delta in deltas.iter().filter(|d| d.n < 0) {
        let mut params = Params::new(db.get_database_backend());
        let sql = format!(
            "DELETE FROM {table} WHERE {period} = {} AND direction_id = {} AND channel_id = {} \
             AND stratum = {} AND score = {} AND n <= 0",
            params.bind(delta.key.period.clone()),
            params.bind(delta.key.direction_id),
            params.bind(delta.key.channel_id),
            params.bind(delta.key.stratum.clone()),
            params.bind(delta.key.score)
        );
        db.execute_raw(params.statement(sql)).await?;
    }
    Ok(())
}
