//! Interface addresses: add and delete a VIP, list a link's addresses, and find the
//! addresses VRRP sends from (the primary IPv4 address, the IPv6 link-local one).

use super::error::{Cause, Error, Op};
use super::link::Link;
use super::netlink::Socket;
use heapless::Vec as Fixed;
use netlink_packet_core::{
    Emitable, NlasIterator, Parseable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeader, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::AddressFamily;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `RTM_NEWADDR`: an address (a dump entry, or a notification that one was added or changed).
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`: an address was removed.
pub const RTM_DELADDR: u16 = 21;
const RTM_GETADDR: u16 = 22;

/// Most addresses [`list`] returns for one link (VIPs, the primary, IPv6 autoconf).
// Belongs in crate::limits with the other capacities; kept here until that file's owner
// takes it.
pub const ADDRESSES_PER_LINK: usize = 64;
/// Dumps the kernel interrupts (a change raced the dump) are retried this many times.
const DUMP_ATTEMPTS: usize = 3;

// The IFA_* attributes keeplite reads (linux/if_addr.h).
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;

/// `IFA_F_*` flags of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    const SECONDARY: u32 = 0x01;
    const NODAD: u32 = 0x02;
    const DADFAILED: u32 = 0x08;
    const DEPRECATED: u32 = 0x20;
    const TENTATIVE: u32 = 0x40;

    /// `IFA_F_SECONDARY`: not the first address of its subnet on the link.
    pub fn secondary(self) -> bool {
        self.0 & Self::SECONDARY != 0
    }
    /// `IFA_F_NODAD`: added without duplicate address detection.
    pub fn nodad(self) -> bool {
        self.0 & Self::NODAD != 0
    }
    /// `IFA_F_TENTATIVE`: DAD still running; the address cannot be bound yet.
    pub fn tentative(self) -> bool {
        self.0 & Self::TENTATIVE != 0
    }
    /// `IFA_F_DADFAILED`: another host has it; it will never become usable.
    pub fn dad_failed(self) -> bool {
        self.0 & Self::DADFAILED != 0
    }
    /// `IFA_F_DEPRECATED`: preferred lifetime over.
    pub fn deprecated(self) -> bool {
        self.0 & Self::DEPRECATED != 0
    }
}

/// One address of one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    /// Index of the link it is on.
    pub index: u32,
    /// The local address (`IFA_LOCAL`, or `IFA_ADDRESS` when there is no local one).
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
    /// `IFA_F_*` flags.
    pub flags: AddrFlags,
}

impl Address {
    /// Usable as a source address: not tentative and not a DAD failure.
    pub fn usable(&self) -> bool {
        !self.flags.tentative() && !self.flags.dad_failed()
    }

    /// Decodes an `RTM_NEWADDR` / `RTM_DELADDR` payload; `None` when it is malformed or of
    /// a family other than IPv4 and IPv6.
    ///
    /// As for links, only the attributes used are decoded, so an attribute this version of
    /// netlink-packet-route cannot parse does not hide the address.
    pub fn parse(payload: &[u8]) -> Option<Address> {
        let header = AddressHeader::parse(payload).ok()?;
        let max_prefix = match header.family {
            AddressFamily::Inet => 32,
            AddressFamily::Inet6 => 128,
            _ => return None,
        };
        let mut local = None;
        let mut address = None;
        // IFA_FLAGS carries all 32 bits; the header keeps only the low 8 (old kernels).
        let mut flags = u32::from(header.flags.bits());
        for nla in NlasIterator::new(payload.get(header.buffer_len()..)?) {
            let nla = nla.ok()?;
            if !matches!(nla.kind(), IFA_ADDRESS | IFA_LOCAL | IFA_FLAGS) {
                continue;
            }
            match AddressAttribute::parse(&nla).ok()? {
                AddressAttribute::Local(a) => local = Some(a),
                AddressAttribute::Address(a) => address = Some(a),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        // On a point-to-point link IFA_ADDRESS is the peer; IFA_LOCAL is ours.
        let addr = local.or(address)?;
        let family_matches = addr.is_ipv4() == (header.family == AddressFamily::Inet);
        (family_matches && header.prefix_len <= max_prefix && header.index != 0).then_some(Address {
            index: header.index,
            addr,
            prefix: header.prefix_len,
            flags: AddrFlags(flags),
        })
    }
}

/// The primary IPv4 address among `addrs` of link `index`: the first that is not secondary.
pub fn pick_primary_ipv4<'a>(addrs: impl IntoIterator<Item = &'a Address>, index: u32) -> Option<Ipv4Addr> {
    addrs.into_iter().find_map(|a| match a.addr {
        IpAddr::V4(v4) if a.index == index && !a.flags.secondary() => Some(v4),
        _ => None,
    })
}

/// The first usable IPv6 link-local address among `addrs` of link `index`.
pub fn pick_link_local<'a>(addrs: impl IntoIterator<Item = &'a Address>, index: u32) -> Option<Ipv6Addr> {
    addrs.into_iter().find_map(|a| match a.addr {
        IpAddr::V6(v6) if a.index == index && v6.is_unicast_link_local() && a.usable() => Some(v6),
        _ => None,
    })
}

/// What `ip address add` takes beside the address: keepalived's per-VIP options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extra<'a> {
    /// IPv4 label (`eth1:1`); the kernel's default is the link's name.
    pub label: Option<&'a str>,
    /// `IFA_SCOPE`: 0 global (the default), 200 site, 253 link, 254 host.
    pub scope: u8,
    /// IPv4 broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// Point-to-point peer: sent as `IFA_ADDRESS` (the prefix is the peer's).
    pub peer: Option<IpAddr>,
    /// `IFA_F_NOPREFIXROUTE`: no route for the prefix.
    pub noprefixroute: bool,
}

/// The `RTM_NEWADDR` / `RTM_DELADDR` body for `addr/prefix` on link `index`.
fn message_with(index: u32, addr: IpAddr, prefix: u8, extra: &Extra<'_>) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    msg.header.prefix_len = prefix;
    msg.header.index = index;
    msg.header.scope = AddressScope::from(extra.scope);
    // As iproute2 does: IFA_LOCAL is the address, IFA_ADDRESS the same on a non-p2p link
    // and the peer on a point-to-point one.
    msg.attributes.push(AddressAttribute::Local(addr));
    msg.attributes.push(AddressAttribute::Address(extra.peer.unwrap_or(addr)));
    if addr.is_ipv4() {
        if let Some(label) = extra.label {
            msg.attributes.push(AddressAttribute::Label(label.to_owned()));
        }
        if let Some(b) = extra.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(b));
        }
    }
    msg
}

fn check_prefix(addr: IpAddr, prefix: u8) -> Result<(), Cause> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > max {
        return Err(Cause::BadPrefix);
    }
    Ok(())
}

/// Adds `addr/prefix` to `link`. IPv6 addresses skip DAD (`IFA_F_NODAD`, as keepalived
/// does): a VIP must answer at once after a failover, and VRRP itself guarantees that one
/// router holds it. An address already there is [`super::ErrorKind::Exists`].
pub fn add(sock: &mut Socket, link: &Link, addr: IpAddr, prefix: u8) -> Result<(), Error> {
    add_with(sock, link, addr, prefix, &Extra::default())
}

/// [`add`] with the options of `extra`.
pub fn add_with(
    sock: &mut Socket,
    link: &Link,
    addr: IpAddr,
    prefix: u8,
    extra: &Extra<'_>,
) -> Result<(), Error> {
    let op = || Op::AddAddress { link: link.name.clone(), addr, prefix };
    check_prefix(addr, prefix).map_err(|cause| Error::new(op(), cause))?;
    let msg = add_message(link.index, addr, prefix, extra);
    sock.request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &msg, |_| {})
        .map_err(|cause| Error::new(op(), cause))
}

/// The `RTM_NEWADDR` body [`add_with`] sends.
fn add_message(index: u32, addr: IpAddr, prefix: u8, extra: &Extra<'_>) -> AddressMessage {
    let mut msg = message_with(index, addr, prefix, extra);
    let mut flags = AddressFlags::empty();
    if addr.is_ipv6() {
        msg.header.flags = AddressHeaderFlags::Nodad;
        flags |= AddressFlags::Nodad;
    }
    if extra.noprefixroute {
        flags |= AddressFlags::Noprefixroute;
    }
    if !flags.is_empty() {
        msg.attributes.push(AddressAttribute::Flags(flags));
    }
    msg
}

/// Deletes `addr/prefix` from `link`. An address not there (or there with another prefix
/// length) is [`super::ErrorKind::NotThere`].
pub fn delete(sock: &mut Socket, link: &Link, addr: IpAddr, prefix: u8) -> Result<(), Error> {
    delete_with(sock, link, addr, prefix, &Extra::default())
}

/// [`delete`] of an address added with `extra` (the peer and label must match).
pub fn delete_with(
    sock: &mut Socket,
    link: &Link,
    addr: IpAddr,
    prefix: u8,
    extra: &Extra<'_>,
) -> Result<(), Error> {
    let op = || Op::DelAddress { link: link.name.clone(), addr, prefix };
    check_prefix(addr, prefix).map_err(|cause| Error::new(op(), cause))?;
    let msg = message_with(link.index, addr, prefix, &Extra { broadcast: None, ..*extra });
    sock.request(RTM_DELADDR, NLM_F_ACK, &msg, |_| {}).map_err(|cause| Error::new(op(), cause))
}

/// Dumps the addresses of `family` (`None`: both), handing those on `link` to `visit`,
/// which folds them into a fresh `init()` each attempt.
fn dump<T>(
    sock: &mut Socket,
    link: &Link,
    family: Option<AddressFamily>,
    init: impl Fn() -> T,
    mut visit: impl FnMut(&mut T, Address),
) -> Result<T, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut msg = AddressMessage::default();
        msg.header.family = family.unwrap_or(AddressFamily::Unspec);
        // The kernel filters a dump by index only with strict checking enabled; the
        // filter below works either way.
        msg.header.index = link.index;
        let mut acc = init();
        let result = sock.request(RTM_GETADDR, NLM_F_ACK | NLM_F_DUMP, &msg, |frame| {
            if frame.kind != RTM_NEWADDR {
                return;
            }
            // A malformed entry is skipped: one odd address elsewhere must not hide the
            // rest of the table.
            match Address::parse(frame.payload) {
                Some(a) if a.index == link.index => visit(&mut acc, a),
                _ => {}
            }
        });
        match result {
            Ok(()) => return Ok(acc),
            Err(Cause::Interrupted) if attempt < DUMP_ATTEMPTS => continue,
            Err(cause) => return Err(Error::new(Op::ListAddresses(link.name.clone()), cause)),
        }
    }
}

/// All IPv4 and IPv6 addresses of `link`, in the kernel's order (for IPv4, the primary
/// address of each subnet before its secondaries).
pub fn list(sock: &mut Socket, link: &Link) -> Result<Fixed<Address, ADDRESSES_PER_LINK>, Error> {
    let (addrs, overflow) = dump(
        sock,
        link,
        None,
        || (Fixed::new(), false),
        |(addrs, overflow): &mut (Fixed<Address, ADDRESSES_PER_LINK>, bool), a| {
            *overflow |= addrs.push(a).is_err();
        },
    )?;
    if overflow {
        let cause = Cause::Capacity { what: "addresses on one link", limit: ADDRESSES_PER_LINK };
        return Err(Error::new(Op::ListAddresses(link.name.clone()), cause));
    }
    Ok(addrs)
}

/// The primary IPv4 address of `link` (what VRRPv2/v3 over IPv4 sends from), if any.
pub fn primary_ipv4(sock: &mut Socket, link: &Link) -> Result<Option<Ipv4Addr>, Error> {
    // Streamed, not listed: a link with more addresses than ADDRESSES_PER_LINK still has one.
    dump(
        sock,
        link,
        Some(AddressFamily::Inet),
        || None,
        |found, a| {
            if found.is_none() {
                *found = pick_primary_ipv4([&a], link.index);
            }
        },
    )
}

/// A usable IPv6 link-local address of `link` (what VRRPv3 over IPv6 sends from), if any.
/// `None` while DAD still runs on it: wait for the monitor's address event and ask again.
pub fn link_local_ipv6(sock: &mut Socket, link: &Link) -> Result<Option<Ipv6Addr>, Error> {
    dump(
        sock,
        link,
        Some(AddressFamily::Inet6),
        || None,
        |found, a| {
            if found.is_none() {
                *found = pick_link_local([&a], link.index);
            }
        },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The payload of an RTM_NEWADDR as the kernel would send it.
    pub(crate) fn newaddr(index: u32, addr: IpAddr, prefix: u8, flags: u32) -> Vec<u8> {
        let mut msg = message_with(index, addr, prefix, &Extra::default());
        msg.header.flags = AddressHeaderFlags::from_bits_retain(flags as u8);
        msg.attributes.push(AddressAttribute::Flags(AddressFlags::from_bits_retain(flags)));
        let mut out = vec![0; msg.buffer_len()];
        msg.emit(&mut out);
        out
    }

    fn a(index: u32, addr: &str, prefix: u8, flags: u32) -> Address {
        Address::parse(&newaddr(index, addr.parse().unwrap(), prefix, flags)).unwrap()
    }

    #[test]
    fn parses_addresses_and_flags() {
        let v6 = a(2, "2001:db8:1::7", 64, 0x02 | 0x40);
        assert_eq!((v6.index, v6.prefix), (2, 64));
        assert!(v6.flags.nodad() && v6.flags.tentative() && !v6.usable());
        // Flags above the header's 8 bits come from IFA_FLAGS.
        let v4 = a(2, "198.51.100.7", 24, 0x101);
        assert!(v4.flags.secondary());
        assert_eq!(v4.flags.0, 0x101);
    }

    #[test]
    fn options_are_encoded() {
        let extra = Extra {
            label: Some("eth1:1"),
            scope: 253,
            broadcast: Some(Ipv4Addr::new(192, 0, 2, 255)),
            peer: None,
            noprefixroute: true,
        };
        let msg = add_message(3, "192.0.2.7".parse().unwrap(), 24, &extra);
        let mut out = vec![0; msg.buffer_len()];
        msg.emit(&mut out);
        // ifaddrmsg: family, prefix, flags, scope, index.
        assert_eq!(out[..8], [2, 24, 0, 253, 3, 0, 0, 0]);
        let nlas: Vec<(u16, Vec<u8>)> = NlasIterator::new(&out[8..])
            .map(|n| n.unwrap())
            .map(|n| (n.kind(), n.value().to_vec()))
            .collect();
        assert_eq!(
            nlas,
            vec![
                (IFA_LOCAL, vec![192, 0, 2, 7]),
                (IFA_ADDRESS, vec![192, 0, 2, 7]),
                (3, b"eth1:1\0".to_vec()),
                (4, vec![192, 0, 2, 255]),
                (IFA_FLAGS, 0x200u32.to_ne_bytes().to_vec()),
            ]
        );
        // A peer is IFA_ADDRESS; an IPv6 address carries no label and is added without DAD.
        let peer = Extra { peer: Some("2001:db8::2".parse().unwrap()), label: Some("x"), ..Extra::default() };
        let msg = add_message(3, "2001:db8::1".parse().unwrap(), 128, &peer);
        assert!(msg.attributes.contains(&AddressAttribute::Address("2001:db8::2".parse().unwrap())));
        assert!(msg.attributes.contains(&AddressAttribute::Flags(AddressFlags::Nodad)));
        assert!(!msg.attributes.iter().any(|a| matches!(a, AddressAttribute::Label(_))));
    }

    #[test]
    fn local_wins_over_peer() {
        let mut msg = AddressMessage::default();
        msg.header.family = AddressFamily::Inet;
        msg.header.prefix_len = 32;
        msg.header.index = 4;
        msg.attributes.push(AddressAttribute::Address("198.51.100.2".parse().unwrap()));
        msg.attributes.push(AddressAttribute::Local("198.51.100.1".parse().unwrap()));
        let mut out = vec![0; msg.buffer_len()];
        msg.emit(&mut out);
        assert_eq!(Address::parse(&out).unwrap().addr, "198.51.100.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn rejects_inconsistent_addresses() {
        // IPv6 address under an IPv4 header, prefix too long, no address at all.
        let mut bad = newaddr(2, "2001:db8::1".parse().unwrap(), 64, 0);
        bad[0] = 2; // AF_INET
        assert!(Address::parse(&bad).is_none());
        assert!(Address::parse(&newaddr(2, "198.51.100.1".parse().unwrap(), 33, 0)).is_none());
        assert!(Address::parse(&[2, 24, 0, 0, 2, 0, 0, 0]).is_none());
        assert!(Address::parse(&[2, 24, 0]).is_none());
    }

    #[test]
    fn picks_primary_and_link_local() {
        let addrs = [
            a(1, "198.51.100.99", 24, 0),
            a(2, "2001:db8:1::1", 64, 0),
            a(2, "fe80::1", 64, 0x40), // tentative
            a(2, "198.51.100.7", 24, 0x01),
            a(2, "198.51.100.1", 24, 0),
            a(2, "fe80::2", 64, 0x80),
        ];
        assert_eq!(pick_primary_ipv4(&addrs, 2), Some(Ipv4Addr::new(198, 51, 100, 1)));
        assert_eq!(pick_link_local(&addrs, 2), Some("fe80::2".parse().unwrap()));
        assert_eq!(pick_link_local(&addrs, 1), None);
        assert!("febf::1".parse::<Ipv6Addr>().unwrap().is_unicast_link_local());
        assert!(!"fec0::1".parse::<Ipv6Addr>().unwrap().is_unicast_link_local());
    }
}
