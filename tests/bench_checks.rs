//! `./ci/bench checks`: the health-check benchmark (DESIGN.md "Benchmarks", "Timing model").
//! Runs inside the VM (`image/vm/test --release bench_checks`, with keepalived and tcpdump
//! put into the guest), never in the VM tier's test run.
//!
//! One server process (this test, on a thread in namespace `srv`) listens on N
//! addresses, HTTP on port 80 and plain TCP on port 8080; a tenth of them flap (both
//! listeners closed, then open again, every `FLAP` seconds, staggered). Each daemon in turn,
//! in a fresh director namespace of its own, checks every server by HTTP and by TCP every
//! second (one NAT virtual service holding them all) and runs one VRRP v3 instance with
//! 100 ms adverts on a veth whose far end tcpdump captures. Every 10 s: the CPU time
//! (utime + stime) and VmRSS / Pss summed over the daemon's processes, and the kernel
//! table. Afterwards: the advert intervals on the wire (kernel timestamps), and the real
//! server transitions from the daemon's log. BENCH lines carry the results;
//! `ci/bench.d/checks` keeps them.
//!
//! Before the checks, each daemon runs the VRRP instance alone for a baseline: the advert
//! jitter of a quiet emulated guest, to tell the emulator's share from the checks'.
//!
//! Parameters, from the environment (`ci/bench checks` sets them): `KEEPLITE_BENCH_SERVERS`
//! (default 1000), `KEEPLITE_BENCH_SECONDS` (default 300), `KEEPLITE_BENCH_BASELINE`
//! (seconds, default 60; 0: none), `KEEPLITE_BENCH_DAEMONS` (default `keeplite keepalived`,
//! run in that order). `KEEPLITE_BENCH_NATIVE=1` (`ci/bench checks --native`) runs it on a
//! host without IPVS: keeplite alone, the kernel table not sampled.

mod common;

use async_executor::{LocalExecutor, Task};
use async_io::{Async, Timer};
use common::daemon::scratch;
use common::{env_or, netns_available, output, vm_available, Netns};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use std::collections::BTreeMap;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Every `FLAPPING_EVERY`th server flaps.
const FLAPPING_EVERY: usize = 10;
/// A flapping server stays down this long, then up this long.
const FLAP: Duration = Duration::from_secs(10);
const HTTP_PORT: u16 = 80;
const TCP_PORT: u16 = 8080;
/// Check interval, probe timeout (keeplite wants it below the interval), and keepalived's
/// default retry: 2 failures in a row take a server down, retried after 1 s; 1 success
/// brings it back (keeplite's `fall 2`, `retry_delay 1s`, `rise 1`).
const INTERVAL_S: u32 = 1;
const TIMEOUT_MS: u32 = 800;
const ADVERT: Duration = Duration::from_millis(100);
const SAMPLE: Duration = Duration::from_secs(10);
const VIRTUAL: &str = "198.18.0.1";
/// Linux's USER_HZ on x86: the unit of utime and stime in /proc/PID/stat.
const TICKS_PER_SECOND: f64 = 100.0;

/// Server `i`'s address: 10.1.0.1, 10.1.0.2, ... 250 a /24.
fn server(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 1) as u8)
}

fn is_flapping(i: usize) -> bool {
    i % FLAPPING_EVERY == 0
}

// ---------------------------------------------------------------------------- configs --

/// The daemon's configuration: the VRRP instance, and with `servers` > 0 the virtual service
/// and its real servers with their checks (with none: the VRRP-only baseline).
fn keeplite_conf(servers: usize, dir: &Path) -> String {
    let mut out = format!(
        "keeplite.g=global\n\
         keeplite.g.router_id='bench'\n\
         keeplite.g.status_socket='{status}'\n\
         keeplite.gw=vrrp\n\
         keeplite.gw.interface='vr0'\n\
         keeplite.gw.vrid='51'\n\
         keeplite.gw.priority='200'\n\
         keeplite.gw.version='3'\n\
         keeplite.gw.advert_int='{advert}ms'\n\
         keeplite.gw.vip='198.51.100.100/24'\n",
        status = dir.join("status.sock").display(),
        advert = ADVERT.as_millis(),
    );
    if servers == 0 {
        return out;
    }
    out += &format!(
        "keeplite.vs=virtual_server\n\
         keeplite.vs.address='{VIRTUAL}'\n\
         keeplite.vs.port='{HTTP_PORT}'\n\
         keeplite.vs.scheduler='wlc'\n\
         keeplite.vs.forward='nat'\n\
         keeplite.vs.delay_loop='{INTERVAL_S}s'\n\
         keeplite.http=check\n\
         keeplite.http.type='http'\n\
         keeplite.http.path='/'\n\
         keeplite.http.expect_status='200'\n\
         keeplite.http.timeout='{TIMEOUT_MS}ms'\n\
         keeplite.http.fall='2'\n\
         keeplite.http.retry_delay='1s'\n\
         keeplite.tcp=check\n\
         keeplite.tcp.type='tcp'\n\
         keeplite.tcp.connect_port='{TCP_PORT}'\n\
         keeplite.tcp.timeout='{TIMEOUT_MS}ms'\n\
         keeplite.tcp.fall='2'\n\
         keeplite.tcp.retry_delay='1s'\n"
    );
    for i in 0..servers {
        out += &format!(
            "keeplite.r{i}=real_server\nkeeplite.r{i}.virtual_server='vs'\nkeeplite.r{i}.address='{}'\n\
             keeplite.r{i}.port='{HTTP_PORT}'\nkeeplite.r{i}.check='http' 'tcp'\n",
            server(i)
        );
    }
    out
}

