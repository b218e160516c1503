//! Notify scripts, keepalived's notify family, run from a bounded queue: a slow or hanging
//! script never holds up VRRP, and a flood of transitions cannot grow memory.

use crate::config::model::Notify;
use crate::limits;
use crate::passwd::RunAs;
use crate::process::{self, Outcome, Script};
use crate::vrrp::instance::State;
use heapless::{Deque, Vec as Fixed};
use std::time::{Duration, Instant};

/// How long a notify script may run before its process group is killed.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Whose transition a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Instance,
    Group,
}

/// One command to run, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub command: String,
    pub args: Vec<String>,
}

/// keepalived's state word for notify scripts.
fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// The scripts keepalived runs for a transition into `state`: the state's own script
/// (`notify_master`, ...) as written, then `notify` with `INSTANCE|GROUP name STATE priority`.
pub fn jobs(kind: Kind, name: &str, state: State, priority: u8, notify: &Notify) -> Vec<Job> {
    let specific = match state {
        State::Master => &notify.master,
        State::Backup => &notify.backup,
        State::Fault => &notify.fault,
        State::Initialize => &notify.stop,
    };
    let mut out = Vec::new();
    if let Some(c) = specific {
        out.push(Job { command: c.clone(), args: Vec::new() });
    }
    if let Some(c) = &notify.any {
        let kind = if kind == Kind::Instance { "INSTANCE" } else { "GROUP" };
        let args = vec![kind.to_owned(), name.to_owned(), state_word(state).to_owned(), priority.to_string()];
        out.push(Job { command: c.clone(), args });
    }
    out
}

/// What became of a job, for the log.
#[derive(Debug)]
pub enum Report {
    Finished(Job, Outcome),
    /// The script could not be started at all.
    Failed(Job, std::io::Error),
}

/// Runs jobs in order, a few at a time, each with [`TIMEOUT`].
#[derive(Debug, Default)]
pub struct Runner {
    queue: Deque<Job, { limits::NOTIFY_QUEUE }>,
    running: Fixed<(Job, Script), { limits::NOTIFY_RUNNING }>,
    /// Jobs refused because the queue was full.
    pub dropped: u64,
    /// `script_user`: who the scripts run as.
    run_as: Option<RunAs>,
}

impl Runner {
    /// An idle runner whose scripts run as `run_as` (keeplite's own user when `None`).
    pub fn new(run_as: Option<RunAs>) -> Runner {
        Runner { run_as, ..Runner::default() }
    }

    /// Queues a job; false (and counted) when the queue is full.
    pub fn submit(&mut self, job: Job) -> bool {
        if self.queue.push_back(job).is_err() {
            self.dropped += 1;
            return false;
        }
        true
    }

    /// Reaps finished and overdue scripts and starts queued ones; returns what happened.
    pub fn poll(&mut self, now: Instant) -> Vec<Report> {
        let mut reports = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            match self.running[i].1.poll(now) {
                Some(outcome) => {
                    let (job, _) = self.running.swap_remove(i);
                    reports.push(Report::Finished(job, outcome));
                }
                None => i += 1,
            }
        }
        while !self.running.is_full() {
            let Some(job) = self.queue.pop_front() else { break };
            let args: Vec<&str> = job.args.iter().map(String::as_str).collect();
            match process::spawn(&job.command, &args, self.run_as, now, TIMEOUT) {
                Ok(script) => {
                    let _ = self.running.push((job, script));
                }
                Err(e) => reports.push(Report::Failed(job, e)),
            }
        }
        reports
    }

    /// The earliest deadline of a running script.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.running.iter().map(|(_, s)| s.deadline()).min()
    }

    /// True when nothing is queued or running.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && self.running.is_empty()
    }

    /// Scripts running now (their exit fds are what a poll loop waits on).
    pub fn running(&self) -> impl Iterator<Item = &Script> {
        self.running.iter().map(|(_, s)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify() -> Notify {
        Notify {
            any: Some("/etc/keeplite/notify.sh".into()),
            master: Some("/etc/keeplite/master.sh --now".into()),
            ..Notify::default()
        }
    }

    #[test]
    fn keepalived_arguments() {
        let j = jobs(Kind::Instance, "gw", State::Master, 200, &notify());
        assert_eq!(
            j,
            vec![
                Job { command: "/etc/keeplite/master.sh --now".into(), args: vec![] },
                Job {
                    command: "/etc/keeplite/notify.sh".into(),
                    args: vec!["INSTANCE".into(), "gw".into(), "MASTER".into(), "200".into()],
                },
            ]
        );
        let j = jobs(Kind::Group, "pair", State::Initialize, 100, &notify());
        assert_eq!(j[0].args, vec!["GROUP", "pair", "STOP", "100"]);
        assert!(jobs(Kind::Instance, "gw", State::Fault, 1, &Notify::default()).is_empty());
    }

    #[test]
    fn bounded_queue_runs_in_order_and_counts_overflow() {
        let mut r = Runner::default();
        let dir = std::env::temp_dir().join(format!("keeplite-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        for i in 0..limits::NOTIFY_QUEUE + 3 {
            r.submit(Job { command: format!("echo {i} >> {}", log.display()), args: vec![] });
        }
        assert_eq!(r.dropped, 3);
        let mut finished = 0;
        while !r.is_idle() {
            for rep in r.poll(Instant::now()) {
                assert!(matches!(rep, Report::Finished(_, Outcome::Exited(0))), "{rep:?}");
                finished += 1;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(finished, limits::NOTIFY_QUEUE);
        let lines = std::fs::read_to_string(&log).unwrap();
        assert_eq!(lines.lines().count(), limits::NOTIFY_QUEUE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_hanging_script_is_killed_and_does_not_block_the_rest() {
        let mut r = Runner::default();
        r.submit(Job { command: "sleep 60".into(), args: vec![] });
        r.submit(Job { command: "true".into(), args: vec![] });
        let start = Instant::now();
        assert!(r.poll(start).is_empty());
        // The quick one finishes while the hanging one runs.
        let mut quick = None;
        while quick.is_none() {
            std::thread::sleep(Duration::from_millis(5));
            quick = r.poll(Instant::now()).into_iter().next();
        }
        assert!(matches!(quick, Some(Report::Finished(ref j, Outcome::Exited(0))) if j.command == "true"));
        // At the deadline the hanging one is killed.
        let reports = r.poll(start + TIMEOUT);
        assert!(matches!(&reports[..], [Report::Finished(j, Outcome::TimedOut)] if j.command == "sleep 60"));
        assert!(r.is_idle());
    }
}
