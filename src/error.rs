//! `AppError`: the one error type of the web layer, and the only place errors become HTTP.
//!
//! API paths (`/api/...`, `/health`) and clients asking for JSON get
//! `{"error": {"status": 404, "code": "not_found", "message": "..."}}`; everyone else gets the
//! error page in their language. Server errors are logged with their whole cause chain and
//! never shown.

use rocket::{
    Request,
    http::Status,
    response::{self, Responder},
};
use sea_orm::DbErr;

use crate::telemetry::error_chain;
use crate::web::errors::error_response;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("you do not have access to this resource")]
    Forbidden,
    #[error("{0}")]
    Unavailable(String),
    /// A client error with its own status and machine-readable code (API input problems).
    #[error("{message}")]
    Client { status: Status, code: &'static str, message: String },
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("template error")]
    Template(#[from] minijinja::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> Status {
        match self {
            AppError::NotFound(_) => Status::NotFound,
            AppError::BadRequest(_) => Status::BadRequest,
            AppError::Unauthorized => Status::Unauthorized,
            AppError::Forbidden => Status::Forbidden,
            AppError::Unavailable(_) => Status::ServiceUnavailable,
            AppError::Client { status, .. } => *status,
            AppError::Db(_) | AppError::Template(_) | AppError::Internal(_) => Status::InternalServerError,
        }
    }

    /// Machine-readable code for the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "not_found",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::Unavailable(_) => "unavailable",
            AppError::Client { code, .. } => code,
            AppError::Db(_) | AppError::Template(_) | AppError::Internal(_) => "internal",
        }
    }
}

impl<'r> Responder<'r, 'static> for AppError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        let message = if status.code >= 500 {
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
        error_response(request, status, self.code(), message)
    }
}
