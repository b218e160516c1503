//! Which socket a client asks: `keeplite status`, `keeplite call` and the rpcd plugin
//! (which rpcd runs with nothing but `list` or `call METHOD`), and through `keeplite
//! status` the web page's CGI. One function for all of them, so they cannot disagree.
//!
//! `-s SOCKET` when given; else `global.status_socket` of the configuration file the daemon
//! reads (`-f FILE`, else [`config::default_file`], the default of `keeplite run` too);
//! else [`super::DEFAULT_SOCKET`]. A file with errors elsewhere still gives its socket: the
//! daemon keeps running its last valid configuration when the file is broken later.

use super::client;
use crate::config::{self, Host, SocketSetting};
use crate::json::Json;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

/// The socket to ask, and how it was found (errors say so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    pub path: PathBuf,
    pub origin: Origin,
}

/// Where a client's socket path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Named with `-s`.
    Given,
    /// `global.status_socket` of `file`, on `line`; the file has `errors` elsewhere.
    File { file: String, line: u32, errors: usize },
    /// The default socket: `file` does not exist.
    NoFile { file: String },
    /// The default socket: `file` does not set one; it has `errors`.
    Unset { file: String, errors: usize },
}

impl Socket {
    /// The socket at `path`, named by the caller.
    pub fn given(path: impl Into<PathBuf>) -> Socket {
        Socket { path: path.into(), origin: Origin::Given }
    }

    /// Asks the daemon (see [`client::call`]); an error also says where the path came from.
    pub fn call(&self, method: &str, params: Option<&Json>, timeout: Duration) -> Result<Json, String> {
        client::call(&self.path, method, params, timeout).map_err(|e| self.explain(e))
    }

    /// Streams the daemon's events (see [`client::subscribe`]); an error also says where
    /// the path came from.
    pub fn subscribe(&self, each: impl FnMut(&str) -> std::io::Result<()>) -> Result<(), String> {
        client::subscribe(&self.path, each).map_err(|e| self.explain(e))
    }

    /// `error` (which names the socket) followed by where the socket came from.
    pub fn explain(&self, error: String) -> String {
        let older = |file: &str, errors: usize| match errors {
            0 => String::new(),
            n => format!(
                "; {file} has {n} error{}, so the daemon may run an older version of it \
                 (keeplite check-config -f {file})",
                if n == 1 { "" } else { "s" }
            ),
        };
        match &self.origin {
            Origin::Given => error,
            Origin::File { file, line, errors } => {
                format!("{error} (global.status_socket of {file}, line {line}{})", older(file, *errors))
            }
            Origin::NoFile { file } => {
                format!("{error} (the default socket: {file} does not exist; -f FILE or -s SOCKET to ask another)")
            }
            Origin::Unset { file, errors } => {
                format!(
                    "{error} (the default socket: {file} sets no global.status_socket{})",
                    older(file, *errors)
                )
            }
        }
    }
}

/// The socket a client asks: `socket` (`-s`), else that of `file` (`-f`, else the default
/// configuration file), else the default.
pub fn find(socket: Option<&str>, file: Option<&str>, host: &Host) -> Result<Socket, String> {
    if let Some(s) = socket {
        return Ok(Socket::given(s));
    }
    let file = file.unwrap_or_else(|| config::default_file());
    match config::read_file(file) {
        Ok(bytes) => from_contents(file, Some(&bytes), host),
        Err(e) if e.kind() == ErrorKind::NotFound => from_contents(file, None, host),
        Err(e) => Err(format!("{e}; cannot tell the status socket (-s SOCKET names it)")),
    }
}

