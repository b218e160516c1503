//! Address announcements on a real (namespaced) LAN: frames built by `vrrp::announce` and
//! sent through `net::packet_socket` from host 0 arrive on host 1 byte for byte, and update
//! host 1's neighbour table the way the kernel's sysctls say they should.

mod common;

use common::daemon::{holds_for, until};
use common::{netns_available, Lan, Netns};
use keeplite::net::packet_socket::{ErrorKind, PacketSocket};
use keeplite::vrrp::announce::{gratuitous_arp, neighbour_advert, MacAddr, NeighbourAdvert};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{self, RecvFlags};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// Host 0's eth0, as the harness sets it.
const HOST0_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
const VIP4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
const VIP6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100);
/// A MAC no host has: what a neighbour entry holds for a VIP that moved away.
const OLD_MAC: &str = "02:00:00:00:00:99";

/// An ETH_P_ALL packet socket in a namespace: sees every frame on its interfaces.
struct Sniffer(OwnedFd);

impl Sniffer {
    fn open_in(ns: &Netns) -> Sniffer {
        let fd = common::sniffer(ns, Duration::from_millis(100));
        Sniffer(fd)
    }

    /// Waits for `frame` (allowing zero padding to the 60-byte Ethernet minimum).
    fn expect(&self, frame: &[u8], what: &str) {
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut buf = [0u8; 2048];
        let mut others = 0;
        while Instant::now() < deadline {
            match net::recv(&self.0, &mut buf, RecvFlags::empty()) {
                Ok((got, _)) => {
                    let got = &buf[..got];
                    let padded = got.len() == 60 && got[frame.len().min(60)..].iter().all(|&b| b == 0);
                    if got == frame || (padded && got.starts_with(frame)) {
                        return;
                    }
                    others += 1;
                }
                Err(Errno::AGAIN) | Err(Errno::INTR) => {}
                Err(e) => panic!("sniffer recv: {e}"),
            }
        }
        panic!("{what}: not received as built within 3 s ({others} other frames seen)");
    }
}

/// `ip -n NS neigh show to ADDR dev eth0`, trimmed: empty when there is no entry.
fn neighbour(ns: &Netns, addr: &str) -> String {
    ns.ip_output(&["neigh", "show", "to", addr, "dev", "eth0"]).trim().to_owned()
}

/// Polls until host's entry for `addr` contains `want`, or fails with what it holds.
fn await_neighbour(ns: &Netns, addr: &str, want: &str, what: &str) -> String {
    let what = format!("{what}: neighbour entry for {addr} with {want:?}");
    until(&what, Duration::from_secs(5), &[], || {
        let entry = neighbour(ns, addr);
        if entry.contains(want) {
            Ok(entry)
        } else {
            Err(format!("{entry:?}"))
        }
    })
}

/// Looks at host's entry for `addr` throughout 200 ms after a frame that must not make
/// one arrived, and fails at the first look that finds one.
fn stays_without_neighbour(ns: &Netns, addr: &str, what: &str) {
    holds_for(what, Duration::from_millis(200), &[], || {
        let entry = neighbour(ns, addr);
        if entry.is_empty() {
            Ok(())
        } else {
            Err(entry)
        }
    });
}

/// Writes a sysctl of the namespace (`/proc/sys/net` is per network namespace); false when
/// this kernel has no such knob.
fn sysctl(ns: &Netns, key: &str, value: &str) -> bool {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    ns.run(|| match std::fs::write(&path, value) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => panic!("{path}: {e}"),
    })
}

fn send_from(ns: &Netns, frame: &[u8]) {
    ns.run(|| {
        let sock = PacketSocket::open("eth0").unwrap_or_else(|e| panic!("{e}"));
        sock.send(frame).unwrap_or_else(|e| panic!("{e}"));
        // Bound to no protocol, the socket is send-only: nothing ever queues on it.
        let mut buf = [0u8; 64];
        assert_eq!(net::recv(&sock, &mut buf, RecvFlags::empty()).err(), Some(Errno::AGAIN));
    });
}

