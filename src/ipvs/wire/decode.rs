//! Reading IPVS replies: untrusted bytes in, values or an error naming what was wrong out.

use super::*;
use crate::ipvs::model::{
    Dest, DestConns, DestKey, DumpedDest, Method, SchedName, Service, ServiceKey, Stats, SyncRole, TunnelSpec,
};
use crate::net::error::Cause;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The attributes of a netlink attribute stream: `(type, value)`, flags masked off. After
/// a broken length it yields one error and stops.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

/// Iterates over the attributes in `bytes`.
pub fn attrs(bytes: &[u8]) -> Attrs<'_> {
    Attrs { rest: bytes }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8]), Cause>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let len = match self.rest.get(..NLA_HEADER) {
            Some(h) => usize::from(u16::from_ne_bytes([h[0], h[1]])),
            None => 0,
        };
        // A length below the header or past the end cannot be framed, nor anything after it.
        let (Some(header), Some(value)) = (self.rest.get(..NLA_HEADER), self.rest.get(NLA_HEADER..len))
        else {
            self.rest = &[];
            return Some(Err(Cause::Malformed("bad attribute length")));
        };
        let kind = u16::from_ne_bytes([header[2], header[3]]) & NLA_TYPE_MASK;
        self.rest = self.rest.get(len.next_multiple_of(4)..).unwrap_or(&[]);
        Some(Ok((kind, value)))
    }
}

/// The generic netlink command and attribute bytes of a reply's payload.
pub fn genl_body(payload: &[u8]) -> Result<(u8, &[u8]), Cause> {
    match payload.get(GENL_HEADER..) {
        Some(body) => Ok((payload[0], body)),
        None => Err(Cause::Malformed("short generic netlink header")),
    }
}

fn fixed<const N: usize>(value: &[u8], what: &'static str) -> Result<[u8; N], Cause> {
    value.try_into().map_err(|_| Cause::Malformed(what))
}

fn get_u16(value: &[u8], what: &'static str) -> Result<u16, Cause> {
    fixed(value, what).map(u16::from_ne_bytes)
}

fn get_u32(value: &[u8], what: &'static str) -> Result<u32, Cause> {
    fixed(value, what).map(u32::from_ne_bytes)
}

fn get_port(value: &[u8], what: &'static str) -> Result<u16, Cause> {
    fixed(value, what).map(u16::from_be_bytes)
}

/// A 32- or 64-bit counter: the old stats nest has 32-bit packet counts.
fn get_counter(value: &[u8], what: &'static str) -> Result<u64, Cause> {
    match value.len() {
        4 => get_u32(value, what).map(u64::from),
        _ => fixed(value, what).map(u64::from_ne_bytes),
    }
}

fn get_family(value: &[u8]) -> Result<Family, Cause> {
    match get_u16(value, "address family size")? {
        AF_INET => Ok(Family::Ipv4),
        AF_INET6 => Ok(Family::Ipv6),
        _ => Err(Cause::Malformed("unknown address family")),
    }
}

fn get_addr(value: &[u8], family: Family) -> Result<IpAddr, Cause> {
    // The kernel sends the 16-byte union; accept an exact-size IPv4 address as well.
    match (family, value.len()) {
        (Family::Ipv4, 4 | 16) => Ok(IpAddr::V4(Ipv4Addr::new(value[0], value[1], value[2], value[3]))),
        (Family::Ipv6, 16) => Ok(IpAddr::V6(Ipv6Addr::from(fixed::<16>(value, "address size")?))),
        _ => Err(Cause::Malformed("address size")),
    }
}

/// The family id in the controller's answer to [`Batch::resolve_family`].
pub fn parse_family_id(payload: &[u8]) -> Result<u16, Cause> {
    let (_, body) = genl_body(payload)?;
    for attr in attrs(body) {
        let (kind, value) = attr?;
        if kind == CTRL_ATTR_FAMILY_ID {
            return get_u16(value, "family id size");
        }
    }
    Err(Cause::Malformed("no family id"))
}

/// IPVS version and connection table size (`GET_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// `0x010201` is 1.2.1.
    pub version: u32,
    pub conn_table_size: u32,
}

