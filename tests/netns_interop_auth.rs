//! keeplite and the distribution's keepalived (2.2.7) in one virtual router: VRRPv2 with
//! `auth_pass` (keepalived: `authentication { auth_type PASS }`), VRRPv3 over IPv4 and over
//! IPv6. Each side is master in turn and fails over to the other both ways; at the end
//! neither side counted or logged an invalid advert: keeplite's stop log shows every
//! `discard_*` counter at 0, and keepalived's log (`-l -D`) has none of the lines it writes
//! for a bad advert. A negative control (a wrong password) proves those are the words
//! keepalived really uses.

mod common;

use common::daemon::{logs, steady_holder, until_one_holder, until_vip, Daemon};
use common::{keepalived_available, netns_available, Lan};
use std::time::Duration;

/// What keepalived 2.2.7 logs (with `-D`) when it drops a received advert, one phrase per
/// check of its `vrrp_check_packet`; the phrases were seen in tests/netns_hostile.rs's
/// keepalived runs, except "bogus VRRP packet", which its source has for a failed parse.
const KEEPALIVED_INVALID: &[&str] = &[
    "invalid TTL/HL",
    "Invalid VRRPv2 checksum",
    "Invalid VRRPv3 checksum",
    "vrrp packet too short",
    "vrrp packet too long",
    "VRRP packet too short",
    "unexpected ip number count",
    "not present in MASTER advert",
    "wrong version",
    "Invalid packet type",
    " auth, expecting ",
    "received an invalid passwd",
    "advertisement interval mismatch",
    "bogus VRRP packet",
];

/// keepalived's log lines that report an invalid advert.
fn keepalived_complaints(daemon: &Daemon) -> Vec<String> {
    daemon
        .log()
        .lines()
        .filter(|l| KEEPALIVED_INVALID.iter().any(|p| l.contains(p)))
        .map(str::to_owned)
        .collect()
}

/// One virtual router as both daemons are configured.
struct Router {
    version: u8,
    vrid: u8,
    vip: &'static str,
    prefix: u8,
    /// keepalived's `advert_int` (keeplite's is the same in seconds).
    advert: &'static str,
    /// v2 simple password.
    auth: Option<&'static str>,
}

impl Router {
    fn keeplite(&self, priority: u8, auth: Option<&str>) -> String {
        let mut c = format!(
            "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid={}\nkeeplite.gw.priority={priority}\n\
             keeplite.gw.version={}\nkeeplite.gw.advert_int={}s\nkeeplite.gw.vip='{}/{}'\n",
            self.vrid, self.version, self.advert, self.vip, self.prefix
        );
        if let Some(p) = auth {
            c.push_str(&format!("keeplite.gw.auth_pass='{p}'\n"));
        }
        c
    }

    fn keepalived(&self, priority: u8) -> String {
        let auth = match self.auth {
            Some(p) => format!("  authentication {{\n    auth_type PASS\n    auth_pass {p}\n  }}\n"),
            None => String::new(),
        };
        format!(
            "global_defs {{\n  router_id peer\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance gw {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {}\n  priority {priority}\n\
             advert_int {}\n  version {}\n{auth}  virtual_ipaddress {{\n    {}/{}\n  }}\n}}\n",
            self.vrid, self.advert, self.version, self.vip, self.prefix
        )
    }

    /// keeplite's Master_Down_Interval and a margin: how long a take-over may take.
    fn takeover(&self) -> Duration {
        let advert: f64 = self.advert.parse().expect("advert_int");
        Duration::from_secs_f64(advert * 4.0 + 2.0)
    }
}

