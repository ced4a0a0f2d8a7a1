//! `satisfaction direction add|list`: the city's directions (departments).

use anyhow::bail;
use clap::Subcommand;

use super::{CommandOutcome, Context};
use crate::{accounts, db};

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

pub async fn run(command: DirectionCommand, context: &Context) -> anyhow::Result<CommandOutcome> {
    let db = &context.db;
    match command {
        DirectionCommand::Add { code, name_fr, name_en } => {
            if code.trim().is_empty() {
                bail!("the direction code must not be empty");
            }
            match accounts::add_direction(db, &code, &name_fr, &name_en, context.clock.now()).await {
                Ok(direction) => {
                    println!("registered direction {} ({} / {})", direction.code, direction.name_fr, direction.name_en)
                }
                Err(err) if db::is_unique_violation(&err) => bail!("direction {code:?} is already registered"),
                Err(err) => return Err(err.into()),
            }
        }
        DirectionCommand::List => {
            for direction in db::repo::directions::list(db).await? {
                println!("{}\t{}\t{}", direction.code, direction.name_fr, direction.name_en);
            }
        }
    }
    Ok(CommandOutcome::Success)
}
