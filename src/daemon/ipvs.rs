//! IPVS on a thread of its own: a dump of a thousand services takes tens of milliseconds
//! of netlink round trips, and VRRP adverts must never wait behind it (DESIGN "Timing
//! model"). The event loop sends commands; the thread programs the kernel, re-reads it
//! every `lvs_reconcile_interval` to repair what someone else changed, follows the VRRP
//! state with the connection sync daemon, and runs the quorum scripts.

use super::status::{self, lock, Shared, WeightOverride};
use crate::config::model::LvsSync;
use crate::config::Config;
use crate::ipvs::applied::applied;
use crate::ipvs::client::{Action, Client, Error};
use crate::ipvs::desired::{desired, DesiredService, RealServerHealth};
use crate::ipvs::model::{DumpedService, ServiceKey, SyncRole};
use crate::ipvs::quorum::Quorum;
use crate::ipvs::reconcile::{reconcile, Op};
use crate::json::Json;
use crate::log;
use crate::notify::{self, Report};
use rustix::io::Errno;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Writes logged one per line at `info`; a larger reconcile logs a summary instead (and
/// every write at `debug`), so a start with thousands of services stays readable.
const LOGGED_WRITES: usize = 8;
/// How often a running quorum script is looked at (its exit is not on a descriptor here).
const SCRIPT_POLL: Duration = Duration::from_millis(100);
/// How long a stop waits for the `omega` down scripts.
const OMEGA_WAIT: Duration = Duration::from_secs(5);

/// What the event loop asks of the IPVS thread.
enum Command {
    /// The instance `lvs_sync_instance` names became master (true) or left it (false).
    SyncMaster(bool),
    /// A new configuration whose virtual servers replace the running ones.
    Reload(Arc<Config>),
    /// The checks' verdict on every real server (indexed like the configuration's).
    Health(Vec<RealServerHealth>),
    /// Real server `name`'s weight set by an operator (`drain`: 0), or back to its own.
    Weight(String, Option<u32>),
    /// Stop: remove the declared services unless `lvs_keep_on_stop`, stop the sync daemon.
    Stop,
}

/// The handle the event loop keeps.
pub struct Ipvs {
    commands: Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Ipvs {
    /// Starts the thread when the configuration has something for it to do.
    pub fn start(config: Arc<Config>, shared: Arc<Shared>) -> Option<Ipvs> {
        if config.virtual_servers.is_empty() && config.global.lvs_sync.is_none() {
            return None;
        }
        let (commands, inbox) = channel();
        let thread = std::thread::Builder::new()
            .name("ipvs".into())
            .spawn(move || Worker::new(config, shared).run(inbox))
            .map_err(|e| log::error!("ipvs: cannot start its thread: {e}"))
            .ok()?;
        Some(Ipvs { commands, thread: Some(thread) })
    }

    /// Hands the thread a reloaded configuration.
    pub fn reload(&self, config: Arc<Config>) {
        let _ = self.commands.send(Command::Reload(config));
    }

    /// Where the checker sends the real servers' health.
    pub fn health_report(&self) -> crate::check::runner::Report {
        let commands = self.commands.clone();
        Box::new(move |health| {
            let _ = commands.send(Command::Health(health));
        })
    }

    /// Where the status endpoint sends `drain`, `undrain` and `set_weight`.
    pub fn weight_override(&self) -> WeightOverride {
        let commands = self.commands.clone();
        Box::new(move |name, weight| {
            let _ = commands.send(Command::Weight(name, weight));
        })
    }

    /// Tells the thread whether the sync daemon's VRRP instance is master.
    pub fn set_sync_master(&self, master: bool) {
        let _ = self.commands.send(Command::SyncMaster(master));
    }

    /// Stops the thread after it released what it owns.
    pub fn stop(mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's state.
struct Worker {
    config: Arc<Config>,
    /// `None` while the kernel has no IPVS (retried at every interval).
    client: Option<Client>,
    health: Vec<RealServerHealth>,
    quorum: Vec<Quorum>,
    /// The services keeplite declared: the ones it may edit and delete.
    owned: Vec<ServiceKey>,
    /// keeplite's services as the kernel holds them: the last reading, brought up to date
    /// with the writes since. A health change is applied against it, with no read back;
    /// the periodic round reads the table again to see what someone else changed.
    known: Option<Vec<DumpedService>>,
    /// Weights operators set through the status endpoint, by real server name.
    overrides: HashMap<String, u32>,
    shared: Arc<Shared>,
    /// Errors already logged, so a write that keeps failing is logged once.
    failing: HashSet<String>,
    /// The sync daemon role running now.
    sync: Option<SyncRole>,
    scripts: notify::Runner,
}

impl Worker {
    fn new(config: Arc<Config>, shared: Arc<Shared>) -> Worker {
        // The daemon checked at start that script_user exists.
        let run_as = config.global.script_user.as_ref().and_then(|u| crate::passwd::lookup(u).ok());
        Worker {
            health: RealServerHealth::all_up(&config),
            quorum: Quorum::initial(&config),
            client: None,
            owned: Vec::new(),
            known: None,
            overrides: HashMap::new(),
            shared,
            failing: HashSet::new(),
            sync: None,
            scripts: notify::Runner::new(run_as).mailing(notify::Settings::from_config(&config.global)),
            config,
        }
    }

    fn run(mut self, inbox: Receiver<Command>) {
        self.connect(true);
        self.reconcile(true);
        self.follow_vrrp(false);
        let mut next = Instant::now() + self.config.global.lvs_reconcile_interval;
        loop {
            let now = Instant::now();
            let mut wait = next.saturating_duration_since(now);
            if !self.scripts.is_idle() {
                wait = wait.min(SCRIPT_POLL);
            }
            match inbox.recv_timeout(wait) {
                Ok(Command::SyncMaster(master)) => self.follow_vrrp(master),
                Ok(Command::Reload(config)) => self.reload(config),
                Ok(Command::Weight(name, weight)) => {
                    match weight {
                        Some(w) => self.overrides.insert(name, w),
                        None => self.overrides.remove(&name),
                    };
                    self.reconcile(false);
                }
                Ok(Command::Health(health)) => {
                    // A flapping farm sends many: act on the latest only.
                    let mut latest = health;
                    while let Ok(Command::Health(newer)) = inbox.try_recv() {
                        latest = newer;
                    }
                    self.set_health(latest);
                }
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return self.stop(),
                Err(RecvTimeoutError::Timeout) if Instant::now() >= next => {
                    self.connect(false);
                    self.reconcile(true);
                    next = Instant::now() + self.config.global.lvs_reconcile_interval;
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.poll_scripts();
        }
    }

    /// Opens the client if it is not open; logs a kernel without IPVS once.
    fn connect(&mut self, first: bool) {
        if self.client.is_some() {
            return;
        }
        match Client::open() {
            Ok(mut client) => {
                match client_info(&mut client) {
                    Ok(info) => log::info!("ipvs: kernel IPVS {info}"),
                    Err(e) => log::error!("ipvs: {e}"),
                }
                self.client = Some(client);
            }
            Err(e) if first => log::error!("ipvs: {e}; virtual servers are not programmed, VRRP runs on"),
            Err(_) => {}
        }
    }

    /// Switches to `config`: real servers and virtual servers that keep their names keep
    /// their health and quorum; the services of the old configuration are still owned, so
    /// the ones the new one drops are deleted.
    fn reload(&mut self, config: Arc<Config>) {
        self.quorum = Quorum::carried_over(&self.config, &self.quorum, &config);
        let old = &self.config.real_servers;
        self.health = config
            .real_servers
            .iter()
            .map(|rs| {
                let before = old.iter().position(|o| o.name == rs.name);
                before.and_then(|i| self.health.get(i).copied()).unwrap_or(RealServerHealth::UP)
            })
            .collect();
        // Queued scripts stay; mails follow the new settings.
        let mail = notify::Settings::from_config(&config.global);
        self.scripts = std::mem::take(&mut self.scripts).mailing(mail);
        self.config = config;
        self.reconcile(true);
    }

    /// Takes the checks' verdict: logs and notifies each real server that changed, then
    /// reconciles. A verdict for another table size (sent before a reload) is dropped.
    fn set_health(&mut self, health: Vec<RealServerHealth>) {
        if health.len() != self.config.real_servers.len() || health == self.health {
            return;
        }
        for ((rs, old), new) in self.config.real_servers.iter().zip(&self.health).zip(&health) {
            if old.up != new.up {
                let (word, script) = if new.up { ("up", &rs.notify_up) } else { ("down", &rs.notify_down) };
                log::info!("real server {} ({}): {word}", rs.name, rs.address);
                if let Some(command) = script {
                    self.scripts.submit(notify::Job { command: command.clone(), args: Vec::new() });
                }
                let services =
                    rs.virtual_servers.iter().filter_map(|&vi| self.config.virtual_servers.get(vi));
                for vs in services.filter(|vs| vs.smtp_alert) {
                    self.scripts.submit(notify::Alert::real_server(rs, vs, new.up));
                }
            } else if old.weight != new.weight {
                log::info!("real server {} ({}): dynamic weight {:?}", rs.name, rs.address, new.weight);
            } else if old.shift != new.shift {
                log::info!("real server {} ({}): weight shifted by {}", rs.name, rs.address, new.shift);
            } else {
                continue;
            }
            let weight = new.weight.map_or(Json::Null, |w| Json::Int(i64::from(w)));
            let virtual_servers = rs
                .virtual_servers
                .iter()
                .filter_map(|&vi| self.config.virtual_servers.get(vi))
                .map(|vs| Json::str(&vs.name))
                .collect();
            let fields = vec![
                ("real_server", Json::str(&rs.name)),
                ("address", Json::str(rs.address.to_string())),
                ("virtual_servers", Json::Array(virtual_servers)),
                ("up", Json::Bool(new.up)),
                ("weight", weight),
                ("shift", Json::Int(i64::from(new.shift))),
            ];
            self.shared.events.emit("health", fields);
        }
        self.health = health;
        self.reconcile(false);
    }

    /// Makes the kernel hold what the configuration and the health ask for.
    fn reconcile(&mut self, read_back: bool) {
        let started = Instant::now();
        let health = with_overrides(&self.config, &self.health, &self.overrides);
        let want = desired(&self.config, &health, &mut self.quorum);
        for change in &want.quorum_changes {
            let vs = &self.config.virtual_servers[change.virtual_server];
            let (word, script) = if change.up { ("up", &vs.quorum_up) } else { ("down", &vs.quorum_down) };
            log::info!("ipvs {}: quorum {word} (alive weight {})", vs.name, change.alive_weight);
            self.shared.events.emit(
                "quorum",
                vec![
                    ("virtual_server", Json::str(&vs.name)),
                    ("up", Json::Bool(change.up)),
                    ("alive_weight", Json::Int(i64::try_from(change.alive_weight).unwrap_or(i64::MAX))),
                ],
            );
            if let Some(command) = script {
                self.scripts.submit(notify::Job { command: command.clone(), args: Vec::new() });
            }
        }
        let Some(client) = self.client.as_mut() else {
            // No IPVS: the status still shows what keeplite would program, and the health.
            self.publish(&want.services, &health);
            lock(&self.shared.services).ipvs = false;
            return;
        };
        let kernel = match self.known.take().filter(|_| !read_back) {
            Some(known) => known,
            None => {
                let declared: HashSet<ServiceKey> = want.services.iter().map(|s| s.service.key).collect();
                let owned: HashSet<ServiceKey> = self.owned.iter().copied().collect();
                match client.dump(|k| declared.contains(k) || owned.contains(k)) {
                    Ok(kernel) => kernel,
                    Err(e) => return self.report(vec![e]),
                }
            }
        };
        let read = read_back.then(|| started.elapsed());
        let ops = reconcile(&want.services, &kernel, &self.owned);
        self.owned = want.services.iter().map(|s| s.service.key).collect();
        if ops.is_empty() {
            log::debug!(
                "ipvs: no change: {} service(s) checked in {} (reading the table back: {})",
                kernel.len(),
                millis(started.elapsed()),
                read.map_or("not needed".into(), millis)
            );
            self.known = Some(kernel);
            self.publish(&want.services, &health);
            return self.report(Vec::new());
        }
        let errors = client.apply(&ops);
        log_writes(&ops, errors.len(), read, started.elapsed());
        self.shared.events.emit("ipvs", write_event(&ops, errors.len()));
        // What the kernel holds now, as long as it took every write; after a refusal the
        // next round reads the table back.
        self.known = if errors.is_empty() { applied(&kernel, &ops).ok() } else { None };
        self.publish(&want.services, &health);
        // A service whose removal failed is still keeplite's: the next round retries it.
        for e in errors.iter().filter(|e| !gone(e)) {
            if let Action::Write(Op::DelService(key)) = e.action {
                self.owned.push(key);
            }
        }
        self.report(errors);
    }

    /// Puts the services, as wanted and as the kernel holds them, in the status snapshot.
    fn publish(&self, want: &[DesiredService], health: &[RealServerHealth]) {
        let overrides = &self.overrides;
        let list =
            status::services(&self.config, want, self.known.as_deref(), health, &self.quorum, |name| {
                overrides.get(name) == Some(&0)
            });
        let mut part = lock(&self.shared.services);
        part.ipvs = self.client.is_some();
        part.list = list;
    }

    /// Logs errors not logged before; forgets the ones that went away.
    fn report(&mut self, errors: Vec<Error>) {
        let now: HashSet<String> = errors.iter().map(ToString::to_string).collect();
        for line in now.difference(&self.failing) {
            log::error!("ipvs: {line}");
        }
        for line in self.failing.difference(&now) {
            log::info!("ipvs: resolved: {line}");
        }
        self.failing = now;
    }

    /// Runs the sync daemon in the role that matches the VRRP state, as keepalived does:
    /// master while the instance is master, backup otherwise.
    fn follow_vrrp(&mut self, master: bool) {
        let (Some(LvsSync { interface, sync_id, .. }), Some(client)) =
            (self.config.global.lvs_sync.as_ref(), self.client.as_mut())
        else {
            return;
        };
        let role = if master { SyncRole::Master } else { SyncRole::Backup };
        if self.sync == Some(role) {
            return;
        }
        if let Some(old) = self.sync.take() {
            if let Err(e) = client.stop_sync(old) {
                log::error!("ipvs: {e}");
            }
        }
        match client.start_sync(role, interface, *sync_id) {
            Ok(()) => log::info!("ipvs: sync daemon {} on {interface} (id {sync_id})", role.name()),
            Err(e) if e.cause == crate::net::error::Cause::Kernel(Errno::EXIST) => {}
            Err(e) => return log::error!("ipvs: {e}"),
        }
        self.sync = Some(role);
    }

    fn stop(mut self) {
        self.omega();
        let Some(client) = self.client.as_mut() else { return };
        if let Some(role) = self.sync.take() {
            if let Err(e) = client.stop_sync(role) {
                log::error!("ipvs: {e}");
            }
        }
        if self.config.global.lvs_keep_on_stop {
            log::info!("ipvs: keeping {} service(s) in the kernel (lvs_keep_on_stop)", self.owned.len());
        } else {
            let ops: Vec<Op> = self.owned.iter().map(|k| Op::DelService(*k)).collect();
            let errors = client.apply(&ops);
            // Already gone is what a stop wants.
            let failed: Vec<_> = errors.iter().filter(|e| !gone(e)).collect();
            for e in &failed {
                log::error!("ipvs: {e}");
            }
            log::info!("ipvs: removed {} service(s)", ops.len() - failed.len());
        }
        log::info!("ipvs: {} netlink write(s) in all", client.writes());
        self.poll_scripts();
    }

    /// keepalived's `omega`: the down scripts of what is up, run at stop and waited for
    /// a while (with or without IPVS in the kernel).
    fn omega(&mut self) {
        let health = with_overrides(&self.config, &self.health, &self.overrides);
        let commands = crate::ipvs::omega::stop_commands(&self.config, &health, &self.quorum);
        if commands.is_empty() {
            return;
        }
        log::info!("ipvs: omega: running {} down script(s) before stopping", commands.len());
        for command in commands {
            self.scripts.submit(notify::Job { command, args: Vec::new() });
        }
        let deadline = Instant::now() + OMEGA_WAIT;
        while !self.scripts.is_idle() && Instant::now() < deadline {
            self.poll_scripts();
            std::thread::sleep(Duration::from_millis(20));
        }
        self.poll_scripts();
    }

    fn poll_scripts(&mut self) {
        for report in self.scripts.poll(Instant::now()) {
            match report {
                Report::Finished(job, outcome) => log::info!("notify {:?}: {outcome:?}", job.command),
                Report::Failed(job, e) => log::error!("notify {:?}: cannot run: {e}", job.command),
            }
        }
    }
}

/// The real servers' health with the operators' weights put in.
fn with_overrides(
    config: &Config,
    health: &[RealServerHealth],
    overrides: &HashMap<String, u32>,
) -> Vec<RealServerHealth> {
    config
        .real_servers
        .iter()
        .zip(health)
        .map(|(rs, h)| match overrides.get(&rs.name) {
            // The operator's weight is the weight: no file check shifts it.
            Some(&weight) => RealServerHealth { weight: Some(weight), shift: 0, ..*h },
            None => *h,
        })
        .collect()
}

/// The kernel's IPVS version as `ipvsadm` prints it, and its connection table size.
fn client_info(client: &mut Client) -> Result<String, Error> {
    let info = client.info()?;
    let v = info.version;
    Ok(format!(
        "{}.{}.{} (connection table {})",
        v >> 16 & 0xff,
        v >> 8 & 0xff,
        v & 0xff,
        info.conn_table_size
    ))
}

fn gone(e: &Error) -> bool {
    matches!(e.cause, crate::net::error::Cause::Kernel(Errno::SRCH | Errno::NOENT))
}

/// One line per write when there are few; a summary (and the writes at `debug`) otherwise.
fn log_writes(ops: &[Op], failed: usize, read: Option<Duration>, took: Duration) {
    let few = ops.len() <= LOGGED_WRITES;
    for op in ops {
        if few {
            log::info!("ipvs: {op}");
        } else {
            log::debug!("ipvs: {op}");
        }
    }
    log::info!(
        "ipvs: {} write(s), {failed} refused, in {} (reading the table back: {})",
        ops.len(),
        millis(took),
        read.map_or("not needed".into(), millis)
    );
}

/// Writes listed in one `ipvs` event, at most (the rest are counted).
const WRITES_IN_EVENT: usize = 32;

/// The fields of the `ipvs` event for one round of kernel writes.
fn write_event(ops: &[Op], refused: usize) -> Vec<(&'static str, Json)> {
    let listed = ops.iter().take(WRITES_IN_EVENT).map(|op| Json::str(op.to_string())).collect();
    let count = |n: usize| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
    vec![
        ("writes", Json::Array(listed)),
        ("unlisted", count(ops.len().saturating_sub(WRITES_IN_EVENT))),
        ("refused", count(refused)),
    ]
}

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
