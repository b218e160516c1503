//! A netlink socket on rustix: send one request to the kernel and collect its answer,
//! or receive change notifications without blocking. NETLINK_ROUTE for links and
//! addresses; NETLINK_GENERIC for IPVS, whose messages arrive already encoded.
//!
//! rtnetlink message bodies come from netlink-packet-route; framing and the ACK/error/end-of-dump
//! logic are in [`super::frame`]. The socket only speaks to the kernel: datagrams from any
//! other sender are dropped, and replies are matched to the request by sequence number and
//! port, so a late answer to an earlier, timed-out request is never taken for this one.

use super::error::{Cause, Error, Op};
use super::frame::{frames, Frame, Pending, Step};
use netlink_packet_core::{Emitable, NetlinkHeader, NLM_F_REQUEST};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::time::Duration;

/// Receive buffer per socket. The kernel sizes dump datagrams to the reader's buffer up to
/// 32 KiB; a smaller buffer would truncate a link dump with many attributes.
pub const RECV_BUFFER: usize = 32 * 1024;
/// Largest request keeplite sends (a macvlan creation is about 100 bytes).
const SEND_BUFFER: usize = 512;
/// How long a request waits for the kernel; rtnetlink answers synchronously, so hitting
/// this means something is badly wrong, and the daemon must not hang on it.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(2);
/// Socket receive queue asked for the notification socket, so that a burst of link
/// flaps does not overflow it (the kernel caps it at `net.core.rmem_max`).
const NOTIFY_QUEUE_BYTES: usize = 256 * 1024;

/// `RTNLGRP_LINK`: link created, changed, deleted.
pub const RTNLGRP_LINK: u32 = 1;
/// `RTNLGRP_IPV4_IFADDR`: IPv4 address added or removed.
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
/// `RTNLGRP_IPV6_IFADDR`: IPv6 address added, removed or changed (DAD finished).
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
/// `RTNLGRP_IPV4_ROUTE`, `RTNLGRP_IPV4_RULE`, `RTNLGRP_IPV6_ROUTE`: route and rule changes.
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
pub const RTNLGRP_IPV4_RULE: u32 = 8;
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
/// `RTNLGRP_IPV6_RULE` is group 19.
pub const RTNLGRP_IPV6_RULE: u32 = 19;

/// The `bind` mask bit of multicast group `group` (1..=32; higher groups need setsockopt).
pub const fn group_mask(group: u32) -> u32 {
    if group == 0 || group > 32 {
        0
    } else {
        1 << (group - 1)
    }
}

/// Receive queue asked for the generic socket: a batch of writes is acknowledged one
/// message per write, and every acknowledgement must fit until it is read.
const GENERIC_QUEUE_BYTES: usize = 1024 * 1024;

/// A message body keeplite encoded itself (routes, rules).
pub struct Raw<'a>(pub &'a [u8]);

impl Emitable for Raw<'_> {
    fn buffer_len(&self) -> usize {
        self.0.len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        buffer[..self.0.len()].copy_from_slice(self.0);
    }
}

/// A netlink socket with its receive buffer, allocated once.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
    /// Our port id, assigned by the kernel at bind time; replies carry it.
    port: u32,
    seq: u32,
    buf: Box<[u8]>,
    /// Length of the last datagram in `buf`.
    len: usize,
    /// Datagrams dropped because they did not come from the kernel.
    foreign: u64,
}

impl Socket {
    /// A blocking socket for requests; each wait for the kernel ends after [`REPLY_TIMEOUT`].
    pub fn open() -> Result<Socket, Error> {
        Socket::open_blocking(None).map_err(|cause| Error::new(Op::Open, cause))
    }

    /// A blocking NETLINK_GENERIC socket, like [`Socket::open`].
    pub fn open_generic() -> Result<Socket, Cause> {
        let sock = Socket::open_blocking(Some(rustix::net::netlink::GENERIC))?;
        // Best effort: the writer also bounds each batch to what the default queue holds.
        let _ = sockopt::set_socket_recv_buffer_size(&sock.fd, GENERIC_QUEUE_BYTES);
        Ok(sock)
    }

