//! `satisfaction demo [--seed N] [--scale F]` (loads the demonstration) and what
//! `satisfaction serve --demo` does before serving.

use chrono::Duration;
use clap::Args;

use super::{CommandOutcome, Context};
use crate::accounts;
use crate::domain::{Email, Role};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The same seed gives the same city.
    #[arg(long, default_value_t = 311)]
    pub seed: u64,
    /// A fraction (or multiple) of the reference city's 130,000 closed requests a year.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
}

/// The demonstration administrator's address.
pub const DEMO_ADMIN: &str = "admin@demo.ville.example";

pub async fn run(args: DemoArgs, context: &Context) -> anyhow::Result<CommandOutcome> {
    load(&args, context).await?;
    print_access(context).await?;
    Ok(CommandOutcome::Success)
}

/// Load the year, with a progress bar for the days and a counter per stage on a terminal.
pub async fn load(args: &DemoArgs, context: &Context) -> anyhow::Result<()> {
    let end = context.clock.now().with_timezone(&context.settings.time_zone).date_naive() - Duration::days(1);
    // Before any bar is drawn.
    crate::demo::refuse_a_city_already_there(&context.db).await?;
    let bars = indicatif::MultiProgress::new();
    let days = bars.add(indicatif::ProgressBar::new(365));
    days.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>26} [{bar:40}] {pos}/{len} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    days.set_prefix("days of the city");
    let stage = |name: &str| {
        let bar = bars.add(indicatif::ProgressBar::no_length());
        bar.set_style(indicatif::ProgressStyle::with_template("{prefix:>26} {pos}").expect("a valid template"));
        bar.set_prefix(name.to_owned());
        bar
    };
    let stages = [
        stage("requests ingested"),
        stage("sampling runs"),
        stage("messages written"),
        stage("responses"),
        stage("opt-outs"),
        stage("invitations expired"),
    ];
    let mut progress = |day: u64, so_far: &crate::demo::DemoReport| {
        days.set_position(day);
        let counts =
            [so_far.requests, so_far.sampling_runs, so_far.messages, so_far.responses, so_far.opt_outs, so_far.expired];
        for (bar, count) in stages.iter().zip(counts) {
            bar.set_position(count);
        }
    };
    let report = crate::demo::load(&context.db, &context.settings, args.seed, args.scale, end, &mut progress).await?;
    days.finish();
    stages.iter().for_each(indicatif::ProgressBar::finish);
    print!("{report}");
    Ok(())
}

/// Make sure the demonstration administrator exists with a fresh password, and print where to
/// go and how to log in.
pub async fn print_access(context: &Context) -> anyhow::Result<()> {
    let now = context.clock.now();
    let password = match crate::db::repo::users::find_by_email(&context.db, DEMO_ADMIN).await? {
        Some(user) => accounts::reset_password(&context.db, user.id, "demo", now).await?,
        None => {
            let password = hex::encode(rand::random::<[u8; 12]>());
            let new_user = accounts::NewUser {
                email: Email::parse(DEMO_ADMIN)?,
                password: password.clone(),
                role: Role::Admin,
                direction_code: None,
            };
            accounts::create_user(&context.db, new_user, "demo", now).await?;
            password
        }
    };
    println!("dashboard: {}", context.settings.public_url("/dashboard"));
    println!("log in as {DEMO_ADMIN} with the password {password}");
    Ok(())
}
