//! Multicast or unicast (keepalived's `unicast_peer`): where an instance sends its adverts
//! and whose adverts it hears. Pure.

use crate::config::model::Family;
use crate::vrrp::packet::{MULTICAST_V4, MULTICAST_V6};
use std::net::IpAddr;

/// The VRRP multicast group of `family`.
pub fn group(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(MULTICAST_V4),
        Family::Ipv6 => IpAddr::V6(MULTICAST_V6),
    }
}

/// How one instance reaches the other routers of its virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode<'a> {
    /// Adverts go to this multicast group (224.0.0.18 / ff02::12 unless configured
    /// otherwise); any sender is heard, on this group or by unicast.
    Multicast(IpAddr),
    /// Adverts go to each peer; only the peers are heard (keepalived's
    /// `check_unicast_src`). Never empty (the configuration rejects an empty list rather
    /// than falling back to multicast).
    Unicast(&'a [IpAddr]),
    /// Adverts go to each peer; any unicast sender is heard (`check_unicast_src` off,
    /// keepalived's default: a peer behind NAT sends from another address).
    UnicastAnySource(&'a [IpAddr]),
}

impl Mode<'_> {
    /// Destinations of one advert.
    pub fn destinations(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let (group, peers) = match self {
            Mode::Multicast(group) => (Some(*group), &[][..]),
            Mode::Unicast(peers) | Mode::UnicastAnySource(peers) => (None, *peers),
        };
        group.into_iter().chain(peers.iter().copied())
    }

    /// True for the unicast modes.
    pub fn is_unicast(&self) -> bool {
        !matches!(self, Mode::Multicast(_))
    }

    /// True when an advert from `src` to `dst` may reach the instance. In unicast mode a
    /// stranger (a router of another cluster reusing the VRID, or a spoofer) is ignored;
    /// in multicast mode an advert to another group (one socket may have joined several)
    /// belongs to another virtual router.
    pub fn admits(&self, src: IpAddr, dst: IpAddr) -> bool {
        match self {
            Mode::Multicast(group) => dst == *group || !dst.is_multicast(),
            Mode::Unicast(peers) => peers.contains(&src),
            Mode::UnicastAnySource(_) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn multicast_sends_to_the_group_and_hears_everyone() {
        let m = Mode::Multicast(group(Family::Ipv4));
        assert_eq!(m.destinations().collect::<Vec<_>>(), [a("224.0.0.18")]);
        let v6 = Mode::Multicast(group(Family::Ipv6));
        assert_eq!(v6.destinations().collect::<Vec<_>>(), [a("ff02::12")]);
        assert!(m.admits(a("198.51.100.77"), a("224.0.0.18")));
        assert!(m.admits(a("198.51.100.77"), a("198.51.100.1")));
        assert!(!m.is_unicast());
    }

    #[test]
    fn a_configured_group_hears_only_its_own_group() {
        let m = Mode::Multicast(a("239.1.2.3"));
        assert_eq!(m.destinations().collect::<Vec<_>>(), [a("239.1.2.3")]);
        assert!(m.admits(a("198.51.100.2"), a("239.1.2.3")));
        assert!(!m.admits(a("198.51.100.2"), a("224.0.0.18")));
        let v6 = Mode::Multicast(a("ff02::1:12"));
        assert!(v6.admits(a("fe80::2"), a("ff02::1:12")));
        assert!(!v6.admits(a("fe80::2"), a("ff02::12")));
    }

    #[test]
    fn unicast_sends_to_each_peer_and_hears_only_them() {
        let peers = [a("198.51.100.2"), a("198.51.100.3")];
        let m = Mode::Unicast(&peers);
        let me = a("198.51.100.1");
        assert_eq!(m.destinations().collect::<Vec<_>>(), peers);
        assert!(m.is_unicast());
        assert!(m.admits(a("198.51.100.3"), me));
        assert!(!m.admits(a("198.51.100.4"), me));
        assert!(!m.admits(a("224.0.0.18"), me));
        let v6 = [a("fe80::2")];
        let m = Mode::Unicast(&v6);
        assert!(m.admits(a("fe80::2"), a("fe80::1")));
        assert!(!m.admits(a("fe80::3"), a("fe80::1")));
        assert!(!m.admits(a("2001:db8:1::2"), a("fe80::1")));
    }

    #[test]
    fn without_the_source_check_any_unicast_sender_is_heard() {
        let peers = [a("198.51.100.2")];
        let m = Mode::UnicastAnySource(&peers);
        assert_eq!(m.destinations().collect::<Vec<_>>(), peers);
        assert!(m.admits(a("203.0.113.9"), a("198.51.100.1")));
        assert!(m.admits(a("203.0.113.9"), a("224.0.0.18")));
    }
}
