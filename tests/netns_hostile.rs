//! Hostile and malformed adverts against a keeplite master.
//!
//! keeplite runs as MASTER on host 0 of a namespaced LAN (v2 with `auth_pass`, v3 IPv4, v3
//! IPv6). Host 1 sends adverts for its VRID crafted byte by byte, as whole Ethernet frames
//! through a packet socket, so every field of the IP header is ours too (TTL, source,
//! destination, options). Each hostile advert carries a priority above keeplite's, so if one
//! were wrongly accepted the daemon would step down. Then a few hundred random packets
//! follow, each classified by an oracle written here from RFC 3768 / RFC 9568 section 7.1
//! (keeplite runs with `strict_mode`, so the optional address-list check applies too; an
//! advert whose v3 interval is 0 is discarded).
//!
//! Asserted: the daemon keeps running and holds the VIP throughout (sampled every few
//! milliseconds), and its stop log shows every discard counter moved by exactly what was
//! sent; `adverts_rx` counts only the valid adverts (all of lower priority).
//!
//! The same frames go to keepalived 2.2.7 (`keepalived_*` tests): it must stay master too,
//! and what it logged for each frame is printed (`--nocapture`), the evidence for comparing
//! the two. What the runs showed, where the two differ or the answer is not obvious:
//!
//! - Trailing bytes: keeplite reads the header and addresses and ignores what follows
//!   (RFC 9568 section 7.1 asks only that the packet *contain* the whole advert). Its
//!   checksum covers the whole IP payload (but for exactly an `auth_hmac` trailer after an
//!   IPv4 message, as keepalived sends it), so garbage outside the sender's checksum is a
//!   checksum discard, garbage inside it a valid advert. keepalived drops both ("vrrp packet
//!   too long"). A packet beyond keeplite's receive buffer (4156 bytes) is a length discard.
//! - IPv6 from a global source: RFC 9568 section 5.1.2.1 is a rule for the sender; section
//!   7.1 checks nothing about the source, and keepalived takes such adverts (a higher
//!   priority one makes it step down). keeplite does the same, deliberately.
//! - A unicast advert to host 0's own address, in multicast mode: keeplite takes it,
//!   keepalived ignores it without a word.
//! - keepalived drops bad IPv6 checksums in the kernel (IPV6_CHECKSUM), silently, and so
//!   never logs truncated IPv6 adverts either; keeplite counts both.
//! - The kernel drops before any socket: a unicast to an address host 0 does not have, an
//!   IPv4 source that is host 0's own (a martian), and an IPv6 packet with an empty payload
//!   (an empty IPv4 payload does reach the socket: a length discard).

mod common;

