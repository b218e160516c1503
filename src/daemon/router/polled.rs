//! What instances track by looking at this machine: the number in a file (keepalived's
//! vrrp `track_file`) and the processes that run (its `vrrp_track_process`).
//!
//! A file's number moves an instance's priority (the number times the weight) or, with
//! weight 0, puts it in FAULT while it is not zero: an operator's `echo 1 >
//! /run/keeplite/maintenance` (weight 0) or a health agent writing a score is how it is
//! used. A process check's quorum (as many matching processes as it asks) adds its weight
//! while held (> 0), takes it away while lost (< 0), or with weight 0 puts the instance in
//! FAULT while lost, as a track script's exit status does.
//!
//! Files and `/proc` are read on a thread of their own (the generic worker), every
//! interval of the checks that name them (1 s by default), never on the VRRP thread: a
//! file on a slow or hung file system must not hold adverts back. The last value of each
//! is kept, so a reload carries it over instead of forgetting a shift until the next read.

use super::super::worker::Worker;
use crate::check::process::{self, Quorum};
use crate::config::model::ProcessCheck;
use crate::log;
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// How often files and processes are read when their check has no `interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// One thing read: a file, or the processes a check counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    File(String),
    Process(ProcessCheck),
}

impl Probe {
    /// What the log calls it.
    fn describe(&self) -> String {
        match self {
            Probe::File(path) => format!("track_file {path}"),
            Probe::Process(p) => format!("track_process {}", p.process),
        }
    }
}

/// What a probe's value does to one instance's tracked entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The file's number times `weight`.
    File { weight: i32, reverse: bool },
    /// The process quorum, weighed as a script's result.
    Process { weight: i16, reverse: bool },
}

impl Effect {
    /// The weight and up state of the [`Tracked`](crate::vrrp::instance::Tracked) entry
    /// for `value`: a file's number, or 1 while a process quorum holds and 0 while not.
    /// `None` (the file or `/proc` cannot be read, or the file holds no number) is FAULT,
    /// shown in the log, rather than a guess.
    pub fn of(self, value: Option<i64>) -> (Option<i16>, bool) {
        match self {
            Effect::File { weight, reverse } => file_effect(value, weight, reverse),
            Effect::Process { weight, reverse } => match value {
                None => (None, false),
                Some(held) => ((weight != 0).then_some(weight), (held != 0) != reverse),
            },
        }
    }
}

/// A file's effect: with weight 0, FAULT while the number is not 0; else the number times
/// the weight shifts the priority.
fn file_effect(value: Option<i64>, weight: i32, reverse: bool) -> (Option<i16>, bool) {
    let Some(value) = value else { return (None, false) };
    if weight == 0 {
        return (None, (value == 0) != reverse);
    }
    let shift = i64::from(weight).saturating_mul(value);
    let shift = if reverse { shift.saturating_neg() } else { shift };
    // keepalived: below -253 nothing of the priority is left: FAULT.
    if shift < -253 {
        return (None, false);
    }
    let shift = i16::try_from(shift.min(253)).unwrap_or(253);
    (Some(shift), shift >= 0)
}

/// What the reading thread returns: each probe's number (a file's, or the processes
/// counted), or why there is none.
type Reads = Vec<Result<i64, String>>;

/// A round: the probes read, and what each read found.
type Round = (Vec<Probe>, Reads);

/// The probes the instances track, their last values, and the thread that reads them.
pub struct Polled {
    probes: Vec<Probe>,
    values: Vec<Option<i64>>,
    /// The reason each probe was last unreadable, so that it is logged once per change.
    failing: Vec<Option<String>>,
    /// Each process probe's quorum with its delays (unused for files).
    quorums: Vec<Quorum>,
    interval: Duration,
    next: Option<Instant>,
    /// Started with the first probe.
    reader: Option<Worker<Vec<Probe>, Round>>,
    in_flight: bool,
}

impl Polled {
    /// No probes.
    pub fn none() -> Polled {
        Polled {
            probes: Vec::new(),
            values: Vec::new(),
            failing: Vec::new(),
            quorums: Vec::new(),
            interval: DEFAULT_INTERVAL,
            next: None,
            reader: None,
            in_flight: false,
        }
    }

