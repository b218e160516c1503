//! The typed, validated configuration every other part of keeplite reads.
//!
//! Tables are boxed slices: sized once when the file is loaded (within `limits`), never
//! grown. Per-object lists are `heapless` vectors with their capacity from `limits`.
//! References between sections are indices into the tables.

use crate::limits;
use heapless::Vec as Fixed;
use std::net::IpAddr;
use std::time::Duration;

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub global: Global,
    pub vrrp: Box<[Vrrp]>,
    pub sync_groups: Box<[SyncGroup]>,
    pub scripts: Box<[Script]>,
    pub virtual_servers: Box<[VirtualServer]>,
    pub real_servers: Box<[RealServer]>,
    pub checks: Box<[Check]>,
    pub routes: Box<[Route]>,
    pub rules: Box<[Rule]>,
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// Names of [`LogLevel`] in the file.
pub const LOG_LEVELS: &[(&str, LogLevel)] = &[
    ("error", LogLevel::Error),
    ("warn", LogLevel::Warn),
    ("info", LogLevel::Info),
    ("debug", LogLevel::Debug),
];

/// The `global` section (at most one; all defaults when absent). Its name carries no
/// meaning, so it is not kept: the effective configuration prints it as `@global[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    pub router_id: String,
    pub alert_email: Fixed<String, { limits::ALERT_EMAILS }>,
    pub smtp_server: Option<(String, u16)>,
    pub smtp_from: String,
    pub smtp_helo_name: String,
    pub smtp_timeout: Duration,
    pub status_socket: String,
    pub pid_file: Option<String>,
    pub log_level: LogLevel,
    pub lvs_sync: Option<LvsSync>,
    /// Leave the declared IPVS services in the kernel at stop.
    pub lvs_keep_on_stop: bool,
    /// How often the IPVS table is read back and repaired if someone else changed it.
    pub lvs_reconcile_interval: Duration,
    pub script_user: Option<String>,
    /// VRRP starts this long after the daemon (keepalived's `vrrp_startup_delay`).
    pub startup_delay: Duration,
    /// The multicast group IPv4 adverts go to (keepalived's `vrrp_mcast_group4`).
    pub mcast_group4: std::net::Ipv4Addr,
    /// The multicast group IPv6 adverts go to (keepalived's `vrrp_mcast_group6`).
    pub mcast_group6: std::net::Ipv6Addr,
    /// Addresses held all the time keeplite runs (keepalived's `static_ipaddress`); each
    /// has a `dev`.
    pub static_addresses: Fixed<Vip, { limits::STATIC_ADDRESSES }>,
}

/// IPVS connection synchronisation daemon settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LvsSync {
    pub interface: String,
    /// Index into [`Config::vrrp`]: the daemon is master while that instance is.
    pub instance: usize,
    pub sync_id: u8,
}

/// VRRP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

/// Initial state hint of a VRRP instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialState {
    Master,
    Backup,
}

/// Names of [`InitialState`] in the file.
pub const INITIAL_STATES: &[(&str, InitialState)] =
    &[("master", InitialState::Master), ("backup", InitialState::Backup)];

/// An interface of the instance's own, made on its `interface`, that holds its VIPs and
/// sends its adverts (keepalived's `use_vmac` and `use_ipvlan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VirtualLink {
    /// `use_vmac`: a private macvlan with the RFC virtual MAC, the same on every router.
    Vmac,
    /// `use_ipvlan`: an L2 ipvlan, with the interface's own MAC (for LANs and hypervisors
    /// that allow one MAC per port), in `mode`, holding `address` (`ipvlan_address`, with its
    /// prefix length) while keeplite runs.
    Ipvlan { mode: IpvlanMode, address: Option<(IpAddr, u8)> },
}

pub use crate::net::link::IpvlanMode;

/// Names of [`IpvlanMode`] in the file (keepalived's words).
pub const IPVLAN_MODES: &[(&str, IpvlanMode)] =
    &[("bridge", IpvlanMode::Bridge), ("private", IpvlanMode::Private), ("vepa", IpvlanMode::Vepa)];

