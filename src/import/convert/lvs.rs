//! `virtual_server` (an address and port, a firewall mark, or a `virtual_server_group`)
//! and its `real_server`s -> `virtual_server` and `real_server` sections.
//!
//! A group becomes one `virtual_server` section per entry, and each real server one
//! section that names them all: keepalived programs one IPVS service per entry with the
//! same real servers and the same checks, which is what keeplite does with these.

use super::checker::{checker, Layer};
use super::{duration_text, Ctx};
use crate::config::value;
use crate::import::out::{Item, Opt, Section};
use crate::import::report::Origin;
use crate::import::tree::Node;
use crate::limits;
use std::net::IpAddr;
use std::time::Duration;

/// Most services one `virtual_server_group` entry range may stand for.
const RANGE: usize = 256;

/// One IPVS service the block declares.
#[derive(Debug, Clone)]
enum Service {
    Address {
        ip: IpAddr,
        port: u16,
    },
    /// A mark, and in a group the service's own family (`fwmark N inet6`), as keeplite's
    /// `family` option words it.
    Fwmark(String, Option<&'static str>),
}

/// `virtual_server ...` with its real servers.
pub fn virtual_server(cx: &mut Ctx, node: &Node, all: &[Node]) {
    let Some(services) = services(cx, node, all) else { return };
    if node.block.is_none() {
        cx.report(node, "needs a { } block; ignored");
        return;
    }
    let fwmark = services.iter().all(|s| matches!(s, Service::Fwmark(..)));
    let mut common = Section::new("", "virtual_server", &node.at, "virtual_server");
    let mut layer = Layer { vs_interval: Duration::from_secs(60), ..Layer::default() };
    let mut vs_alpha = false;
    for n in node.children() {
        let kw = n.keyword();
        match kw {
            "real_server" => {}
            "delay_loop" => {
                if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                    layer.vs_interval = d;
                    common.set("delay_loop", duration_text(d), &n.at, kw);
                }
            }
            "lb_algo" | "lvs_sched" => {
                if let Some(v) = cx.arg(n) {
                    common.set("scheduler", v.to_ascii_lowercase(), &n.at, kw);
                }
            }
            "lb_kind" | "lvs_method" => method(cx, &mut common, n, true),
            "persistence_timeout" => {
                // Without a value keepalived takes 6 minutes; keeplite wants it written. 0 is
                // no persistence, keeplite's default.
                let v = n.arg(0).unwrap_or("360");
                match cx.seconds(n, v) {
                    Some(d) if d.is_zero() => common.remove("persistence_timeout"),
                    Some(d) => common.set("persistence_timeout", duration_text(d), &n.at, kw),
                    None => {}
                }
            }
            "persistence_granularity" => {
                if let Some(v) = cx.arg(n) {
                    common.set("persistence_netmask", v, &n.at, kw);
                }
            }
            "protocol" => {
                if fwmark {
                    cx.report(n, "a firewall-mark service has no protocol; keepalived ignores it too");
                } else if let Some(v) = cx.arg(n) {
                    common.set("protocol", v.to_ascii_lowercase(), &n.at, kw);
                }
            }
            "ip_family" => match (fwmark, n.arg(0)) {
                (true, Some("inet")) => common.set("family", "ipv4", &n.at, kw),
                (true, Some("inet6")) => common.set("family", "ipv6", &n.at, kw),
                (true, _) => cx.report(n, "takes inet or inet6; ignored"),
                (false, _) => cx.report(n, "the address gives the family; keepalived ignores it too"),
            },
            "sorry_server" => {
                let Some(addr) = cx.arg(n) else { continue };
                let text = match (n.arg(1).filter(|p| !is_zero(p)), addr.contains(':')) {
                    (None, _) => addr.to_owned(),
                    (Some(p), true) => format!("[{addr}]:{p}"),
                    (Some(p), false) => format!("{addr}:{p}"),
                };
                common.set("sorry_server", text, &n.at, kw);
            }
            "quorum" | "hysteresis" => {
                if let Some(v) = cx.arg(n) {
                    common.set(kw, v, &n.at, kw);
                }
            }
            "quorum_up" | "quorum_down" => {
                if let Some(cmd) = cx.command_as_script_user(n) {
                    common.set(kw, cmd, &n.at, kw);
                    if services.len() > 1 {
                        cx.report(n, format!("the group is {} keeplite virtual servers, each running this command for its own quorum", services.len()));
                    }
                }
            }
            "inhibit_on_failure" => {
                if let Some(b) = cx.flag(n) {
                    common.set(kw, if b { "1" } else { "0" }, &n.at, kw);
                }
            }
            "alpha" => {
                if let Some(b) = cx.flag(n) {
                    vs_alpha = b;
                    common.set("alpha", if b { "1" } else { "0" }, &n.at, kw);
                }
            }
            "ops" => common.set("ops", "1", &n.at, kw),
            "omega" => {
                if let Some(b) = cx.flag(n) {
                    common.set("omega", if b { "1" } else { "0" }, &n.at, kw);
                }
            }
            "virtualhost" => {
                if let Some(v) = cx.arg(n) {
                    layer.vs_host = Some(v.to_owned());
                    common.set("host", v, &n.at, kw);
                }
            }
            "smtp_alert" => {
                if cx.flag(n) == Some(true) && cx.g.mail {
                    cx.report(n, "keeplite mails real servers going down and up, not quorum changes");
                }
            }
            "connect_timeout" | "retry" | "delay_before_retry" => {
                layer.read(n);
            }
            _ => cx.unsupported(n),
        }
    }
    if !fwmark && common.opt("protocol").is_none() {
        // The kernel's default for protocol 0 is UDP, and keepalived sets it so.
        common.set("protocol", "udp", &node.at, "protocol");
        cx.report(node, "no protocol: keepalived takes UDP (and warns), and so does the import");
    }
    let every_port = services.iter().any(|s| matches!(s, Service::Address { port: 0, .. }));
    if every_port && common.opt("persistence_timeout").is_none() {
        // The kernel schedules a new connection to every port only when the service is
        // persistent; keepalived makes the whole virtual server so ("zero port only valid
        // for persistent services - setting"), and keeplite refuses it otherwise.
        common.set("persistence_timeout", "360s", &node.at, "virtual_server");
        cx.report(node, "a service without a port takes every port, which the kernel schedules only when persistent: keepalived makes the virtual server persistent for its default 360 s, and so does the import");
    }
    if common.value("ops") == Some("1") && common.value("protocol").is_some_and(|p| p != "udp") {
        if let Some(o) = common.opt("ops") {
            let at = o.items[0].at.clone();
            cx.reports.add(&at, "ops", "one-packet scheduling needs UDP; keepalived ignores it too");
        }
        common.remove("ops");
    }
    // One section per service.
    let mut vs_names = Vec::new();
    for svc in &services {
        let mut s = common.clone();
        let wanted = match svc {
            Service::Address { ip, port } => {
                let mut n = format!("vs_{ip}_{port}");
                if let Some(p) = s.value("protocol").filter(|p| *p != "tcp") {
                    n.push('_');
                    n.push_str(p);
                }
                s.options.insert(0, opt(&node.at, "port", &port.to_string()));
                s.options.insert(0, opt(&node.at, "address", &ip.to_string()));
                n
            }
            Service::Fwmark(mark, family) => {
                s.remove("protocol");
                if let Some(f) = family {
                    s.set("family", *f, &node.at, "fwmark");
                }
                s.options.insert(0, opt(&node.at, "fwmark", mark));
                format!("fwm_{mark}")
            }
        };
        s.name = cx.names.claim(&wanted);
        vs_names.push((s.name.clone(), svc.clone()));
        cx.lvs.push(s);
    }
    let first_vs = cx.lvs.len() - services.len();
    let mut alerts = Vec::new();
    for n in node.children().iter().filter(|n| n.keyword() == "real_server") {
        if let Some(a) = real_server(cx, n, &vs_names, &layer, vs_alpha) {
            alerts.push(a);
        }
    }
    // keepalived mails about each real server unless told not to; keeplite per service.
    if cx.g.mail && alerts.iter().any(|a| *a) {
        if alerts.iter().any(|a| !*a) {
            cx.report(node, "keeplite's smtp_alert is per virtual server: some real servers mail and others not; the import mails for all");
        }
        for s in &mut cx.lvs[first_vs..first_vs + services.len()] {
            s.set("smtp_alert", "1", &node.at, "smtp_alert");
        }
    }
}

