//! The demonstration: one year of a mid-sized city's 311 activity pushed through the real code
//! paths, day by day on a clock — the ingestion service (closed requests as the CRM sends them),
//! the sampling job, the dispatch job with the file transport, citizens answering through the
//! survey submission service (some after the reminder), opting out, or letting the invitation
//! expire — then follow-ups worked by staff. Deterministic for a seed. It refuses a database that
//! already holds requests.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Statement};
use serde::Serialize;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::{SurveyToken, TokenSalt};
use crate::jobs::Jobs;
use crate::sampling::RunOptions;
use crate::survey::{self, questionnaire::Answer};

/// (code, French name, English name, share of requests, mean score, season)
const DIRECTIONS: [(&str, &str, &str, f64, f64, Season); 8] = [
    ("TP", "Travaux publics", "Public Works", 0.34, 9.1, Season::Winter),
    (
        "ENV",
        "Environnement et collecte des matières résiduelles",
        "Environment and Waste Collection",
        0.2,
        10.0,
        Season::Summer,
    ),
    ("LOI", "Loisirs, sports et vie communautaire", "Recreation, Sports and Community Life", 0.1, 10.1, Season::Summer),
    ("URB", "Urbanisme et habitation", "Urban Planning and Housing", 0.1, 8.7, Season::None),
    ("TRA", "Transport et mobilité", "Transportation and Mobility", 0.12, 9.9, Season::Winter),
    ("EAU", "Eau et assainissement", "Water and Sewers", 0.1, 10.1, Season::None),
    ("SEC", "Sécurité incendie", "Fire Safety", 0.038, 10.2, Season::None),
    ("GRF", "Greffe", "City Clerk", 0.002, 9.8, Season::None),
];

/// The adaptive stratum (waste collection's web forms, a summer peak) and the responses a month
/// it aims at in the reference city (in proportion for another scale).
const ADAPTIVE_STRATUM: (&str, &str) = ("ENV", "web_form");
const ADAPTIVE_TARGET: u32 = 30;

/// (channel, share of requests, chance to answer an invitation, score shift)
const CHANNELS: [(&str, f64, f64, f64); 6] = [
    ("phone", 0.87, 0.22, -0.15),
    ("web_form", 0.092, 0.42, 0.15),
    ("email", 0.025, 0.45, 0.1),
    ("social_media", 0.015, 0.3, -0.2),
    ("counter", 0.003, 0.35, 0.1),
    ("portal", 0.002, 0.38, 0.15),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Season {
    Winter,
    Summer,
    None,
}

const SERVICES: [&str; 8] = [
    "Déneigement",
    "Nid-de-poule",
    "Collecte des ordures",
    "Entretien des parcs",
    "Permis de rénovation",
    "Signalisation",
    "Fuite d'eau",
    "Bruit",
];

/// What dissatisfied citizens write, in French and in English (as the invitation's language).
const LOW_COMMENTS: [&[&str]; 2] = [
    &[
        "Personne ne m'a rappelé, j'ai dû appeler trois fois.",
        "Le délai était beaucoup trop long pour un nid-de-poule dangereux.",
        "On m'a dit que c'était réglé, mais rien n'a été fait.",
        "Le déneigement de ma rue a été oublié deux fois cet hiver.",
        "Réponse polie, mais le problème est toujours là.",
        "J'aurais aimé être informé de la date des travaux.",
    ],
    &[
        "Nobody called me back and the issue is still there.",
        "The information I got was unclear and contradictory.",
        "It took three weeks to fix a broken streetlight.",
    ],
];

const HIGH_COMMENTS: [&[&str]; 2] = [
    &[
        "Service rapide et courtois, merci!",
        "Très satisfait, l'équipe est venue le lendemain.",
        "Merci au préposé qui a pris le temps de bien m'expliquer.",
        "Excellent suivi du début à la fin.",
    ],
    &["Great service, thank you!", "Quick and friendly, the crew came the next day."],
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the database already holds {0} service requests: the demonstration loads only into an empty database")]
    NotEmpty(u64),
    #[error("the scale must be between 0.001 and 10, got {0}")]
    BadScale(f64),
    #[error("database error")]
    Db(#[from] DbErr),
    #[error("ingestion failed: {0}")]
    Ingest(String),
    #[error("sampling failed: {0}")]
    Sampling(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// What the demonstration made.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DemoReport {
    pub requests: u64,
    pub sampling_runs: u64,
    pub invitations: u64,
    /// Messages the dispatch job wrote: invitations and reminders.
    pub messages: u64,
    pub reminders: u64,
    pub responses: u64,
    pub after_reminder: u64,
    pub opt_outs: u64,
    pub expired: u64,
    pub follow_ups: u64,
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "demonstration loaded: {} closed requests, {} sampling runs, {} invitations and {} reminders written to files, \
             {} responses ({} after the reminder), {} opt-outs, {} invitations expired, {} follow-ups",
            self.requests,
            self.sampling_runs,
            self.invitations,
            self.reminders,
            self.responses,
            self.after_reminder,
            self.opt_outs,
            self.expired,
            self.follow_ups
        )
    }
}

/// What a citizen will do with an invitation.
#[derive(Debug, Clone, Copy)]
enum Fate {
    Answer { day: NaiveDate, after_reminder: bool },
    OptOut { day: NaiveDate },
    Ignore,
}

#[derive(Debug, FromQueryResult)]
struct Sent {
    id: i64,
    token_salt: Option<String>,
    channel: String,
}

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut at = rng.random::<f64>() * total;
    for (item, weight) in items {
        if at < *weight {
            return item;
        }
        at -= weight;
    }
    &items[items.len() - 1].0
}

