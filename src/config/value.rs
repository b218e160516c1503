//! Parsers for option values: each returns the typed value or what was expected instead.

use std::net::IpAddr;
use std::time::Duration;

/// Why a value was refused: what is wrong with it and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub what: String,
    pub expected: String,
}

/// Result of parsing one value.
pub type Parsed<T> = Result<T, Bad>;

fn bad<T>(what: impl Into<String>, expected: impl Into<String>) -> Parsed<T> {
    Err(Bad { what: what.into(), expected: expected.into() })
}

/// UCI booleans: 1/0, yes/no, on/off, true/false (also `enabled`/`disabled`, as UCI).
pub fn boolean(v: &str) -> Parsed<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "on" | "true" | "enabled" => Ok(true),
        "0" | "no" | "off" | "false" | "disabled" => Ok(false),
        _ => bad(format!("'{v}' is not a boolean"), "1/0, yes/no, on/off or true/false"),
    }
}

/// An integer in `lo..=hi`.
pub fn int(v: &str, lo: i64, hi: i64) -> Parsed<i64> {
    match v.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(_) => bad(format!("{v} is out of range"), format!("{lo}..{hi}")),
        Err(_) => bad(format!("'{v}' is not a whole number"), format!("{lo}..{hi}")),
    }
}

/// An unsigned integer in `lo..=hi`, returned in the caller's type.
pub fn uint<T: TryFrom<i64>>(v: &str, lo: i64, hi: i64) -> Parsed<T> {
    int(v, lo, hi).and_then(|n| T::try_from(n).or_else(|_| bad("value out of range", format!("{lo}..{hi}"))))
}

const DURATION_EXPECTED: &str = "a duration such as 500ms, 2s or 1m; a bare number is seconds";

/// A duration with a unit (`ms`, `s`, `m`, `h`); a bare number is seconds; decimals allowed.
/// Resolution is one millisecond.
pub fn duration(v: &str) -> Parsed<Duration> {
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        // `-1`, `s`, `x5`: no number in front of the unit.
        _ if number.is_empty() => return bad(format!("'{v}' is not a duration"), DURATION_EXPECTED),
        _ => return bad(format!("'{v}' has an unknown unit '{unit}'"), DURATION_EXPECTED),
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return bad(format!("'{v}' is not a duration"), DURATION_EXPECTED);
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| too_long(v))? };
    // Fractional part in millionths of the unit, so `0.001s` and `1.5ms` are both exact
    // enough to tell whether they land on a whole millisecond.
    let mut micro: u64 = 0;
    for (i, d) in frac.bytes().enumerate() {
        if i < 6 {
            micro += u64::from(d - b'0') * 10u64.pow(5 - i as u32);
        } else if d != b'0' {
            return bad(format!("'{v}' is finer than a millisecond"), DURATION_EXPECTED);
        }
    }
    let frac_micro_ms = micro * millis_per_unit;
    if frac_micro_ms % 1_000_000 != 0 {
        return bad(format!("'{v}' is finer than a millisecond"), DURATION_EXPECTED);
    }
    let millis = whole
        .checked_mul(millis_per_unit)
        .and_then(|m| m.checked_add(frac_micro_ms / 1_000_000))
        .filter(|&m| m <= MAX_MILLIS)
        .ok_or_else(|| too_long(v))?;
    Ok(Duration::from_millis(millis))
}

/// Longest duration accepted anywhere: 30 days.
const MAX_MILLIS: u64 = 30 * 24 * 3_600_000;

fn too_long(v: &str) -> Bad {
    Bad { what: format!("'{v}' is too long"), expected: "at most 30 days".into() }
}

/// Prints a duration so that [`duration`] reads it back exactly.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// An IPv4 or IPv6 address.
pub fn ip(v: &str) -> Parsed<IpAddr> {
    v.parse().or_else(|_| bad(format!("'{v}' is not an IP address"), "an IPv4 or IPv6 address"))
}

