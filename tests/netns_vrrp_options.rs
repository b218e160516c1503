//! The VRRP options of issue 16, item 3 as the wire and the peers see them: the TTL of
//! unicast adverts (`unicast_ttl`) and the range a receiver takes (`min_ttl`/`max_ttl`),
//! a stranger's unicast adverts dropped and counted (`check_unicast_src`), a multicast
//! group of one's own (`mcast_group4`) shared with keepalived, and the notify script and
//! log line of a priority change (`notify_priority_changes`).
//!
//! VRRPv3, advert_int 100 ms, unless said otherwise.

mod common;

use common::daemon::{logs, steady_holder, until, until_one_holder, until_vip, vrrp_section, Daemon};
use common::wire::{Capture, Frame};
use common::{keepalived_available, netns_available, Lan};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

const VIP: &str = "198.51.100.100";
const VIPS: &str = "'198.51.100.100/24'";
/// How long an election may take to settle on a loaded machine.
const SETTLE: Duration = Duration::from_secs(10);

fn host(i: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, i + 1))
}

/// Host 0 sends with `unicast_ttl 64` to host 1; a receiver that takes only 255 (the
/// default) or a range without 64 drops every advert as `discard_ttl` and becomes master
/// too; one whose range holds 64 stays backup.
#[test]
fn unicast_ttl_is_on_the_wire_and_min_max_ttl_decide_what_is_taken() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("uttl", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let capture = Capture::start(b);
    let sender = Daemon::keeplite(
        a,
        "uttl-sender",
        &vrrp_section("gw", 31, 200, VIPS, &["unicast_peer=198.51.100.2", "unicast_ttl=64"]),
    );
    until_vip(a, VIP, true, SETTLE, &[&sender]);
    let to_b = |frames: &[Frame]| -> Vec<u8> {
        frames
            .iter()
            .filter_map(Frame::advert)
            .filter(|x| x.src == host(0) && x.vrid == 31)
            .map(|x| x.ttl)
            .collect()
    };
    let ttls = until("ten adverts from host 0", SETTLE, &[&sender], || {
        let t = to_b(&capture.frames());
        (t.len() >= 10).then_some(t)
    });
    assert!(ttls.iter().all(|&t| t == 64), "TTLs on the wire: {ttls:?}");

    // (receiver's extra options, takes host 0's adverts)
    let cases: [(&[&str], bool); 3] =
        [(&[], false), (&["min_ttl=1", "max_ttl=63"], false), (&["min_ttl=64", "max_ttl=70"], true)];
    for (n, (extra, takes)) in cases.iter().enumerate() {
        let mut opts = vec!["unicast_peer=198.51.100.1"];
        opts.extend_from_slice(extra);
        let label = format!("uttl-receiver-{n}");
        let receiver = Daemon::keeplite(b, &label, &vrrp_section("gw", 31, 100, VIPS, &opts));
        let all = [&sender, &receiver];
        receiver.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
        if *takes {
            steady_holder(&[a, b], 0, VIP, Duration::from_secs(2), &all);
        } else {
            // It never hears the master: master down after 3 x 100 ms and some skew.
            until_vip(b, VIP, true, SETTLE, &all);
            std::thread::sleep(Duration::from_secs(1));
        }
        receiver.stop();
        let c = receiver.counters("gw");
        let context = format!("receiver {extra:?}: {}\n{}", c.line, logs(&all));
        if *takes {
            assert!(c.get("adverts_rx") >= 10, "{context}");
            assert_eq!(c.get("discard_ttl"), 0, "{context}");
            assert_eq!(receiver.transitions("gw", "-> MASTER"), 0, "{context}");
        } else {
            assert!(c.get("discard_ttl") >= 10, "{context}");
            assert_eq!(c.get("adverts_rx"), 0, "{context}");
        }
    }
}

