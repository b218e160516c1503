//! Per-VIP options, routes and rules on a namespaced pair (issue 16, item 1): the master
//! holds a VIP with a label, a VIP on another interface, a route and a rule; failover moves
//! them; an operator's `ip route del` / `ip rule del` of one of keeplite's is put back; an
//! operator's own routes are never touched; static ones stay on both routers until stop.

mod common;

use common::daemon::{holds_for, logs, until, until_one_holder, vrrp_section, Daemon};
use common::{keepalived_available, netns_available, Lan, Netns};
use std::time::Duration;

const VIP: &str = "198.51.100.100";
const SETTLE: Duration = Duration::from_secs(10);

fn conf(priority: u8) -> String {
    let mut c = vrrp_section(
        "gw",
        61,
        priority,
        "'198.51.100.100/24 dev eth0 label eth0:vip' '203.0.113.1/24 dev eth1 label eth1:1'",
        &[],
    );
    c.push_str(
        "up=route\nup.instance=gw\nup.destination=192.0.2.0/24\nup.gateway=198.51.100.254\nup.table=100\n\
         pol=rule\npol.instance=gw\npol.from=198.51.100.100/32\npol.table=100\npol.priority=1000\n\
         hole=route\nhole.destination=10.200.0.0/16\nhole.type=blackhole\n\
         mark=rule\nmark.fwmark=0x20\nmark.table=200\nmark.priority=1001\n\
         main=global\nmain.static_address='192.0.2.200/32 dev eth1 label eth1:st'\n",
    );
    c
}

fn routes(ns: &Netns, table: &str) -> String {
    ns.ip_output(&["route", "show", "table", table])
}

fn rules(ns: &Netns) -> String {
    ns.ip_output(&["rule", "show"])
}

/// Whether `ns` holds the labelled VIP, the VIP on eth1, the virtual route and the rule.
fn virtual_state(ns: &Netns) -> (bool, bool, bool, bool) {
    let eth0 = ns.ip_output(&["-o", "-4", "addr", "show", "dev", "eth0"]);
    let eth1 = ns.ip_output(&["-o", "-4", "addr", "show", "dev", "eth1"]);
    (
        eth0.lines().any(|l| l.contains("198.51.100.100/24") && l.contains("eth0:vip")),
        eth1.contains("203.0.113.1/24") && eth1.contains("eth1:1"),
        routes(ns, "100").contains("192.0.2.0/24 via 198.51.100.254 dev eth0 proto 75"),
        rules(ns).contains("1000:\tfrom 198.51.100.100 lookup 100 proto 75"),
    )
}

fn until_virtual(ns: &Netns, held: bool, daemons: &[&Daemon]) {
    let want = (held, held, held, held);
    until(&format!("{}: virtual addresses, route and rule held: {held}", ns.name), SETTLE, daemons, || {
        let seen = virtual_state(ns);
        if seen == want {
            Ok(())
        } else {
            Err(format!("(vip label, dev vip, route, rule) = {seen:?}"))
        }
    });
}

fn static_held(ns: &Netns) -> bool {
    let eth1 = ns.ip_output(&["-o", "-4", "addr", "show", "dev", "eth1"]);
    eth1.lines().any(|l| l.contains("192.0.2.200/32") && l.contains("eth1:st"))
        && routes(ns, "main").contains("blackhole 10.200.0.0/16 proto 75")
        && rules(ns).contains("1001:\tfrom all fwmark 0x20 lookup 200 proto 75")
}

/// No route, rule or address of keeplite's is left on `ns`.
fn nothing_left(ns: &Netns) -> bool {
    let addrs = ns.ip_output(&["-o", "-4", "addr", "show"]);
    let ours = ["192.0.2.200", "203.0.113.1", "198.51.100.100"];
    !routes(ns, "all").contains("proto 75")
        && !rules(ns).contains("proto 75")
        && !ours.iter().any(|a| addrs.contains(a))
}

/// The operator's own routes: one beside keeplite's in table 100, one at the same
/// destination in another table, one in main. keeplite must never touch them.
fn operator_routes(ns: &Netns) {
    ns.ip(&["route", "add", "192.0.2.128/25", "via", "198.51.100.253", "table", "100"]);
    ns.ip(&["route", "add", "192.0.2.0/24", "via", "198.51.100.253", "table", "101"]);
    ns.ip(&["rule", "add", "from", "198.51.100.100", "lookup", "101", "pref", "999"]);
}

