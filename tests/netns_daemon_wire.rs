//! `keeplite run` on a namespaced LAN as another host sees it on the wire (issue 4): the
//! gratuitous ARP and unsolicited NA bursts of a new master, and unicast peers that put no
//! VRRP multicast on the LAN and ignore a stranger's multicast adverts.
//!
//! VRRPv3, advert_int 100 ms throughout.

mod common;

use common::daemon::{logs, steady_holder, until, until_one_holder, until_vip, vrrp_section, Daemon};
use common::wire::{between, handover, Capture, Frame};
use common::{netns_available, Lan};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime};

const VIP4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100);
/// How long an election may take to settle, with room for a loaded machine: what fails a
/// test is a wrong outcome, not a slow one.
const SETTLE: Duration = Duration::from_secs(10);

/// The harness's MAC of host `i` (0-based).
fn mac(i: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, i + 1]
}

/// A gratuitous ARP request for `vip` from `mac`: broadcast, sender and target protocol
/// address both the VIP, sender hardware address `mac`.
fn is_garp(f: &[u8], vip: Ipv4Addr, mac: [u8; 6]) -> bool {
    f.len() >= 42
        && f[0..6] == [0xff; 6]
        && f[6..12] == mac
        && f[12..14] == [0x08, 0x06]
        && f[14..22] == [0, 1, 0x08, 0x00, 6, 4, 0, 1]
        && f[22..28] == mac
        && f[28..32] == vip.octets()
        && f[38..42] == vip.octets()
}

/// An unsolicited neighbour advertisement for `vip` from `mac`: to all-nodes, hop limit
/// 255, Solicited flag clear, Override set, and a target link-layer address option of `mac`.
fn is_unsolicited_na(f: &[u8], vip: Ipv6Addr, mac: [u8; 6]) -> bool {
    f.len() >= 86
        && f[6..12] == mac
        && f[12..14] == [0x86, 0xdd]
        && f[20] == 58
        && f[21] == 255
        && f[38..54] == Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets()
        && f[54] == 136
        && f[58] & 0x40 == 0
        && f[58] & 0x20 != 0
        && f[62..78] == vip.octets()
        && f[78] == 2
        && f[79] == 1
        && f[80..86] == mac
}

/// Splits arrival times into bursts: a gap longer than `gap` starts a new one.
fn bursts(times: &[SystemTime], gap: Duration) -> Vec<Vec<SystemTime>> {
    let mut out: Vec<Vec<SystemTime>> = Vec::new();
    for &t in times {
        match out.last_mut() {
            Some(b) if between(*b.last().unwrap(), t) <= gap => b.push(t),
            _ => out.push(vec![t]),
        }
    }
    out
}

/// When host 1 sent each gratuitous ARP and each unsolicited NA for the VIPs.
fn announcements(frames: &[Frame]) -> (Vec<SystemTime>, Vec<SystemTime>) {
    let garps = frames.iter().filter(|f| is_garp(&f.bytes, VIP4, mac(1))).map(|f| f.at).collect();
    let nas = frames.iter().filter(|f| is_unsolicited_na(&f.bytes, VIP6, mac(1))).map(|f| f.at).collect();
    (garps, nas)
}

#[test]
fn a_new_master_sends_garp_and_unsolicited_na_bursts() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("garp", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let vips = "'198.51.100.100/24' '2001:db8:1::100/64'";
    let opts = ["garp_repeat=3", "garp_interval=20ms", "garp_delay=1s"];
    let first = Daemon::keeplite(a, "garp-first", &vrrp_section("gw", 23, 200, vips, &opts));
    let second = Daemon::keeplite(b, "garp-second", &vrrp_section("gw", 23, 100, vips, &opts));
    let all = [&first, &second];
    for vip in ["198.51.100.100", "2001:db8:1::100"] {
        until_one_holder(&[a, b], 0, vip, SETTLE, &all);
    }

    // Host 1 captures while the master stops and it takes over; everything is timed on the
    // wire from the master's priority-0 advert as host 1 received it, host 1's own frames
    // as they left it (kernel timestamps: the daemon's timing; a third host's would add
    // the bridge's delays, which a busy machine stretches and bunches).
    let (h0, h1): (IpAddr, IpAddr) = ("198.51.100.1".parse().unwrap(), "198.51.100.2".parse().unwrap());
    let capture = Capture::start(b);
    capture.until_advert_from(h0, &all);
    first.stop();
    until_vip(b, "198.51.100.100", true, SETTLE, &all);
    let (stopped, _) = until("host 1's first advert after host 0's last", SETTLE, &all, || {
        handover(&capture.adverts(), 23, h0, h1)
    });
    assert_eq!(stopped.priority, 0, "host 0's last advert: {stopped:?}");
    // Both bursts, then half a second of the wire past the last: time for a third burst
    // that must not come.
    let last = until("two bursts of 3 GARPs and of 3 NAs", SETTLE, &all, || {
        let (garps, nas) = announcements(&capture.frames());
        (garps.len() >= 6 && nas.len() >= 6).then(|| garps[5].max(nas[5]))
    });
    until("half a second of the wire after the second bursts", SETTLE, &all, || {
        capture.adverts().iter().any(|x| x.src == h1 && between(last, x.at) >= Duration::from_millis(500))
    });
    let frames = capture.finish();
    let (garps, nas) = announcements(&frames);
    let from_b = frames.iter().filter(|f| f.bytes.get(6..12) == Some(&mac(1)[..])).count();
    for (what, times) in [("gratuitous ARP", &garps), ("unsolicited NA", &nas)] {
        let bursts = bursts(times, Duration::from_millis(300));
        let sizes: Vec<usize> = bursts.iter().map(Vec::len).collect();
        let context = format!("{what}: bursts of {sizes:?} ({from_b} frames from host 1)\n{}", logs(&all));
        // garp_repeat 3, at once, and again garp_delay later.
        assert_eq!(sizes, [3, 3], "{context}");
        let start = between(stopped.at, bursts[0][0]);
        assert!(start < Duration::from_millis(400), "first burst {start:?} after the stop; {context}");
        for burst in &bursts {
            for pair in burst.windows(2) {
                let gap = between(pair[0], pair[1]);
                assert!(gap >= Duration::from_millis(15), "garp_interval 20ms, gap {gap:?}; {context}");
            }
        }
        let delay = between(bursts[0][0], bursts[1][0]);
        eprintln!(
            "{what}: bursts of {sizes:?}, the first {start:?} after the stop, the second {delay:?} later"
        );
        assert!(
            delay >= Duration::from_millis(900) && delay <= Duration::from_millis(1300),
            "second burst {delay:?} after the first, garp_delay 1s; {context}"
        );
    }
}

