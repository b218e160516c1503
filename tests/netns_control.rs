//! netns tier: runtime control of a live daemon. A hitless reload (SIGHUP or the `reload`
//! method) touches only what changed: a reload that changes nothing flaps nothing (adverts
//! keep their rhythm, no VIP is removed, as an rtnetlink monitor sees it); removing a VIP
//! removes that one; adding an instance starts it alone; an invalid file changes nothing
//! and says why; a changed check restarts alone. `yield` and `hold` move mastership to the
//! backup at once (priority-0 advert, no Master_Down wait) and give it back. A flood of
//! bad status clients holds no advert up.

mod common;

use common::daemon::{
    has_vip, holds_for, scratch, steady_holder, until, until_one_holder, until_vip, vrrp_section, Daemon,
};
use common::wire::{handover, longest_gap, master_down_interval, priority_zero_handover, Capture};
use common::{netns_available, rpcd_call, Lan, Netns};
use keeplite::json::{self, Json};
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, SystemTime};

const WAIT: Duration = Duration::from_secs(10);
/// advert_int of every instance here (vrrp_section's).
const ADVERT: Duration = Duration::from_millis(100);

/// Instance `name` in the daemon's `vrrp` reply.
fn instance(socket: &Path, name: &str) -> Json {
    let (code, out) = rpcd_call(socket, "vrrp", "{}");
    assert_eq!(code, 0, "{out}");
    let reply = json::parse(out.trim().as_bytes(), json::Limits { max_bytes: 1 << 20, max_depth: 16 })
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    let list = reply.get("vrrp").and_then(Json::as_array).expect("vrrp list").to_vec();
    list.into_iter().find(|v| v.get("name").and_then(Json::as_str) == Some(name)).expect("instance")
}

fn transitions(socket: &Path, name: &str) -> i64 {
    instance(socket, name).get("transitions").and_then(Json::as_int).expect("transitions")
}

/// The adverts of virtual router `vrid` from `from` that `wire` captured since `since`
/// (kernel receive times): the longest silence between two of them, and their count.
fn advert_gap(wire: &Capture, from: IpAddr, vrid: u8, since: SystemTime) -> (Duration, usize) {
    let times: Vec<SystemTime> = wire
        .adverts()
        .iter()
        .filter(|x| x.src == from && x.vrid == vrid && x.at >= since)
        .map(|x| x.at)
        .collect();
    longest_gap(&times)
}

const HOST0: &str = "198.51.100.1";
const HOST1: &str = "198.51.100.2";

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// `ip -o monitor address` in a namespace, its output in a file.
struct AddressMonitor {
    child: Child,
    out: PathBuf,
    ns: String,
    marks: u32,
}

/// The address [`AddressMonitor`] adds to and removes from `lo` as a mark in its output.
const MARK: &str = "203.0.113.77";

impl AddressMonitor {
    fn start(ns: &Netns, dir: &Path) -> AddressMonitor {
        let out = dir.join("monitor");
        let file = std::fs::File::create(&out).expect("monitor file");
        let child =
            ns.command("ip").args(["-o", "monitor", "address"]).stdout(file).spawn().expect("ip monitor");
        let mut monitor = AddressMonitor { child, out, ns: ns.name.clone(), marks: 0 };
        // Subscribed once it reports a mark.
        monitor.sync();
        monitor
    }

    /// Adds and removes the mark on `lo` until the monitor has written that removal: the
    /// kernel reports address events in order, so every event before is written too.
    fn sync(&mut self) {
        let target = self.marks + 1;
        until("ip monitor reporting the mark", WAIT, &[], || {
            common::ip(&["-n", &self.ns, "addr", "add", &format!("{MARK}/32"), "dev", "lo"]);
            common::ip(&["-n", &self.ns, "addr", "del", &format!("{MARK}/32"), "dev", "lo"]);
            std::thread::sleep(Duration::from_millis(50));
            let text = std::fs::read_to_string(&self.out).unwrap_or_default();
            let marks = text.lines().filter(|l| l.starts_with("Deleted") && l.contains(MARK)).count();
            self.marks = marks as u32;
            marks as u32 >= target
        });
    }

