//! The capabilities VRRP needs, checked up front so a missing one is one clear message.

use rustix::thread::{capabilities, CapabilitySet};

/// What is missing for running VRRP, or `None` when all is there.
pub fn missing() -> Option<String> {
    let have = match capabilities(None) {
        Ok(sets) => sets.effective,
        Err(e) => return Some(format!("cannot read this process's capabilities: {e}")),
    };
    let mut lacking = Vec::new();
    if !have.contains(CapabilitySet::NET_ADMIN) {
        lacking.push("CAP_NET_ADMIN (addresses, links, netlink)");
    }
    if !have.contains(CapabilitySet::NET_RAW) {
        lacking.push("CAP_NET_RAW (VRRP and ARP sockets)");
    }
    (!lacking.is_empty()).then(|| format!("missing {}", lacking.join(" and ")))
}