use common::daemon::{has_vip, scratch, until, until_vip, Daemon};
use common::{keepalived_available, netns_available, rpcd_call, Lan, Netns};
use keeplite::json::{self, Json};
use keeplite::net::monitor::{Event, Monitor};
use keeplite::net::packet_socket::PacketSocket;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Bytes on the wire, written out by hand (independent of keeplite's own emitter).

/// The Internet checksum's one's-complement sum, not yet folded.
fn ones_sum(data: &[u8], mut acc: u32) -> u32 {
    for pair in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// The pseudo-header's sum for a VRRP message of `len` bytes (RFC 9568 section 5.2.8).
fn pseudo_sum(src: IpAddr, dst: IpAddr, len: usize) -> u32 {
    let mut b = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            b.extend_from_slice(&[0, 112]);
            b.extend_from_slice(&(len as u16).to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            b.extend_from_slice(&s.octets());
            b.extend_from_slice(&d.octets());
            b.extend_from_slice(&(len as u32).to_be_bytes());
            b.extend_from_slice(&[0, 0, 0, 112]);
        }
        _ => panic!("mixed families"),
    }
    ones_sum(&b, 0)
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// How the VRRP checksum field is filled.
#[derive(Debug, Clone, Copy)]
enum Sum {
    /// v2: over the message alone.
    Plain,
    /// v3: with the pseudo-header of the packet's own addresses.
    Pseudo,
    /// v3 computed for other addresses than the packet carries.
    PseudoFor(IpAddr, IpAddr),
}

/// One VRRP message, field by field.
#[derive(Debug, Clone)]
struct Msg {
    ver_type: u8,
    vrid: u8,
    priority: u8,
    /// The count field; `None`: the number of addresses.
    count: Option<u8>,
    /// Bytes 4 and 5: v2 auth type and interval (s); v3 reserved + max interval (cs).
    word: [u8; 2],
    addresses: Vec<IpAddr>,
    /// v2 authentication data.
    auth: Option<[u8; 8]>,
    /// Appended before the checksum is computed (so it covers them).
    covered: Vec<u8>,
    /// Appended after the checksum is computed.
    trailing: Vec<u8>,
    sum: Sum,
    /// Invert the checksum field after computing it.
    flip: bool,
    /// Keep only this many bytes, after the checksum.
    cut: Option<usize>,
}

impl Msg {
    fn bytes(&self, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let count = self.count.unwrap_or(self.addresses.len() as u8);
        let mut b = vec![self.ver_type, self.vrid, self.priority, count, self.word[0], self.word[1], 0, 0];
        for a in &self.addresses {
            b.extend_from_slice(&octets(*a));
        }
        if let Some(auth) = self.auth {
            b.extend_from_slice(&auth);
        }
        b.extend_from_slice(&self.covered);
        let acc = match self.sum {
            Sum::Plain => 0,
            Sum::Pseudo => pseudo_sum(src, dst, b.len()),
            Sum::PseudoFor(s, d) => pseudo_sum(s, d, b.len()),
        };
        let mut sum = fold(ones_sum(&b, acc));
        if self.flip {
            sum = !sum;
        }
        b[6..8].copy_from_slice(&sum.to_be_bytes());
        b.extend_from_slice(&self.trailing);
        if let Some(n) = self.cut {
            b.truncate(n);
        }
        b
    }
}

type Mac = [u8; 6];

/// One IP packet and the Ethernet frame around it.
#[derive(Debug, Clone)]
struct Wire {
    dst_mac: Mac,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    /// IPv4 options (a multiple of 4 bytes).
    options: Vec<u8>,
}

fn frame(w: &Wire, src_mac: Mac, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 60 + payload.len());
    f.extend_from_slice(&w.dst_mac);
    f.extend_from_slice(&src_mac);
    match (w.src, w.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&[0x08, 0x00]);
            let header_len = 20 + w.options.len();
            let mut h = vec![0x40 | (header_len / 4) as u8, 0xc0];
            h.extend_from_slice(&((header_len + payload.len()) as u16).to_be_bytes());
            h.extend_from_slice(&[0x12, 0x34, 0, 0, w.ttl, 112, 0, 0]);
            h.extend_from_slice(&s.octets());
            h.extend_from_slice(&d.octets());
            h.extend_from_slice(&w.options);
            let sum = fold(ones_sum(&h, 0));
            h[10..12].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(&h);
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
            f.extend_from_slice(&[112, w.ttl]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed families"),
    }
    f.extend_from_slice(payload);
    assert!(f.len() <= 9014, "frame of {} bytes exceeds the MTU", f.len());
    f
}

/// The multicast MAC of a group address.
fn multicast_mac(group: IpAddr) -> Mac {
    match group {
        IpAddr::V4(g) => {
            let o = g.octets();
            [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
        }
        IpAddr::V6(g) => {
            let o = g.octets();
            [0x33, 0x33, o[12], o[13], o[14], o[15]]
        }
    }
}

const HOST0_MAC: Mac = [2, 0, 0, 0, 0, 1];
const HOST1_MAC: Mac = [2, 0, 0, 0, 0, 2];

// ---------------------------------------------------------------------------------------
// The instance under attack and what each packet should do to its counters.

/// Where a discard is counted: on the instance, or on "packets for no instance".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Instance,
    NoInstance,
}

type Effect = Vec<(Scope, &'static str)>;

fn on(counter: &'static str) -> Effect {
    vec![(Scope::Instance, counter)]
}

fn nowhere(counter: &'static str) -> Effect {
    vec![(Scope::NoInstance, counter)]
}

/// The virtual router keeplite (or keepalived) runs on host 0.
#[derive(Debug, Clone)]
struct Target {
    version: u8,
    vrid: u8,
    /// The daemon's priority; hostile adverts carry [`HOSTILE`].
    priority: u8,
    vip: IpAddr,
    auth: Option<[u8; 8]>,
    /// v2: seconds; v3: centiseconds.
    interval: u16,
    group: IpAddr,
    /// Host 0's address (the daemon's source) and host 1's (ours).
    host0: IpAddr,
    host1: IpAddr,
}

/// Priority of every hostile advert: above the daemon's, so accepting one moves the VIP.
const HOSTILE: u8 = 254;
/// Priority of the valid adverts: below the daemon's, so it stays master.
const LOW: u8 = 50;

impl Target {
    fn v6(&self) -> bool {
        self.vip.is_ipv6()
    }

    fn addr_len(&self) -> usize {
        if self.v6() {
            16
        } else {
            4
        }
    }

    /// A valid advert of this virtual router with `priority`.
    fn advert(&self, priority: u8) -> Msg {
        let (word, auth, sum) = if self.version == 2 {
            let (kind, auth) = match self.auth {
                Some(p) => (1, p),
                None => (0, [0; 8]),
            };
            ([kind, self.interval as u8], Some(auth), Sum::Plain)
        } else {
            (self.interval.to_be_bytes(), None, Sum::Pseudo)
        };
        Msg {
            ver_type: self.version << 4 | 1,
            vrid: self.vrid,
            priority,
            count: None,
            word,
            addresses: vec![self.vip],
            auth,
            covered: Vec::new(),
            trailing: Vec::new(),
            sum,
            flip: false,
            cut: None,
        }
    }

    fn hostile(&self) -> Msg {
        self.advert(HOSTILE)
    }

    /// Host 1 to the VRRP group with TTL 255.
    fn wire(&self) -> Wire {
        Wire {
            dst_mac: multicast_mac(self.group),
            src: self.host1,
            dst: self.group,
            ttl: 255,
            options: Vec::new(),
        }
    }

    /// Another address of the VIP's family, not configured anywhere.
    fn stranger(&self) -> IpAddr {
        if self.v6() {
            "2001:db8:1::99".parse().unwrap()
        } else {
            "198.51.100.99".parse().unwrap()
        }
    }

    /// keeplite's configuration, with its status endpoint on `socket`.
    fn config_keeplite(&self, socket: &Path) -> String {
        let prefix = if self.v6() { 64 } else { 24 };
        let interval = if self.version == 2 {
            format!("{}s", self.interval)
        } else {
            format!("{}ms", u32::from(self.interval) * 10)
        };
        let mut c = format!(
            "keeplite.g=global\nkeeplite.g.status_socket='{}'\n\
             keeplite.gw=vrrp\nkeeplite.gw.interface=eth0\nkeeplite.gw.vrid={}\nkeeplite.gw.priority={}\n\
             keeplite.gw.version={}\nkeeplite.gw.advert_int={interval}\nkeeplite.gw.vip='{}/{prefix}'\n\
             keeplite.gw.strict_mode=1\n",
            socket.display(),
            self.vrid,
            self.priority,
            self.version,
            self.vip
        );
        if let Some(p) = self.auth {
            let p: String = p.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
            c.push_str(&format!("keeplite.gw.auth_pass='{p}'\n"));
        }
        c
    }

    fn config_keepalived(&self) -> String {
        let prefix = if self.v6() { 64 } else { 24 };
        let interval = if self.version == 2 {
            self.interval.to_string()
        } else {
            format!("{}", f64::from(self.interval) / 100.0)
        };
        let auth = match self.auth {
            Some(p) => {
                let p: String = p.iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
                format!("  authentication {{\n    auth_type PASS\n    auth_pass {p}\n  }}\n")
            }
            None => String::new(),
        };
        format!(
            "global_defs {{\n  router_id hostile\n  vrrp_garp_master_delay 0\n}}\n\
             vrrp_instance gw {{\n  state MASTER\n  interface eth0\n  virtual_router_id {}\n  priority {}\n\
             advert_int {interval}\n  version {}\n{auth}  virtual_ipaddress {{\n    {}/{prefix}\n  }}\n}}\n",
            self.vrid, self.priority, self.version, self.vip
        )
    }
}

/// One hostile (or valid) packet and what it must do to keeplite's counters.
struct Case {
    name: &'static str,
    frame: Vec<u8>,
    /// Empty: the kernel drops it before any socket sees it.
    effect: Effect,
}

fn case(name: &'static str, wire: &Wire, msg: &Msg, effect: Effect) -> Case {
    let payload = msg.bytes(wire.src, wire.dst);
    Case { name, frame: frame(wire, HOST1_MAC, &payload), effect }
}

/// The crafted packets for `t`, in sending order.
fn cases(t: &Target) -> Vec<Case> {
    let w = t.wire();
    let v2 = t.version == 2;
    let a = t.addr_len();
    let mut out = Vec::new();
    let mut add = |name, wire: &Wire, msg: Msg, effect| out.push(case(name, wire, &msg, effect));

    // Valid adverts of lower priority: the only ones adverts_rx may count.
    add("valid, lower priority", &w, t.advert(LOW), on("adverts_rx"));
    add(
        "valid, priority 0",
        &w,
        t.advert(0),
        vec![(Scope::Instance, "adverts_rx"), (Scope::Instance, "priority_zero_rx")],
    );
    if !t.v6() {
        let with_options = Wire { options: vec![1, 1, 1, 0], ..w.clone() };
        add(
            "valid, lower priority, IPv4 header with options (IHL 6)",
            &with_options,
            t.advert(LOW),
            on("adverts_rx"),
        );
    }
    // Hostile: a priority above the master's, each broken in one way.
    add("TTL / hop limit 64", &Wire { ttl: 64, ..w.clone() }, t.hostile(), on("discard_ttl"));
    add("TTL / hop limit 1", &Wire { ttl: 1, ..w.clone() }, t.hostile(), on("discard_ttl"));
    add("checksum inverted", &w, Msg { flip: true, ..t.hostile() }, on("discard_checksum"));
    if !v2 {
        add(
            "v3 checksum without the pseudo-header (v2 style)",
            &w,
            Msg { sum: Sum::Plain, ..t.hostile() },
            on("discard_checksum"),
        );
        add(
            "v3 checksum over another destination's pseudo-header",
            &w,
            Msg { sum: Sum::PseudoFor(t.host1, t.host0), ..t.hostile() },
            on("discard_checksum"),
        );
    }
    add("header only (8 bytes, count 1)", &w, Msg { cut: Some(8), ..t.hostile() }, on("discard_length"));
    add("address cut in half", &w, Msg { cut: Some(8 + a / 2), ..t.hostile() }, on("discard_length"));
    if v2 {
        add(
            "auth data cut to 4 bytes",
            &w,
            Msg { cut: Some(8 + a + 4), ..t.hostile() },
            on("discard_length"),
        );
    }
    add("count 20, one address present", &w, Msg { count: Some(20), ..t.hostile() }, on("discard_length"));
    add("count 255, one address present", &w, Msg { count: Some(255), ..t.hostile() }, on("discard_length"));
    if t.v6() {
        let mut four = t.hostile();
        four.addresses = vec![];
        four.count = Some(1);
        four.covered = vec![198, 51, 100, 100];
        add("IPv6 advert carrying a 4-byte address", &w, four, on("discard_length"));
    }
    add("count 0, no addresses", &w, Msg { addresses: vec![], ..t.hostile() }, on("discard_address_list"));
    add(
        "count 33 (above the 32 an instance holds), all present",
        &w,
        Msg { addresses: vec![t.vip; 33], ..t.hostile() },
        on("discard_address_list"),
    );
    add(
        "address list mismatch (non-owner)",
        &w,
        Msg { addresses: vec![t.stranger()], ..t.hostile() },
        on("discard_address_list"),
    );
    add(
        "address list with an extra address (non-owner)",
        &w,
        Msg { addresses: vec![t.vip, t.stranger()], ..t.hostile() },
        on("discard_address_list"),
    );
    add("version 4", &w, Msg { ver_type: 0x41, ..t.hostile() }, on("discard_version"));
    add("version 1", &w, Msg { ver_type: 0x11, ..t.hostile() }, on("discard_version"));
    if v2 {
        let v3 = Msg { ver_type: 0x31, word: [0, 100], auth: None, sum: Sum::Pseudo, ..t.hostile() };
        add("version 3 advert to a v2 instance", &w, v3, on("discard_version"));
    } else {
        let v2msg = Msg { ver_type: 0x21, word: [0, 1], auth: Some([0; 8]), sum: Sum::Plain, ..t.hostile() };
        add("version 2 advert to a v3 instance", &w, v2msg, on("discard_version"));
    }
    add("type 2", &w, Msg { ver_type: t.version << 4 | 2, ..t.hostile() }, on("discard_type"));
    add("type 0", &w, Msg { ver_type: t.version << 4, ..t.hostile() }, on("discard_type"));
    if v2 {
        let no_auth = Msg { word: [0, t.interval as u8], auth: Some([0; 8]), ..t.hostile() };
        add("auth type 0 (none) to an auth_pass instance", &w, no_auth, on("discard_auth"));
        let ah = Msg { word: [2, t.interval as u8], ..t.hostile() };
        add("auth type 2 (IP AH)", &w, ah, on("discard_auth"));
        add("wrong password", &w, Msg { auth: Some(*b"secreT\0\0"), ..t.hostile() }, on("discard_auth"));
        add(
            "right password, garbage after its NUL",
            &w,
            Msg { auth: Some(*b"secret\0X"), ..t.hostile() },
            on("discard_auth"),
        );
        add("interval 2 s (mine 1 s)", &w, Msg { word: [1, 2], ..t.hostile() }, on("discard_interval"));
        add("interval 0 s", &w, Msg { word: [1, 0], ..t.hostile() }, on("discard_interval"));
    } else {
        let reserved =
            Msg { word: [0xf0 | t.interval.to_be_bytes()[0], t.interval.to_be_bytes()[1]], ..t.advert(LOW) };
        add("valid, lower priority, v3 reserved bits set (ignored)", &w, reserved, on("adverts_rx"));
    }
    let other_vrid = t.vrid.wrapping_add(100);
    add("unknown VRID", &w, Msg { vrid: other_vrid, ..t.hostile() }, nowhere("discard_vrid"));
    add(
        "unknown VRID, checksum inverted",
        &w,
        Msg { vrid: other_vrid, flip: true, ..t.hostile() },
        nowhere("discard_checksum"),
    );
    // IPv4 hands a raw socket an empty payload; IPv6 does not (the kernel drops it).
    let empty = if t.v6() { vec![] } else { nowhere("discard_length") };
    add("empty VRRP payload", &w, Msg { cut: Some(0), ..t.hostile() }, empty);
    add("1-byte VRRP payload (no VRID)", &w, Msg { cut: Some(1), ..t.hostile() }, nowhere("discard_length"));
    add("2-byte VRRP payload (its VRID)", &w, Msg { cut: Some(2), ..t.hostile() }, on("discard_length"));
    let garbage: Vec<u8> = (0..1400u32).map(|i| (i * 7 + 3) as u8).collect();
    add(
        "1400 bytes of trailing garbage outside the checksum",
        &w,
        Msg { trailing: garbage.clone(), ..t.hostile() },
        on("discard_checksum"),
    );
    add(
        "1400 bytes of trailing garbage inside the checksum (lower priority)",
        &w,
        Msg { covered: garbage, ..t.advert(LOW) },
        on("adverts_rx"),
    );
    // Longer than any advert can be (255 IPv6 addresses): keeplite's buffer cuts it.
    let jumbo: Vec<u8> = (0..6000u32).map(|i| (i * 13 + 5) as u8).collect();
    add(
        "6000 bytes inside the checksum, beyond the 4156-byte receive buffer",
        &w,
        Msg { covered: jumbo, ..t.hostile() },
        on("discard_length"),
    );
    // The IP addresses: some never reach a socket, the kernel drops them first.
    let (stranger_dst, own_addr): (IpAddr, IpAddr) = if t.v6() {
        ("2001:db8:1::77".parse().unwrap(), "2001:db8:1::1".parse().unwrap())
    } else {
        ("198.51.100.77".parse().unwrap(), t.host0)
    };
    let not_ours = Wire { dst_mac: HOST0_MAC, dst: stranger_dst, ..w.clone() };
    add("unicast to a non-local address, sent to host 0's MAC", &not_ours, t.hostile(), vec![]);
    let to_me = Wire { dst_mac: HOST0_MAC, dst: own_addr, ..w.clone() };
    add("unicast to host 0's own address (lower priority)", &to_me, t.advert(LOW), on("adverts_rx"));
    if t.v6() {
        let global = Wire { src: "2001:db8:1::2".parse().unwrap(), ..w.clone() };
        add("from a global source address (lower priority)", &global, t.advert(LOW), on("adverts_rx"));
    } else {
        // A source address host 0 owns: a martian to the kernel.
        let spoofed = Wire { src: t.host0, ..w.clone() };
        add("spoofed source: host 0's own address", &spoofed, t.hostile(), vec![]);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Random garbage and its oracle.

/// xorshift64*: a fixed seed makes every run send the same packets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// What keeplite must do with a received VRRP payload, from RFC 3768 / RFC 9568 section
/// 7.1 in the order keeplite documents (wire: version, length, checksum, type, capacity;
/// instance: TTL, version, VRID, empty list, auth, interval, address list). `None`: the
/// packet is a valid advert the daemon would act on with a priority at or above its own.
fn judge(t: &Target, p: &[u8], ttl: u8, src: IpAddr, dst: IpAddr) -> Option<Effect> {
    let scope = if p.get(1) == Some(&t.vrid) { Scope::Instance } else { Scope::NoInstance };
    let out = |c: &'static str| Some(vec![(scope, c)]);
    if p.is_empty() && t.v6() {
        // The kernel delivers no empty IPv6 payload to a raw socket.
        return Some(vec![]);
    }
    if p.len() < 8 {
        return out("discard_length");
    }
    let version = p[0] >> 4;
    if !(version == 3 || (version == 2 && !t.v6())) {
        return out("discard_version");
    }
    let count = usize::from(p[3]);
    let claimed = 8 + count * t.addr_len() + if version == 2 { 8 } else { 0 };
    if p.len() < claimed {
        return out("discard_length");
    }
    let acc = if version == 3 { pseudo_sum(src, dst, p.len()) } else { 0 };
    if fold(ones_sum(p, acc)) != 0 {
        return out("discard_checksum");
    }
    if p[0] & 0x0f != 1 {
        return out("discard_type");
    }
    if count > 32 {
        return out("discard_address_list");
    }
    if scope == Scope::NoInstance {
        return out("discard_vrid");
    }
    if ttl != 255 {
        return out("discard_ttl");
    }
    if version != t.version {
        return out("discard_version");
    }
    if count == 0 {
        return out("discard_address_list");
    }
    if version == 2 {
        let auth = &p[8 + count * 4..8 + count * 4 + 8];
        let ok = match t.auth {
            Some(pass) => p[4] == 1 && auth == pass,
            None => p[4] == 0,
        };
        if !ok {
            return out("discard_auth");
        }
        if u16::from(p[5]) != t.interval {
            return out("discard_interval");
        }
    } else if u16::from_be_bytes([p[4] & 0x0f, p[5]]) == 0 {
        // Max Adver Int 0 would make Master_Down_Interval 0.
        return out("discard_interval");
    }
    let priority = p[2];
    let addrs: Vec<&[u8]> = p[8..8 + count * t.addr_len()].chunks(t.addr_len()).collect();
    let vip = octets(t.vip);
    let same = count == 1 && addrs[0] == &vip[..];
    if !same && priority != 255 {
        return out("discard_address_list");
    }
    // Host 1's address is above host 0's, so an equal priority wins too.
    if priority >= t.priority {
        return None;
    }
    let mut e = vec![(Scope::Instance, "adverts_rx")];
    if priority == 0 {
        e.push((Scope::Instance, "priority_zero_rx"));
    }
    Some(e)
}

/// A random payload: random bytes of a random length, each of the fields that lets a
/// packet go deeper (version, VRID, count, checksum) made plausible half the time.
fn garbage(rng: &mut Rng, t: &Target) -> (Vec<u8>, u8) {
    let max = if t.v6() { 1460 } else { 1480 };
    let len = match rng.below(4) {
        0 => rng.below(9),
        1 => rng.below(64),
        2 => rng.below(300),
        _ => rng.below(max + 1),
    };
    let mut p: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
    if len >= 1 && rng.coin() {
        p[0] = [0x21, 0x31, 0x31, 0x22, 0x30, 0x41][rng.below(6)];
    }
    if len >= 2 && rng.coin() {
        p[1] = t.vrid;
    }
    if len >= 8 && rng.coin() {
        let auth = if p[0] >> 4 == 2 { 8 } else { 0 };
        let room = (len - 8).saturating_sub(auth) / t.addr_len();
        p[3] = room.min(255) as u8;
        if rng.coin() {
            // A little short or long.
            p[3] = p[3].wrapping_add([1, 255][rng.below(2)]);
        }
    }
    if len >= 8 && rng.coin() {
        p[6] = 0;
        p[7] = 0;
        let acc = if p[0] >> 4 == 3 { pseudo_sum(t.host1, t.group, len) } else { 0 };
        let sum = fold(ones_sum(&p, acc));
        p[6..8].copy_from_slice(&sum.to_be_bytes());
    }
    let ttl = if rng.below(8) == 0 { rng.next() as u8 } else { 255 };
    (p, ttl)
}

// ---------------------------------------------------------------------------------------
// Sending, watching, counting.

fn sender(ns: &Netns) -> PacketSocket {
    ns.run(|| PacketSocket::open("eth0")).unwrap_or_else(|e| panic!("{e}"))
}

/// Sends one frame; the socket is non-blocking, so a full queue (EAGAIN) is retried.
fn send(sock: &PacketSocket, frame: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Err(e) = sock.send(frame) {
        assert!(Instant::now() < deadline, "{e}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Follows `vip` on `ns` in the kernel's address notifications: no removal goes unseen
/// between two looks, and a look costs no process, however busy the machine (sampling
/// with `ip` managed 10 looks in a whole attack on one). Subscribe before anything can
/// happen; [`removals`](VipWatch::removals) then counts until `stop` is set.
struct VipWatch {
    monitor: Monitor,
    vip: IpAddr,
}

impl VipWatch {
    /// Subscribes in `ns`, which must hold `vip` now.
    fn start(ns: &Netns, vip: IpAddr) -> VipWatch {
        let monitor = ns.run(Monitor::open).unwrap_or_else(|e| panic!("{e}"));
        assert!(has_vip(ns, &vip.to_string()), "{}: no {vip} to watch", ns.name);
        VipWatch { monitor, vip }
    }

    /// How many times the VIP was removed from `ns` until `stop` is set (after lost
    /// notifications, a look with `ip` counts a missing VIP as one).
    fn removals(mut self, ns: &Netns, stop: &AtomicBool) -> u32 {
        let mut removals = 0;
        loop {
            // Read once more after the stop, for what came just before it.
            let stopping = stop.load(Ordering::Relaxed);
            let mut fds = [PollFd::new(&self.monitor, PollFlags::IN)];
            let _ = poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 10_000_000 }));
            while let Some(event) = self.monitor.next_event().unwrap_or_else(|e| panic!("{e}")) {
                match event {
                    Event::AddressRemoved(a) if a.addr == self.vip => removals += 1,
                    Event::Lost if !has_vip(ns, &self.vip.to_string()) => removals += 1,
                    _ => {}
                }
            }
            if stopping {
                return removals;
            }
        }
    }
}

/// The `name=value` pairs of a logged counters line.
fn fields(line: &str) -> BTreeMap<String, u64> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.parse().unwrap_or_else(|_| panic!("counter {k}={v} in {line:?}"))))
        .collect()
}

/// `adverts_rx` of the instance as keeplite's status endpoint on `socket` shows it now.
fn adverts_rx(socket: &Path) -> Result<u64, String> {
    let (code, out) = rpcd_call(socket, "vrrp", "{}");
    let limits = json::Limits { max_bytes: 1 << 20, max_depth: 16 };
    let reply = json::parse(out.trim().as_bytes(), limits).map_err(|e| format!("exit {code}, {e}: {out}"))?;
    let gw = reply.get("vrrp").and_then(Json::as_array).and_then(|l| l.first().cloned());
    let rx = gw.as_ref().and_then(|g| g.get("counters")).and_then(|c| c.get("adverts_rx"));
    rx.and_then(Json::as_int).map(|n| n as u64).ok_or(out)
}

/// Starts `daemon` on host 0 of a fresh two-host LAN and waits until it holds the VIP;
/// returns the LAN, the daemon and keeplite's status socket.
fn master(tag: &str, t: &Target, keepalived: bool) -> (Lan, Daemon, PathBuf) {
    let lan = Lan::new(tag, 2);
    // Jumbo frames, so one case can exceed keeplite's receive buffer.
    for (i, host) in lan.hosts.iter().enumerate() {
        lan.switch.ip(&["link", "set", &format!("p{i}"), "mtu", "9000"]);
        host.ip(&["link", "set", "eth0", "mtu", "9000"]);
    }
    lan.switch.ip(&["link", "set", "br0", "mtu", "9000"]);
    let socket = scratch(tag).join("status.sock");
    let daemon = if keepalived {
        Daemon::keepalived(&lan.hosts[0], &format!("{tag}-ka"), &t.config_keepalived())
    } else {
        Daemon::keeplite(&lan.hosts[0], &format!("{tag}-kl"), &t.config_keeplite(&socket))
    };
    until_vip(&lan.hosts[0], &t.vip.to_string(), true, Duration::from_secs(10), &[&daemon]);
    (lan, daemon, socket)
}

/// Runs keeplite for `t` on host 0, sends every case `rounds` times and `random` garbage
/// packets from host 1, and checks the VIP never left and the counters match exactly.
fn attack_keeplite(tag: &str, t: &Target, rounds: usize, random: usize, seed: u64) {
    let started = Instant::now();
    let (lan, daemon, socket) = master(tag, t, false);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let sock = sender(h1);
    let list = cases(t);
    assert!(list.len() >= 15, "only {} kinds", list.len());
    let mut expected: BTreeMap<(Scope, &'static str), u64> = BTreeMap::new();
    let stop = AtomicBool::new(false);
    let watch = VipWatch::start(h0, t.vip);
    let removals = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch.removals(h0, &stop));
        for _ in 0..rounds {
            for c in &list {
                send(&sock, &c.frame);
                for &e in &c.effect {
                    *expected.entry(e).or_default() += 1;
                }
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        let mut rng = Rng(seed);
        let mut sent = 0;
        while sent < random {
            let (payload, ttl) = garbage(&mut rng, t);
            let Some(effect) = judge(t, &payload, ttl, t.host1, t.group) else { continue };
            let wire = Wire { ttl, ..t.wire() };
            send(&sock, &frame(&wire, HOST1_MAC, &payload));
            for e in effect {
                *expected.entry(e).or_default() += 1;
            }
            sent += 1;
            std::thread::sleep(Duration::from_millis(2));
        }
        // Last, a valid advert: the daemon reads its socket in order, so once the status
        // counts it, every packet before it has been read and counted too.
        send(&sock, &case("last, valid", &t.wire(), &t.advert(LOW), vec![]).frame);
        let rx = expected.entry((Scope::Instance, "adverts_rx")).or_default();
        *rx += 1;
        let want = *rx;
        until("keeplite reading every packet sent", Duration::from_secs(20), &[&daemon], || {
            let got = adverts_rx(&socket)?;
            if got >= want {
                Ok(())
            } else {
                Err(format!("adverts_rx {got}, {want} sent"))
            }
        });
        stop.store(true, Ordering::Relaxed);
        watcher.join().expect("watcher")
    });
    assert_eq!(removals, 0, "the VIP left host 0 {removals} time(s):\n{}", daemon.log());
    assert!(has_vip(h0, &t.vip.to_string()), "the VIP is not on host 0:\n{}", daemon.log());
    // Still alive: it handles SIGTERM and exits 0.
    assert_eq!(daemon.stop(), Some(0), "{}", daemon.log());
    let log = daemon.log();
    assert!(log.contains("stopping: releasing addresses"), "{log}");
    assert_eq!(daemon.transitions("gw", "-> MASTER"), 1, "mastership changed:\n{log}");
    assert_eq!(daemon.transitions("gw", "MASTER -> BACKUP"), 0, "stepped down:\n{log}");

    let ours = daemon.counters("gw");
    let none = daemon.unattributed();
    assert_eq!(ours.get("became_master"), 1, "{log}");
    let mut wrong = Vec::new();
    for (scope, got) in [(Scope::Instance, fields(&ours.line)), (Scope::NoInstance, fields(&none.line))] {
        for (name, value) in got {
            let checked = name.starts_with("discard_")
                || name == "adverts_rx"
                || name == "priority_zero_rx"
                || scope == Scope::NoInstance;
            let want = expected.get(&(scope, name.as_str())).copied().unwrap_or(0);
            if checked && value != want {
                wrong.push(format!("{scope:?} {name}: got {value}, expected {want}"));
            }
        }
    }
    if !wrong.is_empty() {
        let kinds: Vec<String> = list.iter().map(|c| format!("  {:?} -> {:?}", c.name, c.effect)).collect();
        panic!(
            "counters differ:\n{}\nkinds sent ({rounds} rounds):\n{}\nlog:\n{log}",
            wrong.join("\n"),
            kinds.join("\n")
        );
    }
    eprintln!(
        "{tag}: {} kinds x {rounds} + {random} random packets in {:.1}s; counters as expected: {expected:?}",
        list.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Sends every case of `t` once to keepalived running as master on host 0, one at a time,
/// checks it kept the VIP throughout, prints what it logged for each and returns that.
///
/// After each case goes a marker keepalived always logs in one line, an advert with TTL
/// [`MARK_TTL`]: it reads its socket in order, so once the marker's line is in the log, so
/// is whatever it had to say about the case, and the lines between two markers are the
/// case's, however slowly a busy machine runs either side.
fn attack_keepalived(tag: &str, t: &Target) -> Vec<(&'static str, String)> {
    let (lan, daemon, _) = master(tag, t, true);
    let (h0, h1) = (&lan.hosts[0], &lan.hosts[1]);
    let sock = sender(h1);
    let mark_wire = Wire { ttl: MARK_TTL, ..t.wire() };
    let mark = frame(&mark_wire, HOST1_MAC, &t.hostile().bytes(mark_wire.src, mark_wire.dst));
    let marked = format!("invalid TTL/HL. Received {MARK_TTL} and expect 255");
    let send_marked = |frame: Option<&[u8]>, marks: usize| {
        if let Some(f) = frame {
            send(&sock, f);
        }
        send(&sock, &mark);
        until("keepalived logging the marker", Duration::from_secs(10), &[&daemon], || {
            daemon.log().matches(&marked).count() >= marks
        });
    };
    let list = cases(t);
    let stop = AtomicBool::new(false);
    let watch = VipWatch::start(h0, t.vip);
    let removals = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch.removals(h0, &stop));
        // The first marker closes what keepalived logged on its way up.
        send_marked(None, 1);
        for (i, c) in list.iter().enumerate() {
            send_marked(Some(&c.frame), i + 2);
        }
        stop.store(true, Ordering::Relaxed);
        watcher.join().expect("watcher")
    });
    assert_eq!(removals, 0, "keepalived removed the VIP {removals} time(s):\n{}", daemon.log());
    assert!(has_vip(h0, &t.vip.to_string()), "the VIP is not on host 0:\n{}", daemon.log());
    assert_eq!(daemon.stop(), Some(0), "keepalived did not survive:\n{}", daemon.log());
    let log = daemon.log();
    let mut lines = log.lines();
    // Up to and with the first marker: start-up.
    lines.by_ref().find(|l| l.contains(&marked));
    let mut table = Vec::new();
    for c in &list {
        // take_while also takes the marker that ends the case's lines.
        let said = lines.by_ref().take_while(|l| !l.contains(&marked)).filter(|l| !l.contains("Sending "));
        // Drop the timestamp keepalived puts in front of each line.
        let said: Vec<&str> = said.map(|l| l.split_once(": ").map_or(l, |(_, m)| m)).collect();
        table.push((c.name, said.join(" | ")));
    }
    for (name, said) in &table {
        eprintln!("{tag}: {name:<70} {}", if said.is_empty() { "(nothing)" } else { said });
    }
    table
}

