//! OpenWrt's LAN as netifd makes it, and netifd's ways of making it again, reproduced with
//! `ip` in a namespace; and a pair of routers on such LANs (keeplite with keeplite, or
//! with the distribution's keepalived) whose bridge re-creations a test times.
//!
//! What netifd does, from its sources (openwrt/netifd `device.c`, `bridge.c`,
//! `system-linux.c`, `interface.c`): a `network reload` that changes a bridge device's
//! option (mtu, macaddr, stp, forward_delay, igmp_snooping, ...) makes `device_apply_config`
//! return DEV_CONFIG_RESTART, which takes the device away from its users
//! (`device_set_present(false)`) and gives it back. The `lan` interface goes down first:
//! its protocol handler is torn down and its addresses deleted. Releasing the device calls
//! `bridge_set_down`: the bridge goes down (`system_if_down`), each port is taken off it
//! (`SIOCBRDELIF`) and released, which takes the port down too, and the bridge is deleted
//! (`SIOCBRDELBR`). Coming back, `bridge_set_up` creates it (`SIOCBRADDBR`, then STP on or
//! off, the forward delay, multicast snooping and querier, hash_max, priority), claims each
//! port (IPv6 off on it, up) and adds it (`SIOCBRADDIF`), gives the bridge its first port's
//! MAC (or `macaddr`), and `system_if_up` applies mtu and MAC and sets it up; the interface
//! then sees the device up and `proto static` adds its addresses. With STP on, the kernel
//! keeps the new port listening and learning for twice the forward delay (netifd's default
//! 2 s), and the bridge has no carrier (is not running) until a port forwards. `ifdown lan`
//! and `ifup lan` (which sends down, then up) do the same with the shell's time between
//! them; `network restart` stops netifd, which takes everything down, and starts it again
//! (a second or two later on a real router). Adding or removing a port only adds or takes
//! one off (`SIOCBRADDIF`/`SIOCBRDELIF`): the bridge keeps its index.
//!
//! netifd makes each of these calls back to back; so does [`recreate`] (one `ip -batch`).

use super::daemon::{logs, Daemon};
use super::timeline::{Stretches, Timeline};
use super::wire::{between, master_down_interval, Advert, Capture, Frame};
use super::{Lan, Netns};
use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The LAN bridge of an OpenWrt box.
pub const BRIDGE: &str = "br-lan";
/// VRRPv3 adverts every 100 ms, on both routers.
pub const ADVERT: Duration = Duration::from_millis(100);
/// The virtual router of every pair here.
pub const VRID: u8 = 81;
pub const VIP4: &str = "198.51.100.150";
pub const VIP6: &str = "2001:db8:1::150";
/// How long the pair must stay as the priorities say (one holder, the right one; each
/// daemon in the state it should be) to count as settled.
pub const STEADY: Duration = Duration::from_secs(1);
/// What a loaded 2-core machine adds to a protocol bound: the daemon's and the test's
/// threads scheduled late, `ip` and the kernel's notifications (linkwatch) late. Measured
/// under `stress-ng --cpu 2` plus the other work of the machine; see docs/benchmarks.md,
/// "Bridge re-creation soak".
pub const SLACK: Duration = Duration::from_millis(150);
/// The longest two routers may both hold the VIP at a hand-back, until the old master has
/// logged leaving MASTER: one advert interval (it drops it when the new master's first
/// advert arrives) plus [`SLACK`]. The kernel's removing the VIP after that waits for the
/// RTNL lock (one lock for all namespaces: other tests' namespace and link changes hold it;
/// 108-364 ms seen under load) and is reported ([`Overlap`]). On the wire, two masters'
/// adverts may overlap by one advert interval only.
pub const TWO_HOLDERS: Duration = Duration::from_millis(100 + 150);

/// A `config device` of type bridge and the `lan` interface on it: what netifd applies
/// when it creates `br-lan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanConfig {
    pub ports: Vec<String>,
    pub mtu: Option<u32>,
    /// `macaddr`; without it the bridge gets its first port's MAC (`bridge_reset_primary`).
    pub macaddr: Option<String>,
    pub stp: bool,
    /// Seconds (netifd's default 2; the kernel's 15 would apply without netifd).
    pub forward_delay: u32,
    pub igmp_snooping: bool,
    /// `proto static`'s `ipaddr`, CIDR; `None` with `proto dhcp` until a lease comes.
    pub ipaddr: Option<String>,
}

impl LanConfig {
    /// `br-lan` over `eth0` with netifd's defaults and `proto static` with `ipaddr`.
    pub fn new(ipaddr: &str) -> LanConfig {
        LanConfig {
            ports: vec!["eth0".into()],
            mtu: None,
            macaddr: None,
            stp: false,
            forward_delay: 2,
            igmp_snooping: false,
            ipaddr: Some(ipaddr.into()),
        }
    }
}