/// A virtual address with its prefix length and the options of keepalived's
/// `virtual_ipaddress` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: u8,
    pub opts: VipOptions,
}

impl Vip {
    /// A VIP without options.
    pub fn plain(addr: IpAddr, prefix: u8) -> Vip {
        Vip { addr, prefix, opts: VipOptions::default() }
    }
}

/// Per-address options (`ip address add` words). `None`/false: what keeplite does without.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VipOptions {
    /// Another interface than the instance's (`None`: the instance's, or its vmac).
    pub dev: Option<String>,
    /// IPv4 label (`eth1:1`): the device name, alone or followed by `:` and a suffix.
    pub label: Option<String>,
    /// `IFA_SCOPE` (`None`: global).
    pub scope: Option<u8>,
    /// IPv4 broadcast address.
    pub broadcast: Option<std::net::Ipv4Addr>,
    /// Point-to-point peer (the prefix length then applies to the peer).
    pub peer: Option<IpAddr>,
    /// The address's interface going down does not put the instance in FAULT.
    pub no_track: bool,
    /// No prefix route for the address (`IFA_F_NOPREFIXROUTE`).
    pub noprefixroute: bool,
}

/// Names of address and route scopes (`/etc/iproute2/rt_scopes`).
pub const SCOPES: &[(&str, u8)] =
    &[("global", 0), ("site", 200), ("link", 253), ("host", 254), ("nowhere", 255)];

impl std::fmt::Display for Vip {
    /// The `vip` list item: `addr/prefix` and the options in keepalived's order.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)?;
        let o = &self.opts;
        if let Some(d) = &o.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(b) = o.broadcast {
            write!(f, " brd {b}")?;
        }
        if let Some(s) = o.scope {
            match SCOPES.iter().find(|(_, v)| *v == s) {
                Some((name, _)) => write!(f, " scope {name}")?,
                None => write!(f, " scope {s}")?,
            }
        }
        if let Some(l) = &o.label {
            write!(f, " label {l}")?;
        }
        if let Some(p) = o.peer {
            write!(f, " peer {p}")?;
        }
        if o.noprefixroute {
            f.write_str(" noprefixroute")?;
        }
        if o.no_track {
            f.write_str(" no_track")?;
        }
        Ok(())
    }
}

/// A tracked interface; without a weight, its going down puts the instance in Fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInterface {
    pub name: String,
    pub weight: Option<i16>,
}

/// A tracked script, optionally overriding the script's own weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackScript {
    /// Index into [`Config::scripts`].
    pub script: usize,
    pub weight: Option<i16>,
}

/// A check a vrrp section tracks: a `check` section of type `file` (keepalived's
/// `track_file`) or `process` (its `vrrp_track_process`), optionally overriding its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackCheck {
    /// Index into [`Config::checks`]; validation makes sure it is of the list's type.
    pub check: usize,
    pub weight: Option<i16>,
}

/// Notify commands run on state changes (keepalived's notify family).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notify {
    pub any: Option<String>,
    pub master: Option<String>,
    pub backup: Option<String>,
    pub fault: Option<String>,
    pub stop: Option<String>,
    pub smtp_alert: bool,
}

