//! `satisfaction rollup`: recompute the monthly roll-up from every response (the repair tool;
//! storing responses keeps it up to date by itself).

use super::{CommandOutcome, Context};
use crate::responses::rollup;

pub async fn run(context: &Context) -> anyhow::Result<CommandOutcome> {
    let months = rollup::rebuild(&context.db, context.settings.time_zone).await?;
    println!("statistics roll-up recomputed for {months} months");
    Ok(CommandOutcome::Success)
}
