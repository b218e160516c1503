//! Configuration: two text forms (flat `uci show` and native UCI) read into one section
//! model, built into one typed, validated [`Config`], and printed back.

mod build;
pub mod diag;
mod flat;
pub mod model;
pub mod print;
pub mod schema;
pub mod sections;
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
    let lines = text::lines(bytes, &mut diags);
    let form = text::detect(&lines);
    let doc = match form {
        Form::Flat => flat::read(&lines, &mut diags),
        Form::Uci => uci::read(&lines, &mut diags),
    };
    let built = build::build(&doc, host, &mut diags);
    validate::validate(&built, &mut diags);
    let config = if diags.has_errors() { None } else { built.finish() };
    let (problems, unreported) = first_problems(diags.sorted());
    Outcome { config, form, problems, unreported }
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

/// Reads a configuration file; an I/O failure is reported as text for the operator.
pub fn load(path: &str, host: &Host) -> Result<Outcome, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{path}: cannot open: {e}"))?;
    let mut bytes = Vec::new();
    // One byte past the limit is enough to tell the parser the file is too large.
    file.take(limits::CONFIG_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{path}: cannot read: {e}"))?;
    Ok(parse(&bytes, host))
}
