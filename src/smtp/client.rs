//! keeplite's SMTP client for alert mails (RFC 5321): one blocking dialogue, run on the
//! mail thread and never on the VRRP loop or the IPVS thread, with every read, write and
//! connect bounded by one deadline, so a dead or stalling server costs that thread a known
//! time at most.
//!
//! The dialogue: the 220 greeting, `EHLO` (`HELO` when the server rejects EHLO with a
//! 5xx), `MAIL FROM`, one `RCPT TO` per recipient, `DATA` and the message, `QUIT`. No
//! TLS and no authentication: alerts go to a relay on the management network, as
//! keepalived's do.

use super::reply::Replies;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Longest wait for the answer to QUIT: the mail is already accepted, the answer is
/// politeness only.
const QUIT_WAIT: Duration = Duration::from_millis(500);

/// What to send, and as whom.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    pub helo: &'a str,
    pub from: &'a str,
    pub to: &'a [String],
    /// The DATA payload, final `.` line included (see [`super::message::data`]).
    pub data: &'a [u8],
}

/// The step of the dialogue a failure happened at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Connect,
    Greeting,
    Ehlo,
    Helo,
    MailFrom,
    RcptTo,
    Data,
    Message,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The deadline passed first.
    TimedOut,
    /// The server closed the connection.
    Closed,
    /// A socket or name-resolution error.
    Io(String),
    /// Bytes that are not an SMTP reply, or over a cap.
    Malformed(&'static str),
    /// The server answered with this code instead of the one expected.
    Code(u16),
}

/// A mail that was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub cause: Cause,
}

impl Failure {
    /// A 5xx answer: the server refused for good, and sending again would be refused again.
    pub fn permanent(&self) -> bool {
        matches!(self.cause, Cause::Code(code) if code >= 500)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::Connect => "connect",
            Step::Greeting => "greeting",
            Step::Ehlo => "EHLO",
            Step::Helo => "HELO",
            Step::MailFrom => "MAIL FROM",
            Step::RcptTo => "RCPT TO",
            Step::Data => "DATA",
            Step::Message => "message",
        };
        match &self.cause {
            Cause::TimedOut => write!(f, "{step}: timed out"),
            Cause::Closed => write!(f, "{step}: connection closed by the server"),
            Cause::Io(e) => write!(f, "{step}: {e}"),
            Cause::Malformed(why) => write!(f, "{step}: {why}"),
            Cause::Code(code) => write!(f, "{step}: server answered {code}"),
        }
    }
}

/// A mail the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sent {
    /// Recipients the server refused, with its code (the others got the mail).
    pub refused: Vec<(String, u16)>,
}

/// Sends one mail through `host:port`, all of it (name lookup aside) before `deadline`.
pub fn send(host: &str, port: u16, deadline: Instant, envelope: &Envelope<'_>) -> Result<Sent, Failure> {
    let connect = |cause| Failure { step: Step::Connect, cause };
    // The name lookup cannot take a deadline; the resolver's own timeouts bound it.
    let addrs: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|e| connect(Cause::Io(format!("{host}: {e}"))))?.collect();
    let mut last = connect(Cause::Io(format!("{host}: no address")));
    for addr in addrs {
        let Some(left) = remaining(deadline) else { return Err(connect(Cause::TimedOut)) };
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return Session::new(stream, deadline).dialogue(envelope),
            Err(e) => last = connect(io_cause(&e, &addr.to_string())),
        }
    }
    Err(last)
}

/// Time left before `deadline`; none when it has passed (a zero timeout means "none" to
/// the socket calls).
fn remaining(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
}

fn io_cause(e: &std::io::Error, what: &str) -> Cause {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => Cause::TimedOut,
        _ => Cause::Io(format!("{what}: {e}")),
    }
}

/// One connection: the stream, the bytes received and not parsed yet, and the deadline.
struct Session {
    stream: TcpStream,
    replies: Replies,
    deadline: Instant,
}

impl Session {
    fn new(stream: TcpStream, deadline: Instant) -> Session {
        Session { stream, replies: Replies::default(), deadline }
    }

    fn dialogue(mut self, e: &Envelope<'_>) -> Result<Sent, Failure> {
        self.expect(Step::Greeting, 220)?;
        match self.command(Step::Ehlo, &format!("EHLO {}", e.helo))? {
            250 => {}
            // RFC 5321 4.1.1.1: a server that does not know EHLO answers 5xx; HELO then.
            code if code >= 500 => {
                self.send_line(Step::Helo, &format!("HELO {}", e.helo))?;
                self.expect(Step::Helo, 250)?;
            }
            code => return Err(Failure { step: Step::Ehlo, cause: Cause::Code(code) }),
        }
        self.send_line(Step::MailFrom, &format!("MAIL FROM:<{}>", e.from))?;
        self.expect(Step::MailFrom, 250)?;
        let mut sent = Sent::default();
        for rcpt in e.to {
            match self.command(Step::RcptTo, &format!("RCPT TO:<{rcpt}>"))? {
                250 | 251 => {}
                code => sent.refused.push((rcpt.clone(), code)),
            }
        }
        if sent.refused.len() == e.to.len() {
            let code = sent.refused.last().map_or(554, |r| r.1);
            return Err(Failure { step: Step::RcptTo, cause: Cause::Code(code) });
        }
        self.send_line(Step::Data, "DATA")?;
        self.expect(Step::Data, 354)?;
        self.write(Step::Message, e.data)?;
        self.expect(Step::Message, 250)?;
        self.deadline = self.deadline.min(Instant::now() + QUIT_WAIT);
        let _ = self.command(Step::Message, "QUIT");
        Ok(sent)
    }

    /// Sends `line` and reads the reply's code.
    fn command(&mut self, step: Step, line: &str) -> Result<u16, Failure> {
        self.send_line(step, line)?;
        self.reply(step)
    }

    fn send_line(&mut self, step: Step, line: &str) -> Result<(), Failure> {
        self.write(step, format!("{line}\r\n").as_bytes())
    }

    /// Reads a reply and fails unless its code is `code`.
    fn expect(&mut self, step: Step, code: u16) -> Result<(), Failure> {
        match self.reply(step)? {
            c if c == code => Ok(()),
            c => Err(Failure { step, cause: Cause::Code(c) }),
        }
    }

    fn write(&mut self, step: Step, bytes: &[u8]) -> Result<(), Failure> {
        let fail = |cause| Failure { step, cause };
        let left = remaining(self.deadline).ok_or_else(|| fail(Cause::TimedOut))?;
        self.stream.set_write_timeout(Some(left)).map_err(|e| fail(io_cause(&e, "socket")))?;
        self.stream.write_all(bytes).map_err(|e| fail(io_cause(&e, "write")))
    }

    /// Reads one whole reply and returns its code; bytes after it stay for the next.
    fn reply(&mut self, step: Step) -> Result<u16, Failure> {
        let fail = |cause| Failure { step, cause };
        loop {
            if let Some(code) = self.replies.take().map_err(|why| fail(Cause::Malformed(why)))? {
                return Ok(code);
            }
            let left = remaining(self.deadline).ok_or_else(|| fail(Cause::TimedOut))?;
            self.stream.set_read_timeout(Some(left)).map_err(|e| fail(io_cause(&e, "socket")))?;
            match self.stream.read(self.replies.spare()) {
                Ok(0) => return Err(fail(Cause::Closed)),
                Ok(n) => self.replies.filled(n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(io_cause(&e, "read"))),
            }
        }
    }
}

#[cfg(test)]
mod tests;
