//! Property tests of everything that decodes what the kernel sends: replies and
//! notifications are untrusted bytes, so no input may panic, and garbage next to good
//! messages must be skipped without losing the good ones.

use super::address::tests::newaddr;
use super::address::{Address, RTM_DELADDR, RTM_NEWADDR};
use super::frame::tests::{error, message};
use super::frame::{frames, Pending, Step};
use super::link::tests::newlink;
use super::link::{Link, RTM_DELLINK, RTM_NEWLINK};
use super::monitor::tests::decode_all;
use super::monitor::{Decoded, Event};
use netlink_packet_route::link::LinkFlags;
use proptest::prelude::*;
use std::net::IpAddr;

/// Message types worth aiming at: the four decoded ones, the control messages, others.
fn kind() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(RTM_NEWLINK),
        Just(RTM_DELLINK),
        Just(RTM_NEWADDR),
        Just(RTM_DELADDR),
        1u16..5,
        any::<u16>(),
    ]
}

/// Attribute values: arbitrary, or of the sizes real attributes have (numbers, MACs,
/// addresses, names), so that decoding also succeeds and goes on to the next attribute.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(any::<u8>(), 1),
        prop::collection::vec(any::<u8>(), 4),
        prop::collection::vec(any::<u8>(), 6),
        prop::collection::vec(any::<u8>(), 16),
        "[a-z0-9.]{1,16}".prop_map(|s| [s.as_bytes(), &[0]].concat()),
    ]
}

/// Attribute lists with plausible framing and arbitrary contents, aimed at `kinds`.
fn attributes(kinds: &'static [u16]) -> impl Strategy<Value = Vec<u8>> {
    let one = (prop_oneof![3 => prop::sample::select(kinds), 1 => any::<u16>()], value());
    prop::collection::vec(one, 0..8).prop_map(|nlas| {
        let mut out = Vec::new();
        for (kind, value) in nlas {
            out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
            out.extend_from_slice(&kind.to_ne_bytes());
            out.extend_from_slice(&value);
            while out.len() % 4 != 0 {
                out.push(0);
            }
        }
        out
    })
}

/// Link payloads: a well-formed header, then attributes aimed at the ones keeplite reads
/// (and a few nested ones netlink-packet-route would parse if asked).
fn link_payload() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(any::<u8>(), 16), attributes(&[1, 3, 4, 5, 16, 18, 23, 26, 7, 29]))
        .prop_map(|(header, nlas)| [header, nlas].concat())
}

/// Address payloads: a header of family IPv4, IPv6 or other, then attributes.
fn address_payload() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![2 => Just(2u8), 2 => Just(10u8), 1 => any::<u8>()],
        prop::collection::vec(any::<u8>(), 7),
        attributes(&[1, 2, 3, 6, 8]),
    )
        .prop_map(|(family, header, nlas)| [vec![family], header, nlas].concat())
}

/// Route and rule payloads: a 12-byte header of family IPv4, IPv6 or other, then
/// attributes aimed at the ones keeplite reads.
fn rtmsg_payload() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![2 => Just(2u8), 2 => Just(10u8), 1 => any::<u8>()],
        prop::collection::vec(any::<u8>(), 11),
        attributes(&[1, 2, 3, 4, 5, 6, 7, 10, 15, 16, 17, 21]),
    )
        .prop_map(|(family, header, nlas)| [vec![family], header, nlas].concat())
}

/// Well-framed messages with garbage payloads.
fn framed_garbage() -> impl Strategy<Value = Vec<u8>> {
    let payload = prop_oneof![link_payload(), address_payload(), prop::collection::vec(any::<u8>(), 0..64)];
    prop::collection::vec((kind(), any::<u16>(), any::<u32>(), payload), 0..6).prop_map(|msgs| {
        msgs.into_iter()
            .flat_map(|(kind, flags, seq, payload)| message(kind, flags, seq, 0, &payload))
            .collect()
    })
}

