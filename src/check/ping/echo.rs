//! ICMP and ICMPv6 echo messages (RFC 792, RFC 4443 section 4): the request a `ping`
//! check sends and the reading of what comes back. Replies are outside input: lengths are
//! checked and nothing here panics.

/// Echo request and reply types per family.
const REQUEST_V4: u8 = 8;
const REPLY_V4: u8 = 0;
const REQUEST_V6: u8 = 128;
const REPLY_V6: u8 = 129;

/// Bytes after the ICMP header: marks the request as keeplite's, and fills it to the
/// usual 64-byte ping (with the header) without telling anything about the host.
pub const PAYLOAD: &[u8; 56] = b"keeplite ping check, 56 bytes of data to match the reply";

/// An echo request on the wire: header and payload.
pub const REQUEST_LEN: usize = 8 + PAYLOAD.len();

/// Writes an echo request with `id` and `seq`. IPv4's checksum is filled in (a raw socket
/// sends it as it is; a datagram socket fills it in itself); ICMPv6's is left to the
/// kernel, which must add the pseudo-header of the addresses it picks.
pub fn request(ipv6: bool, id: u16, seq: u16) -> [u8; REQUEST_LEN] {
    let mut m = [0u8; REQUEST_LEN];
    m[0] = if ipv6 { REQUEST_V6 } else { REQUEST_V4 };
    m[4..6].copy_from_slice(&id.to_be_bytes());
    m[6..8].copy_from_slice(&seq.to_be_bytes());
    m[8..].copy_from_slice(PAYLOAD);
    if !ipv6 {
        let sum = checksum(&m);
        m[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    m
}

/// True when `msg` is the echo reply to the request with `id` (`None`: any, when the
/// kernel matched it already) and `seq`, its payload returned whole. An IPv4 raw socket
/// hands over the IP header too (`ip_header`): it is skipped by its own length.
pub fn is_reply(msg: &[u8], ipv6: bool, ip_header: bool, id: Option<u16>, seq: u16) -> bool {
    let icmp = if ip_header {
        let Some(&first) = msg.first() else { return false };
        if first >> 4 != 4 {
            return false;
        }
        match msg.get(usize::from(first & 0x0f) * 4..) {
            Some(rest) => rest,
            None => return false,
        }
    } else {
        msg
    };
    let Some(header) = icmp.get(..8) else { return false };
    let reply = if ipv6 { REPLY_V6 } else { REPLY_V4 };
    header[0] == reply
        && header[1] == 0
        && id.is_none_or(|id| header[4..6] == id.to_be_bytes())
        && header[6..8] == seq.to_be_bytes()
        && icmp.get(8..) == Some(&PAYLOAD[..])
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_on_the_wire() {
        let r = request(false, 0x1234, 7);
        assert_eq!(&r[..8], [8, 0, r[2], r[3], 0x12, 0x34, 0, 7]);
        // A message with its checksum in sums to zero.
        assert_eq!(checksum(&r), 0);
        let r6 = request(true, 1, 2);
        assert_eq!(&r6[..8], [128, 0, 0, 0, 0, 1, 0, 2]);
        assert_eq!(r.len(), 64);
    }

    /// The reply the kernel would hand over for `request`.
    fn reply_to(request: &[u8], ipv6: bool) -> Vec<u8> {
        let mut m = request.to_vec();
        m[0] = if ipv6 { REPLY_V6 } else { REPLY_V4 };
        m
    }

    #[test]
    fn replies_match_type_id_sequence_and_payload() {
        let r = reply_to(&request(false, 9, 3), false);
        assert!(is_reply(&r, false, false, Some(9), 3));
        assert!(is_reply(&r, false, false, None, 3));
        assert!(!is_reply(&r, false, false, Some(8), 3), "another id");
        assert!(!is_reply(&r, false, false, Some(9), 4), "another sequence");
        assert!(!is_reply(&request(false, 9, 3), false, false, Some(9), 3), "the request itself (loopback)");
        assert!(!is_reply(&r[..40], false, false, Some(9), 3), "cut short");
        assert!(!is_reply(&r, true, false, Some(9), 3), "not ICMPv6's type");
        assert!(is_reply(&reply_to(&request(true, 9, 3), true), true, false, Some(9), 3));
        // Behind an IPv4 header of 24 bytes (with options).
        let mut with_ip = vec![0x46];
        with_ip.extend_from_slice(&[0; 23]);
        with_ip.extend_from_slice(&r);
        assert!(is_reply(&with_ip, false, true, Some(9), 3));
        assert!(!is_reply(&with_ip[..20], false, true, Some(9), 3));
        assert!(!is_reply(&[], false, true, None, 3));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(msg in proptest::collection::vec(any::<u8>(), 0..200), v6: bool, ip: bool) {
            let _ = is_reply(&msg, v6, ip, Some(1), 1);
            let _ = checksum(&msg);
        }
    }
}
