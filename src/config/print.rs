//! The effective configuration, defaults filled in, back as text: flat (`uci show`),
//! native UCI, or JSON. Reading what is printed gives the same [`Config`].

use super::model::*;
use super::schema;
use super::sections::{Document, Opt, Section};
use super::value::{format_duration, keyword_name};
use super::words::quote;
use crate::json::Json;
use std::net::IpAddr;
use std::time::Duration;

/// Collects the options of one section as text.
struct Out {
    section: Section,
}

impl Out {
    fn new(name: &str, kind: &str) -> Self {
        Out {
            section: Section { name: name.to_owned(), kind: kind.to_owned(), line: 0, options: Vec::new() },
        }
    }
    fn list(&mut self, name: &str, values: Vec<String>) {
        if !values.is_empty() {
            self.section.options.push(Opt { name: name.to_owned(), values, line: 0, from_list: true });
        }
    }
    fn set(&mut self, name: &str, value: impl ToString) {
        self.section.options.push(Opt {
            name: name.to_owned(),
            values: vec![value.to_string()],
            line: 0,
            from_list: false,
        });
    }
    fn opt(&mut self, name: &str, value: Option<impl ToString>) {
        if let Some(v) = value {
            self.set(name, v);
        }
    }
    fn dur(&mut self, name: &str, d: Duration) {
        self.set(name, format_duration(d));
    }
    fn flag(&mut self, name: &str, b: bool) {
        self.set(name, if b { "1" } else { "0" });
    }
    fn notify(&mut self, n: &Notify) {
        self.opt("notify", n.any.as_ref());
        self.opt("notify_master", n.master.as_ref());
        self.opt("notify_backup", n.backup.as_ref());
        self.opt("notify_fault", n.fault.as_ref());
        self.opt("notify_stop", n.stop.as_ref());
        self.flag("smtp_alert", n.smtp_alert);
    }
}

fn endpoint(addr: impl ToString, port: Option<u16>) -> String {
    let a = addr.to_string();
    match port {
        None => a,
        Some(p) if a.contains(':') => format!("[{a}]:{p}"),
        Some(p) => format!("{a}:{p}"),
    }
}

fn weighted(name: &str, weight: Option<i16>) -> String {
    weight.map_or_else(|| name.to_owned(), |w| format!("{name}:{w}"))
}

fn range(first: u16, last: u16) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}

/// The effective configuration as sections, in schema order.
pub fn effective(c: &Config) -> Document {
    let mut sections = vec![global(&c.global, c)];
    sections.extend(c.vrrp.iter().map(|v| vrrp(v, c)));
    sections.extend(c.sync_groups.iter().map(|g| {
        let mut o = Out::new(&g.name, "sync_group");
        o.list("members", g.members.iter().map(|&m| c.vrrp[m].name.clone()).collect());
        o.notify(&g.notify);
        o.section
    }));
    sections.extend(c.scripts.iter().map(script));
    sections.extend(c.virtual_servers.iter().map(virtual_server));
    sections.extend(c.real_servers.iter().map(|r| real_server(r, c)));
    sections.extend(c.checks.iter().map(check));
    sections.extend(c.routes.iter().map(|r| route(r, c)));
    sections.extend(c.rules.iter().map(|r| rule(r, c)));
    Document { sections }
}

fn prefixed((addr, len): (IpAddr, u8)) -> String {
    format!("{addr}/{len}")
}

fn table_name(t: u32) -> String {
    TABLES.iter().find(|(_, n)| *n == t).map_or_else(|| t.to_string(), |(k, _)| (*k).to_owned())
}

fn route(r: &Route, c: &Config) -> Section {
    let mut o = Out::new(&r.name, "route");
    o.opt("instance", r.instance.map(|i| c.vrrp[i].name.clone()));
    o.set("destination", prefixed(r.destination));
    o.opt("gateway", r.gateway);
    o.opt("dev", r.dev.as_ref());
    o.opt("src", r.src);
    o.set("table", table_name(r.table));
    o.opt("metric", r.metric);
    o.set("type", keyword_name(r.kind, ROUTE_TYPES));
    o.opt("protocol", r.protocol);
    o.opt("scope", r.scope.map(|s| keyword_name(s, SCOPES).replace('?', &s.to_string())));
    o.flag("onlink", r.onlink);
    o.section
}

