//! Each eligibility rule excludes with its reason, and is counted in the run record.

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use satisfaction::{
    config::Settings,
    db::entities::{sampling_decision, service_request},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{insert, invited_crm_ids, now, req, sample, settings, world};
use crate::factories::{InvitationRow, insert_invitation, insert_opt_out};
use crate::helpers::Backend;
use crate::on_both_databases;

async fn each_eligibility_rule_is_applied_and_counted(backend: Backend) {
    let world = world(backend).await;
    // An earlier invitation of the "recent" contact, 30 days ago: quarantined.
    let mut earlier = req("earlier");
    earlier.hash = Some("hash-recent".into());
    earlier.closed_at = now() - Duration::hours(24 * 40);
    insert(&world, &[earlier]).await;
    let earlier_request = service_request::Entity::find().one(&world.db).await.unwrap().unwrap();
    let earlier = InvitationRow::of(&earlier_request, "TP:phone", 1.0, now() - Duration::days(30));
    insert_invitation(&world.db, InvitationRow { state: "sent", ..earlier }).await.unwrap();
    insert_opt_out(&world.db, "hash-opted", now()).await;

    let mut too_recent = req("too-recent");
    too_recent.closed_at = now() - Duration::hours(1);
    let mut too_old = req("too-old");
    too_old.closed_at = now() - Duration::hours(24 * 15);
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
    sibling_old.closed_at = now() - Duration::hours(48);
    let mut sibling_new = req("sibling-new");
    sibling_new.hash = Some("hash-sibling".into());
    sibling_new.closed_at = now() - Duration::hours(10);
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

on_both_databases!(each_eligibility_rule_is_applied_and_counted);