    /// Follows `probes` from now on, read every `interval`; a probe followed before keeps
    /// its last value. The first read is due at once.
    pub fn set(&mut self, probes: Vec<Probe>, interval: Duration) -> Result<(), String> {
        let before: Vec<Option<usize>> =
            probes.iter().map(|p| self.probes.iter().position(|o| o == p)).collect();
        self.values = before.iter().map(|b| b.and_then(|i| self.values[i])).collect();
        self.failing = before.iter().map(|b| b.and_then(|i| self.failing[i].clone())).collect();
        self.quorums =
            before.iter().map(|b| b.map(|i| self.quorums[i].clone()).unwrap_or_default()).collect();
        self.probes = probes;
        self.interval = interval;
        self.next = (!self.probes.is_empty()).then(Instant::now);
        if self.reader.is_none() && !self.probes.is_empty() {
            let read = |probes: Vec<Probe>| {
                let reads = read_all(&probes);
                (probes, reads)
            };
            self.reader = Some(Worker::start("track-polled", read)?);
        }
        Ok(())
    }

    /// The last value of probe `pos` (`None` before the first read and while unreadable).
    pub fn value(&self, pos: usize) -> Option<i64> {
        self.values.get(pos).copied().flatten()
    }

    /// True before the first read of probe `pos`.
    pub fn unread(&self, pos: usize) -> bool {
        self.values.get(pos).is_some_and(Option::is_none)
            && self.failing.get(pos).is_some_and(Option::is_none)
    }

    /// Readable when a round of reads is done.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.reader.as_ref().map(Worker::fd)
    }

    /// When the next round is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.next.filter(|_| !self.in_flight)
    }

    /// Starts a round of reads when one is due.
    pub fn poll(&mut self, now: Instant) {
        let Some(reader) = self.reader.as_mut() else { return };
        if self.in_flight || self.next.is_none_or(|t| t > now) {
            return;
        }
        self.in_flight = reader.submit(self.probes.clone());
        self.next = Some(now + self.interval);
    }

    /// The probes whose value changed in the rounds done since the last call, judged at
    /// `now` (a process quorum's delays).
    pub fn finished(&mut self, now: Instant) -> Vec<usize> {
        let Some(reader) = self.reader.as_mut() else { return Vec::new() };
        let mut changed = Vec::new();
        for (probes, reads) in reader.finished() {
            self.in_flight = false;
            // A round for the probes of before a reload: the next one is due at once.
            if probes != self.probes {
                continue;
            }
            for (pos, read) in reads.into_iter().enumerate() {
                let first = self.unread(pos);
                let (value, why) = match (read, &self.probes[pos]) {
                    (Ok(count), Probe::Process(p)) => {
                        let count = u32::try_from(count).unwrap_or(u32::MAX);
                        (Some(i64::from(self.quorums[pos].read(p, count, now))), None)
                    }
                    (Ok(v), Probe::File(_)) => (Some(v), None),
                    (Err(e), _) => (None, Some(e)),
                };
                let what = self.probes[pos].describe();
                if why != self.failing[pos] {
                    match &why {
                        Some(e) => log::error!("{what}: {e}: instances tracking it are in FAULT"),
                        None => log::info!("{what}: readable again"),
                    }
                }
                self.failing[pos] = why;
                if value != self.values[pos] || first {
                    if let (Probe::Process(_), Some(held)) = (&self.probes[pos], value) {
                        log::info!("{what}: quorum {}", if held != 0 { "held" } else { "lost" });
                    }
                    self.values[pos] = value;
                    changed.push(pos);
                }
            }
        }
        changed
    }
}

/// One round: every file, and one pass over `/proc` for all the process probes.
fn read_all(probes: &[Probe]) -> Reads {
    let checks: Vec<&ProcessCheck> = probes
        .iter()
        .filter_map(|p| match p {
            Probe::Process(c) => Some(c),
            Probe::File(_) => None,
        })
        .collect();
    let counts = if checks.is_empty() { Ok(Vec::new()) } else { process::count(Path::new("/proc"), &checks) };
    let mut nth = 0;
    probes
        .iter()
        .map(|p| match p {
            Probe::File(path) => read(path),
            Probe::Process(_) => {
                nth += 1;
                counts.as_ref().map(|c| i64::from(c[nth - 1])).map_err(Clone::clone)
            }
        })
        .collect()
}

