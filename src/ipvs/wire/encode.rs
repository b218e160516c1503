//! Writing IPVS requests: several netlink messages in one buffer, one datagram.

use super::*;
use crate::ipvs::model::{Dest, DestKey, Method, Service, ServiceKey, SyncRole, SVC_FLAGS_MANAGED};
use crate::ipvs::reconcile::Op;
use std::net::IpAddr;

/// Netlink messages written one after another, ready for one `sendmsg`.
#[derive(Debug, Default)]
pub struct Batch {
    buf: Vec<u8>,
    /// Start of the message being written.
    message: usize,
    /// Starts of the nested attributes being written, innermost last.
    nests: heapless::Vec<usize, 4>,
    count: usize,
}

impl Batch {
    /// An empty batch with room for `bytes` before it grows.
    pub fn with_capacity(bytes: usize) -> Batch {
        Batch { buf: Vec::with_capacity(bytes), ..Batch::default() }
    }

    /// The encoded messages.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Messages in the batch.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the batch holds no message.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.nests.clear();
        self.count = 0;
    }

    fn begin(&mut self, kind: u16, flags: u16, seq: u32, port: u32, command: u8, version: u8) {
        self.message = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]); // length, patched by end()
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&port.to_ne_bytes());
        self.buf.extend_from_slice(&[command, version, 0, 0]);
    }

    fn end(&mut self) {
        let len = (self.buf.len() - self.message) as u32;
        self.buf[self.message..self.message + 4].copy_from_slice(&len.to_ne_bytes());
        self.count += 1;
    }

    fn attr(&mut self, kind: u16, value: &[u8]) {
        let len = (NLA_HEADER + value.len()) as u16;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
    }

    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }

    fn u16(&mut self, kind: u16, value: u16) {
        self.attr(kind, &value.to_ne_bytes());
    }

    fn u32(&mut self, kind: u16, value: u32) {
        self.attr(kind, &value.to_ne_bytes());
    }

    fn addr(&mut self, kind: u16, addr: IpAddr) {
        // union nf_inet_addr: 16 bytes, an IPv4 address in the first four.
        let mut raw = [0u8; 16];
        match addr {
            IpAddr::V4(a) => raw[..4].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => raw = a.octets(),
        }
        self.attr(kind, &raw);
    }

    fn nest_begin(&mut self, kind: u16) {
        // Four levels are more than IPVS ever nests; a fifth would be a keeplite bug, and
        // dropping the marker only makes that message malformed for the kernel to refuse.
        let _ = self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    }

    fn nest_end(&mut self) {
        if let Some(start) = self.nests.pop() {
            let len = (self.buf.len() - start) as u16;
            self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        }
    }

    /// Asks the controller for the id of family `name`.
    pub fn resolve_family(&mut self, seq: u32, port: u32, name: &str) {
        self.begin(GENL_ID_CTRL, NLM_F_ACK, seq, port, CTRL_CMD_GETFAMILY, 1);
        let mut raw = heapless::Vec::<u8, 32>::new();
        let _ = raw.extend_from_slice(name.as_bytes());
        let _ = raw.push(0);
        self.attr(CTRL_ATTR_FAMILY_NAME, &raw);
        self.end();
    }

    /// A request without attributes: `GET_INFO`, or a dump of services or daemons.
    pub fn command(&mut self, family: u16, flags: u16, seq: u32, port: u32, command: u8) {
        self.begin(family, flags, seq, port, command, IPVS_GENL_VERSION);
        self.end();
    }

    /// A dump of the destinations of service `key`.
    pub fn dump_dests(&mut self, family: u16, seq: u32, port: u32, key: &ServiceKey) {
        self.begin(family, NLM_F_DUMP, seq, port, cmd::GET_DEST, IPVS_GENL_VERSION);
        self.service_key(key);
        self.end();
    }

    /// One write of a reconcile, acknowledged by the kernel.
    pub fn op(&mut self, family: u16, seq: u32, port: u32, op: &Op) {
        let command = match op {
            Op::AddService(_) => cmd::NEW_SERVICE,
            Op::EditService(_) => cmd::SET_SERVICE,
            Op::DelService(_) => cmd::DEL_SERVICE,
            Op::AddDest(..) => cmd::NEW_DEST,
            Op::EditDest(..) => cmd::SET_DEST,
            Op::DelDest(..) => cmd::DEL_DEST,
        };
        self.begin(family, NLM_F_ACK, seq, port, command, IPVS_GENL_VERSION);
        match op {
            Op::AddService(s) | Op::EditService(s) => self.service(s),
            Op::DelService(key) => self.service_key(key),
            Op::AddDest(key, d) | Op::EditDest(key, d) => {
                self.service_key(key);
                self.dest(d);
            }
            Op::DelDest(key, d) => {
                self.service_key(key);
                self.nest_begin(top::DEST);
                self.dest_key(d);
                self.nest_end();
            }
        }
        self.end();
    }

    /// Starts the connection sync daemon in `role` on `interface` with `sync_id`.
    pub fn start_sync(&mut self, family: u16, seq: u32, port: u32, role: SyncRole, interface: &str, id: u8) {
        self.begin(family, NLM_F_ACK, seq, port, cmd::NEW_DAEMON, IPVS_GENL_VERSION);
        self.nest_begin(top::DAEMON);
        self.u32(daemon::STATE, role.bits());
        let mut name = heapless::Vec::<u8, 16>::new();
        let _ = name.extend_from_slice(interface.as_bytes());
        let _ = name.push(0);
        self.attr(daemon::MCAST_IFN, &name);
        self.u32(daemon::SYNC_ID, u32::from(id));
        self.nest_end();
        self.end();
    }

    /// Stops the connection sync daemon of `role`.
    pub fn stop_sync(&mut self, family: u16, seq: u32, port: u32, role: SyncRole) {
        self.begin(family, NLM_F_ACK, seq, port, cmd::DEL_DAEMON, IPVS_GENL_VERSION);
        self.nest_begin(top::DAEMON);
        self.u32(daemon::STATE, role.bits());
        self.nest_end();
        self.end();
    }

    fn service_key_attrs(&mut self, key: &ServiceKey) {
        self.u16(svc::AF, af(key.family()));
        match *key {
            ServiceKey::Address { protocol, addr, port } => {
                self.u16(svc::PROTOCOL, protocol);
                self.addr(svc::ADDR, addr);
                self.attr(svc::PORT, &port.to_be_bytes());
            }
            ServiceKey::Fwmark { mark, .. } => self.u32(svc::FWMARK, mark),
        }
    }

    fn service_key(&mut self, key: &ServiceKey) {
        self.nest_begin(top::SERVICE);
        self.service_key_attrs(key);
        self.nest_end();
    }

    fn service(&mut self, s: &Service) {
        self.nest_begin(top::SERVICE);
        self.service_key_attrs(&s.key);
        let mut name = heapless::Vec::<u8, 16>::new();
        let _ = name.extend_from_slice(s.scheduler.as_bytes());
        let _ = name.push(0);
        self.attr(svc::SCHED_NAME, &name);
        // struct ip_vs_flags { flags, mask }: only the bits keeplite manages change.
        let mut flags = [0u8; 8];
        flags[..4].copy_from_slice(&(s.flags & SVC_FLAGS_MANAGED).to_ne_bytes());
        flags[4..].copy_from_slice(&SVC_FLAGS_MANAGED.to_ne_bytes());
        self.attr(svc::FLAGS, &flags);
        self.u32(svc::TIMEOUT, s.timeout);
        self.attr(svc::NETMASK, &netmask_bytes(s.key.family(), s.netmask));
        self.nest_end();
    }

    fn dest_key(&mut self, key: &DestKey) {
        self.addr(dest::ADDR, key.addr);
        self.attr(dest::PORT, &key.port.to_be_bytes());
        // The destination's own family: the kernel allows IPv4 real servers behind an
        // IPv6 service when tunnelling.
        self.u16(dest::ADDR_FAMILY, af(Family::of(key.addr)));
    }

    fn dest(&mut self, d: &Dest) {
        self.nest_begin(top::DEST);
        self.dest_key(&d.key);
        self.u32(dest::FWD_METHOD, d.method.bits());
        self.u32(dest::WEIGHT, d.weight);
        self.u32(dest::U_THRESH, d.u_threshold);
        self.u32(dest::L_THRESH, d.l_threshold);
        if d.method == Method::Tunnel {
            self.attr(dest::TUN_TYPE, &[d.tunnel.kind]);
            self.attr(dest::TUN_PORT, &d.tunnel.port.to_be_bytes());
            self.u16(dest::TUN_FLAGS, d.tunnel.flags);
        }
        self.nest_end();
    }
}

/// The netmask attribute: an IPv4 mask in network order, an IPv6 prefix length as a host
/// order number (the kernel reads both through one `__be32`).
fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        Family::Ipv4 => netmask.to_be_bytes(),
        Family::Ipv6 => netmask.to_ne_bytes(),
    }
}
