//! keepalived's `vrrp_track_process NAME { ... }` blocks -> `check` sections of type
//! `process`, and an instance's `track_process { NAME [weight W [reverse]] }` -> its
//! `track_process` list. keepalived hears of every fork and exit from the kernel; keeplite
//! reads `/proc` every second (the check's `interval`), which the docs say.

use super::tracking::{tracked_checks, TrackedBlock, Weights};
use super::{duration_text, Ctx};
use crate::import::out::Section;
use crate::import::tree::Node;

/// The kernel keeps 15 bytes of a process name: keepalived compares a longer `process`
/// with it and never finds the process.
const COMM_BYTES: usize = 15;

/// Converts every `vrrp_track_process` block once (its keywords reported once), for the
/// instances that name it; a block no instance names writes nothing.
pub fn declare(cx: &mut Ctx, nodes: &[Node]) {
    for node in nodes.iter().filter(|n| n.keyword() == "vrrp_track_process") {
        let Some(name) = cx.declared_name(node) else { continue };
        if cx.track_processes.contains_key(name) {
            cx.report(node, format!("a second vrrp_track_process '{name}'; ignored"));
            continue;
        }
        let made = block(cx, node);
        cx.track_processes.insert(name.to_owned(), made);
    }
}

fn block(cx: &mut Ctx, node: &Node) -> Option<TrackedBlock> {
    let mut s = Section::new("", "check", &node.at, "vrrp_track_process");
    s.set("type", "process", &node.at, "vrrp_track_process");
    let (mut weight, mut reverse) = (0, false);
    let mut process = None;
    let full_command = node.children().iter().any(|n| n.keyword() == "full_command");
    for n in node.children() {
        let kw = n.keyword();
        match kw {
            "process" => {
                let Some(name) = cx.arg(n) else { continue };
                if !full_command && name.len() > COMM_BYTES {
                    cx.report(n, format!("'{name}' is longer than the {COMM_BYTES} bytes the kernel keeps of a process name: keepalived never finds such a process; the block is not carried over (full_command compares the command's first word)"));
                    return None;
                }
                process = Some(n);
                s.set("process", name, &n.at, kw);
                s.remove("args");
                for a in &n.args()[1..] {
                    s.push("args", a.as_str(), &n.at, kw);
                }
            }
            "param_match" => match n.arg(0) {
                Some(m @ ("initial" | "partial")) => s.set("param_match", m, &n.at, kw),
                None => s.set("param_match", "exact", &n.at, kw),
                Some(other) => cx.report(n, format!("'{other}' is not initial or partial; ignored")),
            },
            "weight" => {
                let Some(w) = cx.arg(n).and_then(|v| cx.integer(n, v, -254, 254)) else { continue };
                weight = w;
                s.set("weight", w.to_string(), &n.at, kw);
                match n.arg(1) {
                    None | Some("noreverse") => reverse = false,
                    Some("reverse") => reverse = true,
                    Some(other) => cx.report(
                        n,
                        format!("'{other}' after the weight is not reverse or noreverse; ignored"),
                    ),
                }
                s.remove("reverse");
                if reverse {
                    s.set("reverse", "1", &n.at, kw);
                }
            }
            "quorum" | "quorum_max" => {
                if let Some(v) = cx.arg(n).and_then(|v| cx.integer(n, v, 0, 65535)) {
                    s.set(kw, v.to_string(), &n.at, kw);
                }
            }
            "fork_delay" | "terminate_delay" | "delay" => {
                let Some(d) = cx.arg(n).and_then(|v| cx.seconds(n, v)) else { continue };
                // `delay` sets both.
                for name in
                    ["fork_delay", "terminate_delay"].into_iter().filter(|&o| kw == "delay" || o == kw)
                {
                    s.set(name, duration_text(d), &n.at, kw);
                }
            }
            "full_command" => s.set("full_command", "1", &n.at, kw),
            _ => cx.unsupported(n),
        }
    }
    if process.is_none() {
        cx.report(node, "no process; keepalived ignores the block, and so does the import");
        return None;
    }
    Some(TrackedBlock { section: s, weight, reverse })
}

/// `track_process { NAME [weight W [reverse|noreverse]] }` -> `NAME` or `NAME:W`, naming
/// the process check of the block ([`tracked_checks`]).
pub fn tracked(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    let lookup = |cx: &mut Ctx, name: &str| cx.track_processes.get(name).cloned().flatten();
    let missing = "no vrrp_track_process with a process has this name";
    tracked_checks(cx, s, n, weights, lookup, missing, ("track_process", "a lost quorum"));
}
