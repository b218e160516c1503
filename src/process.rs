//! Scripts as child processes: `/bin/sh -c`, in a process group of their own so a timeout
//! kills everything they started, with exit watched through a pidfd a poll loop can wait on.

use crate::passwd::RunAs;
use rustix::process::{kill_process_group, pidfd_open, Pid, PidfdFlags, Signal};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal (not by keeplite).
    Signalled(i32),
    /// Still running at its timeout: its whole process group was killed.
    TimedOut,
}

/// A running script.
#[derive(Debug)]
pub struct Script {
    /// `None` once killed (then [`reap`] owns it).
    child: Option<Child>,
    pidfd: Option<OwnedFd>,
    deadline: Instant,
}

/// Starts `command` with `args` as `$1...` (`/bin/sh -c 'command "$@"' keeplite args...`),
/// stdin/stdout/stderr on /dev/null, as `run_as` when given (supplementary groups dropped),
/// with only `PATH` in its environment, to be killed at `now + timeout`. A command that
/// would run as root is refused when another user could change its program
/// ([`crate::trust::script`]).
pub fn spawn(
    command: &str,
    args: &[&str],
    run_as: Option<RunAs>,
    now: Instant,
    timeout: Duration,
) -> std::io::Result<Script> {
    reap();
    let as_root = run_as.map_or(rustix::process::geteuid().is_root(), |r| r.uid == 0);
    if as_root {
        crate::trust::script(command).map_err(std::io::Error::other)?;
    }
    let script = if args.is_empty() { command.to_owned() } else { format!("{command} \"$@\"") };
    let mut cmd = Command::new("/bin/sh");
    if let Some(r) = run_as {
        cmd.uid(r.uid).gid(r.gid);
    }
    // Nothing of keeplite's environment reaches a script: a clean one with a fixed PATH.
    cmd.env_clear().env("PATH", crate::trust::SCRIPT_PATH);
    nice_zero_at_exec(&mut cmd);
    let child = cmd
        .arg("-c")
        .arg(script)
        .arg("keeplite")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    // Without pidfds (Linux < 5.3) the caller polls on its timer instead.
    let pidfd = Pid::from_raw(child.id() as i32).and_then(|p| pidfd_open(p, PidfdFlags::empty()).ok());
    Ok(Script { child: Some(child), pidfd, deadline: now + timeout })
}

impl Script {
    /// When the script will be killed if still running.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Readable once the script has exited, where the kernel has pidfds.
    pub fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(AsFd::as_fd)
    }

    /// The outcome if the script has ended, or was killed now for running past its
    /// deadline; `None` while it runs.
    pub fn poll(&mut self, now: Instant) -> Option<Outcome> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(outcome(status)),
            Ok(None) if now >= self.deadline => {
                self.kill();
                Some(Outcome::TimedOut)
            }
            Ok(None) => None,
            // The child is gone in a way we cannot read: count it as a failure.
            Err(_) => Some(Outcome::Signalled(0)),
        }
    }

    /// Kills the whole process group. The child is reaped later ([`reap`]), never waited
    /// for here: on a busy box a killed process can take a time slice or more to die, and
    /// the caller may be the VRRP loop.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pgid) = Pid::from_raw(child.id() as i32) {
            let _ = kill_process_group(pgid, Signal::KILL);
        }
        if let Ok(None) = child.try_wait() {
            bury(child);
        }
    }
}

/// Killed children not reaped yet; bounded (fixed memory): past the bound the oldest is
/// waited for.
static KILLED: Mutex<Vec<Child>> = Mutex::new(Vec::new());
const KILLED_MAX: usize = 64;

/// Hands a killed `child` to [`reap`].
fn bury(child: Child) {
    let mut list = KILLED.lock().unwrap_or_else(|p| p.into_inner());
    if list.len() >= KILLED_MAX {
        let mut oldest = list.remove(0);
        let _ = oldest.wait();
    }
    list.push(child);
}

/// Reaps the killed children that have exited since (called before each new script).
pub fn reap() {
    if let Ok(mut list) = KILLED.try_lock() {
        list.retain_mut(|c| matches!(c.try_wait(), Ok(None)));
    }
}

/// The script runs at nice 0 whatever its spawner's (the VRRP thread runs at -10: see
/// `daemon::priority`), set in the child just before exec, so that until then the child
/// keeps its parent's priority and the parent, waiting for the exec, is not held up.
#[allow(unsafe_code)]
fn nice_zero_at_exec(cmd: &mut Command) {
    // SAFETY: the closure only makes one syscall (setpriority), which is
    // async-signal-safe, and touches no memory the parent shares.
    unsafe {
        cmd.pre_exec(|| {
            let _ = rustix::process::setpriority_process(None, 0);
            Ok(())
        });
    }
}

fn outcome(status: std::process::ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(sig)) => Outcome::Signalled(sig),
        (None, None) => Outcome::Signalled(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(s: &mut Script) -> Outcome {
        loop {
            if let Some(o) = s.poll(Instant::now()) {
                return o;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn exit_codes_and_arguments() {
        let now = Instant::now();
        let mut s = spawn("exit 3", &[], None, now, Duration::from_secs(5)).unwrap();
        assert_eq!(wait(&mut s), Outcome::Exited(3));
        let check = "f() { [ $# -eq 3 ] && [ \"$3\" = MASTER ]; }; f";
        let mut s = spawn(check, &["INSTANCE", "gw", "MASTER"], None, now, Duration::from_secs(5)).unwrap();
        assert_eq!(wait(&mut s), Outcome::Exited(0));
        // Arguments reach the command untouched by the shell, quotes included.
        let mut s =
            spawn("g() { [ \"$2\" = \"it's\" ]; }; g", &["x", "it's"], None, now, Duration::from_secs(5))
                .unwrap();
        assert_eq!(wait(&mut s), Outcome::Exited(0));
    }

    #[test]
    fn runs_as_another_user() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIPPED: switching users needs root");
            return;
        }
        let nobody = Some(RunAs { uid: 65534, gid: 65534 });
        let check = "[ \"$(id -u):$(id -g):$(id -G)\" = 65534:65534:65534 ]";
        let mut s = spawn(check, &[], nobody, Instant::now(), Duration::from_secs(5)).unwrap();
        assert_eq!(wait(&mut s), Outcome::Exited(0));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = std::env::temp_dir().join(format!("keeplite-proc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("grandchild");
        // A grandchild that would write the marker after the timeout if it survived.
        let cmd = format!("(sleep 0.5; touch {}) & sleep 10", marker.display());
        let start = Instant::now();
        let mut s = spawn(&cmd, &[], None, start, Duration::from_millis(100)).unwrap();
        assert_eq!(wait(&mut s), Outcome::TimedOut);
        assert!(start.elapsed() < Duration::from_secs(2));
        std::thread::sleep(Duration::from_millis(800));
        assert!(!marker.exists(), "the grandchild outlived the timeout");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_killed_script_is_reaped_later_not_waited_for() {
        let mut s = spawn("sleep 10", &[], None, Instant::now(), Duration::from_secs(30)).unwrap();
        let pid = s.child.as_ref().map(Child::id).unwrap();
        s.kill();
        assert!(s.poll(Instant::now()).is_none(), "killed: nothing more to report");
        // Reaped by a later reap(): no zombie stays behind.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "pid {pid} was never reaped");
            reap();
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
