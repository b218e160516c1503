//! netns tier: the event stream of a live daemon. `keeplite subscribe` on the backup of a
//! pair prints, in order, its own transitions (BACKUP, then MASTER when the master stops),
//! a real server's health going down when its check fails, and its reload; and ends with
//! exit 0 when the daemon stops.

mod common;

use common::daemon::{logs, scratch, vrrp_section, Daemon};
use common::{keeplite_bin, netns_available, Lan};
use keeplite::json::{self, Json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

fn parse(line: &str) -> Json {
    json::parse(line.as_bytes(), json::Limits { max_bytes: 1 << 16, max_depth: 8 })
        .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

fn text<'a>(j: &'a Json, key: &str) -> &'a str {
    j.get(key).and_then(Json::as_str).unwrap_or("")
}

/// The next event for which `wanted` holds, skipping others; every line seen is kept.
fn next_event(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    what: &str,
    wanted: impl Fn(&Json) -> bool,
    daemons: &[&Daemon],
) -> Json {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                let event = parse(&line);
                if wanted(&event) {
                    return event;
                }
            }
            Err(_) => panic!("no event: {what}\nevents seen:\n{}\n{}", seen.join("\n"), logs(daemons)),
        }
    }
}

#[test]
fn subscribe_streams_transitions_health_and_reloads_in_order() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("events", 3);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("events");
    let sock_b = dir.join("b.sock");
    // A real server with a closed port on the third host: its check fails.
    let services = "keeplite.web=virtual_server\nkeeplite.web.address='198.51.100.100'\nkeeplite.web.port='80'\n\
                    keeplite.r1=real_server\nkeeplite.r1.virtual_server='web'\nkeeplite.r1.address='198.51.100.3'\n\
                    keeplite.r1.check='port'\n\
                    keeplite.port=check\nkeeplite.port.type='tcp'\nkeeplite.port.interval='1s'\nkeeplite.port.timeout='500ms'\n";
    let da = Daemon::keeplite(a, "a", &(vrrp_section("gw", 51, 200, "198.51.100.100/24", &[]) + services));
    let conf_b = format!("g=global\ng.status_socket={}\n", sock_b.display())
        + &vrrp_section("gw", 51, 100, "198.51.100.100/24", &[])
        + services;
    let db = Daemon::keeplite(b, "b", &conf_b);
    let daemons = [&da, &db];

    // Subscribed before the instances start is not certain: the socket appears first.
    let deadline = Instant::now() + WAIT;
    while !sock_b.exists() {
        assert!(Instant::now() < deadline, "no status socket\n{}", logs(&daemons));
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut sub = Command::new(keeplite_bin())
        .args(["subscribe", "-s", &sock_b.display().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keeplite subscribe");
    let (tx, rx) = mpsc::channel();
    let out = sub.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();

    // The health of r1 goes down (connection refused), numbered in the one sequence.
    let down = next_event(&rx, &mut seen, "r1 down", |e| text(e, "event") == "health", &daemons);
    assert_eq!((text(&down, "real_server"), down.get("up")), ("r1", Some(&Json::Bool(false))), "{down}");
    assert_eq!(down.get("virtual_servers"), Some(&Json::Array(vec![Json::str("web")])), "{down}");
    // b is backup (if it was not already when the stream began, the event says so).
    db.wait_log("vrrp gw: INIT -> BACKUP", WAIT);

    // A reload (SIGHUP) of the same file: its outcome.
    db.reload();
    let reload = next_event(&rx, &mut seen, "b reloaded", |e| text(e, "event") == "reload", &daemons);
    assert_eq!(reload.get("ok"), Some(&Json::Bool(true)), "{reload}");
    assert!(text(&reload, "done").starts_with("vrrp: 1 unchanged"), "{reload}");

    // The master stops: b's stream shows BACKUP -> MASTER, master down, priority 100.
    da.stop();
    let master = next_event(
        &rx,
        &mut seen,
        "b master",
        |e| text(e, "event") == "vrrp" && text(e, "to") == "MASTER",
        &daemons,
    );
    assert_eq!(
        (text(&master, "instance"), text(&master, "from"), text(&master, "reason")),
        ("gw", "BACKUP", "master down"),
        "{master}"
    );
    assert_eq!(master.get("priority").and_then(Json::as_int), Some(100));

    // Numbered without gaps, in the order they happened.
    let seqs: Vec<i64> =
        seen.iter().map(|l| parse(l).get("seq").and_then(Json::as_int).expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seen:#?}");
    let times: Vec<i64> =
        seen.iter().map(|l| parse(l).get("time_ms").and_then(Json::as_int).expect("time")).collect();
    assert!(times.windows(2).all(|w| w[1] >= w[0]), "{seen:#?}");

    // The daemon stops: the stream ends and `keeplite subscribe` exits 0.
    db.stop();
    let status = sub.wait().expect("subscribe exits");
    assert!(status.success(), "keeplite subscribe: {status}");
}
