//! The whole statistics query, database included: N responses (default 1,000,000, or the first
//! argument) over one year, `stats --by direction,channel`, `--by month` and overall, for the
//! whole year (whole months: the monthly roll-up), the last 30 days, a quarter starting mid-month
//! and a single day (edge days from the daily roll-up), then the five drivers with their
//! correlations (`stats drivers`) for the same periods, on SQLite and on PostgreSQL
//! (`TEST_POSTGRES_URL`). Run with `cargo bench --bench stats_query [-- N]`.

use std::time::{Duration, Instant};

use satisfaction::{
    config::Settings,
    db,
    reporting::{self, StatsQuery},
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

const DIRECTIONS: [&str; 8] = ["TP", "ENV", "URB", "VC", "GEN", "COM", "FIN", "SEC"];

fn main() {
    let n: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
        bench("sqlite", &sqlite, n).await;
        let admin_url =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("satisfaction_bench_stats_{}", std::process::id());
        let admin = Database::connect(admin_url.as_str()).await.expect("PostgreSQL for the benchmark");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create database");
        let mut url = url::Url::parse(&admin_url).expect("url");
        url.set_path(&name);
        bench("postgres", url.as_str(), n).await;
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
    });
}

async fn bench(backend: &str, url: &str, n: u64) {
    let settings = Settings { database_url: url.into(), ..Settings::default() };
    let conn = db::connect(url, &settings.database).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    for code in DIRECTIONS {
        db::repo::directions::insert(&conn, code, code, code, chrono::Utc::now()).await.expect("direction");
    }
    let started = Instant::now();
    fill(&conn, backend, n).await;
    println!("{backend}: {n} responses generated in {:.1} s", started.elapsed().as_secs_f64());
    let started = Instant::now();
    let months = satisfaction::responses::rollup::rebuild(&conn, settings.time_zone).await.expect("roll-up");
    println!(
        "{backend}: full recompute of the monthly and daily roll-ups ({months} months) in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // A frame of four closed requests per respondent in every class (the responses were
    // generated, not sampled from requests).
    conn.execute_unprepared(
        "INSERT INTO frame_counts_monthly (month, direction_id, channel_id, requests) \
         SELECT class_month, direction_id, channel_id, 4 * SUM(n) FROM response_cells_monthly \
         WHERE item = 'overall' AND class_month <> '' GROUP BY class_month, direction_id, channel_id",
    )
    .await
    .expect("frame counts");
    let periods = [
        ("year", "2022-01-01", "2022-12-31"),
        ("last 30 days", "2022-11-15", "2022-12-14"),
        ("mid-month quarter", "2022-02-15", "2022-05-14"),
        ("one day", "2022-07-14", "2022-07-14"),
    ];
    for (period, from, to) in periods {
        for by in ["direction,channel", "month", ""] {
            for weighting in ["adjusted", "design"] {
                let query = StatsQuery {
                    by: Some(by.into()),
                    from: Some(from.into()),
                    to: Some(to.into()),
                    weighting: Some(weighting.into()),
                    ..Default::default()
                };
                let label = format!("{by} ({weighting})");
                time_query(backend, &conn, &settings, period, &label, &query, (period == "year").then_some(n)).await;
            }
        }
    }
    time_overviews(backend, &conn, &settings).await;
    for (period, from, to) in periods {
        let query = StatsQuery { from: Some(from.into()), to: Some(to.into()), ..Default::default() };
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let drivers =
                reporting::analysis::drivers(&conn, &settings, &reporting::Scope::All, &query).await.expect("drivers");
            times.push(started.elapsed());
            assert!(drivers.drivers.iter().all(|d| d.n > 0 && d.correlation.r.is_some()), "{period}");
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{backend}: {period:<18} drivers (5, with r)          median {:>8.1} ms  (min {:.1}, max {:.1})",
            ms(times[2]),
            ms(times[0]),
            ms(times[4])
        );
    }
}

/// The dashboard's overview (headline, previous period, response rate, two breakdowns with their
/// tests, a year's trend) for every period preset as of the data's last day, and a custom range.
async fn time_overviews(backend: &str, conn: &DatabaseConnection, settings: &Settings) {
    use satisfaction::dashboard::{self, Filter};
    let today = chrono::NaiveDate::from_ymd_opt(2022, 12, 31).expect("a date");
    for (preset, from, to) in [
        ("last_30_days", None, None),
        ("last_quarter", None, None),
        ("this_year", None, None),
        ("last_year", None, None),
        ("custom", Some("2022-02-15"), Some("2022-05-14")),
    ] {
        let filter = Filter::parse(Some(preset), from, to, None, None, None, today).expect("a filter");
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let overview =
                dashboard::overview(conn, settings, &reporting::Scope::All, &filter, satisfaction::domain::Locale::Fr)
                    .await
                    .expect("overview");
            times.push(started.elapsed());
            assert!(preset == "last_year" || !overview.mean.is_empty());
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{backend}: dashboard overview, {preset:<14} median {:>8.1} ms  (min {:.1}, max {:.1})",
            ms(times[2]),
            ms(times[0]),
            ms(times[4])
        );
    }
}

