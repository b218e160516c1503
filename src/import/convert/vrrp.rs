//! `vrrp_instance` -> a `vrrp` section.

use super::script::vrrp_alerts;
use super::tracking::{self, Weights};
use super::{duration_text, Ctx};
use crate::config::value;
use crate::import::out::Section;
use crate::import::report::Origin;
use crate::import::tree::Node;

/// One word (and its value) of a virtual address line: appended to the keeplite `vip`
/// item `item` when keeplite has it, reported otherwise. Returns the words it took.
pub(super) fn vip_option(
    cx: &mut Ctx,
    n: &Node,
    interface: Option<&str>,
    item: &mut String,
    word: &str,
    value: Option<&str>,
) -> usize {
    let takes_value = matches!(
        word,
        "brd" | "broadcast" | "dev" | "scope" | "label" | "peer" | "preferred_lft" | "track_group"
    );
    let carried = match (word, value) {
        // keeplite's default: the instance's interface, global scope, DAD off for IPv6.
        ("dev", Some(v)) if Some(v) == interface => None,
        ("scope", Some("global")) | ("-nodad" | "nodad", _) => None,
        ("dev" | "label" | "scope" | "peer", Some(v)) => Some(format!(" {word} {v}")),
        ("brd" | "broadcast", Some(v)) => Some(format!(" brd {v}")),
        ("no_track" | "noprefixroute", _) => Some(format!(" {word}")),
        _ => {
            let shown = match value {
                Some(v) if takes_value => format!("{word} {v}"),
                _ => word.to_owned(),
            };
            let why = match word {
                "home" | "mngtmpaddr" | "autojoin" | "preferred_lft" => {
                    "keeplite does not set this address flag; the address is carried over without it"
                }
                "use_vmac" => "keeplite has use_vmac per instance only",
                "track_group" => "keeplite has no track groups",
                _ => "not a virtual address option keeplite knows; ignored",
            };
            cx.reports.add(&n.at, shown, why);
            None
        }
    };
    if let Some(text) = carried {
        item.push_str(&text);
    }
    if takes_value {
        2
    } else {
        1
    }
}

/// The instance's family (IPv6: true): its first vip's, keepalived's `virtual_ipaddress`
/// before `virtual_ipaddress_excluded` wherever they are in the block.
fn instance_family(children: &[Node]) -> Option<bool> {
    ["virtual_ipaddress", "virtual_ipaddress_excluded"].iter().find_map(|kw| {
        children
            .iter()
            .filter(|c| c.keyword() == *kw)
            .flat_map(Node::children)
            .find_map(|line| value::prefix(line.words.first()?).ok())
            .map(|(ip, _)| ip.is_ipv6())
    })
}

/// Adds the addresses of a `virtual_ipaddress` block (`excluded`: `None`), or of a
/// `virtual_ipaddress_excluded` one (`excluded`: the instance's family). keeplite keeps
/// addresses of the other family out of its adverts, as keepalived does with excluded
/// ones, but cannot keep out one of the adverts' family: each of those is reported.
fn add_vips(cx: &mut Ctx, s: &mut Section, n: &Node, interface: Option<&str>, excluded: Option<bool>) {
    for line in n.children() {
        let Some(addr) = line.words.first() else { continue };
        match value::prefix(addr) {
            Ok((ip, len)) => {
                if excluded == Some(ip.is_ipv6()) {
                    let v = if ip.is_ipv6() { "IPv6" } else { "IPv4" };
                    cx.reports.add(&line.at, n.keyword(), format!("{ip} is of the adverts' family ({v}): keeplite has no excluded list and carries it in its adverts, where keepalived leaves it out, so a keepalived peer sees a different address list"));
                }
                let mut text = if addr.contains('/') { format!("{ip}/{len}") } else { ip.to_string() };
                let mut i = 1;
                while i < line.words.len() {
                    let value = line.words.get(i + 1).map(String::as_str);
                    i += vip_option(cx, line, interface, &mut text, &line.words[i], value);
                }
                let before = s.opt("vip").map_or(0, |o| o.items.len());
                let same = s.opt("vip").is_some_and(|o| {
                    o.items
                        .iter()
                        .any(|it| it.value.split_whitespace().next() == text.split_whitespace().next())
                });
                if !same {
                    s.push("vip", text, &line.at, n.keyword());
                }
                if s.opt("vip").map_or(0, |o| o.items.len()) == before {
                    cx.reports.add(&line.at, addr, "listed twice; keeplite takes each address once");
                }
            }
            Err(bad) => {
                cx.reports.add(&line.at, addr, format!("{}; not carried over", bad.what));
            }
        }
    }
}

