//! The thread that holds keeplite's routes and rules: it takes the wanted set from the
//! event loop ([`crate::routing::Plan`]), reads what the kernel holds, and applies the
//! difference, again whenever the kernel reports a route or rule removed, a link or an
//! address change (the kernel flushes routes through a link going down or a source
//! address going away without saying so), and every [`PERIOD`] in case a notification
//! was lost. Like the address thread, it keeps the RTNL lock's waits off the VRRP loop.

use crate::config::model::Vip;
use crate::log;
use crate::net::address;
use crate::net::error::Cause;
use crate::net::frame::frames;
use crate::net::link;
use crate::net::netlink::{
    group_mask, Socket, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_IFADDR,
    RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_RULE, RTNLGRP_LINK,
};
use crate::net::{route, rule};
use crate::routing::{self, Change, Plan};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Read back and repaired this often even without a notification.
const PERIOD: Duration = Duration::from_secs(30);
/// Notifications come in bursts (a link going down flushes many routes): wait this long
/// after the first for the rest.
const SETTLE: Duration = Duration::from_millis(50);

enum Msg {
    Plan(Plan),
    /// Remove everything keeplite holds, then answer.
    Stop(Sender<()>),
}

/// The event loop's end of the routing thread.
pub struct Routing {
    tx: Sender<Msg>,
    wake: UnixStream,
    thread: Option<JoinHandle<()>>,
    /// The plan last sent, so that an unchanged one is not sent again.
    sent: Option<Plan>,
}

impl Routing {
    /// Starts the thread, with its own request and notification sockets.
    pub fn start() -> Result<Routing, String> {
        let nl = Socket::open().map_err(|e| e.to_string())?;
        let mask = [
            RTNLGRP_LINK,
            RTNLGRP_IPV4_IFADDR,
            RTNLGRP_IPV6_IFADDR,
            RTNLGRP_IPV4_ROUTE,
            RTNLGRP_IPV6_ROUTE,
            RTNLGRP_IPV4_RULE,
            RTNLGRP_IPV6_RULE,
        ]
        .into_iter()
        .fold(0, |m, g| m | group_mask(g));
        let events = Socket::subscribe(mask).map_err(|e| e.to_string())?;
        let (wake, wake_rx) = UnixStream::pair().map_err(|e| e.to_string())?;
        wake_rx.set_nonblocking(true).map_err(|e| e.to_string())?;
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("routing".into())
            .spawn(move || {
                Keeper { nl, events, wake: wake_rx, rx, plan: Plan::default(), logged: HashMap::new() }.run()
            })
            .map_err(|e| format!("cannot start the routing thread: {e}"))?;
        Ok(Routing { tx, wake, thread: Some(thread), sent: None })
    }

    /// Asks for `plan` to be held from now on (nothing is sent when it did not change).
    pub fn hold(&mut self, plan: Plan) {
        if self.sent.as_ref() == Some(&plan) {
            return;
        }
        self.sent = Some(plan.clone());
        if self.tx.send(Msg::Plan(plan)).is_err() || self.wake.write_all(&[1]).is_err() {
            log::error!("routing: the routing thread is gone; routes and rules not changed");
        }
    }

    /// Removes every route and rule keeplite holds and waits until they are gone.
    pub fn stop(&mut self) {
        let (done, wait) = channel();
        if self.tx.send(Msg::Stop(done)).is_ok() && self.wake.write_all(&[1]).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(5));
        }
        self.sent = None;
    }
}

