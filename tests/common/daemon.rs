//! Daemons of the netns tier: `keeplite run` (or the distribution's keepalived) started in a
//! namespace, stopped or killed on demand, and what a test can observe of them: the log,
//! the counters a stopping keeplite logs, and which host holds a virtual address.

use super::Netns;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT_SCRATCH: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty directory under the temp dir, unique to this process and call.
pub fn scratch(label: &str) -> PathBuf {
    let n = NEXT_SCRATCH.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("kl-test-{}-{n}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A daemon (keeplite or keepalived) in a namespace, killed on drop.
pub struct Daemon {
    /// In a cell so that stopping needs no `&mut`: tests hold a daemon in several
    /// log lists while they stop it.
    child: RefCell<Child>,
    dir: PathBuf,
    pub label: String,
}

impl Daemon {
    /// Starts `keeplite run -f CONF` in `ns`; stderr (its log) goes to a file.
    pub fn keeplite(ns: &Netns, label: &str, conf: &str) -> Daemon {
        let dir = scratch(label);
        std::fs::write(dir.join("keeplite.conf"), conf).expect("write conf");
        let log = std::fs::File::create(dir.join("log")).expect("log");
        let child = ns
            .command(&super::keeplite_bin())
            .args(["run", "-f"])
            .arg(dir.join("keeplite.conf"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keeplite");
        Daemon { child: RefCell::new(child), dir, label: label.to_owned() }
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.borrow().id()
    }

    /// Starts the distribution's keepalived, VRRP only, in the foreground, in `ns`, at
    /// nice -10: the scheduling keeplite gives its own VRRP thread (src/daemon/priority.rs)
    /// and what keepalived's `vrrp_priority -10` would give it. At keepalived's default
    /// nice 0 on a loaded machine (`stress-ng --cpu 2`), a keepalived master was seen
    /// silent for 400-450 ms at a 100 ms advert interval, so that its keeplite peer rightly
    /// took over; the peer, not keeplite, failed the simultaneous-start bound.
    pub fn keepalived(ns: &Netns, label: &str, conf: &str) -> Daemon {
        Daemon::keepalived_with(ns, label, conf, &[])
    }

    /// [`keepalived`](Self::keepalived) with more arguments, such as `-i ID` (the
    /// configuration id that `@ID` lines are compared with).
    pub fn keepalived_with(ns: &Netns, label: &str, conf: &str, args: &[&str]) -> Daemon {
        let mut all = vec!["nice", "-n", "-10", "keepalived", "--vrrp"];
        all.extend_from_slice(args);
        Daemon::keepalived_in_mode(ns, label, conf, &all)
    }

    /// keepalived's checker process only (`--check`), at the default nice: its IPVS
    /// services and real servers, no VRRP (the VM tier compares its IPVS table with
    /// keeplite's; the guest has no `nice`).
    pub fn keepalived_lvs(ns: &Netns, label: &str, conf: &str) -> Daemon {
        Daemon::keepalived_in_mode(ns, label, conf, &["keepalived", "--check"])
    }

    /// keepalived with every subsystem it has (VRRP, checker, BFD), at the default nice.
    pub fn keepalived_all(ns: &Netns, label: &str, conf: &str) -> Daemon {
        Daemon::keepalived_in_mode(ns, label, conf, &["keepalived"])
    }

    /// keepalived's VRRP process only, at the default nice (the guest has no `nice`).
    pub fn keepalived_in_guest(ns: &Netns, label: &str, conf: &str) -> Daemon {
        Daemon::keepalived_in_mode(ns, label, conf, &["keepalived", "--vrrp"])
    }

    /// `command` (the program, then its first arguments: keepalived, perhaps under nice),
    /// with keepalived's files in a scratch directory, logging to the console.
    fn keepalived_in_mode(ns: &Netns, label: &str, conf: &str, command: &[&str]) -> Daemon {
        let dir = scratch(label);
        std::fs::write(dir.join("keepalived.conf"), conf).expect("write conf");
        let log = std::fs::File::create(dir.join("log")).expect("log");
        let p = |n: &str| dir.join(n).display().to_string();
        let child = ns
            .command(command[0])
            .args(&command[1..])
            .args(["-f", &p("keepalived.conf"), "-p", &p("k.pid"), "-r", &p("v.pid"), "-c", &p("c.pid")])
            .args(["-b", &p("b.pid")])
            .args(["-l", "-D", "-n"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start keepalived");
        Daemon { child: RefCell::new(child), dir, label: label.to_owned() }
    }

    /// Replaces the configuration file the daemon was started with (for a reload).
    pub fn rewrite_conf(&self, conf: &str) {
        std::fs::write(self.dir.join("keeplite.conf"), conf).expect("rewrite conf");
    }

    /// SIGHUP: reload the configuration.
    pub fn reload(&self) {
        let pid = rustix::process::Pid::from_raw(self.child.borrow().id() as i32).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::HUP).expect("SIGHUP");
    }

    /// The file the daemon's log (its stderr) goes to, for a reader that follows it
    /// (`common::timeline`).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("log")
    }

    /// Everything the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// SIGTERM, then wait for the exit; returns the exit status code.
    pub fn stop(&self) -> Option<i32> {
        let mut child = self.child.borrow_mut();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        let what = format!("{} stopped", self.label);
        let status = until(&what, Duration::from_secs(10), &[self], || child.try_wait().ok().flatten());
        status.code()
    }

    /// SIGKILL (kill -9) and reap: the daemon gets no chance to clean up. (`ip netns exec`
    /// execs the program, so the child is the daemon itself.)
    pub fn kill(&self) {
        let mut child = self.child.borrow_mut();
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }

    /// Waits until the log contains `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) {
        until(&format!("{}: {needle:?} in its log", self.label), within, &[self], || {
            self.log().contains(needle)
        });
    }

    /// The counters keeplite logged for instance `name` when it stopped (`vrrp NAME:
    /// counters: k=v ...`); call after [`stop`](Self::stop).
    pub fn counters(&self, name: &str) -> Counters {
        self.counter_line(&format!("vrrp {name}: counters: "))
    }

    /// The counters of adverts no instance took (`vrrp: packets for no instance: ...`).
    pub fn unattributed(&self) -> Counters {
        self.counter_line("vrrp: packets for no instance: ")
    }

    fn counter_line(&self, prefix: &str) -> Counters {
        let log = self.log();
        let line = log
            .lines()
            .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest))
            .unwrap_or_else(|| panic!("{}: no {prefix:?} line in the log:\n{log}", self.label));
        let values = line
            .split_whitespace()
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("counter {kv:?} in {line:?}"));
                (k.to_owned(), v.parse().unwrap_or_else(|_| panic!("counter {kv:?} in {line:?}")))
            })
            .collect();
        Counters { values, line: line.to_owned() }
    }

    /// How many transitions `from -> to` (e.g. `"BACKUP -> MASTER"`, or `"-> MASTER"`) the
    /// log shows for instance `name`.
    pub fn transitions(&self, name: &str, what: &str) -> usize {
        let prefix = format!("vrrp {name}: ");
        self.log().lines().filter(|l| l.contains(&prefix) && l.contains(what)).count()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let child = self.child.get_mut();
        let _ = child.kill();
        let _ = child.wait();
        // keepalived's VRRP child would outlive its parent (and keep the namespace alive):
        // stop it by the pid it wrote.
        let vrrp = std::fs::read_to_string(self.dir.join("v.pid")).ok();
        if let Some(pid) = vrrp.and_then(|p| p.trim().parse().ok()).and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One instance's counters as logged.
#[derive(Debug)]
pub struct Counters {
    values: BTreeMap<String, u64>,
    /// The logged line, for assertion messages.
    pub line: String,
}

impl Counters {
    /// Counter `name`; panics when the line has no such counter.
    pub fn get(&self, name: &str) -> u64 {
        *self.values.get(name).unwrap_or_else(|| panic!("no counter {name} in {:?}", self.line))
    }

    /// Panics when any `discard_*` counter is not zero: every advert was well-formed.
    pub fn assert_no_discards(&self, who: &str) {
        for (k, v) in &self.values {
            assert!(!k.starts_with("discard_") || *v == 0, "{who}: {k}={v} in {}", self.line);
        }
    }
}

/// The logs of `daemons`, labelled, for assertion messages.
pub fn logs(daemons: &[&Daemon]) -> String {
    daemons.iter().map(|d| format!("--- {}:\n{}", d.label, d.log())).collect::<Vec<_>>().join("\n")
}

/// What one look at a condition found: met, with what it yields, or not (yet), with what
/// was seen instead (for the failure message). [`until`] and [`holds_for`] take any of
/// these: a `bool`, an `Option`, or a `Result` whose error says what was seen. An `Option`
/// or a `Result` is met when it holds a value, whatever the value: `Ok(false)` is met.
pub trait Check {
    /// What a met condition yields.
    type Value;
    /// The value when met, else what was seen.
    fn check(self) -> Result<Self::Value, String>;
}

impl Check for bool {
    type Value = ();
    fn check(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("false".into())
        }
    }
}

