//! What the kernel should hold, computed from the configuration and the current health of
//! the real servers: one kernel service per port (or fwmark) of each virtual server, with
//! its destinations. Pure: the daemon feeds it health and quorum state, and hands the
//! result to `reconcile`.

use super::model::{protocol_number, Dest, DestKey, Method, SchedName, Service, ServiceKey, TunnelSpec};
use super::model::{SVC_F_ONEPACKET, SVC_F_PERSISTENT};
use super::quorum::{self, Quorum, QuorumChange};
use crate::config::model::{self as config, Config, Family, RealServer, VirtualServer, SCHEDULERS};
use crate::config::value::keyword_name;
use std::collections::HashSet;
use std::net::IpAddr;

/// Health of one real server, as its checks last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealServerHealth {
    /// False when the real server failed its checks.
    pub up: bool,
    /// A dynamic weight from a check script, overriding the configured weight.
    pub weight: Option<u32>,
    /// Added to the weight (dynamic or configured) by file checks; 0 without.
    pub shift: i32,
}

impl RealServerHealth {
    /// Up, with the configured weight.
    pub const UP: RealServerHealth = RealServerHealth { up: true, weight: None, shift: 0 };

    /// One entry per real server of `config`, all up (the state before any check ran).
    pub fn all_up(config: &Config) -> Vec<RealServerHealth> {
        vec![RealServerHealth::UP; config.real_servers.len()]
    }

    /// The weight the real server gets while up: the dynamic one, else the configured one,
    /// shifted by file checks (never below 0).
    pub fn weight_of(self, rs: &RealServer) -> u32 {
        // The kernel reads the weight as a signed int and refuses negative ones, so a huge
        // dynamic weight would fail on every write instead of just being large.
        let base = i64::from(self.weight.unwrap_or(rs.weight));
        (base + i64::from(self.shift)).clamp(0, i64::from(i32::MAX)) as u32
    }

    /// The health of real server `index`; up when the table is short (a daemon bug that
    /// must not take servers out).
    pub(super) fn of(health: &[RealServerHealth], index: usize) -> RealServerHealth {
        health.get(index).copied().unwrap_or(RealServerHealth::UP)
    }
}

/// One kernel service keeplite wants, with its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    /// Index into [`Config::virtual_servers`] of the section that declares it.
    pub virtual_server: usize,
    pub service: Service,
    pub dests: Vec<Dest>,
}

/// The desired table and the quorum transitions computing it caused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// In configuration order; the ports of one virtual server ascending.
    pub services: Vec<DesiredService>,
    /// For `quorum_up`/`quorum_down` scripts and the log.
    pub quorum_changes: Vec<QuorumChange>,
}

/// The table the kernel should hold, given the health of each real server (indexed like
/// `config.real_servers`); updates each virtual server's sticky quorum state on the way.
pub fn desired(config: &Config, health: &[RealServerHealth], quorum: &mut [Quorum]) -> Desired {
    let quorum_changes = quorum::update_all(config, health, quorum);
    let members = members(config);
    let mut services = Vec::new();
    // Reused across services: a destination key appears once per service, first wins.
    let mut seen = HashSet::new();
    for (vi, vs) in config.virtual_servers.iter().enumerate() {
        let quorum_up = quorum.get(vi).is_none_or(|q| q.is_up());
        let members = members.get(vi).map_or(&[][..], Vec::as_slice);
        let candidates = candidates(config, vs, members, health, quorum_up);
        for key in kernel_keys(&vs.key) {
            seen.clear();
            let dests =
                candidates.iter().filter_map(|c| c.dest(vs, key)).filter(|d| seen.insert(d.key)).collect();
            services.push(DesiredService { virtual_server: vi, service: service(vs, key), dests });
        }
    }
    Desired { services, quorum_changes }
}

/// A destination of a virtual server before the port of its kernel service is known.
struct Candidate {
    addr: IpAddr,
    /// The real server's own port, if it has one.
    port: Option<u16>,
    method: Method,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
}