/// One `vrrp` section: a virtual router on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vrrp {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub priority: u8,
    pub version: Version,
    pub advert_int: Duration,
    /// The first address sets the family the adverts use.
    pub vips: Fixed<Vip, { limits::VIPS_PER_INSTANCE }>,
    pub initial_state: InitialState,
    pub preempt: bool,
    pub preempt_delay: Duration,
    pub src_ip: Option<IpAddr>,
    pub unicast_peers: Fixed<IpAddr, { limits::UNICAST_PEERS }>,
    /// TTL / hop limit unicast adverts are sent with (255 unless they cross routers).
    pub unicast_ttl: u8,
    /// The TTL / hop limit range unicast adverts are accepted with; 255..=255 unless
    /// `min_ttl` / `max_ttl` widen it. Multicast adverts always need 255.
    pub min_ttl: u8,
    pub max_ttl: u8,
    /// Unicast adverts from an address not in `unicast_peers` are dropped (default on).
    pub check_unicast_src: bool,
    /// This instance's multicast group, when not the global one (`mcast_dst_ip`).
    pub mcast_dst_ip: Option<IpAddr>,
    /// Notify scripts run again when the effective priority changes.
    pub notify_priority_changes: bool,
    pub track_interfaces: Fixed<TrackInterface, { limits::TRACK_INTERFACES }>,
    pub track_scripts: Fixed<TrackScript, { limits::TRACK_SCRIPTS }>,
    pub track_files: Fixed<TrackCheck, { limits::TRACK_FILES }>,
    pub track_processes: Fixed<TrackCheck, { limits::TRACK_PROCESSES }>,
    /// `track_bfd`: bfd checks (keepalived's `track_bfd`).
    pub track_bfds: Fixed<TrackCheck, { limits::TRACK_BFDS }>,
    pub auth_pass: Option<String>,
    /// keepalived's `auth_hmac`: adverts signed and checked with HMAC-SHA256.
    pub auth_hmac: Option<AuthHmac>,
    pub accept: bool,
    /// Discard adverts whose address list differs from `vips` (RFC 9568 section 7.1's
    /// optional check); off, they count for the election.
    pub strict_mode: bool,
    /// A master that hears a lower-priority advert does not answer it with one of its own
    /// (keepalived's `lower_prio_no_advert`).
    pub lower_prio_no_advert: bool,
    pub garp_repeat: u32,
    /// Rounds of gratuitous ARP / unsolicited NA a master sends when it hears a
    /// lower-priority advert (keepalived's `garp_lower_prio_repeat`); 0: none.
    pub garp_lower_prio_repeat: u32,
    pub garp_interval: Duration,
    pub garp_delay: Duration,
    pub garp_refresh: Duration,
    /// `use_vmac` or `use_ipvlan`: the VIPs on an interface of the instance's own.
    pub virtual_link: Option<VirtualLink>,
    /// keepalived's `promote_secondaries`: `net.ipv4.conf.IF.promote_secondaries` on for the
    /// interface, so removing a VIP that is the primary address of its subnet keeps the
    /// others of that subnet.
    pub promote_secondaries: bool,
    /// How long the interface must be up again before the instance leaves FAULT, and
    /// down before it enters FAULT (keepalived's `interface_up_down_delays`).
    pub up_delay: Duration,
    pub down_delay: Duration,
    pub notify: Notify,
}

impl Vrrp {
    /// True when adverts go over IPv6 (the first VIP is IPv6).
    pub fn is_ipv6(&self) -> bool {
        self.vips.first().is_some_and(|v| v.addr.is_ipv6())
    }

    /// The multicast group this instance's adverts go to: its own `mcast_dst_ip`, or the
    /// global group of its family.
    pub fn mcast_group(&self, global: &Global) -> IpAddr {
        match (self.mcast_dst_ip, self.is_ipv6()) {
            (Some(group), _) => group,
            (None, false) => IpAddr::V4(global.mcast_group4),
            (None, true) => IpAddr::V6(global.mcast_group6),
        }
    }
}

/// keepalived's `auth_hmac` extension: a trailer with an HMAC-SHA256 (truncated to 16
/// bytes) and a time-based sequence number after each advert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHmac {
    /// Every key a received advert may name; at least one.
    pub keys: Fixed<HmacKey, { limits::HMAC_KEYS }>,
    /// The id of the key adverts are signed with (one of `keys`).
    pub active_key: u8,
    pub mode: HmacMode,
    pub anti_replay: AntiReplay,
    /// How far a sender's clock may be from ours (`anti_replay` time), seconds.
    pub window: u32,
}

/// One `auth_hmac_key`: an id and the key it names.
#[derive(Clone, PartialEq, Eq)]
pub struct HmacKey {
    pub id: u8,
    /// The value as written (`hex:...`, `file:PATH` or the text), printed back.
    pub written: String,
    pub secret: Secret,
}

/// Key bytes; never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub heapless::Vec<u8, { HMAC_KEY_MAX }>);

