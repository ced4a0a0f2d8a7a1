//! Writing the roll-ups of the response cells (`response_cells_monthly`, `response_cells_daily`):
//! adding what stored responses contribute, and recomputing periods from `responses`.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DbErr,
    sea_query::{Alias, CaseStatement, Expr, ExprTrait, Func, Query, SimpleExpr},
};

use crate::db::entities::response;
use crate::domain::Driver;

/// A month of the report: its label and where it starts (UTC instant of local midnight).
#[derive(Debug, Clone)]
pub struct MonthBoundary {
    pub label: String,
    pub starts: DateTime<Utc>,
}

impl MonthBoundary {
    /// The city months from the one holding `first` to the one holding `last`, each with the
    /// instant it starts.
    pub fn months(first: chrono::NaiveDate, last: chrono::NaiveDate, zone: chrono_tz::Tz) -> Vec<MonthBoundary> {
        crate::domain::Month::range(first, last)
            .into_iter()
            .map(|m| MonthBoundary { label: m.label(), starts: m.starts(zone) })
            .collect()
    }

    /// The city months from the one holding the instant `first` to the one holding `last`.
    pub fn spanning(first: DateTime<Utc>, last: DateTime<Utc>, zone: chrono_tz::Tz) -> Vec<MonthBoundary> {
        MonthBoundary::months(first.with_timezone(&zone).date_naive(), last.with_timezone(&zone).date_naive(), zone)
    }
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

/// The 0–10 item a cell counts: the overall score or one driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoreColumn {
    Overall,
    Driver(Driver),
}

impl ScoreColumn {
    pub const ALL: [ScoreColumn; 6] = [
        ScoreColumn::Overall,
        ScoreColumn::Driver(Driver::Timeliness),
        ScoreColumn::Driver(Driver::Courtesy),
        ScoreColumn::Driver(Driver::Competence),
        ScoreColumn::Driver(Driver::Clarity),
        ScoreColumn::Driver(Driver::Fairness),
    ];

    /// The value of the roll-ups' `item` column.
    pub fn label(self) -> &'static str {
        match self {
            ScoreColumn::Overall => "overall",
            ScoreColumn::Driver(driver) => driver.as_str(),
        }
    }

    pub fn from_label(label: &str) -> Option<ScoreColumn> {
        ScoreColumn::ALL.into_iter().find(|item| item.label() == label)
    }

    /// The column of `responses` holding this item.
    pub fn column(self) -> response::Column {
        match self {
            ScoreColumn::Overall => response::Column::OverallScore,
            ScoreColumn::Driver(Driver::Timeliness) => response::Column::ScoreTimeliness,
            ScoreColumn::Driver(Driver::Courtesy) => response::Column::ScoreCourtesy,
            ScoreColumn::Driver(Driver::Competence) => response::Column::ScoreCompetence,
            ScoreColumn::Driver(Driver::Clarity) => response::Column::ScoreClarity,
            ScoreColumn::Driver(Driver::Fairness) => response::Column::ScoreFairness,
        }
    }

    /// This item's score in a response (`None`: not answered, or not applicable).
    pub fn score_of(self, row: &response::Model) -> Option<i16> {
        match self {
            ScoreColumn::Overall => Some(row.overall_score),
            ScoreColumn::Driver(Driver::Timeliness) => row.score_timeliness,
            ScoreColumn::Driver(Driver::Courtesy) => row.score_courtesy,
            ScoreColumn::Driver(Driver::Competence) => row.score_competence,
            ScoreColumn::Driver(Driver::Clarity) => row.score_clarity,
            ScoreColumn::Driver(Driver::Fairness) => row.score_fairness,
        }
    }
}

/// The roll-up cell a response counts in, for one item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CellKey {
    /// "YYYY-MM" or "YYYY-MM-DD" (as the roll-up is), in the city's time zone.
    pub period: String,
    pub item: ScoreColumn,
    /// The city month ("YYYY-MM") the response's request closed in, which with the stratum makes
    /// its weighting class; '' for responses without one (imported from an earlier tool).
    pub class_month: String,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    /// The item's score.
    pub score: i16,
}

impl CellKey {
    /// A total order, so that concurrent writers take the cells' row locks in the same order.
    pub fn sort_key(&self) -> (&str, &str, &str, i64, i64, &str, i16) {
        (
            &self.period,
            self.item.label(),
            &self.class_month,
            self.direction_id,
            self.channel_id,
            &self.stratum,
            self.score,
        )
    }
}

pub use crate::stats::cells::Sums as CellSums;

/// What a set of writes adds to one cell (negative when responses leave it); also a row of a
/// roll-up as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct CellDelta {
    pub key: CellKey,
    pub sums: CellSums,
}

const SUM_COLUMNS: [&str; 7] = ["n", "sum_w", "sum_w2", "sum_y", "sum_y2", "sum_wy", "sum_wy2"];

