//! A non-blocking socket watched by the thread's [`Reactor`]: readiness is remembered from
//! the edge-triggered events and forgotten when an operation would block, so a probe
//! makes a system call only when it can succeed (or fail for real).

use super::{Reactor, Readiness};
use futures_lite::io::{AsyncRead, AsyncWrite};
use rustix::fd::AsFd;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A socket of this thread's [`super::block_on`]; the descriptor must be non-blocking.
pub struct Socket<T: AsFd> {
    io: T,
    key: u64,
    reactor: Rc<Reactor>,
}

/// Which way an operation goes.
#[derive(Clone, Copy)]
enum Way {
    Read,
    Write,
}

impl<T: AsFd> Socket<T> {
    /// Registers `io` with the reactor of the `block_on` running on this thread.
    pub fn new(io: T) -> io::Result<Socket<T>> {
        let reactor =
            Reactor::current().ok_or_else(|| io::Error::other("a check's socket outside its event loop"))?;
        let key = reactor.register(&io)?;
        Ok(Socket { io, key, reactor })
    }

    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// Ready once the socket is writable (for a connect: once the handshake ended).
    pub async fn writable(&self) -> io::Result<()> {
        futures_lite::future::poll_fn(|cx| self.poll_ready(cx, Way::Write)).await
    }

    /// Runs `op` once the socket is readable, again after each readiness event while it
    /// would block.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(cx, Way::Read, op)
    }

    /// [`Socket::poll_read_with`] for writing.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(cx, Way::Write, op)
    }

    fn poll_with<R>(
        &self,
        cx: &mut Context<'_>,
        way: Way,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        loop {
            std::task::ready!(self.poll_ready(cx, way))?;
            match op(&self.io) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => self.set_ready(way, false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                result => return Poll::Ready(result),
            }
        }
    }

    /// Ready when the last event said so and no operation has blocked since; otherwise
    /// keeps the waker for the next event.
    fn poll_ready(&self, cx: &mut Context<'_>, way: Way) -> Poll<io::Result<()>> {
        let ready = self.reactor.with(self.key, |r: &mut Readiness| {
            let (ready, waiter) = match way {
                Way::Read => (r.readable, &mut r.reader),
                Way::Write => (r.writable, &mut r.writer),
            };
            if !ready {
                keep(waiter, cx.waker());
            }
            ready
        });
        match ready {
            Some(true) => Poll::Ready(Ok(())),
            Some(false) => Poll::Pending,
            None => Poll::Ready(Err(io::Error::other("a check's socket lost its registration"))),
        }
    }

    fn set_ready(&self, way: Way, ready: bool) {
        self.reactor.with(self.key, |r| match way {
            Way::Read => r.readable = ready,
            Way::Write => r.writable = ready,
        });
    }
}

/// Stores `waker` unless the same one is there already (no clone per poll).
fn keep(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

impl<T: AsFd> Drop for Socket<T> {
    fn drop(&mut self) {
        self.reactor.deregister(self.key);
    }
}

impl AsyncRead for Socket<TcpStream> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut s| s.read(buf))
    }
}

impl AsyncWrite for Socket<TcpStream> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut s| s.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown(Shutdown::Write))
    }
}

#[cfg(test)]
mod tests {
    use super::super::block_on;
    use super::*;
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use std::net::TcpListener;

    fn connected() -> (Socket<TcpStream>, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nonblocking(true).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Socket::new(client).unwrap(), server)
    }

    #[test]
    fn reads_wait_for_data_and_see_the_end() {
        block_on(async {
            let (mut s, mut server) = connected();
            let writer = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(30));
                server.write_all(b"one").unwrap();
                std::thread::sleep(std::time::Duration::from_millis(30));
                server.write_all(b"two").unwrap();
            });
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"onetwo");
            writer.join().unwrap();
        })
        .unwrap();
    }

    #[test]
    fn writes_wait_for_room() {
        block_on(async {
            let (mut s, mut server) = connected();
            // More than the socket buffers hold: the writer must wait for the reader.
            let reader = std::thread::spawn(move || {
                let mut all = Vec::new();
                server.read_to_end(&mut all).unwrap();
                all.len()
            });
            let block = vec![7u8; 8 << 20];
            s.write_all(&block).await.unwrap();
            s.close().await.unwrap();
            drop(s);
            assert_eq!(reader.join().unwrap(), block.len());
        })
        .unwrap();
    }

    #[test]
    fn outside_an_event_loop_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(Socket::new(client).is_err());
    }
}
