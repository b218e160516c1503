//! VM tier: `keeplite run` programs the kernel's IPVS table (image/vm/test runs this inside
//! the qemu guest, whose kernel has ip_vs). Each test works in a network namespace of its
//! own, which has an IPVS table of its own; the table is read back with `ipvsadm` and
//! `/proc/net/ip_vs`, never with keeplite's own code.

mod common;

use common::daemon::Daemon;
use common::{ipvs_saved as saved, output, vm_available, Netns};
use std::time::Duration;

const START: Duration = Duration::from_secs(30);

fn sorted(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    out.sort();
    out
}

/// `/proc/net/ip_vs` as the namespace sees it.
fn proc_table(ns: &Netns) -> String {
    output(ns.command("cat").arg("/proc/net/ip_vs"))
}

/// One virtual server with one NAT real server, for each scheduler.
fn scheduler_sections(schedulers: &[&str]) -> String {
    let mut out = String::new();
    for (i, s) in schedulers.iter().enumerate() {
        out += &format!(
            "keeplite.s_{s}=virtual_server\nkeeplite.s_{s}.address='198.51.100.{a}'\nkeeplite.s_{s}.port='80'\n\
             keeplite.s_{s}.scheduler='{s}'\n\
             keeplite.r_{s}=real_server\nkeeplite.r_{s}.virtual_server='s_{s}'\n\
             keeplite.r_{s}.address='203.0.113.{a}'\nkeeplite.r_{s}.weight='{w}'\n",
            a = 10 + i,
            w = i + 1
        );
    }
    out
}

const SCHEDULERS: [&str; 11] = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh"];

/// Every forwarding method, persistence, both families, fwmarks, UDP, SCTP, one-packet
/// scheduling, thresholds, tunnel encapsulations, a multi-port service and an every-port
/// one (port 0).
const SHAPES: &str = "
keeplite.web=virtual_server
keeplite.web.address='198.51.100.40'
keeplite.web.port='80' '443'
keeplite.web.scheduler='wrr'
keeplite.web.forward='dr'
keeplite.web.persistence_timeout='300'
keeplite.web.persistence_netmask='24'
keeplite.web_a=real_server
keeplite.web_a.virtual_server='web'
keeplite.web_a.address='198.51.100.51'
keeplite.web_a.weight='3'
keeplite.web_b=real_server
keeplite.web_b.virtual_server='web'
keeplite.web_b.address='198.51.100.52'
keeplite.web_b.uthreshold='100'
keeplite.web_b.lthreshold='10'

keeplite.tun=virtual_server
keeplite.tun.address='198.51.100.41'
keeplite.tun.port='8080'
keeplite.tun.scheduler='rr'
keeplite.tun.forward='tun'
keeplite.tun_a=real_server
keeplite.tun_a.virtual_server='tun'
keeplite.tun_a.address='203.0.113.41'

keeplite.dns=virtual_server
keeplite.dns.address='198.51.100.53'
keeplite.dns.port='53'
keeplite.dns.protocol='udp'
keeplite.dns.scheduler='rr'
keeplite.dns.ops='1'
keeplite.dns.forward='tun'
keeplite.dns.tunnel_type='gue'
keeplite.dns.tunnel_port='6080'
keeplite.dns.tunnel_csum='remcsum'
keeplite.dns_a=real_server
keeplite.dns_a.virtual_server='dns'
keeplite.dns_a.address='203.0.113.53'

keeplite.sctp=virtual_server
keeplite.sctp.address='198.51.100.54'
keeplite.sctp.port='5000'
keeplite.sctp.protocol='sctp'
keeplite.sctp.scheduler='sh'
keeplite.sctp_a=real_server
keeplite.sctp_a.virtual_server='sctp'
keeplite.sctp_a.address='203.0.113.54'
keeplite.sctp_a.port='5001'

keeplite.v6=virtual_server
keeplite.v6.address='2001:db8:1::10'
keeplite.v6.port='80'
keeplite.v6.scheduler='lc'
keeplite.v6.persistence_timeout='60'
keeplite.v6.persistence_netmask='64'
keeplite.v6_a=real_server
keeplite.v6_a.virtual_server='v6'
keeplite.v6_a.address='2001:db8:2::20'
keeplite.v6_a.port='8080'
keeplite.v6_a.weight='7'