/// An option given by the `virtual_server` line itself (its address, port or mark).
fn opt(at: &Origin, name: &str, v: &str) -> Opt {
    Opt {
        name: name.to_owned(),
        list: name == "port",
        items: vec![Item { value: v.to_owned(), at: at.clone(), keyword: "virtual_server".into() }],
    }
}

/// The services of `virtual_server IP PORT`, `fwmark N` or `group NAME`.
fn services(cx: &mut Ctx, node: &Node, all: &[Node]) -> Option<Vec<Service>> {
    match node.args() {
        [f, mark] if f == "fwmark" => Some(vec![Service::Fwmark(mark.clone(), None)]),
        [g, name] if g == "group" => {
            let Some(group) =
                all.iter().find(|n| n.keyword() == "virtual_server_group" && n.arg(0) == Some(name))
            else {
                cx.report(node, format!("no virtual_server_group is called '{name}'; not carried over"));
                return None;
            };
            let mut out = Vec::new();
            for e in group.children() {
                match group_entry(e) {
                    Ok(mut s) => out.append(&mut s),
                    Err(why) => cx.reports.add(&e.at, e.keyword(), format!("{why}; ignored")),
                }
            }
            if out.is_empty() {
                cx.report(
                    node,
                    format!("the group '{name}' has no service keeplite can take; not carried over"),
                );
                return None;
            }
            Some(out)
        }
        [ip, port @ ..] if port.len() <= 1 => {
            match (value::ip(ip), service_port(port.first().map(String::as_str))) {
                (Ok(ip), Ok(port)) => Some(vec![Service::Address { ip, port }]),
                _ => {
                    let words = node.args().join(" ");
                    cx.report(node, format!("'{words}' is not an address and port; not carried over"));
                    None
                }
            }
        }
        _ => {
            cx.report(node, "takes IP [PORT], fwmark N or group NAME; not carried over");
            None
        }
    }
}

