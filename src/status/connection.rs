//! One client connection: reads request lines, answers each with one reply line.
//!
//! A bad line gets an error reply and the connection stays usable; an over-long line gets
//! an error and the connection is closed (the rest of that line cannot be told from the
//! next request); so does a connection idle for the idle timeout, which also bounds how
//! long a client may take to read its reply.
//!
//! `subscribe` turns the connection into an event stream: no more requests, no idle
//! timeout and no lifetime cap, an event line whenever there is one, until the client
//! closes, falls behind (its queue fills) or does not read for the idle timeout.

use super::events::{Ended, Subscription};
use super::reply;
use super::request::{self, Method, Request};
use super::server::{Peer, Reply, Shared, Stats};
use crate::config::model::LogLevel;
use crate::json::Json;
use crate::log;
use async_io::{Async, Timer};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use std::os::unix::net::UnixStream;
use std::time::Instant;

/// Bytes read at a time.
const CHUNK: usize = 1024;

/// `fut`'s output, or `None` when `deadline` passes first.
async fn until<T>(deadline: Instant, fut: impl std::future::Future<Output = T>) -> Option<T> {
    future::or(async { Some(fut.await) }, async {
        Timer::at(deadline).await;
        None
    })
    .await
}

/// Serves `stream` until the client closes it, misbehaves or idles.
pub(super) async fn serve(mut stream: Async<UnixStream>, peer: Peer, shared: &Shared) {
    let limits = shared.limits;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; CHUNK];
    // However busy, a connection ends: requests keep it open for `lifetime`, not forever.
    let end_of_life = Instant::now() + limits.lifetime;
    let mut deadline = (Instant::now() + limits.idle).min(end_of_life);
    loop {
        while let Some(end) = buf.iter().position(|&b| b == b'\n') {
            if end > limits.max_line {
                return too_long(&mut stream, shared).await;
            }
            let line: Vec<u8> = buf.drain(..=end).collect();
            match answer_line(&mut stream, &line[..end], &peer, shared).await {
                Answered::Gone => return,
                Answered::Subscribed(events) => return stream_events(&mut stream, events, shared).await,
                // A blank line is not a request: it does not buy more time.
                Answered::Blank => {}
                Answered::Yes => deadline = (Instant::now() + limits.idle).min(end_of_life),
            }
        }
        if buf.len() > limits.max_line {
            return too_long(&mut stream, shared).await;
        }
        match until(deadline, stream.read(&mut chunk)).await {
            None => {
                Stats::bump(&shared.stats.timeouts);
                let why = if deadline >= end_of_life {
                    format!("closed: a connection lives at most {} ms", limits.lifetime.as_millis())
                } else {
                    format!("closed: no complete request line within {} ms", limits.idle.as_millis())
                };
                let _ = send(&mut stream, &reply::error(why), Instant::now() + limits.idle).await;
                return;
            }
            // The client closed its side: a last line without a newline is still answered.
            Some(Ok(0)) => {
                if !buf.is_empty() {
                    answer_line(&mut stream, &buf, &peer, shared).await;
                }
                return;
            }
            Some(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Some(Err(_)) => return,
        }
    }
}

/// What became of one line.
enum Answered {
    Yes,
    /// A blank line: skipped, no reply.
    Blank,
    /// The client is gone or does not read its reply.
    Gone,
    /// A subscription began: events follow.
    Subscribed(Subscription),
}

/// Answers one line (blank lines are skipped).
async fn answer_line(stream: &mut Async<UnixStream>, line: &[u8], peer: &Peer, shared: &Shared) -> Answered {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Answered::Blank;
    }
    let parsed = request::parse(line);
    let mut subscription = None;
    let reply = match parsed {
        Ok(Request::Subscribe) => {
            Stats::bump(&shared.stats.requests);
            match shared.hub.subscribe() {
                Some((events, next)) => {
                    subscription = Some(events);
                    let next = i64::try_from(next).unwrap_or(i64::MAX);
                    reply::ok(Json::object([("subscribed", Json::Bool(true)), ("next_seq", Json::Int(next))]))
                }
                None => {
                    Stats::bump(&shared.stats.errors);
                    let max = super::events::MAX_SUBSCRIBERS;
                    reply::busy(format!("busy: {max} subscribers already; try again"))
                }
            }
        }
        parsed => answer(parsed, peer, shared).await,
    };
    match (send(stream, &reply, Instant::now() + shared.limits.idle).await, subscription) {
        (false, _) => Answered::Gone,
        (true, Some(events)) => Answered::Subscribed(events),
        (true, None) => Answered::Yes,
    }
}

