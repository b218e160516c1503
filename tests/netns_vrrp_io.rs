//! The VRRP socket layer on a real (namespaced) LAN: our adverts cross a bridge with TTL /
//! hop limit 255 and parse back to what was sent, by multicast and by unicast, IPv4 and
//! IPv6; a lowered TTL is visible to the instance; our own packets never come back; and
//! the distribution's keepalived hears us and we hear it, v2 IPv4, v3 IPv4 and v3 IPv6.

mod common;

use common::daemon::{holds_for, until, Daemon};
use common::{keepalived_available, netns_available, Lan, Netns};
use keeplite::config::model::Family;
use keeplite::vrrp::instance::{Instance, Params, State};
use keeplite::vrrp::io::{group, ErrorKind, Mode, Rejected, VrrpSocket, RECV_BUFFER};
use keeplite::vrrp::packet::{Auth, Repr, Version, TTL};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::net::sockopt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const H0: &str = "198.51.100.1";
const H1: &str = "198.51.100.2";
/// How long any single expected packet may take to arrive.
const WAIT: Duration = Duration::from_secs(5);

fn a(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn advert(version: Version, vrid: u8, priority: u8, interval: u16, vips: &[&str]) -> Repr {
    Repr {
        version,
        vrid,
        priority,
        interval,
        addresses: vips.iter().map(|v| a(v)).collect(),
        auth: Auth::None,
    }
}

/// The index of `dev` inside `ns`.
fn ifindex(ns: &Netns, dev: &str) -> u32 {
    let out = ns.ip_output(&["-o", "link", "show", "dev", dev]);
    out.split(':').next().and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("{dev} index: {out}"))
}