#[test]
fn unicast_peers_send_no_multicast_and_ignore_a_stranger() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("ucast", 4);
    let (a, b, c, d) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2], &lan.hosts[3]);
    let vips = "'198.51.100.100/24'";
    let vip = "198.51.100.100";
    let capture = Capture::start(c);
    // The master first, then the backup: started together on a busy machine, the backup
    // could be up a Master_Down_Interval before the master and be master for a moment,
    // and the counts below are those of a backup that never was.
    let high =
        Daemon::keeplite(b, "ucast-high", &vrrp_section("gw", 24, 200, vips, &["unicast_peer=198.51.100.1"]));
    until_vip(b, vip, true, SETTLE, &[&high]);
    let low =
        Daemon::keeplite(a, "ucast-low", &vrrp_section("gw", 24, 100, vips, &["unicast_peer=198.51.100.2"]));
    low.wait_log("vrrp gw: INIT -> BACKUP", SETTLE);
    until_one_holder(&[a, b], 1, vip, SETTLE, &[&low, &high]);
    steady_holder(&[a, b], 1, vip, Duration::from_secs(1), &[&low, &high]);
    let quiet = capture.finish();
    let multicast: Vec<_> = quiet.iter().filter_map(Frame::advert).filter(|x| x.dst.is_multicast()).collect();
    assert!(multicast.is_empty(), "VRRP multicast on the LAN: {multicast:?}\n{}", logs(&[&low, &high]));

    // A stranger: same VRID and VIP, multicast, priority 250. The capture proves its adverts
    // are on the LAN (so it would have seen the pair's, had there been any).
    let capture = Capture::start(c);
    let stranger = Daemon::keeplite(d, "ucast-stranger", &vrrp_section("gw", 24, 250, vips, &[]));
    stranger.wait_log("vrrp gw: BACKUP -> MASTER", SETTLE);
    let all = [&low, &high, &stranger];
    steady_holder(&[a, b], 1, vip, Duration::from_millis(1500), &all);
    let loud = capture.finish();
    let heard = loud
        .iter()
        .filter_map(Frame::advert)
        .filter(|x| {
            x.src == Ipv4Addr::new(198, 51, 100, 4)
                && x.dst == Ipv4Addr::new(224, 0, 0, 18)
                && x.vrid == 24
                && x.priority == 250
        })
        .count();
    assert!(heard >= 10, "{heard} stranger adverts captured\n{}", logs(&all));

    // The backup before the master: the master's priority-0 advert would make it master
    // in its Skew_Time (61 ms), before a busy machine may have stopped it.
    stranger.stop();
    low.stop();
    high.stop();
    assert_eq!(high.transitions("gw", "-> MASTER"), 1, "{}", logs(&all));
    assert_eq!(high.transitions("gw", "MASTER -> BACKUP"), 0, "{}", logs(&all));
    assert_eq!(low.transitions("gw", "-> MASTER"), 0, "{}", logs(&all));
    // The master hears nothing (its backup is silent, the stranger is filtered out); the
    // backup hears only the master; the stranger's adverts reached both and went uncounted
    // as attributed to no instance.
    let (hc, lc) = (high.counters("gw"), low.counters("gw"));
    assert_eq!(hc.get("adverts_rx"), 0, "{}", hc.line);
    assert!(lc.get("adverts_rx") >= 20, "{}", lc.line);
    hc.assert_no_discards("unicast master");
    lc.assert_no_discards("unicast backup");
    for (who, d) in [("master", &high), ("backup", &low)] {
        let u = d.unattributed();
        assert!(u.get("discard_vrid") >= 10, "{who}: stranger adverts not seen: {}", u.line);
    }
}
