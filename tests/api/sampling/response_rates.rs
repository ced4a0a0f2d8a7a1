//! Response rates per stratum and overall, AAPOR RR1 and RR2.

use chrono::Duration;
use satisfaction::db::entities::{invitation, response};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};

use super::{World, insert, now, req, sample};
use crate::factories::{insert_response, response_row};
use crate::helpers::Backend;
use crate::on_both_databases;

async fn response_rates_follow_aapor(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let key = app.api_key().await;
    let world = World::on(&app.db).await;
    insert(&world, &(0..40).map(|i| req(&format!("RR-{i}"))).collect::<Vec<_>>()).await;
    let settings = satisfaction::config::Settings {
        sampling: satisfaction::config::SamplingSettings { default_rate: 1.0, ..app.jobs.settings.sampling.clone() },
        ..(*app.jobs.settings).clone()
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
            let answer = response_row(inv.direction_id, inv.channel_id, &inv.stratum, 8, 1.0, now());
            let completion = if i < 12 { "complete" } else { "partial" }.to_owned();
            insert_response(&app.db, response::Model { invitation_id: Some(inv.id), completion, ..answer })
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
