//! The VRRP side of the daemon: the instances of the configuration, wired to sockets,
//! rtnetlink, announcements, track scripts, sync groups and notify scripts.
//!
//! Every decision is the instances' (and the sync-group coordinator's); this file only
//! turns their actions into I/O and the world's events into their inputs.

mod addresses;
mod bfd;
mod build;
mod interface_settings;
mod link_delay;
mod pending;
mod polled;
mod reload;
mod signing;

use super::links::Links;
use super::routing::Routing;
use super::scripts::Scripts;
use super::virtual_link;
use crate::config::model::{Config, Family, Notify, Vip};
use crate::json::Json;
use crate::log;
use crate::net::monitor::Monitor;
use crate::net::netlink::Socket;
use crate::net::packet_socket::PacketSocket;
use crate::notify::{self, Kind, Report};
use crate::status::events::Emitter;
use crate::status::snapshot as status;
use crate::vrrp::announce::{self, MacAddr, NeighbourAdvert};
use crate::vrrp::counters::Counters;
use crate::vrrp::group::{self, Command, Member};
use crate::vrrp::instance::{Action, Hold, Instance, Reason, State};
use crate::vrrp::io::{Mode, VrrpSocket, RECV_BUFFER};
use crate::vrrp::packet::Version;
use addresses::Addresses;
use build::Parts;
use pending::Builds;
use polled::Polled;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a readable descriptor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Monitor,
    Socket(usize),
    /// A script or notify child exited.
    Child,
    /// The address thread finished a batch.
    Addresses,
    /// The build thread finished a build.
    Built,
    /// The tracked files and processes were read.
    Polled,
    /// A BFD packet came to receiving socket N.
    Bfd(usize),
}

/// One configured instance at run time.
#[derive(Debug)]
struct Vr {
    name: String,
    instance: Instance,
    iface: usize,
    /// The socket adverts are sent and heard on; none while the interface is missing.
    socket: Option<usize>,
    family: Family,
    src_ip: Option<IpAddr>,
    peers: Vec<IpAddr>,
    /// The multicast group adverts go to when there are no peers.
    mcast_group: IpAddr,
    /// Unicast adverts from strangers are dropped.
    check_unicast_src: bool,
    /// TTL / hop limit of unicast adverts.
    unicast_ttl: u8,
    /// Notify scripts also run when the effective priority changes.
    notify_priority_changes: bool,
    /// The effective priority last reported (log, notify, event).
    reported_priority: u8,
    /// Every VIP, of both families (the advert carries only the instance family's).
    vips: Vec<Vip>,
    garp_repeat: u32,
    garp_lower_prio_repeat: u32,
    garp_interval: Duration,
    /// Announcement rounds still to send, and when the next is due.
    burst: Option<(u32, Instant)>,
    /// Batches of VIPs being added by the address thread: announcements wait for them.
    adding: u32,
    /// (interface position, tracked index) for each tracked interface.
    track_ifaces: Vec<(usize, usize)>,
    /// (script index, tracked index) for each tracked script.
    track_scripts: Vec<(usize, usize)>,
    /// (probe position, tracked index, what its value does) for each tracked file and
    /// process check.
    track_polled: Vec<(usize, usize, polled::Effect)>,
    /// (check position, tracked index, reverse) for each tracked bfd check.
    track_bfds: Vec<(usize, usize, bool)>,
    notify: Notify,
    group: Option<usize>,
    /// `use_vmac`, `use_ipvlan`: the position of the instance's own interface.
    vlink: Option<usize>,
    /// `use_vmac`: the virtual MAC the VIPs are announced with.
    virtual_mac: Option<MacAddr>,
    /// State changes since start.
    transitions: u64,
    /// `up_delay` / `down_delay` between the link and the instance.
    link_delay: link_delay::LinkDelay,
    /// `auth_hmac`: the signature adverts carry and are checked for.
    signing: Option<signing::Signing>,
}

impl Vr {
    /// Interface the VIPs live on: the vmac, or the configured interface. Not an ipvlan:
    /// there they would break replies that leave by the configured interface (its
    /// neighbours' ARP replies, addressed to a VIP, would go to the ipvlan, which the
    /// kernel hands frames by address); keepalived too keeps them on the interface.
    fn vip_iface(&self) -> usize {
        match (self.vlink, self.virtual_mac) {
            (Some(vmac), Some(_)) => vmac,
            _ => self.iface,
        }
    }

    /// Interface adverts are sent and heard on. With use_vmac it is the vmac: both
    /// routers' vmacs carry the same virtual MAC, and the kernel hands a multicast frame
    /// whose source MAC is one of its own private-mode macvlans to that macvlan only, so
    /// on the configured interface a pair would never hear each other and both would stay
    /// master. With use_ipvlan it is the ipvlan, as in keepalived: an L2 ipvlan hears every
    /// multicast frame its parent does. Unicast adverts are addressed to the configured
    /// interface's address, so with unicast peers they stay there (keepalived's
    /// `vmac_xmit_base`).
    fn advert_iface(&self) -> usize {
        match self.vlink {
            Some(pos) if self.peers.is_empty() => pos,
            _ => self.iface,
        }
    }