/// Every row of a roll-up, in key order (for checks against a recompute).
pub async fn rollup_rows(db: &impl ConnectionTrait, rollup: Rollup) -> Result<Vec<CellDelta>, DbErr> {
    let (table, period) = (rollup.table(), rollup.period());
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT {period}, item, direction_id, channel_id, stratum, score, {}, class_month FROM {table} \
                 ORDER BY item, {period}, class_month, direction_id, channel_id, stratum, score",
                SUM_COLUMNS.join(", ")
            ),
        ))
        .await?;
    rows.iter()
        .map(|row| {
            let item: String = row.try_get_by_index(1)?;
            let key = CellKey {
                period: row.try_get_by_index(0)?,
                item: ScoreColumn::from_label(&item)
                    .ok_or_else(|| DbErr::Custom(format!("unknown item {item:?} in {table}")))?,
                direction_id: row.try_get_by_index(2)?,
                channel_id: row.try_get_by_index(3)?,
                stratum: row.try_get_by_index(4)?,
                score: row.try_get_by_index(5)?,
                class_month: row.try_get_by_index(13)?,
            };
            let sums = CellSums {
                n: row.try_get_by_index(6)?,
                sum_w: row.try_get_by_index(7)?,
                sum_w2: row.try_get_by_index(8)?,
                sum_y: row.try_get_by_index(9)?,
                sum_y2: row.try_get_by_index(10)?,
                sum_wy: row.try_get_by_index(11)?,
                sum_wy2: row.try_get_by_index(12)?,
            };
            Ok(CellDelta { key, sums })
        })
        .collect()
}

/// The label of the period an instant falls in, by the periods' starts (ascending; the last
/// runs to whatever bound the query sets), as a CASE that searches them by halves: a year of
/// days costs a row nine comparisons, not three hundred and sixty-five. The one label when there
/// is one period, '' when there is none.
pub fn label_by_starts(at: impl Fn() -> SimpleExpr, periods: &[MonthBoundary]) -> SimpleExpr {
    by_halves(&at, periods)
}

fn by_halves(at: &dyn Fn() -> SimpleExpr, periods: &[MonthBoundary]) -> SimpleExpr {
    match periods {
        [] => Expr::val(""),
        [only] => Expr::val(only.label.clone()),
        [first, second] => CaseStatement::new()
            .case(at().lt(second.starts), Expr::val(first.label.clone()))
            .finally(Expr::val(second.label.clone()))
            .into(),
        _ => {
            let (before, from_middle) = periods.split_at(periods.len() / 2);
            CaseStatement::new()
                .case(at().lt(from_middle[0].starts), by_halves(at, before))
                .finally(by_halves(at, from_middle))
                .into()
        }
    }
}

