//! The state machine walked through RFC 9568 section 6.4 (and RFC 3768's v2 rules) with
//! explicit clocks.

use super::*;
use crate::vrrp::packet::TTL;
use proptest::prelude::*;

const SEC: Duration = Duration::from_secs(1);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn params(version: Version, priority: u8) -> Params {
    Params {
        vrid: 51,
        version,
        priority,
        advert_int: SEC,
        addresses: [ip("192.0.2.100")].into_iter().collect(),
        preempt: true,
        preempt_delay: Duration::ZERO,
        auth: None,
        garp_delay: Duration::ZERO,
        garp_refresh: Duration::ZERO,
        strict: false,
        lower_prio_no_advert: false,
        accept_ttl: TTL..=TTL,
    }
}

/// A test bench: an instance, a clock, and the actions it produced.
struct Bench {
    vr: Instance,
    t0: Instant,
    now: Instant,
}

impl Bench {
    fn new(p: Params) -> Bench {
        Bench::tracked(p, &[])
    }

    fn tracked(p: Params, tracked: &[Tracked]) -> Bench {
        let t0 = Instant::now();
        let mut vr = Instance::new(p, tracked);
        vr.set_primary(Some(ip("192.0.2.10")));
        Bench { vr, t0, now: t0 }
    }

    fn at(&mut self, d: Duration) -> &mut Self {
        self.now = self.t0 + d;
        self
    }

    fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.vr.poll_action()).collect()
    }

    fn started(mut self) -> Bench {
        self.vr.start(self.now);
        self.actions();
        self
    }

    /// Fires every timer due up to `d` from t0, in order.
    fn run_until(&mut self, d: Duration) -> Vec<Action> {
        let end = self.t0 + d;
        let mut out = Vec::new();
        while let Some(t) = self.vr.poll_timeout().filter(|&t| t <= end) {
            self.now = t;
            self.vr.handle_timeout(t);
            out.extend(self.actions());
        }
        self.now = end;
        out
    }

    fn advert(&mut self, src: &str, priority: u8, interval: u16) -> Vec<Action> {
        let mut a = self.vr.advert(priority);
        a.interval = interval;
        self.vr.handle_advert(self.now, ip(src), TTL, &a);
        self.actions()
    }

    fn master(p: Params) -> Bench {
        let mut b = Bench::new(p).started();
        b.run_until(4 * SEC);
        assert_eq!(b.vr.state(), State::Master);
        b
    }
}

fn transition(from: State, to: State, reason: Reason) -> Action {
    Action::Transition { from, to, reason }
}

fn becoming_master(from: State, reason: Reason, priority: u8) -> Vec<Action> {
    vec![
        transition(from, State::Master, reason),
        Action::SendAdvert { priority },
        Action::AddVips,
        Action::Announce,
    ]
}

#[test]
fn startup_backup_then_master_down() {
    let mut b = Bench::new(params(Version::V3, 100));
    b.vr.start(b.now);
    assert_eq!(b.actions(), vec![transition(State::Initialize, State::Backup, Reason::Startup)]);
    // Master_Down_Interval = 3 * 1 s + (256 - 100) / 256 s.
    let down = b.t0 + Duration::from_nanos(3_609_375_000);
    assert_eq!(b.vr.poll_timeout(), Some(down));
    assert_eq!(b.run_until(Duration::from_millis(3609)), vec![]);
    let acts = b.run_until(Duration::from_millis(3610));
    assert_eq!(acts, becoming_master(State::Backup, Reason::MasterDown, 100));
    assert_eq!(b.vr.counters().became_master, 1);
    // Then one advert per interval.
    let acts = b.run_until(Duration::from_millis(6610));
    assert_eq!(acts, vec![Action::SendAdvert { priority: 100 }; 3]);
}

#[test]
fn owner_starts_as_master() {
    let mut b = Bench::new(params(Version::V3, 255));
    b.vr.start(b.now);
    assert_eq!(b.actions(), becoming_master(State::Initialize, Reason::Owner, 255));
    assert_eq!(b.vr.poll_timeout(), Some(b.t0 + SEC));
}