/// Runs `lines` as one `ip -n NS -batch -`: back to back, as netifd makes its calls.
fn ip_batch(ns: &Netns, lines: &[String]) {
    let mut child = Command::new("ip")
        .args(["-n", &ns.name, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ip -batch");
    child.stdin.take().expect("stdin").write_all(lines.join("\n").as_bytes()).expect("write ip batch");
    let out = child.wait_with_output().expect("wait for ip -batch");
    assert!(
        out.status.success(),
        "{}: ip -batch failed: {}\n{}",
        ns.name,
        String::from_utf8_lossy(&out.stderr),
        lines.join("\n")
    );
}

/// The MAC of `dev` in `ns`.
pub fn mac_of(ns: &Netns, dev: &str) -> String {
    let out = ns.ip_output(&["-o", "link", "show", "dev", dev]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "link/ether");
    words.next().unwrap_or_else(|| panic!("{}: no MAC on {dev}: {out}", ns.name)).to_owned()
}

/// netifd's member settings: IPv6 off on a bridge port (`bridge_enable_member`).
fn ipv6_off(ns: &Netns, ports: &[String]) {
    ns.run(|| {
        for port in ports {
            std::fs::write(format!("/proc/sys/net/ipv6/conf/{port}/disable_ipv6"), "1")
                .expect("disable_ipv6 on a bridge port");
        }
    });
}

/// `bridge_set_up` and the interface's setup: bridge created with its options, ports up
/// and added, MAC and MTU set, up, then the static address.
fn up_lines(ns: &Netns, c: &LanConfig) -> Vec<String> {
    let mac = c.macaddr.clone().unwrap_or_else(|| mac_of(ns, &c.ports[0]));
    let mut l = vec![format!(
        "link add {BRIDGE} type bridge forward_delay {} stp_state {} mcast_snooping {} mcast_querier {} \
         mcast_hash_max 512 priority 32767",
        c.forward_delay * 100,
        u8::from(c.stp),
        u8::from(c.igmp_snooping),
        u8::from(c.igmp_snooping)
    )];
    for port in &c.ports {
        l.push(format!("link set {port} up"));
        l.push(format!("link set {port} master {BRIDGE}"));
    }
    l.push(format!("link set {BRIDGE} address {mac}"));
    if let Some(mtu) = c.mtu {
        l.push(format!("link set {BRIDGE} mtu {mtu}"));
    }
    l.push(format!("link set {BRIDGE} up"));
    if let Some(ip) = &c.ipaddr {
        l.push(format!("addr add {ip} dev {BRIDGE}"));
    }
    l
}

/// The interface's teardown and `bridge_set_down`: addresses deleted, bridge down, ports
/// taken off and down, bridge deleted.
fn down_lines(c: &LanConfig) -> Vec<String> {
    let mut l = Vec::new();
    if let Some(ip) = &c.ipaddr {
        l.push(format!("addr del {ip} dev {BRIDGE}"));
    }
    l.push(format!("link set {BRIDGE} down"));
    for port in &c.ports {
        l.push(format!("link set {port} nomaster"));
        l.push(format!("link set {port} down"));
    }
    l.push(format!("link del {BRIDGE}"));
    l
}

/// Makes `br-lan` in `ns` as netifd does at boot.
pub fn lan_up(ns: &Netns, c: &LanConfig) {
    ipv6_off(ns, &c.ports);
    ip_batch(ns, &up_lines(ns, c));
}

/// Takes `br-lan` in `ns` away as netifd does (`ifdown lan`, netifd stopping).
pub fn lan_down(ns: &Netns, c: &LanConfig) {
    ip_batch(ns, &down_lines(c));
}

/// A `network reload` that restarts the device: `br-lan` deleted and made again with `new`
/// at once (a new index).
pub fn recreate(ns: &Netns, old: &LanConfig, new: &LanConfig) {
    // The first port's MAC is read before its bridge goes (it keeps it anyway).
    let mac = new.macaddr.clone().unwrap_or_else(|| mac_of(ns, &new.ports[0]));
    let new = LanConfig { macaddr: Some(mac), ..new.clone() };
    ip_batch(ns, &down_lines(old));
    ipv6_off(ns, &new.ports);
    ip_batch(ns, &up_lines(ns, &new));
}

/// Turns host `ns` of a [`Lan`] (eth0 into the LAN's switch, with addresses) into an
/// OpenWrt box: eth0 a port of `br-lan`, which holds the address.
pub fn openwrt_box(ns: &Netns, c: &LanConfig) {
    ns.ip(&["addr", "flush", "dev", "eth0"]);
    lan_up(ns, c);
}

/// What a router runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Keeplite,
    Keepalived,
}

/// One router of a pair.
pub struct Router {
    pub kind: Kind,
    pub priority: u8,
    /// What its `br-lan` is made with now.
    pub config: LanConfig,
    pub daemon: Daemon,
}

impl Router {
    /// The state its log last reported: MASTER, BACKUP or FAULT.
    pub fn state(&self) -> Option<String> {
        last_state(self.kind, &self.daemon.log())
    }
}

/// The state the last transition line of a log names.
fn last_state(kind: Kind, log: &str) -> Option<String> {
    log.lines().rev().find_map(|l| transition_to(kind, l)).map(str::to_owned)
}

/// The state a log line says the instance entered, if it is a transition line: keeplite's
/// `vrrp gw: BACKUP -> MASTER (...)`, keepalived's `(gw) Entering MASTER STATE`.
pub fn transition_to(kind: Kind, line: &str) -> Option<&str> {
    match kind {
        Kind::Keeplite => {
            let rest = line.split_once("vrrp gw: ")?.1;
            let to = rest.split_once(" -> ")?.1;
            to.split_whitespace().next()
        }
        Kind::Keepalived => {
            let rest = line.split_once("Entering ")?.1;
            rest.strip_suffix(" STATE").or_else(|| rest.split_once(" STATE").map(|(s, _)| s))
        }
    }
}

fn keeplite_conf(priority: u8, vip: &str) -> String {
    let prefix = if vip.contains(':') { 64 } else { 24 };
    format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface={BRIDGE}\nkeeplite.gw.vrid={VRID}\nkeeplite.gw.priority={priority}\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='{vip}/{prefix}'\n"
    )
}