keeplite.all=virtual_server
keeplite.all.address='198.51.100.42'
keeplite.all.port='0'
keeplite.all.scheduler='rr'
keeplite.all.persistence_timeout='600'
keeplite.all_a=real_server
keeplite.all_a.virtual_server='all'
keeplite.all_a.address='203.0.113.42'

keeplite.mark4=virtual_server
keeplite.mark4.fwmark='7'
keeplite.mark4.scheduler='rr'
keeplite.mark4.forward='dr'
keeplite.mark4_a=real_server
keeplite.mark4_a.virtual_server='mark4'
keeplite.mark4_a.address='198.51.100.61'

keeplite.mark6=virtual_server
keeplite.mark6.fwmark='8'
keeplite.mark6.family='ipv6'
keeplite.mark6.scheduler='wlc'
keeplite.mark6_a=real_server
keeplite.mark6_a.virtual_server='mark6'
keeplite.mark6_a.address='2001:db8:2::61'
keeplite.mark6_a.port='8443'
";

#[test]
fn the_kernel_table_matches_the_configuration() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("table");
    let conf = scheduler_sections(&SCHEDULERS) + SHAPES;
    let d = Daemon::keeplite(&ns, "table", &conf);
    d.wait_log("refused, in", START);
    let mut want = Vec::new();
    for (i, s) in SCHEDULERS.iter().enumerate() {
        want.push(format!("-A -t 198.51.100.{}:80 -s {s}", 10 + i));
        want.push(format!("-a -t 198.51.100.{0}:80 -r 203.0.113.{0}:80 -m -w {1}", 10 + i, i + 1));
    }
    want.extend(
        [
            "-A -t 198.51.100.40:80 -s wrr -p 300 -M 255.255.255.0",
            "-a -t 198.51.100.40:80 -r 198.51.100.51:80 -g -w 3",
            "-a -t 198.51.100.40:80 -r 198.51.100.52:80 -g -w 1",
            "-A -t 198.51.100.40:443 -s wrr -p 300 -M 255.255.255.0",
            "-a -t 198.51.100.40:443 -r 198.51.100.51:443 -g -w 3",
            "-a -t 198.51.100.40:443 -r 198.51.100.52:443 -g -w 1",
            "-A -t 198.51.100.41:8080 -s rr",
            "-a -t 198.51.100.41:8080 -r 203.0.113.41:8080 -i -w 1 --tun-type ipip",
            "-A -u 198.51.100.53:53 -s rr -o",
            "-a -u 198.51.100.53:53 -r 203.0.113.53:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum",
            "-A --sctp-service 198.51.100.54:5000 -s sh",
            "-a --sctp-service 198.51.100.54:5000 -r 203.0.113.54:5001 -m -w 1",
            "-A -t [2001:db8:1::10]:80 -s lc -p 60 -M 64",
            "-a -t [2001:db8:1::10]:80 -r [2001:db8:2::20]:8080 -m -w 7",
            "-A -t 198.51.100.42:0 -s rr -p 600",
            "-a -t 198.51.100.42:0 -r 203.0.113.42:0 -m -w 1",
            "-A -f 7 -s rr",
            "-a -f 7 -r 198.51.100.61:0 -g -w 1",
            "-A -f 8 -6 -s wlc",
            "-a -f 8 -6 -r [2001:db8:2::61]:8443 -m -w 1",
        ]
        .map(String::from),
    );
    want.sort();
    assert_eq!(saved(&ns), want, "ipvsadm -Sn\nkeeplite log:\n{}", d.log());
    // ipvsadm -S leaves thresholds out; its threshold listing has them.
    let thresholds = output(ns.command("ipvsadm").args(["-Ln", "--thresholds"]));
    let rows: Vec<Vec<&str>> = thresholds.lines().map(|l| l.split_whitespace().collect()).collect();
    for port in [80, 443] {
        let row = vec!["->".to_string(), format!("198.51.100.52:{port}"), "100".into(), "10".into()];
        assert!(
            rows.iter().any(|r| r.len() > 4 && r[..4] == row[..]),
            "thresholds of {row:?}:\n{thresholds}"
        );
    }
    // The same table as the kernel prints it itself: addresses, ports, netmasks in hex,
    // persistence in jiffies (Debian's HZ is 250: 300 s is 75000).
    let proc = proc_table(&ns);
    let rows: Vec<String> =
        proc.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    for row in [
        "TCP C633640A:0050 rr",
        "-> CB00710A:0050 Masq 1 0 0",
        "TCP C6336428:01BB wrr persistent 75000 FFFFFF00",
        "-> C6336433:01BB Route 3 0 0",
        "UDP C6336435:0035 rr ops",
        "-> CB007135:0035 Tunnel 1 0 0",
        "TCP C633642A:0000 rr persistent 150000 FFFFFFFF",
        "-> CB00712A:0000 Masq 1 0 0",
        "FWM 00000007 rr",
        "FWM 00000008 wlc",
        "-> [2001:0db8:0002:0000:0000:0000:0000:0061]:20FB Masq 1 0 0",
        "TCP [2001:0db8:0001:0000:0000:0000:0000:0010]:0050 lc persistent 15000 40000000",
    ] {
        assert!(rows.iter().any(|r| r == row), "/proc/net/ip_vs lacks {row:?}:\n{proc}");
    }
    // Stop removes what keeplite declared, and only that.
    assert_eq!(d.stop(), Some(0));
    assert_eq!(saved(&ns), Vec::<String>::new(), "after stop\n{}", d.log());
}