/// A multicast group address (224.0.0.0/4 or ff00::/8).
pub fn multicast(v: &str) -> Parsed<IpAddr> {
    let a = ip(v)?;
    if a.is_multicast() {
        Ok(a)
    } else {
        bad(format!("{a} is not a multicast address"), "a group in 224.0.0.0/4 or ff00::/8")
    }
}

/// `addr/len`, or a bare address (a host prefix, /32 or /128, as keepalived does).
pub fn prefix(v: &str) -> Parsed<(IpAddr, u8)> {
    const EXPECTED: &str = "address/prefix-length, e.g. 10.0.0.7/24 or 2001:db8::7/64";
    let (addr, len) = match v.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (v, None),
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return bad(format!("'{v}' is not an address with prefix length"), EXPECTED);
    };
    let max = max_prefix(addr);
    match len {
        None => Ok((addr, max)),
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => Ok((addr, n)),
            _ => bad(format!("prefix length '{l}' is not valid for {addr}"), format!("0..{max}")),
        },
    }
}

/// Longest prefix of the address's family.
pub fn max_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// A port 1..65535.
pub fn port(v: &str) -> Parsed<u16> {
    uint(v, 1, 65535)
}

/// An address with an optional port: `10.0.0.9`, `10.0.0.9:80`, `2001:db8::9`, `[2001:db8::9]:80`.
pub fn endpoint(v: &str) -> Parsed<(IpAddr, Option<u16>)> {
    const EXPECTED: &str = "address, address:port or [ipv6]:port";
    if let Ok(addr) = v.parse::<IpAddr>() {
        return Ok((addr, None));
    }
    let (host, p) = if let Some(rest) = v.strip_prefix('[') {
        match rest.split_once("]:") {
            Some((h, p)) => (h, p),
            None => return bad(format!("'{v}' is not an endpoint"), EXPECTED),
        }
    } else {
        match v.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, p),
            _ => return bad(format!("'{v}' is not an endpoint"), EXPECTED),
        }
    };
    let addr = host.parse::<IpAddr>().or_else(|_| bad(format!("'{host}' is not an IP address"), EXPECTED))?;
    Ok((addr, Some(port(p)?)))
}

/// A host name or address with an optional port: `smtp.example.org:587`, `[2001:db8::25]`.
pub fn host_port(v: &str) -> Parsed<(String, Option<u16>)> {
    const EXPECTED: &str = "host, host:port or [ipv6]:port";
    if v.parse::<IpAddr>().is_ok() {
        return Ok((v.to_owned(), None));
    }
    let (host, p) = if let Some(rest) = v.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, p)) if p.starts_with(':') => (h, Some(&p[1..])),
            _ => return bad(format!("'{v}' is not host[:port]"), EXPECTED),
        }
    } else {
        match v.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (v, None),
        }
    };
    if !is_host(host) {
        return bad(format!("'{host}' is not a host name or address"), EXPECTED);
    }
    let p = p.map(port).transpose()?;
    Ok((host.to_owned(), p))
}

/// A DNS host name (letters, digits, `-`, `.`) or an IP address.
pub fn is_host(h: &str) -> bool {
    h.parse::<IpAddr>().is_ok()
        || (!h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }))
}

/// A host name or address, as text.
pub fn host(v: &str) -> Parsed<String> {
    if is_host(v) {
        Ok(v.to_owned())
    } else {
        bad(format!("'{v}' is not a host name"), "a DNS name or address")
    }
}

/// A Linux interface name: 1..15 bytes, no `/`, `:` or whitespace.
pub fn interface(v: &str) -> Parsed<String> {
    if v.is_empty()
        || v.len() > 15
        || v == "."
        || v == ".."
        || v.bytes().any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        return bad(
            format!("'{v}' is not an interface name"),
            "1 to 15 characters without '/', ':' or spaces",
        );
    }
    Ok(v.to_owned())
}

