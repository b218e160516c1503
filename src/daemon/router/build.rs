//! What a configuration's vrrp sections need opened: the interfaces, one VRRP socket per
//! (interface, family), the vmacs and the track scripts, and each instance built from its
//! section. Everything that can fail happens here, before a running router changes, so a
//! reload that cannot be carried out leaves the running one as it was. At a reload, and
//! when an interface appears, this runs on a thread of its own ([`Job`]): it waits for the
//! kernel's RTNL lock, and the running instances advertise meanwhile.

use super::polled::{Effect, Probe, DEFAULT_INTERVAL};
use super::{Group, Vr};
use crate::config::model::{CheckKind, Config, Family, TrackCheck, VirtualLink, Vrrp};
use crate::daemon::links::Links;
use crate::daemon::scripts::Scripts;
use crate::daemon::virtual_link;
use crate::net::netlink::Socket;
use crate::vrrp::announce::MacAddr;
use crate::vrrp::instance::{Instance, Params, Tracked};
use crate::vrrp::io::VrrpSocket;
use crate::vrrp::packet::{Version, AUTH_DATA_LEN};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What a VRRP socket is opened for: interface index, family, and the multicast groups
/// it joins. A running socket is reused only for the very same.
pub type SocketKey = (u32, Family, Vec<IpAddr>);

/// A build asked of the build thread: `config`, against the sockets running now
/// (`running`: each one's interface index, family and groups) and the vmacs that exist.
pub struct Job {
    pub config: Config,
    pub running: Vec<SocketKey>,
    pub vlink_exists: Vec<bool>,
    pub now: Instant,
}

/// What the build thread made of a [`Job`], and how long it took.
pub struct Built {
    pub parts: Result<Parts, String>,
    pub took: Duration,
}

impl Job {
    /// Carries out the job with netlink socket `nl`.
    pub fn run(self, nl: &mut Socket) -> Built {
        let started = Instant::now();
        let parts = Parts::build(nl, &self.config, self.now, &self.running, &self.vlink_exists);
        Built { parts, took: started.elapsed() }
    }
}

/// A socket the new configuration uses: one the running router has open, or a new one.
pub enum Slot {
    Running(usize),
    New(VrrpSocket),
}

/// A configuration's VRRP side, built and opened but not yet running.
pub struct Parts {
    pub links: Links,
    pub sockets: Vec<Slot>,
    pub vrs: Vec<Vr>,
    pub groups: Vec<Group>,
    pub scripts: Scripts,
    /// The files and processes the instances track, each once, and how often to read them.
    pub probes: Vec<Probe>,
    pub probe_interval: Duration,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Parts {
    /// Opens what `config` needs. `running` are the sockets open now, by interface index,
    /// family and groups (reused when all match); `vlink_exists[i]` says the own interface (vmac, ipvlan) of section
    /// `i` is up already and must be kept, not created afresh.
    pub fn build(
        nl: &mut Socket,
        config: &Config,
        now: Instant,
        running: &[SocketKey],
        vlink_exists: &[bool],
    ) -> Result<Parts, String> {
        let names = config.vrrp.iter().flat_map(|v| {
            std::iter::once(v.interface.as_str())
                .chain(v.track_interfaces.iter().map(|t| t.name.as_str()))
                .chain(v.vips.iter().filter_map(|x| x.opts.dev.as_deref()))
        });
        let vips = config.vrrp.iter().flat_map(|v| v.vips.iter().map(|x| x.addr)).collect();
        let mut links = Links::load(nl, names, vips)?;
        let scripts = Scripts::new(config, now)?;
        let (probes, probe_interval) = tracked_probes(config);
        let mut vrs = Vec::new();
        for (i, v) in config.vrrp.iter().enumerate() {
            let iface =
                links.position(&v.interface).ok_or_else(|| format!("{}: interface vanished", v.interface))?;
            let family = if v.is_ipv6() { Family::Ipv6 } else { Family::Ipv4 };
            // Nothing to open on an interface that does not exist (yet): the instance
            // stays in FAULT, and the router builds again when the interface appears.
            let present = links.ifaces[iface].present();
            let vlink = match &v.virtual_link {
                Some(kind) if present => {
                    let ipv6 = family == Family::Ipv6;
                    let pos = if vlink_exists.get(i).copied().unwrap_or(false) {
                        links.add(nl, &virtual_link::name(v.vrid, ipv6))
                    } else {
                        virtual_link::create(nl, &mut links, iface, v.vrid, ipv6, kind)
                    }
                    .map_err(|e| format!("vrrp {}: {}: {e}", v.name, virtual_link::option(kind)))?;
                    Some(pos)
                }
                _ => None,
            };
            let tracking = Tracking { scripts: &scripts, probes: &probes };
            vrs.push(vr(config, v, &links, iface, vlink, family, tracking));
        }
        // One socket per (advert interface, family), joined to the groups of every
        // multicast instance on it (the family's VRRP group when there is none).
        let mut keys: Vec<SocketKey> = Vec::new();
        for runtime in &vrs {
            let link = &links.ifaces[runtime.advert_iface()].link;
            if !links.ifaces[runtime.iface].present() {
                continue;
            }
            let key = match keys.iter().position(|k| (k.0, k.1) == (link.index, runtime.family)) {
                Some(at) => &mut keys[at],
                None => {
                    keys.push((link.index, runtime.family, Vec::new()));
                    keys.last_mut().expect("just pushed")
                }
            };
            if runtime.peers.is_empty() && !key.2.contains(&runtime.mcast_group) {
                key.2.push(runtime.mcast_group);
            }
        }
        for key in &mut keys {
            if key.2.is_empty() {
                key.2.push(crate::vrrp::io::group(key.1));
            }
            key.2.sort();
        }
        let mut sockets: Vec<Slot> = Vec::new();
        for key in &keys {
            let slot = match running.iter().position(|r| r == key) {
                Some(r) => Slot::Running(r),
                None => {
                    let iface = links.ifaces.iter().find(|i| i.present() && i.link.index == key.0);
                    let name = iface.map_or("", |i| i.link.name.as_str());
                    Slot::New(VrrpSocket::open_joined(name, key.0, key.1, &key.2).map_err(text)?)
                }
            };
            sockets.push(slot);
        }
        for runtime in &mut vrs {
            let link = &links.ifaces[runtime.advert_iface()].link;
            if links.ifaces[runtime.iface].present() {
                runtime.socket = keys.iter().position(|k| (k.0, k.1) == (link.index, runtime.family));
            }
        }
        let groups = config
            .sync_groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                for &m in &g.members {
                    vrs[m].group = Some(gi);
                }
                Group {
                    name: g.name.clone(),
                    members: g.members.to_vec(),
                    notify: g.notify.clone(),
                    state: None,
                }
            })
            .collect();
        Ok(Parts { links, sockets, vrs, groups, scripts, probes, probe_interval })
    }
}

