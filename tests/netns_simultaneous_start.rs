//! Two routers powered up at the same instant (a site's power comes back, two boxes boot
//! together): for IPv4 and IPv6, with and without use_vmac, keeplite with keeplite and
//! keeplite with the distribution's keepalived, the pair must converge to exactly one
//! VIP holder, the higher priority, within Master_Down_Interval plus one advert interval
//! of both being up, and stay so.
//!
//! Each run gets a fresh LAN; the two daemons are spawned back to back, the order
//! alternating between runs (and, with keepalived, which daemon has the higher priority).
//! A second kind of run starts both while the LAN between them is cut, so both become
//! master, then joins them: the split brain must heal within one advert interval.
//! `KEEPLITE_STARTUP_RUNS` sets the runs per case (`./ci/bench startup` asks for 50).

mod common;

use common::daemon::{logs, Daemon};
use common::holders::Holders;
use common::wire::Capture;
use common::{keepalived_available, netns_available, Lan, Netns};
use std::time::{Duration, Instant, SystemTime};

const ADVERT: Duration = Duration::from_millis(100);
const HIGH: u8 = 200;
/// How long the one holder must stay the only one to count as converged.
const STEADY: Duration = Duration::from_secs(1);
/// What the test adds to the protocol's bound: its own sampling (two `ip` runs a sample)
/// and the scheduling of three processes on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(150);

#[derive(Clone, Copy, PartialEq)]
enum Peer {
    Keeplite,
    Keepalived,
}

#[derive(Clone, Copy)]
struct Case {
    ipv6: bool,
    vmac: bool,
    peer: Peer,
    /// Both routers at the same priority: the election falls to the source addresses.
    equal: bool,
}

impl Case {
    fn name(&self) -> String {
        format!(
            "{} {} keeplite+{}{}",
            if self.ipv6 { "ipv6" } else { "ipv4" },
            if self.vmac { "use_vmac" } else { "plain" },
            if self.peer == Peer::Keeplite { "keeplite" } else { "keepalived" },
            if self.equal { " equal-priority" } else { "" }
        )
    }

    fn vip(&self) -> &'static str {
        if self.ipv6 {
            "2001:db8:1::150"
        } else {
            "198.51.100.150"
        }
    }

    fn low(&self) -> u8 {
        if self.equal {
            HIGH
        } else {
            100
        }
    }

    /// RFC 9568 Master_Down_Interval of the lower router, plus one advert interval: by
    /// then the higher router's advert has pushed back a lower one that became master.
    fn bound(&self) -> Duration {
        let skew = ADVERT * (256 - u32::from(self.low())) / 256;
        3 * ADVERT + skew + ADVERT
    }

    fn keeplite_conf(&self, priority: u8) -> String {
        let prefix = if self.ipv6 { 64 } else { 24 };
        format!(
            "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=81\nkeeplite.gw.priority={priority}\n\
             keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='{}/{prefix}'\nkeeplite.gw.use_vmac={}\n",
            self.vip(),
            u8::from(self.vmac)
        )
    }

    fn keepalived_conf(&self, priority: u8) -> String {
        let prefix = if self.ipv6 { 64 } else { 24 };
        format!(
            "global_defs {{\n  router_id peer\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance gw {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 81\n  priority {priority}\n\
             advert_int 0.1\n  version 3\n{}  virtual_ipaddress {{\n    {}/{prefix}\n  }}\n}}\n",
            if self.vmac { "  use_vmac\n" } else { "" },
            self.vip()
        )
    }
}

/// A daemon starting, and the log line that says it is up.
fn spawn(case: &Case, keepalived: bool, ns: &Netns, label: &str, priority: u8) -> (Daemon, &'static str) {
    if keepalived {
        (Daemon::keepalived(ns, label, &case.keepalived_conf(priority)), "Entering BACKUP STATE")
    } else {
        // Startup goes to BACKUP, or to FAULT and then BACKUP while the interface has no
        // usable address yet (IPv6 link-local under DAD on a LAN that has just come up).
        (Daemon::keeplite(ns, label, &case.keeplite_conf(priority)), "-> BACKUP")
    }
}

/// What one run showed.
struct Outcome {
    /// From the reference moment (both daemons up, or the LAN joined) to the moment after
    /// which exactly one router (the higher, unless priorities are equal) held the VIP.
    took: Duration,
    /// Both held the VIP at some sample after the reference moment.
    both_held: bool,
    /// Who ran where, the adverts around the reference moment and both logs: printed
    /// for a run slower than the bound.
    detail: String,
}

/// The two routers of one run: host a runs the higher priority.
struct Pair {
    lan: Lan,
    holders: Holders,
    /// The adverts host a sends and receives, stamped by its kernel.
    wire: Capture,
    /// Which router is keepalived, if one is: "high" or "low".
    keepalived: &'static str,
    high: Daemon,
    low: Daemon,
    /// The log lines that say each is up.
    up: (&'static str, &'static str),
}