#[test]
fn gratuitous_arp_arrives_as_built_and_updates_neighbours() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("garp", 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let sniffer = Sniffer::open_in(h1);
    let frame = gratuitous_arp(VIP4, HOST0_MAC);
    let vip = VIP4.to_string();

    // arp_accept=0 (the default): a GARP for an address the host has no entry for is
    // ignored, so hosts that never talked to the VIP learn nothing.
    send_from(h0, &frame);
    sniffer.expect(&frame, "GARP");
    stays_without_neighbour(h1, &vip, "no entry from a GARP with arp_accept=0");

    // The failover case: a host that did talk to the VIP holds the old master's MAC, and
    // the GARP overrides it, whatever arp_accept says.
    h1.ip(&["neigh", "replace", &vip, "lladdr", OLD_MAC, "dev", "eth0", "nud", "stale"]);
    send_from(h0, &frame);
    sniffer.expect(&frame, "GARP");
    let entry = await_neighbour(h1, &vip, "02:00:00:00:00:01", "GARP over an existing entry");
    eprintln!("arp_accept=0, existing entry: {entry}");

    // arp_accept=1: the GARP creates the entry.
    h1.ip(&["neigh", "del", &vip, "dev", "eth0"]);
    assert!(sysctl(h1, "net.ipv4.conf.eth0.arp_accept", "1"));
    send_from(h0, &frame);
    sniffer.expect(&frame, "GARP");
    let entry = await_neighbour(h1, &vip, "02:00:00:00:00:01", "GARP with arp_accept=1");
    eprintln!("arp_accept=1, no entry before: {entry}");
}

#[test]
fn neighbour_advert_arrives_as_built_and_updates_neighbours() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("na", 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let sniffer = Sniffer::open_in(h1);
    let frame = neighbour_advert(&NeighbourAdvert::for_vip(VIP6, HOST0_MAC, false));
    let vip = VIP6.to_string();

    // Untracked (no entry) unsolicited NAs are ignored by default (RFC 4861 section 7.2.5).
    send_from(h0, &frame);
    sniffer.expect(&frame, "NA");
    stays_without_neighbour(h1, &vip, "no entry from an untracked NA");

    // An existing entry is overridden (O flag) and goes STALE (S flag clear). The kernel
    // accepting it also proves hop limit and ICMPv6 checksum right.
    h1.ip(&["neigh", "replace", &vip, "lladdr", OLD_MAC, "dev", "eth0", "nud", "stale"]);
    send_from(h0, &frame);
    sniffer.expect(&frame, "NA");
    let entry = await_neighbour(h1, &vip, "02:00:00:00:00:01", "NA over an existing entry");
    assert!(entry.contains("STALE"), "NA over an existing entry: {entry}");
    eprintln!("existing entry: {entry}");

    // RFC 9131 (Linux 5.18+): a router (forwarding=1) with accept_untracked_na creates the
    // entry; a plain host never does.
    h1.ip(&["neigh", "del", &vip, "dev", "eth0"]);
    if !sysctl(h1, "net.ipv6.conf.eth0.accept_untracked_na", "1") {
        eprintln!("this kernel has no accept_untracked_na; untracked NA case not run");
        return;
    }
    send_from(h0, &frame);
    sniffer.expect(&frame, "NA");
    stays_without_neighbour(h1, &vip, "no entry from an NA with accept_untracked_na and no forwarding");
    assert!(sysctl(h1, "net.ipv6.conf.eth0.forwarding", "1"));
    send_from(h0, &frame);
    sniffer.expect(&frame, "NA");
    let entry = await_neighbour(h1, &vip, "02:00:00:00:00:01", "NA with accept_untracked_na=1, forwarding=1");
    eprintln!("accept_untracked_na=1, forwarding=1, no entry before: {entry}");
}

#[test]
fn router_flag_and_virtual_mac_arrive_as_built() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("vmac", 2);
    let sniffer = Sniffer::open_in(&lan.hosts[1]);
    // Frames with a source MAC other than the interface's go out unchanged: with use_vmac
    // the integrator may send them from the base interface's socket too.
    let garp = gratuitous_arp(VIP4, MacAddr::virtual_router(51, false));
    let na = neighbour_advert(&NeighbourAdvert::for_vip(VIP6, MacAddr::virtual_router(51, true), true));
    send_from(&lan.hosts[0], &garp);
    sniffer.expect(&garp, "GARP from the virtual MAC");
    send_from(&lan.hosts[0], &na);
    sniffer.expect(&na, "NA from the virtual MAC with the Router flag");
}

#[test]
fn errors_name_the_interface() {
    if !netns_available() {
        return;
    }
    let ns = Netns::new("annerr");
    ns.ip(&["link", "add", "vdown0", "type", "veth", "peer", "name", "vdown1"]);
    ns.run(|| {
        let e = PacketSocket::open("nosuch0").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Index(Errno::NODEV), "{e}");
        assert!(e.to_string().starts_with("nosuch0: "), "{e}");

        let e = PacketSocket::open_index(999_999, "gone0").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Bind(Errno::NODEV), "{e}");
        assert!(e.to_string().starts_with("gone0: "), "{e}");

        // A link that is down refuses frames.
        let sock = PacketSocket::open("vdown0").unwrap_or_else(|e| panic!("{e}"));
        let e = sock.send(&gratuitous_arp(VIP4, HOST0_MAC)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Send(Errno::NETDOWN), "{e}");
        assert!(e.to_string().starts_with("vdown0: sending a frame failed"), "{e}");
    });
}