fn rule(r: &Rule, c: &Config) -> Section {
    let mut o = Out::new(&r.name, "rule");
    o.opt("instance", r.instance.map(|i| c.vrrp[i].name.clone()));
    o.set("family", keyword_name(r.family, FAMILIES));
    o.opt("from", r.from.map(prefixed));
    o.opt("to", r.to.map(prefixed));
    o.opt("iif", r.iif.as_ref());
    o.opt("oif", r.oif.as_ref());
    o.opt("fwmark", r.fwmark.map(|(m, k)| k.map_or_else(|| format!("{m:#x}"), |k| format!("{m:#x}/{k:#x}"))));
    o.set("table", table_name(r.table));
    o.opt("priority", r.priority);
    o.section
}

/// The global options whose values differ between `old` and `new`, by name.
pub fn changed_global_options(old: &Config, new: &Config) -> Vec<String> {
    let (a, b) = (global(&old.global, old), global(&new.global, new));
    let values =
        |s: &Section, name: &str| s.options.iter().find(|o| o.name == name).map(|o| o.values.clone());
    let mut names: Vec<String> = a.options.iter().chain(&b.options).map(|o| o.name.clone()).collect();
    names.dedup();
    names.sort();
    names.dedup();
    names.retain(|n| values(&a, n) != values(&b, n));
    names
}

fn global(g: &Global, c: &Config) -> Section {
    let mut o = Out::new("@global[0]", "global");
    o.set("router_id", &g.router_id);
    o.list("alert_email", g.alert_email.iter().cloned().collect());
    o.opt("smtp_server", g.smtp_server.as_ref().map(|(h, p)| endpoint(h, Some(*p))));
    o.set("smtp_from", &g.smtp_from);
    o.set("smtp_helo_name", &g.smtp_helo_name);
    o.dur("smtp_timeout", g.smtp_timeout);
    o.set("status_socket", &g.status_socket);
    o.opt("pid_file", g.pid_file.as_ref());
    o.set("log_level", keyword_name(g.log_level, LOG_LEVELS));
    if let Some(s) = &g.lvs_sync {
        o.set("lvs_sync_interface", &s.interface);
        o.set("lvs_sync_instance", &c.vrrp[s.instance].name);
        o.set("lvs_sync_id", s.sync_id);
    }
    o.set("lvs_keep_on_stop", u8::from(g.lvs_keep_on_stop));
    o.dur("lvs_reconcile_interval", g.lvs_reconcile_interval);
    o.dur("startup_delay", g.startup_delay);
    o.list("static_address", g.static_addresses.iter().map(Vip::to_string).collect());
    o.opt("script_user", g.script_user.as_ref());
    o.set("mcast_group4", g.mcast_group4);
    o.set("mcast_group6", g.mcast_group6);
    o.section
}

