//! keepalived's `bfd_instance NAME { ... }` blocks -> `check` sections of type `bfd`; an
//! instance's (or sync group's) `track_bfd { NAME [weight W [reverse]] }` -> its
//! `track_bfd` list, and a real server's `BFD_CHECK { name NAME }` -> its `check`.
//! keepalived runs BFD in a process of its own; keeplite on its VRRP thread.

use super::tracking::{tracked_checks, TrackedBlock, Weights};
use super::Ctx;
use crate::import::out::Section;
use crate::import::tree::Node;
use std::net::IpAddr;

/// A `bfd_instance` block as a bfd check, and which of keepalived's processes hear of it
/// (its `vrrp` and `checker` keywords; both without either).
#[derive(Debug, Clone)]
pub struct BfdBlock {
    pub block: TrackedBlock,
    pub vrrp: bool,
    pub checker: bool,
}

/// Converts every `bfd_instance` block once (its keywords reported once), for the
/// instances that name it; a block no instance names writes nothing.
pub fn declare(cx: &mut Ctx, nodes: &[Node]) {
    for node in nodes.iter().filter(|n| n.keyword() == "bfd_instance") {
        let Some(name) = cx.declared_name(node) else { continue };
        if cx.bfd_instances.contains_key(name) {
            cx.report(node, format!("a second bfd_instance '{name}'; ignored"));
            continue;
        }
        let made = block(cx, node);
        cx.bfd_instances.insert(name.to_owned(), made);
    }
}

/// keepalived's milliseconds (with up to 3 decimals) as a keeplite duration, which has
/// whole milliseconds: a fraction is rounded up (reported).
fn millis(cx: &mut Ctx, n: &Node, lo: f64, hi: f64) -> Option<String> {
    let text = cx.arg(n)?;
    match text.parse::<f64>() {
        Ok(ms) if (lo..=hi).contains(&ms) => {
            if ms.fract() != 0.0 {
                cx.report(
                    n,
                    format!(
                        "{text} ms: keeplite's intervals are whole milliseconds; {} ms is used",
                        ms.ceil()
                    ),
                );
            }
            Some(format!("{}ms", ms.ceil() as u64))
        }
        _ => {
            cx.report(n, format!("'{text}' is not in {lo}..{hi} ms; ignored, as keepalived does"));
            None
        }
    }
}

