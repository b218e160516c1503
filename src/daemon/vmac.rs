//! keepalived's `use_vmac`: a macvlan carrying the RFC virtual MAC (00:00:5e:00:01:VRID,
//! 00:00:5e:00:02:VRID for IPv6) that holds the VIPs and sends the adverts, so the LAN
//! sees the same MAC whichever router is master and needs no ARP update on failover.

use super::links::Links;
use crate::net::link;
use crate::net::netlink::Socket;
use crate::vrrp::announce::MacAddr;

/// Name of the virtual-MAC interface of `vrid` (keepalived's default is `vrrp.VRID`;
/// IPv6 instances get `vrrp6.VRID` so both families of one VRID can coexist).
pub fn name(vrid: u8, ipv6: bool) -> String {
    format!("{}.{vrid}", if ipv6 { "vrrp6" } else { "vrrp" })
}

/// Creates (or re-creates, after a crash) the vmac of `vrid` on interface `base`, up and
/// configured as keepalived does; adds it to `links` and returns its position there.
pub fn create(
    nl: &mut Socket,
    links: &mut Links,
    base: usize,
    vrid: u8,
    ipv6: bool,
) -> Result<usize, String> {
    let name = name(vrid, ipv6);
    let mac = MacAddr::virtual_router(vrid, ipv6);
    // A leftover from a process that died without cleaning up would keep its old settings.
    let _ = link::delete(nl, &name);
    link::add_macvlan(nl, &name, &links.ifaces[base].link, mac.0).map_err(|e| e.to_string())?;
    if ipv6 {
        // The vmac's link-local address is the advert source; with DAD it would be
        // unusable for a second after every start.
        sysctl(&format!("ipv6/conf/{name}/accept_dad"), "0")?;
    } else {
        // Answer ARP only for addresses on the vmac itself (the VIPs), as keepalived does.
        sysctl(&format!("ipv4/conf/{name}/arp_ignore"), "1")?;
        sysctl(&format!("ipv4/conf/{name}/arp_filter"), "0")?;
    }
    link::set_up(nl, &name, true).map_err(|e| e.to_string())?;
    links.add(nl, &name)
}

/// Removes the vmac (at shutdown); a missing one is fine.
pub fn remove(nl: &mut Socket, vrid: u8, ipv6: bool) -> Result<(), String> {
    match link::delete(nl, &name(vrid, ipv6)) {
        Err(e) if e.kind() != crate::net::error::ErrorKind::NoDevice => Err(e.to_string()),
        _ => Ok(()),
    }
}

fn sysctl(key: &str, value: &str) -> Result<(), String> {
    let path = format!("/proc/sys/net/{key}");
    std::fs::write(&path, value).map_err(|e| format!("{path}: {e}"))
}
