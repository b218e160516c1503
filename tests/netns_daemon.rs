//! `keeplite run` against keeplite on a namespaced LAN (issue 4): who wins an election and
//! when it changes hands. Election by address, a master killed with SIGKILL, nopreempt,
//! preempt_delay, three routers in priority order, and an IPv6-only instance.
//! Tracking and sync groups are in netns_daemon_tracking.rs, what goes on the wire in
//! netns_daemon_wire.rs.
//!
//! Every instance runs VRRPv3 with advert_int 100 ms, so Master_Down_Interval is
//! 300 ms + Skew_Time ((256 - priority) / 256 * 100 ms).

mod common;

use common::daemon::{
    has_vip, logs, steady_holder, until, until_one_holder, until_vip, vrrp_section, Daemon,
};
use common::wire::{between, handover, longest_gap, master_down_interval, Advert, Capture};
use common::{netns_available, Lan};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

const VIP: &str = "198.51.100.100";
const VIPS: &str = "'198.51.100.100/24'";
/// How long an election may take to settle, with room for a loaded machine: what fails a
/// test is a wrong outcome, not a slow one.
const SETTLE: Duration = Duration::from_secs(10);

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// Master_Down_Interval of a backup of `priority` whose master sends every 100 ms.
fn master_down(priority: u8) -> Duration {
    master_down_interval(priority, Duration::from_millis(100))
}

/// Two equal-priority masters meet: the one with the greater primary address must win
/// (RFC 9568 section 6.4.3). Host 1's addresses (198.51.100.2, fe80::ff:fe00:2) are greater
/// than host 0's.
fn equal_priorities_meet(tag: &str, vrid: u8, vips: &str, vip: &str) {
    // Host 2 only listens: its port stays on the bridge, so it hears each router from the
    // moment that router joins the LAN.
    let lan = Lan::new(tag, 3);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let (low_src, high_src) = if vip.contains(':') {
        (ip("fe80::ff:fe00:1"), ip("fe80::ff:fe00:2"))
    } else {
        (ip("198.51.100.1"), ip("198.51.100.2"))
    };
    // Started apart (their bridge ports detached), both become master: the only way to make
    // two equal-priority masters meet every time. Started together, whichever timer fires
    // first wins, and a backup never preempts an equal priority (RFC 9568 6.4.2).
    lan.switch.ip(&["link", "set", "p0", "nomaster"]);
    lan.switch.ip(&["link", "set", "p1", "nomaster"]);
    let low = Daemon::keeplite(a, &format!("{tag}-low"), &vrrp_section("gw", vrid, 100, vips, &[]));
    let high = Daemon::keeplite(b, &format!("{tag}-high"), &vrrp_section("gw", vrid, 100, vips, &[]));
    let all = [&low, &high];
    until_vip(a, vip, true, SETTLE, &all);
    until_vip(b, vip, true, SETTLE, &all);
    let wire = Capture::start(&lan.hosts[2]);
    // Joined: the master hearing an equal priority from a greater address becomes backup
    // and releases at once.
    lan.switch.ip(&["link", "set", "p0", "master", "br0"]);
    lan.switch.ip(&["link", "set", "p1", "master", "br0"]);
    until_one_holder(&[a, b], 1, vip, SETTLE, &all);
    steady_holder(&[a, b], 1, vip, Duration::from_secs(1), &all);
    // "At once", on the wire: p0 joined first, so the first advert the greater address
    // put on the joined LAN reached the lower one; after it, the lower one sent at most
    // the one advert that may have been due as it arrived (waiting for a
    // Master_Down_Interval would take three more). It may take over again only once the
    // greater address has been silent for a Master_Down_Interval (a machine loaded far
    // past two CPU hogs stalls a daemon that long), and must then yield at once again.
    let adverts: Vec<_> = wire.adverts().into_iter().filter(|x| x.vrid == vrid).collect();
    let unheeded = adverts_while_outranked(&adverts, low_src, high_src);
    assert!(
        unheeded.is_empty(),
        "the lower address kept advertising while it heard the greater one: {unheeded:?}\n{}",
        logs(&all)
    );
    let highs: Vec<_> = adverts.iter().filter(|x| x.src == high_src).map(|x| x.at).collect();
    let silences = highs.windows(2).filter(|w| between(w[0], w[1]) >= silence()).count();
    let yielded = low.transitions("gw", "MASTER -> BACKUP (priority 100, higher priority master)");
    assert!(
        (1..=1 + silences).contains(&yielded),
        "yielded {yielded} times; {silences} silences of the greater address of a Master_Down_Interval or more \
         (longest gap {:?})\n{}",
        longest_gap(&highs).0,
        logs(&all)
    );
    assert_eq!(high.transitions("gw", "MASTER ->"), 0, "{}", logs(&all));
}

