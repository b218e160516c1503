//! DNS messages (RFC 1035 section 4): the query a `dns` check sends, and a defensive
//! reading of the reply. Replies are outside input: every offset is checked, compression
//! pointers are followed a bounded number of times, and nothing here panics.

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Class IN.
const IN: u16 = 1;
/// Header flags of the query: a standard query, recursion desired (as keepalived sends).
const RD: u16 = 0x0100;
/// Compression pointers followed in one name at most (a loop must not spin).
const MAX_JUMPS: usize = 64;
/// The longest name on the wire (RFC 1035 3.1).
const MAX_NAME: usize = 255;
/// The header's length.
const HEADER: usize = 12;

mod field {
    use std::ops::Range;
    pub const ID: Range<usize> = 0..2;
    pub const FLAGS: Range<usize> = 2..4;
    pub const QDCOUNT: Range<usize> = 4..6;
    pub const ANCOUNT: Range<usize> = 6..8;
}

/// The longest query: a header, the longest name, type and class.
pub const QUERY_MAX: usize = HEADER + MAX_NAME + 4;

/// Writes the query for `name` (dot-separated labels, `""` for the root) of `qtype` into
/// `buf`; its length. `None` when a label or the name is too long (validation rules it out).
pub fn query(buf: &mut [u8; QUERY_MAX], id: u16, name: &str, qtype: u16) -> Option<usize> {
    buf[field::ID].copy_from_slice(&id.to_be_bytes());
    buf[field::FLAGS].copy_from_slice(&RD.to_be_bytes());
    buf[field::QDCOUNT].copy_from_slice(&1u16.to_be_bytes());
    buf[6..HEADER].fill(0);
    let mut at = HEADER;
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let len = u8::try_from(label.len()).ok().filter(|&l| l <= 63)?;
        let end = at + 1 + label.len();
        if end + 5 > buf.len() {
            return None;
        }
        buf[at] = len;
        buf[at + 1..end].copy_from_slice(label.as_bytes());
        at = end;
    }
    buf[at] = 0;
    buf[at + 1..at + 3].copy_from_slice(&qtype.to_be_bytes());
    buf[at + 3..at + 5].copy_from_slice(&IN.to_be_bytes());
    Some(at + 5)
}

/// What a datagram says about the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Not an answer to this query (another id, or not a response): keep waiting.
    NotOurs,
    /// An answer with this RCODE other than NOERROR.
    Rcode(u8),
    /// A NOERROR answer; with an expectation, whether an answer record met it.
    NoError { expected: bool },
}

/// Reads `msg` as the answer to `query` (the bytes sent); with `expect`, looks for an
/// answer record of the asked type that holds it (see [`holds`]).
pub fn read(msg: &[u8], query: &[u8], expect: Option<&str>) -> Result<Reply, &'static str> {
    if msg.len() < HEADER || query.len() < HEADER {
        return if msg.get(field::ID) == query.get(field::ID) {
            Err("shorter than a DNS header")
        } else {
            Ok(Reply::NotOurs)
        };
    }
    let flags = be16(msg, 2).unwrap_or(0);
    if msg[field::ID] != query[field::ID] || flags & 0x8000 == 0 {
        return Ok(Reply::NotOurs);
    }
    if (flags >> 11) & 0xf != 0 {
        return Err("not an answer to a standard query");
    }
    let rcode = (flags & 0xf) as u8;
    if rcode != 0 {
        return Ok(Reply::Rcode(rcode));
    }
    let truncated = flags & 0x0200 != 0;
    // The question, echoed: the same bytes as sent (names compared without case).
    let question = &query[HEADER..];
    if be16(msg, field::QDCOUNT.start) != Some(1) {
        return Err("the question is not echoed");
    }
    let echoed = msg.get(HEADER..HEADER + question.len()).ok_or("cut short in the question")?;
    if !echoed.eq_ignore_ascii_case(question) {
        return Err("the question differs from the query's");
    }
    let qtype = be16(question, question.len() - 4).unwrap_or(0);
    let mut at = HEADER + question.len();
    let mut expected = false;
    for _ in 0..be16(msg, field::ANCOUNT.start).unwrap_or(0) {
        let record = match Record::read(msg, at) {
            Ok(r) => r,
            // A truncated answer (TC) may stop anywhere; what came whole counts.
            Err(_) if truncated => break,
            Err(e) => return Err(e),
        };
        at = record.end;
        if let Some(want) = expect {
            expected |= record.rtype == qtype && record.class == IN && holds(msg, &record, want);
        }
    }
    Ok(Reply::NoError { expected })
}

/// One resource record: its type, class and where its data lies in the message.
struct Record {
    rtype: u16,
    class: u16,
    data: std::ops::Range<usize>,
    end: usize,
}

