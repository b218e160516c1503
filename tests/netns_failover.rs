//! `keeplite run` doing real failover on a namespaced LAN: election, VIP moves, priority-0
//! hand-over on stop, preemption, link failure, track scripts, notify scripts, and the
//! distribution's keepalived as the peer.

mod common;

use common::{netns_available, Lan, Netns};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A daemon (keeplite or keepalived) in a namespace, stopped on drop.
struct Daemon {
    child: Child,
    dir: PathBuf,
    label: String,
}

fn scratch(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kl-failover-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

impl Daemon {
    fn keeplite(ns: &Netns, label: &str, conf: &str) -> Daemon {
        let dir = scratch(label);
        std::fs::write(dir.join("keeplite.conf"), conf).expect("write conf");
        let log = std::fs::File::create(dir.join("log")).expect("log");
        let child = ns
            .command(env!("CARGO_BIN_EXE_keeplite"))
            .args(["run", "-f"])
            .arg(dir.join("keeplite.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keeplite");
        Daemon { child, dir, label: label.to_owned() }
    }

    fn keepalived(ns: &Netns, label: &str, conf: &str) -> Daemon {
        let dir = scratch(label);
        std::fs::write(dir.join("keepalived.conf"), conf).expect("write conf");
        let log = std::fs::File::create(dir.join("log")).expect("log");
        let p = |n: &str| dir.join(n).display().to_string();
        let child = ns
            .command("keepalived")
            .args(["-f", &p("keepalived.conf"), "-p", &p("k.pid"), "-r", &p("v.pid"), "-c", &p("c.pid")])
            .args(["-l", "-D", "-n", "--vrrp"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keepalived");
        Daemon { child, dir, label: label.to_owned() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// SIGTERM, then wait for the exit; returns the exit status code.
    fn stop(&mut self) -> Option<i32> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "{} did not stop:\n{}", self.label, self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn has_vip(ns: &Netns, vip: &str) -> bool {
    ns.ip_output(&["-o", "addr", "show", "dev", "eth0"])
        .split_whitespace()
        .any(|w| w.split('/').next() == Some(vip))
}

/// Waits until `ns` holds (or lacks) `vip`; returns how long that took.
fn until_vip(ns: &Netns, vip: &str, held: bool, within: Duration, logs: &[&Daemon]) -> Duration {
    let start = Instant::now();
    while has_vip(ns, vip) != held {
        if start.elapsed() > within {
            let logs: Vec<String> = logs.iter().map(|d| format!("--- {}:\n{}", d.label, d.log())).collect();
            panic!(
                "{}: vip {vip} {} after {within:?}\n{}",
                ns.name,
                if held { "never came" } else { "stayed" },
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

fn conf(vrid: u8, priority: u8, extra: &str) -> String {
    format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid={vrid}\nkeeplite.gw.priority={priority}\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip='198.51.100.100/24'\n{extra}"
    )
}

const VIP: &str = "198.51.100.100";

#[test]
fn election_stop_handover_preemption_and_link_failure() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("fo", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let mut high = Daemon::keeplite(a, "high", &conf(51, 200, ""));
    let low = Daemon::keeplite(b, "low", &conf(51, 100, ""));
    let all = [&high, &low];
    until_vip(a, VIP, true, Duration::from_secs(3), &all);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!has_vip(b, VIP), "both hold the vip");

    // A stopping master hands over with priority 0: the backup takes over after Skew_Time
    // (156/256 * 0.1 s), well before Master_Down_Interval.
    assert_eq!(high.stop(), Some(0), "{}", high.log());
    assert!(!has_vip(a, VIP), "a stopped master keeps its vip");
    let took = until_vip(b, VIP, true, Duration::from_secs(2), &[&low]);
    assert!(took < Duration::from_millis(300), "hand-over took {took:?}");
    assert!(high.log().contains("MASTER -> INIT"), "{}", high.log());

    // Back with a higher priority: it preempts.
    let high = Daemon::keeplite(a, "high2", &conf(51, 200, ""));
    until_vip(a, VIP, true, Duration::from_secs(3), &[&high, &low]);
    until_vip(b, VIP, false, Duration::from_secs(2), &[&high, &low]);

    // The master's link goes down: it releases, the backup takes over.
    a.ip(&["link", "set", "eth0", "down"]);
    until_vip(b, VIP, true, Duration::from_secs(2), &[&high, &low]);
    a.ip(&["link", "set", "eth0", "up"]);
    until_vip(a, VIP, true, Duration::from_secs(5), &[&high, &low]);
    assert!(high.log().contains("-> FAULT"), "{}", high.log());
}

#[test]
fn track_script_weight_moves_mastership_and_notify_scripts_run() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("trk", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("track-flag");
    let flag = dir.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let notes = dir.join("notes");
    let extra = format!(
        "keeplite.gw.track_script=svc\nkeeplite.gw.notify='echo >> {notes}'\n\
         keeplite.svc=script\nkeeplite.svc.command='test -e {flag}'\nkeeplite.svc.interval=100ms\nkeeplite.svc.weight=-150\n",
        notes = notes.display(),
        flag = flag.display()
    );
    let high = Daemon::keeplite(a, "trk-high", &conf(52, 200, &extra));
    let low = Daemon::keeplite(b, "trk-low", &conf(52, 100, ""));
    let all = [&high, &low];
    until_vip(a, VIP, true, Duration::from_secs(3), &all);
    // The tracked service dies: 200 - 150 = 50 < 100, the peer preempts.
    std::fs::remove_file(&flag).unwrap();
    until_vip(b, VIP, true, Duration::from_secs(3), &all);
    until_vip(a, VIP, false, Duration::from_secs(1), &all);
    // It comes back: 200 again, and it takes the vip back.
    std::fs::write(&flag, "").unwrap();
    until_vip(a, VIP, true, Duration::from_secs(3), &all);
    let expected = ["INSTANCE gw BACKUP 200", "INSTANCE gw MASTER 200", "INSTANCE gw BACKUP 50"];
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let got = std::fs::read_to_string(&notes).unwrap_or_default();
        if expected.iter().all(|e| got.contains(e)) {
            break;
        }
        assert!(Instant::now() < deadline, "notify lines {got:?}, expected {expected:?}\n{}", high.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn keepalived_available() -> bool {
    let ok = Command::new("keepalived").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("keepalived is missing (CI=true: ci/test installs it)");
    }
    if !ok {
        eprintln!("SKIPPED: keepalived is missing");
    }
    ok
}

fn keepalived_conf(version: u8, vrid: u8, priority: u8, advert: &str, vip: &str) -> String {
    format!(
        "global_defs {{\n  router_id peer\n  vrrp_garp_master_delay 0\n}}\n\
         vrrp_instance gw {{\n  state BACKUP\n  interface eth0\n  virtual_router_id {vrid}\n  priority {priority}\n\
         advert_int {advert}\n  version {version}\n  virtual_ipaddress {{\n    {vip}\n  }}\n}}\n"
    )
}

/// keeplite and keepalived share a virtual router: the higher priority wins either way
/// round, and each takes over when the other stops.
fn interop(version: u8, vip: &str, prefix: u8, keeplite_extra: &str) {
    let lan = Lan::new(&format!("ka{version}"), 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let advert = if version == 2 { "1" } else { "0.5" };
    let ours = |priority: u8| {
        format!(
            "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=61\nkeeplite.gw.priority={priority}\n\
             keeplite.gw.version={version}\nkeeplite.gw.advert_int={advert}\nkeeplite.gw.vip='{vip}/{prefix}'\n{keeplite_extra}"
        )
    };
    // keeplite above keepalived.
    let mut us = Daemon::keeplite(a, "us-high", &ours(200));
    let mut them = Daemon::keepalived(
        b,
        "ka-low",
        &keepalived_conf(version, 61, 100, advert, &format!("{vip}/{prefix}")),
    );
    until_vip(a, vip, true, Duration::from_secs(8), &[&us, &them]);
    std::thread::sleep(Duration::from_secs(3));
    assert!(!has_vip(b, vip), "keepalived took the vip from a higher keeplite:\n{}", them.log());
    // keeplite stops: keepalived takes over.
    us.stop();
    until_vip(b, vip, true, Duration::from_secs(4), &[&them]);
    // keeplite back, below keepalived: it stays backup.
    let us = Daemon::keeplite(a, "us-low", &ours(50));
    std::thread::sleep(Duration::from_secs(4));
    assert!(!has_vip(a, vip), "keeplite took the vip from a higher keepalived:\n{}", us.log());
    // keepalived stops: keeplite takes over.
    them.stop();
    until_vip(a, vip, true, Duration::from_secs(5), &[&us]);
}

#[test]
fn interop_with_keepalived_v2_ipv4() {
    if netns_available() && keepalived_available() {
        interop(2, "198.51.100.101", 24, "");
    }
}

#[test]
fn interop_with_keepalived_v3_ipv4() {
    if netns_available() && keepalived_available() {
        interop(3, "198.51.100.102", 24, "");
    }
}

#[test]
fn interop_with_keepalived_v3_ipv6() {
    if netns_available() && keepalived_available() {
        interop(3, "2001:db8:1::100", 64, "");
    }
}

#[test]
fn without_capabilities_it_says_which_and_exits_1() {
    if !netns_available() {
        return;
    }
    let dir = scratch("caps");
    let path = dir.join("keeplite.conf");
    std::fs::write(&path, conf(53, 100, "")).unwrap();
    // Readable by the unprivileged user the daemon drops to.
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(&dir).status();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_keeplite"))
        .args(["run", "-f"])
        .arg(&path)
        .output()
        .expect("setpriv (util-linux)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot run: missing CAP_NET_ADMIN"), "{stderr}");
    assert!(stderr.contains("CAP_NET_RAW"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