/// A silence of a master after which its backup (priority 100) may take over:
/// Master_Down_Interval, less 10 ms for where on the LAN it was timed.
fn silence() -> Duration {
    master_down(100) - Duration::from_millis(10)
}

/// The adverts `low` sent while it should have heeded `high`, from `high`'s first advert
/// on. Not counted: the one advert that may have been on its way as `high`'s first advert
/// (or its first after a [`silence`]) arrived, and those `low` sent after such a silence.
fn adverts_while_outranked(adverts: &[Advert], low: IpAddr, high: IpAddr) -> Vec<Advert> {
    let mut last_high: Option<SystemTime> = None;
    let mut in_flight = 0;
    let mut unheeded = Vec::new();
    for x in adverts {
        if x.src == high {
            if last_high.is_none_or(|h| between(h, x.at) >= silence()) {
                in_flight = 1;
            }
            last_high = Some(x.at);
        } else if x.src == low {
            match last_high {
                None => {}
                Some(h) if between(h, x.at) >= silence() => {}
                Some(_) if in_flight > 0 => in_flight -= 1,
                Some(_) => unheeded.push(*x),
            }
        }
    }
    unheeded
}

#[test]
fn equal_priorities_the_higher_primary_address_wins() {
    if netns_available() {
        equal_priorities_meet("addr4", 11, VIPS, VIP);
    }
}

// Regression: adverts once left from fe80::200, the link-local VIP (the kernel lists the
// newest link-local first), so two masters sent from the same address, neither was
// "greater", and both kept the VIPs, flooding the LAN with NAs.
#[test]
fn ipv6_equal_priorities_the_higher_link_local_address_wins() {
    if netns_available() {
        equal_priorities_meet("addr6", 15, "'fe80::200/64' '2001:db8:1::200/64'", "2001:db8:1::200");
    }
}

#[test]
fn killed_master_backup_takes_over_and_the_restarted_master_takes_back() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("kill", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let high = Daemon::keeplite(a, "kill-high", &vrrp_section("gw", 12, 200, VIPS, &[]));
    let low = Daemon::keeplite(b, "kill-low", &vrrp_section("gw", 12, 100, VIPS, &[]));
    until_one_holder(&[a, b], 0, VIP, SETTLE, &[&high, &low]);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(500), &[&high, &low]);

    // SIGKILL: no priority-0 advert, so the backup waits out Master_Down_Interval, counted
    // from the last advert it heard. Timed on the wire (b's receive timestamps), from a's
    // last advert to b's first, so neither where in the interval the kill fell nor how late
    // a busy machine runs the test thread counts. Not before Master_Down_Interval (timers
    // never fire early), and at most 250 ms after it: the daemon's own lateness on a busy
    // machine (the bound the test had from the kill, which was up to an interval later).
    let (h0, h1) = (ip("198.51.100.1"), ip("198.51.100.2"));
    let wire = Capture::start(b);
    wire.until_advert_from(h0, &[&high, &low]);
    high.kill();
    until_vip(b, VIP, true, SETTLE, &[&high, &low]);
    let (last, first) = until("b's first advert after a's last", SETTLE, &[&high, &low], || {
        handover(&wire.adverts(), 12, h0, h1)
    });
    drop(wire);
    assert_eq!(last.priority, 200, "a killed master sends no priority-0 advert: {last:?}");
    let took = between(last.at, first.at);
    let mdi = master_down(100);
    assert!(
        took + Duration::from_millis(5) >= mdi && took <= mdi + Duration::from_millis(250),
        "takeover {took:?} after the last advert on the wire, Master_Down_Interval {mdi:?}\n{}",
        low.log()
    );
    eprintln!("takeover after a kill, on the wire: {took:?} (Master_Down_Interval {mdi:?})");
    assert!(low.log().contains("vrrp gw: BACKUP -> MASTER (priority 100, master down)"), "{}", low.log());
    // The killed master could not remove its address: the VIP is now on BOTH boxes, a
    // duplicate address on the LAN, until keeplite runs on the killed box again
    // (keepalived killed with -9 leaves its VIPs behind the same way).
    assert!(has_vip(a, VIP), "the killed master's vip vanished");

    // Restarted with the higher priority and preempt (the default): it becomes master
    // again (the stale address is simply kept) and the other releases.
    let high = Daemon::keeplite(a, "kill-high2", &vrrp_section("gw", 12, 200, VIPS, &[]));
    until_one_holder(&[a, b], 0, VIP, SETTLE, &[&high, &low]);
    steady_holder(&[a, b], 0, VIP, Duration::from_secs(1), &[&high, &low]);
    assert_eq!(high.transitions("gw", "BACKUP -> MASTER"), 1, "{}", high.log());
    assert!(
        low.log().contains("vrrp gw: MASTER -> BACKUP (priority 100, higher priority master)"),
        "{}",
        low.log()
    );
}

