//! One dispatch pass: expire what is over, then claim due messages in batches, render and send
//! each (several at once), and record the batch's outcomes in one transaction.
//!
//! A dispatcher killed between claiming and recording leaves its messages `sending` with a lease
//! that runs out (`delivery.lease_secs`); the next pass claims them again and sends them with the
//! same `Message-ID`, so a copy that did leave is recognisable as the same message.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use lettre::message::Mailbox;
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

use super::message::{self, Content};
use super::transport::{SendError, SmsPayload, Transports};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::repo::outbox::{self, Claimed, MessageContext, Outcome};
use crate::domain::{Locale, SurveyToken, TokenSalt};
use crate::templates::Templates;

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DispatchReport {
    pub sent: u64,
    pub reminders_sent: u64,
    pub retried: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub expired: u64,
    /// The last errors of the failed messages (at most ten), for the operator.
    pub failures: Vec<String>,
}

impl std::fmt::Display for DispatchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "dispatch: {} invitation(s) sent, {} reminder(s) sent, {} to retry, {} failed, {} cancelled, {} invitation(s) expired",
            self.sent, self.reminders_sent, self.retried, self.failed, self.cancelled, self.expired
        )?;
        for failure in &self.failures {
            writeln!(f, "  failed: {failure}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("database error")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Transport(#[from] super::transport::TransportError),
    #[error("cannot load the message templates: {0}")]
    Templates(#[from] minijinja::Error),
}

pub struct Dispatcher {
    db: DatabaseConnection,
    settings: Arc<Settings>,
    clock: Clock,
    templates: Templates,
    transports: Transports,
    from: Mailbox,
}

/// What one claimed message needs to be sent, or why it will not be.
enum Plan {
    Email { to: String, content: Content },
    Sms { to: String, content: Content },
    Skip(Outcome, Option<&'static str>),
}

impl Dispatcher {
    pub fn new(db: DatabaseConnection, settings: Arc<Settings>, clock: Clock) -> Result<Dispatcher, DeliveryError> {
        let templates = Templates::load(&settings.templates_dir)?;
        let transports = Transports::from_settings(&settings.delivery)?;
        let from: Mailbox = settings.delivery.from.parse().expect("validated with the settings");
        Ok(Dispatcher { db, settings, clock, templates, transports, from })
    }

    /// One pass: expire, then send everything due.
    pub async fn pass(&self) -> Result<DispatchReport, DeliveryError> {
        let delivery = &self.settings.delivery;
        let mut report = DispatchReport::default();
        let txn = crate::db::begin_write(&self.db).await?;
        report.expired = outbox::expire(&txn, self.clock.now()).await?;
        txn.commit().await?;
        loop {
            let now = self.clock.now();
            let lease_until = now + Duration::seconds(delivery.lease_secs as i64);
            let txn = crate::db::begin_write(&self.db).await?;
            let claimed = outbox::claim(&txn, now, lease_until, delivery.batch_size).await?;
            txn.commit().await?;
            if claimed.is_empty() {
                break;
            }
            let full = claimed.len() as u32 == delivery.batch_size;
            self.send_batch(claimed, &mut report).await?;
            if !full {
                break;
            }
        }
        Ok(report)
    }

    async fn send_batch(&self, claimed: Vec<Claimed>, report: &mut DispatchReport) -> Result<(), DeliveryError> {
        let ids: Vec<i64> = claimed.iter().map(|c| c.invitation_id).collect();
        let contexts: HashMap<i64, MessageContext> =
            outbox::contexts(&self.db, &ids).await?.into_iter().map(|c| (c.invitation_id, c)).collect();
        let now = self.clock.now();
        let mut opted_out = Vec::new();
        let planned: Vec<(Claimed, Plan)> = claimed
            .into_iter()
            .map(|c| {
                let plan = self.plan(&c, contexts.get(&c.invitation_id), now);
                if let Plan::Skip(_, Some("opted_out")) = plan {
                    opted_out.push(c.invitation_id);
                }
                (c, plan)
            })
            .collect();
        let outcomes: Vec<(Claimed, Outcome)> = futures_util::stream::iter(planned)
            .map(|(claimed, plan)| async move {
                let outcome = self.send(&claimed, plan, now).await;
                (claimed, outcome)
            })
            .buffer_unordered(self.settings.delivery.concurrency)
            .collect()
            .await;
        for (claimed, outcome) in &outcomes {
            match outcome {
                Outcome::Sent if claimed.kind == "reminder" => report.reminders_sent += 1,
                Outcome::Sent => report.sent += 1,
                Outcome::Retry { .. } => report.retried += 1,
                Outcome::Failed { error } => {
                    report.failed += 1;
                    if report.failures.len() < 10 {
                        report.failures.push(format!("message {} ({}): {error}", claimed.id, claimed.kind));
                    }
                }
                Outcome::Cancelled { .. } => report.cancelled += 1,
            }
        }
        let sent_at = self.clock.now();
        let delivery = &self.settings.delivery;
        let expires_at = sent_at + Duration::days(i64::from(self.settings.sampling.invitation_valid_days));
        let reminder_at = Some(sent_at + Duration::days(i64::from(delivery.reminder_after_days)))
            .filter(|at| delivery.reminder_after_days > 0 && *at < expires_at);
        let txn = crate::db::begin_write(&self.db).await?;
        outbox::end_invitations(&txn, &opted_out, "opted_out").await?;
        outbox::record(&txn, &outcomes, sent_at, expires_at, reminder_at).await?;
        txn.commit().await?;
        Ok(())
    }

    /// What to send for `claimed`, or why nothing will be.
    fn plan(&self, claimed: &Claimed, context: Option<&MessageContext>, now: DateTime<Utc>) -> Plan {
        let skip = |reason: String| Plan::Skip(Outcome::Cancelled { reason }, None);
        let fail = |error: String| Plan::Skip(Outcome::Failed { error }, None);
        let Some(context) = context else { return skip("the invitation no longer exists".into()) };
        if context.opted_out {
            return Plan::Skip(Outcome::Cancelled { reason: "the contact opted out".into() }, Some("opted_out"));
        }
        let open = match claimed.kind.as_str() {
            "reminder" => context.state == "sent",
            _ => context.state == "pending",
        };
        if !open {
            return skip(format!("the invitation is {}", context.state));
        }
        let token = match (&claimed.survey_link, &context.token_salt) {
            (Some(link), _) => link.rsplit('/').next().and_then(SurveyToken::parse),
            (None, Some(salt)) => Some(SurveyToken::derive(self.settings.token_key(), &TokenSalt::from_stored(salt))),
            (None, None) => None,
        };
        let Some(token) = token.filter(|t| t.hash() == context.token_hash) else {
            return fail("the survey link cannot be rebuilt (was delivery.token_key or secret_key changed?)".into());
        };
        let expires_at = match claimed.kind.as_str() {
            "reminder" => context.expires_at.unwrap_or(now),
            _ => now + Duration::days(i64::from(self.settings.sampling.invitation_valid_days)),
        };
        let content = Content {
            locale: Locale::parse(&context.locale).unwrap_or_default(),
            reminder: claimed.kind == "reminder",
            city: self.settings.delivery.city_name.clone(),
            reference: context.crm_id.clone(),
            subject: context.service_name.clone().or_else(|| context.service_code.clone()),
            link: self.settings.public_url(&format!("/s/{}", token.as_str())),
            opt_out_link: self.settings.public_url(&format!("/opt-out/{}", token.as_str())),
            expires_at,
        };
        match (&context.contact_email, &context.contact_phone) {
            (Some(email), _) => Plan::Email { to: email.clone(), content },
            (None, Some(phone)) if self.settings.sampling.sms_enabled => Plan::Sms { to: phone.clone(), content },
            _ => fail("no usable contact (e-mail, or phone with sampling.sms_enabled)".into()),
        }
    }

    async fn send(&self, claimed: &Claimed, plan: Plan, now: DateTime<Utc>) -> Outcome {
        let name = format!("outbox-{}", claimed.id);
        let message_id = message::message_id(claimed.id, claimed.invitation_id, &self.from);
        let zone = self.settings.time_zone;
        let result = match plan {
            Plan::Skip(outcome, _) => return outcome,
            Plan::Email { to, content } => {
                let built = message::render(&self.templates, &content, zone)
                    .and_then(|rendered| message::email(rendered, &self.from, &to, message_id, &content, now));
                match built {
                    Ok(email) => self.transports.send_email(&email, &name).await,
                    Err(error) => Err(SendError::Permanent(error.to_string())),
                }
            }
            Plan::Sms { to, content } => match message::render_sms(&self.templates, &content, zone) {
                Ok(body) => {
                    self.transports.send_sms(&SmsPayload { to: &to, body: &body, message_id: &message_id }, &name).await
                }
                Err(error) => Err(SendError::Permanent(error.to_string())),
            },
        };
        let result = result.map_err(|error| match error {
            SendError::Permanent(text) => SendError::Permanent(without_addresses(&text)),
            SendError::Temporary(text) => SendError::Temporary(without_addresses(&text)),
        });
        match result {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(error)) => Outcome::Failed { error },
            Err(SendError::Temporary(error)) if claimed.attempts >= self.settings.delivery.max_attempts as i32 => {
                Outcome::Failed { error: format!("{error} (after {} attempts)", claimed.attempts) }
            }
            Err(SendError::Temporary(error)) => Outcome::Retry { at: now + self.backoff(claimed.attempts), error },
        }
    }

    /// retry_base · 2^(attempt − 1), with ±50 % jitter so that failures do not retry in step.
    fn backoff(&self, attempts: i32) -> Duration {
        let base = self.settings.delivery.retry_base_secs as f64 * 2f64.powi((attempts - 1).clamp(0, 16));
        let jitter: f64 = 0.5 + rand::random::<f64>();
        Duration::milliseconds((base * jitter * 1000.0) as i64)
    }
}

/// An error text as kept in the outbox: servers often echo the recipient ("<jean@…>: mailbox
/// unknown"), which would outlive the purge of contacts. Every word holding an `@` is replaced.
fn without_addresses(text: &str) -> String {
    text.split(' ').map(|word| if word.contains('@') { "<address>" } else { word }).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_no_address() {
        assert_eq!(
            without_addresses("SMTP 550: 5.1.1 <jean.tremblay@courriel.example>: Recipient unknown"),
            "SMTP 550: 5.1.1 <address> Recipient unknown"
        );
    }
}
