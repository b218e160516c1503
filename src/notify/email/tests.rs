use super::*;
use crate::config::model::{Family, PortRange, Protocol};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn settings(port: u16) -> Settings {
    Settings {
        server: "127.0.0.1".into(),
        port,
        from: "keeplite@edge-a".into(),
        to: vec!["noc@example.org".into()],
        helo: "edge-a".into(),
        timeout: Duration::from_secs(2),
        retry_pause: Duration::from_millis(20),
        router_id: "edge-a".into(),
    }
}

fn vrrp(kind: Kind, state: State) -> Alert {
    Alert::Vrrp { kind, name: "gw".into(), state }
}

#[test]
fn subjects_and_bodies_as_keepalived_writes_them() {
    assert_eq!(
        vrrp(Kind::Instance, State::Master).subject("edge-a"),
        "[edge-a] VRRP Instance gw - Entering MASTER state"
    );
    assert_eq!(
        vrrp(Kind::Instance, State::Backup).subject("edge-a"),
        "[edge-a] VRRP Instance gw - Entering BACKUP state"
    );
    assert_eq!(vrrp(Kind::Group, State::Fault).subject("r1"), "[r1] VRRP Group gw - Entering FAULT state");
    assert!(vrrp(Kind::Instance, State::Master)
        .body()
        .starts_with("=> VRRP Instance is now owning VRRP VIPs <=\n"));
    assert!(vrrp(Kind::Group, State::Backup).body().contains("sync_group gw: BACKUP"));
}

fn vs(key: ServiceKey) -> VirtualServer {
    VirtualServer {
        name: "web".into(),
        key,
        scheduler: crate::config::model::Scheduler::Wlc,
        forward: crate::config::model::Forward::Nat,
        tunnel: Default::default(),
        persistence: None,
        sorry_server: None,
        quorum: 1,
        hysteresis: 0,
        quorum_up: None,
        quorum_down: None,
        inhibit_on_failure: false,
        delay_loop: Duration::from_secs(5),
        alpha: false,
        omega: false,
        ops: false,
        host: None,
        smtp_alert: true,
    }
}

fn address(addr: &str, ports: &[(u16, u16)]) -> ServiceKey {
    ServiceKey::Address {
        addr: addr.parse().unwrap(),
        ports: ports.iter().map(|&(first, last)| PortRange { first, last }).collect(),
        protocol: Protocol::Tcp,
    }
}

fn rs(addr: &str, port: Option<u16>) -> RealServer {
    RealServer {
        name: "web1".into(),
        virtual_servers: Default::default(),
        address: addr.parse().unwrap(),
        port,
        weight: 1,
        forward: None,
        uthreshold: None,
        lthreshold: None,
        checks: Default::default(),
        notify_up: None,
        notify_down: None,
        inhibit_on_failure: None,
    }
}

#[test]
fn real_server_subjects() {
    let one = vs(address("203.0.113.1", &[(80, 80)]));
    let down = Alert::real_server(&rs("198.51.100.10", None), &one, false);
    assert_eq!(
        down.subject("edge-a"),
        "[edge-a] Realserver [198.51.100.10]:80 of virtual server [203.0.113.1]:80 - DOWN"
    );
    assert_eq!(
        down.body(),
        "=> CHECK failed on service <=\n\nreal_server web1 of virtual_server web: DOWN\n"
    );
    let up = Alert::real_server(&rs("198.51.100.10", Some(8080)), &one, true);
    assert_eq!(
        up.subject("e"),
        "[e] Realserver [198.51.100.10]:8080 of virtual server [203.0.113.1]:80 - UP"
    );
    let many = vs(address("2001:db8::1", &[(80, 80), (8000, 8010)]));
    let alert = Alert::real_server(&rs("2001:db8::10", None), &many, false);
    assert_eq!(
        alert.subject("e"),
        "[e] Realserver [2001:db8::10] of virtual server [2001:db8::1]:80,8000-8010 - DOWN"
    );
    let fwm = vs(ServiceKey::Fwmark { mark: 7, family: Family::Ipv4 });
    let alert = Alert::real_server(&rs("198.51.100.10", Some(443)), &fwm, true);
    assert_eq!(alert.subject("e"), "[e] Realserver [198.51.100.10]:443 of virtual server FWM 7 - UP");
}

/// An SMTP server on 127.0.0.1 that accepts every mail and keeps their DATA.
fn accepting() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let kept = mails.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            serve(stream, &kept);
        }
    });
    (port, mails)
}