/// `vrrp_instance NAME { ... }`.
pub fn instance(cx: &mut Ctx, node: &Node) {
    let Some(kname) = node.arg(0) else { return };
    let Some(name) = cx.instances.get(kname).cloned() else { return };
    if cx.vrrps.iter().any(|s| s.name == name) || node.block.is_none() {
        return;
    }
    let mut s = Section::new(&name, "vrrp", &node.at, "vrrp_instance");
    let children = node.children();
    let interface =
        children.iter().rev().find(|c| c.keyword() == "interface").and_then(|c| c.arg(0)).map(str::to_owned);
    let grouped = cx.grouped.get(kname).copied();
    let family = instance_family(children);
    let mut excluded = Vec::new();
    let mut tracked = Vec::new();
    let mut master_at = None;
    let mut version = None;
    let mut alerts = None;
    let mut auth_pass = None;
    let mut hmac = None;
    let mut unicast = false;
    let mut no_peer_ok = false;
    let mut strict = None;
    let mut ttl = PeerTtls::default();
    let mut other_ttl = None;
    let mut check_src = false;
    let mut mcast_dst = None;
    for n in children {
        let kw = n.keyword();
        match kw {
            "interface" => {
                if let Some(v) = cx.arg(n) {
                    s.set("interface", v, &n.at, kw);
                }
            }
            "virtual_router_id" => set_arg(cx, &mut s, n, "vrid"),
            "priority" => set_arg(cx, &mut s, n, "priority"),
            "advert_int" => {
                if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                    s.set("advert_int", duration_text(d), &n.at, kw);
                }
            }
            "version" => version = cx.arg(n).map(|v| (v.to_owned(), n.at.clone())),
            "state" => match n.arg(0) {
                Some("MASTER") => {
                    s.set("state", "master", &n.at, kw);
                    master_at = Some(n);
                }
                Some("BACKUP") => s.set("state", "backup", &n.at, kw),
                _ => cx.report(n, "takes MASTER or BACKUP; ignored"),
            },
            "virtual_ipaddress" => add_vips(cx, &mut s, n, interface.as_deref(), None),
            // After the vips: the first vip sets keeplite's family of the adverts.
            "virtual_ipaddress_excluded" => excluded.push(n),
            "virtual_routes" => {
                let mut r = super::routing::routes(cx, n, Some(&name));
                cx.routing.append(&mut r);
            }
            "virtual_rules" => {
                let mut r = super::routing::rules(cx, n, Some(&name));
                cx.routing.append(&mut r);
            }
            "nopreempt" => s.set("preempt", "0", &n.at, kw),
            "preempt" => s.set("preempt", "1", &n.at, kw),
            "preempt_delay" => {
                if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                    s.set("preempt_delay", duration_text(d), &n.at, kw);
                }
            }
            "mcast_src_ip" | "unicast_src_ip" => set_arg(cx, &mut s, n, "src_ip"),
            "unicast_peer" => {
                unicast = true;
                for p in n.children() {
                    let Some(addr) = p.words.first() else { continue };
                    match value::ip(addr) {
                        Ok(ip) => s.push("unicast_peer", ip.to_string(), &p.at, addr),
                        Err(bad) => cx.reports.add(&p.at, addr, format!("{}; not carried over", bad.what)),
                    }
                    peer_ttls(cx, &mut ttl, p);
                }
            }
            "unicast_ttl" => other_ttl = Some(n),
            "check_unicast_src" => check_src = true,
            "mcast_dst_ip" => mcast_dst = Some(n),
            "notify_priority_changes" => {
                if let Some(b) = cx.flag(n) {
                    s.set(kw, if b { "1" } else { "0" }, &n.at, kw);
                }
            }
            "unicast_fault_no_peer" => no_peer_ok = true,
            // After the loop: an address owner's priority may come later.
            "track_interface" | "track_script" | "track_file" | "track_process" | "track_bfd" => {
                tracked.push(n)
            }
            "authentication" => {
                for a in n.children() {
                    match a.keyword() {
                        "auth_type" => match a.arg(0) {
                            Some("PASS") => {}
                            Some("AH") => cx.reports.add(
                                &a.at,
                                "auth_type AH",
                                "keeplite has no IPsec AH authentication (out of scope); the instance runs without authentication",
                            ),
                            _ => cx.report(a, "takes PASS or AH; ignored"),
                        },
                        "auth_pass" => auth_pass = a.arg(0).map(|p| (p.to_owned(), a.clone())),
                        _ => cx.unsupported(a),
                    }
                }
                if n.children().iter().any(|a| a.keyword() == "auth_type" && a.arg(0) == Some("AH")) {
                    auth_pass = None;
                }
            }
            "auth_hmac" => {
                hmac = Some(n);
                super::auth_hmac::block(cx, &mut s, n);
            }
            "accept" => s.set("accept", "1", &n.at, kw),
            "promote_secondaries" => s.set("promote_secondaries", "1", &n.at, kw),
            "no_accept" => {
                s.set("accept", "0", &n.at, kw);
                cx.report(n, "keeplite installs no firewall rules: packets to the vips are accepted");
            }
            "garp_master_repeat" => set_arg(cx, &mut s, n, "garp_repeat"),
            "garp_master_delay" | "garp_master_refresh" => {
                if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                    let opt = if kw == "garp_master_delay" { "garp_delay" } else { "garp_refresh" };
                    s.set(opt, duration_text(d), &n.at, kw);
                }
            }
            "use_vmac" => {
                s.set("use_vmac", "1", &n.at, kw);
                if !n.args().is_empty() {
                    cx.report(
                        n,
                        format!(
                            "keeplite names the macvlan and sets its MAC itself; '{}' is not carried over",
                            n.args().join(" ")
                        ),
                    );
                }
            }
            "use_ipvlan" => use_ipvlan(cx, &mut s, n),
            "notify" | "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
                if let Some(cmd) = cx.command_as_script_user(n) {
                    s.set(kw, cmd, &n.at, kw);
                }
            }
            "smtp_alert" => alerts = cx.flag(n),
            "strict_mode" => strict = cx.flag(n).map(|b| (b, n.at.clone())),
            "lower_prio_no_advert" => {
                if let Some(b) = cx.flag(n) {
                    s.set(kw, if b { "1" } else { "0" }, &n.at, kw);
                }
            }
            "garp_lower_prio_repeat" => set_arg(cx, &mut s, n, kw),
            "skip_check_adv_addr" => {}
            "lvs_sync_daemon_interface" => {
                if let Some(i) = cx.arg(n) {
                    cx.g.instance_sync = Some((i.to_owned(), name.clone(), n.at.clone()));
                }
            }
            "native_ipv6" => {
                if family == Some(false) {
                    cx.report(n, "the first vip is IPv4; keeplite takes the family from the first vip");
                }
            }
            // keepalived does nothing with it either.
            "debug" => {}
            _ => cx.unsupported(n),
        }
    }
    for n in excluded {
        add_vips(cx, &mut s, n, interface.as_deref(), family);
    }
    // keepalived: without a priority, state MASTER makes the address owner (and BACKUP 100,
    // keeplite's default too).
    if let (None, Some(n)) = (s.value("priority"), master_at) {
        s.set("priority", "255", &n.at, "state");
    }
    let weights = Weights::of_instance(grouped, s.value("priority") == Some("255"));
    for n in tracked {
        tracking::entries(cx, &mut s, n, weights);
    }
    let ipv6 = family == Some(true);
    instance_version(cx, &mut s, node, version, ipv6);
    if let Some((pass, a)) = auth_pass {
        if hmac.is_some() {
            cx.report(
                &a,
                "keepalived drops authentication when the instance has auth_hmac, and so does the import",
            );
        } else if s.value("version") == Some("3") {
            cx.report(&a, "keepalived ignores authentication with VRRP version 3, and so does the import");
        } else {
            // keepalived uses the first 8 characters, as keeplite must to match its peers.
            let pass: String = pass.chars().take(8).collect();
            s.set("auth_pass", pass, &a.at, "auth_pass");
        }
    }
    // keepalived's strict mode (the instance's own, else global vrrp_strict, reported
    // there): keeplite's strict_mode is its address check; it also turns
    // lower_prio_no_advert on unless set.
    let own = strict.is_some();
    if let Some((true, at)) = strict.or_else(|| cx.g.strict.clone().map(|at| (true, at))) {
        s.set("strict_mode", "1", &at, "strict_mode");
        if s.opt("lower_prio_no_advert").is_none() {
            s.set("lower_prio_no_advert", "1", &at, "strict_mode");
        }
        if own {
            cx.reports.add(&at, "strict_mode", "carried over in part: keeplite's strict_mode discards adverts with other addresses, and lower_prio_no_advert is on; keepalived's firewall rules and its other strict checks are not applied");
        }
    }
    defaults(cx, &mut s, ipv6);
    if s.value("preempt") == Some("0") {
        if let Some(o) = s.opt("preempt_delay") {
            let (at, kw) = (o.items[0].at.clone(), o.items[0].keyword.clone());
            cx.reports.add(&at, kw, "no effect with nopreempt (keepalived ignores it too); left out");
            s.remove("preempt_delay");
        }
    }
    if unicast && s.opt("unicast_peer").is_none() {
        let why = if no_peer_ok {
            "no unicast peer: keepalived keeps the instance in FAULT; keeplite refuses an empty peer list, so the instance multicasts"
        } else {
            "no unicast peer: keepalived falls back to multicast, and so does the import"
        };
        cx.reports.add(&node.at, "unicast_peer", why);
    }
    unicast_options(cx, &mut s, UnicastOptions { ttl, unicast_ttl: other_ttl, check_src, mcast_dst });
    if vrrp_alerts(cx, alerts) {
        s.set("smtp_alert", "1", &node.at, "smtp_alert");
    }
    if let Some(i) = interface.as_deref() {
        if let Some(d) = cx.g.delays.iter_mut().find(|d| d.interface == i) {
            d.used = true;
            let (down, up, at) = (d.down, d.up, d.at.clone());
            s.set("down_delay", duration_text(down), &at, "interface_up_down_delays");
            s.set("up_delay", duration_text(up), &at, "interface_up_down_delays");
        }
    }
    cx.vrrps.push(s);
}

