//! `keeplite run` doing real failover on a namespaced LAN: election, VIP moves, priority-0
//! hand-over on stop, preemption, link failure, track scripts, notify scripts, and the
//! distribution's keepalived as the peer.

mod common;

use common::daemon::logs;
use common::daemon::{has_vip, scratch, steady_holder, until, until_one_holder, until_vip, Daemon};
use common::wire::{handover, master_down_interval, priority_zero_handover, Capture};
use common::{keepalived_available, netns_available, Lan, Netns};
use std::net::IpAddr;
use std::process::Command;
use std::time::{Duration, Instant};

fn conf(vrid: u8, priority: u8, extra: &str) -> String {
    format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid={vrid}\nkeeplite.gw.priority={priority}\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='198.51.100.100/24'\n{extra}"
    )
}

const VIP: &str = "198.51.100.100";
/// How long an election may take to settle, with room for a loaded machine: what fails a
/// test is a wrong outcome, not a slow one.
const SETTLE: Duration = Duration::from_secs(10);
/// How long an outcome must then stay: 10 advert intervals of 100 ms.
const STEADY: Duration = Duration::from_secs(1);

#[test]
fn election_stop_handover_preemption_and_link_failure() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("fo", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let high = Daemon::keeplite(a, "high", &conf(51, 200, ""));
    let low = Daemon::keeplite(b, "low", &conf(51, 100, ""));
    let all = [&high, &low];
    let hosts = [a, b];
    until_one_holder(&hosts, 0, VIP, SETTLE, &all);
    steady_holder(&hosts, 0, VIP, STEADY, &all);

    // A stopping master hands over with priority 0: the backup takes over after Skew_Time
    // (156/256 * 0.1 s), well before Master_Down_Interval (361 ms). Checked on the wire
    // (b's kernel timestamps): b's first advert comes sooner after a's last regular advert
    // than a backup that ignored the priority-0 one could take over.
    let (h0, h1) = (ip("198.51.100.1"), ip("198.51.100.2"));
    let wire = Capture::start(b);
    wire.until_advert_from(h0, &all);
    assert_eq!(high.stop(), Some(0), "{}", high.log());
    assert!(!has_vip(a, VIP), "a stopped master keeps its vip");
    until_vip(b, VIP, true, SETTLE, &[&low]);
    until("b's first advert after a's last", SETTLE, &[&high, &low], || {
        handover(&wire.adverts(), 51, h0, h1)
    });
    let mdi = master_down_interval(100, Duration::from_millis(100));
    let took = priority_zero_handover(&wire.adverts(), 51, h0, h1, mdi)
        .unwrap_or_else(|e| panic!("{e}\n{}", low.log()));
    drop(wire);
    eprintln!("priority-0 hand-over on the wire: {took:?}");
    assert!(high.log().contains("MASTER -> INIT"), "{}", high.log());

    // Back with a higher priority: it preempts.
    let high = Daemon::keeplite(a, "high2", &conf(51, 200, ""));
    until_one_holder(&hosts, 0, VIP, SETTLE, &[&high, &low]);
    steady_holder(&hosts, 0, VIP, STEADY, &[&high, &low]);

    // The master's link goes down: it releases, the backup takes over.
    a.ip(&["link", "set", "eth0", "down"]);
    until_one_holder(&hosts, 1, VIP, SETTLE, &[&high, &low]);
    a.ip(&["link", "set", "eth0", "up"]);
    until_one_holder(&hosts, 0, VIP, SETTLE, &[&high, &low]);
    steady_holder(&hosts, 0, VIP, STEADY, &[&high, &low]);
    assert!(high.log().contains("-> FAULT"), "{}", high.log());
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

#[test]
fn track_script_weight_moves_mastership_and_notify_scripts_run() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("trk", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("track-flag");
    let flag = dir.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let notes = dir.join("notes");
    // A script interval (and so timeout) of 500 ms: a busy machine ran 100 ms out for the
    // script of scripts_run_as_the_configured_users; here that would drop the instance to
    // 50 while the flag is there.
    let extra = format!(
        "keeplite.gw.track_script=svc\nkeeplite.gw.notify='echo >> {notes}'\n\
         keeplite.svc=script\nkeeplite.svc.command='test -e {flag}'\nkeeplite.svc.interval=500ms\nkeeplite.svc.weight=-150\n",
        notes = notes.display(),
        flag = flag.display()
    );
    let high = Daemon::keeplite(a, "trk-high", &conf(52, 200, &extra));
    let low = Daemon::keeplite(b, "trk-low", &conf(52, 100, ""));
    let all = [&high, &low];
    let hosts = [a, b];
    until_one_holder(&hosts, 0, VIP, SETTLE, &all);
    // The tracked service dies: 200 - 150 = 50 < 100, the peer preempts.
    std::fs::remove_file(&flag).unwrap();
    until_one_holder(&hosts, 1, VIP, SETTLE, &all);
    steady_holder(&hosts, 1, VIP, STEADY, &all);
    // It comes back: 200 again, and it takes the vip back.
    std::fs::write(&flag, "").unwrap();
    until_one_holder(&hosts, 0, VIP, SETTLE, &all);
    steady_holder(&hosts, 0, VIP, STEADY, &all);
    let expected = ["INSTANCE gw BACKUP 200", "INSTANCE gw MASTER 200", "INSTANCE gw BACKUP 50"];
    until("the notify lines", SETTLE, &all, || {
        let got = std::fs::read_to_string(&notes).unwrap_or_default();
        if expected.iter().all(|e| got.contains(e)) {
            Ok(())
        } else {
            Err(format!("{got:?}, expected {expected:?}"))
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

fn keepalived_conf(version: u8, vrid: u8, priority: u8, advert: &str, vip: &str) -> String {
    format!(
        "global_defs {{\n  router_id peer\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance gw {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n\
         advert_int {advert}\n  version {version}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
    )
}

/// keeplite and keepalived share a virtual router: the higher priority wins either way
/// round, and each takes over when the other stops.
fn interop(version: u8, vip: &str, prefix: u8, keeplite_extra: &str) {
    let lan = Lan::new(&format!("ka{version}"), 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let advert = if version == 2 { "1" } else { "0.5" };
    let ours = |priority: u8| {
        format!(
            "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=61\nkeeplite.gw.priority={priority}\n\
             keeplite.gw.version={version}\nkeeplite.gw.advert_int={advert}\nkeeplite.gw.vip='{vip}/{prefix}'\n{keeplite_extra}"
        )
    };
    // keeplite above keepalived.
    let us = Daemon::keeplite(a, "us-high", &ours(200));
    let them = Daemon::keepalived(
        b,
        "ka-low",
        &keepalived_conf(version, 61, 100, advert, &format!("{vip}/{prefix}")),
    );
    let hosts = [a, b];
    // keepalived never takes the vip from a higher keeplite: looked at throughout 3 s.
    until_one_holder(&hosts, 0, vip, SETTLE, &[&us, &them]);
    steady_holder(&hosts, 0, vip, Duration::from_secs(3), &[&us, &them]);
    // keeplite stops: keepalived takes over.
    us.stop();
    until_one_holder(&hosts, 1, vip, SETTLE, &[&them]);
    // keeplite back, below keepalived: it stays backup, looked at from its start on.
    let us = Daemon::keeplite(a, "us-low", &ours(50));
    steady_holder(&hosts, 1, vip, Duration::from_secs(4), &[&us, &them]);
    // keepalived stops: keeplite takes over.
    them.stop();
    until_one_holder(&hosts, 0, vip, SETTLE, &[&us, &them]);
}

#[test]
fn interop_with_keepalived_v2_ipv4() {
    if netns_available() && keepalived_available() {
        interop(2, "198.51.100.101", 24, "");
    }
}

#[test]
fn interop_with_keepalived_v3_ipv4() {
    if netns_available() && keepalived_available() {
        interop(3, "198.51.100.102", 24, "");
    }
}

#[test]
fn interop_with_keepalived_v3_ipv6() {
    if netns_available() && keepalived_available() {
        interop(3, "2001:db8:1::100", 64, "");
    }
}

#[test]
fn without_capabilities_it_says_which_and_exits_1() {
    if !netns_available() {
        return;
    }
    let dir = scratch("caps");
    let path = dir.join("keeplite.conf");
    std::fs::write(&path, conf(53, 100, "")).unwrap();
    // Readable by the unprivileged user the daemon drops to.
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(&dir).status();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_keeplite"))
        .args(["run", "-f"])
        .arg(&path)
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot run: missing CAP_NET_ADMIN"), "{stderr}");
    assert!(stderr.contains("CAP_NET_RAW"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn vmac_holds(ns: &Netns, dev: &str, vip: &str) -> bool {
    ns.ip_output(&["-o", "addr", "show", "dev", dev])
        .split_whitespace()
        .any(|w| w.split('/').next() == Some(vip))
}

/// `use_vmac`: the VIP lives on a macvlan with the RFC virtual MAC, on whichever router is
/// master; stopping removes the macvlan.
fn vmac_failover(ipv6: bool) {
    let lan = Lan::new(if ipv6 { "vmac6" } else { "vmac4" }, 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let (vip, dev, mac) = if ipv6 {
        ("2001:db8:1::150", "vrrp6.81", "00:00:5e:00:02:51")
    } else {
        ("198.51.100.150", "vrrp.81", "00:00:5e:00:01:51")
    };
    let vips = if ipv6 { format!("'fe80::81/64' '{vip}/64'") } else { format!("'{vip}/24'") };
    let config = |priority: u8| {
        format!(
            "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=81\nkeeplite.gw.priority={priority}\n\
             keeplite.gw.advert_int=100ms\nkeeplite.gw.vip={vips}\nkeeplite.gw.use_vmac=1\n"
        )
    };
    let tag = if ipv6 { "vmac6" } else { "vmac4" };
    let high = Daemon::keeplite(a, &format!("{tag}-high"), &config(200));
    let low = Daemon::keeplite(b, &format!("{tag}-low"), &config(100));
    let all = [&high, &low];
    // Exactly one holder, the higher priority, and it stays so for 10 adverts: two
    // routers whose vmacs share the virtual MAC must hear each other's adverts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (vmac_holds(a, dev, vip), vmac_holds(b, dev, vip)) != (true, false) {
        assert!(Instant::now() < deadline, "no single holder on {dev}:\n{}", logs(&all));
        std::thread::sleep(Duration::from_millis(20));
    }
    let steady = Instant::now();
    while steady.elapsed() < Duration::from_secs(1) {
        let held = (vmac_holds(a, dev, vip), vmac_holds(b, dev, vip));
        assert_eq!(
            held,
            (true, false),
            "holders after {:?} of steady state:\n{}",
            steady.elapsed(),
            logs(&all)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let link = a.ip_output(&["-d", "link", "show", "dev", dev]);
    assert!(link.contains(mac) && link.contains("macvlan mode private"), "{link}");
    if ipv6 {
        // The advert source on the vmac is the router's own link-local address (eth0's),
        // not one made from the virtual MAC that both routers share.
        let own = |ns: &Netns, dev: &str| {
            ns.ip_output(&["-6", "-o", "addr", "show", "dev", dev, "scope", "link"])
                .split_whitespace()
                .filter(|w| w.starts_with("fe80:") && *w != "fe80::81/64")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert_eq!(own(a, dev), own(a, "eth0"), "{dev}'s link-local addresses");
        assert_ne!(own(a, dev), own(b, dev), "both routers' vmacs have the same link-local address");
    }
    high.stop();
    assert!(a.ip_output(&["link", "show", "dev", dev]).is_empty(), "{dev} outlived the daemon");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !vmac_holds(b, dev, vip) {
        assert!(Instant::now() < deadline, "backup never took the vip:\n{}", low.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn use_vmac_ipv4() {
    if netns_available() {
        vmac_failover(false);
    }
}

#[test]
fn use_vmac_ipv6() {
    if netns_available() {
        vmac_failover(true);
    }
}

/// `script_user` and a script section's `user`: notify and track scripts run as them.
#[test]
fn scripts_run_as_the_configured_users() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("user", 1);
    let dir = scratch("users");
    let _ = Command::new("chmod").arg("777").arg(&dir).status();
    let (notified, tracked) = (dir.join("notify-uid"), dir.join("track-uid"));
    let extra = format!(
        "keeplite.g=global\nkeeplite.g.script_user=nobody\n\
         keeplite.gw.notify_master='id -u > {n}'\nkeeplite.gw.track_script=who\n\
         keeplite.who=script\nkeeplite.who.command='id -u > {t}'\nkeeplite.who.user=root\nkeeplite.who.interval=1s\n",
        n = notified.display(),
        t = tracked.display()
    );
    // An interval (and so a timeout) of 1 s: 100 ms, which sh and id can take on a busy
    // machine, made the script time out, the instance FAULT and the VIP never come.
    let d = Daemon::keeplite(&lan.hosts[0], "users", &conf(54, 100, &extra));
    until_vip(&lan.hosts[0], VIP, true, SETTLE, &[&d]);
    until("the scripts' uids", SETTLE, &[&d], || {
        let n = std::fs::read_to_string(&notified).unwrap_or_default();
        let t = std::fs::read_to_string(&tracked).unwrap_or_default();
        if n.trim() == "65534" && t.trim() == "0" {
            Ok(())
        } else {
            Err(format!("notify ran as {n:?}, track script as {t:?}"))
        }
    });
}
