//! VM tier: `keeplite import` against keepalived's own IPVS programming. One
//! keepalived.conf with the virtual server shapes the import maps (NAT, DR and TUN, TCP
//! and UDP, persistence with a granularity, one-packet scheduling, thresholds, a fwmark,
//! IPv6, a service without a port, a virtual_server_group of a range, an address block
//! and a mark) is run by keepalived's checker process in a network namespace of the guest,
//! and then, imported, by keeplite in a fresh one: the two IPVS tables, as `ipvsadm -Sn`
//! prints them, must be the same line for line. Real servers have no checkers, so both
//! daemons add every one at once. image/vm/test puts keepalived in the guest with
//! `--tool keepalived` (ci/test does).

mod common;

use common::daemon::{until, Daemon};
use common::{ipvs_saved as saved, keepalived_available, vm_available, Netns};
use std::process::Command;
use std::time::Duration;

const START: Duration = Duration::from_secs(60);
/// How long a table must stay unchanged to count as complete.
const STEADY: Duration = Duration::from_secs(2);

const CONF: &str = "
global_defs {
    router_id vm-import
}

virtual_server 198.51.100.10 80 {
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    real_server 203.0.113.1 8080 {
        weight 3
    }
    real_server 203.0.113.2 8080 {
        weight 1
        uthreshold 100
        lthreshold 10
    }
}

virtual_server 198.51.100.11 53 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    ops
    real_server 198.51.100.21 53 {
    }
}

virtual_server fwmark 7 {
    lb_algo sh
    lb_kind TUN
    real_server 203.0.113.7 {
    }
}

virtual_server 198.51.100.12 {
    lb_algo wlc
    lb_kind DR
    protocol TCP
    persistence_timeout 600
    real_server 198.51.100.22 {
        weight 2
    }
}

virtual_server 2001:db8:1::10 443 {
    lb_algo lc
    lb_kind NAT
    protocol TCP
    real_server 2001:db8:2::20 8443 {
    }
}

virtual_server_group G {
    198.51.100.30-31 443
    198.51.100.40/31 443
    fwmark 9
}

virtual_server group G {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 203.0.113.30 8443 {
        weight 2
    }
}
";

/// The table in `ns` once it holds `services` services and has not changed for
/// [`STEADY`].
fn steady_table(ns: &Netns, services: usize, d: &Daemon, what: &str) -> Vec<String> {
    let mut last = (Vec::new(), std::time::Instant::now());
    until(what, START, &[d], || {
        let now = saved(ns);
        let count = now.iter().filter(|l| l.starts_with("-A ")).count();
        if now != last.0 {
            last = (now, std::time::Instant::now());
        }
        if count == services && last.1.elapsed() >= STEADY {
            Ok(())
        } else {
            Err(format!("{count} of {services} services; {:?}", last.0))
        }
    });
    last.0
}

#[test]
fn keepalived_and_the_imported_file_program_the_same_table() {
    if !(vm_available() && keepalived_available()) {
        return;
    }
    // 198.51.100.10:80, .11:53, fwmark 7, .12:0, [2001:db8:1::10]:443, and the group's
    // .30, .31, .40, .41 on 443 and fwmark 9.
    const SERVICES: usize = 10;
    let ka_ns = Netns::new("imka");
    let ka = Daemon::keepalived_lvs(&ka_ns, "imka", CONF);
    let theirs = steady_table(&ka_ns, SERVICES, &ka, "keepalived's table");
    drop(ka);

    let dir = common::daemon::scratch("imkl");
    std::fs::write(dir.join("keepalived.conf"), CONF).expect("write keepalived.conf");
    let import = Command::new(common::keeplite_bin())
        .args(["import", "-f"])
        .arg(dir.join("keepalived.conf"))
        .output()
        .expect("run keeplite import");
    let reported = String::from_utf8_lossy(&import.stderr);
    let conf = String::from_utf8_lossy(&import.stdout).into_owned();
    assert!(conf.contains("keeplite.vs_198_51_100_12_0.port='0'"), "import:\n{conf}\n{reported}");
    assert!(import.status.success() && reported.is_empty(), "import reported:\n{reported}\n{conf}");
    let kl_ns = Netns::new("imkl");
    let kl = Daemon::keeplite(&kl_ns, "imkl", &conf);
    let ours = steady_table(&kl_ns, SERVICES, &kl, "keeplite's table");
    assert_eq!(
        ours,
        theirs,
        "keeplite's table (left) and keepalived's\nimported:\n{conf}\nkeeplite log:\n{}",
        kl.log()
    );
    assert_eq!(kl.stop(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
