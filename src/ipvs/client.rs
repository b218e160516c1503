//! The IPVS client: one generic netlink socket, the `IPVS` family resolved once, dumps
//! read one reply at a time, and writes sent in batches of several messages per datagram
//! with one acknowledgement each, so an error names the write that caused it.

use super::model::{DumpedDest, DumpedService, Service, ServiceKey, Stats, SyncRole};
use super::reconcile::Op;
use super::wire::{self, Batch, Info, SyncDaemon, NLM_F_ACK, NLM_F_DUMP};
use crate::net::error::Cause;
use crate::net::frame::{frames, Control};
use crate::net::netlink::Socket;
use rustix::io::Errno;
use std::fmt;

/// Writes per datagram. Each is acknowledged by its own message, and every
/// acknowledgement of a batch waits in the socket's receive queue until read: 64 fit the
/// kernel's default queue with room to spare even when the larger queue was refused.
const BATCH_MESSAGES: usize = 64;
/// Room for one batch (the largest write, a tunnel destination, is about 150 bytes).
const BATCH_BYTES: usize = BATCH_MESSAGES * 160;

/// What the client was doing when the kernel or the socket said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Opening the socket and resolving the `IPVS` family.
    Open,
    Info,
    DumpServices,
    DumpDests(ServiceKey),
    DumpSync,
    Write(Op),
    StartSync(SyncRole),
    StopSync(SyncRole),
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Open => f.write_str("open IPVS generic netlink"),
            Action::Info => f.write_str("read IPVS version"),
            Action::DumpServices => f.write_str("list IPVS services"),
            Action::DumpDests(key) => write!(f, "list destinations of {key}"),
            Action::DumpSync => f.write_str("list sync daemons"),
            Action::Write(op) => write!(f, "{op}"),
            Action::StartSync(role) => write!(f, "start sync daemon ({})", role.name()),
            Action::StopSync(role) => write!(f, "stop sync daemon ({})", role.name()),
        }
    }
}

/// A failed IPVS request: what, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub action: Action,
    pub cause: Cause,
}

impl Error {
    fn new(action: Action, cause: Cause) -> Error {
        Error { action, cause }
    }

    /// True when the kernel has no IPVS at all (no `ip_vs` module, or not built).
    pub fn is_unavailable(&self) -> bool {
        self.action == Action::Open && self.cause == Cause::Kernel(Errno::NOENT)
    }

    /// What the errno means for this request, in an operator's words.
    fn hint(&self) -> Option<String> {
        let Cause::Kernel(errno) = self.cause else { return None };
        let hint = match (&self.action, errno) {
            (Action::Open, Errno::NOENT) => "this kernel has no IPVS (ip_vs module not loaded)".into(),
            (Action::Write(Op::AddService(s) | Op::EditService(s)), Errno::NOENT) => {
                format!("this kernel has no scheduler {} (module ip_vs_{0} missing)", s.scheduler)
            }
            (Action::Write(Op::AddService(_) | Op::AddDest(..)), Errno::EXIST) => "it already exists".into(),
            (Action::Write(Op::EditDest(..) | Op::DelDest(..)), Errno::NOENT) => "no such destination".into(),
            (Action::Write(_), Errno::SRCH) => "no such service".into(),
            (_, Errno::PERM | Errno::ACCESS) => "CAP_NET_ADMIN is needed".into(),
            _ => return None,
        };
        Some(hint)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action, self.cause)?;
        match self.hint() {
            Some(hint) => write!(f, ": {hint}"),
            None => Ok(()),
        }
    }
}

/// A connection to the kernel's IPVS.
#[derive(Debug)]
pub struct Client {
    sock: Socket,
    /// The message type of the `IPVS` generic netlink family.
    family: u16,
    batch: Batch,
    /// Writes sent since the client was opened (each one a netlink message).
    writes: u64,
}

impl Client {
    /// Opens the socket and resolves the `IPVS` family; [`Error::is_unavailable`] tells a
    /// kernel without IPVS.
    pub fn open() -> Result<Client, Error> {
        let sock = Socket::open_generic().map_err(|cause| Error::new(Action::Open, cause))?;
        let mut client = Client { sock, family: 0, batch: Batch::with_capacity(BATCH_BYTES), writes: 0 };
        let ids = client.exchange(
            Action::Open,
            |b, seq, port| b.resolve_family(seq, port, wire::IPVS_FAMILY_NAME),
            wire::parse_family_id,
        )?;
        client.family = first(ids, Action::Open)?;
        Ok(client)
    }

    /// Netlink writes sent so far: a reconcile that changes nothing sends none.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// IPVS version and connection table size.
    pub fn info(&mut self) -> Result<Info, Error> {
        let family = self.family;
        let infos = self.exchange(
            Action::Info,
            |b, seq, port| b.command(family, NLM_F_ACK, seq, port, wire::cmd::GET_INFO),
            wire::parse_info,
        )?;
        first(infos, Action::Info)
    }

    /// Every service in the kernel, with its counters.
    pub fn services(&mut self) -> Result<Vec<(Service, Stats)>, Error> {
        let family = self.family;
        self.exchange(
            Action::DumpServices,
            |b, seq, port| b.command(family, NLM_F_DUMP, seq, port, wire::cmd::GET_SERVICE),
            wire::parse_service,
        )
    }

