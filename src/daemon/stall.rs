//! Where the event loop's time went when one turn of it was late. A turn that takes longer
//! than [`STALL`] is reported (at most once per [`QUIET`]) with its steps, so that an
//! operator whose backup took over from a live master can tell a busy box from a network
//! problem: "the VRRP loop was busy 612 ms (orders 0 ms, packets 0 ms, timers 611 ms,
//! publish 1 ms)". The kernel's RTNL lock, held by another process changing links or
//! routes, is the usual cause: adding or removing an address waits for it.

use std::time::{Duration, Instant};

/// A turn longer than this is reported: a tenth of the 1 s default advert interval, and
/// long enough that scheduling noise on a loaded box is not.
pub const STALL: Duration = Duration::from_millis(100);
/// At most one report in this long.
pub const QUIET: Duration = Duration::from_secs(10);

/// The steps of one turn of the loop.
pub struct Stalls {
    started: Instant,
    mark: Instant,
    steps: Vec<(&'static str, Duration)>,
    reported: Option<Instant>,
}

impl Stalls {
    pub fn new(now: Instant) -> Stalls {
        Stalls { started: now, mark: now, steps: Vec::with_capacity(6), reported: None }
    }

    /// A turn begins (the loop woke up) at `now`.
    pub fn begin(&mut self, now: Instant) {
        self.started = now;
        self.mark = now;
        self.steps.clear();
    }

    /// The step `name` ended at `now`.
    pub fn step(&mut self, name: &'static str, now: Instant) {
        self.steps.push((name, now.saturating_duration_since(self.mark)));
        self.mark = now;
    }

    /// The turn ended at `now`: the report when it was a stall and none went out lately.
    pub fn end(&mut self, now: Instant) -> Option<String> {
        let took = now.saturating_duration_since(self.started);
        if took < STALL || self.reported.is_some_and(|t| now < t + QUIET) {
            return None;
        }
        self.reported = Some(now);
        let steps: Vec<String> =
            self.steps.iter().map(|(n, d)| format!("{n} {} ms", d.as_millis())).collect();
        Some(format!("the VRRP loop was busy {} ms ({})", took.as_millis(), steps.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(s: &mut Stalls, t0: Instant, steps: &[(&'static str, u64)]) -> Option<String> {
        s.begin(t0);
        let mut at = t0;
        for &(name, ms) in steps {
            at += Duration::from_millis(ms);
            s.step(name, at);
        }
        s.end(at)
    }

    #[test]
    fn a_short_turn_says_nothing() {
        let t0 = Instant::now();
        let mut s = Stalls::new(t0);
        assert_eq!(turn(&mut s, t0, &[("packets", 30), ("timers", 69)]), None);
    }

    #[test]
    fn a_long_turn_names_its_steps_once_per_quiet_period() {
        let t0 = Instant::now();
        let mut s = Stalls::new(t0);
        let long = [("orders", 0), ("packets", 2), ("timers", 611), ("publish", 1)];
        assert_eq!(
            turn(&mut s, t0, &long).as_deref(),
            Some("the VRRP loop was busy 614 ms (orders 0 ms, packets 2 ms, timers 611 ms, publish 1 ms)")
        );
        assert_eq!(turn(&mut s, t0 + Duration::from_secs(1), &long), None);
        assert!(turn(&mut s, t0 + QUIET, &long).is_some());
    }
}
