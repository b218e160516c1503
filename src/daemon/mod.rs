//! The composition root: wires the cores to their shells and runs the event loop.
//!
//! One thread, one `poll`: signals, rtnetlink notifications, VRRP sockets and script
//! exits wake it; otherwise it sleeps until the earliest timer an instance, an
//! announcement or a script asked for.

mod clock;
mod control;
mod ipvs;
mod links;
mod pid_file;
mod priority;
mod privileges;
mod router;
mod routing;
mod scripts;
mod service_manager;
mod signals;
mod stall;
mod status;
mod virtual_link;
mod worker;

use crate::check::runner::Checker;
use crate::config::Config;
use crate::json::Json;
use crate::log;
use crate::status::events::Emitter;
use crate::vrrp::instance::Hold;
use clock::Clock;
use control::{Control, Order, Request};
use ipvs::Ipvs;
use pid_file::PidFile;
use router::{Router, Source};
use service_manager::ServiceManager;
use signals::Signals;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the event loop runs besides the VRRP instances.
struct Daemon<'a> {
    /// The configuration running now: what a reload is compared with.
    running: Config,
    router: Router,
    ipvs: Option<Ipvs>,
    checker: Option<Checker>,
    shared: Arc<status::Shared>,
    /// The BFD sessions' states (written by the router, read by the checker).
    bfd: Arc<crate::bfd::states::States>,
    reload: &'a dyn Fn() -> Result<Config, String>,
    /// The IPVS sync daemon follows this instance's mastership.
    sync_master: bool,
    /// The status thread held the VRRP snapshot at the last publish: try again soon.
    unpublished: bool,
    /// Reloads begun and not yet done, in order: who asked (none for SIGHUP).
    reloading: VecDeque<Option<Request>>,
}

/// How soon a publish the status thread was in the way of is tried again.
const PUBLISH_RETRY: Duration = Duration::from_millis(5);

/// Runs the daemon until a stop signal; returns the exit code. `reload` reads the
/// configuration file again (SIGHUP or the `reload` method).
pub fn run(config: &Config, reload: &dyn Fn() -> Result<Config, String>) -> i32 {
    match start(config, reload) {
        Ok(code) => code,
        Err(e) => {
            log::error!("{e}");
            1
        }
    }
}

fn start(config: &Config, reload: &dyn Fn() -> Result<Config, String>) -> Result<i32, String> {
    if let Some(missing) = privileges::missing() {
        return Err(format!("cannot run: {missing}"));
    }
    let mut service_manager = ServiceManager::from_env(Instant::now()).transpose()?;
    let _pid_file = config.global.pid_file.as_deref().map(PidFile::create).transpose()?;
    let mut signals = Signals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    let (shared, events) = status::Shared::new(config);
    // The BFD sessions run on the VRRP thread; real servers' bfd checks read their states.
    let bfd = Arc::new(crate::bfd::states::States::default());
    let router = Router::new(config, shared.events.clone(), bfd.clone(), Instant::now())
        .map_err(|e| format!("cannot start VRRP: {e}"))?;
    let clock = Clock::new().map_err(|e| format!("cannot create a timer: {e}"))?;
    let (mut control, remote) = control::channel().map_err(|e| format!("cannot create a channel: {e}"))?;
    log::info!(
        "started: {} vrrp instance(s), {} virtual server(s)",
        config.vrrp.len(),
        config.virtual_servers.len()
    );
    // Every configured instance is in the status from the first request (INIT until the
    // loop starts them), not an empty list while the loop has yet to publish.
    *status::lock(&shared.vrrp) = router.status(Instant::now());
    let ipvs = Ipvs::start(Arc::new(config.clone()), shared.clone());
    let checker = start_checks(config, ipvs.as_ref(), &shared, &bfd);
    // VRRP runs on without the status endpoint: failover must not depend on a web UI.
    let status_server =
        status::start(config, shared.clone(), events, ipvs.as_ref().map(Ipvs::weight_override), remote)
            .map_err(|e| log::error!("status: {e}; running without the status endpoint"))
            .ok();
    let mut daemon = Daemon {
        running: config.clone(),
        router,
        ipvs,
        checker,
        shared,
        bfd,
        reload,
        sync_master: false,
        unpublished: false,
        reloading: VecDeque::new(),
    };
    // After the other threads started: only this one, the VRRP loop, runs raised.
    priority::raise_vrrp_thread();
    daemon.router.start(Instant::now());
    daemon.publish(Instant::now());
    if let Some(sm) = &service_manager {
        sm.send("READY=1\nSTATUS=running");
    }
    let mut stalls = stall::Stalls::new(Instant::now());
    loop {
        let now = Instant::now();
        let deadline = [
            daemon.router.next_deadline(),
            service_manager.as_ref().and_then(ServiceManager::next_deadline),
            daemon.unpublished.then(|| now + PUBLISH_RETRY),
        ]
        .into_iter()
        .flatten()
        .min();
        let timeout = deadline.map(|d| d.saturating_duration_since(now));
        let ready = wait(&clock, &signals, &control, &daemon.router, timeout);
        let now = Instant::now();
        stalls.begin(now);
        let stops = signals.take_stops();
        if stops > 0 {
            if let Some(sm) = &service_manager {
                sm.send("STOPPING=1");
            }
            exit_on_second_stop(stops, &signals);
            if let Some(server) = status_server {
                server.stop();
            }
            daemon.stop(now);
            return Ok(0);
        }
        if signals.take_reloads() > 0 {
            // SIGHUP: the outcome is in the log.
            daemon.begin_reload(None);
        }
        for request in control.take() {
            daemon.order(request, Instant::now());
        }
        stalls.step("signals and orders", Instant::now());
        // Input is handed over with the time it is read: a step before may have taken long,
        // and an instance given an older time would count its timers from then.
        for source in ready {
            daemon.router.on_readable(source, Instant::now());
        }
        daemon.finish_reloads();
        stalls.step("packets and notifications", Instant::now());
        // But timers are due as of the wake-up, when the descriptors were looked at: an
        // advert that came while a step above was busy is still unread, and a backup that
        // judged its Master_Down timer by the clock now would take over before reading it
        // (seen under load: 311 and 333 ms after the master's last advert, below the
        // 361 ms Master_Down_Interval). A timer that fell due meanwhile fires next turn,
        // after the input is read.
        daemon.router.tick(now);
        stalls.step("timers", Instant::now());
        if let Some(sm) = &mut service_manager {
            sm.tick(Instant::now());
        }
        daemon.publish(Instant::now());
        stalls.step("publish", Instant::now());
        if let Some(report) = stalls.end(Instant::now()) {
            log::warning!("{report}");
        }
    }
}

