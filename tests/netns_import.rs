//! `keeplite import` against keepalived itself: one keepalived.conf per scenario, written
//! once for both routers of a namespaced LAN (`@a`/`@b` lines, `$` parameters, `~SEQ`),
//! is run by keepalived on both routers (`-i a`, `-i b`), then imported (`--instance a`,
//! `--instance b`) and run by keeplite on both. The two pairs must behave alike: the same
//! router master of each instance, the same VIPs on it and none on the other, and the same
//! after the same event (a tracked script failing, a tracked interface going down).

mod common;

use common::daemon::{holders, scratch, until, Daemon};
use common::{keepalived_available, netns_available, Lan, Netns};
use std::process::Command;
use std::time::Duration;

/// How long an election may take, with room for a loaded machine (keepalived's v2
/// adverts are whole seconds).
const SETTLE: Duration = Duration::from_secs(20);
/// How long an outcome must then stay.
const STEADY: Duration = Duration::from_secs(3);

/// A VIP and the host (0 = a, 1 = b) that must hold it, alone.
type Expect<'a> = &'a [(&'a str, usize)];

/// One scenario: the file, the outcome at start, an event and the outcome after it.
struct Scenario<'a> {
    tag: &'a str,
    conf: &'a str,
    setup: fn(&Lan, &std::path::Path),
    start: Expect<'a>,
    event: fn(&Lan, &std::path::Path),
    after: Expect<'a>,
}

/// Which daemon runs the scenario's file.
#[derive(Clone, Copy, Debug)]
enum Runner {
    Keepalived,
    Keeplite,
}

/// The keeplite configuration `keeplite import` makes of `conf` for router `id`; the
/// import must carry everything (no report).
fn import(conf: &str, id: &str, dir: &std::path::Path) -> String {
    let path = dir.join(format!("keepalived-{id}.conf"));
    std::fs::write(&path, conf).expect("write keepalived.conf");
    let out = Command::new(common::keeplite_bin())
        .args(["import", "-f"])
        .arg(&path)
        .args(["--instance", id])
        .output()
        .expect("run keeplite import");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "import for {id} reported:\n{stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until every VIP of `expect` is on its host and on no other, then checks that it
/// stays so.
fn converge(hosts: &[&Netns], expect: Expect, daemons: &[&Daemon], what: &str) {
    let seen = || {
        let wrong: Vec<String> = expect
            .iter()
            .filter_map(|(vip, holder)| {
                let held = holders(hosts, vip);
                (held != [*holder]).then(|| format!("{vip} on hosts {held:?}, expected [{holder}]"))
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("; "))
        }
    };
    until(what, SETTLE, daemons, seen);
    common::daemon::holds_for(what, STEADY, daemons, seen);
}

fn run(s: &Scenario, runner: Runner) {
    let lan =
        Lan::new(&format!("{}{}", s.tag, if matches!(runner, Runner::Keepalived) { "ka" } else { "kl" }), 2);
    // Both routers start on a LAN that is up, IPv6 link-local addresses included.
    lan.until_link_local();
    let dir = scratch(s.tag);
    (s.setup)(&lan, &dir);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let conf = s.conf.replace("@DIR@", &dir.display().to_string());
    let daemons: Vec<Daemon> = [("a", a), ("b", b)]
        .into_iter()
        .map(|(id, ns)| match runner {
            Runner::Keepalived => {
                Daemon::keepalived_with(ns, &format!("{}-ka-{id}", s.tag), &conf, &["-i", id])
            }
            Runner::Keeplite => Daemon::keeplite(ns, &format!("{}-kl-{id}", s.tag), &import(&conf, id, &dir)),
        })
        .collect();
    let all: Vec<&Daemon> = daemons.iter().collect();
    let hosts = [a, b];
    converge(&hosts, s.start, &all, &format!("{} ({runner:?}): at start", s.tag));
    (s.event)(&lan, &dir);
    converge(&hosts, s.after, &all, &format!("{} ({runner:?}): after the event", s.tag));
    drop(daemons);
    let _ = std::fs::remove_dir_all(&dir);
}

fn both(s: &Scenario) {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    run(s, Runner::Keepalived);
    run(s, Runner::Keeplite);
}

fn nothing(_: &Lan, _: &std::path::Path) {}

/// Flag files the track scripts test, one per router.
fn flags(_: &Lan, dir: &std::path::Path) {
    for id in ["a", "b"] {
        std::fs::write(dir.join(format!("up-{id}")), "").expect("flag");
    }
}

fn fail_a_script(_: &Lan, dir: &std::path::Path) {
    std::fs::remove_file(dir.join("up-a")).expect("remove flag");
}

/// VRRPv2 with a password longer than 8 characters (both use its first 8), two VIPs and a
/// weighted track script: when a's script fails, 150 - 60 < 100 and b takes over.
const TRACK_SCRIPT: &str = r#"
global_defs {
    @a router_id router-a
    @b router_id router-b
    vrrp_garp_master_delay 0
}
vrrp_script chk_up {
    script "test -e @DIR@/up-${_INSTANCE}"
    interval 1
    weight -60
}
vrrp_instance VI_1 {
    @a state MASTER
    @^a state BACKUP
    interface eth0
    virtual_router_id 71
    @a priority 150
    @b priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secretpassword
    }
    virtual_ipaddress {
        198.51.100.71/24
        198.51.100.72/24 dev eth0
    }
    track_script {
        chk_up
    }
}
"#;

#[test]
fn track_script_weights_move_mastership_alike() {
    both(&Scenario {
        tag: "imts",
        conf: TRACK_SCRIPT,
        setup: flags,
        start: &[("198.51.100.71", 0), ("198.51.100.72", 0)],
        event: fail_a_script,
        after: &[("198.51.100.71", 1), ("198.51.100.72", 1)],
    });
}

/// VRRPv3 IPv6 instances made by `~SEQ` from a multi-line definition whose priorities
/// are parameters named by parameters, each with an IPv4 address (the other family: not
/// in the adverts); a is master of the first, b of the second. Then b's link goes down
/// and a takes both.
const SEQ_IPV6: &str = r#"
global_defs {
    vrrp_garp_master_delay 0
}
$INST= \
vrrp_instance V6_${N} { \
    interface eth0 \
    virtual_router_id 8${N} \
    @a priority ${PA_${N}} \
    @b priority ${PB_${N}} \
    advert_int 0.5 \
    virtual_ipaddress { \
        2001:db8:1::8${N}/64 \
    } \
    virtual_ipaddress_excluded { \
        198.51.100.8${N}/24 \
    } \
}
$PA_1=200
$PB_1=100
$PA_2=100
$PB_2=200
~SEQ(N, 1, 2) $INST
"#;

fn b_link_down(lan: &Lan, _: &std::path::Path) {
    lan.hosts[1].ip(&["link", "set", "eth0", "down"]);
}

#[test]
fn sequences_of_ipv6_instances_split_and_fail_over_alike() {
    both(&Scenario {
        tag: "imv6",
        conf: SEQ_IPV6,
        setup: nothing,
        start: &[("2001:db8:1::81", 0), ("198.51.100.81", 0), ("2001:db8:1::82", 1), ("198.51.100.82", 1)],
        event: b_link_down,
        after: &[("2001:db8:1::81", 0), ("198.51.100.81", 0), ("2001:db8:1::82", 0), ("198.51.100.82", 0)],
    });
}

/// A sync group of two instances, one of which tracks a link: when it goes down on a, both of a's instances go to FAULT and b takes both.
const SYNC_GROUP: &str = r#"
vrrp_sync_group G {
    group {
        SA
        SB
    }
}
vrrp_instance SA {
    interface eth0
    virtual_router_id 91
    @a priority 150
    @b priority 100
    advert_int 1
    track_interface {
        trk0
    }
    virtual_ipaddress {
        198.51.100.91/24
    }
}
vrrp_instance SB {
    interface eth0
    virtual_router_id 92
    @a priority 150
    @b priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.92/24
    }
}
"#;