/// `eth0`'s link-local address in `ns`, once duplicate address detection has finished.
fn link_local(ns: &Netns) -> Ipv6Addr {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = ns.ip_output(&["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"]);
        let addr = out
            .split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .and_then(|w| w.split('/').next())
            .and_then(|w| w.parse().ok());
        match addr {
            Some(addr) if !out.contains("tentative") => return addr,
            _ => assert!(Instant::now() < deadline, "{}: no usable link-local address: {out}", ns.name),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A VRRP socket on `eth0` of `ns`.
fn open(ns: &Netns, family: Family) -> VrrpSocket {
    open_on(ns, "eth0", family)
}

/// A VRRP socket on `dev` of `ns`.
fn open_on(ns: &Netns, dev: &str, family: Family) -> VrrpSocket {
    let index = ifindex(ns, dev);
    ns.run(move || VrrpSocket::open(dev, index, family)).unwrap_or_else(|e| panic!("{e}"))
}

/// One received packet, owned.
#[derive(Debug)]
struct Heard {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    advert: Result<Repr, Rejected>,
}

/// The next packet on `sock`, waiting at most `within`.
fn next_packet(sock: &VrrpSocket, within: Duration) -> Option<Heard> {
    let deadline = Instant::now() + within;
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        if let Some(rx) = sock.recv(&mut buf).unwrap_or_else(|e| panic!("{e}")) {
            return Some(Heard { src: rx.src, dst: rx.dst, ttl: rx.ttl, advert: rx.parse() });
        }
        let left = Timespec::try_from(deadline.checked_duration_since(Instant::now())?).ok()?;
        let mut fds = [PollFd::new(sock, PollFlags::IN)];
        let _ = poll(&mut fds, Some(&left));
    }
}

/// The next packet on `sock`, which must come.
fn expect_packet(sock: &VrrpSocket, what: &str) -> Heard {
    next_packet(sock, WAIT).unwrap_or_else(|| panic!("{what}: nothing received within {WAIT:?}"))
}

/// Sends `repr` from `src` to each `dst` on `from` and checks `to` receives it unchanged
/// with TTL `ttl`.
fn round_trip(from: &VrrpSocket, to: &VrrpSocket, repr: &Repr, src: IpAddr, dsts: &[IpAddr], ttl: u8) {
    for &dst in dsts {
        let what = format!("{:?} vrid {} {src} -> {dst}", repr.version, repr.vrid);
        from.send(repr, src, dst).unwrap_or_else(|e| panic!("{what}: {e}"));
        let heard = expect_packet(to, &what);
        assert_eq!((heard.src, heard.dst, heard.ttl), (src, dst, ttl), "{what}");
        assert_eq!(heard.advert.as_ref(), Ok(repr), "{what}");
    }
}

/// Proves no packet `own` sent came back to `own` (or reached `sibling`, another socket on
/// the same host): `peer` sends a marker, and it must be the first thing both receive.
fn nothing_looped_back(own: &VrrpSocket, sibling: &VrrpSocket, peer: &VrrpSocket, peer_src: IpAddr) {
    let marker =
        Repr { addresses: std::iter::once(peer_src).collect(), ..advert(Version::V3, 250, 1, 100, &[]) };
    peer.send(&marker, peer_src, group(peer.family())).expect("marker");
    for (name, sock) in [("sending socket", own), ("other socket on the sending host", sibling)] {
        let heard = expect_packet(sock, name);
        assert_eq!((heard.src, heard.advert.as_ref().map(|r| r.vrid)), (peer_src, Ok(250)), "{name}");
    }
}

/// An instance of `vrid` that has started (backup), for feeding received adverts to.
fn backup_instance(repr: &Repr) -> Instance {
    let params = Params {
        vrid: repr.vrid,
        version: repr.version,
        priority: 100,
        advert_int: Duration::from_secs(1),
        addresses: repr.addresses.iter().copied().collect(),
        preempt: true,
        preempt_delay: Duration::ZERO,
        auth: None,
        garp_delay: Duration::ZERO,
        garp_refresh: Duration::ZERO,
        strict: false,
        lower_prio_no_advert: false,
        accept_ttl: TTL..=TTL,
    };
    let mut i = Instance::new(params, &[]);
    i.start(Instant::now());
    i
}

#[test]
fn ipv4_adverts_cross_the_lan_by_multicast_and_unicast() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("vio4", 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let s0 = open(h0, Family::Ipv4);
    let other = open(h0, Family::Ipv4);
    let s1 = open(h1, Family::Ipv4);
    let v3 = advert(Version::V3, 52, 200, 50, &["198.51.100.100"]);
    let v2 = Repr {
        auth: Auth::SimpleText(*b"secret12"),
        ..advert(Version::V2, 51, 150, 1, &["198.51.100.100", "198.51.100.101"])
    };
    let dsts = [group(Family::Ipv4), a(H1)];
    round_trip(&s0, &s1, &v3, a(H0), &dsts, 255);
    round_trip(&s0, &s1, &v2, a(H0), &dsts, 255);
    nothing_looped_back(&s0, &other, &s1, a(H1));

    // The source given is the one on the wire (else v3's checksum would not verify), also
    // when it is not the address the kernel would have picked.
    h0.ip(&["addr", "add", "198.51.100.11/24", "dev", "eth0"]);
    round_trip(&s0, &s1, &v3, a("198.51.100.11"), &dsts, 255);

    // Unicast mode hears only its peers.
    let heard = {
        s0.send(&v3, a(H0), a(H1)).expect("unicast");
        expect_packet(&s1, "unicast")
    };
    assert!(Mode::Unicast(&[a(H0)]).admits(heard.src, heard.dst));
    assert!(!Mode::Unicast(&[a("198.51.100.3")]).admits(heard.src, heard.dst));

    // A TTL below 255 arrives as it was (an advert from beyond the link), and the
    // instance counts it instead of acting on it.
    sockopt::set_ip_multicast_ttl(&s0, 64).expect("IP_MULTICAST_TTL");
    sockopt::set_ip_ttl(&s0, 64).expect("IP_TTL");
    round_trip(&s0, &s1, &v3, a(H0), &dsts, 64);
    let mut instance = backup_instance(&v3);
    instance.handle_advert(Instant::now(), a(H0), 64, &v3);
    assert_eq!((instance.counters().discard_ttl, instance.counters().adverts_rx), (1, 0));
    assert_eq!(instance.state(), State::Backup);

    // What cannot be sent is refused before anything reaches the wire.
    let v6 = advert(Version::V3, 53, 100, 100, &["2001:db8:1::100"]);
    let refused = s0.send(&v6, a(H0), group(Family::Ipv4)).expect_err("IPv6 addresses on IPv4");
    assert!(matches!(refused.kind, ErrorKind::Unsendable { .. }), "{refused}");
    let refused = s0.send(&v3, a(H0), group(Family::Ipv6)).expect_err("IPv6 destination");
    assert!(matches!(refused.kind, ErrorKind::Unsendable { .. }), "{refused}");
}

#[test]
fn ipv6_adverts_from_the_link_local_address() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("vio6", 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let (ll0, ll1) = (IpAddr::V6(link_local(h0)), IpAddr::V6(link_local(h1)));
    let s0 = open(h0, Family::Ipv6);
    let other = open(h0, Family::Ipv6);
    let s1 = open(h1, Family::Ipv6);
    let v3 = advert(Version::V3, 53, 120, 100, &["2001:db8:1::100", "2001:db8:1::101"]);
    let dsts = [group(Family::Ipv6), ll1, a("2001:db8:1::2")];
    round_trip(&s0, &s1, &v3, ll0, &dsts, 255);
    nothing_looped_back(&s0, &other, &s1, ll1);
    // For a link-scope group the kernel would pick the link-local source; the one given wins.
    round_trip(&s0, &s1, &v3, a("2001:db8:1::1"), &dsts[..1], 255);

    sockopt::set_ipv6_multicast_hops(&s0, 64).expect("IPV6_MULTICAST_HOPS");
    sockopt::set_ipv6_unicast_hops(&s0, Some(64)).expect("IPV6_UNICAST_HOPS");
    round_trip(&s0, &s1, &v3, ll0, &dsts[..2], 64);
    let mut instance = backup_instance(&v3);
    instance.handle_advert(Instant::now(), ll0, 64, &v3);
    assert_eq!(instance.counters().discard_ttl, 1);

    let v2 = advert(Version::V2, 53, 120, 1, &["2001:db8:1::100"]);
    let refused = s0.send(&v2, ll0, group(Family::Ipv6)).expect_err("v2 over IPv6");
    assert!(matches!(refused.kind, ErrorKind::Unsendable { .. }), "{refused}");
}

#[test]
fn a_socket_hears_only_its_own_interface() {
    if !netns_available() {
        return;
    }
    // A second link between the two hosts, beside the LAN: eth1 on both.
    let lan = Lan::new("viobind", 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    h0.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1", "netns", &h1.name]);
    let (b0, b1) = (a("fe80::b:1"), a("fe80::b:2"));
    for (host, addr) in [(h0, b0), (h1, b1)] {
        host.ip(&["addr", "add", &format!("{addr}/64"), "dev", "eth1", "nodad"]);
        host.ip(&["link", "set", "eth1", "up"]);
    }
    let s0 = open(h0, Family::Ipv6);
    let s1 = open(h1, Family::Ipv6);
    let (e0, e1) = (open_on(h0, "eth1", Family::Ipv6), open_on(h1, "eth1", Family::Ipv6));
    // Host 1 has joined the group on eth1 too, so only the binding keeps eth1's adverts
    // away from its eth0 socket.
    let v3 = advert(Version::V3, 54, 100, 100, &["2001:db8:1::100"]);
    round_trip(&e0, &e1, &v3, b0, &[group(Family::Ipv6)], 255);
    let ll0 = IpAddr::V6(link_local(h0));
    let marker = advert(Version::V3, 250, 1, 100, &["2001:db8:1::250"]);
    s0.send(&marker, ll0, group(Family::Ipv6)).expect("marker on eth0");
    let heard = expect_packet(&s1, "eth0 socket");
    assert_eq!(
        (heard.src, heard.advert.map(|r| r.vrid)),
        (ll0, Ok(250)),
        "eth1's advert reached eth0's socket"
    );
}

// ---------------------------------------------------------------- keepalived interop --

/// One keepalived VRRP instance on `eth0`.
fn keepalived_conf(
    state: &str,
    version: u8,
    vrid: u8,
    priority: u8,
    advert_int: &str,
    vips: &[&str],
) -> String {
    let vips: String = vips.iter().map(|v| format!("        {v}\n")).collect();
    format!(
        "global_defs {{
    router_id kl-test
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
    vrrp_garp_master_refresh 0
}}
vrrp_instance test {{
    state {state}
    interface eth0
    version {version}
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert_int}
    virtual_ipaddress {{
{vips}    }}
}}
"
    )
}

