//! `virtual_routes`, `static_routes`, `virtual_rules`, `static_rules` -> `route` and `rule`
//! sections, one per line (with `instance` for the virtual ones).

use super::Ctx;
use crate::config::value;
use crate::import::out::Section;
use crate::import::tree::Node;

/// `/etc/iproute2/rt_protos` names keepalived resolves through that file.
const PROTOCOLS: &[(&str, u8)] = &[
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("ra", 9),
    ("zebra", 11),
    ("bird", 12),
    ("dhcp", 16),
    ("keepalived", 18),
];

fn section_name(cx: &mut Ctx, instance: Option<&str>, kind: &str) -> String {
    let base = match instance {
        Some(i) => format!("{i}_{kind}"),
        None => format!("static_{kind}"),
    };
    let n = (1..).find(|n| !cx.names.taken(&format!("{base}{n}"))).unwrap_or(1);
    cx.names.claim(&format!("{base}{n}"))
}

/// A block of routes; `instance` is the keeplite instance holding them (none: static).
pub fn routes(cx: &mut Ctx, node: &Node, instance: Option<&str>) -> Vec<Section> {
    node.children().iter().filter_map(|line| route(cx, line, instance)).collect()
}

fn route(cx: &mut Ctx, line: &Node, instance: Option<&str>) -> Option<Section> {
    let kw = "route";
    let mut s = Section::new(&section_name(cx, instance, "route"), "route", &line.at, kw);
    if let Some(i) = instance {
        s.set("instance", i, &line.at, kw);
    }
    let mut destination = None;
    let mut words = line.words.iter().map(String::as_str).enumerate();
    while let Some((i, w)) = words.next() {
        let option = match w {
            "src" => Some("src"),
            "via" | "gw" => Some("gateway"),
            "dev" | "oif" => Some("dev"),
            "table" => Some("table"),
            "metric" | "preference" | "priority" => Some("metric"),
            "protocol" | "proto" => Some("protocol"),
            "scope" => Some("scope"),
            "to" => Some("destination"),
            _ => None,
        };
        match (option, w) {
            (Some(opt), _) => {
                let Some((_, v)) = words.next() else {
                    cx.reports.add(&line.at, w, "needs a value; ignored");
                    continue;
                };
                let v = match opt {
                    "protocol" => PROTOCOLS
                        .iter()
                        .find(|(n, _)| *n == v)
                        .map_or_else(|| v.to_owned(), |(_, p)| p.to_string()),
                    "destination" => {
                        destination = Some(v);
                        continue;
                    }
                    _ => v.to_owned(),
                };
                s.set(opt, v, &line.at, w);
            }
            (None, "unicast" | "blackhole" | "unreachable" | "prohibit") if i == 0 => {
                s.set("type", w, &line.at, w)
            }
            (None, "local" | "broadcast" | "anycast" | "multicast" | "throw" | "nat") if i == 0 => {
                cx.reports.add(&line.at, w, "keeplite holds unicast, blackhole, unreachable and prohibit routes only; line not carried over");
                return None;
            }
            (None, "onlink") => s.set("onlink", "1", &line.at, w),
            // keeplite never leaves FAULT over a route: that is what no_track asks.
            (None, "no_track") => {}
            (None, "or") => {
                let next = words.next().map_or("", |(_, v)| v);
                cx.reports.add(
                    &line.at,
                    format!("or {next}"),
                    "keeplite has no multipath routes; only the first gateway is carried over",
                );
            }
            (None, _) if destination.is_none() => destination = Some(w),
            (None, _) => cx.reports.add(&line.at, w, "not a route option keeplite has; ignored"),
        }
    }
    let destination = match destination {
        None => {
            cx.reports.add(&line.at, kw, "no destination; line not carried over");
            return None;
        }
        // A default route written `default via <IPv6>` is IPv6's.
        Some("default" | "all") if s.value("gateway").is_some_and(|g| g.contains(':')) => "::/0".to_owned(),
        Some("default" | "all") => "0.0.0.0/0".to_owned(),
        Some(d) => match value::prefix(d) {
            Ok((a, l)) => format!("{a}/{l}"),
            Err(bad) => {
                cx.reports.add(&line.at, d, format!("{}; line not carried over", bad.what));
                return None;
            }
        },
    };
    s.set("destination", destination, &line.at, kw);
    Some(s)
}

/// A block of rules; `instance` as for [`routes`].
pub fn rules(cx: &mut Ctx, node: &Node, instance: Option<&str>) -> Vec<Section> {
    node.children().iter().filter_map(|line| rule(cx, line, instance)).collect()
}

fn rule(cx: &mut Ctx, line: &Node, instance: Option<&str>) -> Option<Section> {
    let kw = "rule";
    let mut s = Section::new(&section_name(cx, instance, "rule"), "rule", &line.at, kw);
    if let Some(i) = instance {
        s.set("instance", i, &line.at, kw);
    }
    let mut words = line.words.iter().map(String::as_str);
    while let Some(w) = words.next() {
        let option = match w {
            "from" => Some("from"),
            "to" => Some("to"),
            "iif" => Some("iif"),
            "oif" => Some("oif"),
            "fwmark" => Some("fwmark"),
            "table" | "lookup" => Some("table"),
            "priority" | "preference" | "pref" => Some("priority"),
            _ => None,
        };
        match (option, w) {
            (Some(opt), _) => {
                let Some(v) = words.next() else {
                    cx.reports.add(&line.at, w, "needs a value; ignored");
                    continue;
                };
                if matches!(opt, "from" | "to") && v == "all" {
                    continue;
                }
                s.set(opt, v, &line.at, w);
            }
            (None, "no_track") => {}
            (None, "inet6") => s.set("family", "ipv6", &line.at, w),
            (None, _) => {
                cx.reports.add(&line.at, w, "not a rule option keeplite has (it holds lookup rules: from, to, iif, oif, fwmark, table, priority); line not carried over");
                return None;
            }
        }
    }
    if s.value("table").is_none() {
        cx.reports.add(&line.at, kw, "no table: keeplite holds lookup rules only; line not carried over");
        return None;
    }
    Some(s)
}

/// `static_ipaddress { }`: each line a global `static_address` entry, which must name its
/// interface.
pub fn static_addresses(cx: &mut Ctx, node: &Node) {
    for line in node.children() {
        let Some(addr) = line.words.first() else { continue };
        let (ip, len) = match value::prefix(addr) {
            Ok(p) => p,
            Err(bad) => {
                cx.reports.add(&line.at, addr, format!("{}; not carried over", bad.what));
                continue;
            }
        };
        let mut text = if addr.contains('/') { format!("{ip}/{len}") } else { ip.to_string() };
        let mut i = 1;
        while i < line.words.len() {
            let value = line.words.get(i + 1).map(String::as_str);
            i += super::vrrp::vip_option(cx, line, None, &mut text, &line.words[i], value);
        }
        if !line.words.iter().any(|w| w == "dev") {
            cx.reports.add(
                &line.at,
                addr,
                "keeplite needs the interface of a static address (dev IF); not carried over",
            );
            continue;
        }
        cx.statics.push((text, line.at.clone()));
    }
}
