//! VM tier: an instance's own interface where the host kernel cannot make one (it has no
//! ipvlan and no VRF; the guest's modules have both). `use_ipvlan`: the adverts sent and
//! heard on an L2 ipvlan that keeps the interface's MAC and holds an address of its own,
//! the VIPs on the interface, in a pair of keepalived and keeplite imported from the same
//! keepalived.conf (keepalived 2.2.7 keeps the VIPs on the interface too), and in a keeplite
//! pair with IPv4 and IPv6 on one interface; and `use_vmac` and `use_ipvlan` on an
//! interface enslaved to a VRF, where the new interface must join the VRF and the VIPs'
//! routes be in the VRF's table. A client on the LAN must reach the VIP through whichever
//! router holds it.

mod common;

use common::daemon::{logs, until, Daemon};
use common::wire::Capture;
use common::{keepalived_available, keeplite_bin, vm_available, Lan, Netns};
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

const VIP: &str = "198.51.100.100";
const VIP6: &str = "2001:db8:1::100";
/// Election and failover with advert_int 1 s (version 2, keepalived's default) and TCG's
/// slowness.
const WITHIN: Duration = Duration::from_secs(20);

/// The interface `addr` is on in `ns` (`vrrp.51`, not `vrrp.51@eth0`), if any.
fn dev_of(ns: &Netns, addr: &str) -> Option<String> {
    ns.ip_output(&["-o", "addr", "show"]).lines().find_map(|l| {
        let w: Vec<&str> = l.split_whitespace().collect();
        let held = w.iter().any(|x| x.split('/').next() == Some(addr));
        held.then(|| w.get(1).map(|d| d.split('@').next().unwrap_or(d).to_owned())).flatten()
    })
}

/// `ip -d link show dev DEV` in `ns`.
fn details(ns: &Netns, dev: &str) -> String {
    ns.ip_output(&["-d", "link", "show", "dev", dev])
}

/// Waits until `addr` is on an interface of `holder` and on none of `other`; returns the
/// interface.
fn until_held(holder: &Netns, other: &Netns, addr: &str, daemons: &[&Daemon]) -> String {
    until(&format!("{addr} on {} only", holder.name), WITHIN, daemons, || {
        match (dev_of(holder, addr), dev_of(other, addr)) {
            (Some(dev), None) => Ok(dev),
            seen => Err(format!("held on {seen:?}")),
        }
    })
}

/// Waits until `ns` has ipvlan `dev` in L2 mode `mode` holding `own` (an address of its
/// own, or for IPv6 a link-local one).
fn until_ipvlan(ns: &Netns, dev: &str, mode: &str, own: &str, daemons: &[&Daemon]) {
    until(&format!("{}: ipvlan {dev} ({mode}) with {own}", ns.name), WITHIN, daemons, || {
        let d = details(ns, dev);
        let addrs = ns.ip_output(&["-o", "addr", "show", "dev", dev]);
        let holds = addrs.split_whitespace().any(|w| w.split('/').next() == Some(own));
        if d.contains(&format!("ipvlan  mode l2 {mode}")) && holds {
            Ok(())
        } else {
            Err(format!("{d}; {addrs}"))
        }
    })
}

/// Waits until `capture` has an advert from `src` sent with source MAC `mac`.
fn until_advert(capture: &Capture, src: &str, mac: [u8; 6], daemons: &[&Daemon]) {
    let src: IpAddr = src.parse().unwrap();
    until(&format!("an advert from {src}, MAC {mac:02x?}"), WITHIN, daemons, || {
        let frames = capture.frames();
        let from = frames.iter().find(|f| f.advert().is_some_and(|x| x.src == src));
        match from.map(|f| &f.bytes[6..12]) {
            Some(m) if m == mac => Ok(()),
            seen => Err(format!("source MAC {seen:02x?}")),
        }
    })
}

/// Waits until `client` reaches `addr` (ping) and has it at `mac` in its neighbour table:
/// the holder answered ARP, or its gratuitous ARP moved the entry.
fn until_reached_at(client: &Netns, addr: &str, mac: &str, daemons: &[&Daemon]) {
    until(&format!("{}: {addr} reached at {mac}", client.name), WITHIN, daemons, || {
        let ping = client.command("ping").args(["-c", "1", "-W", "1", addr]).output().expect("run ping");
        let neigh = client.ip_output(&["neigh", "show", addr]);
        if ping.status.success() && neigh.contains(mac) {
            Ok(())
        } else {
            Err(format!("ping {}; neighbour: {neigh}", ping.status))
        }
    });
}