    fn mode(&self) -> Mode<'_> {
        if self.peers.is_empty() {
            Mode::Multicast(self.mcast_group)
        } else if self.check_unicast_src {
            Mode::Unicast(&self.peers)
        } else {
            Mode::UnicastAnySource(&self.peers)
        }
    }

    /// TTL / hop limit of this instance's adverts.
    fn advert_ttl(&self) -> u8 {
        if self.peers.is_empty() {
            crate::vrrp::packet::TTL
        } else {
            self.unicast_ttl
        }
    }
}

/// A sync group at run time.
#[derive(Debug)]
struct Group {
    name: String,
    members: Vec<usize>,
    notify: Notify,
    /// The state all members share, once they do.
    state: Option<State>,
}

/// All VRRP instances of one configuration.
pub struct Router {
    /// The configuration running now (what an interface that appears is opened for).
    config: Config,
    /// When the instances start, while `startup_delay` runs.
    start_at: Option<Instant>,
    nl: Socket,
    /// Adds and removes the VIPs, off this thread.
    addresses: Addresses,
    /// Opens what a reload or an interface that appeared needs, off this thread.
    builds: Builds,
    /// Holds the `route` and `rule` sections, off this thread; started with the first.
    routing: Option<Routing>,
    /// Starting the routing thread failed (said once).
    routing_failed: bool,
    monitor: Monitor,
    links: Links,
    sockets: Vec<VrrpSocket>,
    /// One per interface, opened on first use.
    packet: Vec<Option<PacketSocket>>,
    /// Each interface's up state as last logged.
    logged_up: Vec<bool>,
    vrs: Vec<Vr>,
    groups: Vec<Group>,
    scripts: Scripts,
    /// The files and processes instances track (`track_file`, `track_process`), read off
    /// this thread.
    polled: Polled,
    /// The BFD sessions instances track (`track_bfd`).
    bfds: bfd::Bfds,
    /// The interface settings keeplite changed (promote_secondaries, ARP under a vmac).
    settings: interface_settings::Overrides,
    notify: notify::Runner,
    /// Packets for a VRID no instance has, or that could not be attributed.
    pub unattributed: Counters,
    /// Transitions go to the event stream too.
    events: Arc<Emitter>,
    buf: Box<[u8; RECV_BUFFER]>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Router {
    /// Opens everything the configuration's vrrp sections need.
    /// `bfd` gets the state of each BFD session, for the checker.
    pub fn new(
        config: &Config,
        events: Arc<Emitter>,
        bfd: Arc<crate::bfd::states::States>,
        now: Instant,
    ) -> Result<Router, String> {
        // The monitor opens before the first reads, so no change falls in between.
        let monitor = Monitor::open().map_err(text)?;
        let mut nl = Socket::open().map_err(text)?;
        let notify_as = config.global.script_user.as_ref().map(|u| crate::passwd::lookup(u)).transpose()?;
        let parts = Parts::build(&mut nl, config, now, &[], &[])?;
        let mut polled = Polled::none();
        polled.set(parts.probes, parts.probe_interval)?;
        let bfds = bfd::Bfds::open(config, bfd, now);
        let mut settings = interface_settings::Overrides::default();
        settings.set(config);
        Ok(Router {
            start_at: None,
            config: config.clone(),
            nl,
            addresses: Addresses::start()?,
            builds: Builds::start()?,
            routing: None,
            routing_failed: false,
            monitor,
            packet: (0..parts.links.ifaces.len()).map(|_| None).collect(),
            logged_up: parts.links.ifaces.iter().map(|i| i.link.is_up()).collect(),
            links: parts.links,
            sockets: build::sockets(parts.sockets, &mut []),
            vrs: parts.vrs,
            groups: parts.groups,
            scripts: parts.scripts,
            polled,
            bfds,
            settings,
            notify: notify::Runner::new(notify_as).mailing(notify::Settings::from_config(&config.global)),
            unattributed: Counters::default(),
            events,
            buf: Box::new([0; RECV_BUFFER]),
        })
    }

    /// Starts every instance (RFC 9568 Startup) with the links as they are now.
    pub fn start(&mut self, now: Instant) {
        let delay = self.config.global.startup_delay;
        if delay.is_zero() {
            self.start_now(now);
        } else {
            log::info!("vrrp: starting in {}ms (startup_delay)", delay.as_millis());
            self.start_at = Some(now + delay);
        }
    }

    /// True once the instances have started (after `startup_delay`).
    fn started(&self) -> bool {
        self.start_at.is_none()
    }

    fn start_now(&mut self, now: Instant) {
        self.start_at = None;
        for i in 0..self.vrs.len() {
            let iface = &self.links.ifaces[self.vrs[i].iface];
            if !iface.present() {
                log::info!(
                    "vrrp {}: interface {} does not exist (yet): FAULT until it appears",
                    self.vrs[i].name,
                    iface.link.name
                );
            }
            // A VIP left behind by a master that died (kill -9, power loss) would answer
            // ARP beside the real master: start clean, as keepalived does.
            self.change_vips(i, false);
            self.refresh_link(i, now);
            self.vrs[i].instance.start(now);
        }
        self.flush(now);
    }

    /// Feeds an instance its link state, source address and tracked interfaces.
    fn refresh_link(&mut self, i: usize, now: Instant) {
        let vr = &mut self.vrs[i];
        let iface = &self.links.ifaces[vr.iface];
        let source = advert_source(vr, &self.links);
        // No address to send from is as good as no link (keepalived: FAULT).
        let usable = iface.link.is_up() && source.is_some();
        vr.instance.set_primary(source);
        if let Some(usable) = vr.link_delay.observe(now, usable) {
            vr.instance.set_link(now, usable);
        }
        for &(pos, tracked) in &vr.track_ifaces {
            vr.instance.set_tracked(now, tracked, self.links.ifaces[pos].link.is_up());
        }
    }

    /// Descriptors to wait on, with what each belongs to.
    pub fn fds(&self) -> Vec<(BorrowedFd<'_>, Source)> {
        let mut fds = vec![(self.monitor.as_fd(), Source::Monitor)];
        fds.extend(self.sockets.iter().enumerate().map(|(i, s)| (s.as_fd(), Source::Socket(i))));
        fds.extend(self.scripts.exit_fds().map(|fd| (fd, Source::Child)));
        fds.extend(self.notify.running().filter_map(|s| s.exit_fd()).map(|fd| (fd, Source::Child)));
        fds.push((self.addresses.fd(), Source::Addresses));
        fds.push((self.builds.fd(), Source::Built));
        fds.extend(self.polled.fd().map(|fd| (fd, Source::Polled)));
        fds.extend(self.bfds.fds().map(|(fd, i)| (fd, Source::Bfd(i))));
        fds
    }

    /// The earliest time [`tick`](Self::tick) has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let instances = self.vrs.iter().filter_map(|v| v.instance.poll_timeout());
        let bursts = self.vrs.iter().filter(|v| v.adding == 0).filter_map(|v| v.burst.map(|(_, t)| t));
        let links = self.vrs.iter().filter_map(|v| v.link_delay.deadline());
        instances
            .chain(bursts)
            .chain(links)
            .chain(self.start_at)
            .chain(self.polled.deadline())
            .chain(self.bfds.deadline())
            .chain(self.scripts.next_deadline())
            .chain(self.notify.next_deadline())
            .min()
    }

