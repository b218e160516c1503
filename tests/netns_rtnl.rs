//! The rtnetlink shell against a real kernel, in throw-away namespaces: VIPs in and out
//! (checked with `ip`), link and address look-ups, change notifications, and the macvlan
//! of `use_vmac`.

mod common;

use keeplite::vrrp::announce::MacAddr;

use common::{netns_available, Lan};
use keeplite::net::address::{self, Address};
use keeplite::net::error::{Error, ErrorKind};
use keeplite::net::link::{self, Link};
use keeplite::net::monitor::{Event, Monitor};
use keeplite::net::netlink::Socket;
use rustix::event::{poll, PollFd, PollFlags};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The value, or a panic that shows the error as an operator would read it.
fn ok<T>(r: Result<T, Error>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A request socket and a monitor opened inside host 0's namespace; both stay bound to
/// it when the test thread uses them.
fn open(lan: &Lan) -> (Socket, Monitor, Link) {
    lan.hosts[0].run(|| {
        let mut sock = ok(Socket::open());
        let monitor = ok(Monitor::open());
        let eth0 = ok(link::by_name(&mut sock, "eth0"));
        (sock, monitor, eth0)
    })
}

/// Waits (at most `limit`) for an event that `want` accepts, skipping others.
fn wait_for(monitor: &mut Monitor, limit: Duration, mut want: impl FnMut(&Event) -> bool) -> Event {
    let deadline = Instant::now() + limit;
    loop {
        while let Some(event) = ok(monitor.next_event()) {
            if want(&event) {
                return event;
            }
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_else(|| panic!("no such event in {limit:?}"));
        let timeout = left.try_into().unwrap();
        let mut fds = [PollFd::new(&*monitor, PollFlags::IN)];
        poll(&mut fds, Some(&timeout)).unwrap();
    }
}

#[test]
fn vips_are_added_and_deleted_with_exists_and_not_there_told_apart() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rtnl-vip", 1);
    let host = &lan.hosts[0];
    let (mut sock, _monitor, eth0) = open(&lan);
    let v4 = ip("198.51.100.7");
    let v6 = ip("2001:db8:1::7");

    ok(address::add(&mut sock, &eth0, v4, 24));
    ok(address::add(&mut sock, &eth0, v6, 64));
    let shown = host.ip_output(&["-o", "addr", "show", "dev", "eth0"]);
    let line = |needle: &str| shown.lines().find(|l| l.contains(needle)).map(str::to_owned);
    let v4_line = line("198.51.100.7/24").unwrap_or_else(|| panic!("no IPv4 VIP in:\n{shown}"));
    let v6_line = line("2001:db8:1::7/64").unwrap_or_else(|| panic!("no IPv6 VIP in:\n{shown}"));
    // Same subnet as the host's own address: the VIP is a secondary, the primary stays.
    assert!(v4_line.contains("secondary"), "{v4_line}");
    assert!(!v6_line.contains("tentative"), "IPv6 VIP must be usable at once: {v6_line}");
    assert!(v6_line.contains("nodad"), "{v6_line}");

    let listed = ok(address::list(&mut sock, &eth0));
    let find = |a: IpAddr| listed.iter().find(|x| x.addr == a).copied();
    let Address { prefix, flags, .. } = find(v4).expect("listed IPv4 VIP");
    assert!(prefix == 24 && flags.secondary());
    assert!(find(v6).expect("listed IPv6 VIP").usable());
    assert_eq!(ok(address::primary_ipv4(&mut sock, &eth0)), Some(Ipv4Addr::new(198, 51, 100, 1)));

    let again = address::add(&mut sock, &eth0, v4, 24).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Exists);
    assert_eq!(again.to_string(), "add 198.51.100.7/24 to eth0: File exists (EEXIST)");
    assert_eq!(address::add(&mut sock, &eth0, v6, 64).unwrap_err().kind(), ErrorKind::Exists);

    ok(address::delete(&mut sock, &eth0, v4, 24));
    ok(address::delete(&mut sock, &eth0, v6, 64));
    let shown = host.ip_output(&["-o", "addr", "show", "dev", "eth0"]);
    assert!(!shown.contains("198.51.100.7/") && !shown.contains("2001:db8:1::7/"), "{shown}");
    // The host's own addresses are untouched.
    assert!(shown.contains("198.51.100.1/24") && shown.contains("2001:db8:1::1/64"), "{shown}");

    for (addr, prefix) in [(v4, 24), (v6, 64)] {
        let gone = address::delete(&mut sock, &eth0, addr, prefix).unwrap_err();
        assert_eq!(gone.kind(), ErrorKind::NotThere, "{gone}");
    }
    let err = address::add(&mut sock, &eth0, v4, 33).unwrap_err();
    assert_eq!(err.to_string(), "add 198.51.100.7/33 to eth0: prefix length longer than the address");
}

