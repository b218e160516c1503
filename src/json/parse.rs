//! A JSON reader for what keeplite accepts from outside: status requests and replies.
//!
//! Integers only: a number with a fraction or an exponent is an error, not truncated,
//! since every number keeplite reads is a count, a weight or seconds, and silently
//! turning `1.5` into `1` would do something nobody asked for. Input size and nesting
//! depth are bounded, so a hostile line costs bounded time, memory and stack.

use super::Json;
use std::fmt;

/// Bounds on what [`parse`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest input, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects (the top level counts as 1).
    pub max_depth: usize,
}

/// Why a text is not JSON keeplite accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    TooLong(usize),
    TooDeep(usize),
    NotUtf8,
    End,
    Expected(&'static str),
    BadEscape,
    LoneSurrogate,
    ControlInString,
    NotInteger,
    OutOfRange,
    Trailing,
}

/// A parse error and the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub offset: usize,
    pub kind: Kind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::TooLong(max) => return write!(f, "longer than {max} bytes"),
            Kind::TooDeep(max) => write!(f, "nested deeper than {max} levels")?,
            Kind::NotUtf8 => f.write_str("not UTF-8")?,
            Kind::End => f.write_str("unexpected end of input")?,
            Kind::Expected(what) => write!(f, "expected {what}")?,
            Kind::BadEscape => f.write_str("bad escape in a string")?,
            Kind::LoneSurrogate => f.write_str("\\u escape of a lone UTF-16 surrogate")?,
            Kind::ControlInString => f.write_str("control character in a string (escape it)")?,
            Kind::NotInteger => f.write_str("numbers must be integers")?,
            Kind::OutOfRange => f.write_str("integer out of range")?,
            Kind::Trailing => f.write_str("text after the value")?,
        }
        write!(f, " at byte {}", self.offset)
    }
}