/// keepalived as master on host 0 sending `expected`; host 1's socket hears it.
fn keepalived_master_is_heard(tag: &str, family: Family, advert_int: &str, expected: Repr) {
    if !netns_available() || !keepalived_available() {
        return;
    }
    let lan = Lan::new(tag, 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let src = match family {
        Family::Ipv4 => a(H0),
        // keepalived sends IPv6 adverts from the link-local address, once it is usable.
        Family::Ipv6 => IpAddr::V6(link_local(h0)),
    };
    let s1 = open(h1, family);
    let version = if expected.version == Version::V2 { 2 } else { 3 };
    let vips: Vec<String> =
        expected.addresses.iter().map(|v| format!("{v}/{}", if v.is_ipv4() { 24 } else { 64 })).collect();
    let vips: Vec<&str> = vips.iter().map(String::as_str).collect();
    let conf = keepalived_conf("MASTER", version, expected.vrid, expected.priority, advert_int, &vips);
    let ka = Daemon::keepalived(h0, "ka", &conf);
    let deadline = Instant::now() + Duration::from_secs(10);
    let heard = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(heard) = next_packet(&s1, left) else {
            panic!("no advert from keepalived within 10 s:\n{}", ka.log());
        };
        // Whatever else it sends first, its adverts for this VRID are what counts.
        if heard.advert.as_ref().is_ok_and(|r| r.vrid == expected.vrid) {
            break heard;
        }
    };
    assert_eq!((heard.src, heard.dst, heard.ttl), (src, group(family), 255));
    assert_eq!(heard.advert, Ok(expected));
}

