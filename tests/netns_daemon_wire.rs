//! `keeplite run` on a namespaced LAN as another host sees it on the wire (issue 4): the
//! gratuitous ARP and unsolicited NA bursts of a new master, and unicast peers that put no
//! VRRP multicast on the LAN and ignore a stranger's multicast adverts.
//!
//! VRRPv3, advert_int 100 ms throughout.

mod common;

use common::daemon::{logs, steady_holder, until_vip, vrrp_section, Daemon};
use common::{netns_available, Lan, Netns};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{self, RecvFlags};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const VIP4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100);

/// The harness's MAC of host `i` (0-based).
fn mac(i: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, i + 1]
}

/// A frame and when the capture thread read it.
struct Frame {
    at: Instant,
    bytes: Vec<u8>,
}

/// Every frame on a host's interfaces (AF_PACKET, ETH_P_ALL), read on a thread until
/// [`finish`](Capture::finish).
struct Capture {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Frame>>,
}

impl Capture {
    fn start(ns: &Netns) -> Capture {
        let fd: OwnedFd = common::sniffer(ns, Duration::from_millis(20));
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut frames = Vec::new();
            let mut buf = [0u8; 2048];
            while !stopped.load(Ordering::Relaxed) {
                match net::recv(&fd, &mut buf, RecvFlags::empty()) {
                    Ok((n, _)) => frames.push(Frame { at: Instant::now(), bytes: buf[..n].to_vec() }),
                    Err(Errno::AGAIN) | Err(Errno::INTR) => {}
                    Err(e) => panic!("capture recv: {e}"),
                }
            }
            frames
        });
        Capture { stop, thread }
    }

    fn finish(self) -> Vec<Frame> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("capture thread")
    }
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

/// An IPv4 VRRP packet (protocol 112): (source, destination, VRID, priority).
fn vrrp4(f: &[u8]) -> Option<(Ipv4Addr, Ipv4Addr, u8, u8)> {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[23] != 112 {
        return None;
    }
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let vrrp = f.get(14 + ihl..14 + ihl + 3)?;
    let addr = |at: usize| Ipv4Addr::new(f[at], f[at + 1], f[at + 2], f[at + 3]);
    Some((addr(26), addr(30), vrrp[1], vrrp[2]))
}

/// Splits arrival times into bursts: a gap longer than `gap` starts a new one.
fn bursts(times: &[Instant], gap: Duration) -> Vec<Vec<Instant>> {
    let mut out: Vec<Vec<Instant>> = Vec::new();
    for &t in times {
        match out.last_mut() {
            Some(b) if t.duration_since(*b.last().unwrap()) <= gap => b.push(t),
            _ => out.push(vec![t]),
        }
    }
    out
}

#[test]
fn a_new_master_sends_garp_and_unsolicited_na_bursts() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("garp", 3);
    let (a, b, c) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let vips = "'198.51.100.100/24' '2001:db8:1::100/64'";
    let opts = ["garp_repeat=3", "garp_interval=20ms", "garp_delay=1s"];
    let first = Daemon::keeplite(a, "garp-first", &vrrp_section("gw", 23, 200, vips, &opts));
    let second = Daemon::keeplite(b, "garp-second", &vrrp_section("gw", 23, 100, vips, &opts));
    let all = [&first, &second];
    until_vip(a, "198.51.100.100", true, Duration::from_secs(3), &all);
    until_vip(a, "2001:db8:1::100", true, Duration::from_secs(3), &all);

    // Host 2 listens while the master stops and host 1 takes over.
    let capture = Capture::start(c);
    let stopped = Instant::now();
    first.stop();
    until_vip(b, "198.51.100.100", true, Duration::from_secs(1), &all);
    std::thread::sleep(Duration::from_millis(1800).saturating_sub(stopped.elapsed()));
    let frames = capture.finish();

    let garps: Vec<Instant> =
        frames.iter().filter(|f| is_garp(&f.bytes, VIP4, mac(1))).map(|f| f.at).collect();
    let nas: Vec<Instant> =
        frames.iter().filter(|f| is_unsolicited_na(&f.bytes, VIP6, mac(1))).map(|f| f.at).collect();
    let from_b = frames.iter().filter(|f| f.bytes.get(6..12) == Some(&mac(1)[..])).count();
    for (what, times) in [("gratuitous ARP", &garps), ("unsolicited NA", &nas)] {
        let bursts = bursts(times, Duration::from_millis(300));
        let sizes: Vec<usize> = bursts.iter().map(Vec::len).collect();
        let context = format!("{what}: bursts of {sizes:?} ({from_b} frames from host 1)\n{}", logs(&all));
        // garp_repeat 3, at once, and again garp_delay later.
        assert_eq!(sizes, [3, 3], "{context}");
        let start = bursts[0][0].duration_since(stopped);
        assert!(start < Duration::from_millis(400), "first burst {start:?} after the stop; {context}");
        for burst in &bursts {
            for pair in burst.windows(2) {
                let gap = pair[1].duration_since(pair[0]);
                assert!(gap >= Duration::from_millis(15), "garp_interval 20ms, gap {gap:?}; {context}");
            }
        }
        let delay = bursts[1][0].duration_since(bursts[0][0]);
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
    let started = Instant::now();
    let low =
        Daemon::keeplite(a, "ucast-low", &vrrp_section("gw", 24, 100, vips, &["unicast_peer=198.51.100.2"]));
    let high =
        Daemon::keeplite(b, "ucast-high", &vrrp_section("gw", 24, 200, vips, &["unicast_peer=198.51.100.1"]));
    until_vip(b, vip, true, Duration::from_secs(3), &[&low, &high]);
    steady_holder(&[a, b], 1, vip, Duration::from_secs(1), &[&low, &high]);
    let quiet = capture.finish();
    let multicast: Vec<_> = quiet
        .iter()
        .filter(|f| f.at >= started)
        .filter_map(|f| vrrp4(&f.bytes))
        .filter(|(_, dst, _, _)| dst.is_multicast())
        .collect();
    assert!(multicast.is_empty(), "VRRP multicast on the LAN: {multicast:?}\n{}", logs(&[&low, &high]));

    // A stranger: same VRID and VIP, multicast, priority 250. The capture proves its adverts
    // are on the LAN (so it would have seen the pair's, had there been any).
    let capture = Capture::start(c);
    let stranger = Daemon::keeplite(d, "ucast-stranger", &vrrp_section("gw", 24, 250, vips, &[]));
    stranger.wait_log("vrrp gw: BACKUP -> MASTER", Duration::from_secs(3));
    let all = [&low, &high, &stranger];
    steady_holder(&[a, b], 1, vip, Duration::from_millis(1500), &all);
    let loud = capture.finish();
    let heard = loud
        .iter()
        .filter_map(|f| vrrp4(&f.bytes))
        .filter(|&(src, dst, vrid, prio)| {
            src == Ipv4Addr::new(198, 51, 100, 4)
                && dst == Ipv4Addr::new(224, 0, 0, 18)
                && vrid == 24
                && prio == 250
        })
        .count();
    assert!(heard >= 10, "{heard} stranger adverts captured\n{}", logs(&all));

    stranger.stop();
    high.stop();
    low.stop();
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