fn keepalived_conf(servers: usize) -> String {
    let mut out = format!(
        "global_defs {{\n    router_id bench\n}}\n\
         vrrp_instance gw {{\n    interface vr0\n    virtual_router_id 51\n    priority 200\n    version 3\n\
         \x20   advert_int {advert}\n    virtual_ipaddress {{\n        198.51.100.100/24\n    }}\n}}\n",
        advert = ADVERT.as_secs_f64(),
    );
    if servers == 0 {
        return out;
    }
    out += &format!(
        "virtual_server {VIRTUAL} {HTTP_PORT} {{\n    delay_loop {INTERVAL_S}\n    lb_algo wlc\n    lb_kind NAT\n\
         \x20   protocol TCP\n"
    );
    let timeout = f64::from(TIMEOUT_MS) / 1000.0;
    for i in 0..servers {
        out += &format!(
            "    real_server {} {HTTP_PORT} {{\n        weight 1\n\
             \x20       HTTP_GET {{\n            url {{\n                path /\n                status_code 200\n            }}\n\
             \x20           connect_timeout {timeout}\n            retry 1\n            delay_before_retry 1\n        }}\n\
             \x20       TCP_CHECK {{\n            connect_port {TCP_PORT}\n            connect_timeout {timeout}\n\
             \x20           retry 1\n            delay_before_retry 1\n        }}\n    }}\n",
            server(i)
        );
    }
    out + "}\n"
}

// ----------------------------------------------------------------------------- servers --

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

/// The real servers: one thread in `srv`, every listener on one single-threaded executor.
struct Servers {
    stop: Arc<AtomicBool>,
    /// Per server: listening now (flapping ones change).
    up: Arc<Vec<AtomicBool>>,
    thread: Option<JoinHandle<()>>,
}

impl Servers {
    fn start(ns: &Netns, count: usize) -> Servers {
        let stop = Arc::new(AtomicBool::new(false));
        let up: Arc<Vec<AtomicBool>> = Arc::new((0..count).map(|_| AtomicBool::new(true)).collect());
        let (ready, started) = std::sync::mpsc::channel();
        let path = format!("/run/netns/{}", ns.name);
        let (s, u) = (stop.clone(), up.clone());
        let thread = std::thread::Builder::new()
            .name("servers".into())
            .spawn(move || {
                let file = File::open(&path).expect("open netns");
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .expect("setns");
                serve(count, &s, &u, ready);
            })
            .expect("server thread");
        started.recv_timeout(Duration::from_secs(120)).expect("servers listening");
        Servers { stop, up, thread: Some(thread) }
    }

