//! Adding and removing VIPs off the VRRP thread. Each change takes the kernel's RTNL lock,
//! which another process can hold for a long time on a busy router (netifd re-creating a
//! bridge, a routing daemon installing a table, `ip` commands; measured on a loaded 2-core
//! box beside namespace churn: 100-860 ms). Done on the VRRP thread, that wait silenced a
//! new master between its first advert and its second, and a backup with a shorter
//! Master_Down_Interval took over. Here one thread makes the changes, in the order asked (an
//! add and a remove of the same address never swap), and reports each batch when done, so
//! that a new master's gratuitous ARPs follow its addresses while its adverts go on.

use super::super::routing::extra;
use super::super::stall::QUIET;
use super::super::worker::Worker;
use crate::config::model::Vip;
use crate::log;
use crate::net::address;
use crate::net::link::Link;
use crate::net::netlink::Socket;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

/// A change that waited this long for the kernel is logged.
const SLOW: Duration = Duration::from_millis(50);

/// One batch: `vips` added to (or removed from) `link` for instance `instance`.
pub struct Batch {
    instance: String,
    link: Link,
    vips: Vec<Vip>,
    add: bool,
}

/// A finished batch: the instance it was for, and whether it added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub instance: String,
    pub add: bool,
}

/// The thread that changes addresses, and the loop's end of it.
pub struct Addresses {
    worker: Worker<Batch, Done>,
}

impl Addresses {
    /// Starts the thread, with a netlink socket of its own.
    pub fn start() -> Result<Addresses, String> {
        let mut nl = Socket::open().map_err(|e| e.to_string())?;
        let mut slow_logged: Option<Instant> = None;
        Addresses::start_with(move |batch| change(&mut nl, batch, &mut slow_logged))
    }

    /// Starts the thread, which hands each batch to `apply`.
    fn start_with(mut apply: impl FnMut(&Batch) + Send + 'static) -> Result<Addresses, String> {
        let worker = Worker::start("addresses", move |batch: Batch| {
            apply(&batch);
            Done { instance: batch.instance, add: batch.add }
        })?;
        Ok(Addresses { worker })
    }

    /// Asks for `vips` to be added to or removed from `link`; [`finished`](Self::finished)
    /// reports it done.
    pub fn change(&mut self, instance: &str, link: &Link, vips: &[Vip], add: bool) {
        let batch = Batch { instance: instance.to_owned(), link: link.clone(), vips: vips.to_vec(), add };
        if !self.worker.submit(batch) {
            log::error!("vrrp {instance}: the address thread is gone; addresses not changed");
        }
    }

    /// Readable when a batch is done.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.worker.fd()
    }

    /// The batches done since the last call, in the order asked.
    pub fn finished(&mut self) -> Vec<Done> {
        self.worker.finished()
    }

    /// Waits until every batch asked for is done (at shutdown: the VIPs must be gone
    /// before the process is).
    pub fn wait_idle(&mut self) {
        self.worker.wait_idle();
    }
}

/// Makes one batch's changes; "already there" on add and "already gone" on remove meet
/// the goal and are not errors.
fn change(nl: &mut Socket, batch: &Batch, slow_logged: &mut Option<Instant>) {
    use crate::net::error::ErrorKind::{Exists, NotThere};
    let Batch { instance, link, vips, add } = batch;
    for vip in vips {
        let asked = Instant::now();
        let extra = extra(vip);
        let result = if *add {
            address::add_with(nl, link, vip.addr, vip.prefix, &extra)
        } else {
            address::delete_with(nl, link, vip.addr, vip.prefix, &extra)
        };
        let took = asked.elapsed();
        if took >= SLOW && slow_logged.is_none_or(|t| t.elapsed() >= QUIET) {
            *slow_logged = Some(Instant::now());
            let what = if *add { "adding" } else { "removing" };
            log::warning!(
                "vrrp {instance}: {what} {} took {} ms (the kernel's RTNL lock was held by another process; adverts went on meanwhile)",
                vip.addr,
                took.as_millis()
            );
        }
        if let Err(e) = result.map_err(|e| (e.kind(), e)) {
            if !matches!((*add, e.0), (true, Exists) | (false, NotThere)) {
                log::error!("vrrp {instance}: {}", e.1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn lo() -> Link {
        Link {
            index: 1,
            name: crate::net::link::if_name("lo").unwrap(),
            mac: None,
            admin_up: true,
            running: true,
            lower_up: true,
            oper: crate::net::link::OperState::Unknown,
            mtu: 65536,
            parent: None,
            master: None,
            vrf: false,
        }
    }

    #[test]
    fn batches_are_applied_in_order_and_reported_once_done() {
        let applied = Arc::new(Mutex::new(Vec::new()));
        let (seen, gate) = (applied.clone(), Arc::new(Mutex::new(())));
        let held = gate.lock().unwrap();
        let g = gate.clone();
        let mut a = Addresses::start_with(move |b: &Batch| {
            let _wait = g.lock().unwrap();
            seen.lock().unwrap().push((b.instance.clone(), b.add, b.vips.len()));
        })
        .unwrap();
        let vip = Vip::plain("192.0.2.1".parse().unwrap(), 24);
        a.change("gw", &lo(), &[vip.clone(), vip.clone()], true);
        a.change("gw", &lo(), std::slice::from_ref(&vip), false);
        a.change("lan", &lo(), &[vip], true);
        // Nothing is reported while the thread is held up.
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(a.finished(), vec![]);
        drop(held);
        a.wait_idle();
        let order =
            vec![("gw".to_owned(), true, 2), ("gw".to_owned(), false, 1), ("lan".to_owned(), true, 1)];
        assert_eq!(*applied.lock().unwrap(), order);
        assert!(a.finished().is_empty());
    }
}