/// A second stop signal (during a slow stop: notify scripts, many IPVS services) ends the
/// process at once, as operators expect of a second Ctrl-C.
fn exit_on_second_stop(stops: usize, signals: &Signals) {
    if stops > 1 {
        signals::exit_now();
    }
    log::info!("stopping: releasing addresses");
    if let Err(e) = signals.exit_on_next_stop() {
        log::error!("cannot watch for a second stop signal: {e}");
    }
}

impl Daemon<'_> {
    /// Carries out an order from the status endpoint and answers it (a reload once done).
    fn order(&mut self, request: Request, now: Instant) {
        let (instance, hold) = match &request.order {
            Order::Reload => return self.begin_reload(Some(request)),
            Order::Yield { instance, time } => {
                (instance.clone(), (!time.is_zero()).then(|| Hold::Until(now + *time)))
            }
            Order::Hold { instance, on } => (instance.clone(), on.then_some(Hold::Indefinite)),
        };
        let answer = self.router.set_hold(&instance, hold, now).and_then(|()| {
            self.publish(now);
            let vrrp = status::lock(&self.shared.vrrp);
            let v = vrrp.iter().find(|v| v.name == instance).ok_or("instance vanished")?;
            Ok(v.json(now))
        });
        request.answer(answer);
    }

    /// Reads the file again and starts applying what changed (the VRRP side opens what it
    /// needs off this thread; [`finish_reloads`](Self::finish_reloads) does the rest). An
    /// invalid file, or a change this build cannot apply without a restart, keeps
    /// everything running as it was.
    fn begin_reload(&mut self, asked_by: Option<Request>) {
        let new = (self.reload)().and_then(|new| match restart_needed(&self.running, &new) {
            Some(option) => Err(format!("global {option} changed; that needs a restart")),
            None => Ok(new),
        });
        match new {
            Ok(new) => {
                self.router.begin_reload(new, Instant::now());
                self.reloading.push_back(asked_by);
            }
            Err(e) => reloaded(&self.shared.events, asked_by, Err(e)),
        }
    }

    /// Finishes the reloads whose VRRP side is in place: IPVS and the checks follow.
    fn finish_reloads(&mut self) {
        for (new, vrrp) in self.router.take_reloaded() {
            let asked_by = self.reloading.pop_front().flatten();
            let outcome = vrrp.map(|vrrp| {
                let config = Arc::new(new.clone());
                match &self.ipvs {
                    Some(ipvs) => ipvs.reload(config.clone()),
                    None => self.ipvs = Ipvs::start(config.clone(), self.shared.clone()),
                }
                match &self.checker {
                    Some(checker) => checker.reload(config),
                    None => self.checker = start_checks(&new, self.ipvs.as_ref(), &self.shared, &self.bfd),
                }
                let done = format!("{vrrp}; {} virtual server(s)", new.virtual_servers.len());
                self.running = new;
                self.publish(Instant::now());
                done
            });
            reloaded(&self.shared.events, asked_by, outcome);
        }
    }

    /// The VRRP part of the status snapshot, and the IPVS sync daemon's role.
    fn publish(&mut self, now: Instant) {
        // Never wait for the status thread: at nice 0 on a busy box it can be descheduled
        // holding the lock for a whole time slice, and adverts would wait with it
        // (priority inversion). Busy now: try again in a few milliseconds.
        self.unpublished = match self.shared.vrrp.try_lock() {
            Ok(mut slot) => {
                *slot = self.router.status(now);
                false
            }
            Err(std::sync::TryLockError::Poisoned(p)) => {
                *p.into_inner() = self.router.status(now);
                false
            }
            Err(std::sync::TryLockError::WouldBlock) => true,
        };
        let sync_instance = self.running.global.lvs_sync.as_ref().map(|s| s.instance);
        if let (Some(i), Some(ipvs)) = (sync_instance, &self.ipvs) {
            let master = self.router.is_master(i);
            if master != self.sync_master {
                self.sync_master = master;
                ipvs.set_sync_master(master);
            }
        }
    }

    /// SIGTERM/SIGINT: masters send priority 0 and release their VIPs, checks stop,
    /// declared IPVS services go (unless `lvs_keep_on_stop`).
    fn stop(self, now: Instant) {
        let Daemon { mut router, checker, ipvs, .. } = self;
        router.shutdown(now);
        if let Some(checker) = checker {
            checker.stop();
        }
        if let Some(ipvs) = ipvs {
            ipvs.stop();
        }
    }
}

