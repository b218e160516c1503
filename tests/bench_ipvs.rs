//! `./ci/bench ipvs`: the IPVS programming benchmark (DESIGN.md "Benchmarks"). Runs inside
//! the VM (`image/vm/test bench_ipvs`), never in the VM tier's test run: 1000 services x 4
//! destinations programmed from an empty table by keeplite and by `ipvsadm -R`, side by
//! side in the same guest, alternating, several rounds; then keeplite's no-op reconcile
//! and a one-weight reload at that size. keeplite's own log gives its times (measured
//! around the netlink work); ipvsadm is timed around the process.

mod common;

use common::daemon::{scratch, Daemon};
use common::{output, vm_available, Netns};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SERVICES: usize = 1000;
const DESTS: usize = 4;
const ROUNDS: usize = 3;
const WAIT: Duration = Duration::from_secs(300);

/// Service `i`'s address (198.18.0.0/15 is the benchmarking range, RFC 2544).
fn vip(i: usize) -> String {
    format!("198.18.{}.{}", i >> 8, i & 255)
}

fn backend(i: usize) -> String {
    format!("198.19.{}.{}", i >> 8, i & 255)
}

fn keeplite_conf(weight_of_first: u32) -> String {
    let mut out = String::from(
        "keeplite.g=global\nkeeplite.g.log_level='debug'\nkeeplite.g.lvs_reconcile_interval='2s'\n",
    );
    for i in 0..SERVICES {
        out += &format!(
            "keeplite.v{i}=virtual_server\nkeeplite.v{i}.address='{}'\nkeeplite.v{i}.port='80'\nkeeplite.v{i}.scheduler='wlc'\n",
            vip(i)
        );
        for d in 0..DESTS {
            let weight = if i == 0 && d == 0 { weight_of_first } else { 1 };
            out += &format!(
                "keeplite.r{i}_{d}=real_server\nkeeplite.r{i}_{d}.virtual_server='v{i}'\nkeeplite.r{i}_{d}.address='{}'\n\
                 keeplite.r{i}_{d}.port='{}'\nkeeplite.r{i}_{d}.weight='{weight}'\n",
                backend(i),
                8001 + d
            );
        }
    }
    out
}

fn restore_text() -> String {
    let mut out = String::new();
    for i in 0..SERVICES {
        out += &format!("-A -t {}:80 -s wlc\n", vip(i));
        for d in 0..DESTS {
            out += &format!("-a -t {}:80 -r {}:{} -m -w 1\n", vip(i), backend(i), 8001 + d);
        }
    }
    out
}

/// The milliseconds in a log line `... in X ms ...` (the first such figure).
fn millis_in(line: &str) -> f64 {
    let after = line.split(" in ").nth(1).unwrap_or_else(|| panic!("no time in {line:?}"));
    after
        .split(" ms")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no time in {line:?}"))
}

/// The milliseconds of the read back in a log line `... (reading the table back: X ms)`.
fn read_back_millis(line: &str) -> f64 {
    let after =
        line.split("reading the table back: ").nth(1).unwrap_or_else(|| panic!("no read back in {line:?}"));
    after.split(" ms").next().and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("{line:?}"))
}

