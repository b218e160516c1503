//! OpenWrt's netifd deletes `br-lan` and makes it again (a new index) on a `network reload`
//! after a change of the bridge device's mtu or macaddr, of any bridge option (stp,
//! forward_delay, igmp_snooping), of the interface's ipaddr or proto, on `ifdown lan; ifup
//! lan` and on `network restart`; adding or removing a bridge port keeps the bridge. Each is
//! done here with `ip`, in netifd's order (`common::openwrt` says what that is, from
//! netifd's sources), on two OpenWrt-shaped boxes: each a namespace whose `br-lan` over
//! eth0 joins the LAN, keeplite on it (VRRPv3, 100 ms adverts, priorities 200 and 100), or
//! keeplite and keepalived 2.2.7. The bridge goes on the master's box, then on the backup's.
//!
//! What must hold, from the kernel's notifications, the daemons' logs and the wire (a third
//! host's capture), with the bounds of `Outcome::check`:
//! - exactly one VIP holder throughout, but at a hand-back (the router of priority 200 adds
//!   the VIP and advertises; the other drops it on that advert) for at most one advert
//!   interval plus `SLACK` (`TWO_HOLDERS`: under load the drop waits for the kernel's RTNL
//!   lock), and never two masters advertising for longer than one advert interval;
//! - never longer without a holder, or without a master's advert on the wire, than the
//!   Master_Down_Interval of the router that takes over (plus `SLACK`); without a holder
//!   counted until the new master logged MASTER: the kernel's adding its VIP after that waits
//!   for the RTNL lock, which every namespace of the machine shares, and is printed (`Gap`);
//! - the re-created box's VRRP out of FAULT (into BACKUP: RFC 9568 starts a router below
//!   255 as backup) within one advert interval of its new bridge being usable: the kernel
//!   has said both that it runs and that it has the address adverts leave from; the
//!   router of priority 200 then master again within its Master_Down_Interval and one
//!   advert interval of that (plus `SLACK` each).
//!
//! `KEEPLITE_TEST_RECORD=1` prints, after each re-creation, what the notifications, the logs
//! and the wire showed from the change on (a failure prints it anyway).

mod common;

use common::openwrt::{Change, Kind, LanConfig, Outcome, Pair, ADVERT, BRIDGE, VIP4, VIP6};
use common::timeline::What;
use common::{keepalived_available, netns_available};
use std::time::{Duration, Instant};

const HIGH: u8 = 200;
const LOW: u8 = 100;

/// A keeplite pair, router 0 (priority 200) master, router 1 (100) backup.
fn keeplite_pair(tag: &str, vip: &'static str, shape: impl Fn(usize, &mut LanConfig)) -> Pair {
    Pair::start(tag, (Kind::Keeplite, HIGH), (Kind::Keeplite, LOW), vip, shape)
}

/// Checks `outcome` against the pair's bounds, prints it, and returns it.
fn checked(pair: &Pair, outcome: Outcome) -> Outcome {
    println!("{}", outcome.line());
    if std::env::var_os("KEEPLITE_TEST_RECORD").is_some() {
        println!("the record from the change on:\n{}", pair.excerpt(outcome.from, Instant::now()));
    }
    let high = pair.routers[pair.master()].priority;
    if let Err(e) = outcome.check(high, pair.backup_mdi()) {
        let record = pair.excerpt(outcome.from, Instant::now());
        panic!("{e}\nthe record from the change on:\n{record}\n{}", pair.logs());
    }
    let r = outcome.router;
    if pair.routers[r].kind == Kind::Keeplite {
        let log = pair.routers[r].daemon.log();
        assert!(log.contains(&format!("interface {BRIDGE}: appeared")), "{log}");
        assert!(!log.lines().any(|l| l.contains(": reload: ")), "nobody asked for a reload:\n{log}");
    }
    outcome
}

