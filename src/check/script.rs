//! The `script` probe: a command whose exit code is the verdict (keepalived's MISC_CHECK):
//! 0 passes, anything else fails, and with `dynamic` 2..=255 passes with weight code - 2.
//! It runs in a process group of its own, killed whole at the timeout.

use super::Outcome;
use crate::passwd::RunAs;
use crate::process::{self, Script};
use std::time::{Duration, Instant};

/// How often a running script is looked at. Its exit is not on a descriptor the async
/// runtime watches; a few milliseconds late is nothing next to a check's interval.
const POLL: Duration = Duration::from_millis(20);

/// A running script, killed with its process group if the probe is dropped unfinished.
struct Running(Option<Script>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(script) = self.0.as_mut() {
            script.kill();
        }
    }
}

/// Runs `command` as `run_as`, killed after `timeout`.
pub async fn probe(command: &str, run_as: Option<RunAs>, timeout: Duration, dynamic: bool) -> Outcome {
    let script = match process::spawn(command, &[], run_as, Instant::now(), timeout) {
        Ok(s) => s,
        Err(e) => return Outcome::Error(format!("cannot run: {e}")),
    };
    let mut running = Running(Some(script));
    loop {
        let ended = running.0.as_mut().and_then(|s| s.poll(Instant::now()));
        if let Some(ended) = ended {
            running.0 = None;
            return verdict(ended, dynamic);
        }
        super::reactor::Timer::after(POLL).await;
    }
}

/// What a script's end means.
fn verdict(ended: process::Outcome, dynamic: bool) -> Outcome {
    match ended {
        process::Outcome::Exited(0) => Outcome::Ok,
        process::Outcome::Exited(code @ 2..=255) if dynamic => Outcome::Weight(code as u32 - 2),
        process::Outcome::Exited(code) => Outcome::Exit(code),
        process::Outcome::Signalled(sig) => Outcome::Error(format!("killed by signal {sig}")),
        process::Outcome::TimedOut => Outcome::Timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::reactor;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        reactor::block_on(f).unwrap()
    }

    fn run(command: &str, dynamic: bool) -> Outcome {
        block_on(probe(command, None, Duration::from_secs(2), dynamic))
    }

    #[test]
    fn exit_codes() {
        assert_eq!(run("exit 0", false), Outcome::Ok);
        assert_eq!(run("exit 1", false), Outcome::Exit(1));
        assert_eq!(run("exit 7", false), Outcome::Exit(7));
        assert_eq!(run("exit 7", true), Outcome::Weight(5));
        assert_eq!(run("exit 2", true), Outcome::Weight(0));
        assert_eq!(run("exit 1", true), Outcome::Exit(1));
        assert_eq!(run("kill -TERM $$", false), Outcome::Error("killed by signal 15".into()));
    }

    #[test]
    fn a_hanging_script_is_killed_at_the_timeout_with_its_children() {
        let marker = std::env::temp_dir().join(format!("kl-script-{}", std::process::id()));
        let command = format!("(sleep 3; touch {}) & sleep 30", marker.display());
        let t = Instant::now();
        assert_eq!(block_on(probe(&command, None, Duration::from_millis(300), false)), Outcome::Timeout);
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        std::thread::sleep(Duration::from_millis(3500));
        assert!(!marker.exists(), "the background child was killed with the group");
    }
}
