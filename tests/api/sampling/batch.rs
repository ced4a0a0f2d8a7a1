//! The batch write of a run on its own.

use std::collections::HashMap;

use satisfaction::{
    db::entities::{invitation, outbox, sampling_decision, service_request},
    domain::{SurveyToken, TokenSalt},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use super::{insert, now, req, world};
use crate::factories::RequestRow;
use crate::helpers::Backend;
use crate::on_both_databases;

/// The batch write on its own: typed probabilities kept to the last bit, the locale taken from the
/// request, an already invited request skipped without an outbox row, every decision recorded,
/// and a decision recorded twice refused (the whole batch rolled back).
async fn a_batch_writes_invitations_outbox_rows_and_decisions(backend: Backend) {
    use satisfaction::db::repo::sampling::{BatchStratum, NewInvitation, write_batch};
    use sea_orm::TransactionTrait;

    let world = world(backend).await;
    let english = RequestRow { channel: "email", locale: "en", ..req("B") };
    insert(&world, &[req("A"), english, req("C")]).await;
    let ids: HashMap<String, i64> =
        service_request::Entity::find().all(&world.db).await.unwrap().into_iter().map(|r| (r.crm_id, r.id)).collect();
    let run = satisfaction::db::repo::sampling::NewRun {
        started_at: now(),
        as_of: now(),
        seed: 7,
        dry_run: false,
        parameters: serde_json::json!({}),
    };
    let run_id = satisfaction::db::repo::sampling::start_run(&world.db, run).await.unwrap();
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
        let salt = TokenSalt::generate();
        let token = SurveyToken::derive(b"test key", &salt);
        NewInvitation {
            service_request_id: ids[crm],
            stratum,
            token_hash: token.hash(),
            token_salt: salt.as_str().to_owned(),
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
    assert_eq!(a.token_salt.as_deref(), Some(first[0].token_salt.as_str()), "the salt, not the link, is kept");
    assert_eq!(b.token_salt.as_deref(), Some(second[1].token_salt.as_str()));
    let messages = outbox::Entity::find().all(&world.db).await.unwrap();
    let kinds: HashMap<i64, (String, Option<String>)> =
        messages.iter().map(|m| (m.invitation_id, (m.kind.clone(), m.survey_link.clone()))).collect();
    assert_eq!(
        kinds,
        HashMap::from([(a.id, ("invitation".into(), None)), (b.id, ("invitation".into(), None))]),
        "one outbox row per created invitation, no link stored; none for the skipped one"
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

on_both_databases!(a_batch_writes_invitations_outbox_rows_and_decisions);
