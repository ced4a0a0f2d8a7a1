//! Request guards for authentication. `ApiClient`: `Authorization: Bearer <api key>`, for the
//! CRM and other systems. A missing or wrong key is a plain 401 (JSON on API paths).

use crate::accounts;
use crate::jobs::Jobs;
use crate::web::error::AuthFailure;
use rocket::{
    Request,
    http::Status,
    request::{FromRequest, Outcome},
};

/// An authenticated API key.
#[derive(Debug, Clone)]
pub struct ApiClient {
    pub key_id: i64,
    pub name: String,
}

impl ApiClient {
    /// How this client appears in the audit log.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key_id)
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiClient {
    type Error = &'static str;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let outcome = authenticate(request).await;
        if let Outcome::Error((_, reason)) = &outcome {
            let reason: &'static str = reason;
            request.local_cache(|| AuthFailure(Some(reason)));
        }
        outcome
    }
}

async fn authenticate(request: &Request<'_>) -> Outcome<ApiClient, &'static str> {
    let Some(header) = request.headers().get_one("Authorization") else {
        return Outcome::Error((Status::Unauthorized, "missing Authorization: Bearer <api key>"));
    };
    let Some(presented) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")) else {
        return Outcome::Error((Status::Unauthorized, "the Authorization header must be Bearer <api key>"));
    };
    let Some(jobs) = request.rocket().state::<Jobs>() else {
        return Outcome::Error((Status::InternalServerError, "no database"));
    };
    match accounts::authenticate_api_key(&jobs.db, presented.trim(), jobs.clock.now()).await {
        Ok(Some(key)) => Outcome::Success(ApiClient { key_id: key.id, name: key.name }),
        Ok(None) => Outcome::Error((Status::Unauthorized, "unknown or revoked API key")),
        Err(err) => {
            tracing::error!(error = %crate::telemetry::error_chain(&err), "API key check failed");
            Outcome::Error((Status::ServiceUnavailable, "database unavailable"))
        }
    }
}
