//! The `smtp` check, as keepalived's SMTP_CHECK: the server greets with 220 and answers
//! `EHLO helo_name` with 250 (or, if it rejects EHLO with a 5xx, `HELO` with 250); then
//! `QUIT`, without waiting long for the 221.
//!
//! A reply other than the one expected is [`Outcome::BadStatus`] with the server's code (a
//! 554 or 421 greeting, a 4xx to EHLO): the code is what an operator needs to see. Bytes
//! that are not an SMTP reply, or break a cap, are [`Outcome::BadReply`].

use super::{Outcome, Target};
use crate::smtp::reply::Replies;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::time::{Duration, Instant};

/// Longest wait for the 221 after QUIT: only politeness (the server closes first, and holds
/// the TIME_WAIT), never worth delaying the result for.
const QUIT_WAIT: Duration = Duration::from_millis(100);

/// The `smtp` check against `target`, greeting as `helo_name`.
pub async fn probe(target: &Target, helo_name: &str) -> Outcome {
    let started = Instant::now();
    super::within(target.timeout, async {
        let mut stream = match super::tcp::connect(target).await {
            Ok(stream) => stream,
            Err(outcome) => return outcome,
        };
        let outcome = greet(&mut stream, helo_name).await;
        if outcome.passed() {
            // Half of what is left at most, so the wait can never turn a pass into a timeout.
            let left = target.timeout.saturating_sub(started.elapsed()) / 2;
            quit(&mut stream, QUIT_WAIT.min(left)).await;
        }
        outcome
    })
    .await
}

/// The greeting and EHLO (or HELO) over an open connection; [`Outcome::Ok`] when both
/// went well.
async fn greet<S>(stream: &mut S, helo_name: &str) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // A line break in the name would smuggle a command; config validation rules it out.
    if helo_name.is_empty() || helo_name.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Outcome::Error(format!("smtp: '{}' is not a HELO name", helo_name.escape_debug()));
    }
    let mut session = Session::new(stream);
    match session.dialog(helo_name).await {
        Ok(()) => Outcome::Ok,
        Err(outcome) => outcome,
    }
}

/// Sends QUIT and waits up to `wait` for any answer; the result does not matter.
async fn quit<S>(stream: &mut S, wait: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut session = Session::new(stream);
    let polite = async {
        let _ = session.command("QUIT").await;
    };
    futures_lite::future::or(polite, async {
        super::reactor::Timer::after(wait).await;
    })
    .await;
}

/// One conversation: the stream and the bytes received but not yet parsed.
struct Session<'a, S> {
    stream: &'a mut S,
    replies: Replies,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Session<'a, S> {
    fn new(stream: &'a mut S) -> Self {
        Session { stream, replies: Replies::default() }
    }

    async fn dialog(&mut self, helo_name: &str) -> Result<(), Outcome> {
        expect(self.reply().await?, 220)?;
        let code = self.command(&format!("EHLO {helo_name}")).await?;
        // 5xx: a server without ESMTP (RFC 5321 4.1.4: the client may fall back to HELO).
        if (500..=599).contains(&code) {
            return expect(self.command(&format!("HELO {helo_name}")).await?, 250);
        }
        expect(code, 250)
    }

    /// Sends one command and reads its reply's code.
    async fn command(&mut self, command: &str) -> Result<u16, Outcome> {
        // One write for the whole line: a second small write would wait for the first's
        // ACK (Nagle), which the server delays, costing tens of milliseconds per command.
        let line = format!("{command}\r\n");
        self.stream.write_all(line.as_bytes()).await.map_err(super::tcp::io_outcome)?;
        self.stream.flush().await.map_err(super::tcp::io_outcome)?;
        self.reply().await
    }

    /// Reads one whole reply and returns its code.
    async fn reply(&mut self) -> Result<u16, Outcome> {
        loop {
            if let Some(code) = self.replies.take().map_err(Outcome::BadReply)? {
                return Ok(code);
            }
            let n = self.stream.read(self.replies.spare()).await.map_err(super::tcp::io_outcome)?;
            if n == 0 {
                let why = if self.replies.is_empty() {
                    "connection closed"
                } else {
                    "connection closed inside a reply"
                };
                return Err(Outcome::BadReply(why));
            }
            self.replies.filled(n);
        }
    }
}

