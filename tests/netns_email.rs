//! netns tier: e-mail alerts. A real SMTP server (Debian's python3-aiosmtpd, storing what
//! it receives in a maildir) gets keeplite's mails for a VRRP instance, a sync group and a
//! real server going down and up, with the right subjects, sender and recipients; a dead
//! SMTP server (one that accepts and never answers) delays nothing else: adverts stay on
//! time, a real server's verdict is applied at once, and the daemon logs the failure
//! after its bounded attempts. This host has no IPVS: the checks and the real servers'
//! up/down path run all the same.

mod common;

use common::daemon::{scratch, until, vrrp_section, Daemon};
use common::wire::{longest_gap, Capture};
use common::{keeplite_bin, netns_available, Lan, Netns, Smtpd};
use keeplite::json::{self, Json};
use std::collections::BTreeMap;
use std::net::{IpAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const WAIT: Duration = Duration::from_secs(20);
const RECIPIENTS: &str = "noc@example.org, ops@example.org";

/// One stored mail: its headers (the last of each name) and its body.
#[derive(Debug)]
struct Stored {
    headers: BTreeMap<String, String>,
    body: String,
}

impl Stored {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// The mails in maildir `dir`, in no particular order.
fn maildir(dir: &Path) -> Vec<Stored> {
    let Ok(entries) = std::fs::read_dir(dir.join("new")) else { return Vec::new() };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let text = text.replace("\r\n", "\n");
        let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
        let headers = head
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        out.push(Stored { headers, body: body.to_owned() });
    }
    out
}

/// The daemon's `status` JSON through `keeplite status --json`.
fn status(socket: &Path) -> Option<Json> {
    let out = Command::new(keeplite_bin())
        .args(["status", "--json", "-s"])
        .arg(socket)
        .output()
        .expect("run keeplite status");
    let limits = json::Limits { max_bytes: 1 << 20, max_depth: 16 };
    json::parse(String::from_utf8_lossy(&out.stdout).trim().as_bytes(), limits).ok()
}

/// A notification count from the status JSON.
fn count(status: &Json, name: &str) -> i64 {
    let n = status.get("notifications").and_then(|n| n.get(name)).and_then(Json::as_int);
    n.unwrap_or_else(|| panic!("notifications.{name} in {status}"))
}

/// A TCP listener in `ns` on `addr` that accepts every connection and holds it, silent,
/// until the test process ends.
fn silent_listener(ns: &Netns, addr: &str) {
    let listener = ns.run(|| TcpListener::bind(addr).expect("bind"));
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
}

/// The global section, a vrrp instance `gw` alone on the LAN (MASTER after 3 adverts of
/// 100 ms) in a sync group, and a virtual server whose one real server on host 2 port
/// 8080 is checked every 500 ms; all with `smtp_alert`.
fn config(smtp: &str, timeout: &str, socket: &Path) -> String {
    format!(
        "g=global\ng.router_id=edge-t\ng.status_socket={}\ng.smtp_server='{smtp}'\n\
         g.alert_email='noc@example.org' 'ops@example.org'\ng.smtp_from='keeplite@edge-t.example'\n\
         g.smtp_timeout={timeout}\n",
        socket.display()
    ) + &vrrp_section("gw", 51, 200, "198.51.100.100/24", &["smtp_alert=1", "notify='/bin/true'"])
        + "pair=sync_group\npair.members=gw\npair.smtp_alert=1\n\
           web=virtual_server\nweb.address='198.51.100.200'\nweb.port='80'\nweb.smtp_alert=1\n\
           web1=real_server\nweb1.virtual_server='web'\nweb1.address='198.51.100.2'\nweb1.port='8080'\n\
           web1.check='port'\n\
           port=check\nport.type='tcp'\nport.interval='500ms'\nport.timeout='400ms'\n"
}

#[test]
fn transitions_and_real_servers_are_mailed_to_a_real_smtp_server() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("email", 2);
    let (director, other) = (&lan.hosts[0], &lan.hosts[1]);
    let dir = scratch("email");
    let mails_dir = dir.join("maildir");
    let _smtpd = Smtpd::start(other, "198.51.100.2:2525", Some(&mails_dir));
    let socket = dir.join("status.sock");
    let d = Daemon::keeplite(director, "mailer", &config("198.51.100.2:2525", "5s", &socket));
    // Nothing listens on 8080 yet: the real server goes down; then it comes up.
    d.wait_log("real server web1 (198.51.100.2): down", WAIT);
    silent_listener(other, "198.51.100.2:8080");
    d.wait_log("real server web1 (198.51.100.2): up", WAIT);

    let expected = [
        "[edge-t] VRRP Instance gw - Entering BACKUP state",
        "[edge-t] VRRP Instance gw - Entering MASTER state",
        "[edge-t] VRRP Group pair - Entering BACKUP state",
        "[edge-t] VRRP Group pair - Entering MASTER state",
        "[edge-t] Realserver [198.51.100.2]:8080 of virtual server [198.51.100.200]:80 - DOWN",
        "[edge-t] Realserver [198.51.100.2]:8080 of virtual server [198.51.100.200]:80 - UP",
    ];
    until("every expected mail", WAIT, &[&d], || {
        let got = maildir(&mails_dir);
        expected.iter().all(|s| got.iter().any(|m| m.header("Subject") == *s))
    });
    let mails = maildir(&mails_dir);
    for m in &mails {
        let subject = m.header("Subject");
        assert!(expected.contains(&subject), "unexpected mail {subject:?}: {m:?}");
        // The envelope (aiosmtpd's X- headers) and the headers agree.
        assert_eq!(m.header("X-MailFrom"), "keeplite@edge-t.example", "{m:?}");
        assert_eq!(m.header("X-RcptTo"), RECIPIENTS, "{m:?}");
        assert_eq!(m.header("From"), "keeplite@edge-t.example", "{m:?}");
        assert_eq!(m.header("To"), RECIPIENTS, "{m:?}");
        assert!(m.header("Date").ends_with(" +0000"), "{m:?}");
        assert!(m.body.starts_with("=> "), "{m:?}");
    }
    let master = mails.iter().find(|m| m.header("Subject") == expected[1]).expect("the MASTER mail");
    assert!(master.body.contains("=> VRRP Instance is now owning VRRP VIPs <="), "{master:?}");
    let down = mails.iter().find(|m| m.header("Subject") == expected[4]).expect("the DOWN mail");
    assert!(down.body.contains("real_server web1 of virtual_server web: DOWN"), "{down:?}");

    // The status counts them (both sending threads), and the notify script runs.
    let s = status(&socket).expect("status");
    assert_eq!(count(&s, "mails_sent"), mails.len() as i64, "{s}");
    assert_eq!((count(&s, "mails_failed"), count(&s, "mails_dropped")), (0, 0), "{s}");
    assert!(count(&s, "scripts_run") >= 2, "{s}");
    assert_eq!((count(&s, "scripts_failed"), count(&s, "scripts_dropped")), (0, 0), "{s}");
    let log = d.log();
    assert!(
        log.contains("mail: sent \"[edge-t] VRRP Instance gw - Entering MASTER state\" to 2 recipient(s)"),
        "{log}"
    );
    eprintln!("{} mails received by aiosmtpd: {expected:?}", mails.len());
}

