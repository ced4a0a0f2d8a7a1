//! Opting out from a survey link: the contact (by its keyed hash) is never sampled or reminded
//! again, and every open invitation of theirs ends. Unknown tokens are answered like known ones
//! (the same page, after the same single lookup), so the page tells nothing about which links
//! exist.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

use crate::db::repo::outbox;
use crate::domain::{Locale, SurveyToken};

/// The purpose of the opt-out page's form token (`domain::survey_token::form_token`).
pub const FORM_PURPOSE: &str = "opt-out-form";

/// What the opt-out page knows of a link: the language of its invitation, if it is one.
pub async fn locale_of(db: &impl ConnectionTrait, raw_token: &str) -> Result<Option<Locale>, DbErr> {
    let hash = SurveyToken::parse(raw_token).map(|t| t.hash()).unwrap_or_default();
    Ok(outbox::find_by_token_hash(db, &hash).await?.and_then(|owner| Locale::parse(&owner.locale)))
}

/// Record the opt-out of the link's contact (idempotent); unknown links do nothing.
pub async fn opt_out<C>(db: &C, raw_token: &str, source: &str, now: DateTime<Utc>) -> Result<(), DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let hash = SurveyToken::parse(raw_token).map(|t| t.hash()).unwrap_or_default();
    let Some(owner) = outbox::find_by_token_hash(db, &hash).await? else { return Ok(()) };
    let txn = crate::db::begin_write(db).await?;
    match &owner.contact_hash {
        Some(contact_hash) => {
            outbox::opt_out(&txn, contact_hash, source, now).await?;
        }
        None => {
            outbox::end_invitations(&txn, &[owner.invitation_id], "opted_out").await?;
        }
    }
    txn.commit().await
}
