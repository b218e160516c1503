//! A rustls client connection over a checker TCP socket, as an `AsyncRead + AsyncWrite`
//! for the HTTP exchange. rustls does the protocol on buffers; this moves its records over
//! the non-blocking socket and waits for readiness with the checker's reactor. It is all a probe needs
//! (no split halves, no early data): the release binary measured the same size with
//! `futures-rustls` in its place, so this saves a dependency, and it ends a stream that
//! closes without close_notify the way an HTTP reply wants (see `poll_read`).

use crate::check::reactor::Socket;
use futures_lite::io::{AsyncRead, AsyncWrite};
use rustls::ClientConnection;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Why the connection failed: the transport, or TLS itself.
#[derive(Debug)]
pub enum Failure {
    /// The socket failed (a reset, say).
    Io(io::Error),
    /// rustls refused what the server sent (a certificate, a record).
    Tls(rustls::Error),
}

impl From<Failure> for io::Error {
    fn from(f: Failure) -> io::Error {
        match f {
            Failure::Io(e) => e,
            Failure::Tls(e) => io::Error::new(ErrorKind::InvalidData, e),
        }
    }
}

/// A TLS client session on a connected socket.
pub struct TlsStream {
    tcp: Socket<TcpStream>,
    conn: ClientConnection,
}

impl TlsStream {
    /// Wraps a connected socket; nothing is sent before [`TlsStream::handshake`].
    pub fn new(tcp: Socket<TcpStream>, conn: ClientConnection) -> TlsStream {
        TlsStream { tcp, conn }
    }

    /// Runs the handshake to its end; `Ok(false)` when the server closed the connection
    /// before it ended.
    pub async fn handshake(&mut self) -> Result<bool, Failure> {
        futures_lite::future::poll_fn(|cx| self.poll_handshake(cx)).await
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Failure>> {
        while self.conn.is_handshaking() {
            ready!(self.poll_send(cx)).map_err(Failure::Io)?;
            // With nothing left to send, only the server's next records move it on.
            if !ready!(self.poll_receive(cx))? {
                return Poll::Ready(Ok(false));
            }
        }
        // TLS 1.3: the client's Finished is still queued once the handshake is done here.
        ready!(self.poll_send(cx)).map_err(Failure::Io)?;
        Poll::Ready(Ok(true))
    }

    /// Sends every queued TLS record; pending until the socket has taken them all.
    fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.wants_write() {
            let conn = &mut self.conn;
            ready!(self.tcp.poll_write_with(cx, |mut tcp| conn.write_tls(&mut tcp)))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Reads what the socket has into rustls and processes it; `false` at end of stream.
    fn poll_receive(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Failure>> {
        let conn = &mut self.conn;
        match ready!(self.tcp.poll_read_with(cx, |mut tcp| conn.read_tls(&mut tcp))) {
            Ok(0) => return Poll::Ready(Ok(false)),
            Ok(_) => {}
            Err(e) => return Poll::Ready(Err(Failure::Io(e))),
        }
        if let Err(e) = self.conn.process_new_packets() {
            // rustls has queued an alert that says why; the server's log is the better for
            // it, and a socket that cannot take it at once does not get to delay the probe.
            let _ = self.conn.write_tls(&mut self.tcp.get_ref());
            return Poll::Ready(Err(Failure::Tls(e)));
        }
        Poll::Ready(Ok(true))
    }
}

impl AsyncRead for TlsStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.conn.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                // Closed without close_notify, as many servers do after `Connection: close`:
                // the end of the stream all the same. The HTTP framing still tells a reply
                // cut short from a whole one.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Poll::Ready(Ok(0)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            // Anything rustls owes the server first (a key update's answer, say).
            ready!(this.poll_send(cx))?;
            // At the end of the stream the reader above now says so: no busy loop.
            ready!(this.poll_receive(cx))?;
        }
    }
}

impl AsyncWrite for TlsStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            let n = this.conn.writer().write(buf)?;
            if n > 0 || buf.is_empty() {
                // Taken: rustls holds the records, and a flush sends what the socket
                // does not take now. Pending here would make the caller write them twice.
                if let Poll::Ready(Err(e)) = this.poll_send(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(n));
            }
            if !this.conn.wants_write() {
                // Nothing to send that would make room (cannot happen after the
                // handshake): a zero-length write says so, where looping would spin.
                return Poll::Ready(Ok(0));
            }
            // rustls's buffer is full: make room.
            ready!(this.poll_send(cx))?;
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.conn.writer().flush()?;
        this.poll_send(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.conn.send_close_notify();
        this.poll_send(cx)
    }
}
