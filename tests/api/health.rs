use rocket::http::{ContentType, Status};
use serde_json::Value;

use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

async fn health_is_ok_when_the_database_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.client.get("/health").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
}

async fn health_is_503_when_the_database_is_gone(backend: Backend) {
    let mut app = spawn_app(backend).await;
    match backend {
        // The database server drops the database under the running application.
        Backend::Postgres => app.database.drop_now().await,
        // An embedded database cannot vanish under an open handle: close the pool instead.
        Backend::Sqlite => app.db.close_by_ref().await.unwrap(),
    }
    let response = app.client.get("/health").dispatch().await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
}

on_both_databases!(health_is_ok_when_the_database_answers, health_is_503_when_the_database_is_gone);
