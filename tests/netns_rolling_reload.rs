//! A pair changed the normal way, one router at a time: router A (priority 200) is
//! reloaded (SIGHUP) through every kind of change while router B (100) still runs the old
//! file; B must never take over. Three instances as on a real pair: gw1 and gw2 in a sync
//! group, gw3 tracking a script; 100 ms adverts.
//!
//! Before keeplite took adverts with another address list (RFC 9568 section 7.1's check is
//! a MAY), B discarded A's gw1 adverts once A had a new VIP, became MASTER about every
//! 360 ms with its announcement bursts, and dragged gw2 along through the sync group.

mod common;

use common::daemon::{holds_for, logs, until, vrrp_section, Daemon};
use common::{netns_available, Lan};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// How long B is watched after each change: 5 of B's Master_Down_Intervals.
const WINDOW: Duration = Duration::from_millis(1800);

/// One version of a router's file.
#[derive(Clone)]
struct Conf {
    priority: u8,
    gw1_vips: &'static str,
    gw2_priority_drop: u8,
    gw3_advert: &'static str,
    script: &'static str,
    gw3_in_group: bool,
}

const OLD: Conf = Conf {
    priority: 200,
    gw1_vips: "'198.51.100.101/24'",
    gw2_priority_drop: 0,
    gw3_advert: "100ms",
    script: "true",
    gw3_in_group: false,
};

impl Conf {
    fn text(&self) -> String {
        let p = self.priority;
        let mut s = String::new();
        s += &vrrp_section("gw1", 61, p, self.gw1_vips, &[]);
        s += &vrrp_section("gw2", 62, p - self.gw2_priority_drop, "'198.51.100.102/24'", &[]);
        s += &vrrp_section("gw3", 63, p, "'198.51.100.103/24'", &["track_script=chk"])
            .replace("advert_int=100ms", &format!("advert_int={}", self.gw3_advert));
        let members = if self.gw3_in_group { "'gw1' 'gw2' 'gw3'" } else { "'gw1' 'gw2'" };
        s += &format!("pair=sync_group\npair.members={members}\n");
        s += &format!("chk=script\nchk.command='{}'\nchk.interval=200ms\nchk.weight=-50\n", self.script);
        s
    }

    fn vips(&self) -> Vec<&'static str> {
        let mut v: Vec<&str> = self
            .gw1_vips
            .split_whitespace()
            .map(|w| w.trim_matches('\'').split('/').next().unwrap_or(""))
            .collect();
        v.extend(["198.51.100.102", "198.51.100.103"]);
        v
    }
}

fn holds(ns: &common::Netns, vip: &str) -> bool {
    common::holders::holds(ns, vip)
}

#[test]
fn reloading_one_router_through_every_kind_of_change_never_moves_mastership() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("roll", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let ra = Daemon::keeplite(a, "roll-a", &OLD.text());
    let rb = Daemon::keeplite(b, "roll-b", &Conf { priority: 100, ..OLD }.text());
    let both = [&ra, &rb];
    until("A master of all three", WAIT, &both, || OLD.vips().iter().all(|v| holds(a, v)));
    until("B backup of all three", WAIT, &both, || OLD.vips().iter().all(|v| !holds(b, v)));
    let masters_b = || ["gw1", "gw2", "gw3"].iter().map(|g| rb.transitions(g, "-> MASTER")).sum::<usize>();
    let before = masters_b();

    let changes: Vec<(&str, Conf)> = vec![
        ("a VIP added to gw1", Conf { gw1_vips: "'198.51.100.101/24' '198.51.100.111/24'", ..OLD }),
        ("that VIP removed again", OLD),
        ("gw2's priority lowered (still above B)", Conf { gw2_priority_drop: 20, ..OLD }),
        ("gw3's advert interval doubled", Conf { gw3_advert: "200ms", ..OLD }),
        ("gw3's track script changed", Conf { script: "test -d /", ..OLD }),
        ("gw3 joins the sync group", Conf { gw3_in_group: true, ..OLD }),
        (
            "all of it at once",
            Conf {
                gw1_vips: "'198.51.100.101/24' '198.51.100.111/24' '198.51.100.121/24'",
                gw2_priority_drop: 20,
                gw3_advert: "200ms",
                script: "test -d /",
                gw3_in_group: true,
                ..OLD
            },
        ),
    ];
    for (n, (what, conf)) in changes.iter().enumerate() {
        ra.rewrite_conf(&conf.text());
        ra.reload();
        until(&format!("A reloaded: {what}"), WAIT, &both, || ra.log().matches("reload: ").count() > n);
        until(&format!("A holds its new VIPs: {what}"), WAIT, &both, || {
            conf.vips().iter().all(|v| holds(a, v))
        });
        holds_for(&format!("B stays backup after: {what}"), WINDOW, &both, || {
            masters_b() == before && !conf.vips().iter().chain(OLD.vips().iter()).any(|v| holds(b, v))
        });
    }
    assert!(
        rb.log().contains("carry another address list"),
        "B never said it saw another list:\n{}",
        logs(&both)
    );
    assert!(!ra.log().contains("MASTER -> "), "A stepped down:\n{}", logs(&both));
}