fn operator_routes_intact(ns: &Netns) -> bool {
    routes(ns, "100").contains("192.0.2.128/25 via 198.51.100.253")
        && routes(ns, "101").contains("192.0.2.0/24 via 198.51.100.253")
        && rules(ns).contains("999:\tfrom 198.51.100.100 lookup 101")
}

#[test]
fn the_master_holds_routes_rules_and_labelled_vips_and_failover_moves_them() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rt", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    for h in [a, b] {
        h.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
        h.ip(&["link", "set", "eth1", "up"]);
        h.ip(&["link", "set", "eth1p", "up"]);
        operator_routes(h);
    }
    let high = Daemon::keeplite(a, "rt-high", &conf(200));
    let low = Daemon::keeplite(b, "rt-low", &conf(100));
    let all = [&high, &low];
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    until_virtual(a, true, &all);
    until(&format!("{}: static route and rule", b.name), SETTLE, &all, || static_held(b));
    assert_eq!(virtual_state(b), (false, false, false, false), "{}", logs(&all));
    assert!(static_held(a), "{}", logs(&all));

    // An operator deletes keeplite's route and rule on the master: both come back.
    a.ip(&["route", "del", "192.0.2.0/24", "table", "100"]);
    a.ip(&["rule", "del", "pref", "1000"]);
    b.ip(&["route", "del", "10.200.0.0/16"]);
    b.ip(&["addr", "del", "192.0.2.200/32", "dev", "eth1"]);
    until_virtual(a, true, &all);
    until(&format!("{}: static route put back", b.name), SETTLE, &all, || static_held(b));
    // Put back by keeplite, not found still there.
    assert_eq!(high.log().matches("route up: added").count(), 2, "{}", logs(&all));
    assert_eq!(high.log().matches("rule pol: added").count(), 2, "{}", logs(&all));
    // Failover: the master stops; the backup takes the VIPs, the route and the rule.
    assert_eq!(high.stop(), Some(0), "{}", logs(&all));
    until_virtual(b, true, &all);
    assert_eq!(virtual_state(a), (false, false, false, false), "{}", logs(&all));
    assert!(nothing_left(a), "keeplite left something at stop\n{}", logs(&all));
    for h in [a, b] {
        assert!(operator_routes_intact(h), "{}: {}\n{}", h.name, rules(h), logs(&all));
    }
    holds_for("the new master keeps its route and rule", Duration::from_millis(500), &all, || {
        virtual_state(b) == (true, true, true, true) && static_held(b)
    });

    // A tracked interface of a VIP going down puts the instance in FAULT: it lets go.
    b.ip(&["link", "set", "eth1", "down"]);
    until_virtual(b, false, &all);
    let eth1_down_statics = routes(b, "main").contains("blackhole 10.200.0.0/16 proto 75");
    assert!(eth1_down_statics, "{}", logs(&all));
    assert_eq!(low.stop(), Some(0), "{}", logs(&all));
    assert!(nothing_left(b) && operator_routes_intact(b), "{}\n{}", rules(b), logs(&all));
}

