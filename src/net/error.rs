//! Errors of the rtnetlink shell: which operation on which object failed, and why.
//!
//! The socket layer reports a [`Cause`]; the operation that called it adds the [`Op`], so a
//! log line reads `add 198.51.100.7/24 to eth0: File exists (EEXIST)`. Building the `Op`
//! costs nothing until a request fails.

use super::link::IfName;
use rustix::io::Errno;
use std::fmt;
use std::net::IpAddr;

/// What keeplite was doing when a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Opening the request socket.
    Open,
    /// Opening the change-notification socket.
    Subscribe,
    /// Reading change notifications.
    ReadEvents,
    /// Looking a link up by name.
    GetLink(IfName),
    /// Looking a link up by index.
    GetLinkIndex(u32),
    /// Setting a link administratively up or down.
    SetLink { link: IfName, up: bool },
    /// Creating a macvlan link on a parent link.
    /// Creating a link of `kind` (macvlan, ipvlan) on `parent`.
    AddLink { kind: &'static str, name: IfName, parent: IfName },
    /// Deleting a link.
    DelLink(IfName),
    /// Adding an address to a link.
    AddAddress { link: IfName, addr: IpAddr, prefix: u8 },
    /// Deleting an address from a link.
    DelAddress { link: IfName, addr: IpAddr, prefix: u8 },
    /// Dumping a link's addresses.
    ListAddresses(IfName),
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Open => f.write_str("open rtnetlink socket"),
            Op::Subscribe => f.write_str("subscribe to link and address changes"),
            Op::ReadEvents => f.write_str("read link and address changes"),
            Op::GetLink(name) => write!(f, "look up link {name}"),
            Op::GetLinkIndex(index) => write!(f, "look up link #{index}"),
            Op::SetLink { link, up } => write!(f, "set {link} {}", if *up { "up" } else { "down" }),
            Op::AddLink { kind, name, parent } => write!(f, "create {kind} {name} on {parent}"),
            Op::DelLink(name) => write!(f, "delete link {name}"),
            Op::AddAddress { link, addr, prefix } => write!(f, "add {addr}/{prefix} to {link}"),
            Op::DelAddress { link, addr, prefix } => write!(f, "delete {addr}/{prefix} from {link}"),
            Op::ListAddresses(link) => write!(f, "list addresses of {link}"),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The kernel refused the request (`NLMSG_ERROR`, or a dump ending in an error).
    Kernel(Errno),
    /// A socket system call failed.
    Syscall { call: &'static str, errno: Errno },
    /// The kernel did not answer within the request socket's timeout.
    Timeout,
    /// A datagram was larger than the receive buffer, so part of it was lost.
    Truncated { len: usize },
    /// A reply could not be decoded; the text says what was wrong.
    Malformed(&'static str),
    /// The kernel interrupted a dump because the table changed meanwhile (`NLM_F_DUMP_INTR`).
    Interrupted,
    /// More entries than a fixed-capacity table holds.
    Capacity { what: &'static str, limit: usize },
    /// An interface name that cannot be valid (empty, over 15 bytes, or with a NUL).
    BadName,
    /// A prefix length longer than the address.
    BadPrefix,
    /// The request did not fit the send buffer (a keeplite bug, not a kernel condition).
    RequestTooLarge,
    /// The kernel acknowledged a query without sending the object asked for.
    NoAnswer,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Kernel(errno) => write_errno(f, *errno),
            Cause::Syscall { call, errno } => {
                write!(f, "{call}: ")?;
                write_errno(f, *errno)
            }
            Cause::Timeout => f.write_str("no reply from the kernel in time"),
            Cause::Truncated { len } => write!(f, "reply of {len} bytes did not fit the receive buffer"),
            Cause::Malformed(what) => write!(f, "malformed reply: {what}"),
            Cause::Interrupted => f.write_str("dump interrupted by a concurrent change"),
            Cause::Capacity { what, limit } => write!(f, "more than {limit} {what}"),
            Cause::BadName => f.write_str("invalid interface name"),
            Cause::BadPrefix => f.write_str("prefix length longer than the address"),
            Cause::RequestTooLarge => f.write_str("request larger than the send buffer"),
            Cause::NoAnswer => f.write_str("kernel acknowledged without an answer"),
        }
    }
}

/// The few outcomes callers act on; everything else is [`ErrorKind::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The object is already there (`EEXIST`): adding a VIP twice is a success.
    Exists,
    /// The object is not there (`EADDRNOTAVAIL`, `ENOENT`, `ESRCH`): deleting twice is a success.
    NotThere,
    /// The link does not exist (`ENODEV`).
    NoDevice,
    /// Missing privilege (`EPERM`, `EACCES`): keeplite needs CAP_NET_ADMIN.
    Denied,
    /// Anything else.
    Other,
}

/// A failed rtnetlink operation: what was being done, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The operation and the object it was about.
    pub op: Op,
    /// What went wrong.
    pub cause: Cause,
}

impl Error {
    /// An error of `op` for `cause`.
    pub fn new(op: Op, cause: Cause) -> Error {
        Error { op, cause }
    }

    /// The errno the kernel (or a system call) answered, if any.
    pub fn errno(&self) -> Option<Errno> {
        match self.cause {
            Cause::Kernel(e) | Cause::Syscall { errno: e, .. } => Some(e),
            _ => None,
        }
    }

