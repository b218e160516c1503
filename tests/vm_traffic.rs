//! VM tier: real traffic through the services keeplite programs. A client in its own
//! namespace fetches a page from the virtual address many times; each backend's page names
//! it, so the answers show where the director sent each connection, and the counts must be
//! what the scheduler promises: rr alternates, wrr follows the weights. NAT, direct
//! routing (backends hold the VIP on lo and ignore ARP for it) and IP-in-IP tunnelling.

mod common;

use common::daemon::{scratch, Daemon};
use common::web::{backend, count, fetches, sysctl, wait_connections, NatSite};
use common::{vm_available, Lan};
use std::time::Duration;

const START: Duration = Duration::from_secs(30);

/// keeplite's configuration: one virtual server on `vip`:80 with `scheduler` and
/// `forward`, and one real server per (address, weight).
fn conf(vip: &str, scheduler: &str, forward: &str, backends: &[(&str, u32)]) -> String {
    let mut out = format!(
        "keeplite.web=virtual_server\nkeeplite.web.address='{vip}'\nkeeplite.web.port='80'\n\
         keeplite.web.scheduler='{scheduler}'\nkeeplite.web.forward='{forward}'\n"
    );
    for (i, (addr, weight)) in backends.iter().enumerate() {
        out += &format!(
            "keeplite.b{i}=real_server\nkeeplite.b{i}.virtual_server='web'\nkeeplite.b{i}.address='{addr}'\n\
             keeplite.b{i}.weight='{weight}'\n"
        );
    }
    out
}

#[test]
fn nat_round_robin_alternates_and_weighted_round_robin_follows_the_weights() {
    if !vm_available() {
        return;
    }
    let site = NatSite::new("nat", 2);
    let (director, client, b1, b2) = (site.director(), site.client(), &site.backends[0], &site.backends[1]);
    let _h1 = backend(b1, "b1");
    let _h2 = backend(b2, "b2");

    let d = Daemon::keeplite(
        director,
        "nat",
        &conf("198.51.100.10", "rr", "nat", &[("203.0.113.11", 1), ("203.0.113.12", 1)]),
    );
    d.wait_log("refused, in", START);
    let answers = fetches(client, "http://198.51.100.10/", 8);
    assert_eq!((count(&answers, "b1"), count(&answers, "b2")), (4, 4), "rr: {answers:?}");
    assert!(answers.windows(2).all(|w| w[0] != w[1]), "rr alternates: {answers:?}");

    // wrr 3:1 through a reload: one cycle of the weights is four connections.
    d.rewrite_conf(&conf("198.51.100.10", "wrr", "nat", &[("203.0.113.11", 3), ("203.0.113.12", 1)]));
    d.reload();
    d.wait_log("ipvs: 2 write(s), 0 refused", START);
    let answers = fetches(client, "http://198.51.100.10/", 8);
    assert_eq!((count(&answers, "b1"), count(&answers, "b2")), (6, 2), "wrr 3:1: {answers:?}");
}

/// One LAN: director .1 (VIP .100), client .2, backends .3 and .4. The backends hold the
/// VIP themselves (on lo for DR, on tunl0 for TUN) and must not answer ARP for it.
fn one_lan_site(tag: &str) -> Lan {
    let lan = Lan::new(tag, 4);
    lan.hosts[0].ip(&["addr", "add", "198.51.100.100/32", "dev", "eth0"]);
    for b in &lan.hosts[2..] {
        sysctl(b, "net.ipv4.conf.all.arp_ignore", "1");
        sysctl(b, "net.ipv4.conf.all.arp_announce", "2");
        sysctl(b, "net.ipv4.conf.eth0.arp_ignore", "1");
        sysctl(b, "net.ipv4.conf.eth0.arp_announce", "2");
    }
    lan
}

#[test]
fn direct_routing_backends_answer_the_client_themselves() {
    if !vm_available() {
        return;
    }
    let lan = one_lan_site("dr");
    for b in &lan.hosts[2..] {
        b.ip(&["addr", "add", "198.51.100.100/32", "dev", "lo"]);
    }
    let _h1 = backend(&lan.hosts[2], "b1");
    let _h2 = backend(&lan.hosts[3], "b2");
    let d = Daemon::keeplite(
        &lan.hosts[0],
        "dr",
        &conf("198.51.100.100", "rr", "dr", &[("198.51.100.3", 1), ("198.51.100.4", 1)]),
    );
    d.wait_log("refused, in", START);
    let answers = fetches(&lan.hosts[1], "http://198.51.100.100/", 6);
    assert_eq!((count(&answers, "b1"), count(&answers, "b2")), (3, 3), "dr rr: {answers:?}");
    // Every connection went through the service (the replies went around the director).
    wait_connections(&lan.hosts[0], "TCP  198.51.100.100:80", 6);
}