    /// Handles a readable descriptor.
    pub fn on_readable(&mut self, source: Source, now: Instant) {
        match source {
            Source::Monitor => self.read_monitor(),
            Source::Socket(s) => self.read_socket(s, now),
            // Reaped in `tick`.
            Source::Child => {}
            Source::Addresses => self.addresses_done(now),
            Source::Built => self.builds_done(),
            Source::Polled => self.polled_read(now),
            Source::Bfd(l) => {
                let changes = self.bfds.read(l, now);
                self.bfd_changed(&changes, now);
            }
        }
        // Reading the interfaces may have waited for the kernel.
        self.flush(Instant::now().max(now));
    }

    fn read_monitor(&mut self) {
        let mut appeared = false;
        loop {
            let event = match self.monitor.next_event() {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(e) => {
                    log::error!("rtnetlink monitor: {e}");
                    break;
                }
            };
            let indexes: Vec<u32> = self.links.ifaces.iter().map(|i| i.link.index).collect();
            self.builds.note(&event);
            let changed = self.links.apply(&mut self.nl, &event);
            // Applying may have read addresses, and waited for the kernel meanwhile: the
            // instances get the time the change is seen at, not the time the loop woke.
            let now = Instant::now();
            for pos in changed {
                let iface = &self.links.ifaces[pos];
                let (before, index, up) = (indexes[pos], iface.link.index, iface.link.is_up());
                if index != before {
                    if index == 0 {
                        log::info!("interface {}: gone", iface.link.name);
                    } else {
                        log::info!("interface {}: appeared (index {index})", iface.link.name);
                        appeared = true;
                    }
                }
                // The kernel reports a link change several ways (admin, operational,
                // carrier); say it once.
                if self.logged_up[pos] != up {
                    self.logged_up[pos] = up;
                    log::info!("interface {}: {}", iface.link.name, if up { "up" } else { "down" });
                }
                let affected: Vec<usize> = (0..self.vrs.len())
                    .filter(|&i| {
                        let v = &self.vrs[i];
                        v.iface == pos
                            || v.vip_iface() == pos
                            || v.track_ifaces.iter().any(|&(p, _)| p == pos)
                    })
                    .collect();
                for i in affected {
                    self.refresh_link(i, now);
                }
            }
        }
        // An interface that appeared (created late, or deleted and created again under a
        // new index) needs its sockets, multicast memberships and vmacs opened again; the
        // instances continue with their state, as at a reload of the same file.
        if appeared {
            self.request_rebuild(Instant::now());
        }
    }