    /// The lines reporting a removed address (the marks left out), every event until now
    /// included.
    fn deletions(&mut self) -> Vec<String> {
        self.sync();
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines().filter(|l| l.starts_with("Deleted") && !l.contains(MARK)).map(str::to_owned).collect()
    }
}

impl Drop for AddressMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A two-router LAN: a (priority 200) and b (100) with instances built by `sections`.
struct Pair {
    lan: Lan,
    a: Daemon,
    b: Daemon,
    socket: PathBuf,
    dir: PathBuf,
}

fn global(socket: &Path) -> String {
    format!("g=global\ng.status_socket={}\n", socket.display())
}

impl Pair {
    fn start(tag: &str, sections: impl Fn(u8) -> String) -> Pair {
        let lan = Lan::new(tag, 2);
        let dir = scratch(tag);
        let socket = dir.join("a.sock");
        let a = Daemon::keeplite(&lan.hosts[0], "a", &(global(&socket) + &sections(200)));
        let b = Daemon::keeplite(&lan.hosts[1], "b", &(global(&dir.join("b.sock")) + &sections(100)));
        Pair { lan, a, b, socket, dir }
    }

    fn rewrite(&self, sections: impl Fn(u8) -> String) {
        self.a.rewrite_conf(&(global(&self.socket) + &sections(200)));
        self.b.rewrite_conf(&(global(&self.dir.join("b.sock")) + &sections(100)));
    }

    fn host(&self, i: usize) -> &Netns {
        &self.lan.hosts[i]
    }
}

fn two_instances(priority: u8, gw_vips: &[&str]) -> String {
    let vips: Vec<String> = gw_vips.iter().map(|v| format!("'{v}'")).collect();
    vrrp_section("gw", 51, priority, &vips.join(" "), &[])
        + &vrrp_section("lan", 52, priority, "198.51.100.110/24", &[])
}

