//! The BFD sessions of the bfd checks the instances track (`track_bfd`, keepalived's
//! `bfd_instance`) and real servers name (keepalived's `BFD_CHECK`), run on the VRRP
//! thread: packets every few milliseconds and a detection time are timers like an
//! advert's; a session's state is what the instances weigh, and is written to the shared
//! [`States`] the checker reads for the real servers.
//!
//! Each session sends from a UDP socket of its own, bound to the check's `bind_ip` (when
//! given) and a port in 49152-65535 (RFC 5881 section 4), with the check's TTL (255 unless
//! set). Packets are received on port 3784 (4784 for multihop, RFC 5883) of every address,
//! one socket per family and port, and handed to the session their Your Discriminator
//! names, or for a first packet (Your Discriminator 0) the session of their source
//! address. A packet whose TTL is below the session's `ttl - max_hops` (single-hop: 255
//! only, RFC 5881's GTSM) is dropped.

use crate::bfd::packet::{self, Control, State};
use crate::bfd::session::Session;
use crate::bfd::states::States;
use crate::config::model::{BfdCheck, CheckKind, Config};
use crate::log;
use crate::vrrp::io::{cmsg, sys};
use rustix::net::{self as rnet, AddressFamily, SocketType};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Instant;

/// A session and the check it runs for.
struct Running {
    /// The check's position in the configuration.
    check: usize,
    name: String,
    /// What it was opened with: a reload keeps a session whose settings are the same.
    settings: (BfdCheck, Option<IpAddr>),
    neighbor: SocketAddr,
    session: Session,
    tx: UdpSocket,
    /// The lowest TTL a packet from the neighbour may arrive with.
    min_ttl: u8,
}

/// A socket receiving one family's packets on one port.
struct Listener {
    sock: UdpSocket,
    port: u16,
    ipv4: bool,
}

/// Every BFD session of a configuration.
#[derive(Default)]
pub struct Bfds {
    sessions: Vec<Running>,
    listeners: Vec<Listener>,
    /// xorshift state for transmit jitter and discriminators.
    random: u64,
    /// Each session's state, for the checker.
    states: std::sync::Arc<States>,
}

/// A session's state changed.
#[derive(Debug, Clone)]
pub struct Change {
    /// The check's position in the configuration.
    pub check: usize,
    pub name: String,
    pub neighbor: IpAddr,
    pub from: State,
    pub to: State,
    /// Why, as RFC 5880 numbers it.
    pub diag: u8,
}

impl Change {
    /// The session went up (`Some(true)`) or down from up (`Some(false)`); `None` for a
    /// change between the other states (Down, Init), which weighs nothing.
    pub fn up(&self) -> Option<bool> {
        (self.from == State::Up || self.to == State::Up).then_some(self.to == State::Up)
    }
}

impl Bfds {
    /// Opens a session for each bfd check `config`'s instances track or real servers
    /// name; their states go to `states`.
    pub fn open(config: &Config, states: std::sync::Arc<States>, now: Instant) -> Bfds {
        Bfds { random: seed(), states, ..Bfds::default() }.reopen(config, now)
    }

    /// The sessions of `config`: a session whose check has the same name and settings
    /// carries on (a reload does not take it down), the others are opened anew, and those
    /// no instance tracks any more are told AdminDown and closed. A session whose sockets
    /// cannot be opened (port 3784 taken by another BFD daemon, a `bind_ip` this host does
    /// not have) is logged and left out: it counts as down for the instances.
    pub fn reopen(mut self, config: &Config, now: Instant) -> Bfds {
        let mut old = std::mem::take(&mut self.sessions);
        let mut listeners = std::mem::take(&mut self.listeners);
        let mut b = Bfds { random: self.random, states: self.states.clone(), ..Bfds::default() };
        for check in tracked(config) {
            let c = &config.checks[check];
            let (CheckKind::Bfd(bfd), Some(neighbor)) = (&c.kind, c.connect_ip) else { continue };
            let port = if bfd.multihop { packet::MULTIHOP_PORT } else { packet::PORT };
            let ipv4 = neighbor.is_ipv4();
            if !b.listeners.iter().any(|l| l.port == port && l.ipv4 == ipv4) {
                let sock = match listeners.iter().position(|l| l.port == port && l.ipv4 == ipv4) {
                    Some(at) => listeners.swap_remove(at).sock,
                    None => match listener(neighbor.is_ipv6(), port) {
                        Ok(sock) => sock,
                        Err(e) => {
                            log::error!("bfd {}: {e}: the session counts as down", c.name);
                            continue;
                        }
                    },
                };
                b.listeners.push(Listener { sock, port, ipv4 });
            }
            let settings = (bfd.clone(), c.bind_ip);
            if let Some(at) = old
                .iter()
                .position(|r| r.name == c.name && r.settings == settings && r.neighbor.ip() == neighbor)
            {
                let mut kept = old.swap_remove(at);
                kept.check = check;
                b.sessions.push(kept);
                continue;
            }
            let tx = match sender(c.bind_ip, neighbor, bfd, &mut b.random) {
                Ok(tx) => tx,
                Err(e) => {
                    log::error!("bfd {}: {e}: the session counts as down", c.name);
                    continue;
                }
            };
            let discr = b.discriminator();
            b.sessions.push(Running {
                check,
                name: c.name.clone(),
                settings,
                neighbor: SocketAddr::new(neighbor, port),
                session: Session::new(bfd.timing, discr, now),
                tx,
                min_ttl: bfd.ttl.saturating_sub(bfd.max_hops),
            });
        }
        for mut gone in old {
            let _ = gone.tx.send_to(&gone.session.admin_down().emit(), gone.neighbor);
        }
        let names: Vec<&str> = b.sessions.iter().map(|s| s.name.as_str()).collect();
        b.states.retain(&names);
        for s in &b.sessions {
            b.states.set(&s.name, s.session.state() == State::Up);
        }
        b
    }

