//! Storing a response: the row and its roll-up cells (its city month's and its city day's) in
//! the same transaction, so the sufficient statistics are always those of the stored responses.
//! Writing one response costs one insert and two upserts whatever the size of its month;
//! nothing is recomputed.
//!
//! The sums are kept by addition, so Σw and Σw² of a cell equal a recompute up to the order of
//! floating-point additions (exactly, when the weights' sums are exact in binary, as for
//! weights such as 1, 2.5 or 4); the counts are always exact. `rollup::rebuild` recomputes.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use crate::db::{
    entities::response,
    repo,
    repo::cells::{CellDelta, CellKey, Rollup},
};
use crate::domain::Month;

/// The cell `row` counts in, in each roll-up.
pub fn cell_of(row: &response::Model, zone: Tz, rollup: Rollup) -> CellKey {
    let day: NaiveDate = row.submitted_at.with_timezone(&zone).date_naive();
    let period = match rollup {
        Rollup::Monthly => Month::containing(day).label(),
        Rollup::Daily => day.format("%Y-%m-%d").to_string(),
    };
    CellKey {
        period,
        direction_id: row.direction_id,
        channel_id: row.channel_id,
        stratum: row.stratum.clone(),
        score: row.overall_score,
    }
}

async fn count(db: &impl ConnectionTrait, zone: Tz, row: &response::Model, sign: i8) -> Result<(), DbErr> {
    for rollup in Rollup::ALL {
        repo::cells::add_to_cell(db, rollup, &cell_of(row, zone, rollup), row.weight, sign).await?;
    }
    Ok(())
}

/// Insert a response and count it in its cells. Call inside the caller's transaction.
pub async fn insert(db: &impl ConnectionTrait, zone: Tz, row: response::Model) -> Result<response::Model, DbErr> {
    let stored = repo::responses::insert(db, row).await?;
    count(db, zone, &stored, 1).await?;
    Ok(stored)
}

/// Insert many responses and count them, a few statements whatever their number: the rows a
/// thousand at a time, then the cells each roll-up gains, summed per cell in memory first (a
/// historical import of a million responses touches a few thousand cells). Call inside the
/// caller's transaction.
pub async fn insert_many(db: &impl ConnectionTrait, zone: Tz, rows: Vec<response::Model>) -> Result<(), DbErr> {
    let mut all_deltas = Vec::new();
    let stored = &rows;
    for rollup in Rollup::ALL {
        let mut deltas: std::collections::HashMap<(String, i64, i64, String, i16), CellDelta> =
            std::collections::HashMap::new();
        for row in stored {
            let key = cell_of(row, zone, rollup);
            let entry = deltas
                .entry((key.period.clone(), key.direction_id, key.channel_id, key.stratum.clone(), key.score))
                .or_insert_with(|| CellDelta { key, n: 0, sum_w: 0.0, sum_w2: 0.0 });
            entry.n += 1;
            entry.sum_w += row.weight;
            entry.sum_w2 += row.weight * row.weight;
        }
        let mut deltas: Vec<CellDelta> = deltas.into_values().collect();
        // A fixed order: concurrent writers take the cells' row locks in the same order.
        deltas.sort_by(|a, b| {
            (&a.key.period, a.key.direction_id, a.key.channel_id, &a.key.stratum, a.key.score).cmp(&(
                &b.key.period,
                b.key.direction_id,
                b.key.channel_id,
                &b.key.stratum,
                b.key.score,
            ))
        });
        all_deltas.push((rollup, deltas));
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