#[test]
fn a_restarted_backup_removes_the_vip_its_killed_master_left() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("stale", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let high = Daemon::keeplite(a, "stale-high", &vrrp_section("gw", 16, 200, VIPS, &[]));
    let low = Daemon::keeplite(b, "stale-low", &vrrp_section("gw", 16, 100, VIPS, &[]));
    until_one_holder(&[a, b], 0, VIP, SETTLE, &[&high, &low]);
    high.kill();
    until_vip(b, VIP, true, SETTLE, &[&high, &low]);
    assert!(has_vip(a, VIP), "the killed master's vip vanished");
    // Back as a backup (lower priority now): the address it left behind is not its to hold,
    // and keepalived in the same place logs "(gw) removing VIPs." on entering BACKUP.
    let again = Daemon::keeplite(a, "stale-again", &vrrp_section("gw", 16, 50, VIPS, &[]));
    again.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
    until_one_holder(&[a, b], 1, VIP, SETTLE, &[&again, &low]);
    steady_holder(&[a, b], 1, VIP, Duration::from_millis(500), &[&again, &low]);
}

#[test]
fn nopreempt_a_later_higher_priority_router_stays_backup() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("nopre", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let first = Daemon::keeplite(a, "nopre-first", &vrrp_section("gw", 13, 100, VIPS, &[]));
    until_vip(a, VIP, true, SETTLE, &[&first]);
    let later = Daemon::keeplite(b, "nopre-later", &vrrp_section("gw", 13, 200, VIPS, &["preempt=0"]));
    later.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
    // Many Master_Down_Intervals: a preempting 200 would have taken over within 0.4 s.
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(1500), &[&first, &later]);
    assert_eq!(later.transitions("gw", "-> MASTER"), 0, "{}", later.log());
    // It is alive and listening: when the master goes, it takes over.
    first.stop();
    until_one_holder(&[a, b], 1, VIP, SETTLE, &[&later]);
    later.stop();
    let c = later.counters("gw");
    assert!(c.get("adverts_rx") >= 10, "{}", c.line);
    assert_eq!(c.get("became_master"), 1, "{}", c.line);
    c.assert_no_discards("nopreempt router");
}

#[test]
fn preempt_delay_holds_back_a_higher_priority_router() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("pdel", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let low = Daemon::keeplite(a, "pdel-low", &vrrp_section("gw", 14, 100, VIPS, &[]));
    until_vip(a, VIP, true, SETTLE, &[&low]);
    let delay = Duration::from_millis(1500);
    let spawned = Instant::now();
    let high =
        Daemon::keeplite(b, "pdel-high", &vrrp_section("gw", 14, 200, VIPS, &["preempt_delay=1500ms"]));
    high.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
    let started = Instant::now();
    // Not before the delay (counted from its start-up); then it ignores the lower master
    // and takes over after one Master_Down_Interval.
    until_vip(b, VIP, true, delay + SETTLE, &[&low, &high]);
    // The lower bound counts from before the daemon could start, the upper one from after
    // its start-up was logged: a slow start on a busy machine moves neither past the truth.
    let (most, least) = (spawned.elapsed(), started.elapsed());
    assert!(most + Duration::from_millis(100) >= delay, "took over after {most:?}, delay {delay:?}");
    assert!(least <= delay + Duration::from_secs(1), "took over after {least:?}, delay {delay:?}");
    until_one_holder(&[a, b], 1, VIP, SETTLE, &[&low, &high]);
    steady_holder(&[a, b], 1, VIP, Duration::from_millis(500), &[&low, &high]);
}

