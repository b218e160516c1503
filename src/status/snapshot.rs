//! The daemon's state as the status endpoint shows it (schema 1, docs/status.md).
//!
//! The daemon fills a [`Snapshot`] from its cores (each thread its own part) and the
//! status handler answers read methods from it. Times are kept as instants and turned
//! into seconds when a reply is built, so a snapshot that has not changed for an hour
//! still says how long an instance has been MASTER.

use super::request::Request;
use crate::ipvs::model::{DestConns, ServiceKey, Stats};
use crate::json::Json;
use crate::notify::counters::Counts;
use crate::vrrp::counters::Counters;
use crate::vrrp::instance::State;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Everything the `status` method shows.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub router_id: String,
    pub started: Instant,
    /// False when the kernel has no IPVS (`"ipvs": "unavailable"`).
    pub ipvs: bool,
    /// Probes the checker runs (one per check, target and interval).
    pub probes: usize,
    pub vrrp: Vec<Vrrp>,
    pub virtual_servers: Vec<VirtualService>,
    /// Notify scripts and alert mails since start.
    pub notifications: Counts,
}

/// One VRRP instance.
#[derive(Debug, Clone)]
pub struct Vrrp {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub state: State,
    /// Why the instance is in FAULT: "no interface", "interface down", "no address",
    /// "tracking" or "sync group"; none in other states.
    pub fault: Option<&'static str>,
    /// Priority after tracked interfaces and scripts.
    pub priority: u8,
    /// Configured priority.
    pub base_priority: u8,
    /// The master's address: this node's when MASTER, the last advert's sender when
    /// BACKUP, none when not known.
    pub master: Option<IpAddr>,
    /// When the current state began.
    pub since: Option<Instant>,
    pub transitions: u64,
    /// Virtual addresses, `addr/len`.
    pub vips: Vec<String>,
    /// Held BACKUP by the `hold` method.
    pub held: bool,
    /// Yielding mastership (the `yield` method) until then.
    pub yield_until: Option<Instant>,
    pub counters: Counters,
}

/// One kernel virtual service: a `virtual_server` section's address and one of its ports
/// (or its fwmark).
#[derive(Debug, Clone)]
pub struct VirtualService {
    /// The `virtual_server` section.
    pub name: String,
    pub key: ServiceKey,
    pub scheduler: String,
    /// `nat`, `dr` or `tun`.
    pub forward: String,
    /// False while fewer real servers are up than `quorum` asks.
    pub quorum: bool,
    pub real_servers: Vec<RealServer>,
}

/// One real server of a virtual service.
#[derive(Debug, Clone)]
pub struct RealServer {
    /// The `real_server` section.
    pub name: String,
    pub address: IpAddr,
    pub port: u16,
    /// The checks' verdict.
    pub up: bool,
    /// Set to weight 0 by the `drain` method.
    pub drained: bool,
    /// The weight keeplite wants (configured, dynamic or `set_weight`).
    pub weight: u32,
    pub check: Option<CheckResult>,
    /// The kernel's entry; none when the destination is not in the table.
    pub kernel: Option<KernelDest>,
}

/// The last check run against a real server.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub passed: bool,
    /// `ok`, or why it failed (`connection refused`, `bad status 503`, ...).
    pub text: String,
    pub latency: Duration,
    pub at: Instant,
}

/// A destination as the kernel holds it.
#[derive(Debug, Clone, Copy)]
pub struct KernelDest {
    pub weight: u32,
    pub conns: DestConns,
    pub stats: Stats,
}

/// Whole seconds from `then` to `now` (0 when `then` is later).
fn secs(now: Instant, then: Instant) -> Json {
    Json::Int(i64::try_from(now.saturating_duration_since(then).as_secs()).unwrap_or(i64::MAX))
}

fn int(n: impl Into<u64>) -> Json {
    Json::Int(i64::try_from(n.into()).unwrap_or(i64::MAX))
}

/// The lower-case state name the JSON carries.
pub fn state_name(state: State) -> &'static str {
    match state {
        State::Initialize => "init",
        State::Backup => "backup",
        State::Master => "master",
        State::Fault => "fault",
    }
}

impl Snapshot {
    /// The reply body of a read method; none for a write method.
    pub fn answer(&self, request: &Request, now: Instant) -> Option<Json> {
        Some(match request {
            Request::Status => self.status(now),
            Request::Vrrp => Json::object([("vrrp", self.vrrp_json(now))]),
            Request::VirtualServers => Json::object(self.services_fields(now)),
            Request::Counters => self.counters(),
            _ => return None,
        })
    }

