//! The idle clock: has the user been away from the editor long enough to think?
//!
//! A pure state machine over instants the caller supplies, so tests drive it with a fake clock.
//! Activity (opening, editing, saving a file, any request) makes the user *active*; `idle_after`
//! without activity makes them *idle*. The server asks `next_deadline` when to look again and reports
//! each transition as a `reverie/status` notification; the sleep-time engine runs only while idle.

use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    Active,
    Idle,
}

#[derive(Clone, Debug)]
pub struct IdleClock {
    idle_after: Duration,
    last_activity: Instant,
    state: Activity,
}

impl IdleClock {
    /// A clock that starts active at `now`.
    pub fn new(idle_after: Duration, now: Instant) -> IdleClock {
        IdleClock { idle_after, last_activity: now, state: Activity::Active }
    }

    pub fn state(&self) -> Activity {
        self.state
    }

    pub fn idle_after(&self) -> Duration {
        self.idle_after
    }

    pub fn set_idle_after(&mut self, idle_after: Duration) {
        self.idle_after = idle_after;
    }

    /// Records user activity; returns the new state if it changed.
    pub fn activity(&mut self, now: Instant) -> Option<Activity> {
        self.last_activity = self.last_activity.max(now);
        self.transition(Activity::Active)
    }

    /// Re-evaluates at `now`; returns the new state if it changed.
    pub fn tick(&mut self, now: Instant) -> Option<Activity> {
        if self.state == Activity::Active && now.saturating_duration_since(self.last_activity) >= self.idle_after {
            return self.transition(Activity::Idle);
        }
        None
    }

    /// When `tick` could next change the state; `None` while idle (only activity changes it then).
    pub fn next_deadline(&self) -> Option<Instant> {
        (self.state == Activity::Active).then(|| self.last_activity + self.idle_after)
    }

    fn transition(&mut self, to: Activity) -> Option<Activity> {
        (self.state != to).then(|| {
            self.state = to;
            to
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goes_idle_after_the_quiet_period_and_back_on_activity() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut clock = IdleClock::new(20 * s, t0);
        assert_eq!(clock.tick(t0 + 19 * s), None);
        assert_eq!(clock.next_deadline(), Some(t0 + 20 * s));
        assert_eq!(clock.activity(t0 + 10 * s), None, "still active");
        assert_eq!(clock.tick(t0 + 21 * s), None, "activity at 10 s moved the deadline to 30 s");
        assert_eq!(clock.tick(t0 + 30 * s), Some(Activity::Idle));
        assert_eq!(clock.next_deadline(), None);
        assert_eq!(clock.tick(t0 + 99 * s), None);
        assert_eq!(clock.activity(t0 + 100 * s), Some(Activity::Active));
        assert_eq!(clock.next_deadline(), Some(t0 + 120 * s));
    }

    #[test]
    fn out_of_order_instants_never_move_activity_back() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut clock = IdleClock::new(5 * s, t0 + 10 * s);
        clock.activity(t0);
        assert_eq!(clock.tick(t0 + 12 * s), None);
        assert_eq!(clock.tick(t0 + 15 * s), Some(Activity::Idle));
    }
}