impl Pair {
    /// Spawns both back to back: with keepalived, which of the two it is alternates
    /// every two runs; the spawn order every run.
    fn start(case: &Case, n: usize, lan: Lan) -> Pair {
        // A LAN that is up: the hosts' link-local addresses past DAD (keepalived logs that it
        // is up before it can send from a tentative one, which would count against the pair).
        lan.until_link_local();
        let holders = Holders::new(&lan.hosts, case.vip());
        let wire = Capture::start(&lan.hosts[0]);
        let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
        let keepalived_high = case.peer == Peer::Keepalived && n % 4 >= 2;
        let keepalived_low = case.peer == Peer::Keepalived && !keepalived_high;
        let tag = format!("sim{n}");
        let ((high, high_up), (low, low_up)) = if n % 2 == 0 {
            let h = spawn(case, keepalived_high, a, &format!("{tag}-high"), HIGH);
            (h, spawn(case, keepalived_low, b, &format!("{tag}-low"), case.low()))
        } else {
            let l = spawn(case, keepalived_low, b, &format!("{tag}-low"), case.low());
            (spawn(case, keepalived_high, a, &format!("{tag}-high"), HIGH), l)
        };
        let keepalived = match (keepalived_high, keepalived_low) {
            (true, _) => "high",
            (_, true) => "low",
            _ => "neither",
        };
        Pair { lan, holders, wire, keepalived, high, low, up: (high_up, low_up) }
    }

    fn both_up(&self) -> bool {
        self.high.log().contains(self.up.0) && self.low.log().contains(self.up.1)
    }

    /// Who holds the VIP, after waiting up to 10 ms for a change.
    fn holders(&mut self) -> (bool, bool) {
        let held = self.holders.poll(&self.lan.hosts, Duration::from_millis(10));
        (held[0], held[1])
    }

