//! netns tier: keepalived's vrrp `track_file` in keeplite. A pair, a (200) and b (100),
//! VRRPv3 at 100 ms; a tracks two files: a maintenance flag (weight 0: a non-zero number
//! is FAULT) and a score that moves its priority (weight -1 here: the number is taken
//! off). Writing the files moves mastership and back, as an operator or a health agent
//! would; an unreadable file is FAULT too; a reload keeps a file's effect instead of
//! forgetting it until the next read.

mod common;

use common::daemon::{scratch, steady_holder, until, until_one_holder, vrrp_section, Daemon};
use common::{netns_available, Lan};
use std::time::Duration;

const VIP: &str = "198.51.100.100";
/// Room for a loaded machine: what fails is a wrong outcome, not a slow one.
const SETTLE: Duration = Duration::from_secs(10);

#[test]
fn files_put_the_master_in_fault_or_lower_its_priority() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("trkfile", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("track-file");
    let (maintenance, score) = (dir.join("maintenance"), dir.join("score"));
    std::fs::write(&maintenance, "0\n").expect("write");
    // The score file does not exist yet: read as 0.
    let checks = format!(
        "keeplite.maintenance=check\nkeeplite.maintenance.type='file'\nkeeplite.maintenance.file='{}'\n\
         keeplite.maintenance.weight='0'\nkeeplite.maintenance.interval='100ms'\nkeeplite.maintenance.timeout='50ms'\n\
         keeplite.score=check\nkeeplite.score.type='file'\nkeeplite.score.file='{}'\n\
         keeplite.score.interval='100ms'\nkeeplite.score.timeout='50ms'\n",
        maintenance.display(),
        score.display()
    );
    let conf_a = vrrp_section("gw", 31, 200, "'198.51.100.100/24'", &["track_file='maintenance' 'score:-1'"])
        + &checks;
    let high = Daemon::keeplite(a, "trkfile-a", &conf_a);
    let low = Daemon::keeplite(b, "trkfile-b", &vrrp_section("gw", 31, 100, "'198.51.100.100/24'", &[]));
    let all = [&high, &low];
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);

    // Maintenance on: a goes to FAULT, b takes over; off: a takes mastership back.
    std::fs::write(&maintenance, "1\n").expect("write");
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    high.wait_log("vrrp gw: MASTER -> FAULT (priority 200, fault)", SETTLE);
    std::fs::write(&maintenance, "0\n").expect("write");
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    steady_holder(&[a, b], 0, VIP, Duration::from_millis(300), &all);

    // A score of 150 at weight -1: 200 - 150 = 50, below b's 100: b preempts.
    std::fs::write(&score, "150\n").expect("write");
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    until("a backup at priority 50", SETTLE, &all, || {
        high.log().contains("vrrp gw: MASTER -> BACKUP (priority 50, higher priority master)")
    });
    // A reload of the same file keeps the score's effect: a does not take over meanwhile.
    high.reload();
    high.wait_log("reload: vrrp: 1 unchanged", SETTLE);
    steady_holder(&[a, b], 1, VIP, Duration::from_millis(600), &all);
    // The score goes: a is 200 again and preempts.
    std::fs::write(&score, "0\n").expect("write");
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);

    // A file that holds no number is FAULT, and says why.
    std::fs::write(&maintenance, "on\n").expect("write");
    until_one_holder(&[a, b], 1, VIP, SETTLE, &all);
    high.wait_log("no number at the start of the file", SETTLE);
    std::fs::write(&maintenance, "0\n").expect("write");
    until_one_holder(&[a, b], 0, VIP, SETTLE, &all);
    high.wait_log("readable again", SETTLE);
}
