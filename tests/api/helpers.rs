//! Test helpers: a fresh database per test on either backend, and the application spawned on it.
//!
//! SQLite: a file in a temporary folder, removed with it. PostgreSQL: a uniquely named database
//! created on the server given by `TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and dropped when the test ends, even if it panics.

use rocket::{figment::Figment, local::asynchronous::Client};
use satisfaction::{app, clock::Clock, config::Settings, jobs::Jobs};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

pub const DEFAULT_TEST_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Run `async fn NAME(backend: Backend)` once per database: tests `NAME::sqlite`, `NAME::postgres`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[rocket::async_test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[rocket::async_test]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_TEST_POSTGRES_URL.to_owned())
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary folder");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                TestDatabase { url, _dir: Some(dir), postgres: None }
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url();
                let admin = Database::connect(admin_url.as_str()).await.unwrap_or_else(|err| {
                    panic!(
                        "PostgreSQL tests need a server, and none answered at {admin_url}: {err}.\n\
                         Start PostgreSQL, or point the tests at one with \
                         TEST_POSTGRES_URL=postgres://USER[:PASSWORD]@HOST:PORT/DATABASE \
                         (the user needs the CREATEDB right)."
                    )
                });
                let name = format!("satisfaction_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap_or_else(|err| panic!("cannot create test database {name} on {admin_url}: {err}"));
                admin.close().await.ok();
                let mut url = url::Url::parse(&admin_url).expect("TEST_POSTGRES_URL is a URL");
                url.set_path(&name);
                TestDatabase { url: url.to_string(), _dir: None, postgres: Some((admin_url, name)) }
            }
        }
    }

    /// Drop the PostgreSQL database now (used to simulate a database that went away).
    pub async fn drop_now(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            drop_postgres_database(&admin_url, &name).await;
        }
    }
}

async fn drop_postgres_database(admin_url: &str, name: &str) {
    if let Ok(admin) = Database::connect(admin_url).await {
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        admin.close().await.ok();
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread with its own.
        if let Some((admin_url, name)) = self.postgres.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(drop_postgres_database(&admin_url, &name));
            })
            .join();
        }
    }
}

/// The figment the tests run the application with.
pub fn test_figment(database_url: &str) -> Figment {
    Settings::figment()
        .merge(("database_url", database_url))
        .merge(("secret_key", "8a1c3b2f6e5d4c7b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3"))
        .merge(("log_level", "off"))
        .merge(("scheduler", serde_json::json!({"enabled": false})))
        .merge(("database", serde_json::json!({"max_connections": 4, "min_connections": 0, "acquire_timeout_secs": 2, "migrate_on_start": true})))
        // The file transport's default folder is `mail/` in the working directory: the crate's
        // root under `cargo test`. A test that does not choose its own writes beside its database.
        .merge(("delivery.file_dir", default_mail_dir(database_url)))
}

fn default_mail_dir(database_url: &str) -> String {
    let name: String = database_url.chars().filter(char::is_ascii_alphanumeric).rev().take(40).collect();
    std::env::temp_dir().join("satisfaction-test-mail").join(name).to_string_lossy().into_owned()
}

/// The application on a fresh database, with a local client that keeps cookies.
pub struct TestApp {
    pub client: Client,
    pub db: DatabaseConnection,
    /// The jobs on the application's database, settings and clock (as the scheduler runs them).
    pub jobs: Jobs,
    // Last: dropped after the pool and client above.
    pub database: TestDatabase,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |figment| figment).await
}

/// As `spawn_app`, with settings changed by `configure` (e.g. a smaller batch limit).
pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(Figment) -> Figment) -> TestApp {
    spawn_app_at(backend, Clock::system(), configure).await
}

/// As `spawn_app_with`, on `clock` (a fixed clock the test moves).
pub async fn spawn_app_at(backend: Backend, clock: Clock, configure: impl FnOnce(Figment) -> Figment) -> TestApp {
    let database = TestDatabase::create(backend).await;
    let figment = configure(test_figment(&database.url));
    let application = app::build_with_clock(figment, clock).await.expect("application builds");
    let client = Client::tracked(application.rocket).await.expect("valid rocket");
    let jobs = application.jobs;
    TestApp { client, db: jobs.db.clone(), jobs, database }
}

/// A connection to a fresh, migrated database, without the web layer.
pub async fn migrated_database(backend: Backend) -> (TestDatabase, DatabaseConnection) {
    let database = TestDatabase::create(backend).await;
    let settings = Settings::from_figment(&test_figment(&database.url)).expect("test settings");
    let db = app::open_database(&settings, &Clock::system()).await.expect("database opens and migrates");
    (database, db)
}

impl TestApp {
    /// A fresh API key, as `satisfaction api-key create` would make.
    pub async fn api_key(&self) -> String {
        satisfaction::accounts::create_api_key(&self.db, "tests", "test", self.jobs.clock.now())
            .await
            .expect("api key")
            .1
    }

    pub async fn post_requests(&self, key: &str, body: &str) -> (rocket::http::Status, serde_json::Value) {
        let response = self
            .client
            .post("/api/v1/requests")
            .header(rocket::http::Header::new("Authorization", format!("Bearer {key}")))
            .header(rocket::http::ContentType::JSON)
            .body(body)
            .dispatch()
            .await;
        let status = response.status();
        (status, response.into_json().await.unwrap_or(serde_json::Value::Null))
    }

    pub async fn get_json(&self, key: &str, path: &str) -> (rocket::http::Status, serde_json::Value) {
        let response = self
            .client
            .get(path.to_owned())
            .header(rocket::http::Header::new("Authorization", format!("Bearer {key}")))
            .dispatch()
            .await;
        let status = response.status();
        (status, response.into_json().await.unwrap_or(serde_json::Value::Null))
    }
}