#[test]
fn startup_with_link_down_is_fault_and_recovers() {
    let mut b = Bench::new(params(Version::V3, 100));
    b.vr.set_link(b.now, false);
    b.vr.start(b.now);
    assert_eq!(b.actions(), vec![transition(State::Initialize, State::Fault, Reason::Fault)]);
    assert_eq!(b.vr.poll_timeout(), None);
    b.at(SEC);
    b.vr.set_link(b.now, true);
    assert_eq!(b.actions(), vec![transition(State::Fault, State::Backup, Reason::Recovered)]);
}

#[test]
fn backup_priority_zero_shortens_to_skew_time() {
    let mut b = Bench::new(params(Version::V3, 100)).started();
    b.at(SEC);
    b.advert("192.0.2.20", 0, 100);
    // Skew_Time = 156/256 s after the priority-0 advert.
    assert_eq!(b.vr.poll_timeout(), Some(b.t0 + SEC + Duration::from_nanos(609_375_000)));
    assert_eq!(b.vr.counters().priority_zero_rx, 1);
    let acts = b.run_until(Duration::from_millis(1610));
    assert_eq!(acts, becoming_master(State::Backup, Reason::MasterDown, 100));
}

#[test]
fn backup_learns_master_interval_v3() {
    let mut b = Bench::new(params(Version::V3, 100)).started();
    b.at(SEC);
    b.advert("192.0.2.20", 200, 50);
    // Master_Adver_Interval 500 ms: 3 * 0.5 s + 156/256 * 0.5 s.
    assert_eq!(b.vr.poll_timeout(), Some(b.t0 + SEC + Duration::from_nanos(1_804_687_500)));
    assert_eq!(b.vr.master(), Some((ip("192.0.2.20"), 200)));
}

#[test]
fn backup_keeps_higher_and_equal_masters() {
    for priority in [200, 100] {
        let mut b = Bench::new(params(Version::V3, 100)).started();
        for s in 1..10 {
            b.at(s * SEC);
            assert_eq!(b.advert("192.0.2.20", priority, 100), vec![]);
        }
        assert_eq!(b.run_until(12 * SEC), vec![], "priority {priority}: backup must stay");
        assert_eq!(b.vr.state(), State::Backup);
    }
}

#[test]
fn backup_preempts_lower_master() {
    let mut b = Bench::new(params(Version::V3, 100)).started();
    b.at(SEC);
    b.advert("192.0.2.20", 50, 100);
    // The lower advert is discarded: the startup timer still runs out at 3.609 s.
    assert_eq!(b.vr.poll_timeout(), Some(b.t0 + Duration::from_nanos(3_609_375_000)));
    b.at(2 * SEC);
    b.advert("192.0.2.20", 50, 100);
    assert_eq!(b.run_until(4 * SEC), becoming_master(State::Backup, Reason::MasterDown, 100));
}

#[test]
fn backup_without_preempt_keeps_lower_master() {
    let mut b = Bench::new(Params { preempt: false, ..params(Version::V3, 100) }).started();
    for s in 1..10 {
        b.at(s * SEC);
        b.advert("192.0.2.20", 50, 100);
    }
    assert_eq!(b.run_until(12 * SEC), vec![]);
    assert_eq!(b.vr.state(), State::Backup);
}

#[test]
fn preempt_delay_tolerates_a_lower_master_for_a_while() {
    let p = Params { preempt_delay: 5 * SEC, ..params(Version::V3, 100) };
    let mut b = Bench::new(p).started();
    for s in 1..=5 {
        b.at(s * SEC);
        b.advert("192.0.2.20", 50, 100);
    }
    // At 5 s the delay from startup has passed: that advert was discarded; the timer set
    // at 4 s runs out at 7.609 s.
    assert_eq!(b.vr.state(), State::Backup);
    assert_eq!(b.run_until(7 * SEC), vec![]);
    b.at(Duration::from_millis(7500));
    b.advert("192.0.2.20", 50, 100);
    assert_eq!(b.run_until(8 * SEC), becoming_master(State::Backup, Reason::MasterDown, 100));
}

