//! JSON API under `/api/v1`.

pub mod ingestion_errors;
pub mod requests;
pub mod sampling_runs;
pub mod stats;

pub fn routes() -> Vec<rocket::Route> {
    let mut routes = requests::routes();
    routes.extend(ingestion_errors::routes());
    routes.extend(sampling_runs::routes());
    routes.extend(stats::routes());
    routes
}