    /// The kind of failure, for callers that treat some of them as success.
    pub fn kind(&self) -> ErrorKind {
        // Only the kernel's verdict on the request itself classifies; a failed sendto with
        // EPERM is still "denied", but a socket error never means "exists".
        match self.cause {
            Cause::Kernel(e) if e == Errno::EXIST => ErrorKind::Exists,
            Cause::Kernel(e) if e == Errno::ADDRNOTAVAIL || e == Errno::NOENT || e == Errno::SRCH => {
                ErrorKind::NotThere
            }
            Cause::Kernel(e) if e == Errno::NODEV => ErrorKind::NoDevice,
            Cause::Kernel(e) | Cause::Syscall { errno: e, .. } if e == Errno::PERM || e == Errno::ACCESS => {
                ErrorKind::Denied
            }
            _ => ErrorKind::Other,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op, self.cause)
    }
}

impl std::error::Error for Error {}

/// An errno from the kernel, if `code` (a negated errno in an `NLMSG_ERROR`) is one.
pub fn errno_from_code(code: i32) -> Option<Errno> {
    // rustix asserts its range, and the code comes from outside: check before converting.
    let raw = code.checked_neg()?;
    (1..4096).contains(&raw).then(|| Errno::from_raw_os_error(raw))
}

/// The errnos rtnetlink answers with, by the names operators search for.
const ERRNOS: &[(Errno, &str, &str)] = &[
    (Errno::EXIST, "EEXIST", "File exists"),
    (Errno::ADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address"),
    (Errno::NODEV, "ENODEV", "No such device"),
    (Errno::NOENT, "ENOENT", "No such file or directory"),
    (Errno::SRCH, "ESRCH", "No such process"),
    (Errno::PERM, "EPERM", "Operation not permitted"),
    (Errno::ACCESS, "EACCES", "Permission denied"),
    (Errno::INVAL, "EINVAL", "Invalid argument"),
    (Errno::BUSY, "EBUSY", "Device or resource busy"),
    (Errno::NOBUFS, "ENOBUFS", "No buffer space available"),
    (Errno::NOMEM, "ENOMEM", "Cannot allocate memory"),
    (Errno::OPNOTSUPP, "EOPNOTSUPP", "Operation not supported"),
    (Errno::AFNOSUPPORT, "EAFNOSUPPORT", "Address family not supported by protocol"),
    (Errno::PROTONOSUPPORT, "EPROTONOSUPPORT", "Protocol not supported"),
    (Errno::RANGE, "ERANGE", "Numerical result out of range"),
    (Errno::NETDOWN, "ENETDOWN", "Network is down"),
    (Errno::MSGSIZE, "EMSGSIZE", "Message too long"),
    (Errno::NAMETOOLONG, "ENAMETOOLONG", "File name too long"),
    (Errno::ADDRINUSE, "EADDRINUSE", "Address already in use"),
    (Errno::AGAIN, "EAGAIN", "Resource temporarily unavailable"),
    (Errno::MFILE, "EMFILE", "Too many open files"),
    (Errno::NFILE, "ENFILE", "Too many open files in system"),
];

/// `File exists (EEXIST)`; an errno outside the table prints as `errno 122`.
fn write_errno(f: &mut fmt::Formatter<'_>, errno: Errno) -> fmt::Result {
    // The table keeps the wording identical on glibc and musl, whose strerror texts differ.
    match ERRNOS.iter().find(|(e, _, _)| *e == errno) {
        Some((_, name, text)) => write!(f, "{text} ({name})"),
        None => write!(f, "errno {}", errno.raw_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> IfName {
        IfName::try_from(s).unwrap()
    }

    #[test]
    fn messages_name_operation_object_and_errno() {
        let e = Error::new(
            Op::AddAddress { link: name("eth0"), addr: "10.0.0.7".parse().unwrap(), prefix: 24 },
            Cause::Kernel(Errno::EXIST),
        );
        assert_eq!(e.to_string(), "add 10.0.0.7/24 to eth0: File exists (EEXIST)");
        assert_eq!(e.kind(), ErrorKind::Exists);
        let e = Error::new(
            Op::DelAddress { link: name("eth0"), addr: "2001:db8::7".parse().unwrap(), prefix: 64 },
            Cause::Kernel(Errno::ADDRNOTAVAIL),
        );
        assert_eq!(
            e.to_string(),
            "delete 2001:db8::7/64 from eth0: Cannot assign requested address (EADDRNOTAVAIL)"
        );
        assert_eq!(e.kind(), ErrorKind::NotThere);
        let e = Error::new(Op::GetLink(name("eth9")), Cause::Kernel(Errno::NODEV));
        assert_eq!(e.kind(), ErrorKind::NoDevice);
        let e = Error::new(Op::Open, Cause::Syscall { call: "socket", errno: Errno::from_raw_os_error(122) });
        assert_eq!(e.to_string(), "open rtnetlink socket: socket: errno 122");
        assert_eq!(e.kind(), ErrorKind::Other);
    }

    #[test]
    fn kernel_codes_outside_the_errno_range_are_rejected() {
        assert_eq!(errno_from_code(-17), Some(Errno::EXIST));
        for code in [0, 1, 17, -4096, i32::MIN, i32::MAX] {
            assert_eq!(errno_from_code(code), None, "{code}");
        }
    }
}