/// A service's port: none, or 0 as keepalived reads it (any number of zeros), is every
/// port (keeplite's `port='0'`).
fn service_port(port: Option<&str>) -> Result<u16, String> {
    match port.filter(|p| !is_zero(p)) {
        None => Ok(0),
        Some(p) => value::port(p).map_err(|b| b.what),
    }
}

/// A port keepalived reads as none: `0`, `00`, ...
fn is_zero(port: &str) -> bool {
    !port.is_empty() && port.bytes().all(|b| b == b'0')
}

/// One line of a `virtual_server_group`: `IP [PORT]`, `FIRST-LAST [PORT]` (the last part
/// of the address, or a whole last address), `IP/LEN [PORT]` (every address of the block),
/// or `fwmark N [inet|inet6]`; without a port, every port.
fn group_entry(e: &Node) -> Result<Vec<Service>, String> {
    match e.words.as_slice() {
        [f, mark] if f == "fwmark" => Ok(vec![Service::Fwmark(mark.clone(), None)]),
        [f, mark, family] if f == "fwmark" => match family.as_str() {
            "inet" => Ok(vec![Service::Fwmark(mark.clone(), Some("ipv4"))]),
            "inet6" => Ok(vec![Service::Fwmark(mark.clone(), Some("ipv6"))]),
            other => Err(format!("'{other}' is not inet or inet6")),
        },
        [addr, rest @ ..] if rest.len() <= 1 => {
            let port = service_port(rest.first().map(String::as_str))?;
            if let Some((ip, len)) = addr.split_once('/') {
                let ips = block(value::ip(ip).map_err(|b| b.what)?, len)?;
                return Ok(ips.into_iter().map(|ip| Service::Address { ip, port }).collect());
            }
            let (first, last) = match addr.split_once('-') {
                Some((f, l)) => (f, Some(l)),
                None => (addr.as_str(), None),
            };
            let first: IpAddr = value::ip(first).map_err(|b| b.what)?;
            let Some(last) = last else { return Ok(vec![Service::Address { ip: first, port }]) };
            let ips = if last.contains(['.', ':']) {
                whole_range(first, value::ip(last).map_err(|b| b.what)?)
            } else {
                range(first, last)
            }
            .ok_or_else(|| {
                format!("'{addr}' is not an address range keeplite can expand (at most {RANGE})")
            })?;
            Ok(ips.into_iter().map(|ip| Service::Address { ip, port }).collect())
        }
        _ => Err("takes IP [PORT], FIRST-LAST [PORT], IP/LEN [PORT] or fwmark N [inet|inet6]".into()),
    }
}

/// `198.51.100.40/30`: every address of the block, the first and last included, as
/// keepalived 2.4 takes it; at most [`RANGE`]. An address with host bits set is refused,
/// as keepalived skips it.
fn block(ip: IpAddr, len: &str) -> Result<Vec<IpAddr>, String> {
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = len.parse().ok().filter(|l| (1..=bits).contains(l)).ok_or_else(|| {
        format!("'/{len}' is not a prefix length in 1..{bits}; keepalived skips the entry too")
    })?;
    let host = if len == bits { 0 } else { u128::MAX >> (128 - (bits - len)) };
    let (first, as_ip): (u128, fn(u128) -> IpAddr) = match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), |n| IpAddr::from((n as u32).to_be_bytes())),
        IpAddr::V6(a) => (u128::from(a), |n| IpAddr::from(n.to_be_bytes())),
    };
    if first & host != 0 {
        return Err("host bits are set; keepalived skips the entry too".to_owned());
    }
    whole_range(ip, as_ip(first | host))
        .ok_or_else(|| format!("more addresses than keeplite expands (at most {RANGE})"))
}

