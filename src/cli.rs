//! Command-line interface: `satisfaction [serve]`, `migrate`, `user add`, `api-key create`,
//! `direction add|list`. Each subcommand calls a service; the output is for people.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use rocket::figment::Figment;

use crate::{accounts, app, config::Settings, db, domain::Email, domain::Role};

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
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys for the CRM and other systems.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Manage the city's directions (departments).
    #[command(subcommand)]
    Direction(DirectionCommand),
    /// Import closed requests or historical responses; poll the Open311 feed; replay errors.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Run the sampling job once: decide which closed requests get an invitation.
    Sample(SampleArgs),
    /// The satisfaction score with confidence intervals, overall and by group.
    Stats(StatsArgs),
    /// Recompute the monthly statistics roll-up from every response (after an upgrade, or to repair).
    Rollup,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// direction, channel, month, direction,channel, direction,month or channel,month.
    #[arg(long)]
    pub by: Option<String>,
    /// First day of the period (YYYY-MM-DD, city time zone, inclusive).
    #[arg(long)]
    pub from: Option<String>,
    /// Last day of the period (inclusive).
    #[arg(long)]
    pub to: Option<String>,
    /// Ignore the sampling weights (simple estimates).
    #[arg(long)]
    pub unweighted: bool,
    #[arg(long)]
    pub confidence: Option<f64>,
    #[arg(long)]
    pub min_n: Option<u64>,
    /// Only this direction (a domain of the whole design).
    #[arg(long)]
    pub direction: Option<String>,
    #[arg(long)]
    pub channel: Option<String>,
    #[arg(long, value_parser = ["json", "table", "csv"], default_value = "table")]
    pub format: String,
    /// Number format of the table: fr ("9,3") or en ("9.3"); default from LC_ALL/LC_NUMERIC/LANG, else fr.
    #[arg(long, value_parser = ["fr", "en"])]
    pub locale: Option<String>,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The reference time of the eligibility window (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Compute and record the run, but create no invitation.
    #[arg(long)]
    pub dry_run: bool,
    /// Replay a recorded run's seed (see `sampling_runs.seed`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print the run as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Closed requests from a CSV file (columns named like the JSON API fields).
    Requests(FileImport),
    /// Historical responses from an earlier survey tool.
    Responses(FileImport),
    /// Pull new closed requests from the configured Open311 GeoReport v2 endpoint.
    Open311 {
        /// Poll as if it were this time (RFC 3339); default: now.
        #[arg(long, value_name = "RFC3339")]
        now: Option<String>,
    },
    /// Replay kept ingestion errors (all unresolved ones, or the given ids).
    Replay { ids: Vec<i64> },
}

#[derive(Debug, Args)]
pub struct FileImport {
    /// UTF-8 CSV, comma or semicolon delimited, with a header row.
    pub file: std::path::PathBuf,
    /// Where to write rejected rows (default: FILE.rejected.csv beside the input).
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
}

/// Exit status of an import that rejected some rows (everything else was imported).
pub const EXIT_SOME_REJECTED: u8 = 3;

/// What an admin command asks `main` to exit with.
pub enum CommandOutcome {
    Success,
    SomeRejected,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input, or asked for on a terminal.
    Add(UserAdd),
    /// List users (e-mail, role, direction scope).
    List,
}

