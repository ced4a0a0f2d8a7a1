//! Fairings: security headers on every response, and one log line per request.

use std::time::Instant;

use rocket::{
    Data, Request, Response,
    fairing::{Fairing, Info, Kind},
    http::Header,
};

/// CSP without 'unsafe-inline': every style and script comes from `/static`.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub struct SecurityHeaders {
    pub hsts: bool,
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info { name: "Security headers", kind: Kind::Response }
    }

    async fn on_response<'r>(&self, _request: &'r Request<'_>, response: &mut Response<'r>) {
        response.set_header(Header::new("Content-Security-Policy", CONTENT_SECURITY_POLICY));
        response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        // Survey links carry a token in the path: never send it to another site.
        response.set_header(Header::new("Referrer-Policy", "no-referrer"));
        response.set_header(Header::new("X-Frame-Options", "DENY"));
        response.set_header(Header::new(
            "Permissions-Policy",
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ));
        response.set_header(Header::new("Cross-Origin-Opener-Policy", "same-origin"));
        if self.hsts {
            response.set_header(Header::new("Strict-Transport-Security", "max-age=31536000; includeSubDomains"));
        }
    }
}

pub struct RequestLog;

#[derive(Clone, Copy)]
struct Started(Option<Instant>);

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info { name: "Request log", kind: Kind::Request | Kind::Response | Kind::Liftoff }
    }

    async fn on_liftoff(&self, rocket: &rocket::Rocket<rocket::Orbit>) {
        let config = rocket.config();
        tracing::info!("listening on http://{}:{}", config.address, config.port);
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| Started(Some(Instant::now())));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let started = request.local_cache(|| Started(None));
        let millis = started.0.map(|t| t.elapsed().as_secs_f64() * 1000.0).unwrap_or_default();
        tracing::info!(
            target: "satisfaction::http",
            "{} {} {} {:.1}ms",
            request.method(),
            loggable_path(request),
            response.status().code,
            millis
        );
    }
}

/// The request path with survey tokens replaced, so links never reach the logs.
pub fn loggable_path(request: &Request<'_>) -> String {
    redacted(request.uri().path().as_str())
}

/// Survey links (`/s/…`) and opt-out links (`/opt-out/…`) both carry the token.
fn redacted(path: &str) -> String {
    for prefix in ["/s/", "/opt-out/"] {
        if path.starts_with(prefix) {
            return format!("{prefix}<token>");
        }
    }
    path.to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_never_reach_the_log() {
        assert_eq!(super::redacted("/s/0123456789abcdef0123456789abcdef"), "/s/<token>");
        assert_eq!(super::redacted("/opt-out/0123456789abcdef0123456789abcdef"), "/opt-out/<token>");
        assert_eq!(super::redacted("/api/v1/stats"), "/api/v1/stats");
    }
}