/// Routed unicast: `min_ttl` / `max_ttl` replace the "255 only" rule, both ends included.
#[test]
fn a_ttl_range_admits_adverts_that_crossed_routers() {
    let routed = Params { accept_ttl: 200..=250, ..params(Version::V3, 100) };
    let mut b = Bench::new(routed).started();
    b.at(SEC);
    let higher = b.vr.advert(200);
    for ttl in [255, 199, 251, 1] {
        b.vr.handle_advert(b.now, ip("192.0.2.20"), ttl, &higher);
    }
    assert_eq!(b.vr.counters().discard_ttl, 4);
    assert_eq!(b.vr.counters().adverts_rx, 0);
    for ttl in [200, 250, 225] {
        b.vr.handle_advert(b.now, ip("192.0.2.20"), ttl, &higher);
    }
    assert_eq!((b.vr.counters().adverts_rx, b.vr.counters().discard_ttl), (3, 4));
    // Taken adverts hold the backup: no takeover while they keep coming.
    for n in 2..8 {
        assert!(b.run_until(n * SEC).is_empty());
        b.vr.handle_advert(b.now, ip("192.0.2.20"), 230, &higher);
    }
    assert_eq!(b.vr.state(), State::Backup);
}

#[test]
fn receive_checks_count_discards() {
    let strict = Params { auth: Some(*b"secret\0\0"), strict: true, ..params(Version::V2, 100) };
    let mut b = Bench::new(strict).started();
    b.at(SEC);
    let good = b.vr.advert(200);
    let cases: Vec<(Repr, u8, Discard)> = vec![
        (good.clone(), 254, Discard::Ttl),
        (Repr { version: Version::V3, ..good.clone() }, TTL, Discard::Version),
        (Repr { vrid: 52, ..good.clone() }, TTL, Discard::Vrid),
        (Repr { auth: Auth::None, ..good.clone() }, TTL, Discard::Auth),
        (Repr { auth: Auth::SimpleText(*b"guess\0\0\0"), ..good.clone() }, TTL, Discard::Auth),
        (Repr { interval: 2, ..good.clone() }, TTL, Discard::Interval),
        (
            Repr { addresses: [ip("192.0.2.99")].into_iter().collect(), ..good.clone() },
            TTL,
            Discard::AddressList,
        ),
        (Repr { addresses: Fixed::new(), ..good.clone() }, TTL, Discard::AddressList),
    ];
    for (advert, ttl, _) in &cases {
        b.vr.handle_advert(b.now, ip("192.0.2.20"), *ttl, advert);
    }
    let report = Action::AddressListDiffers { src: ip("192.0.2.20"), theirs: 1, strict: true };
    assert_eq!(b.actions(), vec![report]);
    let c = b.vr.counters();
    let expected = Counters {
        discard_ttl: 1,
        discard_version: 1,
        discard_vrid: 1,
        discard_auth: 2,
        discard_interval: 1,
        discard_address_list: 2,
        ..Counters::default()
    };
    assert_eq!(c, &expected);
    // None of them held off the master-down timer.
    assert_eq!(b.run_until(4 * SEC), becoming_master(State::Backup, Reason::MasterDown, 100));
    // The owner's advert is accepted even with other addresses.
    let mut owner = b.vr.advert(255);
    owner.addresses = [ip("192.0.2.99")].into_iter().collect();
    b.vr.handle_advert(b.now, ip("192.0.2.20"), TTL, &owner);
    assert_eq!(b.vr.state(), State::Backup);
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let mut b = Bench::master(params(Version::V3, 100));
    b.at(Duration::from_millis(4300));
    assert_eq!(b.advert("192.0.2.20", 0, 100), vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(b.vr.poll_timeout(), Some(b.now + SEC));
}

#[test]
fn master_yields_to_higher_priority_and_learns_its_interval() {
    let mut b = Bench::master(params(Version::V3, 100));
    b.at(Duration::from_millis(4300));
    let acts = b.advert("192.0.2.20", 150, 200);
    assert_eq!(acts, vec![transition(State::Master, State::Backup, Reason::Preempted), Action::RemoveVips]);
    // Master_Adver_Interval 2 s: 6 s + 156/256 * 2 s.
    assert_eq!(b.vr.poll_timeout(), Some(b.now + Duration::from_nanos(7_218_750_000)));
}

#[test]
fn equal_priority_breaks_on_the_primary_address() {
    // Local primary is 192.0.2.10: a higher sender wins, a lower one is told off.
    let mut b = Bench::master(params(Version::V3, 100));
    b.at(Duration::from_millis(4300));
    let acts = b.advert("192.0.2.5", 100, 100);
    assert_eq!(acts, vec![Action::SendAdvert { priority: 100 }, Action::AnnounceToLower]);
    assert_eq!(b.vr.state(), State::Master);
    let acts = b.advert("192.0.2.20", 100, 100);
    assert_eq!(acts, vec![transition(State::Master, State::Backup, Reason::Preempted), Action::RemoveVips]);
}

#[test]
fn split_brain_winner_reannounces() {
    let mut b = Bench::master(params(Version::V3, 200));
    b.at(Duration::from_millis(4300));
    // The other side still thinks it is master, with a lower priority.
    let acts = b.advert("192.0.2.20", 100, 100);
    assert_eq!(acts, vec![Action::SendAdvert { priority: 200 }, Action::AnnounceToLower]);
    assert_eq!(b.vr.poll_timeout(), Some(b.now + SEC));
}

#[test]
fn lower_prio_no_advert_answers_with_announcements_only() {
    let mut b = Bench::master(Params { lower_prio_no_advert: true, ..params(Version::V3, 200) });
    b.at(Duration::from_millis(4300));
    let next = b.vr.poll_timeout();
    assert_eq!(b.advert("192.0.2.20", 100, 100), vec![Action::AnnounceToLower]);
    // The advert schedule is untouched: the next one goes out when it was due.
    assert_eq!(b.vr.poll_timeout(), next);
    assert_eq!(b.vr.state(), State::Master);
}

#[test]
fn shutdown_sends_priority_zero_and_releases() {
    let mut b = Bench::master(params(Version::V3, 100));
    b.at(5 * SEC);
    b.vr.shutdown(b.now);
    let acts = b.actions();
    assert_eq!(
        acts,
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            transition(State::Master, State::Initialize, Reason::Shutdown),
        ]
    );
    assert_eq!(b.vr.counters().priority_zero_tx, 1);
    assert_eq!(b.vr.poll_timeout(), None);
    // A backup just stops.
    let mut b = Bench::new(params(Version::V3, 100)).started();
    b.vr.shutdown(b.now);
    assert_eq!(b.actions(), vec![transition(State::Backup, State::Initialize, Reason::Shutdown)]);
}