#[test]
fn a_reload_touches_only_what_changed() {
    if !netns_available() {
        return;
    }
    let both = ["198.51.100.100/24", "198.51.100.101/24"];
    let p = Pair::start("reload", |prio| two_instances(prio, &both));
    let (a, b) = (p.host(0), p.host(1));
    let daemons = [&p.a, &p.b];
    for vip in ["198.51.100.100", "198.51.100.101", "198.51.100.110"] {
        until_one_holder(&[a, b], 0, vip, WAIT, &daemons);
    }
    // a's adverts timed on the wire, as they leave a (kernel timestamps): a busy machine
    // delays the test's threads, not what the daemon sent when.
    let wire = Capture::start(a);
    let mut monitor = AddressMonitor::start(a, &p.dir);
    let before = (transitions(&p.socket, "gw"), transitions(&p.socket, "lan"));
    let held = |vips: &[&str]| {
        let missing: Vec<&str> = vips.iter().copied().filter(|v| !has_vip(a, v)).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("a lacks {missing:?}"))
        }
    };

    // 1. The same file again: nothing flaps.
    let t = SystemTime::now();
    p.a.reload();
    p.a.wait_log("reload: vrrp: 2 unchanged, 0 changed, 0 added, 0 removed", WAIT);
    let all3 = ["198.51.100.100", "198.51.100.101", "198.51.100.110"];
    holds_for("every VIP on a after a reload that changes nothing", 10 * ADVERT, &daemons, || held(&all3));
    let (gap, count) = advert_gap(&wire, ip(HOST0), 51, t);
    assert!(count >= 8, "{count} adverts in a second");
    assert!(gap < 2 * ADVERT, "an advert was missed across the reload: longest gap {gap:?}");
    assert_eq!(monitor.deletions(), Vec::<String>::new(), "a reload that changes nothing removed an address");
    assert_eq!((transitions(&p.socket, "gw"), transitions(&p.socket, "lan")), before);

    // 2. One VIP less on both routers: that VIP goes, nothing else moves.
    let t = SystemTime::now();
    p.rewrite(|prio| two_instances(prio, &both[..1]));
    p.a.reload();
    p.b.reload();
    p.a.wait_log("reload: vrrp: 1 unchanged, 1 changed, 0 added, 0 removed", WAIT);
    until_vip(a, "198.51.100.101", false, WAIT, &daemons);
    let kept = ["198.51.100.100", "198.51.100.110"];
    holds_for("the other VIPs on a after one was dropped", 10 * ADVERT, &daemons, || held(&kept));
    let deleted = monitor.deletions();
    assert!(
        deleted.len() == 1 && deleted[0].contains("198.51.100.101/24"),
        "only the dropped VIP may go: {deleted:?}"
    );
    let (gap, _) = advert_gap(&wire, ip(HOST0), 51, t);
    assert!(gap < 2 * ADVERT, "an advert was missed across the reload: longest gap {gap:?}");
    assert_eq!((transitions(&p.socket, "gw"), transitions(&p.socket, "lan")), before);

    // 3. An instance more: it starts, the others carry on.
    let with_third =
        |prio: u8| two_instances(prio, &both[..1]) + &vrrp_section("dmz", 53, prio, "198.51.100.120/24", &[]);
    p.rewrite(with_third);
    p.a.reload();
    p.b.reload();
    p.a.wait_log("reload: vrrp: 2 unchanged, 0 changed, 1 added, 0 removed", WAIT);
    until_one_holder(&[a, b], 0, "198.51.100.120", WAIT, &daemons);
    steady_holder(&[a, b], 0, "198.51.100.120", 10 * ADVERT, &daemons);
    assert_eq!(monitor.deletions().len(), 1, "adding an instance removed an address");
    assert_eq!((transitions(&p.socket, "gw"), transitions(&p.socket, "lan")), before);

    // 4. An invalid file: refused with the reason, in the reply and the log; all stays.
    p.a.rewrite_conf(&(global(&p.socket) + "gw=vrrp\ngw.vrid=300\n"));
    let (_, out) = rpcd_call(&p.socket, "reload", "{}");
    assert!(out.contains(r#""ok":false"#), "{out}");
    assert!(out.contains("vrid"), "the reply must say what is wrong: {out}");
    p.a.wait_log("reload: keeping the running configuration", WAIT);
    let three = ["198.51.100.100", "198.51.100.110", "198.51.100.120"];
    holds_for("every VIP on a after an invalid reload", 5 * ADVERT, &daemons, || held(&three));
    assert_eq!(monitor.deletions().len(), 1);

    // 5. The same file through the status method: the reply says what was done.
    p.rewrite(with_third);
    let (code, out) = rpcd_call(&p.socket, "reload", "{}");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 unchanged, 0 changed, 0 added, 0 removed"), "{out}");
    drop(wire);
}

#[test]
fn removing_an_instance_releases_its_vip_at_once() {
    if !netns_available() {
        return;
    }
    let p = Pair::start("remove", |prio| two_instances(prio, &["198.51.100.100/24"]));
    let (a, b) = (p.host(0), p.host(1));
    let daemons = [&p.a, &p.b];
    until_one_holder(&[a, b], 0, "198.51.100.110", WAIT, &daemons);
    let wire = Capture::start(b);
    wire.until_advert_from(ip(HOST0), &daemons);
    p.a.rewrite_conf(&(global(&p.socket) + &vrrp_section("gw", 51, 200, "198.51.100.100/24", &[])));
    p.a.reload();
    p.a.wait_log("reload: vrrp: 1 unchanged, 0 changed, 0 added, 1 removed", WAIT);
    // The reload removed the instance, and its VIP with it, before it logged that.
    assert!(!has_vip(a, "198.51.100.110"));
    until_one_holder(&[a, b], 1, "198.51.100.110", WAIT, &daemons);
    // Its priority-0 advert hands the VIP to b after Skew_Time (61 ms), not
    // Master_Down_Interval (361 ms); checked on the wire (b's kernel timestamps).
    until("b's first vrid 52 advert after a's last", WAIT, &daemons, || {
        handover(&wire.adverts(), 52, ip(HOST0), ip(HOST1))
    });
    let mdi = master_down_interval(100, ADVERT);
    priority_zero_handover(&wire.adverts(), 52, ip(HOST0), ip(HOST1), mdi)
        .unwrap_or_else(|e| panic!("{e}\n{}", common::daemon::logs(&daemons)));
    // The instance that stayed kept its VIP throughout.
    steady_holder(&[a, b], 0, "198.51.100.100", 10 * ADVERT, &daemons);
}

#[test]
fn yield_and_hold_hand_mastership_over_and_take_it_back() {
    if !netns_available() {
        return;
    }
    let p = Pair::start("yield", |prio| vrrp_section("gw", 51, prio, "198.51.100.100/24", &[]));
    let (a, b) = (p.host(0), p.host(1));
    let vip = "198.51.100.100";
    let daemons = [&p.a, &p.b];
    until_one_holder(&[a, b], 0, vip, WAIT, &daemons);
    steady_holder(&[a, b], 0, vip, 5 * ADVERT, &daemons);

    // yield: a steps down with a priority-0 advert; b takes over after Skew_Time (61 ms),
    // well before a Master_Down_Interval (361 ms) would pass.
    let (code, out) = rpcd_call(&p.socket, "yield", r#"{"instance":"gw","seconds":3}"#);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(r#""state":"backup""#), "{out}");
    let took = until_vip(b, vip, true, WAIT, &daemons);
    until_one_holder(&[a, b], 1, vip, WAIT, &daemons);
    p.b.wait_log("BACKUP -> MASTER", WAIT);
    let gw = instance(&p.socket, "gw");
    assert!(gw.get("yield_left").and_then(Json::as_int).is_some_and(|s| (1..=3).contains(&s)), "{gw}");
    eprintln!("yield: b took the VIP in {took:?}");
    // The yield ends: a (priority 200, preempt) takes mastership back.
    until_one_holder(&[a, b], 0, vip, WAIT, &daemons);

    // hold: a stays backup until released, however long: looked at throughout 2 s.
    let (code, out) = rpcd_call(&p.socket, "hold", r#"{"instance":"gw","on":true}"#);
    assert_eq!(code, 0, "{out}");
    until_one_holder(&[a, b], 1, vip, WAIT, &daemons);
    steady_holder(&[a, b], 1, vip, Duration::from_secs(2), &daemons);
    assert_eq!(instance(&p.socket, "gw").get("held"), Some(&Json::Bool(true)));
    let (code, out) = rpcd_call(&p.socket, "hold", r#"{"instance":"gw","on":false}"#);
    assert_eq!(code, 0, "{out}");
    until_one_holder(&[a, b], 0, vip, WAIT, &daemons);
    assert_eq!(instance(&p.socket, "gw").get("held"), Some(&Json::Bool(false)));

    // An unknown instance is refused by name; the log says who asked.
    let (_, out) = rpcd_call(&p.socket, "hold", r#"{"instance":"nope","on":true}"#);
    assert!(out.contains(r#""ok":false"#), "{out}");
    assert!(out.contains(r#"no vrrp instance \"nope\""#), "{out}");
    let log = p.a.log();
    assert!(log.contains("uid 0"), "writes are logged with who asked:\n{log}");
    assert!(log.contains("vrrp gw: held BACKUP (operator)"), "{log}");
}

#[test]
fn a_flood_of_bad_clients_leaves_adverts_on_time() {
    if !netns_available() {
        return;
    }
    use std::os::unix::net::UnixStream;
    let p = Pair::start("flood", |prio| vrrp_section("gw", 51, prio, "198.51.100.100/24", &[]));
    until_one_holder(&[p.host(0), p.host(1)], 0, "198.51.100.100", WAIT, &[&p.a, &p.b]);
    // Timed on the wire as they leave a (kernel timestamps): what is measured is the
    // daemon's rhythm, not how soon a busy machine runs the test's capture thread.
    let wire = Capture::start(p.host(0));
    let before = transitions(&p.socket, "gw");
    let t = SystemTime::now();
    // A thousand at once: garbage, a line over the limit, half lines that never end,
    // and silent ones.
    let mut clients = Vec::new();
    for i in 0..1000 {
        let Ok(mut c) = UnixStream::connect(&p.socket) else { continue };
        let _ = c.set_nonblocking(true);
        let _ = match i % 4 {
            0 => c.write_all(b"\x00\xffnot json\n"),
            1 => c.write_all(&vec![b'x'; 8192]),
            2 => c.write_all(br#"{"method":"sta"#),
            _ => Ok(()),
        };
        clients.push(c);
    }
    std::thread::sleep(20 * ADVERT);
    let (gap, count) = advert_gap(&wire, ip(HOST0), 51, t);
    assert!(count >= 15, "{count} adverts in two seconds");
    assert!(gap < 2 * ADVERT, "adverts were held up by the flood: longest gap {gap:?}");
    drop(clients);
    // The daemon still answers, in the same state.
    assert_eq!(transitions(&p.socket, "gw"), before);
    assert_eq!(instance(&p.socket, "gw").get("state").and_then(Json::as_str), Some("master"));
}

#[test]
fn a_changed_check_restarts_alone() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("rechk", 3);
    let (director, h1, h2) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    let _listeners: Vec<std::net::TcpListener> = [(h1, "198.51.100.2"), (h2, "198.51.100.3")]
        .into_iter()
        .map(|(ns, ip)| ns.run(|| std::net::TcpListener::bind((ip, 8080))).expect("listen"))
        .collect();
    let dir = scratch("rechk");
    let socket = dir.join("status.sock");
    // alpha: a probe that restarted would start its server down again, for `rise` rounds.
    let conf = |port2: u16| {
        global(&socket)
            + &vrrp_section("gw", 51, 200, "198.51.100.100/24", &[])
            + "web=virtual_server\nweb.address=198.51.100.100\nweb.port=80\nweb.alpha=1\n\
               c1=check\nc1.type=tcp\nc1.connect_port=8080\nc1.interval=200ms\nc1.timeout=150ms\nc1.rise=3\n"
            + &format!("c2=check\nc2.type=tcp\nc2.connect_port={port2}\nc2.interval=200ms\nc2.timeout=150ms\nc2.rise=3\n")
            + "r1=real_server\nr1.virtual_server=web\nr1.address=198.51.100.2\nr1.check=c1\n\
               r2=real_server\nr2.virtual_server=web\nr2.address=198.51.100.3\nr2.check=c2\n"
    };
    let d = Daemon::keeplite(director, "rechk", &conf(8080));
    let health = |name: &str| -> Option<String> {
        let (_, out) = rpcd_call(&socket, "virtual_servers", "{}");
        let reply =
            json::parse(out.trim().as_bytes(), json::Limits { max_bytes: 1 << 20, max_depth: 16 }).ok()?;
        let vs = reply.get("virtual_servers")?.as_array()?.first()?.clone();
        let rs = vs
            .get("real_servers")?
            .as_array()?
            .iter()
            .find(|r| r.get("name").and_then(Json::as_str) == Some(name))?
            .clone();
        rs.get("health").and_then(Json::as_str).map(str::to_owned)
    };
    until("r1 and r2 up", WAIT, &[&d], || {
        health("r1").as_deref() == Some("up") && health("r2").as_deref() == Some("up")
    });
    let r1_lines = |log: &str| log.lines().filter(|l| l.contains("real server r1")).count();
    let before = r1_lines(&d.log());

    // c2 now probes a closed port: r2 goes down; r1's probe is untouched.
    d.rewrite_conf(&conf(8081));
    d.reload();
    d.wait_log("reload: vrrp: 1 unchanged", WAIT);
    let r1_up = || match health("r1") {
        Some(h) if h == "up" => Ok(()),
        other => Err(format!("r1 {other:?}")),
    };
    // r1 stays up throughout (alpha: a restarted probe would start it down), while r2
    // goes down, and for a while after.
    until("r2 down, r1 up throughout", WAIT, &[&d], || {
        if let Err(e) = r1_up() {
            panic!("r1 restarted with c2's change: {e}\n{}", d.log());
        }
        match health("r2") {
            Some(h) if h == "down" => Ok(()),
            other => Err(format!("r2 {other:?}")),
        }
    });
    holds_for("r1 up after c2's change", Duration::from_secs(2), &[&d], r1_up);
    assert_eq!(r1_lines(&d.log()), before, "r1 moved:\n{}", d.log());
}
