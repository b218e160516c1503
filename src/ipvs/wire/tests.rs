use super::*;
use crate::ipvs::model::{
    Dest, DestKey, Method, SchedName, Service, ServiceKey, SyncRole, TunnelSpec, IPPROTO_SCTP, IPPROTO_TCP,
    IPPROTO_UDP, SVC_F_ONEPACKET, SVC_F_PERSISTENT,
};
use crate::ipvs::reconcile::Op;
use crate::net::error::Cause;
use crate::net::frame::frames;
use proptest::prelude::*;

const FAMILY: u16 = 0x23;

fn sched(name: &str) -> SchedName {
    SchedName::try_from(name).unwrap()
}

fn services() -> Vec<Service> {
    let tcp4 = ServiceKey::Address { protocol: IPPROTO_TCP, addr: "198.51.100.1".parse().unwrap(), port: 80 };
    let udp6 = ServiceKey::Address { protocol: IPPROTO_UDP, addr: "2001:db8::1".parse().unwrap(), port: 53 };
    let sctp4 =
        ServiceKey::Address { protocol: IPPROTO_SCTP, addr: "198.51.100.2".parse().unwrap(), port: 9 };
    vec![
        Service {
            key: tcp4,
            scheduler: sched("wrr"),
            flags: SVC_F_PERSISTENT,
            timeout: 300,
            netmask: 0xffff_ff00,
        },
        Service { key: udp6, scheduler: sched("sh"), flags: SVC_F_ONEPACKET, timeout: 0, netmask: 64 },
        Service { key: sctp4, scheduler: sched("mh"), flags: 0, timeout: 0, netmask: u32::MAX },
        Service {
            key: ServiceKey::Fwmark { family: Family::Ipv4, mark: 7 },
            scheduler: sched("rr"),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
        },
        Service {
            key: ServiceKey::Fwmark { family: Family::Ipv6, mark: 0xdead },
            scheduler: sched("lblcr"),
            flags: SVC_F_PERSISTENT,
            timeout: 60,
            netmask: 128,
        },
    ]
}

fn dest(addr: &str, port: u16, method: Method) -> Dest {
    Dest {
        key: DestKey { addr: addr.parse().unwrap(), port },
        method,
        weight: 5,
        u_threshold: 100,
        l_threshold: 10,
        tunnel: TunnelSpec::default(),
    }
}

/// The payloads (after the netlink header) of every message in `batch`.
fn payloads(batch: &Batch) -> Vec<Vec<u8>> {
    frames(batch.bytes()).map(|f| f.unwrap().payload.to_vec()).collect()
}

fn encoded(op: &Op) -> Vec<u8> {
    let mut batch = Batch::default();
    batch.op(FAMILY, 1, 0, op);
    payloads(&batch).remove(0)
}