#[test]
fn link_down_in_master_releases_then_recovers() {
    let mut b = Bench::master(params(Version::V3, 100));
    b.at(5 * SEC);
    b.vr.set_link(b.now, false);
    assert_eq!(
        b.actions(),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            transition(State::Master, State::Fault, Reason::Fault),
        ]
    );
    assert_eq!(b.run_until(20 * SEC), vec![]);
    b.vr.set_link(b.now, true);
    assert_eq!(b.actions(), vec![transition(State::Fault, State::Backup, Reason::Recovered)]);
    // The owner recovers straight to master.
    let mut b = Bench::master(params(Version::V3, 255));
    b.vr.set_link(b.now, false);
    b.actions();
    b.vr.set_link(b.now, true);
    assert_eq!(b.actions(), becoming_master(State::Fault, Reason::Recovered, 255));
}

#[test]
fn tracked_objects_adjust_priority_or_fault() {
    let tracked = [
        Tracked { weight: Some(-60), up: true },
        Tracked { weight: Some(20), up: true },
        Tracked { weight: None, up: true },
    ];
    let mut b = Bench::tracked(params(Version::V3, 100), &tracked);
    assert_eq!(b.vr.effective_priority(), 120);
    b.vr.set_tracked(b.now, 0, false);
    assert_eq!(b.vr.effective_priority(), 60);
    b.vr.set_tracked(b.now, 1, false);
    assert_eq!(b.vr.effective_priority(), 40);
    b.vr.start(b.now);
    b.run_until(5 * SEC);
    assert_eq!(b.vr.advert(b.vr.effective_priority()).priority, 40);
    b.vr.set_tracked(b.now, 2, false);
    assert_eq!(b.vr.state(), State::Fault);
    // Clamped to 1..254; the owner stays 255.
    let low = Bench::tracked(params(Version::V3, 10), &[Tracked { weight: Some(-200), up: false }]);
    assert_eq!(low.vr.effective_priority(), 1);
    let high = Bench::tracked(params(Version::V3, 250), &[Tracked { weight: Some(200), up: true }]);
    assert_eq!(high.vr.effective_priority(), 254);
    let owner = Bench::tracked(params(Version::V3, 255), &[Tracked { weight: Some(-50), up: false }]);
    assert_eq!(owner.vr.effective_priority(), 255);
}