/// The TTL ranges keepalived's peers were given (`ADDR min_ttl N max_ttl N`).
#[derive(Default)]
struct PeerTtls {
    /// (min, max) per peer, keepalived's defaults (0 and 255) filled in.
    ranges: Vec<(u8, u8)>,
    /// Where the first range was given, when any was.
    given: Option<Origin>,
}

/// Reads the `min_ttl N` / `max_ttl N` pairs after a peer's address.
fn peer_ttls(cx: &mut Ctx, ttls: &mut PeerTtls, p: &Node) {
    let (mut min, mut max) = (0u8, 255u8);
    for opt in p.words[1..].chunks(2) {
        let parsed = opt.get(1).and_then(|v| v.parse::<u8>().ok());
        match (opt[0].as_str(), parsed) {
            ("min_ttl", Some(v)) => min = v,
            ("max_ttl", Some(v)) => max = v,
            _ => {
                cx.reports.add(&p.at, &opt[0], "takes min_ttl N or max_ttl N (0..255); ignored");
                continue;
            }
        }
        ttls.given.get_or_insert_with(|| p.at.clone());
    }
    ttls.ranges.push((min, max));
}

/// What an instance said about unicast beyond its peers.
struct UnicastOptions<'a> {
    ttl: PeerTtls,
    unicast_ttl: Option<&'a Node>,
    check_src: bool,
    mcast_dst: Option<&'a Node>,
}

