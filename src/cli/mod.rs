//! Command-line interface: `satisfaction [serve]`, `migrate`, `user`, `api-key`, `direction`,
//! `import`, `sample`, `stats`, `rollup`. One file per subcommand, owning its arguments; each
//! calls a service or a job and prints for people.

mod api_key;
mod demo;
mod direction;
mod dispatch;
mod import;
mod rollup;
mod sample;
mod serve;
mod stats;
mod user;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use rocket::figment::Figment;
use sea_orm::DatabaseConnection;

use crate::clock::Clock;
use crate::config::Settings;
use crate::jobs::Jobs;
use crate::{app, db};

pub use serve::serve;

#[derive(Debug, Parser)]
#[command(name = "satisfaction", version, about = "Citizen satisfaction survey platform for a 311 centre")]
pub struct Cli {
    /// A Rocket.toml-style file read on top of ./Rocket.toml (ROCKET_* variables still win).
    #[arg(long, global = true, env = "SATISFACTION_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the scheduled jobs (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage dashboard users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage API keys for the CRM and other systems.
    #[command(subcommand, name = "api-key")]
    ApiKey(api_key::ApiKeyCommand),
    /// Manage the city's directions (departments).
    #[command(subcommand)]
    Direction(direction::DirectionCommand),
    /// Import closed requests or historical responses; poll the Open311 feed; replay errors.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Run the sampling job once: decide which closed requests get an invitation.
    Sample(sample::SampleArgs),
    /// The satisfaction score with confidence intervals, overall and by group.
    Stats(stats::StatsArgs),
    /// Recompute the statistics roll-ups (monthly and daily) from every response (to repair).
    Rollup,
    /// Run the dispatch job once: expire invitations, send due invitations and reminders.
    Dispatch(dispatch::DispatchArgs),
    /// Erase personal data whose purpose is served (contacts of finished surveys, old errors).
    Purge(dispatch::PurgeArgs),
    /// Load the demonstration (a year of a city through the real pipeline) into an empty database.
    Demo(demo::DemoArgs),
}

#[derive(Debug, clap::Args, Default)]
pub struct ServeArgs {
    /// On an empty database, load the demonstration first; print a demo administrator's login.
    #[arg(long)]
    pub demo: bool,
}

/// Exit status of an import that rejected some rows (everything else was imported).
pub const EXIT_SOME_REJECTED: u8 = 3;

/// What a command asks `main` to exit with.
pub enum CommandOutcome {
    Success,
    SomeRejected,
}

impl Cli {
    pub fn figment(&self) -> Figment {
        match &self.config {
            Some(path) => Settings::figment_with_file(path),
            None => Settings::figment(),
        }
    }
}

/// What every command runs with: the settings, the migrated database, and the clock.
pub struct Context {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub clock: Clock,
}

impl Context {
    /// The jobs as of the clock, or as of `now` when a command was given `--now`.
    pub fn jobs(&self, now: Option<DateTime<Utc>>) -> Jobs {
        let clock = now.map(Clock::fixed).unwrap_or_else(|| self.clock.clone());
        Jobs::new(self.db.clone(), std::sync::Arc::new(self.settings.clone()), clock)
    }
}

/// `--now` as given on the command line (RFC 3339).
pub fn parse_now(raw: &Option<String>) -> anyhow::Result<Option<DateTime<Utc>>> {
    raw.as_deref()
        .map(|raw| {
            DateTime::parse_from_rfc3339(raw)
                .map(|t| t.with_timezone(&Utc))
                .with_context(|| format!("--now {raw:?} is not an RFC 3339 date-time"))
        })
        .transpose()
}

/// `serve --demo`: load the demonstration when the database holds no request, make sure the
/// demo administrator exists, print how to log in; the server starts next.
pub async fn prepare_demo(figment: Figment) -> anyhow::Result<()> {
    let figment = app::ensure_secret_key(figment)?;
    let settings = Settings::from_figment(&figment)?;
    let database = db::connect(&settings.database_url, &settings.database).await?;
    db::migrate(&database).await.context("cannot apply the database migrations")?;
    let context = Context { settings, db: database, clock: Clock::system() };
    match demo::load(&demo::DemoArgs { seed: 311, scale: 1.0 }, &context).await {
        Ok(()) => {}
        Err(err)
            if err
                .downcast_ref::<crate::demo::DemoError>()
                .is_some_and(|e| matches!(e, crate::demo::DemoError::NotEmpty(_))) =>
        {
            println!("the database already holds requests: the demonstration is not loaded again");
        }
        Err(err) => return Err(err),
    }
    demo::print_access(&context).await
}

/// Run a non-server subcommand against the configured database.
pub async fn run_admin_command(command: Command, figment: Figment) -> anyhow::Result<CommandOutcome> {
    // Contact hashes are keyed from the secret key: the CLI must use the server's.
    let figment = app::ensure_secret_key(figment)?;
    let settings = Settings::from_figment(&figment)?;
    let database = db::connect(&settings.database_url, &settings.database).await?;
    db::migrate(&database).await.context("cannot apply the database migrations")?;
    let clock = Clock::system();
    crate::responses::rollup::ensure_built(&database, settings.time_zone, clock.now())
        .await
        .context("cannot build the statistics roll-ups")?;
    let context = Context { settings, db: database, clock };
    match command {
        Command::Serve(_) => unreachable!("serve is handled by main"),
        Command::Migrate => {
            let applied = db::applied_migrations(&context.db).await?;
            println!("database is up to date ({} migrations applied)", applied.len());
            Ok(CommandOutcome::Success)
        }
        Command::User(command) => user::run(command, &context).await,
        Command::ApiKey(command) => api_key::run(command, &context).await,
        Command::Direction(command) => direction::run(command, &context).await,
        Command::Import(command) => import::run(command, &context).await,
        Command::Sample(args) => sample::run(args, &context).await,
        Command::Stats(args) => stats::run(args, &context).await,
        Command::Rollup => rollup::run(&context).await,
        Command::Dispatch(args) => dispatch::run(args, &context).await,
        Command::Purge(args) => dispatch::purge(args, &context).await,
        Command::Demo(args) => demo::run(args, &context).await,
    }
}
