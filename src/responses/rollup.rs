//! The monthly roll-up (`response_cells_monthly`) recomputed from `responses`: the repair tool
//! behind `satisfaction rollup`, for after an upgrade or a manual change to the table. In normal
//! running nothing calls it: `store` keeps every cell up to date as responses are written.

use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use crate::db::repo;
use crate::domain::Month;

/// Recompute the given months from `responses`.
pub async fn refresh<C>(db: &C, zone: Tz, months: impl IntoIterator<Item = Month>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let months: std::collections::BTreeSet<Month> = months.into_iter().collect();
    for month in months {
        let (start, end) = month.bounds(zone);
        repo::cells::refresh_month(db, &month.label(), start, end).await?;
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
    Ok(count)
}