fn vrrp(v: &Vrrp, c: &Config) -> Section {
    let mut o = Out::new(&v.name, "vrrp");
    o.set("interface", &v.interface);
    o.set("vrid", v.vrid);
    o.set("priority", v.priority);
    o.set("version", if v.version == Version::V2 { 2 } else { 3 });
    o.dur("advert_int", v.advert_int);
    o.list("vip", v.vips.iter().map(Vip::to_string).collect());
    o.set("state", keyword_name(v.initial_state, INITIAL_STATES));
    o.flag("preempt", v.preempt);
    o.dur("preempt_delay", v.preempt_delay);
    o.opt("src_ip", v.src_ip);
    o.list("unicast_peer", v.unicast_peers.iter().map(IpAddr::to_string).collect());
    if v.unicast_peers.is_empty() {
        o.opt("mcast_dst_ip", v.mcast_dst_ip);
    } else {
        o.set("unicast_ttl", v.unicast_ttl);
        o.set("min_ttl", v.min_ttl);
        o.set("max_ttl", v.max_ttl);
        o.flag("check_unicast_src", v.check_unicast_src);
    }
    o.list("track_interface", v.track_interfaces.iter().map(|t| weighted(&t.name, t.weight)).collect());
    o.list(
        "track_script",
        v.track_scripts.iter().map(|t| weighted(&c.scripts[t.script].name, t.weight)).collect(),
    );
    let checks = |tracked: &[TrackCheck]| -> Vec<String> {
        tracked.iter().map(|t| weighted(&c.checks[t.check].name, t.weight)).collect()
    };
    o.list("track_file", checks(&v.track_files[..]));
    o.list("track_process", checks(&v.track_processes[..]));
    o.list("track_bfd", checks(&v.track_bfds[..]));
    o.opt("auth_pass", v.auth_pass.as_ref());
    if let Some(h) = &v.auth_hmac {
        o.list("auth_hmac_key", h.keys.iter().map(|k| format!("{} {}", k.id, k.written)).collect());
        o.set("auth_hmac_active_key", h.active_key);
        o.set("auth_hmac_mode", keyword_name(h.mode, HMAC_MODES));
        o.set("auth_hmac_anti_replay", keyword_name(h.anti_replay, ANTI_REPLAYS));
        if h.anti_replay == AntiReplay::Time {
            o.dur("auth_hmac_window", Duration::from_secs(h.window.into()));
        }
    }
    o.flag("accept", v.accept);
    o.flag("strict_mode", v.strict_mode);
    o.flag("lower_prio_no_advert", v.lower_prio_no_advert);
    o.set("garp_repeat", v.garp_repeat);
    o.set("garp_lower_prio_repeat", v.garp_lower_prio_repeat);
    o.dur("garp_interval", v.garp_interval);
    o.dur("garp_delay", v.garp_delay);
    o.dur("garp_refresh", v.garp_refresh);
    o.flag("use_vmac", v.virtual_link == Some(VirtualLink::Vmac));
    o.flag("use_ipvlan", matches!(v.virtual_link, Some(VirtualLink::Ipvlan { .. })));
    if let Some(VirtualLink::Ipvlan { mode, address }) = &v.virtual_link {
        o.set("ipvlan_mode", keyword_name(*mode, IPVLAN_MODES));
        o.opt("ipvlan_address", address.map(|(a, len)| format!("{a}/{len}")));
    }
    o.flag("promote_secondaries", v.promote_secondaries);
    o.dur("up_delay", v.up_delay);
    o.dur("down_delay", v.down_delay);
    o.flag("notify_priority_changes", v.notify_priority_changes);
    o.notify(&v.notify);
    o.section
}

fn script(s: &Script) -> Section {
    let mut o = Out::new(&s.name, "script");
    o.set("command", &s.command);
    o.dur("interval", s.interval);
    o.dur("timeout", s.timeout);
    o.set("weight", s.weight);
    o.set("rise", s.rise);
    o.set("fall", s.fall);
    o.opt("user", s.user.as_ref());
    o.section
}

fn virtual_server(v: &VirtualServer) -> Section {
    let mut o = Out::new(&v.name, "virtual_server");
    match &v.key {
        ServiceKey::Address { addr, ports, protocol } => {
            o.set("address", addr);
            o.list("port", ports.iter().map(|p| range(p.first, p.last)).collect());
            o.set("protocol", keyword_name(*protocol, PROTOCOLS));
        }
        ServiceKey::Fwmark { mark, family } => {
            o.set("fwmark", mark);
            o.set("family", keyword_name(*family, FAMILIES));
        }
    }
    o.set("scheduler", keyword_name(v.scheduler, SCHEDULERS));
    o.set("forward", keyword_name(v.forward, FORWARDS));
    // Tunnel settings only matter to tun destinations; print them where they can matter.
    if v.forward == Forward::Tun || v.tunnel != Tunnel::default() {
        o.set("tunnel_type", keyword_name(v.tunnel.kind, TUNNEL_TYPES));
        o.opt("tunnel_port", v.tunnel.port);
        o.set("tunnel_csum", keyword_name(v.tunnel.csum, TUNNEL_CSUMS));
    }
    if let Some(p) = &v.persistence {
        o.dur("persistence_timeout", p.timeout);
        o.opt("persistence_netmask", p.netmask);
    }
    o.opt("sorry_server", v.sorry_server.map(|(a, p)| endpoint(a, p)));
    o.set("quorum", v.quorum);
    o.set("hysteresis", v.hysteresis);
    o.opt("quorum_up", v.quorum_up.as_ref());
    o.opt("quorum_down", v.quorum_down.as_ref());
    o.flag("inhibit_on_failure", v.inhibit_on_failure);
    o.dur("delay_loop", v.delay_loop);
    o.flag("alpha", v.alpha);
    o.flag("omega", v.omega);
    o.flag("ops", v.ops);
    o.opt("host", v.host.as_ref());
    o.flag("smtp_alert", v.smtp_alert);
    o.section
}

