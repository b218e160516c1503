//! What happened on a few hosts, in order, as it happened: every link and address
//! notification of their namespaces (rtnetlink) and every line their daemons logged, each
//! stamped when it arrived. A thread follows them all from the start of a test to its end,
//! so that a test asks afterwards about any stretch of it ("was there ever a moment with no
//! VIP holder, and how long", "when did the new bridge run", "when did the daemon leave
//! FAULT") instead of sampling: nothing between two samples goes unseen, and no sample
//! costs a process.
//!
//! The stamps are the test's clock when the thread read the notification or the line; it
//! waits in poll(2) on the notification sockets, at nice -10, so that is within a few
//! milliseconds of the kernel's sending them on a quiet machine. A loaded machine delays the thread, which
//! stamps late by the same amount everything it reads in one go: it can shorten a gap
//! between two notifications, never lengthen one. Time what a daemon sends with the wire
//! capture (`common::wire`), whose stamps are the kernel's.

use super::holders::holds;
use super::Netns;
use keeplite::net::monitor::{Event, Monitor};
use rustix::event::{PollFd, PollFlags, Timespec};
use std::io::{Read, Seek, SeekFrom};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One thing that happened on host `host` (an index into the hosts given to
/// [`Timeline::start`]).
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: Instant,
    pub host: usize,
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A link appeared or changed; `up` is VRRP's notion (administratively up and running).
    Link {
        index: u32,
        name: String,
        up: bool,
        mac: Option<[u8; 6]>,
    },
    /// A link was deleted.
    LinkGone {
        index: u32,
        name: String,
    },
    /// An address was added (or changed: an IPv6 one finishing DAD comes again, usable).
    AddrAdded {
        index: u32,
        addr: IpAddr,
        usable: bool,
    },
    AddrRemoved {
        index: u32,
        addr: IpAddr,
    },
    /// The kernel dropped notifications; `vip_held` is what a fresh look found.
    Lost {
        vip_held: bool,
    },
    /// A line the host's daemon logged.
    Log(String),
}

/// The record, filled by a thread until dropped.
pub struct Timeline {
    entries: Arc<Mutex<Vec<Entry>>>,
    /// Who held the VIP when the record started.
    initial: Vec<bool>,
    vip: IpAddr,
    /// Turns of the reading thread: each reads everything queued when it began.
    turns: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A log file read as it grows, line by line.
struct Tail {
    path: PathBuf,
    offset: u64,
    partial: String,
}

impl Tail {
    fn new_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.path) else { return Vec::new() };
        if f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        self.offset += buf.len() as u64;
        self.partial.push_str(&String::from_utf8_lossy(&buf));
        let mut lines = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            lines.push(self.partial[..end].to_owned());
            self.partial.drain(..=end);
        }
        lines
    }
}

impl Timeline {
    /// Starts following `hosts` (their namespaces' notifications) and the log files
    /// `logs[i]` of host i's daemon (`None`: no daemon there), with `vip` (an address
    /// without prefix length) as the address whose holders [`holders`](Self::holders) tells.
    pub fn start(hosts: &[&Netns], logs: &[Option<PathBuf>], vip: &str) -> Timeline {
        let monitors: Vec<Monitor> =
            hosts.iter().map(|ns| ns.run(|| Monitor::open().expect("rtnetlink monitor"))).collect();
        let initial: Vec<bool> = hosts.iter().map(|ns| holds(ns, vip)).collect();
        let names: Vec<String> = hosts.iter().map(|ns| ns.name.clone()).collect();
        let mut tails: Vec<Option<Tail>> = logs
            .iter()
            .map(|p| p.clone().map(|path| Tail { path, offset: 0, partial: String::new() }))
            .collect();
        let entries = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let turns = Arc::new(AtomicU64::new(0));
        let (record, halt, turned) = (entries.clone(), stop.clone(), turns.clone());
        let vip_text = vip.to_owned();
        let thread = std::thread::spawn(move || {
            // At the daemons' VRRP threads' nice (-10): the stamps are only as good as this
            // thread's being scheduled, and a loaded run saw it 244 ms late at nice 0.
            let _ = rustix::process::setpriority_process(Some(rustix::thread::gettid()), -10);
            let mut monitors = monitors;
            while !halt.load(Ordering::Relaxed) {
                {
                    let mut fds: Vec<PollFd<'_>> =
                        monitors.iter().map(|m| PollFd::new(m, PollFlags::IN)).collect();
                    let timeout = Timespec { tv_sec: 0, tv_nsec: 5_000_000 };
                    let _ = rustix::event::poll(&mut fds, Some(&timeout));
                }
                let mut new = Vec::new();
                for (host, m) in monitors.iter_mut().enumerate() {
                    while let Some(event) = m.next_event().expect("rtnetlink monitor") {
                        let what = match event {
                            Event::Link(l) => What::Link {
                                index: l.index,
                                name: l.name.to_string(),
                                up: l.is_up(),
                                mac: l.mac,
                            },
                            Event::LinkRemoved { index, name } => {
                                What::LinkGone { index, name: name.to_string() }
                            }
                            Event::AddressAdded(a) => {
                                What::AddrAdded { index: a.index, addr: a.addr, usable: a.usable() }
                            }
                            Event::AddressRemoved(a) => What::AddrRemoved { index: a.index, addr: a.addr },
                            Event::Lost => What::Lost { vip_held: holds_in(&names[host], &vip_text) },
                        };
                        new.push(Entry { at: Instant::now(), host, what });
                    }
                }
                for (host, tail) in tails.iter_mut().enumerate() {
                    if let Some(tail) = tail {
                        for line in tail.new_lines() {
                            new.push(Entry { at: Instant::now(), host, what: What::Log(line) });
                        }
                    }
                }
                if !new.is_empty() {
                    record.lock().unwrap().extend(new);
                }
                turned.fetch_add(1, Ordering::Release);
            }
        });
        Timeline { entries, initial, vip: vip.parse().expect("vip"), turns, stop, thread: Some(thread) }
    }

