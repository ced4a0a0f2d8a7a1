//! The citizen's survey: finding the invitation a link belongs to, and storing its one response
//! (with its roll-up cells, the invitation answered, and a follow-up item when management should
//! call back), all in one transaction. No HTTP here.

pub mod questionnaire;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, TransactionSession, TransactionTrait};

use crate::db::{entities::response, sql::Params};
use crate::domain::{Locale, SurveyToken};
use questionnaire::{Answer, Answers, Questionnaire};

/// The purpose of the survey form's token (`domain::survey_token::form_token`).
pub const FORM_PURPOSE: &str = "survey-form";

/// What a survey link leads to.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Invitation {
    pub invitation_id: i64,
    pub state: String,
    pub locale: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub inclusion_probability: f64,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    pub crm_id: String,
    pub service_name: Option<String>,
    pub service_code: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It can be answered.
    Open,
    /// It was answered.
    Answered,
    /// Expired, opted out, or its delivery failed: it can no longer be answered.
    Closed,
}

impl Invitation {
    pub fn status(&self, now: DateTime<Utc>) -> Status {
        match self.state.as_str() {
            "answered" => Status::Answered,
            "pending" | "sent" if self.expires_at.is_none_or(|at| at > now) => Status::Open,
            _ => Status::Closed,
        }
    }

    pub fn locale(&self) -> Locale {
        Locale::parse(&self.locale).unwrap_or_default()
    }

    /// What the request was about, as the survey names it (no personal data).
    pub fn subject(&self) -> Option<&str> {
        self.service_name.as_deref().or(self.service_code.as_deref())
    }
}

/// The invitation of a link, if it is one. A malformed token costs the same single indexed
/// look-up as a well-formed one (no timing oracle).
pub async fn find(db: &impl ConnectionTrait, raw_token: &str) -> Result<Option<Invitation>, DbErr> {
    let hash = SurveyToken::parse(raw_token).map(|t| t.hash()).unwrap_or_default();
    let mut params = Params::new(db.get_database_backend());
    let sql = format!(
        "SELECT i.id AS invitation_id, i.state, i.locale, i.expires_at, i.inclusion_probability, i.direction_id, \
         i.channel_id, i.stratum, r.crm_id, r.service_name, r.service_code, r.closed_at \
         FROM invitations i JOIN service_requests r ON r.id = i.service_request_id WHERE i.token_hash = {}",
        params.bind(hash)
    );
    Invitation::find_by_statement(params.statement(sql)).one(db).await
}

/// The questionnaire citizens answer now.
pub async fn active_questionnaire(db: &impl ConnectionTrait) -> Result<Questionnaire, DbErr> {
    use crate::db::entities::questionnaire;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let row = questionnaire::Entity::find()
        .filter(questionnaire::Column::Active.eq(true))
        .order_by_desc(questionnaire::Column::Version)
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no active questionnaire".into()))?;
    let definition = serde_json::from_value(row.definition)
        .map_err(|e| DbErr::Custom(format!("questionnaire version {} does not parse: {e}", row.version)))?;
    Ok(Questionnaire { version: row.version, definition })
}

/// The active questionnaire, read again at most once a minute: every page view and submission
/// needs it, and it changes only when a new version is made active (seen within a minute).
#[derive(Default)]
pub struct QuestionnaireCache {
    cached: std::sync::RwLock<Option<(DateTime<Utc>, std::sync::Arc<Questionnaire>)>>,
}