/// An operator's own service, and the configuration's.
const OWN: &str = "
keeplite.web=virtual_server
keeplite.web.address='198.51.100.10'
keeplite.web.port='80'
keeplite.web.scheduler='wrr'
keeplite.a=real_server
keeplite.a.virtual_server='web'
keeplite.a.address='203.0.113.1'
keeplite.a.weight='1'
keeplite.b=real_server
keeplite.b.virtual_server='web'
keeplite.b.address='203.0.113.2'
keeplite.b.weight='2'
";

#[test]
fn a_manual_service_survives_start_reload_and_stop_and_a_weight_change_is_one_write() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("own");
    // The operator's service shares the address, not the port.
    output(ns.command("ipvsadm").args(["-A", "-t", "198.51.100.10:81", "-s", "rr"]));
    output(ns.command("ipvsadm").args(["-a", "-t", "198.51.100.10:81", "-r", "203.0.113.9:81", "-m"]));
    let manual = ["-A -t 198.51.100.10:81 -s rr", "-a -t 198.51.100.10:81 -r 203.0.113.9:81 -m -w 1"];
    let d = Daemon::keeplite(&ns, "own", OWN);
    d.wait_log("ipvs: 3 write(s), 0 refused", START);
    let mut want = sorted(&manual);
    want.extend(sorted(&[
        "-A -t 198.51.100.10:80 -s wrr",
        "-a -t 198.51.100.10:80 -r 203.0.113.1:80 -m -w 1",
        "-a -t 198.51.100.10:80 -r 203.0.113.2:80 -m -w 2",
    ]));
    want.sort();
    assert_eq!(saved(&ns), want);

    // Reload with one weight changed: exactly one write, an edit of that destination.
    d.rewrite_conf(&OWN.replace("keeplite.b.weight='2'", "keeplite.b.weight='5'"));
    d.reload();
    d.wait_log("ipvs: 1 write(s), 0 refused", START);
    let writes: Vec<_> = d.log().lines().filter(|l| l.contains("ipvs: edit")).map(String::from).collect();
    assert_eq!(writes.len(), 1, "{}", d.log());
    assert!(writes[0].contains("203.0.113.2:80") && writes[0].contains("weight 5"), "{writes:?}");
    let after: Vec<String> = saved(&ns);
    assert!(after.contains(&"-a -t 198.51.100.10:80 -r 203.0.113.2:80 -m -w 5".to_string()), "{after:?}");
    for line in manual {
        assert!(after.contains(&line.to_string()), "the operator's service changed: {after:?}");
    }

    // An invalid file changes nothing.
    d.rewrite_conf("keeplite.web=virtual_server\nkeeplite.web.bogus='1'\n");
    d.reload();
    d.wait_log("reload: keeping the running configuration", START);
    assert_eq!(saved(&ns), after);

    // Stop: keeplite's service goes, the operator's stays.
    assert_eq!(d.stop(), Some(0));
    assert_eq!(saved(&ns), sorted(&manual), "{}", d.log());
    // Reload wrote once, start three times: nothing else went to the kernel.
    assert!(d.log().contains("ipvs: 5 netlink write(s) in all"), "{}", d.log());
}