/// A third router sends unicast adverts for the pair's VRID to the backup, with a higher
/// priority: the backup drops and counts every one (`discard_source`) and the pair's
/// master keeps the VIP. With `check_unicast_src 0` the backup takes them.
#[test]
fn a_strangers_unicast_adverts_are_dropped_and_counted() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("usrc", 3);
    let (a, b, c) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let master = Daemon::keeplite(
        a,
        "usrc-master",
        &vrrp_section("gw", 32, 200, VIPS, &["unicast_peer=198.51.100.2"]),
    );
    until_vip(a, VIP, true, SETTLE, &[&master]);
    let stranger_vips = "'198.51.100.200/24'";
    let stranger = Daemon::keeplite(
        c,
        "usrc-stranger",
        &vrrp_section("gw", 32, 250, stranger_vips, &["unicast_peer=198.51.100.2"]),
    );
    stranger.wait_log("vrrp gw: BACKUP -> MASTER", SETTLE);

    for (n, check) in ["1", "0"].iter().enumerate() {
        let peer = ["unicast_peer=198.51.100.1".to_owned(), format!("check_unicast_src={check}")];
        let peer: Vec<&str> = peer.iter().map(String::as_str).collect();
        let backup =
            Daemon::keeplite(b, &format!("usrc-backup-{n}"), &vrrp_section("gw", 32, 100, VIPS, &peer));
        let all = [&master, &stranger, &backup];
        backup.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
        until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
        steady_holder(&[a, b], 0, VIP, Duration::from_millis(1500), &all);
        backup.stop();
        let counters = backup.counters("gw");
        let context = format!("check_unicast_src {check}: {}\n{}", counters.line, logs(&all));
        assert_eq!(backup.transitions("gw", "-> MASTER"), 0, "{context}");
        if *check == "1" {
            assert!(counters.get("discard_source") >= 10, "{context}");
            // Only the master's adverts were taken.
            assert!(counters.get("adverts_rx") >= 10, "{context}");
        } else {
            assert_eq!(counters.get("discard_source"), 0, "{context}");
            // The stranger's carry another address: taken all the same (strict_mode off).
            assert!(counters.get("address_list_mismatch") >= 10, "{context}");
        }
    }
}

/// keeplite and keepalived both on group 224.0.0.118 (`mcast_group4` /
/// `vrrp_mcast_group4`): they elect one master, nothing goes to 224.0.0.18, and each takes
/// over when the other stops.
#[test]
fn a_custom_multicast_group_is_shared_with_keepalived() {
    if !netns_available() || !keepalived_available() {
        return;
    }
    shared_group_with_keepalived(
        "mgrp",
        Ipv4Addr::new(224, 0, 0, 118),
        "main=global\nmain.mcast_group4=224.0.0.118\n",
        &[],
        "  vrrp_mcast_group4 224.0.0.118\n",
        "",
    );
}

/// The same with the instance's own group (`mcast_dst_ip` on both sides).
#[test]
fn an_instance_group_is_shared_with_keepalived() {
    if !netns_available() || !keepalived_available() {
        return;
    }
    shared_group_with_keepalived(
        "mdst",
        Ipv4Addr::new(239, 255, 0, 18),
        "",
        &["mcast_dst_ip=239.255.0.18"],
        "",
        "  mcast_dst_ip 239.255.0.18\n",
    );
}

