//! The settings of the `udp`, `dns`, `file`, `process` and `bfd` check types, and the
//! parsers of their values.

use super::reader::Reader;
use crate::config::model::*;
use crate::config::value::{self, Bad, Parsed};
use crate::limits;
use heapless::Vec as Fixed;
use std::time::Duration;

/// Options of udp checks.
pub const UDP: &[&str] = &["payload", "payload_hex", "require_reply", "expect", "expect_hex"];
/// Options of dns checks.
pub const DNS: &[&str] = &["dns_name", "dns_type", "dns_expect"];
/// Options of file checks.
pub const FILE: &[&str] = &["file"];
/// Options of process checks.
pub const PROCESS: &[&str] = &[
    "process",
    "args",
    "param_match",
    "full_command",
    "quorum",
    "quorum_max",
    "fork_delay",
    "terminate_delay",
];
/// Options of bfd checks.
pub const BFD: &[&str] =
    &["min_rx", "min_tx", "idle_tx", "multiplier", "passive", "ttl", "max_hops", "multihop"];
/// Options of the checks whose result weighs on something (file, process, bfd checks).
pub const WEIGHT: &[&str] = &["weight", "reverse"];
/// The kernel keeps 15 bytes of a process name (`TASK_COMM_LEN` less its NUL).
const COMM_BYTES: usize = 15;

/// Reads a `udp` check's settings.
pub fn udp(r: &mut Reader) -> UdpCheck {
    let payload = one_of(
        r,
        "payload",
        "payload_hex",
        |v| Ok(pattern_of_text(v)?.bytes),
        |v| {
            let p = hex_pattern(v, false)?;
            Ok(p.bytes)
        },
    );
    let expect = one_of(r, "expect", "expect_hex", pattern_of_text, |v| hex_pattern(v, true));
    let require_reply = r.or("require_reply", expect.is_some(), value::boolean);
    if !require_reply && expect.is_some() {
        r.fail("require_reply", "is off but expect is set", "require_reply on, or no expect");
    }
    UdpCheck { payload: payload.unwrap_or_default(), require_reply, expect }
}

/// The value of `text` or of `hex` (two spellings of one setting), not both.
fn one_of<T>(
    r: &mut Reader,
    text: &str,
    hex: &str,
    parse_text: impl Fn(&str) -> Parsed<T>,
    parse_hex: impl Fn(&str) -> Parsed<T>,
) -> Option<T> {
    if r.has(text) && r.has(hex) {
        r.fail(hex, format!("is set together with {text}"), format!("{text} or {hex}, not both"));
        return None;
    }
    r.one(text, parse_text).or_else(|| r.one(hex, parse_hex))
}

fn too_long<T>(n: usize) -> Parsed<T> {
    Err(Bad {
        what: format!("{n} bytes"),
        expected: format!("at most {} bytes (limits::UDP_PAYLOAD)", limits::UDP_PAYLOAD),
    })
}

/// Text sent (or expected) as its UTF-8 bytes, all of them compared.
fn pattern_of_text(v: &str) -> Parsed<Pattern> {
    if v.is_empty() {
        return Err(Bad { what: "value is empty".into(), expected: "some text".into() });
    }
    if v.len() > limits::UDP_PAYLOAD {
        return too_long(v.len());
    }
    Ok(Pattern { bytes: v.as_bytes().into(), mask: vec![0xff; v.len()].into() })
}

/// Hexadecimal digits, two per byte, with spaces or colons between bytes allowed; with
/// `wildcards`, an `x` digit matches any nibble.
pub fn hex_pattern(v: &str, wildcards: bool) -> Parsed<Pattern> {
    let expected = if wildcards {
        "hexadecimal digits, two per byte (x for a nibble that may be anything), such as '01 02 xx ff'"
    } else {
        "hexadecimal digits, two per byte, such as '0a 1b 2c' or '0a1b2c'"
    };
    let bad = |what: String| Err(Bad { what, expected: expected.into() });
    let mut nibbles: Vec<(u8, u8)> = Vec::new();
    for word in v.split([' ', ':']) {
        if word.len() % 2 != 0 {
            return bad(format!("'{word}' is an odd number of hexadecimal digits"));
        }
        for c in word.chars() {
            match c.to_digit(16) {
                Some(d) => nibbles.push((d as u8, 0xf)),
                None if wildcards && c.eq_ignore_ascii_case(&'x') => nibbles.push((0, 0)),
                None => return bad(format!("'{c}' in '{v}' is not a hexadecimal digit")),
            }
        }
    }
    if nibbles.is_empty() {
        return bad("no bytes".into());
    }
    if nibbles.len() / 2 > limits::UDP_PAYLOAD {
        return too_long(nibbles.len() / 2);
    }
    let pairs = nibbles.chunks_exact(2);
    Ok(Pattern {
        bytes: pairs.clone().map(|pair| pair[0].0 << 4 | pair[1].0).collect(),
        mask: pairs.map(|pair| pair[0].1 << 4 | pair[1].1).collect(),
    })
}

