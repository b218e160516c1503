//! The interfaces VRRP runs on or tracks: their state and the addresses adverts are sent
//! from, kept current from rtnetlink notifications.
//!
//! Interfaces are followed by name, not by index: OpenWrt's netifd deletes and re-creates
//! `br-lan` (a new index) on many `network reload`s, PPPoE and Wi-Fi links appear late,
//! and keeplite may start before its interfaces exist. One that does not exist is kept as
//! absent (index 0, down); one that appears, or comes back under a new index, is adopted.

use crate::net::address;
use crate::net::error::ErrorKind;
use crate::net::link::{self, IfName, Link, OperState};
use crate::net::monitor::Event;
use crate::net::netlink::Socket;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One interface as VRRP sees it.
#[derive(Debug, Clone)]
pub struct Iface {
    pub link: Link,
    /// First non-secondary IPv4 address: the IPv4 advert source and tie-breaker.
    pub primary4: Option<Ipv4Addr>,
    /// Usable link-local IPv6 address: the IPv6 advert source (RFC 9568 section 5.1.2.1).
    pub link_local6: Option<Ipv6Addr>,
}

impl Iface {
    /// An interface that does not exist (yet): down, with no index and no addresses.
    fn absent(name: IfName) -> Iface {
        let link = Link {
            index: 0,
            name,
            mac: None,
            admin_up: false,
            running: false,
            lower_up: false,
            oper: OperState::Unknown,
            mtu: 0,
            parent: None,
            master: None,
            vrf: false,
        };
        Iface { link, primary4: None, link_local6: None }
    }

    /// True while the interface exists.
    pub fn present(&self) -> bool {
        self.link.index != 0
    }

    /// The address adverts of this family go out from, unless `src_ip` says otherwise.
    pub fn source(&self, ipv6: bool) -> Option<IpAddr> {
        if ipv6 {
            self.link_local6.map(IpAddr::V6)
        } else {
            self.primary4.map(IpAddr::V4)
        }
    }
}

/// Every interface keeplite cares about, by position.
#[derive(Debug, Default)]
pub struct Links {
    pub ifaces: Vec<Iface>,
    /// The configured VIPs: never an advert source, even when the kernel lists one first
    /// (it lists the newest IPv6 address first, and a link-local VIP is newer than the
    /// interface's own).
    vips: Vec<IpAddr>,
}

impl Links {
    /// Reads `names` from the kernel; one that does not exist is kept as absent.
    pub fn load<'a>(
        sock: &mut Socket,
        names: impl IntoIterator<Item = &'a str>,
        vips: Vec<IpAddr>,
    ) -> Result<Links, String> {
        let mut links = Links { ifaces: Vec::new(), vips };
        for name in names {
            if links.position(name).is_some() {
                continue;
            }
            let iface = match link::by_name(sock, name) {
                Ok(link) => {
                    let mut iface = Iface { link, primary4: None, link_local6: None };
                    read_addresses(sock, &mut iface, &links.vips);
                    iface
                }
                Err(e) if e.kind() == ErrorKind::NoDevice => {
                    Iface::absent(link::if_name(name).ok_or_else(|| e.to_string())?)
                }
                Err(e) => return Err(e.to_string()),
            };
            links.ifaces.push(iface);
        }
        Ok(links)
    }

    /// Reads one more interface (one keeplite created); returns its position.
    pub fn add(&mut self, sock: &mut Socket, name: &str) -> Result<usize, String> {
        let link = link::by_name(sock, name).map_err(|e| e.to_string())?;
        let mut iface = Iface { link, primary4: None, link_local6: None };
        read_addresses(sock, &mut iface, &self.vips);
        self.ifaces.push(iface);
        Ok(self.ifaces.len() - 1)
    }

    /// Position of interface `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.ifaces.iter().position(|i| i.link.name == name)
    }

    /// Applies a notification; returns the positions whose state, index or addresses
    /// changed.
    pub fn apply(&mut self, sock: &mut Socket, event: &Event) -> Vec<usize> {
        let by_index = |links: &Links, index: u32| links.ifaces.iter().position(|i| i.link.index == index);
        match event {
            Event::Link(l) => {
                let mut changed = Vec::new();
                match by_index(self, l.index) {
                    // Renamed: the name we follow is gone.
                    Some(p) if self.ifaces[p].link.name != l.name => {
                        self.ifaces[p] = Iface::absent(self.ifaces[p].link.name.clone());
                        changed.push(p);
                    }
                    Some(p) => {
                        let was_up = self.ifaces[p].link.is_up();
                        self.ifaces[p].link = l.clone();
                        if was_up != l.is_up() {
                            changed.push(p);
                        }
                    }
                    None => {}
                }
                // Created, re-created under a new index, or renamed to a name we follow.
                if let Some(p) = self.position(&l.name).filter(|&p| self.ifaces[p].link.index != l.index) {
                    self.ifaces[p].link = l.clone();
                    read_addresses(sock, &mut self.ifaces[p], &self.vips);
                    changed.push(p);
                }
                changed
            }
            Event::LinkRemoved { index, .. } => match by_index(self, *index) {
                // A port leaving its bridge is announced with an RTM_DELLINK too (family
                // AF_BRIDGE), for a link that still exists and may still run (its own
                // RTM_NEWLINK follows): gone only when the kernel no longer has it, which
                // it unlists before it says so. Asked by SIOCGIFNAME, which takes no RTNL
                // lock: a deletion holds that lock on, and the loop must not wait for it.
                Some(p) => match rustix::net::netdevice::index_to_name_inlined(&*sock, *index) {
                    Ok(name) if name.as_str() == self.ifaces[p].link.name.as_str() => vec![],
                    _ => {
                        self.ifaces[p] = Iface::absent(self.ifaces[p].link.name.clone());
                        vec![p]
                    }
                },
                None => vec![],
            },
            // A VIP is never an advert source: its coming and going (every failover, our
            // own adds included) needs no new dump of the interface's addresses.
            Event::AddressAdded(a) | Event::AddressRemoved(a) if self.vips.contains(&a.addr) => vec![],
            Event::AddressAdded(a) | Event::AddressRemoved(a) => match by_index(self, a.index) {
                Some(p) => {
                    let before = (self.ifaces[p].primary4, self.ifaces[p].link_local6);
                    read_addresses(sock, &mut self.ifaces[p], &self.vips);
                    let after = (self.ifaces[p].primary4, self.ifaces[p].link_local6);
                    if before != after {
                        vec![p]
                    } else {
                        vec![]
                    }
                }
                None => vec![],
            },
            Event::Lost => {
                // Notifications were dropped: read everything again, by name.
                for iface in &mut self.ifaces {
                    match link::by_name(sock, &iface.link.name) {
                        Ok(l) => {
                            iface.link = l;
                            read_addresses(sock, iface, &self.vips);
                        }
                        Err(e) if e.kind() == ErrorKind::NoDevice => {
                            *iface = Iface::absent(iface.link.name.clone())
                        }
                        Err(_) => {}
                    }
                }
                (0..self.ifaces.len()).collect()
            }
        }
    }
}

