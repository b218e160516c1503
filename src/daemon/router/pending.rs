//! Builds off the VRRP thread. A reload and an interface that appeared (created late, or
//! deleted and created again under a new index) both need [`Parts::build`]: interface
//! reads, sockets that join multicast groups, vmacs. Each of those waits for the kernel's
//! RTNL lock, which netifd re-creating a bridge, a routing daemon or namespace churn can
//! hold for seconds; measured beside a busy netns test tier, a reload on the VRRP thread
//! stalled a master's adverts past its backup's Master_Down_Interval, and the backup took
//! over. So the build runs on a thread of its own while the instances go on, and what it
//! made is put in place when it is done.
//!
//! One build runs at a time, in the order asked: each is made against the router as it
//! runs when it starts. Notifications the loop applies while a build runs may be newer than
//! the build's own reading of the interfaces, so they are applied again to what it made;
//! an interface that appeared meanwhile gets a build of its own after it.

use super::build::{Built, Job, Parts};
use super::reload::Outcome;
use super::Router;
use crate::config::model::Config;
use crate::daemon::worker::Worker;
use crate::log;
use crate::net::monitor::Event;
use crate::net::netlink::Socket;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What a build is for.
enum Purpose {
    /// A new configuration (SIGHUP or the `reload` method).
    Reload(Box<Config>),
    /// The running configuration again, for interfaces that appeared.
    Rebuild,
}

/// Notifications kept while a build runs; past this many, the interfaces are read again
/// once instead (as after notifications the kernel dropped).
const EVENTS_KEPT: usize = 256;

/// A build that took this long is logged with its time.
const SLOW: Duration = Duration::from_millis(100);

/// The build thread and the builds asked of it.
pub struct Builds {
    worker: Worker<Job, Built>,
    /// The build in flight (when `in_flight`), then those waiting for it.
    queue: VecDeque<Purpose>,
    in_flight: bool,
    /// Notifications applied while the build in flight ran.
    events: Vec<Event>,
    /// Reloads done, with their configuration, for the daemon to finish.
    reloaded: Vec<(Config, Result<Outcome, String>)>,
}

impl Builds {
    /// Starts the build thread, with a netlink socket of its own.
    pub fn start() -> Result<Builds, String> {
        let mut nl = Socket::open().map_err(|e| e.to_string())?;
        let worker = Worker::start("vrrp-build", move |job: Job| job.run(&mut nl))?;
        Ok(Builds {
            worker,
            queue: VecDeque::new(),
            in_flight: false,
            events: Vec::new(),
            reloaded: Vec::new(),
        })
    }

    /// Readable when a build is done.
    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.worker.fd()
    }

    /// Keeps `event`, applied while a build runs, to apply again to what it makes.
    pub fn note(&mut self, event: &Event) {
        if !self.in_flight {
            return;
        }
        if self.events.len() >= EVENTS_KEPT {
            self.events = vec![Event::Lost];
        } else if self.events.last() != Some(&Event::Lost) {
            self.events.push(event.clone());
        }
    }

    /// The notifications to apply again to what the build made.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
}

impl Router {
    /// Starts a reload to `config`; [`take_reloaded`](Self::take_reloaded) reports it done.
    pub fn begin_reload(&mut self, config: Config, now: Instant) {
        self.builds.queue.push_back(Purpose::Reload(Box::new(config)));
        self.start_next_build(now);
    }

    /// Reloads done since the last call, in the order begun: the configuration each was
    /// for, and what it did or why nothing changed.
    pub fn take_reloaded(&mut self) -> Vec<(Config, Result<Outcome, String>)> {
        std::mem::take(&mut self.builds.reloaded)
    }

    /// Builds the running configuration again, for interfaces that appeared; unless a
    /// build that has yet to start will read them anyway.
    pub(super) fn request_rebuild(&mut self, now: Instant) {
        let waiting = self.builds.queue.len() - usize::from(self.builds.in_flight);
        if waiting == 0 {
            self.builds.queue.push_back(Purpose::Rebuild);
            self.start_next_build(now);
        }
    }

    fn start_next_build(&mut self, now: Instant) {
        if self.builds.in_flight {
            return;
        }
        let Some(purpose) = self.builds.queue.front() else { return };
        let job = self.job(self.config_for(purpose), now);
        self.builds.in_flight = self.builds.worker.submit(job);
        if !self.builds.in_flight {
            log::error!("vrrp: the build thread is gone; interfaces and reloads cannot be applied");
            self.builds.queue.clear();
        }
    }

    /// Puts in place what the build thread made.
    pub(super) fn builds_done(&mut self) {
        for built in self.builds.worker.finished() {
            self.builds.in_flight = false;
            let Some(purpose) = self.builds.queue.pop_front() else { continue };
            // The build may have waited long for the kernel: the clock has moved on.
            let now = Instant::now();
            let replayed = !self.builds.events.is_empty();
            let took = if built.took >= SLOW {
                format!(" (in {} ms)", built.took.as_millis())
            } else {
                String::new()
            };
            let applied = built.parts.map(|parts| self.finish_build(&purpose, parts, now));
            match (purpose, applied) {
                (Purpose::Reload(config), result) => self.builds.reloaded.push((*config, result)),
                (Purpose::Rebuild, Ok(_)) => {
                    log::info!("vrrp: interfaces changed: sockets and vmacs opened on them{took}")
                }
                (Purpose::Rebuild, Err(e)) => log::error!(
                    "vrrp: interfaces changed but cannot be used: {e}{took} (trying again at the next change)"
                ),
            }
            // A failed build is tried again when an interface appears, not in a loop.
            if replayed && self.needs_rebuild() {
                self.request_rebuild(now);
            }
        }
        self.start_next_build(Instant::now());
    }

    fn finish_build(&mut self, purpose: &Purpose, parts: Parts, now: Instant) -> Outcome {
        self.apply_built(&self.config_for(purpose), parts, now)
    }

    /// The configuration a build of `purpose` is of.
    fn config_for(&self, purpose: &Purpose) -> Config {
        match purpose {
            Purpose::Reload(config) => (**config).clone(),
            Purpose::Rebuild => self.config.clone(),
        }
    }

    /// True when an instance's interface exists but it has no socket on it (or one on an
    /// index the interface no longer has), or its vmac is missing.
    pub(super) fn needs_rebuild(&self) -> bool {
        self.vrs.iter().enumerate().any(|(i, vr)| {
            let iface = &self.links.ifaces[vr.iface];
            if !iface.present() {
                return false;
            }
            let vmac_missing = self.config.vrrp[i].virtual_link.is_some()
                && vr.vlink.is_none_or(|p| !self.links.ifaces[p].present());
            let advert = &self.links.ifaces[vr.advert_iface()].link;
            let socket_stale = vr.socket.is_none_or(|s| self.sockets[s].ifindex() != advert.index);
            vmac_missing || socket_stale
        })
    }

    /// At shutdown: waits for a build in flight, and removes the vmacs it created.
    pub(super) fn abandon_builds(&mut self) {
        self.builds.queue.clear();
        for built in self.builds.worker.wait_idle() {
            let Ok(parts) = built.parts else { continue };
            for vr in parts.vrs.iter().filter(|v| v.vlink.is_some()) {
                let ipv6 = vr.family == crate::config::model::Family::Ipv6;
                if let Err(e) = super::virtual_link::remove(&mut self.nl, vr.instance.params().vrid, ipv6) {
                    log::error!("vrrp {}: removing its vmac: {e}", vr.name);
                }
            }
        }
        self.builds.in_flight = false;
    }
}
