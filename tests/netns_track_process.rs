//! netns tier: keepalived's `vrrp_track_process` in keeplite. A pair, a (200) and b (100),
//! VRRPv3 at 100 ms; a tracks a service process of a name of its own (a copy of `sleep`)
//! twice: as a maintenance guard (weight 0: FAULT while none runs, with a fork and a
//! terminate delay) and with `quorum_max 1` at weight -150 (two running is wrong too).
//! Starting and killing the process moves mastership and back; a delay holds a change
//! back at least that long; a reload keeps what was read.

mod common;

use common::daemon::{scratch, steady_holder, until_one_holder, vrrp_section, Daemon};
use common::{netns_available, Lan};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const VIP: &str = "198.51.100.100";
/// Room for a loaded machine: what fails is a wrong outcome, not a slow one.
const SETTLE: Duration = Duration::from_secs(10);
/// How long a gained quorum must last before a counts it.
const FORK_DELAY: Duration = Duration::from_millis(600);

/// A running copy of the service, killed when dropped.
struct Service(Child);

impl Service {
    fn start(binary: &Path) -> Service {
        Service(Command::new(binary).arg("600").spawn().expect("start the service"))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A copy of `sleep` whose process name is `name`.
fn service_binary(dir: &Path, name: &str) -> PathBuf {
    let sleep = ["/usr/bin/sleep", "/bin/sleep"].into_iter().find(|p| Path::new(p).exists()).expect("sleep");
    let path = dir.join(name);
    std::fs::copy(sleep, &path).expect("copy sleep");
    path
}

#[test]
fn processes_put_the_master_in_fault_or_lower_its_priority() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("trkproc", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    // A name no other process has, within the kernel's 15 bytes.
    let name = format!("klsvc{}", std::process::id());
    let binary = service_binary(&scratch("track-process"), &name);
    let first = Service::start(&binary);
    let checks = format!(
        "keeplite.svc=check\nkeeplite.svc.type='process'\nkeeplite.svc.process='{name}'\n\
         keeplite.svc.interval='100ms'\nkeeplite.svc.fork_delay='{}ms'\nkeeplite.svc.terminate_delay='200ms'\n\
         keeplite.single=check\nkeeplite.single.type='process'\nkeeplite.single.process='{name}'\n\
         keeplite.single.quorum_max='1'\nkeeplite.single.interval='100ms'\n",
        FORK_DELAY.as_millis()
    );
    let conf_a =
        vrrp_section("gw", 32, 200, "'198.51.100.100/24'", &["track_process='svc' 'single:-150'"]) + &checks;
    let high = Daemon::keeplite(a, "trkproc-a", &conf_a);
    let low = Daemon::keeplite(b, "trkproc-b", &vrrp_section("gw", 32, 100, "'198.51.100.100/24'", &[]));
    let all = [&high, &low];
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);

    // The service stops: a goes to FAULT, b takes over.
    drop(first);
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    // `single` (no delay) may take a to BACKUP first: FAULT follows from either state.
    high.wait_log("-> FAULT (priority", SETTLE);
    high.wait_log(&format!("track_process {name}: quorum lost"), SETTLE);

    // It starts again: a takes mastership back, not before the fork delay.
    let started = Instant::now();
    let second = Service::start(&binary);
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    let back = started.elapsed();
    assert!(back >= FORK_DELAY, "a counted the process {back:?} after it started, within the fork delay");
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);

    // Two running break `single`'s quorum_max 1: 200 - 150 = 50, below b's 100.
    let third = Service::start(&binary);
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    high.wait_log("vrrp gw: MASTER -> BACKUP (priority 50, higher priority master)", SETTLE);
    // A reload keeps what was read: a does not take over meanwhile.
    high.reload();
    high.wait_log("reload: vrrp: 1 unchanged", SETTLE);
    steady_holder(&[a, b], 1, VIP, Duration::from_millis(600), &all);
    // One again: a is 200 and preempts.
    drop(third);
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    drop(second);
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
}
