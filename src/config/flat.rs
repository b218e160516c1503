//! Reads the flat form, the text `uci show keeplite` prints.
//!
//! `keeplite.gw=vrrp` declares a section, `keeplite.gw.vrid='51'` sets an option, a list is
//! several quoted words on one line. The `keeplite.` prefix is optional.

use super::diag::{At, Diagnostics};
use super::sections::{check_name, Assign, Document};
use super::words;

const PREFIX: &str = "keeplite";

/// Reads numbered meaningful lines into sections.
pub fn read(lines: &[(u32, &str)], diags: &mut Diagnostics) -> Document {
    let mut doc = Document::default();
    // Sections whose declaration was rejected: their options are skipped, so one bad
    // declaration gives one error rather than one per option.
    let mut rejected = Vec::new();
    for &(line, text) in lines {
        read_line(&mut doc, &mut rejected, line, text, diags);
    }
    doc
}

fn read_line(doc: &mut Document, rejected: &mut Vec<String>, line: u32, text: &str, diags: &mut Diagnostics) {
    let Some((key, rest)) = text.split_once('=') else {
        diags.error(At::line(line), "line has no '='", "section=type or section.option='value'");
        return;
    };
    let values = match words::split(rest) {
        Ok(v) => v,
        Err(e) => {
            let (what, expected) = e.describe();
            diags.error(At::line(line), what, expected);
            return;
        }
    };
    let mut parts: Vec<&str> = key.trim().split('.').collect();
    if parts.len() > 1 && parts[0] == PREFIX {
        parts.remove(0);
    }
    match parts.as_slice() {
        [section] => {
            let errors = diags.error_count();
            declare(doc, section, values, line, diags);
            if diags.error_count() > errors {
                rejected.push((*section).to_owned());
            }
        }
        [section, _] if rejected.iter().any(|r| r == section) => {}
        [section, option] => {
            if values.is_empty() {
                diags.error(At::option(line, section, option), "no value", "'value' after '='");
            } else {
                doc.assign(section, option, values, line, Assign::Set, diags);
            }
        }
        [package, _, _] => diags.error(
            At::line(line),
            format!("'{package}' is not keeplite's package"),
            "keeplite.section.option='value'",
        ),
        _ => diags.error(
            At::line(line),
            format!("'{}' is not a section or option key", key.trim()),
            "section=type or section.option='value'",
        ),
    }
}

fn declare(doc: &mut Document, section: &str, values: Vec<String>, line: u32, diags: &mut Diagnostics) {
    let [kind] = values.as_slice() else {
        diags.error(
            At::section(line, section),
            format!("section declaration has {} words after '='", values.len()),
            "one section type, e.g. gw=vrrp",
        );
        return;
    };
    if let Some(anon) = section.strip_prefix('@') {
        declare_anonymous(doc, section, anon, kind, line, diags);
    } else if check_name(section, line, diags) {
        doc.declare(Some(section), kind, line, diags);
    }
}

/// `@vrrp[0]=vrrp`: UCI's name for the first section of type vrrp.
fn declare_anonymous(
    doc: &mut Document,
    section: &str,
    anon: &str,
    kind: &str,
    line: u32,
    diags: &mut Diagnostics,
) {
    let next = doc.count_of(kind);
    let parsed = anon
        .strip_suffix(']')
        .and_then(|s| s.split_once('['))
        .and_then(|(t, i)| Some((t, i.parse::<usize>().ok()?)));
    match parsed {
        Some((t, i)) if t == kind && i == next => doc.declare(None, kind, line, diags),
        _ => diags.error(
            At::section(line, section),
            format!("anonymous section name does not follow the {kind} sections before it"),
            format!("@{kind}[{next}]"),
        ),
    }
}
