//! The runner a thread keeps: notify scripts from a bounded queue, a few at a time, each
//! with [`TIMEOUT`]; mails handed to its [`Mailer`]. Nothing here waits.

use super::counters::{self, Count};
use super::email::{Mailer, Settings};
use super::{Job, Work};
use crate::limits;
use crate::log;
use crate::passwd::RunAs;
use crate::process::{self, Outcome, Script};
use heapless::{Deque, Vec as Fixed};
use std::time::{Duration, Instant};

/// How long a notify script may run before its process group is killed.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// What became of a script, for the log.
#[derive(Debug)]
pub enum Report {
    Finished(Job, Outcome),
    /// The script could not be started at all.
    Failed(Job, std::io::Error),
}

/// Runs scripts in order, a few at a time, and queues mails.
#[derive(Debug, Default)]
pub struct Runner {
    queue: Deque<Job, { limits::NOTIFY_QUEUE }>,
    running: Fixed<(Job, Script), { limits::NOTIFY_RUNNING }>,
    /// Scripts refused because the queue was full.
    pub dropped: u64,
    /// Scripts dropped since the queue last had room (the overflow is logged once per burst).
    burst: u64,
    /// `script_user`: who the scripts run as.
    run_as: Option<RunAs>,
    /// Where mails go; none without `smtp_server` and `alert_email`.
    mail: Option<Mailer>,
}

impl Runner {
    /// An idle runner whose scripts run as `run_as` (keeplite's own user when `None`).
    pub fn new(run_as: Option<RunAs>) -> Runner {
        Runner { run_as, ..Runner::default() }
    }

    /// The same runner, sending mails as `settings` say (see [`Settings::from_config`]).
    pub fn mailing(mut self, settings: Option<Settings>) -> Runner {
        self.mail = settings.map(Mailer::new);
        self
    }

    /// Queues a script or a mail; false (and counted) when a script was refused because
    /// the queue is full. A mail that does not fit is counted and logged by the mailer.
    pub fn submit(&mut self, work: impl Into<Work>) -> bool {
        match work.into() {
            Work::Script(job) => self.queue_script(job),
            Work::Mail(alert) => {
                match &mut self.mail {
                    Some(mailer) => mailer.send(&alert),
                    // Configuration validation requires the settings wherever smtp_alert is on.
                    None => log::debug!("mail: no smtp_server or alert_email for {alert:?}"),
                }
                true
            }
        }
    }

    fn queue_script(&mut self, job: Job) -> bool {
        let Err(job) = self.queue.push_back(job) else { return true };
        self.dropped += 1;
        counters::add(Count::ScriptDropped);
        if self.burst == 0 {
            log::error!(
                "notify: queue full ({} waiting, {} running): dropping scripts until it drains, first {:?}",
                limits::NOTIFY_QUEUE,
                self.running.len(),
                job.command
            );
        }
        self.burst += 1;
        false
    }

    /// Reaps finished and overdue scripts and starts queued ones; returns what happened.
    pub fn poll(&mut self, now: Instant) -> Vec<Report> {
        let mut reports = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            match self.running[i].1.poll(now) {
                Some(outcome) => {
                    let (job, _) = self.running.swap_remove(i);
                    if outcome != Outcome::Exited(0) {
                        counters::add(Count::ScriptFailed);
                    }
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
                    counters::add(Count::ScriptRun);
                    let _ = self.running.push((job, script));
                }
                Err(e) => {
                    counters::add(Count::ScriptFailed);
                    reports.push(Report::Failed(job, e));
                }
            }
        }
        if self.burst > 0 && !self.queue.is_full() {
            log::info!("notify: the queue has room again; {} script(s) were dropped", self.burst);
            self.burst = 0;
        }
        reports
    }

    /// The earliest deadline of a running script.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.running.iter().map(|(_, s)| s.deadline()).min()
    }

    /// True when no script is queued or running (mails are the mail thread's).
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

    #[test]
    fn bounded_queue_runs_in_order_and_counts_overflow() {
        let mut r = Runner::default();
        let dir = std::env::temp_dir().join(format!("keeplite-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let before = counters::read();
        for i in 0..limits::NOTIFY_QUEUE + 3 {
            let accepted = r.submit(Job { command: format!("echo {i} >> {}", log.display()), args: vec![] });
            assert_eq!(accepted, i < limits::NOTIFY_QUEUE);
        }
        assert_eq!((r.dropped, r.burst), (3, 3));
        assert!(counters::read().scripts_dropped >= before.scripts_dropped + 3);
        let mut finished = 0;
        while !r.is_idle() {
            for rep in r.poll(Instant::now()) {
                assert!(matches!(rep, Report::Finished(_, Outcome::Exited(0))), "{rep:?}");
                finished += 1;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // The burst ended once the queue had room.
        assert_eq!(r.burst, 0);
        assert_eq!(finished, limits::NOTIFY_QUEUE);
        assert!(counters::read().scripts_run >= before.scripts_run + limits::NOTIFY_QUEUE as u64);
        let lines = std::fs::read_to_string(&log).unwrap();
        let order: Vec<usize> = lines.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(order.len(), limits::NOTIFY_QUEUE);
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
        // At the deadline the hanging one is killed, and counted as failed.
        let failed = counters::read().scripts_failed;
        let reports = r.poll(start + TIMEOUT);
        assert!(matches!(&reports[..], [Report::Finished(j, Outcome::TimedOut)] if j.command == "sleep 60"));
        assert!(r.is_idle());
        assert!(counters::read().scripts_failed > failed);
    }

    #[test]
    fn a_mail_without_settings_is_accepted_and_goes_nowhere() {
        let mut r = Runner::default();
        let alert = super::super::Alert::Vrrp {
            kind: super::super::Kind::Instance,
            name: "gw".into(),
            state: crate::vrrp::instance::State::Master,
        };
        assert!(r.submit(alert));
        assert!(r.is_idle());
    }
}
