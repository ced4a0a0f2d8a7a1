//! Real peers for the delivery tests: an SMTP server (aiosmtpd, tests/support/smtp_sink.py) and a
//! small HTTP server standing for an SMS gateway; and a city with closed requests sampled by the
//! real job.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use rocket::figment::Figment;
use satisfaction::clock::Clock;
use satisfaction::db::entities::{invitation, outbox};
use satisfaction::sampling::{RunOptions, RunOutcome};
use sea_orm::{EntityTrait, QueryOrder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::factories::{Reference, RequestRow, insert_requests};
use crate::helpers::{Backend, TestApp, spawn_app_at};

/// The Python that runs the SMTP server (`SATISFACTION_TEST_PYTHON`, else `python3`).
fn python() -> String {
    std::env::var("SATISFACTION_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A port nobody listens on (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// aiosmtpd on loopback, storing what it accepts in its own folder; stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    pub maildir: tempfile::TempDir,
    child: Child,
}

impl SmtpSink {
    pub fn start(tempfail: usize) -> SmtpSink {
        SmtpSink::start_on(free_port(), tempfail)
    }

    pub fn start_on(port: u16, tempfail: usize) -> SmtpSink {
        let maildir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(["--port", &port.to_string(), "--tempfail", &tempfail.to_string(), "--maildir"])
            .arg(maildir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd) runs the SMTP server of the delivery tests");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start (is aiosmtpd installed?)");
        SmtpSink { port, maildir, child }
    }

    /// The messages received, in order, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.maildir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }

    /// The settings that send to this server.
    pub fn configure(&self, figment: Figment) -> Figment {
        smtp_to(self.port, figment)
    }
}

/// Settings that send over SMTP to `127.0.0.1:port` (plain: a local relay).
pub fn smtp_to(port: u16, figment: Figment) -> Figment {
    figment
        .merge(("delivery.transport", "smtp"))
        .merge(("delivery.smtp.host", "127.0.0.1"))
        .merge(("delivery.smtp.port", port))
        .merge(("delivery.smtp.security", "plain"))
        .merge(("delivery.smtp.timeout_secs", 5))
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the webhook server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: serde_json::Value,
}

/// An HTTP server answering each POST with the next status of `statuses` (then 200), keeping
/// what it received.
pub struct Webhook {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    pub async fn start(statuses: Vec<u16>) -> Webhook {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/sms", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(statuses.into_iter()));
        let kept = received.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else { return };
                let (kept, statuses) = (kept.clone(), statuses.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Headers, then as many body bytes as Content-Length says.
                    let (head, body) = loop {
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..n]);
                        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                            let length: usize = head
                                .lines()
                                .find_map(|l| {
                                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                                })
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(0);
                            while buffer.len() < end + 4 + length {
                                let n = stream.read(&mut chunk).await.unwrap_or(0);
                                if n == 0 {
                                    break;
                                }
                                buffer.extend_from_slice(&chunk[..n]);
                            }
                            break (head, buffer[end + 4..].to_vec());
                        }
                    };
                    let authorization = head.lines().find_map(|l| {
                        l.split_once(':')
                            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
                            .map(|(_, v)| v.trim().to_owned())
                    });
                    kept.lock().unwrap().push(Received {
                        authorization,
                        body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                    });
                    let status = statuses.lock().unwrap().next().unwrap_or(200);
                    let response = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.flush().await;
                });
            }
        });
        Webhook { url, received }
    }
}

pub fn t0() -> DateTime<Utc> {
    "2026-11-16T15:00:00Z".parse().unwrap()
}

/// A city whose requests (`rows`, closed a day before `t0`) were all sampled by the real job at
/// `t0`; the application's clock stands at `t0`, and its file transport writes to a folder of
/// the test's.
pub struct City {
    pub app: TestApp,
    pub clock: Clock,
    pub files: tempfile::TempDir,
}

pub async fn city(backend: Backend, rows: Vec<RequestRow>, configure: impl FnOnce(Figment) -> Figment) -> City {
    let clock = Clock::fixed(t0());
    let files = tempfile::tempdir().unwrap();
    let dir = files.path().to_str().unwrap().to_owned();
    let app = spawn_app_at(backend, clock.clone(), |figment| {
        configure(
            figment
                .merge(("sampling.default_rate", 1.0))
                .merge(("delivery.file_dir", dir))
                .merge(("delivery.retry_base_secs", 60))
                .merge(("delivery.city_name", "Ville de Québec"))
                .merge(("delivery.from", "Ville de Québec <sondage@ville.example>")),
        )
    })
    .await;
    let directions: Vec<&str> = {
        let mut d: Vec<&str> = rows.iter().map(|r| r.direction).collect();
        d.sort();
        d.dedup();
        d
    };
    let reference = Reference::with_directions(&app.db, &directions).await;
    insert_requests(&app.db, &reference, &rows).await;
    match app.jobs.sample(RunOptions::default()).await.unwrap() {
        RunOutcome::Completed(report) => assert_eq!(report.sampled as usize, rows.len(), "every request sampled"),
        RunOutcome::Skipped => panic!("sampling skipped"),
    }
    City { app, clock, files }
}

/// A closed request, a day before `t0`, with an e-mail contact, in `locale`.
pub fn request(crm: &str, locale: &'static str) -> RequestRow {
    RequestRow { locale, ..RequestRow::closed(crm, t0() - Duration::days(1)) }
}

impl City {
    pub async fn outbox(&self) -> Vec<outbox::Model> {
        outbox::Entity::find().order_by_asc(outbox::Column::Id).all(&self.app.db).await.unwrap()
    }

    pub async fn invitations(&self) -> Vec<invitation::Model> {
        invitation::Entity::find().order_by_asc(invitation::Column::Id).all(&self.app.db).await.unwrap()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// Write to stdout in a test (kept for debugging a failing run).
#[allow(dead_code)]
pub fn note(text: &str) {
    let _ = writeln!(std::io::stdout(), "{text}");
}
