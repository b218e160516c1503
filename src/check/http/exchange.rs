//! The sans-IO half of one HTTP/1.1 GET, on ureq-proto's client state machine: the
//! request's bytes, the response head, and a capped, hashed body. No sockets here: the shell
//! in `http.rs` moves the bytes, so the same code serves TCP and (later) TLS, and tests can
//! feed it anything.

use super::{MAX_BODY_BYTES, MAX_BODY_WIRE_BYTES, MAX_HEAD_BYTES, USER_AGENT};
use crate::check::Outcome;
use md5::{Digest, Md5};
use ureq_proto::client::state::{RecvBody, RecvResponse};
use ureq_proto::client::{header_raw, Call, RecvResponseResult, SendRequestResult};
use ureq_proto::http::Request;
use ureq_proto::{BodyMode, Error};

/// Room for the request: the path and the host are at most `limits::VALUE_BYTES` each.
const REQUEST_BYTES: usize = 4096;
/// Decoded body bytes handed out by ureq-proto per step (hashed, then overwritten).
const BODY_STEP_BYTES: usize = 8192;

/// The bytes of `GET path` with `Host: host`.
pub fn request(path: &str, host: &str) -> Result<Vec<u8>, Outcome> {
    // Canonical header casing, as keepalived and curl send it: embedded web servers, a
    // common target of health checks, are not all case-insensitive as HTTP demands.
    let builder = header_raw(Request::get(path), "Host", host.as_bytes());
    let builder = header_raw(builder, "User-Agent", USER_AGENT.as_bytes());
    let builder = header_raw(builder, "Connection", b"close");
    let request = builder
        .body(())
        .map_err(|_| Outcome::Error(format!("'{path}' with host '{host}' is not a valid request")))?;
    let (bytes, _) = send(request)?;
    Ok(bytes)
}

/// The reader of the response to a GET. ureq-proto reads a response in the light of the
/// call that sent the request, of which it only looks at the method: a bare GET's call
/// reads the same as the call of the whole request, at a third of the cost, and the
/// request's bytes can be made once for every run of a probe.
pub fn head() -> Result<Head, Outcome> {
    let request = Request::get("/").body(()).map_err(|_| Outcome::Error("http: a bare GET".into()))?;
    Ok(send(request)?.1)
}

/// Drives ureq-proto's call through sending `request`: its bytes, and the reader of the
/// response.
fn send(request: Request<()>) -> Result<(Vec<u8>, Head), Outcome> {
    let mut call = Call::new(request).map_err(internal)?.proceed();
    let mut bytes = Vec::with_capacity(256);
    let mut step = [0u8; REQUEST_BYTES];
    while !call.can_proceed() {
        let n = call.write(&mut step).map_err(internal)?;
        bytes.extend_from_slice(&step[..n]);
    }
    match call.proceed().map_err(internal)? {
        Some(SendRequestResult::RecvResponse(call)) => Ok((bytes, Head { call, seen: 0 })),
        _ => Err(Outcome::Error("http: a GET unexpectedly has a request body".into())),
    }
}

/// Reads the response head (skipping `1xx` interim responses).
pub struct Head {
    call: Call<RecvResponse>,
    /// Head bytes consumed so far, interim responses included, against `MAX_HEAD_BYTES`.
    seen: usize,
}

impl Head {
    /// Looks for the final response head at the start of `input`: the bytes used, and the
    /// status once the whole head is there.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<u16>), Outcome> {
        let mut used = 0;
        loop {
            let (n, response) = self
                .call
                .try_response(&input[used..], false)
                .map_err(|e| Outcome::BadReply(head_error(&e)))?;
            used += n;
            self.seen += n;
            // A head that needs even one more byte would pass the cap.
            if self.seen > MAX_HEAD_BYTES
                || (response.is_none() && self.seen + input.len() - used >= MAX_HEAD_BYTES)
            {
                return Err(Outcome::BadReply("response head too large"));
            }
            if let Some(response) = response {
                return Ok((used, Some(response.status().as_u16())));
            }
            // n > 0 without a response: an interim 1xx went by; the final head may follow.
            if n == 0 {
                return Ok((used, None));
            }
        }
    }

    /// The body reader, once [`Head::feed`] has returned a status.
    pub fn into_body(self) -> Result<Body, Outcome> {
        match self.call.proceed() {
            Some(RecvResponseResult::RecvBody(call)) => Body::new(call),
            // No body by the rules (204, 304, `Content-Length: 0`): the digest of nothing.
            Some(RecvResponseResult::Redirect(_) | RecvResponseResult::Cleanup(_)) => Ok(Body::empty()),
            None => Err(Outcome::Error("http: body wanted before the response head".into())),
        }
    }
}

/// Reads and hashes the response body, within `MAX_BODY_BYTES`.
pub struct Body {
    /// `None`: the response has no body.
    call: Option<Call<RecvBody>>,
    /// Ends when the server closes (no `Content-Length`, not chunked).
    to_close: bool,
    md5: Md5,
    /// Decoded bytes so far.
    len: u64,
    /// Bytes consumed on the wire, chunk framing included.
    wire: u64,
    step: Vec<u8>,
}