fn expect(code: u16, want: u16) -> Result<(), Outcome> {
    if code == want {
        Ok(())
    } else {
        Err(Outcome::BadStatus(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{SocketAddr, TcpListener};
    use std::thread;

    fn target(addr: SocketAddr, timeout: Duration) -> Target {
        Target { addr, bind: None, timeout }
    }

    /// A one-connection server: sends `banner`, then answers each command line with the
    /// next of `answers` (nothing once they run out); returns the commands it got.
    fn serve(
        banner: &'static [u8],
        answers: &'static [&'static [u8]],
    ) -> (SocketAddr, thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            if banner.is_empty() {
                // Nothing to say: close at once.
                return Vec::new();
            }
            let _ = s.write_all(banner);
            let mut lines = BufReader::new(s.try_clone().unwrap()).lines();
            let mut got = Vec::new();
            let mut answers = answers.iter();
            while let Some(Ok(line)) = lines.next() {
                got.push(line);
                match answers.next() {
                    Some(a) => {
                        let _ = s.write_all(a);
                    }
                    // Out of answers: hold the line open, unanswered, as a slow server would.
                    None => thread::sleep(Duration::from_millis(500)),
                }
            }
            got
        });
        (addr, handle)
    }

    fn run(banner: &'static [u8], answers: &'static [&'static [u8]]) -> (Outcome, Vec<String>) {
        let (addr, server) = serve(banner, answers);
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_secs(5)), "lb1.example"));
        (outcome, server.join().unwrap())
    }

    #[test]
    fn banner_and_ehlo() {
        let (outcome, got) = run(b"220 mx ESMTP\r\n", &[b"250 mx\r\n", b"221 bye\r\n"]);
        assert_eq!(outcome, Outcome::Ok);
        assert_eq!(got, ["EHLO lb1.example", "QUIT"]);
    }

    #[test]
    fn multi_line_banner_and_ehlo() {
        const EHLO: &[u8] = b"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
        let (outcome, _) =
            run(b"220-mx.example ESMTP\r\n220-no UCE\r\n220 go ahead\r\n", &[EHLO, b"221 bye\r\n"]);
        assert_eq!(outcome, Outcome::Ok);
    }

    #[test]
    fn ehlo_refused_then_helo() {
        let (outcome, got) =
            run(b"220 old smtpd\r\n", &[b"502 command not implemented\r\n", b"250 ok\r\n", b"221\r\n"]);
        assert_eq!(outcome, Outcome::Ok);
        assert_eq!(got, ["EHLO lb1.example", "HELO lb1.example", "QUIT"]);
        let (outcome, _) = run(b"220 old smtpd\r\n", &[b"502 no\r\n", b"501 no either\r\n"]);
        assert_eq!(outcome, Outcome::BadStatus(501));
    }

    #[test]
    fn refusals_are_bad_status() {
        let (outcome, got) = run(b"554 no SMTP service here\r\n", &[]);
        assert_eq!(outcome, Outcome::BadStatus(554));
        assert!(got.is_empty(), "{got:?}");
        let (outcome, _) = run(b"220 mx\r\n", &[b"421 too busy\r\n"]);
        assert_eq!(outcome, Outcome::BadStatus(421));
    }

    #[test]
    fn no_221_does_not_hold_the_result() {
        let (addr, server) = serve(b"220 mx\r\n", &[b"250 mx\r\n"]);
        let started = Instant::now();
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_secs(5)), "lb1"));
        assert_eq!(outcome, Outcome::Ok);
        // The server never answers QUIT; the probe gave up after QUIT_WAIT.
        assert!(started.elapsed() < QUIT_WAIT * 4, "{:?}", started.elapsed());
        assert_eq!(server.join().unwrap(), ["EHLO lb1", "QUIT"]);
    }

    #[test]
    fn a_silent_server_times_out() {
        let (addr, server) = crate::check::test_server::silent(Duration::from_millis(800));
        let started = Instant::now();
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_millis(300)), "lb1"));
        assert_eq!(outcome, Outcome::Timeout);
        assert!(started.elapsed() < Duration::from_millis(700));
        server.join().unwrap();
    }

    #[test]
    fn an_over_long_line_is_a_bad_reply() {
        static LONG: [u8; 4000] = [b'x'; 4000];
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let _ = s.write_all(b"220 ");
            let _ = s.write_all(&LONG);
            thread::sleep(Duration::from_millis(200));
        });
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_secs(5)), "lb1"));
        assert_eq!(outcome, Outcome::BadReply("reply line too long"));
        server.join().unwrap();
    }

    #[test]
    fn garbage_closed_and_refused() {
        let (outcome, _) = run(b"HTTP/1.1 400 Bad Request\r\n\r\n", &[]);
        assert_eq!(outcome, Outcome::BadReply("not an SMTP reply"));
        let (outcome, _) = run(b"", &[]);
        assert_eq!(outcome, Outcome::BadReply("connection closed"));
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_secs(2)), "lb1"));
        assert_eq!(outcome, Outcome::Refused);
    }

    #[test]
    fn a_helo_name_cannot_inject_commands() {
        let (addr, server) = serve(b"220 mx\r\n", &[]);
        let t = target(addr, Duration::from_secs(2));
        let outcome = crate::check::reactor::block_on_test(probe(&t, "lb1\r\nRCPT TO:<x>"));
        assert!(matches!(outcome, Outcome::Error(_)), "{outcome:?}");
        assert!(server.join().unwrap().is_empty());
    }
}
