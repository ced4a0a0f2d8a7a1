use clap::Parser;
use satisfaction::{cli, telemetry};

/// mimalloc rather than glibc's malloc: sqlx hands rows allocated on its SQLite worker thread to
/// the async tasks that free them, and glibc serialises such cross-thread frees on the worker's
/// arena lock (measured: a third of the time spent reading a million-request sampling frame).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    telemetry::init();
    let figment = args.figment();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async move {
        match args.command {
            None => cli::serve(figment).await.map(|()| cli::CommandOutcome::Success),
            Some(cli::Command::Serve(args)) => {
                if args.demo
                    && let Err(err) = cli::prepare_demo(figment.clone()).await
                {
                    return Err(err);
                }
                cli::serve(figment).await.map(|()| cli::CommandOutcome::Success)
            }
            Some(command) => cli::run_admin_command(command, figment).await,
        }
    });
    match outcome {
        Ok(cli::CommandOutcome::Success) => std::process::ExitCode::SUCCESS,
        Ok(cli::CommandOutcome::SomeRejected) => std::process::ExitCode::from(cli::EXIT_SOME_REJECTED),
        Err(err) => {
            eprintln!("error: {}", format_chain(&err));
            std::process::ExitCode::FAILURE
        }
    }
}

fn format_chain(err: &anyhow::Error) -> String {
    err.chain().map(|e| e.to_string()).collect::<Vec<_>>().join(": ")
}
