//! An AF_PACKET raw socket bound to one interface, for sending whole Ethernet frames:
//! gratuitous ARP and unsolicited neighbour advertisements (see `vrrp::announce`).
//!
//! The socket is bound with protocol 0, so the kernel delivers it nothing: it is send-only
//! and never queues received traffic (keepalived binds ETH_P_IPV6 and lets every IPv6
//! frame pile up in a buffer it never reads). It is non-blocking: a full transmit queue is
//! an error the caller counts, never a stall of the VRRP loop.

use core::fmt;
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::addr::{SocketAddrArg, SocketAddrLen, SocketAddrOpaque};
use rustix::net::{self, AddressFamily, SendFlags, SocketFlags, SocketType};

/// Longest interface name Linux accepts (IFNAMSIZ less the terminating NUL).
pub const IFNAME_MAX: usize = 15;
/// An interface name, as errors carry it.
pub use super::link::IfName;

/// What failed, for [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The name is empty or longer than [`IFNAME_MAX`] bytes.
    Name,
    /// socket(AF_PACKET, SOCK_RAW) failed; EPERM means CAP_NET_RAW is missing.
    Open(Errno),
    /// The name does not resolve to an interface index.
    Index(Errno),
    /// bind() to the interface failed (ENODEV: it has gone away).
    Bind(Errno),
    /// send() failed: ENETDOWN when the link is down, EAGAIN when its queue is full,
    /// EMSGSIZE when the frame exceeds the MTU.
    Send(Errno),
    /// The kernel accepted fewer bytes than the frame holds.
    Short { sent: usize, len: usize },
}

/// A packet socket failure, naming the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The interface (for [`ErrorKind::Name`], as much of the name as fits).
    pub interface: IfName,
    pub kind: ErrorKind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.interface;
        match self.kind {
            ErrorKind::Name => write!(f, "interface name \"{i}\": empty or longer than {IFNAME_MAX} bytes"),
            ErrorKind::Open(Errno::PERM) => {
                write!(f, "{i}: cannot open a packet socket: {} (needs CAP_NET_RAW)", Errno::PERM)
            }
            ErrorKind::Open(e) => write!(f, "{i}: cannot open a packet socket: {e}"),
            ErrorKind::Index(e) => write!(f, "{i}: no such interface: {e}"),
            ErrorKind::Bind(e) => write!(f, "{i}: cannot bind a packet socket: {e}"),
            ErrorKind::Send(e) => write!(f, "{i}: sending a frame failed: {e}"),
            ErrorKind::Short { sent, len } => write!(f, "{i}: sent {sent} of {len} bytes of a frame"),
        }
    }
}

impl std::error::Error for Error {}

/// A send-only AF_PACKET SOCK_RAW socket bound to one interface.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    name: IfName,
}

impl PacketSocket {
    /// Opens a socket on the interface called `name`, resolving its index.
    pub fn open(name: &str) -> Result<PacketSocket, Error> {
        let ifname = checked_name(name)?;
        let fd = socket(&ifname)?;
        let ifindex = rustix::net::netdevice::name_to_index(&fd, name)
            .map_err(|e| Error { interface: ifname.clone(), kind: ErrorKind::Index(e) })?;
        PacketSocket::bind(fd, ifindex, ifname)
    }

    /// Opens a socket on interface `ifindex` (known from rtnetlink); `name` is for errors.
    pub fn open_index(ifindex: u32, name: &str) -> Result<PacketSocket, Error> {
        let ifname = checked_name(name)?;
        let fd = socket(&ifname)?;
        PacketSocket::bind(fd, ifindex, ifname)
    }

    fn bind(fd: OwnedFd, ifindex: u32, name: IfName) -> Result<PacketSocket, Error> {
        // An index the kernel cannot hold is an interface that does not exist.
        let index = i32::try_from(ifindex)
            .map_err(|_| Error { interface: name.clone(), kind: ErrorKind::Bind(Errno::NODEV) })?;
        net::bind(&fd, &LinkAddr { ifindex: index })
            .map_err(|e| Error { interface: name.clone(), kind: ErrorKind::Bind(e) })?;
        Ok(PacketSocket { fd, ifindex, name })
    }