fn serve(stream: TcpStream, mails: &Mutex<Vec<String>>) {
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    let _ = out.write_all(b"220 fake\r\n");
    let mut line = String::new();
    while lines.read_line(&mut line).is_ok_and(|n| n > 0) {
        let reply: &[u8] = match &line[..4] {
            "DATA" => {
                let _ = out.write_all(b"354 go\r\n");
                let mut data = String::new();
                while !data.ends_with("\r\n.\r\n") && lines.read_line(&mut data).is_ok_and(|n| n > 0) {}
                mails.lock().unwrap().push(data);
                b"250 ok\r\n"
            }
            "QUIT" => b"221 bye\r\n",
            _ => b"250 ok\r\n",
        };
        let _ = out.write_all(reply);
        line.clear();
    }
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn alerts_reach_the_server_in_order() {
    let (port, mails) = accepting();
    let mut mailer = Mailer::new(settings(port));
    let before = counters::read().mails_sent;
    mailer.send(&vrrp(Kind::Instance, State::Master));
    mailer.send(&vrrp(Kind::Instance, State::Backup));
    until("two mails", || mails.lock().unwrap().len() == 2);
    let mails = mails.lock().unwrap();
    assert!(
        mails[0].contains("Subject: [edge-a] VRRP Instance gw - Entering MASTER state\r\n"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("To: noc@example.org\r\nSubject"));
    assert!(mails[1].contains("Entering BACKUP state"));
    until("the sent count", || counters::read().mails_sent >= before + 2);
}

/// A listener that counts connections and treats each with `serve`.
fn counting(serve: fn(TcpStream)) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || serve(stream));
        }
    });
    (port, count)
}

#[test]
fn a_failing_server_gets_the_bounded_attempts_and_a_refusing_one_a_single_one() {
    let before = counters::read().mails_failed;
    // Closes at once: a temporary failure, retried.
    let (port, tries) = counting(drop);
    Mailer::new(settings(port)).send(&vrrp(Kind::Instance, State::Master));
    until("every attempt", || tries.load(Ordering::SeqCst) == limits::MAIL_ATTEMPTS);
    // Refuses for good: one attempt.
    let (port, refusals) = counting(|mut s| {
        let _ = s.write_all(b"554 no service\r\n");
    });
    Mailer::new(settings(port)).send(&vrrp(Kind::Instance, State::Master));
    until("two failures counted", || counters::read().mails_failed >= before + 2);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(tries.load(Ordering::SeqCst), limits::MAIL_ATTEMPTS);
    assert_eq!(refusals.load(Ordering::SeqCst), 1);
}

#[test]
fn a_full_queue_drops_and_counts_without_waiting() {
    // Accepts and never answers: the first mail holds the thread for its whole timeout.
    let (port, _) = counting(|s| {
        std::thread::sleep(Duration::from_secs(5));
        drop(s);
    });
    let mut mailer = Mailer::new(Settings { timeout: Duration::from_secs(3), ..settings(port) });
    let before = counters::read().mails_dropped;
    let start = Instant::now();
    for _ in 0..limits::MAIL_QUEUE + 5 {
        mailer.send(&vrrp(Kind::Group, State::Fault));
    }
    // Far below the 3 s the stuck mail holds the thread: queueing never waits for it.
    assert!(start.elapsed() < Duration::from_secs(1), "queueing waited: {:?}", start.elapsed());
    // One mail is on the thread, out of the queue, once the thread has started (it may
    // start in the middle of the loop: then a send after the first drop finds room again
    // and the burst count starts over, so only the total tells). No other test drops mails.
    let dropped = counters::read().mails_dropped - before;
    assert!((4..=5).contains(&dropped), "{dropped} dropped");
    assert!((1..=dropped).contains(&mailer.dropping), "{} in the last burst", mailer.dropping);
}

#[test]
fn settings_need_a_server_and_recipients() {
    let mut g = Global {
        router_id: "edge-a".into(),
        alert_email: heapless::Vec::new(),
        smtp_server: None,
        smtp_from: "keeplite@edge-a".into(),
        smtp_helo_name: "edge-a".into(),
        smtp_timeout: Duration::from_secs(30),
        status_socket: "/run/keeplite.sock".into(),
        pid_file: None,
        log_level: crate::config::model::LogLevel::Info,
        lvs_sync: None,
        lvs_keep_on_stop: false,
        lvs_reconcile_interval: Duration::from_secs(10),
        script_user: None,
        startup_delay: Duration::ZERO,
        mcast_group4: crate::vrrp::packet::MULTICAST_V4,
        mcast_group6: crate::vrrp::packet::MULTICAST_V6,
        static_addresses: heapless::Vec::new(),
    };
    assert_eq!(Settings::from_config(&g), None);
    g.smtp_server = Some(("mail.example.org".into(), 25));
    assert_eq!(Settings::from_config(&g), None);
    g.alert_email.push("noc@example.org".into()).unwrap();
    let s = Settings::from_config(&g).expect("settings");
    assert_eq!((s.server.as_str(), s.port, s.from.as_str()), ("mail.example.org", 25, "keeplite@edge-a"));
    assert_eq!(s.timeout, Duration::from_secs(30));
}