impl std::fmt::Debug for HmacKey {
    /// The id, and the file a key comes from; an inline key is not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let from = if self.written.starts_with("file:") { self.written.as_str() } else { "inline" };
        write!(f, "HmacKey({}, {from}, {:?})", self.id, self.secret)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// Shortest HMAC key: 32 bytes keep a 128-bit margin (keepalived's floor).
pub const HMAC_KEY_MIN: usize = 32;
/// Longest HMAC key: one SHA-256 block.
pub const HMAC_KEY_MAX: usize = 64;

/// What an instance with `auth_hmac` does with signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HmacMode {
    /// Signs its adverts and discards any advert without a valid trailer.
    Enforce,
    /// Signs, checks signed adverts and still takes unsigned ones (a migration).
    Permissive,
    /// Checks signed adverts and takes unsigned ones, signs nothing (the first step of
    /// a migration).
    ReceiveOnly,
}

/// Names of [`HmacMode`] in the file.
pub const HMAC_MODES: &[(&str, HmacMode)] = &[
    ("enforce", HmacMode::Enforce),
    ("permissive", HmacMode::Permissive),
    ("receive-only", HmacMode::ReceiveOnly),
];

/// How a receiver tells a fresh advert from a replayed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AntiReplay {
    /// The sender's clock within `window` of ours, and each sender's sequence growing.
    Time,
    /// Each sender's sequence growing; no clock needed.
    Monotonic,
}

/// Names of [`AntiReplay`] in the file.
pub const ANTI_REPLAYS: &[(&str, AntiReplay)] =
    &[("time", AntiReplay::Time), ("monotonic", AntiReplay::Monotonic)];

/// One `sync_group` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroup {
    pub name: String,
    /// Indices into [`Config::vrrp`].
    pub members: Fixed<usize, { limits::SYNC_GROUP_MEMBERS }>,
    pub notify: Notify,
}

/// One `script` section, tracked by VRRP instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub name: String,
    pub command: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub weight: i16,
    pub rise: u32,
    pub fall: u32,
    pub user: Option<String>,
}

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// Names of [`Family`] in the file.
pub const FAMILIES: &[(&str, Family)] = &[("ipv4", Family::Ipv4), ("ipv6", Family::Ipv6)];

impl Family {
    /// The family of an address.
    pub fn of(addr: IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }
}

/// Transport protocol of an address service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// Names of [`Protocol`] in the file.
pub const PROTOCOLS: &[(&str, Protocol)] =
    &[("tcp", Protocol::Tcp), ("udp", Protocol::Udp), ("sctp", Protocol::Sctp)];

/// A range of ports, `first..=last` (one port when equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    /// Number of ports in the range (at least one).
    pub fn count(&self) -> usize {
        usize::from(self.last - self.first) + 1
    }

    /// The ports of the range.
    pub fn ports(&self) -> impl Iterator<Item = u16> {
        self.first..=self.last
    }
}

/// What a virtual server matches: address and ports, or a firewall mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceKey {
    Address {
        addr: IpAddr,
        ports: Fixed<PortRange, { limits::PORTS_PER_VIRTUAL_SERVER }>,
        protocol: Protocol,
    },
    Fwmark {
        mark: u32,
        family: Family,
    },
}

impl ServiceKey {
    /// Address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Address { addr, .. } => Family::of(*addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// Whether the service takes every port (port 0, the kernel's catch-all; persistent
    /// only).
    pub fn every_port(&self) -> bool {
        matches!(self, ServiceKey::Address { ports, .. } if ports.first().is_some_and(|p| p.first == 0))
    }

    /// Whether a probe of its real servers has a port from the service: not for a fwmark
    /// or an every-port service.
    pub fn gives_a_port(&self) -> bool {
        matches!(self, ServiceKey::Address { .. }) && !self.every_port()
    }

    /// Number of kernel services this key expands to (one per port, or one fwmark).
    pub fn service_count(&self) -> usize {
        match self {
            ServiceKey::Address { ports, .. } => ports.iter().map(PortRange::count).sum(),
            ServiceKey::Fwmark { .. } => 1,
        }
    }
}

/// IPVS kernel schedulers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Mh,
    Fo,
    Ovf,
    Twos,
}