#[test]
fn three_routers_hand_over_in_priority_order() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("three", 3);
    let hosts: Vec<_> = lan.hosts.iter().collect();
    let start = |i: usize, p: u8| {
        Daemon::keeplite(hosts[i], &format!("three-{p}"), &vrrp_section("gw", 41, p, VIPS, &[]))
    };
    let (p150, p100, p50) = (start(0, 150), start(1, 100), start(2, 50));
    until_one_holder(&hosts, 0, VIP, SETTLE, &[&p150, &p100, &p50]);
    steady_holder(&hosts, 0, VIP, Duration::from_millis(500), &[&p150, &p100, &p50]);
    // The 150 stops (priority 0): the 100's Skew_Time (61 ms) runs out before the 50's
    // (80 ms), and the 50 then hears the 100's advert and stays backup. (Counted from here:
    // started together on a busy machine, the 50 may have been master for a moment before
    // the others were up.) Host 2, the 50's, sees the hand-over on the wire.
    let (h150, h100, h50) = (ip("198.51.100.1"), ip("198.51.100.2"), ip("198.51.100.3"));
    let wire = Capture::start(hosts[2]);
    wire.until_advert_from(h150, &[&p150]);
    let p50_masters = p50.transitions("gw", "-> MASTER");
    p150.stop();
    until_one_holder(&hosts, 1, VIP, SETTLE, &[&p100, &p50]);
    steady_holder(&hosts, 1, VIP, Duration::from_millis(500), &[&p100, &p50]);
    let (zero, first) = until("the 100's first advert after the 150's last", SETTLE, &[&p100, &p50], || {
        handover(&wire.adverts(), 41, h150, h100)
    });
    assert_eq!(zero.priority, 0, "the 150's last advert: {zero:?}");
    let after_zero = between(zero.at, first.at);
    let p50_took = p50.transitions("gw", "-> MASTER") - p50_masters;
    // The 50 reads adverts before it looks at its timers, so it may take over only when
    // the 100's advert came after the 50's own Skew_Time had run out: a busy machine ran
    // the 100 that late. And then it must yield to the 100 at once: at most the one
    // advert of its take-over after the 100's.
    let skew50 = master_down(50) - Duration::from_millis(300);
    let late = after_zero + Duration::from_millis(1) >= skew50;
    let from_50 = wire.adverts().iter().filter(|x| x.vrid == 41 && x.src == h50 && x.at > first.at).count();
    assert!(
        p50_took == 0 || (p50_took == 1 && late && from_50 <= 1),
        "the 50 became master {p50_took} time(s) and sent {from_50} adverts after the 100's first, which came \
         {after_zero:?} after the 150's priority-0 advert (the 50's Skew_Time {skew50:?})\n{}",
        logs(&[&p100, &p50])
    );
    eprintln!("the 100 took over {after_zero:?} after the priority-0 advert; the 50 became master {p50_took} time(s)");
    drop(wire);
    // The 100 stops: the 50 is the only one left.
    p100.stop();
    until_one_holder(&hosts, 2, VIP, SETTLE, &[&p50]);
    steady_holder(&hosts, 2, VIP, Duration::from_millis(300), &[&p50]);
    assert_eq!(p50.transitions("gw", "-> MASTER"), p50_masters + p50_took + 1, "{}", p50.log());
}

#[test]
fn ipv6_only_instance_fails_over_and_back() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("v6only", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    // RFC 9568 section 7: an IPv6 instance's first address is the link-local one.
    let vips = "'fe80::200/64' '2001:db8:1::200/64'";
    let v6 = ["fe80::200", "2001:db8:1::200"];
    let high = Daemon::keeplite(a, "v6-high", &vrrp_section("gw", 31, 200, vips, &[]));
    let low = Daemon::keeplite(b, "v6-low", &vrrp_section("gw", 31, 100, vips, &[]));
    // The link-local source addresses need DAD first: allow for it.
    for vip in v6 {
        until_one_holder(&[a, b], 0, vip, SETTLE, &[&high, &low]);
    }
    for vip in v6 {
        steady_holder(&[a, b], 0, vip, Duration::from_millis(300), &[&high, &low]);
    }
    high.stop();
    for vip in v6 {
        assert!(!has_vip(a, vip), "a stopped master kept {vip}");
        until_vip(b, vip, true, SETTLE, &[&high, &low]);
    }
    let high2 = Daemon::keeplite(a, "v6-high2", &vrrp_section("gw", 31, 200, vips, &[]));
    for vip in v6 {
        until_one_holder(&[a, b], 0, vip, SETTLE, &[&high2, &low]);
    }
    for vip in v6 {
        steady_holder(&[a, b], 0, vip, Duration::from_millis(300), &[&high2, &low]);
    }
    low.stop();
    let c = low.counters("gw");
    assert!(c.get("adverts_rx") >= 5, "{}", c.line);
    assert_eq!(c.get("priority_zero_rx"), 1, "{}", c.line);
    c.assert_no_discards("IPv6 backup");
}
