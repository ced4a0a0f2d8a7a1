//! Rates per stratum, fixed and adaptive.

use std::collections::HashMap;

use chrono::Duration;
use satisfaction::{
    db::entities::{invitation, outbox, service_request},
    domain::{SurveyToken, TokenSalt},
};
use sea_orm::EntityTrait;

use super::{insert, now, req, sample, settings, world};
use crate::factories::{InvitationRow, insert_completed_run, insert_invitation, insert_response, response_row};
use crate::helpers::Backend;
use crate::on_both_databases;

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
        assert_eq!(message.survey_link, None, "no link at rest");
        let invitation = by_id[&message.invitation_id];
        let salt = TokenSalt::from_stored(invitation.token_salt.as_deref().unwrap());
        let token = SurveyToken::derive(settings.token_key(), &salt);
        assert_eq!(invitation.token_hash, token.hash(), "the link is rebuilt from the salt and the key");
        assert_eq!((message.kind.as_str(), message.state.as_str()), ("invitation", "pending"));
    }
}

async fn adaptive_rates_move_towards_the_monthly_target(backend: Backend) {
    let world = world(backend).await;
    // History: 60 days ago a run saw 3,000 eligible TP:phone requests and 100 ENV:email ones
    // (so 1,500 and 50 a month); TP:phone invitations answered at 20 %.
    insert_completed_run(
        &world.db,
        now() - Duration::days(60),
        serde_json::json!([
            {"stratum": "TP:phone", "direction": "TP", "channel": "phone", "population": 3000, "eligible": 3000, "sampled": 300, "rate": 0.1, "rate_source": "default", "excluded": {}},
            {"stratum": "ENV:email", "direction": "ENV", "channel": "email", "population": 100, "eligible": 100, "sampled": 10, "rate": 0.1, "rate_source": "default", "excluded": {}}
        ]),
    )
    .await;
    let mut old = Vec::new();
    for i in 0..100 {
        let mut r = req(&format!("old-{i}"));
        r.closed_at = now() - Duration::hours(24 * 50);
        r.hash = Some(format!("old-hash-{i}"));
        old.push(r);
    }
    insert(&world, &old).await;
    let old_rows = service_request::Entity::find().all(&world.db).await.unwrap();
    for (i, row) in old_rows.iter().enumerate() {
        let old = InvitationRow::of(row, "TP:phone", 0.1, now() - Duration::days(45));
        let inv = insert_invitation(&world.db, InvitationRow { state: "sent", ..old }).await.unwrap();
        if i % 5 == 0 {
            let answer =
                response_row(row.direction_id, row.channel_id, "TP:phone", 9, 10.0, now() - Duration::days(44));
            insert_response(
                &world.db,
                satisfaction::db::entities::response::Model { invitation_id: Some(inv.id), ..answer },
            )
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

on_both_databases!(rates_per_stratum_are_honoured, adaptive_rates_move_towards_the_monthly_target);