/// Recompute consecutive whole city months of both roll-ups from `responses`, in one
/// transaction: their days (`days`: label and the instant each begins, ascending; the last ends
/// at `end`) with one `INSERT … SELECT` per item over the whole span, each response labelled by
/// `label_by_starts` (its day by its submission, its class month by its request's closing among
/// `class_months`, which must cover every closing of those responses), then each month as the
/// sum of its days. On PostgreSQL the roll-ups are locked against other writers meanwhile (a response
/// stored at that moment waits, then adds to the recomputed cells).
pub async fn refresh_days<C>(
    db: &C,
    days: &[MonthBoundary],
    end: DateTime<Utc>,
    class_months: &[MonthBoundary],
) -> Result<(), DbErr>
where
    C: ConnectionTrait + sea_orm::TransactionTrait,
{
    use response::Column as R;
    use sea_orm::TransactionSession;
    let (Some(first), Some(last)) = (days.first(), days.last()) else { return Ok(()) };
    let (daily, monthly) = (Alias::new(Rollup::Daily.table()), Alias::new(Rollup::Monthly.table()));
    let submitted = || Expr::col(R::SubmittedAt);
    let closed = || Expr::col(R::RequestClosedAt);
    let class_month: SimpleExpr = CaseStatement::new()
        .case(closed().is_null(), Expr::val(""))
        .finally(label_by_starts(closed, class_months))
        .into();
    let weight = || Expr::col(R::Weight);
    let overall = || Expr::col(R::OverallScore).cast_as(Alias::new("double precision"));
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_unprepared(&format!(
            "LOCK TABLE {}, {} IN SHARE ROW EXCLUSIVE MODE",
            Rollup::Daily.table(),
            Rollup::Monthly.table()
        ))
        .await?;
    }
    let delete_days = Query::delete()
        .from_table(daily.clone())
        .and_where(Expr::col(Alias::new("day")).gte(first.label.clone()))
        .and_where(Expr::col(Alias::new("day")).lte(last.label.clone()))
        .take();
    txn.execute(&delete_days).await?;
    let mut columns = vec!["day", "item", "class_month", "direction_id", "channel_id", "stratum", "score"];
    columns.extend(SUM_COLUMNS);
    for item in ScoreColumn::ALL {
        let select = Query::select()
            .expr_as(label_by_starts(submitted, days), Alias::new("period_label"))
            .expr(Expr::val(item.label()))
            .expr_as(class_month.clone(), Alias::new("class_label"))
            .columns([R::DirectionId, R::ChannelId, R::Stratum])
            .column(item.column())
            .expr(Func::count(Expr::col(R::Id)))
            .expr(Func::sum(weight()))
            .expr(Func::sum(weight().mul(weight())))
            .expr(Func::sum(overall()))
            .expr(Func::sum(overall().mul(overall())))
            .expr(Func::sum(weight().mul(overall())))
            .expr(Func::sum(weight().mul(overall()).mul(overall())))
            .from(response::Entity)
            .and_where(Expr::col(item.column()).is_not_null())
            .and_where(submitted().gte(first.starts))
            .and_where(submitted().lt(end))
            .group_by_col(Alias::new("period_label"))
            .group_by_col(Alias::new("class_label"))
            .group_by_columns([R::DirectionId, R::ChannelId, R::Stratum, item.column()])
            .take();
        let insert = Query::insert()
            .into_table(daily.clone())
            .columns(columns.iter().map(|c| Alias::new(*c)))
            .select_from(select)
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .take();
        txn.execute(&insert).await?;
    }
    let month_of = |day: &str| day.chars().take(7).collect::<String>();
    let delete_months = Query::delete()
        .from_table(monthly.clone())
        .and_where(Expr::col(Alias::new("month")).gte(month_of(&first.label)))
        .and_where(Expr::col(Alias::new("month")).lte(month_of(&last.label)))
        .take();
    txn.execute(&delete_months).await?;
    let keys = ["item", "class_month", "direction_id", "channel_id", "stratum", "score"];
    let month_of_day = || Expr::cust("substr(response_cells_daily.day, 1, 7)");
    let mut select = Query::select();
    select.expr_as(month_of_day(), Alias::new("month_label"));
    for key in keys {
        select.column((daily.clone(), Alias::new(key)));
    }
    for sum in SUM_COLUMNS {
        select.expr(Func::sum(Expr::col((daily.clone(), Alias::new(sum)))));
    }
    select
        .from(daily.clone())
        .and_where(Expr::col(Alias::new("day")).gte(first.label.clone()))
        .and_where(Expr::col(Alias::new("day")).lte(last.label.clone()));
    select.add_group_by([month_of_day()]);
    for key in keys {
        select.group_by_col((daily.clone(), Alias::new(key)));
    }
    let mut columns = vec!["month"];
    columns.extend(keys);
    columns.extend(SUM_COLUMNS);
    let insert = Query::insert()
        .into_table(monthly)
        .columns(columns.iter().map(|c| Alias::new(*c)))
        .select_from(select)
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .take();
    txn.execute(&insert).await?;
    txn.commit().await
}

/// Add many deltas to a roll-up: one `INSERT … VALUES … ON CONFLICT DO UPDATE` per few hundred
/// cells, the numbers bound as typed parameters (no decimal text in between). Cells brought to
/// zero responses are deleted.
pub async fn add_to_cells(db: &impl ConnectionTrait, rollup: Rollup, deltas: &[CellDelta]) -> Result<(), DbErr> {
    use crate::db::sql::Params;
    let (table, period) = (rollup.table(), rollup.period());
    let keys = ["item", period, "class_month", "direction_id", "channel_id", "stratum", "score"];
    crate::db::sql::add_rows(db, table, &keys, &SUM_COLUMNS, deltas, |params, delta| {
        let (key, sums) = (&delta.key, &delta.sums);
        vec![
            params.bind(key.item.label()),
            params.bind(key.period.clone()),
            params.bind(key.class_month.clone()),
            params.bind(key.direction_id),
            params.bind(key.channel_id),
            params.bind(key.stratum.clone()),
            params.bind(key.score),
            params.bind(sums.n),
            params.bind(sums.sum_w),
            params.bind(sums.sum_w2),
            params.bind(sums.sum_y),
            params.bind(sums.sum_y2),
            params.bind(sums.sum_wy),
            params.bind(sums.sum_wy2),
        ]
    })
    .await?;
    for delta in deltas.iter().filter(|d| d.sums.n < 0) {
        let mut params = Params::new(db.get_database_backend());
        let key = &delta.key;
        let sql = format!(
            "DELETE FROM {table} WHERE item = {} AND {period} = {} AND class_month = {} AND direction_id = {} \
             AND channel_id = {} AND stratum = {} AND score = {} AND n <= 0",
            params.bind(key.item.label()),
            params.bind(key.period.clone()),
            params.bind(key.class_month.clone()),
            params.bind(key.direction_id),
            params.bind(key.channel_id),
            params.bind(key.stratum.clone()),
            params.bind(key.score)
        );
        db.execute_raw(params.statement(sql)).await?;
    }
    Ok(())
}