    /// How many of the flapping servers listen now.
    fn flapping_up(&self) -> usize {
        (0..self.up.len()).filter(|&i| is_flapping(i) && self.up[i].load(Ordering::Relaxed)).count()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(count: usize, stop: &AtomicBool, up: &[AtomicBool], ready: std::sync::mpsc::Sender<()>) {
    let ex = LocalExecutor::new();
    let mut listening: Vec<Option<[Task<()>; 2]>> = (0..count).map(|i| Some(listen(&ex, i))).collect();
    let _ = ready.send(());
    // Server 0 always flaps. One flapping server toggles every FLAP / flapping: each one
    // every FLAP, staggered.
    let flapping: Vec<usize> = (0..count).filter(|&i| is_flapping(i)).collect();
    let step = FLAP / flapping.len() as u32;
    // async-io's block_on: this thread drives the reactor itself (futures-lite's would leave
    // that to async-io's helper thread and be woken by it at every event).
    async_io::block_on(ex.run(async {
        let mut next = Instant::now() + step;
        let mut k = 0;
        while !stop.load(Ordering::Relaxed) {
            Timer::after(Duration::from_millis(100).min(step)).await;
            while Instant::now() >= next {
                let i = flapping[k % flapping.len()];
                k += 1;
                next += step;
                // Dropping the tasks drops (closes) the listeners: connections are refused.
                listening[i] = match listening[i].take() {
                    Some(_) => None,
                    None => Some(listen(&ex, i)),
                };
                up[i].store(listening[i].is_some(), Ordering::Relaxed);
            }
        }
    }));
}

fn listen(ex: &LocalExecutor<'_>, i: usize) -> [Task<()>; 2] {
    let bind = |port| {
        Async::<TcpListener>::bind(SocketAddr::from((server(i), port)))
            .unwrap_or_else(|e| panic!("listen on {}:{port}: {e}", server(i)))
    };
    [ex.spawn(accept(bind(HTTP_PORT), true)), ex.spawn(accept(bind(TCP_PORT), false))]
}

/// Serves one connection at a time: each port sees one check a second from one daemon.
async fn accept(listener: Async<TcpListener>, http: bool) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            Timer::after(Duration::from_millis(10)).await;
            continue;
        };
        future::or(
            async {
                if http {
                    answer_http(&mut stream).await;
                } else {
                    // A TCP check connects and closes: wait for its end.
                    let mut buf = [0u8; 512];
                    while let Ok(1..) = stream.read(&mut buf).await {}
                }
            },
            async {
                Timer::after(Duration::from_secs(2)).await;
            },
        )
        .await;
    }
}

/// Reads the request head, answers 200 and closes.
async fn answer_http(stream: &mut Async<TcpStream>) {
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while n < buf.len() {
        match stream.read(&mut buf[n..]).await {
            Ok(0) | Err(_) => return,
            Ok(k) => n += k,
        }
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let _ = stream.write_all(RESPONSE).await;
}

// ------------------------------------------------------------------------ measurements --

/// The inode of a network namespace (as `/proc/PID/ns/net` names it).
fn netns_inode(ns: &Netns) -> u64 {
    std::fs::metadata(format!("/run/netns/{}", ns.name)).expect("netns file").ino()
}

/// The processes whose network namespace is `ino`.
fn pids_in(ino: u64) -> Vec<u32> {
    let want = format!("net:[{ino}]");
    let mut out: Vec<u32> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l.to_str() == Some(want.as_str()))
        })
        .collect();
    out.sort();
    out
}

/// utime + stime of a process (all its threads; or of one thread, `PID/task/TID`), seconds.
fn cpu_seconds(pid: impl std::fmt::Display) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some((_, rest)) = stat.rsplit_once(") ") else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / TICKS_PER_SECOND
}

/// Where the CPU time went, before the daemon stops: keepalived's processes by role (its pid
/// files), keeplite's threads by name (VRRP and the event loop on `keeplite`, the probes on
/// `checks`, IPVS on its own).
fn cpu_by_part(kind: Kind, pids: &[u32], dir: &Path) -> Vec<(String, f64)> {
    match kind {
        Kind::Keepalived => [("parent", "main.pid"), ("vrrp", "vrrp.pid"), ("checkers", "checkers.pid")]
            .iter()
            .filter_map(|(role, file)| {
                let pid = std::fs::read_to_string(dir.join(file)).ok()?.trim().parse::<u32>().ok()?;
                Some((role.to_string(), cpu_seconds(pid)))
            })
            .collect(),
        Kind::Keeplite => pids
            .iter()
            .flat_map(|pid| {
                let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten();
                tasks.filter_map(move |e| {
                    let task = format!("{pid}/task/{}", e.ok()?.file_name().to_str()?);
                    let comm = std::fs::read_to_string(format!("/proc/{task}/comm")).ok()?;
                    Some((format!("thread {}", comm.trim()), cpu_seconds(&task)))
                })
            })
            .collect(),
    }
}