fn seasonal(season: Season, month: u32) -> f64 {
    match (season, month) {
        (Season::Winter, 12 | 1 | 2 | 3) => 2.2,
        (Season::Winter, 6..=8) => 0.6,
        (Season::Summer, 6..=8) => 2.0,
        (Season::Summer, 12 | 1 | 2) => 0.5,
        _ => 1.0,
    }
}

/// Load one year (the one ending yesterday, as of `clock`) into an empty database, `scale` × the
/// reference city's 130,000 requests. `progress(day, so_far)` is called after each of the 365 days.
pub async fn load(
    db: &DatabaseConnection,
    settings: &Settings,
    seed: u64,
    scale: f64,
    end: NaiveDate,
    progress: &mut dyn FnMut(u64, &DemoReport),
) -> Result<DemoReport, DemoError> {
    if !(0.001..=10.0).contains(&scale) {
        return Err(DemoError::BadScale(scale));
    }
    refuse_a_city_already_there(db).await?;
    let zone = settings.time_zone;
    let mut rng = StdRng::seed_from_u64(seed);
    // The demonstration's own sampling rates: most phone requests have no e-mail, so phone
    // invitations are sampled at a higher rate. One stratum is adaptive: with a monthly target,
    // a stratum without a rate of its own gets the rate expected to bring the target (from its
    // recent volume and response rate), so every other stratum is given its rate explicitly.
    let mut settings = settings.clone();
    settings.sampling.default_rate = 0.4;
    settings.sampling.monthly_target = Some(((f64::from(ADAPTIVE_TARGET) * scale).round() as u32).max(1));
    for (direction, ..) in DIRECTIONS {
        for (channel, ..) in CHANNELS {
            if (direction, channel) != ADAPTIVE_STRATUM {
                let rate = match channel {
                    "phone" => 0.6,
                    "web_form" => 0.3,
                    _ => 0.4,
                };
                settings
                    .sampling
                    .stratum_rates
                    .insert(crate::sampling::design::stratum_label(direction, channel), rate);
            }
        }
    }
    settings.sampling.delay_minutes = 60;
    settings.stats.min_n = 10;
    let settings = Arc::new(settings);
    let start = end - Duration::days(364);
    let at = |day: NaiveDate, hour: u32| -> DateTime<Utc> {
        zone.from_local_datetime(&day.and_hms_opt(hour, 0, 0).expect("an hour"))
            .earliest()
            .expect("a local time")
            .with_timezone(&Utc)
    };
    let clock = Clock::fixed(at(start, 8));
    let jobs = Jobs::new(db.clone(), settings.clone(), clock.clone());
    for (code, fr, en, ..) in DIRECTIONS {
        crate::db::repo::directions::insert(db, code, fr, en, clock.now()).await?;
    }
    let daily = 130_000.0 * scale / 365.0;
    let mut report = DemoReport::default();
    let mut fates: BTreeMap<i64, Fate> = BTreeMap::new();
    let mut serial = 0u64;
    let days = 365u64;
    for offset in 0..days {
        let day = start + Duration::days(offset as i64);
        // The day's closed requests, as the CRM sends them.
        clock.set(at(day, 18));
        let weekday = if day.weekday().number_from_monday() >= 6 { 0.5 } else { 1.15 };
        let mut items = Vec::new();
        for (code, _, _, share, _, season) in DIRECTIONS {
            let expected = daily * share * seasonal(season, day.month()) * weekday / 1.125;
            let n = (expected + normal(&mut rng) * expected.sqrt()).round().max(0.0) as u64;
            for _ in 0..n {
                serial += 1;
                let channel = *pick(&mut rng, &CHANNELS.map(|(c, w, ..)| (c, w)));
                let contact: f64 = rng.random();
                let (email, phone) = match (channel, contact) {
                    ("email" | "web_form" | "portal", c) if c < 0.85 => {
                        (Some(format!("citoyen{serial}@courriel.example")), None)
                    }
                    (_, c) if c < 0.22 => (Some(format!("citoyen{serial}@courriel.example")), None),
                    (_, c) if c < 0.27 => (None, Some(format!("+1418555{:04}", serial % 10_000))),
                    _ => (None, None),
                };
                let hour = 8 + rng.random_range(0..9);
                let closed = at(day, hour) + Duration::minutes(rng.random_range(0..60));
                items.push(serde_json::json!({
                    "service_request_id": format!("DEMO-{}-{serial:06}", day.year()),
                    "status": "closed",
                    "agency_responsible": code,
                    "channel": channel,
                    "service_name": SERVICES[rng.random_range(0..SERVICES.len())],
                    "requested_datetime": (closed - Duration::days(rng.random_range(1..10))).to_rfc3339(),
                    "closed_datetime": closed.to_rfc3339(),
                    "contact_email": email,
                    "contact_phone": phone,
                    "locale": if rng.random::<f64>() < 0.12 { "en" } else { "fr" },
                }));
            }
        }
        report.requests += items.len() as u64;
        for chunk in items.chunks(1000) {
            let body = serde_json::to_string(chunk).expect("JSON");
            jobs.ingest_api_body("demo", &body).await.map_err(|e| DemoError::Ingest(e.to_string()))?;
        }
        // The evening: sampling, then the outbox (invitations and due reminders), then citizens.
        clock.set(at(day, 20));
        let run = jobs
            .sample(RunOptions { dry_run: false, seed: Some(seed ^ offset) })
            .await
            .map_err(|e| DemoError::Sampling(e.to_string()))?;
        if matches!(run, crate::sampling::RunOutcome::Completed(_)) {
            report.sampling_runs += 1;
        }
        let dispatched = jobs.dispatch().await.map_err(|e| DemoError::Delivery(e.to_string()))?;
        report.messages += dispatched.sent + dispatched.reminders_sent;
        report.reminders += dispatched.reminders_sent;
        report.expired += dispatched.expired;
        // What each invitation sent today will become.
        let sql = "SELECT i.id, i.token_salt, c.code AS channel FROM invitations i JOIN channels c ON c.id = i.channel_id \
                   WHERE i.state = 'sent' AND i.reminded_at IS NULL ORDER BY i.id";
        for sent in Sent::find_by_statement(Statement::from_string(db.get_database_backend(), sql)).all(db).await? {
            if fates.contains_key(&sent.id) || sent.token_salt.is_none() {
                continue;
            }
            report.invitations += 1;
            let answer_rate = CHANNELS.iter().find(|c| c.0 == sent.channel).map_or(0.25, |c| c.2);
            let roll: f64 = rng.random();
            let fate = if roll < answer_rate * 0.7 {
                Fate::Answer { day: day + Duration::days(rng.random_range(0..4)), after_reminder: false }
            } else if roll < answer_rate {
                Fate::Answer { day: day + Duration::days(rng.random_range(5..11)), after_reminder: true }
            } else if roll < answer_rate + 0.02 {
                Fate::OptOut { day: day + Duration::days(rng.random_range(0..6)) }
            } else {
                Fate::Ignore
            };
            fates.insert(sent.id, fate);
        }
        // Citizens whose day it is.
        let due: Vec<(i64, Fate)> = fates
            .iter()
            .filter(|(_, fate)| match fate {
                Fate::Answer { day: d, .. } | Fate::OptOut { day: d } => *d == day,
                Fate::Ignore => false,
            })
            .map(|(id, fate)| (*id, *fate))
            .collect();
        for (id, fate) in due {
            let Some(token) = token_of(db, settings.token_key(), id).await? else { continue };
            clock.set(at(day, 21) + Duration::minutes(rng.random_range(0..120)));
            match fate {
                Fate::OptOut { .. } => {
                    crate::delivery::opt_out::opt_out(db, token.as_str(), "page", clock.now()).await?;
                    report.opt_outs += 1;
                }
                Fate::Answer { after_reminder, .. } => {
                    if answer(db, &settings, &mut rng, token.as_str(), clock.now(), &mut report).await?
                        && after_reminder
                    {
                        report.after_reminder += 1;
                    }
                }
                Fate::Ignore => {}
            }
        }
        progress(offset + 1, &report);
    }
    // The invitations of the last two weeks stay open: their links (in the file outbox) work.
    // Staff have worked most follow-ups.
    clock.set(at(end, 23));
    let items = crate::db::repo::follow_ups::list(db, None, None, 100_000).await?;
    report.follow_ups = items.len() as u64;
    for (i, item) in items.iter().enumerate() {
        let status = match i % 5 {
            0 | 1 => "done",
            2 => "in_progress",
            _ => continue,
        };
        let note = if status == "done" { Some("Citoyen rappelé, situation expliquée.") } else { None };
        crate::dashboard::update_follow_up(
            db,
            &crate::reporting::Scope::All,
            item.id,
            status,
            None,
            note,
            "demo",
            clock.now(),
        )
        .await
        .map_err(|e| DemoError::Delivery(e.to_string()))?;
    }
    Ok(report)
}