impl Body {
    fn new(call: Call<RecvBody>) -> Result<Body, Outcome> {
        let mode = call.body_mode();
        // Refuse a declared oversized body before reading any of it.
        if matches!(mode, BodyMode::LengthDelimited(n) if n > MAX_BODY_BYTES) {
            return Err(Outcome::BadReply("body too large"));
        }
        let to_close = mode == BodyMode::CloseDelimited;
        Ok(Body { call: Some(call), to_close, ..Body::empty() })
    }

    fn empty() -> Body {
        Body { call: None, to_close: false, md5: Md5::new(), len: 0, wire: 0, step: vec![0; BODY_STEP_BYTES] }
    }

    /// Hashes what it can of `input` and says how many bytes it used; fewer than given means
    /// the body is complete or the rest waits for more input.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, Outcome> {
        let mut used = 0;
        while used < input.len() && !self.is_complete() {
            let Some(call) = self.call.as_mut() else { break };
            let (i, o) =
                call.read(&input[used..], &mut self.step).map_err(|e| Outcome::BadReply(body_error(&e)))?;
            used += i;
            self.wire += i as u64;
            self.len += o as u64;
            self.md5.update(&self.step[..o]);
            if self.len > MAX_BODY_BYTES || self.wire > MAX_BODY_WIRE_BYTES {
                return Err(Outcome::BadReply("body too large"));
            }
            if i == 0 && o == 0 {
                break;
            }
        }
        Ok(used)
    }

    /// True when the framing says the whole body is in.
    pub fn is_complete(&self) -> bool {
        match &self.call {
            None => true,
            Some(call) => !self.to_close && call.can_proceed(),
        }
    }

    /// The body's MD5, when it is complete or the server closed the connection (`closed`).
    pub fn finish(self, closed: bool) -> Result<[u8; 16], Outcome> {
        // A chunked body whose last chunk came but not the final CRLF is whole all the same.
        let chunked_end = self.call.as_ref().is_some_and(|c| c.is_ended_chunked());
        if self.is_complete() || (closed && (self.to_close || chunked_end)) {
            Ok(self.md5.finalize().into())
        } else {
            Err(Outcome::BadReply("connection closed inside the body"))
        }
    }
}

fn head_error(e: &Error) -> &'static str {
    match e {
        Error::HttpParseTooManyHeaders => "too many headers",
        Error::UnsupportedVersion => "not HTTP/1.x",
        Error::TooManyContentLengthHeaders | Error::BadContentLengthHeader => "bad Content-Length",
        Error::HeadersWith100 => "headers on a 100 Continue",
        _ => "malformed response head",
    }
}

fn body_error(e: &Error) -> &'static str {
    match e {
        Error::ChunkLenNotAscii | Error::ChunkLenNotANumber | Error::ChunkExpectedCrLf => {
            "malformed chunked body"
        }
        _ => "malformed body",
    }
}