#[test]
fn gratuitous_arp_second_burst_and_refresh() {
    let p = Params { garp_delay: 5 * SEC, garp_refresh: 60 * SEC, ..params(Version::V3, 255) };
    let mut b = Bench::new(p);
    b.vr.start(b.now);
    b.actions();
    let announces = |acts: &[Action]| acts.iter().filter(|a| **a == Action::Announce).count();
    assert_eq!(announces(&b.run_until(4 * SEC)), 0);
    assert_eq!(announces(&b.run_until(5 * SEC)), 1);
    assert_eq!(announces(&b.run_until(64 * SEC)), 0);
    assert_eq!(announces(&b.run_until(65 * SEC)), 1);
    assert_eq!(announces(&b.run_until(125 * SEC)), 1);
}

#[test]
fn v2_uses_the_configured_interval_only() {
    let mut b = Bench::new(params(Version::V2, 100)).started();
    b.at(SEC);
    // Same interval: accepted, timer reset to 3 s + skew.
    b.advert("192.0.2.20", 200, 1);
    assert_eq!(b.vr.poll_timeout(), Some(b.now + Duration::from_nanos(3_609_375_000)));
    assert_eq!(b.vr.counters().adverts_rx, 1);
}

/// Inputs for the random walk.
#[derive(Debug, Clone)]
enum Step {
    Wait(u16),
    Advert { from_high: bool, priority: u8 },
    Link(bool),
    Track(usize, bool),
    Shutdown,
    Start,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u16..5000).prop_map(Step::Wait),
        (any::<bool>(), any::<u8>()).prop_map(|(from_high, priority)| Step::Advert { from_high, priority }),
        any::<bool>().prop_map(Step::Link),
        (0usize..3, any::<bool>()).prop_map(|(i, up)| Step::Track(i, up)),
        Just(Step::Shutdown),
        Just(Step::Start),
    ]
}

proptest! {
    /// Whatever happens, addresses are held exactly while master, a running instance
    /// always has a timer, and adverts carry priority 0 only when giving up mastership.
    #[test]
    fn addresses_follow_mastership(priority in 1u8..=255, preempt in any::<bool>(), steps in proptest::collection::vec(step(), 1..60)) {
        let tracked = [
            Tracked { weight: Some(-30), up: true },
            Tracked { weight: None, up: true },
            Tracked { weight: Some(10), up: false },
        ];
        let mut b = Bench::tracked(Params { preempt, ..params(Version::V3, priority) }, &tracked);
        b.vr.start(b.now);
        let mut held = false;
        let mut elapsed = Duration::ZERO;
        for s in steps {
            let mut acts = Vec::new();
            match s {
                Step::Wait(ms) => {
                    elapsed += Duration::from_millis(u64::from(ms));
                    acts.extend(b.actions());
                    acts.extend(b.run_until(elapsed));
                }
                Step::Advert { from_high, priority } => {
                    let src = if from_high { "192.0.2.20" } else { "192.0.2.5" };
                    let a = b.vr.advert(priority);
                    b.vr.handle_advert(b.now, ip(src), TTL, &a);
                }
                Step::Link(up) => b.vr.set_link(b.now, up),
                Step::Track(i, up) => b.vr.set_tracked(b.now, i, up),
                Step::Shutdown => b.vr.shutdown(b.now),
                Step::Start => b.vr.start(b.now),
            }
            acts.extend(b.actions());
            for a in &acts {
                match a {
                    Action::AddVips => { prop_assert!(!held); held = true; }
                    Action::RemoveVips => { prop_assert!(held); held = false; }
                    Action::SendAdvert { priority: 0 } => prop_assert!(held, "priority 0 only from a master"),
                    _ => {}
                }
            }
            prop_assert_eq!(held, b.vr.state() == State::Master);
            if matches!(b.vr.state(), State::Master | State::Backup) {
                prop_assert!(b.vr.poll_timeout().is_some());
            }
        }
    }
}