impl QuestionnaireCache {
    pub async fn get(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<std::sync::Arc<Questionnaire>, DbErr> {
        let fresh = |at: &DateTime<Utc>| now - *at < chrono::Duration::minutes(1) && *at <= now;
        if let Some((at, questionnaire)) = self.cached.read().unwrap_or_else(|p| p.into_inner()).as_ref()
            && fresh(at)
        {
            return Ok(questionnaire.clone());
        }
        let questionnaire = std::sync::Arc::new(active_questionnaire(db).await?);
        *self.cached.write().unwrap_or_else(|p| p.into_inner()) = Some((now, questionnaire.clone()));
        Ok(questionnaire)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The invitation already has its response (a second submission, a double click).
    #[error("this survey was already answered")]
    AlreadyAnswered,
    #[error("database error")]
    Db(#[from] DbErr),
}

/// When management calls back: a score at or below `max_score` with a comment, or an outcome "no".
pub fn follow_up_reason(answers: &Answers, max_score: u8) -> Option<&'static str> {
    let low = matches!(answers.get("overall"), Some(Answer::Score(s)) if *s <= max_score)
        && matches!(answers.get("comment"), Some(Answer::Text(t)) if !t.is_empty());
    if low {
        Some("low_score")
    } else if matches!(answers.get("outcome"), Some(Answer::Choice(c)) if c == "no") {
        Some("outcome_no")
    } else {
        None
    }
}

/// The response row of validated answers: direction, channel, stratum and weight (1/π) from the
/// invitation, the request's closing instant (its weighting class), the questionnaire's version.
pub fn response_row(
    invitation: &Invitation,
    questionnaire: &Questionnaire,
    answers: &Answers,
    now: DateTime<Utc>,
) -> response::Model {
    let score = |id: &str| match answers.get(id) {
        Some(Answer::Score(s)) => Some(i16::from(*s)),
        _ => None,
    };
    let mut extra = serde_json::Map::new();
    for (id, answer) in answers {
        let value = match answer {
            Answer::Choice(c) => serde_json::Value::from(c.as_str()),
            Answer::NotApplicable => serde_json::Value::from(questionnaire::NOT_APPLICABLE),
            _ => continue,
        };
        extra.insert(id.clone(), value);
    }
    response::Model {
        id: 0,
        invitation_id: Some(invitation.invitation_id),
        external_id: None,
        questionnaire_version: Some(questionnaire.version),
        overall_score: score("overall").unwrap_or_default(),
        score_timeliness: score("timeliness"),
        score_courtesy: score("courtesy"),
        score_competence: score("competence"),
        score_clarity: score("clarity"),
        score_fairness: score("fairness"),
        answers: Some(serde_json::Value::Object(extra)),
        comment: match answers.get("comment") {
            Some(Answer::Text(t)) => Some(t.clone()),
            _ => None,
        },
        follow_up_requested: matches!(answers.get("follow_up"), Some(Answer::Checked(true))),
        completion: if questionnaire.is_complete(answers) { "complete" } else { "partial" }.into(),
        source: "survey".into(),
        submitted_at: now,
        direction_id: invitation.direction_id,
        channel_id: invitation.channel_id,
        stratum: invitation.stratum.clone(),
        weight: 1.0 / invitation.inclusion_probability,
        request_closed_at: invitation.closed_at,
        created_at: now,
    }
}

/// Store the one response of an invitation: the row and its roll-up cells, the invitation
/// answered (its reminder cancelled), and a follow-up item when `reason` says so — one
/// transaction. The database's unique index on `responses.invitation_id` decides between two
/// submissions at once: the second is `AlreadyAnswered` and changes nothing.
pub async fn submit<C>(
    db: &C,
    zone: chrono_tz::Tz,
    row: response::Model,
    follow_up: Option<&str>,
) -> Result<response::Model, SubmitError>
where
    C: ConnectionTrait + TransactionTrait,
{
    let _gate = crate::db::sqlite_write_gate(db).await;
    let txn = crate::db::begin_write(db).await?;
    let stored = match crate::responses::store::insert(&txn, zone, row).await {
        Ok(stored) => stored,
        Err(err) if crate::db::is_unique_violation(&err) => return Err(SubmitError::AlreadyAnswered),
        Err(err) => return Err(err.into()),
    };
    if let Some(reason) = follow_up {
        let mut params = Params::new(txn.get_database_backend());
        let sql = format!(
            "INSERT INTO follow_ups (response_id, direction_id, channel_id, reason, contact_requested, status, \
             created_at, updated_at) VALUES ({}, {}, {}, {}, {}, 'todo', {}, {})",
            params.bind(stored.id),
            params.bind(stored.direction_id),
            params.bind(stored.channel_id),
            params.bind(reason),
            params.bind(stored.follow_up_requested),
            params.bind(stored.submitted_at),
            params.bind(stored.submitted_at)
        );
        txn.execute_raw(params.statement(sql)).await?;
    }
    txn.commit().await?;
    Ok(stored)
}