/// Names of [`Scheduler`] in the file (the kernel module suffixes).
pub const SCHEDULERS: &[(&str, Scheduler)] = &[
    ("rr", Scheduler::Rr),
    ("wrr", Scheduler::Wrr),
    ("lc", Scheduler::Lc),
    ("wlc", Scheduler::Wlc),
    ("lblc", Scheduler::Lblc),
    ("lblcr", Scheduler::Lblcr),
    ("dh", Scheduler::Dh),
    ("sh", Scheduler::Sh),
    ("sed", Scheduler::Sed),
    ("nq", Scheduler::Nq),
    ("mh", Scheduler::Mh),
    ("fo", Scheduler::Fo),
    ("ovf", Scheduler::Ovf),
    ("twos", Scheduler::Twos),
];

/// IPVS forwarding method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    Nat,
    Dr,
    Tun,
}

/// Names of [`Forward`] in the file.
pub const FORWARDS: &[(&str, Forward)] = &[("nat", Forward::Nat), ("dr", Forward::Dr), ("tun", Forward::Tun)];

/// Tunnel encapsulation for `tun` forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

/// Names of [`TunnelType`] in the file.
pub const TUNNEL_TYPES: &[(&str, TunnelType)] =
    &[("ipip", TunnelType::Ipip), ("gue", TunnelType::Gue), ("gre", TunnelType::Gre)];

/// Tunnel checksum mode (gue, gre).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelCsum {
    None,
    Csum,
    Remcsum,
}

/// Names of [`TunnelCsum`] in the file.
pub const TUNNEL_CSUMS: &[(&str, TunnelCsum)] =
    &[("none", TunnelCsum::None), ("csum", TunnelCsum::Csum), ("remcsum", TunnelCsum::Remcsum)];

/// Tunnel settings; meaningful when a destination uses `tun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel {
    pub kind: TunnelType,
    /// UDP port, for gue only.
    pub port: Option<u16>,
    pub csum: TunnelCsum,
}

impl Default for Tunnel {
    /// keepalived's default: plain IP-in-IP.
    fn default() -> Self {
        Tunnel { kind: TunnelType::Ipip, port: None, csum: TunnelCsum::None }
    }
}

/// Client affinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persistence {
    pub timeout: Duration,
    pub netmask: Option<u8>,
}

/// One `virtual_server` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    pub name: String,
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    pub forward: Forward,
    pub tunnel: Tunnel,
    pub persistence: Option<Persistence>,
    pub sorry_server: Option<(IpAddr, Option<u16>)>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<String>,
    pub quorum_down: Option<String>,
    pub inhibit_on_failure: bool,
    pub delay_loop: Duration,
    pub alpha: bool,
    /// At stop, `quorum_down` runs if the quorum was up, and `notify_down` of each real
    /// server that was up (keepalived's `omega`).
    pub omega: bool,
    pub ops: bool,
    pub host: Option<String>,
    /// Mail an alert when one of its real servers goes up or down.
    pub smtp_alert: bool,
}

/// One `real_server` section: a backend of one or more virtual servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServer {
    pub name: String,
    /// Indices into [`Config::virtual_servers`].
    pub virtual_servers: Fixed<usize, { limits::VIRTUAL_SERVERS_PER_REAL_SERVER }>,
    pub address: IpAddr,
    /// `None`: the virtual server's port (each port of a multi-port service).
    pub port: Option<u16>,
    pub weight: u32,
    /// `None`: the virtual server's.
    pub forward: Option<Forward>,
    pub uthreshold: Option<u32>,
    pub lthreshold: Option<u32>,
    /// Indices into [`Config::checks`].
    pub checks: Fixed<usize, { limits::CHECKS_PER_REAL_SERVER }>,
    pub notify_up: Option<String>,
    pub notify_down: Option<String>,
    /// `None`: the virtual server's.
    pub inhibit_on_failure: Option<bool>,
}

/// An inclusive range of HTTP status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

/// Settings of an HTTP or HTTPS check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCheck {
    pub path: String,
    pub expect_status: Fixed<StatusRange, { limits::STATUS_RANGES }>,
    pub digest: Option<[u8; 16]>,
    /// `None`: the virtual server's `host`, else the target address.
    pub host: Option<String>,
}

