//! Reads the native UCI form: `config TYPE 'name'`, `option NAME 'value'`, `list NAME 'value'`.

use super::diag::{At, Diagnostics};
use super::sections::{check_name, Assign, Document};
use super::words;

/// Reads numbered meaningful lines into sections.
pub fn read(lines: &[(u32, &str)], diags: &mut Diagnostics) -> Document {
    let mut doc = Document::default();
    // `Some(None)`: inside a section whose declaration was rejected; its options are skipped
    // so that one bad `config` line gives one error, not one per option.
    let mut current: Option<Option<String>> = None;
    for &(line, text) in lines {
        let words = match words::split(text) {
            Ok(w) => w,
            Err(e) => {
                let (what, expected) = e.describe();
                diags.error(At::line(line), what, expected);
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
                    None => diags.error(
                        At::line(line),
                        format!("{keyword} '{name}' outside a valid section"),
                        "a 'config TYPE NAME' line before it",
                    ),
                }
            }
            [keyword @ ("option" | "list"), ..] => diags.error(
                At::line(line),
                format!("{keyword} line has {} words", words.len()),
                format!("{keyword} NAME 'value'"),
            ),
            ["config", ..] => diags.error(
                At::line(line),
                format!("config line has {} words", words.len()),
                "config TYPE 'name'",
            ),
            [other, ..] => diags.error(
                At::line(line),
                format!("'{other}' is not a UCI keyword"),
                "config, option or list",
            ),
            [] => {}
        }
    }
    doc
}