/// The socket `file` gives, from its contents (`None`: the file does not exist).
pub fn from_contents(file: &str, contents: Option<&[u8]>, host: &Host) -> Result<Socket, String> {
    let Some(bytes) = contents else {
        return Ok(Socket {
            path: PathBuf::from(super::DEFAULT_SOCKET),
            origin: Origin::NoFile { file: file.into() },
        });
    };
    let found = config::status_socket(bytes, host);
    match found.setting {
        Ok(SocketSetting::Set { path, line }) => Ok(Socket {
            path: PathBuf::from(path),
            origin: Origin::File { file: file.into(), line, errors: found.errors },
        }),
        Ok(SocketSetting::Unset) => Ok(Socket {
            path: PathBuf::from(super::DEFAULT_SOCKET),
            origin: Origin::Unset { file: file.into(), errors: found.errors },
        }),
        Err(problem) => {
            Err(format!("{}; cannot tell the status socket (-s SOCKET names it)", problem.render(file)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Host {
        Host { hostname: "edge-a".to_owned() }
    }

    fn socket(contents: Option<&str>) -> Result<Socket, String> {
        from_contents("/etc/config/keeplite", contents.map(str::as_bytes), &host())
    }

    #[test]
    fn the_files_option_else_the_default() {
        let s = socket(Some("config global\n\toption status_socket '/tmp/k/s.sock'\n")).expect("socket");
        assert_eq!(s.path, PathBuf::from("/tmp/k/s.sock"));
        assert_eq!(s.origin, Origin::File { file: "/etc/config/keeplite".into(), line: 2, errors: 0 });
        let s = socket(Some("config global\n\toption log_level 'info'\n")).expect("socket");
        assert_eq!(s.path, PathBuf::from(crate::status::DEFAULT_SOCKET));
        assert!(matches!(s.origin, Origin::Unset { errors: 0, .. }));
        let s = socket(None).expect("socket");
        assert_eq!(s.path, PathBuf::from(crate::status::DEFAULT_SOCKET));
        assert_eq!(s.origin, Origin::NoFile { file: "/etc/config/keeplite".into() });
    }

    #[test]
    fn a_broken_line_elsewhere_still_gives_the_socket() {
        let text =
            "config global\n\toption status_socket '/tmp/k/s.sock'\nconfig vrrp 'gw'\n\toption vrid '0'\n";
        let s = socket(Some(text)).expect("socket");
        assert_eq!(s.path, PathBuf::from("/tmp/k/s.sock"));
        assert!(matches!(s.origin, Origin::File { line: 2, errors, .. } if errors > 0));
    }

    #[test]
    fn a_relative_or_unreadable_option_is_an_error_naming_file_and_line() {
        let e =
            socket(Some("config global 'g'\n\toption status_socket 'run/s.sock'\n")).expect_err("relative");
        assert_eq!(
            e,
            "/etc/config/keeplite:2: g.status_socket: 'run/s.sock' is not an absolute path \
             (expected a path starting with /); cannot tell the status socket (-s SOCKET names it)"
        );
        let e = socket(Some("g=global\ng.status_socket='/run/s.sock\n")).expect_err("unreadable");
        assert!(e.starts_with("/etc/config/keeplite:2: g.status_socket: unterminated single quote"), "{e}");
    }

    #[test]
    fn errors_say_which_file_and_socket_were_tried() {
        let no_socket = "/x/s.sock: no such socket; is keeplite running?".to_owned();
        let s = socket(None).expect("socket");
        assert_eq!(
            s.explain(no_socket.clone()),
            "/x/s.sock: no such socket; is keeplite running? (the default socket: /etc/config/keeplite \
             does not exist; -f FILE or -s SOCKET to ask another)"
        );
        let s = socket(Some("g=global\ng.status_socket=/x/s.sock\ng.bogus=1\n")).expect("socket");
        assert_eq!(
            s.explain(no_socket.clone()),
            "/x/s.sock: no such socket; is keeplite running? (global.status_socket of /etc/config/keeplite, \
             line 2; /etc/config/keeplite has 1 error, so the daemon may run an older version of it \
             (keeplite check-config -f /etc/config/keeplite))"
        );
        let s = socket(Some("g=global\n")).expect("socket");
        assert!(s
            .explain(no_socket.clone())
            .ends_with("(the default socket: /etc/config/keeplite sets no global.status_socket)"));
        assert_eq!(Socket::given("/x/s.sock").explain(no_socket.clone()), no_socket);
    }

    #[test]
    fn find_takes_s_first_and_reads_f() {
        let s = find(Some("/given.sock"), Some("/nonexistent/keeplite.conf"), &host()).expect("given");
        assert_eq!(s, Socket::given("/given.sock"));
        let s = find(None, Some("/nonexistent/keeplite.conf"), &host()).expect("missing file");
        assert_eq!(s.origin, Origin::NoFile { file: "/nonexistent/keeplite.conf".into() });
        let dir = std::env::temp_dir().join(format!("keeplite-locate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("k.conf");
        std::fs::write(&file, "main=global\nmain.status_socket='/tmp/k.sock'\n").expect("write");
        let s = find(None, file.to_str(), &host()).expect("socket");
        assert_eq!(s.path, PathBuf::from("/tmp/k.sock"));
        // A directory is not a missing file: it is an error, not the default.
        let e = find(None, dir.to_str(), &host()).expect_err("a directory");
        assert!(e.contains("cannot tell the status socket"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
