//! `global.status_socket` as the clients read it (`keeplite status`, `keeplite call`, the
//! rpcd plugin): from a file that may have errors elsewhere.
//!
//! A daemon keeps running its last valid configuration when the file is later broken, so
//! an error on another line must not stop a client from finding the daemon's socket. Only
//! the option itself has to read cleanly, with the daemon's own readers and rules.

use super::diag::{Diagnostic, Diagnostics, Severity};
use super::sections::Document;
use super::{build, read_document, validate, value, Form, Host};

/// What a file says about the status socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketSetting {
    /// `global.status_socket` is `path`, set on `line`.
    Set { path: String, line: u32 },
    /// The file does not set it: the daemon uses the default.
    Unset,
}

/// The setting, or the problem that makes the option unusable; and the file's error count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketLookup {
    pub setting: Result<SocketSetting, Diagnostic>,
    /// Errors in the whole file: with any, a running daemon may hold an older version of it.
    pub errors: usize,
}

/// Reads `global.status_socket` from configuration text in either form.
///
/// The first `global` section that sets the option decides (a file the daemon accepts has
/// one). The option is refused, with the daemon's words, when its line has an error (an
/// unterminated quote, a `list` line, two values, a value over the limit) or its value is
/// not an absolute path. A line that sets `status_socket` but was not read at all (inside
/// a section whose declaration was refused, or a line too long to read) is refused too,
/// rather than silently taken as "not set".
pub fn status_socket(bytes: &[u8], host: &Host) -> SocketLookup {
    let mut diags = Diagnostics::default();
    let (form, doc) = read_document(bytes, &mut diags);
    let built = build::build(&doc, host, &mut diags);
    validate::validate(&built, &mut diags);
    drop(built);
    let errors = diags.error_count();
    let problems = diags.sorted();
    let setting = match set_in_global(&doc) {
        Some((section, opt)) => checked(section, opt, &problems),
        None => match unread_setting(bytes, form, &doc) {
            Some(line) => Err(unread(line, &problems)),
            None => Ok(SocketSetting::Unset),
        },
    };
    SocketLookup { setting, errors }
}

/// The first `global` section that sets `status_socket`, and that option.
fn set_in_global(doc: &Document) -> Option<(&str, &super::sections::Opt)> {
    doc.sections
        .iter()
        .filter(|s| s.kind == "global")
        .find_map(|s| s.get(OPTION).map(|o| (s.name.as_str(), o)))
}

const OPTION: &str = "status_socket";

/// The option's value if its line has no error and the value is an absolute path.
fn checked(
    section: &str,
    opt: &super::sections::Opt,
    problems: &[Diagnostic],
) -> Result<SocketSetting, Diagnostic> {
    let on_line = problems.iter().find(|d| {
        d.severity == Severity::Error && d.line == opt.line && d.option.as_deref().is_none_or(|o| o == OPTION)
    });
    if let Some(d) = on_line {
        return Err(d.clone());
    }
    let refuse = |message: String, expected: &str| Diagnostic {
        severity: Severity::Error,
        line: opt.line,
        section: Some(section.to_owned()),
        option: Some(OPTION.to_owned()),
        message,
        expected: Some(expected.to_owned()),
    };
    match opt.values.as_slice() {
        [v] => match value::path(v) {
            Ok(path) => Ok(SocketSetting::Set { path, line: opt.line }),
            Err(bad) => Err(refuse(bad.what, &bad.expected)),
        },
        // The readers report both; kept for a document built some other way.
        [] => Err(refuse("no value".to_owned(), "one absolute path")),
        many => Err(refuse(format!("takes one value, got {}", many.len()), "one absolute path")),
    }
}

/// The first line that, as text, sets `status_socket` but is not an option the readers
/// took in: a line the daemon could not read either, so what it held is unknown.
fn unread_setting(bytes: &[u8], form: Form, doc: &Document) -> Option<u32> {
    let read = |line: u32| {
        doc.sections
            .iter()
            .any(|s| s.line == line || s.options.iter().any(|o| o.line == line && !o.values.is_empty()))
    };
    bytes.split(|&b| b == b'\n').enumerate().find_map(|(i, raw)| {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        (sets_option(&String::from_utf8_lossy(raw), form) && !read(line)).then_some(line)
    })
}

