//! What an instance tracks: its `track_interface`, `track_script`, `track_file` and
//! `track_process` entries as keeplite's `NAME` / `NAME:W` lists, with the weights
//! keepalived leaves them in an address owner and a sync group member; and a sync group's
//! own tracked objects, which keepalived adds to every member (sync_group_tracking_init).

use super::checker_kinds::track_file;
use super::script::reverse;
use super::Ctx;
use crate::config::value;
use crate::import::out::Section;
use crate::import::report::{Origin, Reports};
use crate::import::tree::Node;

/// What keepalived does to the weights of tracked objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// Keeps them.
    Keep,
    /// An address owner's (priority 255): weighted interfaces and scripts are not
    /// tracked, a file's weight 1 becomes 0 and another is not tracked, a process's
    /// weight becomes 0 (keeplite's rule for an owner; keepalived's manual asks it too).
    Owner,
    /// A sync group member's without `sync_group_tracking_weight`, an owner or not: as an
    /// owner's, except that an interface's weight becomes 0 and a process keeps its weight
    /// unless the member is the owner (keepalived's vrrp_complete_instance leaves
    /// processes alone; keeplite's owner takes weight 0 only).
    Member { owner: bool },
    /// A sync group's own, when a member is the address owner: every weight becomes 0.
    Zero,
}

impl Weights {
    /// For an instance's own entries: `grouped` is whether its sync group (if any) keeps
    /// tracking weights.
    pub fn of_instance(grouped: Option<bool>, owner: bool) -> Weights {
        match (grouped, owner) {
            (Some(false), owner) => Weights::Member { owner },
            (_, true) => Weights::Owner,
            _ => Weights::Keep,
        }
    }

    /// Where weights go, for the reports.
    pub(super) fn whose(self) -> &'static str {
        match self {
            Weights::Keep => "an instance",
            Weights::Owner => "an address owner (priority 255)",
            Weights::Member { .. } => "a sync group member (without sync_group_tracking_weight)",
            Weights::Zero => "a sync group with an address owner (priority 255) among its members",
        }
    }
}

/// The `weight W [reverse]` after an interface's or script's name: `Some(None)` without
/// one; `None` (reported) when malformed, and the entry is left out.
fn plain_weight(cx: &mut Ctx, t: &Node) -> Option<Option<i64>> {
    let name = t.keyword();
    let weight = match t.arg(0) {
        None => None,
        Some("weight") => match t.arg(1).map(|w| value::int(w, -253, 253)) {
            Some(Ok(w)) => Some(w),
            _ => {
                cx.reports.add(&t.at, name, "the weight is not a number in -253..253; ignored");
                return None;
            }
        },
        Some(other) => {
            cx.reports.add(&t.at, name, format!("'{other}' is not understood; ignored"));
            return None;
        }
    };
    reverse(cx, t, 2);
    Some(weight)
}

/// `track_interface { IF [weight W [reverse]] }` -> `IF` or `IF:W`.
pub fn track_interfaces(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    for t in n.children() {
        let name = t.keyword();
        let Some(weight) = plain_weight(cx, t) else { continue };
        let weight = match (weight, weights) {
            (Some(w), Weights::Owner) if w != 0 => {
                cx.reports.add(&t.at, name, format!("keepalived does not track interfaces with a weight in {}, and neither does the import", weights.whose()));
                continue;
            }
            (Some(w), Weights::Member { .. } | Weights::Zero) if w != 0 => {
                cx.reports.add(&t.at, "weight", format!("keepalived ignores the weights of tracked interfaces in {}, and so does the import: down means FAULT", weights.whose()));
                None
            }
            (w, _) => w.filter(|w| *w != 0),
        };
        let text = match weight {
            Some(w) => format!("{name}:{w}"),
            None => name.to_owned(),
        };
        s.push("track_interface", text, &t.at, "track_interface");
    }
}

/// `track_script { NAME [weight W [reverse]] }` -> `NAME` or `NAME:W`.
pub fn track_scripts(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    for t in n.children() {
        let kname = t.keyword();
        let Some(r) = cx.script_refs.get(kname).cloned() else {
            cx.reports.add(
                &t.at,
                kname,
                "no vrrp_script with a script has this name; keepalived ignores it too",
            );
            continue;
        };
        let Some(weight) = plain_weight(cx, t) else { continue };
        let weight = match weights {
            Weights::Owner | Weights::Member { .. } if weight.unwrap_or(r.weight) != 0 => {
                cx.reports.add(
                    &t.at,
                    kname,
                    format!(
                        "keepalived does not track scripts with a weight in {}, and neither does the import",
                        weights.whose()
                    ),
                );
                continue;
            }
            Weights::Zero if weight.unwrap_or(r.weight) != 0 => {
                cx.reports.add(&t.at, kname, format!("keepalived clears the weight in {}: a failing script means FAULT, and so does the import", weights.whose()));
                Some(0)
            }
            _ => weight,
        };
        let text = match weight {
            Some(w) => format!("{}:{w}", r.name),
            None => r.name.clone(),
        };
        s.push("track_script", text, &t.at, "track_script");
    }
}

