//! Which hosts of a LAN hold a VIP, followed from the kernel's address notifications in
//! their namespaces: a sample costs no process, so times measured with it hold on a
//! loaded machine, and no change between two samples goes unseen.

use super::Netns;
use keeplite::net::monitor::{Event, Monitor};
use rustix::event::{PollFd, PollFlags, Timespec};
use std::net::IpAddr;
use std::time::Duration;

/// True when `vip` (an address without prefix length) is on any interface of `ns` (eth0,
/// a vmac, a bridge).
pub fn holds(ns: &Netns, vip: &str) -> bool {
    ns.ip_output(&["-o", "addr", "show"]).split_whitespace().any(|w| w.split('/').next() == Some(vip))
}

/// The holders of one VIP among a fixed list of hosts.
pub struct Holders {
    watch: Vec<Monitor>,
    held: Vec<bool>,
    vip: IpAddr,
}

impl Holders {
    /// Subscribes in each of `hosts`, then reads where `vip` is now.
    pub fn new(hosts: &[Netns], vip: &str) -> Holders {
        let watch = hosts.iter().map(|ns| ns.run(|| Monitor::open().expect("rtnetlink monitor"))).collect();
        Holders {
            watch,
            held: hosts.iter().map(|ns| holds(ns, vip)).collect(),
            vip: vip.parse().expect("vip"),
        }
    }

    /// Waits up to `max` (under a second) for a notification, applies every waiting one
    /// and returns which of `hosts` (the ones given to `new`) hold the VIP now.
    pub fn poll(&mut self, hosts: &[Netns], max: Duration) -> Vec<bool> {
        let mut fds: Vec<PollFd<'_>> = self.watch.iter().map(|m| PollFd::new(m, PollFlags::IN)).collect();
        let timeout = Timespec { tv_sec: 0, tv_nsec: max.subsec_nanos().into() };
        let _ = rustix::event::poll(&mut fds, Some(&timeout));
        drop(fds);
        for ((watch, held), host) in self.watch.iter_mut().zip(&mut self.held).zip(hosts) {
            while let Some(event) = watch.next_event().expect("rtnetlink monitor") {
                match event {
                    Event::AddressAdded(a) if a.addr == self.vip => *held = true,
                    Event::AddressRemoved(a) if a.addr == self.vip => *held = false,
                    // Notifications were dropped: read the state again.
                    Event::Lost => *held = holds(host, &self.vip.to_string()),
                    _ => {}
                }
            }
        }
        self.held.clone()
    }
}