/// Parses one JSON value (surrounding whitespace allowed) within `limits`.
pub fn parse(input: &[u8], limits: Limits) -> Result<Json, Error> {
    if input.len() > limits.max_bytes {
        return Err(Error { offset: limits.max_bytes, kind: Kind::TooLong(limits.max_bytes) });
    }
    let text =
        std::str::from_utf8(input).map_err(|e| Error { offset: e.valid_up_to(), kind: Kind::NotUtf8 })?;
    let mut p = Parser { text, pos: 0, max_depth: limits.max_depth };
    let value = p.value(1)?;
    p.skip_space();
    if p.pos < text.len() {
        return Err(p.error(Kind::Trailing));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    max_depth: usize,
}

impl Parser<'_> {
    fn error(&self, kind: Kind) -> Error {
        Error { offset: self.pos, kind }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` after optional whitespace, or fails saying `what` was expected.
    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), Error> {
        self.skip_space();
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.error(Kind::Expected(what))),
            None => Err(self.error(Kind::End)),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, Error> {
        self.skip_space();
        match self.peek() {
            None => Err(self.error(Kind::End)),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.word(),
        }
    }

    fn word(&mut self) -> Result<Json, Error> {
        let rest = &self.text[self.pos..];
        for (word, value) in [("true", Json::Bool(true)), ("false", Json::Bool(false)), ("null", Json::Null)]
        {
            if rest.starts_with(word) {
                self.pos += word.len();
                return Ok(value);
            }
        }
        Err(self.error(Kind::Expected("a value")))
    }

    fn nest(&self, depth: usize) -> Result<(), Error> {
        if depth > self.max_depth {
            return Err(self.error(Kind::TooDeep(self.max_depth)));
        }
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<Json, Error> {
        self.nest(depth)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                Some(_) => return Err(self.error(Kind::Expected("',' or ']'"))),
                None => return Err(self.error(Kind::End)),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, Error> {
        self.nest(depth)?;
        self.pos += 1;
        let mut pairs = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(pairs));
        }
        loop {
            self.skip_space();
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(self.error(Kind::Expected("a string key"))),
                None => return Err(self.error(Kind::End)),
            }
            let key = self.string()?;
            self.expect(b':', "':'")?;
            pairs.push((key, self.value(depth + 1)?));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(pairs));
                }
                Some(_) => return Err(self.error(Kind::Expected("',' or '}'"))),
                None => return Err(self.error(Kind::End)),
            }
        }
    }

    /// A string, the opening quote at `pos`.
    fn string(&mut self) -> Result<String, Error> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote, backslash or control character at once.
            let rest = &self.text[self.pos..];
            let run = rest.bytes().position(|b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len());
            out.push_str(&rest[..run]);
            self.pos += run;
            match self.peek() {
                None => return Err(self.error(Kind::End)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(_) => return Err(self.error(Kind::ControlInString)),
            }
        }
    }

    /// The character of the escape after a backslash.
    fn escape(&mut self) -> Result<char, Error> {
        let Some(b) = self.peek() else { return Err(self.error(Kind::End)) };
        self.pos += 1;
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode(),
            _ => {
                self.pos -= 1;
                return Err(self.error(Kind::BadEscape));
            }
        })
    }

    /// `\uXXXX`, with a surrogate pair taken as one character.
    fn unicode(&mut self) -> Result<char, Error> {
        let start = self.pos;
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err(Error { offset: start, kind: Kind::LoneSurrogate });
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(Error { offset: start, kind: Kind::LoneSurrogate });
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(Error { offset: start, kind: Kind::LoneSurrogate }),
            c => c,
        };
        char::from_u32(code).ok_or(Error { offset: start, kind: Kind::BadEscape })
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or(self.error(Kind::BadEscape))?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error(Kind::BadEscape));
        }
        let value = u32::from_str_radix(digits, 16).map_err(|_| self.error(Kind::BadEscape))?;
        self.pos += 4;
        Ok(value)
    }

    fn number(&mut self) -> Result<Json, Error> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits_start = self.pos;
        // Accumulated negatively so that i64::MIN fits.
        let mut value: i64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if self.pos > digits_start && value == 0 {
                // A leading zero ends the number; what follows is then trailing text.
                break;
            }
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_sub(i64::from(d - b'0')))
                .ok_or(Error { offset: start, kind: Kind::OutOfRange })?;
            self.pos += 1;
        }
        if self.pos == digits_start {
            return Err(self.error(Kind::Expected("a digit")));
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return Err(Error { offset: start, kind: Kind::NotInteger });
        }
        if negative {
            Ok(Json::Int(value))
        } else {
            value.checked_neg().map(Json::Int).ok_or(Error { offset: start, kind: Kind::OutOfRange })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: Limits = Limits { max_bytes: 1 << 16, max_depth: 16 };

    fn ok(text: &str) -> Json {
        parse(text.as_bytes(), LIMITS).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match parse(text.as_bytes(), LIMITS) {
            Ok(v) => panic!("{text}: parsed as {v}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_every_kind_of_value() {
        let v = ok(r#" {"a": [1, -2, 0, true, false, null], "b": {"c": "d"}, "": []} "#);
        let want = Json::object([
            (
                "a",
                Json::Array(vec![
                    Json::Int(1),
                    Json::Int(-2),
                    Json::Int(0),
                    Json::Bool(true),
                    Json::Bool(false),
                    Json::Null,
                ]),
            ),
            ("b", Json::object([("c", Json::str("d"))])),
            ("", Json::Array(vec![])),
        ]);
        assert_eq!(v, want);
    }

    #[test]
    fn reads_escapes_and_surrogate_pairs() {
        assert_eq!(ok(r#""\"\\\/\b\f\n\r\t""#), Json::str("\"\\/\u{8}\u{c}\n\r\t"));
        assert_eq!(ok(r#""\u00e9\u20AC""#), Json::str("é€"));
        assert_eq!(ok(r#""\ud83d\ude00""#), Json::str("😀"));
        assert_eq!(ok("\"é😀\""), Json::str("é😀"));
    }

    #[test]
    fn integers_cover_i64_and_nothing_else() {
        assert_eq!(ok("9223372036854775807"), Json::Int(i64::MAX));
        assert_eq!(ok("-9223372036854775808"), Json::Int(i64::MIN));
        assert!(err("9223372036854775808").contains("out of range"));
        assert!(err("-9223372036854775809").contains("out of range"));
        assert_eq!(err("1.5"), "numbers must be integers at byte 0");
        assert!(err("1e3").contains("integers"));
        assert!(err("01").contains("text after the value"));
        assert!(err("-").contains("expected a digit"));
    }

    #[test]
    fn says_what_is_wrong_and_where() {
        assert_eq!(err(""), "unexpected end of input at byte 0");
        assert_eq!(err("{\"a\" 1}"), "expected ':' at byte 5");
        assert_eq!(err("[1 2]"), "expected ',' or ']' at byte 3");
        assert_eq!(err("{1:2}"), "expected a string key at byte 1");
        assert_eq!(err("nul"), "expected a value at byte 0");
        assert_eq!(err("{} x"), "text after the value at byte 3");
        assert_eq!(err("\"a\u{1}\""), "control character in a string (escape it) at byte 2");
        assert_eq!(err(r#""\x""#), "bad escape in a string at byte 2");
        assert_eq!(err(r#""\u12""#), "bad escape in a string at byte 3");
        assert!(err(r#""\ud800""#).contains("lone UTF-16 surrogate"));
        assert!(err(r#""\udc00""#).contains("lone UTF-16 surrogate"));
        assert!(err(r#""\ud800\u0041""#).contains("lone UTF-16 surrogate"));
        assert_eq!(parse(b"\"\xff\"", LIMITS).map_err(|e| e.to_string()), Err("not UTF-8 at byte 1".into()));
    }

    #[test]
    fn limits_size_and_depth() {
        let small = Limits { max_bytes: 4, max_depth: 2 };
        assert_eq!(parse(b"[[1]]", small).map_err(|e| e.to_string()), Err("longer than 4 bytes".into()));
        assert!(parse(b"[[]]", small).is_ok());
        assert_eq!(
            parse(b"[[[]]", Limits { max_bytes: 8, max_depth: 2 }).map_err(|e| e.kind),
            Err(Kind::TooDeep(2))
        );
        // Far deeper than the stack could take if depth were not bounded.
        let deep = "[".repeat(100_000);
        assert!(parse(deep.as_bytes(), Limits { max_bytes: 1 << 20, max_depth: 32 }).is_err());
    }

    /// Any JSON value keeplite can print.
    fn json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::Int),
            any::<String>().prop_map(Json::Str),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
                prop::collection::vec((any::<String>(), inner), 0..8).prop_map(Json::Object),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes, LIMITS);
        }

        #[test]
        fn json_like_text_never_panics(text in r#"[\[\]{}",:0-9a-z\\ .eE+-]{0,64}"#) {
            let _ = parse(text.as_bytes(), LIMITS);
        }

        #[test]
        fn printed_json_reads_back(value in json()) {
            let text = value.to_string();
            prop_assert_eq!(parse(text.as_bytes(), LIMITS), Ok(value));
        }
    }
}
