//! The daemon's side of the status endpoint: the snapshot, in parts that each thread
//! writes on its own (VRRP: the event loop; services: the IPVS thread; check results:
//! the checker), and the handler that answers requests from them on the status thread.

use super::control::{Order, Remote};
use crate::check::runner::Publish;
use crate::check::schedule::Scheduler;
use crate::config::model::FORWARDS;
use crate::config::value::keyword_name;
use crate::config::Config;
use crate::ipvs::desired::{members, DesiredService, RealServerHealth};
use crate::ipvs::model::{DumpedService, ServiceKey};
use crate::ipvs::quorum::Quorum;
use crate::json::Json;
use crate::status::events::{self, Emitter};
use crate::status::snapshot::{CheckResult, KernelDest, RealServer, Snapshot, VirtualService, Vrrp};
use crate::status::{Peer, Reply, Request, Server};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The IPVS thread's part.
#[derive(Debug, Default)]
pub struct Services {
    /// False when the kernel has no IPVS.
    pub ipvs: bool,
    pub list: Vec<VirtualService>,
}

/// The checker's part.
#[derive(Debug, Default)]
pub struct Checks {
    pub probes: usize,
    /// The last result that speaks for each real server, by section name.
    pub by_real_server: HashMap<String, CheckResult>,
}

/// What the IPVS thread is asked by the `drain`, `undrain` and `set_weight` methods.
pub type WeightOverride = Box<dyn Fn(String, Option<u32>) + Send>;

/// The snapshot parts, shared by every thread.
#[derive(Debug)]
pub struct Shared {
    router_id: String,
    started: Instant,
    pub vrrp: Mutex<Vec<Vrrp>>,
    pub services: Mutex<Services>,
    pub checks: Mutex<Checks>,
    /// The event stream's producers' end.
    pub events: Arc<Emitter>,
}

/// Locks `m`, even after a thread panicked holding it: a status reply is better than none.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Empty parts for `config`, and the event stream's end the status server reads.
    pub fn new(config: &Config) -> (Arc<Shared>, events::Source) {
        let (events, source) = events::channel();
        let shared = Arc::new(Shared {
            router_id: config.global.router_id.clone(),
            started: Instant::now(),
            vrrp: Mutex::default(),
            services: Mutex::default(),
            checks: Mutex::default(),
            events,
        });
        (shared, source)
    }

    /// The parts put together, check results in their real servers.
    pub fn snapshot(&self) -> Snapshot {
        let (ipvs, mut virtual_servers) = {
            let s = lock(&self.services);
            (s.ipvs, s.list.clone())
        };
        let checks = lock(&self.checks);
        for rs in virtual_servers.iter_mut().flat_map(|s| s.real_servers.iter_mut()) {
            rs.check = checks.by_real_server.get(&rs.name).cloned();
        }
        Snapshot {
            router_id: self.router_id.clone(),
            started: self.started,
            ipvs,
            probes: checks.probes,
            vrrp: lock(&self.vrrp).clone(),
            virtual_servers,
            notifications: crate::notify::counters::read(),
        }
    }
}

/// The checker's publisher: the result that speaks for each real server a result touched.
pub fn check_publisher(shared: Arc<Shared>) -> Publish {
    Box::new(move |config: &Config, sched: &Scheduler, probe: Option<usize>| {
        let mut checks = lock(&shared.checks);
        checks.probes = sched.probes().len();
        let touched: Vec<usize> = match probe {
            Some(i) => sched.users(i).collect(),
            None => {
                checks.by_real_server.clear();
                (0..config.real_servers.len()).collect()
            }
        };
        for rs in touched {
            let Some(p) = sched.speaking_for(rs) else { continue };
            if let (Some((outcome, latency)), Some(at), Some(section)) =
                (&p.last, p.ended, config.real_servers.get(rs))
            {
                let result = CheckResult {
                    passed: outcome.passed(),
                    text: outcome.to_string(),
                    latency: *latency,
                    at,
                };
                checks.by_real_server.insert(section.name.clone(), result);
            }
        }
    })
}

