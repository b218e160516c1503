//! The event stream over the status socket: `{"method":"subscribe"}` and `keeplite
//! subscribe`'s client, against a server fed by the emitter the daemon's threads use.
//! Every subscriber gets every event once, numbered and in order; one that stops reading
//! is dropped with a last line saying why, and the others go on.

use keeplite::json::Json;
use keeplite::status::events::{self, PER_SUBSCRIBER};
use keeplite::status::{client, Peer, Reply, Request, Server};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn socket(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keeplite-events-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("status.sock")
}

fn no_requests() -> impl Fn(&Request, &Peer) -> Reply + Send + 'static {
    |_, _| Reply::Now(Err("not in this test".into()))
}

/// `keeplite subscribe`'s client on a thread: its lines arrive on the channel.
fn subscriber(path: &Path) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = client::subscribe(&path, |line| {
            tx.send(line.to_owned()).map_err(|_| std::io::Error::other("test over"))
        });
    });
    rx
}

fn field(line: &str, key: &str) -> Json {
    let v =
        keeplite::json::parse(line.as_bytes(), keeplite::json::Limits { max_bytes: 1 << 20, max_depth: 8 })
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    v.get(key).cloned().unwrap_or(Json::Null)
}

fn recv(rx: &mpsc::Receiver<String>) -> String {
    rx.recv_timeout(Duration::from_secs(5)).expect("an event line within 5 s")
}

#[test]
fn every_subscriber_gets_every_event_once_in_order() {
    let path = socket("order");
    let (emitter, source) = events::channel();
    let _server = Server::start_with_events(&path, no_requests(), source).expect("server");
    let (a, b) = (subscriber(&path), subscriber(&path));
    // Until both are subscribed, a marker event is sent again: each counts from the first
    // marker it saw.
    let mut seen = (false, false);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(seen.0 && seen.1) {
        assert!(Instant::now() < deadline, "subscribers not in place");
        emitter.emit("marker", vec![]);
        std::thread::sleep(Duration::from_millis(50));
        seen.0 |= a.try_iter().count() > 0;
        seen.1 |= b.try_iter().count() > 0;
    }
    std::thread::sleep(Duration::from_millis(100));
    let _ = (a.try_iter().count(), b.try_iter().count());
    for n in 0..50 {
        emitter.emit("vrrp", vec![("n", Json::Int(n))]);
    }
    for rx in [&a, &b] {
        let lines: Vec<String> = (0..50).map(|_| recv(rx)).collect();
        let ns: Vec<i64> = lines.iter().map(|l| field(l, "n").as_int().expect("n")).collect();
        assert_eq!(ns, (0..50).collect::<Vec<_>>(), "every event once, in order");
        let seqs: Vec<i64> = lines.iter().map(|l| field(l, "seq").as_int().expect("seq")).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "numbered without gaps: {seqs:?}");
        assert_eq!(field(&lines[0], "event"), Json::str("vrrp"));
        assert!(field(&lines[0], "time_ms").as_int().is_some_and(|t| t > 1_600_000_000_000));
    }
}

#[test]
fn a_subscriber_that_stops_reading_is_dropped_and_the_others_go_on() {
    let path = socket("slow");
    let (emitter, source) = events::channel();
    let _server = Server::start_with_events(&path, no_requests(), source).expect("server");
    let quick = subscriber(&path);
    let mut slow = UnixStream::connect(&path).expect("connect");
    slow.write_all(b"{\"method\":\"subscribe\"}\n").expect("subscribe");
    let mut slow = BufReader::new(slow);
    let mut ack = String::new();
    slow.read_line(&mut ack).expect("the acknowledgement");
    assert_eq!(field(&ack, "subscribed"), Json::Bool(true), "{ack}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "quick subscriber not in place");
        emitter.emit("marker", vec![]);
        if quick.recv_timeout(Duration::from_millis(50)).is_ok() {
            break;
        }
    }
    // Large events fill the slow one's socket buffer, then its queue.
    let big = "x".repeat(4096);
    let total = PER_SUBSCRIBER as i64 + 400;
    for n in 0..total {
        emitter.emit("vrrp", vec![("n", Json::Int(n)), ("pad", Json::str(&big))]);
        if n % 64 == 0 {
            // The emitter's own backlog is for bursts, not for this flood: let the hub run.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let mut last = -1;
    while last < total - 1 {
        let line = recv(&quick);
        if field(&line, "event") == Json::str("vrrp") {
            let n = field(&line, "n").as_int().expect("n");
            assert_eq!(n, last + 1, "the quick subscriber misses nothing");
            last = n;
        }
    }
    // The slow one finds what fitted, then why it ends, then the end.
    let mut lines = Vec::new();
    for line in slow.lines() {
        lines.push(line.expect("a line"));
    }
    let end = lines.last().expect("a last line");
    assert_eq!(field(end, "ok"), Json::Bool(false), "{end}");
    assert!(field(end, "error").as_str().is_some_and(|e| e.starts_with("dropped:")), "{end}");
    assert!(lines.len() > PER_SUBSCRIBER / 2 && lines.len() < total as usize, "{} lines", lines.len());
}

#[test]
fn the_client_says_so_when_no_daemon_listens() {
    let path = socket("none");
    let e = client::subscribe(&path, |_| Ok(())).expect_err("no daemon");
    assert!(e.contains("no such socket"), "{e}");
}
