//! Reads the flat form, the text `uci show keeplite` prints.
//!
//! `keeplite.gw=vrrp` declares a section, `keeplite.gw.vrid='51'` sets an option, a list is
//! several quoted words on one line. The `keeplite.` prefix is optional.

use super::diag::{At, Diagnostics};
use super::sections::{check_name, is_word, Assign, Document};
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
        // `gw.vrid '51'`: name the option when the line starts with a key, and keep the
        // option from being reported again as missing.
        let first = text.split_whitespace().next().unwrap_or(text);
        if let [section, option] = key_parts(first).as_slice() {
            if is_word(option) && !rejected.iter().any(|r| r == section) && doc.find(section).is_some() {
                diags.error(At::option(line, section, option), "line has no '='", "section.option='value'");
                doc.refuse(section, option, line, false);
                return;
            }
        }
        diags.error(At::line(line), "line has no '='", "section=type or section.option='value'");
        return;
    };
    let prefixed = key.trim().strip_prefix(PREFIX).is_some_and(|k| k.starts_with('.'));
    let parts = key_parts(key);
    let values = match words::split(rest) {
        Ok(v) => v,
        Err(e) => {
            let (what, expected) = e.describe();
            match parts.as_slice() {
                [section, option]
                    if is_word(option)
                        && doc.find(section).is_some()
                        && !rejected.iter().any(|r| r == section) =>
                {
                    diags.error(At::option(line, section, option), what, expected);
                    doc.refuse(section, option, line, false);
                }
                [section] if is_word(section) => {
                    diags.error(At::section(line, section), what, expected);
                    rejected.push((*section).to_owned());
                }
                _ => diags.error(At::line(line), what, expected),
            }
            return;
        }
    };
    match parts.as_slice() {
        [section] => {
            let errors = diags.error_count();
            declare(doc, section, values, line, diags);
            if diags.error_count() > errors {
                rejected.push((*section).to_owned());
            } else {
                // Declared now: options that follow are read, even if some came too early.
                rejected.retain(|r| r != section);
            }
        }
        [section, _] if rejected.iter().any(|r| r == section) => {}
        [section, option] if doc.find(section).is_none() => {
            // Reported once: the other options of the section have the same cause.
            diags.error(
                At::option(line, section, option),
                format!("section '{section}' is not declared"),
                format!("a line '{section}=TYPE' before its options"),
            );
            rejected.push((*section).to_owned());
        }
        [section, option] => {
            if values.is_empty() {
                diags.error(At::option(line, section, option), "no value", "'value' after '='");
                doc.refuse(section, option, line, false);
            } else {
                doc.assign(section, option, values, line, Assign::Set, diags);
            }
        }
        [package, _, _] if !prefixed => diags.error(
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

/// The dot-separated parts of a key, without the optional `keeplite.` prefix.
fn key_parts(key: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = key.trim().split('.').collect();
    if parts.len() > 1 && parts[0] == PREFIX {
        parts.remove(0);
    }
    parts
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