/// Re-reads an interface's advert source addresses, leaving out `vips`; a failure leaves
/// them unknown.
fn read_addresses(sock: &mut Socket, iface: &mut Iface, vips: &[IpAddr]) {
    if !iface.present() {
        (iface.primary4, iface.link_local6) = (None, None);
        return;
    }
    let own: Vec<address::Address> = match address::list(sock, &iface.link) {
        Ok(all) => all.into_iter().filter(|a| !vips.contains(&a.addr)).collect(),
        Err(_) => Vec::new(),
    };
    iface.primary4 = address::pick_primary_ipv4(&own, iface.link.index);
    iface.link_local6 = address::pick_link_local(&own, iface.link.index);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, up: bool) -> Link {
        let mut l = Iface::absent(link::if_name(name).unwrap()).link;
        (l.index, l.admin_up, l.running) = (index, up, up);
        l
    }

    /// Interfaces named `names`, none of which exists (the names are not this host's).
    fn missing(sock: &mut Socket, names: &[&str]) -> Links {
        let links = Links::load(sock, names.iter().copied(), Vec::new()).unwrap();
        assert!(links.ifaces.iter().all(|i| !i.present() && !i.link.is_up()));
        links
    }

    #[test]
    fn interfaces_are_followed_by_name_through_deletion_and_recreation() {
        let mut sock = Socket::open().unwrap();
        let mut links = missing(&mut sock, &["kl-t-lan", "kl-t-wan"]);
        // Created late, then up.
        assert_eq!(links.apply(&mut sock, &Event::Link(link(900, "kl-t-lan", false))), vec![0]);
        assert!(links.ifaces[0].present() && !links.ifaces[0].link.is_up());
        assert_eq!(links.apply(&mut sock, &Event::Link(link(900, "kl-t-lan", true))), vec![0]);
        assert!(links.ifaces[0].link.is_up());
        // Nothing that matters changed (an MTU, say): no change to report.
        assert!(links.apply(&mut sock, &Event::Link(link(900, "kl-t-lan", true))).is_empty());
        // Deleted: absent again; another interface's deletion changes nothing here.
        assert!(links
            .apply(&mut sock, &Event::LinkRemoved { index: 5, name: link::if_name("x").unwrap() })
            .is_empty());
        let removed = Event::LinkRemoved { index: 900, name: link::if_name("kl-t-lan").unwrap() };
        assert_eq!(links.apply(&mut sock, &removed), vec![0]);
        assert!(!links.ifaces[0].present());
        assert_eq!(links.ifaces[0].link.name, "kl-t-lan");
        // Created again under a new index.
        assert_eq!(links.apply(&mut sock, &Event::Link(link(901, "kl-t-lan", true))), vec![0]);
        assert_eq!(links.ifaces[0].link.index, 901);
        assert!(!links.ifaces[1].present());
    }

    /// The bridge's notice that a port left it is an RTM_DELLINK for a link that exists.
    #[test]
    fn a_removal_notice_for_a_link_the_kernel_still_has_is_not_a_deletion() {
        let mut sock = Socket::open().unwrap();
        let mut links = Links::load(&mut sock, ["lo"], Vec::new()).unwrap();
        let lo = links.ifaces[0].link.clone();
        assert!(links.ifaces[0].present());
        let notice = Event::LinkRemoved { index: lo.index, name: lo.name.clone() };
        assert!(links.apply(&mut sock, &notice).is_empty());
        assert_eq!(links.ifaces[0].link.index, lo.index);
    }

    #[test]
    fn a_rename_takes_the_name_away_and_gives_it_to_its_new_holder() {
        let mut sock = Socket::open().unwrap();
        let mut links = missing(&mut sock, &["kl-t-lan", "kl-t-wan"]);
        links.apply(&mut sock, &Event::Link(link(900, "kl-t-lan", true)));
        // kl-t-lan renamed kl-t-wan: the first name is gone, the second one appears.
        assert_eq!(links.apply(&mut sock, &Event::Link(link(900, "kl-t-wan", true))), vec![0, 1]);
        assert!(!links.ifaces[0].present());
        assert_eq!((links.ifaces[1].link.index, links.ifaces[1].link.is_up()), (900, true));
    }
}