/// Writes each event of `events` until the client closes, falls behind or stops
/// reading; what the client sends meanwhile is read and ignored.
async fn stream_events(stream: &mut Async<UnixStream>, events: Subscription, shared: &Shared) {
    let mut sink = [0u8; CHUNK];
    loop {
        let next = future::or(async { Some(events.next().await) }, async {
            // Some(Ok(0)) or an error: the client went away.
            loop {
                match (&*stream).read(&mut sink).await {
                    Ok(n) if n > 0 => continue,
                    _ => return None,
                }
            }
        });
        let line = match next.await {
            None | Some(Err(Ended::Stopped)) => return,
            Some(Err(Ended::TooSlow)) => {
                let why = format!(
                    "dropped: {} events waited unread; subscribe again (and read faster)",
                    super::events::PER_SUBSCRIBER
                );
                let _ = send(stream, &reply::error(why), Instant::now() + shared.limits.idle).await;
                return;
            }
            Some(Ok(line)) => line,
        };
        let deadline = Instant::now() + shared.limits.idle;
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if !matches!(until(deadline, stream.write_all(&bytes)).await, Some(Ok(()))) {
            return;
        }
    }
}

async fn too_long(stream: &mut Async<UnixStream>, shared: &Shared) {
    Stats::bump(&shared.stats.errors);
    let why = format!("request line longer than {} bytes; closing", shared.limits.max_line);
    let _ = send(stream, &reply::error(why), Instant::now() + shared.limits.idle).await;
}

/// Writes `reply` and a newline; false when the client is gone or does not read in time.
async fn send(stream: &mut Async<UnixStream>, reply: &Json, deadline: Instant) -> bool {
    let mut line = reply.to_string();
    line.push('\n');
    matches!(until(deadline, stream.write_all(line.as_bytes())).await, Some(Ok(())))
}

/// The reply to one request line, as parsed.
async fn answer(parsed: Result<Request, request::Error>, peer: &Peer, shared: &Shared) -> Json {
    Stats::bump(&shared.stats.requests);
    let request = match parsed {
        Ok(r) => r,
        Err(e) => {
            Stats::bump(&shared.stats.errors);
            return reply::error(e);
        }
    };
    let method = request.method();
    if method.is_write() && !peer.is_root() {
        Stats::bump(&shared.stats.errors);
        let who = who(peer);
        log::log(
            LogLevel::Warn,
            &format!("status: refused {method} {} from {who}: not root", request.params()),
        );
        return reply::error(format!(
            "{method} changes the daemon: only root (uid 0) may call it, not uid {}",
            peer.uid
        ));
    }
    let answer = match shared.handler.call(&request, peer) {
        Reply::Now(a) => a,
        Reply::Later(rx) => match until(Instant::now() + shared.limits.answer, rx.recv()).await {
            Some(Ok(a)) => a,
            Some(Err(_)) => Err("the daemon dropped the request".to_owned()),
            None => Err(format!("no answer from the daemon within {} ms", shared.limits.answer.as_millis())),
        },
    };
    if method.is_write() {
        log_write(&request, peer, &answer);
    }
    match answer {
        Ok(body) => with_server_counters(method, reply::ok(body), shared),
        Err(e) => {
            Stats::bump(&shared.stats.errors);
            reply::error(e)
        }
    }
}

fn who(peer: &Peer) -> String {
    format!("uid {} pid {}", peer.uid, peer.pid)
}

/// Every write is logged with who asked and what came of it.
fn log_write(request: &Request, peer: &Peer, answer: &Result<Json, String>) {
    let outcome = match answer {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("failed: {e}"),
    };
    log::info!("status: {} {} from {}: {outcome}", request.method(), request.params(), who(peer));
}

/// `status` and `counters` also show the server's own counters.
fn with_server_counters(method: Method, mut reply: Json, shared: &Shared) -> Json {
    if matches!(method, Method::Status | Method::Counters) {
        if let Json::Object(fields) = &mut reply {
            fields.push(("status_socket".to_owned(), shared.stats.json()));
        }
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn until_gives_up_at_the_deadline() {
        let start = Instant::now();
        let r = async_io::block_on(until(start + Duration::from_millis(20), future::pending::<()>()));
        assert!(r.is_none() && start.elapsed() >= Duration::from_millis(20));
        let r = async_io::block_on(until(start + Duration::from_secs(5), async { 7 }));
        assert_eq!(r, Some(7));
    }
}
