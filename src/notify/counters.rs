//! Notification counters since start, over every queue of the process (the VRRP loop's
//! and the IPVS thread's scripts, and the mail queues), for the status endpoint.
//!
//! Process-wide atomics rather than fields: the queues live on different threads, and
//! counting must not need a lock or a channel on the paths that must never block.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Notify scripts started.
    pub scripts_run: u64,
    /// Notify scripts that exited non-zero, were killed at their timeout or could not start.
    pub scripts_failed: u64,
    /// Notify scripts refused because their queue was full.
    pub scripts_dropped: u64,
    /// Alert mails a server accepted.
    pub mails_sent: u64,
    /// Alert mails given up on after their attempts.
    pub mails_failed: u64,
    /// Alert mails refused because the mail queue was full.
    pub mails_dropped: u64,
}

impl Counts {
    /// Every count with its name in the status JSON.
    pub fn fields(&self) -> [(&'static str, u64); 6] {
        [
            ("scripts_run", self.scripts_run),
            ("scripts_failed", self.scripts_failed),
            ("scripts_dropped", self.scripts_dropped),
            ("mails_sent", self.mails_sent),
            ("mails_failed", self.mails_failed),
            ("mails_dropped", self.mails_dropped),
        ]
    }
}

/// Which count to add to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    ScriptRun,
    ScriptFailed,
    ScriptDropped,
    MailSent,
    MailFailed,
    MailDropped,
}

static TOTALS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];

/// Adds one to `count`.
pub fn add(count: Count) {
    TOTALS[count as usize].fetch_add(1, Ordering::Relaxed);
}

/// The counts now.
pub fn read() -> Counts {
    let get = |c: Count| TOTALS[c as usize].load(Ordering::Relaxed);
    Counts {
        scripts_run: get(Count::ScriptRun),
        scripts_failed: get(Count::ScriptFailed),
        scripts_dropped: get(Count::ScriptDropped),
        mails_sent: get(Count::MailSent),
        mails_failed: get(Count::MailFailed),
        mails_dropped: get(Count::MailDropped),
    }
}
