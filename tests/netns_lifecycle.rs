//! netns tier: keeplite under a service manager. The pid file is written at start and
//! removed at stop; with NOTIFY_SOCKET set it says READY=1, pings the watchdog at half of
//! WATCHDOG_USEC and says STOPPING=1; a second stop signal ends it at once; what it
//! cannot open makes it exit 1 with the reason.

mod common;

use common::daemon::{scratch, vrrp_section};
use common::{keeplite_bin, netns_available, Lan, Netns};
use rustix::process::{kill_process, Pid, Signal};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn start(ns: &Netns, dir: &Path, conf: &str, env: &[(&str, String)]) -> Child {
    std::fs::write(dir.join("keeplite.conf"), conf).expect("write conf");
    let log = std::fs::File::create(dir.join("log")).expect("log");
    let mut cmd = ns.command(&keeplite_bin());
    cmd.args(["run", "-f"]).arg(dir.join("keeplite.conf")).stdout(Stdio::null()).stderr(log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start keeplite")
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("log")).unwrap_or_default()
}

/// The messages on `socket` until `until` says enough or 10 s pass.
fn messages(socket: &UnixDatagram, until: impl Fn(&[String]) -> bool) -> Vec<String> {
    socket.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !until(&got) && Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    got
}

/// The pid `ip netns exec` ran keeplite as: the child itself (it execs).
fn pid_of(child: &Child) -> Pid {
    Pid::from_raw(child.id() as i32).expect("pid")
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<i32> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn pid_file_and_service_manager_notifications() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("life", 1);
    let dir = scratch("life");
    let notify = UnixDatagram::bind(dir.join("notify")).expect("bind the notify socket");
    let pid_file = dir.join("run/keeplite.pid");
    std::fs::create_dir_all(dir.join("run")).expect("run dir");
    let conf = format!(
        "g=global\ng.pid_file={}\ng.status_socket={}\n",
        pid_file.display(),
        dir.join("run/status.sock").display()
    ) + &vrrp_section("gw", 51, 100, "198.51.100.100/24", &[]);
    let env =
        [("NOTIFY_SOCKET", dir.join("notify").display().to_string()), ("WATCHDOG_USEC", "400000".to_owned())];
    let mut child = start(&lan.hosts[0], &dir, &conf, &env);
    let got = messages(&notify, |m| m.iter().filter(|x| *x == "WATCHDOG=1").count() >= 3);
    assert!(got.first().is_some_and(|m| m.starts_with("READY=1")), "{got:?}\n{}", log(&dir));
    let t0 = Instant::now();
    let got = messages(&notify, |m| m.iter().filter(|x| *x == "WATCHDOG=1").count() >= 5);
    // Half of 400 ms: five pings take about a second.
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(1500), "5 watchdog pings took {took:?}: {got:?}");
    let written = std::fs::read_to_string(&pid_file).expect("pid file");
    assert_eq!(written.trim().parse::<u32>().ok(), Some(child.id()), "{written}");

    kill_process(pid_of(&child), Signal::TERM).expect("SIGTERM");
    let got = messages(&notify, |m| m.iter().any(|x| x == "STOPPING=1"));
    assert!(got.iter().any(|x| x == "STOPPING=1"), "{got:?}");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(0), "{}", log(&dir));
    assert!(!pid_file.exists(), "the pid file outlived the daemon");
}

#[test]
fn a_running_daemons_pid_file_stops_a_second_one() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("pid2", 1);
    let (first, second) = (scratch("pid2-first"), scratch("pid2-second"));
    let pid_file = first.join("keeplite.pid");
    let conf = format!("g=global\ng.pid_file={}\n", pid_file.display())
        + &vrrp_section("gw", 51, 100, "198.51.100.100/24", &[]);
    let mut running = start(&lan.hosts[0], &first, &conf, &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&pid_file).map_or(true, |p| p.trim() != running.id().to_string()) {
        assert!(Instant::now() < deadline, "no pid file:\n{}", log(&first));
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first one holds the file locked: the second one must not start.
    let mut child = start(&lan.hosts[0], &second, &conf, &[]);
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(1));
    assert!(log(&second).contains("is keeplite running already?"), "{}", log(&second));
    assert_eq!(std::fs::read_to_string(&pid_file).ok(), Some(format!("{}\n", running.id())));
    let _ = running.kill();
    let _ = running.wait();
}

#[test]
fn a_second_stop_signal_ends_it_at_once() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("twice", 1);
    let dir = scratch("twice");
    let conf = format!("g=global\ng.status_socket={}\n", dir.join("status.sock").display())
        + &vrrp_section("gw", 51, 100, "198.51.100.100/24", &[]);
    let mut child = start(&lan.hosts[0], &dir, &conf, &[]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log(&dir).contains("started:") {
        assert!(Instant::now() < deadline, "{}", log(&dir));
        std::thread::sleep(Duration::from_millis(20));
    }
    // Stopped, two different stop signals stay pending (one of each kind) on the main
    // thread, the event loop's; on SIGCONT both handlers run before the loop looks: it sees
    // two stops at once. Sent to that thread (tgkill): a signal sent to the process while
    // the main thread has one pending goes to another thread, which a loaded machine may
    // run only after the loop has seen the first and finished a quick stop.
    let pid = pid_of(&child);
    let to_main_thread = |sig: libc::c_int| {
        let raw = pid.as_raw_nonzero().get();
        // SAFETY: tgkill takes plain integers and touches no memory.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::syscall(libc::SYS_tgkill, raw, raw, sig) };
        assert_eq!(rc, 0, "tgkill {sig}: {}", std::io::Error::last_os_error());
    };
    kill_process(pid, Signal::STOP).expect("SIGSTOP");
    to_main_thread(libc::SIGTERM);
    to_main_thread(libc::SIGINT);
    kill_process(pid, Signal::CONT).expect("SIGCONT");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(10)), Some(1), "{}", log(&dir));
    assert!(log(&dir).contains("second stop signal: exiting now"), "{}", log(&dir));
}
