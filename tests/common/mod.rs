//! Shared harness of the netns tier: throw-away network namespaces joined by veth pairs
//! and a bridge, and running test code inside one of them.
//!
//! A thread can enter a namespace on its own (setns affects only the calling thread), so a
//! test runs each "host" as a thread of the test process.

#![allow(dead_code)] // each test file uses part of the harness

pub mod checks;
pub mod daemon;
pub mod holders;
pub mod openwrt;
pub mod status;
pub mod timeline;
pub mod web;
pub mod wire;

use std::fs::File;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// True when the netns tier can run here (root). Under `CI=true` a missing prerequisite
/// fails the test; elsewhere the test prints why it did nothing and returns.
pub fn netns_available() -> bool {
    let root = rustix::process::geteuid().is_root();
    let ip = Command::new("ip").arg("-V").output().is_ok_and(|o| o.status.success());
    if root && ip {
        return true;
    }
    let why = if root { "iproute2's ip is missing" } else { "not running as root" };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("netns tier cannot run: {why} (CI=true: a missing prerequisite is a failure)");
    }
    eprintln!("SKIPPED netns test: {why}");
    false
}

/// True when the VM tier can run here: the netns tier's prerequisites and a kernel with
/// IPVS loaded (`/proc/net/ip_vs`), which the guest that `image/vm/test` boots has. Under
/// `CI=true` a missing prerequisite fails the test; elsewhere the test says it did nothing.
pub fn vm_available() -> bool {
    if !netns_available() {
        return false;
    }
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        return true;
    }
    let why = "this kernel has no IPVS loaded (/proc/net/ip_vs): run the VM tier with image/vm/test";
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("VM tier cannot run: {why} (CI=true: a missing prerequisite is a failure)");
    }
    eprintln!("SKIPPED VM test: {why}");
    false
}

/// The keeplite binary the tests start: `KEEPLITE_BIN` when set (in the VM the test
/// binaries run away from the build tree: `image/vm/test` sets it), else cargo's build.
pub fn keeplite_bin() -> String {
    std::env::var("KEEPLITE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_keeplite").to_owned())
}

