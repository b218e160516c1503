//! VM tier: health checks drive the kernel table. A backend's server stops -> its
//! destination leaves the table (or drops to weight 0 with inhibit_on_failure) and the
//! client's traffic goes to the healthy one; all down -> the sorry server; one back -> the
//! sorry server out; a dynamic script's exit code becomes the kernel weight.

mod common;

use common::daemon::{scratch, Daemon};
use common::web::{backend, count, fetches, NatSite};
use common::{output, vm_available, Netns};
use std::time::{Duration, Instant};

const START: Duration = Duration::from_secs(30);

/// `ipvsadm -Sn` lines of `ns` that mention `service`, without the service line itself.
fn dests_of(ns: &Netns, service: &str) -> Vec<String> {
    let text = output(ns.command("ipvsadm").arg("-Sn"));
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("-a") && l.contains(&format!("{service} ")))
        .map(|l| l.split_once(" -r ").map_or(l, |(_, d)| d).to_owned())
        .collect();
    out.sort();
    out
}

/// Waits until the destinations of `service` are `want`; returns how long it took.
fn until_dests(ns: &Netns, service: &str, want: &[&str], d: &Daemon) -> Duration {
    let t = Instant::now();
    loop {
        let got = dests_of(ns, service);
        if got == want {
            return t.elapsed();
        }
        assert!(t.elapsed() < START, "{service}: {got:?}, want {want:?}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two NAT services over the same two backends, checked by TCP every second (one failure
/// takes a backend down, one success brings it back): `web` with a sorry server, `keep`
/// with inhibit_on_failure.
const CONF: &str = "
keeplite.web=virtual_server
keeplite.web.address='198.51.100.10'
keeplite.web.port='80'
keeplite.web.scheduler='rr'
keeplite.web.sorry_server='203.0.113.99:80'
keeplite.keep=virtual_server
keeplite.keep.address='198.51.100.10'
keeplite.keep.port='8080'
keeplite.keep.scheduler='rr'
keeplite.keep.inhibit_on_failure='1'
keeplite.b0=real_server
keeplite.b0.virtual_server='web' 'keep'
keeplite.b0.address='203.0.113.11'
keeplite.b0.port='80'
keeplite.b0.check='alive'
keeplite.b1=real_server
keeplite.b1.virtual_server='web' 'keep'
keeplite.b1.address='203.0.113.12'
keeplite.b1.port='80'
keeplite.b1.check='alive'
keeplite.alive=check
keeplite.alive.type='tcp'
keeplite.alive.interval='1s'
keeplite.alive.timeout='500ms'
keeplite.alive.fall='1'
keeplite.alive.rise='1'
";

#[test]
fn failed_backends_leave_the_table_and_the_sorry_server_stands_in() {
    if !vm_available() {
        return;
    }
    let site = NatSite::new("health", 3);
    let (director, client) = (site.director(), site.client());
    // Backend 2 (203.0.113.13) is the sorry server, reached as 203.0.113.99.
    site.backends[2].ip(&["addr", "add", "203.0.113.99/32", "dev", "eth0"]);
    let mut h0 = Some(backend(&site.backends[0], "b0"));
    let mut h1 = Some(backend(&site.backends[1], "b1"));
    let _sorry = backend(&site.backends[2], "sorry");
    let d = Daemon::keeplite(director, "health", CONF);
    let both = ["203.0.113.11:80 -m -w 1", "203.0.113.12:80 -m -w 1"];
    until_dests(director, "198.51.100.10:80", &both, &d);
    until_dests(director, "198.51.100.10:8080", &both, &d);

    // b0 stops: out of web within interval + timeout (+ slack), weight 0 in keep.
    h0.take();
    let took = until_dests(director, "198.51.100.10:80", &["203.0.113.12:80 -m -w 1"], &d);
    assert!(took < Duration::from_millis(2500), "b0 left web after {took:?}");
    until_dests(director, "198.51.100.10:8080", &["203.0.113.11:80 -m -w 0", "203.0.113.12:80 -m -w 1"], &d);
    let answers = fetches(client, "http://198.51.100.10/", 4);
    assert_eq!(count(&answers, "b1"), 4, "only the healthy backend answers: {answers:?}");
    assert!(d.log().contains("real server b0 (203.0.113.11): down"), "{}", d.log());

    // b1 stops too: quorum lost, the sorry server stands in for web; keep has no sorry server.
    h1.take();
    until_dests(director, "198.51.100.10:80", &["203.0.113.99:80 -m -w 1"], &d);
    until_dests(director, "198.51.100.10:8080", &["203.0.113.11:80 -m -w 0", "203.0.113.12:80 -m -w 0"], &d);
    assert_eq!(fetches(client, "http://198.51.100.10/", 2), ["sorry", "sorry"]);
    assert!(d.log().contains("ipvs web: quorum down"), "{}", d.log());

    // b0 is back: the sorry server goes as it comes in.
    h0 = Some(backend(&site.backends[0], "b0"));
    until_dests(director, "198.51.100.10:80", &["203.0.113.11:80 -m -w 1"], &d);
    until_dests(director, "198.51.100.10:8080", &["203.0.113.11:80 -m -w 1", "203.0.113.12:80 -m -w 0"], &d);
    assert_eq!(fetches(client, "http://198.51.100.10/", 2), ["b0", "b0"]);
    assert!(d.log().contains("ipvs web: quorum up"), "{}", d.log());
    drop(h0);
}

#[test]
fn a_dynamic_script_sets_the_kernel_weight() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("dynamic");
    let dir = scratch("dynamic");
    let code = dir.join("code");
    std::fs::write(&code, "7").expect("code");
    let conf = format!(
        "keeplite.web=virtual_server\nkeeplite.web.address='198.51.100.10'\nkeeplite.web.port='80'\n\
         keeplite.b=real_server\nkeeplite.b.virtual_server='web'\nkeeplite.b.address='203.0.113.11'\n\
         keeplite.b.check='load'\n\
         keeplite.load=check\nkeeplite.load.type='script'\nkeeplite.load.command='exit $(cat {})'\n\
         keeplite.load.dynamic='1'\nkeeplite.load.interval='500ms'\nkeeplite.load.timeout='400ms'\n",
        code.display()
    );
    let d = Daemon::keeplite(&ns, "dynamic", &conf);
    // Exit 7: up with weight 7 - 2.
    until_dests(&ns, "198.51.100.10:80", &["203.0.113.11:80 -m -w 5"], &d);
    std::fs::write(&code, "12").expect("code");
    until_dests(&ns, "198.51.100.10:80", &["203.0.113.11:80 -m -w 10"], &d);
    // Exit 1: down, out of the table.
    std::fs::write(&code, "1").expect("code");
    until_dests(&ns, "198.51.100.10:80", &[], &d);
}

#[test]
fn drain_and_set_weight_through_the_status_socket_reach_the_kernel() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("drain");
    let socket = scratch("drain").join("status.sock");
    let conf = format!(
        "keeplite.g=global\nkeeplite.g.status_socket='{}'\n\
         keeplite.web=virtual_server\nkeeplite.web.address='198.51.100.10'\nkeeplite.web.port='80'\n\
         keeplite.b=real_server\nkeeplite.b.virtual_server='web'\nkeeplite.b.address='203.0.113.11'\n\
         keeplite.b.weight='3'\n",
        socket.display()
    );
    let d = Daemon::keeplite(&ns, "drain", &conf);
    until_dests(&ns, "198.51.100.10:80", &["203.0.113.11:80 -m -w 3"], &d);
    let call = |method: &str, params: &str| {
        let mut child = std::process::Command::new(common::keeplite_bin())
            .args(["rpcd", "call", "-s", &socket.display().to_string(), method])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("keeplite rpcd call");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(params.as_bytes()).expect("params");
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{method}: {}", String::from_utf8_lossy(&out.stdout));
    };
    // Drained: weight 0, still in the table so its connections finish.
    call("drain", r#"{"name":"b"}"#);
    until_dests(&ns, "198.51.100.10:80", &["203.0.113.11:80 -m -w 0"], &d);
    call("undrain", r#"{"name":"b"}"#);
    until_dests(&ns, "198.51.100.10:80", &["203.0.113.11:80 -m -w 3"], &d);
    call("set_weight", r#"{"name":"b","weight":9}"#);
    until_dests(&ns, "198.51.100.10:80", &["203.0.113.11:80 -m -w 9"], &d);
    assert!(d.log().contains("drain"), "the write is logged with who asked:\n{}", d.log());
}
