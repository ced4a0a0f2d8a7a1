//! One sampling run, audited: the seed, the parameters, per-stratum population / eligible /
//! sampled counts and the exclusions by reason are stored in `sampling_runs`, so a run can be
//! audited and replayed (same seed, same input, same sample).
//!
//! Never twice: a lease in `job_state` lets one run at a time proceed (others skip, on any number
//! of instances); every request of the window is marked as decided by the run that saw it; and
//! the unique index on `invitations.service_request_id` refuses a second invitation whatever
//! happens. Invitations, their outbox rows and the decision marks of a batch are written in one
//! transaction: a crash leaves whole batches only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbErr, StreamTrait, TransactionSession, TransactionTrait};
use serde::Serialize;

use super::design::{self, StratumCounts, StratumHistory};
use super::eligibility::{self, Exclusion, Rules};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::repo::{self, sampling::RunTotals};
use crate::domain::{RunStatus, SurveyToken, TokenSalt};

pub const LEASE: &str = "lock:sampling";

/// How to run; the reference time of the eligibility window is the clock's.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Compute and record, but create no invitation and mark nothing.
    pub dry_run: bool,
    /// Replay a run's seed; a fresh random seed otherwise.
    pub seed: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum SamplingError {
    #[error("database error during the sampling run")]
    Db(#[from] DbErr),
}

/// What a run did; `strata` in stratum order.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    /// A decimal string in JSON: seeds use all 64 bits, beyond what JSON numbers carry exactly.
    #[serde(serialize_with = "decimal")]
    pub seed: u64,
    pub as_of: DateTime<Utc>,
    pub dry_run: bool,
    pub population: u64,
    pub eligible: u64,
    pub sampled: u64,
    pub exclusions: BTreeMap<String, u64>,
    pub strata: Vec<StratumCounts>,
    /// Ids of the sampled requests (for replay checks; not stored).
    #[serde(skip)]
    pub sampled_request_ids: Vec<i64>,
}

fn decimal<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

#[derive(Debug)]
pub enum RunOutcome {
    Completed(RunReport),
    /// Another run holds the lease; this one did nothing.
    Skipped,
}

/// One run as of the clock's now.
pub async fn run<C>(
    db: &C,
    settings: &Settings,
    clock: &Clock,
    options: RunOptions,
) -> Result<RunOutcome, SamplingError>
where
    C: ConnectionTrait + TransactionTrait + StreamTrait,
{
    let owner = uuid::Uuid::new_v4().to_string();
    let now = clock.now();
    let stale_before = now - Duration::minutes(i64::from(settings.sampling.lock_timeout_minutes));
    if !repo::job_state::try_acquire_lease(db, LEASE, &owner, now, stale_before).await? {
        return Ok(RunOutcome::Skipped);
    }
    let result = run_locked(db, settings, clock, &options, &owner).await;
    // Released whatever happened; a crash instead leaves it to go stale.
    let released = repo::job_state::release_lease(db, LEASE, &owner).await;
    let report = result?;
    released?;
    Ok(RunOutcome::Completed(report))
}

/// What the run decided about one candidate; a million of these fit in 16 MB.
struct Draw {
    request_id: i64,
    /// Index into the run's strata.
    stratum: u32,
    /// Eligible and drawn (`Ok(true)`), eligible and not drawn, or excluded.
    verdict: Result<bool, Exclusion>,
}

