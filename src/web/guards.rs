//! Request guards for authentication.
//!
//! - `ApiClient`: `Authorization: Bearer <api key>`, for the CRM and other systems; a missing or
//!   wrong key is a plain 401 (JSON on API paths). A key has a scope: `all`, `ingest` (sending
//!   requests only) or `read` (the statistics only).
//! - `LoggedIn`: a dashboard session (the encrypted `session` cookie).
//! - `Ingester`, `Reader`, `Operator`: what an endpoint needs — a key that may send requests; a key
//!   that may read, or any session (with its user's direction scope); a key of scope `all`, or an
//!   administrator's session. A caller who is known but not allowed gets 403.

use crate::accounts;
use crate::jobs::Jobs;
use crate::reporting::Scope;
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
    /// `all`, `ingest` or `read`.
    pub scope: String,
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
        Ok(Some(key)) => Outcome::Success(ApiClient { key_id: key.id, name: key.name, scope: key.scope }),
        Ok(None) => Outcome::Error((Status::Unauthorized, "unknown or revoked API key")),
        Err(err) => {
            tracing::error!(error = %crate::telemetry::error_chain(&err), "API key check failed");
            Outcome::Error((Status::ServiceUnavailable, "database unavailable"))
        }
    }
}

/// The encrypted cookie holding a dashboard session's token.
pub const SESSION_COOKIE: &str = "session";

/// A logged-in user, and their session's token (for the session's form tokens).
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user: crate::sessions::SessionUser,
    pub token: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LoggedIn {
    type Error = &'static str;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(token) = request.cookies().get_private(SESSION_COOKIE).map(|c| c.value().to_owned()) else {
            return Outcome::Forward(Status::Unauthorized);
        };
        let Some(jobs) = request.rocket().state::<Jobs>() else {
            return Outcome::Error((Status::InternalServerError, "no database"));
        };
        match crate::sessions::authenticate(&jobs.db, &jobs.settings.auth, &token, jobs.clock.now()).await {
            Ok(Some(user)) => Outcome::Success(LoggedIn { user, token }),
            Ok(None) => {
                request.cookies().remove_private(rocket::http::Cookie::from(SESSION_COOKIE));
                Outcome::Forward(Status::Unauthorized)
            }
            Err(err) => {
                tracing::error!(error = %crate::telemetry::error_chain(&err), "session check failed");
                Outcome::Error((Status::ServiceUnavailable, "database unavailable"))
            }
        }
    }
}

/// How a guard refuses: 401 when nobody is authenticated, 403 when the caller may not.
fn refuse<T>(request: &Request<'_>, status: Status, reason: &'static str) -> Outcome<T, &'static str> {
    request.local_cache(|| AuthFailure(Some(reason)));
    Outcome::Error((status, reason))
}

/// A session if the request has one, else an API key (or why neither).
async fn caller(request: &Request<'_>) -> Result<Result<LoggedIn, ApiClient>, Outcome<(), &'static str>> {
    if request.cookies().get_private(SESSION_COOKIE).is_some()
        && let Outcome::Success(logged_in) = request.guard::<LoggedIn>().await
    {
        return Ok(Ok(logged_in));
    }
    match request.guard::<ApiClient>().await {
        Outcome::Success(client) => Ok(Err(client)),
        Outcome::Error(e) => Err(Outcome::Error(e)),
        Outcome::Forward(s) => Err(Outcome::Forward(s)),
    }
}

fn map_refusal<T>(outcome: Outcome<(), &'static str>) -> Outcome<T, &'static str> {
    match outcome {
        Outcome::Error(e) => Outcome::Error(e),
        Outcome::Forward(s) => Outcome::Forward(s),
        Outcome::Success(()) => Outcome::Error((Status::Unauthorized, "not authenticated")),
    }
}

/// May read the statistics: a key of scope `all` or `read`, or any session.
pub struct Reader {
    pub scope: Scope,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Reader {
    type Error = &'static str;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match caller(request).await {
            Ok(Ok(logged_in)) => {
                Outcome::Success(Reader { scope: logged_in.user.direction.map_or(Scope::All, Scope::Direction) })
            }
            Ok(Err(key)) if key.scope == "all" || key.scope == "read" => Outcome::Success(Reader { scope: Scope::All }),
            Ok(Err(_)) => refuse(request, Status::Forbidden, "this API key may only send requests"),
            Err(outcome) => map_refusal(outcome),
        }
    }
}

/// May send closed requests: a key of scope `all` or `ingest`.
pub struct Ingester(pub ApiClient);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Ingester {
    type Error = &'static str;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match request.guard::<ApiClient>().await {
            Outcome::Success(key) if key.scope == "all" || key.scope == "ingest" => Outcome::Success(Ingester(key)),
            Outcome::Success(_) => refuse(request, Status::Forbidden, "this API key may only read statistics"),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(s) => Outcome::Forward(s),
        }
    }
}

/// May run the operations (ingestion errors, sampling runs, delivery): a key of scope `all`, or
/// an administrator's session.
pub struct Operator {
    /// How the caller appears in the audit log.
    pub actor: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Operator {
    type Error = &'static str;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match caller(request).await {
            Ok(Ok(logged_in)) if logged_in.user.role == crate::domain::Role::Admin => {
                Outcome::Success(Operator { actor: logged_in.user.actor() })
            }
            Ok(Ok(_)) => refuse(request, Status::Forbidden, "this page is for administrators"),
            Ok(Err(key)) if key.scope == "all" => Outcome::Success(Operator { actor: key.actor() }),
            Ok(Err(_)) => refuse(request, Status::Forbidden, "this API key may not run operations"),
            Err(outcome) => map_refusal(outcome),
        }
    }
}
