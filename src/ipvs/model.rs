//! The kernel's view of IPVS objects, as keeplite writes them and reads them back: a
//! virtual service, a destination (real server), and their statistics.
//!
//! These are kernel values, not configuration: protocol numbers, scheduler names as the
//! kernel spells them, forwarding methods as connection flags. A dump may hold services an
//! operator added with `ipvsadm` using values keeplite never writes, so every field keeps
//! what the kernel said instead of failing on what keeplite does not use.

use crate::config::model::{Family, Forward, Protocol, TunnelCsum, TunnelType};
use std::fmt;
use std::net::IpAddr;

/// Longest scheduler name the kernel accepts (`IP_VS_SCHEDNAME_MAXLEN` less the NUL).
pub const SCHED_NAME_MAX: usize = 15;

/// A scheduler name as the kernel reports it (`rr`, `wlc`, ...).
pub type SchedName = heapless::String<SCHED_NAME_MAX>;

/// `IPPROTO_*` numbers of the protocols IPVS balances.
pub const IPPROTO_TCP: u16 = 6;
pub const IPPROTO_UDP: u16 = 17;
pub const IPPROTO_SCTP: u16 = 132;

/// The kernel's protocol number of a configured protocol.
pub fn protocol_number(protocol: Protocol) -> u16 {
    match protocol {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
        Protocol::Sctp => IPPROTO_SCTP,
    }
}

/// What identifies a kernel virtual service: (protocol, address, port) or (family, mark).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    Address { protocol: u16, addr: IpAddr, port: u16 },
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    /// Address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Address { addr, .. } => Family::of(*addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The port destinations of a DR or TUN service get: the service's (0 for fwmark).
    pub fn port(&self) -> u16 {
        match self {
            ServiceKey::Address { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// `tcp 198.51.100.1:80`, `tcp [2001:db8::1]:80`, `fwmark 7 (ipv6)`: like `ipvsadm -L`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Address { protocol, addr, port } => {
                match *protocol {
                    IPPROTO_TCP => f.write_str("tcp ")?,
                    IPPROTO_UDP => f.write_str("udp ")?,
                    IPPROTO_SCTP => f.write_str("sctp ")?,
                    other => write!(f, "proto {other} ")?,
                }
                write!(f, "{}", std::net::SocketAddr::new(*addr, *port))
            }
            ServiceKey::Fwmark { family: Family::Ipv4, mark } => write!(f, "fwmark {mark}"),
            ServiceKey::Fwmark { family: Family::Ipv6, mark } => write!(f, "fwmark {mark} (ipv6)"),
        }
    }
}

/// `IP_VS_SVC_F_PERSISTENT`: client affinity for `timeout` seconds.
pub const SVC_F_PERSISTENT: u32 = 0x0001;
/// `IP_VS_SVC_F_HASHED`: set by the kernel on every service it holds; never written.
pub const SVC_F_HASHED: u32 = 0x0002;
/// `IP_VS_SVC_F_ONEPACKET`: schedule each UDP datagram on its own.
pub const SVC_F_ONEPACKET: u32 = 0x0004;
/// The service flags keeplite sets; the kernel's own (hashed) and the scheduler flags an
/// operator may set by hand are left as they are.
pub const SVC_FLAGS_MANAGED: u32 = SVC_F_PERSISTENT | SVC_F_ONEPACKET;

/// A kernel virtual service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub key: ServiceKey,
    pub scheduler: SchedName,
    /// `IP_VS_SVC_F_*`.
    pub flags: u32,
    /// Persistence timeout in seconds (0 when not persistent).
    pub timeout: u32,
    /// Persistence granularity: the IPv4 mask as a number (255.255.255.0 is 0xffffff00),
    /// or the IPv6 prefix length.
    pub netmask: u32,
}

impl Service {
    /// The netmask the kernel uses when none is asked for: a single client address.
    pub fn full_netmask(family: Family) -> u32 {
        match family {
            Family::Ipv4 => u32::MAX,
            Family::Ipv6 => 128,
        }
    }

    /// True when writing `self` over `kernel` would change nothing keeplite manages.
    pub fn same_settings(&self, kernel: &Service) -> bool {
        self.scheduler == kernel.scheduler
            && self.flags & SVC_FLAGS_MANAGED == kernel.flags & SVC_FLAGS_MANAGED
            && self.timeout == kernel.timeout
            && self.netmask == kernel.netmask
    }
}

