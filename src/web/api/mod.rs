//! JSON API under `/api/v1`.
//!
//! Every endpoint names the query parameters it takes, and refuses any other (`KnownQuery`):
//! a misspelt `unweighted=true` for `weighted=false` must not quietly return weighted figures.

pub mod delivery;
pub mod ingestion_errors;
pub mod requests;
pub mod sampling_runs;
pub mod stats;

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = requests::routes();
    routes.extend(ingestion_errors::routes());
    routes.extend(sampling_runs::routes());
    routes.extend(stats::routes());
    routes.extend(delivery::routes());
    routes
}

/// The query string's parameter names, checked against what an endpoint accepts.
pub struct KnownQuery(Vec<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for KnownQuery {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let names = request.uri().query().map(|q| q.segments().map(|(key, _)| key.to_owned()).collect());
        rocket::request::Outcome::Success(KnownQuery(names.unwrap_or_default()))
    }
}

impl KnownQuery {
    /// `Err` naming the first parameter not in `accepted`, and the accepted ones.
    pub fn only(&self, accepted: &[&str]) -> Result<(), crate::web::error::AppError> {
        match self.0.iter().find(|name| !accepted.contains(&name.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(crate::web::error::AppError::UnknownParameter {
                name: unknown.clone(),
                accepted: if accepted.is_empty() { "none".into() } else { accepted.join(", ") },
            }),
        }
    }
}
