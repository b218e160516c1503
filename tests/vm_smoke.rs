//! The VM tier's smoke test (DESIGN.md "Test tiers"): `image/vm/test` runs it inside the
//! qemu guest, whose kernel has IPVS (x86_64, and aarch64 for board/qemu-aarch64). It
//! checks the ground the IPVS tests stand on: the kernel's IPVS interface, ipvsadm and nft
//! driving it, and real traffic between namespaces; and, end to end, two keeplite boxes
//! electing a VRRP master and programming the kernel's table, then failing over.

mod common;

use common::daemon::{has_vip, logs, scratch, until_vip, vrrp_section, Daemon};
use common::{http_get, keeplite_bin, output, vm_available, Httpd, Lan, Netns};
use keeplite::ipvs::wire::{self, Batch};
use keeplite::json::{self, Json};
use keeplite::net::error::Cause;
use keeplite::net::netlink::Socket;
use std::time::{Duration, Instant};

/// The id of generic netlink family `name` (CTRL_CMD_GETFAMILY, as keeplite asks it), or
/// None when the kernel refuses the name (no such family).
fn genl_family_id(name: &str) -> Option<u16> {
    let mut sock = Socket::open_generic().expect("generic netlink socket");
    let mut batch = Batch::default();
    let seq = sock.next_seq();
    batch.resolve_family(seq, sock.port(), name);
    sock.send_raw(batch.bytes()).expect("send CTRL_CMD_GETFAMILY");
    let mut id = None;
    match sock.wait(seq, |frame| id = Some(wire::parse_family_id(frame.payload).expect("family id"))) {
        Ok(()) => Some(id.expect("an answer with the family")),
        // ENOENT, or EINVAL for a name longer than the kernel's 15 characters.
        Err(Cause::Kernel(_)) => None,
        Err(e) => panic!("family {name}: {e}"),
    }
}

#[test]
fn kernel_has_ipvs() {
    if !vm_available() {
        return;
    }
    // GENL_ID_CTRL is 0x10; families registered later get higher ids.
    let id = genl_family_id("IPVS").expect("the IPVS generic netlink family");
    assert!(id > 0x10, "IPVS family id {id:#x}");
    assert_eq!(genl_family_id("kl-no-such-family"), None);
    let table = std::fs::read_to_string("/proc/net/ip_vs").expect("read /proc/net/ip_vs");
    assert!(table.starts_with("IP Virtual Server version"), "/proc/net/ip_vs:\n{table}");
}

/// The lines of `text` split into words, for matching table rows whatever their spacing.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines().map(|l| l.split_whitespace().collect()).collect()
}

#[test]
fn ipvsadm_programs_the_namespace_table() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("ipvsadm");
    let ipvsadm = |args: &[&str]| output(ns.command("ipvsadm").args(args));
    let proc_table = || output(ns.command("cat").arg("/proc/net/ip_vs"));

    ipvsadm(&["-A", "-t", "198.51.100.10:80", "-s", "rr"]);
    ipvsadm(&["-a", "-t", "198.51.100.10:80", "-r", "198.51.100.20:80", "-m", "-w", "3"]);

    let listed = ipvsadm(&["-Ln"]);
    let r = rows(&listed);
    assert!(r.contains(&vec!["TCP", "198.51.100.10:80", "rr"]), "ipvsadm -Ln:\n{listed}");
    assert!(r.contains(&vec!["->", "198.51.100.20:80", "Masq", "3", "0", "0"]), "ipvsadm -Ln:\n{listed}");
    // The kernel's own view, addresses in hex: 198.51.100.10 is C633640A, port 80 is 0050.
    let proc = proc_table();
    let r = rows(&proc);
    assert!(r.contains(&vec!["TCP", "C633640A:0050", "rr"]), "/proc/net/ip_vs:\n{proc}");
    assert!(r.contains(&vec!["->", "C6336414:0050", "Masq", "3", "0", "0"]), "/proc/net/ip_vs:\n{proc}");
    // IPVS tables are per network namespace: the test's own namespace sees nothing.
    let outside = std::fs::read_to_string("/proc/net/ip_vs").expect("read /proc/net/ip_vs");
    assert!(!outside.contains("C633640A"), "service leaked out of {}:\n{outside}", ns.name);

    ipvsadm(&["-D", "-t", "198.51.100.10:80"]);
    let listed = ipvsadm(&["-Ln"]);
    assert!(!listed.contains("198.51.100.10"), "after ipvsadm -D:\n{listed}");
    assert!(!proc_table().contains("C633640A"), "after ipvsadm -D");
}

