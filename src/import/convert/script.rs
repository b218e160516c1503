//! `vrrp_script` and `vrrp_sync_group` (its tracked objects go to its members once they
//! are converted: tracking.rs), and the names every script, instance and group gets
//! before any block is converted.

use super::tracking::GroupTracking;
use super::{duration_text, Ctx, ScriptRef};
use crate::import::out::Section;
use crate::import::tree::Node;

/// Claims the names of scripts, instances and groups in file order, and notes which
/// instances are in a sync group.
pub fn declare(cx: &mut Ctx, nodes: &[Node]) {
    for node in nodes {
        let kw = node.keyword();
        if !matches!(kw, "vrrp_script" | "vrrp_instance" | "vrrp_sync_group") {
            continue;
        }
        let Some(name) = cx.declared_name(node) else { continue };
        match kw {
            "vrrp_script" => {
                if cx.script_refs.contains_key(name) {
                    cx.report(node, format!("a second vrrp_script '{name}'; ignored"));
                    continue;
                }
                let weight = node
                    .children()
                    .iter()
                    .rev()
                    .find(|c| c.keyword() == "weight")
                    .and_then(|c| c.arg(0))
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0);
                let has_script =
                    node.children().iter().any(|c| c.keyword() == "script" && c.arg(0).is_some());
                if !has_script {
                    cx.report(
                        node,
                        format!(
                            "vrrp_script '{name}' has no script; keepalived drops it, and so does the import"
                        ),
                    );
                    continue;
                }
                let keeplite = cx.names.claim(name);
                cx.script_refs.insert(name.to_owned(), ScriptRef { name: keeplite, weight });
            }
            "vrrp_instance" => {
                if cx.instances.contains_key(name) {
                    cx.report(node, format!("a second vrrp_instance '{name}'; ignored"));
                    continue;
                }
                let keeplite = cx.names.claim(name);
                cx.instances.insert(name.to_owned(), keeplite);
            }
            _ => {
                let keep_weights =
                    node.children().iter().any(|c| c.keyword() == "sync_group_tracking_weight");
                for g in node.children().iter().filter(|c| c.keyword() == "group") {
                    for member in g.children().iter().flat_map(|c| c.words.iter()) {
                        cx.grouped.insert(member.clone(), keep_weights);
                    }
                }
            }
        }
    }
}

/// `vrrp_script NAME { ... }` -> a `script` section.
pub fn script(cx: &mut Ctx, node: &Node) {
    let Some(name) = node.arg(0) else { return };
    let Some(r) = cx.script_refs.get(name).cloned() else { return };
    if cx.scripts.iter().any(|s| s.name == r.name) {
        return;
    }
    let mut s = Section::new(&r.name, "script", &node.at, "vrrp_script");
    let mut interval = None;
    let mut timeout = None;
    for n in node.children() {
        let kw = n.keyword();
        match kw {
            "script" => {
                if let Some((cmd, extra)) = cx.command(n) {
                    s.set("command", cmd, &n.at, kw);
                    if !extra.is_empty() {
                        cx.report(n, format!("words after the quoted script ('{}') are not carried over: quote the whole command", extra.join(" ")));
                    }
                }
            }
            "interval" => {
                if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                    interval = Some(d);
                    s.set("interval", duration_text(d), &n.at, kw);
                }
            }
            "timeout" => {
                if let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) {
                    timeout = Some((d, n));
                }
            }
            "weight" => {
                let Some(w) = cx.arg(n).and_then(|v| cx.integer(n, v, -253, 253)) else { continue };
                s.set("weight", w.to_string(), &n.at, kw);
                reverse(cx, n, 1);
            }
            "rise" | "fall" => {
                if let Some(v) = cx.arg(n).and_then(|v| cx.integer(n, v, 1, 1000)) {
                    s.set(kw, v.to_string(), &n.at, kw);
                }
            }
            "user" => {
                let Some(u) = cx.arg(n) else { continue };
                s.set("user", u, &n.at, kw);
                if n.args().len() > 1 {
                    cx.report(
                        n,
                        "keeplite runs scripts with the user's own group; the group is not carried over",
                    );
                }
            }
            "init_fail" => cx.report(n, "keeplite starts every script as up"),
            _ => cx.unsupported(n),
        }
    }
    if let Some((t, n)) = timeout {
        let every = interval.unwrap_or(std::time::Duration::from_secs(1));
        if t > every {
            cx.report(
                n,
                format!(
                    "{} is longer than the interval ({}), which keeplite refuses; the timeout is left at the interval",
                    duration_text(t),
                    duration_text(every)
                ),
            );
        } else {
            s.set("timeout", duration_text(t), &n.at, "timeout");
        }
    }
    cx.scripts.push(s);
}

/// Reports `reverse` after a weight (at word `i` after the keyword); `noreverse` is the default.
pub fn reverse(cx: &mut Ctx, n: &Node, i: usize) {
    match n.arg(i) {
        None | Some("noreverse" | "no_reverse") => {}
        Some("reverse") => cx.reports.add(&n.at, "reverse", "keeplite has no reversed weights"),
        Some(other) => cx.report(n, format!("'{other}' after the weight is not understood; ignored")),
    }
}

/// Whether instances or groups send alert mails: their own `smtp_alert`, else the global
/// `smtp_alert_vrrp`, else the global `smtp_alert`, else not; and only when mail can go.
pub fn vrrp_alerts(cx: &Ctx, own: Option<bool>) -> bool {
    cx.g.mail && own.or(cx.g.smtp_alert_vrrp).or(cx.g.smtp_alert).unwrap_or(false)
}

/// `vrrp_sync_group NAME { group { ... } ... }` -> a `sync_group` section.
pub fn sync_group(cx: &mut Ctx, node: &Node) {
    let Some(name) = node.arg(0) else { return };
    if node.block.is_none() {
        return;
    }
    let keeplite = cx.names.claim(name);
    let mut s = Section::new(&keeplite, "sync_group", &node.at, "vrrp_sync_group");
    let mut alerts = None;
    let mut tracked = Vec::new();
    for n in node.children() {
        let kw = n.keyword();
        match kw {
            "group" => {
                for c in n.children() {
                    for member in &c.words {
                        match cx.instances.get(member).cloned() {
                            Some(m) => s.push("members", m, &c.at, member),
                            None => cx.reports.add(&c.at, member, "no vrrp_instance has this name; keepalived ignores it too"),
                        }
                    }
                }
            }
            "notify" | "notify_master" | "notify_backup" | "notify_fault" | "notify_stop" => {
                if let Some(cmd) = cx.command_as_script_user(n) {
                    s.set(kw, cmd, &n.at, kw);
                }
            }
            "smtp_alert" => alerts = cx.flag(n),
            "track_interface" | "track_script" | "track_file" | "track_process" | "track_bfd" => tracked.push(n.clone()),
            "sync_group_tracking_weight" => {}
            w if cx.instances.contains_key(w) && n.block.is_none() => cx.report(
                n,
                "an instance name outside 'group { }' (keepalived 1's syntax): keepalived 2 ignores it, and so does the import",
            ),
            _ => cx.unsupported(n),
        }
    }
    if vrrp_alerts(cx, alerts) {
        s.set("smtp_alert", "1", &node.at, "smtp_alert");
    }
    if s.opt("members").is_none() {
        cx.report(node, "no member instance; the group is not carried over");
        return;
    }
    let members = s.opt("members").map(|o| o.values()).unwrap_or_default();
    cx.group_tracking.push(GroupTracking { at: node.at.clone(), members, blocks: tracked });
    cx.groups.push(s);
}
