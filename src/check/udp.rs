//! The `udp` check, as keepalived's UDP_CHECK: one datagram (the `payload`) to the target
//! over a connected socket. With `require_reply`, a reply must come within the timeout
//! (and start with `expect`, if set); without, the check passes unless an ICMP error
//! (port or host unreachable) comes back within the timeout, so each such probe takes the
//! whole timeout.

use super::datagram::Datagram;
use super::reactor::Timer;
use super::{Outcome, Target};
use crate::config::model::{Pattern, UdpCheck};
use crate::limits;

/// The `udp` check against `target`.
pub async fn probe(target: &Target, check: &UdpCheck) -> Outcome {
    let exchange = async {
        let socket = Datagram::udp(target)?;
        socket.send(&check.payload).await?;
        let mut buf = [0u8; limits::UDP_PAYLOAD];
        let len = socket.recv(&mut buf).await?;
        match &check.expect {
            Some(p) if !matches(p, &buf[..len.min(buf.len())]) => {
                Err(Outcome::BadReply("reply does not match expect"))
            }
            _ => Ok(()),
        }
    };
    let exchange = async { exchange.await.err().unwrap_or(Outcome::Ok) };
    if check.require_reply {
        super::within(target.timeout, exchange).await
    } else {
        // No news is good news: only an error (or a reply) ends the wait early.
        futures_lite::future::or(exchange, async {
            Timer::after(target.timeout).await;
            Outcome::Ok
        })
        .await
    }
}

/// True when `reply` starts with the pattern (masked bits aside).
pub fn matches(p: &Pattern, reply: &[u8]) -> bool {
    reply.len() >= p.bytes.len()
        && p.bytes.iter().zip(&p.mask).zip(reply).all(|((&want, &mask), &got)| (want ^ got) & mask == 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::reactor::block_on_test;
    use std::net::{SocketAddr, UdpSocket};
    use std::time::{Duration, Instant};

    fn pattern(bytes: &[u8], mask: &[u8]) -> Pattern {
        Pattern { bytes: bytes.into(), mask: mask.into() }
    }

    fn check(payload: &[u8], require_reply: bool, expect: Option<Pattern>) -> UdpCheck {
        UdpCheck { payload: payload.into(), require_reply, expect }
    }

    fn target(addr: SocketAddr, ms: u64) -> Target {
        Target { addr, bind: None, timeout: Duration::from_millis(ms) }
    }

    /// Echoes each datagram back, with `prefix` in front, until the test ends.
    fn echo(prefix: &'static [u8]) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                let reply = [prefix, &buf[..n]].concat();
                let _ = s.send_to(&reply, from);
            }
        });
        addr
    }

    /// A loopback port with nothing behind it.
    fn closed() -> SocketAddr {
        UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
    }

    #[test]
    fn patterns_compare_a_prefix_under_the_mask() {
        let p = pattern(&[0x01, 0x40], &[0xff, 0xf0]);
        assert!(matches(&p, &[0x01, 0x4f, 0x99]));
        assert!(!matches(&p, &[0x01, 0x5f]));
        assert!(!matches(&p, &[0x01]), "a reply shorter than the pattern");
        assert!(matches(&pattern(&[], &[]), &[]));
    }

    #[test]
    fn a_reply_is_required_and_matched() {
        let server = echo(b"+OK ");
        let t = target(server, 1000);
        assert_eq!(block_on_test(probe(&t, &check(b"ping", true, None))), Outcome::Ok);
        let want = Some(pattern(b"+OK ping", &[0xff; 8]));
        assert_eq!(block_on_test(probe(&t, &check(b"ping", true, want))), Outcome::Ok);
        let want = Some(pattern(b"-ERR", &[0xff; 4]));
        assert_eq!(
            block_on_test(probe(&t, &check(b"ping", true, want))),
            Outcome::BadReply("reply does not match expect")
        );
    }

    #[test]
    fn a_closed_port_is_refused_with_or_without_a_reply_required() {
        for require_reply in [true, false] {
            let started = Instant::now();
            let outcome = block_on_test(probe(&target(closed(), 2000), &check(b"x", require_reply, None)));
            assert_eq!(outcome, Outcome::Refused, "require_reply {require_reply}");
            // The ICMP error ended it, not the timeout.
            assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
        }
    }

    #[test]
    fn silence_passes_unless_a_reply_is_required() {
        // A server that reads and never answers.
        let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
        let t = target(quiet.local_addr().unwrap(), 300);
        let started = Instant::now();
        assert_eq!(block_on_test(probe(&t, &check(b"", false, None))), Outcome::Ok);
        assert!(started.elapsed() >= Duration::from_millis(300), "waited the whole timeout");
        assert_eq!(block_on_test(probe(&t, &check(b"", true, None))), Outcome::Timeout);
        let mut buf = [0u8; 16];
        quiet.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(quiet.recv(&mut buf).unwrap(), 0, "the empty payload went out");
    }
}
