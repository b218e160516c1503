//! The checker's core, sans-IO: when each probe runs, what its results mean, and the
//! health of every real server that follows. Time comes in as `now`; probes go out through
//! [`Scheduler::poll_due`] and come back through [`Scheduler::report`].
//!
//! Timing: the first run of each probe is spread over its interval by a low-discrepancy
//! sequence, so a thousand probes with one interval never fire together; after a run the
//! next comes one interval later, or `retry_delay` later after a failure that has not yet
//! taken the probe down (keepalived's `delay_before_retry`).

use super::plan::{Plan, ProbeSpec};
use super::Outcome;
use crate::config::Config;
use crate::ipvs::desired::RealServerHealth;
use crate::rise_fall::RiseFall;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// A probe's state.
#[derive(Debug, Clone)]
pub struct Probe {
    pub spec: ProbeSpec,
    retry_delay: Duration,
    state: RiseFall,
    next: Instant,
    running: bool,
    /// The last result and how long it took.
    pub last: Option<(Outcome, Duration)>,
    /// The weight the last passing `dynamic` script set.
    weight: Option<u32>,
    /// The weight shift the last passing file check read.
    shift: i32,
    /// Runs so far.
    pub runs: u64,
    /// When the last run ended.
    pub ended: Option<Instant>,
}

impl Probe {
    /// True while the probe counts as passing.
    pub fn is_up(&self) -> bool {
        self.state.is_up()
    }

    /// The weight the last passing `dynamic` script set.
    pub fn weight(&self) -> Option<u32> {
        self.weight
    }

    /// The weight shift the last passing file check read (0 for other kinds).
    pub fn shift(&self) -> i32 {
        self.shift
    }
}

/// A probe that changed state, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub probe: usize,
    pub up: bool,
}

/// Every probe of a configuration and the real servers' health.
#[derive(Debug, Clone)]
pub struct Scheduler {
    probes: Vec<Probe>,
    uses: Vec<Vec<usize>>,
    /// Per probe: the real servers that use it (the reverse of `uses`).
    users: Vec<Vec<usize>>,
    /// (next run, probe) of every probe not running: the earliest first, so finding the
    /// due ones costs a heap operation each, not a scan of thousands of probes.
    due: BinaryHeap<Reverse<(Instant, usize)>>,
}

/// Where in its interval probe `i` first runs: the fractional part of `i` times the
/// golden ratio, which spreads any number of probes evenly.
fn offset(i: usize, interval: Duration) -> Duration {
    const PHI_FRACTION: f64 = 0.618_033_988_749_895;
    interval.mul_f64((i as f64 * PHI_FRACTION).fract())
}

impl Scheduler {
    /// The probes of `plan` for `config`, first runs spread over each one's interval from `now`.
    pub fn new(config: &Config, plan: Plan, now: Instant) -> Scheduler {
        let probes = plan
            .probes
            .iter()
            .zip(&plan.start_down)
            .enumerate()
            .map(|(i, (spec, down))| {
                let check = &config.checks[spec.check];
                Probe {
                    spec: *spec,
                    retry_delay: check.retry_delay,
                    state: RiseFall::new(check.rise, check.fall, !down),
                    next: now + offset(i, spec.interval),
                    running: false,
                    last: None,
                    weight: None,
                    shift: 0,
                    runs: 0,
                    ended: None,
                }
            })
            .collect();
        let mut users = vec![Vec::new(); plan.probes.len()];
        for (rs, probes) in plan.uses.iter().enumerate() {
            for &p in probes {
                users[p].push(rs);
            }
        }
        let mut sched = Scheduler { probes, uses: plan.uses, users, due: BinaryHeap::new() };
        sched.rebuild_due();
        sched
    }

    /// The scheduler for a reloaded configuration: a probe with the same check (by
    /// content), target and interval as one of `self` keeps its state, last result and
    /// timing; the others start as new ones do. A probe that was running is due at once:
    /// its result belongs to the old scheduler and is dropped.
    pub fn reloaded(&self, old: &Config, new: &Config, plan: Plan, now: Instant) -> Scheduler {
        let mut next = Scheduler::new(new, plan, now);
        for p in &mut next.probes {
            let same = |q: &&Probe| {
                q.spec.target == p.spec.target
                    && q.spec.interval == p.spec.interval
                    && old.checks[q.spec.check] == new.checks[p.spec.check]
            };
            if let Some(q) = self.probes.iter().find(same) {
                *p = Probe {
                    spec: p.spec,
                    running: false,
                    next: if q.running { now } else { q.next },
                    ..q.clone()
                };
            }
        }
        next.rebuild_due();
        next
    }