/// Datagrams: raw bytes, or framed garbage with raw bytes after it.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (framed_garbage(), prop::collection::vec(any::<u8>(), 0..32)).prop_map(|(a, b)| [a, b].concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn payload_decoders_never_panic(link in link_payload(), addr in address_payload(), raw in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = Link::parse(&link);
        let _ = Link::parse(&raw);
        if let Some(a) = Address::parse(&addr) {
            // Whatever decodes is self-consistent.
            let max = if a.addr.is_ipv4() { 32 } else { 128 };
            prop_assert!(a.prefix <= max);
            prop_assert!(a.index != 0);
        }
        let _ = Address::parse(&raw);
    }

    #[test]
    fn route_and_rule_decoders_never_panic(payload in rtmsg_payload(), raw in prop::collection::vec(any::<u8>(), 0..128)) {
        for bytes in [&payload, &raw] {
            if let Some(r) = super::route::Route::parse(bytes) {
                // Whatever decodes is self-consistent, and encodes back to itself.
                let max = if r.dst.is_ipv4() { 32 } else { 128 };
                prop_assert!(r.dst_len <= max);
                prop_assert!(r.gateway.is_none_or(|g| g.is_ipv4() == r.dst.is_ipv4()));
                prop_assert_eq!(super::route::Route::parse(&r.encode()), Some(r));
            }
            if let Some(r) = super::rule::Rule::parse(bytes) {
                prop_assert!(r.src.is_none_or(|(a, _)| a.is_ipv6() == r.v6));
                let again = super::rule::Rule::parse(&r.encode());
                prop_assert!(again.is_some());
            }
        }
    }

    #[test]
    fn framing_and_notifications_never_panic(bytes in datagram()) {
        let decoded = decode_all(&bytes);
        let framed = frames(&bytes).count();
        prop_assert_eq!(decoded.len(), framed);
        // Framing always makes progress and ends.
        prop_assert!(framed <= bytes.len() / 16 + 1);
    }

    #[test]
    fn replies_never_panic_and_a_request_ends_only_on_its_own_answer(bytes in datagram(), seq in 1u32.., port in any::<u32>()) {
        let mut pending = Pending::new(seq, port);
        for frame in frames(&bytes) {
            if let Step::Data(f) = pending.step(frame) {
                prop_assert_eq!((f.seq, f.port), (seq, port));
            }
        }
        // Garbage for other requests (other seq), then our ACK: the request succeeds.
        let mut pending = Pending::new(seq, port);
        let mut stream = message(RTM_NEWLINK, 0, seq.wrapping_add(1), port, &bytes);
        stream.extend(error(seq, port, 0));
        let ends: Vec<_> = frames(&stream).map(|f| pending.step(f)).collect();
        prop_assert_eq!(ends.last(), Some(&Step::Finished(Ok(()))));
        prop_assert!(ends[..ends.len() - 1].iter().all(|s| *s == Step::Skip));
    }

    #[test]
    fn garbage_between_notifications_is_skipped(garbage in framed_garbage(), tail in prop::collection::vec(any::<u8>(), 0..40), last in any::<u8>()) {
        let addr: IpAddr = [198, 51, 100, last].into();
        let mut bytes = message(RTM_NEWLINK, 0, 0, 0, &newlink(2, "eth0", LinkFlags::Up | LinkFlags::Running, vec![]));
        bytes.extend(&garbage);
        bytes.extend(message(RTM_NEWADDR, 0, 0, 0, &newaddr(2, addr, 24, 0)));
        bytes.extend(&tail);
        let decoded = decode_all(&bytes);
        let garbage_frames = frames(&garbage).count();
        prop_assert!(matches!(&decoded[0], Decoded::Event(Event::Link(l)) if l.is_up() && l.name.as_str() == "eth0"));
        prop_assert!(
            matches!(&decoded[1 + garbage_frames], Decoded::Event(Event::AddressAdded(a)) if a.addr == addr && a.prefix == 24),
            "{:?}", decoded
        );
    }
}
