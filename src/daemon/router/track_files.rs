//! keepalived's vrrp `track_file`: a number in a file moves an instance's priority (the
//! number times the weight) or, with weight 0, puts it in FAULT while it is not zero. An
//! operator's `echo 1 > /run/keeplite/maintenance` (weight 0) or a health agent writing a
//! score is how it is used.
//!
//! The files are read on a thread of their own (the generic worker), every interval of the
//! checks that name them (1 s by default), never on the VRRP thread: a file on a slow or
//! hung file system must not hold adverts back. The last value of each file is kept, so a
//! reload carries it over instead of forgetting a shift until the next read.

use super::super::worker::Worker;
use crate::log;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

/// How often files are read when their check has no `interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// What one tracked file does to one instance: the weight and up state of its
/// [`Tracked`](crate::vrrp::instance::Tracked) entry. `value` is `None` when the file
/// cannot be read or holds no number: that is FAULT, shown in the log, rather than a guess.
pub fn effect(value: Option<i64>, weight: i32, reverse: bool) -> (Option<i16>, bool) {
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

/// What the reading thread returns: each file's number, or why there is none.
type Reads = Vec<Result<i64, String>>;

/// The files the instances track, their last values, and the thread that reads them.
pub struct TrackFiles {
    paths: Vec<String>,
    values: Vec<Option<i64>>,
    /// The reason each file was last unreadable, so that it is logged once per change.
    failing: Vec<Option<String>>,
    interval: Duration,
    next: Option<Instant>,
    /// Started with the first file.
    reader: Option<Worker<Vec<String>, Reads>>,
    in_flight: bool,
}

impl TrackFiles {
    /// No files.
    pub fn none() -> TrackFiles {
        TrackFiles {
            paths: Vec::new(),
            values: Vec::new(),
            failing: Vec::new(),
            interval: DEFAULT_INTERVAL,
            next: None,
            reader: None,
            in_flight: false,
        }
    }

    /// Follows `paths` from now on, read every `interval`; a file followed before keeps its
    /// last value. The first read is due at once.
    pub fn set(&mut self, paths: Vec<String>, interval: Duration) -> Result<(), String> {
        let before = |p: &String| self.paths.iter().position(|o| o == p);
        self.values = paths.iter().map(|p| before(p).and_then(|i| self.values[i])).collect();
        self.failing = paths.iter().map(|p| before(p).and_then(|i| self.failing[i].clone())).collect();
        self.paths = paths;
        self.interval = interval;
        self.next = (!self.paths.is_empty()).then(Instant::now);
        if self.reader.is_none() && !self.paths.is_empty() {
            let reader =
                Worker::start("track-files", |paths: Vec<String>| paths.iter().map(|p| read(p)).collect());
            self.reader = Some(reader?);
        }
        Ok(())
    }

    /// The last value of file `pos` (`None` before the first read and while unreadable).
    pub fn value(&self, pos: usize) -> Option<i64> {
        self.values.get(pos).copied().flatten()
    }

    /// True before the first read of file `pos`.
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
        self.in_flight = reader.submit(self.paths.clone());
        self.next = Some(now + self.interval);
    }

    /// The files whose value changed in the rounds done since the last call.
    pub fn finished(&mut self) -> Vec<usize> {
        let Some(reader) = self.reader.as_mut() else { return Vec::new() };
        let mut changed = Vec::new();
        for round in reader.finished() {
            self.in_flight = false;
            // A round for the paths of before a reload: the next one is due at once.
            if round.len() != self.paths.len() {
                continue;
            }
            for (pos, read) in round.into_iter().enumerate() {
                let first = self.unread(pos);
                let (value, why) = match read {
                    Ok(v) => (Some(v), None),
                    Err(e) => (None, Some(e)),
                };
                if why != self.failing[pos] {
                    match &why {
                        Some(e) => log::error!("track_file: {e}: instances tracking it are in FAULT"),
                        None => log::info!("track_file {}: readable again", self.paths[pos]),
                    }
                }
                self.failing[pos] = why;
                if value != self.values[pos] || first {
                    self.values[pos] = value;
                    changed.push(pos);
                }
            }
        }
        changed
    }
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
    fn files_are_read_off_the_thread_and_keep_their_value_across_a_new_list() {
        let dir = std::env::temp_dir().join(format!("keeplite-track-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b, missing) = (dir.join("a"), dir.join("b"), dir.join("missing"));
        std::fs::write(&a, "5\n").unwrap();
        std::fs::write(&b, "not a number").unwrap();
        let path = |p: &std::path::Path| p.display().to_string();
        let mut files = TrackFiles::none();
        files.set(vec![path(&a), path(&b), path(&missing)], Duration::from_millis(10)).unwrap();
        assert!(files.unread(0));
        let wait = |files: &mut TrackFiles| {
            files.poll(Instant::now());
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let changed = files.finished();
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
        files.set(vec![path(&missing), path(&a)], Duration::from_millis(10)).unwrap();
        assert_eq!((files.value(0), files.value(1)), (Some(0), Some(5)));
        std::fs::write(&a, "-2").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(wait(&mut files), vec![1]);
        assert_eq!(files.value(1), Some(-2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