    /// Waits until the thread has read everything queued before this call (two whole turns
    /// from now; at most 5 s): a loaded machine may leave it behind, and a question asked of
    /// the record meanwhile would miss the latest.
    pub fn sync(&self) {
        let target = self.turns.load(Ordering::Acquire) + 2;
        let start = Instant::now();
        while self.turns.load(Ordering::Acquire) < target && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Everything recorded so far, in order.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().unwrap().clone()
    }

    /// Who held the VIP from the start: the state at the start, then each change, with
    /// when it was seen.
    pub fn holders(&self) -> Vec<(Instant, Vec<bool>)> {
        let entries = self.entries.lock().unwrap();
        let start = entries.first().map(|e| e.at).unwrap_or_else(Instant::now);
        let mut held = self.initial.clone();
        let mut out = vec![(start, held.clone())];
        for e in entries.iter() {
            let now = match &e.what {
                What::AddrAdded { addr, .. } if *addr == self.vip => true,
                What::AddrRemoved { addr, .. } if *addr == self.vip => false,
                What::Lost { vip_held } => *vip_held,
                _ => continue,
            };
            if held[e.host] != now {
                held[e.host] = now;
                out.push((e.at, held.clone()));
            }
        }
        out
    }

    /// The stretches within `from..to` with no VIP holder (`none`) and with more than one
    /// (`many`), each as (start, length); a stretch going on at `to` ends there.
    pub fn holder_stretches(&self, from: Instant, to: Instant) -> Stretches {
        let changes = self.holders();
        let mut out = Stretches::default();
        for (i, (at, held)) in changes.iter().enumerate() {
            let end = changes.get(i + 1).map_or(to, |(next, _)| *next).min(to);
            let begin = (*at).max(from);
            if end <= begin {
                continue;
            }
            match held.iter().filter(|h| **h).count() {
                0 => out.none.push((begin, end - begin)),
                1 => {}
                _ => out.many.push((begin, end - begin)),
            }
        }
        out
    }