#[test]
fn looks_up_eth0_and_its_source_addresses() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rtnl-link", 1);
    let host = &lan.hosts[0];
    let (mut sock, mut monitor, eth0) = open(&lan);

    let shown = host.ip_output(&["-o", "link", "show", "eth0"]);
    let index: u32 = shown.split(':').next().and_then(|i| i.trim().parse().ok()).expect("index from ip");
    assert_eq!(eth0.index, index);
    assert_eq!(eth0.mac, Some([2, 0, 0, 0, 0, 1]));
    assert_eq!(eth0.mtu, 1500);
    assert!(eth0.is_up(), "{eth0:?}");
    assert_eq!(ok(link::by_index(&mut sock, index)), eth0);
    assert_eq!(ok(address::primary_ipv4(&mut sock, &eth0)), Some(Ipv4Addr::new(198, 51, 100, 1)));

    // The kernel makes the link-local address when eth0 comes up and runs DAD on it, so it
    // may still be tentative: subscribe first (done in `open`), ask, and if it is not
    // usable yet, wait for the notification that DAD finished, then ask again.
    let expected: Ipv6Addr = "fe80::ff:fe00:1".parse().unwrap();
    if ok(address::link_local_ipv6(&mut sock, &eth0)).is_none() {
        wait_for(
            &mut monitor,
            Duration::from_secs(10),
            |e| matches!(e, Event::AddressAdded(a) if a.index == index && a.addr == IpAddr::V6(expected) && a.usable()),
        );
    }
    assert_eq!(ok(address::link_local_ipv6(&mut sock, &eth0)), Some(expected));
    let shown = host.ip_output(&["-6", "-o", "addr", "show", "dev", "eth0", "scope", "link"]);
    assert!(shown.contains("fe80::ff:fe00:1/64"), "{shown}");

    let missing = link::by_name(&mut sock, "eth9").unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NoDevice);
    assert_eq!(missing.to_string(), "look up link eth9: No such device (ENODEV)");
    let bad = link::by_name(&mut sock, "a-name-far-too-long").unwrap_err();
    assert_eq!(bad.to_string(), "look up link a-name-far-t...: invalid interface name");
}