/// Log lines containing `needle`, waiting until there are at least `count`.
fn lines_with(d: &Daemon, needle: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let lines: Vec<String> = d.log().lines().filter(|l| l.contains(needle)).map(String::from).collect();
        if lines.len() >= count {
            return lines;
        }
        assert!(Instant::now() < deadline, "no {count} lines {needle:?}:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn table_size(ns: &Netns) -> usize {
    output(ns.command("ipvsadm").arg("-Sn")).lines().count()
}

/// keeplite's own share of a no-op round (desired state and difference, no kernel), timed
/// over `rounds` rounds. The same computation on the host and in the guest tells how much
/// slower TCG runs keeplite's code: the calibration `ci/bench ipvs` reports.
fn own_share(rounds: u32) -> Duration {
    use keeplite::ipvs::desired::{desired, RealServerHealth};
    use keeplite::ipvs::model::{DumpedDest, DumpedService, Stats};
    use keeplite::ipvs::quorum::Quorum;
    use keeplite::ipvs::reconcile::reconcile;
    let host = keeplite::config::Host { hostname: "bench".into() };
    let config = keeplite::config::parse(keeplite_conf(1).as_bytes(), &host).config.expect("bench config");
    let health = RealServerHealth::all_up(&config);
    let mut quorum = Quorum::initial(&config);
    let table = desired(&config, &health, &mut quorum).services;
    let kernel: Vec<DumpedService> = table
        .iter()
        .map(|s| DumpedService {
            service: s.service.clone(),
            stats: Stats::default(),
            dests: s
                .dests
                .iter()
                .map(|d| DumpedDest { dest: *d, conns: Default::default(), stats: Stats::default() })
                .collect(),
        })
        .collect();
    let owned: Vec<_> = table.iter().map(|s| s.service.key).collect();
    let t = Instant::now();
    for _ in 0..rounds {
        let want = desired(&config, &health, &mut quorum);
        assert!(reconcile(&want.services, &kernel, &owned).is_empty());
    }
    t.elapsed() / rounds
}

/// Run on the host by `ci/bench ipvs` (no kernel needed), and in the guest by the benchmark.
#[test]
fn calibration_own_share_of_a_no_op_round() {
    println!(
        "\nBENCH calibration: desired + difference, {SERVICES} x {DESTS}: {:.3} ms",
        own_share(20).as_secs_f64() * 1e3
    );
}

#[test]
fn ipvs_programming_1000_services_by_4_destinations() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("bench");
    let dir = scratch("bench-ipvs");
    let rules = dir.join("rules");
    std::fs::write(&rules, restore_text()).expect("rules");
    let want = SERVICES * (1 + DESTS);
    let (mut ipvsadm, mut full, mut noop, mut one) = (vec![], vec![], vec![], vec![]);
    let (mut noop_read, mut ipvsadm_read) = (vec![], vec![]);
    for round in 0..ROUNDS {
        output(ns.command("ipvsadm").arg("-C"));
        let t = Instant::now();
        let status = ns
            .command("ipvsadm")
            .arg("-R")
            .stdin(std::fs::File::open(&rules).expect("rules"))
            .stdout(Stdio::null())
            .status()
            .expect("ipvsadm -R");
        ipvsadm.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(status.success());
        assert_eq!(table_size(&ns), want, "ipvsadm -R round {round}");
        output(ns.command("ipvsadm").arg("-C"));

        let d = Daemon::keeplite(&ns, &format!("bench{round}"), &keeplite_conf(1));
        let first = lines_with(&d, "refused, in", 1);
        assert!(first[0].contains(&format!("ipvs: {want} write(s), 0 refused")), "{}", first[0]);
        full.push(millis_in(&first[0]));
        assert_eq!(table_size(&ns), want, "keeplite round {round}");
        // Two periodic rounds with nothing to do.
        for line in lines_with(&d, "ipvs: no change", 2).iter().take(2) {
            noop.push(millis_in(line));
            noop_read.push(read_back_millis(line));
        }
        // The same read with ipvsadm: services, then each service's destinations.
        let t = Instant::now();
        let lines = table_size(&ns);
        ipvsadm_read.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(lines, want);
        d.rewrite_conf(&keeplite_conf(9));
        d.reload();
        let changed = lines_with(&d, "refused, in", 2);
        assert!(changed[1].contains("ipvs: 1 write(s), 0 refused"), "{}", changed[1]);
        one.push(millis_in(&changed[1]));
        assert_eq!(d.stop(), Some(0));
        assert_eq!(table_size(&ns), 0, "keeplite removes its services at stop");
    }
    let (k, i) = (median(full.clone()), median(ipvsadm.clone()));
    println!("\nBENCH ipvs: {SERVICES} services x {DESTS} destinations, {ROUNDS} rounds each, medians");
    println!(
        "BENCH ipvs: full programming: keeplite {k:.1} ms, ipvsadm -R {i:.1} ms, keeplite/ipvsadm {:.2}",
        k / i
    );
    let (n, r, a) = (median(noop.clone()), median(noop_read.clone()), median(ipvsadm_read.clone()));
    println!(
        "BENCH ipvs: no-op reconcile (read back + diff): keeplite {n:.1} ms, of which reading back {r:.1} ms"
    );
    println!("BENCH ipvs: reading the table back: keeplite {r:.1} ms, ipvsadm -Sn {a:.1} ms, keeplite/ipvsadm {:.2}", r / a);
    println!(
        "BENCH ipvs: one-weight change by reload (read back + diff + 1 write): keeplite {:.1} ms",
        median(one.clone())
    );
    println!(
        "BENCH ipvs: raw: keeplite full {full:.1?} ipvsadm -R {ipvsadm:.1?} noop {noop:.1?} one {one:.1?}"
    );
    println!("BENCH ipvs: raw: keeplite read back {noop_read:.1?} ipvsadm -Sn {ipvsadm_read:.1?}");
}
