//! `./ci/bench takeover` (issue 17): a keeplite pair with 10 ms adverts (VRRP v3's
//! minimum), both routers checking the same real servers by HTTP every second, for a
//! while; a host on the LAN that is neither records every advert. A false takeover is an
//! advert from the backup while the master lives: it would come from a gap in the master's
//! adverts longer than the backup's Master_Down_Interval (36.1 ms), so the gaps are
//! reported too, with each daemon's CPU time.
//!
//! On this host, in namespaces: no IPVS here, so the IPVS thread reports it unavailable
//! while VRRP and the checks run for real. The real servers are one listener behind a
//! local route for 10.99.0.0/22 (every address of it is the server host's).
//!
//! Parameters from the environment: `KEEPLITE_BENCH_SECONDS` (default 600),
//! `KEEPLITE_BENCH_SERVERS` (default 1000). Without `KEEPLITE_BENCH_TAKEOVER=1` the test
//! does nothing (it is a benchmark, not a test tier).

mod common;

use common::daemon::{scratch, until, until_vip, Daemon};
use common::wire::{between, Capture};
use common::{env_or, netns_available, percentile, Lan, Netns};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

const VIP: &str = "198.51.100.100";
const MASTER: &str = "198.51.100.1";
const BACKUP: &str = "198.51.100.2";
/// The backup's Master_Down_Interval at 10 ms: 3 × 10 + (256 − 100) / 256 × 10 ms.
const MASTER_DOWN_MS: f64 = 36.09375;

/// Real server `i`: 10.99.0.1 onwards.
fn server_addr(i: usize) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 99, 0, 1)) + i as u32)
}

/// Answers every connection with a short 200, on 16 threads (they end with the test); a
/// backlog for a second's worth of both routers' checks.
fn serve(ns: &Netns) {
    let listener = ns.run(|| TcpListener::bind("0.0.0.0:80")).expect("bind the real servers");
    rustix::net::listen(&listener, 4096).expect("listen backlog");
    for _ in 0..16 {
        let listener = listener.try_clone().expect("listener");
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut s) = conn else { continue };
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            }
        });
    }
}

fn config(label: &str, priority: u8, servers: usize) -> String {
    let socket = scratch(label).join("status.sock");
    let mut c = format!(
        "g=global\ng.status_socket={}\ngw=vrrp\ngw.interface=eth0\ngw.vrid=51\ngw.priority={priority}\ngw.advert_int=10ms\ngw.vip={VIP}/24\n\
         web=virtual_server\nweb.address={VIP}\nweb.port=80\n\
         hc=check\nhc.type=http\nhc.interval=1s\nhc.timeout=500ms\nhc.path=/\n",
        socket.display()
    );
    for i in 0..servers {
        c.push_str(&format!(
            "r{i}=real_server\nr{i}.virtual_server=web\nr{i}.address={}\nr{i}.check=hc\n",
            server_addr(i)
        ));
    }
    c
}

/// User and system CPU time of `pid`, in clock ticks (100 a second).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: fields 14 and 15 (utime, stime), counted
    // from 1, are the 12th and 13th after it.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0)
}