    /// The `status` body: everything.
    pub fn status(&self, now: Instant) -> Json {
        let mut fields = vec![
            ("router_id", Json::str(&self.router_id)),
            ("version", Json::str(env!("CARGO_PKG_VERSION"))),
            ("uptime", secs(now, self.started)),
            ("vrrp", self.vrrp_json(now)),
        ];
        fields.extend(self.services_fields(now));
        fields.push(("notifications", self.notifications_json()));
        Json::object(fields)
    }

    fn vrrp_json(&self, now: Instant) -> Json {
        Json::Array(self.vrrp.iter().map(|v| v.json(now)).collect())
    }

    fn services_fields(&self, now: Instant) -> Vec<(&'static str, Json)> {
        vec![
            ("ipvs", Json::str(if self.ipvs { "available" } else { "unavailable" })),
            ("probes", int(self.probes as u64)),
            ("virtual_servers", Json::Array(self.virtual_servers.iter().map(|s| s.json(now)).collect())),
        ]
    }

    fn notifications_json(&self) -> Json {
        Json::object(self.notifications.fields().iter().map(|(name, value)| (*name, int(*value))))
    }

    /// The `counters` body: VRRP counters, the kernel's per real server, and the
    /// notifications'.
    pub fn counters(&self) -> Json {
        let vrrp = self
            .vrrp
            .iter()
            .map(|v| Json::object([("name", Json::str(&v.name)), ("counters", counters_json(&v.counters))]));
        let services = self.virtual_servers.iter().map(|s| {
            let real = s.real_servers.iter().map(|r| {
                Json::object([
                    ("name", Json::str(&r.name)),
                    ("kernel", r.kernel.as_ref().map_or(Json::Null, kernel_json)),
                ])
            });
            Json::object([
                ("name", Json::str(&s.name)),
                ("service", Json::str(s.key.to_string())),
                ("real_servers", Json::Array(real.collect())),
            ])
        });
        Json::object([
            ("vrrp", Json::Array(vrrp.collect())),
            ("virtual_servers", Json::Array(services.collect())),
            ("notifications", self.notifications_json()),
        ])
    }
}

fn counters_json(c: &Counters) -> Json {
    Json::object(c.fields().iter().map(|(name, value)| (*name, int(*value))))
}

fn kernel_json(k: &KernelDest) -> Json {
    Json::object([
        ("active_conns", int(k.conns.active)),
        ("inactive_conns", int(k.conns.inactive)),
        ("persistent_conns", int(k.conns.persistent)),
        ("conns", int(k.stats.conns)),
        ("in_packets", int(k.stats.in_packets)),
        ("out_packets", int(k.stats.out_packets)),
        ("in_bytes", int(k.stats.in_bytes)),
        ("out_bytes", int(k.stats.out_bytes)),
    ])
}

impl Vrrp {
    /// The instance as the `vrrp` method shows it (also the answer to `yield` and `hold`).
    pub fn json(&self, now: Instant) -> Json {
        let yield_left = self.yield_until.map_or(Json::Int(0), |until| secs(until, now));
        Json::object([
            ("name", Json::str(&self.name)),
            ("interface", Json::str(&self.interface)),
            ("vrid", int(self.vrid)),
            ("version", int(self.version)),
            ("state", Json::str(state_name(self.state))),
            ("fault", self.fault.map_or(Json::Null, Json::str)),
            ("priority", int(self.priority)),
            ("base_priority", int(self.base_priority)),
            ("master", self.master.map_or(Json::Null, |a| Json::str(a.to_string()))),
            ("since", self.since.map_or(Json::Null, |t| secs(now, t))),
            ("transitions", int(self.transitions)),
            ("vips", Json::Array(self.vips.iter().map(Json::str).collect())),
            ("held", Json::Bool(self.held)),
            ("yield_left", yield_left),
            ("counters", counters_json(&self.counters)),
        ])
    }
}

impl VirtualService {
    fn json(&self, now: Instant) -> Json {
        Json::object([
            ("name", Json::str(&self.name)),
            ("service", Json::str(self.key.to_string())),
            ("scheduler", Json::str(&self.scheduler)),
            ("forward", Json::str(&self.forward)),
            ("quorum", Json::str(if self.quorum { "up" } else { "down" })),
            ("real_servers", Json::Array(self.real_servers.iter().map(|r| r.json(now)).collect())),
        ])
    }
}

impl RealServer {
    fn json(&self, now: Instant) -> Json {
        let check = self.check.as_ref().map_or(Json::Null, |c| {
            Json::object([
                ("passed", Json::Bool(c.passed)),
                ("result", Json::str(&c.text)),
                ("latency_ms", int(u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX))),
                ("age", secs(now, c.at)),
            ])
        });
        Json::object([
            ("name", Json::str(&self.name)),
            ("address", Json::str(self.address.to_string())),
            ("port", int(self.port)),
            ("health", Json::str(if self.up { "up" } else { "down" })),
            ("drained", Json::Bool(self.drained)),
            ("weight", int(self.weight)),
            ("kernel_weight", self.kernel.map_or(Json::Null, |k| int(k.weight))),
            ("check", check),
            ("kernel", self.kernel.as_ref().map_or(Json::Null, kernel_json)),
        ])
    }
}