fn real_server(r: &RealServer, c: &Config) -> Section {
    let mut o = Out::new(&r.name, "real_server");
    o.list("virtual_server", r.virtual_servers.iter().map(|&i| c.virtual_servers[i].name.clone()).collect());
    o.set("address", r.address);
    o.opt("port", r.port);
    o.set("weight", r.weight);
    o.opt("forward", r.forward.map(|f| keyword_name(f, FORWARDS)));
    o.opt("uthreshold", r.uthreshold);
    o.opt("lthreshold", r.lthreshold);
    o.list("check", r.checks.iter().map(|&i| c.checks[i].name.clone()).collect());
    o.opt("notify_up", r.notify_up.as_ref());
    o.opt("notify_down", r.notify_down.as_ref());
    o.opt("inhibit_on_failure", r.inhibit_on_failure.map(|b| if b { "1" } else { "0" }));
    o.section
}

fn check(k: &Check) -> Section {
    let mut o = Out::new(&k.name, "check");
    o.set("type", k.kind.type_name());
    o.opt("connect_ip", k.connect_ip);
    o.opt("connect_port", k.connect_port);
    o.opt("bind_ip", k.bind_ip);
    o.opt("interval", k.interval.map(format_duration));
    // A BFD session has timers of its own, not a probe's.
    if !matches!(k.kind, CheckKind::Bfd(_)) {
        o.dur("timeout", k.timeout);
        o.set("rise", k.rise);
        o.set("fall", k.fall);
        o.dur("retry_delay", k.retry_delay);
    }
    match &k.kind {
        CheckKind::Tcp => {}
        CheckKind::Http(h) => http(&mut o, h),
        CheckKind::Https(h, t) => {
            http(&mut o, h);
            o.opt("sni", t.sni.as_ref());
            o.flag("verify", t.verify);
            o.opt("ca_file", t.ca_file.as_ref());
        }
        CheckKind::Smtp { helo_name } => o.set("helo_name", helo_name),
        CheckKind::Script { command, dynamic, user } => {
            o.set("command", command);
            o.flag("dynamic", *dynamic);
            o.opt("user", user.as_ref());
        }
        CheckKind::Udp(u) => {
            if !u.payload.is_empty() {
                let all = vec![0xff; u.payload.len()];
                bytes(&mut o, "payload", &u.payload, &all);
            }
            o.flag("require_reply", u.require_reply);
            if let Some(p) = &u.expect {
                bytes(&mut o, "expect", &p.bytes, &p.mask);
            }
        }
        CheckKind::Dns(d) => {
            o.set("dns_name", if d.name.is_empty() { "." } else { &d.name });
            o.set("dns_type", keyword_name(d.qtype, DNS_TYPES));
            o.opt("dns_expect", d.expect.as_ref());
        }
        CheckKind::Ping => {}
        CheckKind::File(f) => {
            o.set("file", &f.path);
            o.set("weight", f.weight);
            o.flag("reverse", f.reverse);
        }
        CheckKind::Process(p) => {
            o.set("process", &p.process);
            if let Some((args, how)) = &p.args {
                o.list("args", args.to_vec());
                o.set("param_match", keyword_name(*how, PARAM_MATCHES));
            }
            o.flag("full_command", p.full_command);
            o.set("quorum", p.quorum);
            if p.quorum_max != u32::MAX {
                o.set("quorum_max", p.quorum_max);
            }
            o.dur("fork_delay", p.fork_delay);
            o.dur("terminate_delay", p.terminate_delay);
            o.set("weight", p.weight);
            o.flag("reverse", p.reverse);
        }
        CheckKind::Bfd(b) => {
            o.dur("min_rx", b.timing.min_rx);
            o.dur("min_tx", b.timing.min_tx);
            o.dur("idle_tx", b.timing.idle_tx);
            o.set("multiplier", b.timing.multiplier);
            o.flag("passive", b.timing.passive);
            o.set("ttl", b.ttl);
            o.set("max_hops", b.max_hops);
            o.flag("multihop", b.multihop);
            o.set("weight", b.weight);
            o.flag("reverse", b.reverse);
        }
    }
    o.section
}