impl Candidate {
    /// The destination in the service `key`, or none when its address cannot be reached
    /// in that family.
    fn dest(&self, vs: &VirtualServer, key: ServiceKey) -> Option<Dest> {
        // Validation rejects this; only a tunnel crosses families.
        if Family::of(self.addr) != key.family() && self.method != Method::Tunnel {
            return None;
        }
        // As ipvsadm does: DR and TUN cannot change the port, so they get the service's
        // (0 for fwmark); NAT gets its own, else the service's.
        let port = match self.method {
            Method::Masquerade => self.port.unwrap_or(key.port()),
            _ => key.port(),
        };
        let tunnel = match self.method {
            Method::Tunnel => TunnelSpec::of(vs.tunnel.kind, vs.tunnel.port, vs.tunnel.csum),
            _ => TunnelSpec::default(),
        };
        Some(Dest {
            key: DestKey { addr: self.addr, port },
            method: self.method,
            weight: self.weight,
            u_threshold: self.u_threshold,
            l_threshold: self.l_threshold,
            tunnel,
        })
    }
}

/// The destinations of a virtual server, whatever its port: the alive real servers, or
/// while quorum is lost the sorry server instead of them; inhibited failed ones at 0.
fn candidates(
    config: &Config,
    vs: &VirtualServer,
    members: &[usize],
    health: &[RealServerHealth],
    quorum_up: bool,
) -> Vec<Candidate> {
    let sorry = vs.sorry_server.filter(|_| !quorum_up);
    let mut out = Vec::with_capacity(members.len() + 1);
    // First, so that it wins over an inhibited real server with the same key.
    if let Some((addr, port)) = sorry {
        let method = Method::of(vs.forward);
        out.push(Candidate { addr, port, method, weight: 1, u_threshold: 0, l_threshold: 0 });
    }
    for &j in members {
        let Some(rs) = config.real_servers.get(j) else { continue };
        let h = RealServerHealth::of(health, j);
        let inhibit = rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure);
        let weight = match (h.up, sorry.is_some()) {
            // keepalived swaps every alive server for the sorry server.
            (true, true) => continue,
            (true, false) => h.weight_of(rs),
            (false, _) if inhibit => 0,
            (false, _) => continue,
        };
        out.push(Candidate {
            addr: rs.address,
            port: rs.port,
            method: Method::of(rs.forward.unwrap_or(vs.forward)),
            weight,
            u_threshold: rs.uthreshold.unwrap_or(0),
            l_threshold: rs.lthreshold.unwrap_or(0),
        });
    }
    out
}

/// Per virtual server, its real servers in configuration order: one pass over the real
/// servers instead of one per virtual server.
/// The real servers (indices) of each virtual server (indexed like `config.virtual_servers`).
pub fn members(config: &Config) -> Vec<Vec<usize>> {
    let mut members = vec![Vec::new(); config.virtual_servers.len()];
    for (j, rs) in config.real_servers.iter().enumerate() {
        for &vi in &rs.virtual_servers {
            if let Some(m) = members.get_mut(vi) {
                m.push(j);
            }
        }
    }
    members
}

/// The kernel services of a virtual server: one per port, ascending, or one fwmark.
fn kernel_keys(key: &config::ServiceKey) -> Vec<ServiceKey> {
    match key {
        config::ServiceKey::Address { addr, ports, protocol } => {
            let mut all: Vec<u16> = ports.iter().flat_map(config::PortRange::ports).collect();
            all.sort_unstable();
            let protocol = protocol_number(*protocol);
            all.into_iter().map(|port| ServiceKey::Address { protocol, addr: *addr, port }).collect()
        }
        config::ServiceKey::Fwmark { mark, family } => {
            vec![ServiceKey::Fwmark { family: *family, mark: *mark }]
        }
    }
}

/// The kernel service for one key of a virtual server.
fn service(vs: &VirtualServer, key: ServiceKey) -> Service {
    let family = key.family();
    let mut flags = 0;
    let (mut timeout, mut netmask) = (0, Service::full_netmask(family));
    if let Some(p) = vs.persistence {
        flags |= SVC_F_PERSISTENT;
        timeout = u32::try_from(p.timeout.as_secs()).unwrap_or(u32::MAX);
        netmask = p.netmask.map_or(netmask, |prefix| prefix_mask(family, prefix));
    }
    if vs.ops {
        flags |= SVC_F_ONEPACKET;
    }
    // Every configured scheduler has a short name; the empty fallback cannot happen.
    let scheduler = SchedName::try_from(keyword_name(vs.scheduler, SCHEDULERS)).unwrap_or_default();
    Service { key, scheduler, flags, timeout, netmask }
}

