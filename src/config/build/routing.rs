//! `route` and `rule` sections: held while their instance is MASTER, or always without one.

use super::reader::{Names, Reader};
use super::vip::scope;
use crate::config::model::*;
use crate::config::value::{self, Bad, Parsed};
use std::net::IpAddr;

/// A table number 1..2^32-1 or one of the names `ip` knows without a file.
fn table(v: &str) -> Parsed<u32> {
    if let Some(&(_, n)) = TABLES.iter().find(|(k, _)| *k == v) {
        return Ok(n);
    }
    match v.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Bad {
            what: format!("'{v}' is not a routing table"),
            expected: "1..4294967295, main, local or default".into(),
        }),
    }
}

/// `mark` or `mark/mask`, decimal or `0x` hex.
fn fwmark(v: &str) -> Parsed<(u32, Option<u32>)> {
    let num = |s: &str| match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    };
    let (mark, mask) = match v.split_once('/') {
        Some((m, k)) => (num(m), num(k).map(Some)),
        None => (num(v), Some(None)),
    };
    match (mark, mask) {
        (Some(m), Some(k)) => Ok((m, k)),
        _ => Err(Bad {
            what: format!("'{v}' is not a firewall mark"),
            expected: "MARK or MARK/MASK, e.g. 0x10/0xff".into(),
        }),
    }
}

/// A prefix whose host bits are zero, as `ip route` requires.
fn network(v: &str) -> Parsed<(IpAddr, u8)> {
    let (addr, len) = value::prefix(v)?;
    let masked = match addr {
        IpAddr::V4(a) => IpAddr::from(std::net::Ipv4Addr::from(
            u32::from(a) & u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0),
        )),
        IpAddr::V6(a) => IpAddr::from(std::net::Ipv6Addr::from(
            u128::from(a) & u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0),
        )),
    };
    if masked != addr {
        return Err(Bad { what: format!("{v} has host bits set"), expected: format!("{masked}/{len}") });
    }
    Ok((addr, len))
}

/// `instance`: the vrrp section whose mastership holds it.
fn instance(r: &mut Reader, names: &Names) -> Option<usize> {
    r.one("instance", |v| names.resolve("vrrp", v))
}

/// The family of `addr`, or a complaint that it is not `family`'s.
fn same_family(r: &mut Reader, name: &str, addr: Option<IpAddr>, family: Option<Family>) {
    if let (Some(a), Some(f)) = (addr, family) {
        if Family::of(a) != f {
            r.fail(
                name,
                format!("{a} is not of the destination's family"),
                "an address of one family throughout",
            );
        }
    }
}

/// Reads one `route` section.
pub fn route(r: &mut Reader, names: &Names) -> Option<Route> {
    let instance = instance(r, names);
    let destination = r.required("destination", network);
    let family = destination.map(|(a, _)| Family::of(a));
    let gateway = r.one("gateway", value::ip);
    let src = r.one("src", value::ip);
    same_family(r, "gateway", gateway, family);
    same_family(r, "src", src, family);
    let dev = r.one("dev", value::interface);
    let kind = r.or("type", RouteType::Unicast, |v| value::keyword(v, ROUTE_TYPES));
    match kind {
        RouteType::Unicast if gateway.is_none() && dev.is_none() => {
            r.fail("gateway", "a unicast route needs a gateway or a dev", "gateway, dev, or both");
        }
        RouteType::Unicast => {}
        _ => r.forbid(
            &["gateway", "dev"],
            "to a blackhole, unreachable or prohibit route",
            "no gateway and no dev",
        ),
    }
    let onlink = r.or("onlink", false, value::boolean);
    if onlink && gateway.is_none() {
        r.fail("onlink", "onlink needs a gateway", "a gateway, or no onlink");
    }
    Some(Route {
        name: r.name().to_owned(),
        instance,
        destination: destination?,
        gateway,
        dev,
        src,
        table: r.or("table", 254, table),
        metric: r.one("metric", |v| value::uint(v, 0, i64::from(u32::MAX))),
        kind,
        protocol: r.one("protocol", |v| value::uint(v, 0, 255)),
        scope: r.one("scope", scope),
        onlink,
    })
}

/// Reads one `rule` section.
pub fn rule(r: &mut Reader, names: &Names) -> Option<Rule> {
    let instance = instance(r, names);
    let from = r.one("from", value::prefix);
    let to = r.one("to", value::prefix);
    let given = r.one("family", |v| value::keyword(v, FAMILIES));
    let family = from.or(to).map(|(a, _)| Family::of(a)).or(given);
    same_family(r, "to", to.map(|(a, _)| a), from.map(|(a, _)| Family::of(a)));
    if let (Some(g), Some(f)) = (given, from.or(to).map(|(a, _)| Family::of(a))) {
        if g != f {
            r.fail("family", "differs from the family of from/to", "no family, or the addresses' one");
        }
    }
    let table = r.required("table", table);
    Some(Rule {
        name: r.name().to_owned(),
        instance,
        family: family.unwrap_or(Family::Ipv4),
        from,
        to,
        iif: r.one("iif", value::interface),
        oif: r.one("oif", value::interface),
        fwmark: r.one("fwmark", fwmark),
        table: table?,
        priority: r.one("priority", |v| value::uint(v, 0, i64::from(u32::MAX))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_marks() {
        assert_eq!(table("main"), Ok(254));
        assert_eq!(table("100"), Ok(100));
        assert!(table("0").is_err() && table("x").is_err());
        assert_eq!(fwmark("0x10/0xff"), Ok((16, Some(255))));
        assert_eq!(fwmark("7"), Ok((7, None)));
        assert!(fwmark("7/").is_err() && fwmark("").is_err() && fwmark("0x1g").is_err());
        assert!(network("10.1.0.0/16").is_ok() && network("0.0.0.0/0").is_ok() && network("::/0").is_ok());
        assert!(network("10.1.0.1/16").is_err() && network("2001:db8::1/64").is_err());
        assert!(network("10.1.0.1").is_ok());
    }
}
