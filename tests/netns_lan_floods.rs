//! A host on the LAN floods a keeplite master with well-formed adverts of its VRID
//! (VRRPv3 has no authentication). A higher priority may take mastership, as the protocol
//! says; what no packet may do is make the router flap or shout faster than its own timers:
//! adverts with Max Adver Int 0 are discarded and counted, and a flood of lower-priority
//! adverts is answered (an advert and an announcement burst) at most once per advert
//! interval. What went out is counted on the wire, on the flooding host.

mod common;

use common::daemon::{has_vip, holds_for, until_vip, Daemon};
use common::wire::Capture;
use common::{netns_available, vrrp_socket, Lan, Netns};
use keeplite::config::model::Family;
use keeplite::vrrp::packet::{Auth, Repr, Version, MULTICAST_V4};
use std::net::IpAddr;
use std::time::Duration;

const VIP: &str = "198.51.100.100";

fn conf(priority: u8) -> String {
    format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=51\nkeeplite.gw.priority={priority}\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='{VIP}/24'\n"
    )
}

/// What the master on host 0 sent while host 1 flooded it with 200 adverts at priority
/// 100, 10 ms apart: (adverts, ARPs, the time from the first frame to the last).
fn flooded_master_sent(lan: &Lan) -> (usize, usize, Duration) {
    let wire = Capture::start(&lan.hosts[1]);
    flood(&lan.hosts[1], 200, Duration::from_millis(10), 100, 10);
    let frames = wire.finish();
    let from_master = |f: &&common::wire::Frame| f.bytes.get(6..12) == Some(&[2, 0, 0, 0, 0, 1][..]);
    let adverts = frames
        .iter()
        .filter(from_master)
        .filter_map(common::wire::Frame::advert)
        .filter(|a| a.vrid == 51)
        .count();
    let arps =
        frames.iter().filter(from_master).filter(|f| f.bytes.get(12..14) == Some(&[0x08, 0x06][..])).count();
    let took = match (frames.first(), frames.last()) {
        (Some(a), Some(b)) => common::wire::between(a.at, b.at),
        _ => Duration::ZERO,
    };
    (adverts, arps, took)
}

/// Sends `count` adverts for VRID 51 from host 1 (198.51.100.2), `gap` apart.
fn flood(ns: &Netns, count: usize, gap: Duration, priority: u8, interval_cs: u16) {
    let sock = vrrp_socket(ns, Family::Ipv4);
    let advert = Repr {
        version: Version::V3,
        vrid: 51,
        priority,
        interval: interval_cs,
        addresses: [VIP.parse().unwrap()].into_iter().collect(),
        auth: Auth::None,
    };
    let src: IpAddr = "198.51.100.2".parse().unwrap();
    for _ in 0..count {
        sock.send(&advert, src, IpAddr::V4(MULTICAST_V4)).expect("send advert");
        std::thread::sleep(gap);
    }
}

/// A keeplite master at `priority` on host 0.
fn master(lan: &Lan, label: &str, priority: u8) -> Daemon {
    let d = Daemon::keeplite(&lan.hosts[0], label, &conf(priority));
    until_vip(&lan.hosts[0], VIP, true, Duration::from_secs(10), &[&d]);
    d
}

#[test]
fn adverts_with_max_adver_int_zero_are_discarded() {
    if !netns_available() {
        return;
    }
    // Before: each one a step-down (Master_Down_Interval 0) and a takeover at once, VIPs
    // deleted and added, announcements, notify scripts: 400 transitions for 200 packets.
    let lan = Lan::new("int0", 2);
    let d = master(&lan, "int0", 100);
    flood(&lan.hosts[1], 200, Duration::from_millis(5), 200, 0);
    // Looked at throughout; the counters below say whether anything moved meanwhile.
    holds_for("the master keeps the VIP", Duration::from_millis(300), &[&d], || has_vip(&lan.hosts[0], VIP));
    assert_eq!(d.stop(), Some(0));
    let c = d.counters("gw");
    assert_eq!((c.get("discard_interval"), c.get("became_master")), (200, 1), "{}", c.line);
    assert_eq!(d.transitions("gw", "-> BACKUP"), 1, "only the one at startup:\n{}", d.log());
}

#[test]
fn a_flood_of_lower_priority_adverts_is_answered_once_per_interval() {
    if !netns_available() {
        return;
    }
    // 200 adverts at priority 100, 10 ms apart, against a master at 200 with 100 ms
    // adverts and 5 gratuitous ARPs a burst. Before: an advert and a burst for each packet
    // (about 200 adverts and 1000 ARPs in the 2 s; keepalived 2.2.7: 124 and 615).
    let lan = Lan::new("lower", 2);
    let d = master(&lan, "lower", 200);
    let (adverts, arps, took) = flooded_master_sent(&lan);
    eprintln!("lower-priority flood: the master sent {adverts} adverts and {arps} ARPs in {took:?}");
    // Its own 10 adverts a second, plus at most one answer per interval, each with one
    // burst of 5: for about 2 s, 2 x 20 adverts and 20 bursts, with room for the edges.
    let intervals = (took.as_millis() / 100 + 2) as usize;
    assert!(adverts <= 2 * intervals, "{adverts} adverts in {took:?}\n{}", d.log());
    assert!(arps <= 5 * intervals, "{arps} ARPs in {took:?}\n{}", d.log());
    assert!(has_vip(&lan.hosts[0], VIP), "{}", d.log());
}

#[test]
fn lower_prio_no_advert_and_no_lower_prio_garps_leave_only_the_schedule() {
    if !netns_available() {
        return;
    }
    // The same flood against a master told not to answer: its own adverts only, no ARPs
    // (no second burst either: garp_delay 0, and the first is over before the flood).
    let lan = Lan::new("quiet", 2);
    let extra = "keeplite.gw.lower_prio_no_advert=1\nkeeplite.gw.garp_lower_prio_repeat=0\nkeeplite.gw.garp_delay=0s\n";
    let d = Daemon::keeplite(&lan.hosts[0], "quiet", &(conf(200) + extra));
    until_vip(&lan.hosts[0], VIP, true, Duration::from_secs(10), &[&d]);
    std::thread::sleep(Duration::from_millis(200));
    let (adverts, arps, took) = flooded_master_sent(&lan);
    eprintln!("lower-priority flood, lower_prio_no_advert: the master sent {adverts} adverts and {arps} ARPs in {took:?}");
    let intervals = (took.as_millis() / 100 + 2) as usize;
    assert!(adverts <= intervals, "{adverts} adverts in {took:?}\n{}", d.log());
    assert_eq!(arps, 0, "ARPs in answer to lower-priority adverts\n{}", d.log());
    assert!(has_vip(&lan.hosts[0], VIP), "{}", d.log());
}
