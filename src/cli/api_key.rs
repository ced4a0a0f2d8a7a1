//! `satisfaction api-key`: keys for the CRM and other systems.

use clap::Subcommand;

use super::{CommandOutcome, Context};
use crate::accounts;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        /// What the key is for, e.g. "CRM production".
        name: String,
        /// all (the default), ingest (sending requests only) or read (the statistics only).
        #[arg(long, default_value = "all", value_parser = ["all", "ingest", "read"])]
        scope: String,
    },
    /// List the keys: prefix, name, scope, created, last use, revoked.
    List,
    /// Revoke the key with this prefix (the part after `sat_`, before the second `_`).
    Revoke { prefix: String },
}

pub async fn run(command: ApiKeyCommand, context: &Context) -> anyhow::Result<CommandOutcome> {
    let now = context.clock.now();
    match command {
        ApiKeyCommand::Create { name, scope } => {
            let (row, clear) = accounts::create_scoped_api_key(&context.db, &name, &scope, "cli", now).await?;
            eprintln!(
                "created API key #{} \"{}\" (scope {}); copy it now, it will not be shown again:",
                row.id, row.name, row.scope
            );
            println!("{clear}");
        }
        ApiKeyCommand::List => {
            let date = |at: Option<chrono::DateTime<chrono::Utc>>| at.map_or("—".to_owned(), |t| t.to_rfc3339());
            for key in crate::db::repo::api_keys::list(&context.db).await? {
                println!(
                    "{}\t{}\t{}\tcreated {}\tlast used {}\t{}",
                    key.prefix,
                    key.name,
                    key.scope,
                    key.created_at.to_rfc3339(),
                    date(key.last_used_at),
                    key.revoked_at.map_or("active".to_owned(), |t| format!("revoked {}", t.to_rfc3339()))
                );
            }
        }
        ApiKeyCommand::Revoke { prefix } => {
            accounts::revoke_api_key(&context.db, &prefix, "cli", now).await?;
            println!("revoked the API key {prefix}");
        }
    }
    Ok(CommandOutcome::Success)
}