/// The answer to `GET_INFO`.
pub fn parse_info(payload: &[u8]) -> Result<Info, Cause> {
    let (_, body) = genl_body(payload)?;
    let (mut version, mut size) = (None, None);
    for attr in attrs(body) {
        match attr? {
            (info::VERSION, v) => version = Some(get_u32(v, "version size")?),
            (info::CONN_TAB_SIZE, v) => size = Some(get_u32(v, "table size size")?),
            _ => {}
        }
    }
    match (version, size) {
        (Some(version), Some(conn_table_size)) => Ok(Info { version, conn_table_size }),
        _ => Err(Cause::Malformed("info without version or table size")),
    }
}

/// The nested attribute `kind` at the top level of a reply.
fn top_nest<'a>(payload: &'a [u8], kind: u16, what: &'static str) -> Result<&'a [u8], Cause> {
    let (_, body) = genl_body(payload)?;
    for attr in attrs(body) {
        let (k, value) = attr?;
        if k == kind {
            return Ok(value);
        }
    }
    Err(Cause::Malformed(what))
}

fn parse_stats(nest: &[u8]) -> Result<Stats, Cause> {
    let mut s = Stats::default();
    for attr in attrs(nest) {
        let (kind, v) = attr?;
        let slot = match kind {
            1 => &mut s.conns,
            2 => &mut s.in_packets,
            3 => &mut s.out_packets,
            4 => &mut s.in_bytes,
            5 => &mut s.out_bytes,
            6 => &mut s.cps,
            7 => &mut s.in_pps,
            8 => &mut s.out_pps,
            9 => &mut s.in_bps,
            10 => &mut s.out_bps,
            _ => continue, // IPVS_STATS_ATTR_PAD and anything newer
        };
        *slot = get_counter(v, "counter size")?;
    }
    Ok(s)
}

/// A service of a `GET_SERVICE` dump, with its counters.
pub fn parse_service(payload: &[u8]) -> Result<(Service, Stats), Cause> {
    let nest = top_nest(payload, top::SERVICE, "no service attribute")?;
    let mut family = None;
    let (mut protocol, mut addr, mut port, mut mark) = (None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask) = (None, None, None, None);
    let (mut stats, mut stats64) = (None, None);
    for attr in attrs(nest) {
        let (kind, v) = attr?;
        match kind {
            svc::AF => family = Some(get_family(v)?),
            svc::PROTOCOL => protocol = Some(get_u16(v, "protocol size")?),
            svc::ADDR => addr = Some(v),
            svc::PORT => port = Some(get_port(v, "port size")?),
            svc::FWMARK => mark = Some(get_u32(v, "fwmark size")?),
            svc::SCHED_NAME => sched = Some(parse_name(v)?),
            svc::FLAGS => flags = Some(get_u32(v.get(..4).unwrap_or(&[]), "flags size")?),
            svc::TIMEOUT => timeout = Some(get_u32(v, "timeout size")?),
            svc::NETMASK => netmask = Some(fixed::<4>(v, "netmask size")?),
            svc::STATS => stats = Some(v),
            svc::STATS64 => stats64 = Some(v),
            _ => {}
        }
    }
    let family = family.ok_or(Cause::Malformed("service without address family"))?;
    let key = match (mark, protocol, addr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
        (_, Some(protocol), Some(addr), Some(port)) => {
            ServiceKey::Address { protocol, addr: get_addr(addr, family)?, port }
        }
        _ => return Err(Cause::Malformed("service without address or fwmark")),
    };
    let netmask = netmask.ok_or(Cause::Malformed("service without netmask"))?;
    let service = Service {
        key,
        scheduler: sched.ok_or(Cause::Malformed("service without scheduler"))?,
        flags: flags.ok_or(Cause::Malformed("service without flags"))?,
        timeout: timeout.ok_or(Cause::Malformed("service without timeout"))?,
        netmask: match family {
            Family::Ipv4 => u32::from_be_bytes(netmask),
            Family::Ipv6 => u32::from_ne_bytes(netmask),
        },
    };
    let stats = match stats64.or(stats) {
        Some(nest) => parse_stats(nest)?,
        None => Stats::default(),
    };
    Ok((service, stats))
}

fn parse_name(value: &[u8]) -> Result<SchedName, Cause> {
    let name = value.split(|b| *b == 0).next().unwrap_or(&[]);
    let name = std::str::from_utf8(name).map_err(|_| Cause::Malformed("scheduler name not UTF-8"))?;
    SchedName::try_from(name).map_err(|_| Cause::Malformed("scheduler name too long"))
}

