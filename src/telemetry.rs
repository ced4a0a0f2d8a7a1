//! Logging with `tracing`. `RUST_LOG` overrides the default filter.

use tracing_subscriber::EnvFilter;

/// sqlx logs every statement at INFO and Rocket repeats what our request log says: quiet both.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn,rocket=warn,rocket::server=off,rocket::launch=off,_=warn,tokio_cron_scheduler=warn";

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // A second call (tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(true).try_init();
}

/// "outer: middle: inner" — the whole chain of causes of an error, for the log.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = cause.source();
    }
    chain
}
