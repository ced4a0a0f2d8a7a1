//! Storing a response: the row and its roll-up cells (its city month's and its city day's, one
//! per item it answers: the overall score and each driver) in the same transaction, so the
//! sufficient statistics are always those of the stored responses. Writing one response costs
//! one insert and two multi-row upserts whatever the size of its month; nothing is recomputed.
//!
//! The sums are kept by addition, so Σw and Σw² of a cell equal a recompute up to the order of
//! floating-point additions (exactly, when the weights' sums are exact in binary, as for
//! weights such as 1, 2.5 or 4); the counts are always exact. `rollup::rebuild` recomputes.

use std::sync::Mutex;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use super::rollup::Deferred;
use crate::db::{
    entities::response,
    repo,
    repo::cells::{CellDelta, CellKey, CellSums, Rollup, ScoreColumn},
};
use crate::domain::Month;

/// The period label of `row` in a roll-up: its city month or its city day.
fn period_of(row: &response::Model, zone: Tz, rollup: Rollup) -> String {
    let day: NaiveDate = row.submitted_at.with_timezone(&zone).date_naive();
    match rollup {
        Rollup::Monthly => Month::containing(day).label(),
        Rollup::Daily => day.format("%Y-%m-%d").to_string(),
    }
}

/// What `row` adds to a roll-up (`sign` = 1) or takes from it (`sign` = −1): one cell for each
/// item it answers (the overall score, and each driver not left empty).
pub fn deltas_of(row: &response::Model, zone: Tz, rollup: Rollup, sign: i8) -> Vec<CellDelta> {
    let period = period_of(row, zone, rollup);
    let class_month = row.request_closed_at.map(|closed| Month::of(closed, zone).label()).unwrap_or_default();
    ScoreColumn::ALL
        .into_iter()
        .filter_map(|item| {
            let score = item.score_of(row)?;
            let key = CellKey {
                period: period.clone(),
                item,
                class_month: class_month.clone(),
                direction_id: row.direction_id,
                channel_id: row.channel_id,
                stratum: row.stratum.clone(),
                score,
            };
            Some(CellDelta { key, sums: CellSums::of_one(row.weight, row.overall_score, sign) })
        })
        .collect()
}

async fn count(db: &impl ConnectionTrait, zone: Tz, row: &response::Model, sign: i8) -> Result<(), DbErr> {
    for rollup in Rollup::ALL {
        let mut deltas = deltas_of(row, zone, rollup, sign);
        deltas.sort_by(|a, b| a.key.sort_key().cmp(&b.key.sort_key()));
        repo::cells::add_to_cells(db, rollup, &deltas).await?;
    }
    Ok(())
}

/// Insert a response and count it in its cells; its invitation, if any, is answered (no reminder
/// follows). Call inside the caller's transaction.
pub async fn insert(db: &impl ConnectionTrait, zone: Tz, row: response::Model) -> Result<response::Model, DbErr> {
    let stored = repo::responses::insert(db, row).await?;
    count(db, zone, &stored, 1).await?;
    if let Some(invitation_id) = stored.invitation_id {
        repo::outbox::answered(db, invitation_id, stored.submitted_at).await?;
    }
    Ok(stored)
}

/// Insert many responses and count them, a few statements whatever their number: the rows a
/// thousand at a time, then the cells each roll-up gains, summed per cell in memory first (a
/// historical import of a million responses touches a few thousand cells). Call inside the
/// caller's transaction.
pub async fn insert_many(db: &impl ConnectionTrait, zone: Tz, rows: Vec<response::Model>) -> Result<(), DbErr> {
    let mut all_deltas = Vec::new();
    for rollup in Rollup::ALL {
        let mut summed: Vec<CellDelta> = Vec::new();
        let mut index: std::collections::HashMap<CellKey, usize> = std::collections::HashMap::new();
        for row in &rows {
            for delta in deltas_of(row, zone, rollup, 1) {
                match index.get(&delta.key) {
                    Some(&at) => summed[at].sums.add(&delta.sums),
                    None => {
                        index.insert(delta.key.clone(), summed.len());
                        summed.push(delta);
                    }
                }
            }
        }
        // A fixed order: concurrent writers take the cells' row locks in the same order.
        summed.sort_by(|a, b| a.key.sort_key().cmp(&b.key.sort_key()));
        all_deltas.push((rollup, summed));
    }
    repo::responses::insert_many(db, rows).await?;
    for (rollup, deltas) in all_deltas {
        repo::cells::add_to_cells(db, rollup, &deltas).await?;
    }
    Ok(())
}

/// Replace what an import may change of `current` with `new`: the response moves from its old
/// cells to its new ones. Call inside the caller's transaction.
pub async fn replace(
    db: &impl ConnectionTrait,
    zone: Tz,
    current: response::Model,
    new: &response::Model,
) -> Result<response::Model, DbErr> {
    count(db, zone, &current, -1).await?;
    let updated = repo::responses::update(db, current, new).await?;
    count(db, zone, &updated, 1).await?;
    Ok(updated)
}

/// As `insert_many`, for a large import that leaves the roll-ups to `Deferred::finish`: the rows
/// only, their months noted.
pub async fn insert_many_deferred(
    db: &impl ConnectionTrait,
    rows: Vec<response::Model>,
    deferred: &Mutex<Deferred>,
) -> Result<(), DbErr> {
    Deferred::touch_all(deferred, &rows);
    repo::responses::insert_many(db, rows).await
}

/// As `replace`, for a large import that leaves the roll-ups to `Deferred::finish`: both the
/// month the response leaves and the one it enters are recomputed then.
pub async fn replace_deferred(
    db: &impl ConnectionTrait,
    current: response::Model,
    new: &response::Model,
    deferred: &Mutex<Deferred>,
) -> Result<response::Model, DbErr> {
    Deferred::touch_all(deferred, std::slice::from_ref(&current));
    let updated = repo::responses::update(db, current, new).await?;
    Deferred::touch_all(deferred, std::slice::from_ref(&updated));
    Ok(updated)
}

/// One response in its own transaction (the survey page's submission).
pub async fn store<C>(db: &C, zone: Tz, row: response::Model) -> Result<response::Model, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let txn = crate::db::begin_write(db).await?;
    let stored = insert(&txn, zone, row).await?;
    txn.commit().await?;
    Ok(stored)
}