/// A link to track on each router: a veth pair within the router (this kernel may have
/// no dummy links).
fn tracked_links(lan: &Lan, _: &std::path::Path) {
    for h in &lan.hosts {
        h.ip(&["link", "add", "trk0", "type", "veth", "peer", "name", "trk1"]);
        h.ip(&["link", "set", "trk1", "up"]);
        h.ip(&["link", "set", "trk0", "up"]);
    }
}

fn a_tracked_link_down(lan: &Lan, _: &std::path::Path) {
    lan.hosts[0].ip(&["link", "set", "trk0", "down"]);
}

#[test]
fn sync_groups_fault_together_alike() {
    both(&Scenario {
        tag: "imsg",
        conf: SYNC_GROUP,
        setup: tracked_links,
        start: &[("198.51.100.91", 0), ("198.51.100.92", 0)],
        event: a_tracked_link_down,
        after: &[("198.51.100.91", 1), ("198.51.100.92", 1)],
    });
}

/// A sync group tracking a weighted script for both its members (keepalived would drop
/// the weight from a member's own track_script): when a's script fails, both of a's
/// priorities fall to 90 and b takes both.
const SYNC_GROUP_TRACKING: &str = r#"
vrrp_script chk_up {
    script "test -e @DIR@/up-${_INSTANCE}"
    interval 1
}
vrrp_sync_group G {
    group {
        GA
        GB
    }
    track_script {
        chk_up weight -60
    }
}
vrrp_instance GA {
    interface eth0
    virtual_router_id 96
    @a priority 150
    @b priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.96/24
    }
}
vrrp_instance GB {
    interface eth0
    virtual_router_id 97
    @a priority 150
    @b priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.97/24
    }
}
"#;

#[test]
fn sync_group_tracking_weights_move_the_group_alike() {
    both(&Scenario {
        tag: "imgt",
        conf: SYNC_GROUP_TRACKING,
        setup: flags,
        start: &[("198.51.100.96", 0), ("198.51.100.97", 0)],
        event: fail_a_script,
        after: &[("198.51.100.96", 1), ("198.51.100.97", 1)],
    });
}

/// Unicast VRRP with each router's own source and peer chosen by `@` and `@^` lines: a
/// is master; when its link goes down, b takes over.
const UNICAST: &str = r#"
vrrp_instance U {
    state BACKUP
    interface eth0
    virtual_router_id 95
    @a priority 200
    @b priority 100
    advert_int 1
    @a unicast_src_ip 198.51.100.1
    @b unicast_src_ip 198.51.100.2
    unicast_peer {
        @^a 198.51.100.1
        @^b 198.51.100.2
    }
    virtual_ipaddress {
        198.51.100.95/24
    }
}
"#;

fn a_link_down(lan: &Lan, _: &std::path::Path) {
    lan.hosts[0].ip(&["link", "set", "eth0", "down"]);
}

#[test]
fn unicast_with_conditional_peers_alike() {
    both(&Scenario {
        tag: "imuc",
        conf: UNICAST,
        setup: nothing,
        start: &[("198.51.100.95", 0)],
        event: a_link_down,
        after: &[("198.51.100.95", 1)],
    });
}