/// The value of `key` (KiB) in a /proc file of `key: N kB` lines.
fn kib(path: &str, key: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key)?.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Busy and total jiffies of the whole guest (/proc/stat's `cpu` line).
fn guest_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let v: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

#[derive(Debug, Clone, Default)]
struct Sample {
    t: f64,
    cpu: f64,
    rss: u64,
    pss: u64,
    procs: usize,
    /// Destinations in the kernel table.
    dests: usize,
    /// Servers that never flap, missing from the table.
    steady_missing: usize,
    /// Flapping servers in the table, and how many of them listened at that moment.
    flapping_in: usize,
    flapping_up: usize,
}

/// One sample of the daemon's processes, and of the kernel table when `table` (not in the
/// native run: the host has no IPVS).
fn sample(t: f64, pids: &[u32], dir: &Netns, servers: usize, srv: &Servers, table: bool) -> Sample {
    let mut s = Sample { t, procs: pids.len(), ..Sample::default() };
    for &pid in pids {
        s.cpu += cpu_seconds(pid);
        s.rss += kib(&format!("/proc/{pid}/status"), "VmRSS:");
        s.pss += kib(&format!("/proc/{pid}/smaps_rollup"), "Pss:");
    }
    s.flapping_up = srv.flapping_up();
    if servers == 0 || !table {
        return s;
    }
    let table = output(dir.command("ipvsadm").args(["-Ln", "-t", &format!("{VIRTUAL}:{HTTP_PORT}")]));
    let mut present = vec![false; servers];
    for line in table.lines().filter_map(|l| l.trim_start().strip_prefix("-> ")) {
        let Some(addr) = line.split(':').next().and_then(|a| a.parse::<Ipv4Addr>().ok()) else { continue };
        let o = addr.octets();
        if o[0] == 10 && o[1] == 1 {
            let i = usize::from(o[2]) * 250 + usize::from(o[3]) - 1;
            if i < servers {
                present[i] = true;
                s.dests += 1;
            }
        }
    }
    s.steady_missing = (0..servers).filter(|&i| !is_flapping(i) && !present[i]).count();
    s.flapping_in = (0..servers).filter(|&i| is_flapping(i) && present[i]).count();
    s
}

/// The capture's timestamps (seconds), from a pcap file with micro- or nanosecond stamps.
fn pcap_times(pcap: &[u8]) -> Vec<f64> {
    let word = |o: usize| u32::from_le_bytes(pcap[o..o + 4].try_into().expect("4 bytes"));
    assert!(pcap.len() >= 24, "no pcap header");
    let scale = match word(0) {
        0xa1b2_3c4d => 1e-9,
        0xa1b2_c3d4 => 1e-6,
        m => panic!("pcap magic {m:#x}"),
    };
    let mut out = Vec::new();
    let mut o = 24;
    while o + 16 <= pcap.len() {
        out.push(f64::from(word(o)) + f64::from(word(o + 4)) * scale);
        o += 16 + word(o + 8) as usize;
    }
    out
}

/// Nearest-rank percentile of sorted `v`.
fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

// ----------------------------------------------------------------------------- daemons --

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Keeplite,
    Keepalived,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Keeplite => "keeplite",
            Kind::Keepalived => "keepalived",
        }
    }
}

/// The namespaces of one daemon's run: the director `dir` (eth0 to the servers, vr0 to the
/// observer) and `obs`, where tcpdump captures the adverts.
struct Site {
    dir: Netns,
    obs: Netns,
}

impl Site {
    fn new(srv: &Netns, k: usize, tag: &str) -> Site {
        let dir = Netns::new(&format!("dir-{tag}"));
        let obs = Netns::new(&format!("obs-{tag}"));
        let peer = format!("d{k}");
        dir.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", &peer, "netns", &srv.name]);
        dir.ip(&["addr", "add", &format!("10.0.{k}.1/24"), "dev", "eth0"]);
        dir.ip(&["link", "set", "eth0", "up"]);
        srv.ip(&["addr", "add", &format!("10.0.{k}.2/24"), "dev", &peer]);
        srv.ip(&["link", "set", &peer, "up"]);
        dir.ip(&["route", "add", "10.1.0.0/16", "via", &format!("10.0.{k}.2")]);
        dir.ip(&["link", "add", "vr0", "type", "veth", "peer", "name", "eth0", "netns", &obs.name]);
        dir.ip(&["addr", "add", "198.51.100.1/24", "dev", "vr0"]);
        dir.ip(&["link", "set", "vr0", "up"]);
        obs.ip(&["addr", "add", "198.51.100.2/24", "dev", "eth0"]);
        obs.ip(&["link", "set", "eth0", "up"]);
        Site { dir, obs }
    }
}