/// A destination of a `GET_DEST` dump of a service of `family`.
pub fn parse_dest(payload: &[u8], family: Family) -> Result<DumpedDest, Cause> {
    let nest = top_nest(payload, top::DEST, "no destination attribute")?;
    let (mut addr, mut port, mut method, mut weight) = (None, None, None, None);
    let (mut upper, mut lower) = (0, 0);
    let mut conns = DestConns::default();
    let mut tunnel = TunnelSpec::default();
    let mut own_family = family;
    let (mut stats, mut stats64) = (None, None);
    for attr in attrs(nest) {
        let (kind, v) = attr?;
        match kind {
            dest::ADDR => addr = Some(v),
            dest::PORT => port = Some(get_port(v, "port size")?),
            dest::FWD_METHOD => {
                let bits = get_u32(v, "forwarding method size")?;
                method = Some(Method::from_bits(bits).ok_or(Cause::Malformed("unknown forwarding method"))?);
            }
            dest::WEIGHT => weight = Some(get_u32(v, "weight size")?),
            dest::U_THRESH => upper = get_u32(v, "threshold size")?,
            dest::L_THRESH => lower = get_u32(v, "threshold size")?,
            dest::ACTIVE_CONNS => conns.active = get_u32(v, "connection count size")?,
            dest::INACT_CONNS => conns.inactive = get_u32(v, "connection count size")?,
            dest::PERSIST_CONNS => conns.persistent = get_u32(v, "connection count size")?,
            dest::ADDR_FAMILY => own_family = get_family(v)?,
            dest::STATS => stats = Some(v),
            dest::STATS64 => stats64 = Some(v),
            dest::TUN_TYPE => tunnel.kind = fixed::<1>(v, "tunnel type size")?[0],
            dest::TUN_PORT => tunnel.port = get_port(v, "tunnel port size")?,
            dest::TUN_FLAGS => tunnel.flags = get_u16(v, "tunnel flags size")?,
            _ => {}
        }
    }
    let (Some(addr), Some(port)) = (addr, port) else {
        return Err(Cause::Malformed("destination without address or port"));
    };
    let dest = Dest {
        key: DestKey { addr: get_addr(addr, own_family)?, port },
        method: method.ok_or(Cause::Malformed("destination without forwarding method"))?,
        weight: weight.ok_or(Cause::Malformed("destination without weight"))?,
        u_threshold: upper,
        l_threshold: lower,
        tunnel,
    };
    let stats = match stats64.or(stats) {
        Some(nest) => parse_stats(nest)?,
        None => Stats::default(),
    };
    Ok(DumpedDest { dest, conns, stats })
}

/// A running sync daemon of a `GET_DAEMON` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemon {
    pub role: SyncRole,
    pub interface: heapless::String<15>,
    pub sync_id: u32,
}

/// One entry of a `GET_DAEMON` dump.
pub fn parse_daemon(payload: &[u8]) -> Result<SyncDaemon, Cause> {
    let nest = top_nest(payload, top::DAEMON, "no daemon attribute")?;
    let (mut role, mut interface, mut sync_id) = (None, None, None);
    for attr in attrs(nest) {
        match attr? {
            (daemon::STATE, v) => {
                role = Some(match get_u32(v, "daemon state size")? {
                    1 => SyncRole::Master,
                    2 => SyncRole::Backup,
                    _ => return Err(Cause::Malformed("unknown sync daemon state")),
                })
            }
            (daemon::MCAST_IFN, v) => {
                let name = v.split(|b| *b == 0).next().unwrap_or(&[]);
                let name = std::str::from_utf8(name).map_err(|_| Cause::Malformed("interface name"))?;
                interface =
                    Some(heapless::String::try_from(name).map_err(|_| Cause::Malformed("interface name"))?);
            }
            (daemon::SYNC_ID, v) => sync_id = Some(get_u32(v, "sync id size")?),
            _ => {}
        }
    }
    match (role, interface, sync_id) {
        (Some(role), Some(interface), Some(sync_id)) => Ok(SyncDaemon { role, interface, sync_id }),
        _ => Err(Cause::Malformed("incomplete sync daemon")),
    }
}
