//! The sampling job driven by a fixed clock, as the scheduler drives it by the real one: the
//! window, the run record and the rows it writes all take their time from the clock, and moving
//! the clock moves them. No `--now` is involved.

use std::sync::Arc;

use chrono::Duration;
use satisfaction::{
    clock::Clock,
    db::entities::{invitation, outbox, sampling_run},
    jobs::Jobs,
    sampling::{RunOptions, RunOutcome},
};
use sea_orm::EntityTrait;

use super::{insert, invited_crm_ids, now, req, settings, world};
use crate::factories::RequestRow;
use crate::helpers::Backend;
use crate::on_both_databases;

async fn a_run_takes_its_time_from_the_clock(backend: Backend) {
    let world = world(backend).await;
    // Closed one hour before "now": inside the 2-hour delay, so not yet in the frame.
    let fresh = RequestRow { closed_at: now() - Duration::hours(1), ..req("fresh") };
    insert(&world, &[fresh]).await;
    let settings = settings(&world, |f| f.merge(("sampling.default_rate", 1.0)));
    let clock = Clock::fixed(now());
    let jobs = Jobs::new(world.db.clone(), Arc::new(settings), clock.clone());

    let RunOutcome::Completed(first) = jobs.sample(RunOptions::default()).await.unwrap() else { panic!("skipped") };
    assert_eq!((first.as_of, first.population), (now(), 0), "too recent at {}", now());

    // Three hours later the request has waited long enough.
    clock.advance(Duration::hours(3));
    let RunOutcome::Completed(second) = jobs.sample(RunOptions::default()).await.unwrap() else { panic!("skipped") };
    assert_eq!((second.as_of, second.population, second.sampled), (now() + Duration::hours(3), 1, 1));
    assert_eq!(invited_crm_ids(&world).await.into_iter().collect::<Vec<_>>(), ["fresh"]);

    let run = sampling_run::Entity::find_by_id(second.run_id).one(&world.db).await.unwrap().unwrap();
    assert_eq!((run.started_at, run.as_of, run.finished_at), (clock.now(), clock.now(), Some(clock.now())));
    let invitation = invitation::Entity::find().one(&world.db).await.unwrap().unwrap();
    assert_eq!(invitation.created_at, clock.now());
    let message = outbox::Entity::find().one(&world.db).await.unwrap().unwrap();
    assert_eq!(message.next_attempt_at, clock.now(), "due at once, by the clock");

    // Fifteen days on, a request closed at the first "now" has left the 14-day window.
    insert(&world, &[RequestRow { closed_at: now() - Duration::hours(3), ..req("late") }]).await;
    clock.set(now() + Duration::days(15));
    let RunOutcome::Completed(third) = jobs.sample(RunOptions::default()).await.unwrap() else { panic!("skipped") };
    assert_eq!(third.population, 0, "out of the window as of {}", clock.now());
}

on_both_databases!(a_run_takes_its_time_from_the_clock);