fn shared_group_with_keepalived(
    tag: &str,
    group: Ipv4Addr,
    our_global: &str,
    our_opts: &[&str],
    their_global: &str,
    their_instance: &str,
) {
    let lan = Lan::new(tag, 3);
    let (a, b, c) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let capture = Capture::start(c);
    let ours = format!("{our_global}{}", vrrp_section("gw", 33, 200, VIPS, our_opts));
    let us = Daemon::keeplite(a, &format!("{tag}-keeplite"), &ours);
    let theirs = format!(
        "global_defs {{\n  router_id peer\n{their_global}  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance gw {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 33\n  priority 100\n\
         advert_int 0.1\n  version 3\n{their_instance}  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
    );
    let them = Daemon::keepalived(b, &format!("{tag}-keepalived"), &theirs);
    let all = [&us, &them];
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_secs(3), &all);
    us.stop();
    until_one_holder(&[a, b], 1, VIP, SETTLE, &[&them]);
    let us = Daemon::keeplite(a, &format!("{tag}-keeplite-2"), &ours.replace("priority=200", "priority=50"));
    let all = [&us, &them];
    us.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
    steady_holder(&[a, b], 1, VIP, Duration::from_secs(2), &all);
    let adverts: Vec<_> =
        capture.finish().iter().filter_map(Frame::advert).filter(|x| x.vrid == 33).collect();
    let to = |src: IpAddr, dst: Ipv4Addr| adverts.iter().filter(|x| x.src == src && x.dst == dst).count();
    let context = logs(&all);
    assert!(to(host(0), group) >= 10, "keeplite's adverts to the group\n{context}");
    assert!(to(host(1), group) >= 10, "keepalived's adverts to the group\n{context}");
    let elsewhere: Vec<_> = adverts.iter().filter(|x| x.dst != IpAddr::V4(group)).collect();
    assert!(elsewhere.is_empty(), "adverts not to the group: {elsewhere:?}\n{context}");
    assert!(adverts.iter().all(|x| x.ttl == 255), "multicast adverts go with TTL 255");
    us.stop();
    let counters = us.counters("gw");
    assert!(counters.get("adverts_rx") >= 10, "keepalived's adverts heard: {}", counters.line);
    counters.assert_no_discards(&format!("keeplite on {group}"));
}

