//! netns tier: health checks against real servers. keeplite runs in one namespace, the
//! servers in another on the same LAN; each real server has a check of its own, and the
//! log says what each check concluded and why (this host has no IPVS: the verdicts are
//! what the tests read). The servers are busybox httpd, Python's aiosmtpd, and small
//! misbehaving servers written here.

mod common;

use common::checks::real_server;
use common::daemon::{holds_for, scratch, until, Daemon};
use common::{netns_available, Httpd, Lan, Netns, Smtpd};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// A TCP server in `ns` on `addr` that treats every connection with `serve`, until the
/// test process ends.
fn server(ns: &Netns, addr: &str, serve: fn(std::net::TcpStream)) {
    let listener = ns.run(|| TcpListener::bind(addr).expect("bind"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream));
        }
    });
}

/// Reads the request head, then answers `reply`.
fn answer(mut stream: std::net::TcpStream, reply: &[u8]) {
    let mut buf = [0u8; 2048];
    let mut head = Vec::new();
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(reply);
}

fn status_503(stream: std::net::TcpStream) {
    answer(stream, b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
}

fn never_answers(stream: std::net::TcpStream) {
    std::thread::sleep(Duration::from_secs(60));
    drop(stream);
}

fn slow(stream: std::net::TcpStream) {
    std::thread::sleep(Duration::from_millis(1500));
    answer(stream, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
}

fn endless_body(mut stream: std::net::TcpStream) {
    answer(stream.try_clone().expect("clone"), b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    let chunk = [b'x'; 16384];
    while stream.write_all(&chunk).is_ok() {}
}

#[test]
fn checks_tell_failures_apart_against_real_servers() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("checks", 2);
    let (director, servers) = (&lan.hosts[0], &lan.hosts[1]);
    let root = scratch("checks-www");
    std::fs::write(root.join("index.html"), "hello\n").expect("index");
    let httpd = Httpd::start(servers, &root);
    server(servers, "198.51.100.2:8503", status_503);
    server(servers, "198.51.100.2:8504", never_answers);
    server(servers, "198.51.100.2:8505", slow);
    server(servers, "198.51.100.2:8506", endless_body);
    let _smtpd = Smtpd::start(servers, "198.51.100.2:2525", None);
    let marker = scratch("checks-marker").join("touched");
    let mut conf = String::new();
    // MD5 of "hello\n".
    let hello_md5 = "b1946ac92492d2347c6235b4d2611184";
    // Timed below: steps long enough that one run or retry too many or too few shows
    // beyond the slack a loaded machine needs.
    conf += &real_server(
        "www",
        "198.51.100.2",
        80,
        "type='http'\nrise='2'\nfall='2'\ninterval='2s'\ntimeout='1s'\nretry_delay='1500ms'",
    );
    let notes = scratch("checks-notify").join("www");
    conf += &format!(
        "keeplite.www.notify_down='echo down >> {0}'\nkeeplite.www.notify_up='echo up >> {0}'\n",
        notes.display()
    );
    conf += &real_server("digest", "198.51.100.2", 80, &format!("type='http'\ndigest='{hello_md5}'"));
    conf += &real_server(
        "wrongdigest",
        "198.51.100.2",
        80,
        "type='http'\ndigest='00000000000000000000000000000000'",
    );
    conf += &real_server("status", "198.51.100.2", 8503, "type='http'");
    conf += &real_server("range", "198.51.100.2", 8503, "type='http'\nexpect_status='500-599'");
    conf += &real_server("silent", "198.51.100.2", 8504, "type='http'");
    conf += &real_server("slow", "198.51.100.2", 8505, "type='http'");
    conf += &real_server("endless", "198.51.100.2", 8506, &format!("type='http'\ndigest='{hello_md5}'"));
    conf += &real_server("refused", "198.51.100.2", 9, "type='tcp'");
    conf += &real_server("nowhere", "198.51.100.99", 80, "type='tcp'");
    conf += &real_server("smtp", "198.51.100.2", 2525, "type='smtp'");
    conf += &real_server(
        "hang",
        "198.51.100.3",
        1,
        &format!("type='script'\ncommand='(sleep 2; touch {}) & sleep 30'", marker.display()),
    );
    conf += &real_server("dyn", "198.51.100.4", 1, "type='script'\ncommand='exit 9'\ndynamic='1'");
    let d = Daemon::keeplite(director, "checks", &conf);
    for (check, target, why) in [
        ("c_wrongdigest", "198.51.100.2:80", "bad digest"),
        ("c_status", "198.51.100.2:8503", "bad status 503"),
        ("c_silent", "198.51.100.2:8504", "timeout"),
        ("c_slow", "198.51.100.2:8505", "timeout"),
        ("c_refused", "198.51.100.2:9", "connection refused"),
        ("c_hang", "198.51.100.3:1", "timeout"),
    ] {
        d.wait_log(&format!("check {check} {target}: down ({why})"), WAIT);
    }
    // Nobody at 198.51.100.99: the connect times out while the kernel asks for its MAC
    // address, or is refused at once as unreachable once it gave up asking (3 s; a loaded
    // machine may run the first probe that late).
    until("c_nowhere down (timeout or unreachable)", WAIT, &[&d], || {
        let log = d.log();
        ["timeout", "unreachable"]
            .iter()
            .any(|why| log.contains(&format!("check c_nowhere 198.51.100.99:80: down ({why})")))
    });
    // The endless body is cut at the cap or by the timeout, never read to the end.
    d.wait_log("check c_endless 198.51.100.2:8506: down (", WAIT);
    d.wait_log("real server dyn (198.51.100.4): dynamic weight Some(7)", WAIT);
    // The healthy ones never went down.
    let log = d.log();
    for healthy in ["c_www ", "c_digest ", "c_range ", "c_smtp ", "c_dyn "] {
        assert!(!log.contains(&format!("check {healthy}")), "{healthy}went down:\n{log}");
    }
    // The hanging script's whole process group died at the timeout: its child, which would
    // touch the marker 2 s after the script started, never does (looked at throughout).
    holds_for("no marker from the hanging script's child", Duration::from_millis(2500), &[&d], || {
        !marker.exists()
    });

    // www: down after fall (2) failures: the next run (within an interval, 2 s), then a
    // retry after retry_delay (1.5 s); back after rise (2) passes, an interval apart. The
    // slack, 1 s, is for the checker, the server and this test at nice 0 on a loaded
    // machine; a miscounted fall or rise is 1.5 s or 2 s off.
    let slack = Duration::from_secs(1);
    let stopped = Instant::now();
    drop(httpd);
    d.wait_log("check c_www 198.51.100.2:80: down (connection refused)", WAIT);
    let took = stopped.elapsed();
    assert!(took <= Duration::from_millis(2000 + 1500) + slack, "down after {took:?}");
    d.wait_log("real server www (198.51.100.2): down", WAIT);
    // Counted from when the server listens (Httpd::start returns then), not from before it
    // started: its start-up on a busy machine is not the checker's doing.
    let _httpd = Httpd::start(servers, &root);
    let started = Instant::now();
    d.wait_log("check c_www 198.51.100.2:80: up (ok)", WAIT);
    let took = started.elapsed();
    // Two passes an interval apart: not before one interval, not after two.
    assert!(took >= Duration::from_millis(1900), "up after {took:?}, one pass");
    assert!(took <= Duration::from_millis(2 * 2000) + slack, "up after {took:?}");
    d.wait_log("real server www (198.51.100.2): up", WAIT);
    // The notify scripts ran, in order, without holding anything up.
    until("notify lines down and up", WAIT, &[&d], || {
        let got = std::fs::read_to_string(&notes).unwrap_or_default();
        if got == "down\nup\n" {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    });
    assert_eq!(d.stop(), Some(0));
}