/// `unicast_ttl`, the peers' TTL ranges, `check_unicast_src` and `mcast_dst_ip`, as
/// keepalived applies them: without unicast peers only the group counts; with them, a
/// unicast advert is taken with any TTL from any source unless told otherwise (keeplite's
/// defaults are 255 and the peers only, so those are written out), and a TTL range turns
/// the source check on. keeplite has one range per instance: the peers' ranges joined.
fn unicast_options(cx: &mut Ctx, s: &mut Section, u: UnicastOptions) {
    let unicast = s.opt("unicast_peer").is_some();
    if let Some(n) = u.mcast_dst {
        match (unicast, cx.arg(n).map(value::multicast)) {
            (true, _) => cx.report(n, "no effect with unicast peers (keepalived ignores it too); left out"),
            (false, Some(Ok(group))) => s.set("mcast_dst_ip", group.to_string(), &n.at, n.keyword()),
            (false, Some(Err(bad))) => cx.report(n, format!("{} ({}); ignored", bad.what, bad.expected)),
            (false, None) => {}
        }
    }
    if let Some(n) = u.unicast_ttl {
        if !unicast {
            cx.report(n, "no unicast peers: keepalived ignores unicast_ttl then, and so does the import");
        } else if let Some(v) = cx.arg(n) {
            s.set("unicast_ttl", v, &n.at, n.keyword());
        }
    }
    if !unicast {
        return;
    }
    let min = u.ttl.ranges.iter().map(|r| r.0).min().unwrap_or(0).max(1);
    let max = u.ttl.ranges.iter().map(|r| r.1).max().unwrap_or(255);
    let at = u.ttl.given.clone().unwrap_or_else(|| s.at.clone());
    let kw = if u.ttl.given.is_some() { "min_ttl" } else { "unicast_peer" };
    if let Some(given) = &u.ttl.given {
        if u.ttl.ranges.windows(2).any(|w| w[0] != w[1]) {
            cx.reports.add(given, "min_ttl", format!("keeplite has one TTL range for all of an instance's peers: {min}..{max}, the peers' ranges joined"));
        }
    }
    s.set("min_ttl", min.to_string(), &at, kw);
    if max != 255 {
        s.set("max_ttl", max.to_string(), &at, "max_ttl");
    }
    if !u.check_src && !cx.g.check_unicast_src && u.ttl.given.is_none() {
        s.set("check_unicast_src", "0", &s.at.clone(), "unicast_peer");
    }
}

