//! `./ci/bench soak` (issue 7): keeplite runs for a while with checks flapping, a reload
//! every 10 s and 100 status requests a second; its RSS and open descriptors are sampled
//! every 10 s and must stay flat; status requests are timed. On this host, in namespaces:
//! no IPVS here, so the IPVS thread reports it unavailable while the checks, VRRP, the
//! reloads and the status endpoint all run for real.
//!
//! Parameters from the environment: `KEEPLITE_BENCH_SECONDS` (default 600),
//! `KEEPLITE_BENCH_SERVERS` (default 40; a quarter of them flap every 5 s). Without
//! `KEEPLITE_BENCH_SOAK=1` the test does nothing (it is a benchmark, not a test tier).

mod common;

use common::daemon::{scratch, vrrp_section, Daemon};
use common::{env_or, netns_available, percentile, Lan, Netns};
use keeplite::status::client;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn server_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(203, 0, 113, 10 + i as u8)
}

/// Answers every connection on `listener` with a short 200, until `stop`.
fn serve(listener: TcpListener, stop: Arc<AtomicBool>) {
    listener.set_nonblocking(true).expect("nonblocking");
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut s, _)) => {
                let _ = s.set_nonblocking(false);
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// One real server: listening, or (while flapped off) refusing.
struct Backend {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Backend {
    fn up(ns: &Netns, addr: Ipv4Addr) -> Backend {
        let listener =
            ns.run(|| TcpListener::bind(SocketAddr::from((addr, 80)))).expect("bind a real server");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        Backend { stop, thread: Some(std::thread::spawn(move || serve(listener, s))) }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The configuration; `generation` changes one real server's weight so each reload has
/// something to apply.
fn config(socket: &Path, servers: usize, generation: u64) -> String {
    let mut c = format!("g=global\ng.status_socket={}\n", socket.display())
        + &vrrp_section("gw", 51, 200, "198.51.100.100/24", &[])
        + "web=virtual_server\nweb.address=198.51.100.100\nweb.port=80\n\
           hc=check\nhc.type=http\nhc.interval=1s\nhc.timeout=500ms\nhc.path=/\n";
    for i in 0..servers {
        let weight = if i == 0 { 1 + generation % 2 } else { 1 };
        c.push_str(&format!(
            "r{i}=real_server\nr{i}.virtual_server=web\nr{i}.address={}\nr{i}.weight={weight}\nr{i}.check=hc\n",
            server_addr(i)
        ));
    }
    c
}

/// VmRSS in KiB and open descriptors of `pid`.
fn sample(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (rss, fds)
}

#[test]
fn soak_benchmark() {
    if std::env::var("KEEPLITE_BENCH_SOAK").as_deref() != Ok("1") || !netns_available() {
        eprintln!("soak benchmark: set KEEPLITE_BENCH_SOAK=1 (./ci/bench soak)");
        return;
    }
    let seconds = env_or("KEEPLITE_BENCH_SECONDS", 600);
    let servers = env_or("KEEPLITE_BENCH_SERVERS", 40) as usize;
    let lan = Lan::new("soak", 2);
    let (director, backends) = (&lan.hosts[0], &lan.hosts[1]);
    backends.ip(&["addr", "add", "203.0.113.1/24", "dev", "eth0"]);
    for i in 0..servers {
        backends.ip(&["addr", "add", &format!("{}/32", server_addr(i)), "dev", "eth0"]);
    }
    director.ip(&["route", "add", "203.0.113.0/24", "via", "198.51.100.2"]);
    let mut live: Vec<Option<Backend>> =
        (0..servers).map(|i| Some(Backend::up(backends, server_addr(i)))).collect();

    let dir = scratch("soak");
    let socket = dir.join("status.sock");
    let daemon = Daemon::keeplite(director, "soak", &config(&socket, servers, 0));
    let pid = daemon.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client::call(&socket, "status", None, client::TIMEOUT).is_err() {
        assert!(Instant::now() < deadline, "no status socket\n{}", daemon.log());
        std::thread::sleep(Duration::from_millis(100));
    }

    // 100 status requests a second, each on a fresh connection, timed.
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicU64::new(0));
    let asker = {
        let (stop, latencies, failures, socket) =
            (stop.clone(), latencies.clone(), failures.clone(), socket.clone());
        std::thread::spawn(move || {
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match client::call(&socket, "status", None, client::TIMEOUT) {
                    Ok(_) => latencies.lock().unwrap().push(t.elapsed()),
                    Err(_) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                next += Duration::from_millis(10);
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        })
    };

    let start = Instant::now();
    let mut samples = vec![(0u64, sample(pid))];
    let (mut reloads, mut flaps) = (0u64, 0u64);
    let mut tick = 0u64;
    while start.elapsed() < Duration::from_secs(seconds) {
        tick += 1;
        std::thread::sleep((start + Duration::from_secs(5 * tick)).saturating_duration_since(Instant::now()));
        // A quarter of the servers flap: down for 5 s, up for 5 s.
        for (i, slot) in live.iter_mut().enumerate().filter(|(i, _)| i % 4 == 1) {
            *slot = match slot.take() {
                Some(_) => None,
                None => Some(Backend::up(backends, server_addr(i))),
            };
            flaps += 1;
        }
        if tick % 2 == 0 {
            reloads += 1;
            daemon.rewrite_conf(&config(&socket, servers, reloads));
            daemon.reload();
            let (at, (rss, fds)) = (start.elapsed().as_secs(), sample(pid));
            samples.push((at, (rss, fds)));
            println!("BENCH soak: sample t={at}s rss_kib={rss} fds={fds}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = asker.join();
    let log = daemon.log();
    assert_eq!(daemon.stop(), Some(0), "{log}");

    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let (first, last) = (samples[1].1, samples[samples.len() - 1].1);
    let max_rss = samples[1..].iter().map(|s| s.1 .0).max().unwrap_or(0);
    let max_fds = samples[1..].iter().map(|s| s.1 .1).max().unwrap_or(0);
    let applied = log.matches("reload: vrrp:").count();
    let refused = log.matches("reload: keeping").count();
    let transitions =
        |word: &str| log.lines().filter(|l| l.contains("real server ") && l.ends_with(word)).count();
    let (ups, downs) = (transitions(": up"), transitions(": down"));
    println!(
        "BENCH soak: {seconds} s, {servers} real servers (HTTP every 1 s, {} flapping every 5 s: {flaps} flaps), \
         {reloads} reloads ({applied} applied, {refused} refused), {} status requests ({} failed)",
        (servers + 2) / 4,
        lat.len(),
        failures.load(Ordering::Relaxed)
    );
    println!(
        "BENCH soak: RSS first {} KiB (10 s), last {} KiB, max {max_rss} KiB; fds first {}, last {}, max {max_fds}",
        first.0, last.0, first.1, last.1
    );
    println!(
        "BENCH soak: status latency median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    println!("BENCH soak: real server transitions logged: {ups} up, {downs} down");
    assert!(applied as u64 >= reloads.saturating_sub(1), "reloads were not applied:\n{log}");
    // Probes and status connections in flight move the count by a few either way.
    assert!(last.1 <= first.1 + 8, "open descriptors grew: {samples:?}");
    // Flat: within 256 KiB of the first sample (allocator pages come and go).
    assert!(last.0 <= first.0 + 256, "RSS grew: {samples:?}");
}
