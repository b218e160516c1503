//! A packet as a VRRP socket received it, and its parse into an advert or a discard that
//! the daemon can count on the instance the packet was meant for.

use crate::vrrp::counters::Discard;
use crate::vrrp::packet::{Packet, Repr};
use std::net::IpAddr;

/// One received VRRP packet; `payload` borrows the caller's receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<'a> {
    pub src: IpAddr,
    /// Destination: the VRRP group, or this host's address for unicast adverts.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit, for the instance's "must be 255" check.
    pub ttl: u8,
    /// The VRRP message (the IP payload).
    pub payload: &'a [u8],
    /// The packet was longer than the receive buffer: `payload` is cut short.
    pub truncated: bool,
}

/// Why a received packet is not an advert, and the VRID it named if it got that far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    pub reason: Discard,
    /// The VRID byte, when the packet was long enough to carry one: the daemon counts the
    /// discard on that instance (`Instance::count_discard`), else only globally.
    pub vrid: Option<u8>,
}

impl<'a> Received<'a> {
    /// The VRID byte, when the payload is long enough to carry one.
    pub fn vrid(&self) -> Option<u8> {
        self.payload.get(1).copied()
    }

    /// The message and the bytes after it (an `auth_hmac` trailer, or nothing), once
    /// [`parse`](Self::parse) took the packet.
    pub fn message_and_rest(&self) -> (&'a [u8], &'a [u8]) {
        let payload: &'a [u8] = self.payload;
        let claimed = Packet::new_checked(payload).map(|p| p.claimed_len(self.src.is_ipv6()));
        match claimed {
            Ok(len) if len <= payload.len() => payload.split_at(len),
            _ => (payload, &[]),
        }
    }

    /// Parses the advert (wire checks only: version, length, checksum, type).
    pub fn parse(&self) -> Result<Repr, Rejected> {
        let reject = |reason| Rejected { reason, vrid: self.vrid() };
        if self.truncated {
            return Err(reject(Discard::Length));
        }
        let packet = Packet::new_checked(self.payload).map_err(|e| reject(e.into()))?;
        Repr::parse(&packet, self.src, self.dst).map_err(|e| reject(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::io::ipv4;
    use crate::vrrp::packet::{Auth, Version, MULTICAST_V4};
    use proptest::prelude::*;

    fn advert() -> Repr {
        Repr {
            version: Version::V3,
            vrid: 9,
            priority: 100,
            interval: 100,
            addresses: ["198.51.100.100".parse().unwrap()].into_iter().collect(),
            auth: Auth::None,
        }
    }

    #[test]
    fn parses_or_names_the_vrid() {
        let src: IpAddr = "198.51.100.1".parse().unwrap();
        let dst = IpAddr::V4(MULTICAST_V4);
        let repr = advert();
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf, src, dst);
        let rx = Received { src, dst, ttl: 255, payload: &buf, truncated: false };
        assert_eq!(rx.parse(), Ok(repr));
        let other_src = Received { src: "198.51.100.9".parse().unwrap(), ..rx };
        assert_eq!(other_src.parse(), Err(Rejected { reason: Discard::Checksum, vrid: Some(9) }));
        let cut = Received { truncated: true, ..rx };
        assert_eq!(cut.parse(), Err(Rejected { reason: Discard::Length, vrid: Some(9) }));
        let tiny = Received { payload: &buf[..1], ..rx };
        assert_eq!(tiny.parse(), Err(Rejected { reason: Discard::Length, vrid: None }));
        let short = Received { payload: &buf[..5], ..rx };
        assert_eq!(short.parse(), Err(Rejected { reason: Discard::Length, vrid: Some(9) }));
    }

    proptest! {
        /// Whatever an IPv4 raw socket could hand over, splitting and parsing it ends in an
        /// advert or a discard, never a panic; a discard names the VRID when there is one.
        #[test]
        fn any_ipv4_packet_is_an_advert_or_a_discard(
            header in proptest::collection::vec(any::<u8>(), 20..=20),
            ihl in 0u8..16,
            total in any::<u16>(),
            rest in proptest::collection::vec(any::<u8>(), 0..600),
            version_3 in any::<bool>(),
        ) {
            let mut bytes = header;
            bytes[0] = 0x40 | ihl;
            bytes[2..4].copy_from_slice(&total.to_be_bytes());
            bytes.extend_from_slice(&rest);
            // Mostly plausible VRRP first bytes, so parsing goes deep as well as wide.
            if let Some(b) = bytes.get_mut(usize::from(ihl) * 4) {
                *b = if version_3 { 0x31 } else { 0x21 };
            }
            if let Ok(ip) = ipv4::split(&bytes) {
                let rx = Received {
                    src: IpAddr::V4(ip.src),
                    dst: IpAddr::V4(ip.dst),
                    ttl: ip.ttl,
                    payload: ip.payload,
                    truncated: ip.truncated,
                };
                match rx.parse() {
                    Ok(repr) => prop_assert!(repr.buffer_len() <= ip.payload.len()),
                    Err(r) => prop_assert_eq!(r.vrid, ip.payload.get(1).copied()),
                }
            }
        }
    }
}
