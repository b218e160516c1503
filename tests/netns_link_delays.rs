//! `startup_delay` (global) and `up_delay` / `down_delay` (per instance), for bridges
//! whose ports STP keeps blocked for a while after a link comes up, and links that blip:
//! a link change reaches the instance only once it has lasted its delay.

mod common;

use common::daemon::{holds_for, logs, until, vrrp_section, Daemon};
use common::status::{instance, status};
use common::{netns_available, Lan};
use keeplite::json::Json;
use std::time::{Duration, Instant};

const VIP: &str = "198.51.100.100";
const WAIT: Duration = Duration::from_secs(10);

fn state(socket: &std::path::Path) -> String {
    status(socket)
        .ok()
        .and_then(|s| instance(&s, "gw").get("state").and_then(Json::as_str).map(str::to_owned))
        .unwrap_or_default()
}

#[test]
fn down_delay_rides_out_a_blip_and_up_delay_waits_before_leaving_fault() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("delay", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = common::daemon::scratch("delay");
    let socket = dir.join("a.sock");
    let extra = ["down_delay=1s", "up_delay=1s"];
    let conf_a = format!("g=global\ng.status_socket={}\n", socket.display())
        + &vrrp_section("gw", 51, 200, &format!("'{VIP}/24'"), &extra);
    let ra = Daemon::keeplite(a, "delay-a", &conf_a);
    let rb = Daemon::keeplite(b, "delay-b", &vrrp_section("gw", 51, 100, &format!("'{VIP}/24'"), &[]));
    let both = [&ra, &rb];
    until("A master", WAIT, &both, || state(&socket) == "master");

    // A 300 ms blip: shorter than down_delay, so nothing happens on A.
    a.ip(&["link", "set", "eth0", "down"]);
    std::thread::sleep(Duration::from_millis(300));
    a.ip(&["link", "set", "eth0", "up"]);
    holds_for("A rides out the blip", Duration::from_millis(1500), &both, || !ra.log().contains("-> FAULT"));

    // Down for good: FAULT, but only after down_delay.
    let down = Instant::now();
    a.ip(&["link", "set", "eth0", "down"]);
    until("A in FAULT", WAIT, &both, || state(&socket) == "fault");
    assert!(down.elapsed() >= Duration::from_secs(1), "FAULT after {:?}, before down_delay", down.elapsed());
    // Up again: it stays in FAULT for up_delay (then preempts B).
    let up = Instant::now();
    a.ip(&["link", "set", "eth0", "up"]);
    holds_for("A still in FAULT during up_delay", Duration::from_millis(800), &both, || {
        state(&socket) == "fault"
    });
    until("A master again", WAIT, &both, || state(&socket) == "master");
    assert!(up.elapsed() >= Duration::from_secs(1), "master again after {:?}\n{}", up.elapsed(), logs(&both));
}

#[test]
fn startup_delay_holds_vrrp_back() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("stdelay", 1);
    let dir = common::daemon::scratch("stdelay");
    let socket = dir.join("a.sock");
    let conf = format!("g=global\ng.status_socket={}\ng.startup_delay=1500ms\n", socket.display())
        + &vrrp_section("gw", 51, 200, &format!("'{VIP}/24'"), &[]);
    let started = Instant::now();
    let d = Daemon::keeplite(&lan.hosts[0], "stdelay", &conf);
    until("the status answers", WAIT, &[&d], || !state(&socket).is_empty());
    holds_for("still INIT", Duration::from_millis(1000).saturating_sub(started.elapsed()), &[&d], || {
        state(&socket) == "init"
    });
    until("master after the delay", WAIT, &[&d], || state(&socket) == "master");
    assert!(started.elapsed() >= Duration::from_millis(1500), "master after {:?}", started.elapsed());
    assert!(d.log().contains("vrrp: starting in 1500ms (startup_delay)"), "{}", d.log());
}
