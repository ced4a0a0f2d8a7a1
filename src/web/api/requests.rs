//! `POST /api/v1/requests`: one request object or an array of them, from the CRM.
//! 200 when every item was taken; 422 when some were rejected (the others are still taken);
//! 400 for a body that is not JSON; 413 for a batch over `ingestion.batch_max_items` or the
//! `limits.json` body size; 415 for a body declared as something else than JSON (no
//! `Content-Type` at all is read as JSON).

use rocket::{
    Data, State,
    data::{Limits, ToByteUnit},
    http::{ContentType, Status},
    post, routes,
    serde::json::Json,
};

use crate::ingestion::api::{IngestError, IngestResponse};
use crate::jobs::Jobs;
use crate::web::api::KnownQuery;
use crate::web::error::AppError;
use crate::web::guards::Ingester;

#[post("/api/v1/requests", data = "<body>")]
async fn post_requests(
    ingester: Ingester,
    jobs: &State<Jobs>,
    known: KnownQuery,
    content_type: Option<&ContentType>,
    limits: &Limits,
    body: Data<'_>,
) -> Result<(Status, Json<IngestResponse>), AppError> {
    known.only(&[])?;
    if let Some(declared) = content_type.filter(|c| !c.is_json() && !c.media_type().sub().as_str().ends_with("+json")) {
        return Err(AppError::NotJson(declared.to_string()));
    }
    let limit = limits.get("json").unwrap_or(2.mebibytes());
    let text = body.open(limit).into_string().await.map_err(|err| IngestError::UnreadableBody(err.to_string()))?;
    if !text.is_complete() {
        return Err(IngestError::BodyTooLarge { limit: limit.to_string() }.into());
    }
    let response = jobs.ingest_api_body(&ingester.0.actor(), &text).await?;
    let status = if response.summary.rejected == 0 { Status::Ok } else { Status::UnprocessableEntity };
    Ok((status, Json(response)))
}

pub fn routes() -> Vec<rocket::Route> {
    routes![post_requests]
}