    /// What was recorded within `from..to`, one line each (ms from `from`, host, what),
    /// for a failure message.
    pub fn excerpt(&self, from: Instant, to: Instant) -> String {
        let entries = self.entries.lock().unwrap();
        entries
            .iter()
            .filter(|e| e.at >= from && e.at <= to)
            .map(|e| {
                let t = e.at.duration_since(from).as_secs_f64() * 1000.0;
                format!("{t:9.1} ms  host {}  {:?}", e.host, e.what)
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The host whose VIP addition was recorded at `at`, if one was.
    pub fn vip_added_at(&self, at: Instant) -> Option<usize> {
        let entries = self.entries.lock().unwrap();
        entries.iter().find_map(|e| match &e.what {
            What::AddrAdded { addr, .. } if *addr == self.vip && e.at == at => Some(e.host),
            _ => None,
        })
    }

    /// The host whose VIP removal was recorded at `at`, if one was.
    pub fn vip_removed_at(&self, at: Instant) -> Option<usize> {
        let entries = self.entries.lock().unwrap();
        entries.iter().find_map(|e| match &e.what {
            What::AddrRemoved { addr, .. } if *addr == self.vip && e.at == at => Some(e.host),
            _ => None,
        })
    }

    /// The host that had address `addr` (not the VIP) at some time of the record.
    pub fn host_of(&self, addr: &IpAddr) -> Option<usize> {
        let entries = self.entries.lock().unwrap();
        entries.iter().find_map(|e| match &e.what {
            What::AddrAdded { addr: a, .. } if a == addr && *a != self.vip => Some(e.host),
            _ => None,
        })
    }

    /// The log lines of host `host` recorded within `from..`, with when each came.
    pub fn log_lines(&self, host: usize, from: Instant) -> Vec<(Instant, String)> {
        let entries = self.entries.lock().unwrap();
        entries
            .iter()
            .filter(|e| e.host == host && e.at >= from)
            .filter_map(|e| match &e.what {
                What::Log(line) => Some((e.at, line.clone())),
                _ => None,
            })
            .collect()
    }

    /// Interface `name` of host `host` deleted (at or after `from`) and made again: the
    /// first moment after its deletion that
    /// the kernel had said both that the new link runs (up and running) and that it has a
    /// usable address `source` accepts.
    pub fn recreated(
        &self,
        host: usize,
        name: &str,
        from: Instant,
        source: impl Fn(&IpAddr) -> bool,
    ) -> Option<Recreated> {
        let entries = self.entries.lock().unwrap();
        let mut gone = None;
        let mut index = 0;
        let mut running = false;
        let mut mac = None;
        let mut addrs: Vec<IpAddr> = Vec::new();
        for e in entries.iter().filter(|e| e.host == host && e.at >= from) {
            match &e.what {
                What::LinkGone { name: n, .. } if n == name => {
                    gone = Some(e.at);
                    (index, running, mac) = (0, false, None);
                    addrs.clear();
                }
                What::Link { index: i, name: n, up, mac: m } if n == name && gone.is_some() => {
                    if *i != index {
                        addrs.clear();
                    }
                    (index, running, mac) = (*i, *up, *m);
                }
                What::AddrAdded { index: i, addr, usable } if *i == index && index != 0 => {
                    addrs.retain(|a| a != addr);
                    if *usable && source(addr) {
                        addrs.push(*addr);
                    }
                }
                What::AddrRemoved { index: i, addr } if *i == index => addrs.retain(|a| a != addr),
                _ => continue,
            }
            if let Some(deleted) = gone {
                if index != 0 && running && !addrs.is_empty() {
                    return Some(Recreated { deleted, usable: e.at, index, mac });
                }
            }
        }
        None
    }

    /// The indexes link `name` of host `host` had from `from` on, in order.
    pub fn link_indexes(&self, host: usize, name: &str, from: Instant) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let entries = self.entries.lock().unwrap();
        for e in entries.iter().filter(|e| e.host == host && e.at >= from) {
            if let What::Link { index, name: n, .. } = &e.what {
                if n == name && out.last() != Some(index) {
                    out.push(*index);
                }
            }
        }
        out
    }
}

/// [`holds`] for a namespace known by name (a `Netns` value would delete it when dropped).
fn holds_in(netns: &str, vip: &str) -> bool {
    let out = std::process::Command::new("ip").args(["-n", netns, "-o", "addr", "show"]).output();
    out.is_ok_and(|o| {
        String::from_utf8_lossy(&o.stdout).split_whitespace().any(|w| w.split('/').next() == Some(vip))
    })
}

/// A link deleted and made again, as the kernel told it.
#[derive(Debug, Clone, Copy)]
pub struct Recreated {
    /// When the old link's deletion was seen.
    pub deleted: Instant,
    /// When the new one was first both running and holding a usable source address.
    pub usable: Instant,
    pub index: u32,
    pub mac: Option<[u8; 6]>,
}

/// Stretches of time with no VIP holder and with several.
#[derive(Debug, Default, Clone)]
pub struct Stretches {
    pub none: Vec<(Instant, Duration)>,
    pub many: Vec<(Instant, Duration)>,
}

impl Stretches {
    /// The longest stretch without a holder (zero when there was none).
    pub fn longest_none(&self) -> Duration {
        self.none.iter().map(|s| s.1).max().unwrap_or_default()
    }

    /// The longest stretch with several holders (zero when there was none).
    pub fn longest_many(&self) -> Duration {
        self.many.iter().map(|s| s.1).max().unwrap_or_default()
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