/// A snapshot with one of everything, for tests and the docs' examples.
pub fn sample(now: Instant) -> Snapshot {
    let ago = |s: u64| now.checked_sub(Duration::from_secs(s)).unwrap_or(now);
    let counters = Counters { adverts_rx: 12, adverts_tx: 3610, became_master: 2, ..Counters::default() };
    let web = |port: u16| VirtualService {
        name: "web".into(),
        key: ServiceKey::Address { protocol: 6, addr: [10, 0, 0, 7].into(), port },
        scheduler: "wlc".into(),
        forward: "dr".into(),
        quorum: true,
        real_servers: vec![
            RealServer {
                name: "web1".into(),
                address: [10, 0, 0, 1].into(),
                port,
                up: true,
                drained: false,
                weight: 100,
                check: Some(CheckResult {
                    passed: true,
                    text: "ok".into(),
                    latency: Duration::from_millis(3),
                    at: ago(1),
                }),
                kernel: Some(KernelDest {
                    weight: 100,
                    conns: DestConns { active: 12, inactive: 40, persistent: 0 },
                    stats: Stats {
                        conns: 18230,
                        in_packets: 912000,
                        out_packets: 0,
                        in_bytes: 61000000,
                        out_bytes: 0,
                        ..Stats::default()
                    },
                }),
            },
            RealServer {
                name: "web2".into(),
                address: [10, 0, 0, 2].into(),
                port,
                up: false,
                drained: false,
                weight: 100,
                check: Some(CheckResult {
                    passed: false,
                    text: "connection refused".into(),
                    latency: Duration::from_millis(0),
                    at: ago(2),
                }),
                kernel: None,
            },
        ],
    };
    Snapshot {
        router_id: "edge-a".into(),
        started: ago(93784),
        ipvs: true,
        probes: 2,
        vrrp: vec![Vrrp {
            name: "gw".into(),
            interface: "eth0".into(),
            vrid: 51,
            version: 3,
            state: State::Master,
            fault: None,
            priority: 200,
            base_priority: 200,
            master: Some([10, 0, 0, 11].into()),
            since: Some(ago(3720)),
            transitions: 2,
            vips: vec!["10.0.0.7/24".into()],
            held: false,
            yield_until: None,
            counters,
        }],
        virtual_servers: vec![web(80), web(443)],
        notifications: Counts {
            scripts_run: 4,
            scripts_failed: 1,
            scripts_dropped: 0,
            mails_sent: 3,
            mails_failed: 1,
            mails_dropped: 0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_every_documented_field() {
        let now = Instant::now();
        let s = sample(now).status(now).to_string();
        for field in [
            r#""router_id":"edge-a""#,
            r#""uptime":93784"#,
            r#""state":"master""#,
            r#""base_priority":200"#,
            r#""master":"10.0.0.11""#,
            r#""since":3720"#,
            r#""transitions":2"#,
            r#""adverts_tx":3610"#,
            r#""discard_ttl":0"#,
            r#""ipvs":"available""#,
            r#""probes":2"#,
            r#""service":"tcp 10.0.0.7:80""#,
            r#""quorum":"up""#,
            r#""health":"down""#,
            r#""kernel_weight":null"#,
            r#""result":"connection refused""#,
            r#""latency_ms":3"#,
            r#""active_conns":12"#,
            r#""in_bytes":61000000"#,
            r#""notifications":{"scripts_run":4,"scripts_failed":1,"scripts_dropped":0,"mails_sent":3,"mails_failed":1,"mails_dropped":0}"#,
        ] {
            assert!(s.contains(field), "{field} missing from {s}");
        }
    }

    #[test]
    fn read_methods_answer_their_part() {
        let now = Instant::now();
        let snap = sample(now);
        let keys = |r: &Request| {
            let body = snap.answer(r, now).unwrap_or(Json::Null);
            body.as_object().unwrap_or(&[]).iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
        };
        assert_eq!(keys(&Request::Vrrp), ["vrrp"]);
        assert_eq!(keys(&Request::VirtualServers), ["ipvs", "probes", "virtual_servers"]);
        assert_eq!(keys(&Request::Counters), ["vrrp", "virtual_servers", "notifications"]);
        let counters = snap.answer(&Request::Counters, now).unwrap_or(Json::Null).to_string();
        assert!(counters.contains(r#""notifications":{"scripts_run":4,"#), "{counters}");
        assert!(snap.answer(&Request::Reload, now).is_none());
    }
}
