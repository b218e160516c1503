//! Health checks of real servers: a pure scheduler decides which probe runs when and what
//! its results mean (rise, fall, retry delay, jitter); probes run as async tasks on a
//! thread of their own, so no probe ever delays a VRRP advert; results become the health
//! of the real servers, which the IPVS thread turns into kernel writes.
//!
//! A `check` section is a template: one probe runs per distinct (check, target address,
//! target port, interval), and its result counts for every real server that uses it.

pub mod datagram;
pub mod digest;
pub mod dns;
pub mod file;
pub mod http;
#[cfg(feature = "tls")]
pub mod https;
mod mailbox;
pub mod ping;
pub mod plan;
pub mod process;
pub mod reactor;
pub mod runner;
pub mod schedule;
pub mod script;
pub mod smtp;
pub mod tcp;
#[cfg(test)]
mod test_server;
pub mod udp;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server passed.
    Ok,
    /// A `dynamic` script passed and set this weight (its exit code less 2).
    Weight(u32),
    /// A file check passed and shifts the weight by this much.
    Shift(i32),
    /// The connection was refused (RST): nothing listens.
    Refused,
    /// No answer within the check's timeout.
    Timeout,
    /// No route to the target (`EHOSTUNREACH`, `ENETUNREACH`).
    Unreachable,
    /// An HTTP status outside `expect_status`, or an SMTP reply code that is not the
    /// expected one.
    BadStatus(u16),
    /// The body's MD5 differs from `digest`.
    BadDigest,
    /// The server broke the protocol; the text says how.
    BadReply(&'static str),
    /// The TLS handshake failed; the text says why.
    Tls(String),
    /// A script exited with this code (a failure).
    Exit(i32),
    /// A DNS answer with this RCODE (not NOERROR).
    Rcode(u8),
    /// A file check read this value, which means down.
    Value(i64),
    /// A process check counted this many processes, outside its quorum.
    Processes(u32),
    /// Anything else, in words (a system call's error).
    Error(String),
}

impl Outcome {
    /// True for a success.
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Ok | Outcome::Weight(_) | Outcome::Shift(_))
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Weight(w) => write!(f, "ok, weight {w}"),
            Outcome::Shift(s) => write!(f, "ok, weight {s:+}"),
            Outcome::Refused => f.write_str("connection refused"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::Unreachable => f.write_str("unreachable"),
            Outcome::BadStatus(code) => write!(f, "bad status {code}"),
            Outcome::BadDigest => f.write_str("bad digest"),
            Outcome::BadReply(what) => write!(f, "bad reply: {what}"),
            Outcome::Tls(why) => write!(f, "TLS failure: {why}"),
            Outcome::Exit(code) => write!(f, "exit code {code}"),
            Outcome::Rcode(code) => write!(f, "DNS {}", rcode_name(*code)),
            Outcome::Value(v) => write!(f, "value {v} in the file"),
            Outcome::Processes(n) => write!(f, "{n} matching processes"),
            Outcome::Error(why) => f.write_str(why),
        }
    }
}

/// A DNS RCODE in words (RFC 1035 4.1.1, RFC 2136).
fn rcode_name(code: u8) -> String {
    match code {
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("rcode {n}"),
    }
}

/// Where one probe connects, and how long it may take in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    /// Source address (`bind_ip`); the kernel chooses when `None`.
    pub bind: Option<IpAddr>,
    pub timeout: Duration,
}

/// `fut`, or [`Outcome::Timeout`] if it takes longer than `timeout`.
pub async fn within(timeout: Duration, fut: impl Future<Output = Outcome>) -> Outcome {
    futures_lite::future::or(fut, async {
        reactor::Timer::after(timeout).await;
        Outcome::Timeout
    })
    .await
}
