//! The instance's own interface, made on its configured one, that holds its VIPs and sends
//! its adverts. keepalived's `use_vmac`: a macvlan carrying the RFC virtual MAC
//! (00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for IPv6), so the LAN sees the same MAC
//! whichever router is master and needs no ARP update on failover. keepalived's
//! `use_ipvlan`: an L2 ipvlan with the interface's own MAC, for LANs and hypervisors that
//! take one MAC per port (the gratuitous ARPs move the VIPs, as without either). In a VRF,
//! the new interface joins the VRF, so the VIPs' routes are in the VRF's table.

use super::links::Links;
use crate::config::model::VirtualLink;
use crate::net::netlink::Socket;
use crate::net::{address, link, sysctl};
use crate::vrrp::announce::MacAddr;
use std::net::{IpAddr, Ipv6Addr};

/// Name of the instance's own interface of `vrid` (keepalived's default is `vrrp.VRID`;
/// IPv6 instances get `vrrp6.VRID` so both families of one VRID can coexist).
pub fn name(vrid: u8, ipv6: bool) -> String {
    format!("{}.{vrid}", if ipv6 { "vrrp6" } else { "vrrp" })
}

/// The option that asks for `kind`, for messages.
pub fn option(kind: &VirtualLink) -> &'static str {
    match kind {
        VirtualLink::Vmac => "use_vmac",
        VirtualLink::Ipvlan { .. } => "use_ipvlan",
    }
}

/// Creates (or re-creates, after a crash) the `kind` interface of `vrid` on interface
/// `base`, up and configured as keepalived does; adds it to `links` and returns its
/// position there.
pub fn create(
    nl: &mut Socket,
    links: &mut Links,
    base: usize,
    vrid: u8,
    ipv6: bool,
    kind: &VirtualLink,
) -> Result<usize, String> {
    let name = name(vrid, ipv6);
    // A leftover from a process that died without cleaning up would keep its old settings.
    let _ = link::delete(nl, &name);
    let parent = &links.ifaces[base].link;
    let vrf = vrf_of(nl, parent)?;
    match kind {
        VirtualLink::Vmac => {
            let mac = MacAddr::virtual_router(vrid, ipv6);
            link::add_macvlan(nl, &name, parent, mac.0, vrf)
        }
        VirtualLink::Ipvlan { mode, .. } => link::add_ipvlan(nl, &name, parent, *mode, vrf),
    }
    .map_err(|e| e.to_string())?;
    if ipv6 {
        // The link-local address is the advert source; with DAD it would be unusable for
        // a second after every start.
        sysctl::write(&format!("ipv6/conf/{name}/accept_dad"), "0")?;
        // Not the kernel's link-local: made from the virtual MAC, it would be the same on
        // every router of the VRID, and adverts with equal priorities and equal sources
        // never elect one master; made from an ipvlan's (the parent's) MAC, it is the
        // parent's, which the ipvlans of one parent cannot all have. One is added below.
        sysctl::write(&format!("ipv6/conf/{name}/addr_gen_mode"), "1")?;
    } else {
        // Answer ARP only for addresses on the interface itself (the VIPs), as keepalived
        // does.
        sysctl::write(&format!("ipv4/conf/{name}/arp_ignore"), "1")?;
        sysctl::write(&format!("ipv4/conf/{name}/arp_filter"), "0")?;
        // Adverts are heard here, where there is no route back to their sources: reverse
        // path filtering would drop them (keepalived sets the same).
        sysctl::write(&format!("ipv4/conf/{name}/rp_filter"), "0")?;
        sysctl::write(&format!("ipv4/conf/{name}/accept_local"), "1")?;
        // keepalived sets it on every vmac: the VIPs there are all of one router.
        sysctl::write(&format!("ipv4/conf/{name}/promote_secondaries"), "1")?;
        if sysctl::read("ipv4/conf/all/rp_filter").as_deref() == Some("1") {
            // The kernel applies the stricter of `all` and the interface's own setting.
            crate::log::warning!(
                "{name}: net.ipv4.conf.all.rp_filter is 1 (strict): adverts heard on {name} \
                 are dropped; set it to 0 or 2 (loose)"
            );
        }
    }
    link::set_up(nl, &name, true).map_err(|e| e.to_string())?;
    let own = match kind {
        VirtualLink::Ipvlan { address, .. } => *address,
        VirtualLink::Vmac => None,
    };
    let new = link::by_name(nl, &name).map_err(|e| e.to_string())?;
    let own_link_local = matches!(own, Some((IpAddr::V6(a), _)) if a.is_unicast_link_local());
    if ipv6 && !own_link_local {
        let base = &links.ifaces[base];
        // keepalived does the same: the router keeps its own advert source whether or not
        // it uses a vmac.
        let ll = base
            .link_local6
            .or_else(|| base.link.mac.map(eui64_link_local))
            .ok_or_else(|| format!("{}: no link-local address or MAC to give {name}", base.link.name))?;
        address::add(nl, &new, IpAddr::V6(ll), 64).map_err(|e| e.to_string())?;
    }
    if let Some((addr, len)) = own {
        address::add(nl, &new, addr, len).map_err(|e| e.to_string())?;
    }
    links.add(nl, &name)
}

/// The VRF `link` is enslaved to, if it is in one (a bridge or bond master is not).
fn vrf_of(nl: &mut Socket, link: &link::Link) -> Result<Option<u32>, String> {
    let Some(master) = link.master else { return Ok(None) };
    let master = link::by_index(nl, master).map_err(|e| e.to_string())?;
    Ok(master.vrf.then_some(master.index))
}

/// The modified EUI-64 link-local address of `mac` (RFC 4291 appendix A), the one the
/// kernel gives an interface with that MAC.
fn eui64_link_local(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, a ^ 0x02, b, c, 0xff, 0xfe, d, e, f])
}

/// Removes the instance's own interface (at shutdown); a missing one is fine.
pub fn remove(nl: &mut Socket, vrid: u8, ipv6: bool) -> Result<(), String> {
    match link::delete(nl, &name(vrid, ipv6)) {
        Err(e) if e.kind() != crate::net::error::ErrorKind::NoDevice => Err(e.to_string()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_link_local_flips_the_universal_bit_and_inserts_fffe() {
        let ll = eui64_link_local([0x02, 0, 0, 0, 0, 0x01]);
        assert_eq!(ll, "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap());
        let ll = eui64_link_local([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(ll, "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap());
    }
}