impl<T> Check for Option<T> {
    type Value = T;
    fn check(self) -> Result<T, String> {
        self.ok_or_else(|| "nothing".into())
    }
}

impl<T, E: std::fmt::Display> Check for Result<T, E> {
    type Value = T;
    fn check(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// How often [`until`] and [`holds_for`] look.
const POLL: Duration = Duration::from_millis(20);

/// Converges: looks at `probe` every 20 ms until it is met and returns what it yields.
/// After `within` (give it seconds: a loaded machine is slow, and only a wrong answer should
/// fail) it panics with `what`, what the last look saw, and the logs of `daemons`.
pub fn until<C: Check>(
    what: &str,
    within: Duration,
    daemons: &[&Daemon],
    mut probe: impl FnMut() -> C,
) -> C::Value {
    let start = Instant::now();
    loop {
        // Looked at once more after the deadline, so a slow look still counts.
        let seen = match probe().check() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if start.elapsed() > within {
            panic!("{what}: not within {within:?} (last seen: {seen})\n{}", logs(daemons));
        }
        std::thread::sleep(POLL);
    }
}

/// Stays: looks at `holds` every 20 ms throughout `window` (at least 5 looks) and panics at
/// the first look where it does not hold, with `what`, when, what was seen, and the logs of
/// `daemons`. "Never X" is `holds_for(.., || !x())`.
///
/// A look takes time (a `keeplite status` or an `ip` run: a second on a loaded machine),
/// and what it saw may be from any moment of it: a failed look that ended after the window
/// may have seen past it, and ends the watch instead (unless it was the first look, so that
/// a window never passes without one).
pub fn holds_for<C: Check>(what: &str, window: Duration, daemons: &[&Daemon], mut holds: impl FnMut() -> C) {
    let start = Instant::now();
    let mut looks = 0;
    loop {
        let result = holds().check();
        let ended = start.elapsed();
        match result {
            Err(seen) if ended <= window || looks == 0 => {
                panic!(
                    "{what}: broken after {ended:?} of {window:?} (look {looks}: {seen})\n{}",
                    logs(daemons)
                )
            }
            Err(_) => return,
            Ok(_) => {}
        }
        looks += 1;
        if ended >= window && looks >= 5 {
            return;
        }
        std::thread::sleep(POLL);
    }
}

/// True when `vip` (an address without prefix length) is on `ns`'s eth0.
pub fn has_vip(ns: &Netns, vip: &str) -> bool {
    ns.ip_output(&["-o", "addr", "show", "dev", "eth0"])
        .split_whitespace()
        .any(|w| w.split('/').next() == Some(vip))
}

/// The indices of the `hosts` that hold `vip`.
pub fn holders(hosts: &[&Netns], vip: &str) -> Vec<usize> {
    (0..hosts.len()).filter(|&i| has_vip(hosts[i], vip)).collect()
}

/// Met when `vip` is on host `holder` of `hosts` and on no other; else says where it is.
fn only_on(hosts: &[&Netns], holder: usize, vip: &str) -> Result<(), String> {
    let held = holders(hosts, vip);
    if held == [holder] {
        Ok(())
    } else {
        Err(format!("vip {vip} on hosts {held:?}"))
    }
}

/// Waits until `ns` holds (or lacks) `vip`; returns how long that took (as the test saw
/// it: time what a daemon did on the wire, with `wire::Capture`).
pub fn until_vip(ns: &Netns, vip: &str, held: bool, within: Duration, daemons: &[&Daemon]) -> Duration {
    let start = Instant::now();
    let what = format!("{}: vip {vip} {}", ns.name, if held { "held" } else { "released" });
    until(&what, within, daemons, || has_vip(ns, vip) == held);
    start.elapsed()
}

/// Waits until `vip` is on exactly one of `hosts`, host `holder`: the election has
/// converged. Follow it with [`steady_holder`] to see that it stays so.
pub fn until_one_holder(hosts: &[&Netns], holder: usize, vip: &str, within: Duration, daemons: &[&Daemon]) {
    until(&format!("vip {vip} only on host {holder}"), within, daemons, || only_on(hosts, holder, vip));
}

/// Panics unless every look at `hosts` throughout `period` finds `vip` on exactly one of
/// them, host `holder`.
pub fn steady_holder(hosts: &[&Netns], holder: usize, vip: &str, period: Duration, daemons: &[&Daemon]) {
    holds_for(&format!("vip {vip} only on host {holder}"), period, daemons, || only_on(hosts, holder, vip));
}

/// A `vrrp` section `name` on eth0, VRRPv3 with advert_int 100ms; `vips` as written after
/// `vip=` (`'198.51.100.100/24'`), `extra` as `option=value` lines of the same section.
pub fn vrrp_section(name: &str, vrid: u8, priority: u8, vips: &str, extra: &[&str]) -> String {
    let mut s = format!(
        "{name}=vrrp\n{name}.interface=eth0\n{name}.vrid={vrid}\n{name}.priority={priority}\n\
         {name}.advert_int=100ms\n{name}.vip={vips}\n"
    );
    for e in extra {
        s.push_str(&format!("{name}.{e}\n"));
    }
    s
}
