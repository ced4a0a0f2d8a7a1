//! `POST /api/v1/requests`: one request object or an array of them, from the CRM.
//! 200 when every item was taken; 422 when some were rejected (the others are still taken);
//! 400 for a body that is not JSON; 413 for a batch over `ingestion.batch_max_items`.

use std::sync::Arc;

use rocket::{
    Data, State,
    data::{Limits, ToByteUnit},
    http::Status,
    post, routes,
    serde::json::Json,
};
use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::Value;

use crate::config::Settings;
use crate::db::repo::{audit, ingestion_errors};
use crate::error::AppError;
use crate::ingestion::{Ingestor, ItemResult, Source, SourcedItem, Summary, fields::FieldError};
use crate::web::guards::ApiClient;

#[derive(Serialize)]
pub struct IngestResponse {
    pub summary: Summary,
    pub items: Vec<ItemResult>,
}

/// Kept raw payloads are cut at this size (a malformed body can be anything).
const MAX_KEPT_PAYLOAD: usize = 64 * 1024;

#[post("/api/v1/requests", data = "<body>")]
async fn post_requests(
    client: ApiClient,
    db: &State<DatabaseConnection>,
    settings: &State<Arc<Settings>>,
    limits: &Limits,
    body: Data<'_>,
) -> Result<(Status, Json<IngestResponse>), AppError> {
    let limit = limits.get("json").unwrap_or(2.mebibytes());
    let text = body.open(limit).into_string().await.map_err(|err| AppError::Client {
        status: Status::BadRequest,
        code: "unreadable_body",
        message: format!("cannot read the request body: {err}"),
    })?;
    if !text.is_complete() {
        return Err(AppError::Client {
            status: Status::PayloadTooLarge,
            code: "payload_too_large",
            message: format!("the body exceeds {limit}; send smaller batches"),
        });
    }
    let items = parse_body(db.inner(), &text, settings.ingestion.batch_max_items).await?;
    let mut ingestor =
        Ingestor::new(db.inner(), settings.contact_hasher(), settings.ingestion.unknown_directions).await?;
    let items = ingestor.ingest(db.inner(), Source::Api, items).await?;
    let summary = Summary::of(&items);
    audit::record(
        db.inner(),
        &client.actor(),
        "requests.ingest",
        None,
        Some(serde_json::to_value(summary).unwrap_or_default()),
    )
    .await?;
    let status = if summary.rejected == 0 { Status::Ok } else { Status::UnprocessableEntity };
    Ok((status, Json(IngestResponse { summary, items })))
}

/// The body as items: an object is one item, an array is a batch. A body that is not JSON is
/// kept in `ingestion_errors` and answered 400 with the parser's position.
async fn parse_body(db: &DatabaseConnection, text: &str, max_items: usize) -> Result<Vec<SourcedItem>, AppError> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            let message = format!("malformed JSON at line {}, column {}: {err}", err.line(), err.column());
            let kept = ingestion_errors::insert(
                db,
                ingestion_errors::NewIngestionError {
                    source: Source::Api.as_str().into(),
                    crm_id: None,
                    line_number: None,
                    raw_payload: text.chars().take(MAX_KEPT_PAYLOAD).collect(),
                    reasons: serde_json::to_value(vec![FieldError::item(message.clone())]).unwrap_or_default(),
                },
            )
            .await?;
            return Err(AppError::Client {
                status: Status::BadRequest,
                code: "malformed_json",
                message: format!("{message} (kept as ingestion error {})", kept.id),
            });
        }
    };
    let values = match value {
        Value::Object(object) => vec![Value::Object(object)],
        Value::Array(values) => values,
        other => {
            return Err(AppError::Client {
                status: Status::BadRequest,
                code: "bad_shape",
                message: format!(
                    "expected a request object or an array of them, got {}",
                    crate::ingestion::fields::describe(&other)
                ),
            });
        }
    };
    if values.len() > max_items {
        return Err(AppError::Client {
            status: Status::PayloadTooLarge,
            code: "batch_too_large",
            message: format!("{} items in one batch; at most {max_items} are accepted, split the batch", values.len()),
        });
    }
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(index, value)| match value {
            Value::Object(raw) => SourcedItem::new(index, raw),
            other => SourcedItem {
                index,
                line: None,
                raw: serde_json::Map::from_iter([("value".to_owned(), other.clone())]),
                structural_errors: vec![FieldError::item(format!(
                    "expected a request object, got {}",
                    crate::ingestion::fields::describe(&other)
                ))],
            },
        })
        .collect())
}

pub fn routes() -> Vec<rocket::Route> {
    routes![post_requests]
}