    /// Follows the holders until exactly the right one has held the VIP for `STEADY`,
    /// counting from the first moment `reference` returns (asked at every change and
    /// every 10 ms); panics with both logs after 10 s.
    fn converge(
        &mut self,
        case: &Case,
        what: &str,
        mut reference: impl FnMut(&Pair) -> Option<Instant>,
    ) -> Outcome {
        let vip = case.vip();
        let start = Instant::now();
        let mut since_ref: Option<(Instant, SystemTime)> = None;
        let mut right_since: Option<Instant> = None;
        let mut both_held = false;
        loop {
            let held = self.holders();
            let now = Instant::now();
            since_ref =
                since_ref.or_else(|| reference(self).map(|r| (r, SystemTime::now() - now.duration_since(r))));
            both_held |= since_ref.is_some() && held == (true, true);
            let right = match held {
                (true, false) => true,
                (false, true) => case.equal,
                _ => false,
            };
            right_since = if right { right_since.or(Some(now)) } else { None };
            if let (Some((r, wall)), Some(since)) = (since_ref, right_since) {
                if now.duration_since(since) >= STEADY {
                    let took = since.saturating_duration_since(r);
                    return Outcome { took, both_held, detail: self.detail(what, wall, took) };
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{} {what}: no single holder of {vip} (holders now {held:?}, reference moment seen: {})\n{}",
                case.name(),
                since_ref.is_some(),
                logs(&[&self.high, &self.low])
            );
        }
    }
}

impl Pair {
    /// The run as it went: keepalived's side, every advert host a saw from 1 s before
    /// the reference moment `wall` to `took` after it (kernel stamps), and both logs.
    fn detail(&self, what: &str, wall: SystemTime, took: Duration) -> String {
        let mut out = format!(
            "{what}: keepalived is {}; host a (high) saw, from the reference moment:\n",
            self.keepalived
        );
        for x in self.wire.adverts() {
            let (sign, d) = match x.at.duration_since(wall) {
                Ok(d) => ("+", d),
                Err(e) => ("-", e.duration()),
            };
            if (sign == "-" && d > Duration::from_secs(1)) || (sign == "+" && d > took + ADVERT) {
                continue;
            }
            out += &format!(
                "  {sign}{:7.1} ms  {} -> {} priority {}\n",
                d.as_secs_f64() * 1000.0,
                x.src,
                x.dst,
                x.priority
            );
        }
        out + &logs(&[&self.high, &self.low])
    }
}

/// One simultaneous start, timed from both daemons being up.
fn simultaneous_run(case: &Case, n: usize) -> Outcome {
    let mut pair = Pair::start(case, n, Lan::new("sim", 2));
    pair.converge(case, &format!("run {n}"), |p| p.both_up().then(Instant::now))
}

/// Both routers start while the LAN between them is down (a switch that boots later, a
/// bridge port still blocked by STP), so both become master; then the LAN joins them and
/// the split brain must heal, timed from the join.
fn partitioned_run(case: &Case, n: usize) -> Outcome {
    let lan = Lan::new("part", 2);
    // Off the bridge, not down: the hosts keep their carrier and see nothing.
    for port in ["p0", "p1"] {
        lan.switch.ip(&["link", "set", port, "nomaster"]);
    }
    let mut pair = Pair::start(case, n, lan);
    let deadline = Instant::now() + Duration::from_secs(10);
    while pair.holders() != (true, true) {
        assert!(
            Instant::now() < deadline,
            "{}: not both master apart\n{}",
            case.name(),
            logs(&[&pair.high, &pair.low])
        );
    }
    for port in ["p0", "p1"] {
        pair.lan.switch.ip(&["link", "set", port, "master", "br0"]);
    }
    // Joined when the second port is on the bridge: just before this.
    let joined = Instant::now();
    pair.converge(case, &format!("run {n} after the LAN joined"), |_| Some(joined))
}

fn runs() -> usize {
    std::env::var("KEEPLITE_STARTUP_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(4)
}

/// How a pair comes up.
#[derive(Clone, Copy, PartialEq)]
enum Start {
    /// Both at the same instant on a LAN that is up.
    Simultaneous,
    /// Both apart, then joined.
    Partitioned,
}

/// Runs `case` `runs()` times, prints one summary line and asserts each run converged
/// within the protocol's bound (plus the test's slack).
fn check(case: Case, start: Start) {
    if !netns_available() || (case.peer == Peer::Keepalived && !keepalived_available()) {
        return;
    }
    let (label, bound) = match start {
        Start::Simultaneous => ("startup", case.bound()),
        // Two masters hear each other's next advert, and the lower gives up at once.
        Start::Partitioned => ("partition heals", ADVERT),
    };
    let outcomes: Vec<Outcome> = (0..runs())
        .map(|n| match start {
            Start::Simultaneous => simultaneous_run(&case, n),
            Start::Partitioned => partitioned_run(&case, n),
        })
        .collect();
    let both_held = outcomes.iter().filter(|o| o.both_held).count();
    let mut took: Vec<Duration> = outcomes.iter().map(|o| o.took).collect();
    took.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let (median, max) = (took[took.len() / 2], took[took.len() - 1]);
    // One line per case for `./ci/bench startup` (and for anyone reading --nocapture).
    println!(
        "{label} | {} | {} runs | converged {} | both held it for a while {} | median {:.0} ms | max {:.0} ms | bound {:.0} ms",
        case.name(),
        took.len(),
        took.len(),
        both_held,
        ms(&median),
        ms(&max),
        ms(&bound)
    );
    let slow: Vec<&Outcome> = outcomes.iter().filter(|o| o.took > bound + SLACK).collect();
    assert!(
        slow.is_empty(),
        "{label} {}: converged later than {:.0} ms (+ {:.0} ms slack) in runs taking {} ms\n{}",
        case.name(),
        ms(&bound),
        ms(&SLACK),
        slow.iter().map(|o| format!("{:.0}", ms(&o.took))).collect::<Vec<_>>().join(", "),
        slow.iter().map(|o| o.detail.as_str()).collect::<Vec<_>>().join("\n")
    );
}

fn simultaneous_start(case: Case) {
    check(case, Start::Simultaneous);
}

fn case(ipv6: bool, vmac: bool, peer: Peer) -> Case {
    Case { ipv6, vmac, peer, equal: false }
}

#[test]
fn ipv4_plain_keeplite_pair() {
    simultaneous_start(case(false, false, Peer::Keeplite));
}

#[test]
fn ipv6_plain_keeplite_pair() {
    simultaneous_start(case(true, false, Peer::Keeplite));
}

#[test]
fn ipv4_vmac_keeplite_pair() {
    simultaneous_start(case(false, true, Peer::Keeplite));
}

#[test]
fn ipv6_vmac_keeplite_pair() {
    simultaneous_start(case(true, true, Peer::Keeplite));
}

#[test]
fn ipv4_plain_with_keepalived() {
    simultaneous_start(case(false, false, Peer::Keepalived));
}

#[test]
fn ipv6_plain_with_keepalived() {
    simultaneous_start(case(true, false, Peer::Keepalived));
}

#[test]
fn ipv4_vmac_with_keepalived() {
    simultaneous_start(case(false, true, Peer::Keepalived));
}

#[test]
fn ipv6_vmac_with_keepalived() {
    simultaneous_start(case(true, true, Peer::Keepalived));
}

/// Equal priorities: the higher source address wins. With use_vmac over IPv6 the source
/// is the vmac's link-local address, which must be the router's own, not one made from
/// the virtual MAC that both routers share.
#[test]
fn ipv6_vmac_equal_priorities() {
    simultaneous_start(Case { equal: true, ..case(true, true, Peer::Keeplite) });
}

#[test]
fn ipv4_vmac_equal_priorities() {
    simultaneous_start(Case { equal: true, ..case(false, true, Peer::Keeplite) });
}

/// Two masters with equal priorities meet: the higher source address wins. Over IPv6
/// with use_vmac, a link-local address made from the shared virtual MAC would be equal on
/// both, and neither would ever give up.
#[test]
fn ipv6_vmac_equal_priorities_partition_heals() {
    check(Case { equal: true, ..case(true, true, Peer::Keeplite) }, Start::Partitioned);
}

#[test]
fn ipv4_vmac_equal_priorities_partition_heals() {
    check(Case { equal: true, ..case(false, true, Peer::Keeplite) }, Start::Partitioned);
}

#[test]
fn ipv6_vmac_partition_heals_with_keepalived() {
    check(case(true, true, Peer::Keepalived), Start::Partitioned);
}
