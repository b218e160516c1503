//! `virtual_server` and `real_server` sections.

use super::reader::{Names, Reader};
use crate::config::model::*;
use crate::config::value::{self, Bad};
use std::time::Duration;

/// keepalived's `delay_loop` default.
const DELAY_LOOP: Duration = Duration::from_secs(60);

/// Reads one `virtual_server` section.
pub fn virtual_server(r: &mut Reader) -> Option<VirtualServer> {
    let key = service_key(r);
    let forward = r.or("forward", Forward::Nat, |v| value::keyword(v, FORWARDS));
    let tunnel = tunnel(r);
    let persistence = persistence(r, key.as_ref().map(ServiceKey::family));
    let sorry_server = r.one("sorry_server", value::endpoint);
    if let (Some((addr, _)), Some(k)) = (sorry_server, &key) {
        if Family::of(addr) != k.family() && forward != Forward::Tun {
            r.fail(
                "sorry_server",
                format!("{addr} is not in the virtual server's family"),
                "an address of the service's family",
            );
        }
    }
    let quorum = r.or("quorum", 1, |v| value::uint(v, 1, u32::MAX.into()));
    let hysteresis = r.or("hysteresis", 0, |v| value::uint(v, 0, u32::MAX.into()));
    if hysteresis >= quorum && r.has("hysteresis") {
        r.fail(
            "hysteresis",
            format!("{hysteresis} is not below the quorum {quorum}"),
            format!("0..{}", quorum - 1),
        );
    }
    if !r.has("persistence_timeout") && key.as_ref().is_some_and(ServiceKey::every_port) {
        // The kernel schedules a new connection to port 0 only when the service is
        // persistent (ip_vs_schedule); ipvsadm and keepalived refuse it too.
        r.fail(
            "port",
            "0 (every port) without persistence: the kernel would schedule nothing",
            "persistence_timeout to be set",
        );
    }
    let ops = r.or("ops", false, value::boolean);
    let udp = matches!(key, Some(ServiceKey::Address { protocol: Protocol::Udp, .. }));
    if ops && !udp {
        r.fail("ops", "one-packet scheduling needs a UDP service", "protocol udp, or ops 0");
    }
    Some(VirtualServer {
        name: r.name().to_owned(),
        scheduler: r.or("scheduler", Scheduler::Wlc, |v| value::keyword(v, SCHEDULERS)),
        forward,
        tunnel,
        persistence,
        sorry_server,
        quorum,
        hysteresis,
        quorum_up: r.one("quorum_up", value::command),
        quorum_down: r.one("quorum_down", value::command),
        inhibit_on_failure: r.or("inhibit_on_failure", false, value::boolean),
        delay_loop: r.or("delay_loop", DELAY_LOOP, value::positive),
        alpha: r.or("alpha", false, value::boolean),
        omega: r.or("omega", false, value::boolean),
        ops,
        host: r.one("host", value::host),
        smtp_alert: r.or("smtp_alert", false, value::boolean),
        key: key?,
    })
}

/// `address` + `port` (+ `protocol`), or `fwmark` (+ `family`): exactly one of the two.
fn service_key(r: &mut Reader) -> Option<ServiceKey> {
    match (r.has("address"), r.has("fwmark")) {
        (true, true) => {
            r.fail(
                "fwmark",
                "a virtual server has an address or a fwmark, not both",
                "address with port, or fwmark",
            );
            None
        }
        (false, false) => {
            r.missing("'address' or 'fwmark'", "address with port, or fwmark");
            None
        }
        (true, false) => {
            r.forbid(&["family"], "to an address service (the address sets the family)", "no family");
            let addr = r.one("address", value::ip);
            let protocol = r.or("protocol", Protocol::Tcp, |v| value::keyword(v, PROTOCOLS));
            let ranges = if r.has("port") {
                r.list("port", |v| {
                    let (first, last) = if v == "0" { (0, 0) } else { value::port_range(v)? };
                    Ok(PortRange { first, last })
                })
            } else {
                r.required("port", |_| Ok(()));
                Vec::new()
            };
            let ports = expand_ports(r, ranges)?;
            Some(ServiceKey::Address { addr: addr?, ports, protocol })
        }
        (false, true) => {
            r.forbid(
                &["port", "protocol"],
                "to a fwmark service (it matches any port and protocol)",
                "no port or protocol",
            );
            let mark = r.one("fwmark", |v| value::uint(v, 1, u32::MAX.into()));
            let family = r.or("family", Family::Ipv4, |v| value::keyword(v, FAMILIES));
            Some(ServiceKey::Fwmark { mark: mark?, family })
        }
    }
}

