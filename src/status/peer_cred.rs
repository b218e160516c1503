//! `SO_PEERCRED`: who is at the other end of a status connection.
//!
//! Not rustix's `socket_peercred`: it reads the pid into a non-zero type, and the kernel
//! reports pid 0 for a peer in a pid namespace the daemon cannot see (a client in a
//! container), which would be undefined behaviour there. The C library's `getsockopt`
//! into a plain `ucred` has no such value.

// The unsafe of this module is its whole point; the rest of the status code stays safe.
#![allow(unsafe_code)]

use super::server::Peer;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The credentials the peer of `fd` had when it connected.
pub fn peer_cred(fd: BorrowedFd<'_>) -> std::io::Result<Peer> {
    // SAFETY: ucred is three integers; all-zero bytes are a valid value of it.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::ucred>();
    let mut len = libc::socklen_t::try_from(size).map_err(std::io::Error::other)?;
    // SAFETY: `fd` is open for the whole call (it is borrowed); the pointer and length
    // describe `cred`, which lives past the call; the kernel writes at most `len` bytes.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if usize::try_from(len).ok() != Some(size) {
        return Err(std::io::Error::other("SO_PEERCRED: short answer"));
    }
    Ok(Peer { uid: cred.uid, gid: cred.gid, pid: cred.pid })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn reads_this_process_at_the_other_end() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        let peer = peer_cred(a.as_fd()).expect("SO_PEERCRED");
        assert_eq!(peer.uid, rustix::process::geteuid().as_raw());
        assert_eq!(peer.pid, i32::try_from(std::process::id()).unwrap_or(0));
    }

    #[test]
    fn a_socket_without_a_peer_is_never_root() {
        // Linux answers with the overflow uid and pid 0 rather than an error.
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        let peer = peer_cred(udp.as_fd());
        assert!(peer.as_ref().map_or(true, |p| !p.is_root() && p.pid == 0), "{peer:?}");
    }
}