fn keepalived_conf(priority: u8, own: &str) -> String {
    format!(
        "global_defs {{\n    router_id ipvl{priority}\n}}\n\
         vrrp_instance gw {{\n    interface eth0\n    virtual_router_id 51\n    priority {priority}\n\
         \x20   advert_int 1\n    use_ipvlan {own}/24\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    )
}

/// keepalived's keyword file imported by keeplite, which must report nothing.
fn imported(conf: &str) -> String {
    let dir = common::daemon::scratch("ipvl-import");
    std::fs::write(dir.join("keepalived.conf"), conf).expect("write keepalived.conf");
    let out = Command::new(keeplite_bin())
        .args(["import", "-f"])
        .arg(dir.join("keepalived.conf"))
        .output()
        .expect("run keeplite import");
    let (text, reported) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && reported.is_empty(), "import reported:\n{reported}\n{text}");
    assert!(text.contains("use_ipvlan='1'") && text.contains("ipvlan_address='198.51.100.12/24'"), "{text}");
    text.into_owned()
}

#[test]
fn keepalived_and_the_imported_file_share_a_vrid_on_ipvlans() {
    if !(vm_available() && keepalived_available()) {
        return;
    }
    let lan = Lan::new("ipvl", 3);
    let (a, b, client) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let theirs = Daemon::keepalived_in_guest(a, "ipvl-ka", &keepalived_conf(200, "198.51.100.11"));
    let capture = Capture::start(client);
    let ours = Daemon::keeplite(b, "ipvl-kl", &imported(&keepalived_conf(100, "198.51.100.12")));
    let all = [&theirs, &ours];

    // keepalived is master, sending from its ipvlan's address; the VIP on its interface,
    // reached at the interface's MAC.
    assert_eq!(until_held(a, b, VIP, &all), "eth0");
    until_advert(&capture, "198.51.100.11", [2, 0, 0, 0, 0, 1], &all);
    until_reached_at(client, VIP, "02:00:00:00:00:01", &all);
    // keeplite's ipvlan is up as backup: L2, bridge mode, with its own address.
    until_ipvlan(b, "vrrp.51", "bridge", "198.51.100.12", &all);

    // keepalived stops: keeplite takes over, sending from the ipvlan's address with the
    // interface's MAC, and the client's neighbour entry follows its gratuitous ARP.
    assert_eq!(theirs.stop(), Some(0), "{}", logs(&all));
    until_advert(&capture, "198.51.100.12", [2, 0, 0, 0, 0, 2], &[&ours]);
    assert_eq!(until_held(b, a, VIP, &[&ours]), "eth0");
    until_reached_at(client, VIP, "02:00:00:00:00:02", &[&ours]);

    // At stop keeplite removes its ipvlan.
    assert_eq!(ours.stop(), Some(0), "{}", ours.log());
    assert!(b.ip_output(&["-o", "link", "show"]).lines().all(|l| !l.contains("vrrp.51")), "{}", ours.log());
}

/// Two instances on one interface's ipvlans, IPv4 (with an address of its own) and IPv6
/// (with the interface's link-local), in private mode.
fn keeplite_conf(priority: u8, own: &str) -> String {
    format!(
        "g=global\ng.status_socket=/run/ipvl6-{priority}.sock\n\
         v4=vrrp\nv4.interface=eth0\nv4.vrid=52\nv4.priority={priority}\nv4.advert_int=100ms\n\
         v4.vip='{VIP}/24'\nv4.use_ipvlan=1\nv4.ipvlan_mode=private\nv4.ipvlan_address={own}/24\n\
         v6=vrrp\nv6.interface=eth0\nv6.vrid=52\nv6.priority={priority}\nv6.advert_int=100ms\n\
         v6.vip='fe80::52/64' '{VIP6}/64'\nv6.use_ipvlan=1\nv6.ipvlan_mode=private\n"
    )
}