async fn run_locked<C>(
    db: &C,
    settings: &Settings,
    clock: &Clock,
    options: &RunOptions,
    owner: &str,
) -> Result<RunReport, SamplingError>
where
    C: ConnectionTrait + TransactionTrait + StreamTrait,
{
    let config = &settings.sampling;
    let started_at = clock.now();
    let seed = options.seed.unwrap_or_else(rand::random);
    let now = started_at;
    let window = (
        now - Duration::days(i64::from(config.max_age_days)),
        now - Duration::minutes(i64::from(config.delay_minutes)),
    );

    let directions: HashMap<i64, String> =
        repo::directions::list(db).await?.into_iter().map(|d| (d.id, d.code)).collect();
    let channels: HashMap<i64, String> =
        repo::directions::list_channels(db).await?.into_iter().map(|c| (c.id, c.code)).collect();
    let excluded_codes: HashSet<String> = config.excluded_service_codes.iter().cloned().collect();
    let timer = std::time::Instant::now();
    let candidates = repo::sampling::candidates(db, window.0, window.1, &excluded_codes).await?;
    let read = timer.elapsed();
    let opted_out = repo::sampling::opted_out_hashes(db).await?;
    let quarantined =
        repo::sampling::recently_invited_hashes(db, now - Duration::days(i64::from(config.quarantine_days))).await?;
    let rules = Rules { sms_enabled: config.sms_enabled, opted_out: &opted_out, quarantined: &quarantined };
    let verdicts = eligibility::classify(&candidates, &rules);
    let history = if config.monthly_target.is_some() { load_history(db, settings, now).await? } else { HashMap::new() };

    // Rates per stratum, then the draw.
    let mut stratum_index: HashMap<(i64, i64), usize> = HashMap::new();
    let mut counts_by_index: Vec<StratumCounts> = Vec::new();
    let mut draws: Vec<Draw> = Vec::with_capacity(candidates.len());
    for (candidate, verdict) in candidates.iter().zip(verdicts) {
        let index = *stratum_index.entry((candidate.direction_id, candidate.channel_id)).or_insert_with(|| {
            let direction =
                directions.get(&candidate.direction_id).cloned().unwrap_or_else(|| candidate.direction_id.to_string());
            let channel =
                channels.get(&candidate.channel_id).cloned().unwrap_or_else(|| candidate.channel_id.to_string());
            let label = design::stratum_label(&direction, &channel);
            let (rate, source) = design::stratum_rate(config, &direction, &channel, history.get(&label));
            counts_by_index.push(StratumCounts {
                stratum: label,
                direction,
                channel,
                direction_id: candidate.direction_id,
                channel_id: candidate.channel_id,
                rate,
                rate_source: serde_json::to_value(source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                ..Default::default()
            });
            counts_by_index.len() - 1
        });
        let counts = &mut counts_by_index[index];
        counts.population += 1;
        let verdict = match verdict {
            Err(reason) => {
                *counts.excluded.entry(reason.as_str().to_owned()).or_default() += 1;
                Err(reason)
            }
            Ok(()) => {
                counts.eligible += 1;
                let drawn = design::uniform(seed, candidate.id) < counts.rate;
                if drawn {
                    counts.sampled += 1;
                }
                Ok(drawn)
            }
        };
        draws.push(Draw { request_id: candidate.id, stratum: index as u32, verdict });
    }
    drop(candidates);
    let decided_in = timer.elapsed() - read;

    let run = repo::sampling::NewRun {
        started_at,
        as_of: now,
        seed,
        dry_run: options.dry_run,
        parameters: serde_json::to_value(config).unwrap_or_default(),
    };
    let run_id = repo::sampling::start_run(db, run).await?;
    let mut sampled_request_ids = Vec::new();
    if !options.dry_run {
        let written = write_invitations(
            db,
            settings,
            clock,
            run_id,
            &counts_by_index,
            &mut draws,
            owner,
            &mut sampled_request_ids,
        )
        .await;
        if let Err(err) = written {
            let _ = repo::sampling::fail_run(db, run_id, clock.now(), crate::telemetry::error_chain(&err)).await;
            return Err(err.into());
        }
    } else {
        sampled_request_ids = draws.iter().filter(|d| d.verdict == Ok(true)).map(|d| d.request_id).collect();
    }

    let written_in = timer.elapsed() - read - decided_in;
    let (candidates, read_ms, decide_ms, write_ms) =
        (draws.len(), read.as_millis() as u64, decided_in.as_millis() as u64, written_in.as_millis() as u64);
    // Worth a line in the log when a run is slow (a back-fill, a large city); a routine run of a
    // few dozen requests every quarter of an hour is not.
    if timer.elapsed() >= std::time::Duration::from_secs(1) {
        tracing::info!(run = run_id, candidates, read_ms, decide_ms, write_ms, "sampling run timings");
    } else {
        tracing::debug!(run = run_id, candidates, read_ms, decide_ms, write_ms, "sampling run timings");
    }
    let mut strata = counts_by_index;
    strata.sort_by(|a, b| a.stratum.cmp(&b.stratum));
    let mut exclusions: BTreeMap<String, u64> = BTreeMap::new();
    for counts in &strata {
        for (reason, n) in &counts.excluded {
            *exclusions.entry(reason.clone()).or_default() += n;
        }
    }
    let population = strata.iter().map(|s| s.population).sum();
    let eligible = strata.iter().map(|s| s.eligible).sum();
    let sampled = strata.iter().map(|s| s.sampled).sum();
    let totals = RunTotals {
        status: if options.dry_run { RunStatus::DryRun } else { RunStatus::Completed },
        population,
        eligible,
        sampled,
        exclusions: serde_json::to_value(&exclusions).unwrap_or_default(),
        strata: serde_json::to_value(&strata).unwrap_or_default(),
    };
    repo::sampling::finish_run(db, run_id, clock.now(), totals).await?;
    Ok(RunReport {
        run_id,
        seed,
        as_of: now,
        dry_run: options.dry_run,
        population,
        eligible,
        sampled,
        exclusions,
        strata,
        sampled_request_ids,
    })
}

/// Writes the decisions in batches of `sampling.batch_size` requests, in request id order (the
/// ledger's key: appending in key order keeps its index writes local), each batch with its
/// invitations and outbox rows in one transaction.
#[allow(clippy::too_many_arguments)]
async fn write_invitations<C>(
    db: &C,
    settings: &Settings,
    clock: &Clock,
    run_id: i64,
    strata: &[StratumCounts],
    draws: &mut [Draw],
    owner: &str,
    sampled_request_ids: &mut Vec<i64>,
) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    // Reopened requests are not decided: they get their chance when they close again.
    draws.sort_unstable_by_key(|d| d.request_id);
    let decided: Vec<&Draw> =
        draws.iter().filter(|d| d.verdict.is_ok() || d.verdict.is_err_and(Exclusion::is_final)).collect();
    // Statistics refreshed each time the run has doubled the invitations it created (see
    // `refresh_planner_statistics`): a handful of times even for a hundred thousand.
    let mut invited = 0usize;
    let mut statistics_at = 1000usize;
    for batch in decided.chunks(settings.sampling.batch_size) {
        let invitations: Vec<repo::sampling::NewInvitation> = batch
            .iter()
            .filter(|d| d.verdict == Ok(true))
            .map(|draw| {
                let salt = TokenSalt::generate();
                let token = SurveyToken::derive(settings.token_key(), &salt);
                repo::sampling::NewInvitation {
                    service_request_id: draw.request_id,
                    stratum: draw.stratum,
                    token_hash: token.hash(),
                    token_salt: salt.as_str().to_owned(),
                }
            })
            .collect();
        let used: BTreeSet<u32> = invitations.iter().map(|i| i.stratum).collect();
        let batch_strata: Vec<repo::sampling::BatchStratum> = used
            .into_iter()
            .map(|index| {
                let counts = &strata[index as usize];
                repo::sampling::BatchStratum {
                    index,
                    direction_id: counts.direction_id,
                    channel_id: counts.channel_id,
                    label: &counts.stratum,
                    inclusion_probability: counts.rate,
                }
            })
            .collect();
        let decided_ids: Vec<i64> = batch.iter().map(|d| d.request_id).collect();
        let txn = crate::db::begin_write(db).await?;
        repo::sampling::write_batch(&txn, run_id, &batch_strata, &invitations, &decided_ids, clock.now()).await?;
        txn.commit().await?;
        sampled_request_ids.extend(invitations.iter().map(|i| i.service_request_id));
        repo::job_state::refresh_lease(db, LEASE, owner, clock.now()).await?;
        invited += invitations.len();
        if invited >= statistics_at {
            repo::sampling::refresh_planner_statistics(db).await?;
            statistics_at = invited * 2;
        }
    }
    Ok(())
}