#[test]
fn sync_group_orders() {
    let mut b = Bench::new(params(Version::V3, 100)).started();
    b.vr.force_master(b.now);
    assert_eq!(b.actions(), becoming_master(State::Backup, Reason::SyncGroup, 100));
    b.vr.force_backup(b.now);
    assert_eq!(
        b.actions(),
        vec![transition(State::Master, State::Backup, Reason::SyncGroup), Action::RemoveVips]
    );
    b.vr.set_group_fault(b.now, true);
    assert_eq!(b.actions(), vec![transition(State::Backup, State::Fault, Reason::Fault)]);
    assert!(b.vr.group_fault() && !b.vr.own_fault());
    // Orders that do not fit the state are ignored.
    b.vr.force_master(b.now);
    assert_eq!(b.actions(), vec![]);
    b.vr.set_group_fault(b.now, false);
    assert_eq!(b.actions(), vec![transition(State::Fault, State::Backup, Reason::Recovered)]);
}

#[test]
fn yield_steps_down_with_priority_zero_and_stays_backup_until_it_ends() {
    let mut b = Bench::master(params(Version::V3, 200));
    b.at(5 * SEC);
    b.vr.set_hold(b.now, Some(Hold::Until(b.t0 + 20 * SEC)));
    assert_eq!(
        b.actions(),
        vec![
            Action::SendAdvert { priority: 0 },
            transition(State::Master, State::Backup, Reason::Operator),
            Action::RemoveVips,
        ]
    );
    // A lower-priority master took over: while yielding, it is not preempted, and with
    // no master at all this router still waits for the yield to end.
    b.at(6 * SEC);
    assert_eq!(b.advert("192.0.2.20", 100, 100), vec![]);
    assert_eq!(b.run_until(19 * SEC), vec![]);
    assert_eq!(b.vr.hold(b.now), Some(Hold::Until(b.t0 + 20 * SEC)));
    // The yield ends: nobody advertised since 6 s, so Master_Down_Timer has run out.
    assert_eq!(b.run_until(20 * SEC), becoming_master(State::Backup, Reason::MasterDown, 200));
    assert_eq!(b.vr.hold(b.now), None);
}

#[test]
fn after_a_yield_preemption_takes_mastership_back() {
    let mut b = Bench::master(params(Version::V3, 200));
    b.vr.set_hold(b.now, Some(Hold::Until(b.now + 10 * SEC)));
    b.actions();
    for s in 5..20 {
        b.at(s * SEC);
        let acts = b.advert("192.0.2.20", 100, 100);
        if s < 14 {
            assert_eq!(acts, vec![], "{s} s: yielding");
        }
        b.run_until(s * SEC);
    }
    // Lower adverts are discarded from 14 s: master again 3.2 s later.
    assert_eq!(b.vr.state(), State::Master);
}

#[test]
fn hold_keeps_an_owner_and_a_sync_group_member_backup_until_released() {
    let mut b = Bench::new(params(Version::V3, 255));
    b.vr.set_hold(b.now, Some(Hold::Indefinite));
    b.vr.start(b.now);
    assert_eq!(b.actions(), vec![transition(State::Initialize, State::Backup, Reason::Startup)]);
    b.vr.force_master(b.now);
    assert_eq!(b.run_until(60 * SEC), vec![]);
    assert_eq!(b.vr.state(), State::Backup);
    b.vr.set_hold(b.now, None);
    // Master_Down_Timer kept running while held: mastership within one interval of it.
    assert_eq!(b.run_until(63 * SEC)[..4], becoming_master(State::Backup, Reason::MasterDown, 255));
}