#[test]
fn tunnelled_backends_decapsulate_and_answer_the_client() {
    if !vm_available() {
        return;
    }
    let lan = one_lan_site("tun");
    for b in &lan.hosts[2..] {
        b.ip(&["link", "set", "tunl0", "up"]);
        b.ip(&["addr", "add", "198.51.100.100/32", "dev", "tunl0"]);
        // Decapsulated packets arrive on tunl0 from a client routed via eth0.
        sysctl(b, "net.ipv4.conf.all.rp_filter", "0");
        sysctl(b, "net.ipv4.conf.tunl0.rp_filter", "0");
    }
    let _h1 = backend(&lan.hosts[2], "b1");
    let _h2 = backend(&lan.hosts[3], "b2");
    let d = Daemon::keeplite(
        &lan.hosts[0],
        "tun",
        &conf("198.51.100.100", "wrr", "tun", &[("198.51.100.3", 2), ("198.51.100.4", 1)]),
    );
    d.wait_log("refused, in", START);
    let answers = fetches(&lan.hosts[1], "http://198.51.100.100/", 6);
    assert_eq!((count(&answers, "b1"), count(&answers, "b2")), (4, 2), "tun wrr 2:1: {answers:?}");
}

#[test]
fn firewall_marks_set_by_nft_steer_ipv4_and_ipv6_traffic() {
    if !vm_available() {
        return;
    }
    let lan = one_lan_site("fwm");
    let director = &lan.hosts[0];
    director.ip(&["addr", "add", "2001:db8:1::100/128", "dev", "eth0", "nodad"]);
    for b in &lan.hosts[2..] {
        b.ip(&["addr", "add", "198.51.100.100/32", "dev", "lo"]);
        // IPv6 neighbour discovery answers only for the receiving link's addresses: the
        // VIP on lo stays silent on eth0 without further settings.
        b.ip(&["addr", "add", "2001:db8:1::100/128", "dev", "lo"]);
    }
    let rules = scratch("fwm-nft").join("marks.nft");
    std::fs::write(
        &rules,
        "table inet kl_marks {\n\
         \x20 chain pre {\n\
         \x20   type filter hook prerouting priority mangle; policy accept;\n\
         \x20   ip daddr 198.51.100.100 tcp dport 80 meta mark set 7\n\
         \x20   ip6 daddr 2001:db8:1::100 tcp dport 80 meta mark set 8\n\
         \x20 }\n\
         }\n",
    )
    .expect("nft rules");
    common::output(director.command("nft").arg("-f").arg(&rules));
    let _h1 = backend(&lan.hosts[2], "b1");
    let _h2 = backend(&lan.hosts[3], "b2");
    let mut conf = String::new();
    for (name, mark, family, addrs) in [
        ("m4", 7, "ipv4", ["198.51.100.3", "198.51.100.4"]),
        ("m6", 8, "ipv6", ["2001:db8:1::3", "2001:db8:1::4"]),
    ] {
        conf += &format!(
            "keeplite.{name}=virtual_server\nkeeplite.{name}.fwmark='{mark}'\nkeeplite.{name}.family='{family}'\n\
             keeplite.{name}.scheduler='rr'\nkeeplite.{name}.forward='dr'\n"
        );
        for (i, addr) in addrs.iter().enumerate() {
            conf += &format!(
                "keeplite.{name}_{i}=real_server\nkeeplite.{name}_{i}.virtual_server='{name}'\n\
                 keeplite.{name}_{i}.address='{addr}'\n"
            );
        }
    }
    let d = Daemon::keeplite(director, "fwm", &conf);
    d.wait_log("refused, in", START);
    for url in ["http://198.51.100.100/", "http://[2001:db8:1::100]/"] {
        let answers = fetches(&lan.hosts[1], url, 6);
        assert_eq!((count(&answers, "b1"), count(&answers, "b2")), (3, 3), "{url}: {answers:?}");
    }
    // The packets went through the mark services, not around them.
    wait_connections(director, "FWM  7", 6);
    wait_connections(director, "FWM  8", 6);
}