/// ureq-proto refused a request we built: a bug here, not the server's fault.
fn internal(e: Error) -> Outcome {
    Outcome::Error(format!("http: cannot build the request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reader() -> Head {
        super::head().unwrap()
    }

    /// Feeds `reply` to a fresh exchange in pieces cut at `cuts`, as a shell would: the
    /// status and the digest (or the outcome that stopped it), with `closed` at the end.
    fn run(reply: &[u8], cuts: &[usize]) -> Result<(u16, [u8; 16]), Outcome> {
        let mut pending = Vec::new();
        let mut pieces = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain([reply.len()].iter()) {
            let cut = cut.clamp(last, reply.len());
            pieces.push(&reply[last..cut]);
            last = cut;
        }
        let mut pieces = pieces.into_iter();
        let mut h = reader();
        let status = loop {
            let (used, status) = h.feed(&pending)?;
            pending.drain(..used);
            if let Some(s) = status {
                break s;
            }
            match pieces.next() {
                Some(p) => pending.extend_from_slice(p),
                None => return Err(Outcome::BadReply("closed")),
            }
        };
        let mut body = h.into_body()?;
        loop {
            let used = body.feed(&pending)?;
            pending.drain(..used);
            if body.is_complete() {
                return body.finish(false).map(|d| (status, d));
            }
            match pieces.next() {
                Some(p) => pending.extend_from_slice(p),
                None => return body.finish(true).map(|d| (status, d)),
            }
        }
    }

    fn md5(b: &[u8]) -> [u8; 16] {
        Md5::digest(b).into()
    }

    #[test]
    fn the_request_is_a_plain_get() {
        let bytes = request("/health?x=1", "example.org:8080").unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("GET /health?x=1 HTTP/1.1\r\n"), "{text}");
        assert!(text.contains("\r\nHost: example.org:8080\r\n"), "{text}");
        assert!(
            text.contains(&format!("\r\nUser-Agent: keeplite/{}\r\n", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n"), "{text}");
        assert_eq!(text.matches("ost:").count(), 1, "one Host header: {text}");
    }

    #[test]
    fn a_bad_path_or_host_is_an_error_not_a_panic() {
        assert!(matches!(request("/a b", "h"), Err(Outcome::Error(_))));
        assert!(matches!(request("/", "h\r\nX: y"), Err(Outcome::Error(_))));
    }

    #[test]
    fn bodies_by_content_length_chunks_and_close() {
        let cl = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
        assert_eq!(run(cl, &[]), Ok((200, md5(b"hello"))));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\nT: 1\r\n\r\n";
        assert_eq!(run(chunked, &[]), Ok((200, md5(b"hello"))));
        let close = b"HTTP/1.0 200 OK\r\n\r\nhello";
        assert_eq!(run(close, &[]), Ok((200, md5(b"hello"))));
        let none = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(run(none, &[]), Ok((204, md5(b""))));
    }

    #[test]
    fn interim_responses_are_skipped() {
        let reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 503 No\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(run(reply, &[]).map(|r| r.0), Ok(503));
        assert_eq!(run(reply, &[10, 30, 50]).map(|r| r.0), Ok(503));
    }

    #[test]
    fn a_truncated_body_is_refused() {
        let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello";
        assert_eq!(run(reply, &[]), Err(Outcome::BadReply("connection closed inside the body")));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert_eq!(run(chunked, &[]), Err(Outcome::BadReply("connection closed inside the body")));
        // The last chunk without its final CRLF: the body is whole.
        let ended = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n";
        assert_eq!(run(ended, &[]), Ok((200, md5(b"hello"))));
    }

    #[test]
    fn caps_hold() {
        let declared = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", MAX_BODY_BYTES + 1);
        assert_eq!(run(declared.as_bytes(), &[]), Err(Outcome::BadReply("body too large")));
        let mut endless = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        endless.resize(endless.len() + MAX_BODY_BYTES as usize + 1, b'x');
        assert_eq!(run(&endless, &[]), Err(Outcome::BadReply("body too large")));
        // One byte per chunk: framing six times the payload runs into the wire cap first.
        let mut tiny = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for _ in 0..(MAX_BODY_WIRE_BYTES / 6 + 1) {
            tiny.extend_from_slice(b"1\r\nx\r\n");
        }
        assert_eq!(run(&tiny, &[]), Err(Outcome::BadReply("body too large")));
        let mut big_head = b"HTTP/1.1 200 OK\r\n".to_vec();
        while big_head.len() <= MAX_HEAD_BYTES {
            big_head.extend_from_slice(format!("X-Filler: {}\r\n", "f".repeat(1000)).as_bytes());
        }
        assert_eq!(run(&big_head, &[]), Err(Outcome::BadReply("response head too large")));
    }

    #[test]
    fn bad_heads_are_bad_replies() {
        for reply in [
            &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        ] {
            assert!(
                matches!(run(reply, &[]), Err(Outcome::BadReply(_))),
                "{}",
                String::from_utf8_lossy(reply)
            );
        }
    }

    fn valid_reply() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        let body = proptest::collection::vec(any::<u8>(), 0..300);
        let chunks = proptest::collection::vec(1usize..40, 1..10);
        (body, chunks, 0..3u8).prop_map(|(body, chunks, framing)| {
            let mut reply = b"HTTP/1.1 200 OK\r\nServer: t\r\n".to_vec();
            match framing {
                0 => {
                    reply.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                    reply.extend_from_slice(&body);
                }
                1 => {
                    reply.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    let mut rest = &body[..];
                    for size in chunks.iter().cycle() {
                        if rest.is_empty() {
                            break;
                        }
                        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                        reply.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                        reply.extend_from_slice(chunk);
                        reply.extend_from_slice(b"\r\n");
                        rest = tail;
                    }
                    reply.extend_from_slice(b"0\r\n\r\n");
                }
                _ => {
                    reply.extend_from_slice(b"\r\n");
                    reply.extend_from_slice(&body);
                }
            }
            (reply, body)
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(reply in proptest::collection::vec(any::<u8>(), 0..600), cut in 0usize..600) {
            let _ = run(&reply, &[cut]);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_start_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..400,
        ) {
            // Most random bytes fail on the status line; these reach headers and bodies.
            for start in [&b"HTTP/1.1 200 OK\r\n"[..], b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"] {
                let mut reply = start.to_vec();
                reply.extend_from_slice(&tail);
                let _ = run(&reply, &[cut]);
            }
        }

        #[test]
        fn any_header_value_bytes_never_panic(value in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut reply = b"HTTP/1.1 200 OK\r\nX-Any: ".to_vec();
            reply.extend_from_slice(&value);
            reply.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
            let _ = run(&reply, &[]);
        }

        #[test]
        fn a_valid_reply_split_anywhere_gives_the_same_digest((reply, body) in valid_reply(), a in 0usize..1000, b in 0usize..1000) {
            let whole = run(&reply, &[]);
            prop_assert_eq!(whole.clone(), Ok((200, md5(&body))));
            let (a, b) = (a.min(b), a.max(b));
            prop_assert_eq!(run(&reply, &[a, b]), whole.clone());
            prop_assert_eq!(run(&reply, &(1..reply.len()).collect::<Vec<_>>()), whole);
        }
    }
}