/// A tracked script's weight changes the effective priority: the change is logged, is a
/// `priority` event on the event stream, and with `notify_priority_changes` the notify
/// script runs with keepalived's FIFO words.
#[test]
fn a_priority_change_runs_notify_with_the_fifo_words() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("nprio", 1);
    let a = &lan.hosts[0];
    let dir = common::daemon::scratch("nprio-files");
    let flag = dir.join("down");
    let out = dir.join("notify.out");
    let sock = dir.join("status.sock");
    // A script interval of 500 ms: on a busy machine 100 ms can run out (see netns_failover).
    let conf = format!(
        "g=global\ng.status_socket={}\nchk=script\nchk.command='test ! -e {}'\nchk.interval=500ms\nchk.weight=-50\n{}",
        sock.display(),
        flag.display(),
        vrrp_section(
            "gw",
            34,
            200,
            VIPS,
            &[
                &format!("notify='echo >> {}'", out.display()),
                "notify_priority_changes=1",
                "track_script=chk"
            ],
        )
    );
    let d = Daemon::keeplite(a, "nprio", &conf);
    until_vip(a, VIP, true, SETTLE, &[&d]);
    let mut sub = std::process::Command::new(common::keeplite_bin())
        .args(["subscribe", "-s", &sock.display().to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("keeplite subscribe");
    let stream = sub.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Subscribed once a reload's event comes through.
    until("the subscription", SETTLE, &[&d], || {
        d.reload();
        rx.recv_timeout(Duration::from_millis(500)).is_ok_and(|l| l.contains("\"reload\""))
    });
    let lines = || std::fs::read_to_string(&out).unwrap_or_default();
    std::fs::write(&flag, "").unwrap();
    until("a MASTER_PRIORITY 150 notification", SETTLE, &[&d], || {
        lines().contains("INSTANCE gw MASTER_PRIORITY 150")
    });
    std::fs::remove_file(&flag).unwrap();
    until("a MASTER_PRIORITY 200 notification", SETTLE, &[&d], || {
        lines().contains("INSTANCE gw MASTER_PRIORITY 200")
    });
    d.stop();
    let _ = sub.wait();
    // The stream ends with the daemon: everything it sent is in the channel.
    let events: Vec<String> = rx.iter().filter(|e| e.contains("\"event\":\"priority\"")).collect();
    let fields = |e: &str| -> (String, String) {
        let after =
            |key: &str| e.split(key).nth(1).unwrap_or("").split([',', '}']).next().unwrap_or("").to_owned();
        (after("\"state\":"), format!("{}->{}", after("\"from\":"), after("\"to\":")))
    };
    let got: Vec<(String, String)> = events.iter().map(|e| fields(e)).collect();
    let want =
        [("\"MASTER\"".to_owned(), "200->150".to_owned()), ("\"MASTER\"".to_owned(), "150->200".to_owned())];
    assert_eq!(got, want, "{events:#?}");
    let log = d.log();
    assert!(log.contains("vrrp gw: priority 200 -> 150 (MASTER)"), "{log}");
    assert!(log.contains("vrrp gw: priority 150 -> 200 (MASTER)"), "{log}");
    // The transition's own notification, then the two changes; nothing at start.
    let got = lines();
    let words: Vec<&str> = got.lines().filter(|l| l.contains("PRIORITY")).collect();
    assert_eq!(words, ["INSTANCE gw MASTER_PRIORITY 150", "INSTANCE gw MASTER_PRIORITY 200"], "{got}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Routed unicast with keepalived: both send with TTL 64. keeplite takes keepalived's
/// adverts with `min_ttl 60`; keepalived, without a TTL range, takes keeplite's whatever
/// their TTL (its default, which the import writes out as `min_ttl 1`).
#[test]
fn routed_unicast_with_keepalived() {
    if !netns_available() || !keepalived_available() {
        return;
    }
    let lan = Lan::new("uttlka", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let capture = Capture::start(a);
    let theirs = |priority: u8| {
        format!(
            "global_defs {{\n  router_id peer\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance gw {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 35\n  priority {priority}\n\
             advert_int 0.1\n  version 3\n  unicast_src_ip 198.51.100.2\n  unicast_peer {{\n    198.51.100.1\n  }}\n\
             unicast_ttl 64\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n"
        )
    };
    let opts = ["unicast_peer=198.51.100.2", "unicast_ttl=64", "min_ttl=60", "max_ttl=64"];
    let us = Daemon::keeplite(a, "uttlka-keeplite", &vrrp_section("gw", 35, 100, VIPS, &opts));
    us.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
    let them = Daemon::keepalived(b, "uttlka-keepalived", &theirs(200));
    until_one_holder(&[a, b], 1, VIP, SETTLE, &[&us, &them]);
    steady_holder(&[a, b], 1, VIP, Duration::from_secs(2), &[&us, &them]);
    them.stop();
    until_one_holder(&[a, b], 0, VIP, SETTLE, &[&us]);
    // keepalived back, lower: it hears keeplite's TTL-64 adverts and stays backup.
    let them = Daemon::keepalived(b, "uttlka-keepalived-2", &theirs(50));
    let all = [&us, &them];
    them.wait_log("Entering BACKUP STATE", SETTLE);
    steady_holder(&[a, b], 0, VIP, Duration::from_secs(3), &all);
    let adverts: Vec<_> =
        capture.finish().iter().filter_map(Frame::advert).filter(|x| x.vrid == 35).collect();
    let ttls = |src: IpAddr| -> Vec<u8> {
        let mut t: Vec<u8> = adverts.iter().filter(|x| x.src == src).map(|x| x.ttl).collect();
        t.dedup();
        t
    };
    // Captured on host 0: its own as sent, keepalived's as received (no router between).
    assert_eq!(ttls(host(0)), [64], "keeplite's TTLs\n{}", logs(&all));
    assert_eq!(ttls(host(1)), [64], "keepalived's TTLs\n{}", logs(&all));
    us.stop();
    let c = us.counters("gw");
    assert!(c.get("adverts_rx") >= 10, "{}", c.line);
    c.assert_no_discards("keeplite with min_ttl 60");
}
