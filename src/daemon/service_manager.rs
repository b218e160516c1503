//! systemd's notification protocol (sd_notify), spoken only when `NOTIFY_SOCKET` is set:
//! `READY=1` once running, `STOPPING=1` when stopping, and `WATCHDOG=1` from the event
//! loop at half of `WATCHDOG_USEC`, so a loop that hangs is restarted. No libsystemd: one
//! datagram per message.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

/// The service manager's socket, and the watchdog's period when it asked for one.
#[derive(Debug)]
pub struct ServiceManager {
    socket: UnixDatagram,
    to: SocketAddr,
    watchdog: Option<Duration>,
    next_ping: Option<Instant>,
}

impl ServiceManager {
    /// From the environment: `None` when there is no service manager to tell; an error
    /// when `NOTIFY_SOCKET` is set but unusable.
    pub fn from_env(now: Instant) -> Option<Result<ServiceManager, String>> {
        let path = std::env::var_os("NOTIFY_SOCKET")?;
        let path = path.to_string_lossy().into_owned();
        let watchdog = watchdog(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        );
        Some(open(&path).map(|(socket, to)| ServiceManager {
            socket,
            to,
            watchdog,
            next_ping: watchdog.map(|w| now + w),
        }))
    }

    /// Sends one message (`KEY=VALUE` lines); a failure is logged, never fatal.
    pub fn send(&self, message: &str) {
        if let Err(e) = self.socket.send_to_addr(message.as_bytes(), &self.to) {
            crate::log::error!("NOTIFY_SOCKET: cannot send {message:?}: {e}");
        }
    }

    /// When the watchdog wants its next ping.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_ping
    }

    /// Pings the watchdog when due.
    pub fn tick(&mut self, now: Instant) {
        if let (Some(at), Some(every)) = (self.next_ping, self.watchdog) {
            if at <= now {
                self.send("WATCHDOG=1");
                self.next_ping = Some(now + every);
            }
        }
    }
}

/// Half the watchdog interval (systemd's advice), when the watchdog is meant for `pid`.
fn watchdog(usec: Option<&str>, for_pid: Option<&str>, pid: u32) -> Option<Duration> {
    if for_pid.is_some_and(|p| p.trim().parse::<u32>().ok() != Some(pid)) {
        return None;
    }
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

/// A path, or `@name` for the abstract namespace.
fn open(path: &str) -> Result<(UnixDatagram, SocketAddr), String> {
    let to = match path.strip_prefix('@') {
        Some(name) => SocketAddr::from_abstract_name(name.as_bytes()),
        None if path.starts_with('/') => SocketAddr::from_pathname(path),
        None => return Err(format!("NOTIFY_SOCKET={path:?}: neither a path nor @name")),
    }
    .map_err(|e| format!("NOTIFY_SOCKET={path:?}: {e}"))?;
    let socket = UnixDatagram::unbound().map_err(|e| format!("NOTIFY_SOCKET: {e}"))?;
    Ok((socket, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_pings_at_half_its_interval_and_only_for_this_process() {
        assert_eq!(watchdog(Some("2000000"), None, 7), Some(Duration::from_secs(1)));
        assert_eq!(watchdog(Some("2000000"), Some("7"), 7), Some(Duration::from_secs(1)));
        assert_eq!(watchdog(Some("2000000"), Some("8"), 7), None);
        assert_eq!(watchdog(Some("0"), None, 7), None);
        assert_eq!(watchdog(Some("soon"), None, 7), None);
        assert_eq!(watchdog(None, None, 7), None);
    }

    #[test]
    fn messages_reach_a_path_socket_and_the_watchdog_is_pinged_when_due() {
        let dir = std::env::temp_dir().join(format!("keeplite-sd-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let listener = UnixDatagram::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let (socket, to) = open(path.to_str().unwrap()).unwrap();
        let t0 = Instant::now();
        let every = Duration::from_millis(500);
        let mut sm = ServiceManager { socket, to, watchdog: Some(every), next_ping: Some(t0 + every) };
        sm.send("READY=1");
        sm.tick(t0);
        sm.tick(t0 + every);
        assert_eq!(sm.next_deadline(), Some(t0 + 2 * every));
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while let Ok(n) = listener.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        assert_eq!(got, ["READY=1", "WATCHDOG=1"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_relative_path_is_refused() {
        assert!(open("notify").unwrap_err().contains("neither a path nor @name"));
        assert!(open("@keeplite-test").is_ok());
    }
}