#[test]
fn a_scheduler_the_kernel_lacks_fails_that_service_only() {
    if !vm_available() {
        return;
    }
    let ns = Netns::new("nosched");
    // Make one scheduler unloadable: the kernel asks modprobe, which finds nothing.
    let conf = "keeplite.g=global\nkeeplite.g.lvs_reconcile_interval='500ms'\n".to_owned()
        + &scheduler_sections(&["rr", "twos", "wlc"]);
    let d = Daemon::keeplite(&ns, "nosched", &conf);
    // The refusals are logged after the round's summary line.
    d.wait_log("no scheduler twos", START);
    let log = d.log();
    let lines = saved(&ns);
    if lines.iter().any(|l| l.contains("-s twos")) {
        panic!("this kernel has the twos scheduler; the test needs one it lacks: {lines:?}");
    }
    assert!(
        log.contains("add service tcp 198.51.100.11:80") && log.contains("no scheduler twos"),
        "the refusal names the service and the scheduler:\n{log}"
    );
    assert!(lines.contains(&"-A -t 198.51.100.10:80 -s rr".to_string()), "{lines:?}");
    assert!(lines.contains(&"-A -t 198.51.100.12:80 -s wlc".to_string()), "{lines:?}");
    assert!(lines.contains(&"-a -t 198.51.100.12:80 -r 203.0.113.12:80 -m -w 3".to_string()), "{lines:?}");
    // The daemon keeps running and logs the same refusal once, not at every retry.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.log().matches("no scheduler twos").count(), 1, "{}", d.log());
}

/// The sync daemons `ipvsadm -L --daemon` lists in `ns`, one line each.
fn sync_daemons(ns: &Netns) -> Vec<String> {
    output(ns.command("ipvsadm").args(["-L", "--daemon"])).lines().map(|l| l.trim().to_owned()).collect()
}

#[test]
fn the_sync_daemon_follows_the_vrrp_state() {
    if !vm_available() {
        return;
    }
    let lan = common::Lan::new("sync", 1);
    let ns = &lan.hosts[0];
    // Alone on the LAN the instance is backup for 3 x 1 s + skew, then master.
    let conf = "gw=vrrp\ngw.interface=eth0\ngw.vrid=51\ngw.priority=100\ngw.advert_int=1s\n\
                gw.vip=198.51.100.100/24\n\
                g=global\ng.lvs_sync_interface=eth0\ng.lvs_sync_instance=gw\ng.lvs_sync_id=7\n";
    let d = Daemon::keeplite(ns, "sync", conf);
    d.wait_log("ipvs: sync daemon backup on eth0 (id 7)", START);
    assert_eq!(
        sync_daemons(ns),
        ["backup sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"],
        "{}",
        d.log()
    );
    d.wait_log("ipvs: sync daemon master on eth0 (id 7)", START);
    assert_eq!(
        sync_daemons(ns),
        ["master sync daemon (mcast=eth0, syncid=7, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)"],
        "{}",
        d.log()
    );
    assert!(d.log().contains("BACKUP -> MASTER"), "{}", d.log());
    assert_eq!(d.stop(), Some(0));
    assert_eq!(sync_daemons(ns), Vec::<String>::new(), "stopped with keeplite\n{}", d.log());
}
