//! The composition root: wires the cores to their shells and runs the event loop.
//!
//! One thread, one `poll`: signals, rtnetlink notifications, VRRP sockets and script
//! exits wake it; otherwise it sleeps until the earliest timer an instance, an
//! announcement or a script asked for.

mod clock;
mod links;
mod privileges;
mod router;
mod scripts;
mod signals;
mod vmac;

use crate::config::Config;
use crate::log;
use clock::Clock;
use router::{Router, Source};
use signals::Signals;
use std::time::{Duration, Instant};

/// Runs the daemon until a stop signal; returns the exit code.
pub fn run(config: &Config) -> i32 {
    if let Some(missing) = privileges::missing() {
        log::error!("cannot run: {missing}");
        return 1;
    }
    let mut signals = match Signals::install() {
        Ok(s) => s,
        Err(e) => {
            log::error!("cannot install signal handlers: {e}");
            return 1;
        }
    };
    if !config.virtual_servers.is_empty() {
        log::error!(
            "virtual_server sections are not programmed into IPVS by this build yet; running VRRP only"
        );
    }
    let mut router = match Router::new(config, Instant::now()) {
        Ok(r) => r,
        Err(e) => {
            log::error!("cannot start VRRP: {e}");
            return 1;
        }
    };
    let clock = match Clock::new() {
        Ok(c) => c,
        Err(e) => {
            log::error!("cannot create a timer: {e}");
            return 1;
        }
    };
    log::info!("started: {} vrrp instance(s)", config.vrrp.len());
    router.start(Instant::now());
    loop {
        let timeout = router.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
        let ready = wait(&clock, &signals, &router, timeout);
        let now = Instant::now();
        if signals.take_stops() > 0 {
            log::info!("stopping: releasing addresses");
            router.shutdown(now);
            return 0;
        }
        if signals.take_reloads() > 0 {
            log::info!("reload requested: this build cannot reload yet; keeping the running configuration");
        }
        for source in ready {
            router.on_readable(source, now);
        }
        router.tick(now);
    }
}

/// Sleeps until a descriptor is readable or `timeout` passes; returns the readable sources.
fn wait(clock: &Clock, signals: &Signals, router: &Router, timeout: Option<Duration>) -> Vec<Source> {
    let sources = router.fds();
    let mut fds = vec![signals.stop_fd(), signals.reload_fd()];
    fds.extend(sources.iter().map(|(fd, _)| *fd));
    let ready = clock.wait(&fds, timeout);
    // The signal descriptors are read by the caller whatever they say.
    ready[2..].iter().zip(&sources).filter(|(r, _)| **r).map(|(_, (_, source))| *source).collect()
}
