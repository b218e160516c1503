//! The untyped section model both text forms read into: sections of options with lines.

use super::diag::{At, Diagnostics};
use crate::limits;

/// One `name.option` with its values and the line that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub name: String,
    /// No values: the line was refused (and reported) by the reader.
    pub values: Vec<String>,
    pub line: u32,
    /// Set by a native `list` line (a flat line cannot say).
    pub from_list: bool,
}

/// One section: `config TYPE NAME` or `NAME=TYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub kind: String,
    pub line: u32,
    pub options: Vec<Opt>,
}

impl Section {
    /// The option called `name`, if set.
    pub fn get(&self, name: &str) -> Option<&Opt> {
        self.options.iter().find(|o| o.name == name)
    }

    /// The line of option `name`, or of the section itself when the option is not set.
    pub fn line_of(&self, name: &str) -> u32 {
        self.get(name).map_or(self.line, |o| o.line)
    }
}

/// All sections of one file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub sections: Vec<Section>,
}

/// How a new option line relates to what is already set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assign {
    /// A flat `s.o=...` line or a native `option` line: sets the option once.
    Set,
    /// A native `list` line: appends one value.
    Append,
}

impl Document {
    /// The section called `name`.
    pub fn find(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Number of sections of type `kind` declared so far (UCI's `@kind[N]` index).
    pub fn count_of(&self, kind: &str) -> usize {
        self.sections.iter().filter(|s| s.kind == kind).count()
    }

    /// Declares a section; a `None` name makes it anonymous (`@kind[N]`).
    pub fn declare(&mut self, name: Option<&str>, kind: &str, line: u32, diags: &mut Diagnostics) {
        if !is_word(kind) {
            diags.error(
                At::line(line),
                format!("'{kind}' is not a valid section type"),
                "letters, digits and _",
            );
            return;
        }
        let name = match name {
            Some(n) => n.to_owned(),
            None => format!("@{kind}[{}]", self.count_of(kind)),
        };
        if let Some(first) = self.find(&name) {
            diags.error(
                At::section(line, &name),
                "section declared twice",
                format!("one declaration; the first is on line {}", first.line),
            );
            return;
        }
        self.sections.push(Section { name, kind: kind.to_owned(), line, options: Vec::new() });
    }

    /// Records that a line setting `section.option` was refused (and reported): the option
    /// counts as present with no values, so it is not reported again as missing.
    pub fn refuse(&mut self, section: &str, option: &str, line: u32, from_list: bool) {
        if !is_word(option) {
            return;
        }
        if let Some(sec) = self.sections.iter_mut().rev().find(|s| s.name == section) {
            if sec.get(option).is_none() {
                sec.options.push(Opt { name: option.to_owned(), values: Vec::new(), line, from_list });
            }
        }
    }

    /// Sets or appends an option of the most recent section called `section`.
    pub fn assign(
        &mut self,
        section: &str,
        option: &str,
        values: Vec<String>,
        line: u32,
        how: Assign,
        diags: &mut Diagnostics,
    ) {
        if !is_word(option) {
            diags.error(
                At::section(line, section),
                format!("'{option}' is not a valid option name"),
                "letters, digits and _",
            );
            return;
        }
        // A value over the limit is reported but still stored, so the option does not
        // also look missing.
        if let Some(v) = values.iter().find(|v| v.len() > limits::VALUE_BYTES) {
            diags.error(
                At::option(line, section, option),
                format!("value is {} bytes long", v.len()),
                format!("at most {} bytes (limits::VALUE_BYTES)", limits::VALUE_BYTES),
            );
        }
        let Some(sec) = self.sections.iter_mut().rev().find(|s| s.name == section) else {
            diags.error(
                At::option(line, section, option),
                format!("section '{section}' is not declared"),
                format!("a line '{section}=TYPE' before its options"),
            );
            return;
        };
        let from_list = how == Assign::Append;
        match sec.options.iter_mut().find(|o| o.name == option) {
            Some(existing) if how == Assign::Append && existing.from_list => {
                existing.values.extend(values);
            }
            Some(existing) => diags.error(
                At::option(line, section, option),
                "option set twice",
                format!("one setting; the first is on line {}", existing.line),
            ),
            None => sec.options.push(Opt { name: option.to_owned(), values, line, from_list }),
        }
    }
}

/// True for a non-empty word of ASCII letters, digits and `_` (UCI's identifier rule).
pub fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks a section name given in the file; anonymous `@kind[N]` names are handled by callers.
pub fn check_name(name: &str, line: u32, diags: &mut Diagnostics) -> bool {
    if !is_word(name) {
        diags.error(At::line(line), format!("'{name}' is not a valid section name"), "letters, digits and _");
        false
    } else if name.len() > limits::NAME_BYTES {
        diags.error(
            At::section(line, name),
            format!("section name is {} bytes long", name.len()),
            format!("at most {} bytes (limits::NAME_BYTES)", limits::NAME_BYTES),
        );
        false
    } else if name == "keeplite" {
        diags.error(
            At::section(line, name),
            "the name 'keeplite' is reserved for the package prefix",
            "another section name",
        );
        false
    } else {
        true
    }
}
