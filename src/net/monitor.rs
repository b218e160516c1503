//! Change notifications: links going up or down, addresses added or removed. Non-blocking,
//! so the daemon's poll loop waits on [`Monitor`]'s fd and then drains it with
//! [`Monitor::next_event`].
//!
//! Notifications are untrusted input like any other: a message that cannot be decoded, or
//! of a type keeplite does not use, is skipped and counted, and the next one is read. A
//! notification the kernel had to drop (its queue overflowed) is reported as
//! [`Event::Lost`], because from then on only a fresh read of links and addresses is right.

use super::address::{Address, RTM_DELADDR, RTM_NEWADDR};
use super::error::{Cause, Error, Op};
use super::frame::{frames, Frame};
use super::link::{IfName, Link, RTM_DELLINK, RTM_NEWLINK};
use super::netlink::{group_mask, Socket, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_LINK};
use rustix::fd::{AsFd, BorrowedFd};
use rustix::io::Errno;

/// One change the kernel announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A link appeared or changed; this is its state now ([`Link::is_up`] for up/down).
    /// The kernel also sends this for changes keeplite does not care about (MTU, carrier
    /// counters), so compare with the previous state.
    Link(Link),
    /// A link was deleted.
    LinkRemoved { index: u32, name: IfName },
    /// An address was added, or changed (an IPv6 address finishing DAD comes again,
    /// no longer tentative).
    AddressAdded(Address),
    /// An address was removed.
    AddressRemoved(Address),
    /// The kernel dropped notifications: re-read the links and addresses keeplite watches.
    Lost,
}

/// What one notification message holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// An event.
    Event(Event),
    /// Not decodable, or of a type keeplite does not use.
    Skipped,
}

/// Decodes one notification message. Never panics, whatever the bytes.
pub fn decode(frame: &Frame<'_>) -> Decoded {
    let event = match frame.kind {
        RTM_NEWLINK => Link::parse(frame.payload).map(Event::Link),
        RTM_DELLINK => {
            Link::parse(frame.payload).map(|l| Event::LinkRemoved { index: l.index, name: l.name })
        }
        RTM_NEWADDR => Address::parse(frame.payload).map(Event::AddressAdded),
        RTM_DELADDR => Address::parse(frame.payload).map(Event::AddressRemoved),
        _ => None,
    };
    event.map_or(Decoded::Skipped, Decoded::Event)
}

/// A subscription to link and IPv4/IPv6 address changes.
#[derive(Debug)]
pub struct Monitor {
    sock: Socket,
    /// Offset of the next unread message in the socket's last datagram.
    pos: usize,
    skipped: u64,
    lost: u64,
}

impl Monitor {
    /// Subscribes to `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR` and `RTNLGRP_IPV6_IFADDR`.
    pub fn open() -> Result<Monitor, Error> {
        let mask =
            group_mask(RTNLGRP_LINK) | group_mask(RTNLGRP_IPV4_IFADDR) | group_mask(RTNLGRP_IPV6_IFADDR);
        let sock = Socket::subscribe(mask)?;
        Ok(Monitor { sock, pos: 0, skipped: 0, lost: 0 })
    }

    /// The next event, or `Ok(None)` when none is waiting (wait for the fd to be readable).
    /// Subscribe before reading the initial state, so that no change falls in between.
    pub fn next_event(&mut self) -> Result<Option<Event>, Error> {
        loop {
            let datagram = self.sock.received();
            while self.pos < datagram.len() {
                let mut rest = frames(datagram.get(self.pos..).unwrap_or(&[]));
                let frame = rest.next();
                self.pos = datagram.len() - rest.remaining();
                match frame {
                    Some(Ok(frame)) => match decode(&frame) {
                        Decoded::Event(event) => return Ok(Some(event)),
                        Decoded::Skipped => self.skipped += 1,
                    },
                    // Unframeable: the rest of this datagram is gone.
                    Some(Err(_)) => {
                        self.skipped += 1;
                        self.pos = datagram.len();
                    }
                    None => self.pos = datagram.len(),
                }
            }
            self.pos = 0;
            match self.sock.recv() {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(None),
                // ENOBUFS: the queue overflowed; a truncated datagram lost its tail. Either
                // way notifications are missing, and the socket still works.
                Err(Cause::Syscall { errno: Errno::NOBUFS, .. } | Cause::Truncated { .. }) => {
                    self.lost += 1;
                    return Ok(Some(Event::Lost));
                }
                Err(cause) => return Err(Error::new(Op::ReadEvents, cause)),
            }
        }
    }

    /// Messages skipped so far: undecodable, of an unused type, or not from the kernel.
    pub fn skipped(&self) -> u64 {
        self.skipped + self.sock.foreign()
    }

    /// Times the kernel dropped notifications ([`Event::Lost`]).
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

impl AsFd for Monitor {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::net::address::tests::newaddr;
    use crate::net::frame::tests::message;
    use crate::net::link::tests::newlink;
    use netlink_packet_route::link::LinkFlags;

    /// Every message of `datagram`, decoded, as the monitor reads them.
    pub(crate) fn decode_all(datagram: &[u8]) -> Vec<Decoded> {
        frames(datagram).map(|f| f.map_or(Decoded::Skipped, |f| decode(&f))).collect()
    }

    #[test]
    fn decodes_link_and_address_notifications() {
        let mut datagram = message(RTM_NEWLINK, 0, 0, 0, &newlink(2, "eth0", LinkFlags::Up, vec![]));
        datagram.extend(message(RTM_DELLINK, 0, 0, 0, &newlink(5, "vrrp.51", LinkFlags::empty(), vec![])));
        datagram.extend(message(RTM_NEWADDR, 0, 0, 0, &newaddr(2, "198.51.100.7".parse().unwrap(), 24, 0)));
        datagram.extend(message(RTM_DELADDR, 0, 0, 0, &newaddr(2, "2001:db8:1::7".parse().unwrap(), 64, 2)));
        datagram.extend(message(24, 0, 0, 0, &[0; 12])); // RTM_NEWROUTE: not used
        datagram.extend(message(RTM_NEWADDR, 0, 0, 0, &[1, 2, 3])); // truncated
        let got = decode_all(&datagram);
        assert!(
            matches!(&got[0], Decoded::Event(Event::Link(l)) if l.index == 2 && !l.is_up() && l.admin_up)
        );
        assert!(
            matches!(&got[1], Decoded::Event(Event::LinkRemoved { index: 5, name }) if name.as_str() == "vrrp.51")
        );
        assert!(matches!(&got[2], Decoded::Event(Event::AddressAdded(a)) if a.prefix == 24 && a.index == 2));
        assert!(
            matches!(&got[3], Decoded::Event(Event::AddressRemoved(a)) if a.addr.is_ipv6() && a.flags.nodad())
        );
        assert_eq!(got[4..], [Decoded::Skipped, Decoded::Skipped]);
    }
}
