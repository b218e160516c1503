//! Web traffic of the VM tier: backends that name themselves, a client that counts who
//! answered, and the director's counters.

use super::daemon::scratch;
use super::{http_get, output, Httpd, Lan, Netns};
use std::time::{Duration, Instant};

/// Writes `value` to `/proc/sys/KEY` inside `ns` (sysctl is per namespace).
pub fn sysctl(ns: &Netns, key: &str, value: &str) {
    let path = format!("/proc/sys/{}", key.replace('.', "/"));
    let status = ns.command("sh").args(["-c", &format!("echo {value} > {path}")]).status().expect("sh");
    assert!(status.success(), "{} {key}={value}", ns.name);
}

/// A backend: busybox httpd whose index page is its name.
pub fn backend(ns: &Netns, name: &str) -> Httpd {
    let root = scratch(name);
    std::fs::write(root.join("index.html"), format!("{name}\n")).expect("index.html");
    Httpd::start(ns, &root)
}

/// `count` fetches of `url` from `client`: the backend names, in order. The first fetch
/// may wait for the backends' servers to start.
pub fn fetches(client: &Netns, url: &str, count: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let first = loop {
        match http_get(client, url) {
            Ok(body) => break body,
            Err(e) => assert!(Instant::now() < deadline, "{e}"),
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut out = vec![first.trim().to_owned()];
    for _ in 1..count {
        out.push(http_get(client, url).unwrap_or_else(|e| panic!("{e}; so far {out:?}")).trim().to_owned());
    }
    out
}

/// Waits until the service listed as `row` (`ipvsadm -Ln --stats`) has scheduled at least
/// `at_least` connections. The kernel sums its per-CPU counters every 2 s (its rate
/// estimator), so the totals show up late.
pub fn wait_connections(director: &Netns, row: &str, at_least: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = output(director.command("ipvsadm").args(["-Ln", "--stats"]));
        let line = stats.lines().find(|l| l.starts_with(row)).unwrap_or_else(|| panic!("{row}:\n{stats}"));
        // Conns is the fifth column from the end.
        let conns: u64 = line.split_whitespace().rev().nth(4).and_then(|c| c.parse().ok()).unwrap_or(0);
        if conns >= at_least {
            return;
        }
        assert!(Instant::now() < deadline, "{row}: {conns} connections, want {at_least}:\n{stats}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn count(answers: &[String], name: &str) -> usize {
    answers.iter().filter(|a| *a == name).count()
}

/// A NAT site: the client 198.51.100.2 and the director 198.51.100.1 (VIP 198.51.100.10)
/// on the front LAN; the director 203.0.113.1 and backend i at 203.0.113.(11 + i) on the
/// back LAN, routed through the director. Everything is torn down on drop.
pub struct NatSite {
    pub front: Lan,
    pub back: Lan,
    pub backends: Vec<Netns>,
}

impl NatSite {
    /// The site with `backends` backends (no servers started).
    pub fn new(tag: &str, backends: usize) -> NatSite {
        let front = Lan::new(&format!("{tag}f"), 2);
        let back = Lan::new(&format!("{tag}b"), 0);
        let (director, client) = (&front.hosts[0], &front.hosts[1]);
        client.ip(&["route", "add", "default", "via", "198.51.100.1"]);
        director.ip(&["addr", "add", "198.51.100.10/32", "dev", "eth0"]);
        sysctl(director, "net.ipv4.ip_forward", "1");
        back.attach(director, "eth1", "203.0.113.1/24");
        let backends = (0..backends)
            .map(|i| {
                let b = Netns::new(&format!("{tag}-b{i}"));
                back.attach(&b, "eth0", &format!("203.0.113.{}/24", 11 + i));
                b.ip(&["route", "add", "default", "via", "203.0.113.1"]);
                b
            })
            .collect();
        NatSite { front, back, backends }
    }

    pub fn director(&self) -> &Netns {
        &self.front.hosts[0]
    }

    pub fn client(&self) -> &Netns {
        &self.front.hosts[1]
    }
}