/// `name` or `name:weight`, as in `track_interface` and `track_script` lists.
pub fn weighted_name(v: &str) -> Parsed<(String, Option<i16>)> {
    match v.rsplit_once(':') {
        None => Ok((v.to_owned(), None)),
        Some((name, w)) => match int(w, -253, 253) {
            Ok(w) => Ok((name.to_owned(), i16::try_from(w).ok())),
            Err(e) => {
                bad(format!("weight in '{v}': {}", e.what), "name or name:weight with weight -253..253")
            }
        },
    }
}

/// An e-mail address: one `@` with something on both sides and no spaces.
pub fn email(v: &str) -> Parsed<String> {
    match v.split_once('@') {
        Some((user, host)) if !user.is_empty() && is_host(host) && !v.contains(char::is_whitespace) => {
            Ok(v.to_owned())
        }
        _ => bad(format!("'{v}' is not an e-mail address"), "user@host"),
    }
}

/// A user name (POSIX portable characters).
pub fn user(v: &str) -> Parsed<String> {
    if !v.is_empty()
        && v.len() <= 32
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !v.starts_with('-')
    {
        Ok(v.to_owned())
    } else {
        bad(format!("'{v}' is not a user name"), "letters, digits, '.', '_' and '-'")
    }
}

/// A non-empty command line run by `/bin/sh -c`.
pub fn command(v: &str) -> Parsed<String> {
    if v.trim().is_empty() {
        bad("command is empty", "a command line")
    } else {
        Ok(v.to_owned())
    }
}

/// An absolute path.
pub fn path(v: &str) -> Parsed<String> {
    if v.starts_with('/') && !v.contains('\0') {
        Ok(v.to_owned())
    } else {
        bad(format!("'{v}' is not an absolute path"), "a path starting with /")
    }
}

/// One entry of a port list: `443` or a range `1812-1814`.
pub fn port_range(v: &str) -> Parsed<(u16, u16)> {
    match v.split_once('-') {
        None => port(v).map(|p| (p, p)),
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a <= b {
                Ok((a, b))
            } else {
                bad(format!("port range '{v}' runs backwards"), "low-high")
            }
        }
    }
}

/// One entry of `expect_status`: `200` or `200-299`.
pub fn status_range(v: &str) -> Parsed<(u16, u16)> {
    let code = |s: &str| uint::<u16>(s, 100, 599);
    let (a, b) = match v.split_once('-') {
        None => (code(v)?, code(v)?),
        Some((a, b)) => (code(a)?, code(b)?),
    };
    if a <= b {
        Ok((a, b))
    } else {
        bad(format!("status range '{v}' runs backwards"), "low-high")
    }
}

/// An MD5 digest as 32 hexadecimal digits.
pub fn digest(v: &str) -> Parsed<[u8; 16]> {
    let mut out = [0u8; 16];
    if v.len() != 32 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad(format!("'{v}' is not an MD5 digest"), "32 hexadecimal digits");
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&v[2 * i..2 * i + 2], 16).unwrap_or(0);
    }
    Ok(out)
}

/// A persistence netmask: a prefix length, or an IPv4 dotted mask such as 255.255.255.0.
pub fn netmask(v: &str) -> Parsed<u8> {
    if let Ok(len) = v.parse::<u8>() {
        if len <= 128 {
            return Ok(len);
        }
    }
    if let Ok(std::net::IpAddr::V4(m)) = v.parse::<IpAddr>() {
        let bits = u32::from(m);
        if bits.leading_ones() + bits.trailing_zeros() == 32 {
            return Ok(bits.leading_ones() as u8);
        }
    }
    bad(format!("'{v}' is not a netmask"), "a prefix length or a contiguous dotted mask")
}

