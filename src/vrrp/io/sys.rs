//! The socket calls rustix 1 does not wrap: `setsockopt` with options it has no function
//! for (SO_BINDTODEVICE, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT) and `sendmsg` / `recvmsg`
//! with IP-level ancillary data (IP_PKTINFO, IP_TTL, IPV6_PKTINFO, IPV6_HOPLIMIT).
//!
//! This is the only unsafe code of the VRRP shell. It calls the C library that std links
//! anyway (musl or glibc) through the `libc` crate's declarations (right per architecture,
//! MIPS included), passes only pointers to live Rust slices with their lengths, and hands
//! back byte counts; encoding and decoding of addresses and control messages is safe code
//! in `cmsg.rs`.

// The unsafe of this module is its whole point; the rest of the shell stays safe.
#![allow(unsafe_code)]

use rustix::io::Errno;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Socket-level options (its value differs on MIPS and SPARC; libc knows).
pub const SOL_SOCKET: c_int = libc::SOL_SOCKET;
/// `SO_BINDTODEVICE`.
pub const SO_BINDTODEVICE: c_int = libc::SO_BINDTODEVICE;
/// `IPPROTO_IP`, the level of IPv4 options and control messages.
pub const IPPROTO_IP: c_int = libc::IPPROTO_IP;
/// `IP_PKTINFO`: per-packet source address and interface on send.
pub const IP_PKTINFO: c_int = libc::IP_PKTINFO;
/// `IP_TTL`: as a control message, the TTL of one packet.
pub const IP_TTL: c_int = libc::IP_TTL;
/// `IP_RECVTTL`: deliver each received packet's TTL (UDP sockets; BFD's TTL check).
pub const IP_RECVTTL: c_int = libc::IP_RECVTTL;
/// `IPPROTO_IPV6`, the level of IPv6 options and control messages.
pub const IPPROTO_IPV6: c_int = libc::IPPROTO_IPV6;
/// `IPV6_RECVPKTINFO`: deliver the destination address with each packet.
pub const IPV6_RECVPKTINFO: c_int = libc::IPV6_RECVPKTINFO;
/// `IPV6_PKTINFO`: the control message carrying addresses and interface.
pub const IPV6_PKTINFO: c_int = libc::IPV6_PKTINFO;
/// `IPV6_RECVHOPLIMIT`: deliver the hop limit with each packet.
pub const IPV6_RECVHOPLIMIT: c_int = libc::IPV6_RECVHOPLIMIT;
/// `IPV6_HOPLIMIT`: the control message carrying the hop limit.
pub const IPV6_HOPLIMIT: c_int = libc::IPV6_HOPLIMIT;

/// A `msghdr` for `data`, `name` and `control`, every other field zero. The C libraries
/// disagree on padding fields, so it starts zeroed and only the named fields are set.
fn msghdr(
    iov: &mut libc::iovec,
    name: *mut c_void,
    name_len: u32,
    control: *mut c_void,
    control_len: usize,
) -> libc::msghdr {
    // SAFETY: msghdr is plain data; all-zero bytes are a valid (empty) value of it.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = name;
    msg.msg_namelen = name_len;
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    // The field's type differs between glibc (size_t) and musl (socklen_t).
    msg.msg_controllen = control_len as _;
    msg
}

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO)
}

fn len_u32(len: usize) -> Result<u32, Errno> {
    u32::try_from(len).map_err(|_| Errno::INVAL)
}

/// `setsockopt(fd, level, name, value)` with the option value as raw bytes.
pub fn set_option(fd: BorrowedFd<'_>, level: c_int, name: c_int, value: &[u8]) -> Result<(), Errno> {
    let len = len_u32(value.len())?;
    // SAFETY: `value` is a live slice of `len` bytes; the kernel only reads (copies) it.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

/// `setsockopt` with a C `int` value.
pub fn set_int(fd: BorrowedFd<'_>, level: c_int, name: c_int, value: c_int) -> Result<(), Errno> {
    set_option(fd, level, name, &value.to_ne_bytes())
}

/// Sends `data` to the socket address `name` (raw `sockaddr` bytes) with control messages
/// `control`; returns the bytes sent.
pub fn send_msg(fd: BorrowedFd<'_>, data: &[u8], name: &[u8], control: &[u8]) -> Result<usize, Errno> {
    let mut iov = libc::iovec { iov_base: data.as_ptr().cast_mut().cast(), iov_len: data.len() };
    let control_ptr =
        if control.is_empty() { std::ptr::null_mut() } else { control.as_ptr().cast_mut().cast() };
    let msg =
        msghdr(&mut iov, name.as_ptr().cast_mut().cast(), len_u32(name.len())?, control_ptr, control.len());
    loop {
        // SAFETY: every pointer in `msg` refers to a live slice (or `iov`) of the length
        // given beside it; sendmsg only reads through them.
        let n = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        if let Ok(sent) = usize::try_from(n) {
            return Ok(sent);
        }
        let e = last_errno();
        if e != Errno::INTR {
            return Err(e);
        }
    }
}

/// What one [`recv_msg`] filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recv {
    /// Bytes stored in the data buffer.
    pub len: usize,
    /// The datagram was longer than the data buffer.
    pub truncated: bool,
    /// Bytes of socket address stored in the name buffer.
    pub name_len: usize,
    /// Bytes of control messages stored in the control buffer.
    pub control_len: usize,
    /// Some control messages did not fit.
    pub control_truncated: bool,
}

/// Receives one datagram without blocking into `data`, its source address into `name` and
/// its control messages into `control` (which must be aligned for `cmsghdr`, because some
/// C libraries walk it after the call).
pub fn recv_msg(
    fd: BorrowedFd<'_>,
    data: &mut [u8],
    name: &mut [u8],
    control: &mut [u8],
) -> Result<Recv, Errno> {
    let mut iov = libc::iovec { iov_base: data.as_mut_ptr().cast(), iov_len: data.len() };
    loop {
        let mut msg = msghdr(
            &mut iov,
            name.as_mut_ptr().cast(),
            len_u32(name.len())?,
            control.as_mut_ptr().cast(),
            control.len(),
        );
        // SAFETY: every pointer in `msg` refers to a live, exclusively borrowed slice of
        // the length given beside it; the kernel writes at most that many bytes to each
        // and reports the lengths back in `msg`.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
        let Ok(n) = usize::try_from(n) else {
            let e = last_errno();
            if e == Errno::INTR {
                continue;
            }
            return Err(e);
        };
        // glibc's msg_controllen is a size_t, musl's a socklen_t.
        #[allow(clippy::unnecessary_cast)]
        let control_len = msg.msg_controllen as usize;
        return Ok(Recv {
            len: n.min(data.len()),
            truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
            name_len: usize::try_from(msg.msg_namelen).unwrap_or(0).min(name.len()),
            control_len: control_len.min(control.len()),
            control_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
        });
    }
}
