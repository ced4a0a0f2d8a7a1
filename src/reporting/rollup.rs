//! Keeping the monthly roll-up (`response_cells_monthly`) in step with `responses`: whoever
//! stores responses names the months it touched, and those months are recomputed.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use super::period;
use crate::db::repo;

/// "YYYY-MM" of an instant in the city's time zone.
pub fn month_of(at: DateTime<Utc>, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    format!("{:04}-{:02}", local.year(), local.month())
}

/// Recompute the given months.
pub async fn refresh<C>(db: &C, zone: Tz, months: impl IntoIterator<Item = String>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    for label in months.into_iter().collect::<BTreeSet<_>>() {
        let Ok(first) = NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d") else { continue };
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        };
        let Some(next) = next else { continue };
        repo::cells::refresh_month(db, &label, period::start_of_day(first, zone), period::start_of_day(next, zone))
            .await?;
    }
    Ok(())
}

/// Recompute every month that has responses (after an upgrade, or to repair).
pub async fn rebuild<C>(db: &C, zone: Tz) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let (first, last) = repo::cells::submission_span(db).await?;
    let (Some(first), Some(last)) = (first, last) else { return Ok(0) };
    let months: Vec<String> =
        period::months(first.with_timezone(&zone).date_naive(), last.with_timezone(&zone).date_naive(), zone)
            .into_iter()
            .map(|m| m.label)
            .collect();
    let count = months.len();
    refresh(db, zone, months).await?;
    Ok(count)
}
