use super::*;
use proptest::prelude::*;

/// The query for example.org A with id 0x1234.
fn example_query() -> Vec<u8> {
    let mut buf = [0u8; QUERY_MAX];
    let n = query(&mut buf, 0x1234, "example.org", 1).unwrap();
    buf[..n].to_vec()
}

/// A reply to `q` with `flags`, and `answers` (records) after the question.
fn reply(q: &[u8], flags: u16, ancount: u16, answers: &[u8]) -> Vec<u8> {
    let mut m = q.to_vec();
    m[2..4].copy_from_slice(&flags.to_be_bytes());
    m[6..8].copy_from_slice(&ancount.to_be_bytes());
    m.extend_from_slice(answers);
    m
}

/// An answer record whose name points to the question's (offset 12).
fn record(rtype: u16, data: &[u8]) -> Vec<u8> {
    let mut r = vec![0xc0, 12];
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&300u32.to_be_bytes());
    r.extend_from_slice(&(data.len() as u16).to_be_bytes());
    r.extend_from_slice(data);
    r
}

fn record_text(m: &[u8], at: usize) -> String {
    text(m, &Record::read(m, at).unwrap()).unwrap()
}

#[test]
fn the_query_on_the_wire() {
    assert_eq!(
        example_query(),
        [
            0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, // header: RD, one question
            7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'o', b'r', b'g', 0, // name
            0, 1, 0, 1, // A, IN
        ]
    );
    let mut buf = [0u8; QUERY_MAX];
    let n = query(&mut buf, 7, "", 6).unwrap();
    assert_eq!(&buf[12..n], [0, 0, 6, 0, 1], "the root's SOA");
    assert_eq!(query(&mut buf, 7, &"x".repeat(64), 1), None);
}

#[test]
fn answers_and_rcodes() {
    let q = example_query();
    let a = record(1, &[192, 0, 2, 7]);
    let ok = reply(&q, 0x8180, 1, &a);
    assert_eq!(read(&ok, &q, None), Ok(Reply::NoError { expected: false }));
    assert_eq!(read(&ok, &q, Some("192.0.2.7")), Ok(Reply::NoError { expected: true }));
    assert_eq!(read(&ok, &q, Some("192.0.2.8")), Ok(Reply::NoError { expected: false }));
    // NXDOMAIN, SERVFAIL.
    assert_eq!(read(&reply(&q, 0x8183, 0, &[]), &q, None), Ok(Reply::Rcode(3)));
    assert_eq!(read(&reply(&q, 0x8182, 0, &[]), &q, None), Ok(Reply::Rcode(2)));
    // Another id, or a query rather than a response: not the answer.
    let mut other = ok.clone();
    other[1] ^= 1;
    assert_eq!(read(&other, &q, None), Ok(Reply::NotOurs));
    assert_eq!(read(&reply(&q, 0x0100, 0, &[]), &q, None), Ok(Reply::NotOurs));
    assert_eq!(read(&[0x12], &q, None), Ok(Reply::NotOurs));
    assert_eq!(read(&q[..6], &q, None), Err("shorter than a DNS header"));
}

#[test]
fn names_in_answers_are_decompressed() {
    let q = example_query();
    // MX 10 mail.<example.org>, through a pointer to the question's name.
    let mx = record(15, &[0, 10, 4, b'm', b'a', b'i', b'l', 0xc0, 12]);
    let m = reply(&q, 0x8180, 1, &mx);
    assert_eq!(record_text(&m, q.len()), "10 mail.example.org");
    // Asked for A: an MX record does not count.
    assert_eq!(read(&m, &q, Some("MAIL.example.org")), Ok(Reply::NoError { expected: false }));
    let mut mq = q.clone();
    let len = mq.len();
    mq[len - 3] = 15;
    let m = reply(&mq, 0x8180, 1, &mx);
    assert_eq!(read(&m, &mq, Some("MAIL.example.org")), Ok(Reply::NoError { expected: true }));
    // TXT strings run together; SOA names and numbers; the root is a dot.
    let m = reply(&q, 0x8180, 1, &record(16, b"\x05hello\x06 world"));
    assert_eq!(record_text(&m, q.len()), "hello world");
    let mut soa = vec![2, b'n', b's', 0xc0, 12, 0];
    for n in [2024u32, 3600, 600, 86400, 60] {
        soa.extend_from_slice(&n.to_be_bytes());
    }
    let m = reply(&q, 0x8180, 1, &record(6, &soa));
    assert_eq!(record_text(&m, q.len()), "ns.example.org . 2024 3600 600 86400 60");
}

#[test]
fn malformed_replies_are_errors() {
    let q = example_query();
    // The question is not the one asked (its case may differ).
    let mut m = reply(&q, 0x8180, 0, &[]);
    m[14] = b'X';
    assert_eq!(read(&m, &q, None), Ok(Reply::NoError { expected: false }));
    m[14] = b'y';
    assert_eq!(read(&m, &q, None), Err("the question differs from the query's"));
    // One answer announced, none there; a record longer than the message.
    assert_eq!(read(&reply(&q, 0x8180, 1, &[]), &q, None), Err("cut short in a name"));
    let mut a = record(1, &[192, 0, 2, 7]);
    a.truncate(a.len() - 1);
    assert_eq!(read(&reply(&q, 0x8180, 1, &a), &q, None), Err("a record's data runs past the end"));
    // Truncated (TC): what came whole counts.
    assert_eq!(read(&reply(&q, 0x8380, 1, &a), &q, None), Ok(Reply::NoError { expected: false }));
    // A pointer to itself.
    let m = reply(&q, 0x8180, 1, &[0xc0, q.len() as u8]);
    assert_eq!(read(&m, &q, None), Err("a name's pointers loop"));
    assert_eq!(read(&reply(&q, 0x8980, 0, &[]), &q, None), Err("not an answer to a standard query"));
}

proptest! {
    /// Any bytes at all: an answer or an error, never a panic.
    #[test]
    fn arbitrary_replies_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..600),
        keep_id in any::<bool>(),
        expect in "[a-z0-9.:]{0,12}",
    ) {
        let q = example_query();
        let msg = if keep_id { [&q[..2], &tail[..]].concat() } else { tail };
        let _ = read(&msg, &q, Some(&expect));
        let _ = read(&msg, &q, None);
        for at in 0..msg.len().min(64) {
            if let Ok(r) = Record::read(&msg, at) {
                prop_assert!(r.end <= msg.len());
                let _ = text(&msg, &r);
            }
        }
    }

    /// Replies to the query with arbitrary records: never a panic, every expectation
    /// looked for in each of them.
    #[test]
    fn arbitrary_records_never_panic(
        records in proptest::collection::vec((0u16..40, proptest::collection::vec(any::<u8>(), 0..40)), 0..6),
    ) {
        let q = example_query();
        let answers: Vec<u8> = records.iter().flat_map(|(t, data)| record(*t, data)).collect();
        let m = reply(&q, 0x8180, records.len() as u16, &answers);
        prop_assert!(read(&m, &q, Some("a")).is_ok(), "every record is whole");
    }
}
