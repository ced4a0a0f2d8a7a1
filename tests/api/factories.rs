//! Factories: the rows tests need (requests, invitations, responses, runs), with sensible
//! defaults changed by struct update, so no test builds a row field by field. They write
//! straight to the tables, as a test of a constraint or a job's input needs; storing a response
//! the way the product does goes through `satisfaction::responses::store`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use satisfaction::db::entities::{channel, invitation, opt_out, response, sampling_run, service_request};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};

/// Directions registered for a test, and the seeded channels, by code.
pub struct Reference {
    pub directions: HashMap<String, i64>,
    pub channels: HashMap<String, i64>,
}

impl Reference {
    /// Registers the given direction codes (named after themselves).
    pub async fn with_directions(db: &DatabaseConnection, codes: &[&str]) -> Reference {
        for code in codes {
            satisfaction::db::repo::directions::insert(db, code, code, code, Utc::now()).await.unwrap();
        }
        Reference::load(db).await
    }

    /// The directions registered so far (by an import, say) and the seeded channels.
    pub async fn load(db: &DatabaseConnection) -> Reference {
        let directions =
            satisfaction::db::repo::directions::list(db).await.unwrap().into_iter().map(|d| (d.code, d.id)).collect();
        let channels = channel::Entity::find().all(db).await.unwrap().into_iter().map(|c| (c.code, c.id)).collect();
        Reference { directions, channels }
    }

    pub fn direction(&self, code: &str) -> i64 {
        self.directions[code]
    }

    pub fn channel(&self, code: &str) -> i64 {
        self.channels[code]
    }
}

/// A service request as a test describes it.
#[derive(Clone)]
pub struct RequestRow {
    pub crm: String,
    pub direction: &'static str,
    pub channel: &'static str,
    pub status: &'static str,
    pub closed_at: DateTime<Utc>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub hash: Option<String>,
    pub service_code: &'static str,
    pub locale: &'static str,
}

impl RequestRow {
    /// Closed at `closed_at`, TP by phone, with an e-mail contact and its own contact hash.
    pub fn closed(crm: &str, closed_at: DateTime<Utc>) -> RequestRow {
        RequestRow {
            crm: crm.into(),
            direction: "TP",
            channel: "phone",
            status: "closed",
            closed_at,
            email: Some(format!("{crm}@ville.example")),
            phone: None,
            hash: Some(format!("hash-{crm}")),
            service_code: "NP",
            locale: "fr",
        }
    }

    fn active_model(&self, reference: &Reference) -> service_request::ActiveModel {
        service_request::ActiveModel {
            crm_id: Set(self.crm.clone()),
            direction_id: Set(reference.direction(self.direction)),
            channel_id: Set(reference.channel(self.channel)),
            service_code: Set(Some(self.service_code.into())),
            status: Set(self.status.into()),
            closed_at: Set(Some(self.closed_at)),
            contact_email: Set(self.email.clone()),
            contact_phone: Set(self.phone.clone()),
            contact_hash: Set(self.hash.clone()),
            locale: Set(self.locale.into()),
            source: Set("api".into()),
            created_at: Set(self.closed_at),
            updated_at: Set(self.closed_at),
            ..Default::default()
        }
    }
}

/// Insert one request; the database's verdict is the caller's to check.
pub async fn insert_request(
    db: &DatabaseConnection,
    reference: &Reference,
    row: &RequestRow,
) -> Result<service_request::Model, DbErr> {
    row.active_model(reference).insert(db).await
}

/// Insert many requests, 500 to a statement.
pub async fn insert_requests(db: &DatabaseConnection, reference: &Reference, rows: &[RequestRow]) {
    for chunk in rows.chunks(500) {
        let models: Vec<service_request::ActiveModel> = chunk.iter().map(|r| r.active_model(reference)).collect();
        service_request::Entity::insert_many(models).exec_without_returning(db).await.unwrap();
    }
}

/// An invitation as a test describes it.
#[derive(Clone)]
pub struct InvitationRow {
    pub request_id: i64,
    pub direction_id: i64,
    pub channel_id: i64,
    pub stratum: String,
    pub probability: f64,
    pub state: &'static str,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The request's language.
    pub locale: String,
}

impl InvitationRow {
    /// A pending invitation of `request` in its own stratum ("DIR:channel" codes are the caller's).
    pub fn of(request: &service_request::Model, stratum: &str, probability: f64, created_at: DateTime<Utc>) -> Self {
        InvitationRow {
            request_id: request.id,
            direction_id: request.direction_id,
            channel_id: request.channel_id,
            stratum: stratum.into(),
            probability,
            state: "pending",
            token_hash: format!("token-{}", request.id),
            created_at,
            sent_at: None,
            expires_at: None,
            locale: request.locale.clone(),
        }
    }
}

pub async fn insert_invitation(db: &DatabaseConnection, row: InvitationRow) -> Result<invitation::Model, DbErr> {
    invitation::ActiveModel {
        service_request_id: Set(row.request_id),
        token_hash: Set(row.token_hash),
        direction_id: Set(row.direction_id),
        channel_id: Set(row.channel_id),
        stratum: Set(row.stratum),
        inclusion_probability: Set(row.probability),
        state: Set(row.state.into()),
        locale: Set(row.locale),
        created_at: Set(row.created_at),
        sent_at: Set(row.sent_at),
        expires_at: Set(row.expires_at),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// A complete survey response of `score`, weight `weight`, submitted at `submitted_at`.
pub fn response_row(
    direction_id: i64,
    channel_id: i64,
    stratum: &str,
    score: i16,
    weight: f64,
    submitted_at: DateTime<Utc>,
) -> response::Model {
    response::Model {
        id: 0,
        invitation_id: None,
        external_id: None,
        questionnaire_version: None,
        overall_score: score,
        score_timeliness: None,
        score_courtesy: None,
        score_competence: None,
        score_clarity: None,
        score_fairness: None,
        answers: None,
        comment: None,
        follow_up_requested: false,
        completion: "complete".into(),
        source: "survey".into(),
        submitted_at,
        direction_id,
        channel_id,
        stratum: stratum.into(),
        weight,
        request_closed_at: None,
        created_at: submitted_at,
    }
}

/// Write a response row as it is, without the roll-up (for constraint tests).
pub async fn insert_response(db: &DatabaseConnection, row: response::Model) -> Result<response::Model, DbErr> {
    satisfaction::db::repo::responses::insert(db, row).await
}

/// A completed sampling run recorded at `as_of`, with the given per-stratum figures.
pub async fn insert_completed_run(db: &DatabaseConnection, as_of: DateTime<Utc>, strata: serde_json::Value) -> i64 {
    sampling_run::ActiveModel {
        started_at: Set(as_of),
        as_of: Set(as_of),
        finished_at: Set(Some(as_of)),
        seed: Set(1),
        dry_run: Set(false),
        status: Set("completed".into()),
        parameters: Set(serde_json::json!({})),
        exclusions: Set(serde_json::json!({})),
        strata: Set(strata),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// A contact that opted out.
pub async fn insert_opt_out(db: &DatabaseConnection, contact_hash: &str, at: DateTime<Utc>) {
    opt_out::ActiveModel {
        contact_hash: Set(contact_hash.into()),
        source: Set("link".into()),
        created_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
}
