//! Splitting a netlink datagram into messages, and reading the control messages (ACK,
//! error, end of dump) that close a request. Pure: the datagram is untrusted input, and
//! nothing here panics on it.

use super::error::{errno_from_code, Cause};
use netlink_packet_core::{
    DoneBuffer, ErrorBuffer, NetlinkBuffer, NLMSG_ALIGNTO, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
    NLMSG_OVERRUN, NLM_F_DUMP_INTR,
};

/// One netlink message: its header fields and a borrowed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// `nlmsg_type`: `RTM_*` or one of the `NLMSG_*` control types.
    pub kind: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_pid`: the port of the request this answers (0 for notifications).
    pub port: u32,
    /// Everything after the 16-byte header, up to the message's own length.
    pub payload: &'a [u8],
}

/// What a message means to a request waiting for its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// A data message (`RTM_*`): part of the answer.
    Data,
    /// `NLMSG_ERROR` with code 0: the request succeeded.
    Ack,
    /// `NLMSG_DONE` with code 0: the dump is complete.
    Done,
    /// `NLMSG_NOOP`: nothing.
    Noop,
    /// The request failed, or the message says something went wrong.
    Failed(Cause),
}

impl Frame<'_> {
    /// Classifies the message; a control message too short to decode is [`Cause::Malformed`].
    pub fn control(&self) -> Control {
        match self.kind {
            // The buffers' own accessors read the code without copying the echoed request.
            NLMSG_ERROR => match ErrorBuffer::new_checked(self.payload) {
                Ok(buf) => code_to_control(buf.code().map_or(0, |c| c.get()), Control::Ack),
                Err(_) => Control::Failed(Cause::Malformed("short NLMSG_ERROR")),
            },
            // The kernel may send an NLMSG_DONE without its error code (an empty payload).
            NLMSG_DONE if self.payload.is_empty() => Control::Done,
            NLMSG_DONE => match DoneBuffer::new_checked(self.payload) {
                Ok(buf) => code_to_control(buf.code(), Control::Done),
                Err(_) => Control::Failed(Cause::Malformed("short NLMSG_DONE")),
            },
            NLMSG_NOOP => Control::Noop,
            NLMSG_OVERRUN => Control::Failed(Cause::Malformed("NLMSG_OVERRUN")),
            // Types below 16 are reserved for control messages; none but the above exist.
            kind if kind < 16 => Control::Failed(Cause::Malformed("unknown control message")),
            _ => Control::Data,
        }
    }
}

/// A zero code means `ok`; a negated errno means the kernel refused.
fn code_to_control(code: i32, ok: Control) -> Control {
    if code == 0 {
        return ok;
    }
    match errno_from_code(code) {
        Some(errno) => Control::Failed(Cause::Kernel(errno)),
        None => Control::Failed(Cause::Malformed("error code out of range")),
    }
}

/// The messages of one datagram, in order. After the first message whose length field
/// does not fit the datagram it yields one `Err` and stops: nothing after a broken length
/// can be framed.
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    rest: &'a [u8],
}

/// Iterates over the messages of `datagram`.
pub fn frames(datagram: &[u8]) -> Frames<'_> {
    Frames { rest: datagram }
}

impl Frames<'_> {
    /// Bytes not yet framed.
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
}

/// A request waiting for its answer: which messages belong to it, and when it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    seq: u32,
    port: u32,
    /// The kernel flagged a dump message as inconsistent (`NLM_F_DUMP_INTR`).
    interrupted: bool,
}

/// What one received message means to a [`Pending`] request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// Not ours (an answer to an earlier request that timed out), or a no-op.
    Skip,
    /// Part of the answer.
    Data(Frame<'a>),
    /// The request is over: acknowledged, dump complete, or failed.
    Finished(Result<(), Cause>),
}

impl Pending {
    /// Waits for the answer to request `seq` sent from port `port`.
    pub fn new(seq: u32, port: u32) -> Pending {
        Pending { seq, port, interrupted: false }
    }

    /// Feeds one framed message (or the framing error that ended a datagram).
    pub fn step<'a>(&mut self, frame: Result<Frame<'a>, Cause>) -> Step<'a> {
        let frame = match frame {
            Ok(frame) => frame,
            // The request socket only hears the kernel: a broken datagram ends the request.
            Err(cause) => return Step::Finished(Err(cause)),
        };
        if frame.seq != self.seq || frame.port != self.port {
            return Step::Skip;
        }
        match frame.control() {
            Control::Data => {
                self.interrupted |= frame.flags & NLM_F_DUMP_INTR != 0;
                Step::Data(frame)
            }
            Control::Noop => Step::Skip,
            Control::Ack => Step::Finished(Ok(())),
            Control::Done if self.interrupted => Step::Finished(Err(Cause::Interrupted)),
            Control::Done => Step::Finished(Ok(())),
            Control::Failed(cause) => Step::Finished(Err(cause)),
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, Cause>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let Ok(buf) = NetlinkBuffer::new_checked(self.rest) else {
            self.rest = &[];
            return Some(Err(Cause::Malformed("bad netlink message length")));
        };
        // new_checked guarantees 16 <= length <= rest.len(), so the slicing below holds.
        let len = buf.length() as usize;
        let frame = Frame {
            kind: buf.message_type(),
            flags: buf.flags(),
            seq: buf.sequence_number(),
            port: buf.port_number(),
            payload: buf.payload(),
        };
        // Messages are padded to 4 bytes; the last one's padding may be missing.
        let align = usize::from(NLMSG_ALIGNTO);
        let advance = len.saturating_add(align - 1) / align * align;
        self.rest = self.rest.get(advance..).unwrap_or(&[]);
        Some(Ok(frame))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rustix::io::Errno;

    /// A netlink message with `payload`, padded to 4 bytes as the kernel sends it.
    pub(crate) fn message(kind: u16, flags: u16, seq: u32, port: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut out = Vec::with_capacity(len + 3);
        out.extend_from_slice(&(len as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(&flags.to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&port.to_ne_bytes());
        out.extend_from_slice(payload);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    /// An NLMSG_ERROR answering a request `seq` with `code` (0: ACK).
    pub(crate) fn error(seq: u32, port: u32, code: i32) -> Vec<u8> {
        let mut payload = code.to_ne_bytes().to_vec();
        // The kernel echoes the request's header after the code.
        payload.extend_from_slice(&message(20, 5, seq, port, &[])[..16]);
        message(NLMSG_ERROR, 0x100, seq, port, &payload)
    }

    #[test]
    fn splits_a_datagram_and_classifies_control_messages() {
        let mut datagram = message(16, 2, 7, 99, &[1, 2, 3]);
        datagram.extend(message(NLMSG_DONE, 2, 7, 99, &0i32.to_ne_bytes()));
        datagram.extend(error(8, 99, 0));
        datagram.extend(error(9, 99, -17));
        datagram.extend(message(NLMSG_DONE, 2, 10, 99, &(-16i32).to_ne_bytes()));
        datagram.extend(message(NLMSG_DONE, 2, 11, 99, &[]));
        let got: Vec<_> = frames(&datagram).map(|f| f.map(|f| (f.seq, f.control()))).collect();
        assert_eq!(
            got,
            vec![
                Ok((7, Control::Data)),
                Ok((7, Control::Done)),
                Ok((8, Control::Ack)),
                Ok((9, Control::Failed(Cause::Kernel(Errno::EXIST)))),
                Ok((10, Control::Failed(Cause::Kernel(Errno::BUSY)))),
                Ok((11, Control::Done)),
            ]
        );
        let first = frames(&datagram).next().unwrap().unwrap();
        assert_eq!((first.kind, first.flags, first.port, first.payload), (16, 2, 99, &[1u8, 2, 3][..]));
    }

    #[test]
    fn a_broken_length_ends_the_datagram() {
        let mut datagram = message(16, 0, 1, 0, &[0; 8]);
        let mut bad = message(16, 0, 2, 0, &[0; 8]);
        bad[0] = 200; // longer than what is left
        datagram.extend(&bad);
        datagram.extend(message(16, 0, 3, 0, &[0; 8]));
        let got: Vec<_> = frames(&datagram).map(|f| f.map(|f| f.seq)).collect();
        assert_eq!(got, vec![Ok(1), Err(Cause::Malformed("bad netlink message length"))]);
        // Shorter than a header, and a length below the header size.
        assert_eq!(frames(&[1, 2, 3]).count(), 1);
        let mut tiny = message(16, 0, 1, 0, &[]);
        tiny[0] = 4;
        assert!(matches!(frames(&tiny).next(), Some(Err(_))));
    }

    #[test]
    fn a_pending_request_takes_only_its_own_answer() {
        let mut p = Pending::new(5, 42);
        let mut datagram = message(16, 2, 4, 42, &[9]); // stale: earlier request
        datagram.extend(message(16, 2, 5, 41, &[9])); // another socket's port
        datagram.extend(message(16, 2, 5, 42, &[1]));
        datagram.extend(message(NLMSG_NOOP, 0, 5, 42, &[]));
        datagram.extend(message(16, 2 | NLM_F_DUMP_INTR, 5, 42, &[2]));
        datagram.extend(message(NLMSG_DONE, 2, 5, 42, &0i32.to_ne_bytes()));
        let steps: Vec<_> = frames(&datagram)
            .map(|f| match p.step(f) {
                Step::Data(f) => Step::Data(Frame { payload: &[], ..f }),
                other => other,
            })
            .collect();
        assert_eq!(steps[..2], [Step::Skip, Step::Skip]);
        assert!(matches!(steps[2], Step::Data(Frame { seq: 5, .. })));
        assert_eq!(steps[3], Step::Skip);
        assert_eq!(steps[5], Step::Finished(Err(Cause::Interrupted)));
        let mut p = Pending::new(8, 42);
        let nack = error(8, 42, -19);
        let acks: Vec<_> = frames(&nack).map(|f| p.step(f)).collect();
        assert_eq!(acks, [Step::Finished(Err(Cause::Kernel(Errno::NODEV)))]);
        assert_eq!(Pending::new(1, 1).step(Err(Cause::Timeout)), Step::Finished(Err(Cause::Timeout)));
    }

    #[test]
    fn short_or_strange_control_messages_are_malformed() {
        let f = |kind, payload: &'static [u8]| Frame { kind, flags: 0, seq: 0, port: 0, payload }.control();
        assert!(matches!(f(NLMSG_ERROR, &[0, 0]), Control::Failed(Cause::Malformed(_))));
        assert!(matches!(f(NLMSG_DONE, &[0, 0]), Control::Failed(Cause::Malformed(_))));
        assert!(matches!(f(NLMSG_ERROR, &[0, 0, 0, 0x80]), Control::Failed(Cause::Malformed(_))));
        assert!(matches!(f(NLMSG_OVERRUN, &[]), Control::Failed(_)));
        assert!(matches!(f(9, &[]), Control::Failed(_)));
        assert_eq!(f(NLMSG_NOOP, &[]), Control::Noop);
    }
}
