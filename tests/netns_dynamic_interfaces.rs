//! Interfaces that come and go, as on a router: OpenWrt's netifd deletes and re-creates
//! `br-lan` (a new index) on many `network reload`s, links appear late at boot, and
//! keeplite may start before its interfaces exist. An instance whose interface is missing
//! is in FAULT with the reason "no interface" and comes back by itself when it appears,
//! without a SIGHUP: sockets opened again, multicast joined, the vmac made again.
//!
//! Each test runs router A (priority 200) and its peer B (100) on a LAN; A's interface is
//! the one that comes and goes, B holds the VIP meanwhile, and A takes it back (preempt)
//! within Master_Down_Interval and one advert interval of its interface being up again
//! (plus the test's slack).

mod common;

use common::daemon::{logs, scratch, until, Daemon};
use common::holders::Holders;
use common::status::{instance, status};
use common::{netns_available, Lan, Netns};
use keeplite::json::Json;
use keeplite::net::monitor::{Event, Monitor};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const VIP4: &str = "198.51.100.150";
const VIP6: &str = "2001:db8:1::150";
/// Master_Down_Interval at priority 200 with 100 ms adverts (322 ms), one advert, and what
/// a loaded machine adds, counted from the kernel's notice that the link runs (the kernel
/// itself may take up to a second to say so: linkwatch batches carrier changes).
const BACK_WITHIN: Duration = Duration::from_millis(322 + 100 + 200);
const WAIT: Duration = Duration::from_secs(10);

/// A and B, A's status socket, the holders of `vip` on the LAN, and A's link changes.
struct Pair {
    lan: Lan,
    a: Daemon,
    b: Daemon,
    socket: PathBuf,
    holders: Holders,
    vip: &'static str,
    interface: String,
    links: Monitor,
}

fn conf(interface: &str, priority: u8, vip: &str, extra: &str) -> String {
    let prefix = if vip.contains(':') { 64 } else { 24 };
    format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface={interface}\nkeeplite.gw.vrid=81\nkeeplite.gw.priority={priority}\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='{vip}/{prefix}'\n{extra}"
    )
}

impl Pair {
    /// A on `interface` with `extra` lines, B on eth0; `prepare` shapes host A first.
    fn start(tag: &str, interface: &str, vip: &'static str, extra: &str, prepare: impl FnOnce(&Lan)) -> Pair {
        let lan = Lan::new(tag, 2);
        prepare(&lan);
        let dir = scratch(tag);
        let socket = dir.join("a.sock");
        let a_extra = format!("{extra}keeplite.g=global\nkeeplite.g.status_socket={}\n", socket.display());
        let b_extra =
            extra.lines().filter(|l| l.contains("use_vmac")).map(|l| format!("{l}\n")).collect::<String>();
        let a = Daemon::keeplite(&lan.hosts[0], &format!("{tag}-a"), &conf(interface, 200, vip, &a_extra));
        let b = Daemon::keeplite(&lan.hosts[1], &format!("{tag}-b"), &conf("eth0", 100, vip, &b_extra));
        let holders = Holders::new(&lan.hosts, vip);
        let links = lan.hosts[0].run(|| Monitor::open().expect("rtnetlink monitor"));
        Pair { lan, a, b, socket, holders, vip, interface: interface.to_owned(), links }
    }

    fn host_a(&self) -> &Netns {
        &self.lan.hosts[0]
    }

    /// Waits until exactly host `holder` holds the VIP; returns when that was seen.
    fn until_holder(&mut self, holder: usize) -> Instant {
        let start = Instant::now();
        loop {
            let held = self.holders.poll(&self.lan.hosts, Duration::from_millis(10));
            if held.iter().enumerate().all(|(i, h)| *h == (i == holder)) {
                return Instant::now();
            }
            assert!(
                start.elapsed() < WAIT,
                "vip {} on {held:?}, expected only on host {holder}\n{}",
                self.vip,
                logs(&[&self.a, &self.b])
            );
        }
    }

    /// A's instance in its status, once `ok` holds for it.
    fn until_status(&self, what: &str, ok: impl Fn(&Json) -> bool) -> Json {
        status_until(&self.socket, what, &[&self.a, &self.b], ok)
    }

    /// A is in FAULT because its interface is missing, and B holds the VIP.
    fn a_waits_for_its_interface(&mut self) {
        self.until_status("A in FAULT for want of its interface", |i| {
            text(i, "state") == "fault" && text(i, "fault") == "no interface"
        });
        self.until_holder(1);
    }

    /// Brings A's interface back with `bring_back`, then waits until A holds the VIP
    /// again, soon enough after the kernel said the interface runs, and its status says so.
    fn a_is_back(&mut self, what: &str, bring_back: impl FnOnce(&Lan)) {
        while self.links.next_event().expect("rtnetlink monitor").is_some() {}
        bring_back(&self.lan);
        let start = Instant::now();
        let up = loop {
            match self.links.next_event().expect("rtnetlink monitor") {
                Some(Event::Link(l)) if l.name == self.interface.as_str() && l.is_up() => {
                    break Instant::now()
                }
                Some(_) => {}
                None => std::thread::sleep(Duration::from_millis(1)),
            }
            assert!(start.elapsed() < WAIT, "{what}: {} never ran", self.interface);
        };
        let took = self.until_holder(0).duration_since(up);
        assert!(took <= BACK_WITHIN, "{what}: A master again {took:?} after its link ran\n{}", self.a.log());
        eprintln!("{what}: A master again {took:?} after its link ran");
        self.until_status("A master in its status", |i| {
            text(i, "state") == "master" && i.get("fault") == Some(&Json::Null)
        });
        assert!(!self.a.log().contains("reload"), "nobody asked for a reload:\n{}", self.a.log());
    }
}