/// `10.0.0.250` to `10.0.1.2` (keepalived 2.4's form with a whole last address): every
/// address from the first to the last, of one family, at most [`RANGE`].
fn whole_range(first: IpAddr, last: IpAddr) -> Option<Vec<IpAddr>> {
    let (a, b) = match (first, last) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
        _ => return None,
    };
    if a > b || b - a >= RANGE as u128 {
        return None;
    }
    let ip = |n: u128| match first {
        IpAddr::V4(_) => IpAddr::from(u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()),
        IpAddr::V6(_) => IpAddr::from(n.to_be_bytes()),
    };
    Some((a..=b).map(ip).collect())
}

/// `10.0.0.3` to `10`: 10.0.0.3 ... 10.0.0.10 (the last octet, or the last group of an
/// IPv6 address in hex).
fn range(first: IpAddr, last: &str) -> Option<Vec<IpAddr>> {
    match first {
        IpAddr::V4(a) => {
            let o = a.octets();
            let end: u8 = last.parse().ok()?;
            (o[3] <= end).then(|| (o[3]..=end).map(|x| IpAddr::from([o[0], o[1], o[2], x])).collect())
        }
        IpAddr::V6(a) => {
            let mut s = a.segments();
            let end = u16::from_str_radix(last, 16).ok()?;
            if s[7] > end || usize::from(end - s[7]) >= RANGE {
                return None;
            }
            let start = s[7];
            Some(
                (start..=end)
                    .map(|x| {
                        s[7] = x;
                        IpAddr::from(s)
                    })
                    .collect(),
            )
        }
    }
}

/// `lb_kind`/`lvs_method NAT|DR|TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn method(cx: &mut Ctx, s: &mut Section, n: &Node, service: bool) {
    let kw = n.keyword();
    let Some(m) = cx.arg(n) else { return };
    let forward = match m {
        "NAT" => "nat",
        "DR" => "dr",
        "TUN" => "tun",
        other => {
            cx.report(n, format!("'{other}' is not NAT, DR or TUN; ignored"));
            return;
        }
    };
    s.set("forward", forward, &n.at, kw);
    let mut words = n.args()[1..].iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "type" if service => match words.next().map(String::as_str) {
                Some(t @ ("ipip" | "gre")) => s.set("tunnel_type", t, &n.at, kw),
                Some("gue") => {
                    s.set("tunnel_type", "gue", &n.at, kw);
                    if words.next().map(String::as_str) == Some("port") {
                        if let Some(p) = words.next() {
                            s.set("tunnel_port", p.as_str(), &n.at, kw);
                        }
                    }
                }
                _ => cx.report(n, "the tunnel type is not ipip, gue or gre; ignored"),
            },
            "nocsum" if service => s.set("tunnel_csum", "none", &n.at, kw),
            "csum" | "remcsum" if service => s.set("tunnel_csum", w.as_str(), &n.at, kw),
            _ => {
                cx.report(n, "keeplite has tunnel settings per virtual server only; the real server's are not carried over");
                break;
            }
        }
    }
}

