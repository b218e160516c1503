//! `keeplite run` against keeplite on a namespaced LAN (issue 4): tracked interfaces with
//! and without a weight, and a sync group that moves two instances together when a tracked
//! script fails on one of them.
//!
//! VRRPv3, advert_int 100 ms throughout.

mod common;

use common::daemon::{logs, steady_holder, until, until_one_holder, vrrp_section, Daemon};
use common::wire::{handover, master_down_interval, priority_zero_handover, Capture};
use common::{netns_available, Lan, Netns};
use std::time::Duration;

const VIP: &str = "198.51.100.100";
const VIPS: &str = "'198.51.100.100/24'";
/// How long an election may take to settle, with room for a loaded machine: what fails a
/// test is a wrong outcome, not a slow one.
const SETTLE: Duration = Duration::from_secs(10);

/// Gives `ns` a second interface, eth1: one end of a veth pair whose other end (eth1p)
/// stays in the same namespace, both up.
fn add_eth1(ns: &Netns) {
    ns.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    ns.ip(&["link", "set", "eth1p", "up"]);
    ns.ip(&["link", "set", "eth1", "up"]);
}

#[test]
fn tracked_interface_without_weight_down_is_fault_and_the_peer_takes_over() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("trkif", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    add_eth1(a);
    let high =
        Daemon::keeplite(a, "trkif-high", &vrrp_section("gw", 21, 200, VIPS, &["track_interface=eth1"]));
    let low = Daemon::keeplite(b, "trkif-low", &vrrp_section("gw", 21, 100, VIPS, &[]));
    let all = [&high, &low];
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);

    // eth1 goes down (administratively): FAULT, the master hands over with priority 0, so
    // the peer takes over after its Skew_Time (61 ms), not Master_Down_Interval (361 ms).
    // Checked on the wire (b's kernel timestamps): b's first advert comes sooner after a's
    // last regular advert than a backup that ignored the priority-0 one could take over.
    let (h0, h1) = ("198.51.100.1".parse().unwrap(), "198.51.100.2".parse().unwrap());
    let wire = Capture::start(b);
    wire.until_advert_from(h0, &all);
    a.ip(&["link", "set", "eth1", "down"]);
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    until("b's first advert after a's last", SETTLE, &all, || handover(&wire.adverts(), 21, h0, h1));
    let mdi = master_down_interval(100, Duration::from_millis(100));
    let took = priority_zero_handover(&wire.adverts(), 21, h0, h1, mdi)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs(&all)));
    drop(wire);
    eprintln!("priority-0 hand-over on FAULT, on the wire: {took:?}");
    high.wait_log("vrrp gw: MASTER -> FAULT (priority 200, fault)", SETTLE);
    // While in FAULT it stays out, though its priority is the higher.
    steady_holder(&[a, b], 1, VIP, Duration::from_millis(600), &all);

    // eth1 back: it recovers as backup and preempts the 100.
    a.ip(&["link", "set", "eth1", "up"]);
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);
    assert!(high.log().contains("vrrp gw: FAULT -> BACKUP (priority 200, recovered)"), "{}", high.log());
}

#[test]
fn tracked_interface_with_weight_lowers_priority_and_the_peer_preempts() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("trkw", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    add_eth1(a);
    let high =
        Daemon::keeplite(a, "trkw-high", &vrrp_section("gw", 22, 200, VIPS, &["track_interface=eth1:-150"]));
    let low = Daemon::keeplite(b, "trkw-low", &vrrp_section("gw", 22, 100, VIPS, &[]));
    let all = [&high, &low];
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);

    // eth1 loses its carrier (the far end goes down): 200 - 150 = 50 < 100. The master
    // advertises 50, the 100 ignores it and preempts after Master_Down_Interval.
    a.ip(&["link", "set", "eth1p", "down"]);
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    steady_holder(&[a, b], 1, VIP, Duration::from_millis(500), &all);
    let yielded = "vrrp gw: MASTER -> BACKUP (priority 50, higher priority master)";
    assert!(high.log().contains(yielded), "{}", logs(&all));
    assert_eq!(high.transitions("gw", "FAULT"), 0, "a weighted interface must not fault\n{}", high.log());

    // Carrier back: 200 again, and it takes mastership back, as 200. (Counted from here,
    // not as "2 since start-up": started together on a busy machine, the 100 may have been
    // master a moment before the 200 was up, or a stalled daemon made one flap.)
    let taken_back = "BACKUP -> MASTER (priority 200";
    let before = high.transitions("gw", taken_back);
    a.ip(&["link", "set", "eth1p", "up"]);
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);
    assert!(high.transitions("gw", taken_back) > before, "{}", high.log());
}

#[test]
fn sync_group_a_failed_script_on_one_member_moves_both_vips() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("sync", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let flag = common::daemon::scratch("sync-flag").join("healthy");
    std::fs::write(&flag, "").unwrap();
    let (vip71, vip72) = ("198.51.100.171", "198.51.100.172");
    let router = |priority: u8, track: &[&str]| {
        let mut conf = vrrp_section("v71", 71, priority, "'198.51.100.171/24'", track);
        conf += &vrrp_section("v72", 72, priority, "'198.51.100.172/24'", &[]);
        conf += "sg=sync_group\nsg.members='v71' 'v72'\n";
        conf
    };
    // Weight 0: a failing script puts v71 in FAULT, and the group takes v72 along. An
    // interval (and so timeout) of 1 s: at 200 ms a busy machine can time the script out.
    let script =
        format!("chk=script\nchk.command='test -e {}'\nchk.interval=1s\nchk.weight=0\n", flag.display());
    let high = Daemon::keeplite(a, "sync-high", &(router(200, &["track_script=chk"]) + &script));
    let low = Daemon::keeplite(b, "sync-low", &router(100, &[]));
    let all = [&high, &low];
    for vip in [vip71, vip72] {
        until_one_holder(&[a, b], 0, vip, SETTLE, &all);
        steady_holder(&[a, b], 0, vip, Duration::from_millis(200), &all);
    }

    std::fs::remove_file(&flag).unwrap();
    for vip in [vip71, vip72] {
        until_one_holder(&[a, b], 1, vip, SETTLE, &all);
    }
    for vip in [vip71, vip72] {
        steady_holder(&[a, b], 1, vip, Duration::from_millis(400), &all);
    }
    high.wait_log("vrrp v71: MASTER -> FAULT", SETTLE);
    high.wait_log("vrrp v72: MASTER -> FAULT", SETTLE);
    high.wait_log("sync group sg: FAULT", SETTLE);
    low.wait_log("sync group sg: MASTER", SETTLE);

    // The script passes again: both come back together.
    std::fs::write(&flag, "").unwrap();
    for vip in [vip71, vip72] {
        until_one_holder(&[a, b], 0, vip, SETTLE, &all);
    }
    for vip in [vip71, vip72] {
        steady_holder(&[a, b], 0, vip, Duration::from_millis(300), &all);
    }
    let _ = std::fs::remove_dir_all(flag.parent().unwrap());
}
