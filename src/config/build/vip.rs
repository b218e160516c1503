//! One `vip` list item: `addr[/len]` followed by the words of keepalived's
//! `virtual_ipaddress` line (`dev eth1 label eth1:1 scope link brd + peer ... no_track`).

use crate::config::model::{Vip, VipOptions, SCOPES};
use crate::config::value::{self, Bad, Parsed};
use std::net::{IpAddr, Ipv4Addr};

const EXPECTED: &str =
    "addr/len, then any of: dev NAME, label NAME[:x], scope WORD, brd ADDR|+, peer ADDR, noprefixroute, no_track, nodad";

fn bad<T>(what: impl Into<String>) -> Parsed<T> {
    Err(Bad { what: what.into(), expected: EXPECTED.into() })
}

/// Parses one item. `interface` is the instance's: a `dev` naming it is the default and is
/// dropped, so that OpenWrt's `dev <interface>` on every VIP means what it says.
pub fn vip(v: &str, interface: Option<&str>) -> Parsed<Vip> {
    let mut words = v.split_ascii_whitespace();
    let (addr, prefix) = value::prefix(words.next().unwrap_or(""))?;
    let mut o = VipOptions::default();
    let mut brd_plus = false;
    while let Some(word) = words.next() {
        let mut arg = || {
            words
                .next()
                .ok_or_else(|| Bad { what: format!("'{word}' needs a value"), expected: EXPECTED.into() })
        };
        match word {
            "dev" => o.dev = Some(value::interface(arg()?)?),
            "label" => o.label = Some(label(arg()?)?),
            "scope" => o.scope = Some(scope(arg()?)?),
            "brd" | "broadcast" => match arg()? {
                "+" => brd_plus = true,
                b => match b.parse::<Ipv4Addr>() {
                    Ok(b) => o.broadcast = Some(b),
                    Err(_) => return bad(format!("broadcast '{b}' is not an IPv4 address")),
                },
            },
            "peer" => o.peer = Some(value::ip(arg()?)?),
            "no_track" => o.no_track = true,
            "noprefixroute" => o.noprefixroute = true,
            // keeplite adds every IPv6 VIP without DAD already; IPv4 has none.
            "nodad" | "-nodad" => {}
            _ => return bad(format!("'{word}' is not a vip option")),
        }
    }
    if o.dev.as_deref().is_some_and(|d| Some(d) == interface) {
        o.dev = None;
    }
    let v4 = match addr {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(_) => None,
    };
    if brd_plus {
        let Some(a) = v4 else { return bad("brd is for IPv4 addresses") };
        let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
        o.broadcast = Some(Ipv4Addr::from(u32::from(a) | host));
    }
    if v4.is_none() && (o.broadcast.is_some() || o.label.is_some()) {
        return bad("brd and label are for IPv4 addresses");
    }
    if o.peer.is_some_and(|p| p.is_ipv4() != addr.is_ipv4()) {
        return bad("the peer is not of the address's family");
    }
    if let Some(l) = &o.label {
        let dev = o.dev.as_deref().or(interface).unwrap_or("");
        let ok = l == dev || l.strip_prefix(dev).is_some_and(|rest| rest.starts_with(':'));
        if !ok {
            return Err(Bad {
                what: format!("label '{l}' does not start with the interface name '{dev}'"),
                expected: format!("{dev} or {dev}:SUFFIX (as `ip address add` requires)"),
            });
        }
    }
    Ok(Vip { addr, prefix, opts: o })
}

fn label(v: &str) -> Parsed<String> {
    if v.is_empty() || v.len() > 15 || v.bytes().any(|b| b == b'/' || b.is_ascii_whitespace()) {
        return Err(Bad {
            what: format!("'{v}' is not a label"),
            expected: "1 to 15 characters, e.g. eth1:1".into(),
        });
    }
    Ok(v.to_owned())
}

/// A scope name, or a number 0..255 as `ip` takes it.
pub fn scope(v: &str) -> Parsed<u8> {
    if let Ok(n) = v.parse::<u8>() {
        return Ok(n);
    }
    value::keyword(v, SCOPES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(v: &str) -> String {
        vip(v, Some("eth0")).unwrap().to_string()
    }

    #[test]
    fn openwrt_lines_and_keepalived_words() {
        assert_eq!(ok("10.0.0.7/24 dev eth0 label eth0:1"), "10.0.0.7/24 label eth0:1");
        assert_eq!(ok("10.0.0.7 dev eth1 label eth1:vip"), "10.0.0.7/32 dev eth1 label eth1:vip");
        assert_eq!(ok("10.0.0.7/24 brd + scope link"), "10.0.0.7/24 brd 10.0.0.255 scope link");
        assert_eq!(ok("10.0.0.7/0 brd +"), "10.0.0.7/0 brd 255.255.255.255");
        assert_eq!(ok("10.0.0.7/32 brd +"), "10.0.0.7/32 brd 10.0.0.7");
        assert_eq!(ok("10.0.0.7/24 broadcast 10.0.0.255 scope 200"), "10.0.0.7/24 brd 10.0.0.255 scope site");
        assert_eq!(
            ok("10.9.0.1 peer 10.9.0.2 no_track dev ppp0"),
            "10.9.0.1/32 dev ppp0 peer 10.9.0.2 no_track"
        );
        assert_eq!(ok("2001:db8::7/64 -nodad noprefixroute"), "2001:db8::7/64 noprefixroute");
        // What is printed reads back the same.
        let line = "10.0.0.7/24 dev eth1 brd 10.0.0.255 scope host label eth1:1 peer 10.0.0.9 noprefixroute no_track";
        assert_eq!(ok(line), line);
    }

    #[test]
    fn refuses_what_ip_would_refuse() {
        for v in [
            "10.0.0.7/24 label eth1:1",
            "10.0.0.7/24 dev eth1 label eth10",
            "10.0.0.7/24 dev",
            "10.0.0.7/24 scope galaxy",
            "10.0.0.7/24 brd 2001:db8::1",
            "2001:db8::7/64 brd +",
            "2001:db8::7/64 label eth0:1",
            "10.0.0.7/24 peer 2001:db8::1",
            "10.0.0.7/24 home",
            "10.0.0.7/24 dev eth:1",
            "",
        ] {
            assert!(vip(v, Some("eth0")).is_err(), "{v}");
        }
    }
}