/// A child process killed and reaped on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_capture(obs: &Netns, dir: &Path) -> Proc {
    let log = File::create(dir.join("tcpdump.log")).expect("tcpdump log");
    let child = obs
        .command("tcpdump")
        .args([
            "-i",
            "eth0",
            "-n",
            "-p",
            "-U",
            "-s",
            "128",
            "-Z",
            "root",
            "--time-stamp-precision=nano",
            "-w",
        ])
        .arg(dir.join("adverts.pcap"))
        .arg("ip proto 112")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start tcpdump");
    let log = dir.join("tcpdump.log");
    wait_for("tcpdump listening", Duration::from_secs(20), || {
        std::fs::read_to_string(&log).unwrap_or_default().contains("listening on")
    });
    Proc(child)
}

/// Stops tcpdump with SIGINT; panics if it dropped packets.
fn stop_capture(mut p: Proc, dir: &Path) -> Vec<f64> {
    signal(p.0.id(), rustix::process::Signal::INT);
    let _ = p.0.wait();
    let log = std::fs::read_to_string(dir.join("tcpdump.log")).unwrap_or_default();
    let dropped = log.lines().find(|l| l.contains("dropped by kernel")).unwrap_or("");
    assert!(dropped.starts_with("0 "), "tcpdump: {log}");
    pcap_times(&std::fs::read(dir.join("adverts.pcap")).expect("pcap"))
}

/// Starts the daemon in `ns` under the kernel's default descriptor limits (this process
/// raised its own for the servers' listeners).
fn start_daemon(kind: Kind, ns: &Netns, dir: &Path, servers: usize) -> Proc {
    let (program, args): (String, Vec<String>) = match kind {
        Kind::Keeplite => {
            let conf = dir.join("keeplite.conf");
            std::fs::write(&conf, keeplite_conf(servers, dir)).expect("conf");
            let bin = common::keeplite_bin();
            output(std::process::Command::new(&bin).args(["check-config", "-f"]).arg(&conf));
            (bin, vec!["run".into(), "-f".into(), conf.display().to_string()])
        }
        Kind::Keepalived => {
            let conf = dir.join("keepalived.conf");
            std::fs::write(&conf, keepalived_conf(servers)).expect("conf");
            let p = |n: &str| dir.join(n).display().to_string();
            let t = ns
                .command("keepalived")
                .args(["-t", "-f", &p("keepalived.conf")])
                .output()
                .expect("keepalived -t");
            assert!(t.status.success(), "keepalived -t: {}", String::from_utf8_lossy(&t.stderr));
            // As a distribution runs it (no --vrrp / --check): a parent, a VRRP child and
            // a checker child; -n keeps the parent ours, -l -G log to stderr and not to
            // syslog (as keeplite logs: with no syslog daemon, syslog would fall back to the
            // serial console, whose writes are slow under emulation).
            let args = ["-n", "-l", "-G", "-f", &p("keepalived.conf"), "-p", &p("main.pid")];
            let args = args.iter().map(|s| s.to_string()).chain([
                "-r".into(),
                p("vrrp.pid"),
                "-c".into(),
                p("checkers.pid"),
            ]);
            ("keepalived".into(), args.collect())
        }
    };
    let log = File::create(dir.join("log")).expect("log");
    let child = ns
        .command("sh")
        .args(["-c", "ulimit -Sn 1024 && ulimit -Hn 4096 && exec \"$@\"", "sh", &program])
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start daemon");
    Proc(child)
}

