//! Error responses and catchers: JSON for API clients, a translated page for people.

use rocket::{
    Catcher, Request,
    http::{ContentType, Status},
    response::{self, Responder, Response},
    serde::json::Json,
};
use serde::Serialize;

use crate::web::{locale::page_meta, templates::Templates};

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

pub fn error_response(
    request: &Request<'_>,
    status: Status,
    code: &str,
    message: Option<String>,
) -> response::Result<'static> {
    let message = message.unwrap_or_else(|| status.reason_lossy().to_owned());
    if wants_json(request) {
        let body = ErrorBody { error: ErrorDetail { status: status.code, code: code.to_owned(), message } };
        return Response::build_from(Json(body).respond_to(request)?).status(status).ok();
    }
    let page = page_meta(request);
    let rendered = request.rocket().state::<Templates>().map(|templates| {
        templates.render(
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
                tracing::error!(error = %crate::telemetry::error_chain(&err), "error page failed to render");
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
    let code = match status.code {
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
    };
    CatcherResponse { status, code }
}

/// Deferred so the catcher can build its response with the request in hand.
struct CatcherResponse {
    status: Status,
    code: &'static str,
}

impl<'r> Responder<'r, 'static> for CatcherResponse {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        // A guard that refused the request may have said why (e.g. which credential is wrong).
        let reason = request.local_cache(|| crate::web::guards::AuthFailure(None)).0;
        error_response(request, self.status, self.code, reason.map(str::to_owned))
    }
}

pub fn catchers() -> Vec<Catcher> {
    rocket::catchers![default_catcher]
}