/// The TTL of the marker [`attack_keepalived`] sends after each case (no case has it).
const MARK_TTL: u8 = 77;

/// What keepalived logged for case `name`.
fn said<'a>(table: &'a [(&'static str, String)], name: &str) -> &'a str {
    &table.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("no case {name:?}")).1
}

fn v2_auth() -> Target {
    Target {
        version: 2,
        vrid: 51,
        priority: 100,
        vip: "198.51.100.100".parse().unwrap(),
        auth: Some(*b"secret\0\0"),
        interval: 1,
        group: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18)),
        host0: "198.51.100.1".parse().unwrap(),
        host1: "198.51.100.2".parse().unwrap(),
    }
}

fn v3_ipv4() -> Target {
    Target {
        version: 3,
        vrid: 52,
        auth: None,
        interval: 10,
        vip: "198.51.100.101".parse().unwrap(),
        ..v2_auth()
    }
}

/// Link-local addresses from the fixed MACs (modified EUI-64).
fn v3_ipv6() -> Target {
    Target {
        version: 3,
        vrid: 53,
        priority: 100,
        vip: "2001:db8:1::100".parse().unwrap(),
        auth: None,
        interval: 10,
        group: IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        host0: "fe80::ff:fe00:1".parse().unwrap(),
        host1: "fe80::ff:fe00:2".parse().unwrap(),
    }
}

