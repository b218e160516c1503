//! Per-interface kernel settings the instances need while keeplite runs, set where they
//! differ and put back at stop (and when no instance needs them any more), as keepalived
//! does. A file write under `/proc/sys`, no RTNL lock: fine on the VRRP thread.
//!
//! - keepalived's `promote_secondaries`: `net.ipv4.conf.IF.promote_secondaries=1` on the
//!   interfaces of the instances that ask for it. Without it, removing the primary IPv4
//!   address of a subnet from an interface (a VIP added first, where the interface has no
//!   other address in its subnet) makes the kernel delete every other address of that
//!   subnet, the instance's other VIPs with it; with it, the next one becomes primary and
//!   stays. The vmacs have it on from their creation (`virtual_link::create`).
//! - The interface under an IPv4 vmac: `arp_ignore=1` and `arp_filter=1`, so that it
//!   answers ARP only for its own addresses and the VIPs on the vmac are answered by the
//!   vmac alone, with the virtual MAC (with the kernel's default, the interface answers
//!   too, with its own MAC, and a neighbour may keep that one).

use crate::config::model::{Config, VirtualLink};
use crate::log;
use crate::net::sysctl;

/// The settings keeplite changed: each key under `/proc/sys/net` with its value before.
#[derive(Debug, Default)]
pub struct Overrides {
    changed: Vec<(String, String)>,
}

impl Overrides {
    /// Sets what `config`'s instances need (on each interface that exists), and puts back
    /// what keeplite changed that none needs any more.
    pub fn set(&mut self, config: &Config) {
        let wanted = wanted(config);
        for (key, value) in &wanted {
            let Some(now) = sysctl::read(key) else { continue };
            if now == *value {
                continue;
            }
            match sysctl::write(key, value) {
                Ok(()) if !self.changed.iter().any(|(k, _)| k == key) => {
                    self.changed.push((key.clone(), now))
                }
                Ok(()) => {}
                Err(e) => log::error!("vrrp: {e}"),
            }
        }
        let (kept, dropped) = std::mem::take(&mut self.changed)
            .into_iter()
            .partition(|(k, _)| wanted.iter().any(|(w, _)| w == k));
        self.changed = kept;
        put_back(dropped);
    }

    /// Puts back everything keeplite changed (at stop).
    pub fn restore(&mut self) {
        put_back(std::mem::take(&mut self.changed));
    }
}

/// The (key, value) pairs `config` needs.
fn wanted(config: &Config) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in &config.vrrp {
        let iface = &v.interface;
        if v.promote_secondaries {
            out.push((format!("ipv4/conf/{iface}/promote_secondaries"), "1".to_owned()));
        }
        if v.virtual_link == Some(VirtualLink::Vmac) && !v.is_ipv6() {
            out.push((format!("ipv4/conf/{iface}/arp_ignore"), "1".to_owned()));
            out.push((format!("ipv4/conf/{iface}/arp_filter"), "1".to_owned()));
        }
    }
    out
}

/// Writes each value back; an interface that is gone has nothing to put back.
fn put_back(changed: Vec<(String, String)>) {
    for (key, before) in changed {
        if sysctl::read(&key).is_some() {
            if let Err(e) = sysctl::write(&key, &before) {
                log::error!("vrrp: {e}");
            }
        }
    }
}