/// One `real_server IP [PORT] { ... }`; whether keepalived would mail about it.
fn real_server(
    cx: &mut Ctx,
    node: &Node,
    vs: &[(String, Service)],
    inherited: &Layer,
    vs_alpha: bool,
) -> Option<bool> {
    let kw = "real_server";
    let (ip, port) = match node.args() {
        [ip] => (ip, None),
        [ip, port] => (ip, Some(port)),
        _ => {
            cx.report(node, "takes IP [PORT]; not carried over");
            return None;
        }
    };
    let Ok(addr) = value::ip(ip) else {
        cx.report(node, format!("'{ip}' is not an address; not carried over"));
        return None;
    };
    // keepalived reads a port of zeros as none (the service's).
    let port = match port.filter(|p| !is_zero(p)).map(|p| value::port(p)) {
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => {
            cx.report(node, format!("'{}' is not a port; not carried over", node.args()[1]));
            return None;
        }
        None => None,
    };
    let mut s = Section::new("", "real_server", &node.at, kw);
    // The port only where it differs from the services' (keeplite's default).
    let same_port =
        vs.iter().all(|(_, svc)| matches!(svc, Service::Address { port: p, .. } if Some(*p) == port));
    s.set("address", addr.to_string(), &node.at, kw);
    if let (Some(p), false) = (port, same_port) {
        s.set("port", p.to_string(), &node.at, kw);
    }
    let mut layer = inherited.clone();
    let mut alert = None;
    // Each check's name, with where and by which checker it was written.
    let mut checks: Vec<(String, Origin, &str)> = Vec::new();
    for n in node.children() {
        let k = n.keyword();
        match k {
            "weight" => {
                if let Some(v) = cx.arg(n) {
                    s.set("weight", v, &n.at, k);
                }
            }
            "lb_kind" | "lvs_method" => method(cx, &mut s, n, false),
            "notify_up" | "notify_down" => {
                if let Some(cmd) = cx.command_as_script_user(n) {
                    s.set(k, cmd, &n.at, k);
                }
            }
            "uthreshold" | "lthreshold" => {
                if let Some(v) = cx.arg(n) {
                    s.set(k, v, &n.at, k);
                }
            }
            "inhibit_on_failure" => {
                if let Some(b) = cx.flag(n) {
                    s.set(k, if b { "1" } else { "0" }, &n.at, k);
                }
            }
            "smtp_alert" => alert = cx.flag(n),
            "alpha" => {
                if cx.flag(n).is_some_and(|a| a != vs_alpha) {
                    cx.report(n, "keeplite has alpha per virtual server only");
                }
            }
            "connect_timeout" | "retry" | "delay_before_retry" | "delay_loop" | "virtualhost" => {
                layer.read(n);
            }
            "TCP_CHECK" | "HTTP_GET" | "SSL_GET" | "SMTP_CHECK" | "MISC_CHECK" | "DNS_CHECK"
            | "UDP_CHECK" | "PING_CHECK" | "FILE_CHECK" | "BFD_CHECK" => {
                for name in checker(cx, n, &layer) {
                    if !checks.iter().any(|(c, _, _)| *c == name) {
                        checks.push((name, n.at.clone(), k));
                    }
                }
            }
            _ => cx.unsupported(n),
        }
    }
    for (i, (name, at, checker)) in checks.iter().enumerate() {
        if i < limits::CHECKS_PER_REAL_SERVER {
            s.push("check", name, at, "checker");
        } else {
            cx.reports.add(
                at,
                *checker,
                format!(
                    "keeplite takes at most {} checks per real server; '{name}' is left out",
                    limits::CHECKS_PER_REAL_SERVER
                ),
            );
        }
    }
    // Sections of at most VIRTUAL_SERVERS_PER_REAL_SERVER services each.
    let port_text = port.map_or(String::new(), |p| format!("_{p}"));
    for chunk in vs.chunks(limits::VIRTUAL_SERVERS_PER_REAL_SERVER) {
        let mut r = s.clone();
        for (name, _) in chunk {
            r.push("virtual_server", name, &node.at, kw);
        }
        // `virtual_server` first, as written by hand.
        r.options.rotate_right(1);
        r.name = cx.names.claim(&format!("rs_{addr}{port_text}"));
        cx.lvs.push(r);
    }
    Some(alert.or(cx.g.smtp_alert_checker).or(cx.g.smtp_alert).unwrap_or(true))
}

#[cfg(test)]
mod tests {
    use super::block;
    use std::net::IpAddr;

    fn ips(v: &[&str]) -> Vec<IpAddr> {
        v.iter().map(|s| s.parse().expect("address")).collect()
    }

    #[test]
    fn an_address_block_is_every_address_in_it() {
        let a = |s: &str| s.parse::<IpAddr>().expect("address");
        assert_eq!(
            block(a("198.51.100.40"), "30"),
            Ok(ips(&["198.51.100.40", "198.51.100.41", "198.51.100.42", "198.51.100.43"]))
        );
        assert_eq!(block(a("198.51.100.40"), "32"), Ok(ips(&["198.51.100.40"])));
        assert_eq!(block(a("2001:db8::4"), "127"), Ok(ips(&["2001:db8::4", "2001:db8::5"])));
        assert_eq!(block(a("2001:db8::4"), "128"), Ok(ips(&["2001:db8::4"])));
        assert_eq!(block(a("10.0.0.0"), "24").map(|v| v.len()), Ok(256));
        for (ip, len, why) in [
            ("198.51.100.41", "30", "host bits"),
            ("10.0.0.0", "23", "at most 256"),
            ("10.0.0.0", "0", "prefix length"),
            ("10.0.0.0", "33", "prefix length"),
            ("2001:db8::", "129", "prefix length"),
            ("10.0.0.0", "x", "prefix length"),
        ] {
            let e = block(a(ip), len).expect_err(ip);
            assert!(e.contains(why), "{ip}/{len}: {e}");
        }
    }
}
