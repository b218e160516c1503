//! The `ping` check, as keepalived's PING_CHECK: one ICMP (or ICMPv6) echo request, and
//! its reply within the timeout. It prefers the kernel's unprivileged datagram ICMP socket
//! (which needs the process's group in net.ipv4.ping_group_range; the kernel then matches
//! replies to the socket by id) and falls back to a raw socket (CAP_NET_RAW), where this
//! code matches them. Either way the reply must carry the request's id, sequence and
//! payload; an ICMP error about the request (host unreachable) fails the probe at once.

pub mod echo;

use super::datagram::{self, Datagram};
use super::tcp::errno_outcome;
use super::{Outcome, Target};
use rustix::io::Errno;
use rustix::net::{ipproto, SocketType};
use std::cell::Cell;
use std::net::SocketAddr;

/// The socket a probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `SOCK_DGRAM`, `IPPROTO_ICMP`/`IPPROTO_ICMPV6`: no privilege needed.
    Datagram,
    /// `SOCK_RAW`: CAP_NET_RAW.
    Raw,
}

thread_local! {
    /// Per family (IPv4, IPv6): the kernel refused a datagram ICMP socket, so probes go
    /// straight to a raw one (asked again after a reload would be as good; this saves a
    /// failing system call per probe).
    static NO_DATAGRAM: [Cell<bool>; 2] = const { [Cell::new(false), Cell::new(false)] };
    /// The next sequence number (one counter for all pings of the thread).
    static SEQ: Cell<u16> = const { Cell::new(0) };
}

/// The `ping` check against `target` (its port is not used).
pub async fn probe(target: &Target) -> Outcome {
    let family = usize::from(target.addr.is_ipv6());
    if !NO_DATAGRAM.with(|n| n[family].get()) {
        match probe_with(target, Kind::Datagram).await {
            // Not allowed here (ping_group_range) or not built in: raw from now on.
            Outcome::Error(e) if e.starts_with(REFUSED) => NO_DATAGRAM.with(|n| n[family].set(true)),
            outcome => return outcome,
        }
    }
    probe_with(target, Kind::Raw).await
}

/// What [`probe_with`] says when the kernel will not open the socket.
const REFUSED: &str = "ping: the kernel refused";

/// The `ping` check through a socket of `kind`.
pub async fn probe_with(target: &Target, kind: Kind) -> Outcome {
    super::within(target.timeout, async {
        match exchange(target, kind).await {
            Ok(()) => Outcome::Ok,
            Err(outcome) => outcome,
        }
    })
    .await
}

async fn exchange(target: &Target, kind: Kind) -> Result<(), Outcome> {
    let ipv6 = target.addr.is_ipv6();
    let protocol = if ipv6 { ipproto::ICMPV6 } else { ipproto::ICMP };
    let socket_type = if kind == Kind::Raw { SocketType::RAW } else { SocketType::DGRAM };
    let to = Target { addr: SocketAddr::new(target.addr.ip(), 0), ..*target };
    let fd = match datagram::socket(to.addr, socket_type, protocol) {
        Ok(fd) => fd,
        Err(e) if REFUSALS.contains(&e) => {
            return Err(Outcome::Error(format!("{REFUSED} a {kind:?} socket: {e}")))
        }
        Err(e) => return Err(errno_outcome(e)),
    };
    let socket = Datagram::connect(fd, &to)?;
    // The kernel puts a datagram socket's own id (its "port") in the requests and hands it
    // only replies with that id; a raw socket sends this one and sees every reply.
    let id = match kind {
        Kind::Datagram => None,
        Kind::Raw => Some(datagram::random_id()),
    };
    let seq = SEQ.with(|s| {
        let n = s.get().wrapping_add(1);
        s.set(n);
        n
    });
    socket.send(&echo::request(ipv6, id.unwrap_or(0), seq)).await?;
    let mut buf = [0u8; 128];
    let ip_header = kind == Kind::Raw && !ipv6;
    loop {
        let len = socket.recv(&mut buf).await?.min(buf.len());
        if echo::is_reply(&buf[..len], ipv6, ip_header, id, seq) {
            return Ok(());
        }
    }
}

/// The errors of a socket the kernel will not make for this process.
const REFUSALS: [Errno; 5] =
    [Errno::ACCESS, Errno::PERM, Errno::PROTONOSUPPORT, Errno::SOCKTNOSUPPORT, Errno::AFNOSUPPORT];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::reactor::block_on_test;
    use std::time::Duration;

    fn target(addr: &str, ms: u64) -> Target {
        Target {
            addr: SocketAddr::new(addr.parse().unwrap(), 0),
            bind: None,
            timeout: Duration::from_millis(ms),
        }
    }

    /// Loopback answers through a raw socket (the tests run as root) and, where the
    /// kernel allows this group, a datagram one.
    #[test]
    fn loopback_answers() {
        for addr in ["127.0.0.1", "::1"] {
            assert_eq!(block_on_test(probe_with(&target(addr, 2000), Kind::Raw)), Outcome::Ok, "{addr} raw");
            let dgram = block_on_test(probe_with(&target(addr, 2000), Kind::Datagram));
            assert!(
                dgram == Outcome::Ok || matches!(&dgram, Outcome::Error(e) if e.starts_with(REFUSED)),
                "{addr}: {dgram:?}"
            );
            assert_eq!(block_on_test(probe(&target(addr, 2000))), Outcome::Ok, "{addr}");
        }
    }
}
