//! SMTP replies (RFC 5321 4.2), sans-IO: one function that looks at the bytes received so
//! far and says whether a whole reply is there, with caps so a hostile server cannot make
//! the prober buffer without bound.

/// Longest reply line, line end included: RFC 5321 caps reply lines at 512 octets; this
/// allows the 1000 of a text line, for servers with long banners.
pub const MAX_LINE_BYTES: usize = 1000;
/// Longest whole reply; a long EHLO reply lists a dozen extensions in under 1 KiB.
pub const MAX_REPLY_BYTES: usize = 8192;

/// What the start of a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// Not a whole reply yet: read more.
    Incomplete,
    /// A whole reply: its code, and its length in bytes from the start of the buffer.
    Complete { code: u16, len: usize },
    /// Not an SMTP reply, or over a cap; the text says which.
    Malformed(&'static str),
}

/// The bytes a client received and has not parsed yet: what the blocking client of the
/// alert mails and the async one of the health check both keep around their reads.
pub struct Replies {
    buf: Box<[u8]>,
    len: usize,
}

impl Default for Replies {
    fn default() -> Self {
        Replies { buf: vec![0; MAX_REPLY_BYTES].into_boxed_slice(), len: 0 }
    }
}

impl Replies {
    /// The code of the next whole reply, consumed (bytes after it stay for the one after);
    /// `None` until one has arrived; an error for bytes that are not an SMTP reply or a
    /// reply over the caps.
    pub fn take(&mut self) -> Result<Option<u16>, &'static str> {
        match parse_reply(&self.buf[..self.len]) {
            Parsed::Complete { code, len } => {
                self.buf.copy_within(len..self.len, 0);
                self.len -= len;
                Ok(Some(code))
            }
            Parsed::Malformed(why) => Err(why),
            // parse_reply calls a full buffer malformed; this keeps `spare` non-empty.
            Parsed::Incomplete if self.len == self.buf.len() => Err("reply too long"),
            Parsed::Incomplete => Ok(None),
        }
    }

    /// Where the next read goes; not empty after `take` said `Ok(None)`.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.len..]
    }

    /// `n` bytes were read into [`spare`](Self::spare).
    pub fn filled(&mut self, n: usize) {
        self.len = (self.len + n).min(self.buf.len());
    }

    /// True when nothing is buffered (a close now falls between replies).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Looks for one whole reply at the start of `buf`: lines `ddd-text` then a last `ddd text`
/// (or `ddd`), all with the same code. Lines end in CRLF; a bare LF is accepted too, since a
/// sloppy line end says nothing about the server's health.
pub fn parse_reply(buf: &[u8]) -> Parsed {
    let mut pos = 0;
    let mut code = None;
    loop {
        let rest = &buf[pos..];
        let window = &rest[..rest.len().min(MAX_LINE_BYTES)];
        let Some(lf) = window.iter().position(|&b| b == b'\n') else {
            return partial_line(rest, code, buf.len());
        };
        let end = pos + lf + 1;
        if end > MAX_REPLY_BYTES {
            return Parsed::Malformed("reply too long");
        }
        let line = window[..lf].strip_suffix(b"\r").unwrap_or(&window[..lf]);
        let (this, last) = match line_code(line) {
            Ok(v) => v,
            Err(why) => return Parsed::Malformed(why),
        };
        if code.is_some_and(|c| c != this) {
            return Parsed::Malformed("reply lines with different codes");
        }
        code = Some(this);
        pos = end;
        if last {
            return Parsed::Complete { code: this, len: pos };
        }
    }
}

/// A line without its end yet: malformed as soon as it cannot become a good line.
fn partial_line(rest: &[u8], code: Option<u16>, total: usize) -> Parsed {
    if rest.len() >= MAX_LINE_BYTES {
        return Parsed::Malformed("reply line too long");
    }
    // Completing the reply needs at least one more byte.
    if total >= MAX_REPLY_BYTES {
        return Parsed::Malformed("reply too long");
    }
    let head = &rest[..rest.len().min(4)];
    if !digits_fit(head) || head.get(3).is_some_and(|b| !matches!(b, b' ' | b'-' | b'\r')) {
        return Parsed::Malformed("not an SMTP reply");
    }
    if head.len() >= 3 && code.is_some_and(|c| c != number(head)) {
        return Parsed::Malformed("reply lines with different codes");
    }
    Parsed::Incomplete
}

/// The code of a whole line (line end removed) and whether it is the reply's last line.
fn line_code(line: &[u8]) -> Result<(u16, bool), &'static str> {
    if line.len() < 3 || !digits_fit(&line[..3]) {
        return Err("not an SMTP reply");
    }
    match line.get(3) {
        None | Some(b' ') => Ok((number(line), true)),
        Some(b'-') => Ok((number(line), false)),
        Some(_) => Err("not an SMTP reply"),
    }
}

/// The first bytes (up to 3) fit a reply code: 2..5, 0..5, 0..9 (RFC 5321 4.2).
fn digits_fit(head: &[u8]) -> bool {
    let ranges = [b'2'..=b'5', b'0'..=b'5', b'0'..=b'9'];
    head.iter().zip(ranges.iter()).all(|(b, r)| r.contains(b))
}

