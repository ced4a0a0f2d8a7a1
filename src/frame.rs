//! The frame of the nonresponse adjustment: how many requests of each stratum (direction ×
//! channel) closed in each city month — every closed request, with or without a usable contact;
//! open, cancelled and duplicate ones do not count. Kept exactly by every write of
//! `service_requests`, in its transaction (`deltas` of what the write changed, added with
//! `INSERT … ON CONFLICT DO UPDATE`); `rebuild` recomputes it (at start-up after an upgrade or a
//! change of `time_zone`, and behind `satisfaction rollup`).

use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

use crate::db::repo::rollups::MonthBoundary;
use crate::db::{entities::service_request, repo, repo::frame::FrameDelta};
use crate::domain::{Month, RequestStatus};

/// The (month, direction, channel) a request counts in, if it counts.
fn cell_of(row: &service_request::Model, zone: Tz) -> Option<(String, i64, i64)> {
    let closed = RequestStatus::parse(&row.status) == Some(RequestStatus::Closed);
    let closed_at = row.closed_at.filter(|_| closed)?;
    Some((Month::of(closed_at, zone).label(), row.direction_id, row.channel_id))
}

/// What writes change in the frame: for each (before, after) of a request (`None` before: a new
/// request), the cells it leaves and enters, summed per cell, in key order, zeros left out.
pub fn deltas<'a>(
    changes: impl IntoIterator<Item = (Option<&'a service_request::Model>, &'a service_request::Model)>,
    zone: Tz,
) -> Vec<FrameDelta> {
    let mut sums: std::collections::BTreeMap<(String, i64, i64), i64> = std::collections::BTreeMap::new();
    for (before, after) in changes {
        if let Some(cell) = before.and_then(|b| cell_of(b, zone)) {
            *sums.entry(cell).or_default() -= 1;
        }
        if let Some(cell) = cell_of(after, zone) {
            *sums.entry(cell).or_default() += 1;
        }
    }
    sums.into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((month, direction_id, channel_id), requests)| FrameDelta { month, direction_id, channel_id, requests })
        .collect()
}

/// Add what a write changed (its `deltas`); call inside the write's transaction.
pub async fn add(db: &impl ConnectionTrait, deltas: &[FrameDelta]) -> Result<(), DbErr> {
    if deltas.is_empty() {
        return Ok(());
    }
    repo::frame::add(db, deltas).await
}

/// Recompute the whole frame from `service_requests`; returns how many months.
pub async fn rebuild<C>(db: &C, zone: Tz) -> Result<usize, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let (boundaries, end) = match repo::frame::closing_span(db).await? {
        (Some(first), Some(last)) => (MonthBoundary::spanning(first, last, zone), Month::of(last, zone).bounds(zone).1),
        _ => (Vec::new(), Default::default()),
    };
    repo::frame::rebuild(db, &boundaries, end).await?;
    Ok(boundaries.len())
}