/// True when `text` is a line that sets `status_socket`: `[keeplite.]SECTION.status_socket=...`
/// in the flat form, `option status_socket ...` (or `list`) in the native form.
fn sets_option(text: &str, form: Form) -> bool {
    let text = text.trim();
    if text.starts_with('#') {
        return false;
    }
    match form {
        Form::Flat => {
            let key = text.split('=').next().unwrap_or(text);
            let key = key.split_whitespace().next().unwrap_or(key);
            key.rsplit('.').next() == Some(OPTION) && key.contains('.')
        }
        Form::Uci => {
            let mut words = text.split_whitespace();
            matches!(words.next(), Some("option" | "list"))
                && words.next().is_some_and(|w| w.trim_matches(|c| c == '\'' || c == '"') == OPTION)
        }
    }
}

/// Why `line`, which sets the option but was not read, cannot be used: the error on that
/// line, else the last one before it (the section's declaration, most likely).
fn unread(line: u32, problems: &[Diagnostic]) -> Diagnostic {
    let errors = || problems.iter().filter(|d| d.severity == Severity::Error);
    if let Some(own) = errors().find(|d| d.line == line) {
        return own.clone();
    }
    let message = match errors().rfind(|d| d.line < line) {
        Some(cause) => format!("not read, because of the error on line {}: {}", cause.line, cause.text()),
        None => "not read".to_owned(),
    };
    Diagnostic {
        severity: Severity::Error,
        line,
        section: None,
        option: Some(OPTION.to_owned()),
        message,
        expected: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host { hostname: "edge-a".to_owned() }
    }

    fn lookup(text: &str) -> SocketLookup {
        status_socket(text.as_bytes(), &host())
    }

    fn set(text: &str) -> (String, u32) {
        match lookup(text).setting {
            Ok(SocketSetting::Set { path, line }) => (path, line),
            other => panic!("expected a socket from {text:?}, got {other:?}"),
        }
    }

    fn refused(text: &str) -> String {
        match lookup(text).setting {
            Err(d) => d.render("k.conf"),
            other => panic!("expected a refusal from {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn a_valid_file_gives_what_the_daemon_uses() {
        let flat = "keeplite.main=global\nkeeplite.main.status_socket='/run/k/s.sock'\n";
        assert_eq!(set(flat), ("/run/k/s.sock".to_owned(), 2));
        assert_eq!(lookup(flat).errors, 0);
        let c = crate::config::parse(flat.as_bytes(), &host()).config.expect("valid");
        assert_eq!(c.global.status_socket, "/run/k/s.sock");
        // Without the prefix, anonymous, and in the native form.
        assert_eq!(set("g=global\ng.status_socket=/a.sock\n").0, "/a.sock");
        assert_eq!(set("@global[0]=global\n@global[0].status_socket='/b.sock'\n").0, "/b.sock");
        let uci = "config global\n\t# the socket\n\toption status_socket '/run/k/u.sock'\n\toption log_level 'info'\n";
        assert_eq!(set(uci), ("/run/k/u.sock".to_owned(), 3));
    }

    #[test]
    fn unset_empty_or_no_global_is_the_default() {
        for text in [
            "",
            "# nothing\n",
            "keeplite.main=global\nkeeplite.main.log_level='debug'\n",
            "config global 'main'\n",
        ] {
            assert_eq!(lookup(text).setting, Ok(SocketSetting::Unset), "{text:?}");
        }
        // The option in another section is not the daemon's socket (and is an error).
        let other = "config vrrp 'gw'\n\toption status_socket '/x.sock'\n";
        assert_eq!(lookup(other).setting, Ok(SocketSetting::Unset));
        assert!(lookup(other).errors > 0);
    }

    #[test]
    fn errors_elsewhere_do_not_hide_a_readable_option() {
        let uci = "config global\n\toption status_socket '/run/k/s.sock'\n\n\
                   config vrrp 'gw'\n\toption interface 'br-lan'\n\toption vrid '300'\n\toption prority '5\n\
                   config bogus\n";
        let found = lookup(uci);
        assert_eq!(found.setting, Ok(SocketSetting::Set { path: "/run/k/s.sock".into(), line: 2 }));
        assert!(found.errors >= 3, "{found:?}");
        // Before the global section too; and a flat file with a broken line.
        let flat = "gw=vrrp\ngw.vrid=0\nthis is not a line\nmain=global\nmain.status_socket='/s.sock'\nmain.bogus=1\n";
        assert_eq!(set(flat), ("/s.sock".to_owned(), 5));
        // Another option of the global section broken: the socket still reads.
        assert_eq!(set("main=global\nmain.log_level='loud'\nmain.status_socket='/s.sock'\n").0, "/s.sock");
    }

    #[test]
    fn a_second_global_section_does_not_change_the_first_ones_socket() {
        let text =
            "config global\n\toption log_level 'info'\nconfig global\n\toption status_socket '/two.sock'\n";
        assert_eq!(set(text), ("/two.sock".to_owned(), 4));
        let text = "a=global\na.status_socket=/one.sock\nb=global\nb.status_socket=/two.sock\n";
        assert_eq!(set(text).0, "/one.sock");
    }

    #[test]
    fn a_relative_or_broken_option_is_refused_with_the_daemons_words() {
        assert_eq!(
            refused("main=global\nmain.status_socket='run/s.sock'\n"),
            "k.conf:2: main.status_socket: 'run/s.sock' is not an absolute path (expected a path starting with /)"
        );
        assert_eq!(
            refused("config global 'main'\n\toption status_socket '/run/s.sock\n"),
            "k.conf:2: main.status_socket: unterminated single quote (expected a closing ')"
        );
        assert!(refused("main=global\nmain.status_socket='/a' '/b'\n").contains("takes one value, got 2"));
        assert!(refused("config global 'm'\n\tlist status_socket '/a'\n").contains("is not a list"));
        assert!(refused("main=global\nmain.status_socket\n").contains("line has no '='"));
        assert!(refused("main=global\nmain.status_socket=''\n").contains("is not an absolute path"));
        let long = format!("main=global\nmain.status_socket='/{}'\n", "x".repeat(2000));
        assert!(refused(&long).contains("bytes long"), "{}", refused(&long));
    }

    #[test]
    fn a_line_that_sets_it_but_is_not_read_is_refused() {
        // Its section's declaration is broken: the daemon did not read the option either.
        let uci = "config global 'main' extra\n\toption status_socket '/s.sock'\n";
        let why = refused(uci);
        assert!(
            why.starts_with("k.conf:2: status_socket: not read, because of the error on line 1: "),
            "{why}"
        );
        let flat = "main=global global\nmain.status_socket='/s.sock'\n";
        assert!(
            refused(flat).starts_with("k.conf:2: status_socket: not read, because of the error on line 1")
        );
        // Not UTF-8, or too long to read.
        let bytes = b"main=global\nmain.status_socket='/s\xff.sock'\n";
        let found = status_socket(bytes, &host());
        assert!(found.setting.is_err_and(|d| d.line == 2 && d.message.contains("UTF-8")));
        let long = format!("main=global\nmain.status_socket='/{}'\n", "x".repeat(5000));
        assert!(refused(&long).starts_with("k.conf:2: line is"), "{}", refused(&long));
        // Comments and values that merely mention it are not settings.
        let text = "# main.status_socket='/c.sock'\nmain=global\nmain.router_id='status_socket'\n";
        assert_eq!(lookup(text).setting, Ok(SocketSetting::Unset));
    }

    #[test]
    fn never_panics_on_any_bytes() {
        use proptest::prelude::*;
        proptest!(|(bytes in proptest::collection::vec(any::<u8>(), 0..400))| {
            let _ = status_socket(&bytes, &host());
        });
        proptest!(|(text in "(main\\.status_socket|option status_socket|config global|main=global|'|\n| |/x)*")| {
            let _ = status_socket(text.as_bytes(), &host());
        });
    }
}