    fn read_socket(&mut self, s: usize, now: Instant) {
        loop {
            let received = match self.sockets[s].recv(&mut self.buf[..]) {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    log::error!("{e}");
                    break;
                }
            };
            // Each advert counts from when it is read, never from before: one that arrived
            // while this loop was busy (or the thread descheduled after the clock was read)
            // would start a backup's Master_Down timer early, and under load a backup took
            // over 333 ms after the master's last advert on the wire, below the 361 ms
            // Master_Down_Interval.
            let now = Instant::now().max(now);
            let (src, dst, ttl) = (received.src, received.dst, received.ttl);
            let parsed = received.parse();
            let (message, rest) = received.message_and_rest();
            let vrid = match &parsed {
                Ok(repr) => Some(repr.vrid),
                Err(rejected) => rejected.vrid,
            };
            let target = vrid.and_then(|id| {
                self.vrs.iter().position(|v| {
                    v.socket == Some(s) && v.instance.params().vrid == id && v.mode().admits(src, dst)
                })
            });
            if target.is_none() && vrid.is_some_and(|id| heard_elsewhere(&self.vrs, s, id)) {
                continue;
            }
            if target.is_none() && !dst.is_multicast() {
                // A unicast advert for one of our VRIDs from an address that is not a peer
                // (check_unicast_src): counted on that instance, as keepalived logs it.
                let stranger = vrid.and_then(|id| {
                    self.vrs.iter().position(|v| {
                        v.socket == Some(s) && v.instance.params().vrid == id && v.mode().is_unicast()
                    })
                });
                if let Some(i) = stranger {
                    self.vrs[i].instance.count_discard(crate::vrrp::counters::Discard::Source);
                    continue;
                }
            }
            match (parsed, target) {
                (Ok(repr), Some(i)) => {
                    let vr = &mut self.vrs[i];
                    let signed = match vr.signing.as_mut() {
                        Some(signing) => signing.admits(&vr.name, &mut vr.instance, src, message, rest),
                        None => true,
                    };
                    if signed {
                        vr.instance.handle_advert(now, src, ttl, &repr);
                    }
                }
                (Ok(_), None) => self.unattributed.discard(crate::vrrp::counters::Discard::Vrid),
                (Err(rejected), Some(i)) => self.vrs[i].instance.count_discard(rejected.reason),
                (Err(rejected), None) => self.unattributed.discard(rejected.reason),
            }
        }
    }

    /// Hands the instances the tracked files and processes whose value changed.
    fn polled_read(&mut self, now: Instant) {
        for pos in self.polled.finished(now) {
            let value = self.polled.value(pos);
            for vr in &mut self.vrs {
                for &(p, tracked, effect) in &vr.track_polled {
                    if p == pos {
                        let (weight, up) = effect.of(value);
                        vr.instance.set_tracked_weight(now, tracked, weight, up);
                    }
                }
            }
        }
    }

    /// Hands the instances the BFD sessions that went up or down, and the event stream
    /// every change.
    fn bfd_changed(&mut self, changes: &[bfd::Change], now: Instant) {
        for change in changes {
            self.events.emit(
                "bfd",
                vec![
                    ("check", Json::str(&change.name)),
                    ("neighbor", Json::str(change.neighbor.to_string())),
                    ("from", Json::str(change.from.name())),
                    ("to", Json::str(change.to.name())),
                    ("diag", Json::str(crate::bfd::packet::Diag::describe(change.diag))),
                ],
            );
            let Some(up) = change.up() else { continue };
            for vr in &mut self.vrs {
                for &(c, tracked, reverse) in &vr.track_bfds {
                    if c == change.check {
                        vr.instance.set_tracked(now, tracked, up != reverse);
                    }
                }
            }
        }
    }

    /// Timers, announcement rounds, scripts and notify children that are due.
    pub fn tick(&mut self, now: Instant) {
        self.polled.poll(now);
        let changes = self.bfds.tick(now);
        self.bfd_changed(&changes, now);
        if self.start_at.is_some_and(|t| t <= now) {
            self.start_now(now);
        }
        for vr in &mut self.vrs {
            if let Some(usable) = vr.link_delay.due(now) {
                vr.instance.set_link(now, usable);
            }
            if vr.instance.poll_timeout().is_some_and(|t| t <= now) {
                vr.instance.handle_timeout(now);
            }
        }
        for (script, up) in self.scripts.poll(now) {
            for vr in &mut self.vrs {
                for &(s, tracked) in &vr.track_scripts {
                    if s == script {
                        vr.instance.set_tracked(now, tracked, up);
                    }
                }
            }
        }
        for i in 0..self.vrs.len() {
            self.announce_due(i, now);
        }
        for report in self.notify.poll(now) {
            match report {
                Report::Finished(job, outcome) if outcome != crate::process::Outcome::Exited(0) => {
                    log::info!("notify {:?}: {outcome:?}", job.command)
                }
                Report::Finished(..) => {}
                Report::Failed(job, e) => log::error!("notify {:?}: cannot run: {e}", job.command),
            }
        }
        self.flush(now);
    }

    /// Executes every instance's actions, then lets sync groups react, until quiet; then
    /// the routes and rules follow the masters.
    fn flush(&mut self, now: Instant) {
        self.report_priorities();
        self.flush_actions(now);
        self.sync_routing();
    }

    /// Hands the routing thread what the configuration wants held with the masters as
    /// they are now (it sends nothing when that did not change).
    pub(super) fn sync_routing(&mut self) {
        let c = &self.config;
        if c.routes.is_empty()
            && c.rules.is_empty()
            && c.global.static_addresses.is_empty()
            && self.routing.is_none()
        {
            return;
        }
        if self.routing.is_none() && !self.routing_failed {
            match Routing::start() {
                Ok(r) => self.routing = Some(r),
                Err(e) => {
                    log::error!("routing: {e}; routes and rules are not held");
                    self.routing_failed = true;
                }
            }
        }
        let plan = crate::routing::plan(&self.config, |i| self.is_master(i));
        if let Some(r) = &mut self.routing {
            r.hold(plan);
        }
    }

    fn flush_actions(&mut self, now: Instant) {
        // A group reaction can cause one more round of transitions, never more: forced
        // transitions carry Reason::SyncGroup, which the coordinator ignores.
        for _ in 0..3 {
            let mut events = Vec::new();
            for i in 0..self.vrs.len() {
                while let Some(action) = self.vrs[i].instance.poll_action() {
                    if let Some(event) = self.execute(i, action, now) {
                        events.push(event);
                    }
                }
            }
            if events.is_empty() {
                return;
            }
            self.coordinate(&events, now);
        }
    }

    /// Logs and reports each instance whose effective priority changed since it was last
    /// reported: a `priority` event always, and with `notify_priority_changes` the
    /// `notify` script with keepalived's notify-FIFO words (`INSTANCE name
    /// MASTER_PRIORITY|BACKUP_PRIORITY priority`). Not before the instance started.
    fn report_priorities(&mut self) {
        for vr in &mut self.vrs {
            let (now_priority, state) = (vr.instance.effective_priority(), vr.instance.state());
            let was = std::mem::replace(&mut vr.reported_priority, now_priority);
            if was == now_priority || state == State::Initialize {
                continue;
            }
            log::info!("vrrp {}: priority {was} -> {now_priority} ({})", vr.name, state.name());
            self.events.emit(
                "priority",
                vec![
                    ("instance", Json::str(&vr.name)),
                    ("state", Json::str(state.name())),
                    ("from", Json::Int(i64::from(was))),
                    ("to", Json::Int(i64::from(now_priority))),
                ],
            );
            if vr.notify_priority_changes {
                if let Some(job) = notify::priority_job(&vr.name, state, now_priority, &vr.notify) {
                    self.notify.submit(job);
                }
            }
        }
    }

    fn coordinate(&mut self, events: &[(usize, State, Reason)], now: Instant) {
        for g in 0..self.groups.len() {
            let members = self.groups[g].members.clone();
            let view: Vec<Member> = members
                .iter()
                .map(|&m| {
                    let inst = &self.vrs[m].instance;
                    Member {
                        state: inst.state(),
                        own_fault: inst.own_fault(),
                        group_fault: inst.group_fault(),
                    }
                })
                .collect();
            let ours = events.iter().filter_map(|&(i, to, reason)| {
                members.iter().position(|&m| m == i).map(|local| (local, to, reason))
            });
            let mut commands: Vec<(usize, Command)> = Vec::new();
            for event in ours {
                commands.extend(group::commands(&view, Some(event)));
            }
            commands.dedup();
            for (local, command) in commands {
                let inst = &mut self.vrs[members[local]].instance;
                match command {
                    Command::GroupFault(f) => inst.set_group_fault(now, f),
                    Command::ForceMaster => inst.force_master(now),
                    Command::ForceBackup => inst.force_backup(now),
                }
            }
        }
    }

    /// Notifies a sync group whose members now all share one state it was not in.
    fn group_settled(&mut self, g: usize) {
        let shared = {
            let states: Vec<State> =
                self.groups[g].members.iter().map(|&m| self.vrs[m].instance.state()).collect();
            states.first().copied().filter(|s| states.iter().all(|x| x == s))
        };
        let group = &mut self.groups[g];
        if shared.is_some() && shared != group.state {
            group.state = shared;
            if let Some(state) = shared {
                log::info!("sync group {}: {}", group.name, state.name());
                self.events.emit(
                    "sync_group",
                    vec![("group", Json::str(&group.name)), ("state", Json::str(state.name()))],
                );
                for job in notify::jobs(Kind::Group, &group.name, state, 0, &group.notify) {
                    self.notify.submit(job);
                }
            }
        }
    }

    /// Carries out one action of instance `i`; returns the transition it reported.
    fn execute(&mut self, i: usize, action: Action, now: Instant) -> Option<(usize, State, Reason)> {
        match action {
            Action::Transition { from, to, reason } => {
                self.vrs[i].transitions += 1;
                let vr = &self.vrs[i];
                let priority = vr.instance.effective_priority();
                log::info!(
                    "vrrp {}: {} -> {} (priority {priority}, {})",
                    vr.name,
                    from.name(),
                    to.name(),
                    reason_text(reason)
                );
                self.events.emit(
                    "vrrp",
                    vec![
                        ("instance", Json::str(&vr.name)),
                        ("from", Json::str(from.name())),
                        ("to", Json::str(to.name())),
                        ("reason", Json::str(reason_text(reason))),
                        ("priority", Json::Int(i64::from(priority))),
                    ],
                );
                // A full queue is logged and counted by the runner.
                for job in notify::jobs(Kind::Instance, &vr.name, to, priority, &vr.notify) {
                    self.notify.submit(job);
                }
                if let Some(g) = vr.group {
                    self.group_settled(g);
                }
                return Some((i, to, reason));
            }
            Action::AddVips => self.change_vips(i, true),
            Action::RemoveVips => {
                self.vrs[i].burst = None;
                self.change_vips(i, false);
            }
            Action::SendAdvert { priority } => self.send_advert(i, priority),
            Action::AddressListDiffers { src, theirs, strict } => {
                let vr = &self.vrs[i];
                let ours = vr.instance.params().addresses.len();
                let what =
                    if strict { "discarded (strict_mode)" } else { "taken all the same (strict_mode off)" };
                log::info!(
                    "vrrp {}: adverts from {src} carry another address list ({theirs} addresses, ours {ours}): {what}",
                    vr.name
                );
            }
            Action::Announce | Action::AnnounceToLower => {
                let vr = &mut self.vrs[i];
                let rounds = match action {
                    Action::AnnounceToLower => vr.garp_lower_prio_repeat,
                    _ => vr.garp_repeat,
                };
                // None (garp_lower_prio_repeat 0) leaves a burst in progress alone.
                if rounds > 0 {
                    vr.burst = Some((rounds, now));
                }
                self.announce_due(i, now);
            }
        }
        None
    }

    fn change_vips(&mut self, i: usize, add: bool) {
        let vips = self.vrs[i].vips.clone();
        self.change_vip_list(i, &vips, add);
    }

    /// Asks the address thread to add or remove `vips` on their interfaces: their own
    /// `dev`, else instance `i`'s VIP interface. One batch per interface.
    fn change_vip_list(&mut self, i: usize, vips: &[Vip], add: bool) {
        let vr = &mut self.vrs[i];
        let mut by_iface: Vec<(usize, Vec<Vip>)> = Vec::new();
        for vip in vips {
            let Some(pos) = vip_iface(vr, &self.links, vip) else { continue };
            match by_iface.iter_mut().find(|(p, _)| *p == pos) {
                Some((_, list)) => list.push(vip.clone()),
                None => by_iface.push((pos, vec![vip.clone()])),
            }
        }
        for (pos, list) in by_iface {
            let iface = &self.links.ifaces[pos];
            if !iface.present() {
                // Deleting an interface deletes its addresses; there is nowhere to add them.
                continue;
            }
            self.addresses.change(&vr.name, &iface.link, &list, add);
            if add {
                vr.adding += 1;
            }
        }
    }

    /// Batches the address thread finished: a new master's announcements, held back
    /// until its VIPs were in, go out now.
    fn addresses_done(&mut self, now: Instant) {
        for done in self.addresses.finished() {
            let Some(i) = self.vrs.iter().position(|v| v.name == done.instance) else { continue };
            if done.add {
                let vr = &mut self.vrs[i];
                vr.adding = vr.adding.saturating_sub(1);
                self.announce_due(i, now);
            }
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8) {
        let vr = &mut self.vrs[i];
        if !self.links.ifaces[vr.iface].link.is_up() {
            // Leaving mastership because the link went down: nobody can hear it.
            return;
        }
        let Some(src) = advert_source(vr, &self.links) else {
            log::error!("vrrp {}: no address to send adverts from", vr.name);
            return;
        };
        let advert = vr.instance.advert(priority);
        let Some(socket) = vr.socket else { return };
        let ttl = vr.advert_ttl();
        // One trailer for every destination: a unicast peer's copy is the same advert.
        let trailer = vr.signing.as_mut().map(|s| s.trailer(&advert, src)).unwrap_or_default();
        let vr = &self.vrs[i];
        for dst in vr.mode().destinations() {
            if let Err(e) = self.sockets[socket].send_with(&advert, &trailer, src, dst, ttl) {
                log::error!("vrrp {}: {e}", vr.name);
            }
        }
    }

    /// Sends the announcement rounds of instance `i` that are due.
    fn announce_due(&mut self, i: usize, now: Instant) {
        if self.vrs[i].adding > 0 {
            // Announced once the VIPs are in (`addresses_done`).
            return;
        }
        while let Some((left, at)) = self.vrs[i].burst {
            if at > now || left == 0 {
                if left == 0 {
                    self.vrs[i].burst = None;
                }
                return;
            }
            self.announce_round(i);
            // garp_interval is the gap between rounds on the wire: counted from this send,
            // not from when the loop woke (on a busy box that may be many ms earlier, and
            // the next round would follow this one almost at once).
            let sent = Instant::now().max(now);
            let vr = &mut self.vrs[i];
            vr.burst = (left > 1).then(|| (left - 1, sent + vr.garp_interval));
        }
    }

    fn announce_round(&mut self, i: usize) {
        let vr = &self.vrs[i];
        // The instance's own VIPs go out on its interface (with the virtual MAC under
        // use_vmac); a VIP with a `dev` of its own on that interface, with its MAC.
        let mut targets: Vec<usize> = vec![vr.iface];
        for vip in vr.vips.iter().filter(|v| v.opts.dev.is_some()) {
            if let Some(pos) = vip_iface(vr, &self.links, vip).filter(|p| !targets.contains(p)) {
                targets.push(pos);
            }
        }
        for pos in targets {
            self.announce_on(i, pos);
        }
    }

    /// Announces instance `i`'s VIPs that live on interface `pos`.
    fn announce_on(&mut self, i: usize, pos: usize) {
        let vr = &self.vrs[i];
        let iface = &self.links.ifaces[pos];
        if !iface.present() {
            return;
        }
        let mac = match vr.virtual_mac {
            Some(mac) if pos == vr.iface => mac,
            _ => match iface.link.mac {
                Some(m) => MacAddr(m),
                None => return,
            },
        };
        let slot = &mut self.packet[pos];
        if slot.is_none() {
            match PacketSocket::open_index(iface.link.index, &iface.link.name) {
                Ok(s) => *slot = Some(s),
                Err(e) => {
                    log::error!("vrrp {}: {e}", vr.name);
                    return;
                }
            }
        }
        let Some(sock) = slot.as_ref() else { return };
        let router = ipv6_forwarding(&iface.link.name);
        let on_pos = |v: &&Vip| match v.opts.dev {
            None => pos == vr.iface,
            Some(_) => vip_iface(vr, &self.links, v) == Some(pos),
        };
        for vip in vr.vips.iter().filter(on_pos) {
            let sent = match vip.addr {
                IpAddr::V4(v4) => sock.send(&announce::gratuitous_arp(v4, mac)),
                IpAddr::V6(v6) => {
                    sock.send(&announce::neighbour_advert(&NeighbourAdvert::for_vip(v6, mac, router)))
                }
            };
            if let Err(e) = sent {
                log::error!("vrrp {}: announcing {}: {e}", vr.name, vip.addr);
            }
        }
    }

    /// Every instance as the status endpoint shows it.
    pub fn status(&self, now: Instant) -> Vec<status::Vrrp> {
        self.vrs
            .iter()
            .map(|vr| {
                let i = &vr.instance;
                let params = i.params();
                let master = match i.state() {
                    State::Master => advert_source(vr, &self.links),
                    _ => i.master().map(|(addr, _)| addr),
                };
                status::Vrrp {
                    name: vr.name.clone(),
                    interface: self.links.ifaces[vr.iface].link.name.to_string(),
                    vrid: params.vrid,
                    version: if params.version == Version::V2 { 2 } else { 3 },
                    state: i.state(),
                    fault: self.fault(vr),
                    priority: i.effective_priority(),
                    base_priority: params.priority,
                    master,
                    since: i.since(),
                    transitions: vr.transitions,
                    vips: vr.vips.iter().map(|v| format!("{}/{}", v.addr, v.prefix)).collect(),
                    held: i.hold(now) == Some(Hold::Indefinite),
                    yield_until: match i.hold(now) {
                        Some(Hold::Until(t)) => Some(t),
                        _ => None,
                    },
                    counters: i.counters().clone(),
                }
            })
            .collect()
    }

    /// Why instance `vr` is in FAULT, for the status; none in other states.
    fn fault(&self, vr: &Vr) -> Option<&'static str> {
        if vr.instance.state() != State::Fault {
            return None;
        }
        let iface = &self.links.ifaces[vr.iface];
        Some(if !iface.present() {
            "no interface"
        } else if !iface.link.is_up() {
            "interface down"
        } else if advert_source(vr, &self.links).is_none() {
            "no address"
        } else if vr.instance.own_fault() {
            "tracking"
        } else {
            "sync group"
        })
    }

    /// The operator's `hold` or `yield` (`Some`) or its end (`None`) on instance `name`.
    pub fn set_hold(&mut self, name: &str, hold: Option<Hold>, now: Instant) -> Result<(), String> {
        let i = self
            .vrs
            .iter()
            .position(|v| v.name == name)
            .ok_or_else(|| format!("no vrrp instance {name:?}"))?;
        let what = match hold {
            None => "released".to_owned(),
            Some(Hold::Indefinite) => "held BACKUP".to_owned(),
            Some(Hold::Until(t)) => format!("yielding for {}s", t.saturating_duration_since(now).as_secs()),
        };
        log::info!("vrrp {name}: {what} (operator)");
        self.vrs[i].instance.set_hold(now, hold);
        self.flush(now);
        Ok(())
    }

    /// True while instance `i` (an index into the configuration's `vrrp` table) is master.
    pub fn is_master(&self, i: usize) -> bool {
        self.vrs.get(i).is_some_and(|vr| vr.instance.state() == State::Master)
    }

    /// Stops every instance: masters send priority 0 and release their addresses.
    pub fn shutdown(&mut self, now: Instant) {
        self.abandon_builds();
        for vr in &mut self.vrs {
            vr.instance.shutdown(now);
        }
        self.flush(now);
        // The VIPs must be gone before the process is (and before a vmac goes), and
        // the routes and rules keeplite holds with them.
        self.addresses.wait_idle();
        if let Some(r) = &mut self.routing {
            r.stop();
        }
        self.settings.restore();
        self.bfds.shutdown();
        for vr in &self.vrs {
            log::info!("vrrp {}: counters: {}", vr.name, vr.instance.counters());
        }
        log::info!("vrrp: packets for no instance: {}", self.unattributed);
        for vr in self.vrs.iter().filter(|v| v.vlink.is_some()) {
            if let Err(e) =
                virtual_link::remove(&mut self.nl, vr.instance.params().vrid, vr.family == Family::Ipv6)
            {
                log::error!("vrrp {}: removing its vmac: {e}", vr.name);
            }
        }
        self.scripts.kill_all();
        // Start the stop scripts; they run on in their own process groups.
        self.notify.poll(now);
    }
}

