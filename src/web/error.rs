//! The one place errors become HTTP. Each service returns its own error type; `AppError` wraps
//! them, `AppError::status_and_code` is the only table from an error to a status and a
//! machine-readable code, and the catcher (for what Rocket refuses before a handler runs:
//! unknown routes, failed guards, oversized forms) uses the same `code_for` as the rest.
//!
//! API paths (`/api/...`, `/health`) and clients asking for JSON get
//! `{"error": {"status": 404, "code": "not_found", "message": "..."}}`; everyone else gets the
//! error page in their language. Server errors are logged with their whole cause chain and
//! never shown.

use rocket::{
    Catcher, Request,
    http::{ContentType, Status},
    response::{self, Responder, Response},
    serde::json::Json,
};
use sea_orm::DbErr;
use serde::Serialize;

use crate::ingestion::api::IngestError;
use crate::reporting::ReportError;
use crate::telemetry::error_chain;
use crate::templates::Templates;
use crate::web::page::{self, page_meta};

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("template error")]
    Template(#[from] minijinja::Error),
    #[error("unknown query parameter {name:?}; this endpoint takes: {accepted}")]
    UnknownParameter { name: String, accepted: String },
    #[error("the body must be JSON (Content-Type: application/json), not {0}")]
    NotJson(String),
    /// A known caller asking for what their role or scope does not allow.
    #[error("{0}")]
    Forbidden(String),
    /// A form without its token (or with someone else's): possibly a cross-site request.
    #[error("this form has expired or did not come from this site; please reload the page")]
    BadFormToken,
}

impl AppError {
    /// The status and machine-readable code of each error: the only such table.
    pub fn status_and_code(&self) -> (Status, &'static str) {
        match self {
            AppError::Ingest(err) => match err {
                IngestError::UnreadableBody(_) => (Status::BadRequest, "unreadable_body"),
                IngestError::BodyTooLarge { .. } => (Status::PayloadTooLarge, "payload_too_large"),
                IngestError::MalformedJson { .. } => (Status::BadRequest, "malformed_json"),
                IngestError::BadShape(_) => (Status::BadRequest, "bad_shape"),
                IngestError::BatchTooLarge { .. } => (Status::PayloadTooLarge, "batch_too_large"),
                IngestError::Db(err) => database(err),
            },
            AppError::Report(err) => match err {
                ReportError::Invalid(_) => (Status::BadRequest, "invalid_parameter"),
                ReportError::Forbidden(_) => (Status::Forbidden, "forbidden"),
                ReportError::Db(err) => database(err),
            },
            AppError::Db(err) => database(err),
            AppError::Template(_) => internal(),
            AppError::UnknownParameter { .. } => (Status::BadRequest, "unknown_parameter"),
            AppError::NotJson(_) => (Status::UnsupportedMediaType, "unsupported_media_type"),
            AppError::BadFormToken => (Status::Forbidden, "bad_form_token"),
            AppError::Forbidden(_) => (Status::Forbidden, "forbidden"),
        }
    }
}

fn internal() -> (Status, &'static str) {
    (Status::InternalServerError, code_for(Status::InternalServerError))
}

/// A busy database is a moment's wait for the client (503 with `Retry-After`); anything else a
/// database says is our fault (500).
fn database(err: &DbErr) -> (Status, &'static str) {
    if crate::db::is_busy(err) { (Status::ServiceUnavailable, "busy") } else { internal() }
}

/// Seconds a client is asked to wait before retrying a 503.
const RETRY_AFTER_SECS: u32 = 2;

/// The generic code of a status, for errors that have no more specific one.
pub fn code_for(status: Status) -> &'static str {
    match status.code {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        503 => "unavailable",
        500..=599 => "internal",
        _ => "error",
    }
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let (status, code) = self.status_and_code();
        let message = if status == Status::ServiceUnavailable {
            tracing::warn!(
                method = %request.method(),
                path = %crate::web::fairings::loggable_path(request),
                error = %error_chain(&self),
                "database busy; asked the client to retry"
            );
            Some("the database is busy; retry in a moment".to_owned())
        } else if status.code >= 500 {
            tracing::error!(
                method = %request.method(),
                path = %crate::web::fairings::loggable_path(request),
                error = %error_chain(&self),
                "request failed"
            );
            // The cause stays in the log: clients only learn that it failed.
            None
        } else {
            Some(self.to_string())
        };
        error_response(request, status, code, message)
    }
}

/// Why a request guard refused a request, kept for the catcher so the client learns what to fix.
pub struct AuthFailure(pub Option<&'static str>);

#[derive(Serialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize)]
struct ErrorDetail {
    status: u16,
    code: String,
    message: String,
}

/// Does this request want JSON rather than a page?
pub fn wants_json(request: &Request<'_>) -> bool {
    let path = request.uri().path();
    path.starts_with("/api/")
        || path == "/health"
        || request.format().is_some_and(|f| f.is_json())
        || request.accept().is_some_and(|a| a.preferred().media_type().is_json())
}

fn error_response(
    request: &Request<'_>,
    status: Status,
    code: &str,
    message: Option<String>,
) -> response::Result<'static> {
    let mut response = error_body(request, status, code, message)?;
    if status == Status::ServiceUnavailable {
        response.set_raw_header("Retry-After", RETRY_AFTER_SECS.to_string());
    }
    Ok(response)
}

fn error_body(request: &Request<'_>, status: Status, code: &str, message: Option<String>) -> response::Result<'static> {
    let message = message.unwrap_or_else(|| status.reason_lossy().to_owned());
    if wants_json(request) {
        let body = ErrorBody { error: ErrorDetail { status: status.code, code: code.to_owned(), message } };
        return Response::build_from(Json(body).respond_to(request)?).status(status).ok();
    }
    let page = page_meta(request);
    let rendered = request.rocket().state::<Templates>().map(|templates| {
        page::render(
            templates,
            "errors/error.html.j2",
            &page,
            minijinja::context! { status => status.code, message_key => format!("error.{}", status.code), detail => message },
        )
    });
    match rendered {
        Some(Ok(html)) => Response::build_from(html.respond_to(request)?).status(status).ok(),
        // The error page itself failed: fall back to plain text rather than recursing.
        other => {
            if let Some(Err(err)) = other {
                tracing::error!(error = %error_chain(&err), "error page failed to render");
            }
            let text = format!("{} {}", status.code, status.reason_lossy());
            Response::build()
                .status(status)
                .header(ContentType::Plain)
                .sized_body(text.len(), std::io::Cursor::new(text))
                .ok()
        }
    }
}

#[rocket::catch(default)]
fn default_catcher(status: Status, _request: &Request<'_>) -> CatcherResponse {
    CatcherResponse { status }
}

/// Deferred so the catcher can build its response with the request in hand.
struct CatcherResponse {
    status: Status,
}

impl<'r> Responder<'r, 'static> for CatcherResponse {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        // A guard that refused the request may have said why (e.g. which credential is wrong).
        let reason = request.local_cache(|| AuthFailure(None)).0;
        error_response(request, self.status, code_for(self.status), reason.map(str::to_owned))
    }
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![default_catcher]
}