/// SIGTERM, then up to 30 s for every process of the namespace to exit; SIGKILL after.
fn stop_daemon(mut p: Proc, ino: u64) -> bool {
    signal(p.0.id(), rustix::process::Signal::TERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut clean = true;
    loop {
        let _ = p.0.try_wait();
        let left = pids_in(ino);
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            clean = false;
            left.iter().for_each(|&pid| signal(pid, rustix::process::Signal::KILL));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = p.0.wait();
    clean
}

/// Real-server transitions in a daemon's log: (downs of flapping servers, downs of steady
/// ones, ups).
fn transitions(kind: Kind, log: &str) -> (usize, usize, usize) {
    let (mut flap, mut steady, mut ups) = (0, 0, 0);
    for line in log.lines() {
        // keeplite: `real server r17 (10.1.0.18): down`; keepalived: `Removing service
        // [10.1.0.18]:tcp:80 from VS [...]` and `Adding service [...] to VS`.
        let (addr, down) = match kind {
            Kind::Keeplite => {
                let Some((_, rest)) = line.split_once("real server ") else { continue };
                let Some(addr) = rest.split_once(" (").and_then(|(_, a)| a.split_once(')')) else { continue };
                let down = match addr.1.trim() {
                    ": down" => true,
                    ": up" => false,
                    _ => continue,
                };
                (addr.0, down)
            }
            Kind::Keepalived => {
                let down = if line.contains("Removing service [") {
                    true
                } else if line.contains("Adding service [") {
                    false
                } else {
                    continue;
                };
                let Some(addr) = line.split_once("service [").and_then(|(_, r)| r.split_once(']')) else {
                    continue;
                };
                (addr.0, down)
            }
        };
        let Ok(a) = addr.parse::<Ipv4Addr>() else { continue };
        let o = a.octets();
        let i = usize::from(o[2]) * 250 + usize::from(o[3]) - 1;
        match (down, is_flapping(i)) {
            (false, _) => ups += 1,
            (true, true) => flap += 1,
            (true, false) => steady += 1,
        }
    }
    (flap, steady, ups)
}

struct Outcome {
    kind: Kind,
    /// `keeplite`, `keepalived`, or either with `-vrrp-only` for the baseline.
    label: String,
    /// Real servers checked (0: the VRRP-only baseline).
    count: usize,
    /// The kernel table was sampled (not natively).
    table: bool,
    samples: Vec<Sample>,
    seconds: f64,
    roles: Vec<(String, f64)>,
    gaps: Vec<f64>,
    transitions: (usize, usize, usize),
    guest_busy: f64,
    clean_stop: bool,
}

/// One daemon's run (phase `k` of the benchmark), checking `count` real servers (0: VRRP only).
fn run(
    kind: Kind,
    k: usize,
    srv: &Netns,
    servers: &Servers,
    count: usize,
    seconds: u64,
    table: bool,
) -> Outcome {
    let label = if count == 0 { format!("{}-vrrp-only", kind.name()) } else { kind.name().to_owned() };
    let tag = label.as_str();
    println!("\n==== {tag}: {count} real servers, {seconds} s");
    let site = Site::new(srv, k, tag);
    let dir = scratch(&format!("bench-checks-{tag}"));
    let ino = netns_inode(&site.dir);
    let capture = start_capture(&site.obs, &dir);
    let (busy0, total0) = guest_jiffies();
    let t0 = Instant::now();
    let mut daemon = start_daemon(kind, &site.dir, &dir, count);
    let mut samples = Vec::new();
    let end = t0 + Duration::from_secs(seconds);
    let mut next = t0 + SAMPLE;
    let pids = loop {
        let at = next.min(end);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        if let Ok(Some(status)) = daemon.0.try_wait() {
            let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
            panic!("{tag} exited ({status}) after {:?}:\n{log}", t0.elapsed());
        }
        let pids = pids_in(ino);
        let s = sample(t0.elapsed().as_secs_f64(), &pids, &site.dir, count, servers, table);
        println!(
            "BENCH checks: sample {tag} t={:.0} cpu={:.2} rss={} pss={} procs={} dests={} steady_missing={} flapping_in={} flapping_up={}",
            s.t, s.cpu, s.rss, s.pss, s.procs, s.dests, s.steady_missing, s.flapping_in, s.flapping_up
        );
        samples.push(s);
        if at >= end {
            break pids;
        }
        next += SAMPLE;
    };
    let elapsed = t0.elapsed().as_secs_f64();
    let (busy1, total1) = guest_jiffies();
    let roles = cpu_by_part(kind, &pids, &dir);
    let clean_stop = stop_daemon(daemon, ino);
    let times = stop_capture(capture, &dir);
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) * 1e3).collect();
    let out = Outcome {
        kind,
        label: label.clone(),
        count,
        table,
        samples,
        seconds: elapsed,
        roles,
        gaps,
        transitions: transitions(kind, &log),
        guest_busy: (busy1 - busy0) as f64 / (total1 - total0).max(1) as f64,
        clean_stop,
    };
    // The daemon's own words about its start and anything unusual, for the record.
    println!("---- {tag} log: {} lines; the most frequent kinds (digits as #):", log.lines().count());
    for (n, shape) in log_shapes(&log).iter().take(15) {
        println!("{n:7} {shape}");
    }
    out
}

/// The log's lines by kind: keepalived's timestamp dropped, every run of digits as `#`;
/// the most frequent first.
fn log_shapes(log: &str) -> Vec<(usize, String)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for line in log.lines() {
        // keepalived -l: `Wed Nov 25 14:52:00 2026: text`.
        let stamped = line.get(20..24).is_some_and(|y| y.bytes().all(|b| b.is_ascii_digit()))
            && line.get(24..26) == Some(": ");
        let line = if stamped { &line[26..] } else { line };
        let mut shape = String::with_capacity(line.len());
        for c in line.chars() {
            if !c.is_ascii_digit() {
                shape.push(c);
            } else if !shape.ends_with('#') {
                shape.push('#');
            }
        }
        *counts.entry(shape).or_default() += 1;
    }
    let mut out: Vec<(usize, String)> = counts.into_iter().map(|(s, n)| (n, s)).collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out
}