    /// The destinations of service `key`, with their counters.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DumpedDest>, Error> {
        let (family, af) = (self.family, key.family());
        self.exchange(
            Action::DumpDests(*key),
            |b, seq, port| b.dump_dests(family, seq, port, key),
            |payload| wire::parse_dest(payload, af),
        )
    }

    /// The services `wanted` selects, each with its destinations. Services nobody asked
    /// for (an operator's own) are not read further than their key.
    pub fn dump(&mut self, wanted: impl Fn(&ServiceKey) -> bool) -> Result<Vec<DumpedService>, Error> {
        let mut out = Vec::new();
        for (service, stats) in self.services()? {
            if wanted(&service.key) {
                let dests = self.dests(&service.key)?;
                out.push(DumpedService { service, stats, dests });
            }
        }
        Ok(out)
    }

    /// The running connection sync daemons.
    pub fn sync_daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        let family = self.family;
        self.exchange(
            Action::DumpSync,
            |b, seq, port| b.command(family, NLM_F_DUMP, seq, port, wire::cmd::GET_DAEMON),
            wire::parse_daemon,
        )
    }

    /// Starts the connection sync daemon.
    pub fn start_sync(&mut self, role: SyncRole, interface: &str, sync_id: u8) -> Result<(), Error> {
        let family = self.family;
        self.writes += 1;
        self.exchange(
            Action::StartSync(role),
            |b, seq, port| b.start_sync(family, seq, port, role, interface, sync_id),
            |_| Ok(()),
        )
        .map(drop)
    }

    /// Stops the connection sync daemon of `role`.
    pub fn stop_sync(&mut self, role: SyncRole) -> Result<(), Error> {
        let family = self.family;
        self.writes += 1;
        self.exchange(Action::StopSync(role), |b, seq, port| b.stop_sync(family, seq, port, role), |_| Ok(()))
            .map(drop)
    }

    /// Sends the writes in order, several per datagram; returns one error per refused
    /// write. A refused write does not stop the ones after it: the kernel carries on with
    /// the next message, so one service with a missing scheduler leaves the rest of the
    /// table programmed.
    pub fn apply(&mut self, ops: &[Op]) -> Vec<Error> {
        let mut errors = Vec::new();
        for chunk in ops.chunks(BATCH_MESSAGES) {
            let mut seqs = heapless::Vec::<u32, BATCH_MESSAGES>::new();
            self.batch.clear();
            for op in chunk {
                let seq = self.sock.next_seq();
                // The chunk is at most BATCH_MESSAGES long: the push cannot fail.
                let _ = seqs.push(seq);
                self.batch.op(self.family, seq, self.sock.port(), op);
            }
            self.writes += chunk.len() as u64;
            if let Err(cause) = self.sock.send_raw(self.batch.bytes()) {
                errors.extend(chunk.iter().map(|op| Error::new(Action::Write(op.clone()), cause)));
                continue;
            }
            self.collect_acks(chunk, &seqs, &mut errors);
        }
        errors
    }

    /// Reads the acknowledgements of one batch; a write whose answer never comes is an error.
    fn collect_acks(&mut self, chunk: &[Op], seqs: &[u32], errors: &mut Vec<Error>) {
        let mut answered = [false; BATCH_MESSAGES];
        let mut left = chunk.len();
        let port = self.sock.port();
        while left > 0 {
            let cause = match self.sock.recv() {
                Ok(Some(_)) => None,
                Ok(None) => Some(Cause::Timeout),
                Err(cause) => Some(cause),
            };
            if let Some(cause) = cause {
                for (op, _) in chunk.iter().zip(answered).filter(|(_, done)| !done) {
                    errors.push(Error::new(Action::Write(op.clone()), cause));
                }
                return;
            }
            for frame in frames(self.sock.received()) {
                let Ok(frame) = frame else { break };
                let Some(i) = seqs.iter().position(|s| *s == frame.seq) else { continue };
                if frame.port != port || answered[i] {
                    continue;
                }
                let result = match frame.control() {
                    Control::Ack => None,
                    Control::Failed(cause) => Some(cause),
                    // Writes answer with an ACK or an error; anything else is not the answer.
                    _ => continue,
                };
                answered[i] = true;
                left -= 1;
                if let Some(cause) = result {
                    errors.push(Error::new(Action::Write(chunk[i].clone()), cause));
                }
            }
        }
    }

    /// Sends the one request `encode` writes and reads every reply with `parse`, until the
    /// ACK or the end of the dump. A reply that does not parse fails the whole request.
    fn exchange<T>(
        &mut self,
        action: Action,
        encode: impl FnOnce(&mut Batch, u32, u32),
        parse: impl Fn(&[u8]) -> Result<T, Cause>,
    ) -> Result<Vec<T>, Error> {
        let fail = |cause| Error::new(action.clone(), cause);
        let seq = self.sock.next_seq();
        self.batch.clear();
        encode(&mut self.batch, seq, self.sock.port());
        self.sock.send_raw(self.batch.bytes()).map_err(fail)?;
        let mut out = Vec::new();
        let mut bad = None;
        self.sock
            .wait(seq, |frame| match parse(frame.payload) {
                Ok(value) => out.push(value),
                Err(cause) => bad = bad.or(Some(cause)),
            })
            .map_err(fail)?;
        match bad {
            Some(cause) => Err(fail(cause)),
            None => Ok(out),
        }
    }
}

/// The single answer a query expects.
fn first<T>(answers: Vec<T>, action: Action) -> Result<T, Error> {
    answers.into_iter().next().ok_or(Error::new(action, Cause::NoAnswer))
}
