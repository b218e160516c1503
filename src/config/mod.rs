//! Configuration: two text forms (flat `uci show` and native UCI) read into one section
//! model, built into one typed, validated [`Config`], and printed back.

mod build;
pub mod diag;
mod flat;
pub mod model;
pub mod print;
pub mod schema;
pub mod sections;
mod socket;
mod suggest;
#[cfg(test)]
mod tests;
mod text;
mod uci;
mod validate;
pub mod value;
pub mod words;

pub use build::Host;
pub use diag::{Diagnostic, Severity};
pub use model::Config;
pub use socket::{status_socket, SocketLookup, SocketSetting};
pub use text::Form;

use crate::limits;
use std::io::Read;

/// The result of reading a configuration: the model, or every error; warnings either way.
#[derive(Debug)]
pub struct Outcome {
    pub config: Option<Config>,
    pub form: Form,
    /// Errors and warnings, sorted by line; only the first `limits::REPORTED_PROBLEMS`.
    pub problems: Vec<Diagnostic>,
    /// Problems found beyond those reported.
    pub unreported: usize,
}

impl Outcome {
    /// True when the file loaded.
    pub fn is_ok(&self) -> bool {
        self.config.is_some()
    }
}

/// Reads configuration text in either form. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8], host: &Host) -> Outcome {
    let mut diags = diag::Diagnostics::default();
    let (form, doc) = read_document(bytes, &mut diags);
    let built = build::build(&doc, host, &mut diags);
    validate::validate(&built, &mut diags);
    let config = if diags.has_errors() { None } else { built.finish() };
    let (problems, unreported) = first_problems(diags.sorted());
    Outcome { config, form, problems, unreported }
}

/// The sections of configuration text in either form, before any typed reading.
fn read_document(bytes: &[u8], diags: &mut diag::Diagnostics) -> (Form, sections::Document) {
    let lines = text::lines(bytes, diags);
    let form = text::detect(&lines);
    let doc = match form {
        Form::Flat => flat::read(&lines, diags),
        Form::Uci => uci::read(&lines, diags),
    };
    (form, doc)
}

/// The first `limits::REPORTED_PROBLEMS` problems in line order, errors before warnings
/// when there are too many to show; and how many were left out.
fn first_problems(all: Vec<Diagnostic>) -> (Vec<Diagnostic>, usize) {
    let total = all.len();
    let (mut shown, warnings): (Vec<_>, Vec<_>) =
        all.into_iter().partition(|d| d.severity == Severity::Error);
    shown.truncate(limits::REPORTED_PROBLEMS);
    let room = limits::REPORTED_PROBLEMS - shown.len();
    shown.extend(warnings.into_iter().take(room));
    shown.sort_by_key(|d| d.line);
    let unreported = total - shown.len();
    (shown, unreported)
}

/// Configuration files in order of preference when none is named (`-f`): OpenWrt's UCI
/// file, which its init script passes, then the plain one of other systems.
pub const DEFAULT_FILES: [&str; 2] = ["/etc/config/keeplite", "/etc/keeplite.conf"];

/// The file `keeplite run`, `check-config` and the clients read when not told: the first
/// of [`DEFAULT_FILES`] that exists, else the last.
pub fn default_file() -> &'static str {
    first_existing(&DEFAULT_FILES, |p| std::path::Path::new(p).exists())
}

/// The first of `candidates` for which `exists` holds, else the last one (which then is
/// the file reported missing). `candidates` is never empty.
pub fn first_existing<'a>(candidates: &[&'a str], exists: impl Fn(&str) -> bool) -> &'a str {
    candidates.iter().copied().find(|p| exists(p)).or(candidates.last().copied()).unwrap_or_default()
}

/// A configuration file's bytes, read up to one byte past the size limit (enough for the
/// parser to tell the file is too large). The error keeps its kind and reads
/// `PATH: cannot open: ...` or `PATH: cannot read: ...`.
pub fn read_file(path: &str) -> std::io::Result<Vec<u8>> {
    let context = |what: &'static str| {
        move |e: std::io::Error| std::io::Error::new(e.kind(), format!("{path}: {what}: {e}"))
    };
    let file = std::fs::File::open(path).map_err(context("cannot open"))?;
    let mut bytes = Vec::new();
    file.take(limits::CONFIG_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(context("cannot read"))?;
    Ok(bytes)
}

/// Reads a configuration file; an I/O failure is reported as text for the operator.
pub fn load(path: &str, host: &Host) -> Result<Outcome, String> {
    let bytes = read_file(path).map_err(|e| e.to_string())?;
    Ok(parse(&bytes, host))
}

#[cfg(test)]
mod default_file_tests {
    use super::{first_existing, DEFAULT_FILES};

    #[test]
    fn openwrts_file_first_then_the_plain_one() {
        let only = |present: &'static [&'static str]| move |p: &str| present.contains(&p);
        assert_eq!(first_existing(&DEFAULT_FILES, only(&["/etc/config/keeplite"])), "/etc/config/keeplite");
        let both = only(&["/etc/config/keeplite", "/etc/keeplite.conf"]);
        assert_eq!(first_existing(&DEFAULT_FILES, both), "/etc/config/keeplite");
        assert_eq!(first_existing(&DEFAULT_FILES, only(&["/etc/keeplite.conf"])), "/etc/keeplite.conf");
        // Neither: the plain file, which is then reported missing.
        assert_eq!(first_existing(&DEFAULT_FILES, only(&[])), "/etc/keeplite.conf");
    }
}
