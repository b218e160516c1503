//! The checker thread: the scheduler, and the probes it asks for as async tasks on one
//! single-threaded executor. A thread of its own keeps probe work away from the VRRP
//! event loop; the health of the real servers goes to whoever started it (the IPVS
//! thread) each time it changes.

#[cfg(feature = "tls")]
use super::https;
use super::mailbox::Mailbox;
use super::plan::plan;
use super::reactor::{self, Timer};
use super::schedule::Scheduler;
use super::{dns, file, http, ping, process, script, smtp, tcp, udp, Outcome, Target};
use crate::bfd::states::States;
#[cfg(feature = "tls")]
use crate::config::model::TlsCheck;
use crate::config::model::{CheckKind, HttpCheck};
use crate::config::Config;
use crate::ipvs::desired::RealServerHealth;
use crate::limits;
use crate::log;
use crate::passwd::{self, RunAs};
use futures_lite::{future, Stream};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where the checker sends the real servers' health.
pub type Report = Box<dyn FnMut(Vec<RealServerHealth>) + Send>;

/// Who is told of each result (the status endpoint): the probe that ended, or `None` after
/// a start or reload, when every real server's result may have changed.
pub type Publish = Box<dyn FnMut(&Config, &Scheduler, Option<usize>) + Send>;

/// What the daemon asks of the checker thread.
enum Command {
    Reload(Arc<Config>),
    Stop,
}