#[test]
fn the_monitor_sees_links_go_down_and_up_and_addresses_come_and_go() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rtnl-mon", 1);
    let host = &lan.hosts[0];
    let (_sock, mut monitor, eth0) = open(&lan);
    let limit = Duration::from_secs(5);
    let is_eth0 = |l: &Link| l.index == eth0.index && l.name == eth0.name;

    host.ip(&["link", "set", "eth0", "down"]);
    wait_for(&mut monitor, limit, |e| matches!(e, Event::Link(l) if is_eth0(l) && !l.is_up() && !l.admin_up));
    host.ip(&["link", "set", "eth0", "up"]);
    // Admin up comes first; running follows once the veth peer reports carrier.
    wait_for(&mut monitor, limit, |e| matches!(e, Event::Link(l) if is_eth0(l) && l.is_up()));

    host.ip(&["addr", "add", "198.51.100.50/24", "dev", "eth0"]);
    let want = ip("198.51.100.50");
    let added = wait_for(&mut monitor, limit, |e| matches!(e, Event::AddressAdded(a) if a.addr == want));
    assert!(matches!(added, Event::AddressAdded(a) if a.index == eth0.index && a.prefix == 24));
    host.ip(&["addr", "del", "198.51.100.50/24", "dev", "eth0"]);
    wait_for(
        &mut monitor,
        limit,
        |e| matches!(e, Event::AddressRemoved(a) if a.addr == want && a.prefix == 24),
    );

    host.ip(&["addr", "add", "2001:db8:1::50/64", "dev", "eth0", "nodad"]);
    let want = ip("2001:db8:1::50");
    wait_for(&mut monitor, limit, |e| matches!(e, Event::AddressAdded(a) if a.addr == want && a.usable()));
    assert_eq!(monitor.lost(), 0);
    // Nothing malformed came from a real kernel.
    assert_eq!(monitor.skipped(), 0);
}

#[test]
fn a_vmac_macvlan_is_created_seen_and_deleted() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rtnl-vmac", 1);
    let host = &lan.hosts[0];
    let (mut sock, mut monitor, eth0) = open(&lan);
    let mac = MacAddr::virtual_router(51, false).0;
    assert_eq!(mac, [0x00, 0x00, 0x5e, 0x00, 0x01, 51]);

    ok(link::add_macvlan(&mut sock, "vrrp.51", &eth0, mac, None));
    let vmac = ok(link::by_name(&mut sock, "vrrp.51"));
    assert_eq!((vmac.mac, vmac.parent, vmac.admin_up), (Some(mac), Some(eth0.index), false));
    ok(link::set_up(&mut sock, "vrrp.51", true));
    let vmac = ok(link::by_name(&mut sock, "vrrp.51"));
    assert!(vmac.is_up(), "{vmac:?}");
    wait_for(&mut monitor, Duration::from_secs(5), |e| matches!(e, Event::Link(l) if l.index == vmac.index));

    let shown = host.ip_output(&["-d", "link", "show", "vrrp.51"]);
    assert!(shown.contains("vrrp.51@eth0"), "{shown}");
    assert!(shown.contains("link/ether 00:00:5e:00:01:33"), "{shown}");
    assert!(shown.contains("macvlan mode private"), "{shown}");
    // A VIP on the vmac, as use_vmac puts it there.
    ok(address::add(&mut sock, &vmac, ip("198.51.100.51"), 24));
    assert!(host.ip_output(&["-o", "addr", "show", "dev", "vrrp.51"]).contains("198.51.100.51/24"));

    let again = link::add_macvlan(&mut sock, "vrrp.51", &eth0, mac, None).unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Exists);
    assert_eq!(again.to_string(), "create macvlan vrrp.51 on eth0: File exists (EEXIST)");

    // The IPv6 flavour on the same parent.
    ok(link::add_macvlan(&mut sock, "vrrp6.51", &eth0, MacAddr::virtual_router(51, true).0, None));
    assert!(host.ip_output(&["link", "show", "vrrp6.51"]).contains("00:00:5e:00:02:33"));
    ok(link::delete(&mut sock, "vrrp6.51"));

    ok(link::set_up(&mut sock, "vrrp.51", false));
    assert!(!ok(link::by_name(&mut sock, "vrrp.51")).admin_up);
    ok(link::delete(&mut sock, "vrrp.51"));
    wait_for(
        &mut monitor,
        Duration::from_secs(5),
        |e| matches!(e, Event::LinkRemoved { index, name } if *index == vmac.index && name == "vrrp.51"),
    );
    assert!(host.ip_output(&["link", "show", "vrrp.51"]).is_empty());
    let gone = link::delete(&mut sock, "vrrp.51").unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NoDevice, "{gone}");
    // The parent is unharmed.
    assert!(ok(link::by_name(&mut sock, "eth0")).is_up());
}