/// Logs a reload's outcome, tells the event stream and answers whoever asked for it.
fn reloaded(events: &Emitter, asked_by: Option<Request>, outcome: Result<String, String>) {
    let fields = match &outcome {
        Ok(done) => {
            log::info!("reload: {done}");
            vec![("ok", Json::Bool(true)), ("done", Json::str(done))]
        }
        Err(e) => {
            log::error!("reload: keeping the running configuration: {e}");
            vec![("ok", Json::Bool(false)), ("error", Json::str(e))]
        }
    };
    events.emit("reload", fields);
    if let Some(request) = asked_by {
        request.answer(outcome.map(|done| Json::object([("reload", Json::str(&done))])));
    }
}

/// Starts the checker when some real server has a check; its verdicts go to the IPVS thread.
fn start_checks(
    config: &Config,
    ipvs: Option<&Ipvs>,
    shared: &Arc<status::Shared>,
    bfd: &Arc<crate::bfd::states::States>,
) -> Option<Checker> {
    let ipvs = ipvs?;
    if config.real_servers.iter().all(|rs| rs.checks.is_empty()) {
        return None;
    }
    let publish = status::check_publisher(shared.clone());
    Checker::start(Arc::new(config.clone()), ipvs.health_report(), publish, bfd.clone())
}

/// The global options a reload applies; every section can be reloaded, but the other
/// global options are read once at start.
const RELOADABLE_GLOBALS: [&str; 3] = ["lvs_keep_on_stop", "lvs_reconcile_interval", "static_address"];

/// The global option whose change a reload cannot apply, if any.
fn restart_needed(old: &Config, new: &Config) -> Option<String> {
    crate::config::print::changed_global_options(old, new)
        .into_iter()
        .find(|name| !RELOADABLE_GLOBALS.contains(&name.as_str()))
}

/// Sleeps until a descriptor is readable or `timeout` passes; returns the readable sources.
fn wait(
    clock: &Clock,
    signals: &Signals,
    control: &Control,
    router: &Router,
    timeout: Option<Duration>,
) -> Vec<Source> {
    let sources = router.fds();
    let mut fds = vec![signals.stop_fd(), signals.reload_fd(), control.fd()];
    fds.extend(sources.iter().map(|(fd, _)| *fd));
    let ready = clock.wait(&fds, timeout);
    // The signal and control descriptors are read by the caller whatever they say.
    ready[3..].iter().zip(&sources).filter(|(r, _)| **r).map(|(_, (_, source))| *source).collect()
}
