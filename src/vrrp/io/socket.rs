//! The raw IP socket for VRRP (protocol 112) of one (interface, family): joined to the
//! VRRP group on that interface, sending with TTL / hop limit 255 from a given source,
//! receiving source, destination and TTL / hop limit with every packet.

use super::cmsg::{self, Control};
use super::error::{Error, ErrorKind, IfName};
use super::ipv4;
use super::received::Received;
use super::sys;
use crate::config::model::Family;
use crate::vrrp::auth_hmac::TRAILER_LEN;
use crate::vrrp::packet::{self, Repr, Version, TTL};
use rustix::io::Errno;
use rustix::net::{self as rnet, sockopt, AddressFamily, Protocol, RecvFlags, SocketFlags, SocketType};
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Largest advert keeplite sends: its longest message and an `auth_hmac` trailer.
const MAX_ADVERT: usize = packet::MAX_MESSAGE_LEN + TRAILER_LEN;

/// A receive buffer this large holds any VRRP packet (a 60-byte IPv4 header, then 255
/// IPv6 addresses, v2's auth data and an `auth_hmac` trailer); shorter ones may cut a
/// packet (counted as a length discard).
pub const RECV_BUFFER: usize = 60 + packet::HEADER_LEN + 255 * 16 + packet::AUTH_DATA_LEN + TRAILER_LEN;

/// One VRRP raw socket, non-blocking; poll it through [`AsFd`].
#[derive(Debug)]
pub struct VrrpSocket {
    fd: OwnedFd,
    family: Family,
    ifindex: u32,
    interface: IfName,
    /// The multicast groups joined, as asked.
    groups: Vec<IpAddr>,
}

impl VrrpSocket {
    /// Opens the VRRP socket of `family` on interface `interface`, whose index is `ifindex`,
    /// joined to the VRRP group of the family.
    pub fn open(interface: &str, ifindex: u32, family: Family) -> Result<VrrpSocket, Error> {
        let default = [super::peers::group(family)];
        VrrpSocket::open_joined(interface, ifindex, family, &default)
    }

