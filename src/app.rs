//! Building the application: the one place that assembles settings, database, templates,
//! routes, catchers and fairings. `main` and the tests both use `build`.

use std::{path::Path, sync::Arc};

use rocket::{Build, Rocket, figment::Figment, fs::FileServer};
use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::{ConfigError, Settings, redact_url};
use crate::jobs::Jobs;
use crate::templates::Templates;
use crate::web;

/// A built, not yet launched, application: Rocket, and the jobs (database, settings, clock)
/// it serves with, for the scheduler and the tests.
pub struct Application {
    pub rocket: Rocket<Build>,
    pub jobs: Jobs,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database")]
    Database(#[source] sea_orm::DbErr),
    #[error("cannot apply the database migrations")]
    Migration(#[source] sea_orm::DbErr),
    #[error("cannot load the templates from {path}")]
    Templates { path: String, source: minijinja::Error },
    #[error("cannot read or create the secret key file {path}")]
    SecretKey { path: String, source: std::io::Error },
}

/// Connect to the database, apply migrations if configured, and build the statistics
/// roll-ups if this database or time zone has never had them.
pub async fn open_database(settings: &Settings, clock: &Clock) -> Result<DatabaseConnection, StartupError> {
    let db = crate::db::connect(&settings.database_url, &settings.database).await.map_err(StartupError::Database)?;
    if settings.database.migrate_on_start {
        crate::db::migrate(&db).await.map_err(StartupError::Migration)?;
    }
    crate::responses::rollup::ensure_built(&db, settings.time_zone, clock.now())
        .await
        .map_err(StartupError::Migration)?;
    tracing::info!(database = %redact_url(&settings.database_url), "database ready");
    Ok(db)
}

/// Assemble Rocket from a figment (Rocket.toml + environment, or a test's own), on the real clock.
pub async fn build(figment: Figment) -> Result<Application, StartupError> {
    build_with_clock(figment, Clock::system()).await
}

/// As `build`, with the given clock (tests pass a fixed one and move it).
pub async fn build_with_clock(figment: Figment, clock: Clock) -> Result<Application, StartupError> {
    let settings = Settings::from_figment(&figment)?;
    let db = open_database(&settings, &clock).await?;
    build_with_database(figment, settings, db, clock)
}

/// As `build`, on an already open database.
pub fn build_with_database(
    figment: Figment,
    settings: Settings,
    db: DatabaseConnection,
    clock: Clock,
) -> Result<Application, StartupError> {
    let templates = Templates::load(&settings.templates_dir)
        .map_err(|source| StartupError::Templates { path: settings.templates_dir.display().to_string(), source })?;
    let settings = Arc::new(settings);
    let jobs = Jobs::new(db, settings.clone(), clock);
    let rocket = rocket::custom(figment)
        .manage(jobs.clone())
        .manage(templates)
        .manage(web::survey::SurveyPages::new(settings.survey.unknown_token_lookups_per_minute))
        .manage(web::dashboard::ReportCardCache::default())
        .attach(web::fairings::RequestLog)
        .attach(web::fairings::SecurityHeaders { hsts: settings.security.hsts })
        .mount("/", web::health::routes())
        .mount("/", web::pages::routes())
        .mount("/", web::opt_out::routes())
        .mount("/", web::survey::routes())
        .mount("/", web::login::routes())
        .mount("/", web::ops::routes())
        .mount("/", web::dashboard::routes())
        .mount("/", web::api::routes())
        .mount("/static", FileServer::from(settings.static_dir.clone()))
        .register("/", web::error::catchers());
    Ok(Application { rocket, jobs })
}

/// Cookies are signed with Rocket's `secret_key`. When none is configured, generate one on first
/// start and keep it in `secret_key_file` (mode 0600), so sessions survive restarts and a release
/// build starts without manual set-up. Production should set `ROCKET_SECRET_KEY` instead.
pub fn ensure_secret_key(figment: Figment) -> Result<Figment, StartupError> {
    // Rocket's own defaults hold an all-zero key in debug builds: that is "not configured".
    let configured = figment.extract_inner::<rocket::config::SecretKey>("secret_key").is_ok_and(|key| !key.is_zero());
    if configured {
        return Ok(figment);
    }
    // Only this key is read here: the settings as a whole are extracted once, by `build`.
    let path: std::path::PathBuf = figment
        .extract_inner("secret_key_file")
        .map_err(|e| StartupError::Config(ConfigError::Figment(Box::new(e))))?;
    let key = read_or_create_secret(&path)
        .map_err(|source| StartupError::SecretKey { path: path.display().to_string(), source })?;
    Ok(figment.merge(("secret_key", key)))
}

fn read_or_create_secret(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.trim().len() >= 64 => return Ok(existing.trim().to_owned()),
        Ok(_) => {
            return Err(std::io::Error::other("the file exists but does not hold a 256-bit hex key"));
        }
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => return Err(err),
        Err(_) => {}
    }
    let key = hex::encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        // Another process (a CLI command started at the same time) created it first: use theirs.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            std::thread::sleep(std::time::Duration::from_millis(50));
            return read_or_create_secret(path);
        }
        Err(err) => return Err(err),
    };
    std::io::Write::write_all(&mut file, key.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new cookie-signing key (set ROCKET_SECRET_KEY to manage it yourself)");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_key_is_created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let first = read_or_create_secret(&path).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(read_or_create_secret(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(read_or_create_secret(&path).is_err());
    }
}