/// The demonstration goes only into a database without requests: mixed with a real city's, its
/// figures would mean nothing.
pub async fn refuse_a_city_already_there(db: &DatabaseConnection) -> Result<(), DemoError> {
    let count = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT COUNT(*) FROM service_requests"))
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0);
    if count > 0 {
        return Err(DemoError::NotEmpty(count as u64));
    }
    Ok(())
}

/// The link of an invitation still open (rebuilt from its salt, as the dispatcher does).
async fn token_of(db: &DatabaseConnection, key: &[u8], invitation_id: i64) -> Result<Option<SurveyToken>, DbErr> {
    let sql = format!("SELECT token_salt FROM invitations WHERE id = {invitation_id} AND state = 'sent'");
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    let salt: Option<String> = row.map(|r| r.try_get_by_index::<Option<String>>(0)).transpose()?.flatten();
    Ok(salt.map(|salt| SurveyToken::derive(key, &TokenSalt::from_stored(&salt))))
}

/// A citizen answers through the survey service; whether a response was stored.
async fn answer(
    db: &DatabaseConnection,
    settings: &Settings,
    rng: &mut StdRng,
    token: &str,
    now: DateTime<Utc>,
    report: &mut DemoReport,
) -> Result<bool, DemoError> {
    let Some(invitation) = survey::find(db, token).await? else { return Ok(false) };
    if invitation.status(now) != survey::Status::Open {
        return Ok(false);
    }
    let questionnaire = survey::active_questionnaire(db).await?;
    let direction = code_of(db, "directions", invitation.direction_id).await?;
    let channel = code_of(db, "channels", invitation.channel_id).await?;
    let base = DIRECTIONS.iter().find(|d| d.0 == direction).map_or(9.0, |d| d.4);
    let shift = CHANNELS.iter().find(|c| c.0 == channel).map_or(0.0, |c| c.3);
    let score = (base + shift + normal(rng) * 1.0).round().clamp(0.0, 10.0) as u8;
    let mut answers = survey::questionnaire::Answers::new();
    answers.insert("overall".into(), Answer::Score(score));
    for driver in ["timeliness", "courtesy", "competence", "clarity", "fairness"] {
        let answer = if rng.random::<f64>() < 0.08 {
            Answer::NotApplicable
        } else {
            let spread = match driver {
                "timeliness" => -0.6,
                "courtesy" => 0.4,
                _ => 0.0,
            };
            Answer::Score((f64::from(score) + spread + normal(rng) * 0.8).round().clamp(0.0, 10.0) as u8)
        };
        answers.insert(driver.into(), answer);
    }
    let outcome = match score {
        9..=10 => "yes",
        7..=8 if rng.random::<f64>() < 0.06 => "no",
        7..=8 if rng.random::<f64>() < 0.8 => "yes",
        7..=8 => "partly",
        _ if rng.random::<f64>() < 0.5 => "no",
        _ => "partly",
    };
    answers.insert("outcome".into(), Answer::Choice(outcome.into()));
    let contacts = if score >= 8 {
        "1"
    } else if rng.random::<f64>() < 0.5 {
        "2"
    } else {
        "3+"
    };
    answers.insert("contacts".into(), Answer::Choice(contacts.into()));
    let language = usize::from(invitation.locale == "en");
    let pick_comment = |rng: &mut StdRng, comments: [&[&str]; 2]| {
        let comments = comments[language];
        Answer::Text(comments[rng.random_range(0..comments.len())].into())
    };
    if (score <= 6 || outcome == "no") && rng.random::<f64>() < 0.65 {
        answers.insert("comment".into(), pick_comment(rng, LOW_COMMENTS));
        answers.insert("follow_up".into(), Answer::Checked(rng.random::<f64>() < 0.5));
    } else if score >= 9 && rng.random::<f64>() < 0.08 {
        answers.insert("comment".into(), pick_comment(rng, HIGH_COMMENTS));
    }
    let row = survey::response_row(&invitation, &questionnaire, &answers, now);
    let follow_up = survey::follow_up_reason(&answers, settings.survey.follow_up_max_score);
    match survey::submit(db, settings.time_zone, row, follow_up).await {
        Ok(_) => {
            report.responses += 1;
            Ok(true)
        }
        Err(survey::SubmitError::AlreadyAnswered) => Ok(false),
        Err(survey::SubmitError::Db(err)) => Err(err.into()),
    }
}

async fn code_of(db: &DatabaseConnection, table: &str, id: i64) -> Result<String, DbErr> {
    let sql = format!("SELECT code FROM {table} WHERE id = {id}");
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await?;
    row.map(|r| r.try_get_by_index::<String>(0))
        .transpose()?
        .ok_or_else(|| DbErr::RecordNotFound(format!("{table} #{id}")))
}