    /// Opens the VRRP socket of `family` on `interface` joined to each of `groups`
    /// (multicast addresses of the family; `mcast_group4` / `mcast_group6` / `mcast_dst_ip`).
    pub fn open_joined(
        interface: &str,
        ifindex: u32,
        family: Family,
        groups: &[IpAddr],
    ) -> Result<VrrpSocket, Error> {
        let name = IfName::try_from(interface).ok().filter(|n| !n.is_empty());
        let Some(name) = name else {
            let mut shown = IfName::new();
            for c in interface.chars() {
                if shown.push(c).is_err() {
                    break;
                }
            }
            return Err(Error { interface: shown, family, kind: ErrorKind::InterfaceName });
        };
        let fail = |step: &'static str| {
            let interface = name.clone();
            move |errno: Errno| Error { interface, family, kind: ErrorKind::Open { step, errno } }
        };
        let domain = match family {
            Family::Ipv4 => AddressFamily::INET,
            Family::Ipv6 => AddressFamily::INET6,
        };
        let vrrp = NonZeroU32::new(u32::from(packet::PROTOCOL)).map(Protocol::from_raw);
        let fd =
            rnet::socket_with(domain, SocketType::RAW, SocketFlags::NONBLOCK | SocketFlags::CLOEXEC, vrrp)
                .map_err(fail("socket"))?;
        // Only this interface's packets reach the socket, and sends leave through it
        // whatever the routing table says about a unicast peer.
        sys::set_option(fd.as_fd(), sys::SOL_SOCKET, sys::SO_BINDTODEVICE, name.as_bytes())
            .map_err(fail("SO_BINDTODEVICE"))?;
        let ttl = u32::from(TTL);
        match family {
            Family::Ipv4 => {
                // Another instance on this host must not hear our adverts as a peer's.
                sockopt::set_ip_multicast_loop(&fd, false).map_err(fail("IP_MULTICAST_LOOP"))?;
                // RFC 9568 section 5.1.1.3: sent with TTL 255, checked on receipt, so an
                // advert from beyond the link is recognisable.
                sockopt::set_ip_multicast_ttl(&fd, ttl).map_err(fail("IP_MULTICAST_TTL"))?;
                sockopt::set_ip_ttl(&fd, ttl).map_err(fail("IP_TTL"))?;
                let any = Ipv4Addr::UNSPECIFIED;
                sockopt::set_ip_multicast_if_with_ifindex(&fd, &any, &any, ifindex)
                    .map_err(fail("IP_MULTICAST_IF"))?;
                for group in groups {
                    let IpAddr::V4(group) = group else {
                        return Err(fail("IP_ADD_MEMBERSHIP")(Errno::AFNOSUPPORT));
                    };
                    sockopt::set_ip_add_membership_with_ifindex(&fd, group, &any, ifindex)
                        .map_err(fail("IP_ADD_MEMBERSHIP"))?;
                }
            }
            Family::Ipv6 => {
                sockopt::set_ipv6_multicast_loop(&fd, false).map_err(fail("IPV6_MULTICAST_LOOP"))?;
                sockopt::set_ipv6_multicast_hops(&fd, ttl).map_err(fail("IPV6_MULTICAST_HOPS"))?;
                sockopt::set_ipv6_unicast_hops(&fd, Some(TTL)).map_err(fail("IPV6_UNICAST_HOPS"))?;
                sockopt::set_ipv6_multicast_if(&fd, ifindex).map_err(fail("IPV6_MULTICAST_IF"))?;
                for group in groups {
                    let IpAddr::V6(group) = group else {
                        return Err(fail("IPV6_ADD_MEMBERSHIP")(Errno::AFNOSUPPORT));
                    };
                    sockopt::set_ipv6_add_membership(&fd, group, ifindex)
                        .map_err(fail("IPV6_ADD_MEMBERSHIP"))?;
                }
                // IPv6 raw sockets never deliver the IP header: hop limit and destination
                // (which v3's checksum covers) come as control messages instead.
                sys::set_int(fd.as_fd(), sys::IPPROTO_IPV6, sys::IPV6_RECVHOPLIMIT, 1)
                    .map_err(fail("IPV6_RECVHOPLIMIT"))?;
                sys::set_int(fd.as_fd(), sys::IPPROTO_IPV6, sys::IPV6_RECVPKTINFO, 1)
                    .map_err(fail("IPV6_RECVPKTINFO"))?;
            }
        }
        Ok(VrrpSocket { fd, family, ifindex, interface: name, groups: groups.to_vec() })
    }

    /// The socket's address family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// The interface the socket is bound to.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The multicast groups the socket joined.
    pub fn groups(&self) -> &[IpAddr] {
        &self.groups
    }

    /// The interface index the socket was opened with.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    fn error(&self, kind: ErrorKind) -> Error {
        Error { interface: self.interface.clone(), family: self.family, kind }
    }

    /// Sends `advert` from `src` to `dst` (the group or a unicast peer). `src` must be an
    /// address of the interface (for IPv6 its link-local address): it is both the packet's
    /// source and part of v3's checksum.
    pub fn send(&self, advert: &Repr, src: IpAddr, dst: IpAddr) -> Result<(), Error> {
        self.send_with(advert, &[], src, dst, TTL)
    }

    /// Sends like [`send`](Self::send), followed by `trailer` (`auth_hmac`'s, or none),
    /// with IP TTL / hop limit `ttl` (keepalived's `unicast_ttl`, for unicast adverts that
    /// cross routers; 255 otherwise).
    pub fn send_with(
        &self,
        advert: &Repr,
        trailer: &[u8],
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
    ) -> Result<(), Error> {
        let unsendable = |why| self.error(ErrorKind::Unsendable { dst, why });
        let fits = |a: &IpAddr| Family::of(*a) == self.family;
        if !fits(&src) || !fits(&dst) {
            return Err(unsendable("source or destination of the other address family"));
        }
        if !advert.addresses.iter().all(fits) {
            return Err(unsendable("advert carries addresses of the other family"));
        }
        if advert.version == Version::V2 && self.family == Family::Ipv6 {
            return Err(unsendable("VRRP version 2 has no IPv6"));
        }
        let mut buf = [0u8; MAX_ADVERT];
        let len = advert.buffer_len();
        let Some(message) = buf.get_mut(..len + trailer.len()) else {
            return Err(unsendable("more addresses than an advert can carry"));
        };
        advert.emit(&mut message[..len], src, dst);
        packet::emit_trailer(message, len, trailer, src, dst);

        let (name, name_len) = cmsg::sockaddr(dst, self.ifindex);
        let mut control = Control::new();
        let info = match src {
            IpAddr::V4(s) => (sys::IPPROTO_IP, sys::IP_PKTINFO, &cmsg::in_pktinfo(self.ifindex, s)[..]),
            IpAddr::V6(s) => (sys::IPPROTO_IPV6, sys::IPV6_PKTINFO, &cmsg::in6_pktinfo(self.ifindex, s)[..]),
        };
        let mut control_len = cmsg::put(&mut control.0, info.0, info.1, info.2)
            .ok_or_else(|| unsendable("packet info does not fit the control buffer"))?;
        if ttl != TTL {
            // The socket's own TTL is 255; another one travels with this packet only, as
            // the instances of one interface share the socket.
            let (level, kind) = match src {
                IpAddr::V4(_) => (sys::IPPROTO_IP, sys::IP_TTL),
                IpAddr::V6(_) => (sys::IPPROTO_IPV6, sys::IPV6_HOPLIMIT),
            };
            let rest = control.0.get_mut(control_len..).unwrap_or(&mut []);
            control_len += cmsg::put(rest, level, kind, &i32::from(ttl).to_ne_bytes())
                .ok_or_else(|| unsendable("TTL does not fit the control buffer"))?;
        }
        sys::send_msg(self.fd.as_fd(), message, &name[..name_len], &control.0[..control_len])
            .map_err(|errno| self.error(ErrorKind::Send { dst, errno }))?;
        Ok(())
    }

    /// Receives one packet into `buf` (see [`RECV_BUFFER`]); `None` when nothing is
    /// waiting. The payload is not parsed yet: see [`Received::parse`].
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Option<Received<'b>>, Error> {
        match self.family {
            Family::Ipv4 => self.recv_v4(buf),
            Family::Ipv6 => self.recv_v6(buf),
        }
    }

    fn recv_v4<'b>(&self, buf: &'b mut [u8]) -> Result<Option<Received<'b>>, Error> {
        let len = loop {
            match rnet::recv(&self.fd, &mut *buf, RecvFlags::DONTWAIT) {
                Ok((len, _)) => break len,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return Ok(None),
                Err(errno) => return Err(self.error(ErrorKind::Recv { errno })),
            }
        };
        let data: &'b [u8] = buf;
        let ip =
            ipv4::split(data.get(..len).unwrap_or(data)).map_err(|e| self.error(ErrorKind::Header(e)))?;
        Ok(Some(Received {
            src: IpAddr::V4(ip.src),
            dst: IpAddr::V4(ip.dst),
            ttl: ip.ttl,
            payload: ip.payload,
            truncated: ip.truncated,
        }))
    }

    fn recv_v6<'b>(&self, buf: &'b mut [u8]) -> Result<Option<Received<'b>>, Error> {
        let mut name = [0u8; cmsg::SOCKADDR_LEN];
        let mut control = Control::new();
        let got = match sys::recv_msg(self.fd.as_fd(), buf, &mut name, &mut control.0) {
            Ok(got) => got,
            Err(Errno::AGAIN) => return Ok(None),
            Err(errno) => return Err(self.error(ErrorKind::Recv { errno })),
        };
        let info = cmsg::ipv6_info(control.0.get(..got.control_len).unwrap_or(&[]));
        let src = cmsg::parse_sockaddr(name.get(..got.name_len).unwrap_or(&[]));
        let (Some(src), Some(dst), Some(ttl)) = (src, info.dst, info.hop_limit) else {
            return Err(self.error(ErrorKind::Ancillary));
        };
        let data: &'b [u8] = buf;
        Ok(Some(Received {
            src,
            dst: IpAddr::V6(dst),
            ttl,
            payload: data.get(..got.len).unwrap_or(data),
            truncated: got.truncated,
        }))
    }
}

impl AsFd for VrrpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
