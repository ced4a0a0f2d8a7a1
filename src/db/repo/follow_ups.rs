//! `follow_ups`: the low scores and "no" outcomes management calls back about.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};

use crate::db::sql::Params;

/// The states a follow-up moves through.
pub const STATUSES: [&str; 3] = ["todo", "in_progress", "done"];

#[derive(Debug, Clone, FromQueryResult, serde::Serialize)]
pub struct FollowUpRow {
    pub id: i64,
    pub reason: String,
    pub status: String,
    pub contact_requested: bool,
    pub note: Option<String>,
    pub assignee_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub overall_score: i16,
    pub comment: Option<String>,
    pub direction: String,
    pub channel: String,
    /// The request's CRM reference (staff find the citizen in the CRM: no contact data here).
    pub crm_id: Option<String>,
}

/// Follow-ups, newest first, of one status and one direction (by code) when given.
pub async fn list(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    direction: Option<&str>,
    limit: u64,
) -> Result<Vec<FollowUpRow>, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let mut filters = Vec::new();
    if let Some(status) = status {
        filters.push(format!("f.status = {}", params.bind(status)));
    }
    if let Some(code) = direction {
        filters.push(format!("d.code = {}", params.bind(code)));
    }
    let filter = if filters.is_empty() { String::new() } else { format!("WHERE {}", filters.join(" AND ")) };
    let sql = format!(
        "SELECT f.id, f.reason, f.status, f.contact_requested, f.note, f.assignee_id, f.created_at, r.overall_score, \
         r.comment, d.code AS direction, c.code AS channel, sr.crm_id FROM follow_ups f \
         JOIN responses r ON r.id = f.response_id JOIN directions d ON d.id = f.direction_id \
         JOIN channels c ON c.id = f.channel_id LEFT JOIN invitations i ON i.id = r.invitation_id \
         LEFT JOIN service_requests sr ON sr.id = i.service_request_id {filter} \
         ORDER BY f.created_at DESC, f.id DESC LIMIT {}",
        params.bind(limit as i64)
    );
    FollowUpRow::find_by_statement(params.statement(sql)).all(db).await
}

/// How many follow-ups per status (of one direction when given).
pub async fn counts(db: &impl ConnectionTrait, direction: Option<&str>) -> Result<Vec<(String, i64)>, DbErr> {
    #[derive(FromQueryResult)]
    struct Row {
        status: String,
        n: i64,
    }
    let mut params = Params::new(db.get_database_backend());
    let filter = direction.map(|code| format!("WHERE d.code = {}", params.bind(code))).unwrap_or_default();
    let sql = format!(
        "SELECT f.status, COUNT(*) AS n FROM follow_ups f JOIN directions d ON d.id = f.direction_id {filter} \
         GROUP BY f.status"
    );
    Ok(Row::find_by_statement(params.statement(sql)).all(db).await?.into_iter().map(|r| (r.status, r.n)).collect())
}

/// The direction (code) of a follow-up, to check a scoped user's right to change it.
pub async fn direction_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<String>, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT d.code FROM follow_ups f JOIN directions d ON d.id = f.direction_id WHERE f.id = {}",
        params.bind(id)
    );
    db.query_one_raw(params.statement(sql)).await?.map(|r| r.try_get_by_index::<String>(0)).transpose()
}

pub async fn update(
    db: &impl ConnectionTrait,
    id: i64,
    status: &str,
    assignee_id: Option<i64>,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "UPDATE follow_ups SET status = {}, assignee_id = {}, note = {}, updated_at = {} WHERE id = {}",
        params.bind(status),
        params.bind(assignee_id),
        params.bind(note.map(str::to_owned)),
        params.bind(at),
        params.bind(id)
    );
    Ok(db.execute_raw(params.statement(sql)).await?.rows_affected())
}