/// The entries of a `track_file { }` or `track_process { }` block with the declared block
/// each names (`lookup`); a name without one (`missing` says so) and a second entry for one
/// block are reported and left out, as keepalived ignores them.
pub fn tracked_blocks<'n, T>(
    cx: &mut Ctx,
    n: &'n Node,
    mut lookup: impl FnMut(&mut Ctx, &str) -> Option<T>,
    missing: &str,
) -> Vec<(&'n Node, T)> {
    let mut found: Vec<(&'n Node, T)> = Vec::new();
    for t in n.children() {
        let kname = t.keyword();
        let Some(block) = lookup(cx, kname) else {
            cx.reports.add(&t.at, kname, format!("{missing}; keepalived ignores it too"));
            continue;
        };
        if found.iter().any(|(seen, _)| seen.keyword() == kname) {
            cx.reports.add(
                &t.at,
                kname,
                "tracked twice; keepalived ignores the second, and so does the import",
            );
            continue;
        }
        found.push((t, block));
    }
    found
}

/// `track_file { NAME [weight W [reverse|noreverse]] }` -> `NAME` or `NAME:W`, naming the
/// file check of keepalived's `track_file NAME` block. keeplite takes `reverse` from the
/// check only, so a reverse of the instance's own is a negated weight (the number times
/// -W); with weight 0 that cannot be written, and is reported. `weights` as keepalived's.
pub fn tracked_files(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    let lookup =
        |cx: &mut Ctx, name: &str| cx.track_files.contains_key(name).then(|| track_file(cx, name)).flatten();
    for (t, tf) in tracked_blocks(cx, n, lookup, "no track_file block with a file has this name") {
        let kname = t.keyword();
        let (weight, reverse) = match t.arg(0) {
            None => (tf.weight, tf.reverse),
            Some("weight") => {
                let weight = match t.arg(1).map(|w| value::int(w, -254, 254)) {
                    Some(Ok(w)) => w,
                    Some(Err(_)) => {
                        cx.reports.add(&t.at, kname, "the weight is not a number in -254..254: keepalived takes the track_file's, and so does the import");
                        tf.weight
                    }
                    None => {
                        cx.reports.add(
                            &t.at,
                            kname,
                            "weight without a value: keepalived ignores the entry, and so does the import",
                        );
                        continue;
                    }
                };
                match t.arg(2) {
                    None => (weight, tf.reverse),
                    Some("reverse") => (weight, true),
                    Some("noreverse") => (weight, false),
                    Some(other) => {
                        cx.reports.add(&t.at, kname, format!("'{other}' is not reverse or noreverse: keepalived ignores the entry, and so does the import"));
                        continue;
                    }
                }
            }
            Some(other) => {
                cx.reports.add(
                    &t.at,
                    kname,
                    format!(
                        "'{other}' is not understood: keepalived ignores the entry, and so does the import"
                    ),
                );
                continue;
            }
        };
        let weight = match (weights, weight) {
            (Weights::Keep, w) | (_, w @ 0) => w,
            (Weights::Zero, _) => {
                cx.reports.add(&t.at, kname, format!("keepalived clears the weight in {}: a non-zero number means FAULT, and so does the import", weights.whose()));
                0
            }
            (_, 1) => {
                cx.reports.add(&t.at, kname, format!("keepalived tracks files without weight in {}: its weight 1 is dropped, so a non-zero number means FAULT, and so does the import", weights.whose()));
                0
            }
            (_, w) => {
                cx.reports.add(&t.at, kname, format!("keepalived does not track files with a weight ({w}) in {}, and neither does the import", weights.whose()));
                continue;
            }
        };
        // keeplite: the number times the weight, negated when the check is reversed.
        let weight = match (weight, reverse == tf.reverse) {
            (0, false) => {
                cx.reports.add(&t.at, kname, "keeplite takes reverse from the track_file block only: with weight 0 a reverse of the instance's own cannot be carried over; not tracked");
                continue;
            }
            (w, same) => {
                if same {
                    w
                } else {
                    -w
                }
            }
        };
        let name = cx.check_section_named(tf.section, kname);
        let text = if weight == tf.weight {
            name
        } else {
            if weight.abs() > 253 {
                cx.reports.add(&t.at, kname, format!("keeplite takes weights in -253..253; {} is used, which differs from {weight} only for a number of {}: keepalived is in FAULT then, keeplite at -253", weight.signum() * 253, -weight.signum()));
            }
            format!("{name}:{}", weight.clamp(-253, 253))
        };
        s.push("track_file", text, &t.at, "track_file");
    }
}

/// One `track_*` block of an instance or a sync group, converted into `s`.
pub fn entries(cx: &mut Ctx, s: &mut Section, n: &Node, weights: Weights) {
    match n.keyword() {
        "track_interface" => track_interfaces(cx, s, n, weights),
        "track_script" => track_scripts(cx, s, n, weights),
        "track_file" => tracked_files(cx, s, n, weights),
        "track_process" => super::track_process::tracked(cx, s, n, weights),
        "track_bfd" => super::bfd::tracked(cx, s, n, weights),
        _ => cx.unsupported(n),
    }
}

/// A sync group's own `track_*` blocks, kept until every instance is converted.
pub struct GroupTracking {
    /// Where the group is declared.
    pub at: Origin,
    /// keeplite's names of its member instances.
    pub members: Vec<String>,
    pub blocks: Vec<Node>,
}

/// keepalived's sync_group_tracking_init: every member tracks what its sync group tracks,
/// with the group's weights, which are all 0 when a member is the address owner. An
/// object a member tracks itself too keeps the member's entry when that weighs 0, and
/// takes the group's otherwise.
pub fn add_group_tracking(cx: &mut Ctx) {
    for g in std::mem::take(&mut cx.group_tracking) {
        let owner =
            cx.vrrps.iter().any(|s| g.members.contains(&s.name) && s.value("priority") == Some("255"));
        let weights = if owner { Weights::Zero } else { Weights::Keep };
        let mut tracked = Section::new("", "sync_group", &g.at, "vrrp_sync_group");
        for n in &g.blocks {
            entries(cx, &mut tracked, n, weights);
        }
        let Ctx { vrrps, reports, scripts, checks, .. } = &mut *cx;
        let weight_of = |list: &str, entry: &str| entry_weight(scripts, checks, list, entry);
        for member in vrrps.iter_mut().filter(|s| g.members.contains(&s.name)) {
            merge(reports, &weight_of, member, &tracked);
        }
    }
}

/// The group's entries into a member's lists; `weight_of` is the weight an entry of a list
/// tracks with.
fn merge(
    reports: &mut Reports,
    weight_of: &dyn Fn(&str, &str) -> i64,
    member: &mut Section,
    tracked: &Section,
) {
    for opt in &tracked.options {
        for item in &opt.items {
            let (object, _) = split(&item.value);
            let own = member
                .options
                .iter_mut()
                .find(|o| o.name == opt.name)
                .and_then(|o| o.items.iter_mut().find(|i| split(&i.value).0 == object));
            let Some(own) = own else {
                member.push(&opt.name, item.value.clone(), &item.at, &item.keyword);
                continue;
            };
            if weight_of(&opt.name, &own.value) == 0 {
                reports.add(&own.at, &object, format!("tracked by instance '{}' with weight 0 and by its sync group: keepalived keeps the instance's entry, and so does the import", member.name));
            } else {
                reports.add(&own.at, &object, format!("tracked by instance '{}' and by its sync group: keepalived takes the group's weight, and so does the import", member.name));
                *own = item.clone();
            }
        }
    }
}

/// An entry's object and weight, `NAME` or `NAME:W`, as keeplite reads them
/// (`value::weighted_name`; the import writes only entries it takes).
fn split(entry: &str) -> (String, Option<i64>) {
    value::weighted_name(entry).map_or_else(|_| (entry.to_owned(), None), |(n, w)| (n, w.map(i64::from)))
}

/// The weight an entry of list `list` tracks with: its own, else the named section's
/// `weight`, else keeplite's default for the kind.
fn entry_weight(scripts: &[Section], checks: &[Section], list: &str, entry: &str) -> i64 {
    let (name, weight) = split(entry);
    if let Some(w) = weight {
        return w;
    }
    let (sections, default) = match list {
        "track_script" => (scripts, 0),
        "track_file" => (checks, 1),
        "track_process" | "track_bfd" => (checks, 0),
        _ => return 0,
    };
    sections
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.value("weight"))
        .and_then(|w| w.parse().ok())
        .unwrap_or(default)
}

/// A keepalived block instances track by name (`vrrp_track_process`, `bfd_instance`) as
/// keeplite's check, with the weight and reverse the instances naming it start from.
#[derive(Debug, Clone)]
pub struct TrackedBlock {
    pub section: Section,
    pub weight: i64,
    pub reverse: bool,
}

/// `LIST { NAME [weight W [reverse|noreverse]] }` -> `NAME` or `NAME:W` in option `list`
/// (`(list, what down is)`), naming the check of the block `lookup` finds. keeplite takes
/// `reverse` from the check, so an entry reversing it gets a check of its own. An address
/// owner's weights (and a sync group's with an owner among its members) are 0, as keeplite
/// takes them; a sync group member keeps its own, as keepalived's code does for processes
/// (its manual asks for 0).
pub fn tracked_checks(
    cx: &mut Ctx,
    s: &mut Section,
    n: &Node,
    weights: Weights,
    lookup: impl FnMut(&mut Ctx, &str) -> Option<TrackedBlock>,
    missing: &str,
    (list, down): (&str, &str),
) {
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
                    "keeplite takes weight 0 only in {} (keepalived's manual asks it too); tracked with weight 0, so {down} is FAULT",
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
        s.push(list, text, &t.at, list);
    }
}