    fn open_blocking(protocol: Option<rustix::net::Protocol>) -> Result<Socket, Cause> {
        let sock = Socket::bind(protocol, 0, SocketFlags::CLOEXEC)?;
        sockopt::set_socket_timeout(&sock.fd, sockopt::Timeout::Recv, Some(REPLY_TIMEOUT))
            .map_err(|errno| Cause::Syscall { call: "setsockopt(SO_RCVTIMEO)", errno })?;
        Ok(sock)
    }

    /// A non-blocking socket that receives the notifications of the groups in `mask`
    /// (see [`group_mask`]); read it with [`Socket::recv`], never [`Socket::request`].
    pub fn subscribe(mask: u32) -> Result<Socket, Error> {
        let sock = Socket::bind(None, mask, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK)
            .map_err(|cause| Error::new(Op::Subscribe, cause))?;
        // Best effort: without it the default queue still works, just overflows sooner,
        // and an overflow is reported to the reader as lost events, never hidden.
        let _ = sockopt::set_socket_recv_buffer_size(&sock.fd, NOTIFY_QUEUE_BYTES);
        Ok(sock)
    }

    /// `protocol`: NETLINK_ROUTE is protocol 0, which rustix spells `None` (its Protocol
    /// is non-zero).
    fn bind(
        protocol: Option<rustix::net::Protocol>,
        groups: u32,
        flags: SocketFlags,
    ) -> Result<Socket, Cause> {
        let fd = rustix::net::socket_with(AddressFamily::NETLINK, SocketType::RAW, flags, protocol)
            .map_err(|errno| Cause::Syscall { call: "socket(AF_NETLINK)", errno })?;
        rustix::net::bind(&fd, &SocketAddrNetlink::new(0, groups))
            .map_err(|errno| Cause::Syscall { call: "bind", errno })?;
        let addr =
            rustix::net::getsockname(&fd).map_err(|errno| Cause::Syscall { call: "getsockname", errno })?;
        let port = SocketAddrNetlink::try_from(addr)
            .map_err(|errno| Cause::Syscall { call: "getsockname", errno })?
            .pid();
        Ok(Socket { fd, port, seq: 0, buf: vec![0; RECV_BUFFER].into_boxed_slice(), len: 0, foreign: 0 })
    }

    /// The port id the kernel gave this socket.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Datagrams dropped so far because their sender was not the kernel.
    pub fn foreign(&self) -> u64 {
        self.foreign
    }

    /// Sends message `kind` (`RTM_*`) with body `body` and `flags` (`NLM_F_REQUEST` is
    /// added), and waits for the answer: every data message goes to `on_data`; the request
    /// ends at the ACK or at the end of the dump. An `NLMSG_ERROR` becomes [`Cause::Kernel`].
    pub fn request(
        &mut self,
        kind: u16,
        flags: u16,
        body: &impl Emitable,
        on_data: impl FnMut(Frame<'_>),
    ) -> Result<(), Cause> {
        let seq = self.next_seq();
        self.send(kind, flags | NLM_F_REQUEST, seq, body)?;
        self.wait(seq, on_data)
    }

    /// Dumps with request `kind` (`NLM_F_DUMP`) and body `header`, collecting into `out`
    /// what `parse` makes of each message of type `entry` (`None`: skipped). A dump the
    /// kernel interrupts (the table changed meanwhile) is started again, `out` cleared,
    /// up to three times.
    pub fn dump_into<T>(
        &mut self,
        kind: u16,
        entry: u16,
        header: &[u8],
        out: &mut Vec<T>,
        mut parse: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<(), Cause> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            out.clear();
            let flags = netlink_packet_core::NLM_F_ACK | netlink_packet_core::NLM_F_DUMP;
            let result = self.request(kind, flags, &Raw(header), |frame| {
                if frame.kind == entry {
                    out.extend(parse(frame.payload));
                }
            });
            match result {
                Err(Cause::Interrupted) if attempt < 3 => continue,
                other => return other,
            }
        }
    }