impl Record {
    fn read(msg: &[u8], at: usize) -> Result<Record, &'static str> {
        let at = skip_name(msg, at)?;
        let (rtype, class) = (be16(msg, at), be16(msg, at + 2));
        let len = be16(msg, at + 8);
        let (Some(rtype), Some(class), Some(len)) = (rtype, class, len) else {
            return Err("cut short in a record");
        };
        let data = at + 10..at + 10 + usize::from(len);
        if data.end > msg.len() {
            return Err("a record's data runs past the end");
        }
        Ok(Record { rtype, class, end: data.end, data })
    }
}

/// True when the record holds `want`: an A or AAAA record the address itself; any other
/// its data in text (names without the trailing dot, numbers in decimal, TXT strings run
/// together) containing it, without regard to case.
fn holds(msg: &[u8], r: &Record, want: &str) -> bool {
    let data = &msg[r.data.clone()];
    match r.rtype {
        1 => <[u8; 4]>::try_from(data).is_ok_and(|a| Ipv4Addr::from(a).to_string() == want),
        28 => <[u8; 16]>::try_from(data).is_ok_and(|a| Ipv6Addr::from(a).to_string() == want),
        _ => text(msg, r).is_some_and(|t| t.to_ascii_lowercase().contains(&want.to_ascii_lowercase())),
    }
}

/// The record's data as text, for the types a check can ask for; `None` when malformed.
fn text(msg: &[u8], r: &Record) -> Option<String> {
    let mut out = String::new();
    let (start, end) = (r.data.start, r.data.end);
    match r.rtype {
        // NS, CNAME, PTR: a name.
        2 | 5 | 12 => {
            name(msg, start, &mut out).ok()?;
        }
        // MX: preference, exchange.
        15 => {
            write!(out, "{} ", be16(msg, start)?).ok()?;
            name(msg, start + 2, &mut out).ok()?;
        }
        // SRV: priority, weight, port, target.
        33 => {
            write!(out, "{} {} {} ", be16(msg, start)?, be16(msg, start + 2)?, be16(msg, start + 4)?).ok()?;
            name(msg, start + 6, &mut out).ok()?;
        }
        // SOA: mname, rname, then five numbers.
        6 => {
            let at = name(msg, start, &mut out).ok()?;
            out.push(' ');
            let at = name(msg, at, &mut out).ok()?;
            for i in 0..5 {
                let n = msg.get(at + 4 * i..at + 4 * i + 4)?;
                write!(out, " {}", u32::from_be_bytes(n.try_into().ok()?)).ok()?;
            }
        }
        // TXT: character-strings, each a length byte and that many bytes.
        16 => {
            let mut at = start;
            while at < end {
                let len = usize::from(msg[at]);
                let s = msg.get(at + 1..at + 1 + len).filter(|_| at + 1 + len <= end)?;
                out.push_str(&String::from_utf8_lossy(s));
                at += 1 + len;
            }
        }
        _ => return None,
    }
    Some(out)
}

/// Skips the name at `at`; where what follows it starts.
fn skip_name(msg: &[u8], at: usize) -> Result<usize, &'static str> {
    walk(msg, at, |_| {})
}

/// Appends the name at `at` to `out` (labels joined by dots, no trailing dot; `.` for the
/// root); where what follows it starts.
fn name(msg: &[u8], at: usize, out: &mut String) -> Result<usize, &'static str> {
    let before = out.len();
    let next = walk(msg, at, |label| {
        if out.len() > before {
            out.push('.');
        }
        out.push_str(&String::from_utf8_lossy(label));
    })?;
    if out.len() == before {
        out.push('.');
    }
    Ok(next)
}

/// Walks the labels of the name at `at`, following compression pointers; where the name
/// ends in the record (after its first pointer, or its root label).
fn walk(msg: &[u8], mut at: usize, mut label: impl FnMut(&[u8])) -> Result<usize, &'static str> {
    let mut end = None;
    let mut jumps = 0;
    let mut length = 0;
    loop {
        let len = *msg.get(at).ok_or("cut short in a name")?;
        match len {
            0 => return Ok(end.unwrap_or(at + 1)),
            1..=63 => {
                let l = msg.get(at + 1..at + 1 + usize::from(len)).ok_or("cut short in a name")?;
                length += l.len() + 1;
                if length > MAX_NAME {
                    return Err("a name longer than 255 bytes");
                }
                label(l);
                at += 1 + usize::from(len);
            }
            0xc0..=0xff => {
                let low = *msg.get(at + 1).ok_or("cut short in a name")?;
                jumps += 1;
                if jumps > MAX_JUMPS {
                    return Err("a name's pointers loop");
                }
                end.get_or_insert(at + 2);
                at = usize::from(u16::from_be_bytes([len & 0x3f, low]));
            }
            _ => return Err("a label of an unknown kind"),
        }
    }
}

fn be16(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(msg.get(at..at + 2)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
