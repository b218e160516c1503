//! Errors of the VRRP socket layer, each naming the interface and family it happened on.

use super::ipv4::HeaderError;
use crate::config::model::Family;
use rustix::io::Errno;
use std::fmt;
use std::net::IpAddr;

pub use crate::net::link::IfName;

/// A failure of one VRRP socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub interface: IfName,
    pub family: Family,
    pub kind: ErrorKind,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The interface name is empty or longer than the kernel allows.
    InterfaceName,
    /// Creating or configuring the socket failed at `step` (a socket call or option).
    /// `EPERM` from `socket` means CAP_NET_RAW is missing.
    Open { step: &'static str, errno: Errno },
    /// An advert cannot be sent as asked (`why`), nothing was sent.
    Unsendable { dst: IpAddr, why: &'static str },
    /// The kernel refused to send an advert.
    Send { dst: IpAddr, errno: Errno },
    /// Receiving failed.
    Recv { errno: Errno },
    /// A received IPv4 packet's header did not hold together.
    Header(HeaderError),
    /// A received IPv6 packet came without its hop limit or destination address.
    Ancillary,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        };
        write!(f, "VRRP {family} socket on {:?}: ", self.interface.as_str())?;
        match self.kind {
            ErrorKind::InterfaceName => write!(f, "interface name must be 1 to 15 bytes"),
            ErrorKind::Open { step: "socket", errno: Errno::PERM } => {
                write!(f, "socket: {} (CAP_NET_RAW is needed)", Errno::PERM)
            }
            ErrorKind::Open { step, errno } => write!(f, "{step}: {errno}"),
            ErrorKind::Unsendable { dst, why } => write!(f, "advert to {dst} not sent: {why}"),
            ErrorKind::Send { dst, errno } => write!(f, "sending to {dst}: {errno}"),
            ErrorKind::Recv { errno } => write!(f, "receiving: {errno}"),
            ErrorKind::Header(e) => write!(f, "received {e}"),
            ErrorKind::Ancillary => {
                write!(f, "received a packet without its hop limit or destination (ancillary data)")
            }
        }
    }
}

impl std::error::Error for Error {}