    /// A fresh sequence number for a request written by the caller.
    pub fn next_seq(&mut self) -> u32 {
        // Zero is left to notifications, which carry no request's number.
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Waits for the answer to request `seq`, as [`Socket::request`] does.
    pub fn wait(&mut self, seq: u32, mut on_data: impl FnMut(Frame<'_>)) -> Result<(), Cause> {
        let mut pending = Pending::new(seq, self.port);
        loop {
            if self.recv()?.is_none() {
                return Err(Cause::Timeout);
            }
            for frame in frames(&self.buf[..self.len]) {
                match pending.step(frame) {
                    Step::Skip => {}
                    Step::Data(frame) => on_data(frame),
                    Step::Finished(result) => return result,
                }
            }
        }
    }

    /// Sends messages the caller encoded (headers included) in one datagram.
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Cause> {
        loop {
            match rustix::net::sendto(&self.fd, bytes, SendFlags::empty(), &SocketAddrNetlink::new(0, 0)) {
                Ok(_) => return Ok(()),
                Err(Errno::INTR) => continue,
                Err(errno) => return Err(Cause::Syscall { call: "sendto", errno }),
            }
        }
    }

    fn send(&mut self, kind: u16, flags: u16, seq: u32, body: &impl Emitable) -> Result<(), Cause> {
        // The body is emitted on its own, not wrapped in RouteNetlinkMessage: that enum's
        // emit covers every rtnetlink object (routes, qdiscs, ...) and would link all of
        // them into the binary for the two keeplite uses.
        let mut header = NetlinkHeader::default();
        let len = header.buffer_len() + body.buffer_len();
        header.length = u32::try_from(len).map_err(|_| Cause::RequestTooLarge)?;
        header.message_type = kind;
        header.flags = flags;
        header.sequence_number = seq;
        header.port_number = self.port;
        let mut out = [0u8; SEND_BUFFER];
        // emit() panics on a short buffer; the length is checked first.
        let out = out.get_mut(..len).ok_or(Cause::RequestTooLarge)?;
        let (head, rest) = out.split_at_mut(header.buffer_len());
        header.emit(head);
        body.emit(rest);
        self.send_raw(out)
    }

    /// Receives one datagram from the kernel into the buffer ([`Socket::received`]).
    /// `Ok(None)`: nothing waiting (non-blocking socket) or the timeout passed (request
    /// socket). A kernel-side queue overflow is `Syscall { errno: ENOBUFS }`.
    pub fn recv(&mut self) -> Result<Option<usize>, Cause> {
        self.len = 0;
        loop {
            match rustix::net::recvfrom(&self.fd, &mut self.buf[..], RecvFlags::TRUNC) {
                Ok((_, full, from)) => {
                    // With MSG_TRUNC the kernel reports the datagram's real length.
                    if full > self.buf.len() {
                        return Err(Cause::Truncated { len: full });
                    }
                    let sender = from.and_then(|a| SocketAddrNetlink::try_from(a).ok()).map(|a| a.pid());
                    if sender != Some(0) {
                        self.foreign += 1;
                        continue;
                    }
                    self.len = full;
                    return Ok(Some(full));
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return Ok(None),
                Err(errno) => return Err(Cause::Syscall { call: "recvfrom", errno }),
            }
        }
    }

    /// The datagram the last successful [`Socket::recv`] stored.
    pub fn received(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_masks() {
        assert_eq!(group_mask(RTNLGRP_LINK), 0x1);
        assert_eq!(group_mask(RTNLGRP_IPV4_IFADDR), 0x10);
        assert_eq!(group_mask(RTNLGRP_IPV6_IFADDR), 0x100);
        assert_eq!(group_mask(0), 0);
        assert_eq!(group_mask(33), 0);
    }
}