fn text<'a>(j: &'a Json, key: &str) -> &'a str {
    j.get(key).and_then(Json::as_str).unwrap_or("")
}

fn status_until(socket: &Path, what: &str, daemons: &[&Daemon], ok: impl Fn(&Json) -> bool) -> Json {
    until(what, WAIT, daemons, || match status(socket) {
        Ok(s) if ok(instance(&s, "gw")) => Ok(instance(&s, "gw").clone()),
        Ok(s) => Err(instance(&s, "gw").to_string()),
        Err(e) => Err(e),
    })
}

/// Host A's eth0 as `Lan::new` makes it (a veth into the LAN's bridge, port p0), up.
fn plug_eth0(lan: &Lan) {
    let a = &lan.hosts[0];
    lan.switch.ip(&["link", "add", "p0", "type", "veth", "peer", "name", "eth0", "netns", &a.name]);
    lan.switch.ip(&["link", "set", "p0", "master", "br0", "up"]);
    a.ip(&["link", "set", "eth0", "address", "02:00:00:00:00:01"]);
    a.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth0"]);
    a.ip(&["addr", "add", "2001:db8:1::1/64", "dev", "eth0", "nodad"]);
    a.ip(&["link", "set", "eth0", "up"]);
}

/// A's eth0 deleted (its veth pair with it) and made again: a new index, same name.
fn recreated(tag: &str, vip: &'static str, extra: &str) {
    let mut p = Pair::start(tag, "eth0", vip, extra, |_| {});
    p.until_holder(0);
    p.host_a().ip(&["link", "del", "eth0"]);
    p.a_waits_for_its_interface();
    p.a_is_back(tag, plug_eth0);
}

#[test]
fn an_interface_deleted_and_created_again_comes_back_by_itself() {
    if netns_available() {
        recreated("recreate", VIP4, "");
    }
}

/// The base interface's deletion takes the vmac with it: it is made again on the new one.
#[test]
fn a_vmac_is_made_again_on_a_recreated_interface_ipv4() {
    if netns_available() {
        recreated("recvmac4", VIP4, "keeplite.gw.use_vmac=1\n");
    }
}

#[test]
fn a_vmac_is_made_again_on_a_recreated_interface_ipv6() {
    if netns_available() {
        recreated("recvmac6", VIP6, "keeplite.gw.use_vmac=1\n");
    }
}

/// netifd's way with `br-lan` on a `network reload` that changes a bridge option: the
/// bridge is deleted, created again, its port enslaved, its address set, then it goes up.
#[test]
fn a_bridge_recreated_the_way_netifd_does_it() {
    if !netns_available() {
        return;
    }
    let bridge = |a: &Netns| {
        a.ip(&["link", "add", "br-lan", "type", "bridge"]);
        a.ip(&["link", "set", "eth0", "master", "br-lan"]);
        a.ip(&["addr", "add", "198.51.100.1/24", "dev", "br-lan"]);
        a.ip(&["link", "set", "br-lan", "up"]);
    };
    let mut p = Pair::start("netifd", "br-lan", VIP4, "", |lan| {
        let a = &lan.hosts[0];
        a.ip(&["addr", "flush", "dev", "eth0"]);
        bridge(a);
    });
    p.until_holder(0);
    for round in 0..3 {
        p.host_a().ip(&["link", "del", "br-lan"]);
        p.a_waits_for_its_interface();
        p.a_is_back(&format!("br-lan re-created, round {round}"), |lan| bridge(&lan.hosts[0]));
    }
}

/// Started before its interface exists (keeplite before netifd made the bridge), and with
/// a tracked interface missing too (weight -150: 200 - 150 < B's 100): it waits, then
/// becomes backup when its interface appears, and master when the tracked one does.
#[test]
fn interfaces_missing_at_start_are_waited_for() {
    if !netns_available() {
        return;
    }
    let mut p = Pair::start("late", "lan9", VIP4, "keeplite.gw.track_interface='wan9:-150'\n", |_| {});
    p.a_waits_for_its_interface();
    p.lan.attach(p.host_a(), "lan9", "198.51.100.1/24");
    p.until_status("A backup at priority 50 (wan9 missing)", |i| {
        text(i, "state") == "backup" && i.get("priority").and_then(Json::as_int) == Some(50)
    });
    p.until_holder(1);
    p.interface = "wan9".into();
    p.a_is_back("tracked interface appeared", |lan| {
        let a = &lan.hosts[0];
        a.ip(&["link", "add", "wan9", "type", "veth", "peer", "name", "wan9p"]);
        a.ip(&["link", "set", "wan9p", "up"]);
        a.ip(&["link", "set", "wan9", "up"]);
    });
    assert!(p.a.log().contains("does not exist (yet)"), "{}", p.a.log());
}

/// A rename takes the name away (FAULT); the name coming back, even on the same link,
/// brings the instance back.
#[test]
fn an_interface_renamed_away_and_back() {
    if !netns_available() {
        return;
    }
    let mut p = Pair::start("rename", "eth0", VIP4, "", |_| {});
    p.until_holder(0);
    let a = p.host_a();
    a.ip(&["link", "set", "eth0", "down"]);
    a.ip(&["link", "set", "eth0", "name", "eth0old"]);
    a.ip(&["link", "set", "eth0old", "up"]);
    p.a_waits_for_its_interface();
    p.a_is_back("renamed back", |lan| {
        let a = &lan.hosts[0];
        a.ip(&["link", "set", "eth0old", "down"]);
        a.ip(&["link", "set", "eth0old", "name", "eth0"]);
        a.ip(&["link", "set", "eth0", "up"]);
    });
}
