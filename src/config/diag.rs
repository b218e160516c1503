//! Problems found in a configuration file, reported all at once.

use std::fmt;

/// How bad a problem is: errors stop the file from loading, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located at a line and (where known) a section and option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub line: u32,
    pub section: Option<String>,
    pub option: Option<String>,
    pub message: String,
    pub expected: Option<String>,
}

impl Diagnostic {
    /// Renders the operator-facing line: `FILE:LINE: section.option: what (expected)`.
    pub fn render(&self, file: &str) -> String {
        format!("{file}:{}: {}", self.line, self.text())
    }

    /// The problem without its place in the file: `section.option: what (expected)`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if self.severity == Severity::Warning {
            out.push_str("warning: ");
        }
        match (&self.section, &self.option) {
            (Some(s), Some(o)) => out.push_str(&format!("{s}.{o}: ")),
            (Some(s), None) => out.push_str(&format!("{s}: ")),
            (None, Some(o)) => out.push_str(&format!("{o}: ")),
            (None, None) => {}
        }
        out.push_str(&self.message);
        if let Some(e) = &self.expected {
            out.push_str(&format!(" (expected {e})"));
        }
        out
    }
}

/// Collects problems in file order of discovery.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

/// Where a problem is: a line, and optionally a section and an option.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub line: u32,
    pub section: Option<&'a str>,
    pub option: Option<&'a str>,
}

impl<'a> At<'a> {
    /// A whole line, outside any section.
    pub fn line(line: u32) -> Self {
        At { line, section: None, option: None }
    }
    /// A section declared (or referenced) at `line`.
    pub fn section(line: u32, section: &'a str) -> Self {
        At { line, section: Some(section), option: None }
    }
    /// One option of one section.
    pub fn option(line: u32, section: &'a str, option: &'a str) -> Self {
        At { line, section: Some(section), option: Some(option) }
    }
}

impl Diagnostics {
    fn push(&mut self, severity: Severity, at: At, message: String, expected: Option<String>) {
        self.items.push(Diagnostic {
            severity,
            line: at.line,
            section: at.section.map(str::to_owned),
            option: at.option.map(str::to_owned),
            message,
            expected,
        });
    }

    /// Records an error with what was expected.
    pub fn error(&mut self, at: At, message: impl Into<String>, expected: impl Into<String>) {
        self.push(Severity::Error, at, message.into(), Some(expected.into()));
    }

    /// Records an error that needs no "expected" part.
    pub fn error_plain(&mut self, at: At, message: impl Into<String>) {
        self.push(Severity::Error, at, message.into(), None);
    }

    /// Records a warning.
    pub fn warning(&mut self, at: At, message: impl Into<String>, expected: impl Into<String>) {
        self.push(Severity::Warning, at, message.into(), Some(expected.into()));
    }

    /// True when at least one error (not warning) was recorded.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// Number of errors recorded.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.severity == Severity::Error).count()
    }

    /// All problems, sorted by line (stable, so same-line problems keep their order).
    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|d| d.line);
        self.items
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}