/// What tracked check `t` reads, and what its value does to the instance (validation lets
/// only file and process checks through).
fn polled(config: &Config, t: &TrackCheck) -> Option<(Probe, Effect)> {
    match &config.checks.get(t.check)?.kind {
        CheckKind::File(f) => Some((
            Probe::File(f.path.clone()),
            Effect::File { weight: t.weight.map_or(f.weight, i32::from), reverse: f.reverse },
        )),
        CheckKind::Process(p) => Some((
            Probe::Process(p.clone()),
            Effect::Process { weight: t.weight.unwrap_or(p.weight), reverse: p.reverse },
        )),
        _ => None,
    }
}

/// The checks vrrp section `v` tracks by reading (`track_file`, `track_process`).
fn polled_checks(v: &Vrrp) -> impl Iterator<Item = &TrackCheck> {
    v.track_files.iter().chain(v.track_processes.iter())
}

/// Every file and process a vrrp section tracks, once, and the shortest interval of their
/// checks.
fn tracked_probes(config: &Config) -> (Vec<Probe>, Duration) {
    let mut probes: Vec<Probe> = Vec::new();
    let mut interval: Option<Duration> = None;
    for t in config.vrrp.iter().flat_map(polled_checks) {
        let Some((probe, _)) = polled(config, t) else { continue };
        if !probes.contains(&probe) {
            probes.push(probe);
        }
        let every = config.checks[t.check].interval.unwrap_or(DEFAULT_INTERVAL);
        interval = Some(interval.map_or(every, |i| i.min(every)));
    }
    (probes, interval.unwrap_or(DEFAULT_INTERVAL))
}

/// The sockets of `slots`, taking the running ones out of `running`.
pub fn sockets(slots: Vec<Slot>, running: &mut [Option<VrrpSocket>]) -> Vec<VrrpSocket> {
    slots
        .into_iter()
        .filter_map(|s| match s {
            Slot::Running(r) => running[r].take(),
            Slot::New(s) => Some(s),
        })
        .collect()
}

/// What instances track besides interfaces: the scripts, and the files and processes (by
/// position).
struct Tracking<'a> {
    scripts: &'a Scripts,
    probes: &'a [Probe],
}