impl Drop for Routing {
    fn drop(&mut self) {
        // Dropping the sender ends the thread's loop at its next wake.
        let (tx, _) = channel();
        drop(std::mem::replace(&mut self.tx, tx));
        let _ = self.wake.write_all(&[0]);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Keeper {
    nl: Socket,
    events: Socket,
    wake: UnixStream,
    rx: Receiver<Msg>,
    plan: Plan,
    /// The last problem logged per section, so that a retry every PERIOD does not repeat it.
    logged: HashMap<String, String>,
}

impl Keeper {
    fn run(mut self) {
        let mut due: Option<Instant> = None;
        let mut next_check = Instant::now() + PERIOD;
        loop {
            let deadline = due.unwrap_or(next_check).min(next_check);
            let wait = deadline.saturating_duration_since(Instant::now());
            let timeout = Timespec { tv_sec: wait.as_secs() as i64, tv_nsec: i64::from(wait.subsec_nanos()) };
            let mut fds = [PollFd::new(&self.wake, PollFlags::IN), PollFd::new(&self.events, PollFlags::IN)];
            let _ = poll(&mut fds, Some(&timeout));
            let (woken, event) = (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());
            if woken {
                let mut buf = [0u8; 64];
                while matches!(self.wake.read(&mut buf), Ok(1..)) {}
                loop {
                    match self.rx.try_recv() {
                        Ok(Msg::Plan(plan)) => {
                            let dropped: Vec<Vip> = self
                                .plan
                                .addresses
                                .iter()
                                .filter(|a| !plan.addresses.contains(a))
                                .cloned()
                                .collect();
                            self.remove_addresses(&dropped);
                            self.plan = plan;
                            due = Some(Instant::now());
                        }
                        Ok(Msg::Stop(done)) => {
                            let addresses = std::mem::take(&mut self.plan.addresses);
                            self.remove_addresses(&addresses);
                            self.plan = Plan { custom: self.plan.custom.clone(), ..Plan::default() };
                            self.reconcile();
                            let _ = done.send(());
                        }
                        Err(std::sync::mpsc::TryRecvError::Empty) => break,
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
                    }
                }
            }
            if event && self.drain_events() && due.is_none() {
                due = Some(Instant::now() + SETTLE);
            }
            let now = Instant::now();
            if due.is_some_and(|t| t <= now) || next_check <= now {
                // Notifications of what this reconcile changes are read, and cost one
                // more dump that finds nothing to do.
                self.reconcile();
                due = None;
                next_check = Instant::now() + PERIOD;
            }
        }
    }

    /// Reads every waiting notification; true when one may mean a route or rule of ours
    /// is gone: a removal, a link or address change, or lost notifications.
    fn drain_events(&mut self) -> bool {
        let mut relevant = false;
        loop {
            match self.events.recv() {
                Ok(Some(_)) => {}
                Ok(None) => return relevant,
                Err(Cause::Syscall { errno: rustix::io::Errno::NOBUFS, .. } | Cause::Truncated { .. }) => {
                    relevant = true;
                    continue;
                }
                Err(e) => {
                    log::error!("routing: reading route changes: {e}");
                    return true;
                }
            }
            for frame in frames(self.events.received()).flatten() {
                relevant |= !matches!(frame.kind, route::RTM_NEWROUTE | rule::RTM_NEWRULE);
            }
        }
    }

    /// Removes static addresses no longer wanted (at stop: all); an address already gone,
    /// or whose interface is, is no error.
    fn remove_addresses(&mut self, vips: &[Vip]) {
        for vip in vips {
            let Some(dev) = vip.opts.dev.as_deref() else { continue };
            let Ok(link) = link::by_name(&mut self.nl, dev) else { continue };
            match address::delete_with(&mut self.nl, &link, vip.addr, vip.prefix, &extra(vip)) {
                Ok(()) => log::info!("static address {vip}: removed"),
                Err(e) if e.kind() == crate::net::error::ErrorKind::NotThere => {}
                Err(e) => log::error!("static address {vip}: {e}"),
            }
        }
    }

    /// Adds the static addresses that are missing.
    fn hold_addresses(&mut self, vips: &[Vip]) {
        for vip in vips {
            let Some(dev) = vip.opts.dev.as_deref() else { continue };
            let name = format!("{}/{}", vip.addr, vip.prefix);
            let link = match link::by_name(&mut self.nl, dev) {
                Ok(l) => l,
                Err(e) => {
                    self.note(&name, format!("static address {vip}: {e}; added once the interface exists"));
                    continue;
                }
            };
            let there = match address::list(&mut self.nl, &link) {
                Ok(list) => list.iter().any(|a| a.addr == vip.addr && a.prefix == vip.prefix),
                Err(e) => {
                    self.note(&name, format!("static address {vip}: {e}"));
                    continue;
                }
            };
            if there {
                continue;
            }
            match address::add_with(&mut self.nl, &link, vip.addr, vip.prefix, &extra(vip)) {
                Ok(()) => {
                    self.logged.remove(&name);
                    log::info!("static address {vip}: added");
                }
                Err(e) => self.note(&name, format!("static address {vip}: {e}")),
            }
        }
    }

    /// One pass: resolve interfaces, dump, diff, apply.
    fn reconcile(&mut self) {
        let plan = self.plan.clone();
        self.hold_addresses(&plan.addresses);
        let mut wanted = Vec::with_capacity(plan.routes.len());
        for w in &plan.routes {
            let mut r = w.entry;
            if let Some(dev) = &w.dev {
                match link::by_name(&mut self.nl, dev) {
                    Ok(l) => r.oif = Some(l.index),
                    Err(e) => {
                        self.note(
                            &w.name,
                            format!("route {}: interface {dev}: {e}; not installed until it exists", w.name),
                        );
                        continue;
                    }
                }
            }
            wanted.push((w.name.as_str(), r));
        }
        for v6 in [false, true] {
            let mut kernel = Vec::new();
            let dumped = route::dump(&mut self.nl, v6, &mut kernel, |r| plan.route_relevant(r));
            if let Err(e) = dumped {
                log::error!("routing: reading the routing tables: {e}");
                return;
            }
            let family: Vec<_> = wanted.iter().filter(|(_, r)| r.dst.is_ipv6() == v6).copied().collect();
            let entries: Vec<route::Route> = family.iter().map(|(_, r)| *r).collect();
            for change in routing::reconcile_routes(&plan, &entries, &kernel) {
                let name = |r: &route::Route| {
                    family
                        .iter()
                        .find(|(_, w)| w.key() == r.key())
                        .map_or("(left over)", |(n, _)| n)
                        .to_owned()
                };
                match change {
                    Change::Add(r) | Change::Replace(r) => {
                        let replace = matches!(change, Change::Replace(_));
                        let n = name(&r);
                        match route::add(&mut self.nl, &r, replace) {
                            Ok(()) => {
                                self.logged.remove(&n);
                                log::info!(
                                    "route {n}: {} {}",
                                    if replace { "replaced" } else { "added" },
                                    show_route(&r)
                                );
                            }
                            Err(e) => self.note(&n, format!("route {n}: adding {}: {e}", show_route(&r))),
                        }
                    }
                    Change::Delete(r) => match route::delete(&mut self.nl, &r) {
                        Ok(()) => log::info!("route {}: removed {}", name(&r), show_route(&r)),
                        Err(Cause::Kernel(rustix::io::Errno::SRCH | rustix::io::Errno::NOENT)) => {}
                        Err(e) => log::error!("routing: removing {}: {e}", show_route(&r)),
                    },
                    Change::Blocked { wanted, by } => {
                        let n = name(&wanted);
                        self.note(
                            &n,
                            format!(
                                "route {n}: {} is held by another route (protocol {}); keeplite leaves it alone",
                                show_route(&wanted),
                                by.protocol
                            ),
                        );
                    }
                }
            }
        }
        for v6 in [false, true] {
            let mut kernel = Vec::new();
            if let Err(e) = rule::dump(&mut self.nl, v6, &mut kernel, |r| r.protocol == routing::PROTOCOL) {
                log::error!("routing: reading the rules: {e}");
                return;
            }
            let family: Vec<&routing::Wanted<rule::Rule>> =
                plan.rules.iter().filter(|w| w.entry.v6 == v6).collect();
            let entries: Vec<rule::Rule> = family.iter().map(|w| w.entry.clone()).collect();
            for change in routing::reconcile_rules(&entries, &kernel) {
                match change {
                    Change::Add(r) => {
                        let n =
                            family.iter().find(|w| w.entry == r).map_or("?", |w| w.name.as_str()).to_owned();
                        match rule::add(&mut self.nl, &r) {
                            Ok(()) => {
                                self.logged.remove(&n);
                                log::info!("rule {n}: added");
                            }
                            Err(e) => self.note(&n, format!("rule {n}: adding: {e}")),
                        }
                    }
                    Change::Delete(r) => match rule::delete(&mut self.nl, &r) {
                        Ok(()) => log::info!("routing: removed a rule of keeplite's (table {})", r.table),
                        Err(Cause::Kernel(rustix::io::Errno::NOENT)) => {}
                        Err(e) => log::error!("routing: removing a rule (table {}): {e}", r.table),
                    },
                    Change::Replace(_) | Change::Blocked { .. } => {}
                }
            }
        }
    }

    /// Logs `line` for section `name` unless it was the last thing logged for it.
    fn note(&mut self, name: &str, line: String) {
        if self.logged.get(name) != Some(&line) {
            log::error!("{line}");
            self.logged.insert(name.to_owned(), line);
        }
    }
}

/// The netlink options of a VIP or static address.
pub fn extra(vip: &Vip) -> address::Extra<'_> {
    let o = &vip.opts;
    address::Extra {
        label: o.label.as_deref(),
        scope: o.scope.unwrap_or(0),
        broadcast: o.broadcast,
        peer: o.peer,
        noprefixroute: o.noprefixroute,
    }
}

/// `ip route`-style text of a route.
fn show_route(r: &route::Route) -> String {
    let mut s = format!("{}/{}", r.dst, r.dst_len);
    if let Some(g) = r.gateway {
        s.push_str(&format!(" via {g}"));
    }
    if let Some(o) = r.oif {
        s.push_str(&format!(" oif {o}"));
    }
    if r.table != 254 {
        s.push_str(&format!(" table {}", r.table));
    }
    if r.metric != 0 {
        s.push_str(&format!(" metric {}", r.metric));
    }
    s
}