    fn rebuild_due(&mut self) {
        self.due = self
            .probes
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.running)
            .map(|(i, p)| Reverse((p.next, i)))
            .collect();
    }

    /// The probes.
    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    /// A probe due at `now`, marked running; call until `None`.
    pub fn poll_due(&mut self, now: Instant) -> Option<usize> {
        let &Reverse((at, i)) = self.due.peek()?;
        if at > now {
            return None;
        }
        self.due.pop();
        self.probes[i].running = true;
        Some(i)
    }

    /// When the next probe is due (none while every probe is running).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.due.peek().map(|&Reverse((at, _))| at)
    }

    /// The result of a run of probe `i` that started with [`Scheduler::poll_due`] and
    /// took `took`; the probe's state change, if any.
    pub fn report(&mut self, now: Instant, i: usize, outcome: Outcome, took: Duration) -> Option<Change> {
        // Only a running probe has a result coming; anything else is not its answer.
        let p = self.probes.get_mut(i).filter(|p| p.running)?;
        p.running = false;
        p.runs += 1;
        let passed = outcome.passed();
        match outcome {
            Outcome::Weight(w) => p.weight = Some(w),
            Outcome::Shift(s) => p.shift = s,
            _ => {}
        }
        let changed = p.state.record(passed);
        // A failure that has not yet taken the probe down is retried sooner.
        let wait = if !passed && p.state.is_up() { p.retry_delay } else { p.spec.interval };
        p.next = now + wait;
        self.due.push(Reverse((p.next, i)));
        p.last = Some((outcome, took));
        p.ended = Some(now);
        changed.then_some(Change { probe: i, up: p.state.is_up() })
    }

    /// The health of every real server: up when every probe it uses is up; a dynamic
    /// weight from the first of its probes that set one; the sum of their shifts.
    pub fn health(&self) -> Vec<RealServerHealth> {
        self.uses
            .iter()
            .map(|probes| RealServerHealth {
                up: probes.iter().all(|&i| self.probes[i].is_up()),
                weight: probes.iter().find_map(|&i| self.probes[i].weight),
                shift: probes.iter().map(|&i| self.probes[i].shift).fold(0i32, i32::saturating_add),
            })
            .collect()
    }

    /// The real servers (indices) that use probe `i`.
    pub fn users(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        self.users.get(i).into_iter().flatten().copied()
    }

    /// The probe whose last result speaks for real server `rs`: a failing one if any,
    /// else the one that ran last.
    pub fn speaking_for(&self, rs: usize) -> Option<&Probe> {
        let mine = || self.uses.get(rs).into_iter().flatten().map(|&i| &self.probes[i]);
        mine().find(|p| !p.is_up()).or_else(|| mine().filter(|p| p.last.is_some()).max_by_key(|p| p.ended))
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::plan;
    use super::*;
    use crate::ipvs::desired::tests::config;

    const ONE: &str = "
vs=virtual_server
vs.address=198.51.100.10
vs.port=80
a=real_server
a.virtual_server=vs
a.address=203.0.113.1
a.check=tcp
b=real_server
b.virtual_server=vs
b.address=203.0.113.2
tcp=check
tcp.type=tcp
tcp.interval=2s
tcp.timeout=1s
tcp.rise=2
tcp.fall=3
tcp.retry_delay=500ms
";

    fn scheduler(text: &str, now: Instant) -> (Config, Scheduler) {
        let c = config(text);
        let p = plan(&c);
        let s = Scheduler::new(&c, p, now);
        (c, s)
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn fall_after_retries_rise_after_intervals() {
        let t0 = Instant::now();
        let (_, mut s) = scheduler(ONE, t0);
        // Probe 0's offset is 0: due at once, and not again while running.
        assert_eq!(s.poll_due(t0), Some(0));
        assert_eq!(s.poll_due(t0), None);
        assert_eq!(s.poll_timeout(), None);
        assert_eq!(s.report(t0, 0, Outcome::Ok, MS), None);
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        // Failures: retried after 500 ms until the third takes it down.
        let mut t = t0 + Duration::from_secs(2);
        for n in 1..=3 {
            assert_eq!(s.poll_due(t), Some(0));
            let change = s.report(t, 0, Outcome::Refused, MS);
            if n < 3 {
                assert_eq!(change, None);
                assert_eq!(s.poll_timeout(), Some(t + 500 * MS), "retry {n}");
                t += 500 * MS;
            } else {
                assert_eq!(change, Some(Change { probe: 0, up: false }));
                // Down: back to the interval.
                assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(2)));
            }
        }
        let health = s.health();
        assert!(!health[0].up && health[1].up, "a down, b (no check) up: {health:?}");
        // Two passes in a row bring it back.
        t += Duration::from_secs(2);
        assert_eq!(s.poll_due(t), Some(0));
        assert_eq!(s.report(t, 0, Outcome::Ok, MS), None);
        t += Duration::from_secs(2);
        assert_eq!(s.poll_due(t), Some(0));
        assert_eq!(s.report(t, 0, Outcome::Ok, MS), Some(Change { probe: 0, up: true }));
        assert!(s.health()[0].up);
        assert_eq!(s.probes()[0].runs, 6);
        assert_eq!(s.probes()[0].last, Some((Outcome::Ok, MS)));
    }

    #[test]
    fn a_failure_between_passes_resets_the_fall_count() {
        let t0 = Instant::now();
        let (_, mut s) = scheduler(ONE, t0);
        for outcome in [Outcome::Timeout, Outcome::Timeout, Outcome::Ok, Outcome::Timeout, Outcome::Timeout] {
            let t = s.poll_timeout().unwrap();
            assert_eq!(s.poll_due(t), Some(0));
            assert_eq!(s.report(t, 0, outcome, MS), None);
        }
        assert!(s.health()[0].up);
    }

    #[test]
    fn alpha_starts_down_and_dynamic_weights_reach_the_health() {
        let text = ONE.replace("vs.port=80", "vs.port=80\nvs.alpha=1")
            + "s=check\ns.type=script\ns.command=true\ns.dynamic=1\ns.timeout=1s\ns.rise=1\n";
        let text = text.replace("b.address=203.0.113.2", "b.address=203.0.113.2\nb.check=s");
        let t0 = Instant::now();
        let (_, mut s) = scheduler(&text, t0);
        assert!(s.health().iter().all(|h| !h.up), "alpha: down until proven up");
        let t = t0 + Duration::from_secs(60);
        while let Some(i) = s.poll_due(t) {
            s.report(t, i, if i == 1 { Outcome::Weight(7) } else { Outcome::Ok }, MS);
        }
        let h = s.health();
        assert!(!h[0].up, "rise 2: one pass is not enough");
        assert_eq!((h[1].up, h[1].weight), (true, Some(7)));
    }

    #[test]
    fn a_thousand_probes_with_one_interval_are_spread_over_it() {
        let mut text = String::from(
            "vs=virtual_server\nvs.address=198.51.100.10\nvs.port=80\n\
             tcp=check\ntcp.type=tcp\ntcp.interval=1s\ntcp.timeout=500ms\n",
        );
        for i in 0..1000 {
            text += &format!(
                "r{i}=real_server\nr{i}.virtual_server=vs\nr{i}.address=10.{}.{}.1\nr{i}.check=tcp\n",
                i / 200,
                i % 200
            );
        }
        let t0 = Instant::now();
        let (_, mut s) = scheduler(&text, t0);
        assert_eq!(s.probes().len(), 1000);
        // Count the probes due in each 10 ms slot of the first second.
        let mut slots = [0usize; 100];
        for slot in 0..100 {
            let t = t0 + 10 * MS * (slot + 1);
            while s.poll_due(t).is_some() {
                slots[slot as usize] += 1;
            }
        }
        assert_eq!(slots.iter().sum::<usize>(), 1000);
        let busiest = *slots.iter().max().unwrap();
        assert!(busiest <= 12, "at most 12 of 1000 in any 10 ms (even: 10): {slots:?}");
    }

    #[test]
    fn a_reload_keeps_the_state_of_unchanged_probes() {
        let t0 = Instant::now();
        let (old_config, mut s) = scheduler(ONE, t0);
        for _ in 0..3 {
            let t = s.poll_timeout().unwrap();
            s.poll_due(t);
            s.report(t, 0, Outcome::Refused, MS);
        }
        assert!(!s.health()[0].up);
        // Same check, one more real server: the probe stays down.
        let text =
            ONE.to_owned() + "c=real_server\nc.virtual_server=vs\nc.address=203.0.113.3\nc.check=tcp\n";
        let new_config = config(&text);
        let r = s.reloaded(&old_config, &new_config, plan(&new_config), t0);
        assert_eq!(r.probes().len(), 2);
        assert!(!r.health()[0].up && r.health()[1].up && r.health()[2].up);
        assert_eq!(r.probes()[0].runs, 3);
        // A changed check starts afresh.
        let changed = config(&ONE.replace("tcp.fall=3", "tcp.fall=4"));
        let r = s.reloaded(&old_config, &changed, plan(&changed), t0);
        assert!(r.health()[0].up);
        assert_eq!(r.probes()[0].runs, 0);
    }

    #[test]
    fn a_report_for_an_unknown_probe_is_ignored() {
        let t0 = Instant::now();
        let (_, mut s) = scheduler(ONE, t0);
        assert_eq!(s.report(t0, 99, Outcome::Ok, MS), None);
        assert_eq!(s.users(0).collect::<Vec<_>>(), [0]);
    }
}