#[test]
fn v2_auth_master_survives_hostile_adverts() {
    if netns_available() {
        attack_keeplite("hv2", &v2_auth(), 2, 300, 0x5eed_0002);
    }
}

#[test]
fn v3_ipv4_master_survives_hostile_adverts() {
    if netns_available() {
        attack_keeplite("hv3", &v3_ipv4(), 2, 300, 0x5eed_0003);
    }
}

#[test]
fn v3_ipv6_master_survives_hostile_adverts() {
    if netns_available() {
        attack_keeplite("hv6", &v3_ipv6(), 2, 300, 0x5eed_0006);
    }
}

#[test]
fn keepalived_v2_auth_master_survives_the_same_adverts() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let table = attack_keepalived("kv2", &v2_auth());
    // Where keeplite differs, keepalived's side of it.
    assert!(said(&table, "wrong password").contains("received an invalid passwd"), "{table:#?}");
    let oversized = said(&table, "1400 bytes of trailing garbage inside the checksum (lower priority)");
    assert!(oversized.contains("vrrp packet too long"), "{table:#?}");
    // In multicast mode keepalived never sees a unicast advert (keeplite takes it).
    assert_eq!(said(&table, "unicast to host 0's own address (lower priority)"), "", "{table:#?}");
}

#[test]
fn keepalived_v3_ipv4_master_survives_the_same_adverts() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let table = attack_keepalived("kv3", &v3_ipv4());
    assert!(said(&table, "checksum inverted").contains("Invalid VRRPv3 checksum"), "{table:#?}");
    let oversized = said(&table, "1400 bytes of trailing garbage inside the checksum (lower priority)");
    assert!(oversized.contains("vrrp packet too long"), "{table:#?}");
}

