//! Runs: never twice, safe when concurrent, replayable from their seed, listed by the API.

use std::collections::HashSet;

use satisfaction::{
    db::entities::{invitation, outbox, sampling_decision, sampling_run},
    sampling::{RunOptions, RunOutcome},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{insert, invited_crm_ids, jobs, req, sample, settings, world};
use crate::factories::RequestRow;
use crate::helpers::{Backend, spawn_app};
use crate::on_both_databases;

async fn a_second_run_changes_nothing_already_decided(backend: Backend) {
    let world = world(backend).await;
    let requests: Vec<RequestRow> = (0..300).map(|i| req(&format!("R-{i}"))).collect();
    insert(&world, &requests).await;
    let settings = settings(&world, |f| f);
    let first = sample(&world, &settings, false, None).await;
    assert_eq!(first.population, 300);
    assert!(first.sampled > 0);
    let invited = invited_crm_ids(&world).await;
    let second = sample(&world, &settings, false, None).await;
    assert_eq!((second.population, second.sampled), (0, 0), "not-drawn requests get no second chance");
    assert_eq!(invited_crm_ids(&world).await, invited);
    assert_eq!(outbox::Entity::find().count(&world.db).await.unwrap(), invited.len() as u64);
}

async fn two_concurrent_runs_neither_fail_nor_duplicate(backend: Backend) {
    let world = world(backend).await;
    let requests: Vec<RequestRow> = (0..2000).map(|i| req(&format!("C-{i}"))).collect();
    insert(&world, &requests).await;
    let settings = settings(&world, |f| f.merge(("sampling.batch_size", 50)));
    let (first, second) = (jobs(&world, &settings), jobs(&world, &settings));
    let (a, b) = tokio::join!(first.sample(RunOptions::default()), second.sample(RunOptions::default()));
    let outcomes = [a.expect("first run succeeds"), b.expect("second run succeeds")];
    let sampled: u64 = outcomes.iter().map(|o| if let RunOutcome::Completed(r) = o { r.sampled } else { 0 }).sum();
    let invitations = invitation::Entity::find().all(&world.db).await.unwrap();
    let distinct: HashSet<i64> = invitations.iter().map(|i| i.service_request_id).collect();
    assert_eq!(distinct.len(), invitations.len(), "no request invited twice");
    assert_eq!(invitations.len() as u64, sampled);
    assert_eq!(sampling_decision::Entity::find().count(&world.db).await.unwrap(), 2000, "every request decided once");
}

async fn replaying_a_seed_reproduces_the_sample(backend: Backend) {
    let world = world(backend).await;
    let requests: Vec<RequestRow> = (0..1000).map(|i| req(&format!("P-{i}"))).collect();
    insert(&world, &requests).await;
    let settings = settings(&world, |f| f);
    let first = sample(&world, &settings, true, Some(123_456_789)).await;
    let again = sample(&world, &settings, true, Some(123_456_789)).await;
    let other = sample(&world, &settings, true, Some(987_654_321)).await;
    assert_eq!(first.sampled_request_ids, again.sampled_request_ids);
    assert_ne!(first.sampled_request_ids, other.sampled_request_ids);
    let real = sample(&world, &settings, false, Some(123_456_789)).await;
    let mut invited: Vec<i64> =
        invitation::Entity::find().all(&world.db).await.unwrap().into_iter().map(|i| i.service_request_id).collect();
    invited.sort_unstable();
    let mut expected = first.sampled_request_ids.clone();
    expected.sort_unstable();
    assert_eq!(invited, expected, "the real run draws what the dry run showed");
    assert_eq!(real.seed, 123_456_789);
    let stored = sampling_run::Entity::find_by_id(real.run_id).one(&world.db).await.unwrap().unwrap();
    assert_eq!(stored.seed as u64, 123_456_789);
    assert_eq!(stored.status, "completed");
    assert_eq!(stored.sampled_count as u64, real.sampled);
    assert!(stored.parameters["default_rate"].as_f64().is_some(), "parameters are recorded");
    // Dry runs are recorded, but created nothing.
    let dry =
        sampling_run::Entity::find().filter(sampling_run::Column::DryRun.eq(true)).count(&world.db).await.unwrap();
    assert_eq!(dry, 3);
}

async fn sampling_runs_are_listed_by_the_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let key = app.api_key().await;
    app.jobs.sample(RunOptions { dry_run: true, seed: Some(u64::MAX) }).await.unwrap();
    let (status, body) = app.get_json(&key, "/api/v1/sampling-runs").await;
    assert_eq!(status, rocket::http::Status::Ok);
    // Exact in every JSON client: a decimal string, not a number beyond 2^53.
    assert_eq!(body["items"][0]["seed"], "18446744073709551615");
    assert!(body["items"][0].get("seed_u64").is_none(), "one representation of the seed");
    assert_eq!(body["items"][0]["status"], "dry_run");
    assert!(body["items"][0]["strata"].is_array());
    let response = app.client.get("/api/v1/sampling-runs").dispatch().await;
    assert_eq!(response.status(), rocket::http::Status::Unauthorized);
}

on_both_databases!(
    a_second_run_changes_nothing_already_decided,
    two_concurrent_runs_neither_fail_nor_duplicate,
    replaying_a_seed_reproduces_the_sample,
    sampling_runs_are_listed_by_the_api,
);