/// TLS settings of an HTTPS check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsCheck {
    pub sni: Option<String>,
    pub verify: bool,
    pub ca_file: Option<String>,
}

/// Bytes a reply must start with (at most `limits::UDP_PAYLOAD`); a nibble whose mask is
/// 0 matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub bytes: Box<[u8]>,
    /// Per byte: the bits compared (`0xff` unless the hex form had `x` nibbles).
    pub mask: Box<[u8]>,
}

/// Settings of a UDP check (keepalived's UDP_CHECK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpCheck {
    /// At most `limits::UDP_PAYLOAD` bytes.
    pub payload: Box<[u8]>,
    /// Pass only on a reply; without, pass unless an ICMP error comes back.
    pub require_reply: bool,
    /// What the reply must start with.
    pub expect: Option<Pattern>,
}

/// DNS query types a `dns` check can ask for (keepalived's DNS_CHECK list, with PTR and SRV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsType {
    A,
    Ns,
    Cname,
    Soa,
    Ptr,
    Mx,
    Txt,
    Aaaa,
    Srv,
}

impl DnsType {
    /// The RR type number (RFC 1035 3.2.2, RFC 3596, RFC 2782).
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Ptr => 12,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Srv => 33,
        }
    }
}

/// Names of [`DnsType`] in the file (upper case, as keepalived and zone files write them).
pub const DNS_TYPES: &[(&str, DnsType)] = &[
    ("A", DnsType::A),
    ("NS", DnsType::Ns),
    ("CNAME", DnsType::Cname),
    ("SOA", DnsType::Soa),
    ("PTR", DnsType::Ptr),
    ("MX", DnsType::Mx),
    ("TXT", DnsType::Txt),
    ("AAAA", DnsType::Aaaa),
    ("SRV", DnsType::Srv),
];

/// Settings of a DNS check (keepalived's DNS_CHECK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsCheck {
    /// The name asked for, without the trailing dot (`""`: the root).
    pub name: String,
    pub qtype: DnsType,
    /// An answer record of the asked type must hold this (see `check::dns`).
    pub expect: Option<String>,
}

/// Settings of a file check (keepalived's FILE_CHECK and its `track_file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    pub path: String,
    /// 0: any non-zero value is down; else the value times this shifts the weight.
    pub weight: i32,
    /// Turns the value's sign (weight 0: zero is down, non-zero up).
    pub reverse: bool,
}

/// How a process check compares a process's arguments (keepalived's `param_match`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamMatch {
    /// The same arguments, no more.
    Exact,
    /// The first arguments are these; more may follow.
    Partial,
    /// As `Partial`, and the last one given need only begin the process's.
    Initial,
}

/// Names of [`ParamMatch`] in the file.
pub const PARAM_MATCHES: &[(&str, ParamMatch)] =
    &[("exact", ParamMatch::Exact), ("partial", ParamMatch::Partial), ("initial", ParamMatch::Initial)];

/// Settings of a bfd check (keepalived's `bfd_instance`): a BFD session with the check's
/// `connect_ip` (the neighbour), from its `bind_ip` when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdCheck {
    /// The intervals and multiplier the session offers, and its role.
    pub timing: crate::bfd::session::Timing,
    /// TTL / hop limit of the packets sent.
    pub ttl: u8,
    /// How far below `ttl` a received packet's may be: 0, single-hop's 255 only (RFC
    /// 5881's GTSM); 255, any.
    pub max_hops: u8,
    /// RFC 5883 multihop: port 4784 instead of 3784.
    pub multihop: bool,
    /// What tracking instances gain while up (> 0) or lose while down (< 0); 0: FAULT
    /// while down.
    pub weight: i16,
    /// Up and down the other way round.
    pub reverse: bool,
}

/// Settings of a process check (keepalived's `vrrp_track_process`): how many running
/// processes match, against a quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessCheck {
    /// The process name (the kernel's `comm`, at most 15 bytes), or with `full_command`
    /// the first word of its command line.
    pub process: String,
    /// Arguments to match, and how; `None`: any arguments.
    pub args: Option<(Box<[String]>, ParamMatch)>,
    pub full_command: bool,
    /// Up while at least `quorum` and at most `quorum_max` processes match.
    pub quorum: u32,
    pub quorum_max: u32,
    /// How long a gained quorum must last before it counts (a fork then exec), and a lost
    /// one (a restart), for vrrp tracking.
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
    /// What tracking instances gain while up (> 0) or lose while down (< 0); 0: FAULT
    /// while down.
    pub weight: i16,
    /// Up and down the other way round.
    pub reverse: bool,
}

