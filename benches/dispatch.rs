//! Delivery throughput: N closed requests (default 10,000, or the first argument) ingested and
//! sampled by the real jobs on SQLite, then one dispatch pass sending every invitation — over
//! SMTP to aiosmtpd on loopback (tests/support/smtp_sink.py; `python3` with aiosmtpd), then with
//! the file transport. Prints messages per second and the process's peak resident memory before
//! and after each pass. Run with `cargo bench --bench dispatch [-- N]`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use rocket::figment::Figment;
use satisfaction::{clock::Clock, config::Settings, db, jobs::Jobs, sampling::RunOptions};

/// Peak resident memory of this process so far, in MB (Linux `VmHWM`).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_owned()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let n: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = tempfile::tempdir().unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut sink = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--maildir"])
            .arg(maildir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd");
        let mut line = String::new();
        BufReader::new(sink.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");

        for transport in ["smtp", "file"] {
            run(transport, port, n).await;
        }
        let received = std::fs::read_dir(maildir.path()).unwrap().count();
        println!("the SMTP server received {received} messages");
        drop(sink.stdin.take());
        let _ = sink.kill();
        let _ = sink.wait();
    });
}

async fn run(transport: &str, port: u16, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
    let files = dir.path().join("mail");
    let figment = Figment::from(rocket::figment::providers::Serialized::defaults(Settings::default()))
        .merge(("database_url", url.as_str()))
        .merge(("secret_key", "8a1c3b2f6e5d4c7b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3"))
        .merge(("sampling.default_rate", 1.0))
        .merge(("sampling.max_age_days", 30))
        .merge(("delivery.transport", transport))
        .merge(("delivery.file_dir", files.to_str().unwrap()))
        .merge(("delivery.smtp.host", "127.0.0.1"))
        .merge(("delivery.smtp.port", port))
        .merge(("delivery.smtp.security", "plain"))
        .merge(("delivery.smtp.pool_size", 16));
    let settings = Settings::from_figment(&figment).expect("settings");
    let conn = db::connect(&url, &settings.database).await.expect("connect");
    db::migrate(&conn).await.expect("migrate");
    let now = chrono::Utc::now();
    let jobs = Jobs::new(conn, Arc::new(settings), Clock::fixed(now));
    let closed = (now - chrono::Duration::days(1)).to_rfc3339();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let items: Vec<serde_json::Value> = chunk
            .iter()
            .map(|i| {
                let (direction, channel) = (["TP", "ENV", "URB"][i % 3], ["phone", "web_form", "email"][i % 3]);
                serde_json::json!({
                    "service_request_id": format!("BENCH-{i:06}"), "status": "closed",
                    "agency_responsible": direction, "channel": channel,
                    "closed_datetime": closed, "contact_email": format!("citoyen{i}@courriel.example"),
                    "service_name": "Nid-de-poule", "locale": if i % 4 == 0 { "en" } else { "fr" },
                })
            })
            .collect();
        jobs.ingest_api_body("bench", &serde_json::to_string(&items).unwrap()).await.expect("ingest");
    }
    jobs.sample(RunOptions::default()).await.expect("sampling");
    let before = peak_rss_mb();
    let started = Instant::now();
    let report = jobs.dispatch().await.expect("dispatch");
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.sent as usize, n, "{report}");
    println!(
        "{transport}: {n} invitations in {seconds:.2} s, {:.0} messages/s; peak RSS {before:.0} MB before the pass, {:.0} MB after",
        n as f64 / seconds,
        peak_rss_mb()
    );
}
