//! Gratuitous ARP and unsolicited neighbour advertisement frames, built the way
//! keepalived 2.2.7 builds them on becoming master (tests/fixtures/announce/).
//!
//! Pure: each builder returns a whole Ethernet frame in a fixed-size array, ready for an
//! AF_PACKET socket ([`crate::net::packet_socket`]). Building the link header ourselves, as
//! keepalived does, fixes the source address and the hop limit (255, which RFC 4861
//! section 7.1.2 makes receivers check) whatever the IPv6 stack's state for the VIP.
//! Repeats and intervals (`garp_repeat`, `garp_interval`, `garp_refresh`) are the
//! caller's.

use crate::net::checksum;
use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An Ethernet (EUI-48) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The VRRP virtual router MAC of `vrid`: 00:00:5e:00:01:VRID for IPv4,
    /// 00:00:5e:00:02:VRID for IPv6 (RFC 9568 section 7.3), what `use_vmac` puts on the link.
    pub const fn virtual_router(vrid: u8, ipv6: bool) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid])
    }

    /// The Ethernet group address an IPv6 multicast address maps to (RFC 2464 section 7).
    pub const fn ipv6_multicast(group: Ipv6Addr) -> MacAddr {
        let g = group.octets();
        MacAddr([0x33, 0x33, g[12], g[13], g[14], g[15]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// IPv6 all-nodes group, where unsolicited advertisements go (RFC 4861 section 7.2.6).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// Hop limit of every neighbour discovery message; receivers drop anything else.
pub const ND_HOP_LIMIT: u8 = 255;

/// Ethernet header: destination, source, EtherType.
mod eth_field {
    pub type Field = core::ops::Range<usize>;
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const TYPE: Field = 12..14;
    pub const LEN: usize = 14;
}

/// ARP for Ethernet/IPv4 (RFC 826), offsets within the frame.
mod arp_field {
    use super::eth_field as eth;
    pub type Field = core::ops::Range<usize>;
    pub const HTYPE: Field = eth::LEN..eth::LEN + 2;
    pub const PTYPE: Field = eth::LEN + 2..eth::LEN + 4;
    pub const HLEN: usize = eth::LEN + 4;
    pub const PLEN: usize = eth::LEN + 5;
    pub const OPER: Field = eth::LEN + 6..eth::LEN + 8;
    pub const SHA: Field = eth::LEN + 8..eth::LEN + 14;
    pub const SPA: Field = eth::LEN + 14..eth::LEN + 18;
    pub const THA: Field = eth::LEN + 18..eth::LEN + 24;
    pub const TPA: Field = eth::LEN + 24..eth::LEN + 28;
    pub const END: usize = eth::LEN + 28;
}

/// IPv6 header, then ICMPv6 neighbour advertisement with one target link-layer address
/// option (RFC 8200 section 3, RFC 4861 sections 4.4 and 4.6.1), offsets within the frame.
mod na_field {
    use super::eth_field as eth;
    pub type Field = core::ops::Range<usize>;
    pub const IP6: usize = eth::LEN;
    pub const VER_TC_FLOW: Field = IP6..IP6 + 4;
    pub const PAYLOAD_LEN: Field = IP6 + 4..IP6 + 6;
    pub const NEXT_HEADER: usize = IP6 + 6;
    pub const HOP_LIMIT: usize = IP6 + 7;
    pub const SRC: Field = IP6 + 8..IP6 + 24;
    pub const DST: Field = IP6 + 24..IP6 + 40;
    pub const ICMP: usize = IP6 + 40;
    pub const TYPE: usize = ICMP;
    pub const CODE: usize = ICMP + 1;
    pub const CHECKSUM: Field = ICMP + 2..ICMP + 4;
    /// R, S and O in the top three bits; the other 29 bits are reserved (zero).
    pub const FLAGS: usize = ICMP + 4;
    pub const TARGET: Field = ICMP + 8..ICMP + 24;
    pub const OPT_TYPE: usize = ICMP + 24;
    pub const OPT_LEN: usize = ICMP + 25;
    pub const OPT_LLADDR: Field = ICMP + 26..ICMP + 32;
    pub const END: usize = ICMP + 32;
}

/// Bytes of a gratuitous ARP frame: keepalived sends it unpadded and leaves padding to the
/// minimum Ethernet size to the driver.
pub const GARP_LEN: usize = arp_field::END;
/// Bytes of an unsolicited neighbour advertisement frame.
pub const NA_LEN: usize = na_field::END;
/// ICMPv6 message length of the advertisement (header, target, one 8-byte option).
const NA_ICMP_LEN: u16 = (na_field::END - na_field::ICMP) as u16;

const ARP_HTYPE_ETHERNET: u16 = 1;
const ARP_OP_REQUEST: u16 = 1;
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_NEIGHBOUR_ADVERT: u8 = 136;
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_OVERRIDE: u8 = 0x20;
const ND_OPT_TARGET_LLADDR: u8 = 2;

/// The gratuitous ARP announcing that `vip` is at `mac`.
///
/// As keepalived: an ARP *request* (RFC 5227 section 3 says why requests, not replies),
/// broadcast, sender and target protocol address both the VIP, sender hardware address
/// `mac`, target hardware address all ones (where RFC 5227 would put zeros).
pub fn gratuitous_arp(vip: Ipv4Addr, mac: MacAddr) -> [u8; GARP_LEN] {
    let mut f = [0u8; GARP_LEN];
    write_ethernet(&mut f, MacAddr::BROADCAST, mac, ETHERTYPE_ARP);
    f[arp_field::HTYPE].copy_from_slice(&ARP_HTYPE_ETHERNET.to_be_bytes());
    f[arp_field::PTYPE].copy_from_slice(&0x0800u16.to_be_bytes());
    f[arp_field::HLEN] = 6;
    f[arp_field::PLEN] = 4;
    f[arp_field::OPER].copy_from_slice(&ARP_OP_REQUEST.to_be_bytes());
    f[arp_field::SHA].copy_from_slice(&mac.0);
    f[arp_field::SPA].copy_from_slice(&vip.octets());
    f[arp_field::THA].copy_from_slice(&MacAddr::BROADCAST.0);
    f[arp_field::TPA].copy_from_slice(&vip.octets());
    f
}

/// What one unsolicited neighbour advertisement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourAdvert {
    /// The VIP being announced (target address).
    pub target: Ipv6Addr,
    /// Link-layer address announced for it, also the frame's source.
    pub mac: MacAddr,
    /// IPv6 source address; keepalived uses the VIP itself (not a link-local address).
    pub source: Ipv6Addr,
    /// Router flag; keepalived sets it when IPv6 forwarding is on for the interface
    /// (`net.ipv6.conf.IFACE.forwarding`), so hosts keep using the VIP as a router.
    pub router: bool,
}

impl NeighbourAdvert {
    /// The advertisement keepalived sends for `vip` at `mac`: from the VIP itself.
    pub const fn for_vip(vip: Ipv6Addr, mac: MacAddr, router: bool) -> NeighbourAdvert {
        NeighbourAdvert { target: vip, mac, source: vip, router }
    }
}

/// The unsolicited neighbour advertisement frame for `na` (RFC 4861 section 7.2.6).
///
/// As keepalived: to all-nodes (ff02::1, Ethernet 33:33:00:00:00:01), hop limit 255,
/// traffic class and flow label zero, flags Override (and Router when asked), Solicited
/// clear, one target link-layer address option; ICMPv6 checksum over the IPv6
/// pseudo-header.
pub fn neighbour_advert(na: &NeighbourAdvert) -> [u8; NA_LEN] {
    let mut f = [0u8; NA_LEN];
    write_ethernet(&mut f, MacAddr::ipv6_multicast(ALL_NODES), na.mac, ETHERTYPE_IPV6);
    f[na_field::VER_TC_FLOW].copy_from_slice(&(6u32 << 28).to_be_bytes());
    f[na_field::PAYLOAD_LEN].copy_from_slice(&NA_ICMP_LEN.to_be_bytes());
    f[na_field::NEXT_HEADER] = IPPROTO_ICMPV6;
    f[na_field::HOP_LIMIT] = ND_HOP_LIMIT;
    f[na_field::SRC].copy_from_slice(&na.source.octets());
    f[na_field::DST].copy_from_slice(&ALL_NODES.octets());
    f[na_field::TYPE] = ICMPV6_NEIGHBOUR_ADVERT;
    f[na_field::CODE] = 0;
    f[na_field::FLAGS] = NA_FLAG_OVERRIDE | if na.router { NA_FLAG_ROUTER } else { 0 };
    f[na_field::TARGET].copy_from_slice(&na.target.octets());
    f[na_field::OPT_TYPE] = ND_OPT_TARGET_LLADDR;
    f[na_field::OPT_LEN] = 1; // in units of 8 bytes
    f[na_field::OPT_LLADDR].copy_from_slice(&na.mac.0);
    let sum = checksum::sum(&f[na_field::ICMP..])
        + checksum::pseudo_header(
            IpAddr::V6(na.source),
            IpAddr::V6(ALL_NODES),
            IPPROTO_ICMPV6,
            u32::from(NA_ICMP_LEN),
        )
        // Both addresses are IPv6, so the pseudo-header always forms.
        .unwrap_or(0);
    f[na_field::CHECKSUM].copy_from_slice(&checksum::finish(sum).to_be_bytes());
    f
}

fn write_ethernet(f: &mut [u8], dst: MacAddr, src: MacAddr, ethertype: u16) {
    f[eth_field::DST].copy_from_slice(&dst.0);
    f[eth_field::SRC].copy_from_slice(&src.0);
    f[eth_field::TYPE].copy_from_slice(&ethertype.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOST_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn mac_addresses() {
        assert_eq!(MacAddr::virtual_router(64, false).to_string(), "00:00:5e:00:01:40");
        assert_eq!(MacAddr::virtual_router(65, true).to_string(), "00:00:5e:00:02:41");
        assert_eq!(MacAddr::ipv6_multicast(ALL_NODES).to_string(), "33:33:00:00:00:01");
        assert_eq!(MacAddr::ipv6_multicast(v6("ff02::1:ff00:100")).to_string(), "33:33:ff:00:01:00");
    }

    /// Frames captured from keepalived 2.2.7 (tests/fixtures/announce/capture.sh) rebuild
    /// byte for byte from the parameters keepalived was given.
    #[test]
    fn keepalived_garp_fixtures() {
        let vip = Ipv4Addr::new(198, 51, 100, 100);
        let cases: &[(&str, &[u8], MacAddr)] = &[
            ("garp-ipv4", include_bytes!("../../tests/fixtures/announce/garp-ipv4.bin"), HOST_MAC),
            (
                "garp-ipv4-vmac",
                include_bytes!("../../tests/fixtures/announce/garp-ipv4-vmac.bin"),
                MacAddr::virtual_router(64, false),
            ),
        ];
        for (name, captured, mac) in cases {
            assert_eq!(&gratuitous_arp(vip, *mac)[..], *captured, "{name}");
        }
    }

    #[test]
    fn keepalived_na_fixtures() {
        let vip = v6("2001:db8:1::100");
        let cases: &[(&str, &[u8], NeighbourAdvert)] = &[
            (
                "na-ipv6",
                include_bytes!("../../tests/fixtures/announce/na-ipv6.bin"),
                NeighbourAdvert::for_vip(vip, HOST_MAC, false),
            ),
            (
                "na-ipv6-router",
                include_bytes!("../../tests/fixtures/announce/na-ipv6-router.bin"),
                NeighbourAdvert::for_vip(vip, HOST_MAC, true),
            ),
            (
                "na-ipv6-vmac",
                include_bytes!("../../tests/fixtures/announce/na-ipv6-vmac.bin"),
                NeighbourAdvert::for_vip(vip, MacAddr::virtual_router(65, true), false),
            ),
        ];
        for (name, captured, advert) in cases {
            assert_eq!(&neighbour_advert(advert)[..], *captured, "{name}");
        }
    }

    /// A source other than the VIP (a link-local address, say) goes into the header and
    /// the checksum.
    #[test]
    fn other_source_address() {
        let vip = v6("2001:db8:1::100");
        let na = NeighbourAdvert {
            source: v6("fe80::ff:fe00:1"),
            ..NeighbourAdvert::for_vip(vip, HOST_MAC, false)
        };
        let f = neighbour_advert(&na);
        assert_eq!(&f[na_field::SRC], &na.source.octets());
        assert_eq!(&f[na_field::TARGET], &vip.octets());
        assert_ne!(
            f[na_field::CHECKSUM],
            neighbour_advert(&NeighbourAdvert::for_vip(vip, HOST_MAC, false))[na_field::CHECKSUM]
        );
        assert_eq!(icmp_checksum_residue(&f), 0);
    }

    /// The one's-complement sum over pseudo-header and message: 0 when the checksum is right.
    fn icmp_checksum_residue(f: &[u8]) -> u16 {
        let src = Ipv6Addr::from(<[u8; 16]>::try_from(&f[na_field::SRC]).unwrap());
        let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&f[na_field::DST]).unwrap());
        let icmp = &f[na_field::ICMP..];
        let ph = checksum::pseudo_header(src.into(), dst.into(), IPPROTO_ICMPV6, icmp.len() as u32).unwrap();
        checksum::finish(checksum::sum(icmp) + ph)
    }

    proptest! {
        #[test]
        fn garp_for_any_input(vip in any::<[u8; 4]>(), mac in any::<[u8; 6]>()) {
            let f = gratuitous_arp(Ipv4Addr::from(vip), MacAddr(mac));
            prop_assert_eq!(&f[eth_field::SRC], &mac);
            prop_assert_eq!(&f[arp_field::SPA], &vip);
            prop_assert_eq!(&f[arp_field::TPA], &vip);
        }

        #[test]
        fn na_for_any_input(
            target in any::<[u8; 16]>(),
            source in any::<[u8; 16]>(),
            mac in any::<[u8; 6]>(),
            router in any::<bool>(),
        ) {
            let na = NeighbourAdvert {
                target: target.into(),
                mac: MacAddr(mac),
                source: source.into(),
                router,
            };
            let f = neighbour_advert(&na);
            prop_assert_eq!(icmp_checksum_residue(&f), 0);
            prop_assert_eq!(f[na_field::HOP_LIMIT], ND_HOP_LIMIT);
            prop_assert_eq!(f[na_field::FLAGS] & NA_FLAG_ROUTER != 0, router);
            prop_assert_eq!(&f[na_field::OPT_LLADDR], &mac);
        }
    }
}