#[test]
fn a_keeplite_pair_sends_ipv4_and_ipv6_adverts_on_ipvlans() {
    if !vm_available() {
        return;
    }
    let lan = Lan::new("ipvl6", 3);
    lan.until_link_local();
    let (a, b, client) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let capture = Capture::start(client);
    let high = Daemon::keeplite(a, "ipvl6-a", &keeplite_conf(200, "198.51.100.11"));
    let low = Daemon::keeplite(b, "ipvl6-b", &keeplite_conf(100, "198.51.100.12"));
    let all = [&high, &low];
    assert_eq!(until_held(a, b, VIP, &all), "eth0");
    assert_eq!(until_held(a, b, VIP6, &all), "eth0");
    for ns in [a, b] {
        let n = if ns.name == a.name { 1 } else { 2 };
        until_ipvlan(ns, "vrrp.52", "private", &format!("198.51.100.1{n}"), &all);
        until_ipvlan(ns, "vrrp6.52", "private", &format!("fe80::ff:fe00:{n}"), &all);
    }
    until_advert(&capture, "198.51.100.11", [2, 0, 0, 0, 0, 1], &all);
    until_advert(&capture, "fe80::ff:fe00:1", [2, 0, 0, 0, 0, 1], &all);
    until_reached_at(client, VIP, "02:00:00:00:00:01", &all);
    until_reached_at(client, VIP6, "02:00:00:00:00:01", &all);

    assert_eq!(high.stop(), Some(0), "{}", logs(&all));
    until_held(b, a, VIP, &[&low]);
    until_held(b, a, VIP6, &[&low]);
    until_advert(&capture, "198.51.100.12", [2, 0, 0, 0, 0, 2], &[&low]);
    until_advert(&capture, "fe80::ff:fe00:2", [2, 0, 0, 0, 0, 2], &[&low]);
    until_reached_at(client, VIP, "02:00:00:00:00:02", &[&low]);
    until_reached_at(client, VIP6, "02:00:00:00:00:02", &[&low]);
}

/// Puts `eth0` of `ns` in VRF `blue` (table 10).
fn into_vrf(ns: &Netns) {
    ns.ip(&["link", "add", "blue", "type", "vrf", "table", "10"]);
    ns.ip(&["link", "set", "blue", "up"]);
    ns.ip(&["link", "set", "eth0", "master", "blue"]);
}

#[test]
fn an_own_interface_joins_the_vrf_of_its_interface() {
    if !vm_available() {
        return;
    }
    // The VIPs are on the vmac, or with an ipvlan on eth0; they answer with the vmac's
    // virtual MAC (VRID 53), or the interface's.
    for (i, (option, vip_dev)) in [("use_vmac", "vrrp.53"), ("use_ipvlan", "eth0")].into_iter().enumerate() {
        let lan = Lan::new(&format!("vrf{i}"), 3);
        let (a, b, client) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
        into_vrf(a);
        into_vrf(b);
        let conf = |priority: u8, host: u8| {
            format!(
                "g=global\ng.status_socket=/run/vrf{i}-{host}.sock\n\
                 gw=vrrp\ngw.interface=eth0\ngw.vrid=53\ngw.priority={priority}\ngw.advert_int=100ms\n\
                 gw.vip='{VIP}/24'\ngw.{option}=1\n"
            )
        };
        let high = Daemon::keeplite(a, &format!("vrf{i}-a"), &conf(200, 1));
        let low = Daemon::keeplite(b, &format!("vrf{i}-b"), &conf(100, 2));
        let all = [&high, &low];
        assert_eq!(until_held(a, b, VIP, &all), vip_dev, "{option}");
        for ns in [a, b] {
            let d = details(ns, "vrrp.53");
            assert!(d.contains("master blue"), "{option}: {}'s vrrp.53 is not in the VRF:\n{d}", ns.name);
        }
        // The VIP's local route is the VRF's, not the main one's.
        let vrf_local = a.ip_output(&["route", "show", "table", "10"]);
        assert!(
            vrf_local.contains(&format!("local {VIP} dev {vip_dev}")),
            "{option}: table 10:\n{vrf_local}"
        );
        let main_local = a.ip_output(&["route", "show", "table", "local"]);
        assert!(!main_local.contains(VIP), "{option}: the local table has the VIP:\n{main_local}");
        let mac = |n: u8| {
            if option == "use_vmac" {
                "00:00:5e:00:01:35".to_owned()
            } else {
                format!("02:00:00:00:00:0{n}")
            }
        };
        until_reached_at(client, VIP, &mac(1), &all);

        assert_eq!(high.stop(), Some(0), "{}", logs(&all));
        assert_eq!(until_held(b, a, VIP, &[&low]), vip_dev, "{option}");
        until_reached_at(client, VIP, &mac(2), &[&low]);
    }
}
