//! The sampling job on both databases: eligibility, rates, adaptivity, never twice, replay.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rocket::figment::Figment;
use satisfaction::{
    config::Settings,
    db::entities::{channel, invitation, opt_out, outbox, response, sampling_decision, sampling_run, service_request},
    domain::SurveyToken,
    sampling::{RunOptions, RunOutcome, RunReport, run},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

use crate::helpers::{Backend, TestDatabase, migrated_database, spawn_app, test_figment};
use crate::on_both_databases;

fn now() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

struct World {
    /// The database this world owns; `None` when it borrows an application's.
    database: Option<TestDatabase>,
    db: DatabaseConnection,
    directions: HashMap<String, i64>,
    channels: HashMap<String, i64>,
}

async fn world(backend: Backend) -> World {
    let (database, db) = migrated_database(backend).await;
    let mut directions = HashMap::new();
    for code in ["TP", "ENV"] {
        directions.insert(
            code.to_owned(),
            satisfaction::db::repo::directions::insert(&db, code, code, code).await.unwrap().id,
        );
    }
    let channels = channel::Entity::find().all(&db).await.unwrap().into_iter().map(|c| (c.code, c.id)).collect();
    World { database: Some(database), db, directions, channels }
}

fn settings(world: &World, configure: impl FnOnce(Figment) -> Figment) -> Settings {
    Settings::from_figment(&configure(test_figment(&world.database.as_ref().expect("an owned database").url))).unwrap()
}

#[derive(Clone)]
struct Req {
    crm: String,
    direction: &'static str,
    channel: &'static str,
    status: &'static str,
    closed_hours_ago: i64,
    email: Option<String>,
    phone: Option<String>,
    hash: Option<String>,
    service_code: &'static str,
}

fn req(crm: &str) -> Req {
    Req {
        crm: crm.into(),
        direction: "TP",
        channel: "phone",
        status: "closed",
        closed_hours_ago: 24,
        email: Some(format!("{crm}@ville.example")),
        phone: None,
        hash: Some(format!("hash-{crm}")),
        service_code: "NP",
    }
}

async fn insert(world: &World, requests: &[Req]) {
    for chunk in requests.chunks(500) {
        let rows: Vec<service_request::ActiveModel> = chunk
            .iter()
            .map(|r| service_request::ActiveModel {
                crm_id: Set(r.crm.clone()),
                direction_id: Set(world.directions[r.direction]),
                channel_id: Set(world.channels[r.channel]),
                service_code: Set(Some(r.service_code.into())),
                status: Set(r.status.into()),
                closed_at: Set(Some(now() - Duration::hours(r.closed_hours_ago))),
                contact_email: Set(r.email.clone()),
                contact_phone: Set(r.phone.clone()),
                contact_hash: Set(r.hash.clone()),
                locale: Set("fr".into()),
                source: Set("api".into()),
                created_at: Set(now()),
                updated_at: Set(now()),
                ..Default::default()
            })
            .collect();
        service_request::Entity::insert_many(rows).exec_without_returning(&world.db).await.unwrap();
    }
}

async fn sample(world: &World, settings: &Settings, dry_run: bool, seed: Option<u64>) -> RunReport {
    match run(&world.db, settings, RunOptions { now: now(), dry_run, seed }).await.unwrap() {
        RunOutcome::Completed(report) => report,
        RunOutcome::Skipped => panic!("unexpectedly skipped"),
    }
}

async fn invited_crm_ids(world: &World) -> HashSet<String> {
    let ids: HashSet<i64> =
        invitation::Entity::find().all(&world.db).await.unwrap().into_iter().map(|i| i.service_request_id).collect();
    service_request::Entity::find()
        .all(&world.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| r.crm_id)
        .collect()
}

async fn each_eligibility_rule_is_applied_and_counted(backend: Backend) {
    let world = world(backend).await;
    // An earlier invitation of the "recent" contact, 30 days ago: quarantined.
    let mut earlier = req("earlier");
    earlier.hash = Some("hash-recent".into());
    earlier.closed_hours_ago = 24 * 40;
    insert(&world, &[earlier]).await;
    let earlier_id = service_request::Entity::find().one(&world.db).await.unwrap().unwrap().id;
    invitation::ActiveModel {
        service_request_id: Set(earlier_id),
        token_hash: Set("x".into()),
        direction_id: Set(world.directions["TP"]),
        channel_id: Set(world.channels["phone"]),
        stratum: Set("TP:phone".into()),
        inclusion_probability: Set(1.0),
        state: Set("sent".into()),
        locale: Set("fr".into()),
        created_at: Set(now() - Duration::days(30)),
        ..Default::default()
    }
    .insert(&world.db)
    .await
    .unwrap();
    opt_out::ActiveModel {
        contact_hash: Set("hash-opted".into()),
        source: Set("link".into()),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(&world.db)
    .await
    .unwrap();

    let mut too_recent = req("too-recent");
    too_recent.closed_hours_ago = 1;
    let mut too_old = req("too-old");
    too_old.closed_hours_ago = 24 * 15;
    let mut cancelled = req("cancelled");
    cancelled.status = "cancelled";
    let mut duplicate = req("duplicate");
    duplicate.status = "duplicate";
    let mut reopened = req("reopened");
    reopened.status = "open";
    let mut no_contact = req("no-contact");
    no_contact.email = None;
    no_contact.hash = None;
    let mut phone_only = req("phone-only");
    phone_only.email = None;
    phone_only.phone = Some("+14185550134".into());
    let mut opted = req("opted");
    opted.hash = Some("hash-opted".into());
    let mut recent = req("recent");
    recent.hash = Some("hash-recent".into());
    let mut sensitive = req("sensitive");
    sensitive.service_code = "SENSIBLE";
    let mut sibling_old = req("sibling-old");
    sibling_old.hash = Some("hash-sibling".into());
    sibling_old.closed_hours_ago = 48;
    let mut sibling_new = req("sibling-new");
    sibling_new.hash = Some("hash-sibling".into());
    sibling_new.closed_hours_ago = 10;
    let fine = req("fine");
    insert(
        &world,
        &[
            too_recent,
            too_old,
            cancelled,
            duplicate,
            reopened,
            no_contact,
            phone_only,
            opted,
            recent,
            sensitive,
            sibling_old,
            sibling_new,
            fine,
        ],
    )
    .await;

    let settings = settings(&world, |f| {
        f.merge(("sampling.default_rate", 1.0)).merge(("sampling.excluded_service_codes", ["SENSIBLE"]))
    });
    let report = sample(&world, &settings, false, Some(7)).await;
    let expected: HashMap<String, u64> = [
        ("cancelled_or_duplicate", 2),
        ("not_closed", 1),
        ("no_contact", 2),
        ("opted_out", 1),
        ("quarantine", 1),
        ("excluded_service", 1),
        ("duplicate_contact", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(report.exclusions.clone().into_iter().collect::<HashMap<_, _>>(), expected, "{report:?}");
    assert_eq!((report.population, report.eligible, report.sampled), (11, 2, 2));
    assert_eq!(
        invited_crm_ids(&world).await,
        HashSet::from(["earlier".to_owned(), "fine".into(), "sibling-new".into()])
    );

    // The reopened request is not decided; every other one in the window is.
    let decided_ids: HashSet<i64> = sampling_decision::Entity::find()
        .filter(sampling_decision::Column::SamplingRunId.eq(report.run_id))
        .all(&world.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.service_request_id)
        .collect();
    let decided: HashSet<String> = service_request::Entity::find()
        .all(&world.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| decided_ids.contains(&r.id))
        .map(|r| r.crm_id)
        .collect();
    assert_eq!(decided.len(), 10);
    assert!(!decided.contains("reopened") && !decided.contains("too-recent") && !decided.contains("too-old"));

    // With SMS enabled, a phone-only contact becomes usable (for requests not yet decided).
    let mut later_phone = req("later-phone");
    later_phone.email = None;
    later_phone.phone = Some("+14185550199".into());
    insert(&world, &[later_phone]).await;
    let sms = Settings {
        sampling: satisfaction::config::SamplingSettings { sms_enabled: true, ..settings.sampling.clone() },
        ..settings.clone()
    };
    let report = sample(&world, &sms, false, Some(8)).await;
    assert_eq!((report.population, report.sampled), (2, 1), "the reopened one and the new phone-only one");
    assert!(invited_crm_ids(&world).await.contains("later-phone"));
}

async fn rates_per_stratum_are_honoured(backend: Backend) {
    let world = world(backend).await;
    let mut requests = Vec::new();
    for (direction, channel, n) in [("TP", "phone", 6000), ("ENV", "email", 3000), ("ENV", "counter", 1000)] {
        for i in 0..n {
            let mut r = req(&format!("{direction}-{channel}-{i}"));
            r.direction = direction;
            r.channel = channel;
            requests.push(r);
        }
    }
    insert(&world, &requests).await;
    let settings = settings(&world, |f| {
        f.merge(("sampling.default_rate", 0.25))
            .merge(("sampling.direction_rates", HashMap::from([("ENV", 0.1)])))
            .merge(("sampling.channel_rates", HashMap::from([("counter", 0.6)])))
    });
    let report = sample(&world, &settings, false, Some(2026)).await;
    for (stratum, n, rate) in [("TP:phone", 6000.0, 0.25), ("ENV:email", 3000.0, 0.1), ("ENV:counter", 1000.0, 0.6)] {
        let counts = report.strata.iter().find(|s| s.stratum == stratum).unwrap();
        assert_eq!(counts.rate, rate, "{stratum}");
        assert_eq!(counts.eligible as f64, n);
        // Binomial(n, p): a count more than 4 standard deviations away has probability < 1e-4,
        // while the next rate up or down would be 10+ deviations off.
        let sd = (n * rate * (1.0 - rate)).sqrt();
        let off = (counts.sampled as f64 - n * rate).abs() / sd;
        assert!(off < 4.0, "{stratum}: sampled {} of {n} at {rate} is {off:.1} sd away", counts.sampled);
    }
    // Each invitation records its stratum and inclusion probability; each has an outbox row whose
    // link carries the token whose hash is stored.
    let invitations = invitation::Entity::find().all(&world.db).await.unwrap();
    assert_eq!(invitations.len() as u64, report.sampled);
    let probabilities: HashMap<String, f64> =
        invitations.iter().map(|i| (i.stratum.clone(), i.inclusion_probability)).collect();
    assert_eq!(
        probabilities,
        HashMap::from([("TP:phone".into(), 0.25), ("ENV:email".into(), 0.1), ("ENV:counter".into(), 0.6)])
    );
    let messages = outbox::Entity::find().all(&world.db).await.unwrap();
    assert_eq!(messages.len(), invitations.len());
    let by_id: HashMap<i64, &invitation::Model> = invitations.iter().map(|i| (i.id, i)).collect();
    for message in messages.iter().take(50) {
        let link = message.survey_link.as_deref().unwrap();
        let token = SurveyToken::parse(link.rsplit('/').next().unwrap()).unwrap();
        assert!(link.starts_with("http://127.0.0.1:8000/s/"), "{link}");
        assert_eq!(by_id[&message.invitation_id].token_hash, token.hash());
        assert_eq!((message.kind.as_str(), message.state.as_str()), ("invitation", "pending"));
    }
}

async fn adaptive_rates_move_towards_the_monthly_target(backend: Backend) {
    let world = world(backend).await;
    // History: 60 days ago a run saw 3,000 eligible TP:phone requests and 100 ENV:email ones
    // (so 1,500 and 50 a month); TP:phone invitations answered at 20 %.
    sampling_run::ActiveModel {
        started_at: Set(now() - Duration::days(60)),
        as_of: Set(now() - Duration::days(60)),
        finished_at: Set(Some(now() - Duration::days(60))),
        seed: Set(1),
        dry_run: Set(false),
        status: Set("completed".into()),
        parameters: Set(serde_json::json!({})),
        exclusions: Set(serde_json::json!({})),
        strata: Set(serde_json::json!([
            {"stratum": "TP:phone", "direction": "TP", "channel": "phone", "population": 3000, "eligible": 3000, "sampled": 300, "rate": 0.1, "rate_source": "default", "excluded": {}},
            {"stratum": "ENV:email", "direction": "ENV", "channel": "email", "population": 100, "eligible": 100, "sampled": 10, "rate": 0.1, "rate_source": "default", "excluded": {}}
        ])),
        ..Default::default()
    }
    .insert(&world.db)
    .await
    .unwrap();
    let mut old = Vec::new();
    for i in 0..100 {
        let mut r = req(&format!("old-{i}"));
        r.closed_hours_ago = 24 * 50;
        r.hash = Some(format!("old-hash-{i}"));
        old.push(r);
    }
    insert(&world, &old).await;
    let old_rows = service_request::Entity::find().all(&world.db).await.unwrap();
    for (i, row) in old_rows.iter().enumerate() {
        let inv = invitation::ActiveModel {
            service_request_id: Set(row.id),
            token_hash: Set(format!("old-token-{i}")),
            direction_id: Set(row.direction_id),
            channel_id: Set(row.channel_id),
            stratum: Set("TP:phone".into()),
            inclusion_probability: Set(0.1),
            state: Set("sent".into()),
            locale: Set("fr".into()),
            created_at: Set(now() - Duration::days(45)),
            ..Default::default()
        }
        .insert(&world.db)
        .await
        .unwrap();
        if i % 5 == 0 {
            response::ActiveModel {
                invitation_id: Set(Some(inv.id)),
                overall_score: Set(9),
                follow_up_requested: Set(false),
                completion: Set("complete".into()),
                source: Set("survey".into()),
                submitted_at: Set(now() - Duration::days(44)),
                direction_id: Set(row.direction_id),
                channel_id: Set(row.channel_id),
                stratum: Set("TP:phone".into()),
                weight: Set(10.0),
                created_at: Set(now()),
                ..Default::default()
            }
            .insert(&world.db)
            .await
            .unwrap();
        }
    }
    let mut fresh = Vec::new();
    for i in 0..50 {
        fresh.push(req(&format!("tp-{i}")));
        let mut env = req(&format!("env-{i}"));
        env.direction = "ENV";
        env.channel = "email";
        fresh.push(env);
    }
    insert(&world, &fresh).await;

    let settings = settings(&world, |f| f.merge(("sampling.monthly_target", 60)).merge(("sampling.default_rate", 0.1)));
    let report = sample(&world, &settings, true, Some(3)).await;
    let tp = report.strata.iter().find(|s| s.stratum == "TP:phone").unwrap();
    let env = report.strata.iter().find(|s| s.stratum == "ENV:email").unwrap();
    // TP:phone: 60 / (1500 × 0.20) = 0.2 — up from 0.1, because 0.1 yields only 30 a month.
    assert_eq!(tp.rate_source, "adaptive");
    assert!((tp.rate - 0.2).abs() < 1e-9, "{}", tp.rate);
    // ENV:email: no invitation history, assumed 30 %: 60 / (50 × 0.3) > 1, so everyone is asked.
    assert_eq!(env.rate, 1.0);
    assert_eq!(env.sampled, env.eligible);
}

async fn a_second_run_changes_nothing_already_decided(backend: Backend) {
    let world = world(backend).await;
    let requests: Vec<Req> = (0..300).map(|i| req(&format!("R-{i}"))).collect();
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
    let requests: Vec<Req> = (0..2000).map(|i| req(&format!("C-{i}"))).collect();
    insert(&world, &requests).await;
    let settings = settings(&world, |f| f.merge(("sampling.batch_size", 50)));
    let options = || RunOptions { now: now(), dry_run: false, seed: None };
    let (a, b) = tokio::join!(run(&world.db, &settings, options()), run(&world.db, &settings, options()));
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
    let requests: Vec<Req> = (0..1000).map(|i| req(&format!("P-{i}"))).collect();
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
    let settings = (*app.settings).clone();
    run(&app.db, &settings, RunOptions { now: now(), dry_run: true, seed: Some(u64::MAX) }).await.unwrap();
    let (status, body) = app.get_json(&key, "/api/v1/sampling-runs").await;
    assert_eq!(status, rocket::http::Status::Ok);
    assert_eq!(body["items"][0]["seed_u64"], u64::MAX);
    assert_eq!(body["items"][0]["status"], "dry_run");
    assert!(body["items"][0]["strata"].is_array());
    let response = app.client.get("/api/v1/sampling-runs").dispatch().await;
    assert_eq!(response.status(), rocket::http::Status::Unauthorized);
}

/// The batch write on its own: typed probabilities kept to the last bit, the locale taken from the
/// request, an already invited request skipped without an outbox row, every decision recorded,
/// and a decision recorded twice refused (the whole batch rolled back).
async fn a_batch_writes_invitations_outbox_rows_and_decisions(backend: Backend) {
    use satisfaction::db::repo::sampling::{BatchStratum, NewInvitation, write_batch};
    use sea_orm::TransactionTrait;

    let world = world(backend).await;
    let mut english = req("B");
    english.channel = "email";
    insert(&world, &[req("A"), english, req("C")]).await;
    let ids: HashMap<String, i64> =
        service_request::Entity::find().all(&world.db).await.unwrap().into_iter().map(|r| (r.crm_id, r.id)).collect();
    service_request::Entity::update_many()
        .col_expr(service_request::Column::Locale, sea_orm::sea_query::Expr::value("en"))
        .filter(service_request::Column::Id.eq(ids["B"]))
        .exec(&world.db)
        .await
        .unwrap();
    let run_id = sampling_run::ActiveModel {
        started_at: Set(now()),
        as_of: Set(now()),
        seed: Set(7),
        dry_run: Set(false),
        status: Set("running".into()),
        parameters: Set(serde_json::json!({})),
        exclusions: Set(serde_json::json!({})),
        strata: Set(serde_json::json!([])),
        ..Default::default()
    }
    .insert(&world.db)
    .await
    .unwrap()
    .id;
    // 0.1 + 0.2 has no short decimal form: it must arrive as the same f64.
    let odd_rate = 0.1 + 0.2;
    let strata = [
        BatchStratum {
            index: 0,
            direction_id: world.directions["TP"],
            channel_id: world.channels["phone"],
            label: "TP:phone",
            inclusion_probability: odd_rate,
        },
        BatchStratum {
            index: 3,
            direction_id: world.directions["TP"],
            channel_id: world.channels["email"],
            label: "TP:email",
            inclusion_probability: 1.0 / 3.0,
        },
    ];
    let invite = |crm: &str, stratum: u32| {
        let token = SurveyToken::generate();
        NewInvitation {
            service_request_id: ids[crm],
            stratum,
            token_hash: token.hash(),
            link: format!("https://sondage.example/s/{}", token.as_str()),
        }
    };

    let first = [invite("A", 0)];
    let created = write_batch(&world.db, run_id, &strata, &first, &[ids["A"]], now()).await.unwrap();
    assert_eq!(created, 1);
    // A again (as a concurrent run would) and B: only B is created; decisions for B and C.
    let second = [invite("A", 0), invite("B", 3)];
    let created = write_batch(&world.db, run_id, &strata, &second, &[ids["B"], ids["C"]], now()).await.unwrap();
    assert_eq!(created, 1);

    let invitations = invitation::Entity::find().all(&world.db).await.unwrap();
    let by_request: HashMap<i64, &invitation::Model> = invitations.iter().map(|i| (i.service_request_id, i)).collect();
    assert_eq!(by_request.len(), 2);
    let a = by_request[&ids["A"]];
    assert_eq!(a.inclusion_probability.to_bits(), odd_rate.to_bits());
    assert_eq!(
        (a.stratum.as_str(), a.locale.as_str(), a.token_hash.as_str()),
        ("TP:phone", "fr", first[0].token_hash.as_str())
    );
    let b = by_request[&ids["B"]];
    assert_eq!(b.inclusion_probability.to_bits(), (1.0f64 / 3.0).to_bits());
    assert_eq!((b.stratum.as_str(), b.locale.as_str(), b.channel_id), ("TP:email", "en", world.channels["email"]));
    assert_eq!(a.sampling_run_id, Some(run_id));
    let messages = outbox::Entity::find().all(&world.db).await.unwrap();
    let links: HashMap<i64, Option<String>> =
        messages.iter().map(|m| (m.invitation_id, m.survey_link.clone())).collect();
    assert_eq!(
        links,
        HashMap::from([(a.id, Some(first[0].link.clone())), (b.id, Some(second[1].link.clone()))]),
        "one outbox row per created invitation, with its own link; none for the skipped one"
    );
    let decided: HashMap<i64, i64> = sampling_decision::Entity::find()
        .all(&world.db)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.service_request_id, d.sampling_run_id))
        .collect();
    assert_eq!(decided, HashMap::from([(ids["A"], run_id), (ids["B"], run_id), (ids["C"], run_id)]));

    // A decision recorded twice is an error, and nothing of its batch stays.
    insert(&world, &[req("D")]).await;
    let d_id = service_request::Entity::find()
        .filter(service_request::Column::CrmId.eq("D"))
        .one(&world.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let third = [NewInvitation { service_request_id: d_id, ..invite("C", 0) }];
    let txn = world.db.begin().await.unwrap();
    let refused = write_batch(&txn, run_id, &strata, &third, &[d_id, ids["C"]], now()).await;
    assert!(refused.is_err(), "C was decided already");
    txn.rollback().await.unwrap();
    assert_eq!(invitation::Entity::find().count(&world.db).await.unwrap(), 2);
    assert_eq!(outbox::Entity::find().count(&world.db).await.unwrap(), 2);
    assert_eq!(sampling_decision::Entity::find().count(&world.db).await.unwrap(), 3);
}

on_both_databases!(
    each_eligibility_rule_is_applied_and_counted,
    a_batch_writes_invitations_outbox_rows_and_decisions,
    rates_per_stratum_are_honoured,
    adaptive_rates_move_towards_the_monthly_target,
    a_second_run_changes_nothing_already_decided,
    two_concurrent_runs_neither_fail_nor_duplicate,
    replaying_a_seed_reproduces_the_sample,
    sampling_runs_are_listed_by_the_api,
);

async fn response_rates_follow_aapor(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let key = app.api_key().await;
    let world = World {
        directions: HashMap::from([(
            "TP".to_owned(),
            satisfaction::db::repo::directions::insert(&app.db, "TP", "TP", "TP").await.unwrap().id,
        )]),
        channels: channel::Entity::find().all(&app.db).await.unwrap().into_iter().map(|c| (c.code, c.id)).collect(),
        db: app.db.clone(),
        database: None,
    };
    insert(&world, &(0..40).map(|i| req(&format!("RR-{i}"))).collect::<Vec<_>>()).await;
    let settings = Settings {
        sampling: satisfaction::config::SamplingSettings { default_rate: 1.0, ..app.settings.sampling.clone() },
        ..(*app.settings).clone()
    };
    let report = sample(&world, &settings, false, Some(5)).await;
    assert_eq!(report.sampled, 40);
    // 30 sent (on 18 November, Toronto), 10 not yet; 12 complete answers, 3 partial.
    let invitations = invitation::Entity::find().all(&app.db).await.unwrap();
    for (i, inv) in invitations.iter().enumerate() {
        let mut active: invitation::ActiveModel = inv.clone().into();
        if i < 30 {
            active.sent_at = Set(Some(now() - Duration::days(2)));
            active.update(&app.db).await.unwrap();
        }
        if i < 15 {
            response::ActiveModel {
                invitation_id: Set(Some(inv.id)),
                overall_score: Set(8),
                follow_up_requested: Set(false),
                completion: Set(if i < 12 { "complete" } else { "partial" }.into()),
                source: Set("survey".into()),
                submitted_at: Set(now()),
                direction_id: Set(inv.direction_id),
                channel_id: Set(inv.channel_id),
                stratum: Set(inv.stratum.clone()),
                weight: Set(1.0),
                created_at: Set(now()),
                ..Default::default()
            }
            .insert(&app.db)
            .await
            .unwrap();
        }
    }
    let (status, body) = app.get_json(&key, "/api/v1/stats/response-rates?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(status, rocket::http::Status::Ok, "{body}");
    assert_eq!(body["overall"]["invitations"], 30);
    assert_eq!((body["overall"]["complete"].as_u64(), body["overall"]["partial"].as_u64()), (Some(12), Some(3)));
    assert_eq!(body["overall"]["rr1"], 0.4);
    assert_eq!(body["overall"]["rr2"], 0.5);
    assert!(body["definitions"]["rr1"].as_str().unwrap().contains("AAPOR"));
    assert_eq!(body["strata"][0]["stratum"], "TP:phone");
    let (_, empty) = app.get_json(&key, "/api/v1/stats/response-rates?from=2025-01-01&to=2025-01-31").await;
    assert_eq!(empty["overall"]["invitations"], 0);
    assert!(empty["overall"]["rr1"].is_null());
}

on_both_databases!(response_rates_follow_aapor);
