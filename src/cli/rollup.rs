//! `satisfaction rollup`: recompute the monthly and daily roll-ups (every item) from every
//! response (the repair tool; storing responses keeps them up to date by itself, and a large
//! import recomputes the months it wrote).

use super::{CommandOutcome, Context};
use crate::responses::rollup;

pub async fn run(context: &Context) -> anyhow::Result<CommandOutcome> {
    let months = rollup::rebuild(&context.db, context.settings.time_zone).await?;
    println!("statistics roll-up recomputed for {months} months");
    let months = crate::frame::rebuild(&context.db, context.settings.time_zone).await?;
    println!("frame counts (closed requests per stratum) recomputed for {months} months");
    Ok(CommandOutcome::Success)
}