/// The bridge re-created on the master's box, then on the backup's: `change(r, now)` says
/// how for router r, whose `br-lan` is made with `now`.
fn on_both_boxes(pair: &mut Pair, what: &str, change: impl Fn(usize, &LanConfig) -> Change) -> Vec<Outcome> {
    (0..2)
        .map(|r| {
            let how = change(r, &pair.routers[r].config);
            let role = if r == pair.master() { "master's box" } else { "backup's box" };
            let outcome = pair.recreate(r, &how, &format!("{what}, {role}"));
            checked(pair, outcome)
        })
        .collect()
}

fn reload(what: &str, edit: impl Fn(usize, &mut LanConfig)) -> Vec<Outcome> {
    reload_on(what, VIP4, |_, _| {}, edit)
}

fn reload_on(
    what: &str,
    vip: &'static str,
    shape: impl Fn(usize, &mut LanConfig),
    edit: impl Fn(usize, &mut LanConfig),
) -> Vec<Outcome> {
    let tag: String = what.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
    let mut pair = keeplite_pair(&tag, vip, shape);
    on_both_boxes(&mut pair, what, |r, now| {
        let mut new = now.clone();
        edit(r, &mut new);
        assert_ne!(&new, now, "a reload that changes nothing restarts nothing");
        Change::Reload(new)
    })
}

#[test]
fn network_reload_after_an_mtu_change() {
    if netns_available() {
        reload("mtu 1500 -> 1400", |_, c| c.mtu = Some(1400));
    }
}

/// The new bridge has another MAC: the VIP's gratuitous ARPs after the hand-back must
/// carry it, not the old one (the LAN would send the VIP's traffic to a MAC nobody has).
#[test]
fn network_reload_after_a_macaddr_change() {
    if !netns_available() {
        return;
    }
    let mac = |r: usize| format!("02:00:00:00:01:{:02x}", r + 1);
    let outcomes = reload("macaddr changed", |r, c| c.macaddr = Some(mac(r)));
    let master = &outcomes[0];
    let new: [u8; 6] = [2, 0, 0, 0, 1, 1];
    assert_eq!(master.new_mac, Some(new), "the new bridge's MAC");
    let old: [u8; 6] = [2, 0, 0, 0, 0, 1];
    assert!(!master.garps.iter().any(|(_, m)| *m == old), "a GARP with the old MAC: {:?}", master.garps);
    assert!(master.garps.iter().any(|(_, m)| *m == new), "no GARP with the new MAC: {:?}", master.garps);
}

/// STP on: the new port listens and learns for twice the forward delay (2 s each) before
/// it forwards, and the bridge runs only then; the bounds count from then.
#[test]
fn network_reload_after_stp_is_turned_on() {
    if !netns_available() {
        return;
    }
    for outcome in reload("stp on", |_, c| c.stp = true) {
        assert!(
            outcome.deleted_to_usable >= Duration::from_secs(4) - ADVERT,
            "with STP the bridge ran {:?} after its deletion: sooner than twice the forward delay",
            outcome.deleted_to_usable
        );
    }
}

#[test]
fn network_reload_after_a_forward_delay_change() {
    if netns_available() {
        reload("forward_delay 2 -> 4", |_, c| c.forward_delay = 4);
    }
}

#[test]
fn network_reload_after_igmp_snooping_is_turned_on() {
    if netns_available() {
        reload("igmp_snooping on", |_, c| c.igmp_snooping = true);
    }
}

/// IPv6: adverts go to ff02::12, which a bridge with multicast snooping forwards by MLD
/// membership (unlike IPv4's 224.0.0.18, always flooded), and leave from the new bridge's
/// link-local address, usable after DAD.
#[test]
fn network_reload_after_igmp_snooping_is_turned_off_ipv6() {
    if netns_available() {
        reload_on(
            "igmp_snooping off, IPv6",
            VIP6,
            |_, c| c.igmp_snooping = true,
            |_, c| c.igmp_snooping = false,
        );
    }
}

#[test]
fn network_reload_after_igmp_snooping_is_turned_on_ipv6() {
    if netns_available() {
        reload_on("igmp_snooping on, IPv6", VIP6, |_, _| {}, |_, c| c.igmp_snooping = true);
    }
}

/// Another address for the box: adverts come from it from then on.
#[test]
fn network_reload_after_an_ipaddr_change() {
    if netns_available() {
        reload("ipaddr changed", |r, c| c.ipaddr = Some(format!("198.51.100.{}/24", 11 + r)));
    }
}

