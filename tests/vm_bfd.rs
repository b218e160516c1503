//! VM tier (IPVS): a real server whose check is a BFD session (keepalived's `BFD_CHECK`).
//! keepalived's BFD process is the neighbour: while the session is up the real server is in
//! the kernel's table; keepalived killed (no AdminDown) takes it out within the detection
//! time and the 100 ms look; keepalived back brings it back. image/vm/test puts keepalived
//! in the guest with `--tool keepalived` (ci/test does).

mod common;

use common::daemon::{until, Daemon};
use common::{keepalived_available, output, vm_available, Lan, Netns};
use std::time::{Duration, Instant};

const WITHIN: Duration = Duration::from_secs(30);

const KEEPALIVED: &str = "
bfd_instance to_director {
    neighbor_ip 198.51.100.2
    min_rx 100
    min_tx 100
    multiplier 3
}
";

const KEEPLITE: &str = "
keeplite.web=virtual_server
keeplite.web.address='198.51.100.10'
keeplite.web.port='80'
keeplite.web.forward='dr'
keeplite.app=real_server
keeplite.app.virtual_server='web'
keeplite.app.address='198.51.100.1'
keeplite.app.check='peer'
keeplite.peer=check
keeplite.peer.type='bfd'
keeplite.peer.connect_ip='198.51.100.1'
keeplite.peer.min_rx='100ms'
keeplite.peer.min_tx='100ms'
keeplite.peer.multiplier='3'
";

/// Whether `ns`'s table has real server 198.51.100.1 in service 198.51.100.10:80.
fn in_table(ns: &Netns) -> bool {
    output(ns.command("ipvsadm").arg("-Sn"))
        .lines()
        .any(|l| l.starts_with("-a -t 198.51.100.10:80 -r 198.51.100.1:80"))
}

#[test]
fn a_real_server_follows_its_bfd_session() {
    if !(vm_available() && keepalived_available()) {
        return;
    }
    let lan = Lan::new("vbfd", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let ours = Daemon::keeplite(b, "vbfd-kl", KEEPLITE);
    // No neighbour: the session is down, and so is the real server.
    until("the service without its real server", WITHIN, &[&ours], || {
        output(b.command("ipvsadm").arg("-Sn")).contains("-A -t 198.51.100.10:80") && !in_table(b)
    });

    let theirs = Daemon::keepalived_all(a, "vbfd-ka", KEEPALIVED);
    until("the real server in", WITHIN, &[&ours, &theirs], || in_table(b));
    ours.wait_log("bfd peer: init -> up", Duration::from_secs(5));

    theirs.kill();
    let killed = Instant::now();
    until("the real server out", Duration::from_secs(10), &[&ours], || !in_table(b));
    let took = killed.elapsed();
    eprintln!("real server out {took:?} after the neighbour died (detection time 300 ms)");
    assert!(took < Duration::from_secs(2), "{took:?}\n{}", ours.log());

    let again = Daemon::keepalived_all(a, "vbfd-ka2", KEEPALIVED);
    until("the real server back", WITHIN, &[&ours, &again], || in_table(b));
}
