//! `satisfaction dispatch` and `satisfaction purge`: one pass of the delivery and retention
//! jobs, as the scheduler runs them, printing what they did.

use clap::Args;

use super::{CommandOutcome, Context, parse_now};

#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// Run as of this instant (RFC 3339) instead of now: what is due then is sent.
    #[arg(long)]
    pub now: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Run as of this instant (RFC 3339) instead of now.
    #[arg(long)]
    pub now: Option<String>,
}

pub async fn run(args: DispatchArgs, context: &Context) -> anyhow::Result<CommandOutcome> {
    let report = context.jobs(parse_now(&args.now)?).dispatch().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(CommandOutcome::Success)
}

pub async fn purge(args: PurgeArgs, context: &Context) -> anyhow::Result<CommandOutcome> {
    let report = context.jobs(parse_now(&args.now)?).purge("cli").await?;
    print!("{report}");
    Ok(CommandOutcome::Success)
}
