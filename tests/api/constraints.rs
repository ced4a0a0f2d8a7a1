//! The product's promises, enforced by the database itself on both backends.

use chrono::Utc;
use satisfaction::{
    accounts::{self, AccountError, NewUser},
    db::{self, entities::*},
    domain::{Email, Role},
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};

use crate::helpers::{Backend, Fixture, fixture, insert_request, migrated_database};
use crate::on_both_databases;

async fn insert_invitation(
    db: &DatabaseConnection,
    fx: &Fixture,
    request_id: i64,
    token_hash: &str,
    probability: f64,
) -> Result<invitation::Model, DbErr> {
    invitation::ActiveModel {
        service_request_id: Set(request_id),
        token_hash: Set(token_hash.into()),
        direction_id: Set(fx.direction_id),
        channel_id: Set(fx.channel_id),
        stratum: Set("TP:phone".into()),
        inclusion_probability: Set(probability),
        state: Set("pending".into()),
        locale: Set("fr".into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn insert_response(
    db: &DatabaseConnection,
    fx: &Fixture,
    invitation_id: Option<i64>,
    score: i16,
) -> Result<response::Model, DbErr> {
    let now = Utc::now();
    response::ActiveModel {
        invitation_id: Set(invitation_id),
        overall_score: Set(score),
        follow_up_requested: Set(false),
        completion: Set("complete".into()),
        source: Set("survey".into()),
        submitted_at: Set(now),
        direction_id: Set(fx.direction_id),
        channel_id: Set(fx.channel_id),
        stratum: Set("TP:phone".into()),
        weight: Set(4.0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

fn assert_unique_violation<T: std::fmt::Debug>(result: Result<T, DbErr>, what: &str) {
    match result {
        Err(err) => assert!(db::is_unique_violation(&err), "{what}: expected a unique violation, got {err}"),
        Ok(row) => panic!("{what}: the duplicate was accepted: {row:?}"),
    }
}

async fn crm_id_is_stored_once(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = fixture(&db).await;
    insert_request(&db, &fx, "CRM-1").await.unwrap();
    assert_unique_violation(insert_request(&db, &fx, "CRM-1").await, "same CRM id");
    insert_request(&db, &fx, "CRM-2").await.expect("another CRM id is fine");
}

async fn a_request_gets_at_most_one_invitation(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = fixture(&db).await;
    let request = insert_request(&db, &fx, "CRM-1").await.unwrap();
    insert_invitation(&db, &fx, request.id, "hash-a", 0.25).await.unwrap();
    assert_unique_violation(insert_invitation(&db, &fx, request.id, "hash-b", 0.25).await, "second invitation");
}

async fn token_hashes_are_unique(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = fixture(&db).await;
    let first = insert_request(&db, &fx, "CRM-1").await.unwrap();
    let second = insert_request(&db, &fx, "CRM-2").await.unwrap();
    insert_invitation(&db, &fx, first.id, "same-hash", 0.5).await.unwrap();
    assert_unique_violation(insert_invitation(&db, &fx, second.id, "same-hash", 0.5).await, "token hash");
}

async fn an_invitation_gets_at_most_one_response(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = fixture(&db).await;
    let request = insert_request(&db, &fx, "CRM-1").await.unwrap();
    let invitation = insert_invitation(&db, &fx, request.id, "hash", 0.25).await.unwrap();
    insert_response(&db, &fx, Some(invitation.id), 9).await.unwrap();
    assert_unique_violation(insert_response(&db, &fx, Some(invitation.id), 3).await, "second response");
    // Imported historical responses have no invitation: many are allowed.
    insert_response(&db, &fx, None, 8).await.unwrap();
    insert_response(&db, &fx, None, 7).await.unwrap();
}

async fn out_of_range_values_are_refused(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = fixture(&db).await;
    for score in [-1, 11] {
        assert!(insert_response(&db, &fx, None, score).await.is_err(), "score {score} accepted");
    }
    insert_response(&db, &fx, None, 0).await.unwrap();
    insert_response(&db, &fx, None, 10).await.unwrap();
    let request = insert_request(&db, &fx, "CRM-1").await.unwrap();
    assert!(insert_invitation(&db, &fx, request.id, "h0", 0.0).await.is_err(), "probability 0 accepted");
    assert!(insert_invitation(&db, &fx, request.id, "h2", 1.5).await.is_err(), "probability 1.5 accepted");
    insert_invitation(&db, &fx, request.id, "h1", 1.0).await.unwrap();
}

async fn user_emails_are_unique(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let new_user = |email: &str| NewUser {
        email: Email::parse(email).unwrap(),
        password: "un mot de passe assez long".into(),
        role: Role::Analyst,
        direction_code: None,
    };
    accounts::create_user(&db, new_user("directrice@ville.example"), "test").await.unwrap();
    let err = accounts::create_user(&db, new_user("Directrice@Ville.example"), "test").await.unwrap_err();
    assert!(matches!(err, AccountError::DuplicateEmail(_)), "{err}");
    assert_eq!(user::Entity::find().all(&db).await.unwrap().len(), 1);
}

async fn foreign_keys_are_enforced_on_every_connection(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = fixture(&db).await;
    let orphan = Fixture { direction_id: 999_999, channel_id: fx.channel_id };
    // Several attempts, so that more than one pooled connection is used.
    let attempts = futures_like_join(&db, &orphan).await;
    assert!(attempts.iter().all(|r| r.is_err()), "a request with an unknown direction was stored");
}

async fn futures_like_join(db: &DatabaseConnection, fx: &Fixture) -> Vec<Result<service_request::Model, DbErr>> {
    let (a, b, c) =
        tokio::join!(insert_request(db, fx, "FK-1"), insert_request(db, fx, "FK-2"), insert_request(db, fx, "FK-3"));
    vec![a, b, c]
}

on_both_databases!(
    foreign_keys_are_enforced_on_every_connection,
    crm_id_is_stored_once,
    a_request_gets_at_most_one_invitation,
    token_hashes_are_unique,
    an_invitation_gets_at_most_one_response,
    out_of_range_values_are_refused,
    user_emails_are_unique,
);
