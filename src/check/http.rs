//! The `http` check: `GET path` over HTTP/1.1; the status must fall in `expect_status` and,
//! when the check has a `digest`, the body's MD5 must equal it.
//!
//! Without a digest only the response head is read, never the body (keepalived reads every
//! body). The head carries the status, which is all such a check judges, and not reading a
//! large page keeps the probe cheap; the cost is that the server may see the connection
//! reset when we close with its body unread.
//!
//! The protocol work is ureq-proto's sans-IO client (see `exchange`); this file moves the
//! bytes over any `AsyncRead + AsyncWrite` stream, so the `https` check can run the same
//! exchange over TLS with [`check_on`].

mod exchange;

use super::{Outcome, Target};
use crate::config::model::{HttpCheck, StatusRange};
use exchange::{Body, Head};
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::net::Ipv6Addr;

/// Most body bytes read (after chunked decoding) to compute a digest; a longer body is a
/// `BadReply`, so an endless body costs a bounded read, never unbounded time or memory.
pub const MAX_BODY_BYTES: u64 = 1 << 20;
/// Most bytes of response heads (status line and headers, interim `1xx` ones included).
const MAX_HEAD_BYTES: usize = 16 << 10;
/// The buffer a probe starts with: room for a usual head (a few hundred bytes), so most
/// probes never allocate and zero the whole `MAX_HEAD_BYTES`; it doubles as needed.
const FIRST_BUFFER_BYTES: usize = 2 << 10;
/// Most body bytes on the wire: chunk framing beyond the payload itself is abuse.
const MAX_BODY_WIRE_BYTES: u64 = 2 * MAX_BODY_BYTES;
/// Sent as `User-Agent`, so a server's log tells health checks from clients.
const USER_AGENT: &str = concat!("keeplite/", env!("CARGO_PKG_VERSION"));
/// The port a plain HTTP `Host` header leaves out.
const DEFAULT_PORT: u16 = 80;

/// An `http` check made ready to run again and again: its request's bytes, built once
/// (building them through ureq-proto was half of an HTTP probe's instructions).
pub struct Prepared {
    pub check: HttpCheck,
    /// The request, or why the check's path or host cannot make one.
    request: Result<Vec<u8>, Outcome>,
}

impl Prepared {
    /// `check` against port `port`, with `host` (a name or an address) as `Host`.
    pub fn new(check: &HttpCheck, host: &str, port: u16) -> Prepared {
        let request = exchange::request(&check.path, &host_header(host, port, DEFAULT_PORT));
        Prepared { check: check.clone(), request }
    }
}

/// The `http` check against `target`, with `host` (a name or an address) as `Host`.
pub async fn probe(target: &Target, check: &HttpCheck, host: &str) -> Outcome {
    probe_prepared(target, &Prepared::new(check, host, target.addr.port())).await
}

/// [`probe`] with the request made beforehand.
pub async fn probe_prepared(target: &Target, prepared: &Prepared) -> Outcome {
    let request = match &prepared.request {
        Ok(request) => request,
        Err(outcome) => return outcome.clone(),
    };
    super::within(target.timeout, async {
        match super::tcp::connect(target).await {
            Ok(mut stream) => run_on(&mut stream, &prepared.check, request).await,
            Err(outcome) => outcome,
        }
    })
    .await
}

/// Runs the check over an open connection; `host` is the whole `Host` value ([`host_header`]).
pub async fn check_on<S>(stream: &mut S, check: &HttpCheck, host: &str) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match exchange::request(&check.path, host) {
        Ok(request) => run_on(stream, check, &request).await,
        Err(outcome) => outcome,
    }
}

/// Sends `request` over `stream` and judges the reply by `check`.
async fn run_on<S>(stream: &mut S, check: &HttpCheck, request: &[u8]) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Buffer::new();
    let (status, head) = match send_and_read_head(stream, &mut buf, request).await {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    if !expected(status, &check.expect_status) {
        return Outcome::BadStatus(status);
    }
    let Some(want) = check.digest else { return Outcome::Ok };
    match read_body(stream, &mut buf, head).await {
        Ok(got) if got == want => Outcome::Ok,
        Ok(_) => Outcome::BadDigest,
        Err(outcome) => outcome,
    }
}