/// The kernel's persistence netmask: the IPv4 mask as a number, or the IPv6 prefix length.
fn prefix_mask(family: Family, prefix: u8) -> u32 {
    match family {
        Family::Ipv4 => u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0),
        Family::Ipv6 => u32::from(prefix.min(128)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{parse, Host};
    use crate::ipvs::model::SVC_FLAGS_MANAGED;
    use std::fmt::Write;

    /// A configuration from flat text; panics with the problems when it does not load.
    pub(crate) fn config(text: &str) -> Config {
        let outcome = parse(text.as_bytes(), &Host { hostname: "test".to_owned() });
        match outcome.config {
            Some(c) => c,
            None => panic!("bad test config: {:#?}", outcome.problems),
        }
    }

    /// One line per service: `key sched [persistent T] [mask M] [ops] | dest method weight, ...`.
    pub(crate) fn render(services: &[DesiredService]) -> Vec<String> {
        services
            .iter()
            .map(|d| {
                let s = &d.service;
                let mut line = format!("{} {}", s.key, s.scheduler);
                if s.flags & SVC_F_PERSISTENT != 0 {
                    let _ = write!(line, " persistent {}", s.timeout);
                }
                if s.netmask != Service::full_netmask(s.key.family()) {
                    let _ = write!(line, " mask {:#x}", s.netmask);
                }
                if s.flags & SVC_F_ONEPACKET != 0 {
                    line.push_str(" ops");
                }
                line.push_str(" |");
                for (i, dest) in d.dests.iter().enumerate() {
                    let sep = if i == 0 { " " } else { ", " };
                    let _ = write!(line, "{sep}{} {} {}", dest.key, dest.method.name(), dest.weight);
                    if dest.u_threshold != 0 || dest.l_threshold != 0 {
                        let _ = write!(line, " u{} l{}", dest.u_threshold, dest.l_threshold);
                    }
                    if dest.method == Method::Tunnel {
                        let t = dest.tunnel;
                        let _ = write!(line, " tun{}/{}/{}", t.kind, t.port, t.flags);
                    }
                }
                line
            })
            .collect()
    }

    /// The desired table with every real server up and every quorum up.
    fn all_up(text: &str) -> Vec<String> {
        let c = config(text);
        render(&desired(&c, &RealServerHealth::all_up(&c), &mut Quorum::initial(&c)).services)
    }

    #[test]
    fn services_and_destinations_from_configuration() {
        let table: &[(&str, &str, &[&str])] = &[
            (
                "defaults: nat, wlc, weight 1, the virtual port",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='80'\n\
                 a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\n\
                 b=real_server\nb.virtual_server='v'\nb.address='10.0.0.2'\nb.port='8080'\nb.weight='5'\n",
                &["tcp 192.0.2.1:80 wlc | 10.0.0.1:80 Masq 1, 10.0.0.2:8080 Masq 5"],
            ),
            (
                "multi-port: one service per port, ascending; NAT keeps its own port",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='443' '80-81'\nv.protocol='udp'\nv.scheduler='rr'\n\
                 a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\n\
                 b=real_server\nb.virtual_server='v'\nb.address='10.0.0.2'\nb.port='9000'\n",
                &[
                    "udp 192.0.2.1:80 rr | 10.0.0.1:80 Masq 1, 10.0.0.2:9000 Masq 1",
                    "udp 192.0.2.1:81 rr | 10.0.0.1:81 Masq 1, 10.0.0.2:9000 Masq 1",
                    "udp 192.0.2.1:443 rr | 10.0.0.1:443 Masq 1, 10.0.0.2:9000 Masq 1",
                ],
            ),
            (
                "DR takes the service's port; a per-server forward overrides the service's",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='80' '443'\nv.forward='dr'\nv.scheduler='wrr'\n\
                 a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\na.uthreshold='100'\na.lthreshold='10'\n\
                 b=real_server\nb.virtual_server='v'\nb.address='10.0.0.2'\nb.forward='nat'\nb.port='8080'\n",
                &[
                    "tcp 192.0.2.1:80 wrr | 10.0.0.1:80 Route 1 u100 l10, 10.0.0.2:8080 Masq 1",
                    "tcp 192.0.2.1:443 wrr | 10.0.0.1:443 Route 1 u100 l10, 10.0.0.2:8080 Masq 1",
                ],
            ),
            (
                "NAT service with a DR server naming the service's only port",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='80'\n\
                 a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\na.forward='dr'\na.port='80'\n",
                &["tcp 192.0.2.1:80 wlc | 10.0.0.1:80 Route 1"],
            ),
            (
                "fwmark: NAT keeps its own port or 0, DR and TUN get 0",
                "v=virtual_server\nv.fwmark='7'\nv.scheduler='sh'\n\
                 a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\na.port='8080'\n\
                 b=real_server\nb.virtual_server='v'\nb.address='10.0.0.2'\n\
                 c=real_server\nc.virtual_server='v'\nc.address='10.0.0.3'\nc.forward='dr'\nc.port='80'\n\
                 d=real_server\nd.virtual_server='v'\nd.address='10.0.0.4'\nd.forward='tun'\n",
                &["fwmark 7 sh | 10.0.0.1:8080 Masq 1, 10.0.0.2:0 Masq 1, 10.0.0.3:0 Route 1, \
                   10.0.0.4:0 Tunnel 1 tun0/0/0"],
            ),
            (
                "IPv6 fwmark, persistence with a prefix length",
                "v=virtual_server\nv.fwmark='9'\nv.family='ipv6'\nv.persistence_timeout='5m'\n\
                 v.persistence_netmask='64'\n\
                 a=real_server\na.virtual_server='v'\na.address='2001:db8::10'\n",
                &["fwmark 9 (ipv6) wlc persistent 300 mask 0x40 | [2001:db8::10]:0 Masq 1"],
            ),
            (
                "IPv6 address service, persistence without a netmask",
                "v=virtual_server\nv.address='2001:db8::1'\nv.port='443'\nv.persistence_timeout='60'\n\
                 a=real_server\na.virtual_server='v'\na.address='2001:db8::10'\n",
                &["tcp [2001:db8::1]:443 wlc persistent 60 | [2001:db8::10]:443 Masq 1"],
            ),
            (
                "IPv4 persistence netmask as a mask number, prefix or dotted",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='80'\nv.persistence_timeout='360'\n\
                 v.persistence_netmask='24'\n\
                 w=virtual_server\nw.address='192.0.2.2'\nw.port='80'\nw.persistence_timeout='1'\n\
                 w.persistence_netmask='255.255.0.0'\n\
                 x=virtual_server\nx.address='192.0.2.3'\nx.port='80'\nx.persistence_timeout='1'\n\
                 x.persistence_netmask='0'\n",
                &[
                    "tcp 192.0.2.1:80 wlc persistent 360 mask 0xffffff00 |",
                    "tcp 192.0.2.2:80 wlc persistent 1 mask 0xffff0000 |",
                    "tcp 192.0.2.3:80 wlc persistent 1 mask 0x0 |",
                ],
            ),
            (
                "tun with gue, and a tunnel across families",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='53'\nv.protocol='udp'\nv.forward='tun'\n\
                 v.tunnel_type='gue'\nv.tunnel_port='6080'\nv.tunnel_csum='remcsum'\nv.ops='1'\n\
                 a=real_server\na.virtual_server='v'\na.address='10.0.0.1'\n\
                 b=real_server\nb.virtual_server='v'\nb.address='2001:db8::2'\n",
                &["udp 192.0.2.1:53 wlc ops | 10.0.0.1:53 Tunnel 1 tun1/6080/2, [2001:db8::2]:53 Tunnel 1 tun1/6080/2"],
            ),
            (
                "a real server of two virtual servers, in configuration order",
                "v=virtual_server\nv.address='192.0.2.1'\nv.port='80'\n\
                 w=virtual_server\nw.fwmark='3'\n\
                 a=real_server\na.virtual_server='w' 'v'\na.address='10.0.0.1'\na.weight='0'\n\
                 b=real_server\nb.virtual_server='v'\nb.address='10.0.0.2'\n",
                &["tcp 192.0.2.1:80 wlc | 10.0.0.1:80 Masq 0, 10.0.0.2:80 Masq 1", "fwmark 3 wlc | 10.0.0.1:0 Masq 0"],
            ),
        ];
        for (name, text, want) in table {
            assert_eq!(all_up(text), *want, "{name}");
        }
    }

    #[test]
    fn service_settings() {
        let c = config(
            "v=virtual_server\nv.address='192.0.2.1'\nv.port='80'\nv.scheduler='mh'\n\
             w=virtual_server\nw.address='192.0.2.1'\nw.port='53'\nw.protocol='udp'\nw.ops='1'\n\
             w.persistence_timeout='30'\n",
        );
        let d = desired(&c, &[], &mut Quorum::initial(&c)).services;
        let s = &d[0].service;
        assert_eq!((s.scheduler.as_str(), s.flags, s.timeout, s.netmask), ("mh", 0, 0, u32::MAX));
        assert_eq!(s.key, ServiceKey::Address { protocol: 6, addr: "192.0.2.1".parse().unwrap(), port: 80 });
        let s = &d[1].service;
        assert_eq!((s.flags, s.timeout, s.netmask), (SVC_F_PERSISTENT | SVC_F_ONEPACKET, 30, u32::MAX));
        assert_eq!(s.flags & !SVC_FLAGS_MANAGED, 0);
        assert_eq!((d[0].virtual_server, d[1].virtual_server), (0, 1));
        // Every scheduler keeplite accepts has its kernel name.
        for (name, _) in SCHEDULERS {
            let c = config(&format!("v=virtual_server\nv.fwmark='1'\nv.scheduler='{name}'\n"));
            let d = desired(&c, &[], &mut Quorum::initial(&c)).services;
            assert_eq!(d[0].service.scheduler.as_str(), *name);
        }
    }

    const FARM: &str = "
v=virtual_server
v.address='192.0.2.1'
v.port='80'
v.quorum='3'
v.sorry_server='10.0.0.99'
a=real_server
a.virtual_server='v'
a.address='10.0.0.1'
a.weight='2'
b=real_server
b.virtual_server='v'
b.address='10.0.0.2'
b.weight='2'
c=real_server
c.virtual_server='v'
c.address='10.0.0.3'
c.inhibit_on_failure='1'
";

    const UP: RealServerHealth = RealServerHealth::UP;
    const DOWN: RealServerHealth = RealServerHealth { up: false, weight: None, shift: 0 };

    #[test]
    fn health_and_quorum_shape_the_destinations() {
        let dynamic = |w| RealServerHealth { up: true, weight: Some(w), shift: 0 };
        // (name, text edits, health of a b c, quorum before, want, quorum change)
        type Case<'a> =
            (&'a str, &'a [(&'a str, &'a str)], [RealServerHealth; 3], bool, &'a str, Option<bool>);
        let table: &[Case] = &[
            (
                "all up",
                &[],
                [UP; 3],
                true,
                "10.0.0.1:80 Masq 2, 10.0.0.2:80 Masq 2, 10.0.0.3:80 Masq 1",
                None,
            ),
            (
                "failed removed, inhibited at 0",
                &[],
                [dynamic(3), DOWN, DOWN],
                true,
                "10.0.0.1:80 Masq 3, 10.0.0.3:80 Masq 0",
                None,
            ),
            (
                "dynamic weights",
                &[],
                [dynamic(7), dynamic(0), UP],
                true,
                "10.0.0.1:80 Masq 7, 10.0.0.2:80 Masq 0, 10.0.0.3:80 Masq 1",
                None,
            ),
            (
                "huge dynamic weight is capped",
                &[],
                [dynamic(u32::MAX), UP, UP],
                true,
                "10.0.0.1:80 Masq 2147483647, 10.0.0.2:80 Masq 2, 10.0.0.3:80 Masq 1",
                None,
            ),
            (
                "quorum lost: the sorry server replaces the alive",
                &[],
                [UP, DOWN, DOWN],
                false,
                "10.0.0.99:80 Masq 1, 10.0.0.3:80 Masq 0",
                None,
            ),
            ("quorum lost now", &[], [DOWN, DOWN, UP], true, "10.0.0.99:80 Masq 1", Some(false)),
            (
                "quorum back: sorry out, alive in",
                &[],
                [UP, UP, DOWN],
                false,
                "10.0.0.1:80 Masq 2, 10.0.0.2:80 Masq 2, 10.0.0.3:80 Masq 0",
                Some(true),
            ),
            (
                "lost without a sorry server: the alive stay",
                &[("v.sorry_server='10.0.0.99'\n", "")],
                [DOWN, DOWN, UP],
                true,
                "10.0.0.3:80 Masq 1",
                Some(false),
            ),
            (
                "a server's own inhibit overrides the service's",
                &[
                    ("v.quorum='3'", "v.inhibit_on_failure='1'"),
                    ("c.inhibit_on_failure='1'", "c.inhibit_on_failure='0'"),
                ],
                [DOWN, UP, DOWN],
                true,
                "10.0.0.1:80 Masq 0, 10.0.0.2:80 Masq 2",
                None,
            ),
            (
                "sorry server keeps its port under NAT",
                &[("10.0.0.99", "10.0.0.99:8080")],
                [DOWN; 3],
                true,
                "10.0.0.99:8080 Masq 1, 10.0.0.3:80 Masq 0",
                Some(false),
            ),
            (
                "sorry server with DR takes the service port",
                &[("10.0.0.99", "10.0.0.99:80'\nv.forward='dr")],
                [DOWN; 3],
                false,
                "10.0.0.99:80 Route 1, 10.0.0.3:80 Route 0",
                None,
            ),
            (
                "sorry server wins over an inhibited server with its key",
                &[("10.0.0.99", "10.0.0.3")],
                [DOWN; 3],
                false,
                "10.0.0.3:80 Masq 1",
                None,
            ),
        ];
        for (name, edits, health, quorum_up, want, change) in table {
            let text = edits.iter().fold(FARM.to_owned(), |t, (from, to)| t.replacen(from, to, 1));
            let c = config(&text);
            let mut quorum = [Quorum::default()];
            if !quorum_up {
                quorum[0].update(0, 1, 0);
            }
            let d = desired(&c, health, &mut quorum);
            assert_eq!(render(&d.services), [format!("tcp 192.0.2.1:80 wlc | {want}")], "{name}");
            assert_eq!(d.quorum_changes.first().map(|q| q.up), *change, "{name}");
        }
    }

    #[test]
    fn sorry_server_on_fwmark_nat_has_port_zero() {
        let c = config("v=virtual_server\nv.fwmark='5'\nv.quorum='1'\nv.sorry_server='10.0.0.99'\n");
        let d = desired(&c, &[], &mut Quorum::initial(&c));
        assert_eq!(render(&d.services), ["fwmark 5 wlc | 10.0.0.99:0 Masq 1"]);
        assert_eq!(d.quorum_changes, [QuorumChange { virtual_server: 0, up: false, alive_weight: 0 }]);
    }

    #[test]
    fn impossible_inputs_do_not_panic() {
        let mut c = config(FARM);
        // A wrong-family real server and sorry server (validation rejects both) are skipped.
        c.real_servers[0].address = "2001:db8::1".parse().unwrap();
        c.virtual_servers[0].sorry_server = Some(("2001:db8::99".parse().unwrap(), None));
        // A reference past the table is ignored.
        c.real_servers[1].virtual_servers.push(7).unwrap();
        let d = desired(&c, &[], &mut []);
        assert_eq!(render(&d.services), ["tcp 192.0.2.1:80 wlc | 10.0.0.2:80 Masq 2, 10.0.0.3:80 Masq 1"]);
        assert_eq!(d.quorum_changes, []);
        let mut lost = [Quorum::default()];
        lost[0].update(0, 1, 0);
        let d = desired(&c, &[DOWN, DOWN, DOWN], &mut lost);
        assert_eq!(render(&d.services), ["tcp 192.0.2.1:80 wlc | 10.0.0.3:80 Masq 0"]);
    }
}
