//! The socket calls rustix 1 does not wrap: `setsockopt` with options it has no function
//! for (SO_BINDTODEVICE, IPV6_RECVPKTINFO, IPV6_RECVHOPLIMIT) and `sendmsg` / `recvmsg`
//! with IP-level ancillary data (IP_PKTINFO, IPV6_PKTINFO, IPV6_HOPLIMIT).
//!
//! This is the only unsafe code of the VRRP shell. It calls the C library that std links
//! anyway (musl or glibc), passes only pointers to live Rust slices with their lengths, and
//! hands back byte counts; encoding and decoding of addresses and control messages is safe
//! code in `cmsg.rs`.

// The unsafe of this module is its whole point; the rest of the shell stays safe.
#![allow(unsafe_code)]

use rustix::io::Errno;
use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, BorrowedFd};

/// `SOL_SOCKET`: MIPS and SPARC kept their historical value (OpenWrt runs on MIPS).
#[cfg(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
))]
pub const SOL_SOCKET: c_int = 0xffff;
/// `SOL_SOCKET` of every other Linux architecture.
#[cfg(not(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "mips32r6",
    target_arch = "mips64r6",
    target_arch = "sparc",
    target_arch = "sparc64"
)))]
pub const SOL_SOCKET: c_int = 1;
/// `SO_BINDTODEVICE` (SPARC numbers its socket options differently).
#[cfg(any(target_arch = "sparc", target_arch = "sparc64"))]
pub const SO_BINDTODEVICE: c_int = 0x000d;
/// `SO_BINDTODEVICE`.
#[cfg(not(any(target_arch = "sparc", target_arch = "sparc64")))]
pub const SO_BINDTODEVICE: c_int = 25;

/// `IPPROTO_IP`, the level of IPv4 options and control messages.
pub const IPPROTO_IP: c_int = 0;
/// `IP_PKTINFO`: per-packet source address and interface on send.
pub const IP_PKTINFO: c_int = 8;
/// `IPPROTO_IPV6`, the level of IPv6 options and control messages.
pub const IPPROTO_IPV6: c_int = 41;
/// `IPV6_RECVPKTINFO`: deliver the destination address with each packet.
pub const IPV6_RECVPKTINFO: c_int = 49;
/// `IPV6_PKTINFO`: the control message carrying addresses and interface.
pub const IPV6_PKTINFO: c_int = 50;
/// `IPV6_RECVHOPLIMIT`: deliver the hop limit with each packet.
pub const IPV6_RECVHOPLIMIT: c_int = 51;
/// `IPV6_HOPLIMIT`: the control message carrying the hop limit.
pub const IPV6_HOPLIMIT: c_int = 52;

const MSG_CTRUNC: c_int = 0x08;
const MSG_TRUNC: c_int = 0x20;
const MSG_DONTWAIT: c_int = 0x40;
const MSG_NOSIGNAL: c_int = 0x4000;

#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

/// `struct msghdr` as the kernel reads it. musl declares the two lengths as a 32-bit field
/// plus padding on 64-bit targets, placed so that a zero-padded `usize` is the same bytes
/// on either byte order, so this one layout fits both C libraries.
#[repr(C)]
struct MsgHdr {
    name: *mut c_void,
    name_len: u32,
    iov: *mut IoVec,
    iov_len: usize,
    control: *mut c_void,
    control_len: usize,
    flags: c_int,
}

extern "C" {
    fn setsockopt(fd: c_int, level: c_int, name: c_int, value: *const c_void, len: u32) -> c_int;
    fn sendmsg(fd: c_int, msg: *const MsgHdr, flags: c_int) -> isize;
    fn recvmsg(fd: c_int, msg: *mut MsgHdr, flags: c_int) -> isize;
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
    let rc = unsafe { setsockopt(fd.as_raw_fd(), level, name, value.as_ptr().cast(), len) };
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
    let mut iov = IoVec { base: data.as_ptr().cast_mut().cast(), len: data.len() };
    let msg = MsgHdr {
        name: name.as_ptr().cast_mut().cast(),
        name_len: len_u32(name.len())?,
        iov: &mut iov,
        iov_len: 1,
        control: if control.is_empty() { std::ptr::null_mut() } else { control.as_ptr().cast_mut().cast() },
        control_len: control.len(),
        flags: 0,
    };
    loop {
        // SAFETY: every pointer in `msg` refers to a live slice (or `iov`) of the length
        // given beside it; sendmsg only reads through them.
        let n = unsafe { sendmsg(fd.as_raw_fd(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT) };
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
    let mut iov = IoVec { base: data.as_mut_ptr().cast(), len: data.len() };
    loop {
        let mut msg = MsgHdr {
            name: name.as_mut_ptr().cast(),
            name_len: len_u32(name.len())?,
            iov: &mut iov,
            iov_len: 1,
            control: control.as_mut_ptr().cast(),
            control_len: control.len(),
            flags: 0,
        };
        // SAFETY: every pointer in `msg` refers to a live, exclusively borrowed slice of
        // the length given beside it; the kernel writes at most that many bytes to each
        // and reports the lengths back in `msg`.
        let n = unsafe { recvmsg(fd.as_raw_fd(), &mut msg, MSG_DONTWAIT) };
        let Ok(n) = usize::try_from(n) else {
            let e = last_errno();
            if e == Errno::INTR {
                continue;
            }
            return Err(e);
        };
        return Ok(Recv {
            len: n.min(data.len()),
            truncated: msg.flags & MSG_TRUNC != 0,
            name_len: usize::try_from(msg.name_len).unwrap_or(0).min(name.len()),
            control_len: msg.control_len.min(control.len()),
            control_truncated: msg.flags & MSG_CTRUNC != 0,
        });
    }
}