    /// The receiving sockets, by position.
    pub fn fds(&self) -> impl Iterator<Item = (BorrowedFd<'_>, usize)> {
        self.listeners.iter().enumerate().map(|(i, l)| (l.sock.as_fd(), i))
    }

    /// When [`tick`](Self::tick) next has work.
    pub fn deadline(&self) -> Option<Instant> {
        self.sessions.iter().map(|r| r.session.deadline()).min()
    }

    /// Whether the session of check `check` is Up.
    pub fn is_up(&self, check: usize) -> bool {
        self.sessions.iter().any(|r| r.check == check && r.session.state() == State::Up)
    }

    /// Reads what listener `l` has; returns the changes it causes.
    pub fn read(&mut self, l: usize, now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        let mut data = [0u8; 64];
        let mut name = [0u8; cmsg::SOCKADDR_LEN];
        loop {
            let mut control = cmsg::Control::new();
            let Some(listener) = self.listeners.get(l) else { break };
            let got = sys::recv_msg(listener.sock.as_fd(), &mut data, &mut name, &mut control.0);
            let Ok(r) = got else { break };
            let Some(src) = cmsg::parse_sockaddr(&name[..r.name_len]) else { continue };
            let ttl = received_ttl(&control.0[..r.control_len]);
            let port = listener.port;
            let c = match Control::parse(&data[..r.len]) {
                Ok(c) => c,
                Err(e) => {
                    log::debug!("bfd: from {src}: discarded: {}", e.describe());
                    continue;
                }
            };
            let found = self.sessions.iter().position(|s| {
                s.neighbor.port() == port
                    && if c.your_discr != 0 {
                        s.session.local_discr() == c.your_discr
                    } else {
                        s.neighbor.ip() == src
                    }
            });
            let Some(i) = found else {
                log::debug!("bfd: from {src}: no session (your discriminator {})", c.your_discr);
                continue;
            };
            let s = &mut self.sessions[i];
            if ttl.is_some_and(|t| t < s.min_ttl) || s.neighbor.ip() != src {
                log::debug!("bfd {}: from {src} with TTL {ttl:?}: discarded", s.name);
                continue;
            }
            if let Some(change) = s.session.receive(&c, now) {
                changes.push(report(&self.states, s, change.from, change.to, change.diag as u8));
            }
        }
        // A Final owed, or a faster interval, is sent at once.
        changes.extend(self.tick(now));
        changes
    }

    /// Detection timeouts and the packets due.
    pub fn tick(&mut self, now: Instant) -> Vec<Change> {
        let mut changes = Vec::new();
        for i in 0..self.sessions.len() {
            let jitter = self.next_random() as u32;
            let s = &mut self.sessions[i];
            if let Some(change) = s.session.expire(now) {
                changes.push(report(&self.states, s, change.from, change.to, change.diag as u8));
            }
            while let Some(p) = s.session.due(now, jitter) {
                if let Err(e) = s.tx.send_to(&p.emit(), s.neighbor) {
                    // No route yet, or an ICMP error from the last one: the detection
                    // time decides, not one send.
                    log::debug!("bfd {}: send to {}: {e}", s.name, s.neighbor);
                }
            }
        }
        changes
    }

    /// Tells every neighbour the sessions go administratively down (at stop).
    pub fn shutdown(&mut self) {
        for s in &mut self.sessions {
            let _ = s.tx.send_to(&s.session.admin_down().emit(), s.neighbor);
        }
    }

