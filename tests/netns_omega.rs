//! keepalived's `omega` on a live daemon: at stop, `quorum_down` of a virtual server whose
//! quorum is up and `notify_down` of its real servers that are up run, and are waited for;
//! without `omega` they do not. Works without IPVS in the kernel (this tier's host).

mod common;

use common::daemon::{scratch, Daemon};
use common::{netns_available, Lan};
use std::time::Duration;

fn conf(dir: &std::path::Path, omega: bool) -> String {
    let d = dir.display();
    format!(
        "web=virtual_server\nweb.address='198.51.100.100'\nweb.port='80'\nweb.omega='{}'\n\
         web.quorum_down='echo quorum_down >> {d}/ran'\n\
         r1=real_server\nr1.virtual_server='web'\nr1.address='198.51.100.2'\nr1.notify_down='echo r1_down >> {d}/ran'\n\
         r2=real_server\nr2.virtual_server='web'\nr2.address='198.51.100.3'\nr2.notify_down='echo r2_down >> {d}/ran'\n",
        u8::from(omega)
    )
}

#[test]
fn omega_runs_the_down_scripts_at_stop() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("omega", 1);
    for omega in [true, false] {
        let dir = scratch("omega");
        let d = Daemon::keeplite(&lan.hosts[0], "omega", &conf(&dir, omega));
        // Started: the IPVS side has said what it could do.
        d.wait_log("ipvs", Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(d.stop(), Some(0), "{}", d.log());
        let ran = std::fs::read_to_string(dir.join("ran")).unwrap_or_default();
        let mut lines: Vec<&str> = ran.lines().collect();
        lines.sort_unstable();
        if omega {
            assert_eq!(lines, ["quorum_down", "r1_down", "r2_down"], "{}", d.log());
            assert!(d.log().contains("ipvs: omega: running 3 down script(s) before stopping"), "{}", d.log());
        } else {
            assert!(lines.is_empty(), "{lines:?}\n{}", d.log());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
