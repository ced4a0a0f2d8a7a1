//! `satisfaction api-key create`: keys for the CRM and other systems.

use clap::Subcommand;

use super::{CommandOutcome, Context};
use crate::accounts;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once and only its hash is stored.
    Create {
        /// What the key is for, e.g. "CRM production".
        name: String,
    },
}

pub async fn run(command: ApiKeyCommand, context: &Context) -> anyhow::Result<CommandOutcome> {
    match command {
        ApiKeyCommand::Create { name } => {
            let (row, clear) = accounts::create_api_key(&context.db, &name, "cli", context.clock.now()).await?;
            eprintln!("created API key #{} \"{}\"; copy it now, it will not be shown again:", row.id, row.name);
            println!("{clear}");
        }
    }
    Ok(CommandOutcome::Success)
}
