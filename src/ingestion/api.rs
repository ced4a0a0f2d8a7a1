//! The JSON door (`POST /api/v1/requests`): a body of one request object or an array of them,
//! read into items, ingested, and recorded in the audit log. A body that is not JSON is kept in
//! `ingestion_errors` like any rejected item, so nothing sent is silently lost.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use serde::Serialize;
use serde_json::Value;

use super::fields::{FieldError, describe};
use super::item::{ItemResult, Source, SourcedItem, Summary};
use super::service::Ingestor;
use crate::db::repo::{audit, ingestion_errors};

/// Kept raw payloads are cut at this size (a malformed body can be anything).
const MAX_KEPT_PAYLOAD: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read the request body: {0}")]
    UnreadableBody(String),
    #[error("the body exceeds {limit}; send smaller batches")]
    BodyTooLarge { limit: String },
    #[error("{message} (kept as ingestion error {kept_id})")]
    MalformedJson { message: String, kept_id: i64 },
    #[error("expected a request object or an array of them, got {0}")]
    BadShape(&'static str),
    #[error("{items} items in one batch; at most {max} are accepted, split the batch")]
    BatchTooLarge { items: usize, max: usize },
    #[error("database error")]
    Db(#[from] DbErr),
}

/// What the API answers: the counts, and each item's outcome in input order.
#[derive(Debug, Serialize)]
pub struct IngestResponse {
    pub summary: Summary,
    pub items: Vec<ItemResult>,
}

/// Ingest a request body on behalf of `actor` (as the audit log names it).
pub async fn ingest_body<C>(
    db: &C,
    ingestor: &mut Ingestor,
    max_items: usize,
    actor: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<IngestResponse, IngestError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let items = parse_body(db, body, max_items, now).await?;
    let items = ingestor.ingest_all(db, Source::Api, items).await?;
    let summary = Summary::of(&items);
    audit::record(db, now, actor, "requests.ingest", None, Some(serde_json::to_value(summary).unwrap_or_default()))
        .await?;
    Ok(IngestResponse { summary, items })
}

/// The body as items: an object is one item, an array is a batch. A body that is not JSON is
/// kept in `ingestion_errors` and refused with the parser's position.
async fn parse_body(
    db: &impl ConnectionTrait,
    text: &str,
    max_items: usize,
    now: DateTime<Utc>,
) -> Result<Vec<SourcedItem>, IngestError> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            let message = format!("malformed JSON at line {}, column {}: {err}", err.line(), err.column());
            let kept_id = ingestion_errors::keep(
                db,
                ingestion_errors::NewIngestionError {
                    source: Source::Api.as_str().into(),
                    crm_id: None,
                    line_number: None,
                    // As received, but with control characters escaped: PostgreSQL text cannot hold NUL.
                    raw_payload: super::fields::printable(text).chars().take(MAX_KEPT_PAYLOAD).collect(),
                    reasons: serde_json::to_value(vec![FieldError::item(message.clone())]).unwrap_or_default(),
                    received_at: now,
                },
            )
            .await?;
            return Err(IngestError::MalformedJson { message, kept_id });
        }
    };
    let values = match value {
        Value::Object(object) => vec![Value::Object(object)],
        Value::Array(values) => values,
        other => return Err(IngestError::BadShape(describe(&other))),
    };
    if values.len() > max_items {
        return Err(IngestError::BatchTooLarge { items: values.len(), max: max_items });
    }
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(index, value)| match value {
            Value::Object(raw) => SourcedItem::new(index, raw),
            other => SourcedItem {
                index,
                line: None,
                structural_errors: vec![FieldError::item(format!(
                    "expected a request object, got {}",
                    describe(&other)
                ))],
                raw: serde_json::Map::from_iter([("value".to_owned(), other)]),
            },
        })
        .collect())
}
