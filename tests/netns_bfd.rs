//! BFD (`check` type `bfd`, `vrrp.track_bfd`) against keepalived's `bfd_instance` on one
//! LAN: the session comes up with keepalived as the peer, an instance tracking it with
//! weight 0 leaves FAULT, and when keepalived dies without a word (SIGKILL, no AdminDown)
//! the session goes down within its detection time and the instance drops its VIP; when
//! keepalived is back, so is the VIP. keeplite's log and keepalived's both show the
//! session's states. An IPv6 session beside it moves the priority. And keeplite run on a
//! keepalived.conf imported follows the session as keepalived does on that file.

mod common;

use common::daemon::{logs, scratch, until, until_vip, vrrp_section, Daemon};
use common::{keepalived_available, netns_available, Lan};
use std::time::{Duration, Instant};

const VIP: &str = "198.51.100.100";

const KEEPALIVED: &str = "
global_defs {
    router_id bfd-peer
}
bfd_instance to_b {
    neighbor_ip 198.51.100.2
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
bfd_instance to_b6 {
    neighbor_ip 2001:db8:1::2
    min_rx 200
    min_tx 200
    multiplier 3
}
";

/// keeplite's side: `peer` (IPv4) gates the instance, `peer6` (IPv6) moves its priority.
/// keepalived 2.2.7 sends IPv6 BFD with hop limit 64, not RFC 5881's 255 (seen here: keeplite
/// discards them as "with TTL Some(64)" otherwise), so `peer6` takes any (`max_hops` 255).
fn keeplite_conf(socket: &std::path::Path) -> String {
    format!(
        "g=global\ng.status_socket={}\n\
         peer=check\npeer.type=bfd\npeer.connect_ip=198.51.100.1\npeer.min_rx=100ms\npeer.min_tx=100ms\n\
         peer.multiplier=3\n\
         peer6=check\npeer6.type=bfd\npeer6.connect_ip=2001:db8:1::1\npeer6.min_rx=200ms\npeer6.min_tx=200ms\n\
         peer6.multiplier=3\npeer6.weight=-10\npeer6.max_hops=255\n",
        socket.display()
    ) + &vrrp_section("gw", 51, 100, &format!("'{VIP}/24'"), &["track_bfd='peer' 'peer6'"])
}

#[test]
fn a_session_with_keepalived_gates_the_instance() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let lan = Lan::new("bfd", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("bfd");
    let socket = dir.join("s.sock");
    let ours = Daemon::keeplite(b, "bfd-kl", &keeplite_conf(&socket));
    // No peer yet: the session is down, and with weight 0 the instance is in FAULT.
    ours.wait_log("vrrp gw: INIT -> FAULT", Duration::from_secs(10));
    // The event stream, read to its end when keeplite stops.
    until("the status socket", Duration::from_secs(5), &[&ours], || socket.exists());
    let subscriber = std::process::Command::new(common::keeplite_bin())
        .args(["subscribe", "-s"])
        .arg(&socket)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("keeplite subscribe");
    std::thread::sleep(Duration::from_secs(2));
    assert!(!common::daemon::has_vip(b, VIP), "{}", ours.log());

    let theirs = Daemon::keepalived_all(a, "bfd-ka", KEEPALIVED);
    until_vip(b, VIP, true, Duration::from_secs(15), &[&ours, &theirs]);
    ours.wait_log("bfd peer: init -> up", Duration::from_secs(5));
    // The IPv6 session comes up too (a weight of its own: it only moves the priority).
    until("bfd peer6 up", Duration::from_secs(10), &[&ours, &theirs], || {
        ours.log().contains("bfd peer6: init -> up") || ours.log().contains("bfd peer6: down -> up")
    });
    until("keepalived's sessions up", Duration::from_secs(10), &[&ours, &theirs], || {
        ["(to_b) Entering Up state", "(to_b6) Entering Up state"].iter().all(|l| theirs.log().contains(l))
    });

    // A reload that leaves the check as it is keeps the session up.
    ours.reload();
    ours.wait_log("reload", Duration::from_secs(5));
    common::daemon::holds_for("the VIP through a reload", Duration::from_secs(2), &[&ours, &theirs], || {
        common::daemon::has_vip(b, VIP)
    });
    assert!(!ours.log().contains("up -> down"), "{}", ours.log());

    // keepalived dies without AdminDown: 3 x 100 ms of silence take the session down.
    theirs.kill();
    let killed = Instant::now();
    until_vip(b, VIP, false, Duration::from_secs(5), &[&ours]);
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(2), "VIP released {took:?} after the peer died\n{}", ours.log());
    eprintln!("VIP released {took:?} after the peer died (detection time 300 ms)");
    assert!(ours.log().contains("bfd peer: up -> down (control detection time expired"), "{}", ours.log());
    ours.wait_log("bfd peer6: up -> down (control detection time expired", Duration::from_secs(2));

    // Back: up again, and so is the VIP.
    let again = Daemon::keepalived_all(a, "bfd-ka2", KEEPALIVED);
    until_vip(b, VIP, true, Duration::from_secs(15), &[&ours, &again]);
    assert_eq!(ours.stop(), Some(0), "{}", logs(&[&ours, &again]));
    let events =
        String::from_utf8_lossy(&subscriber.wait_with_output().expect("subscribe ends").stdout).into_owned();
    for wanted in [
        r#""event":"bfd","seq":"#,
        r#""check":"peer","neighbor":"198.51.100.1","from":"init","to":"up","diag":"no diagnostic""#,
        r#""check":"peer","neighbor":"198.51.100.1","from":"up","to":"down","diag":"control detection time expired""#,
    ] {
        assert!(events.contains(wanted), "no {wanted} in the event stream:\n{events}");
    }
    // keeplite's AdminDown at stop takes keepalived's session down (not a failure).
    until("keepalived hears AdminDown", Duration::from_secs(5), &[&again], || {
        again.log().contains("Entering Down state")
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// B's keepalived.conf: a session to A tracked with weight 0 by the instance holding VIP.
const B_KEEPALIVED: &str = "
bfd_instance to_a {
    neighbor_ip 198.51.100.1
    min_rx 100
    min_tx 100
    multiplier 3
}
vrrp_instance gw {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        198.51.100.100/24
    }
    track_bfd {
        to_a
    }
}
";

/// What B does with its file while A's keepalived comes and dies: holds the VIP while the
/// session is up, drops it within a second of A's death.
fn b_follows_the_session(b: &common::Netns, a: &common::Netns, ours: &Daemon, label: &str) {
    let peer = Daemon::keepalived_all(a, &format!("{label}-a"), KEEPALIVED_TO_B);
    until_vip(b, VIP, true, Duration::from_secs(15), &[ours, &peer]);
    peer.kill();
    let killed = Instant::now();
    until_vip(b, VIP, false, Duration::from_secs(5), &[ours]);
    assert!(killed.elapsed() < Duration::from_secs(1), "{label}: {:?}\n{}", killed.elapsed(), ours.log());
}

/// A's side for that test: a session to B only.
const KEEPALIVED_TO_B: &str = "
bfd_instance to_b {
    neighbor_ip 198.51.100.2
    min_rx 100
    min_tx 100
    multiplier 3
}
";

#[test]
fn the_imported_file_follows_the_session_as_keepalived_does() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let lan = Lan::new("bfdim", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    // keepalived on B first, then keeplite on B with the same file imported.
    let theirs = Daemon::keepalived_all(b, "bfdim-kb", B_KEEPALIVED);
    b_follows_the_session(b, a, &theirs, "keepalived");
    assert_eq!(theirs.stop(), Some(0), "{}", theirs.log());

    let dir = scratch("bfdim");
    std::fs::write(dir.join("keepalived.conf"), B_KEEPALIVED).expect("write keepalived.conf");
    let import = std::process::Command::new(common::keeplite_bin())
        .args(["import", "-f"])
        .arg(dir.join("keepalived.conf"))
        .output()
        .expect("run keeplite import");
    let (conf, reported) = (String::from_utf8_lossy(&import.stdout), String::from_utf8_lossy(&import.stderr));
    assert!(import.status.success() && reported.is_empty(), "import reported:\n{reported}\n{conf}");
    assert!(conf.contains("track_bfd='to_a'") && conf.contains("type='bfd'"), "{conf}");
    let ours = Daemon::keeplite(b, "bfdim-kl", &conf);
    b_follows_the_session(b, a, &ours, "keeplite");
    let _ = std::fs::remove_dir_all(&dir);
}
