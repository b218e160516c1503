//! The interfaces VRRP runs on or tracks: their state and the addresses adverts are sent
//! from, kept current from rtnetlink notifications.

use crate::net::address;
use crate::net::link::{self, Link};
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
    /// Reads `names` from the kernel; an interface that does not exist is an error.
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
            let link = link::by_name(sock, name).map_err(|e| e.to_string())?;
            let mut iface = Iface { link, primary4: None, link_local6: None };
            read_addresses(sock, &mut iface, &links.vips);
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

    /// Applies a notification; returns the positions whose state or addresses changed.
    pub fn apply(&mut self, sock: &mut Socket, event: &Event) -> Vec<usize> {
        let by_index = |links: &Links, index: u32| links.ifaces.iter().position(|i| i.link.index == index);
        match event {
            Event::Link(l) => match by_index(self, l.index) {
                Some(p) if self.ifaces[p].link.is_up() != l.is_up() => {
                    self.ifaces[p].link = l.clone();
                    vec![p]
                }
                Some(p) => {
                    self.ifaces[p].link = l.clone();
                    vec![]
                }
                None => vec![],
            },
            Event::LinkRemoved { index, .. } => match by_index(self, *index) {
                Some(p) => {
                    self.ifaces[p].link.admin_up = false;
                    self.ifaces[p].link.running = false;
                    vec![p]
                }
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
                // Notifications were dropped: read everything again.
                for iface in &mut self.ifaces {
                    if let Ok(l) = link::by_index(sock, iface.link.index) {
                        iface.link = l;
                    }
                    read_addresses(sock, iface, &self.vips);
                }
                (0..self.ifaces.len()).collect()
            }
        }
    }
}

/// Re-reads an interface's advert source addresses, leaving out `vips`; a failure leaves
/// them unknown.
fn read_addresses(sock: &mut Socket, iface: &mut Iface, vips: &[IpAddr]) {
    let own: Vec<address::Address> = match address::list(sock, &iface.link) {
        Ok(all) => all.into_iter().filter(|a| !vips.contains(&a.addr)).collect(),
        Err(_) => Vec::new(),
    };
    iface.primary4 = address::pick_primary_ipv4(&own, iface.link.index);
    iface.link_local6 = address::pick_link_local(&own, iface.link.index);
}