async fn time_query(
    backend: &str,
    conn: &DatabaseConnection,
    settings: &Settings,
    period: &str,
    by: &str,
    query: &StatsQuery,
    expected_n: Option<u64>,
) {
    {
        let mut times = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let response = reporting::stats(conn, settings, &reporting::Scope::All, query).await.expect("stats");
            times.push(started.elapsed());
            if let Some(n) = expected_n {
                assert_eq!(response.overall.n, n);
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{backend}: {period:<18} stats --by {:<30} median {:>8.1} ms  (min {:.1}, max {:.1})",
            by,
            ms(times[2]),
            ms(times[0]),
            ms(times[4])
        );
    }
}

/// N pseudo-random responses (a multiplicative hash of the row number: SQLite would evaluate
/// `random()` anew at each use of a flattened subquery's column): scores skewed high as in a real 311 survey, 48 strata, weights 1–7;
/// each driver answered by nine responses in ten, near the overall score.
async fn fill(conn: &DatabaseConnection, backend: &str, n: u64) {
    let score = |r: &str| {
        format!(
            "CASE WHEN {r} < 38 THEN 10 WHEN {r} < 60 THEN 9 WHEN {r} < 75 THEN 8 WHEN {r} < 84 THEN 7 WHEN {r} < 90 THEN 6 \
             WHEN {r} < 94 THEN 5 ELSE {r} % 5 END"
        )
    };
    // Driver k: empty for one response in ten, else the score moved by −1, 0 or +1 within 0–10.
    let drivers: Vec<String> = (1..=5)
        .map(|k| {
            format!(
                "CASE WHEN (x + {k}) % 10 = 0 THEN NULL WHEN s + (x / {k}) % 3 - 1 > 10 THEN 10 \
                 WHEN s + (x / {k}) % 3 - 1 < 0 THEN 0 ELSE s + (x / {k}) % 3 - 1 END"
            )
        })
        .collect();
    let drivers = drivers.join(", ");
    let columns = "overall_score, score_timeliness, score_courtesy, score_competence, score_clarity, score_fairness, \
                   follow_up_requested, completion, source, submitted_at, direction_id, channel_id, stratum, weight, created_at, \
                   request_closed_at";
    let sql = if backend == "sqlite" {
        format!(
            "WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < {n}) \
             INSERT INTO responses ({columns}) \
             SELECT s, {drivers}, 0, 'complete', 'import', strftime('%Y-%m-%dT%H:%M:%S+00:00', '2022-01-01 05:00:00', '+' || ((x * 31) % 31536000) || ' seconds'), \
             1 + x % 8, 1 + (x / 8) % 6, 'S' || (x % 48), 1.0 + x % 7, '2022-01-01T00:00:00+00:00', \
             strftime('%Y-%m-%dT%H:%M:%S+00:00', '2022-01-01 05:00:00', '+' || ((x * 31) % 31536000 - (x % 20) * 86400) || ' seconds') \
             FROM (SELECT x, {} AS s FROM (SELECT x, (x * 2654435761) % 4294967296 % 100 AS r FROM seq))",
            score("r")
        )
    } else {
        format!(
            "INSERT INTO responses ({columns}) \
             SELECT s, {drivers}, false, 'complete', 'import', timestamptz '2022-01-01 05:00:00+00' + ((x * 31) % 31536000) * interval '1 second', \
             1 + x % 8, 1 + (x / 8) % 6, 'S' || (x % 48), 1.0 + x % 7, now(), \
             timestamptz '2022-01-01 05:00:00+00' + ((x * 31) % 31536000 - (x % 20) * 86400) * interval '1 second' \
             FROM (SELECT x, ({}) AS s FROM (SELECT x, (x * 2654435761) % 4294967296 % 100 AS r FROM generate_series(1, {n}) x) g) h",
            score("r")
        )
    };
    conn.execute_unprepared(&sql).await.expect("generate responses");
    if backend == "postgres" {
        conn.execute_unprepared("ANALYZE responses").await.ok();
    }
}