fn report(o: &Outcome) {
    let (tag, count) = (o.label.as_str(), o.count);
    let first = o.samples.first().cloned().unwrap_or_default();
    let last = o.samples.last().cloned().unwrap_or_default();
    let max_rss = o.samples.iter().map(|s| s.rss).max().unwrap_or(0);
    let mut dev: Vec<f64> = o.gaps.iter().map(|g| (g - ADVERT.as_secs_f64() * 1e3).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mut gaps = o.gaps.clone();
    gaps.sort_by(f64::total_cmp);
    let over2 = dev.iter().filter(|&&d| d > 2.0).count();
    let steady_missing_max = o.samples.iter().map(|s| s.steady_missing).max().unwrap_or(0);
    let (flap, steady, ups) = o.transitions;
    println!("BENCH checks: {tag}: processes {}, run {:.0} s", last.procs, o.seconds);
    println!(
        "BENCH checks: {tag}: cpu {:.2} s over {:.0} s ({:.1} % of one CPU); by {}: {}",
        last.cpu,
        o.seconds,
        last.cpu / o.seconds * 100.0,
        if o.kind == Kind::Keeplite { "thread" } else { "process" },
        o.roles.iter().map(|(r, c)| format!("{r} {c:.2} s")).collect::<Vec<_>>().join(", ")
    );
    println!(
        "BENCH checks: {tag}: VmRSS first {} KiB (t={:.0} s), max {max_rss} KiB, last {} KiB (t={:.0} s); Pss first {} KiB, last {} KiB",
        first.rss, first.t, last.rss, last.t, first.pss, last.pss
    );
    println!(
        "BENCH checks: {tag}: advert jitter |interval - {} ms|: n={} p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; over 2 ms: {over2}; intervals min {:.3} max {:.3} ms",
        ADVERT.as_millis(),
        dev.len(),
        pct(&dev, 50.0),
        pct(&dev, 99.0),
        dev.last().copied().unwrap_or(f64::NAN),
        gaps.first().copied().unwrap_or(f64::NAN),
        gaps.last().copied().unwrap_or(f64::NAN),
    );
    if count > 0 {
        let table = if o.table {
            format!("max {steady_missing_max} of {}", count - count.div_ceil(FLAPPING_EVERY))
        } else {
            "not sampled (no IPVS)".to_owned()
        };
        println!(
            "BENCH checks: {tag}: transitions: {flap} down (flapping servers), {steady} down (steady servers), {ups} up; \
             steady servers missing from the table at a sample: {table}"
        );
    }
    println!(
        "BENCH checks: {tag}: machine CPU busy {:.0} % of {} CPUs (everything: servers, kernel, daemon); clean stop: {}",
        o.guest_busy * 100.0,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        o.clean_stop
    );
}

/// keeplite's configuration for the benchmark loads, with one probe per check and server.
#[test]
fn the_keeplite_configuration_loads() {
    let text = keeplite_conf(20, Path::new("/tmp"));
    let host = keeplite::config::Host { hostname: "bench".into() };
    let out = keeplite::config::parse(text.as_bytes(), &host);
    let config = out.config.unwrap_or_else(|| panic!("{:?}", out.problems));
    assert_eq!(config.real_servers.len(), 20);
    assert_eq!(keeplite::check::plan::plan(&config).probes.len(), 40);
    assert!(keepalived_conf(2).matches("TCP_CHECK").count() == 2);
}

#[test]
fn checks_benchmark() {
    // Native: on the host, which has no IPVS: keeplite alone (keepalived's checker exits
    // without IPVS), without the kernel table.
    let native = std::env::var("KEEPLITE_BENCH_NATIVE").as_deref() == Ok("1");
    if !(if native { netns_available() } else { vm_available() }) {
        return;
    }
    let count = env_or("KEEPLITE_BENCH_SERVERS", 1000) as usize;
    let seconds = env_or("KEEPLITE_BENCH_SECONDS", 300);
    let baseline = env_or("KEEPLITE_BENCH_BASELINE", 60);
    let daemons: Vec<Kind> = std::env::var("KEEPLITE_BENCH_DAEMONS")
        .unwrap_or_else(|_| if native { "keeplite" } else { "keeplite keepalived" }.into())
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| match s {
            "keeplite" => Kind::Keeplite,
            "keepalived" => Kind::Keepalived,
            other => panic!("KEEPLITE_BENCH_DAEMONS: unknown daemon {other:?}"),
        })
        .collect();
    assert!((1..=60_000).contains(&count), "KEEPLITE_BENCH_SERVERS={count}");
    assert!(!native || !daemons.contains(&Kind::Keepalived), "keepalived's checker needs IPVS: not native");
    // Two listeners per server, and connections: more than the default 1024 descriptors.
    let nofile = (4 * count as u64 + 1024).max(4096);
    rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit { current: Some(nofile), maximum: Some(nofile) },
    )
    .expect("raise RLIMIT_NOFILE");

    let srv = Netns::new("srv");
    let batch = scratch("bench-checks-addrs").join("batch");
    let lines: String = (0..count).map(|i| format!("addr add {}/32 dev lo\n", server(i))).collect();
    std::fs::write(&batch, lines).expect("batch");
    output(srv.command("ip").arg("-batch").arg(&batch));
    let servers = Servers::start(&srv, count);
    println!(
        "BENCH checks: setup: {count} real servers ({} flapping: down {} s, up {} s, staggered), \
         HTTP GET / on :{HTTP_PORT} and TCP connect to :{TCP_PORT}, each every {INTERVAL_S} s, timeout {TIMEOUT_MS} ms, \
         2 failures take a server down (retry after 1 s), 1 success brings it back; \
         VRRP v3 advert_int {} ms; {seconds} s per daemon, after a VRRP-only baseline of {baseline} s each; \
         one daemon at a time: {}",
        count.div_ceil(FLAPPING_EVERY),
        FLAP.as_secs(),
        FLAP.as_secs(),
        ADVERT.as_millis(),
        daemons.iter().map(|d| d.name()).collect::<Vec<_>>().join(", "),
    );
    // The baselines first, on a quiet guest; then the checks, one daemon after the other.
    let mut phases: Vec<(Kind, usize, u64)> = Vec::new();
    if baseline > 0 {
        phases.extend(daemons.iter().map(|&d| (d, 0, baseline)));
    }
    phases.extend(daemons.iter().map(|&d| (d, count, seconds)));
    let outcomes: Vec<Outcome> = phases
        .iter()
        .enumerate()
        .map(|(k, &(d, n, secs))| run(d, k, &srv, &servers, n, secs, !native))
        .collect();
    drop(servers);
    println!();
    for o in &outcomes {
        report(o);
    }
    let by: BTreeMap<&str, &Outcome> = outcomes.iter().map(|o| (o.label.as_str(), o)).collect();
    if let (Some(a), Some(b)) = (by.get("keeplite"), by.get("keepalived")) {
        let (la, lb) =
            (a.samples.last().cloned().unwrap_or_default(), b.samples.last().cloned().unwrap_or_default());
        println!(
            "BENCH checks: keeplite/keepalived: cpu {:.3}, VmRSS (last) {:.3}, Pss (last) {:.3}",
            la.cpu / lb.cpu,
            la.rss as f64 / lb.rss as f64,
            la.pss as f64 / lb.pss as f64
        );
    }
    for o in &outcomes {
        assert!(o.gaps.len() as f64 > o.seconds / ADVERT.as_secs_f64() / 2.0, "{}: too few adverts", o.label);
        assert!(o.count == 0 || o.transitions.0 > 0, "{}: no flapping server went down", o.label);
    }
}