fn keepalived_conf(priority: u8, vip: &str) -> String {
    let prefix = if vip.contains(':') { 64 } else { 24 };
    format!(
        "global_defs {{\n  router_id peer\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance gw {{\n  state BACKUP\n  interface {BRIDGE}\n  virtual_router_id {VRID}\n  priority {priority}\n\
         advert_int 0.1\n  version 3\n  virtual_ipaddress {{\n    {vip}/{prefix}\n  }}\n}}\n"
    )
}

/// How a box's `br-lan` goes away and comes back.
#[derive(Debug, Clone)]
pub enum Change {
    /// `network reload` after a change that restarts the device (any option of the bridge
    /// device, the interface's `ipaddr`): deleted and made again at once with this.
    Reload(LanConfig),
    /// `network reload` after `proto` went from static to dhcp: made again without an
    /// address, which the lease brings `lease` later.
    ToDhcp { lease: Duration, address: String },
    /// `ifdown lan; ifup lan`: deleted, made again `gap` later.
    IfdownIfup { gap: Duration },
    /// `network restart`: netifd stops (the bridge and its ports go down, the bridge is
    /// deleted) and starts again `gap` later.
    NetworkRestart { gap: Duration },
}

/// Two routers, each on its own OpenWrt box's `br-lan`, and a third host on the LAN that
/// only listens (the wire capture's).
pub struct Pair {
    pub lan: Lan,
    pub routers: Vec<Router>,
    pub timeline: Timeline,
    pub capture: Capture,
    pub vip: &'static str,
    /// When the pair was first settled.
    pub settled: Instant,
}

/// Host i's address on the LAN (i from 0), as `Lan::new` gives its eth0.
pub fn box_address(i: usize) -> String {
    format!("198.51.100.{}/24", i + 1)
}

impl Pair {
    /// Routers `a` and `b` (kind, priority) on hosts 0 and 1, each on a `br-lan` over its
    /// eth0 with netifd's defaults, `shape` applied to host i's; waits until settled.
    pub fn start(
        tag: &str,
        a: (Kind, u8),
        b: (Kind, u8),
        vip: &'static str,
        shape: impl Fn(usize, &mut LanConfig),
    ) -> Pair {
        Pair::start_with(tag, a, b, vip, shape, |_, _| {}, |_| String::new())
    }

    /// [`start`](Self::start), with `prepare(i, host)` run on host i before its `br-lan`
    /// is made, and `extra(i)` added to router i's keeplite configuration.
    pub fn start_with(
        tag: &str,
        a: (Kind, u8),
        b: (Kind, u8),
        vip: &'static str,
        shape: impl Fn(usize, &mut LanConfig),
        prepare: impl Fn(usize, &Netns),
        extra: impl Fn(usize) -> String,
    ) -> Pair {
        assert_ne!(a.1, b.1, "a pair of different priorities: the test knows who must be master");
        let lan = Lan::new(tag, 3);
        let mut configs = Vec::new();
        for i in 0..2 {
            let mut c = LanConfig::new(&box_address(i));
            shape(i, &mut c);
            prepare(i, &lan.hosts[i]);
            openwrt_box(&lan.hosts[i], &c);
            configs.push(c);
        }
        let capture = Capture::start(&lan.hosts[2]);
        let mut routers = Vec::new();
        for (i, ((kind, priority), config)) in [a, b].into_iter().zip(configs).enumerate() {
            let label = format!("{tag}-{}", ["a", "b"][i]);
            let daemon = match kind {
                Kind::Keeplite => {
                    Daemon::keeplite(&lan.hosts[i], &label, &(keeplite_conf(priority, vip) + &extra(i)))
                }
                Kind::Keepalived => {
                    Daemon::keepalived(&lan.hosts[i], &label, &keepalived_conf(priority, vip))
                }
            };
            routers.push(Router { kind, priority, config, daemon });
        }
        let logs: Vec<_> = vec![Some(routers[0].daemon.log_path()), Some(routers[1].daemon.log_path()), None];
        let hosts: Vec<&Netns> = lan.hosts.iter().collect();
        let timeline = Timeline::start(&hosts, &logs, vip);
        let mut pair = Pair { lan, routers, timeline, capture, vip, settled: Instant::now() };
        pair.settled = pair.until_settled(Instant::now(), Duration::from_secs(20));
        pair
    }

    /// The router that must be master: the higher priority.
    pub fn master(&self) -> usize {
        usize::from(self.routers[1].priority > self.routers[0].priority)
    }

    fn daemons(&self) -> Vec<&Daemon> {
        self.routers.iter().map(|r| &r.daemon).collect()
    }

    /// Every daemon's log, for a failure message.
    pub fn logs(&self) -> String {
        logs(&self.daemons())
    }

