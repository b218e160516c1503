//! keepalived's blocks mapped onto keeplite's sections, keyword by keyword; whatever has
//! no counterpart is reported with the reason.
//!
//! Two passes: the global settings first (keepalived applies them whatever their place in
//! the file), the names of scripts, instances and groups next (references may point
//! forward), then everything else in file order.

mod auth_hmac;
mod bfd;
mod checker;
mod checker_kinds;
mod global;
mod lvs;
mod routing;
mod script;
mod track_process;
mod tracking;
mod unsupported;
mod vrrp;

use super::out::{Names, Output, Section};
use super::report::Reports;
use super::tree::Node;
use super::words;
use crate::config::value;
use std::collections::HashMap;
use std::time::Duration;

pub use global::Globals;

/// Every keepalived keyword the import carries over (to a keeplite option, or as
/// behaviour keeplite always has); the test corpus and docs/keepalived.md cover each.
pub const MAPPED: &[&str] = &[
    // Top level.
    "global_defs",
    "interface_up_down_delays",
    "vrrp_script",
    "vrrp_sync_group",
    "vrrp_instance",
    "virtual_server",
    "virtual_server_group",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "include",
    "includer",
    "includem",
    "includew",
    "includeb",
    "includea",
    // global_defs.
    "router_id",
    "notification_email",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "smtp_alert",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "vrrp_startup_delay",
    "vrrp_delay_after_boot",
    "script_user",
    "lvs_sync_daemon",
    "vrrp_version",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_refresh",
    "vrrp_min_garp",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_check_unicast_src",
    "vrrp_notify_priority_changes",
    "enable_script_security",
    "dynamic_interfaces",
    "vrrp_skip_check_adv_addr",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_lower_prio_no_advert",
    "vrrp_strict",
    // vrrp_script.
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    // vrrp_sync_group.
    "group",
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "sync_group_tracking_weight",
    // vrrp_instance.
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "state",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "nopreempt",
    "preempt",
    "preempt_delay",
    "mcast_src_ip",
    "unicast_src_ip",
    "unicast_peer",
    "unicast_ttl",
    "check_unicast_src",
    "mcast_dst_ip",
    "notify_priority_changes",
    "unicast_fault_no_peer",
    "track_interface",
    "track_script",
    "authentication",
    "auth_type",
    "auth_pass",
    "auth_hmac",
    "key",
    "active_key",
    "anti_replay",
    "time_window",
    "mode",
    "accept",
    "no_accept",
    "garp_master_repeat",
    "garp_master_delay",
    "garp_master_refresh",
    "use_vmac",
    "use_ipvlan",
    "promote_secondaries",
    "strict_mode",
    "skip_check_adv_addr",
    "lvs_sync_daemon_interface",
    "native_ipv6",
    "lower_prio_no_advert",
    "garp_lower_prio_repeat",
    "virtual_routes",
    "virtual_rules",
    // virtual_server and real_server.
    "delay_loop",
    "lb_algo",
    "lvs_sched",
    "lb_kind",
    "lvs_method",
    "persistence_timeout",
    "persistence_granularity",
    "protocol",
    "ip_family",
    "sorry_server",
    "quorum",
    "hysteresis",
    "quorum_up",
    "quorum_down",
    "inhibit_on_failure",
    "alpha",
    "omega",
    "ops",
    "virtualhost",
    "connect_timeout",
    "retry",
    "delay_before_retry",
    "real_server",
    "uthreshold",
    "lthreshold",
    "notify_up",
    "notify_down",
    // Checkers.
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "SMTP_CHECK",
    "MISC_CHECK",
    "UDP_CHECK",
    "DNS_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "connect_ip",
    "connect_port",
    "bindto",
    "nb_get_retry",
    "url",
    "path",
    "digest",
    "status_code",
    "enable_sni",
    "sni_name",
    "helo_name",
    "host",
    "misc_path",
    "misc_timeout",
    "misc_dynamic",
    "payload",
    "require_reply",
    "type",
    "name",
    // track_file blocks, read for the FILE_CHECKs and instances that name them.
    "track_file",
    "vrrp_track_file",
    "file",
    // vrrp_track_process blocks and an instance's track_process.
    "vrrp_track_process",
    "track_process",
    "process",
    "param_match",
    "quorum_max",
    "fork_delay",
    "terminate_delay",
    "delay",
    "full_command",
    // bfd_instance blocks and an instance's track_bfd.
    "bfd_instance",
    "track_bfd",
    "neighbor_ip",
    "neighbour_ip",
    "source_ip",
    "min_rx",
    "min_tx",
    "idle_tx",
    "multiplier",
    "passive",
    "ttl",
    "hoplimit",
    "max_hops",
    "multihop",
    "vrrp",
    "checker",
    "BFD_CHECK",
];

/// A tracked script as instances see it: its keeplite name and its own weight.
#[derive(Debug, Clone)]
pub struct ScriptRef {
    pub name: String,
    pub weight: i64,
}

