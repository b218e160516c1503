//! Logging for operators: one line per event, to stderr or to syslog (`/dev/log`).

use crate::config::model::LogLevel;
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;

/// Where log lines go.
enum Sink {
    Stderr,
    Syslog(UnixDatagram),
}

/// A logger: a level threshold and a sink.
pub struct Logger {
    level: LogLevel,
    sink: Sink,
}

/// syslog facility "daemon".
const FACILITY_DAEMON: u8 = 3;

fn severity(level: LogLevel) -> u8 {
    match level {
        LogLevel::Error => 3,
        LogLevel::Warn => 4,
        LogLevel::Info => 6,
        LogLevel::Debug => 7,
    }
}

fn label(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Error => "error",
        LogLevel::Warn => "warn",
        LogLevel::Info => "info",
        LogLevel::Debug => "debug",
    }
}

impl Logger {
    /// Logs to stderr.
    pub fn stderr(level: LogLevel) -> Logger {
        Logger { level, sink: Sink::Stderr }
    }

    /// Logs to the syslog socket at `path` (normally `/dev/log`).
    pub fn syslog(level: LogLevel, path: &str) -> std::io::Result<Logger> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(path)?;
        Ok(Logger { level, sink: Sink::Syslog(socket) })
    }

    /// Writes one line if `level` passes the threshold; a failing syslog falls back to stderr.
    pub fn write(&self, level: LogLevel, message: &str) {
        if level > self.level {
            return;
        }
        if let Sink::Syslog(socket) = &self.sink {
            let pri = FACILITY_DAEMON * 8 + severity(level);
            let line = format!("<{pri}>keeplite[{}]: {message}", std::process::id());
            if socket.send(line.as_bytes()).is_ok() {
                return;
            }
        }
        let _ = writeln!(std::io::stderr().lock(), "{}: {message}", label(level));
    }
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

/// Installs the process-wide logger.
pub fn install(logger: Logger) {
    if let Ok(mut slot) = LOGGER.lock() {
        *slot = Some(logger);
    }
}

/// Logs through the process-wide logger (stderr at info level until one is installed).
pub fn log(level: LogLevel, message: &str) {
    match LOGGER.lock() {
        Ok(slot) => match slot.as_ref() {
            Some(l) => l.write(level, message),
            None => Logger::stderr(LogLevel::Info).write(level, message),
        },
        Err(_) => Logger::stderr(LogLevel::Info).write(level, message),
    }
}

/// True when a line at `level` would be written (so a caller can skip formatting it).
pub fn enabled(level: LogLevel) -> bool {
    match LOGGER.lock() {
        Ok(slot) => slot.as_ref().map_or(level <= LogLevel::Info, |l| level <= l.level),
        Err(_) => level <= LogLevel::Info,
    }
}

/// Logs an error.
macro_rules! error {
    ($($t:tt)*) => { $crate::log::log($crate::config::model::LogLevel::Error, &format!($($t)*)) };
}
/// Logs something an operator should fix.
macro_rules! warning {
    ($($t:tt)*) => { $crate::log::log($crate::config::model::LogLevel::Warn, &format!($($t)*)) };
}
/// Logs an event.
macro_rules! info {
    ($($t:tt)*) => { $crate::log::log($crate::config::model::LogLevel::Info, &format!($($t)*)) };
}
/// Logs a detail; formatted only when the level lets it through.
macro_rules! debug {
    ($($t:tt)*) => {
        if $crate::log::enabled($crate::config::model::LogLevel::Debug) {
            $crate::log::log($crate::config::model::LogLevel::Debug, &format!($($t)*))
        }
    };
}
pub(crate) use {debug, error, info, warning};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_lines_carry_priority_and_respect_the_level() {
        let dir = std::env::temp_dir().join(format!("keeplite-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).unwrap();
        let logger = Logger::syslog(LogLevel::Info, path.to_str().unwrap()).unwrap();
        logger.write(LogLevel::Debug, "hidden");
        logger.write(LogLevel::Warn, "vrrp gw: BACKUP -> MASTER");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let line = std::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(line, format!("<28>keeplite[{}]: vrrp gw: BACKUP -> MASTER", std::process::id()));
        server.set_nonblocking(true).unwrap();
        assert!(server.recv(&mut buf).is_err(), "debug line must be filtered at info level");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
