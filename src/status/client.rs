//! The client side (`keeplite status`, `keeplite rpcd call`): one request line, one reply
//! line, within a deadline.

use super::reply;
use crate::json::{self, Json};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a call may take, retries included.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Longest reply read (a status of thousands of real servers is a few MB).
pub const MAX_REPLY: usize = 16 << 20;
/// Deepest nesting a reply may have (the status schema needs 5).
const MAX_DEPTH: usize = 32;
/// Pause before trying again when the server is full.
const RETRY: Duration = Duration::from_millis(100);

/// Why one attempt failed.
enum Failure {
    /// Closed without a reply line: the server may be full or restarting; worth a retry.
    Closed,
    Fatal(String),
}

/// Sends `{"method":...,"params":...}` to the socket at `path` and returns the reply
/// object (`ok` true or false); an error when there is no reply. A server that is full
/// (`"busy":true`) is asked again until `timeout`.
pub fn call(path: &Path, method: &str, params: Option<&Json>, timeout: Duration) -> Result<Json, String> {
    let deadline = Instant::now() + timeout;
    let mut request = vec![("method", Json::str(method))];
    if let Some(p) = params {
        request.push(("params", p.clone()));
    }
    let line = format!("{}\n", Json::object(request));
    loop {
        let retry = match once(path, line.as_bytes(), deadline) {
            Ok(reply) if !reply::is_busy(&reply) => return Ok(reply),
            Ok(reply) => Err(reply),
            Err(Failure::Closed) => Ok(()),
            Err(Failure::Fatal(e)) => return Err(e),
        };
        if deadline.saturating_duration_since(Instant::now()) <= RETRY {
            return match retry {
                Err(busy) => Ok(busy),
                Ok(()) => {
                    Err(format!("{}: the daemon closed the connection without a reply", path.display()))
                }
            };
        }
        std::thread::sleep(RETRY);
    }
}

/// Time left before `deadline`, or the error a timeout is.
fn left(path: &Path, deadline: Instant) -> Result<Duration, Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::Fatal(format!("{}: no reply in time", path.display())));
    }
    Ok(left)
}

/// The server must run as root (keeplite's user) or as the caller: a socket another user
/// put in the path is never told root's requests nor believed (`SO_PEERCRED` gives the
/// credentials the server had when it listened).
fn trusted_server(stream: &UnixStream) -> Result<(), String> {
    let server = super::peer_cred::peer_cred(stream.as_fd())
        .map_err(|e| format!("cannot read the server's credentials: {e}"))?;
    let me = rustix::process::geteuid().as_raw();
    if server.uid == 0 || server.uid == me {
        Ok(())
    } else {
        Err(format!(
            "answered by a process of uid {} (pid {}), not root's keeplite: refused",
            server.uid, server.pid
        ))
    }
}

/// Connects to the server at `path` and checks whose it is.
fn connect(path: &Path) -> Result<UnixStream, Failure> {
    let shown = path.display();
    let stream = UnixStream::connect(path).map_err(|e| {
        Failure::Fatal(match e.kind() {
            ErrorKind::NotFound => format!("{shown}: no such socket; is keeplite running?"),
            ErrorKind::ConnectionRefused => format!("{shown}: nothing listens; is keeplite running?"),
            ErrorKind::PermissionDenied => {
                format!("{shown}: permission denied (the status socket is root's)")
            }
            _ => format!("{shown}: {e}"),
        })
    })?;
    trusted_server(&stream).map_err(|why| Failure::Fatal(format!("{shown}: {why}")))?;
    Ok(stream)
}

fn once(path: &Path, line: &[u8], deadline: Instant) -> Result<Json, Failure> {
    let shown = path.display();
    let mut stream = connect(path)?;
    let io_error = |e: std::io::Error| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Failure::Fatal(format!("{shown}: no reply in time")),
        ErrorKind::BrokenPipe | ErrorKind::ConnectionReset => Failure::Closed,
        _ => Failure::Fatal(format!("{shown}: {e}")),
    };
    stream.set_write_timeout(Some(left(path, deadline)?)).map_err(io_error)?;
    stream.write_all(line).map_err(io_error)?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        stream.set_read_timeout(Some(left(path, deadline)?)).map_err(io_error)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(Failure::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(e)),
        };
        let start = reply.len();
        reply.extend_from_slice(&chunk[..n]);
        if let Some(end) = reply[start..].iter().position(|&b| b == b'\n') {
            reply.truncate(start + end);
            break;
        }
        if reply.len() > MAX_REPLY {
            return Err(Failure::Fatal(format!("{shown}: reply longer than {MAX_REPLY} bytes")));
        }
    }
    let limits = json::Limits { max_bytes: MAX_REPLY, max_depth: MAX_DEPTH };
    match json::parse(&reply, limits) {
        Ok(value @ Json::Object(_)) => Ok(value),
        Ok(_) => Err(Failure::Fatal(format!("{shown}: the reply is not a JSON object"))),
        Err(e) => Err(Failure::Fatal(format!("{shown}: the reply is not JSON: {e}"))),
    }
}

/// Subscribes to the event stream at `path` and hands `each` every event line, in order,
/// until the daemon closes the stream (it stopped: `Ok`), drops this subscriber for
/// falling behind, or `each` fails (the reader went away: `Ok`).
pub fn subscribe(path: &Path, mut each: impl FnMut(&str) -> std::io::Result<()>) -> Result<(), String> {
    let shown = path.display();
    let fatal = |f: Failure| match f {
        Failure::Fatal(e) => e,
        Failure::Closed => format!("{shown}: the daemon closed the connection without a reply"),
    };
    let mut stream = connect(path).map_err(fatal)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(|e| format!("{shown}: {e}"))?;
    stream.write_all(b"{\"method\":\"subscribe\"}\n").map_err(|e| format!("{shown}: {e}"))?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| format!("{shown}: {e}"))?;
    let mut lines = std::io::BufReader::new(stream);
    let mut line = String::new();
    let mut first = true;
    loop {
        line.clear();
        let read = std::io::BufRead::read_line(&mut (&mut lines).take(MAX_EVENT as u64), &mut line);
        match read {
            Ok(0) if first => {
                return Err(format!("{shown}: the daemon closed the connection without a reply"))
            }
            Ok(0) => return Ok(()),
            Ok(_) if !line.ends_with('\n') => {
                return Err(format!("{shown}: an event line longer than {MAX_EVENT} bytes"))
            }
            Ok(_) => {}
            Err(e) if first => return Err(format!("{shown}: no reply in time ({e})")),
            Err(e) => return Err(format!("{shown}: {e}")),
        }
        let text = line.trim_end();
        let value = json::parse(text.as_bytes(), json::Limits { max_bytes: MAX_EVENT, max_depth: MAX_DEPTH })
            .map_err(|e| format!("{shown}: not JSON: {e}"))?;
        if value.get("ok").is_some() && !reply::is_ok(&value) {
            return Err(format!("{shown}: {}", reply::error_text(&value).unwrap_or("the daemon said no")));
        }
        if first {
            first = false;
            // Events come when they happen: no deadline between them.
            lines.get_ref().set_read_timeout(None).map_err(|e| format!("{shown}: {e}"))?;
            continue;
        }
        if each(text).is_err() {
            return Ok(());
        }
    }
}

/// Longest event line read.
const MAX_EVENT: usize = 64 * 1024;
