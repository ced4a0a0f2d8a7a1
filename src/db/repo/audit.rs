use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect};

use crate::db::entities::audit_log;

/// Append one line to the audit log. `actor` is "cli", "scheduler", "user:ID" or "api_key:ID".
pub async fn record(
    db: &impl ConnectionTrait,
    at: chrono::DateTime<chrono::Utc>,
    actor: &str,
    action: &str,
    subject: Option<String>,
    details: Option<serde_json::Value>,
) -> Result<(), DbErr> {
    audit_log::ActiveModel {
        at: Set(at),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        subject: Set(subject),
        details: Set(details),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The newest `limit` lines of the audit log, newest first.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<audit_log::Model>, DbErr> {
    audit_log::Entity::find().order_by_desc(audit_log::Column::Id).limit(limit).all(db).await
}
