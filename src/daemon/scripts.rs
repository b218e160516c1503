//! Track scripts (`script` sections) run on their interval, each killed at its timeout;
//! their rise/fall state is what VRRP instances track.

use crate::config::model::Config;
use crate::log;
use crate::passwd::{self, RunAs};
use crate::process::{self, Outcome};
use crate::rise_fall::RiseFall;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

/// One `script` section at run time.
#[derive(Debug)]
struct Tracked {
    name: String,
    command: String,
    interval: Duration,
    timeout: Duration,
    run_as: Option<RunAs>,
    state: RiseFall,
    next_run: Instant,
    running: Option<process::Script>,
    /// Why it could not be started last time: said once, not at every interval.
    cannot_run: Option<String>,
}

/// Every script some instance tracks (keepalived runs only those).
#[derive(Debug, Default)]
pub struct Scripts {
    items: Vec<Option<Tracked>>,
}

impl Scripts {
    /// Scripts of `config` that a vrrp section tracks, first run at `now`; they start up
    /// (keepalived's default without init_fail). A `user` (or `script_user`) that does not
    /// exist is an error.
    pub fn new(config: &Config, now: Instant) -> Result<Scripts, String> {
        let mut items = Vec::new();
        for (i, s) in config.scripts.iter().enumerate() {
            let tracked = config.vrrp.iter().any(|v| v.track_scripts.iter().any(|t| t.script == i));
            if !tracked {
                items.push(None);
                continue;
            }
            let user = s.user.as_ref().or(config.global.script_user.as_ref());
            let run_as =
                user.map(|u| passwd::lookup(u)).transpose().map_err(|e| format!("script {}: {e}", s.name))?;
            items.push(Some(Tracked {
                name: s.name.clone(),
                command: s.command.clone(),
                interval: s.interval,
                timeout: s.timeout,
                run_as,
                state: RiseFall::new(s.rise, s.fall, true),
                next_run: now,
                running: None,
                cannot_run: None,
            }));
        }
        Ok(Scripts { items })
    }

    /// Takes over from `old` (the scripts before a reload) the state of every script
    /// whose section did not change, and its run in progress: a reload does not forget
    /// what a script said or start it again early.
    pub fn carry_over(&mut self, old: &mut Scripts) {
        for new in self.items.iter_mut().flatten() {
            let same = old.items.iter_mut().flatten().find(|o| {
                (&o.name, &o.command, o.interval, o.timeout, o.run_as)
                    == (&new.name, &new.command, new.interval, new.timeout, new.run_as)
                    && o.state.same_settings(&new.state)
            });
            if let Some(o) = same {
                new.state = o.state;
                new.next_run = o.next_run;
                new.running = o.running.take();
            }
        }
    }

    /// True when script `index` is up.
    pub fn is_up(&self, index: usize) -> bool {
        self.items.get(index).and_then(Option::as_ref).is_none_or(|t| t.state.is_up())
    }

    /// The earliest time a script is due or must be killed.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.items
            .iter()
            .flatten()
            .map(|t| t.running.as_ref().map_or(t.next_run, process::Script::deadline))
            .min()
    }

    /// Exit descriptors of running scripts, for the poll loop.
    pub fn exit_fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.items.iter().flatten().filter_map(|t| t.running.as_ref().and_then(process::Script::exit_fd))
    }

    /// Reaps finished scripts, starts due ones; returns the scripts whose state changed.
    pub fn poll(&mut self, now: Instant) -> Vec<(usize, bool)> {
        let mut changed = Vec::new();
        for (i, t) in self.items.iter_mut().enumerate() {
            let Some(t) = t else { continue };
            if let Some(outcome) = t.running.as_mut().and_then(|s| s.poll(now)) {
                t.running = None;
                let ok = outcome == Outcome::Exited(0);
                if outcome == Outcome::TimedOut {
                    log::info!("script {}: killed after its {}ms timeout", t.name, t.timeout.as_millis());
                }
                if t.state.record(ok) {
                    let word = if ok { "up" } else { "down" };
                    log::info!("script {}: {word} ({outcome:?})", t.name);
                    changed.push((i, ok));
                }
            }
            if t.running.is_none() && t.next_run <= now {
                t.next_run = now + t.interval;
                match process::spawn(&t.command, &[], t.run_as, now, t.timeout) {
                    Ok(s) => {
                        t.running = Some(s);
                        t.cannot_run = None;
                    }
                    Err(e) => {
                        let why = e.to_string();
                        if t.cannot_run.as_ref() != Some(&why) {
                            log::error!("script {}: cannot run {:?}: {why}", t.name, t.command);
                            t.cannot_run = Some(why);
                        }
                        if t.state.record(false) {
                            changed.push((i, false));
                        }
                    }
                }
            }
        }
        changed
    }

    /// Kills every running script (at shutdown).
    pub fn kill_all(&mut self) {
        for t in self.items.iter_mut().flatten() {
            if let Some(mut s) = t.running.take() {
                s.kill();
            }
        }
    }
}