    /// A non-zero discriminator no session of this process has.
    fn discriminator(&mut self) -> u32 {
        loop {
            let d = self.next_random() as u32;
            if d != 0 && !self.sessions.iter().any(|s| s.session.local_discr() == d) {
                return d;
            }
        }
    }

    fn next_random(&mut self) -> u64 {
        xorshift(&mut self.random)
    }
}

/// Logs a change, tells the checker, and returns it.
fn report(states: &States, s: &Running, from: State, to: State, diag: u8) -> Change {
    states.set(&s.name, to == State::Up);
    log::info!(
        "bfd {}: {} -> {} ({}; neighbour {})",
        s.name,
        from.name(),
        to.name(),
        packet::Diag::describe(diag),
        s.neighbor.ip()
    );
    Change { check: s.check, name: s.name.clone(), neighbor: s.neighbor.ip(), from, to, diag }
}

/// xorshift64: jitter, discriminators and source ports need spread, not secrecy.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// A seed from the clock and the process id: sessions of two processes started together
/// still get different discriminators.
fn seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    (nanos ^ (u64::from(std::process::id()) << 32)) | 1
}

/// The bfd checks `config`'s instances track or real servers name, each once, in order.
fn tracked(config: &Config) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let by_instances = config.vrrp.iter().flat_map(|v| v.track_bfds.iter().map(|t| t.check));
    let by_servers = config.real_servers.iter().flat_map(|r| r.checks.iter().copied());
    for check in by_instances.chain(by_servers) {
        if matches!(config.checks[check].kind, CheckKind::Bfd(_)) && !out.contains(&check) {
            out.push(check);
        }
    }
    out
}

/// The socket receiving `port` on every address of one family, with each packet's TTL.
fn listener(ipv6: bool, port: u16) -> Result<UdpSocket, String> {
    let family = if ipv6 { AddressFamily::INET6 } else { AddressFamily::INET };
    let fd = rnet::socket_with(
        family,
        SocketType::DGRAM,
        rnet::SocketFlags::CLOEXEC | rnet::SocketFlags::NONBLOCK,
        None,
    )
    .map_err(|e| format!("socket: {e}"))?;
    let any: SocketAddr = if ipv6 {
        rnet::sockopt::set_ipv6_v6only(&fd, true).map_err(|e| format!("IPV6_V6ONLY: {e}"))?;
        sys::set_int(fd.as_fd(), sys::IPPROTO_IPV6, sys::IPV6_RECVHOPLIMIT, 1)
            .map_err(|e| format!("IPV6_RECVHOPLIMIT: {e}"))?;
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)
    } else {
        sys::set_int(fd.as_fd(), sys::IPPROTO_IP, sys::IP_RECVTTL, 1)
            .map_err(|e| format!("IP_RECVTTL: {e}"))?;
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
    };
    rnet::bind(&fd, &any).map_err(|e| format!("bind {any}: {e}"))?;
    Ok(UdpSocket::from(fd))
}

/// A session's sending socket: from `source` (else any address), a port in 49152-65535,
/// with the check's TTL.
fn sender(
    source: Option<IpAddr>,
    neighbor: IpAddr,
    bfd: &BfdCheck,
    random: &mut u64,
) -> Result<UdpSocket, String> {
    let ip = source.unwrap_or(if neighbor.is_ipv6() {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    let mut last = String::new();
    for _ in 0..64 {
        let port = 49152 + (xorshift(random) % 16384) as u16;
        match UdpSocket::bind(SocketAddr::new(ip, port)) {
            Ok(sock) => {
                sock.set_nonblocking(true).map_err(|e| format!("nonblocking: {e}"))?;
                if neighbor.is_ipv6() {
                    rnet::sockopt::set_ipv6_unicast_hops(&sock, Some(bfd.ttl))
                        .map_err(|e| format!("hop limit: {e}"))?;
                } else {
                    sock.set_ttl(u32::from(bfd.ttl)).map_err(|e| format!("TTL: {e}"))?;
                }
                return Ok(sock);
            }
            Err(e) => last = format!("bind {ip}:{port}: {e}"),
        }
    }
    Err(last)
}

/// The TTL or hop limit of a received packet, from its control messages.
fn received_ttl(control: &[u8]) -> Option<u8> {
    cmsg::messages(control).find_map(|(level, kind, data)| {
        let int = || data.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(i32::from_ne_bytes);
        match (level, kind) {
            (sys::IPPROTO_IP, sys::IP_TTL) | (sys::IPPROTO_IPV6, sys::IPV6_HOPLIMIT) => {
                int().and_then(|v| u8::try_from(v).ok())
            }
            _ => None,
        }
    })
}