/// keepalived 2.2.7 and keeplite (on `keeplite import` of the same keepalived.conf), each
/// master alone on a LAN of its own, leave the same addresses, routes and rules (keeplite's
/// marked protocol 75, keepalived's 18; the protocol aside).
#[test]
fn keepalived_and_the_imported_file_hold_the_same_addresses_routes_and_rules() {
    if !netns_available() || !keepalived_available() {
        return;
    }
    let conf = "global_defs {\n router_id t\n}\n\
        vrrp_instance gw {\n state MASTER\n interface eth0\n virtual_router_id 62\n priority 200\n advert_int 1\n\
         virtual_ipaddress {\n  198.51.100.100/24 dev eth0 label eth0:vip\n  203.0.113.1/24 dev eth1 label eth1:1\n }\n\
         virtual_routes {\n  192.0.2.0/24 via 198.51.100.254 dev eth0 table 100 metric 7\n  blackhole 10.66.0.0/16 table 100\n  10.67.0.0/16 dev eth1 table 100\n }\n\
         virtual_rules {\n  from 198.51.100.100/32 table 100 priority 1000\n  from all fwmark 0x20 lookup 100 priority 1001\n }\n}\n";
    let dir = common::daemon::scratch("rt-import");
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, conf).expect("write keepalived.conf");
    let out = std::process::Command::new(common::keeplite_bin())
        .args(["import", "-f"])
        .arg(&path)
        .output()
        .expect("keeplite import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "import reported:\n{stderr}");
    let imported = String::from_utf8_lossy(&out.stdout).into_owned();

    let mut seen = Vec::new();
    for (tag, keeplite) in [("rtka", false), ("rtkl", true)] {
        let lan = Lan::new(tag, 1);
        let h = &lan.hosts[0];
        h.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
        h.ip(&["link", "set", "eth1", "up"]);
        h.ip(&["link", "set", "eth1p", "up"]);
        let d = if keeplite {
            Daemon::keeplite(h, &format!("{tag}-d"), &imported)
        } else {
            Daemon::keepalived(h, &format!("{tag}-d"), conf)
        };
        let state = || {
            let addrs: Vec<String> = h
                .ip_output(&["-o", "-4", "addr", "show"])
                .lines()
                .filter(|l| l.contains("198.51.100.100") || l.contains("203.0.113.1"))
                .map(|l| {
                    l.split_whitespace()
                        .skip(3)
                        .take_while(|w| *w != "valid_lft")
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            let strip = |text: String| -> Vec<String> {
                text.lines()
                    .map(|l| {
                        let mut words = l.split_whitespace().peekable();
                        let mut kept = Vec::new();
                        while let Some(w) = words.next() {
                            if w == "proto" {
                                words.next();
                            } else {
                                kept.push(w);
                            }
                        }
                        kept.join(" ")
                    })
                    .filter(|l| l.contains("lookup 100") || !l.contains("lookup"))
                    .collect()
            };
            (
                addrs,
                strip(routes(h, "100")),
                strip(rules(h)).into_iter().filter(|l| l.starts_with("100")).collect::<Vec<_>>(),
            )
        };
        let what = format!("{tag}: addresses, 3 routes and 2 rules");
        let held = until(&what, Duration::from_secs(20), &[&d], || {
            let s = state();
            if s.0.len() == 2 && s.1.len() == 3 && s.2.len() == 2 {
                Ok(s)
            } else {
                Err(format!("{s:?}"))
            }
        });
        let _ = d.stop();
        seen.push(held);
    }
    assert_eq!(seen[0], seen[1], "keepalived (left) and keeplite (right) differ");
}

/// A reload changes the held routes, rules and static addresses in place: a changed route
/// is replaced, a dropped rule and a dropped static address go, a new one comes.
#[test]
fn a_reload_changes_what_is_held() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rtre", 1);
    let h = &lan.hosts[0];
    h.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    h.ip(&["link", "set", "eth1", "up"]);
    h.ip(&["link", "set", "eth1p", "up"]);
    let d = Daemon::keeplite(h, "rtre", &conf(200));
    until_virtual(h, true, &[&d]);
    until(&format!("{}: static route and rule", h.name), SETTLE, &[&d], || static_held(h));
    let changed = conf(200)
        .replace("up.gateway=198.51.100.254", "up.gateway=198.51.100.253")
        .replace("mark=rule\nmark.fwmark=0x20\nmark.table=200\nmark.priority=1001\n", "")
        .replace("dev eth1 label eth1:st", "dev eth1 label eth1:s2' '192.0.2.201/32 dev eth1");
    d.rewrite_conf(&changed);
    d.reload();
    until(&format!("{}: reloaded routes, rules and addresses", h.name), SETTLE, &[&d], || {
        let eth1 = h.ip_output(&["-o", "-4", "addr", "show", "dev", "eth1"]);
        let r = routes(h, "100");
        let ok = r.contains("192.0.2.0/24 via 198.51.100.253 dev eth0 proto 75")
            && !r.contains("198.51.100.254")
            && !rules(h).contains("1001:")
            && rules(h).contains("1000:\tfrom 198.51.100.100 lookup 100 proto 75")
            && eth1.lines().any(|l| l.contains("192.0.2.200/32") && l.contains("eth1:s2"))
            && eth1.contains("192.0.2.201/32");
        if ok {
            Ok(())
        } else {
            Err(format!("{r}\n{}\n{eth1}", rules(h)))
        }
    });
    assert_eq!(d.stop(), Some(0));
    assert!(nothing_left(h), "{}", d.log());
}