/// One of a fixed set of words.
/// Case does not matter: keepalived habits (`state MASTER`, `lb_kind DR`) carry over.
pub fn keyword<T: Copy>(v: &str, table: &[(&str, T)]) -> Parsed<T> {
    table.iter().find(|(k, _)| k.eq_ignore_ascii_case(v)).map(|&(_, t)| t).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
        let mut what = format!("'{v}' is not known");
        if let Some(s) = super::suggest::closest(v, names.iter().copied()) {
            what.push_str(&format!(" (did you mean '{s}'?)"));
        }
        Bad { what, expected: names.join(", ") }
    })
}

/// The name of a word in a keyword table.
pub fn keyword_name<T: PartialEq>(t: T, table: &[(&'static str, T)]) -> &'static str {
    table.iter().find(|(_, v)| *v == t).map_or("?", |(k, _)| k)
}

/// Any non-empty text.
pub fn non_empty(v: &str) -> Parsed<String> {
    if v.is_empty() {
        Err(Bad { what: "value is empty".into(), expected: "some text".into() })
    } else {
        Ok(v.to_owned())
    }
}

/// A duration longer than zero.
pub fn positive(v: &str) -> Parsed<Duration> {
    let d = duration(v)?;
    if d.is_zero() {
        Err(Bad { what: "duration is zero".into(), expected: "a duration longer than 0".into() })
    } else {
        Ok(d)
    }
}

/// A duration within `lo..=hi`.
pub fn duration_in(v: &str, lo: Duration, hi: Duration) -> Parsed<Duration> {
    let d = duration(v)?;
    if d < lo || d > hi {
        Err(Bad {
            what: format!("{v} is out of range"),
            expected: format!("{}..{}", format_duration(lo), format_duration(hi)),
        })
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("1").unwrap(), Duration::from_secs(1));
        assert_eq!(duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(duration("0.92").unwrap(), Duration::from_millis(920));
        assert_eq!(duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(duration("1.5ms").unwrap_err().what, "'1.5ms' is finer than a millisecond");
        assert!(duration("s").is_err());
        assert!(duration("1x").is_err());
        assert!(duration("-1").is_err());
        assert!(duration("99999999999999999999").is_err());
        for ms in [0u64, 1, 10, 999, 1000, 1500, 60_000] {
            let d = Duration::from_millis(ms);
            assert_eq!(duration(&format_duration(d)).unwrap(), d);
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(endpoint("10.0.0.9:80").unwrap(), ("10.0.0.9".parse().unwrap(), Some(80)));
        assert_eq!(endpoint("2001:db8::9").unwrap(), ("2001:db8::9".parse().unwrap(), None));
        assert_eq!(endpoint("[2001:db8::9]:443").unwrap(), ("2001:db8::9".parse().unwrap(), Some(443)));
        assert!(endpoint("10.0.0.9:0").is_err());
        assert!(endpoint("host:80").is_err());
        assert_eq!(host_port("mail.example.org:587").unwrap(), ("mail.example.org".into(), Some(587)));
        assert_eq!(host_port("[2001:db8::25]").unwrap(), ("2001:db8::25".into(), None));
    }

    #[test]
    fn small_parsers() {
        assert_eq!(prefix("10.0.0.7").unwrap().1, 32);
        assert!(prefix("10.0.0.7/33").is_err());
        assert_eq!(netmask("255.255.255.0").unwrap(), 24);
        assert!(netmask("255.0.255.0").is_err());
        assert_eq!(port_range("1812-1814").unwrap(), (1812, 1814));
        assert!(port_range("80-20").is_err());
        assert_eq!(status_range("200-299").unwrap(), (200, 299));
        assert_eq!(weighted_name("eth1:-20").unwrap(), ("eth1".into(), Some(-20)));
        assert!(weighted_name("eth1:300").is_err());
        assert!(interface("averyveryverylongname").is_err());
        assert_eq!(digest("9b3a0c85a887a256d6939da88aabd8cd").unwrap()[0], 0x9b);
    }
}