#[test]
fn reconfigure_keeps_a_master_advertising_on_time() {
    let mut b = Bench::master(params(Version::V3, 100));
    let next = b.vr.poll_timeout().unwrap();
    let p = Params {
        priority: 150,
        addresses: [ip("192.0.2.101")].into_iter().collect(),
        ..params(Version::V3, 100)
    };
    b.vr.reconfigure(b.now, p, &[]);
    assert_eq!(b.actions(), vec![]);
    assert_eq!(b.vr.state(), State::Master);
    assert_eq!(b.vr.poll_timeout(), Some(next));
    assert_eq!(b.vr.effective_priority(), 150);
    assert_eq!(b.vr.advert(150).addresses.as_slice(), &[ip("192.0.2.101")]);
    // A shorter interval applies at once.
    let fast = Params { advert_int: Duration::from_millis(100), ..params(Version::V3, 100) };
    b.vr.reconfigure(b.now, fast, &[]);
    assert_eq!(b.vr.poll_timeout(), Some(b.now + Duration::from_millis(100)));
}

#[test]
fn reconfigure_with_a_required_tracked_object_down_is_fault() {
    let mut b = Bench::master(params(Version::V3, 100));
    b.vr.reconfigure(b.now, params(Version::V3, 100), &[Tracked { weight: None, up: false }]);
    assert_eq!(
        b.actions(),
        vec![
            Action::SendAdvert { priority: 0 },
            Action::RemoveVips,
            transition(State::Master, State::Fault, Reason::Fault)
        ]
    );
}

#[test]
fn max_adver_int_zero_is_discarded_in_every_state() {
    // Interval 0 would make Master_Down_Interval 0: one such advert, one flap.
    let mut b = Bench::new(params(Version::V3, 100)).started();
    assert_eq!(b.advert("192.0.2.20", 200, 0), vec![]);
    assert_eq!(b.vr.counters().discard_interval, 1);
    assert_eq!(b.vr.master(), None, "a discarded advert names no master");
    let mut b = Bench::master(params(Version::V3, 100));
    b.at(Duration::from_millis(4300));
    assert_eq!(b.advert("192.0.2.20", 200, 0), vec![]);
    assert_eq!((b.vr.state(), b.vr.counters().discard_interval), (State::Master, 1));
}

/// Counts what a master sent while `flood` adverts from 192.0.2.20 arrived every 10 ms for
/// 2 s (with its own timers running in between).
fn flooded(priority: u8) -> (usize, usize) {
    flooded_with(params(Version::V3, 200), priority)
}

fn flooded_with(p: Params, priority: u8) -> (usize, usize) {
    let mut b = Bench::master(p);
    let mut acts = Vec::new();
    for i in 0..200u64 {
        acts.extend(b.run_until(Duration::from_millis(4300 + 10 * i)));
        acts.extend(b.advert("192.0.2.20", priority, 100));
    }
    acts.extend(b.run_until(Duration::from_millis(6300)));
    assert_eq!(b.vr.state(), State::Master);
    let adverts = acts.iter().filter(|a| matches!(a, Action::SendAdvert { .. })).count();
    let announces = acts.iter().filter(|a| **a == Action::AnnounceToLower).count();
    (adverts, announces)
}

#[test]
fn a_flood_of_lower_priority_adverts_is_answered_once_per_interval() {
    // 2 s at a 1 s interval: 2 or 3 scheduled adverts and at most 3 answers, each with
    // its announcement (before the limit: 200 of each).
    let (adverts, announces) = flooded(100);
    assert!(adverts <= 5 && (1..=3).contains(&announces), "{adverts} adverts, {announces} announcements");
}

#[test]
fn with_lower_prio_no_advert_a_flood_gets_only_the_scheduled_adverts() {
    let (adverts, announces) =
        flooded_with(Params { lower_prio_no_advert: true, ..params(Version::V3, 200) }, 100);
    assert!(
        (2..=3).contains(&adverts) && (1..=3).contains(&announces),
        "{adverts} adverts, {announces} announcements"
    );
}

#[test]
fn a_flood_of_priority_zero_adverts_is_answered_once_per_interval() {
    let (adverts, announces) = flooded(0);
    assert!(adverts <= 5 && announces == 0, "{adverts} adverts, {announces} announcements");
}