#[test]
fn takeover_benchmark() {
    if std::env::var("KEEPLITE_BENCH_TAKEOVER").as_deref() != Ok("1") || !netns_available() {
        eprintln!("takeover benchmark: set KEEPLITE_BENCH_TAKEOVER=1 (./ci/bench takeover)");
        return;
    }
    let seconds = env_or("KEEPLITE_BENCH_SECONDS", 600);
    let servers = env_or("KEEPLITE_BENCH_SERVERS", 1000) as usize;
    assert!((1..=1000).contains(&servers), "KEEPLITE_BENCH_SERVERS: 1 to 1000");
    let lan = Lan::new("tko", 4);
    let (master, backup, backends, observer) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2], &lan.hosts[3]);
    backends.ip(&["route", "add", "local", "10.99.0.0/22", "dev", "lo"]);
    for router in [master, backup] {
        router.ip(&["route", "add", "10.99.0.0/22", "via", "198.51.100.3"]);
    }
    serve(backends);

    let a = Daemon::keeplite(master, "tko-a", &config("tko-a-socket", 200, servers));
    until_vip(master, VIP, true, Duration::from_secs(10), &[&a]);
    let b = Daemon::keeplite(backup, "tko-b", &config("tko-b-socket", 100, servers));
    let both = [&a, &b];
    until("the backup in BACKUP", Duration::from_secs(10), &both, || b.log().contains("-> BACKUP"));
    // Real servers start up; a few seconds of checks before the clock starts.
    std::thread::sleep(Duration::from_secs(5));
    let wire = Capture::start(observer);
    let (cpu_a, cpu_b) = (cpu_ticks(a.pid()), cpu_ticks(b.pid()));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(
            Duration::from_secs(10).min(Duration::from_secs(seconds).saturating_sub(start.elapsed())),
        );
        println!("BENCH takeover: t={}s", start.elapsed().as_secs());
    }
    let elapsed = start.elapsed();
    let (used_a, used_b) = (cpu_ticks(a.pid()) - cpu_a, cpu_ticks(b.pid()) - cpu_b);
    let adverts = wire.finish();
    let log_b = b.log();
    let downs =
        |log: &str| log.lines().filter(|l| l.contains("real server ") && l.ends_with(": down")).count();
    let (downs_a, downs_b) = (downs(&a.log()), downs(&log_b));
    assert_eq!(a.stop(), Some(0), "{}", a.log());
    assert_eq!(b.stop(), Some(0), "{log_b}");

    let (master_ip, backup_ip): (IpAddr, IpAddr) = (MASTER.parse().unwrap(), BACKUP.parse().unwrap());
    let adverts: Vec<_> = adverts.iter().filter_map(|f| f.advert()).filter(|ad| ad.vrid == 51).collect();
    let from_master: Vec<_> = adverts.iter().filter(|ad| ad.src == master_ip).map(|ad| ad.at).collect();
    let from_backup: Vec<_> = adverts.iter().filter(|ad| ad.src == backup_ip && ad.priority > 0).collect();
    // Episodes: backup adverts more than 100 ms apart count as separate takeovers.
    let episodes =
        from_backup.windows(2).filter(|w| between(w[0].at, w[1].at) > Duration::from_millis(100)).count()
            + usize::from(!from_backup.is_empty());
    let mut gaps: Vec<f64> =
        from_master.windows(2).map(|w| between(w[0], w[1]).as_secs_f64() * 1e3).collect();
    gaps.sort_by(f64::total_cmp);
    let over = gaps.iter().filter(|&&g| g > MASTER_DOWN_MS).count();
    let ticks = |t: u64| t as f64 / 100.0 / elapsed.as_secs_f64() * 100.0;
    println!(
        "BENCH takeover: {} s, advert_int 10 ms, {servers} real servers checked by HTTP every 1 s on each router",
        elapsed.as_secs()
    );
    println!(
        "BENCH takeover: false takeovers {episodes} ({} adverts from the backup; the backup logged {} -> MASTER)",
        from_backup.len(),
        log_b.matches("-> MASTER").count()
    );
    println!(
        "BENCH takeover: master adverts {}, gaps median {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, \
         {over} over Master_Down_Interval ({MASTER_DOWN_MS:.1} ms)",
        from_master.len(),
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99),
        percentile(&gaps, 0.999),
        gaps.last().copied().unwrap_or(0.0)
    );
    println!(
        "BENCH takeover: real servers reported down (none should be): master {downs_a}, backup {downs_b}"
    );
    println!(
        "BENCH takeover: CPU master {:.1} %, backup {:.1} % (of one core)",
        ticks(used_a),
        ticks(used_b)
    );
}