/// [`http_get`], retried for a few seconds while the server starts.
fn fetch(ns: &Netns, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match http_get(ns, url) {
            Ok(body) => return body,
            Err(e) => assert!(Instant::now() < deadline, "{e}"),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn http_between_namespaces() {
    if !vm_available() {
        return;
    }
    let lan = Lan::new("http", 2);
    let (server, client) = (&lan.hosts[0], &lan.hosts[1]);
    let root = scratch("httpd");
    let body = format!("keeplite vm smoke {}\n", std::process::id());
    std::fs::write(root.join("index.html"), &body).expect("write index.html");
    let _httpd = Httpd::start(server, &root);
    assert_eq!(fetch(client, "http://198.51.100.1/index.html"), body);
    assert_eq!(fetch(client, "http://[2001:db8:1::1]/index.html"), body);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn nft_sets_a_fwmark() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("nft");
    let dir = scratch("nft");
    let rules = dir.join("fwmark.nft");
    let ruleset = [
        "table inet kl_fwmark {",
        "  chain pre {",
        "    type filter hook prerouting priority mangle; policy accept;",
        "    ip daddr 198.51.100.10 tcp dport 80 meta mark set 1",
        "  }",
        "}",
    ];
    std::fs::write(&rules, ruleset.join("\n")).expect("write rules");
    output(ns.command("nft").arg("-f").arg(&rules));
    let listed = output(ns.command("nft").args(["list", "table", "inet", "kl_fwmark"]));
    assert!(
        listed.contains("ip daddr 198.51.100.10 tcp dport 80 meta mark set 0x00000001"),
        "nft list:\n{listed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `vrrp[name]`'s `state` in the `keeplite status --json` reply of the daemon at
/// `socket`, and the reply's `ipvs`; None while the daemon is not answering yet.
fn vrrp_state(socket: &std::path::Path, name: &str) -> Option<(String, String)> {
    let out = std::process::Command::new(keeplite_bin())
        .args(["status", "--json", "-s"])
        .arg(socket)
        .output()
        .expect("run keeplite status");
    if !out.status.success() {
        return None;
    }
    let reply = json::parse(&out.stdout, json::Limits { max_bytes: 1 << 20, max_depth: 16 })
        .unwrap_or_else(|e| panic!("keeplite status --json: {e}: {}", String::from_utf8_lossy(&out.stdout)));
    let text = |j: &Json, key: &str| j.get(key).and_then(Json::as_str).map(str::to_owned);
    let instances = reply.get("vrrp").and_then(Json::as_array).expect("vrrp array");
    let instance = instances.iter().find(|i| text(i, "name").as_deref() == Some(name)).expect("the instance");
    Some((text(instance, "state").expect("state"), text(&reply, "ipvs").expect("ipvs")))
}

/// Waits until the daemon at `socket` reports `name` in `state` with IPVS available.
fn until_state(socket: &std::path::Path, name: &str, state: &str, daemons: &[&Daemon]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = vrrp_state(socket, name);
        if now.as_ref().is_some_and(|(s, ipvs)| s == state && ipvs == "available") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: wanted {state} with ipvs available, have {now:?}\n{}",
            logs(daemons)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn keeplite_elects_a_master_programs_ipvs_and_fails_over() {
    if !vm_available() {
        return;
    }
    let lan = Lan::new("vrrp", 2);
    let (a, b) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("vrrp");
    let conf = |priority: u8, socket: &std::path::Path| {
        format!("g=global\ng.status_socket={}\n", socket.display())
            + &vrrp_section("gw", 51, priority, "'198.51.100.100/24'", &[])
            + "web=virtual_server\nweb.address='198.51.100.100'\nweb.port='80'\nweb.scheduler='wrr'\n\
               web1=real_server\nweb1.virtual_server='web'\nweb1.address='198.51.100.20'\nweb1.weight='3'\n"
    };
    let (sock_a, sock_b) = (dir.join("a.sock"), dir.join("b.sock"));
    let high = Daemon::keeplite(a, "vrrp-high", &conf(200, &sock_a));
    let low = Daemon::keeplite(b, "vrrp-low", &conf(100, &sock_b));
    let all = [&high, &low];

    until_state(&sock_a, "gw", "master", &all);
    until_state(&sock_b, "gw", "backup", &all);
    until_vip(a, "198.51.100.100", true, Duration::from_secs(5), &all);
    assert!(!has_vip(b, "198.51.100.100"), "the backup holds the vip too\n{}", logs(&all));
    // Each box programs its own namespace's table, as the kernel shows it.
    for ns in [a, b] {
        let listed = output(ns.command("ipvsadm").arg("-Ln"));
        let r = rows(&listed);
        assert!(r.contains(&vec!["TCP", "198.51.100.100:80", "wrr"]), "{}: ipvsadm -Ln:\n{listed}", ns.name);
        assert!(
            r.contains(&vec!["->", "198.51.100.20:80", "Masq", "3", "0", "0"]),
            "{}: ipvsadm -Ln:\n{listed}\n{}",
            ns.name,
            logs(&all)
        );
    }

    // The master stops: the backup takes over the vip and says so.
    assert_eq!(high.stop(), Some(0), "{}", high.log());
    until_vip(b, "198.51.100.100", true, Duration::from_secs(5), &[&low]);
    until_state(&sock_b, "gw", "master", &[&low]);
    let _ = std::fs::remove_dir_all(&dir);
}
