//! The roll-ups (`response_cells_monthly`, `response_cells_daily`, every item) recomputed from `responses`:
//! the repair tool behind `satisfaction rollup`, and the one-time build after an upgrade or a
//! change of `time_zone` (`ensure_built`, at start-up). In normal running nothing else calls
//! it: `store` keeps every cell up to date as responses are written.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use std::collections::BTreeSet;

use crate::db::entities::response;
use crate::db::repo::{
    self,
    cells::{MonthBoundary, Rollup},
};
use crate::domain::{Month, month::start_of_day};

/// What the roll-ups (and the frame counts, `crate::frame`) were built for, in `job_state`: their
/// layout and the time zone that cut their months and days. Either changing means a rebuild.
const BUILT_KEY: &str = "rollup.built";
const LAYOUT: u64 = 5;
const LEASE: &str = "lock:rollup";

/// Recompute the given months, in both roll-ups, a month per transaction. (One pass over a
/// whole year per item was slower on PostgreSQL: a year of daily cells no longer fits the
/// grouping's memory, which then spills to disk.)
pub async fn refresh<C>(db: &C, zone: Tz, months: impl IntoIterator<Item = Month>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let months: BTreeSet<Month> = months.into_iter().collect();
    for month in months {
        let (start, end) = month.bounds(zone);
        let class_months = match repo::cells::closing_span(db, Some(start), Some(end)).await? {
            (Some(first), Some(last)) => MonthBoundary::spanning(first, last, zone),
            _ => Vec::new(),
        };
        let mut days = Vec::new();
        let mut day = month.first_day();
        while Month::containing(day) == month {
            days.push(MonthBoundary { label: day.format("%Y-%m-%d").to_string(), starts: start_of_day(day, zone) });
            day = day.succ_opt().expect("a day after");
        }
        repo::cells::refresh_days(db, &days, end, &class_months).await?;
    }
    Ok(())
}

/// Where a large import records the months whose roll-ups it left to recompute, in
/// `job_state`: `rollup.deferred.<import id>` = {"months": ["2026-01", …]}, written in the same
/// transaction as the rows. Cleared once the months are recomputed; one left behind (an import
/// that crashed) is recomputed by the next start-up or `satisfaction rollup`.
const DEFERRED_PREFIX: &str = "rollup.deferred.";

/// A marker not updated for this long belongs to an import that is no longer running.
const DEFERRED_STALE_AFTER: Duration = Duration::minutes(10);

/// The months a large import wrote without keeping their roll-up cells, to recompute at its end
/// (one `INSERT … SELECT` per item and month beats millions of scattered cell upserts: a
/// million-response import with six items per response touches a million daily cells, each
/// written many times over).
#[derive(Debug)]
pub struct Deferred {
    marker: String,
    months: BTreeSet<Month>,
    zone: Tz,
}

impl Deferred {
    pub fn new(zone: Tz) -> Deferred {
        Deferred { marker: format!("{DEFERRED_PREFIX}{}", uuid::Uuid::new_v4()), months: BTreeSet::new(), zone }
    }

    /// Note that `row` was written (or left) without its cells, in its city month.
    fn touch(&mut self, row: &response::Model) {
        self.months.insert(Month::containing(row.submitted_at.with_timezone(&self.zone).date_naive()));
    }

    /// Note that `rows` were written (or left) without their cells, in a deferral shared by the
    /// chunks an import writes at once (the lock is held for the noting only).
    pub fn touch_all(shared: &std::sync::Mutex<Deferred>, rows: &[response::Model]) {
        let mut deferred = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        rows.iter().for_each(|row| deferred.touch(row));
    }

    /// Record the months so far; call in the transaction that writes the rows. With two chunks
    /// written at once, each records the months both have noted: a month recomputed for nothing
    /// if the other chunk fails, never one left out.
    pub async fn record(
        shared: &std::sync::Mutex<Deferred>,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let (marker, months) = {
            let deferred = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (deferred.marker.clone(), deferred.months.iter().map(|m| m.label()).collect::<Vec<String>>())
        };
        repo::job_state::put(db, &marker, serde_json::json!({ "months": months }), now).await
    }

    /// Recompute the months written, then drop the marker; returns how many months.
    pub async fn finish<C>(self, db: &C) -> Result<usize, DbErr>
    where
        C: ConnectionTrait + TransactionTrait,
    {
        let count = self.months.len();
        refresh(db, self.zone, self.months).await?;
        repo::job_state::delete(db, &self.marker).await?;
        analyze(db).await?;
        Ok(count)
    }
}

/// Recompute the months that imports which stopped before their end left behind (markers not
/// updated for ten minutes); returns how many months.
pub async fn finish_abandoned<C>(db: &C, zone: Tz, now: DateTime<Utc>) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut count = 0;
    for (name, value, updated_at) in repo::job_state::with_prefix(db, DEFERRED_PREFIX).await? {
        if updated_at > now - DEFERRED_STALE_AFTER {
            continue;
        }
        let months: BTreeSet<Month> = value["months"]
            .as_array()
            .map(|labels| labels.iter().filter_map(|l| l.as_str().and_then(Month::parse)).collect())
            .unwrap_or_default();
        count += months.len();
        tracing::warn!(marker = %name, months = months.len(), "recomputing the roll-ups an interrupted import left");
        refresh(db, zone, months).await?;
        repo::job_state::delete(db, &name).await?;
    }
    Ok(count)
}

/// Fresh planner statistics for recomputed roll-ups (a server without autovacuum would otherwise
/// plan the reports' range reads on an empty table's estimates).
async fn analyze(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    for rollup in Rollup::ALL {
        crate::db::analyze(db, rollup.table()).await?;
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
    analyze(db).await?;
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
        finish_abandoned(db, zone, now).await?;
        return Ok(());
    }
    let owner = uuid::Uuid::new_v4().to_string();
    if !repo::job_state::try_acquire_lease(db, LEASE, &owner, now, now - Duration::hours(1)).await? {
        return Ok(());
    }
    let built = match rebuild(db, zone).await {
        Ok(months) => crate::frame::rebuild(db, zone).await.map(|_| months),
        Err(err) => Err(err),
    };
    let recorded = match built {
        Ok(months) => {
            tracing::info!(months, time_zone = zone.name(), "statistics roll-ups built");
            // Every month was recomputed: what interrupted imports left is done too.
            for (name, _, _) in repo::job_state::with_prefix(db, DEFERRED_PREFIX).await? {
                repo::job_state::delete(db, &name).await?;
            }
            repo::job_state::put(db, BUILT_KEY, wanted, now).await
        }
        Err(err) => Err(err),
    };
    repo::job_state::release_lease(db, LEASE, &owner).await?;
    recorded
}