/// Starts the status server on the configured socket; a failure is logged and the
/// daemon runs on without it.
pub fn start(
    config: &Config,
    shared: Arc<Shared>,
    events: events::Source,
    weights: Option<WeightOverride>,
    event_loop: Remote,
) -> Result<Server, String> {
    let path = &config.global.status_socket;
    let handler = move |request: &Request, _: &Peer| -> Reply {
        let now = Instant::now();
        if let Some(json) = shared.snapshot().answer(request, now) {
            return Reply::Now(Ok(json));
        }
        write(request, &shared, weights.as_ref(), &event_loop)
    };
    Server::start_with_events(path, handler, events).map_err(|e| e.to_string())
}

/// A write method (the server let only root through): the event loop's orders go to it,
/// weights to the IPVS thread.
fn write(request: &Request, shared: &Shared, weights: Option<&WeightOverride>, event_loop: &Remote) -> Reply {
    let known = |name: &str| {
        lock(&shared.services).list.iter().any(|s| s.real_servers.iter().any(|r| r.name == name))
    };
    let (name, weight) = match request {
        Request::Reload => return event_loop.ask(Order::Reload),
        Request::Yield { instance, seconds } => {
            let time = Duration::from_secs(u64::from(*seconds));
            return event_loop.ask(Order::Yield { instance: instance.clone(), time });
        }
        Request::Hold { instance, on } => {
            return event_loop.ask(Order::Hold { instance: instance.clone(), on: *on })
        }
        Request::Drain { name } => (name, Some(0)),
        Request::Undrain { name } => (name, None),
        Request::SetWeight { name, weight } => (name, Some(*weight)),
        _ => return Reply::Now(Err("not a write method".into())),
    };
    let Some(weights) = weights else { return Reply::Now(Err("IPVS is not running".into())) };
    if !known(name) {
        return Reply::Now(Err(format!("no real server {name:?}")));
    }
    weights(name.clone(), weight);
    Reply::Now(Ok(Json::object([("real_server", Json::str(name))])))
}

/// The IPVS thread's part: the services it wants, with what the kernel holds of them
/// (`kernel`, its last reading) and what it knows of each real server.
pub fn services(
    config: &Config,
    want: &[DesiredService],
    kernel: Option<&[DumpedService]>,
    health: &[RealServerHealth],
    quorum: &[Quorum],
    drained: impl Fn(&str) -> bool,
) -> Vec<VirtualService> {
    let held: HashMap<ServiceKey, &DumpedService> =
        kernel.unwrap_or_default().iter().map(|s| (s.service.key, s)).collect();
    // Each virtual server's real servers, once: not a scan of every real server per service.
    let members = members(config);
    want.iter()
        .map(|ds| {
            let vs = &config.virtual_servers[ds.virtual_server];
            let in_kernel = held.get(&ds.service.key);
            let real_servers = members
                .get(ds.virtual_server)
                .into_iter()
                .flatten()
                .map(|&i| (i, &config.real_servers[i]))
                .map(|(i, rs)| {
                    let h = health.get(i).copied().unwrap_or(RealServerHealth::UP);
                    let port = rs.port.unwrap_or(ds.service.key.port());
                    let kernel =
                        in_kernel.and_then(|s| s.dests.iter().find(|d| d.dest.key.addr == rs.address));
                    RealServer {
                        name: rs.name.clone(),
                        address: rs.address,
                        port,
                        up: h.up,
                        drained: drained(&rs.name),
                        weight: h.weight_of(rs),
                        check: None,
                        kernel: kernel.map(|d| KernelDest {
                            weight: d.dest.weight,
                            conns: d.conns,
                            stats: d.stats,
                        }),
                    }
                })
                .collect();
            VirtualService {
                name: vs.name.clone(),
                key: ds.service.key,
                scheduler: ds.service.scheduler.to_string(),
                forward: keyword_name(vs.forward, FORWARDS).to_owned(),
                quorum: quorum.get(ds.virtual_server).is_none_or(|q| q.is_up()),
                real_servers,
            }
        })
        .collect()
}
