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
    /// Adverts go to the VRRP group; any sender is heard.
    Multicast,
    /// Adverts go to each peer; only the peers are heard. Never empty (the configuration
    /// rejects an empty list rather than falling back to multicast).
    Unicast(&'a [IpAddr]),
}

impl Mode<'_> {
    /// Destinations of one advert of `family`.
    pub fn destinations(&self, family: Family) -> impl Iterator<Item = IpAddr> + '_ {
        let (group, peers) = match self {
            Mode::Multicast => (Some(group(family)), &[][..]),
            Mode::Unicast(peers) => (None, *peers),
        };
        group.into_iter().chain(peers.iter().copied())
    }

    /// True when an advert from `src` may reach the instance. In unicast mode a stranger
    /// (a router of another cluster reusing the VRID, or a spoofer) is ignored, as
    /// keepalived does with `check_unicast_src`.
    pub fn admits(&self, src: IpAddr) -> bool {
        match self {
            Mode::Multicast => true,
            Mode::Unicast(peers) => peers.contains(&src),
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
        let m = Mode::Multicast;
        assert_eq!(m.destinations(Family::Ipv4).collect::<Vec<_>>(), [a("224.0.0.18")]);
        assert_eq!(m.destinations(Family::Ipv6).collect::<Vec<_>>(), [a("ff02::12")]);
        assert!(m.admits(a("198.51.100.77")));
    }

    #[test]
    fn unicast_sends_to_each_peer_and_hears_only_them() {
        let peers = [a("198.51.100.2"), a("198.51.100.3")];
        let m = Mode::Unicast(&peers);
        assert_eq!(m.destinations(Family::Ipv4).collect::<Vec<_>>(), peers);
        assert!(m.admits(a("198.51.100.3")));
        assert!(!m.admits(a("198.51.100.4")));
        assert!(!m.admits(a("224.0.0.18")));
        let v6 = [a("fe80::2")];
        let m = Mode::Unicast(&v6);
        assert!(m.admits(a("fe80::2")));
        assert!(!m.admits(a("fe80::3")));
        assert!(!m.admits(a("2001:db8:1::2")));
    }
}
