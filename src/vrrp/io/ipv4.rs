//! Splitting a received IPv4 packet (IPv4 raw sockets deliver the header) into the
//! addresses, TTL and payload VRRP needs. Pure and panic-free on any input.

use std::fmt;
use std::net::Ipv4Addr;

/// Length of an IPv4 header without options.
const MIN_HEADER: usize = 20;

/// The parts of a received IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub protocol: u8,
    /// The bytes after the header (and its options), up to the header's total length.
    pub payload: &'a [u8],
    /// The total length claims more bytes than were received.
    pub truncated: bool,
}

/// Why bytes are not an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer bytes than the header needs.
    Short(usize),
    /// Version other than 4.
    Version(u8),
    /// Header length (IHL, in 32-bit words) below 5.
    HeaderLength(u8),
    /// Total length smaller than the header.
    TotalLength(u16),
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::Short(n) => write!(f, "IPv4 packet of {n} bytes is shorter than its header"),
            HeaderError::Version(v) => write!(f, "IP version {v} on an IPv4 socket"),
            HeaderError::HeaderLength(ihl) => write!(f, "IPv4 header length {ihl} words is below 5"),
            HeaderError::TotalLength(n) => write!(f, "IPv4 total length {n} is shorter than the header"),
        }
    }
}

/// Splits `packet` (as an IPv4 raw socket delivers it) into header fields and payload.
pub fn split(packet: &[u8]) -> Result<Split<'_>, HeaderError> {
    let Some(fixed) = packet.get(..MIN_HEADER) else {
        return Err(HeaderError::Short(packet.len()));
    };
    let version = fixed[0] >> 4;
    if version != 4 {
        return Err(HeaderError::Version(version));
    }
    let ihl = fixed[0] & 0x0f;
    if usize::from(ihl) * 4 < MIN_HEADER {
        return Err(HeaderError::HeaderLength(ihl));
    }
    let header_len = usize::from(ihl) * 4;
    let total = u16::from_be_bytes([fixed[2], fixed[3]]);
    if usize::from(total) < header_len {
        return Err(HeaderError::TotalLength(total));
    }
    // Options longer than what arrived: nothing of the payload is here.
    let Some(after_header) = packet.get(header_len..) else {
        return Err(HeaderError::Short(packet.len()));
    };
    let claimed = usize::from(total) - header_len;
    let truncated = after_header.len() < claimed;
    let payload = &after_header[..claimed.min(after_header.len())];
    Ok(Split {
        src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]),
        dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]),
        ttl: fixed[8],
        protocol: fixed[9],
        payload,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An IPv4 header with `options` words of options in front of `payload`.
    fn packet(options: usize, payload: &[u8], ttl: u8) -> Vec<u8> {
        let header_len = MIN_HEADER + 4 * options;
        let mut p = vec![0u8; header_len];
        p[0] = 0x40 | (header_len / 4) as u8;
        p[2..4].copy_from_slice(&((header_len + payload.len()) as u16).to_be_bytes());
        p[8] = ttl;
        p[9] = 112;
        p[12..16].copy_from_slice(&[198, 51, 100, 1]);
        p[16..20].copy_from_slice(&[224, 0, 0, 18]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn keepalived_capture() {
        let captured = include_bytes!("../../../tests/fixtures/vrrp/v3-ipv4.bin");
        let s = split(captured).unwrap();
        assert_eq!((s.ttl, s.protocol, s.truncated), (255, 112, false));
        assert_eq!(s.dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(s.payload, &captured[20..]);
    }

    #[test]
    fn options_padding_and_truncation() {
        let body = [0x31, 7, 100, 1, 0, 100, 0, 0, 1, 2, 3, 4];
        let p = packet(3, &body, 64);
        let s = split(&p).unwrap();
        assert_eq!((s.payload, s.ttl, s.truncated), (&body[..], 64, false));
        // Link-layer padding after the total length is not payload.
        let mut padded = p.clone();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(split(&padded).unwrap().payload, &body[..]);
        // A short receive buffer cut the packet.
        let cut = split(&p[..p.len() - 2]).unwrap();
        assert_eq!((cut.payload, cut.truncated), (&body[..body.len() - 2], true));
        assert_eq!(split(&p[..30]), Err(HeaderError::Short(30)));
        assert_eq!(split(&p[..19]), Err(HeaderError::Short(19)));
        let mut bad = p.clone();
        bad[0] = 0x45 - 1;
        assert_eq!(split(&bad), Err(HeaderError::HeaderLength(4)));
        bad[0] = 0x65;
        assert_eq!(split(&bad), Err(HeaderError::Version(6)));
        let mut bad = p;
        bad[2..4].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(split(&bad), Err(HeaderError::TotalLength(20)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(s) = split(&bytes) {
                let header_len = usize::from(bytes[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
                prop_assert!(header_len >= MIN_HEADER && bytes.len() >= header_len);
                prop_assert_eq!(s.payload, &bytes[header_len..total.min(bytes.len())]);
                prop_assert_eq!(s.truncated, total > bytes.len());
            }
        }

        #[test]
        fn well_formed_packets_split_exactly(
            options in 0usize..=10,
            payload in proptest::collection::vec(any::<u8>(), 0..100),
            ttl in any::<u8>(),
            padding in 0usize..8,
        ) {
            let mut p = packet(options, &payload, ttl);
            p.extend(std::iter::repeat_n(0, padding));
            let s = split(&p).unwrap();
            prop_assert_eq!(s.payload, &payload[..]);
            prop_assert_eq!((s.ttl, s.truncated), (ttl, false));
        }
    }
}