    /// Waits until the record and the capture hold everything up to `wall` (now, on the wall
    /// clock, when called): their threads may lag behind on a loaded machine. The master
    /// advertises every 100 ms, so the capture has caught up once it holds a frame received
    /// after `wall` (waited for at most 3 s: a silent wire is a finding, not a wait). Asked
    /// with `last_at`: a copy of every frame, asked often, would hold the capture up.
    pub fn catch_up(&self, wall: SystemTime) {
        self.timeline.sync();
        let start = Instant::now();
        while self.capture.last_at().is_none_or(|t| t <= wall) && start.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What happened within `from..to`, for a failure message: the record of the
    /// notifications and log lines (`Timeline::excerpt`; host 2 is the listener) and the
    /// adverts on the wire, each line in ms from `from`.
    pub fn excerpt(&self, from: Instant, to: Instant) -> String {
        let (now, wall_now) = (Instant::now(), SystemTime::now());
        let wall = |t: Instant| wall_now - now.saturating_duration_since(t);
        let adverts: Vec<String> = self
            .capture
            .adverts()
            .into_iter()
            .filter(|a| a.at >= wall(from) && a.at <= wall(to))
            .map(|a| {
                let t = between(wall(from), a.at).as_secs_f64() * 1000.0;
                format!("{t:9.1} ms  wire: advert from {} priority {}", a.src, a.priority)
            })
            .collect();
        let mld: Vec<String> = self
            .capture
            .frames()
            .into_iter()
            .filter(|f| f.at >= wall(from) && f.at <= wall(to))
            .filter_map(|f| {
                let t = between(wall(from), f.at).as_secs_f64() * 1000.0;
                membership(&f.bytes).map(|m| format!("{t:9.1} ms  wire: {m}"))
            })
            .collect();
        format!("{}\n{}\n{}", self.timeline.excerpt(from, to), adverts.join("\n"), mld.join("\n"))
    }

    /// Master_Down_Interval of the router that is not master now.
    pub fn backup_mdi(&self) -> Duration {
        master_down_interval(self.routers[1 - self.master()].priority, ADVERT)
    }

    /// Waits until the pair is as the priorities say and has stayed so for [`STEADY`]
    /// (counted from `after` at the earliest): the master the only VIP holder, its log's
    /// last transition MASTER, the other's BACKUP. Returns when the steady stretch began.
    pub fn until_settled(&self, after: Instant, within: Duration) -> Instant {
        let start = Instant::now();
        let m = self.master();
        loop {
            let changes = self.timeline.holders();
            let (since, held) = changes.last().cloned().expect("the holders' start");
            let since = since.max(after);
            let one = held[..2].iter().enumerate().all(|(i, h)| *h == (i == m));
            let states: Vec<Option<String>> = self.routers.iter().map(Router::state).collect();
            let right = states[m].as_deref() == Some("MASTER") && states[1 - m].as_deref() == Some("BACKUP");
            if one && right && since.elapsed() >= STEADY {
                return since;
            }
            assert!(
                start.elapsed() < within,
                "not settled within {within:?}: VIP on {held:?} since {:?} ago, states {states:?} (master should be \
                 router {m})\n{}",
                since.elapsed(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Applies `change` to router `r`'s `br-lan`, waits until the router has left FAULT
    /// on the new bridge and the pair has settled again, and returns what the kernel, the
    /// logs and the wire showed from the change on.
    pub fn recreate(&mut self, r: usize, change: &Change, what: &str) -> Outcome {
        let ns = &self.lan.hosts[r];
        let t0 = Instant::now();
        let wall0 = SystemTime::now();
        let old = self.routers[r].config.clone();
        match change {
            Change::Reload(new) => {
                recreate(ns, &old, new);
                self.routers[r].config = new.clone();
            }
            Change::ToDhcp { lease, address } => {
                let new = LanConfig { ipaddr: None, ..old.clone() };
                recreate(ns, &old, &new);
                std::thread::sleep(*lease);
                ns.ip(&["addr", "add", address, "dev", BRIDGE]);
                self.routers[r].config = LanConfig { ipaddr: Some(address.clone()), ..old };
            }
            Change::IfdownIfup { gap } | Change::NetworkRestart { gap } => {
                lan_down(ns, &old);
                std::thread::sleep(*gap);
                lan_up(ns, &old);
            }
        }
        // With STP the new bridge forwards after twice the forward delay.
        let forwarding = Duration::from_secs(2 * u64::from(self.routers[r].config.forward_delay));
        let within = Duration::from_secs(20) + forwarding;
        let back = self.until_back(r, t0, within, what);
        self.until_settled(back, within);
        self.outcome(r, what, t0, wall0)
    }

    /// The source addresses adverts of this pair's family leave from.
    fn source(&self) -> impl Fn(&IpAddr) -> bool {
        let ipv6 = self.vip.contains(':');
        let vip: IpAddr = self.vip.parse().expect("vip");
        move |a: &IpAddr| match a {
            IpAddr::V4(_) => !ipv6 && *a != vip,
            IpAddr::V6(v6) => ipv6 && v6.is_unicast_link_local(),
        }
    }

    /// Waits until router `r`'s bridge has been deleted and is usable again and the router
    /// has gone to FAULT and left it (all after `t0`); returns when it left FAULT.
    fn until_back(&self, r: usize, t0: Instant, within: Duration, what: &str) -> Instant {
        let start = Instant::now();
        loop {
            let usable = self.timeline.recreated(r, BRIDGE, t0, self.source()).is_some();
            if let (true, Some((_, back, _))) = (usable, self.fault_and_back(r, t0)) {
                return back;
            }
            assert!(
                start.elapsed() < within,
                "{what}: router {r} not back within {within:?} (its {BRIDGE} usable again: {usable})\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// When router `r` went to FAULT after `t0`, when it left FAULT and for what state.
    fn fault_and_back(&self, r: usize, t0: Instant) -> Option<(Instant, Instant, String)> {
        let kind = self.routers[r].kind;
        let lines = self.timeline.log_lines(r, t0);
        let fault = lines.iter().find(|(_, l)| transition_to(kind, l) == Some("FAULT"))?.0;
        let (back, to) = lines.iter().filter(|(at, _)| *at >= fault).find_map(|(at, l)| {
            transition_to(kind, l).filter(|s| *s != "FAULT").map(|s| (*at, s.to_owned()))
        })?;
        Some((fault, back, to))
    }

    /// What happened from `t0` (`wall0` on the wall clock) until now: router `r`'s bridge
    /// went and came back, and the pair settled again.
    fn outcome(&self, r: usize, what: &str, t0: Instant, wall0: SystemTime) -> Outcome {
        let (end, wall_end) = (Instant::now(), SystemTime::now());
        self.catch_up(wall_end);
        let vip: IpAddr = self.vip.parse().expect("vip");
        let fail = |why: String| -> ! { panic!("{what}: {why}\n{}", self.logs()) };
        let rec = self
            .timeline
            .recreated(r, BRIDGE, t0, self.source())
            .unwrap_or_else(|| fail(format!("router {r}'s {BRIDGE} was not seen deleted and usable again")));
        let (_, back_at, back_to) =
            self.fault_and_back(r, t0).unwrap_or_else(|| fail(format!("router {r} never left FAULT")));
        let kind = self.routers[r].kind;
        let adverts = self.adverts(wall0, wall_end);
        // Master again: its first advert after its bridge was usable, on the wire (the
        // kernel's stamp; its log line, read by the record's thread, may be stamped late).
        let wall = |t: Instant| wall_end - end.saturating_duration_since(t);
        let master_again = (r == self.master()).then(|| {
            let logged = self
                .timeline
                .log_lines(r, back_at)
                .into_iter()
                .find(|(_, l)| transition_to(kind, l) == Some("MASTER"))
                .map(|(at, _)| at)
                .unwrap_or_else(|| fail(format!("router {r} never master again")));
            let sent = adverts
                .iter()
                .filter(|a| a.at >= wall(rec.usable) && self.timeline.host_of(&a.src) == Some(r))
                .map(|a| a.at)
                .min();
            sent.map_or(logged.saturating_duration_since(rec.usable), |t| between(wall(rec.usable), t))
        });
        Outcome {
            what: what.to_owned(),
            router: r,
            from: t0,
            deleted_to_usable: rec.usable.saturating_duration_since(rec.deleted),
            back: back_at.saturating_duration_since(rec.usable),
            back_before_usable: rec.usable.saturating_duration_since(back_at),
            back_to,
            master_again,
            holders: self.timeline.holder_stretches(t0, end),
            gaps: self.gaps(t0, end),
            overlaps: self.overlaps(t0, end),
            charged: self.charged(t0, end, wall0, wall_end),
            wire: WireStretches::of(&adverts, wall0, wall_end),
            new_mac: rec.mac,
            garps: garps(&self.capture.frames(), vip, wall0),
        }
    }
}

/// A stretch without a VIP holder, split where the router that ended it logged its move to
/// MASTER: the protocol's part (the old holder gone, the new one not yet master: at most
/// its Master_Down_Interval) and the kernel's (the new master's VIP being added, which waits
/// for the RTNL lock, one lock for every namespace of the machine: on this shared 2-core
/// machine under load it waited up to 2.3 s, the daemon saying so in its log).
#[derive(Debug, Clone, Copy, Default)]
pub struct Gap {
    pub at: Option<Instant>,
    pub total: Duration,
    /// The router whose VIP ended it.
    pub taker: Option<usize>,
    /// Until the router that ended it logged MASTER (the whole stretch if none did).
    pub until_master: Duration,
    /// From then until the kernel had added its VIP.
    pub adding: Duration,
}

impl Pair {
    /// The stretches within `from..to` without a VIP holder, each split (see [`Gap`]).
    pub fn gaps(&self, from: Instant, to: Instant) -> Vec<Gap> {
        let stretches = self.timeline.holder_stretches(from, to);
        stretches
            .none
            .iter()
            .map(|&(at, total)| {
                let end = at + total;
                let old = self.timeline.vip_removed_at(at);
                // The first other router to log MASTER about then (its VIP may come later).
                let decided = (0..self.routers.len())
                    .filter(|r| Some(*r) != old)
                    .filter_map(|r| self.logged(r, at, end, |to| to == "MASTER").map(|t| (t, r)))
                    .min();
                let taker = decided.map(|d| d.1).or_else(|| self.timeline.vip_added_at(end));
                let until_master = decided.map_or(total, |(t, _)| t.saturating_duration_since(at).min(total));
                Gap { at: Some(at), total, taker, until_master, adding: total.saturating_sub(until_master) }
            })
            .collect()
    }

    /// The stretches within `from..to` with two VIP holders, each split (see [`Overlap`]).
    pub fn overlaps(&self, from: Instant, to: Instant) -> Vec<Overlap> {
        let stretches = self.timeline.holder_stretches(from, to);
        stretches
            .many
            .iter()
            .map(|&(at, total)| {
                let end = at + total;
                let dropper = self.timeline.vip_removed_at(end);
                let decided = dropper.and_then(|r| self.logged(r, at, end, |to| to != "MASTER"));
                let until_dropped = decided.map_or(total, |t| t.saturating_duration_since(at).min(total));
                Overlap { at, total, dropper, until_dropped, removing: total.saturating_sub(until_dropped) }
            })
            .collect()
    }

    /// When router `r` first logged a transition to a state `to` accepts, from a second
    /// before `at` to just after `end` (a line logged just before a notification may be read
    /// in the same turn, and stamped a little after it).
    fn logged(&self, r: usize, at: Instant, end: Instant, to: impl Fn(&str) -> bool) -> Option<Instant> {
        let kind = self.routers.get(r)?.kind;
        let read_late = Duration::from_millis(20);
        self.timeline
            .log_lines(r, at.checked_sub(Duration::from_secs(1)).unwrap_or(at))
            .into_iter()
            .take_while(|(t, _)| *t <= end + read_late)
            .find(|(_, l)| transition_to(kind, l).is_some_and(&to))
            .map(|(t, _)| t)
    }
}

/// A stretch with two VIP holders, split where the router that dropped the VIP last logged
/// that it left MASTER: the protocol's part (the new master's first advert heard, at most
/// one advert interval) and the kernel's (the old one's VIP being removed, which waits for
/// the RTNL lock: 364 ms seen under load).
#[derive(Debug, Clone, Copy)]
pub struct Overlap {
    pub at: Instant,
    pub total: Duration,
    /// The router whose VIP removal ended it.
    pub dropper: Option<usize>,
    /// Until it logged leaving MASTER (the whole stretch if it did not).
    pub until_dropped: Duration,
    /// From then until the kernel had removed its VIP.
    pub removing: Duration,
}

/// The gap of `gaps` whose protocol part is longest (the one the bound is about).
pub fn worst(gaps: &[Gap]) -> Gap {
    gaps.iter().copied().max_by_key(|g| g.until_master).unwrap_or_default()
}

/// An MLD message (query, report, done) in an Ethernet frame, in words: multicast
/// snooping bridges forward VRRP's ff02::12 by what these say.
fn membership(f: &[u8]) -> Option<String> {
    if f.get(12..14)? != [0x86, 0xdd] {
        return None;
    }
    // IPv6 header, then a hop-by-hop options header (MLD carries Router Alert), then ICMPv6.
    let (mut next, mut at) = (*f.get(20)?, 54);
    if next == 0 {
        next = *f.get(at)?;
        at += (usize::from(*f.get(at + 1)?) + 1) * 8;
    }
    if next != 58 {
        return None;
    }
    let kind = match *f.get(at)? {
        130 => "MLD query",
        131 => "MLDv1 report",
        132 => "MLD done",
        143 => "MLDv2 report",
        _ => return None,
    };
    let src = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(f.get(22..38)?).ok()?);
    let dst = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(f.get(38..54)?).ok()?);
    let mut groups = String::new();
    if kind == "MLDv2 report" {
        let n = u16::from_be_bytes([*f.get(at + 6)?, *f.get(at + 7)?]);
        let mut rec = at + 8;
        for _ in 0..n {
            let (rtype, aux, nsrc) =
                (*f.get(rec)?, *f.get(rec + 1)?, u16::from_be_bytes([*f.get(rec + 2)?, *f.get(rec + 3)?]));
            let group = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(f.get(rec + 4..rec + 20)?).ok()?);
            groups.push_str(&format!(" [type {rtype} {group}]"));
            rec += 20 + usize::from(nsrc) * 16 + usize::from(aux) * 4;
        }
    } else if kind != "MLD query" || f.get(at + 8..at + 24)?.iter().any(|b| *b != 0) {
        let group = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(f.get(at + 8..at + 24)?).ok()?);
        groups.push_str(&format!(" [{group}]"));
    }
    Some(format!("{kind} from {src} to {dst}{groups}"))
}

/// The gratuitous ARPs for `vip` seen since `from`: (when, sender MAC).
fn garps(frames: &[Frame], vip: IpAddr, from: SystemTime) -> Vec<(SystemTime, [u8; 6])> {
    let IpAddr::V4(v4) = vip else { return Vec::new() };
    frames
        .iter()
        .filter(|f| f.at >= from)
        .filter_map(|f| {
            let b = &f.bytes;
            // Ethernet + ARP: ethertype 0x0806, sender MAC at 22..28, sender IP at 28..32.
            (b.get(12..14)? == [0x08, 0x06] && b.get(28..32)? == v4.octets())
                .then(|| Some((f.at, <[u8; 6]>::try_from(b.get(22..28)?).ok()?)))?
        })
        .collect()
}

/// Who advertised, as the wire showed it: the stretches without any master advert and the
/// times two routers both advertised as master, each charged to a router.
#[derive(Debug, Clone, Default)]
pub struct WireStretches {
    pub longest_silence: Duration,
    pub longest_overlap: Duration,
    /// Each silence, charged to the source whose advert ended it (it took over late, or it
    /// had stopped itself); the one at the end to the last source heard (unspecified when
    /// nothing was heard).
    pub silences: Vec<(IpAddr, Duration)>,
    /// Each overlap of two routers' runs, charged to the one whose run ended in it (it
    /// should have stopped when the other began).
    pub overlaps: Vec<(IpAddr, Duration)>,
}

impl WireStretches {
    /// From `adverts` (priority above 0) between `from` and `to`. A router's mastership is
    /// a run of its adverts with no gap over three intervals; two routers' runs overlap
    /// from the later one's first advert to the earlier one's last.
    pub fn of(adverts: &[Advert], from: SystemTime, to: SystemTime) -> WireStretches {
        let mut sorted: Vec<Advert> = adverts.to_vec();
        sorted.sort_by_key(|a| a.at);
        let nobody = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        let mut silences = Vec::new();
        let mut prev = from;
        for a in &sorted {
            silences.push((a.src, between(prev, a.at)));
            prev = prev.max(a.at);
        }
        silences.push((sorted.last().map_or(nobody, |a| a.src), between(prev, to)));
        let mut runs: Vec<(IpAddr, SystemTime, SystemTime)> = Vec::new();
        let mut sources: Vec<IpAddr> = sorted.iter().map(|a| a.src).collect();
        sources.sort();
        sources.dedup();
        for src in sources {
            let mine: Vec<SystemTime> = sorted.iter().filter(|a| a.src == src).map(|a| a.at).collect();
            let mut start = mine[0];
            for w in mine.windows(2) {
                if between(w[0], w[1]) > 3 * ADVERT {
                    runs.push((src, start, w[0]));
                    start = w[1];
                }
            }
            runs.push((src, start, *mine.last().expect("one advert")));
        }
        let mut overlaps = Vec::new();
        for (n, a) in runs.iter().enumerate() {
            for b in runs[n + 1..].iter().filter(|b| b.0 != a.0) {
                let (s, e) = (a.1.max(b.1), a.2.min(b.2));
                if e > s {
                    let ended = if a.2 <= b.2 { a.0 } else { b.0 };
                    overlaps.push((ended, between(s, e)));
                }
            }
        }
        WireStretches {
            longest_silence: silences.iter().map(|s| s.1).max().unwrap_or_default(),
            longest_overlap: overlaps.iter().map(|o| o.1).max().unwrap_or_default(),
            silences,
            overlaps,
        }
    }
}

/// What of a stretch of time is keeplite's to answer for: the bounds apply to these. A
/// stretch without a holder is charged to the router that ended it (it took over); two
/// holders to the one that dropped the VIP last; a wire silence to the router whose advert
/// ended it; two masters' adverts to the one that stopped last. A keepalived peer's share is
/// reported, not bounded (its single thread waits for the RTNL lock while it adds a VIP,
/// and stops advertising meanwhile: seen for 689 ms under load).
#[derive(Debug, Clone, Copy, Default)]
pub struct Charged {
    pub gap: Gap,
    /// The longest protocol's part of a stretch with two holders (see [`Overlap`]).
    pub two_holders: Duration,
    pub wire_silence: Duration,
    pub wire_overlap: Duration,
}

impl Charged {
    /// Never longer than `backup_mdi` (the Master_Down_Interval of the router that takes
    /// over) plus [`SLACK`] without a VIP holder (the protocol's part of the [`Gap`]: the
    /// kernel's adding the VIP after that is reported, not bounded) or without a master's
    /// advert on the wire; never two masters' adverts for more than one advert interval
    /// (the hand-back: the new master advertises, the old one stops on that advert), nor
    /// two holders for longer than [`TWO_HOLDERS`]. What is out of bounds, in words.
    pub fn errors(&self, backup_mdi: Duration) -> Vec<String> {
        let mut wrong = Vec::new();
        let g = self.gap;
        if g.until_master > backup_mdi + SLACK {
            wrong.push(format!(
                "no VIP holder for {}, {} of it before the next master logged MASTER (bound {}; then {} adding the VIP)",
                ms(g.total),
                ms(g.until_master),
                ms(backup_mdi + SLACK),
                ms(g.adding)
            ));
        }
        for (what, d, bound) in [
            ("no master advert on the wire", self.wire_silence, backup_mdi + SLACK),
            ("two VIP holders until the old master logged leaving MASTER", self.two_holders, TWO_HOLDERS),
            ("two masters' adverts on the wire", self.wire_overlap, ADVERT),
        ] {
            if d > bound {
                wrong.push(format!("{what} for {} (bound {})", ms(d), ms(bound)));
            }
        }
        wrong
    }
}

impl Pair {
    /// True when router `r` (`None`: not known) is one whose behaviour the bounds apply to.
    fn ours(&self, r: Option<usize>) -> bool {
        r.and_then(|r| self.routers.get(r)).is_none_or(|router| router.kind == Kind::Keeplite)
    }

    /// keeplite's share of `from..to` (`wall_from..wall_to` on the wall clock): see [`Charged`].
    pub fn charged(&self, from: Instant, to: Instant, wall_from: SystemTime, wall_to: SystemTime) -> Charged {
        let gap = worst(&self.gaps(from, to).into_iter().filter(|g| self.ours(g.taker)).collect::<Vec<_>>());
        let two_holders = self
            .overlaps(from, to)
            .into_iter()
            .filter(|o| self.ours(o.dropper))
            .map(|o| o.until_dropped)
            .max()
            .unwrap_or_default();
        let wire = WireStretches::of(&self.adverts(wall_from, wall_to), wall_from, wall_to);
        let ours = |src: &IpAddr| self.ours(self.timeline.host_of(src));
        let wire_silence = wire.silences.iter().filter(|s| ours(&s.0)).map(|s| s.1).max().unwrap_or_default();
        let wire_overlap = wire.overlaps.iter().filter(|o| ours(&o.0)).map(|o| o.1).max().unwrap_or_default();
        Charged { gap, two_holders, wire_silence, wire_overlap }
    }

    /// The pair's master adverts (priority above 0) seen on the wire within `from..to`.
    pub fn adverts(&self, from: SystemTime, to: SystemTime) -> Vec<Advert> {
        self.capture
            .adverts()
            .into_iter()
            .filter(|a| a.vrid == VRID && a.priority > 0 && a.at >= from && a.at <= to)
            .collect()
    }
}

/// One re-creation, timed.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub what: String,
    /// The router whose bridge went.
    pub router: usize,
    /// When the change began.
    pub from: Instant,
    /// From the old bridge's deletion to the new one running with an address (kernel).
    pub deleted_to_usable: Duration,
    /// From the new bridge being usable (the kernel's notifications) to the router's
    /// leaving FAULT (its log line).
    pub back: Duration,
    /// How much earlier than the kernel's notifications reached the test the router left
    /// FAULT (the test's thread late): zero normally.
    pub back_before_usable: Duration,
    /// The state it left FAULT for.
    pub back_to: String,
    /// For the higher-priority router: from usable to its first advert as master on the
    /// wire (to its MASTER log line if the wire has none).
    pub master_again: Option<Duration>,
    /// Stretches without and with several VIP holders, from the change until settled.
    pub holders: Stretches,
    /// The stretches without a holder, split (see [`Gap`]).
    pub gaps: Vec<Gap>,
    /// The stretches with two holders, split (see [`Overlap`]).
    pub overlaps: Vec<Overlap>,
    /// keeplite's share, which the bounds apply to.
    pub charged: Charged,
    pub wire: WireStretches,
    /// The new bridge's MAC as the kernel announced it.
    pub new_mac: Option<[u8; 6]>,
    /// Gratuitous ARPs for the VIP from the change on: (when, sender MAC).
    pub garps: Vec<(SystemTime, [u8; 6])>,
}

/// `d` in whole milliseconds, with the unit.
pub fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

impl Outcome {
    /// One line for the test's output and the benchmark's report.
    pub fn line(&self) -> String {
        format!(
            "{} (router {}): bridge usable {} after deletion; {} {} after usable{}; no holder {} (longest; {} of it \
             until the next master logged MASTER, {} adding the VIP), two holders {}{}; wire: silence {}, two masters {}",
            self.what,
            self.router,
            ms(self.deleted_to_usable),
            self.back_to,
            ms(self.back),
            self.master_again.map(|m| format!(", MASTER {}", ms(m))).unwrap_or_default(),
            ms(self.holders.longest_none()),
            ms(self.longest_gap().until_master),
            ms(self.longest_gap().adding),
            ms(self.holders.longest_many()),
            self.longest_overlap()
                .map(|o| format!(
                    " (longest; {} of it until the old master logged leaving MASTER, {} removing the VIP)",
                    ms(o.until_dropped),
                    ms(o.removing)
                ))
                .unwrap_or_default(),
            ms(self.wire.longest_silence),
            ms(self.wire.longest_overlap),
        )
    }

    /// The longest stretch without a holder, split.
    pub fn longest_gap(&self) -> Gap {
        self.gaps.iter().copied().max_by_key(|g| g.total).unwrap_or_default()
    }

    /// The longest stretch with two holders, split.
    pub fn longest_overlap(&self) -> Option<Overlap> {
        self.overlaps.iter().copied().max_by_key(|o| o.total)
    }

    /// Checks the bounds: [`recovery_errors`](Self::recovery_errors) and
    /// [`holder_errors`](Self::holder_errors).
    pub fn check(&self, master_priority: u8, backup_mdi: Duration) -> Result<(), String> {
        let mut wrong = self.recovery_errors(master_priority);
        wrong.extend(self.holder_errors(backup_mdi));
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {}", self.line(), wrong.join("; ")))
        }
    }

    /// The re-created router back from FAULT within one advert interval of its bridge
    /// being usable, and, if it has the higher priority (`master_priority`), master again
    /// within its Master_Down_Interval and one advert interval of that; each plus
    /// [`SLACK`]. What is out of bounds, in words.
    pub fn recovery_errors(&self, master_priority: u8) -> Vec<String> {
        let mut wrong = Vec::new();
        if self.back > ADVERT + SLACK {
            wrong.push(format!(
                "left FAULT {} after its bridge was usable (bound {})",
                ms(self.back),
                ms(ADVERT + SLACK)
            ));
        }
        if let Some(m) = self.master_again {
            let bound = master_down_interval(master_priority, ADVERT) + ADVERT + SLACK;
            if m > bound {
                wrong.push(format!(
                    "MASTER again {} after its bridge was usable (bound {})",
                    ms(m),
                    ms(bound)
                ));
            }
        }
        wrong
    }

    /// The bounds of [`Charged::errors`] on keeplite's share of this re-creation.
    pub fn holder_errors(&self, backup_mdi: Duration) -> Vec<String> {
        self.charged.errors(backup_mdi)
    }
}
