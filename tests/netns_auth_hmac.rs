//! `auth_hmac`: signed adverts between two keeplite routers, with a third host on the LAN
//! that forges, strips and replays. Debian's keepalived 2.2.7 predates the extension, so
//! the wire format is checked against the draft's vectors in the unit tests
//! (src/vrrp/auth_hmac/tests.rs); here it is the routers' behaviour.

mod common;

use common::daemon::{holders, steady_holder, until, until_one_holder, until_vip, Daemon};
use common::wire::Capture;
use common::{netns_available, vrrp_socket, Lan, Netns};
use keeplite::config::model::Family;
use keeplite::net::packet_socket::PacketSocket;
use keeplite::vrrp::packet::{Auth, Repr, Version, MULTICAST_V4};
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

const VIP: &str = "198.51.100.100";
const KEY1: &str = "hex:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const KEY2: &str = "hex:202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243";
const KEY3: &str = "an-other-key-that-nobody-else-has-42";
const WAIT: Duration = Duration::from_secs(10);

fn section(priority: u8, vips: &str, extra: &[&str]) -> String {
    let mut s = format!(
        "keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid=51\nkeeplite.gw.priority={priority}\n\
         keeplite.gw.advert_int=100ms\nkeeplite.gw.vip={vips}\n"
    );
    for e in extra {
        s.push_str(&format!("keeplite.gw.{e}\n"));
    }
    s
}