/// Reads a `dns` check's settings.
pub fn dns(r: &mut Reader) -> DnsCheck {
    let name = r.or("dns_name", String::new(), dns_name);
    // keepalived's default: the root's SOA.
    let qtype = r.or("dns_type", DnsType::Soa, |v| value::keyword(v, DNS_TYPES));
    let expect = r.one("dns_expect", |v| dns_expect(v, qtype));
    DnsCheck { name, qtype, expect }
}

/// A domain name; the root is `.`; a trailing dot is dropped.
pub fn dns_name(v: &str) -> Parsed<String> {
    let expected = "a domain name such as example.org, or . for the root";
    let bad = |what: String| Err(Bad { what, expected: expected.into() });
    let name = v.strip_suffix('.').unwrap_or(v);
    if name.is_empty() {
        return if v == "." { Ok(String::new()) } else { bad("value is empty".into()) };
    }
    // On the wire: a length byte per label, the labels, the root's zero: at most 255.
    if name.len() + 2 > 255 {
        return bad(format!("'{v}' is longer than a domain name can be (253 characters)"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return bad(format!("'{v}' has an empty label"));
        }
        if label.len() > 63 {
            return bad(format!("label '{label}' is longer than 63 characters"));
        }
        if !label.bytes().all(|b| b.is_ascii_graphic()) {
            return bad(format!("label '{label}' holds a space or a control character"));
        }
    }
    Ok(name.to_owned())
}

/// What an answer must hold: an address of the family asked for, else any text.
fn dns_expect(v: &str, qtype: DnsType) -> Parsed<String> {
    let family = match qtype {
        DnsType::A => Some(true),
        DnsType::Aaaa => Some(false),
        _ => None,
    };
    match (family, v.parse::<std::net::IpAddr>()) {
        (Some(v4), Ok(ip)) if ip.is_ipv4() == v4 => Ok(ip.to_string()),
        (Some(v4), _) => Err(Bad {
            what: format!("'{v}' is not an {} address", if v4 { "IPv4" } else { "IPv6" }),
            expected: format!("the address a {} record must hold", if v4 { "A" } else { "AAAA" }),
        }),
        (None, _) => value::non_empty(v),
    }
}

/// Reads a `file` check's settings; `None` without a file.
pub fn file(r: &mut Reader) -> Option<FileCheck> {
    // keepalived's track_file default weight.
    let weight = r.or("weight", 1, |v| value::int(v, -65535, 65535).map(|w| w as i32));
    let reverse = r.or("reverse", false, value::boolean);
    Some(FileCheck { path: r.required("file", value::path)?, weight, reverse })
}

/// Reads a `process` check's settings.
pub fn process(r: &mut Reader) -> Option<ProcessCheck> {
    let full_command = r.or("full_command", false, value::boolean);
    let name = r.required("process", |v| {
        if v.is_empty() || v.contains('\0') {
            return Err(Bad {
                what: format!("'{v}' is not a process name"),
                expected: "a process name".into(),
            });
        }
        if !full_command && v.len() > COMM_BYTES {
            return Err(Bad {
                what: format!(
                    "'{v}' is longer than the {COMM_BYTES} bytes the kernel keeps of a process name"
                ),
                expected: "the name as ps -o comm shows it, or full_command with the command's first word"
                    .into(),
            });
        }
        Ok(v.to_owned())
    });
    let args = r.list("args", |v| {
        if v.contains('\0') {
            Err(Bad { what: "an argument holds a NUL byte".into(), expected: "text".into() })
        } else {
            Ok(v.to_owned())
        }
    });
    let args: Fixed<String, { limits::PROCESS_ARGS }> = r.fixed("args", args, "PROCESS_ARGS");
    let param_match = r.one("param_match", |v| value::keyword(v, PARAM_MATCHES));
    // Arguments are matched when given, or when param_match asks (exact with none: a
    // process started without arguments).
    let args: Option<(Box<[String]>, ParamMatch)> = (!args.is_empty() || param_match.is_some())
        .then(|| (args.into_iter().collect(), param_match.unwrap_or(ParamMatch::Exact)));
    let quorum = r.or("quorum", 1, |v| value::uint(v, 0, 65535));
    let quorum_max = r.or("quorum_max", u32::MAX, |v| value::uint(v, 0, 65535));
    if quorum > quorum_max {
        r.fail("quorum_max", format!("{quorum_max} is below quorum {quorum}"), "quorum_max at least quorum");
    }
    let delay = |v: &str| value::duration_in(v, Duration::ZERO, Duration::from_secs(3600));
    Some(ProcessCheck {
        process: name?,
        args,
        full_command,
        quorum,
        quorum_max,
        fork_delay: r.or("fork_delay", Duration::ZERO, delay),
        terminate_delay: r.or("terminate_delay", Duration::ZERO, delay),
        weight: r.or("weight", 0, |v| value::int(v, -254, 254).map(|w| w as i16)),
        reverse: r.or("reverse", false, value::boolean),
    })
}

/// keepalived's BFD defaults: 10 ms each way once Up, 1 s while not, 5 packets missed.
const BFD_MIN: Duration = Duration::from_millis(10);
const BFD_IDLE: Duration = Duration::from_secs(1);
const BFD_MULTIPLIER: u8 = 5;

/// Reads a `bfd` check's settings (its neighbour is the check's `connect_ip`).
pub fn bfd(r: &mut Reader) -> BfdCheck {
    let interval = |v: &str| value::duration_in(v, Duration::from_millis(1), Duration::from_secs(10));
    let min_tx = r.or("min_tx", BFD_MIN, interval);
    let min_rx = r.or("min_rx", BFD_MIN, interval);
    // RFC 5880 section 6.8.3: at least 1 s while the session is not Up.
    let idle_tx = r.or("idle_tx", BFD_IDLE, |v| value::duration_in(v, BFD_IDLE, Duration::from_secs(60)));
    let multiplier = r.or("multiplier", BFD_MULTIPLIER, |v| value::uint(v, 1, 255));
    let passive = r.or("passive", false, value::boolean);
    let timing = crate::bfd::session::Timing { min_tx, min_rx, idle_tx, multiplier, passive };
    BfdCheck {
        timing,
        ttl: r.or("ttl", 255, |v| value::uint(v, 1, 255)),
        max_hops: r.or("max_hops", 0, |v| value::uint(v, 0, 255)),
        multihop: r.or("multihop", false, value::boolean),
        weight: r.or("weight", 0, |v| value::uint(v, -253, 253)),
        reverse: r.or("reverse", false, value::boolean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_payloads() {
        let p = hex_pattern("0a 1B:ff", false).unwrap();
        assert_eq!(*p.bytes, [0x0a, 0x1b, 0xff]);
        assert_eq!(*p.mask, [0xff, 0xff, 0xff]);
        let p = hex_pattern("0x 4X", true).unwrap();
        assert_eq!(*p.bytes, [0x00, 0x40]);
        assert_eq!(*p.mask, [0xf0, 0xf0]);
        assert!(hex_pattern("0x", false).unwrap_err().what.contains("'x'"));
        assert!(hex_pattern("abc", false).unwrap_err().what.contains("odd"));
        assert!(hex_pattern("", false).is_err());
        assert!(hex_pattern(&"00".repeat(limits::UDP_PAYLOAD + 1), false)
            .unwrap_err()
            .expected
            .contains("UDP_PAYLOAD"));
        assert_eq!(*pattern_of_text("ping").unwrap().bytes, *b"ping");
    }

    #[test]
    fn dns_names() {
        assert_eq!(dns_name(".").unwrap(), "");
        assert_eq!(dns_name("example.org.").unwrap(), "example.org");
        assert_eq!(dns_name("_sip._udp.example.org").unwrap(), "_sip._udp.example.org");
        assert!(dns_name("a..b").is_err());
        assert!(dns_name("").is_err());
        assert!(dns_name("a b.org").is_err());
        assert!(dns_name(&format!("{}.org", "x".repeat(64))).is_err());
        let long = vec!["abcdefgh"; 30].join(".");
        assert!(dns_name(&long).unwrap_err().what.contains("longer"));
    }

    #[test]
    fn dns_expectations_follow_the_type() {
        assert_eq!(dns_expect("192.0.2.1", DnsType::A).unwrap(), "192.0.2.1");
        assert!(dns_expect("2001:db8::1", DnsType::A).is_err());
        assert_eq!(dns_expect("2001:DB8::1", DnsType::Aaaa).unwrap(), "2001:db8::1");
        assert!(dns_expect("mail", DnsType::Aaaa).is_err());
        assert_eq!(dns_expect("mail.example.org", DnsType::Mx).unwrap(), "mail.example.org");
    }
}