/// What the adaptive rate learns from: eligible volume per month from the recent runs' records,
/// and the response rate of invitations old enough to have expired.
async fn load_history(
    db: &impl ConnectionTrait,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<HashMap<String, StratumHistory>, DbErr> {
    let config = &settings.sampling;
    let since = now - Duration::days(i64::from(config.adaptive_lookback_days));
    let runs = repo::sampling::completed_runs_since(db, since).await?;
    let mut history: HashMap<String, StratumHistory> = HashMap::new();
    if let Some(first) = runs.first() {
        let span_days = ((now - first.as_of).num_seconds() as f64 / 86_400.0).max(1.0);
        let mut eligible: HashMap<String, u64> = HashMap::new();
        for run in &runs {
            let strata: Vec<StratumCounts> = serde_json::from_value(run.strata.clone()).unwrap_or_default();
            for stratum in strata {
                *eligible.entry(stratum.stratum).or_default() += stratum.eligible;
            }
        }
        for (stratum, total) in eligible {
            history.entry(stratum).or_default().eligible_per_month = Some(total as f64 * 30.0 / span_days);
        }
    }
    let answered_by = now - Duration::days(i64::from(config.invitation_valid_days));
    for (stratum, (invitations, responses)) in repo::sampling::invitations_and_responses(db, since, answered_by).await?
    {
        let entry = history.entry(stratum).or_default();
        entry.invitations = invitations;
        entry.responses = responses;
    }
    Ok(history)
}

/// The run as a table, one line per stratum, for people (the CLI prints it, the log records it).
impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_report(self))
    }
}

impl std::fmt::Display for RunOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunOutcome::Completed(report) => report.fmt(f),
            RunOutcome::Skipped => f.write_str("another sampling run is in progress; nothing done\n"),
        }
    }
}

fn format_report(report: &RunReport) -> String {
    let mut out = format!(
        "sampling run {}{} as of {} (seed {}): population {}, eligible {}, sampled {}\n",
        report.run_id,
        if report.dry_run { " (dry run: nothing created)" } else { "" },
        report.as_of.to_rfc3339(),
        report.seed,
        report.population,
        report.eligible,
        report.sampled
    );
    out.push_str(&format!(
        "{:<28} {:>10} {:>9} {:>8} {:>7}  {}\n",
        "stratum", "population", "eligible", "sampled", "rate", "rate from"
    ));
    for s in &report.strata {
        out.push_str(&format!(
            "{:<28} {:>10} {:>9} {:>8} {:>7.4}  {}\n",
            s.stratum, s.population, s.eligible, s.sampled, s.rate, s.rate_source
        ));
    }
    if !report.exclusions.is_empty() {
        let reasons: Vec<String> = report.exclusions.iter().map(|(reason, n)| format!("{reason} {n}")).collect();
        out.push_str(&format!("excluded: {}\n", reasons.join(", ")));
    }
    out
}