/// Builds the run-time instance of vrrp section `v`.
fn vr(
    config: &Config,
    v: &Vrrp,
    links: &Links,
    iface: usize,
    vlink: Option<usize>,
    family: Family,
    Tracking { scripts, probes }: Tracking<'_>,
) -> Vr {
    let mut tracked = Vec::new();
    let mut track_ifaces = Vec::new();
    for t in &v.track_interfaces {
        if let Some(pos) = links.position(&t.name) {
            track_ifaces.push((pos, tracked.len()));
            tracked.push(Tracked { weight: t.weight, up: links.ifaces[pos].link.is_up() });
        }
    }
    // keepalived: a VIP on another interface is tracked (its going down is a FAULT),
    // unless it says no_track.
    for dev in v.vips.iter().filter(|x| !x.opts.no_track).filter_map(|x| x.opts.dev.as_deref()) {
        if let Some(pos) = links.position(dev).filter(|p| !track_ifaces.iter().any(|(q, _)| q == p)) {
            track_ifaces.push((pos, tracked.len()));
            tracked.push(Tracked { weight: None, up: links.ifaces[pos].link.is_up() });
        }
    }
    let mut track_scripts = Vec::new();
    for t in &v.track_scripts {
        // keepalived: weight 0 (the script's own or the override) means fault when down.
        let weight = t.weight.unwrap_or(config.scripts[t.script].weight);
        track_scripts.push((t.script, tracked.len()));
        tracked.push(Tracked { weight: (weight != 0).then_some(weight), up: scripts.is_up(t.script) });
    }
    let mut track_polled = Vec::new();
    for t in polled_checks(v) {
        let Some((probe, effect)) = polled(config, t) else { continue };
        let Some(pos) = probes.iter().position(|p| *p == probe) else { continue };
        track_polled.push((pos, tracked.len(), effect));
        // Counts for nothing until it is read (at once, off this thread).
        tracked.push(Tracked { weight: Some(0), up: true });
    }
    let mut track_bfds = Vec::new();
    for t in &v.track_bfds {
        let CheckKind::Bfd(b) = &config.checks[t.check].kind else { continue };
        // As a script: weight 0 is FAULT while down. A session starts down.
        let weight = t.weight.unwrap_or(b.weight);
        track_bfds.push((t.check, tracked.len(), b.reverse));
        tracked.push(Tracked { weight: (weight != 0).then_some(weight), up: b.reverse });
    }
    let auth = v.auth_pass.as_ref().map(|p| {
        let mut padded = [0u8; AUTH_DATA_LEN];
        padded[..p.len()].copy_from_slice(p.as_bytes());
        padded
    });
    let params = Params {
        vrid: v.vrid,
        version: match v.version {
            crate::config::model::Version::V2 => Version::V2,
            crate::config::model::Version::V3 => Version::V3,
        },
        priority: v.priority,
        advert_int: v.advert_int,
        addresses: v.vips.iter().map(|x| x.addr).filter(|a| Family::of(*a) == family).collect(),
        preempt: v.preempt,
        preempt_delay: v.preempt_delay,
        auth,
        garp_delay: v.garp_delay,
        garp_refresh: v.garp_refresh,
        strict: v.strict_mode,
        lower_prio_no_advert: v.lower_prio_no_advert,
        accept_ttl: v.min_ttl..=v.max_ttl,
    };
    Vr {
        name: v.name.clone(),
        instance: Instance::new(params, &tracked),
        iface,
        // Set by the caller once it has the socket of `advert_iface`.
        socket: None,
        family,
        // keepalived sends from an ipvlan's own IPv4 address when src_ip is not given (an
        // IPv6 one, link-local, is found on the ipvlan as any advert source is).
        src_ip: v.src_ip.or(match v.virtual_link {
            Some(VirtualLink::Ipvlan { address: Some((a @ IpAddr::V4(_), _)), .. }) => Some(a),
            _ => None,
        }),
        peers: v.unicast_peers.to_vec(),
        mcast_group: v.mcast_group(&config.global),
        check_unicast_src: v.check_unicast_src,
        unicast_ttl: v.unicast_ttl,
        notify_priority_changes: v.notify_priority_changes,
        reported_priority: v.priority,
        vips: v.vips.to_vec(),
        garp_repeat: v.garp_repeat,
        garp_lower_prio_repeat: v.garp_lower_prio_repeat,
        garp_interval: v.garp_interval,
        burst: None,
        adding: 0,
        track_ifaces,
        track_scripts,
        track_polled,
        track_bfds,
        notify: v.notify.clone(),
        group: None,
        vlink,
        virtual_mac: (v.virtual_link == Some(VirtualLink::Vmac))
            .then(|| MacAddr::virtual_router(v.vrid, family == Family::Ipv6)),
        transitions: 0,
        link_delay: super::link_delay::LinkDelay::new(v.up_delay, v.down_delay),
        signing: v.auth_hmac.clone().map(|settings| {
            let version = if v.version == crate::config::model::Version::V2 { 2 } else { 3 };
            super::signing::Signing::new(settings, family == Family::Ipv6, version, v.vrid)
        }),
    }
}
