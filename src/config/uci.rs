//! Reads the native UCI form: `config TYPE 'name'`, `option NAME 'value'`, `list NAME 'value'`.

use super::diag::{At, Diagnostics};
use super::sections::{check_name, is_word, Assign, Document};
use super::suggest;
use super::words;

/// Reads numbered meaningful lines into sections.
pub fn read(lines: &[(u32, &str)], diags: &mut Diagnostics) -> Document {
    let mut doc = Document::default();
    // `Some(None)`: inside a section whose declaration was rejected (or after options that
    // belong to no section, already reported); its options are skipped so that one bad
    // `config` line gives one error, not one per option.
    let mut current: Option<Option<String>> = None;
    for &(line, text) in lines {
        let words = match words::split(text) {
            Ok(w) => w,
            Err(e) => {
                let (what, expected) = e.describe();
                match option_of(text, &current) {
                    Some((section, name, is_list)) => {
                        diags.error(At::option(line, section, name), what, expected);
                        doc.refuse(section, name, line, is_list);
                    }
                    None => diags.error(At::line(line), what, expected),
                }
                continue;
            }
        };
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            ["package", "keeplite"] if doc.sections.is_empty() => {}
            ["package", other] => diags.error(
                At::line(line),
                format!("package '{other}' here"),
                "'package keeplite' once, before the first section",
            ),
            ["config", kind] => {
                let before = doc.sections.len();
                doc.declare(None, kind, line, diags);
                current = Some((doc.sections.len() > before).then(|| doc.sections[before].name.clone()));
            }
            ["config", kind, name] => {
                current = Some(None);
                if check_name(name, line, diags) {
                    let before = doc.sections.len();
                    doc.declare(Some(name), kind, line, diags);
                    if doc.sections.len() > before {
                        current = Some(Some((*name).to_owned()));
                    }
                }
            }
            [keyword @ ("option" | "list"), name, value] => {
                let how = if *keyword == "list" { Assign::Append } else { Assign::Set };
                match &current {
                    Some(Some(section)) => {
                        doc.assign(section, name, vec![(*value).to_owned()], line, how, diags)
                    }
                    Some(None) => {}
                    None => {
                        diags.error(
                            At::line(line),
                            format!("{keyword} '{name}' outside a valid section"),
                            "a 'config TYPE NAME' line before it",
                        );
                        // The options up to the next `config` line share this cause.
                        current = Some(None);
                    }
                }
            }
            [keyword @ ("option" | "list"), ..] => {
                let what = match words.len() {
                    1 => format!("{keyword} line has no name"),
                    2 => format!("{keyword} line has no value"),
                    n => format!("{keyword} line has {} values", n - 2),
                };
                let expected = format!("{keyword} NAME 'value'");
                match option_of(text, &current) {
                    Some((section, name, is_list)) => {
                        diags.error(At::option(line, section, name), what, expected);
                        doc.refuse(section, name, line, is_list);
                    }
                    None => diags.error(At::line(line), what, expected),
                }
            }
            ["config"] => {
                diags.error(At::line(line), "config line has no section type", "config TYPE 'name'");
                current = Some(None);
            }
            ["config", ..] => {
                diags.error(
                    At::line(line),
                    format!("config line has {} words", words.len()),
                    "config TYPE 'name'",
                );
                current = Some(None);
            }
            [other, ..] => {
                let mut what = format!("'{other}' is not a UCI keyword");
                if let Some(near) = suggest::closest(other, ["config", "option", "list", "package"]) {
                    what.push_str(&format!(" (did you mean '{near}'?)"));
                }
                diags.error(At::line(line), what, "config, option or list")
            }
            [] => {}
        }
    }
    doc
}

/// For an `option NAME ...` or `list NAME ...` line inside a valid section: the section,
/// the option name and whether it is a `list` line, so that a broken line names its option.
fn option_of<'a>(text: &'a str, current: &'a Option<Option<String>>) -> Option<(&'a str, &'a str, bool)> {
    let Some(Some(section)) = current else { return None };
    let mut tokens = text.split_whitespace();
    let is_list = match tokens.next() {
        Some("option") => false,
        Some("list") => true,
        _ => return None,
    };
    let name = tokens.next().filter(|n| is_word(n))?;
    Some((section.as_str(), name, is_list))
}