/// Everything a conversion carries between blocks.
pub struct Ctx<'r> {
    pub reports: &'r mut Reports,
    pub names: Names,
    pub g: Globals,
    pub global: Option<Section>,
    pub scripts: Vec<Section>,
    pub vrrps: Vec<Section>,
    pub groups: Vec<Section>,
    /// Virtual servers, each followed by its real servers.
    pub lvs: Vec<Section>,
    pub checks: Vec<Section>,
    /// Routes and rules, static and of instances.
    pub routing: Vec<Section>,
    /// `static_ipaddress` entries, for global `static_address`.
    pub statics: Vec<(String, super::report::Origin)>,
    /// keepalived's script name -> what instances refer to.
    pub script_refs: HashMap<String, ScriptRef>,
    /// keepalived's instance name -> keeplite name.
    pub instances: HashMap<String, String>,
    /// Instances in a sync group -> whether the group keeps tracking weights
    /// (`sync_group_tracking_weight`).
    pub grouped: HashMap<String, bool>,
    /// Check sections by content, for sharing.
    check_keys: Vec<(String, String)>,
    /// keepalived's `track_file` blocks by name, for its FILE_CHECKs and instances.
    pub track_files: HashMap<String, Node>,
    /// The file checks made of them (`None`: the block is ignored), each made once.
    pub tracked_files: HashMap<String, Option<checker_kinds::TrackedFile>>,
    /// keepalived's `vrrp_track_process` blocks by name, as process checks (`None`: the
    /// block is ignored).
    pub track_processes: HashMap<String, Option<tracking::TrackedBlock>>,
    /// keepalived's `bfd_instance` blocks by name, as bfd checks (`None`: the block is
    /// ignored).
    pub bfd_instances: HashMap<String, Option<bfd::BfdBlock>>,
    /// Sync groups' tracked objects, added to their members after every instance.
    pub group_tracking: Vec<tracking::GroupTracking>,
}

/// Converts keepalived's tree into keeplite sections; what cannot be carried goes to
/// `reports`.
pub fn convert(nodes: &[Node], reports: &mut Reports) -> Output {
    let mut cx = Ctx {
        reports,
        names: Names::default(),
        g: Globals::default(),
        global: None,
        scripts: Vec::new(),
        vrrps: Vec::new(),
        groups: Vec::new(),
        lvs: Vec::new(),
        checks: Vec::new(),
        routing: Vec::new(),
        statics: Vec::new(),
        script_refs: HashMap::new(),
        instances: HashMap::new(),
        grouped: HashMap::new(),
        check_keys: Vec::new(),
        track_files: HashMap::new(),
        tracked_files: HashMap::new(),
        track_processes: HashMap::new(),
        bfd_instances: HashMap::new(),
        group_tracking: Vec::new(),
    };
    for node in nodes.iter().filter(|n| matches!(n.keyword(), "track_file" | "vrrp_track_file")) {
        if let Some(name) = node.arg(0) {
            // keepalived finds the first block of a name.
            cx.track_files.entry(name.to_owned()).or_insert_with(|| node.clone());
        }
    }
    global::collect(&mut cx, nodes);
    script::declare(&mut cx, nodes);
    track_process::declare(&mut cx, nodes);
    bfd::declare(&mut cx, nodes);
    for node in nodes {
        match node.keyword() {
            "global_defs" | "interface_up_down_delays" | "SSL" => {}
            "vrrp_script" => script::script(&mut cx, node),
            "vrrp_sync_group" => script::sync_group(&mut cx, node),
            "vrrp_instance" => vrrp::instance(&mut cx, node),
            "virtual_server" => lvs::virtual_server(&mut cx, node, nodes),
            "virtual_server_group" => {}
            "static_routes" => {
                let mut r = routing::routes(&mut cx, node, None);
                cx.routing.append(&mut r);
            }
            "static_ipaddress" => routing::static_addresses(&mut cx, node),
            "static_rules" => {
                let mut r = routing::rules(&mut cx, node, None);
                cx.routing.append(&mut r);
            }
            // Declarations, read where a FILE_CHECK or an instance names them.
            "track_file" | "vrrp_track_file" | "vrrp_track_process" | "bfd_instance" => {}
            "" => cx.block_without_keyword(node),
            _ => cx.unsupported(node),
        }
    }
    tracking::add_group_tracking(&mut cx);
    global::finish(&mut cx);
    let mut out = Output::default();
    out.sections.extend(cx.global.take());
    out.sections.append(&mut cx.scripts);
    out.sections.append(&mut cx.vrrps);
    out.sections.append(&mut cx.groups);
    out.sections.append(&mut cx.lvs);
    out.sections.append(&mut cx.checks);
    out.sections.append(&mut cx.routing);
    out
}

