//! keepalived's `vrrp_track_process NAME { ... }` blocks -> `check` sections of type
//! `process`, and an instance's `track_process { NAME [weight W [reverse]] }` -> its
//! `track_process` list. keepalived hears of every fork and exit from the kernel; keeplite
//! reads `/proc` every second (the check's `interval`), which the docs say.

use super::tracking::{tracked_blocks, Weights};
use super::{duration_text, Ctx};
use crate::config::value;
use crate::import::out::Section;
use crate::import::tree::Node;

/// The kernel keeps 15 bytes of a process name: keepalived compares a longer `process`
/// with it and never finds the process.
const COMM_BYTES: usize = 15;

/// A `vrrp_track_process` block as keeplite's process check, with the weight and reverse
/// the instances naming it start from.
#[derive(Debug, Clone)]
pub struct TrackedProcess {
    pub section: Section,
    pub weight: i64,
    pub reverse: bool,
}

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

fn block(cx: &mut Ctx, node: &Node) -> Option<TrackedProcess> {
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
    Some(TrackedProcess { section: s, weight, reverse })
}

/// `track_process { NAME [weight W [reverse|noreverse]] }` -> `NAME` or `NAME:W`, naming
/// the process check of the block. keeplite takes `reverse` from the check, so an entry
/// reversing it gets a check of its own. An address owner's weights (and a sync group's
/// with an owner among its members) are 0, as keeplite takes them; a sync group member
/// keeps its own, as keepalived's code does (its manual asks for 0).
pub fn tracked(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    let lookup = |cx: &mut Ctx, name: &str| cx.track_processes.get(name).cloned().flatten();
    let missing = "no vrrp_track_process with a process has this name";
    for (t, tp) in tracked_blocks(cx, n, lookup, missing) {
        let kname = t.keyword();
        let (weight, reverse) = match (t.arg(0), t.arg(1).map(|w| value::int(w, -254, 254))) {
            (None, _) => (tp.weight, tp.reverse),
            (Some("weight"), Some(Ok(w))) => match t.arg(2) {
                None | Some("noreverse") => (w, false),
                Some("reverse") => (w, true),
                Some(other) => {
                    cx.reports.add(
                        &t.at,
                        kname,
                        format!("'{other}' is not reverse or noreverse; not tracked"),
                    );
                    continue;
                }
            },
            _ => {
                cx.reports.add(&t.at, kname, "not 'weight W' with W in -254..254; not tracked");
                continue;
            }
        };
        let zeroed = matches!(weights, Weights::Owner | Weights::Zero | Weights::Member { owner: true });
        let weight = if zeroed && weight != 0 {
            cx.reports.add(
                &t.at,
                kname,
                format!(
                    "keeplite takes weight 0 only in {} (keepalived's manual asks it too); tracked with weight 0, so a lost quorum is FAULT",
                    weights.whose()
                ),
            );
            0
        } else {
            weight
        };
        let mut section = tp.section;
        let wanted = if reverse == tp.reverse {
            kname.to_owned()
        } else {
            section.remove("reverse");
            if reverse {
                section.set("reverse", "1", &t.at, "reverse");
            }
            format!("{kname}_{}", if reverse { "reverse" } else { "noreverse" })
        };
        let name = cx.check_section_named(section, &wanted);
        let text = if weight == tp.weight {
            name
        } else {
            if weight.abs() > 253 {
                cx.reports.add(&t.at, kname, "keeplite takes weights in -253..253 here; the nearest is used");
            }
            format!("{name}:{}", weight.clamp(-253, 253))
        };
        s.push("track_process", text, &t.at, "track_process");
    }
}