/// proto static -> dhcp: the new bridge has no address until the lease (here 500 ms
/// after it runs); the router waits in FAULT ("no address") and is back within one advert
/// interval of the address.
#[test]
fn network_reload_after_a_proto_change() {
    if !netns_available() {
        return;
    }
    let mut pair = keeplite_pair("proto", VIP4, |_, _| {});
    on_both_boxes(&mut pair, "proto static -> dhcp", |r, _| Change::ToDhcp {
        lease: Duration::from_millis(500),
        address: format!("198.51.100.{}/24", 21 + r),
    });
}

#[test]
fn ifdown_lan_then_ifup_lan() {
    if !netns_available() {
        return;
    }
    let mut pair = keeplite_pair("ifdown", VIP4, |_, _| {});
    on_both_boxes(&mut pair, "ifdown lan; ifup lan", |_, _| Change::IfdownIfup {
        gap: Duration::from_millis(300),
    });
}

#[test]
fn network_restart() {
    if !netns_available() {
        return;
    }
    let mut pair = keeplite_pair("restart", VIP4, |_, _| {});
    on_both_boxes(&mut pair, "network restart", |_, _| Change::NetworkRestart {
        gap: Duration::from_millis(1500),
    });
}

/// A port added to `br-lan` and taken off again (netifd: SIOCBRADDIF, SIOCBRDELIF) on each
/// box: the bridge keeps its index, and nothing moves: no transition, the master the only
/// holder and advertising throughout.
#[test]
fn bridge_ports_added_and_removed_keep_the_bridge() {
    if !netns_available() {
        return;
    }
    let pair = keeplite_pair("ports", VIP4, |_, _| {});
    let t0 = Instant::now();
    let wall0 = std::time::SystemTime::now();
    for (r, ns) in pair.lan.hosts[..2].iter().enumerate() {
        ns.ip(&["link", "add", "wlan0", "type", "veth", "peer", "name", "wlan0p"]);
        ns.ip(&["link", "set", "wlan0p", "up"]);
        // netifd's member claim (up) and add; then, on the next reload, its removal.
        ns.ip(&["link", "set", "wlan0", "up"]);
        ns.ip(&["link", "set", "wlan0", "master", BRIDGE]);
        std::thread::sleep(Duration::from_millis(500));
        ns.ip(&["link", "set", "wlan0", "nomaster"]);
        ns.ip(&["link", "set", "wlan0", "down"]);
        std::thread::sleep(Duration::from_millis(500));
        let indexes = pair.timeline.link_indexes(r, BRIDGE, t0);
        assert!(indexes.len() <= 1, "router {r}'s {BRIDGE} changed index: {indexes:?}");
    }
    pair.catch_up(std::time::SystemTime::now());
    let mut wrong = Vec::new();
    let (last_change, _) = pair.timeline.holders().last().cloned().expect("holders");
    if last_change > t0 {
        wrong.push(format!("the VIP moved {:?} after the ports changed", last_change - t0));
    }
    if pair
        .timeline
        .entries()
        .iter()
        .any(|e| matches!(&e.what, What::LinkGone { name, .. } if name == BRIDGE))
    {
        wrong.push("a bridge was deleted".to_owned());
    }
    let stretches = pair.timeline.holder_stretches(t0, Instant::now());
    if !stretches.none.is_empty() || !stretches.many.is_empty() {
        wrong.push(format!("holders changed: {stretches:?}"));
    }
    let now = std::time::SystemTime::now();
    let wire = common::openwrt::WireStretches::of(&pair.adverts(wall0, now), wall0, now);
    if wire.longest_silence > ADVERT + common::openwrt::SLACK {
        wrong.push(format!("adverts stopped for {:?}", wire.longest_silence));
    }
    for r in 0..2 {
        let lines = pair.timeline.log_lines(r, t0);
        if lines.iter().any(|(_, l)| l.contains(" -> ")) {
            wrong.push(format!("router {r} changed state: {lines:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{}\nthe record from the first port on:\n{}\n{}",
        wrong.join("\n"),
        pair.excerpt(t0, Instant::now()),
        pair.logs()
    );
    println!(
        "ports added and removed: no transition, one holder throughout, longest advert gap {:?}",
        wire.longest_silence
    );
}

/// keeplite (200) with keepalived 2.2.7 (100) as its peer: keeplite's box reloads an mtu
/// change (keepalived takes over, keeplite takes back), then `ifdown lan; ifup lan`.
#[test]
fn with_keepalived_the_master_box_recreated() {
    if !netns_available() || !keepalived_available() {
        return;
    }
    let mut pair = Pair::start("kamaster", (Kind::Keeplite, HIGH), (Kind::Keepalived, LOW), VIP4, |_, _| {});
    let mut mtu = pair.routers[0].config.clone();
    mtu.mtu = Some(1400);
    let o = pair.recreate(
        0,
        &Change::Reload(mtu),
        "keeplite+keepalived: mtu 1500 -> 1400, keeplite master's box",
    );
    checked(&pair, o);
    let gap = Change::IfdownIfup { gap: Duration::from_millis(300) };
    let o = pair.recreate(0, &gap, "keeplite+keepalived: ifdown lan; ifup lan, keeplite master's box");
    checked(&pair, o);
}

/// keeplite (100) backing up keepalived 2.2.7 (200): keeplite's box reloads an mtu change,
/// then `network restart`; keepalived stays master throughout.
#[test]
fn with_keepalived_the_backup_box_recreated() {
    if !netns_available() || !keepalived_available() {
        return;
    }
    let mut pair = Pair::start("kabackup", (Kind::Keeplite, LOW), (Kind::Keepalived, HIGH), VIP4, |_, _| {});
    let mut mtu = pair.routers[0].config.clone();
    mtu.mtu = Some(1400);
    let o = pair.recreate(
        0,
        &Change::Reload(mtu),
        "keeplite+keepalived: mtu 1500 -> 1400, keeplite backup's box",
    );
    checked(&pair, o);
    let restart = Change::NetworkRestart { gap: Duration::from_millis(1500) };
    let o = pair.recreate(0, &restart, "keeplite+keepalived: network restart, keeplite backup's box");
    checked(&pair, o);
}

/// A tracked port taken off `br-lan` but left up (`ip link set lan2 nomaster`, `brctl
/// delif`, a port moved by hand) still exists: the kernel's RTM_DELLINK for it is the
/// bridge's notice (family AF_BRIDGE) that it left, not the link's deletion (keepalived
/// issue 1823). keeplite took it for one: lan2 "gone", FAULT, the VIP to the backup and
/// back, for a link that never went down.
#[test]
fn a_tracked_port_taken_off_the_bridge_is_not_deleted() {
    if !netns_available() {
        return;
    }
    let lan2 = |r: usize, ns: &common::Netns| {
        if r == 0 {
            ns.ip(&["link", "add", "lan2", "type", "veth", "peer", "name", "lan2p"]);
            ns.ip(&["link", "set", "lan2p", "up"]);
        }
    };
    let pair = Pair::start_with(
        "portoff",
        (Kind::Keeplite, HIGH),
        (Kind::Keeplite, LOW),
        VIP4,
        |r, c| {
            if r == 0 {
                c.ports.push("lan2".into());
            }
        },
        lan2,
        |r| if r == 0 { "keeplite.gw.track_interface='lan2'\n".into() } else { String::new() },
    );
    let t0 = Instant::now();
    pair.lan.hosts[0].ip(&["link", "set", "lan2", "nomaster"]);
    std::thread::sleep(Duration::from_secs(2));
    pair.catch_up(std::time::SystemTime::now());
    let stretches = pair.timeline.holder_stretches(t0, Instant::now());
    let lines: Vec<String> = pair.timeline.log_lines(0, t0).into_iter().map(|(_, l)| l).collect();
    assert!(
        stretches.none.is_empty() && stretches.many.is_empty() && lines.iter().all(|l| !l.contains(" -> ")),
        "lan2 left the bridge, up all along: holders {stretches:?}, router 0 logged {lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains("gone")), "{lines:#?}");
}