    /// Sends one whole Ethernet frame (link header included) out of the interface.
    pub fn send(&self, frame: &[u8]) -> Result<(), Error> {
        let sent =
            net::send(&self.fd, frame, SendFlags::empty()).map_err(|e| self.error(ErrorKind::Send(e)))?;
        if sent != frame.len() {
            return Err(self.error(ErrorKind::Short { sent, len: frame.len() }));
        }
        Ok(())
    }

    /// The interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface name the socket was opened with.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, kind: ErrorKind) -> Error {
        Error { interface: self.name.clone(), kind }
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn checked_name(name: &str) -> Result<IfName, Error> {
    match IfName::try_from(name) {
        Ok(n) if !n.is_empty() => Ok(n),
        _ => {
            // Keep as much of the name as fits, cut at a character boundary, for the message.
            let mut prefix = IfName::new();
            for c in name.chars() {
                if prefix.push(c).is_err() {
                    break;
                }
            }
            Err(Error { interface: prefix, kind: ErrorKind::Name })
        }
    }
}

fn socket(name: &IfName) -> Result<OwnedFd, Error> {
    // Protocol 0 (None): the socket receives nothing, see the module comment.
    net::socket_with(
        AddressFamily::PACKET,
        SocketType::RAW,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )
    .map_err(|e| Error { interface: name.clone(), kind: ErrorKind::Open(e) })
}

/// The link-layer address a packet socket binds to: just an interface.
struct LinkAddr {
    ifindex: i32,
}

/// `struct sockaddr_ll` of linux/if_packet.h, which rustix 1 has no type for.
#[repr(C)]
struct SockaddrLl {
    family: u16,
    /// EtherType in network byte order; 0 binds no protocol, so nothing is received.
    protocol: u16,
    ifindex: i32,
    hatype: u16,
    pkttype: u8,
    halen: u8,
    addr: [u8; 8],
}

const _: () = assert!(core::mem::size_of::<SockaddrLl>() == 20);

// SAFETY: `f` is called with a pointer to a live, fully initialised `SockaddrLl`, which has
// the layout of the kernel's `struct sockaddr_ll`, and with exactly its size; the value
// outlives the call.
#[allow(unsafe_code)]
unsafe impl SocketAddrArg for LinkAddr {
    unsafe fn with_sockaddr<R>(&self, f: impl FnOnce(*const SocketAddrOpaque, SocketAddrLen) -> R) -> R {
        let raw = SockaddrLl {
            family: AddressFamily::PACKET.as_raw(),
            protocol: 0,
            ifindex: self.ifindex,
            hatype: 0,
            pkttype: 0,
            halen: 0,
            addr: [0; 8],
        };
        f((&raw as *const SockaddrLl).cast(), core::mem::size_of::<SockaddrLl>() as SocketAddrLen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_errors_that_show_the_name() {
        let e = PacketSocket::open("").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Name);
        let e = PacketSocket::open_index(1, "a-very-long-interface-name").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Name);
        assert_eq!(e.to_string(), "interface name \"a-very-long-int\": empty or longer than 15 bytes");
    }

    #[test]
    fn messages_name_the_interface() {
        let e = |kind| Error { interface: IfName::try_from("eth0").unwrap(), kind }.to_string();
        assert!(e(ErrorKind::Open(Errno::PERM)).contains("CAP_NET_RAW"));
        assert!(e(ErrorKind::Send(Errno::NETDOWN)).starts_with("eth0: sending a frame failed"));
        assert_eq!(e(ErrorKind::Short { sent: 10, len: 42 }), "eth0: sent 10 of 42 bytes of a frame");
    }
}