/// How a destination gets its packets (`IP_VS_CONN_F_*` forwarding methods).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// NAT: the director rewrites the destination address.
    Masquerade,
    /// The director itself serves (the kernel picks this for a local address).
    Local,
    Tunnel,
    DirectRoute,
    Bypass,
}

impl Method {
    /// The `IP_VS_CONN_F_FWD_MASK` bits of the method.
    pub fn bits(self) -> u32 {
        match self {
            Method::Masquerade => 0,
            Method::Local => 1,
            Method::Tunnel => 2,
            Method::DirectRoute => 3,
            Method::Bypass => 4,
        }
    }

    /// The method in a kernel's connection flags (only the low three bits count).
    pub fn from_bits(bits: u32) -> Option<Method> {
        Some(match bits & 0x7 {
            0 => Method::Masquerade,
            1 => Method::Local,
            2 => Method::Tunnel,
            3 => Method::DirectRoute,
            4 => Method::Bypass,
            _ => return None,
        })
    }

    /// The method of a configured forwarding mode.
    pub fn of(forward: Forward) -> Method {
        match forward {
            Forward::Nat => Method::Masquerade,
            Forward::Dr => Method::DirectRoute,
            Forward::Tun => Method::Tunnel,
        }
    }

    /// `ipvsadm -L`'s word for the method.
    pub fn name(self) -> &'static str {
        match self {
            Method::Masquerade => "Masq",
            Method::Local => "Local",
            Method::Tunnel => "Tunnel",
            Method::DirectRoute => "Route",
            Method::Bypass => "Bypass",
        }
    }
}

/// Tunnel encapsulation of a `Tunnel` destination, as the kernel's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunnelSpec {
    /// `IP_VS_CONN_F_TUNNEL_TYPE_*`: 0 ipip, 1 gue, 2 gre.
    pub kind: u8,
    /// UDP port of gue (0 otherwise).
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*`: 0 none, 1 csum, 2 remcsum.
    pub flags: u16,
}

impl TunnelSpec {
    /// The kernel's numbers for a configured tunnel.
    pub fn of(kind: TunnelType, port: Option<u16>, csum: TunnelCsum) -> TunnelSpec {
        let kind_number = match kind {
            TunnelType::Ipip => 0,
            TunnelType::Gue => 1,
            TunnelType::Gre => 2,
        };
        let flags = match csum {
            TunnelCsum::None => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::Remcsum => 2,
        };
        TunnelSpec { kind: kind_number, port: port.unwrap_or(0), flags }
    }
}

/// What identifies a destination within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", std::net::SocketAddr::new(self.addr, self.port))
    }
}

/// A kernel destination (real server) of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dest {
    pub key: DestKey,
    pub method: Method,
    pub weight: u32,
    /// Upper connection threshold (0: none).
    pub u_threshold: u32,
    /// Lower connection threshold (0: none).
    pub l_threshold: u32,
    /// Meaningful for `Tunnel` only; the kernel reports zeros for the others.
    pub tunnel: TunnelSpec,
}

impl Dest {
    /// True when writing `self` over `kernel` would change nothing.
    pub fn same_settings(&self, kernel: &Dest) -> bool {
        let tunnel_same = self.method != Method::Tunnel || self.tunnel == kernel.tunnel;
        self.method == kernel.method
            && self.weight == kernel.weight
            && self.u_threshold == kernel.u_threshold
            && self.l_threshold == kernel.l_threshold
            && tunnel_same
    }
}

/// Traffic counters of a service or destination (`IPVS_STATS_ATTR_*`, 64-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub conns: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Rates over the kernel's estimator window, per second.
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    pub in_bps: u64,
    pub out_bps: u64,
}

/// Connection counts of a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DestConns {
    pub active: u32,
    pub inactive: u32,
    pub persistent: u32,
}

/// A destination as a dump returns it: settings and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpedDest {
    pub dest: Dest,
    pub conns: DestConns,
    pub stats: Stats,
}

/// A service as a dump returns it, with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpedService {
    pub service: Service,
    pub stats: Stats,
    pub dests: Vec<DumpedDest>,
}

/// The connection synchronisation daemon's role (`IP_VS_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRole {
    Master,
    Backup,
}

impl SyncRole {
    /// The kernel's `IP_VS_STATE_*` value.
    pub fn bits(self) -> u32 {
        match self {
            SyncRole::Master => 1,
            SyncRole::Backup => 2,
        }
    }

    /// `master` or `backup`.
    pub fn name(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }
}