/// Port ranges: none overlapping, their ports within the per-service limit; port 0
/// (every port) alone.
fn expand_ports(
    r: &mut Reader,
    ranges: Vec<PortRange>,
) -> Option<heapless::Vec<PortRange, { crate::limits::PORTS_PER_VIRTUAL_SERVER }>> {
    if ranges.len() > 1 && ranges.iter().any(|p| p.first == 0) {
        r.fail("port", "0 (every port) with other ports", "0 alone, or ports 1..65535");
        return None;
    }
    for (i, a) in ranges.iter().enumerate() {
        if let Some(b) = ranges[..i].iter().find(|b| a.first <= b.last && b.first <= a.last) {
            let show = |p: &PortRange| {
                if p.first == p.last {
                    p.first.to_string()
                } else {
                    format!("{}-{}", p.first, p.last)
                }
            };
            r.fail("port", format!("port {} overlaps {}", show(a), show(b)), "each port once");
            return None;
        }
    }
    let count: usize = ranges.iter().map(PortRange::count).sum();
    let limit = crate::limits::PORTS_PER_VIRTUAL_SERVER;
    if count > limit {
        r.fail(
            "port",
            format!("{count} ports"),
            format!("at most {limit} (limits::PORTS_PER_VIRTUAL_SERVER)"),
        );
        return None;
    }
    if ranges.is_empty() {
        return None;
    }
    Some(ranges.into_iter().collect())
}

/// `tunnel_type`, `tunnel_port` (gue only, required there) and `tunnel_csum`.
fn tunnel(r: &mut Reader) -> Tunnel {
    let kind = r.or("tunnel_type", TunnelType::Ipip, |v| value::keyword(v, TUNNEL_TYPES));
    let port = r.one("tunnel_port", value::port);
    let csum = r.or("tunnel_csum", TunnelCsum::None, |v| value::keyword(v, TUNNEL_CSUMS));
    match kind {
        TunnelType::Gue if port.is_none() && !r.has("tunnel_port") => {
            r.fail(
                "tunnel_type",
                "gue tunnels need a tunnel_port",
                "tunnel_port, the UDP port of the receiver",
            );
        }
        TunnelType::Gue => {}
        _ if r.has("tunnel_port") => r.fail("tunnel_port", "only gue tunnels have a port", "tunnel_type gue"),
        _ => {}
    }
    match (kind, csum) {
        (TunnelType::Ipip, TunnelCsum::Csum | TunnelCsum::Remcsum) => {
            r.fail("tunnel_csum", "ipip tunnels carry no checksum", "none, or tunnel_type gue or gre")
        }
        (TunnelType::Gre, TunnelCsum::Remcsum) => {
            r.fail("tunnel_csum", "gre tunnels have no remote checksum offload", "none or csum")
        }
        _ => {}
    }
    Tunnel { kind, port, csum }
}

/// `persistence_timeout` (whole seconds) and `persistence_netmask` (needs the timeout).
fn persistence(r: &mut Reader, family: Option<Family>) -> Option<Persistence> {
    let timeout = r.one("persistence_timeout", |v| {
        let d = value::duration_in(v, Duration::from_secs(1), Duration::from_secs(30 * 24 * 3600))?;
        if d.subsec_millis() != 0 {
            return Err(Bad {
                what: format!("{v} is not whole seconds"),
                expected: "whole seconds (the kernel counts seconds)".into(),
            });
        }
        Ok(d)
    });
    let max = if family == Some(Family::Ipv6) { 128 } else { 32 };
    let netmask = r.one("persistence_netmask", |v| {
        let n = value::netmask(v)?;
        if n > max {
            return Err(Bad {
                what: format!("/{n} is longer than the family's addresses"),
                expected: format!("0..{max}"),
            });
        }
        Ok(n)
    });
    if r.has("persistence_netmask") && !r.has("persistence_timeout") {
        r.fail("persistence_netmask", "has no effect without persistence", "persistence_timeout to be set");
    }
    timeout.map(|timeout| Persistence { timeout, netmask })
}

/// Reads one `real_server` section.
pub fn real_server(r: &mut Reader, names: &Names) -> Option<RealServer> {
    if !r.has("virtual_server") {
        r.required("virtual_server", |_| Ok(()));
    }
    let vs = r.list("virtual_server", |v| names.resolve("virtual_server", v));
    r.no_duplicates("virtual_server", &vs, |&i| format!("'{}'", names.name_of("virtual_server", i)));
    let virtual_servers = r.fixed("virtual_server", vs, "VIRTUAL_SERVERS_PER_REAL_SERVER");
    let address = r.required("address", value::ip);
    let uthreshold = r.one("uthreshold", |v| value::uint(v, 0, 65535));
    let lthreshold = r.one("lthreshold", |v| value::uint(v, 0, 65535));
    if let (Some(u), Some(l)) = (uthreshold, lthreshold) {
        if l > u {
            r.fail("lthreshold", format!("{l} is above uthreshold {u}"), format!("0..{u}"));
        }
    }
    let checks = r.list("check", |v| names.resolve("check", v));
    r.no_duplicates("check", &checks, |&i| format!("'{}'", names.name_of("check", i)));
    let checks = r.fixed("check", checks, "CHECKS_PER_REAL_SERVER");
    Some(RealServer {
        name: r.name().to_owned(),
        virtual_servers,
        address: address?,
        port: r.one("port", value::port),
        weight: r.or("weight", 1, |v| value::uint(v, 0, 65535)),
        forward: r.one("forward", |v| value::keyword(v, FORWARDS)),
        uthreshold,
        lthreshold,
        checks,
        notify_up: r.one("notify_up", value::command),
        notify_down: r.one("notify_down", value::command),
        inhibit_on_failure: r.one("inhibit_on_failure", value::boolean),
    })
}
