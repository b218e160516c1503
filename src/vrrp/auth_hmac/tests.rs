use super::*;
use crate::config::model::{HmacKey, Secret};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn key(id: u8, bytes: &[u8]) -> HmacKey {
    HmacKey { id, written: String::new(), secret: Secret(bytes.iter().copied().collect()) }
}

/// The draft appendix's key: bytes 0x00 to 0x1f, id 1.
fn settings(anti_replay: AntiReplay) -> Settings {
    let bytes: Vec<u8> = (0..32).collect();
    Settings {
        keys: [key(1, &bytes)].into_iter().collect(),
        active_key: 1,
        mode: HmacMode::Enforce,
        anti_replay,
        window: 5,
    }
}

fn v6(vrid: u8) -> AuthHmac {
    AuthHmac::new(settings(AntiReplay::Time), true, 3, vrid)
}

/// A v3 advert for VRID 51, priority 200, one address.
fn message(addr: IpAddr) -> Vec<u8> {
    let mut m = vec![0x31, 51, 200, 1, 0x00, 0x64, 0, 0];
    match addr {
        IpAddr::V4(a) => m.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => m.extend_from_slice(&a.octets()),
    }
    m
}

fn at(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Now, in the tests' clock.
const NOW: u64 = 1_800_000_000;

#[test]
fn hmac_sha256_matches_rfc_4231() {
    let case1 = hmac_sha256(&[0x0b; 20], &[b"Hi There"]);
    assert_eq!(case1.to_vec(), hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    let case2 = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
    assert_eq!(case2.to_vec(), hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    // A key longer than the block is hashed first.
    let case6 = hmac_sha256(&[0xaa; 131], &[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
    assert_eq!(case6.to_vec(), hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

/// The draft appendix's wire images (keepalived's unit test carries them): sequence
/// 0x6800000080000000, far from any clock today, so checked in monotonic mode.
#[test]
fn the_draft_appendix_vectors_verify() {
    let vectors = [
        (
            "3133c80100644402c0000264",
            "010100006800000080000000",
            "1b84bc4e8e43892dc6d98448f8ee2265",
            "198.51.100.10",
            false,
        ),
        (
            "3133c8010064a2e9fe800000000000000000000000000100",
            "010100006800000080000000",
            "c8c56146ebfd66ee10ec4d8186461b78",
            "fe80::10",
            true,
        ),
    ];
    for (msg, head, mac, src, ipv6) in vectors {
        let mut auth = AuthHmac::new(settings(AntiReplay::Monotonic), ipv6, 3, 51);
        let rest = [hex(head), hex(mac)].concat();
        let src: IpAddr = src.parse().unwrap();
        assert_eq!(
            auth.verify(at(NOW), src, &hex(msg), &rest),
            Ok(Accepted::Signed { skew: NOW as i32 - 0x6800_0000 })
        );
        // And what keeplite signs with that sequence is that trailer.
        let mut signer = AuthHmac::new(settings(AntiReplay::Monotonic), ipv6, 3, 51);
        let wall = Duration::from_secs(0x6800_0000) + Duration::from_millis(500);
        assert_eq!(signer.sign(wall, src, &hex(msg)).to_vec(), rest);
    }
}

#[test]
fn one_changed_byte_is_refused_for_what_it_is() {
    let msg = hex("3133c8010064a2e9fe800000000000000000000000000100");
    let rest = hex("010100006800000080000000c8c56146ebfd66ee10ec4d8186461b78");
    let src: IpAddr = "fe80::10".parse().unwrap();
    let check = |msg: &[u8], rest: &[u8], src: IpAddr, vrid: u8| {
        AuthHmac::new(settings(AntiReplay::Monotonic), true, 3, vrid).verify(at(NOW), src, msg, rest)
    };
    let flipped = |bytes: &[u8], at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 1;
        b
    };
    for (what, at, expected) in [
        ("priority", 2, Err(Reject::Digest)),
        ("advert interval", 5, Err(Reject::Digest)),
        ("address", 8 + 15, Err(Reject::Digest)),
    ] {
        assert_eq!(check(&flipped(&msg, at), &rest, src, 51), expected, "{what}");
    }
    // The checksum is not covered: an IPv6 checksum covers the trailer.
    assert!(check(&flipped(&msg, 6), &rest, src, 51).is_ok());
    for (what, at, expected) in [
        ("extension type", 0, Reject::Malformed),
        ("key id", 1, Reject::UnknownKey),
        ("reserved", 2, Reject::Malformed),
        ("seconds", 4, Reject::Digest),
        ("counter", 10, Reject::Digest),
        ("hmac", 12, Reject::Digest),
    ] {
        assert_eq!(check(&msg, &flipped(&rest, at), src, 51), Err(expected), "{what}");
    }
    // The pseudo header binds the sender and the VRID.
    assert_eq!(check(&msg, &rest, "fe80::20".parse().unwrap(), 51), Err(Reject::Digest));
    assert_eq!(check(&msg, &rest, src, 52), Err(Reject::Digest));
    // Bytes after the message that are not a trailer.
    assert_eq!(check(&msg, &rest[..27], src, 51), Err(Reject::Malformed));
    assert_eq!(check(&msg, &[rest.clone(), vec![0]].concat(), src, 51), Err(Reject::Malformed));
}

#[test]
fn a_signed_advert_is_taken_once_by_each_receiver() {
    let src: IpAddr = "fe80::10".parse().unwrap();
    let msg = message("fe80::100".parse().unwrap());
    let mut sender = v6(51);
    let trailer = sender.sign(at(NOW), src, &msg);
    let (mut a, mut b) = (v6(51), v6(51));
    assert_eq!(a.verify(at(NOW), src, &msg, &trailer), Ok(Accepted::Signed { skew: 0 }));
    assert_eq!(a.verify(at(NOW), src, &msg, &trailer), Err(Reject::Replay));
    // One trailer for every unicast peer: each receiver has its own marks.
    assert_eq!(b.verify(at(NOW + 1), src, &msg, &trailer), Ok(Accepted::Signed { skew: 1 }));
    // The next advert, even within the same 1/65536 s, carries a larger sequence.
    let next = sender.sign(at(NOW), src, &msg);
    assert_ne!(next, trailer);
    assert!(a.verify(at(NOW), src, &msg, &next).is_ok());
    assert_eq!(a.verify(at(NOW), src, &msg, &trailer), Err(Reject::Replay));
}

#[test]
fn the_window_sheds_old_and_future_timestamps() {
    let src: IpAddr = "fe80::10".parse().unwrap();
    let msg = message("fe80::100".parse().unwrap());
    let mut sender = v6(51);
    for sent in [NOW - 100, NOW + 100] {
        let trailer = sender.sign(at(sent), src, &msg);
        assert_eq!(v6(51).verify(at(NOW), src, &msg, &trailer), Err(Reject::Stale));
    }
    let trailer = sender.sign(at(NOW - 5), src, &msg);
    assert_eq!(v6(51).verify(at(NOW), src, &msg, &trailer), Ok(Accepted::Signed { skew: 5 }));
    // Monotonic mode needs no clock.
    let mut monotonic = AuthHmac::new(settings(AntiReplay::Monotonic), true, 3, 51);
    let mut old = AuthHmac::new(settings(AntiReplay::Monotonic), true, 3, 51);
    let trailer = old.sign(at(NOW - 100_000), src, &msg);
    assert!(monotonic.verify(at(NOW), src, &msg, &trailer).is_ok());
}

#[test]
fn a_clock_stepped_back_restarts_the_sequence_in_time_mode_only() {
    let src: IpAddr = "fe80::10".parse().unwrap();
    let msg = message("fe80::100".parse().unwrap());
    let seconds = |t: [u8; TRAILER_LEN]| u32::from_be_bytes([t[4], t[5], t[6], t[7]]);
    let counter = |t: [u8; TRAILER_LEN]| u16::from_be_bytes([t[10], t[11]]);

    let mut sender = v6(51);
    sender.sign(at(NOW + 3600), src, &msg);
    let t = sender.sign(at(NOW), src, &msg);
    assert_eq!(seconds(t), NOW as u32, "beyond the window: back to the clock");
    sender.sign(at(NOW + 3), src, &msg);
    let t = sender.sign(at(NOW), src, &msg);
    assert_eq!((seconds(t), counter(t)), (NOW as u32 + 3, 1), "within the window: one above the last");

    let mut sender = AuthHmac::new(settings(AntiReplay::Monotonic), true, 3, 51);
    sender.sign(at(NOW + 3600), src, &msg);
    let t = sender.sign(at(NOW), src, &msg);
    assert_eq!((seconds(t), counter(t)), (NOW as u32 + 3600, 1), "monotonic: always grows");

    // A receiver's mark from beyond the window expires in time mode, so the restarted
    // sender is heard again; in monotonic mode it stays.
    let mut receiver = v6(51);
    let mut ahead = v6(51);
    let future = ahead.sign(at(NOW + 3), src, &msg);
    assert!(receiver.verify(at(NOW), src, &msg, &future).is_ok());
    let later = v6(51).sign(at(NOW + 1), src, &msg);
    assert_eq!(receiver.verify(at(NOW + 1), src, &msg, &later), Err(Reject::Replay));
    let much_later = v6(51).sign(at(NOW + 9), src, &msg);
    assert!(receiver.verify(at(NOW + 9), src, &msg, &much_later).is_ok());
}

#[test]
fn the_first_sequence_is_the_clock_also_past_2038() {
    let src: IpAddr = "fe80::10".parse().unwrap();
    let msg = message("fe80::100".parse().unwrap());
    for secs in [NOW, 1u64 << 31, (1u64 << 32) - 2] {
        let t = v6(51).sign(at(secs), src, &msg);
        assert_eq!(u32::from_be_bytes([t[4], t[5], t[6], t[7]]), secs as u32);
    }
}

#[test]
fn modes_decide_what_an_unsigned_advert_gets() {
    let src: IpAddr = "fe80::10".parse().unwrap();
    let msg = message("fe80::100".parse().unwrap());
    let with = |mode| AuthHmac::new(Settings { mode, ..settings(AntiReplay::Time) }, true, 3, 51);
    assert_eq!(with(HmacMode::Enforce).verify(at(NOW), src, &msg, &[]), Err(Reject::Missing));
    assert_eq!(with(HmacMode::Permissive).verify(at(NOW), src, &msg, &[]), Ok(Accepted::Unsigned));
    assert_eq!(with(HmacMode::ReceiveOnly).verify(at(NOW), src, &msg, &[]), Ok(Accepted::Unsigned));
    assert!(with(HmacMode::Enforce).signs() && with(HmacMode::Permissive).signs());
    assert!(!with(HmacMode::ReceiveOnly).signs());
    // A bad signature is refused whatever the mode.
    let mut trailer = v6(51).sign(at(NOW), src, &msg);
    trailer[20] ^= 1;
    assert_eq!(with(HmacMode::Permissive).verify(at(NOW), src, &msg, &trailer), Err(Reject::Digest));
}

#[test]
fn a_rotation_accepts_every_configured_key() {
    let src: IpAddr = "192.0.2.10".parse().unwrap();
    let msg = message("192.0.2.100".parse().unwrap());
    let old = key(1, &[1; 32]);
    let new = key(2, &[2; 64]);
    let with = |keys: &[HmacKey], active| {
        let s = Settings {
            keys: keys.iter().cloned().collect(),
            active_key: active,
            ..settings(AntiReplay::Time)
        };
        AuthHmac::new(s, false, 2, 51)
    };
    let mut both = with(&[old.clone(), new.clone()], 1);
    let signed_old = with(std::slice::from_ref(&old), 1).sign(at(NOW), src, &msg);
    let signed_new = with(std::slice::from_ref(&new), 2).sign(at(NOW + 1), src, &msg);
    assert!(both.verify(at(NOW), src, &msg, &signed_old).is_ok());
    assert!(both.verify(at(NOW + 1), src, &msg, &signed_new).is_ok());
    let signed_new = with(std::slice::from_ref(&new), 2).sign(at(NOW + 2), src, &msg);
    assert_eq!(with(&[old], 1).verify(at(NOW + 2), src, &msg, &signed_new), Err(Reject::UnknownKey));
    // Same id, other bytes: the digest differs.
    let imposter = with(&[key(2, &[3; 32])], 2).sign(at(NOW + 2), src, &msg);
    assert_eq!(both.verify(at(NOW + 2), src, &msg, &imposter), Err(Reject::Digest));
}

#[test]
fn only_signed_senders_take_a_place_and_the_oldest_leaves() {
    let msg = message("192.0.2.100".parse().unwrap());
    let v4 = || AuthHmac::new(settings(AntiReplay::Time), false, 3, 51);
    let mut receiver = v4();
    let first: IpAddr = "192.0.2.1".parse().unwrap();
    let first_trailer = v4().sign(at(NOW), first, &msg);
    assert!(receiver.verify(at(NOW), first, &msg, &first_trailer).is_ok());
    // Forgeries from many addresses change nothing.
    for i in 0..100u8 {
        let forged = [
            EXT_SHA256, 1, 0, 0, 0x6b, 0x49, 0xd2, 0x00, 0, 0, 0, i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0,
        ];
        let src = IpAddr::from([10, 0, 0, i]);
        assert!(receiver.verify(at(NOW), src, &msg, &forged).is_err());
    }
    assert_eq!(receiver.senders.len(), 1);
    assert_eq!(receiver.verify(at(NOW), first, &msg, &first_trailer), Err(Reject::Replay));
    // As many signed senders as there are places push the first out: its replay is
    // taken again (the window still bounds how old it can be).
    for i in 0..limits::HMAC_SENDERS as u8 {
        let src = IpAddr::from([198, 51, 100, i]);
        let t = v4().sign(at(NOW), src, &msg);
        assert!(receiver.verify(at(NOW), src, &msg, &t).is_ok());
    }
    assert_eq!(receiver.senders.len(), limits::HMAC_SENDERS);
    assert!(receiver.verify(at(NOW), first, &msg, &first_trailer).is_ok());
}

proptest! {
    /// Whatever follows a message, verifying it ends in a verdict, never a panic; and a
    /// receiver takes a signed advert only as it was signed.
    #[test]
    fn any_bytes_get_a_verdict(
        msg in proptest::collection::vec(any::<u8>(), 0..64),
        rest in proptest::collection::vec(any::<u8>(), 0..40),
        flip in 0usize..(64 + TRAILER_LEN),
        bit in 0u8..8,
    ) {
        let src: IpAddr = "192.0.2.10".parse().unwrap();
        let mut receiver = AuthHmac::new(settings(AntiReplay::Time), false, 3, 51);
        let _ = receiver.verify(at(NOW), src, &msg, &rest);

        let trailer = AuthHmac::new(settings(AntiReplay::Time), false, 3, 51).sign(at(NOW), src, &msg);
        let mut signed = [msg.clone(), trailer.to_vec()].concat();
        let flip = flip % signed.len();
        signed[flip] ^= 1 << bit;
        let (m, t) = signed.split_at(msg.len());
        let verdict = AuthHmac::new(settings(AntiReplay::Time), false, 3, 51).verify(at(NOW), src, m, t);
        let in_checksum = CHECKSUM.contains(&flip) && flip < msg.len();
        prop_assert_eq!(verdict.is_ok(), in_checksum, "flipped byte {}", flip);
    }
}
