//! Signals as readable file descriptors for the event loop: SIGTERM/SIGINT ask to stop,
//! SIGHUP asks to reload. The handlers only write a byte to a socket (async-signal-safe).

use rustix::event::{poll, PollFd, PollFlags};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;

/// The read ends the loop polls.
#[derive(Debug)]
pub struct Signals {
    stop: UnixStream,
    reload: UnixStream,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> std::io::Result<Signals> {
        let (stop, stop_tx) = UnixStream::pair()?;
        let (reload, reload_tx) = UnixStream::pair()?;
        for s in [&stop, &reload, &stop_tx, &reload_tx] {
            s.set_nonblocking(true)?;
        }
        signal_hook::low_level::pipe::register(SIGTERM, stop_tx.try_clone()?)?;
        signal_hook::low_level::pipe::register(SIGINT, stop_tx)?;
        signal_hook::low_level::pipe::register(SIGHUP, reload_tx)?;
        Ok(Signals { stop, reload })
    }

    /// Readable when a stop signal arrived.
    pub fn stop_fd(&self) -> BorrowedFd<'_> {
        self.stop.as_fd()
    }

    /// Readable when a reload signal arrived.
    pub fn reload_fd(&self) -> BorrowedFd<'_> {
        self.reload.as_fd()
    }

    /// Stop signals received since the last call.
    pub fn take_stops(&mut self) -> usize {
        drain(&mut self.stop)
    }

    /// After the first stop signal: a second one ends the process at once, from a thread
    /// of its own while the event loop is busy stopping.
    pub fn exit_on_next_stop(&self) -> std::io::Result<()> {
        let mut watch = self.stop.try_clone()?;
        std::thread::spawn(move || loop {
            let mut fds = [PollFd::new(&watch, PollFlags::IN)];
            if poll(&mut fds, None).is_ok() && drain(&mut watch) > 0 {
                exit_now();
            }
        });
        Ok(())
    }

    /// Reload signals received since the last call.
    pub fn take_reloads(&mut self) -> usize {
        drain(&mut self.reload)
    }
}

/// What a second stop signal does.
pub fn exit_now() -> ! {
    crate::log::error!("second stop signal: exiting now, without cleaning up");
    std::process::exit(1)
}

fn drain(s: &mut UnixStream) -> usize {
    let mut buf = [0u8; 16];
    let mut n = 0;
    while let Ok(k @ 1..) = s.read(&mut buf) {
        n += k;
    }
    n
}
