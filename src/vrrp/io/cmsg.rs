//! Byte-level codec for what `sendmsg` / `recvmsg` exchange with the kernel: control
//! messages (`cmsghdr` + data, aligned to the word size), the IPv4/IPv6 packet-info
//! payloads and `sockaddr_in` / `sockaddr_in6`. Pure and panic-free on any input.

use super::sys;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const WORD: usize = std::mem::size_of::<usize>();
/// `CMSG_ALIGN(sizeof(struct cmsghdr))`: length word, level, type.
const HEADER: usize = align(WORD + 8);

const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
/// `sizeof(struct sockaddr_in6)`, the larger of the two socket addresses.
pub const SOCKADDR_LEN: usize = 28;
const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct in_pktinfo)`.
const IN_PKTINFO_LEN: usize = 12;
/// `sizeof(struct in6_pktinfo)`.
const IN6_PKTINFO_LEN: usize = 20;

const fn align(len: usize) -> usize {
    (len + WORD - 1) & !(WORD - 1)
}

/// `CMSG_SPACE(len)`: room one control message with `len` bytes of data takes.
pub const fn space(len: usize) -> usize {
    HEADER + align(len)
}

/// A control-message buffer aligned for `cmsghdr`, sized for what VRRP sends or receives
/// (IPv6 packet info and hop limit, with room to spare for anything else the kernel adds).
#[repr(C, align(8))]
pub struct Control(pub [u8; 2 * space(IN6_PKTINFO_LEN) + 2 * space(4)]);

impl Control {
    /// An all-zero buffer.
    pub fn new() -> Control {
        Control([0; 2 * space(IN6_PKTINFO_LEN) + 2 * space(4)])
    }
}

/// Writes one control message at the start of `buf`; returns the bytes used, or `None`
/// when it does not fit.
pub fn put(buf: &mut [u8], level: i32, kind: i32, data: &[u8]) -> Option<usize> {
    let used = space(data.len());
    let out = buf.get_mut(..used)?;
    out.fill(0);
    out[..WORD].copy_from_slice(&(HEADER + data.len()).to_ne_bytes());
    out[WORD..WORD + 4].copy_from_slice(&level.to_ne_bytes());
    out[WORD + 4..WORD + 8].copy_from_slice(&kind.to_ne_bytes());
    out[HEADER..HEADER + data.len()].copy_from_slice(data);
    Some(used)
}

/// The control messages in a received buffer, as (level, type, data).
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { rest: buf }
}

/// Iterator over control messages; stops at the first malformed header.
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Messages<'a> {
    type Item = (i32, i32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let word = |at: usize, n: usize| self.rest.get(at..at + n);
        let len = usize::from_ne_bytes(word(0, WORD)?.try_into().ok()?);
        let level = i32::from_ne_bytes(word(WORD, 4)?.try_into().ok()?);
        let kind = i32::from_ne_bytes(word(WORD + 4, 4)?.try_into().ok()?);
        let data = self.rest.get(HEADER..len)?;
        self.rest = self.rest.get(align(len)..).unwrap_or(&[]);
        Some((level, kind, data))
    }
}

/// `IP_PKTINFO` data for sending: leave from interface `ifindex` with source `src`.
pub fn in_pktinfo(ifindex: u32, src: Ipv4Addr) -> [u8; IN_PKTINFO_LEN] {
    let mut out = [0u8; IN_PKTINFO_LEN];
    out[..4].copy_from_slice(&ifindex.to_ne_bytes());
    out[4..8].copy_from_slice(&src.octets());
    out
}

/// `IPV6_PKTINFO` data: address `addr` on interface `ifindex`.
pub fn in6_pktinfo(ifindex: u32, addr: Ipv6Addr) -> [u8; IN6_PKTINFO_LEN] {
    let mut out = [0u8; IN6_PKTINFO_LEN];
    out[..16].copy_from_slice(&addr.octets());
    out[16..].copy_from_slice(&ifindex.to_ne_bytes());
    out
}

/// What a received IPv6 packet's control messages said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ipv6Info {
    /// Destination address (from `IPV6_PKTINFO`).
    pub dst: Option<Ipv6Addr>,
    /// Interface the packet arrived on (from `IPV6_PKTINFO`).
    pub ifindex: Option<u32>,
    /// Hop limit (from `IPV6_HOPLIMIT`).
    pub hop_limit: Option<u8>,
}

/// Picks the packet info and hop limit out of received control messages.
pub fn ipv6_info(control: &[u8]) -> Ipv6Info {
    let mut info = Ipv6Info::default();
    for (level, kind, data) in messages(control) {
        match (level, kind) {
            (sys::IPPROTO_IPV6, sys::IPV6_PKTINFO) => {
                if let Some(addr) = data.get(..16).and_then(|b| <[u8; 16]>::try_from(b).ok()) {
                    info.dst = Some(Ipv6Addr::from(addr));
                }
                if let Some(index) = data.get(16..20).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                    info.ifindex = Some(u32::from_ne_bytes(index));
                }
            }
            (sys::IPPROTO_IPV6, sys::IPV6_HOPLIMIT) => {
                // An int in 0..=255; anything else is not a hop limit.
                if let Some(b) = data.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                    info.hop_limit = u8::try_from(i32::from_ne_bytes(b)).ok();
                }
            }
            _ => {}
        }
    }
    info
}

/// `sockaddr_in` / `sockaddr_in6` for `addr` (port 0, as raw sockets want); IPv6 carries
/// `scope` as its scope id, which link-local and multicast destinations need.
pub fn sockaddr(addr: IpAddr, scope: u32) -> ([u8; SOCKADDR_LEN], usize) {
    let mut out = [0u8; SOCKADDR_LEN];
    match addr {
        IpAddr::V4(v4) => {
            out[..2].copy_from_slice(&AF_INET.to_ne_bytes());
            out[4..8].copy_from_slice(&v4.octets());
            (out, SOCKADDR_IN_LEN)
        }
        IpAddr::V6(v6) => {
            out[..2].copy_from_slice(&AF_INET6.to_ne_bytes());
            out[8..24].copy_from_slice(&v6.octets());
            out[24..28].copy_from_slice(&scope.to_ne_bytes());
            (out, SOCKADDR_LEN)
        }
    }
}

/// The address in a received `sockaddr_in` / `sockaddr_in6`.
pub fn parse_sockaddr(bytes: &[u8]) -> Option<IpAddr> {
    let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
    match family {
        AF_INET => Some(IpAddr::from(<[u8; 4]>::try_from(bytes.get(4..8)?).ok()?)),
        AF_INET6 => Some(IpAddr::from(<[u8; 16]>::try_from(bytes.get(8..24)?).ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn put_then_parse() {
        let mut buf = [0u8; 128];
        let pkt = in6_pktinfo(7, "ff02::12".parse().unwrap());
        let a = put(&mut buf, sys::IPPROTO_IPV6, sys::IPV6_PKTINFO, &pkt).unwrap();
        let b = put(&mut buf[a..], sys::IPPROTO_IPV6, sys::IPV6_HOPLIMIT, &255i32.to_ne_bytes()).unwrap();
        assert_eq!(a, space(20));
        let info = ipv6_info(&buf[..a + b]);
        assert_eq!(
            info,
            Ipv6Info { dst: Some("ff02::12".parse().unwrap()), ifindex: Some(7), hop_limit: Some(255) }
        );
        assert_eq!(put(&mut buf[..10], 0, 0, &[1, 2, 3]), None);
    }

    #[test]
    fn hop_limit_out_of_range_is_unknown() {
        let mut buf = [0u8; 64];
        let n = put(&mut buf, sys::IPPROTO_IPV6, sys::IPV6_HOPLIMIT, &(-1i32).to_ne_bytes()).unwrap();
        assert_eq!(ipv6_info(&buf[..n]).hop_limit, None);
    }

    #[test]
    fn sockaddrs_round_trip() {
        for a in ["198.51.100.1", "fe80::1", "2001:db8:1::2"] {
            let addr: IpAddr = a.parse().unwrap();
            let (bytes, len) = sockaddr(addr, 3);
            assert_eq!(parse_sockaddr(&bytes[..len]), Some(addr));
        }
        assert_eq!(parse_sockaddr(&[0, 0, 0]), None);
    }

    proptest! {
        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            for (_, _, data) in messages(&bytes) {
                prop_assert!(data.len() <= bytes.len());
            }
            let _ = ipv6_info(&bytes);
            let _ = parse_sockaddr(&bytes);
        }
    }
}