/// Runs `cmd` and returns its stdout; panics with its stderr when it fails.
pub fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ipvsadm -Sn` in `ns` (VM tier): the IPVS table as restore commands, one line per
/// service or destination, spaces normalised and sorted so that a comparison does not
/// depend on hash order.
pub fn ipvs_saved(ns: &Netns) -> Vec<String> {
    let text = output(ns.command("ipvsadm").arg("-Sn"));
    let mut lines: Vec<String> =
        text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    lines.sort();
    lines
}

/// `keeplite ARGS...` with `stdin`: its exit code and stdout.
pub fn keeplite_with_input(args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(keeplite_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run keeplite");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `keeplite rpcd call -s SOCKET METHOD` with `params` on stdin: exit code and the reply.
pub fn rpcd_call(socket: &std::path::Path, method: &str, params: &str) -> (i32, String) {
    keeplite_with_input(&["rpcd", "call", "-s", &socket.display().to_string(), method], params)
}

/// busybox httpd serving directory `root` on port 80 of every address of `ns` (the VM
/// tier's guest has busybox), stopped on drop.
pub struct Httpd(std::process::Child);

impl Httpd {
    /// Starts it and returns once it accepts connections: a check that ran before would
    /// see a server that is not there yet.
    pub fn start(ns: &Netns, root: &std::path::Path) -> Httpd {
        let child = ns
            .command("busybox")
            .args(["httpd", "-f", "-p", "80", "-h"])
            .arg(root)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start busybox httpd");
        let mut server = Httpd(child);
        until_listening(ns, "127.0.0.1:80", &mut server.0, "busybox httpd");
        server
    }
}

impl Drop for Httpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's `/usr/bin/python3 -m aiosmtpd` in `ns` listening on `listen`, keeping every
/// message in the maildir `maildir` when given; killed on drop. (Not `python3`: another
/// Python may come first in PATH, without aiosmtpd.)
pub struct Smtpd(std::process::Child);

impl Smtpd {
    /// Starts it and returns once it accepts connections (Python takes a while to start,
    /// longer on a busy machine).
    pub fn start(ns: &Netns, listen: &str, maildir: Option<&std::path::Path>) -> Smtpd {
        let mut cmd = ns.command("/usr/bin/python3");
        cmd.args(["-m", "aiosmtpd", "-n", "-l", listen]);
        if let Some(dir) = maildir {
            cmd.args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(dir);
        }
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (ci/test installs python3-aiosmtpd)");
        let mut server = Smtpd(child);
        until_listening(ns, listen, &mut server.0, "aiosmtpd (is python3-aiosmtpd installed?)");
        server
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `addr` accepts TCP connections in `ns`; panics when `server` exits first or
/// nothing listens within 20 s.
fn until_listening(ns: &Netns, addr: &str, server: &mut std::process::Child, what: &str) {
    daemon::until(&format!("{what} listening on {addr}"), std::time::Duration::from_secs(20), &[], || {
        if let Ok(Some(status)) = server.try_wait() {
            panic!("{what} exited ({status}) before it listened on {addr}");
        }
        ns.run(|| std::net::TcpStream::connect(addr)).map(drop)
    });
}

/// One HTTP GET of `url` from `ns` with busybox wget, given at most 5 s: the body, or what
/// went wrong. (Not `wget -T`: Debian 12's busybox wget crashes with it.)
pub fn http_get(ns: &Netns, url: &str) -> Result<String, String> {
    let out = ns
        .command("busybox")
        .args(["timeout", "5", "busybox", "wget", "-q", "-O", "-", url])
        .output()
        .map_err(|e| format!("run busybox wget: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("wget {url}: {}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// True when the distribution's keepalived is here (`ci/test` installs it). Under
/// `CI=true` its absence fails the test; elsewhere the test says it did nothing.
pub fn keepalived_available() -> bool {
    let ok = Command::new("keepalived").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("keepalived is missing (CI=true: ci/test installs it)");
    }
    if !ok {
        eprintln!("SKIPPED: keepalived is missing");
    }
    ok
}

/// An ETH_P_ALL packet socket opened inside `ns` (it keeps that namespace), receiving
/// every frame with `timeout` on each receive.
pub fn sniffer(ns: &Netns, timeout: std::time::Duration) -> rustix::fd::OwnedFd {
    use rustix::net::{self, AddressFamily, SocketFlags, SocketType};
    ns.run(|| {
        let fd = net::socket_with(
            AddressFamily::PACKET,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(net::eth::ALL),
        )
        .expect("ETH_P_ALL packet socket");
        net::sockopt::set_socket_timeout(&fd, net::sockopt::Timeout::Recv, Some(timeout))
            .expect("SO_RCVTIMEO");
        fd
    })
}

/// Runs `ip ARGS...` and panics with its output when it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("run ip");
    assert!(out.status.success(), "ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// A fresh namespace with loopback up; `tag` makes its name readable in `ip netns`.
    pub fn new(tag: &str) -> Netns {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("kl-{tag}-{}-{n}", std::process::id());
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs `ip -n NAME ARGS...`.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// Output of `ip -n NAME ARGS...`.
    pub fn ip_output(&self, args: &[&str]) -> String {
        let out = Command::new("ip").arg("-n").arg(&self.name).args(args).output().expect("run ip");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A command that runs inside the namespace (`ip netns exec NAME PROGRAM`).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `f` on a thread that has entered this namespace, and returns its result.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = File::open(&path).expect("open netns");
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .expect("setns");
                f()
            })
            .join()
            .expect("thread in netns panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// A LAN: a bridge in its own namespace, and hosts each with `eth0` on it.
pub struct Lan {
    pub switch: Netns,
    pub hosts: Vec<Netns>,
}

impl Lan {
    /// `count` hosts on one bridge; host i gets 198.51.100.(i+1)/24 and 2001:db8:1::(i+1)/64
    /// (TEST-NET-2: the machine running the tests may itself sit on TEST-NET-1)
    /// (without DAD) on `eth0`, and a fixed MAC 02:00:00:00:00:(i+1).
    pub fn new(tag: &str, count: usize) -> Lan {
        let switch = Netns::new(&format!("{tag}-sw"));
        switch.ip(&["link", "add", "br0", "type", "bridge"]);
        switch.ip(&["link", "set", "br0", "up"]);
        let mut hosts = Vec::new();
        for i in 0..count {
            let host = Netns::new(&format!("{tag}-h{i}"));
            let port = format!("p{i}");
            switch.ip(&["link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &host.name]);
            switch.ip(&["link", "set", &port, "master", "br0", "up"]);
            let n = i + 1;
            host.ip(&["link", "set", "eth0", "address", &format!("02:00:00:00:00:{n:02x}")]);
            host.ip(&["addr", "add", &format!("198.51.100.{n}/24"), "dev", "eth0"]);
            host.ip(&["addr", "add", &format!("2001:db8:1::{n}/64"), "dev", "eth0", "nodad"]);
            host.ip(&["link", "set", "eth0", "up"]);
            hosts.push(host);
        }
        for (i, host) in hosts.iter().enumerate() {
            until_up(&switch, &format!("p{i}"));
            until_up(host, "eth0");
        }
        Lan { switch, hosts }
    }

    /// Waits until every host's eth0 has its link-local address past duplicate address
    /// detection: before that an IPv6 advert cannot be sent from it (keepalived logs
    /// `send advert error 22` and carries on as master, keeplite waits in FAULT), which a
    /// pair started on a LAN that has just come up would count against itself.
    pub fn until_link_local(&self) {
        for h in &self.hosts {
            daemon::until(
                &format!("{}: a usable link-local address", h.name),
                std::time::Duration::from_secs(10),
                &[],
                || {
                    let a = h.ip_output(&["-6", "addr", "show", "dev", "eth0", "scope", "link"]);
                    a.contains("fe80:") && !a.contains("tentative")
                },
            );
        }
    }

    /// Joins `host` to the LAN with a veth named `ifname` holding `addr` (CIDR), up.
    pub fn attach(&self, host: &Netns, ifname: &str, addr: &str) {
        let port = format!("x{}", NEXT.fetch_add(1, Ordering::Relaxed));
        self.switch.ip(&["link", "add", &port, "type", "veth", "peer", "name", ifname, "netns", &host.name]);
        self.switch.ip(&["link", "set", &port, "master", "br0", "up"]);
        host.ip(&["addr", "add", addr, "dev", ifname]);
        host.ip(&["link", "set", ifname, "up"]);
        until_up(&self.switch, &port);
        until_up(host, ifname);
    }
}

/// Waits until `dev` in `ns` is operationally up. `ip link set up` returns before the
/// kernel's link watch has seen the carrier (a busy machine delays it), and frames sent
/// until then are dropped: a test's first frame, or a daemon's first advert.
fn until_up(ns: &Netns, dev: &str) {
    daemon::until(&format!("{}: {dev} up", ns.name), std::time::Duration::from_secs(10), &[], || {
        ns.ip_output(&["-o", "link", "show", "dev", dev]).contains("state UP")
    });
}

/// Environment variable `name` as a whole number (a benchmark's parameter), else `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The value at fraction `p` (0 to 1) of `sorted`, nearest rank; `T::default()` when empty.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A VRRP socket on `ns`'s eth0 of `family`, to send adverts as that host.
pub fn vrrp_socket(ns: &Netns, family: keeplite::config::model::Family) -> keeplite::vrrp::io::VrrpSocket {
    ns.run(|| {
        let mut nl = keeplite::net::netlink::Socket::open().expect("netlink");
        let eth0 = keeplite::net::link::by_name(&mut nl, "eth0").expect("eth0");
        keeplite::vrrp::io::VrrpSocket::open("eth0", eth0.index, family).expect("VRRP socket")
    })
}
