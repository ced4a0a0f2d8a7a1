//! Where time comes from. Jobs and services take a `Clock` and ask it; they never read the
//! system time themselves, so reminders, expiry, back-off, sessions and lock-outs can be tested
//! at any instant. Repositories take times as arguments.
//!
//! `Clock::system()` is the real time; `Clock::fixed(t)` stands still until a test moves it
//! with `advance` or `set`. Clones share the same time, so a test holding one clone moves the
//! clock of the application it built with another.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    Fixed(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    pub fn system() -> Clock {
        Clock(Source::System)
    }

    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock(Source::Fixed(Arc::new(Mutex::new(at))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            Source::System => Utc::now(),
            Source::Fixed(at) => *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Move a fixed clock forward (or back, with a negative duration). A system clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Source::Fixed(at) = &self.0 {
            let mut guard = at.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            *guard += by;
        }
    }

    /// Put a fixed clock at `to`. A system clock ignores it.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Source::Fixed(at) = &self.0 {
            *at.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
        }
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::System => f.write_str("Clock::system"),
            Source::Fixed(_) => write!(f, "Clock::fixed({})", self.now().to_rfc3339()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_moves_only_when_told_and_clones_share_it() {
        let start: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        let clock = Clock::fixed(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::days(3));
        assert_eq!(clock.now(), start + Duration::days(3));
        clock.set(start);
        assert_eq!(shared.now(), start);
    }

    #[test]
    fn the_system_clock_follows_real_time() {
        let clock = Clock::system();
        let before = Utc::now();
        clock.advance(Duration::days(1));
        let now = clock.now();
        assert!(now >= before && now - before < Duration::minutes(1));
    }
}