/// Sends `count` adverts for VRID 51 at priority 255 from host 2 (198.51.100.3), 10 ms
/// apart, followed by `trailer` (none: unsigned).
fn attack(ns: &Netns, count: usize, trailer: &[u8]) {
    let sock = vrrp_socket(ns, Family::Ipv4);
    let advert = Repr {
        version: Version::V3,
        vrid: 51,
        priority: 255,
        interval: 10,
        addresses: [VIP.parse().unwrap()].into_iter().collect(),
        auth: Auth::None,
    };
    let src: IpAddr = "198.51.100.3".parse().unwrap();
    for _ in 0..count {
        sock.send_with(&advert, trailer, src, IpAddr::V4(MULTICAST_V4), 255).expect("send advert");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A trailer of the right shape, timestamped now, with an HMAC nobody computed.
fn forged_trailer() -> Vec<u8> {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as u32;
    let mut t = vec![1, 1, 0, 0];
    t.extend_from_slice(&now.to_be_bytes());
    t.extend_from_slice(&[0x80, 0, 0, 1]);
    t.extend_from_slice(&[0x5a; 16]);
    t
}

#[test]
fn a_signed_pair_refuses_unsigned_forged_and_replayed_adverts() {
    if !netns_available() {
        return;
    }
    let lan = Lan::new("hmac", 3);
    let signed =
        |priority| section(priority, &format!("'{VIP}/24'"), &[&format!("auth_hmac_key='1 {KEY1}'")]);
    let a = Daemon::keeplite(&lan.hosts[0], "hmac-a", &signed(200));
    let b = Daemon::keeplite(&lan.hosts[1], "hmac-b", &signed(100));
    let both = [&a, &b];
    let routers = [&lan.hosts[0], &lan.hosts[1]];
    until_one_holder(&routers, 0, VIP, WAIT, &both);

    // What the attacker records of A's signed adverts, to send again as they were.
    let wire = Capture::start(&lan.hosts[2]);
    std::thread::sleep(Duration::from_millis(500));
    let recorded: Vec<Vec<u8>> = wire
        .finish()
        .into_iter()
        .filter(|f| f.advert().is_some_and(|ad| ad.src == "198.51.100.1".parse::<IpAddr>().unwrap()))
        .map(|f| f.bytes)
        .collect();
    assert!(recorded.len() >= 3, "A's adverts on the wire: {}", recorded.len());
    // Each one is its VRRP message and a 28-byte trailer (IPv4 header of 20 bytes).
    assert_eq!(recorded[0].len(), 14 + 20 + 12 + 28);

    // Priority 255 from the attacker, unsigned and then with a made-up HMAC: without
    // auth_hmac each one would take the VIP from A. Then A's own adverts, replayed.
    let attacker = &lan.hosts[2];
    // What B says from here on: a backup that started on a busy machine may have been
    // master for a moment before it first heard A; the attack must not make it one.
    let b_before = b.log().len();
    std::thread::scope(|s| {
        s.spawn(|| {
            attack(attacker, 30, &[]);
            attack(attacker, 30, &forged_trailer());
            let raw = attacker.run(|| PacketSocket::open("eth0").expect("packet socket"));
            for frame in recorded.iter().cycle().take(30) {
                raw.send(frame).expect("replay");
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        steady_holder(&routers, 0, VIP, Duration::from_millis(1500), &both);
    });
    let during = b.log()[b_before..].to_owned();
    assert!(!during.contains("-> MASTER"), "B became master during the attack:\n{during}");
    // Signed adverts still elect: B takes over when A stops.
    assert_eq!(a.stop(), Some(0));
    until_vip(&lan.hosts[1], VIP, true, WAIT, &[&b]);
    assert_eq!(b.stop(), Some(0));

    let (ca, cb) = (a.counters("gw"), b.counters("gw"));
    for c in [&ca, &cb] {
        assert_eq!(c.get("discard_hmac_missing"), 30, "{}", c.line);
        assert_eq!(c.get("discard_hmac_digest"), 30, "{}", c.line);
        assert_eq!(c.get("discard_hmac_key") + c.get("discard_hmac_stale"), 0, "{}", c.line);
    }
    assert_eq!(cb.get("discard_hmac_replay"), 30, "{}", cb.line);
    assert_eq!(ca.get("became_master"), 1, "A never lost the VIP: {}", ca.line);
    assert!(cb.get("became_master") >= 1, "B took over from the stopped A: {}", cb.line);
    assert!(cb.get("adverts_rx") >= 10, "{}", cb.line);
    assert!(a.log().contains("refused: it carries no auth_hmac signature"), "{}", a.log());
}

/// Router `me` of an IPv6 unicast pair (2001:db8:1::me), with `hmac` options.
fn config6(priority: u8, me: u8, peer: u8, hmac: &[&str]) -> String {
    let vips = "'fe80::100/64' '2001:db8:1::100/64'";
    let mut extra = vec![format!("src_ip=2001:db8:1::{me}"), format!("unicast_peer=2001:db8:1::{peer}")];
    extra.extend(hmac.iter().map(|o| o.to_string()));
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    section(priority, vips, &extra)
}

#[test]
fn keys_rotate_and_a_pair_moves_to_signing_without_an_election() {
    if !netns_available() {
        return;
    }
    // IPv6 unicast: the checksum covers the trailer (over IPv4 it does not), and the
    // signature binds the global source address.
    let lan = Lan::new("hmac6", 2);
    let vip = "2001:db8:1::100";
    let a = Daemon::keeplite(&lan.hosts[0], "hmac6-a", &config6(200, 1, 2, &[]));
    let b = Daemon::keeplite(&lan.hosts[1], "hmac6-b", &config6(100, 2, 1, &[]));
    let both = [&a, &b];
    let routers = [&lan.hosts[0], &lan.hosts[1]];
    until_one_holder(&routers, 0, vip, WAIT, &both);

    let k1 = format!("auth_hmac_key='1 {KEY1}'");
    let k12 = format!("auth_hmac_key='1 {KEY1}' '2 {KEY2}'");
    let k2 = format!("auth_hmac_key='2 {KEY2}'");
    // (what, A's auth_hmac options, B's): None leaves a router as it is.
    type Step<'a> = (&'a str, Option<Vec<&'a str>>, Option<Vec<&'a str>>);
    let steps: [Step; 7] = [
        (
            "B signs, still taking A's unsigned adverts; A ignores B's trailer",
            None,
            Some(vec![&k1, "auth_hmac_mode=permissive"]),
        ),
        ("A signs too", Some(vec![&k1, "auth_hmac_mode=permissive"]), None),
        ("both enforce", Some(vec![&k1]), Some(vec![&k1])),
        (
            "both learn key 2",
            Some(vec![&k12, "auth_hmac_active_key=1"]),
            Some(vec![&k12, "auth_hmac_active_key=1"]),
        ),
        ("B signs with key 2", None, Some(vec![&k12, "auth_hmac_active_key=2"])),
        ("A signs with key 2", Some(vec![&k12, "auth_hmac_active_key=2"]), None),
        ("key 1 retired", Some(vec![&k2]), Some(vec![&k2])),
    ];
    let mut reloads = [0usize; 2];
    for (what, for_a, for_b) in steps {
        for (i, (d, hmac)) in [(&a, for_a), (&b, for_b)].into_iter().enumerate() {
            let Some(hmac) = hmac else { continue };
            let (priority, me, peer) = if i == 0 { (200, 1, 2) } else { (100, 2, 1) };
            d.rewrite_conf(&config6(priority, me, peer, &hmac));
            d.reload();
            reloads[i] += 1;
            let n = reloads[i];
            until(&format!("reloaded: {what}"), WAIT, &both, || d.log().matches("reload: ").count() >= n);
        }
        steady_holder(&routers, 0, vip, Duration::from_millis(700), &both);
    }
    // B with a key A does not have: it hears nothing it may take, and takes over.
    b.rewrite_conf(&config6(100, 2, 1, &[&format!("auth_hmac_key='3 {KEY3}'")]));
    b.reload();
    until("B holds the VIP too", WAIT, &both, || holders(&routers, vip) == vec![0, 1]);
    assert_eq!(a.stop(), Some(0));
    assert_eq!(b.stop(), Some(0));

    let (ca, cb) = (a.counters("gw"), b.counters("gw"));
    assert_eq!(ca.get("became_master"), 1, "{}", ca.line);
    assert_eq!(cb.get("became_master"), 1, "only with the wrong key: {}", cb.line);
    assert!(cb.get("unsigned_rx") >= 3, "B took A's unsigned adverts while permissive: {}", cb.line);
    assert!(cb.get("discard_hmac_key") >= 3, "{}", cb.line);
    for (who, c) in [("A", &ca), ("B", &cb)] {
        for counter in [
            "discard_hmac_missing",
            "discard_hmac_malformed",
            "discard_hmac_digest",
            "discard_hmac_stale",
            "discard_hmac_replay",
            "discard_checksum",
        ] {
            assert_eq!(c.get(counter), 0, "{who}: {}", c.line);
        }
    }
    assert!(ca.get("discard_hmac_key") >= 1, "A refused B's adverts signed with key 3: {}", ca.line);
}