/// The number in the file at `path`, as the `file` check reads it.
fn read(path: &str) -> Result<i64, String> {
    crate::check::file::read(path).map_err(|why| match why {
        crate::check::Outcome::Error(e) => e,
        other => format!("{path}: {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effect(value: Option<i64>, weight: i32, reverse: bool) -> (Option<i16>, bool) {
        Effect::File { weight, reverse }.of(value)
    }

    #[test]
    fn weight_0_is_fault_while_the_value_is_not_0() {
        assert_eq!(effect(Some(0), 0, false), (None, true));
        assert_eq!(effect(Some(1), 0, false), (None, false));
        assert_eq!(effect(Some(-7), 0, false), (None, false));
        // reverse: zero is the failure.
        assert_eq!(effect(Some(0), 0, true), (None, false));
        assert_eq!(effect(Some(3), 0, true), (None, true));
    }

    #[test]
    fn other_weights_shift_the_priority_and_far_below_is_fault() {
        assert_eq!(effect(Some(0), 10, false), (Some(0), true));
        assert_eq!(effect(Some(3), 10, false), (Some(30), true));
        assert_eq!(effect(Some(-3), 10, false), (Some(-30), false));
        assert_eq!(effect(Some(3), 10, true), (Some(-30), false));
        assert_eq!(effect(Some(-253), 1, false), (Some(-253), false));
        assert_eq!(effect(Some(-254), 1, false), (None, false));
        assert_eq!(effect(Some(i64::MAX), 254, false), (Some(253), true));
        assert_eq!(effect(Some(i64::MIN), 254, false), (None, false));
        assert_eq!(effect(Some(i64::MIN), 1, true), (Some(253), true));
    }

    #[test]
    fn an_unreadable_file_is_fault() {
        assert_eq!(effect(None, 0, false), (None, false));
        assert_eq!(effect(None, 10, true), (None, false));
    }

    #[test]
    fn a_process_quorum_weighs_as_a_script_does() {
        let process = |weight, reverse| Effect::Process { weight, reverse };
        assert_eq!(process(0, false).of(Some(1)), (None, true));
        assert_eq!(process(0, false).of(Some(0)), (None, false));
        assert_eq!(process(0, true).of(Some(1)), (None, false));
        assert_eq!(process(10, false).of(Some(1)), (Some(10), true));
        assert_eq!(process(-10, false).of(Some(0)), (Some(-10), false));
        assert_eq!(process(-10, true).of(Some(0)), (Some(-10), true));
        assert_eq!(process(-10, false).of(None), (None, false), "/proc unreadable: FAULT");
    }

    #[test]
    fn files_are_read_off_the_thread_and_keep_their_value_across_a_new_list() {
        let dir = std::env::temp_dir().join(format!("keeplite-track-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, missing) = (dir.join("a"), dir.join("b"), dir.join("missing"));
        std::fs::write(&a, "5\n").unwrap();
        std::fs::write(&b, "not a number").unwrap();
        let file = |p: &std::path::Path| Probe::File(p.display().to_string());
        let mut files = Polled::none();
        files.set(vec![file(&a), file(&b), file(&missing)], Duration::from_millis(10)).unwrap();
        assert!(files.unread(0));
        let wait = |files: &mut Polled| {
            files.poll(Instant::now());
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let changed = files.finished(Instant::now());
                if !changed.is_empty() || Instant::now() > deadline {
                    return changed;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        assert_eq!(wait(&mut files), vec![0, 1, 2]);
        assert_eq!((files.value(0), files.value(1), files.value(2)), (Some(5), None, Some(0)));
        assert!(!files.unread(1), "an unreadable file has been read");
        // A new list keeps what it had of the same files.
        files.set(vec![file(&missing), file(&a)], Duration::from_millis(10)).unwrap();
        assert_eq!((files.value(0), files.value(1)), (Some(0), Some(5)));
        std::fs::write(&a, "-2").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(wait(&mut files), vec![1]);
        assert_eq!(files.value(1), Some(-2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
