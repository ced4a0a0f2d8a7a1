//! The purge of personal data whose purpose is served (Québec's Loi 25): contact e-mail and phone
//! of requests whose survey is over, old kept ingestion errors (their raw input holds contacts),
//! and any survey link left in the outbox. The keyed contact hash stays, so the quarantine and
//! opt-out rules keep working.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr};

use crate::db::sql::Params;

/// Erase the contact e-mail and phone of requests whose survey is over and whose last event —
/// closing, or the end of their survey (answer, expiry, last send) — is before `cutoff`: closed
/// requests without an open invitation, and cancelled or duplicate ones (never surveyed).
/// A closed request never invited must also be older than `unsampled_cutoff` (past the sampling
/// window: it will never be). Returns how many requests.
pub async fn erase_contacts(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    unsampled_cutoff: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let greatest = if backend == DbBackend::Postgres { "GREATEST" } else { "MAX" };
    let mut params = Params::new(backend);
    let at = params.bind(now);
    let (closed_before, invitation_before, unsampled_before, updated_before) =
        (params.bind(cutoff), params.bind(cutoff), params.bind(unsampled_cutoff), params.bind(cutoff));
    let sql = format!(
        "UPDATE service_requests SET contact_email = NULL, contact_phone = NULL, personal_data_purged_at = {at} \
         WHERE (contact_email IS NOT NULL OR contact_phone IS NOT NULL) AND ( \
           (status = 'closed' AND closed_at < {closed_before} AND NOT EXISTS ( \
              SELECT 1 FROM invitations i WHERE i.service_request_id = service_requests.id AND ( \
                i.state IN ('pending', 'sent') OR {greatest}(i.created_at, COALESCE(i.sent_at, i.created_at), \
                COALESCE(i.reminded_at, i.created_at), COALESCE(i.responded_at, i.created_at), \
                CASE WHEN i.state = 'expired' THEN COALESCE(i.expires_at, i.created_at) ELSE i.created_at END) \
                >= {invitation_before})) \
              AND (closed_at < {unsampled_before} OR EXISTS ( \
                SELECT 1 FROM invitations j WHERE j.service_request_id = service_requests.id))) \
           OR (status IN ('cancelled', 'duplicate') AND updated_at < {updated_before}))"
    );
    Ok(db.execute_raw(params.statement(sql)).await?.rows_affected())
}

/// Delete kept ingestion errors received before `cutoff`; returns how many.
pub async fn delete_ingestion_errors(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<u64, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!("DELETE FROM ingestion_errors WHERE received_at < {}", params.bind(cutoff));
    Ok(db.execute_raw(params.statement(sql)).await?.rows_affected())
}

/// Erase survey links an older version stored in the outbox, for messages no longer to be sent.
pub async fn erase_outbox_links(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Ok(db
        .execute_unprepared(
            "UPDATE outbox SET survey_link = NULL WHERE survey_link IS NOT NULL AND (state IN ('sent', 'failed', \
             'cancelled') OR invitation_id IN (SELECT id FROM invitations WHERE state NOT IN ('pending', 'sent')))",
        )
        .await?
        .rows_affected())
}

/// Delete failed-login records and ended or expired sessions from before `cutoff`, and erase the
/// details (the e-mail typed, the client address) of login entries of the audit log as old — the
/// entries themselves (who, what, when) stay. Returns (records deleted, audit entries erased).
pub async fn erase_login_traces(db: &impl ConnectionTrait, cutoff: DateTime<Utc>) -> Result<(u64, u64), DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!("DELETE FROM login_failures WHERE at < {}", params.bind(cutoff));
    let failures = db.execute_raw(params.statement(sql)).await?.rows_affected();
    let mut params = Params::new(db.get_database_backend());
    let (ended, expired) = (params.bind(cutoff), params.bind(cutoff));
    let sql = format!("DELETE FROM sessions WHERE ended_at < {ended} OR expires_at < {expired}");
    let sessions = db.execute_raw(params.statement(sql)).await?.rows_affected();
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "UPDATE audit_log SET details = NULL WHERE action LIKE 'login.%' AND details IS NOT NULL AND at < {}",
        params.bind(cutoff)
    );
    let audit = db.execute_raw(params.statement(sql)).await?.rows_affected();
    Ok((failures + sessions, audit))
}