#[derive(Debug, Args)]
pub struct UserAdd {
    /// The user's e-mail address (their login).
    pub email: String,
    /// admin: everything; analyst: all figures, comments and exports; viewer: figures only.
    #[arg(long, value_parser = ["admin", "analyst", "viewer"])]
    pub role: String,
    /// Limit the user to one direction's figures (analyst or viewer).
    #[arg(long, value_name = "CODE")]
    pub direction: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        /// What the key is for, e.g. "CRM production".
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DirectionCommand {
    /// Register a direction with its French and English names.
    Add {
        /// The code the CRM uses (`agency_responsible`), e.g. TP.
        code: String,
        #[arg(long)]
        name_fr: String,
        #[arg(long)]
        name_en: String,
    },
    /// List the registered directions.
    List,
}

impl Cli {
    pub fn figment(&self) -> Figment {
        match &self.config {
            Some(path) => Settings::figment_with_file(path),
            None => Settings::figment(),
        }
    }
}

/// Run a non-server subcommand against the configured database.
pub async fn run_admin_command(command: Command, figment: Figment) -> anyhow::Result<CommandOutcome> {
    // Contact hashes are keyed from the secret key: the CLI must use the server's.
    let figment = app::ensure_secret_key(figment)?;
    let settings = Settings::from_figment(&figment)?;
    let database = db::connect(&settings.database_url, &settings.database).await?;
    db::migrate(&database).await.context("cannot apply the database migrations")?;
    match command {
        Command::Serve => unreachable!("serve is handled by main"),
        Command::Migrate => {
            let applied = db::applied_migrations(&database).await?;
            println!("database is up to date ({} migrations applied)", applied.len());
        }
        Command::User(UserCommand::Add(args)) => {
            let email = Email::parse(&args.email)?;
            let role: Role = args.role.parse()?;
            let password = read_password()?;
            let new_user = accounts::NewUser { email, password, role, direction_code: args.direction };
            let user = accounts::create_user(&database, new_user, "cli").await?;
            println!("created user {} with role {}", user.email, user.role);
        }
        Command::User(UserCommand::List) => {
            let directions = db::repo::directions::list(&database).await?;
            for user in db::repo::users::list(&database).await? {
                let scope = user
                    .direction_id
                    .and_then(|id| directions.iter().find(|d| d.id == id))
                    .map_or("all directions".to_owned(), |d| d.code.clone());
                println!(
                    "{}\t{}\t{}\t{}",
                    user.email,
                    user.role,
                    scope,
                    if user.active { "active" } else { "disabled" }
                );
            }
        }
        Command::ApiKey(ApiKeyCommand::Create { name }) => {
            let (row, clear) = accounts::create_api_key(&database, &name, "cli").await?;
            eprintln!("created API key #{} \"{}\"; copy it now, it will not be shown again:", row.id, row.name);
            println!("{clear}");
        }
        Command::Direction(DirectionCommand::Add { code, name_fr, name_en }) => {
            if code.trim().is_empty() {
                bail!("the direction code must not be empty");
            }
            match accounts::add_direction(&database, &code, &name_fr, &name_en).await {
                Ok(direction) => {
                    println!("registered direction {} ({} / {})", direction.code, direction.name_fr, direction.name_en)
                }
                Err(err) if db::is_unique_violation(&err) => {
                    bail!("direction {code:?} is already registered")
                }
                Err(err) => return Err(err.into()),
            }
        }
        Command::Direction(DirectionCommand::List) => {
            for direction in db::repo::directions::list(&database).await? {
                println!("{}\t{}\t{}", direction.code, direction.name_fr, direction.name_en);
            }
        }
        Command::Import(command) => {
            return crate::cli_import::run(command, &database, &settings).await;
        }
        Command::Sample(args) => crate::cli_import::sample(args, &database, &settings).await?,
        Command::Stats(args) => crate::cli_stats::run(args, &database, &settings).await?,
        Command::Rollup => {
            let months = crate::reporting::rollup::rebuild(&database, settings.time_zone).await?;
            println!("statistics roll-up recomputed for {months} months");
        }
    }
    Ok(CommandOutcome::Success)
}

/// On a terminal: ask twice without echo. Otherwise: the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password (again): ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!(
            "no password given: pipe it on standard input (echo \"$PASSWORD\" | satisfaction user add ...) or run on a terminal"
        );
    }
    std::io::stderr().flush().ok();
    Ok(password)
}

/// Start the server and the scheduler; returns when the server shuts down.
pub async fn serve(figment: Figment) -> anyhow::Result<()> {
    let figment = app::ensure_secret_key(figment)?;
    let application = app::build(figment).await?;
    let scheduler = if application.settings.scheduler.enabled {
        let jobs = crate::scheduler::configured_jobs(&application.settings);
        Some(crate::scheduler::start(jobs, application.db.clone(), application.settings.clone()).await?)
    } else {
        tracing::info!("scheduler disabled by configuration");
        None
    };
    let result = application.rocket.launch().await;
    if let Some(mut scheduler) = scheduler {
        let _ = scheduler.shutdown().await;
    }
    result.map(|_| ()).map_err(|err| anyhow::anyhow!("server error: {err}"))
}
