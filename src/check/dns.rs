//! The `dns` check, as keepalived's DNS_CHECK: one query over UDP (`dns_type` for
//! `dns_name`, recursion desired); it passes on a well-formed answer to it (same id, the
//! question echoed) with RCODE NOERROR and, with `dns_expect`, an answer record of the
//! asked type that holds the expected value. Datagrams that are not the answer (another
//! id, a query) are passed over until the timeout.

pub mod message;

use super::datagram::Datagram;
use super::{Outcome, Target};
use crate::config::model::DnsCheck;
use message::Reply;

/// The largest reply read: a query without EDNS gets at most 512 bytes (RFC 1035 4.2.1).
const REPLY_MAX: usize = 512;

/// The `dns` check against `target`.
pub async fn probe(target: &Target, check: &DnsCheck) -> Outcome {
    super::within(target.timeout, async {
        match exchange(target, check).await {
            Ok(()) => Outcome::Ok,
            Err(outcome) => outcome,
        }
    })
    .await
}

async fn exchange(target: &Target, check: &DnsCheck) -> Result<(), Outcome> {
    let socket = Datagram::udp(target)?;
    let mut query = [0u8; message::QUERY_MAX];
    let len = message::query(&mut query, super::datagram::random_id(), &check.name, check.qtype.code())
        .ok_or_else(|| Outcome::Error(format!("dns: '{}' is not a name a query can carry", check.name)))?;
    let query = &query[..len];
    socket.send(query).await?;
    let mut buf = [0u8; REPLY_MAX];
    loop {
        let got = socket.recv(&mut buf).await?.min(REPLY_MAX);
        match message::read(&buf[..got], query, check.expect.as_deref()) {
            Ok(Reply::NotOurs) => continue,
            Ok(Reply::Rcode(code)) => return Err(Outcome::Rcode(code)),
            Ok(Reply::NoError { expected }) if expected || check.expect.is_none() => return Ok(()),
            Ok(Reply::NoError { .. }) => return Err(Outcome::BadReply("no answer holds dns_expect")),
            Err(why) => return Err(Outcome::BadReply(why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::reactor::block_on_test;
    use crate::config::model::DnsType;
    use std::net::{SocketAddr, UdpSocket};
    use std::time::Duration;

    fn check(name: &str, qtype: DnsType, expect: Option<&str>) -> DnsCheck {
        DnsCheck { name: name.into(), qtype, expect: expect.map(str::to_owned) }
    }

    fn target(addr: SocketAddr) -> Target {
        Target { addr, bind: None, timeout: Duration::from_millis(800) }
    }

    /// A server that answers each query with `answer(query)` (several datagrams maybe).
    fn server(answer: fn(&[u8]) -> Vec<Vec<u8>>) -> SocketAddr {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut buf) {
                for d in answer(&buf[..n]) {
                    let _ = s.send_to(&d, from);
                }
            }
        });
        addr
    }

    /// The query turned into a response with `rcode` and one A record 192.0.2.7.
    fn answer_a(q: &[u8], rcode: u8) -> Vec<u8> {
        let mut m = q.to_vec();
        m[2] = 0x81;
        m[3] = 0x80 | rcode;
        m[7] = 1;
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
        m
    }

    #[test]
    fn an_answer_passes_and_is_matched() {
        let s = server(|q| vec![answer_a(q, 0)]);
        let t = target(s);
        assert_eq!(block_on_test(probe(&t, &check("example.org", DnsType::A, None))), Outcome::Ok);
        assert_eq!(
            block_on_test(probe(&t, &check("example.org", DnsType::A, Some("192.0.2.7")))),
            Outcome::Ok
        );
        assert_eq!(
            block_on_test(probe(&t, &check("example.org", DnsType::A, Some("192.0.2.8")))),
            Outcome::BadReply("no answer holds dns_expect")
        );
    }

    #[test]
    fn rcodes_fail_and_strangers_are_passed_over() {
        let t = target(server(|q| vec![answer_a(q, 3)]));
        assert_eq!(block_on_test(probe(&t, &check("gone.example.org", DnsType::A, None))), Outcome::Rcode(3));
        // A reply with another id first, then garbage with ours, then the answer: the
        // stranger is passed over, the garbage is a bad reply.
        let t = target(server(|q| {
            let mut stranger = answer_a(q, 0);
            stranger[0] ^= 0xff;
            vec![stranger, q[..2].to_vec(), answer_a(q, 0)]
        }));
        assert_eq!(
            block_on_test(probe(&t, &check("example.org", DnsType::A, None))),
            Outcome::BadReply("shorter than a DNS header")
        );
        let t = target(server(|q| {
            let mut stranger = answer_a(q, 0);
            stranger[0] ^= 0xff;
            vec![stranger, answer_a(q, 0)]
        }));
        assert_eq!(block_on_test(probe(&t, &check("example.org", DnsType::A, None))), Outcome::Ok);
    }

    #[test]
    fn silence_and_a_closed_port() {
        let quiet = UdpSocket::bind("127.0.0.1:0").unwrap();
        let outcome =
            block_on_test(probe(&target(quiet.local_addr().unwrap()), &check("", DnsType::Soa, None)));
        assert_eq!(outcome, Outcome::Timeout);
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        assert_eq!(block_on_test(probe(&target(closed), &check("", DnsType::Soa, None))), Outcome::Refused);
    }
}
