//! Routes over rtnetlink: add (or replace), delete, and dump one family's routes.
//!
//! Messages are built by hand (`struct rtmsg` and the few `RTA_*` attributes keeplite
//! uses), and the kernel's are decoded the same way: only those attributes are read, and
//! any length or family that does not add up makes the entry unreadable, never a panic.

use super::error::Cause;
use super::netlink::{Raw, Socket};
use netlink_packet_core::{NlasIterator, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `RTM_NEWROUTE`: a route (dump entry or notification).
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`: a route was removed.
pub const RTM_DELROUTE: u16 = 25;
const RTM_GETROUTE: u16 = 26;

pub(super) const AF_INET: u8 = 2;
pub(super) const AF_INET6: u8 = 10;
const RTMSG_LEN: usize = 12;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
/// `RTNH_F_ONLINK` in `rtm_flags`.
pub const ONLINK: u32 = 4;
/// `RTM_F_CLONED`: a cached clone (old IPv6 kernels dump them), not a route of the table.
const CLONED: u32 = 0x200;

/// `RTN_*` route types.
pub mod kind {
    pub const UNICAST: u8 = 1;
    pub const BLACKHOLE: u8 = 6;
    pub const UNREACHABLE: u8 = 7;
    pub const PROHIBIT: u8 = 8;
}

/// One route, as keeplite asks for it or as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Destination network (the unspecified address for a default route).
    pub dst: IpAddr,
    pub dst_len: u8,
    pub tos: u8,
    pub table: u32,
    /// `rtm_protocol`: who installed it.
    pub protocol: u8,
    pub scope: u8,
    /// `RTN_*` ([`kind`]).
    pub kind: u8,
    /// `rtm_flags` (`RTNH_F_ONLINK`, ...).
    pub flags: u32,
    /// `RTA_PRIORITY`; 0 when absent.
    pub metric: u32,
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Preferred source address.
    pub prefsrc: Option<IpAddr>,
}

impl Route {
    /// The kernel's identity of a route in a table: adding another with the same key
    /// and `NLM_F_EXCL` is `EEXIST`.
    pub fn key(&self) -> (bool, u32, IpAddr, u8, u8, u32) {
        (self.dst.is_ipv6(), self.table, self.dst, self.dst_len, self.tos, self.metric)
    }

    fn family(&self) -> u8 {
        if self.dst.is_ipv6() {
            AF_INET6
        } else {
            AF_INET
        }
    }

    /// The message body: `struct rtmsg` and its attributes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(80);
        // As iproute2 does: a table above 255 goes in RTA_TABLE only.
        let table = u8::try_from(self.table).unwrap_or(0);
        out.extend_from_slice(&[
            self.family(),
            self.dst_len,
            0,
            self.tos,
            table,
            self.protocol,
            self.scope,
            self.kind,
        ]);
        out.extend_from_slice(&self.flags.to_ne_bytes());
        if self.dst_len > 0 {
            attr(&mut out, RTA_DST, &ip_bytes(self.dst));
        }
        attr(&mut out, RTA_TABLE, &self.table.to_ne_bytes());
        if self.metric != 0 {
            attr(&mut out, RTA_PRIORITY, &self.metric.to_ne_bytes());
        }
        if let Some(gw) = self.gateway {
            attr(&mut out, RTA_GATEWAY, &ip_bytes(gw));
        }
        if let Some(oif) = self.oif {
            attr(&mut out, RTA_OIF, &oif.to_ne_bytes());
        }
        if let Some(src) = self.prefsrc {
            attr(&mut out, RTA_PREFSRC, &ip_bytes(src));
        }
        out
    }

    /// Decodes an `RTM_NEWROUTE` / `RTM_DELROUTE` payload; `None` when malformed or not
    /// IPv4/IPv6. Never panics.
    pub fn parse(payload: &[u8]) -> Option<Route> {
        let h = payload.get(..RTMSG_LEN)?;
        let v6 = match h[0] {
            AF_INET => false,
            AF_INET6 => true,
            _ => return None,
        };
        let dst_len = h[1];
        if dst_len > if v6 { 128 } else { 32 } {
            return None;
        }
        let mut route = Route {
            dst: if v6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() },
            dst_len,
            tos: h[3],
            table: u32::from(h[4]),
            protocol: h[5],
            scope: h[6],
            kind: h[7],
            flags: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
            metric: 0,
            gateway: None,
            oif: None,
            prefsrc: None,
        };
        for nla in NlasIterator::new(payload.get(RTMSG_LEN..)?) {
            let nla = nla.ok()?;
            let value = nla.value();
            match nla.kind() {
                RTA_DST => route.dst = ip_of(value, v6)?,
                RTA_GATEWAY => route.gateway = Some(ip_of(value, v6)?),
                RTA_PREFSRC => route.prefsrc = Some(ip_of(value, v6)?),
                RTA_OIF => route.oif = Some(u32_of(value)?),
                RTA_PRIORITY => route.metric = u32_of(value)?,
                RTA_TABLE => route.table = u32_of(value)?,
                _ => {}
            }
        }
        if route.dst_len == 0 {
            // Bits past the prefix mean nothing; the encoder leaves RTA_DST out.
            route.dst = if v6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
        }
        Some(route)
    }
}

/// Appends one attribute, padded to 4 bytes.
pub(super) fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = 4 + value.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - len % 4) % 4, 0);
}

pub(super) fn ip_bytes(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

pub(super) fn ip_of(v: &[u8], v6: bool) -> Option<IpAddr> {
    match (v6, v.len()) {
        (false, 4) => Some(Ipv4Addr::new(v[0], v[1], v[2], v[3]).into()),
        (true, 16) => <[u8; 16]>::try_from(v).ok().map(|b| Ipv6Addr::from(b).into()),
        _ => None,
    }
}

pub(super) fn u32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
}

/// Adds `route`; with `replace`, replaces the route of the same key (`ip route replace`),
/// else fails with `EEXIST` when there is one (`ip route add`).
pub fn add(sock: &mut Socket, route: &Route, replace: bool) -> Result<(), Cause> {
    let flags = NLM_F_ACK | NLM_F_CREATE | if replace { NLM_F_REPLACE } else { NLM_F_EXCL };
    sock.request(RTM_NEWROUTE, flags, &Raw(&route.encode()), |_| {})
}

/// Deletes `route`. The kernel matches every field given, the protocol included, so a
/// route of the same prefix that someone else installed is never the one deleted.
pub fn delete(sock: &mut Socket, route: &Route) -> Result<(), Cause> {
    sock.request(RTM_DELROUTE, NLM_F_ACK, &Raw(&route.encode()), |_| {})
}

/// Dumps the routes of one family (`v6`) into `out`, keeping those `keep` accepts: a
/// router's table may be a full BGP feed, and keeplite needs its own few.
pub fn dump(
    sock: &mut Socket,
    v6: bool,
    out: &mut Vec<Route>,
    keep: impl Fn(&Route) -> bool,
) -> Result<(), Cause> {
    let mut header = [0u8; RTMSG_LEN];
    header[0] = if v6 { AF_INET6 } else { AF_INET };
    sock.dump_into(RTM_GETROUTE, RTM_NEWROUTE, &header, out, |p| {
        Route::parse(p).filter(|r| r.flags & CLONED == 0 && keep(r))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Route {
        Route {
            dst: "198.51.100.0".parse().unwrap(),
            dst_len: 24,
            tos: 0,
            table: 254,
            protocol: 75,
            scope: 0,
            kind: kind::UNICAST,
            flags: 0,
            metric: 10,
            gateway: Some("192.0.2.1".parse().unwrap()),
            oif: Some(3),
            prefsrc: None,
        }
    }

    #[test]
    fn encodes_like_ip_route_add() {
        let bytes = sample().encode();
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[2, 24, 0, 0, 254, 75, 0, 1][..], &0u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &RTA_DST.to_ne_bytes(), &[198, 51, 100, 0],
            &8u16.to_ne_bytes(), &RTA_TABLE.to_ne_bytes(), &254u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &RTA_PRIORITY.to_ne_bytes(), &10u32.to_ne_bytes(),
            &8u16.to_ne_bytes(), &RTA_GATEWAY.to_ne_bytes(), &[192, 0, 2, 1],
            &8u16.to_ne_bytes(), &RTA_OIF.to_ne_bytes(), &3u32.to_ne_bytes(),
        ].concat();
        assert_eq!(bytes, expected);
        assert_eq!(Route::parse(&bytes), Some(sample()));
    }

    #[test]
    fn big_tables_default_routes_and_ipv6() {
        let r = Route {
            dst: Ipv6Addr::UNSPECIFIED.into(),
            dst_len: 0,
            table: 1000,
            kind: kind::BLACKHOLE,
            gateway: None,
            oif: None,
            prefsrc: Some("2001:db8::1".parse().unwrap()),
            metric: 1024,
            ..sample()
        };
        let bytes = r.encode();
        assert_eq!(bytes[4], 0, "a table above 255 is in RTA_TABLE only");
        assert_eq!(Route::parse(&bytes), Some(r));
        // netlink-packet-route reads the same message back.
        use netlink_packet_core::Parseable;
        use netlink_packet_route::route::{RouteAttribute, RouteMessage};
        let msg = RouteMessage::parse(&bytes[..]).unwrap();
        assert!(msg.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(msg.attributes.contains(&RouteAttribute::Priority(1024)));
    }

    #[test]
    fn refuses_inconsistent_entries() {
        let mut bytes = sample().encode();
        bytes[0] = AF_INET6; // 4-byte addresses under IPv6
        assert_eq!(Route::parse(&bytes), None);
        let mut bytes = sample().encode();
        bytes[1] = 33;
        assert_eq!(Route::parse(&bytes), None);
        assert_eq!(Route::parse(&[2, 24, 0]), None);
        assert_eq!(Route::parse(&[7; 12]), None);
    }
}
