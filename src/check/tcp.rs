//! The TCP probe, and the connection every network probe starts with: a non-blocking
//! connect from the check's source address, told apart as refused, unreachable or timed
//! out.

use super::reactor::Socket;
use super::{Outcome, Target};
use rustix::io::Errno;
use rustix::net::{self, AddressFamily, SocketFlags, SocketType};
use std::net::{SocketAddr, TcpStream};

/// Connects to the target (bounded by the caller's timeout, see [`super::within`]).
pub async fn connect(target: &Target) -> Result<Socket<TcpStream>, Outcome> {
    let family = if target.addr.is_ipv4() { AddressFamily::INET } else { AddressFamily::INET6 };
    let fd = net::socket_with(family, SocketType::STREAM, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)
        .map_err(errno_outcome)?;
    if let Some(ip) = target.bind {
        net::bind(&fd, &SocketAddr::new(ip, 0)).map_err(errno_outcome)?;
    }
    match net::connect(&fd, &target.addr) {
        Ok(()) | Err(Errno::INPROGRESS) => {}
        Err(e) => return Err(errno_outcome(e)),
    }
    let stream = Socket::new(TcpStream::from(fd)).map_err(|e| Outcome::Error(e.to_string()))?;
    stream.writable().await.map_err(|e| Outcome::Error(e.to_string()))?;
    // Writable means the handshake ended; SO_ERROR says how.
    match net::sockopt::socket_error(stream.get_ref()) {
        Ok(Ok(())) => Ok(stream),
        Ok(Err(e)) | Err(e) => Err(errno_outcome(e)),
    }
}

/// A connect's errno as an outcome.
pub fn errno_outcome(e: Errno) -> Outcome {
    match e {
        Errno::CONNREFUSED => Outcome::Refused,
        Errno::HOSTUNREACH | Errno::NETUNREACH => Outcome::Unreachable,
        Errno::TIMEDOUT => Outcome::Timeout,
        e => Outcome::Error(std::io::Error::from(e).to_string()),
    }
}

/// An I/O error on a probe's connection as an outcome.
pub fn io_outcome(e: std::io::Error) -> Outcome {
    match e.raw_os_error() {
        Some(code) => errno_outcome(Errno::from_raw_os_error(code)),
        None => Outcome::Error(e.to_string()),
    }
}

/// The `tcp` check: the connection is made.
pub async fn probe(target: &Target) -> Outcome {
    super::within(target.timeout, async {
        match connect(target).await {
            Ok(_) => Outcome::Ok,
            Err(outcome) => outcome,
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::super::reactor::block_on;
    use super::*;
    use std::time::Duration;

    fn target(addr: SocketAddr) -> Target {
        Target { addr, bind: None, timeout: Duration::from_secs(2) }
    }

    #[test]
    fn open_and_closed_ports() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = listener.local_addr().unwrap();
        assert_eq!(block_on(probe(&target(open))).unwrap(), Outcome::Ok);
        drop(listener);
        assert_eq!(block_on(probe(&target(open))).unwrap(), Outcome::Refused);
    }

    #[test]
    fn a_source_address_is_used() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let t = Target { bind: Some("127.0.0.2".parse().unwrap()), ..target(listener.local_addr().unwrap()) };
        assert_eq!(block_on(probe(&t)).unwrap(), Outcome::Ok);
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip().to_string(), "127.0.0.2");
    }
}
