//! keepalived's `promote_secondaries`: `net.ipv4.conf.IF.promote_secondaries=1` on the
//! interfaces of the instances that ask for it. Without it, removing the primary IPv4
//! address of a subnet from an interface (a VIP added first, where the interface has no
//! other address in its subnet) makes the kernel delete every other address of that subnet,
//! the instance's other VIPs with it; with it, the next one becomes primary and stays.
//!
//! keeplite turns it on where it is off (again after the interface is made anew, which
//! resets it), and back off where it turned it on once no instance asks for it, and at
//! stop, as keepalived does. A file write under `/proc/sys`, no RTNL lock: fine on the VRRP
//! thread. The vmacs have it on from their creation (`vmac::create`), as in keepalived.

use crate::config::model::Config;
use crate::log;
use crate::net::sysctl;

/// The interfaces where keeplite turned `promote_secondaries` on.
#[derive(Debug, Default)]
pub struct Promoted {
    ifaces: Vec<String>,
}

impl Promoted {
    /// Turns it on for the interfaces of `config`'s instances that ask (each that exists
    /// and has it off), and off where keeplite turned it on and none asks any more.
    pub fn set(&mut self, config: &Config) {
        let wanted: Vec<&str> =
            config.vrrp.iter().filter(|v| v.promote_secondaries).map(|v| v.interface.as_str()).collect();
        for &iface in &wanted {
            if read(iface) != Some(false) {
                continue;
            }
            match write(iface, true) {
                Ok(()) if !self.ifaces.iter().any(|i| i == iface) => self.ifaces.push(iface.to_owned()),
                Ok(()) => {}
                Err(e) => log::error!("vrrp: promote_secondaries: {e}"),
            }
        }
        let dropped: Vec<String> =
            self.ifaces.iter().filter(|i| !wanted.contains(&i.as_str())).cloned().collect();
        for iface in &dropped {
            turn_off(iface);
        }
        self.ifaces.retain(|i| wanted.contains(&i.as_str()));
    }

    /// Turns it off again wherever keeplite turned it on (at stop).
    pub fn restore(&mut self) {
        for iface in self.ifaces.drain(..) {
            turn_off(&iface);
        }
    }
}

fn key(iface: &str) -> String {
    format!("ipv4/conf/{iface}/promote_secondaries")
}

/// The setting on `iface`; `None` when the interface (or its IPv4 settings) is missing.
fn read(iface: &str) -> Option<bool> {
    sysctl::read(&key(iface)).map(|v| v != "0")
}

fn write(iface: &str, on: bool) -> Result<(), String> {
    sysctl::write(&key(iface), if on { "1" } else { "0" })
}

/// Off again; an interface that is gone has nothing to restore.
fn turn_off(iface: &str) {
    if read(iface).is_some() {
        if let Err(e) = write(iface, false) {
            log::error!("vrrp: promote_secondaries: {e}");
        }
    }
}