/// What a check does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    Tcp,
    Http(HttpCheck),
    Https(HttpCheck, TlsCheck),
    Smtp { helo_name: String },
    Script { command: String, dynamic: bool, user: Option<String> },
    Udp(UdpCheck),
    Dns(DnsCheck),
    Ping,
    File(FileCheck),
    Process(ProcessCheck),
    Bfd(BfdCheck),
}

impl CheckKind {
    /// The `type` word of this kind.
    pub fn type_name(&self) -> &'static str {
        match self {
            CheckKind::Tcp => "tcp",
            CheckKind::Http(_) => "http",
            CheckKind::Https(..) => "https",
            CheckKind::Smtp { .. } => "smtp",
            CheckKind::Script { .. } => "script",
            CheckKind::Udp(_) => "udp",
            CheckKind::Dns(_) => "dns",
            CheckKind::Ping => "ping",
            CheckKind::File(_) => "file",
            CheckKind::Process(_) => "process",
            CheckKind::Bfd(_) => "bfd",
        }
    }

    /// True for the kinds that look at this machine rather than a target (a file, the
    /// processes): one probe serves every real server that names the check.
    pub fn is_local(&self) -> bool {
        matches!(self, CheckKind::File(_) | CheckKind::Process(_))
    }

    /// True when a probe goes to a port (a script and the local kinds have no target, a
    /// ping only an address).
    pub fn has_port(&self) -> bool {
        !matches!(self, CheckKind::Script { .. } | CheckKind::Ping | CheckKind::Bfd(_)) && !self.is_local()
    }
}

/// One `check` section: a template applied to every real server that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub kind: CheckKind,
    pub connect_ip: Option<IpAddr>,
    pub connect_port: Option<u16>,
    pub bind_ip: Option<IpAddr>,
    /// `None`: the virtual server's `delay_loop`.
    pub interval: Option<Duration>,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub retry_delay: Duration,
}

/// Kind of a route (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    Unicast,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// Names of [`RouteType`] in the file (`ip route`'s words).
pub const ROUTE_TYPES: &[(&str, RouteType)] = &[
    ("unicast", RouteType::Unicast),
    ("blackhole", RouteType::Blackhole),
    ("unreachable", RouteType::Unreachable),
    ("prohibit", RouteType::Prohibit),
];

/// Routing table names `ip` knows without `/etc/iproute2/rt_tables`.
pub const TABLES: &[(&str, u32)] = &[("main", 254), ("local", 255), ("default", 253)];

/// One `route` section (keepalived's `virtual_routes` and `static_routes` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub name: String,
    /// Index into [`Config::vrrp`]: held while that instance is MASTER; `None`: always.
    pub instance: Option<usize>,
    pub destination: (IpAddr, u8),
    pub gateway: Option<IpAddr>,
    pub dev: Option<String>,
    pub src: Option<IpAddr>,
    pub table: u32,
    /// `None`: the kernel's default (0 for IPv4, 1024 for IPv6).
    pub metric: Option<u32>,
    pub kind: RouteType,
    /// `rtm_protocol`; `None`: keeplite's own (`routing::PROTOCOL`), which marks ownership.
    pub protocol: Option<u8>,
    pub scope: Option<u8>,
    pub onlink: bool,
}

/// One `rule` section (keepalived's `virtual_rules` and `static_rules` lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    /// Index into [`Config::vrrp`]: held while that instance is MASTER; `None`: always.
    pub instance: Option<usize>,
    pub family: Family,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// Mark and mask (`None`: all bits).
    pub fwmark: Option<(u32, Option<u32>)>,
    pub table: u32,
    /// `None`: the kernel picks one (just above the lowest rule's).
    pub priority: Option<u32>,
}
