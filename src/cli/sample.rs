//! `satisfaction sample`: one sampling run, with its per-stratum summary.

use clap::Args;

use super::{CommandOutcome, Context, parse_now};
use crate::sampling::{RunOptions, RunOutcome};

#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The reference time of the eligibility window (RFC 3339); default: now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Compute and record the run, but create no invitation.
    #[arg(long)]
    pub dry_run: bool,
    /// Replay a recorded run's seed, as the API prints it (a decimal string; the negative form
    /// older versions printed is accepted too).
    #[arg(long, value_parser = parse_seed)]
    pub seed: Option<u64>,
    /// Print the run as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A seed as printed: 0..2^64 in decimal, or the signed form (the same 64 bits) older versions printed.
fn parse_seed(raw: &str) -> Result<u64, String> {
    let raw = raw.trim().trim_matches('"');
    raw.parse::<u64>()
        .or_else(|_| raw.parse::<i64>().map(|signed| signed as u64))
        .map_err(|_| format!("{raw:?} is not a seed: expected a whole number such as 16045690984833335023"))
}

pub async fn run(args: SampleArgs, context: &Context) -> anyhow::Result<CommandOutcome> {
    let jobs = context.jobs(parse_now(&args.now)?);
    let options = RunOptions { dry_run: args.dry_run, seed: args.seed };
    match jobs.sample(options).await? {
        RunOutcome::Completed(report) if args.json => println!("{}", serde_json::to_string_pretty(&report)?),
        outcome => print!("{outcome}"),
    }
    Ok(CommandOutcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_in_every_printed_form() {
        assert_eq!(parse_seed("16045690984833335023"), Ok(16045690984833335023));
        assert_eq!(parse_seed("\"16045690984833335023\""), Ok(16045690984833335023));
        assert_eq!(parse_seed(&(16045690984833335023u64 as i64).to_string()), Ok(16045690984833335023));
        assert!(parse_seed("1.6e19").is_err());
        assert!(parse_seed("18446744073709551616").is_err());
    }
}