#[test]
fn keepalived_v2_ipv4_master_is_heard() {
    let expected = advert(Version::V2, 51, 150, 1, &["198.51.100.100", "198.51.100.101"]);
    keepalived_master_is_heard("kav2", Family::Ipv4, "1", expected);
}

#[test]
fn keepalived_v3_ipv4_master_is_heard() {
    keepalived_master_is_heard(
        "kav3",
        Family::Ipv4,
        "0.5",
        advert(Version::V3, 52, 200, 50, &["198.51.100.100"]),
    );
}

#[test]
fn keepalived_v3_ipv6_master_is_heard() {
    let expected = advert(Version::V3, 53, 120, 50, &["2001:db8:1::100", "2001:db8:1::101"]);
    keepalived_master_is_heard("kav6", Family::Ipv6, "0.5", expected);
}

/// Clears the flag when dropped, also while unwinding from a failed assertion.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// keepalived as a lower-priority backup on host 0 while host 1 sends `ours` every
/// `interval`: it stays backup (no VIP) for four intervals, and takes over once we stop.
fn keepalived_yields_to_us(tag: &str, family: Family, interval: Duration, advert_int: &str, ours: Repr) {
    if !netns_available() || !keepalived_available() {
        return;
    }
    let lan = Lan::new(tag, 2);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let src = match family {
        Family::Ipv4 => a(H1),
        Family::Ipv6 => {
            link_local(h0); // keepalived needs its own before it starts.
            IpAddr::V6(link_local(h1))
        }
    };
    let s1 = open(h1, family);
    let version = if ours.version == Version::V2 { 2 } else { 3 };
    let vips: Vec<String> =
        ours.addresses.iter().map(|v| format!("{v}/{}", if v.is_ipv4() { 24 } else { 64 })).collect();
    let vip_shown = format!("{}/", ours.addresses[0]);
    let vips: Vec<&str> = vips.iter().map(String::as_str).collect();
    let conf = keepalived_conf("BACKUP", version, ours.vrid, 100, advert_int, &vips);
    let has_vip = || h0.ip_output(&["addr", "show", "dev", "eth0"]).contains(&vip_shown);

    let sending = AtomicBool::new(true);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while sending.load(Ordering::Relaxed) {
                for dst in Mode::Multicast(group(family)).destinations() {
                    s1.send(&ours, src, dst).unwrap_or_else(|e| panic!("{e}"));
                }
                std::thread::sleep(interval);
            }
        });
        // A failed assertion must stop the sender too, or the scope never ends.
        let _stop = StopOnDrop(&sending);
        let ka = Daemon::keepalived(h0, "ka", &conf);
        ka.wait_log("Entering BACKUP STATE", Duration::from_secs(10));
        let what = format!("keepalived without the VIP while we advertise priority {}", ours.priority);
        holds_for(&what, 4 * interval, &[&ka], || !has_vip());
        assert!(!ka.log().contains("Entering MASTER STATE"), "keepalived became master:\n{}", ka.log());

        sending.store(false, Ordering::Relaxed);
        // Master_Down_Interval is 3 intervals plus skew; a busy machine may take longer
        // to show it, and what fails the test is keepalived not taking over at all.
        until("keepalived taking over after we stopped", 6 * interval + WAIT, &[&ka], has_vip);
        ka.wait_log("Entering MASTER STATE", WAIT);
    });
}

