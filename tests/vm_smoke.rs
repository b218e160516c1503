//! The VM tier's smoke test (DESIGN.md "Test tiers"): `image/vm/test` runs it inside the
//! qemu guest, whose kernel has IPVS. It checks the ground the IPVS tests stand on: the
//! kernel's IPVS interface, ipvsadm and nft driving it, and real traffic between
//! namespaces.

mod common;

use common::daemon::scratch;
use common::{http_get, output, vm_available, Httpd, Lan, Netns};
use keeplite::ipvs::wire::{self, Batch};
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
