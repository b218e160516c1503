//! The Internet checksum (RFC 1071) and the IP pseudo-headers upper layers sum over.

use std::net::IpAddr;

/// One's-complement sum of 16-bit big-endian words, not yet folded or inverted.
pub fn sum(data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    let mut acc: u32 = 0;
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Folds a running sum into the final checksum value.
pub fn finish(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Sum of the pseudo-header for `length` bytes of protocol `protocol` between `src` and
/// `dst`: RFC 768's IPv4 layout, RFC 8200 section 8.1's IPv6 layout. Mixed families give
/// `None`.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, length: u32) -> Option<u32> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let len = u16::try_from(length).ok()?;
            Some(sum(&s.octets()) + sum(&d.octets()) + u32::from(protocol) + u32::from(len))
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            Some(sum(&s.octets()) + sum(&d.octets()) + sum(&length.to_be_bytes()) + u32::from(protocol))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of 0001 f203 f4f5 f6f7 folds to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(sum(&data)), !0xddf2);
        // Odd length pads with a zero byte.
        assert_eq!(finish(sum(&[0xab])), !0xab00);
    }
}