#[test]
fn a_delete_is_laid_out_as_the_kernel_reads_it() {
    let key = ServiceKey::Address { protocol: IPPROTO_TCP, addr: "198.51.100.1".parse().unwrap(), port: 80 };
    let mut batch = Batch::default();
    batch.op(FAMILY, 9, 4242, &Op::DelService(key));
    let mut want = Vec::new();
    let u16s = |v: u16| v.to_ne_bytes();
    let u32s = |v: u32| v.to_ne_bytes();
    want.extend(u32s(68)); // nlmsg_len
    want.extend(u16s(FAMILY));
    want.extend(u16s(NLM_F_REQUEST | NLM_F_ACK));
    want.extend(u32s(9));
    want.extend(u32s(4242));
    want.extend([cmd::DEL_SERVICE, 1, 0, 0]);
    want.extend(u16s(48)); // nested IPVS_CMD_ATTR_SERVICE
    want.extend(u16s(1 | 0x8000));
    want.extend(u16s(6));
    want.extend(u16s(1)); // AF
    want.extend(u16s(2));
    want.extend([0, 0]);
    want.extend(u16s(6));
    want.extend(u16s(2)); // PROTOCOL
    want.extend(u16s(6));
    want.extend([0, 0]);
    want.extend(u16s(20));
    want.extend(u16s(3)); // ADDR: 16-byte nf_inet_addr
    want.extend([198, 51, 100, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    want.extend(u16s(6));
    want.extend(u16s(4)); // PORT, network order
    want.extend([0, 80, 0, 0]);
    assert_eq!(batch.bytes(), &want[..]);
    assert_eq!(batch.len(), 1);
}

#[test]
fn services_read_back_as_written() {
    for service in services() {
        for op in [Op::AddService(service.clone()), Op::EditService(service.clone())] {
            let (parsed, stats) = parse_service(&encoded(&op)).unwrap();
            assert_eq!(parsed, service, "{op}");
            assert_eq!(stats, Default::default());
        }
    }
}

#[test]
fn destinations_read_back_as_written() {
    let key = services()[0].key;
    let mut tunnel = dest("198.51.100.30", 80, Method::Tunnel);
    tunnel.tunnel = TunnelSpec { kind: 1, port: 6080, flags: 1 };
    for d in [
        dest("198.51.100.20", 8080, Method::Masquerade),
        dest("198.51.100.21", 80, Method::DirectRoute),
        tunnel,
    ] {
        for op in [Op::AddDest(key, d), Op::EditDest(key, d)] {
            let parsed = parse_dest(&encoded(&op), Family::Ipv4).unwrap();
            assert_eq!(parsed.dest, d, "{op}");
        }
    }
    let v6 = dest("2001:db8::20", 80, Method::DirectRoute);
    let parsed = parse_dest(&encoded(&Op::AddDest(services()[1].key, v6)), Family::Ipv6).unwrap();
    assert_eq!(parsed.dest, v6);
}

#[test]
fn a_batch_holds_many_messages_with_their_own_sequence_numbers() {
    let mut batch = Batch::default();
    for (seq, service) in services().into_iter().enumerate() {
        batch.op(FAMILY, seq as u32 + 100, 7, &Op::AddService(service));
    }
    assert_eq!(batch.len(), 5);
    let seqs: Vec<u32> = frames(batch.bytes()).map(|f| f.unwrap().seq).collect();
    assert_eq!(seqs, [100, 101, 102, 103, 104]);
    batch.clear();
    assert!(batch.is_empty() && batch.bytes().is_empty());
}

/// A reply: generic header then `attrs`.
fn reply(command: u8, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![command, 1, 0, 0];
    for (kind, value) in attrs {
        out.extend(((4 + value.len()) as u16).to_ne_bytes());
        out.extend(kind.to_ne_bytes());
        out.extend(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

fn nest(attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    reply(0, attrs)[4..].to_vec()
}

#[test]
fn info_family_and_daemon_replies() {
    let info = reply(16, &[(1, 0x010201u32.to_ne_bytes().to_vec()), (2, 4096u32.to_ne_bytes().to_vec())]);
    assert_eq!(parse_info(&info), Ok(Info { version: 0x010201, conn_table_size: 4096 }));
    let family = reply(1, &[(2, b"IPVS\0".to_vec()), (1, 0x23u16.to_ne_bytes().to_vec())]);
    assert_eq!(parse_family_id(&family), Ok(0x23));
    let daemon = reply(
        11,
        &[(
            3,
            nest(&[
                (1, 1u32.to_ne_bytes().to_vec()),
                (2, b"eth1\0".to_vec()),
                (3, 5u32.to_ne_bytes().to_vec()),
            ]),
        )],
    );
    let d = parse_daemon(&daemon).unwrap();
    assert_eq!((d.role, d.interface.as_str(), d.sync_id), (SyncRole::Master, "eth1", 5));
}

#[test]
fn sync_daemon_requests_read_back() {
    let mut batch = Batch::default();
    batch.start_sync(FAMILY, 1, 0, SyncRole::Backup, "eth1", 9);
    batch.stop_sync(FAMILY, 2, 0, SyncRole::Master);
    let p = payloads(&batch);
    let started = parse_daemon(&p[0]).unwrap();
    assert_eq!((started.role, started.interface.as_str(), started.sync_id), (SyncRole::Backup, "eth1", 9));
    // A stop names only the role: incomplete as a daemon entry.
    assert!(parse_daemon(&p[1]).is_err());
}

#[test]
fn statistics_are_read_from_the_64_bit_nest() {
    let mut payload = encoded(&Op::AddService(services()[0].clone()));
    let stats =
        nest(&[(1, 3u64.to_ne_bytes().to_vec()), (4, 1500u64.to_ne_bytes().to_vec()), (11, vec![0; 8])]);
    // Append STATS64 inside the service nest: grow the nest's length.
    let mut extra = vec![];
    extra.extend(((4 + stats.len()) as u16).to_ne_bytes());
    extra.extend(12u16.to_ne_bytes());
    extra.extend(&stats);
    let nest_len = u16::from_ne_bytes([payload[4], payload[5]]) as usize + extra.len();
    payload[4..6].copy_from_slice(&(nest_len as u16).to_ne_bytes());
    payload.extend(extra);
    let (_, s) = parse_service(&payload).unwrap();
    assert_eq!((s.conns, s.in_bytes), (3, 1500));
}

#[test]
fn wrong_sizes_and_missing_attributes_are_errors_unknown_ones_are_skipped() {
    let svc = |attrs: &[(u16, Vec<u8>)]| reply(1, &[(1, nest(attrs))]);
    let base = vec![
        (1, 2u16.to_ne_bytes().to_vec()),
        (2, 6u16.to_ne_bytes().to_vec()),
        (3, vec![198, 51, 100, 1]),
        (4, 80u16.to_be_bytes().to_vec()),
        (6, b"rr\0".to_vec()),
        (7, vec![0; 8]),
        (8, vec![0; 4]),
        (9, vec![255; 4]),
    ];
    assert!(parse_service(&svc(&base)).is_ok());
    let mut unknown = base.clone();
    unknown.push((99, vec![1, 2, 3]));
    assert!(parse_service(&svc(&unknown)).is_ok());
    let mut short_port = base.clone();
    short_port[3].1 = vec![80];
    assert_eq!(parse_service(&svc(&short_port)), Err(Cause::Malformed("port size")));
    let mut bad_af = base.clone();
    bad_af[0].1 = 7u16.to_ne_bytes().to_vec();
    assert_eq!(parse_service(&svc(&bad_af)), Err(Cause::Malformed("unknown address family")));
    let no_sched: Vec<_> = base.iter().filter(|(k, _)| *k != 6).cloned().collect();
    assert_eq!(parse_service(&svc(&no_sched)), Err(Cause::Malformed("service without scheduler")));
    let mut long_sched = base.clone();
    long_sched[4].1 = b"a-scheduler-name-too-long\0".to_vec();
    assert_eq!(parse_service(&svc(&long_sched)), Err(Cause::Malformed("scheduler name too long")));
    assert_eq!(parse_service(&reply(1, &[])), Err(Cause::Malformed("no service attribute")));
    assert!(parse_service(&[1, 2]).is_err());
    let dst = |attrs: &[(u16, Vec<u8>)]| reply(5, &[(2, nest(attrs))]);
    let bad_method = dst(&[
        (1, vec![198, 51, 100, 20]),
        (2, 80u16.to_be_bytes().to_vec()),
        (3, 7u32.to_ne_bytes().to_vec()),
        (4, 1u32.to_ne_bytes().to_vec()),
    ]);
    assert_eq!(parse_dest(&bad_method, Family::Ipv4), Err(Cause::Malformed("unknown forwarding method")));
    let v6_short = dst(&[(1, vec![0; 4]), (2, vec![0, 80]), (3, vec![0; 4]), (4, vec![0; 4])]);
    assert_eq!(parse_dest(&v6_short, Family::Ipv6), Err(Cause::Malformed("address size")));
}

#[test]
fn every_truncation_of_a_reply_is_an_error_or_a_value_never_a_panic() {
    let key = services()[0].key;
    let mut tunnel = dest("198.51.100.30", 80, Method::Tunnel);
    tunnel.tunnel = TunnelSpec { kind: 2, port: 0, flags: 2 };
    for op in services().into_iter().map(Op::AddService).chain([Op::AddDest(key, tunnel)]) {
        let full = encoded(&op);
        for len in 0..full.len() {
            let cut = &full[..len];
            // A cut inside the top-level nest leaves a broken length: always an error.
            assert!(parse_service(cut).is_err(), "{op} cut at {len}");
            assert!(parse_dest(cut, Family::Ipv4).is_err(), "{op} cut at {len}");
            let _ = parse_info(cut);
            let _ = parse_daemon(cut);
            let _ = parse_family_id(cut);
        }
    }
}

#[test]
fn attribute_lengths_that_do_not_fit_stop_the_walk() {
    let items: Vec<_> = attrs(&[8, 0, 1, 0, 1, 2, 3, 4, 3, 0, 2, 0]).collect();
    assert_eq!(items, vec![Ok((1, &[1u8, 2, 3, 4][..])), Err(Cause::Malformed("bad attribute length"))]);
    let items: Vec<_> = attrs(&[200, 0, 1, 0, 0, 0]).collect();
    assert_eq!(items, vec![Err(Cause::Malformed("bad attribute length"))]);
    assert_eq!(attrs(&[1, 0]).count(), 1);
    // Flags in the type are masked off; a zero-length value is fine.
    let items: Vec<_> = attrs(&[4, 0, 5, 0x80]).collect();
    assert_eq!(items, vec![Ok((5, &[][..]))]);
}

proptest! {
    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_service(&bytes);
        let _ = parse_dest(&bytes, Family::Ipv4);
        let _ = parse_dest(&bytes, Family::Ipv6);
        let _ = parse_info(&bytes);
        let _ = parse_daemon(&bytes);
        let _ = parse_family_id(&bytes);
        let _ = attrs(&bytes).count();
    }

    #[test]
    fn parsers_never_panic_on_corrupted_replies(
        which in 0usize..5,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let service = services()[which].clone();
        let d = dest("198.51.100.20", 80, Method::Tunnel);
        for op in [Op::AddService(service.clone()), Op::AddDest(service.key, d)] {
            let mut payload = encoded(&op);
            for (at, byte) in &flips {
                let i = at.index(payload.len());
                payload[i] = *byte;
            }
            let _ = parse_service(&payload);
            let _ = parse_dest(&payload, service.key.family());
        }
    }
}

/// The kernel replies captured by `tests/fixtures/ipvs/capture.sh` whose names start with
/// `kind`, as bytes.
fn kernel_replies(kind: &str) -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ipvs");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("{kind}-")))
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no {kind} fixtures in {dir}");
    names
        .iter()
        .map(|p| {
            let hex = std::fs::read_to_string(p).expect("fixture");
            let hex = hex.trim();
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
        })
        .collect()
}

#[test]
fn real_kernel_replies_parse_to_what_ipvsadm_made() {
    assert!(parse_family_id(&kernel_replies("family")[0]).unwrap() > 0x10);
    assert_eq!(parse_info(&kernel_replies("info")[0]), Ok(Info { version: 0x010201, conn_table_size: 4096 }));
    let mut services: Vec<String> = kernel_replies("services")
        .iter()
        .map(|p| {
            let (s, _) = parse_service(p).unwrap();
            format!(
                "{} {} flags {:#x} timeout {} netmask {:#x}",
                s.key, s.scheduler, s.flags, s.timeout, s.netmask
            )
        })
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            "fwmark 7 (ipv6) lc flags 0x2 timeout 0 netmask 0x80",
            "tcp 198.51.100.10:80 wrr flags 0x3 timeout 300 netmask 0xffffff00",
            "tcp [2001:db8::10]:443 mh flags 0x2 timeout 0 netmask 0x80",
            "udp 198.51.100.53:53 sh flags 0x6 timeout 0 netmask 0xffffffff",
        ]
    );
    let mut dests: Vec<String> = kernel_replies("dests")
        .iter()
        .map(|p| {
            let d = parse_dest(p, Family::Ipv4).unwrap().dest;
            format!(
                "{} {} w{} u{} l{} tun {}/{}/{}",
                d.key,
                d.method.name(),
                d.weight,
                d.u_threshold,
                d.l_threshold,
                d.tunnel.kind,
                d.tunnel.port,
                d.tunnel.flags
            )
        })
        .collect();
    dests.sort();
    assert_eq!(
        dests,
        [
            "203.0.113.1:8080 Masq w3 u100 l10 tun 0/0/0",
            "203.0.113.2:80 Route w0 u0 l0 tun 0/0/0",
            "203.0.113.53:53 Tunnel w1 u0 l0 tun 1/6080/2",
            "[2001:db8:1::1]:443 Masq w2 u0 l0 tun 0/0/0",
        ]
    );
    let daemon = parse_daemon(&kernel_replies("daemons")[0]).unwrap();
    assert_eq!((daemon.role, daemon.interface.as_str(), daemon.sync_id), (SyncRole::Backup, "lo", 9));
}

#[test]
fn real_kernel_replies_cut_short_are_errors() {
    for (kind, parse) in [
        ("services", (|p: &[u8]| parse_service(p).map(drop)) as fn(&[u8]) -> Result<(), Cause>),
        ("dests", |p| parse_dest(p, Family::Ipv4).map(drop)),
        ("daemons", |p| parse_daemon(p).map(drop)),
    ] {
        for reply in kernel_replies(kind) {
            for len in 0..reply.len() {
                assert!(parse(&reply[..len]).is_err(), "{kind} cut at {len} of {}", reply.len());
            }
        }
    }
}

proptest! {
    #[test]
    fn real_kernel_replies_corrupted_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        for kind in ["services", "dests", "daemons", "info", "family"] {
            for mut reply in kernel_replies(kind) {
                for (at, byte) in &flips {
                    let i = at.index(reply.len());
                    reply[i] = *byte;
                }
                let _ = parse_service(&reply);
                let _ = parse_dest(&reply, Family::Ipv6);
                let _ = parse_daemon(&reply);
                let _ = parse_info(&reply);
                let _ = parse_family_id(&reply);
            }
        }
    }
}
