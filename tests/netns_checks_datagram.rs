//! netns tier: the udp, dns, ping and file checks against real servers. keeplite runs in
//! one namespace; a UDP echo server (written here), dnsmasq and a host that answers pings
//! in a second; a third host drops ICMP echo requests with nftables. The log says what
//! each check concluded and why.

mod common;

use common::checks::real_server;
use common::daemon::{holds_for, scratch, Daemon};
use common::{netns_available, Lan, Netns};
use std::net::UdpSocket;
use std::process::{Child, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A UDP server in `ns` on `addr` that answers each datagram with `reply` (nothing when
/// `None`), until the test process ends.
fn udp_server(ns: &Netns, addr: &str, reply: Option<&'static [u8]>) {
    let socket = ns.run(|| UdpSocket::bind(addr).expect("bind"));
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(reply) = reply {
                let _ = socket.send_to(&[reply, &buf[..n]].concat(), from);
            }
        }
    });
}

/// dnsmasq on 198.51.100.2:53 in `ns`, authoritative for example.org: www.example.org is
/// 192.0.2.80, any other name in the zone does not exist. Killed on drop.
struct Dnsmasq(Child);

impl Dnsmasq {
    fn start(ns: &Netns) -> Dnsmasq {
        let child = ns
            .command("dnsmasq")
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                "--listen-address=198.51.100.2",
                "--except-interface=lo",
                "--port=53",
                "--user=root",
                "--pid-file",
                "--local=/example.org/",
                "--host-record=www.example.org,192.0.2.80",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (ci/test installs dnsmasq-base)");
        Dnsmasq(child)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn datagram_and_file_checks_against_real_servers() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("dgram", 3);
    let (director, servers, dropper) = (&lan.hosts[0], &lan.hosts[1], &lan.hosts[2]);
    // The kernel sends at most about one ICMP error a second to a host (icmp_ratelimit):
    // with several probes to closed ports a second, some would pass for want of theirs.
    let sysctl =
        servers.command("sysctl").args(["-qw", "net.ipv4.icmp_ratelimit=0"]).status().expect("sysctl");
    assert!(sysctl.success(), "sysctl net.ipv4.icmp_ratelimit");
    udp_server(servers, "198.51.100.2:7", Some(b"pong "));
    udp_server(servers, "198.51.100.2:8", None);
    let dns = Dnsmasq::start(servers);
    // The third host is up (it answers ARP) but drops every echo request.
    let nft = dropper
        .command("nft")
        .arg(
            "add table inet f; add chain inet f in { type filter hook input priority 0; }; \
              add rule inet f in icmp type echo-request drop; \
              add rule inet f in icmpv6 type echo-request drop",
        )
        .status()
        .expect("nft");
    assert!(nft.success(), "nft refused the ruleset");
    let flags = scratch("dgram-files");
    let verdict = flags.join("verdict");
    let weight = flags.join("weight");
    std::fs::write(&verdict, "0\n").expect("write");

    let mut conf = String::new();
    conf += &real_server("echo", "198.51.100.2", 7, "type='udp'\npayload='ping'\nexpect='pong ping'");
    conf += &real_server(
        "echohex",
        "198.51.100.2",
        7,
        "type='udp'\npayload_hex='01 02'\nexpect_hex='70 6f xx 67 20 01'",
    );
    conf += &real_server("wrong", "198.51.100.2", 7, "type='udp'\nexpect='PONG'");
    conf += &real_server("quiet", "198.51.100.2", 8, "type='udp'");
    conf += &real_server("quietreply", "198.51.100.2", 8, "type='udp'\nrequire_reply='1'");
    conf += &real_server("closed", "198.51.100.2", 9, "type='udp'");
    conf += &real_server(
        "www",
        "198.51.100.2",
        53,
        "type='dns'\ndns_name='www.example.org'\ndns_type='A'\ndns_expect='192.0.2.80'",
    );
    conf += &real_server("soa", "198.51.100.2", 53, "type='dns'\ndns_name='example.org'");
    conf += &real_server("gone", "198.51.100.2", 53, "type='dns'\ndns_name='gone.example.org'\ndns_type='A'");
    conf += &real_server(
        "other",
        "198.51.100.2",
        53,
        "type='dns'\ndns_name='www.example.org'\ndns_expect='192.0.2.81'\ndns_type='A'",
    );
    conf += &real_server("alive", "198.51.100.2", 1, "type='ping'");
    conf += &real_server("alive6", "198.51.100.2", 1, "type='ping'\nconnect_ip='2001:db8:1::2'");
    conf += &real_server("dropped", "198.51.100.3", 1, "type='ping'");
    conf += &real_server(
        "flag",
        "198.51.100.4",
        1,
        &format!("type='file'\nfile='{}'\nweight='0'", verdict.display()),
    );
    conf += &real_server("weighted", "198.51.100.5", 1, &format!("type='file'\nfile='{}'", weight.display()));
    let d = Daemon::keeplite(director, "dgram", &conf);
    for (check, target, why) in [
        ("c_wrong", "198.51.100.2:7", "bad reply: reply does not match expect"),
        ("c_quietreply", "198.51.100.2:8", "timeout"),
        ("c_closed", "198.51.100.2:9", "connection refused"),
        ("c_gone", "198.51.100.2:53", "DNS NXDOMAIN"),
        ("c_other", "198.51.100.2:53", "bad reply: no answer holds dns_expect"),
        ("c_dropped", "198.51.100.3:0", "timeout"),
    ] {
        d.wait_log(&format!("check {check} {target}: down ({why})"), WAIT);
    }
    // The healthy ones never went down, looked at for a while (several runs each).
    holds_for("the healthy checks stay up", Duration::from_secs(3), &[&d], || {
        let log = d.log();
        match [
            "c_echo ",
            "c_echohex ",
            "c_quiet ",
            "c_www ",
            "c_soa ",
            "c_alive ",
            "c_alive6 ",
            "c_flag ",
            "c_weighted ",
        ]
        .iter()
        .find(|c| log.contains(&format!("check {c}")))
        {
            Some(c) => Err(format!("{c}went down")),
            None => Ok(()),
        }
    });

    // The DNS server stops: its checks go down, the port refused; back when it is.
    drop(dns);
    d.wait_log("check c_www 198.51.100.2:53: down (", WAIT);
    let log = d.log();
    assert!(
        ["connection refused", "timeout"]
            .iter()
            .any(|why| log.contains(&format!("check c_www 198.51.100.2:53: down ({why})"))),
        "{log}"
    );
    let _dns = Dnsmasq::start(servers);
    d.wait_log("check c_www 198.51.100.2:53: up (ok)", WAIT);

    // The file: non-zero is down with weight 0; a weighted one shifts, and -65535 is down.
    std::fs::write(&verdict, "1\n").expect("write");
    d.wait_log("check c_flag 0.0.0.0:0: down (value 1 in the file)", WAIT);
    d.wait_log("real server flag (198.51.100.4): down", WAIT);
    std::fs::write(&verdict, "0\n").expect("write");
    d.wait_log("check c_flag 0.0.0.0:0: up (ok)", WAIT);
    std::fs::write(&weight, "-20\n").expect("write");
    d.wait_log("real server weighted (198.51.100.5): weight shifted by -20", WAIT);
    std::fs::write(&weight, "-65535").expect("write");
    d.wait_log("check c_weighted 0.0.0.0:0: down (value -65535 in the file)", WAIT);
    assert_eq!(d.stop(), Some(0));
}
