//! The product's promises, enforced by the database itself on both backends.

use chrono::Utc;
use satisfaction::{
    accounts::{self, AccountError, NewUser},
    db::{self, entities::*},
    domain::{Email, Role},
};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait};

use crate::factories::{InvitationRow, Reference, RequestRow, insert_invitation, insert_response, response_row};
use crate::helpers::{Backend, migrated_database};
use crate::on_both_databases;

/// Direction TP and the seeded channels.
async fn reference(db: &DatabaseConnection) -> Reference {
    Reference::with_directions(db, &["TP"]).await
}

async fn insert_request(db: &DatabaseConnection, fx: &Reference, crm: &str) -> Result<service_request::Model, DbErr> {
    crate::factories::insert_request(db, fx, &RequestRow::closed(crm, Utc::now())).await
}

async fn invite(
    db: &DatabaseConnection,
    request: &service_request::Model,
    token_hash: &str,
    probability: f64,
) -> Result<invitation::Model, DbErr> {
    let row = InvitationRow {
        token_hash: token_hash.into(),
        ..InvitationRow::of(request, "TP:phone", probability, Utc::now())
    };
    insert_invitation(db, row).await
}

async fn respond(
    db: &DatabaseConnection,
    fx: &Reference,
    invitation_id: Option<i64>,
    score: i16,
) -> Result<response::Model, DbErr> {
    let row = response_row(fx.direction("TP"), fx.channel("phone"), "TP:phone", score, 4.0, Utc::now());
    insert_response(db, response::Model { invitation_id, ..row }).await
}

fn assert_unique_violation<T: std::fmt::Debug>(result: Result<T, DbErr>, what: &str) {
    match result {
        Err(err) => assert!(db::is_unique_violation(&err), "{what}: expected a unique violation, got {err}"),
        Ok(row) => panic!("{what}: the duplicate was accepted: {row:?}"),
    }
}

async fn crm_id_is_stored_once(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = reference(&db).await;
    insert_request(&db, &fx, "CRM-1").await.unwrap();
    assert_unique_violation(insert_request(&db, &fx, "CRM-1").await, "same CRM id");
    insert_request(&db, &fx, "CRM-2").await.expect("another CRM id is fine");
}

async fn a_request_gets_at_most_one_invitation(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = reference(&db).await;
    let request = insert_request(&db, &fx, "CRM-1").await.unwrap();
    invite(&db, &request, "hash-a", 0.25).await.unwrap();
    assert_unique_violation(invite(&db, &request, "hash-b", 0.25).await, "second invitation");
}

async fn token_hashes_are_unique(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = reference(&db).await;
    let first = insert_request(&db, &fx, "CRM-1").await.unwrap();
    let second = insert_request(&db, &fx, "CRM-2").await.unwrap();
    invite(&db, &first, "same-hash", 0.5).await.unwrap();
    assert_unique_violation(invite(&db, &second, "same-hash", 0.5).await, "token hash");
}

async fn an_invitation_gets_at_most_one_response(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = reference(&db).await;
    let request = insert_request(&db, &fx, "CRM-1").await.unwrap();
    let invitation = invite(&db, &request, "hash", 0.25).await.unwrap();
    respond(&db, &fx, Some(invitation.id), 9).await.unwrap();
    assert_unique_violation(respond(&db, &fx, Some(invitation.id), 3).await, "second response");
    // Imported historical responses have no invitation: many are allowed.
    respond(&db, &fx, None, 8).await.unwrap();
    respond(&db, &fx, None, 7).await.unwrap();
}

async fn out_of_range_values_are_refused(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = reference(&db).await;
    for score in [-1, 11] {
        assert!(respond(&db, &fx, None, score).await.is_err(), "score {score} accepted");
    }
    respond(&db, &fx, None, 0).await.unwrap();
    respond(&db, &fx, None, 10).await.unwrap();
    let request = insert_request(&db, &fx, "CRM-1").await.unwrap();
    assert!(invite(&db, &request, "h0", 0.0).await.is_err(), "probability 0 accepted");
    assert!(invite(&db, &request, "h2", 1.5).await.is_err(), "probability 1.5 accepted");
    invite(&db, &request, "h1", 1.0).await.unwrap();
}

async fn user_emails_are_unique(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let new_user = |email: &str| NewUser {
        email: Email::parse(email).unwrap(),
        password: "un mot de passe assez long".into(),
        role: Role::Analyst,
        direction_code: None,
    };
    accounts::create_user(&db, new_user("directrice@ville.example"), "test", Utc::now()).await.unwrap();
    let err = accounts::create_user(&db, new_user("Directrice@Ville.example"), "test", Utc::now()).await.unwrap_err();
    assert!(matches!(err, AccountError::DuplicateEmail(_)), "{err}");
    assert_eq!(user::Entity::find().all(&db).await.unwrap().len(), 1);
}

async fn foreign_keys_are_enforced_on_every_connection(backend: Backend) {
    let (_database, db) = migrated_database(backend).await;
    let fx = reference(&db).await;
    let mut orphan = fx;
    orphan.directions.insert("TP".into(), 999_999);
    // Several attempts, so that more than one pooled connection is used.
    let attempts = futures_like_join(&db, &orphan).await;
    assert!(attempts.iter().all(|r| r.is_err()), "a request with an unknown direction was stored");
}

async fn futures_like_join(db: &DatabaseConnection, fx: &Reference) -> Vec<Result<service_request::Model, DbErr>> {
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