/// The code of three checked digits.
fn number(d: &[u8]) -> u16 {
    d.iter().take(3).fold(0, |n, b| n * 10 + u16::from(b - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn feed(r: &mut Replies, bytes: &[u8]) {
        r.spare()[..bytes.len()].copy_from_slice(bytes);
        r.filled(bytes.len());
    }

    #[test]
    fn replies_come_out_one_at_a_time_and_a_full_buffer_is_an_error() {
        let mut r = Replies::default();
        assert_eq!(r.take(), Ok(None));
        feed(&mut r, b"220 hi\r\n250-a\r\n25");
        assert_eq!(r.take(), Ok(Some(220)));
        assert_eq!(r.take(), Ok(None));
        assert!(!r.is_empty());
        feed(&mut r, b"0 b\r\n");
        assert_eq!(r.take(), Ok(Some(250)));
        assert!(r.is_empty());
        let mut full = Replies::default();
        let line = [b'x'; MAX_REPLY_BYTES];
        feed(&mut full, &line);
        assert!(full.take().is_err());
    }

    #[test]
    fn single_and_multi_line_replies() {
        assert_eq!(parse_reply(b"220 mx.example ESMTP\r\n"), Parsed::Complete { code: 220, len: 22 });
        assert_eq!(parse_reply(b"250\r\nrest"), Parsed::Complete { code: 250, len: 5 });
        let ehlo = b"250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
        assert_eq!(parse_reply(ehlo), Parsed::Complete { code: 250, len: ehlo.len() });
        assert_eq!(parse_reply(b"220 bare lf\n"), Parsed::Complete { code: 220, len: 12 });
        assert_eq!(parse_reply(b"250-a\r\n250"), Parsed::Incomplete);
        assert_eq!(parse_reply(b""), Parsed::Incomplete);
    }

    #[test]
    fn malformed_replies() {
        assert_eq!(parse_reply(b"HTTP/1.1 400 Bad\r\n"), Parsed::Malformed("not an SMTP reply"));
        assert_eq!(parse_reply(b"H"), Parsed::Malformed("not an SMTP reply"));
        assert_eq!(parse_reply(b"220x"), Parsed::Malformed("not an SMTP reply"));
        assert_eq!(parse_reply(b"600 no\r\n"), Parsed::Malformed("not an SMTP reply"));
        assert_eq!(parse_reply(b"22\r\n"), Parsed::Malformed("not an SMTP reply"));
        assert_eq!(parse_reply(b"250-a\r\n251 b\r\n"), Parsed::Malformed("reply lines with different codes"));
        assert_eq!(parse_reply(b"250-a\r\n251"), Parsed::Malformed("reply lines with different codes"));
    }

    #[test]
    fn caps() {
        let mut long = b"220 ".to_vec();
        long.resize(MAX_LINE_BYTES, b'x');
        assert_eq!(parse_reply(&long), Parsed::Malformed("reply line too long"));
        long.truncate(MAX_LINE_BYTES - 2);
        long.extend_from_slice(b"\r\n");
        assert_eq!(parse_reply(&long), Parsed::Complete { code: 220, len: MAX_LINE_BYTES });
        let mut many = Vec::new();
        while many.len() < MAX_REPLY_BYTES {
            many.extend_from_slice(b"250-x\r\n");
        }
        assert_eq!(parse_reply(&many), Parsed::Malformed("reply too long"));
    }

    /// A valid reply: its bytes and its code.
    fn valid_reply() -> impl Strategy<Value = (Vec<u8>, u16)> {
        let code = (2u16..=5, 0u16..=5, 0u16..=9).prop_map(|(a, b, c)| a * 100 + b * 10 + c);
        let line = ("[ -~]{0,80}", any::<bool>());
        (code, proptest::collection::vec(line, 1..6)).prop_map(|(code, lines)| {
            let mut out = Vec::new();
            let last = lines.len() - 1;
            for (i, (text, crlf)) in lines.iter().enumerate() {
                let sep = if i == last { " " } else { "-" };
                out.extend_from_slice(format!("{code}{sep}{text}").as_bytes());
                out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
            (out, code)
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_nor_overreach(buf in proptest::collection::vec(any::<u8>(), 0..2000)) {
            if let Parsed::Complete { code, len } = parse_reply(&buf) {
                prop_assert!(len <= buf.len() && len <= MAX_REPLY_BYTES);
                prop_assert!((200..=599).contains(&code));
            }
        }

        #[test]
        fn near_misses_never_panic(
            (mut buf, _) in valid_reply(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let i = at.index(buf.len());
            buf[i] = byte;
            if let Parsed::Complete { len, .. } = parse_reply(&buf) {
                prop_assert!(len <= buf.len());
            }
        }

        #[test]
        fn a_valid_reply_split_anywhere_parses_the_same((reply, code) in valid_reply(), extra in "[ -~]{0,10}") {
            let whole = Parsed::Complete { code, len: reply.len() };
            prop_assert_eq!(parse_reply(&reply), whole);
            for cut in 0..reply.len() {
                // What a reader sees before the rest arrives, then after.
                prop_assert_eq!(parse_reply(&reply[..cut]), Parsed::Incomplete);
            }
            let mut more = reply.clone();
            more.extend_from_slice(extra.as_bytes());
            prop_assert_eq!(parse_reply(&more), whole);
        }
    }
}