#[test]
fn a_dead_smtp_server_delays_nothing_else() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("deadmail", 2);
    let (director, other) = (&lan.hosts[0], &lan.hosts[1]);
    // Accepts and never answers: each attempt at a mail costs its whole smtp_timeout.
    silent_listener(other, "198.51.100.2:2526");
    // Adverts timed on the wire as they leave the director (kernel timestamps): what is
    // measured is the daemon's rhythm, not how soon a busy machine runs the test's capture
    // thread.
    let wire = Capture::start(director);
    let dir = scratch("deadmail");
    let socket = dir.join("status.sock");
    let started = Instant::now();
    let d = Daemon::keeplite(director, "deadmail", &config("198.51.100.2:2526", "1s", &socket));
    d.wait_log("vrrp gw: BACKUP -> MASTER", WAIT);
    // The real server's verdicts are applied while the mail thread waits on the server.
    d.wait_log("real server web1 (198.51.100.2): down", WAIT);
    let down_at = Instant::now();
    silent_listener(other, "198.51.100.2:8080");
    d.wait_log("real server web1 (198.51.100.2): up", WAIT);
    let up_after = down_at.elapsed();
    // The first mail: 3 attempts of 1 s, 3 s apart.
    let failed = "mail: \"[edge-t] VRRP Instance gw - Entering BACKUP state\" not sent after 3 attempts via 198.51.100.2: greeting: timed out";
    d.wait_log(failed, Duration::from_secs(30));
    let gave_up = started.elapsed();
    let director_ip: IpAddr = "198.51.100.1".parse().unwrap();
    let adverts: Vec<SystemTime> =
        wire.adverts().iter().filter(|x| x.src == director_ip && x.vrid == 51).map(|x| x.at).collect();
    drop(wire);
    let log = d.log();
    let retried = "attempt 1 of 3 via 198.51.100.2 failed: greeting: timed out; retrying in 3s";
    assert!(log.contains(retried), "{log}");
    assert!(
        gave_up >= Duration::from_secs(8),
        "gave up after {gave_up:?}: the attempts were not bounded as documented"
    );

    // Adverts every 100 ms throughout, from becoming master to the mail's failure.
    let (worst, _) = longest_gap(&adverts);
    assert!(
        adverts.len() as f64 >= gave_up.as_secs_f64() * 10.0 * 0.7,
        "{} adverts in {gave_up:?}",
        adverts.len()
    );
    assert!(
        worst < Duration::from_millis(400),
        "an advert gap of {worst:?} ({} adverts)\n{log}",
        adverts.len()
    );
    // The check runs every 500 ms: up within a few intervals although the mail thread is stuck.
    assert!(up_after < Duration::from_secs(3), "real server up after {up_after:?}");
    let s = status(&socket).expect("status");
    assert!(count(&s, "mails_failed") >= 1, "{s}");
    assert_eq!(count(&s, "mails_sent"), 0, "{s}");
    eprintln!(
        "dead SMTP server: {} adverts in {gave_up:?}, worst gap {worst:?}; real server up {up_after:?} after down; \
         mail given up after {gave_up:?}",
        adverts.len()
    );
}
