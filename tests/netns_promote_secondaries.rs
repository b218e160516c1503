//! netns tier: keepalived's `promote_secondaries`. One router, master of two VIPs of a
//! subnet its interface has no other address in: 192.0.2.10/24, the subnet's primary, and
//! 192.0.2.11/24, a secondary. A reload drops the primary. Without promote_secondaries the
//! kernel deletes the secondary with it (what the option is for); with it, the secondary
//! becomes primary and is never deleted. The setting is on while keeplite runs and off
//! again after it stops.

mod common;

use common::daemon::{has_vip, until, vrrp_section, Daemon};
use common::{netns_available, Lan, Netns};
use std::process::{Child, Stdio};
use std::time::Duration;

const SETTLE: Duration = Duration::from_secs(10);
const BOTH: &str = "'192.0.2.10/24' '192.0.2.11/24'";

/// `ip -o monitor address` in `ns`, until stopped.
struct Monitor(Child);

impl Monitor {
    fn start(ns: &Netns) -> Monitor {
        let child = ns
            .command("ip")
            .args(["-o", "monitor", "address"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start ip monitor");
        // Let it subscribe before anything changes.
        std::thread::sleep(Duration::from_millis(300));
        Monitor(child)
    }

    /// Stops it; what it printed.
    fn stop(mut self) -> String {
        let _ = self.0.kill();
        let out = self.0.wait_with_output().expect("ip monitor output");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn setting(ns: &Netns) -> String {
    ns.run(|| {
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/eth0/promote_secondaries").expect("read sysctl")
    })
    .trim()
    .to_owned()
}

/// Starts keeplite in `ns` with both VIPs (`extra` options), waits until it holds them
/// with .10 the primary, reloads it without .10 while watching the addresses, and returns
/// what the monitor saw and the daemon (still running). keeplite does not put back a VIP
/// the kernel deleted: what the monitor saw is what happened.
fn drop_the_primary(ns: &Netns, label: &str, extra: &[&str]) -> (String, Daemon) {
    let daemon = Daemon::keeplite(ns, label, &vrrp_section("gw", 41, 200, BOTH, extra));
    until("both vips", SETTLE, &[&daemon], || has_vip(ns, "192.0.2.10") && has_vip(ns, "192.0.2.11"));
    let addrs = ns.ip_output(&["-4", "-o", "addr", "show", "dev", "eth0"]);
    let line = |a: &str| addrs.lines().find(|l| l.contains(a)).unwrap_or_default().to_owned();
    assert!(
        !line("192.0.2.10/").contains("secondary") && line("192.0.2.11/").contains("secondary"),
        "the test needs 192.0.2.10 primary and 192.0.2.11 secondary:\n{addrs}"
    );
    let monitor = Monitor::start(ns);
    daemon.rewrite_conf(&vrrp_section("gw", 41, 200, "'192.0.2.11/24'", extra));
    daemon.reload();
    until("192.0.2.10 gone", SETTLE, &[&daemon], || !has_vip(ns, "192.0.2.10"));
    // Time for a deletion of the secondary to show.
    std::thread::sleep(Duration::from_millis(300));
    (monitor.stop(), daemon)
}

#[test]
fn the_other_vips_of_a_subnet_outlive_its_primary() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("promote", 1);
    let a = &lan.hosts[0];
    let deleted_secondary =
        |seen: &str| seen.lines().any(|l| l.starts_with("Deleted") && l.contains("192.0.2.11/"));

    // Without the option: the kernel deletes the secondary with its primary.
    assert_eq!(setting(a), "0");
    let (seen, plain) = drop_the_primary(a, "promote-off", &[]);
    assert!(
        deleted_secondary(&seen),
        "without promote_secondaries the kernel deletes 192.0.2.11 too:\n{seen}"
    );
    plain.stop();

    // With it: turned on, the secondary promoted, never deleted; off again at stop.
    let (seen, promoted) = drop_the_primary(a, "promote-on", &["promote_secondaries=1"]);
    assert_eq!(setting(a), "1");
    assert!(!deleted_secondary(&seen), "192.0.2.11 was deleted:\n{seen}");
    assert!(has_vip(a, "192.0.2.11"), "192.0.2.11 is not held");
    promoted.stop();
    assert_eq!(setting(a), "0", "not turned off again at stop");
}