#[test]
fn a_master_pushed_back_by_an_advert_waits_its_own_master_down_interval() {
    // A higher priority claiming a 10 ms interval, once: the learned interval would make
    // Master_Down_Interval 30 ms + skew; the router waits its own (3 s + 56/256 s).
    let mut b = Bench::master(params(Version::V3, 200));
    b.at(Duration::from_millis(4300));
    let acts = b.advert("192.0.2.20", 255, 1);
    assert_eq!(acts, vec![transition(State::Master, State::Backup, Reason::Preempted), Action::RemoveVips]);
    let own = Duration::from_nanos(3_218_750_000);
    assert_eq!(b.run_until(Duration::from_millis(4300) + own - Duration::from_millis(1)), vec![]);
    let acts = b.run_until(Duration::from_millis(4300) + own);
    assert_eq!(acts, becoming_master(State::Backup, Reason::MasterDown, 200));
}

#[test]
fn hostile_adverts_cannot_make_a_router_flap_faster_than_its_own_timers() {
    // Priority 255 and priority 0 in turn, every 10 ms for 10 s, each claiming 10 ms: at
    // most one step-down and one takeover per own Master_Down_Interval (3.2 s).
    let mut b = Bench::master(params(Version::V3, 200));
    let mut transitions = 0;
    for i in 0..1000u64 {
        let at = Duration::from_millis(4300 + 10 * i);
        let acts = b.run_until(at);
        let more = b.advert("192.0.2.20", if i % 2 == 0 { 255 } else { 0 }, 1);
        transitions += acts.iter().chain(&more).filter(|a| matches!(a, Action::Transition { .. })).count();
    }
    assert!(transitions <= 2 * 4, "{transitions} transitions in 10 s");
}

#[test]
fn another_address_list_counts_for_the_election_unless_strict() {
    // A peer already reloaded with one more VIP: its adverts are taken (the backup stays
    // backup), counted, and reported once per different list.
    let mut b = Bench::new(params(Version::V3, 100)).started();
    let mut theirs = b.vr.advert(200);
    theirs.addresses.push(ip("192.0.2.101")).unwrap();
    let report = Action::AddressListDiffers { src: ip("192.0.2.20"), theirs: 2, strict: false };
    for i in 0..40u64 {
        b.run_until(Duration::from_millis(100 * i));
        b.vr.handle_advert(b.now, ip("192.0.2.20"), TTL, &theirs);
        let acts = b.actions();
        assert_eq!(acts, if i == 0 { vec![report] } else { vec![] }, "advert {i}");
    }
    assert_eq!(b.vr.state(), State::Backup, "the other router was never timed out");
    let c = b.vr.counters();
    assert_eq!((c.address_list_mismatch, c.adverts_rx, c.discard_address_list), (40, 40, 0));
    // The same list as ours again, then another different one: reported again.
    let ours = b.vr.advert(200);
    b.vr.handle_advert(b.now, ip("192.0.2.20"), TTL, &ours);
    b.vr.handle_advert(b.now, ip("192.0.2.20"), TTL, &theirs);
    assert_eq!(b.actions(), vec![report]);

    // strict_mode: discarded, and the other router times out.
    let mut b = Bench::new(Params { strict: true, ..params(Version::V3, 100) }).started();
    b.vr.handle_advert(b.now, ip("192.0.2.20"), TTL, &theirs);
    assert_eq!(
        b.actions(),
        vec![Action::AddressListDiffers { src: ip("192.0.2.20"), theirs: 2, strict: true }]
    );
    assert_eq!(b.vr.counters().discard_address_list, 1);
    assert_eq!(b.run_until(4 * SEC), becoming_master(State::Backup, Reason::MasterDown, 100));
}

#[test]
fn different_address_lists_from_the_lan_are_reported_at_most_once_a_second() {
    let mut b = Bench::new(params(Version::V3, 100)).started();
    let mut reports = 0;
    for i in 0..200u64 {
        b.at(Duration::from_millis(10 * i));
        let mut a = b.vr.advert(200);
        a.addresses.push(IpAddr::from([192, 0, 2, (i % 250) as u8 + 1])).unwrap();
        b.vr.handle_advert(b.now, ip("192.0.2.20"), TTL, &a);
        reports += b.actions().iter().filter(|a| matches!(a, Action::AddressListDiffers { .. })).count();
    }
    assert_eq!(reports, 2, "200 different lists in 2 s");
}