#[test]
fn keepalived_v2_ipv4_backup_yields_to_us() {
    let ours = advert(Version::V2, 61, 200, 1, &["198.51.100.100"]);
    keepalived_yields_to_us("kby2", Family::Ipv4, Duration::from_secs(1), "1", ours);
}

#[test]
fn keepalived_v3_ipv4_backup_yields_to_us() {
    let ours = advert(Version::V3, 62, 200, 50, &["198.51.100.100"]);
    keepalived_yields_to_us("kby3", Family::Ipv4, Duration::from_millis(500), "0.5", ours);
}

#[test]
fn keepalived_v3_ipv6_backup_yields_to_us() {
    let ours = advert(Version::V3, 63, 200, 50, &["2001:db8:1::100"]);
    keepalived_yields_to_us("kby6", Family::Ipv6, Duration::from_millis(500), "0.5", ours);
}

/// `unicast_ttl`: a TTL / hop limit per packet (a control message) leaves the socket's own
/// 255 alone for the next packet; `mcast_group4/6`: a socket joined to other groups hears
/// adverts sent to those and not to the default group.
#[test]
fn a_ttl_per_packet_and_groups_of_ones_own() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("viottl", 2);
    lan.until_link_local();
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    for (family, src, dst, groups) in [
        (Family::Ipv4, a(H0), a(H1), [a("224.0.0.118"), a("239.255.0.18")]),
        (
            Family::Ipv6,
            IpAddr::V6(link_local(h0)),
            IpAddr::V6(link_local(h1)),
            [a("ff02::1:12"), a("ff02::1:13")],
        ),
    ] {
        let vip = if family == Family::Ipv4 { "198.51.100.100" } else { "2001:db8:1::100" };
        let v3 = advert(Version::V3, 55, 100, 100, &[vip]);
        let s0 = open(h0, family);
        let index = ifindex(h1, "eth0");
        let s1 = h1.run(move || VrrpSocket::open_joined("eth0", index, family, &groups)).expect("joined");
        assert_eq!(s1.groups(), &groups[..]);
        for ttl in [64u8, 1, 255] {
            s0.send_with(&v3, &[], src, dst, ttl).expect("unicast with a TTL");
            let heard = expect_packet(&s1, "unicast with a TTL");
            assert_eq!((heard.ttl, heard.advert.as_ref()), (ttl, Ok(&v3)), "{family:?} TTL {ttl}");
        }
        s0.send(&v3, src, dst).expect("unicast");
        assert_eq!(expect_packet(&s1, "unicast after").ttl, 255, "{family:?}: the socket's TTL is still 255");
        // The default group is not joined: a marker to a joined group is the first thing heard.
        s0.send(&v3, src, group(family)).expect("to the default group");
        for g in groups {
            let marker = advert(Version::V3, 250, 1, 100, &[vip]);
            s0.send(&marker, src, g).expect("to a joined group");
            let heard = expect_packet(&s1, "a joined group");
            assert_eq!(
                (heard.dst, heard.ttl, heard.advert.map(|r| r.vrid)),
                (g, 255, Ok(250)),
                "{family:?} {g}"
            );
            assert!(Mode::Multicast(g).admits(heard.src, heard.dst));
            assert!(!Mode::Multicast(group(family)).admits(heard.src, heard.dst));
        }
    }
}