#[test]
fn keepalived_v3_ipv6_master_survives_the_same_adverts() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let table = attack_keepalived("kv6", &v3_ipv6());
    // keepalived lets the kernel check IPv6 checksums (IPV6_CHECKSUM): silently dropped.
    assert_eq!(said(&table, "checksum inverted"), "", "{table:#?}");
    // A global source is no reason to drop an advert: keepalived takes it.
    let global = said(&table, "from a global source address (lower priority)");
    assert!(global.contains("Received advert from 2001:db8:1::2 with lower priority 50"), "{table:#?}");
}

/// RFC 9568 section 5.1.2.1 says an IPv6 advert is sent from a link-local address, but
/// section 7.1 lists no such check on receipt, and keepalived 2.2.7 makes none: a
/// higher-priority advert from a global address takes mastership from it. keeplite does
/// the same (a router that checked would split the brain with a peer that misbehaves).
/// Returns the daemon and (for keeplite) its status socket.
fn global_source_takes_over(tag: &str, keepalived: bool) -> (Daemon, PathBuf) {
    let t = v3_ipv6();
    let (lan, daemon, socket) = master(tag, &t, keepalived);
    let sock = sender(&lan.hosts[1]);
    let wire = Wire { src: "2001:db8:1::2".parse().unwrap(), ..t.wire() };
    let advert = frame(&wire, HOST1_MAC, &t.hostile().bytes(wire.src, wire.dst));
    // The VIP is followed on a thread of its own, so that the adverts keep their pace.
    let stop = AtomicBool::new(false);
    let watch = VipWatch::start(&lan.hosts[0], t.vip);
    let removals = std::thread::scope(|s| {
        let watcher = s.spawn(|| watch.removals(&lan.hosts[0], &stop));
        for _ in 0..GLOBAL_ADVERTS {
            send(&sock, &advert);
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
        watcher.join().expect("watcher")
    });
    assert!(
        removals > 0,
        "{tag}: a higher priority from a global source did not take over:\n{}",
        daemon.log()
    );
    (daemon, socket)
}

const GLOBAL_ADVERTS: u64 = 10;

#[test]
fn v3_ipv6_higher_priority_from_a_global_source_takes_over() {
    if !netns_available() {
        return;
    }
    let (d, socket) = global_source_takes_over("gkl", false);
    // Stopped once it has read them all.
    until("keeplite reading every advert sent", Duration::from_secs(10), &[&d], || {
        let got = adverts_rx(&socket)?;
        if got >= GLOBAL_ADVERTS {
            Ok(())
        } else {
            Err(format!("adverts_rx {got}"))
        }
    });
    assert_eq!(d.stop(), Some(0));
    assert!(
        d.transitions("gw", "MASTER -> BACKUP (priority 100, higher priority master)") == 1,
        "{}",
        d.log()
    );
    let c = d.counters("gw");
    assert_eq!(c.get("adverts_rx"), GLOBAL_ADVERTS, "{}", c.line);
    c.assert_no_discards("keeplite");
}

#[test]
fn keepalived_v3_ipv6_higher_priority_from_a_global_source_takes_over() {
    if !(netns_available() && keepalived_available()) {
        return;
    }
    let (d, _) = global_source_takes_over("gka", true);
    d.stop();
    assert!(
        d.log().contains("Master received advert from 2001:db8:1::2 with higher priority 254"),
        "{}",
        d.log()
    );
}