/// keeplite master, then keepalived on keeplite's stop, then keeplite back as backup,
/// then keeplite on keepalived's stop; no side ever saw an invalid advert.
fn interop_without_invalid_adverts(tag: &str, r: &Router) {
    let lan = Lan::new(tag, 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let hosts = [a, b];
    let steady = Duration::from_secs(3);

    // keeplite (200) above keepalived (100).
    let high = Daemon::keeplite(a, &format!("{tag}-kl-high"), &r.keeplite(200, r.auth));
    let them = Daemon::keepalived(b, &format!("{tag}-ka"), &r.keepalived(100));
    until_one_holder(&hosts, 0, r.vip, r.takeover() * 2, &[&high, &them]);
    steady_holder(&hosts, 0, r.vip, steady, &[&high, &them]);
    assert!(
        them.log().contains("Entering BACKUP STATE"),
        "keepalived never settled as backup:\n{}",
        logs(&[&high, &them])
    );

    // keeplite stops (priority 0): keepalived takes over.
    assert_eq!(high.stop(), Some(0), "{}", high.log());
    until_one_holder(&hosts, 1, r.vip, r.takeover(), &[&them]);
    steady_holder(&hosts, 1, r.vip, Duration::from_secs(1), &[&them]);

    // keeplite back below keepalived (50): it stays backup, looked at from its start on,
    // for longer than it would take to take over.
    let low = Daemon::keeplite(a, &format!("{tag}-kl-low"), &r.keeplite(50, r.auth));
    steady_holder(&hosts, 1, r.vip, r.takeover() + steady, &[&low, &them]);

    // keepalived stops: keeplite takes over.
    assert_eq!(them.stop(), Some(0), "{}", them.log());
    until_one_holder(&hosts, 0, r.vip, r.takeover(), &[&low]);
    steady_holder(&hosts, 0, r.vip, Duration::from_secs(1), &[&low]);
    assert_eq!(low.stop(), Some(0), "{}", low.log());

    // Neither side saw an invalid advert. (The first keeplite may have heard nothing: a
    // backup keepalived is silent; the second heard keepalived as master.)
    for d in [&high, &low] {
        d.counters("gw").assert_no_discards(&d.label);
        d.unattributed().assert_no_discards(&format!("{} (no instance)", d.label));
    }
    let heard = low.counters("gw");
    assert!(heard.get("adverts_rx") > 0, "{}: heard nothing: {}", low.label, heard.line);
    assert_eq!(high.transitions("gw", "BACKUP -> MASTER"), 1, "{}", high.log());
    assert_eq!(low.transitions("gw", "-> MASTER"), 1, "{}", low.log());
    assert!(them.log().contains("Entering MASTER STATE"), "{}", them.log());
    let complaints = keepalived_complaints(&them);
    assert!(complaints.is_empty(), "keepalived logged invalid adverts:\n{}", complaints.join("\n"));
}

fn v2_auth() -> Router {
    Router { version: 2, vrid: 71, vip: "198.51.100.171", prefix: 24, advert: "1", auth: Some("secret") }
}

#[test]
fn v2_auth_pass_interop_both_ways_without_invalid_adverts() {
    if netns_available() && keepalived_available() {
        interop_without_invalid_adverts("ia2", &v2_auth());
    }
}

#[test]
fn v3_ipv4_interop_both_ways_without_invalid_adverts() {
    if netns_available() && keepalived_available() {
        let r = Router { version: 3, vrid: 72, vip: "198.51.100.172", prefix: 24, advert: "0.5", auth: None };
        interop_without_invalid_adverts("ia3", &r);
    }
}

#[test]
fn v3_ipv6_interop_both_ways_without_invalid_adverts() {
    if netns_available() && keepalived_available() {
        let r =
            Router { version: 3, vrid: 73, vip: "2001:db8:1::173", prefix: 64, advert: "0.5", auth: None };
        interop_without_invalid_adverts("ia6", &r);
    }
}

/// The negative control: with a wrong password each side discards the other's adverts,
/// keeplite counts them as `discard_auth` and keepalived logs one of the phrases the
/// checks above look for. Both end up master: the split brain a password mismatch causes.
#[test]
fn v2_wrong_password_is_counted_by_keeplite_and_logged_by_keepalived() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let r = Router { vrid: 74, vip: "198.51.100.174", ..v2_auth() };
    let lan = Lan::new("iaw", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let ours = Daemon::keeplite(a, "iaw-kl", &r.keeplite(200, Some("wrong")));
    let them = Daemon::keepalived(b, "iaw-ka", &r.keepalived(100));
    until_vip(a, r.vip, true, r.takeover() * 2, &[&ours, &them]);
    until_vip(b, r.vip, true, r.takeover() * 2, &[&ours, &them]);
    them.wait_log("received an invalid passwd!", Duration::from_secs(5));
    let complaints = keepalived_complaints(&them);
    assert!(!complaints.is_empty(), "the phrase list misses keepalived's words:\n{}", them.log());
    assert_eq!(ours.stop(), Some(0), "{}", ours.log());
    let c = ours.counters("gw");
    assert!(c.get("discard_auth") > 0, "{}", c.line);
    assert_eq!(c.get("adverts_rx"), 0, "{}", c.line);
    them.stop();
}