fn set_arg(cx: &mut Ctx, s: &mut Section, n: &Node, opt: &str) {
    if let Some(v) = cx.arg(n) {
        s.set(opt, v, &n.at, n.keyword());
    }
}

/// keepalived's version: the instance's, else global `vrrp_version`, else 2; IPv6 always 3.
/// keeplite defaults to 3, so it is always written.
fn instance_version(cx: &mut Ctx, s: &mut Section, node: &Node, own: Option<(String, Origin)>, ipv6: bool) {
    let (v, at, kw) = match (own, &cx.g.vrrp_version) {
        (Some((v, at)), _) => (v, at, "version"),
        (None, Some(g)) => (g.value.clone(), g.at.clone(), "vrrp_version"),
        (None, None) => ("2".to_owned(), node.at.clone(), "vrrp_instance"),
    };
    if ipv6 && v != "3" {
        s.set("version", "3", &at, kw);
        return;
    }
    match v.as_str() {
        "2" | "3" => s.set("version", v, &at, kw),
        other => {
            cx.reports.add(&at, kw, format!("'{other}' is not 2 or 3; keepalived's default 2 is used"));
            s.set("version", "2", &node.at, "vrrp_instance");
        }
    }
}

/// Global GARP settings as the instance's own, unless it has them.
fn defaults(cx: &mut Ctx, s: &mut Section, ipv6: bool) {
    for (opt, v) in cx.g.instance_defaults.clone() {
        if s.opt(opt).is_none() {
            s.set(opt, v.value, &v.at, &v.keyword);
        }
    }
    let interval = if ipv6 { cx.g.gna_interval.clone() } else { cx.g.garp_interval.clone() };
    if let Some(v) = interval {
        match value::duration(&v.value) {
            // keeplite's resolution is 1 ms; keepalived's microseconds round up to it.
            Ok(d) => s.set("garp_interval", duration_text(d), &v.at, &v.keyword),
            Err(_) => match v.value.parse::<f64>() {
                Ok(secs) if secs > 0.0 && secs < 1.0 => {
                    s.set("garp_interval", "1ms", &v.at, &v.keyword);
                    cx.reports.add(
                        &v.at,
                        &v.keyword,
                        format!("{} s is finer than keeplite's 1 ms; 1ms is used", v.value),
                    );
                }
                _ => cx.reports.add(
                    &v.at,
                    &v.keyword,
                    format!("'{}' is not a number of seconds; ignored", v.value),
                ),
            },
        }
    }
}

/// keepalived's `use_ipvlan [IFNAME] [IP[/LEN]] [bridge|private|vepa]`, the words in any
/// order; of two modes or two addresses keepalived takes the first, and so does the import.
fn use_ipvlan(cx: &mut Ctx, s: &mut Section, n: &Node) {
    let kw = n.keyword();
    s.set("use_ipvlan", "1", &n.at, kw);
    let (mut mode, mut address) = (false, false);
    for w in n.args() {
        let w = w.as_str();
        if matches!(w, "bridge" | "private" | "vepa") {
            if mode {
                cx.report(n, format!("a second mode '{w}' is left out, as keepalived ignores it"));
            } else {
                s.set("ipvlan_mode", w, &n.at, kw);
                mode = true;
            }
        } else if value::prefix(w).is_ok() {
            if address {
                cx.report(n, format!("a second address '{w}' is left out, as keepalived ignores it"));
            } else {
                s.set("ipvlan_address", w, &n.at, kw);
                address = true;
            }
        } else {
            cx.report(n, format!("keeplite names the ipvlan itself (vrrp.VRID); '{w}' is not carried over"));
        }
    }
}
