//! Raw file text: lines with numbers, size limits, and which of the two forms it is.

use super::diag::{At, Diagnostics};
use crate::limits;

/// The two text forms of a configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `uci show` output: `keeplite.section.option='value'`.
    Flat,
    /// `/etc/config` style: `config`, `option` and `list` lines.
    Uci,
}

/// The lines of `bytes` that carry something (not blank, not a comment), numbered from 1.
///
/// Lines that are too long or not UTF-8 are reported and skipped.
pub fn lines<'a>(bytes: &'a [u8], diags: &mut Diagnostics) -> Vec<(u32, &'a str)> {
    let mut out = Vec::new();
    if bytes.len() > limits::CONFIG_FILE_BYTES {
        diags.error(
            At::line(1),
            format!("file is larger than {} bytes", limits::CONFIG_FILE_BYTES),
            format!("at most {} bytes (limits::CONFIG_FILE_BYTES)", limits::CONFIG_FILE_BYTES),
        );
        return out;
    }
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.len() > limits::CONFIG_LINE_BYTES {
            diags.error(
                At::line(number),
                format!("line is {} bytes long", raw.len()),
                format!("at most {} bytes (limits::CONFIG_LINE_BYTES)", limits::CONFIG_LINE_BYTES),
            );
            continue;
        }
        let Ok(line) = std::str::from_utf8(raw) else {
            diags.error(At::line(number), "line is not valid UTF-8", "UTF-8 text");
            continue;
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        out.push((number, trimmed));
    }
    out
}

/// A file whose first meaningful line starts with `config` (or `package`) is native UCI.
pub fn detect(lines: &[(u32, &str)]) -> Form {
    match lines.first() {
        Some((_, l)) if first_word_is(l, "config") || first_word_is(l, "package") => Form::Uci,
        _ => Form::Flat,
    }
}

fn first_word_is(line: &str, word: &str) -> bool {
    line.strip_prefix(word).is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}
