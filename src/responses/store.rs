//! Storing a response: the row and its roll-up cell in the same transaction, so the monthly
//! sufficient statistics are always those of the stored responses. Writing one response costs
//! one insert and one upsert whatever the size of its month; nothing is recomputed.
//!
//! The sums are kept by addition, so Σw and Σw² of a cell equal a recompute up to the order of
//! floating-point additions (exactly, when the weights' sums are exact in binary, as for
//! weights such as 1, 2.5 or 4); the counts are always exact. `rollup::rebuild` recomputes.

use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use crate::db::{entities::response, repo, repo::cells::CellKey};
use crate::domain::Month;

/// The cell `row` counts in.
pub fn cell_of(row: &response::Model, zone: Tz) -> CellKey {
    CellKey {
        month: Month::of(row.submitted_at, zone).label(),
        direction_id: row.direction_id,
        channel_id: row.channel_id,
        stratum: row.stratum.clone(),
        score: row.overall_score,
    }
}

/// Insert a response and count it in its cell. Call inside the caller's transaction.
pub async fn insert(db: &impl ConnectionTrait, zone: Tz, row: response::Model) -> Result<response::Model, DbErr> {
    let stored = repo::responses::insert(db, row).await?;
    repo::cells::add_to_cell(db, &cell_of(&stored, zone), stored.weight, 1).await?;
    Ok(stored)
}

/// Replace what an import may change of `current` with `new`: the response moves from its old
/// cell to its new one. Call inside the caller's transaction.
pub async fn replace(
    db: &impl ConnectionTrait,
    zone: Tz,
    current: response::Model,
    new: &response::Model,
) -> Result<response::Model, DbErr> {
    let (old_cell, old_weight) = (cell_of(&current, zone), current.weight);
    let updated = repo::responses::update(db, current, new).await?;
    repo::cells::add_to_cell(db, &old_cell, old_weight, -1).await?;
    repo::cells::add_to_cell(db, &cell_of(&updated, zone), updated.weight, 1).await?;
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
