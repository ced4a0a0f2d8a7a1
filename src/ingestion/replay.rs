//! Replaying kept ingestion errors after the reference data was fixed (a direction registered,
//! a channel mapping corrected): each unresolved row goes through the same code path again; a
//! success marks it resolved, a failure counts the attempt and keeps the new reasons.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde::Serialize;

use super::fields::{FieldError, RawItem};
use super::item::{Outcome, Source, SourcedItem};
use super::responses::{self, ResponseImporter};
use super::service::Ingestor;
use crate::db::repo::{self, ingestion_errors::ErrorFilter};

#[derive(Debug, Serialize)]
pub struct ReplayResult {
    pub ingestion_error_id: i64,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<FieldError>,
}

/// Replay the given rows (or every unresolved one when `ids` is empty, oldest first).
pub async fn replay<C>(
    db: &C,
    mut requests: Ingestor,
    mut responses: ResponseImporter,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<ReplayResult>, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let rows = if ids.is_empty() {
        repo::ingestion_errors::list(
            db,
            &ErrorFilter { include_resolved: false, source: None, after_id: None, limit: 10_000 },
        )
        .await?
    } else {
        let mut rows = Vec::new();
        for id in ids {
            if let Some(row) = repo::ingestion_errors::find(db, *id).await?
                && row.resolved_at.is_none()
            {
                rows.push(row);
            }
        }
        rows
    };
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let raw: Option<RawItem> =
            serde_json::from_str::<serde_json::Value>(&row.raw_payload).ok().and_then(|v| v.as_object().cloned());
        let (outcome, reasons) = match raw {
            None => (
                Outcome::Rejected,
                vec![FieldError::item("the kept payload is not a JSON object; it cannot be replayed")],
            ),
            Some(raw) => {
                let item = vec![SourcedItem {
                    index: 0,
                    line: row.line_number.map(|l| l as u64),
                    raw,
                    structural_errors: Vec::new(),
                }];
                let mut outcome = if row.source == responses::SOURCE {
                    responses.ingest(db, item).await?
                } else {
                    let source = match row.source.as_str() {
                        "csv" => Source::Csv,
                        "open311" => Source::Open311,
                        _ => Source::Api,
                    };
                    requests.ingest(db, source, item).await?
                };
                let result = outcome.remove(0);
                (result.outcome, result.reasons)
            }
        };
        let stored =
            if outcome == Outcome::Rejected { Err(serde_json::to_value(&reasons).unwrap_or_default()) } else { Ok(()) };
        let id = row.id;
        repo::ingestion_errors::mark_replayed(db, row, stored, now).await?;
        results.push(ReplayResult { ingestion_error_id: id, outcome, reasons });
    }
    Ok(results)
}
