//! The last word goes to keeplite's own loader: the converted configuration is read back
//! with it, and whatever it refuses (a value out of keeplite's range, a reference to a
//! section left out) is taken out and reported at the keepalived line it came from, until
//! the configuration loads. So an import always prints a file `check-config` accepts. A
//! route or rule keeplite refuses a word of is left out whole, never held broader.

use super::out::Output;
use super::report::Reports;
use crate::config::{self, print, Host, Severity};
use crate::limits;

/// Most rounds of removal (each removes at least one option or section).
const ROUNDS: usize = 64;

/// Removes what keeplite refuses from `out`, reporting each removal.
pub fn verify(out: &mut Output, reports: &mut Reports) {
    capacities(out, reports);
    let host = Host { hostname: "import".to_owned() };
    for _ in 0..ROUNDS {
        let text = print::flat(&out.document());
        let outcome = config::parse(text.as_bytes(), &host);
        let errors: Vec<_> = outcome.problems.iter().filter(|p| p.severity == Severity::Error).collect();
        if errors.is_empty() {
            return;
        }
        // Line N of the flat text: sections each take a line, then a line per option.
        let mut places = Vec::new();
        for (si, s) in out.sections.iter().enumerate() {
            places.push((si, None));
            places.extend((0..s.options.len()).map(|oi| (si, Some(oi))));
        }
        let mut drop_options: Vec<(usize, usize, String)> = Vec::new();
        let mut drop_sections: Vec<(usize, String)> = Vec::new();
        for e in errors {
            let why = match &e.expected {
                Some(x) => format!("{} (expected {x})", e.message),
                None => e.message.clone(),
            };
            match places.get((e.line as usize).wrapping_sub(1)) {
                // A route or rule is one kernel entry: without one of its words it would
                // be another entry (a rule without its `to` matches all traffic).
                Some(&(si, Some(_))) if matches!(out.sections[si].kind, "route" | "rule") => {
                    drop_sections.push((si, why))
                }
                Some(&(si, Some(oi))) => drop_options.push((si, oi, why)),
                Some(&(si, None)) => drop_sections.push((si, why)),
                // A problem of the whole file: nothing to take out but everything.
                None => {
                    drop_sections.extend((0..out.sections.len()).map(|si| (si, why.clone())));
                }
            }
        }
        // A list keeplite refuses loses only the entries it refuses on their own (one bad
        // vip must not take the others, and with them the instance, along).
        let mut drop_items: Vec<(usize, usize, usize, String)> = Vec::new();
        drop_options.retain(|(si, oi, why)| {
            let refused = refused_alone(out, *si, *oi, &host);
            let keep = refused.len() < out.sections[*si].options[*oi].items.len() && !refused.is_empty();
            if keep {
                drop_items.extend(refused.into_iter().map(|k| (*si, *oi, k, why.clone())));
            }
            !keep
        });
        for (si, oi, k, why) in &drop_items {
            let (s, o) = (&out.sections[*si], &out.sections[*si].options[*oi]);
            let item = &o.items[*k];
            reports.add(
                &item.at,
                &item.keyword,
                format!("keeplite refuses {}.{} '{}': {why}; left out", s.name, o.name, item.value),
            );
        }
        for (si, oi, why) in &drop_options {
            let s = &out.sections[*si];
            if drop_sections.iter().any(|(d, _)| d == si) {
                continue;
            }
            let o = &s.options[*oi];
            let mut seen = Vec::new();
            for item in &o.items {
                if !seen.contains(&(&item.at, &item.keyword)) {
                    seen.push((&item.at, &item.keyword));
                    reports.add(
                        &item.at,
                        &item.keyword,
                        format!("keeplite refuses {}.{}: {why}; left out", s.name, o.name),
                    );
                }
            }
        }
        for (si, why) in &drop_sections {
            let s = &out.sections[*si];
            reports.add(
                &s.at,
                &s.keyword,
                format!("keeplite refuses {} {}: {why}; left out", s.kind, s.name),
            );
        }
        let mut removed = false;
        drop_items.sort_by_key(|(si, oi, k, _)| (*si, *oi, *k));
        drop_items.dedup_by_key(|(si, oi, k, _)| (*si, *oi, *k));
        for (si, oi, k, _) in drop_items.into_iter().rev() {
            out.sections[si].options[oi].items.remove(k);
            removed = true;
        }
        let mut options: Vec<(usize, usize)> = drop_options.iter().map(|(s, o, _)| (*s, *o)).collect();
        options.sort();
        options.dedup();
        for (si, oi) in options.into_iter().rev() {
            out.sections[si].options.remove(oi);
            removed = true;
        }
        let mut sections: Vec<usize> = drop_sections.iter().map(|(s, _)| *s).collect();
        sections.sort();
        sections.dedup();
        for si in sections.into_iter().rev() {
            out.sections.remove(si);
            removed = true;
        }
        if !removed {
            break;
        }
    }
    // Should keeplite still refuse it, print nothing rather than a file that does not load.
    let text = print::flat(&out.document());
    if !config::parse(text.as_bytes(), &host).is_ok() {
        for s in &out.sections {
            reports.add(
                &s.at,
                &s.keyword,
                format!("{} {}: the import could not make it load; left out", s.kind, s.name),
            );
        }
        out.sections.clear();
    }
}

/// The line of option `oi` of section `si` in the flat text of `out`.
fn option_line(out: &Output, si: usize, oi: usize) -> usize {
    let before: usize = out.sections[..si].iter().map(|s| 1 + s.options.len()).sum();
    before + 1 + oi + 1
}

/// The entries of list option `oi` of section `si` that keeplite refuses when the list
/// holds that entry alone.
fn refused_alone(out: &Output, si: usize, oi: usize, host: &Host) -> Vec<usize> {
    let items = &out.sections[si].options[oi].items;
    if items.len() < 2 {
        return Vec::new();
    }
    let line = option_line(out, si, oi);
    (0..items.len())
        .filter(|&k| {
            let mut trial = out.clone();
            let o = &mut trial.sections[si].options[oi];
            o.items = vec![o.items[k].clone()];
            let text = print::flat(&trial.document());
            let outcome = config::parse(text.as_bytes(), host);
            outcome.problems.iter().any(|p| p.severity == Severity::Error && p.line as usize == line)
        })
        .collect()
}

/// Sections beyond keeplite's capacities are left out before anything else, so that the
/// loader's reports stay few.
fn capacities(out: &mut Output, reports: &mut Reports) {
    for (kind, max, name) in limits::SECTIONS {
        let mut seen = 0;
        out.sections.retain(|s| {
            if s.kind != kind {
                return true;
            }
            seen += 1;
            if seen <= max {
                return true;
            }
            reports.add(
                &s.at,
                &s.keyword,
                format!(
                    "keeplite takes at most {max} {kind} sections (limits::{name}); {} is left out",
                    s.name
                ),
            );
            false
        });
    }
}