impl Ctx<'_> {
    /// Reports `node`'s keyword as not carried over, for `why`.
    pub fn report(&mut self, node: &Node, why: impl Into<String>) {
        self.reports.add(&node.at, node.keyword(), why);
    }

    /// Reports a keyword keeplite has no counterpart for, with the known reason; an empty
    /// block (OpenWrt's init script writes `static_routes { }` whatever the settings) and
    /// keepalived's own process settings carry nothing and are passed over.
    pub fn unsupported(&mut self, node: &Node) {
        if node.block.as_ref().is_some_and(Vec::is_empty) || unsupported::process_setting(node.keyword()) {
            return;
        }
        let why = unsupported::why(node.keyword());
        self.report(node, why);
    }

    /// The name of a named block (`vrrp_script NAME { }`, ...), or a report that it has no
    /// name or no block, which keepalived ignores.
    pub fn declared_name<'n>(&mut self, node: &'n Node) -> Option<&'n str> {
        let Some(name) = node.arg(0) else {
            self.report(node, "needs a name; the block is ignored");
            return None;
        };
        if node.block.is_none() {
            self.report(node, "needs a { } block; ignored");
            return None;
        }
        Some(name)
    }

    /// Reports a `{ }` block that follows no keyword.
    pub fn block_without_keyword(&mut self, node: &Node) {
        self.reports.add(
            &node.at,
            "{",
            "a block without a keyword; its contents are ignored, as keepalived ignores them",
        );
    }

    /// The single argument of `node`, or a report that it is missing.
    pub fn arg<'n>(&mut self, node: &'n Node) -> Option<&'n str> {
        let a = node.arg(0);
        if a.is_none() {
            self.report(node, "needs a value; ignored");
        }
        a
    }

    /// A keepalived boolean: the keyword alone is on; `on|true|yes` / `off|false|no`.
    pub fn flag(&mut self, node: &Node) -> Option<bool> {
        match node.arg(0) {
            None => Some(true),
            Some("on" | "true" | "yes") => Some(true),
            Some("off" | "false" | "no") => Some(false),
            Some(other) => {
                self.report(node, format!("'{other}' is not on|off|true|false|yes|no; ignored"));
                None
            }
        }
    }

    /// A keepalived number of seconds (decimals allowed) as a keeplite duration, or a
    /// report.
    pub fn seconds(&mut self, node: &Node, text: &str) -> Option<Duration> {
        match value::duration(text) {
            Ok(d) => Some(d),
            Err(bad) => {
                self.report(node, format!("{} ({}); ignored", bad.what, bad.expected));
                None
            }
        }
    }

    /// A keepalived integer, or a report.
    pub fn integer(&mut self, node: &Node, text: &str, lo: i64, hi: i64) -> Option<i64> {
        match value::int(text, lo, hi) {
            Ok(n) => Some(n),
            Err(bad) => {
                self.report(node, format!("{} (expected {}); ignored", bad.what, bad.expected));
                None
            }
        }
    }

    /// The command of a script keyword (`notify_master "/bin/x a" [user [group]]`) and the
    /// words after it. keepalived takes the command from the first word (split with quotes
    /// and escapes) and runs its words without a shell; keeplite runs a command line with
    /// `/bin/sh -c`, so the words are quoted where the shell would act on them.
    pub fn command(&mut self, node: &Node) -> Option<(String, Vec<String>)> {
        let split = words::split_quoted(&node.text);
        let argv = match &split {
            Ok(w) if w.len() >= 2 => words::split_quoted(&w[1]).unwrap_or_default(),
            _ => Vec::new(),
        };
        match split {
            Ok(w) if !argv.is_empty() => Some((words::shell_join(&argv), w[2..].to_vec())),
            Ok(_) => {
                self.report(node, "needs a command; ignored");
                None
            }
            Err(_) => {
                self.report(node, "a quote is not closed or a backslash ends the line; ignored");
                None
            }
        }
    }

    /// A command keyword whose extra words name a user (and group) to run it as: keeplite
    /// runs such commands as the global `script_user`, so a different user is reported.
    pub fn command_as_script_user(&mut self, node: &Node) -> Option<String> {
        let (cmd, extra) = self.command(node)?;
        if let Some(user) = extra.first() {
            if self.g.script_user.as_deref() != Some(user.as_str()) || extra.len() > 1 {
                self.report(
                    node,
                    format!(
                        "keeplite runs this command as global script_user, not as '{}'; the user is not carried over",
                        extra.join(" ")
                    ),
                );
            }
        }
        Some(cmd)
    }

    /// The keeplite name of a check with these options, made once per distinct content.
    pub fn check_section(&mut self, s: Section) -> String {
        let wanted = s.keyword.to_ascii_lowercase();
        self.check_section_named(s, &wanted)
    }

    /// As [`check_section`](Self::check_section), naming a new section after `wanted`;
    /// sections are shared only between uses with the same `wanted`.
    pub fn check_section_named(&mut self, mut s: Section, wanted: &str) -> String {
        let mut key: Vec<String> = s.options.iter().map(|o| format!("{}={:?}", o.name, o.values())).collect();
        key.sort();
        // By name too: two track_file blocks on one file are two checks, as in keepalived.
        let key = format!("{}:{wanted}:{}", s.keyword, key.join(";"));
        if let Some((_, name)) = self.check_keys.iter().find(|(k, _)| *k == key) {
            return name.clone();
        }
        let name = self.names.claim(wanted);
        s.name = name.clone();
        self.check_keys.push((key, name.clone()));
        self.checks.push(s);
        name
    }
}

/// A duration as keeplite writes it.
pub fn duration_text(d: Duration) -> String {
    value::format_duration(d)
}
