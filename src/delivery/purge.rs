//! `satisfaction purge` and the daily retention job: personal data whose purpose is served is
//! erased, each purge leaving an audit-log row with its counts.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

use crate::config::Settings;
use crate::db::repo;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PurgeReport {
    /// Requests whose contact e-mail and phone were erased.
    pub contacts_erased: u64,
    pub ingestion_errors_deleted: u64,
    pub outbox_links_erased: u64,
    /// Messages written by the file transports (their bodies name the recipient) deleted.
    pub message_files_deleted: u64,
    /// Failed-login records and old sessions deleted.
    pub login_records_deleted: u64,
    /// Login entries of the audit log whose details (e-mail typed, address) were erased.
    pub audit_details_erased: u64,
}

impl std::fmt::Display for PurgeReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "purge: contacts of {} request(s) erased, {} ingestion error(s) deleted, {} stored link(s) erased, \
             {} message file(s) deleted, {} login record(s) deleted, {} login audit entr(ies) anonymised",
            self.contacts_erased,
            self.ingestion_errors_deleted,
            self.outbox_links_erased,
            self.message_files_deleted,
            self.login_records_deleted,
            self.audit_details_erased
        )
    }
}

pub async fn purge(
    db: &DatabaseConnection,
    settings: &Settings,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<PurgeReport, DbErr> {
    let retention = &settings.retention;
    let contacts_cutoff = now - Duration::days(i64::from(retention.contact_days));
    let errors_cutoff = now - Duration::days(i64::from(retention.ingestion_error_days));
    // A closed request not yet sampled may still be, until it is older than the sampling window.
    let sampling = &settings.sampling;
    let window =
        Duration::days(i64::from(sampling.max_age_days)) + Duration::minutes(i64::from(sampling.delay_minutes));
    let unsampled_cutoff = contacts_cutoff.min(now - window);
    let txn = crate::db::begin_write(db).await?;
    let mut report = PurgeReport {
        contacts_erased: repo::retention::erase_contacts(&txn, contacts_cutoff, unsampled_cutoff, now).await?,
        ingestion_errors_deleted: repo::retention::delete_ingestion_errors(&txn, errors_cutoff).await?,
        outbox_links_erased: repo::retention::erase_outbox_links(&txn).await?,
        message_files_deleted: 0,
        login_records_deleted: 0,
        audit_details_erased: 0,
    };
    let security_cutoff = now - Duration::days(i64::from(retention.security_log_days));
    (report.login_records_deleted, report.audit_details_erased) =
        repo::retention::erase_login_traces(&txn, security_cutoff).await?;
    report.message_files_deleted = delete_message_files(&settings.delivery.file_dir, contacts_cutoff);
    repo::audit::record(
        &txn,
        now,
        actor,
        "retention.purge",
        None,
        Some(serde_json::to_value(&report).unwrap_or_default()),
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

/// Delete the file transports' messages last written before `cutoff` (a missing folder is
/// nothing to delete).
fn delete_message_files(dir: &Path, cutoff: DateTime<Utc>) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let cutoff = std::time::SystemTime::from(cutoff);
    let mut deleted = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_message = name.starts_with("outbox-") && (name.ends_with(".eml") || name.ends_with(".sms.json"));
        let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|modified| modified < cutoff);
        if is_message && old && std::fs::remove_file(entry.path()).is_ok() {
            deleted += 1;
        }
    }
    deleted
}
