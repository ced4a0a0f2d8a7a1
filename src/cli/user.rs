//! `satisfaction user add|list`: dashboard users.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::{CommandOutcome, Context};
use crate::accounts;
use crate::db;
use crate::domain::{Email, Role};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input, or asked for on a terminal.
    Add(UserAdd),
    /// List users (e-mail, role, direction scope).
    List,
    /// Disable a user: no more logins, and their open sessions end at once.
    Disable { email: String },
    /// Set a user's password (standard input, or asked on a terminal); their sessions end.
    SetPassword { email: String },
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

pub async fn run(command: UserCommand, context: &Context) -> anyhow::Result<CommandOutcome> {
    let db = &context.db;
    match command {
        UserCommand::Add(args) => {
            let email = Email::parse(&args.email)?;
            let role: Role = args.role.parse()?;
            let password = read_password()?;
            let new_user = accounts::NewUser { email, password, role, direction_code: args.direction };
            let user = accounts::create_user(db, new_user, "cli", context.clock.now()).await?;
            println!("created user {} with role {}", user.email, user.role);
        }
        UserCommand::List => {
            let directions = db::repo::directions::list(db).await?;
            for user in db::repo::users::list(db).await? {
                let scope = user
                    .direction_id
                    .and_then(|id| directions.iter().find(|d| d.id == id))
                    .map_or("all directions".to_owned(), |d| d.code.clone());
                let state = if user.active { "active" } else { "disabled" };
                println!("{}\t{}\t{}\t{}", user.email, user.role, scope, state);
            }
        }
        UserCommand::Disable { email } => {
            accounts::disable_user(db, &email, "cli", context.clock.now()).await?;
            println!("disabled {email}; their sessions have ended");
        }
        UserCommand::SetPassword { email } => {
            let password = read_password()?;
            accounts::set_password(db, &email, &password, "cli", context.clock.now()).await?;
            println!("password of {email} changed; their sessions have ended");
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
