//! A connected datagram socket on the checker's reactor (UDP, or ICMP for pings): the
//! kernel keeps only the target's datagrams, and an ICMP error about what was sent comes
//! back as the socket's error, read by the next `recv` as ECONNREFUSED or EHOSTUNREACH.
//! Also the random ids their exchanges carry.

use super::reactor::Socket;
use super::tcp::errno_outcome;
use super::{Outcome, Target};
use rustix::fd::OwnedFd;
use rustix::net::{self, ipproto, AddressFamily, Protocol, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::SocketAddr;

/// A connected datagram socket of this thread's reactor.
pub struct Datagram(Socket<OwnedFd>);

impl Datagram {
    /// A UDP socket connected to the target (see [`Datagram::connect`]).
    pub fn udp(target: &Target) -> Result<Datagram, Outcome> {
        let fd = socket(target.addr, SocketType::DGRAM, ipproto::UDP).map_err(errno_outcome)?;
        Datagram::connect(fd, target)
    }

    /// Binds `fd` to the target's source address (if any), connects it to the target's
    /// address, and puts it on this thread's reactor.
    pub fn connect(fd: OwnedFd, target: &Target) -> Result<Datagram, Outcome> {
        if let Some(ip) = target.bind {
            net::bind(&fd, &SocketAddr::new(ip, 0)).map_err(errno_outcome)?;
        }
        net::connect(&fd, &target.addr).map_err(errno_outcome)?;
        Socket::new(fd).map(Datagram).map_err(|e| Outcome::Error(e.to_string()))
    }

    /// Sends one datagram, whole.
    pub async fn send(&self, bytes: &[u8]) -> Result<(), Outcome> {
        let sent = futures_lite::future::poll_fn(|cx| {
            self.0.poll_write_with(cx, |fd| net::send(fd, bytes, SendFlags::empty()).map_err(io::Error::from))
        })
        .await
        .map_err(super::tcp::io_outcome)?;
        if sent == bytes.len() {
            Ok(())
        } else {
            Err(Outcome::Error(format!("sent {sent} of {} bytes", bytes.len())))
        }
    }

    /// Receives one datagram into `buf`; its length, which may be more than `buf` holds
    /// (the rest is cut off).
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, Outcome> {
        futures_lite::future::poll_fn(|cx| {
            self.0.poll_read_with(cx, |fd| {
                net::recv(fd, &mut *buf, RecvFlags::TRUNC).map(|(_, len)| len).map_err(io::Error::from)
            })
        })
        .await
        .map_err(super::tcp::io_outcome)
    }
}

/// A non-blocking datagram socket of `kind` and `protocol` for the family of `to`.
pub fn socket(to: SocketAddr, kind: SocketType, protocol: Protocol) -> rustix::io::Result<OwnedFd> {
    let family = if to.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    net::socket_with(family, kind, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, Some(protocol))
}

/// An id no one on the path can guess from the last (a DNS query's, a raw ping's):
/// xorshift, seeded at random per thread.
pub fn random_id() -> u16 {
    thread_local! {
        static STATE: Cell<u64> =
            Cell::new(std::collections::hash_map::RandomState::new().build_hasher().finish() | 1);
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 32) as u16
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_ids_vary() {
        let ids: std::collections::HashSet<u16> = (0..64).map(|_| super::random_id()).collect();
        assert!(ids.len() > 60, "{}", ids.len());
    }
}