/// The handle the daemon keeps.
pub struct Checker {
    commands: async_channel::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl Checker {
    /// Starts the checker thread for `config`; `report` gets the health at once and at
    /// every change.
    /// `bfd` holds the BFD sessions' states, which bfd checks read.
    pub fn start(config: Arc<Config>, report: Report, publish: Publish, bfd: Arc<States>) -> Option<Checker> {
        let (commands, inbox) = async_channel::unbounded();
        let thread = std::thread::Builder::new()
            .name("checks".into())
            .spawn(move || run(config, inbox, report, publish, bfd))
            .map_err(|e| log::error!("checks: cannot start their thread: {e}"))
            .ok()?;
        Some(Checker { commands, thread: Some(thread) })
    }

    /// Switches to a reloaded configuration; probes that are the same in both keep their
    /// state.
    pub fn reload(&self, config: Arc<Config>) {
        let _ = self.commands.try_send(Command::Reload(config));
    }

    /// Stops the thread; running scripts are killed.
    pub fn stop(mut self) {
        let _ = self.commands.try_send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One probe run, with everything it needs owned, so it can run as a task.
enum Job {
    Tcp(Target),
    Http(Target, Rc<http::Prepared>),
    #[cfg(feature = "tls")]
    Https(Target, HttpCheck, TlsCheck, String),
    /// An https check in a build without TLS: it fails and says why.
    #[cfg(not(feature = "tls"))]
    Https,
    Smtp(Target, String),
    Udp(Target, Settings),
    Dns(Target, Settings),
    Ping(Target),
    File(Settings),
    Process(Settings),
    Script {
        command: String,
        run_as: Result<Option<RunAs>, String>,
        timeout: Duration,
        dynamic: bool,
    },
    /// A bfd check: the state of its session, which the VRRP thread runs.
    Bfd(String, Arc<States>),
}

/// A check's settings, shared with the configuration rather than copied per run.
struct Settings {
    config: Arc<Config>,
    check: usize,
}

impl Settings {
    fn kind(&self) -> &CheckKind {
        &self.config.checks[self.check].kind
    }
}

/// The HTTP requests of the probes, made at their first run and kept until a reload (by
/// probe index, as the scheduler numbers them).
type Prepared = Vec<Option<Rc<http::Prepared>>>;

impl Job {
    fn new(
        config: &Arc<Config>,
        sched: &Scheduler,
        i: usize,
        prepared: &mut Prepared,
        bfd: &Arc<States>,
    ) -> Job {
        let spec = sched.probes()[i].spec;
        let check = &config.checks[spec.check];
        let target = Target { addr: spec.target, bind: check.bind_ip, timeout: check.timeout };
        match &check.kind {
            CheckKind::Tcp => Job::Tcp(target),
            CheckKind::Http(http) => {
                if prepared.len() <= i {
                    prepared.resize(i + 1, None);
                }
                let p = prepared[i].get_or_insert_with(|| {
                    Rc::new(http::Prepared::new(http, &host(config, sched, i, http), spec.target.port()))
                });
                Job::Http(target, p.clone())
            }
            #[cfg(feature = "tls")]
            CheckKind::Https(http, tls) => {
                Job::Https(target, http.clone(), tls.clone(), host(config, sched, i, http))
            }
            #[cfg(not(feature = "tls"))]
            CheckKind::Https(..) => Job::Https,
            CheckKind::Smtp { helo_name } => Job::Smtp(target, helo_name.clone()),
            CheckKind::Udp(_) => Job::Udp(target, Settings { config: config.clone(), check: spec.check }),
            CheckKind::Dns(_) => Job::Dns(target, Settings { config: config.clone(), check: spec.check }),
            CheckKind::Ping => Job::Ping(target),
            CheckKind::File(_) => Job::File(Settings { config: config.clone(), check: spec.check }),
            CheckKind::Process(_) => Job::Process(Settings { config: config.clone(), check: spec.check }),
            CheckKind::Bfd(_) => Job::Bfd(check.name.clone(), bfd.clone()),
            CheckKind::Script { command, dynamic, user } => Job::Script {
                command: command.clone(),
                run_as: user
                    .as_ref()
                    .or(config.global.script_user.as_ref())
                    .map(|u| passwd::lookup(u))
                    .transpose(),
                timeout: check.timeout,
                dynamic: *dynamic,
            },
        }
    }

    /// The probe. A task holds its future inline, as large as the largest kind's (an https
    /// probe's is kilobytes); boxing all but the small ones keeps a TCP probe's task a few
    /// hundred bytes, where kilobyte blocks freed and taken at every probe made musl's
    /// allocator map and unmap pages.
    async fn run(self) -> Outcome {
        match self {
            Job::Tcp(target) => tcp::probe(&target).await,
            Job::Http(target, prepared) => Box::pin(http::probe_prepared(&target, &prepared)).await,
            #[cfg(feature = "tls")]
            Job::Https(target, check, tls, host) => {
                Box::pin(https::probe(&target, &check, &tls, &host)).await
            }
            #[cfg(not(feature = "tls"))]
            Job::Https => Outcome::Error(NO_TLS.into()),
            Job::Smtp(target, helo) => Box::pin(smtp::probe(&target, &helo)).await,
            Job::Udp(target, settings) => match settings.kind() {
                CheckKind::Udp(check) => Box::pin(udp::probe(&target, check)).await,
                _ => Outcome::Error("udp: not a udp check".into()),
            },
            Job::Dns(target, settings) => match settings.kind() {
                CheckKind::Dns(check) => Box::pin(dns::probe(&target, check)).await,
                _ => Outcome::Error("dns: not a dns check".into()),
            },
            Job::Ping(target) => Box::pin(ping::probe(&target)).await,
            Job::File(settings) => match settings.kind() {
                CheckKind::File(check) => file::probe(check).await,
                _ => Outcome::Error("file: not a file check".into()),
            },
            Job::Process(settings) => match settings.kind() {
                CheckKind::Process(check) => process::probe(check).await,
                _ => Outcome::Error("process: not a process check".into()),
            },
            Job::Bfd(name, states) if states.is_up(&name) => Outcome::Ok,
            Job::Bfd(..) => Outcome::Error("BFD session down".into()),
            Job::Script { run_as: Err(e), .. } => Outcome::Error(e),
            Job::Script { command, run_as: Ok(run_as), timeout, dynamic } => {
                script::probe(&command, run_as, timeout, dynamic).await
            }
        }
    }
}

/// The `Host` header: the check's, else the virtual server's of the probe's first user,
/// else the target address.
fn host(config: &Config, sched: &Scheduler, i: usize, http: &HttpCheck) -> String {
    let from_vs = || {
        let rs = sched.users(i).next()?;
        config.real_servers[rs].virtual_servers.iter().find_map(|&v| config.virtual_servers[v].host.clone())
    };
    http.host.clone().or_else(from_vs).unwrap_or_else(|| sched.probes()[i].spec.target.ip().to_string())
}

/// What an https check says in a build without the `tls` feature.
#[cfg(not(feature = "tls"))]
const NO_TLS: &str = "https checks need a build with the tls feature";

/// In a build without the `tls` feature, names the checks that cannot run, once, rather
/// than leaving operators to piece it together from each probe's failure.
#[cfg(not(feature = "tls"))]
fn log_https_without_tls(config: &Config) {
    let names: Vec<&str> = config
        .checks
        .iter()
        .filter(|c| matches!(c.kind, CheckKind::Https(..)))
        .map(|c| c.name.as_str())
        .collect();
    if !names.is_empty() {
        log::error!("checks: {NO_TLS}: {} will fail", names.join(", "));
    }
}

/// What woke the loop.
enum Event {
    /// A probe of scheduler `generation` ended.
    Done(u64, usize, Outcome, Duration),
    Command(Command),
    Due,
}

fn run(
    mut config: Arc<Config>,
    inbox: async_channel::Receiver<Command>,
    mut report: Report,
    mut publish: Publish,
    bfd: Arc<States>,
) {
    let ex = async_executor::LocalExecutor::new();
    // Each ended probe: its scheduler generation, index, outcome and time taken.
    let results: Rc<Mailbox<(u64, usize, Outcome, Duration)>> = Rc::new(Mailbox::new());
    let mut sched = Scheduler::new(&config, plan(&config), Instant::now());
    log::info!("checks: {} probe(s) for {} real server(s)", sched.probes().len(), config.real_servers.len());
    #[cfg(not(feature = "tls"))]
    log_https_without_tls(&config);
    // Bumped at each reload: results of probes started before it are dropped.
    let mut generation = 0u64;
    let mut health = sched.health();
    let mut stale = false;
    // Probes started and not yet reported (of any generation).
    let mut in_flight = 0usize;
    let mut prepared = Prepared::new();
    report(health.clone());
    publish(&config, &sched, None);
    // The checker's own reactor, driven by this thread alone (see `reactor`).
    let ran = reactor::block_on(ex.run(async {
        let mut inbox = std::pin::pin!(inbox);
        // One timer, moved only when the next due time does (a timer is a map entry).
        let mut timer: Option<Timer> = None;
        loop {
            let now = Instant::now();
            while in_flight < limits::PROBES_RUNNING {
                let Some(i) = sched.poll_due(now) else { break };
                in_flight += 1;
                let job = Job::new(&config, &sched, i, &mut prepared, &bfd);
                let done = results.clone();
                ex.spawn(async move {
                    let started = Instant::now();
                    let outcome = job.run().await;
                    done.send((generation, i, outcome, started.elapsed()));
                })
                .detach();
            }
            // At the cap, only a result can free a slot: no timer, or it would spin.
            let due = if in_flight < limits::PROBES_RUNNING { sched.poll_timeout() } else { None };
            if timer.as_ref().map(Timer::deadline) != due {
                timer = due.map(Timer::at);
            }
            let event = future::poll_fn(|cx| {
                if let Poll::Ready((g, i, o, t)) = results.poll_recv(cx) {
                    return Poll::Ready(Event::Done(g, i, o, t));
                }
                if let Poll::Ready(command) = inbox.as_mut().poll_next(cx) {
                    return Poll::Ready(Event::Command(command.unwrap_or(Command::Stop)));
                }
                match timer.as_mut().map(|t| Pin::new(t).poll(cx)) {
                    Some(Poll::Ready(())) => Poll::Ready(Event::Due),
                    _ => Poll::Pending,
                }
            })
            .await;
            match event {
                Event::Done(g, _, _, _) if g != generation => in_flight -= 1,
                Event::Done(_, i, outcome, took) => {
                    in_flight -= 1;
                    // Put in words only for the log line of a change (a clone of the usual
                    // outcomes allocates nothing).
                    let kept = outcome.clone();
                    let weight_of = |p: &super::schedule::Probe| (p.weight(), p.shift());
                    let weight_before = weight_of(&sched.probes()[i]);
                    let change = sched.report(Instant::now(), i, outcome, took);
                    // The health of the real servers can only move with a probe's state or weight.
                    stale |= change.is_some() || weight_of(&sched.probes()[i]) != weight_before;
                    if let Some(change) = change {
                        let spec = sched.probes()[i].spec;
                        let name = &config.checks[spec.check].name;
                        let state = if change.up { "up" } else { "down" };
                        log::info!("check {name} {}: {state} ({kept})", spec.target);
                    }
                    publish(&config, &sched, Some(i));
                }
                Event::Command(Command::Reload(new)) => {
                    sched = sched.reloaded(&config, &new, plan(&new), Instant::now());
                    generation += 1;
                    config = new;
                    prepared.clear();
                    log::info!("checks: {} probe(s) after reload", sched.probes().len());
                    publish(&config, &sched, None);
                    stale = true;
                    #[cfg(not(feature = "tls"))]
                    log_https_without_tls(&config);
                }
                Event::Command(Command::Stop) => return,
                Event::Due => {}
            }
            if stale {
                stale = false;
                let now_health = sched.health();
                if now_health != health {
                    health = now_health;
                    report(health.clone());
                }
            }
        }
    }));
    if let Err(e) = ran {
        log::error!("checks: cannot wait for their sockets and timers: {e}; no probe runs");
    }
}

#[cfg(test)]
mod tests;
