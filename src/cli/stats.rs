//! `satisfaction stats`: the same figures as `GET /api/v1/stats`, as JSON, a table or CSV.

use clap::Args;

use super::{CommandOutcome, Context};
use crate::domain::Locale;
use crate::reporting::{self, StatsQuery, export};

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
    /// Ignore the sampling weights (simple estimates); the same as --weighting unweighted.
    #[arg(long)]
    pub unweighted: bool,
    /// adjusted (design weights adjusted for nonresponse to the frame of closed requests, the
    /// default), design (1/π only) or unweighted.
    #[arg(long, value_parser = ["adjusted", "design", "unweighted"])]
    pub weighting: Option<String>,
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

pub async fn run(args: StatsArgs, context: &Context) -> anyhow::Result<CommandOutcome> {
    let query = StatsQuery {
        by: args.by.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        weighted: args.unweighted.then_some(false),
        weighting: args.weighting.clone(),
        confidence: args.confidence,
        min_n: args.min_n,
        direction: args.direction.clone(),
        channel: args.channel.clone(),
    };
    let response = reporting::stats(&context.db, &context.settings, &reporting::Scope::All, &query).await?;
    let locale = args.locale.as_deref().and_then(Locale::parse).unwrap_or_else(environment_locale);
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&response)?),
        "csv" => print!("{}", export::to_csv(&response)?),
        _ => print!("{}", export::to_table(&response, locale)),
    }
    Ok(CommandOutcome::Success)
}

fn environment_locale() -> Locale {
    ["LC_ALL", "LC_NUMERIC", "LANG"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty() && v != "C" && v != "POSIX"))
        .and_then(|value| Locale::parse(&value))
        .unwrap_or(Locale::Fr)
}