/// Bytes as `name` when they are printable text compared whole, else as `name_hex` (`x`
/// for a nibble not compared).
fn bytes(o: &mut Out, name: &str, bytes: &[u8], mask: &[u8]) {
    let text = bytes.iter().all(|b| (b' '..=b'~').contains(b)) && mask.iter().all(|&m| m == 0xff);
    if text {
        o.set(name, String::from_utf8_lossy(bytes));
        return;
    }
    let hex = "0123456789abcdef".as_bytes();
    let mut out = String::new();
    for (i, (&b, &m)) in bytes.iter().zip(mask).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        for (shift, nibble_mask) in [(4, 0xf0), (0, 0x0f)] {
            let c = if m & nibble_mask == 0 { b'x' } else { hex[usize::from(b >> shift & 0xf)] };
            out.push(char::from(c));
        }
    }
    o.set(&format!("{name}_hex"), out);
}

fn http(o: &mut Out, h: &HttpCheck) {
    o.set("path", &h.path);
    o.list("expect_status", h.expect_status.iter().map(|s| range(s.first, s.last)).collect());
    o.opt("digest", h.digest.map(|d| d.iter().map(|b| format!("{b:02x}")).collect::<String>()));
    o.opt("host", h.host.as_ref());
}

/// Renders sections as `uci show` prints them, with the `keeplite.` prefix.
pub fn flat(doc: &Document) -> String {
    let mut out = String::new();
    for s in &doc.sections {
        out.push_str(&format!("keeplite.{}={}\n", s.name, s.kind));
        for o in &s.options {
            let values: Vec<String> = o.values.iter().map(|v| quote(v)).collect();
            out.push_str(&format!("keeplite.{}.{}={}\n", s.name, o.name, values.join(" ")));
        }
    }
    out
}

/// Renders sections in the native UCI form of `/etc/config/keeplite`.
pub fn uci(doc: &Document) -> String {
    let mut out = String::from("package keeplite\n");
    for s in &doc.sections {
        out.push('\n');
        if s.name.starts_with('@') {
            out.push_str(&format!("config {}\n", s.kind));
        } else {
            out.push_str(&format!("config {} {}\n", s.kind, quote(&s.name)));
        }
        let spec = schema::section(&s.kind);
        for o in &s.options {
            let is_list = spec.and_then(|sp| sp.option(&o.name)).is_some_and(|sp| sp.list);
            for v in &o.values {
                let keyword = if is_list { "list" } else { "option" };
                out.push_str(&format!("\t{keyword} {} {}\n", o.name, quote(v)));
            }
        }
    }
    out
}

/// Renders sections as a JSON array; list options become arrays.
pub fn json(doc: &Document) -> Json {
    Json::Array(
        doc.sections
            .iter()
            .map(|s| {
                let spec = schema::section(&s.kind);
                let options = s.options.iter().map(|o| {
                    let is_list = spec.and_then(|sp| sp.option(&o.name)).is_some_and(|sp| sp.list);
                    let value = if is_list {
                        Json::Array(o.values.iter().map(Json::str).collect())
                    } else {
                        Json::str(o.values.concat())
                    };
                    (o.name.clone(), value)
                });
                Json::object([
                    ("name", Json::str(&s.name)),
                    ("type", Json::str(&s.kind)),
                    ("options", Json::object(options)),
                ])
            })
            .collect(),
    )
}