/// The MD5 of the body at `path` (for `keeplite digest`), within the same caps and the
/// target's timeout; a status outside 2xx is [`Outcome::BadStatus`], since a digest of an
/// error page is not one to configure.
pub async fn fetch_digest(target: &Target, path: &str, host: &str) -> Result<[u8; 16], Outcome> {
    let host = host_header(host, target.addr.port(), DEFAULT_PORT);
    let fetch = async {
        let mut stream = super::tcp::connect(target).await?;
        let mut buf = Buffer::new();
        let request = exchange::request(path, &host)?;
        let (status, head) = send_and_read_head(&mut stream, &mut buf, &request).await?;
        if !(200..=299).contains(&status) {
            return Err(Outcome::BadStatus(status));
        }
        read_body(&mut stream, &mut buf, head).await
    };
    futures_lite::future::or(fetch, async {
        super::reactor::Timer::after(target.timeout).await;
        Err(Outcome::Timeout)
    })
    .await
}

/// A digest as the 32 lower-case hex digits the `digest` option takes.
pub fn digest_hex(digest: &[u8; 16]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Host` value: brackets around an IPv6 address, and `:port` unless the port is the
/// scheme's default (RFC 9110 7.2, as curl does). keepalived differs: it sends a configured
/// virtualhost without a port and an address always with one.
pub fn host_header(host: &str, port: u16, default_port: u16) -> String {
    let host = if host.parse::<Ipv6Addr>().is_ok() { format!("[{host}]") } else { host.to_owned() };
    if port == default_port {
        host
    } else {
        format!("{host}:{port}")
    }
}

fn expected(status: u16, ranges: &[StatusRange]) -> bool {
    ranges.iter().any(|r| (r.first..=r.last).contains(&status))
}

/// Sends the request and reads the response head: the final status, and the state to read
/// the body with.
async fn send_and_read_head<S>(
    stream: &mut S,
    buf: &mut Buffer,
    request: &[u8],
) -> Result<(u16, Head), Outcome>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = exchange::head()?;
    stream.write_all(request).await.map_err(super::tcp::io_outcome)?;
    stream.flush().await.map_err(super::tcp::io_outcome)?;
    loop {
        let (used, status) = head.feed(buf.pending())?;
        buf.consume(used);
        if let Some(status) = status {
            return Ok((status, head));
        }
        if buf.fill(stream).await? == 0 {
            let why = if buf.received == 0 {
                "connection closed without a reply"
            } else {
                "connection closed inside the head"
            };
            return Err(Outcome::BadReply(why));
        }
    }
}

/// Reads the body to its end (or to a cap) and returns its MD5.
async fn read_body<S>(stream: &mut S, buf: &mut Buffer, head: Head) -> Result<[u8; 16], Outcome>
where
    S: AsyncRead + Unpin,
{
    let mut body: Body = head.into_body()?;
    // Bodies come in larger reads than heads: the whole buffer at once.
    buf.grow_to(MAX_HEAD_BYTES);
    loop {
        let used = body.feed(buf.pending())?;
        buf.consume(used);
        if body.is_complete() {
            return body.finish(false);
        }
        if buf.is_full() {
            // The machine wants more than a whole buffer to move on: no sane body does that.
            return Err(Outcome::BadReply("malformed body"));
        }
        if buf.fill(stream).await? == 0 {
            return body.finish(true);
        }
    }
}

/// First-size buffers of ended probes, kept for the next ones on this thread: at a
/// thousand probes a second, allocating each anew made musl's allocator map and unmap
/// memory for every other probe.
const SPARE_BUFFERS: usize = 32;

thread_local! {
    static SPARE: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Received bytes not yet used, in one allocation per probe that grows to
/// `MAX_HEAD_BYTES` at most.
struct Buffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes received in all, to tell silence from a cut reply.
    received: usize,
}

impl Buffer {
    fn new() -> Buffer {
        // A spare one holds an earlier probe's bytes: only `start..end` is ever read.
        let data = SPARE.with(|s| s.borrow_mut().pop()).unwrap_or_else(|| vec![0; FIRST_BUFFER_BYTES]);
        Buffer { data, start: 0, end: 0, received: 0 }
    }

    fn pending(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// True when the pending bytes reach the cap: no read can add to them.
    fn is_full(&self) -> bool {
        self.end - self.start >= MAX_HEAD_BYTES
    }

    fn grow_to(&mut self, len: usize) {
        if self.data.len() < len {
            self.data.resize(len, 0);
        }
    }

    /// Reads more after what is pending; 0 at end of stream.
    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> Result<usize, Outcome> {
        // A read into no room returns 0, which would pass for the end of the stream. The
        // callers' caps keep this from happening; this keeps a mistake from lying.
        if self.is_full() {
            return Err(Outcome::BadReply("reply stuck in a full buffer"));
        }
        self.data.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.data.len() {
            self.grow_to((2 * self.data.len()).min(MAX_HEAD_BYTES));
        }
        let n = stream.read(&mut self.data[self.end..]).await.map_err(super::tcp::io_outcome)?;
        self.end += n;
        self.received += n;
        Ok(n)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if self.data.len() == FIRST_BUFFER_BYTES {
            let data = std::mem::take(&mut self.data);
            SPARE.with(|s| {
                let mut spare = s.borrow_mut();
                if spare.len() < SPARE_BUFFERS {
                    spare.push(data);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::thread;
    use std::time::Duration;

    fn target(addr: SocketAddr, timeout: Duration) -> Target {
        Target { addr, bind: None, timeout }
    }

    fn check(expect: &[(u16, u16)], digest: Option<[u8; 16]>) -> HttpCheck {
        let mut expect_status = heapless::Vec::new();
        for &(first, last) in expect {
            expect_status.push(StatusRange { first, last }).unwrap();
        }
        HttpCheck { path: "/health".into(), expect_status, digest, host: None }
    }

    fn md5(b: &[u8]) -> [u8; 16] {
        use md5::Digest;
        md5::Md5::digest(b).into()
    }

    /// Reads a request head off `s` (up to the blank line).
    fn read_request(s: &mut TcpStream) -> String {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
            got.push(byte[0]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// A one-connection server on 127.0.0.1 that answers `reply` and returns the request.
    fn serve(reply: Vec<u8>) -> (SocketAddr, thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let request = read_request(&mut s);
            // The client may close early (a cap, no digest): a failed write is expected.
            let _ = s.write_all(&reply);
            request
        });
        (addr, handle)
    }

    /// A server that sends the head, then body bytes until the client goes away.
    fn serve_endless(head: &'static [u8], piece: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s);
            let _ = s.write_all(head);
            while s.write_all(piece).is_ok() {}
        });
        addr
    }

    fn run(reply: &[u8], c: &HttpCheck) -> Outcome {
        let (addr, server) = serve(reply.to_vec());
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_secs(5)), c, "web.test"));
        server.join().unwrap();
        outcome
    }

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn ok_and_the_request_sent() {
        let (addr, server) = serve(OK.to_vec());
        let t = target(addr, Duration::from_secs(5));
        assert_eq!(
            crate::check::reactor::block_on_test(probe(&t, &check(&[(200, 299)], None), "web.test")),
            Outcome::Ok
        );
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /health HTTP/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("\r\nHost: web.test:{}\r\n", addr.port())), "{request}");
        assert!(request.contains("\r\nConnection: close\r\n"), "{request}");
    }

    #[test]
    fn status_outside_expect_is_bad_status() {
        let reply = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(run(reply, &check(&[(200, 200)], None)), Outcome::BadStatus(503));
    }

    #[test]
    fn a_range_matches() {
        let reply = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(run(reply, &check(&[(200, 299)], None)), Outcome::Ok);
        assert_eq!(run(reply, &check(&[(200, 200), (300, 399)], None)), Outcome::BadStatus(204));
    }

    #[test]
    fn digest_match_and_mismatch() {
        assert_eq!(run(OK, &check(&[(200, 299)], Some(md5(b"hello")))), Outcome::Ok);
        assert_eq!(run(OK, &check(&[(200, 299)], Some(md5(b"hellO")))), Outcome::BadDigest);
    }

    #[test]
    fn chunked_body_digest() {
        let reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n";
        assert_eq!(run(reply, &check(&[(200, 299)], Some(md5(b"hello")))), Outcome::Ok);
    }

    #[test]
    fn read_to_close_body_digest() {
        let reply = b"HTTP/1.0 200 OK\r\n\r\nhello";
        assert_eq!(run(reply, &check(&[(200, 299)], Some(md5(b"hello")))), Outcome::Ok);
    }

    /// A head of `len` bytes or so: a status line and padding headers.
    fn long_head(len: usize) -> Vec<u8> {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        while head.len() < len {
            head.extend_from_slice(format!("X-Pad-{}: {}\r\n", head.len(), "p".repeat(500)).as_bytes());
        }
        head.extend_from_slice(b"Content-Length: 5\r\n\r\nhello");
        head
    }

    #[test]
    fn heads_beyond_the_first_buffer_are_read_up_to_the_cap() {
        // The buffer starts small and grows: a head of several of its sizes still passes,
        // with and without a digest of the body behind it.
        let head = long_head(3 * FIRST_BUFFER_BYTES);
        assert_eq!(run(&head, &check(&[(200, 200)], None)), Outcome::Ok);
        assert_eq!(run(&head, &check(&[(200, 200)], Some(md5(b"hello")))), Outcome::Ok);
        // Beyond the cap, it is refused, not grown further.
        let huge = long_head(MAX_HEAD_BYTES + 100);
        assert_eq!(run(&huge, &check(&[(200, 200)], None)), Outcome::BadReply("response head too large"));
    }

    #[test]
    fn a_body_beyond_the_cap_is_a_bad_reply() {
        let c = check(&[(200, 299)], Some(md5(b"")));
        let big = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", MAX_BODY_BYTES + 1);
        assert_eq!(run(big.as_bytes(), &c), Outcome::BadReply("body too large"));
        let addr = serve_endless(b"HTTP/1.1 200 OK\r\n\r\n", &[b'x'; 4096]);
        let t = target(addr, Duration::from_secs(10));
        assert_eq!(
            crate::check::reactor::block_on_test(probe(&t, &c, "h")),
            Outcome::BadReply("body too large")
        );
    }

    #[test]
    fn an_endless_chunked_body_is_cut_at_the_cap() {
        let mut piece = b"1000\r\n".to_vec();
        piece.resize(piece.len() + 0x1000, b'y');
        piece.extend_from_slice(b"\r\n");
        let piece: &'static [u8] = piece.leak();
        let addr = serve_endless(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", piece);
        let c = check(&[(200, 299)], Some(md5(b"")));
        let outcome =
            crate::check::reactor::block_on_test(probe(&target(addr, Duration::from_secs(10)), &c, "h"));
        assert_eq!(outcome, Outcome::BadReply("body too large"));
    }

    #[test]
    fn a_silent_server_times_out() {
        let (addr, server) = crate::check::test_server::silent(Duration::from_millis(800));
        let t = target(addr, Duration::from_millis(300));
        let started = std::time::Instant::now();
        assert_eq!(
            crate::check::reactor::block_on_test(probe(&t, &check(&[(200, 299)], None), "h")),
            Outcome::Timeout
        );
        assert!(started.elapsed() < Duration::from_millis(700));
        server.join().unwrap();
    }

    #[test]
    fn garbage_and_silence_are_bad_replies() {
        let c = check(&[(200, 299)], None);
        assert!(matches!(run(b"220 smtp.example ESMTP ready\r\n", &c), Outcome::BadReply(_)));
        assert_eq!(run(b"", &c), Outcome::BadReply("connection closed without a reply"));
        assert_eq!(
            run(b"HTTP/1.1 200 OK\r\nServer:", &c),
            Outcome::BadReply("connection closed inside the head")
        );
    }

    #[test]
    fn connection_refused() {
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let t = target(addr, Duration::from_secs(2));
        assert_eq!(
            crate::check::reactor::block_on_test(probe(&t, &check(&[(200, 299)], None), "h")),
            Outcome::Refused
        );
    }

    #[test]
    fn fetch_digest_hashes_the_body() {
        let (addr, server) = serve(OK.to_vec());
        let t = target(addr, Duration::from_secs(5));
        let got = crate::check::reactor::block_on_test(fetch_digest(&t, "/", "h")).unwrap();
        assert_eq!(digest_hex(&got), "5d41402abc4b2a76b9719d911017c592");
        server.join().unwrap();
        let (addr, server) = serve(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec());
        let t = target(addr, Duration::from_secs(5));
        assert_eq!(
            crate::check::reactor::block_on_test(fetch_digest(&t, "/", "h")),
            Err(Outcome::BadStatus(404))
        );
        server.join().unwrap();
    }

    /// An in-memory stream: reads a canned reply, keeps what is written.
    struct Canned {
        reply: futures_lite::io::Cursor<Vec<u8>>,
        sent: Vec<u8>,
    }

    impl AsyncRead for Canned {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::pin::Pin::new(&mut self.reply).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Canned {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            self.sent.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn check_on_runs_over_any_stream() {
        // The seam the TLS stream will use.
        let mut stream = Canned { reply: futures_lite::io::Cursor::new(OK.to_vec()), sent: Vec::new() };
        let c = check(&[(200, 200)], Some(md5(b"hello")));
        let outcome = crate::check::reactor::block_on_test(check_on(&mut stream, &c, "[2001:db8::1]:8443"));
        assert_eq!(outcome, Outcome::Ok);
        assert!(String::from_utf8_lossy(&stream.sent).contains("\r\nHost: [2001:db8::1]:8443\r\n"));
    }

    #[test]
    fn host_headers() {
        assert_eq!(host_header("web.test", 80, 80), "web.test");
        assert_eq!(host_header("web.test", 8080, 80), "web.test:8080");
        assert_eq!(host_header("10.0.0.1", 443, 443), "10.0.0.1");
        assert_eq!(host_header("2001:db8::1", 80, 80), "[2001:db8::1]");
        assert_eq!(host_header("2001:db8::1", 8080, 80), "[2001:db8::1]:8080");
    }
}