/// The interface position VIP `vip` of `vr` lives on: its own `dev`, else the instance's
/// VIP interface (the vmac with use_vmac).
fn vip_iface(vr: &Vr, links: &Links, vip: &Vip) -> Option<usize> {
    match &vip.opts.dev {
        Some(dev) => links.position(dev),
        None => Some(vr.vip_iface()),
    }
}

/// The address instance `vr` sends adverts from: `src_ip`, else the configured interface's
/// primary IPv4 address, or for IPv6 the link-local address of the interface adverts leave
/// by (the vmac's own with `use_vmac`).
fn advert_source(vr: &Vr, links: &Links) -> Option<IpAddr> {
    let ipv6 = vr.family == Family::Ipv6;
    let leaves_by = if ipv6 { vr.advert_iface() } else { vr.iface };
    vr.src_ip.or_else(|| links.ifaces[leaves_by].source(ipv6))
}

fn reason_text(reason: Reason) -> &'static str {
    match reason {
        Reason::Startup => "startup",
        Reason::Owner => "address owner",
        Reason::MasterDown => "master down",
        Reason::Preempted => "higher priority master",
        Reason::Fault => "fault",
        Reason::Recovered => "recovered",
        Reason::SyncGroup => "sync group",
        Reason::Shutdown => "shutdown",
        Reason::Operator => "operator request",
    }
}

/// keepalived sets the NA router flag when the interface forwards IPv6.
fn ipv6_forwarding(interface: &str) -> bool {
    crate::net::sysctl::read(&format!("ipv6/conf/{interface}/forwarding")).as_deref() == Some("1")
}

/// True when an advert for `vrid` that socket `s` heard belongs to an instance of the
/// same interface and family that listens on another socket: a vmac hears every VRRP
/// multicast of its parent's LAN, and the parent hears those that come from outside.
fn heard_elsewhere(vrs: &[Vr], s: usize, vrid: u8) -> bool {
    let Some(heard_by) = vrs.iter().find(|v| v.socket == Some(s)) else { return false };
    vrs.iter().any(|v| {
        v.socket != Some(s)
            && v.iface == heard_by.iface
            && v.family == heard_by.family
            && v.instance.params().vrid == vrid
    })
}
