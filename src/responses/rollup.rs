//! The roll-ups (`response_cells_monthly`, `response_cells_daily`, every item) recomputed from `responses`:
//! the repair tool behind `satisfaction rollup`, and the one-time build after an upgrade or a
//! change of `time_zone` (`ensure_built`, at start-up). In normal running nothing else calls
//! it: `store` keeps every cell up to date as responses are written.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use crate::db::repo::{
    self,
    cells::{MonthBoundary, Rollup},
};
use crate::domain::{Month, month::start_of_day};

/// What the roll-ups were built for, in `job_state`: their layout and the time zone that cut
/// their months and days. Either changing means a rebuild.
const BUILT_KEY: &str = "rollup.built";
const LAYOUT: u64 = 3;
const LEASE: &str = "lock:rollup";

/// Recompute the given months, in both roll-ups.
pub async fn refresh<C>(db: &C, zone: Tz, months: impl IntoIterator<Item = Month>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let months: std::collections::BTreeSet<Month> = months.into_iter().collect();
    for month in months {
        let (start, end) = month.bounds(zone);
        let whole = [MonthBoundary { label: month.label(), starts: start }];
        repo::cells::refresh(db, Rollup::Monthly, &whole, end).await?;
        let mut days = Vec::new();
        let mut day = month.first_day();
        while Month::containing(day) == month {
            days.push(MonthBoundary { label: day.format("%Y-%m-%d").to_string(), starts: start_of_day(day, zone) });
            day = day.succ_opt().expect("a day after");
        }
        repo::cells::refresh(db, Rollup::Daily, &days, end).await?;
    }
    Ok(())
}

/// Recompute every month that has responses; returns how many.
pub async fn rebuild<C>(db: &C, zone: Tz) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let (first, last) = repo::cells::submission_span(db).await?;
    let (Some(first), Some(last)) = (first, last) else { return Ok(0) };
    let months = Month::range(first.with_timezone(&zone).date_naive(), last.with_timezone(&zone).date_naive());
    let count = months.len();
    refresh(db, zone, months).await?;
    // Fresh planner statistics for the rebuilt tables (a server without autovacuum would
    // otherwise plan the reports' range reads on an empty table's estimates).
    for rollup in Rollup::ALL {
        crate::db::analyze(db, rollup.table()).await?;
    }
    Ok(count)
}

/// Build the roll-ups if they were never built for this layout and time zone (a database from
/// before the daily roll-up, or a city that changed `time_zone`). Several instances starting at
/// once: one builds, the others go on (they answer from the tables being built meanwhile).
pub async fn ensure_built<C>(db: &C, zone: Tz, now: DateTime<Utc>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let wanted = serde_json::json!({"layout": LAYOUT, "time_zone": zone.name()});
    if repo::job_state::get(db, BUILT_KEY).await?.as_ref() == Some(&wanted) {
        return Ok(());
    }
    let owner = uuid::Uuid::new_v4().to_string();
    if !repo::job_state::try_acquire_lease(db, LEASE, &owner, now, now - Duration::hours(1)).await? {
        return Ok(());
    }
    let built = rebuild(db, zone).await;
    let recorded = match built {
        Ok(months) => {
            tracing::info!(months, time_zone = zone.name(), "statistics roll-ups built");
            repo::job_state::put(db, BUILT_KEY, wanted, now).await
        }
        Err(err) => Err(err),
    };
    repo::job_state::release_lease(db, LEASE, &owner).await?;
    recorded
}
