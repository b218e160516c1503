//! The composition root: wires the cores to their shells and runs the event loop.
//!
//! One thread, one `poll`: signals, rtnetlink notifications, VRRP sockets and script
//! exits wake it; otherwise it sleeps until the earliest timer an instance, an
//! announcement or a script asked for.

mod clock;
mod ipvs;
mod links;
mod privileges;
mod router;
mod scripts;
mod signals;
mod status;
mod vmac;

use crate::check::runner::Checker;
use crate::config::Config;
use crate::log;
use clock::Clock;
use ipvs::Ipvs;
use router::{Router, Source};
use signals::Signals;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs the daemon until a stop signal; returns the exit code. `reload` reads the
/// configuration file again (SIGHUP).
pub fn run(config: &Config, reload: &dyn Fn() -> Result<Config, String>) -> i32 {
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
    log::info!(
        "started: {} vrrp instance(s), {} virtual server(s)",
        config.vrrp.len(),
        config.virtual_servers.len()
    );
    router.start(Instant::now());
    let shared = status::Shared::new(config);
    *status::lock(&shared.vrrp) = router.status();
    let mut ipvs = Ipvs::start(Arc::new(config.clone()), shared.clone());
    let mut checker = start_checks(config, ipvs.as_ref(), &shared);
    let status_server = status::start(config, shared.clone(), ipvs.as_ref().map(Ipvs::weight_override));
    // What a reload is compared with: the VRRP side stays as started.
    let mut running = config.clone();
    let sync_instance = config.global.lvs_sync.as_ref().map(|s| s.instance);
    let mut sync_master = false;
    loop {
        let timeout = router.next_deadline().map(|d| d.saturating_duration_since(Instant::now()));
        let ready = wait(&clock, &signals, &router, timeout);
        let now = Instant::now();
        if signals.take_stops() > 0 {
            log::info!("stopping: releasing addresses");
            if let Some(server) = status_server {
                server.stop();
            }
            router.shutdown(now);
            if let Some(checker) = checker {
                checker.stop();
            }
            if let Some(ipvs) = ipvs {
                ipvs.stop();
            }
            return 0;
        }
        if signals.take_reloads() > 0 {
            reload_config(&mut running, &mut ipvs, &mut checker, &shared, reload);
        }
        for source in ready {
            router.on_readable(source, now);
        }
        router.tick(now);
        *status::lock(&shared.vrrp) = router.status();
        if let (Some(i), Some(ipvs)) = (sync_instance, &ipvs) {
            let master = router.is_master(i);
            if master != sync_master {
                sync_master = master;
                ipvs.set_sync_master(master);
            }
        }
    }
}

/// SIGHUP: applies a new file whose changes this build can apply without a restart (the
/// virtual servers, real servers and checks); anything else keeps the running
/// configuration and says why.
fn reload_config(
    running: &mut Config,
    ipvs: &mut Option<Ipvs>,
    checker: &mut Option<Checker>,
    shared: &Arc<status::Shared>,
    reload: &dyn Fn() -> Result<Config, String>,
) {
    let new = match reload() {
        Ok(new) => new,
        Err(e) => return log::error!("reload: keeping the running configuration: {e}"),
    };
    if !reloadable(running, &new) {
        return log::error!(
            "reload: keeping the running configuration: this build reloads virtual_server, \
             real_server and check sections (and lvs_keep_on_stop, lvs_reconcile_interval); \
             other changes need a restart"
        );
    }
    log::info!("reload: {} virtual server(s)", new.virtual_servers.len());
    let config = Arc::new(new.clone());
    match ipvs {
        Some(ipvs) => ipvs.reload(config.clone()),
        None => *ipvs = Ipvs::start(config.clone(), shared.clone()),
    }
    match checker {
        Some(checker) => checker.reload(config),
        None => *checker = start_checks(&new, ipvs.as_ref(), shared),
    }
    *running = new;
}

/// Starts the checker when some real server has a check; its verdicts go to the IPVS thread.
fn start_checks(config: &Config, ipvs: Option<&Ipvs>, shared: &Arc<status::Shared>) -> Option<Checker> {
    let ipvs = ipvs?;
    if config.real_servers.iter().all(|rs| rs.checks.is_empty()) {
        return None;
    }
    Checker::start(Arc::new(config.clone()), ipvs.health_report(), status::check_publisher(shared.clone()))
}

/// True when `new` differs from `old` only in what a reload can apply.
fn reloadable(old: &Config, new: &Config) -> bool {
    let mut global = new.global.clone();
    global.lvs_keep_on_stop = old.global.lvs_keep_on_stop;
    global.lvs_reconcile_interval = old.global.lvs_reconcile_interval;
    global == old.global
        && new.vrrp == old.vrrp
        && new.sync_groups == old.sync_groups
        && new.scripts == old.scripts
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
