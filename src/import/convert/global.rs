//! `global_defs`, `interface_up_down_delays` and `SSL`: the `global` section, and the
//! defaults keepalived applies to every instance and checker.

use super::{duration_text, Ctx};
use crate::config::model::Family;
use crate::config::value;
use crate::import::out::Section;
use crate::import::report::Origin;
use crate::import::tree::Node;
use std::time::Duration;

/// A value with the line and keyword it came from.
#[derive(Debug, Clone)]
pub struct Val {
    pub value: String,
    pub at: Origin,
    pub keyword: String,
}

impl Val {
    fn of(node: &Node, value: impl Into<String>) -> Val {
        Val { value: value.into(), at: node.at.clone(), keyword: node.keyword().to_owned() }
    }
}

/// `interface_up_down_delays` for one interface.
#[derive(Debug, Clone)]
pub struct Delays {
    pub interface: String,
    pub down: Duration,
    pub up: Duration,
    pub at: Origin,
    /// Some instance runs on this interface (otherwise the delays are reported unused).
    pub used: bool,
}

/// `lvs_sync_daemon`, read.
#[derive(Debug, Clone)]
struct LvsSync {
    interface: String,
    instance: Option<String>,
    id: Option<String>,
    at: Origin,
}

/// Global settings that act as defaults elsewhere.
#[derive(Debug, Default)]
pub struct Globals {
    pub vrrp_version: Option<Val>,
    /// Options every instance gets unless it sets its own (keeplite names and values):
    /// keepalived has these globally, keeplite per instance.
    pub instance_defaults: Vec<(&'static str, Val)>,
    /// `vrrp_strict`: every instance's default `strict_mode`.
    pub strict: Option<Origin>,
    pub garp_interval: Option<Val>,
    pub gna_interval: Option<Val>,
    pub smtp_alert: Option<bool>,
    pub smtp_alert_vrrp: Option<bool>,
    pub smtp_alert_checker: Option<bool>,
    /// Alert mails can be sent: an SMTP server and at least one address keeplite accepts.
    pub mail: bool,
    pub script_user: Option<String>,
    pub delays: Vec<Delays>,
    lvs_sync: Option<LvsSync>,
    /// `lvs_sync_daemon_interface` of an instance (keepalived's old form).
    pub instance_sync: Option<(String, String, Origin)>,
    pub skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src`: every unicast instance checks its adverts' sources.
    pub check_unicast_src: bool,
    /// The last `vrrp_startup_delay` and the last `vrrp_delay_after_boot`.
    pub startup_delays: [Option<(Duration, Origin, &'static str)>; 2],
}

/// Reads every global block (wherever it is in the file) into `cx.g` and the global section.
pub fn collect(cx: &mut Ctx, nodes: &[Node]) {
    let mut s = Section::new("", "global", &Origin { file: "".into(), line: 0 }, "global_defs");
    let mut has_server = false;
    let mut emails = 0;
    for node in nodes {
        match node.keyword() {
            "global_defs" => {
                if s.at.line == 0 {
                    s.at = node.at.clone();
                }
                for n in node.children() {
                    global_keyword(cx, &mut s, n, &mut has_server, &mut emails);
                }
            }
            "interface_up_down_delays" => delays(cx, node),
            "SSL" => {
                for n in node.children() {
                    let why = match n.keyword() {
                        "ca" => "keeplite's https checks use a CA only to verify the server (check.ca_file with check.verify); set them on the checks by hand if wanted",
                        "certificate" | "key" | "password" => "keeplite's https checks present no client certificate",
                        _ => "not an SSL keyword",
                    };
                    cx.report(n, why);
                }
            }
            _ => {}
        }
    }
    cx.g.mail = has_server && emails > 0;
    // keepalived waits for the longer of the two.
    if let Some((d, at, kw)) = cx.g.startup_delays.iter().flatten().max_by_key(|(d, _, _)| *d) {
        s.set("startup_delay", duration_text(*d), at, kw);
    }
    if !s.options.is_empty() {
        cx.global = Some(s);
    }
}

fn global_keyword(cx: &mut Ctx, s: &mut Section, n: &Node, has_server: &mut bool, emails: &mut usize) {
    let kw = n.keyword();
    match kw {
        "router_id" => {
            if let Some(v) = cx.arg(n) {
                s.set("router_id", v, &n.at, kw);
            }
        }
        "notification_email" => {
            let addresses: Vec<String> =
                n.children().iter().flat_map(|c| c.words.clone()).chain(n.args().to_vec()).collect();
            for a in addresses {
                match value::email(&a) {
                    Ok(e) => {
                        *emails += 1;
                        s.push("alert_email", e, &n.at, kw);
                    }
                    Err(_) => cx.report(n, format!("'{a}' is not an e-mail address keeplite accepts (user@host); no alert goes to it")),
                }
            }
        }
        "notification_email_from" => {
            if let Some(v) = cx.arg(n) {
                s.set("smtp_from", v, &n.at, kw);
            }
        }
        "smtp_server" => {
            let Some(host) = cx.arg(n) else { return };
            let text = match n.arg(1) {
                None => host.to_owned(),
                Some(port) if host.contains(':') => format!("[{host}]:{port}"),
                Some(port) => format!("{host}:{port}"),
            };
            *has_server = true;
            s.set("smtp_server", text, &n.at, kw);
        }
        "smtp_helo_name" => {
            if let Some(v) = cx.arg(n) {
                s.set("smtp_helo_name", v, &n.at, kw);
            }
        }
        "smtp_connect_timeout" => {
            if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                s.set("smtp_timeout", duration_text(d), &n.at, kw);
            }
        }
        "smtp_alert" => cx.g.smtp_alert = cx.flag(n),
        "smtp_alert_vrrp" => cx.g.smtp_alert_vrrp = cx.flag(n),
        "smtp_alert_checker" => cx.g.smtp_alert_checker = cx.flag(n),
        "vrrp_startup_delay" => {
            if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                cx.g.startup_delays[0] = Some((d, n.at.clone(), "vrrp_startup_delay"));
            }
        }
        "vrrp_delay_after_boot" => {
            if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                cx.report(n, "carried approximately, as startup_delay: keeplite waits this long after it starts, at every start; keepalived waits until this long after the machine booted, so not after a later restart");
                cx.g.startup_delays[1] = Some((d, n.at.clone(), "vrrp_delay_after_boot"));
            }
        }
        "script_user" => {
            let Some(user) = cx.arg(n) else { return };
            cx.g.script_user = Some(user.to_owned());
            s.set("script_user", user, &n.at, kw);
            if n.args().len() > 1 {
                cx.report(
                    n,
                    "keeplite runs scripts with the user's own group; the group is not carried over",
                );
            }
        }
        "lvs_sync_daemon" => lvs_sync_daemon(cx, n),
        "vrrp_version" => {
            if let Some(v) = cx.arg(n) {
                cx.g.vrrp_version = Some(Val::of(n, v));
            }
        }
        "vrrp_garp_master_repeat" | "vrrp_garp_lower_prio_repeat" => {
            let opt = if kw == "vrrp_garp_master_repeat" { "garp_repeat" } else { "garp_lower_prio_repeat" };
            if let Some(v) = cx.arg(n) {
                instance_default(cx, opt, Val::of(n, v));
            }
        }
        "vrrp_garp_master_delay" | "vrrp_garp_master_refresh" => {
            let opt = if kw == "vrrp_garp_master_delay" { "garp_delay" } else { "garp_refresh" };
            if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                instance_default(cx, opt, Val::of(n, duration_text(d)));
            }
        }
        "vrrp_lower_prio_no_advert" => {
            if let Some(b) = cx.flag(n) {
                instance_default(cx, "lower_prio_no_advert", Val::of(n, if b { "1" } else { "0" }));
            }
        }
        "vrrp_min_garp" => {
            if cx.flag(n) == Some(true) {
                // keepalived's shorthand: one message at a time, no second burst; what
                // the global settings say (before or after) wins.
                for (opt, v) in [("garp_repeat", "1"), ("garp_delay", "0s")] {
                    if !cx.g.instance_defaults.iter().any(|(o, _)| *o == opt) {
                        cx.g.instance_defaults.push((opt, Val::of(n, v)));
                    }
                }
            }
        }
        "vrrp_strict" => {
            cx.g.strict = Some(n.at.clone());
            cx.report(n, "carried over in part, as every instance's strict_mode (adverts with other addresses are discarded) and lower_prio_no_advert; keepalived's firewall rules and its other strict checks are not applied");
        }
        "vrrp_garp_interval" => {
            if let Some(v) = cx.arg(n) {
                cx.g.garp_interval = Some(Val::of(n, v));
            }
        }
        "vrrp_gna_interval" => {
            if let Some(v) = cx.arg(n) {
                cx.g.gna_interval = Some(Val::of(n, v));
            }
        }
        "vrrp_mcast_group4" | "vrrp_mcast_group6" => {
            let opt = if kw == "vrrp_mcast_group4" { "mcast_group4" } else { "mcast_group6" };
            let Some(v) = cx.arg(n) else { return };
            let family = if kw == "vrrp_mcast_group6" { Family::Ipv6 } else { Family::Ipv4 };
            match value::multicast(v) {
                Ok(group) if Family::of(group) != family => {
                    cx.report(n, "a group of the other address family; ignored")
                }
                // keeplite's default too: passed over.
                Ok(group) if group == crate::vrrp::io::group(family) => {}
                Ok(group) => s.set(opt, group.to_string(), &n.at, kw),
                Err(bad) => cx.report(n, format!("{} ({}); ignored", bad.what, bad.expected)),
            }
        }
        "vrrp_check_unicast_src" => cx.g.check_unicast_src = true,
        "vrrp_notify_priority_changes" => {
            if let Some(b) = cx.flag(n) {
                instance_default(cx, "notify_priority_changes", Val::of(n, if b { "1" } else { "0" }));
            }
        }
        // keeplite always does these.
        "enable_script_security" | "dynamic_interfaces" => {}
        // keeplite counts adverts with another address list but never discards them
        // unless strict_mode is set: the check is as good as skipped.
        "vrrp_skip_check_adv_addr" => cx.g.skip_check_adv_addr = true,
        _ => cx.unsupported(n),
    }
}

/// A global setting that keeplite has per instance: every instance gets it unless it sets
/// its own. A later line replaces an earlier one, as in keepalived.
fn instance_default(cx: &mut Ctx, opt: &'static str, v: Val) {
    cx.g.instance_defaults.retain(|(o, _)| *o != opt);
    cx.g.instance_defaults.push((opt, v));
}

/// `lvs_sync_daemon IF [[inst] NAME] [id N] [maxlen N] [port N] [ttl N] [group IP]`.
fn lvs_sync_daemon(cx: &mut Ctx, n: &Node) {
    let Some(interface) = cx.arg(n) else { return };
    let mut sync = LvsSync { interface: interface.to_owned(), instance: None, id: None, at: n.at.clone() };
    let args = n.args();
    let mut i = 1;
    while i < args.len() {
        let word = args[i].as_str();
        let next = args.get(i + 1).cloned();
        match word {
            "inst" => sync.instance = next,
            "id" => sync.id = next,
            "maxlen" | "port" | "ttl" | "group" => {
                cx.reports.add(
                    &n.at,
                    format!("lvs_sync_daemon {word}"),
                    "keeplite's sync daemon takes only an interface, an instance and an id",
                );
            }
            name if sync.instance.is_none() => {
                sync.instance = Some(name.to_owned());
                i += 1;
                continue;
            }
            other => {
                cx.report(n, format!("'{other}' is not an lvs_sync_daemon option; ignored"));
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    cx.g.lvs_sync = Some(sync);
}

/// `interface_up_down_delays { IF DOWN [UP] }`: keeplite has the delays per instance, for
/// the instance's own interface.
fn delays(cx: &mut Ctx, node: &Node) {
    for n in node.children() {
        let interface = n.keyword().to_owned();
        let Some(down) = n.arg(0) else {
            cx.report(n, "needs a down delay; ignored");
            continue;
        };
        let Some(down) = cx.seconds(n, down) else { continue };
        let up = match n.arg(1) {
            Some(u) => match cx.seconds(n, u) {
                Some(u) => u,
                None => continue,
            },
            None => down,
        };
        cx.g.delays.push(Delays { interface, down, up, at: n.at.clone(), used: false });
    }
}

/// After the instances: the sync daemon (it names an instance), delays no instance took,
/// and the global section's name.
pub fn finish(cx: &mut Ctx) {
    let sync = cx.g.lvs_sync.clone();
    let mut s = cx
        .global
        .take()
        .unwrap_or_else(|| Section::new("", "global", &Origin { file: "".into(), line: 0 }, "global_defs"));
    if let Some(sync) = sync {
        let kw = "lvs_sync_daemon";
        match sync.instance.as_deref().map(|i| (i, cx.instances.get(i).cloned())) {
            Some((_, Some(name))) => {
                s.set("lvs_sync_interface", &sync.interface, &sync.at, kw);
                s.set("lvs_sync_instance", name, &sync.at, kw);
                if let Some(id) = &sync.id {
                    s.set("lvs_sync_id", id, &sync.at, kw);
                }
            }
            Some((inst, None)) => {
                cx.reports.add(&sync.at, kw, format!("no vrrp_instance is called '{inst}'; no sync daemon"));
            }
            None => cx.reports.add(
                &sync.at,
                kw,
                "keeplite runs the sync daemon as master or backup after one VRRP instance; without an instance keepalived runs both all the time, which keeplite does not do",
            ),
        }
    } else if let Some((interface, instance, at)) = cx.g.instance_sync.clone() {
        let kw = "lvs_sync_daemon_interface";
        s.set("lvs_sync_interface", interface, &at, kw);
        s.set("lvs_sync_instance", instance, &at, kw);
    }
    let unused: Vec<_> = cx.g.delays.iter().filter(|d| !d.used).cloned().collect();
    for d in unused {
        cx.reports.add(
            &d.at,
            &d.interface,
            "keeplite has up and down delays only for an instance's own interface; no instance runs on this one",
        );
    }
    for (text, at) in std::mem::take(&mut cx.statics) {
        s.push("static_address", text, &at, "static_ipaddress");
    }
    if !s.options.is_empty() {
        s.name = cx.names.claim("main");
        cx.global = Some(s);
    }
}