fn block(cx: &mut Ctx, node: &Node) -> Option<BfdBlock> {
    let mut s = Section::new("", "check", &node.at, "bfd_instance");
    s.set("type", "bfd", &node.at, "bfd_instance");
    let (mut weight, mut reverse) = (0, false);
    let mut neighbor: Option<IpAddr> = None;
    let named = |kw: &str| node.children().iter().any(|n| n.keyword() == kw);
    let mut max_hops = false;
    let (vrrp, checker) = match (named("vrrp"), named("checker")) {
        (false, false) => (true, true),
        given => given,
    };
    for n in node.children() {
        let kw = n.keyword();
        match kw {
            "neighbor_ip" | "neighbour_ip" | "source_ip" => {
                let Some(text) = cx.arg(n) else { continue };
                let Ok(ip) = text.parse::<IpAddr>() else {
                    cx.report(n, format!("'{text}' is not an address; ignored"));
                    continue;
                };
                if kw == "source_ip" {
                    s.set("bind_ip", text, &n.at, kw);
                } else {
                    neighbor = Some(ip);
                    s.set("connect_ip", text, &n.at, kw);
                }
            }
            // keepalived's ranges (bfd.h).
            "min_rx" | "min_tx" => {
                if let Some(d) = millis(cx, n, 1.0, 1000.0) {
                    s.set(kw, d, &n.at, kw);
                }
            }
            "idle_tx" => {
                if let Some(d) = millis(cx, n, 1000.0, 10000.0) {
                    s.set(kw, d, &n.at, kw);
                }
            }
            "multiplier" => {
                if let Some(v) = cx.arg(n).and_then(|v| cx.integer(n, v, 1, 10)) {
                    s.set(kw, v.to_string(), &n.at, kw);
                }
            }
            "passive" => s.set("passive", "1", &n.at, kw),
            "ttl" | "hoplimit" => {
                if let Some(v) = cx.arg(n).and_then(|v| cx.integer(n, v, 1, 255)) {
                    s.set("ttl", v.to_string(), &n.at, kw);
                }
            }
            "max_hops" => {
                max_hops = true;
                // -1: no TTL check, keeplite's 255.
                if let Some(v) = cx.arg(n).and_then(|v| cx.integer(n, v, -1, 255)) {
                    s.set("max_hops", if v < 0 { "255".to_owned() } else { v.to_string() }, &n.at, kw);
                }
            }
            "multihop" => {
                if let Some(on) = cx.flag(n) {
                    s.set("multihop", if on { "1" } else { "0" }, &n.at, kw);
                }
            }
            "weight" => {
                let Some(w) = cx.arg(n).and_then(|v| cx.integer(n, v, -253, 253)) else { continue };
                weight = w;
                s.set("weight", w.to_string(), &n.at, kw);
                reverse = n.arg(1) == Some("reverse");
                if let Some(other) = n.arg(1).filter(|a| *a != "reverse") {
                    cx.report(n, format!("'{other}' after the weight is not reverse; ignored"));
                }
                s.remove("reverse");
                if reverse {
                    s.set("reverse", "1", &n.at, kw);
                }
            }
            // Which of keepalived's processes hear of the session (both without either).
            "vrrp" | "checker" => {}
            _ => cx.unsupported(n),
        }
    }
    if neighbor.is_none() {
        cx.report(node, "no neighbor_ip; keepalived disables the instance, and so does the import");
        return None;
    }
    if neighbor.is_some_and(|n| n.is_ipv6()) && !max_hops {
        // keepalived 2.2.7 checks no hop limit on IPv6 (and sends 64, not RFC 5881's 255:
        // two of them come up with each other), so neither does the import.
        s.set("max_hops", "255", &node.at, "bfd_instance");
    }
    Some(BfdBlock { block: TrackedBlock { section: s, weight, reverse }, vrrp, checker })
}

/// `track_bfd { NAME [weight W [reverse]] }` -> `NAME` or `NAME:W`, naming the bfd check of
/// the block ([`tracked_checks`]).
pub fn tracked(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    let lookup = |cx: &mut Ctx, name: &str| {
        cx.bfd_instances.get(name).cloned().flatten().filter(|b| b.vrrp).map(|b| b.block)
    };
    let missing = "no bfd_instance keepalived's VRRP hears of (with a neighbor_ip, not `checker` without `vrrp`) has this name";
    tracked_checks(cx, s, n, weights, lookup, missing, ("track_bfd", "a session down"));
}

/// `BFD_CHECK { name NAME }` -> the bfd check of block NAME: the real server is up while
/// the session is.
pub fn checker(cx: &mut Ctx, node: &Node) -> Option<String> {
    let mut named = None;
    for n in node.children() {
        match n.keyword() {
            "name" => named = cx.arg(n).map(|v| (v.to_owned(), n)),
            _ => cx.unsupported(n),
        }
    }
    let Some((name, at)) = named else {
        cx.report(node, "no name; keepalived ignores the checker, and so does the import");
        return None;
    };
    let found = cx.bfd_instances.get(&name).cloned().flatten().filter(|b| b.checker);
    let Some(b) = found else {
        cx.report(at, format!("no bfd_instance keepalived's checker hears of (with a neighbor_ip, not `vrrp` without `checker`) is called '{name}'; keepalived ignores the checker, and so does the import"));
        return None;
    };
    Some(cx.check_section_named(b.block.section, &name))
}