/// The transitions and kinds of lines are read from both daemons' logs as they write them.
#[test]
fn the_logs_are_read() {
    let keepalived = "Wed Nov 25 14:52:00 2026: Removing service [10.1.0.11]:tcp:80 from VS [198.18.0.1]:tcp:80\n\
                      Wed Nov 25 14:52:01 2026: Adding service [10.1.0.11]:tcp:80 to VS [198.18.0.1]:tcp:80\n\
                      Wed Nov 25 14:52:02 2026: Removing service [10.1.0.2]:tcp:80 from VS [198.18.0.1]:tcp:80\n";
    // 10.1.0.11 is server 10 (flapping), 10.1.0.2 server 1 (steady).
    assert_eq!(transitions(Kind::Keepalived, keepalived), (1, 1, 1));
    let keeplite = "info: real server r10 (10.1.0.11): down\ninfo: real server r10 (10.1.0.11): up\n\
                    info: check tcp 10.1.0.11:8080: down (connection refused)\n";
    assert_eq!(transitions(Kind::Keeplite, keeplite), (1, 0, 1));
    let shapes = log_shapes(keepalived);
    assert_eq!(shapes[0], (2, "Removing service [#.#.#.#]:tcp:# from VS [#.#.#.#]:tcp:#".to_owned()));
}
