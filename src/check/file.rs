//! The `file` check, as keepalived's FILE_CHECK with its `track_file`: a number in a file,
//! read at each run. With `weight 0`, a non-zero number is down and zero up (`reverse`:
//! the other way round); with any other weight (1 by default), the number times the
//! weight (negated with `reverse`) shifts the real server's weight, and a shift of -65535
//! or less is down. A missing or empty file reads as 0, as keepalived's does.
//!
//! The file is read on the checker thread, never the VRRP one; a file on a local or
//! memory file system (/run, /tmp) reads in microseconds.

use super::Outcome;
use crate::config::model::FileCheck;
use std::io::{ErrorKind, Read};

/// IPVS's largest weight; keepalived's bound for what a file may shift.
const WEIGHT_MAX: i64 = 65535;
/// Bytes read from the file: a number and some room (keepalived reads 127).
const READ_MAX: usize = 128;

/// The `file` check.
pub async fn probe(check: &FileCheck) -> Outcome {
    match read(&check.path) {
        Ok(value) => verdict(value, check),
        Err(outcome) => outcome,
    }
}

/// The number in the file at `path` (a missing file is 0); also what the VRRP side's
/// `track_file` reads.
pub(crate) fn read(path: &str) -> Result<i64, Outcome> {
    let mut buf = [0u8; READ_MAX];
    let mut len = 0;
    match std::fs::File::open(path) {
        Ok(mut f) => loop {
            match f.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => {
                    len += n;
                    if len == buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Outcome::Error(format!("cannot read {path}: {e}"))),
            }
        },
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Outcome::Error(format!("cannot open {path}: {e}"))),
    }
    number(&buf[..len]).ok_or(Outcome::BadReply("no number at the start of the file"))
}

/// The number at the start of `text`, as C's `strtol(text, NULL, 0)` reads it (leading
/// white space, a sign, `0x` for hexadecimal, a leading `0` for octal; what follows the
/// digits does not matter), except that text without a number, or a number beyond 64
/// bits, is `None`. Nothing but white space is 0.
pub fn number(text: &[u8]) -> Option<i64> {
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else { return Some(0) };
    let mut rest = &text[start..];
    let negative = rest.first() == Some(&b'-');
    if matches!(rest.first(), Some(b'-' | b'+')) {
        rest = &rest[1..];
    }
    let (radix, digits) = match rest {
        [b'0', b'x' | b'X', d, ..] if d.is_ascii_hexdigit() => (16, &rest[2..]),
        [b'0', ..] => (8, rest),
        _ => (10, rest),
    };
    let count = digits.iter().take_while(|&&b| char::from(b).is_digit(radix)).count();
    if count == 0 {
        return None;
    }
    let digits = std::str::from_utf8(&digits[..count]).ok()?;
    let magnitude = i128::from(u64::from_str_radix(digits, radix).ok()?);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// What `value` means for `check`.
pub fn verdict(value: i64, check: &FileCheck) -> Outcome {
    if check.weight == 0 {
        let down = (value != 0) != check.reverse;
        return if down { Outcome::Value(value) } else { Outcome::Ok };
    }
    let sign = if check.reverse { -1 } else { 1 };
    let shift = i128::from(value) * i128::from(check.weight) * sign;
    let shift = shift.clamp(-i128::from(WEIGHT_MAX), i128::from(WEIGHT_MAX - 1)) as i32;
    if i64::from(shift) == -WEIGHT_MAX {
        Outcome::Value(value)
    } else {
        Outcome::Shift(shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::reactor::block_on_test;

    fn check(path: &str, weight: i32, reverse: bool) -> FileCheck {
        FileCheck { path: path.into(), weight, reverse }
    }

    #[test]
    fn numbers_as_strtol_reads_them() {
        for (text, want) in [
            (&b"0"[..], Some(0)),
            (b"1\n", Some(1)),
            (b"  -42 apples", Some(-42)),
            (b"+7", Some(7)),
            (b"0x1F", Some(31)),
            (b"010", Some(8)),
            (b"09", Some(0)),
            (b"", Some(0)),
            (b" \n", Some(0)),
            (b"up", None),
            (b"-", None),
            (b"99999999999999999999", None),
            (b"-9223372036854775808", Some(i64::MIN)),
        ] {
            assert_eq!(number(text), want, "{:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn weight_zero_is_up_on_zero() {
        assert_eq!(verdict(0, &check("/f", 0, false)), Outcome::Ok);
        assert_eq!(verdict(3, &check("/f", 0, false)), Outcome::Value(3));
        assert_eq!(verdict(0, &check("/f", 0, true)), Outcome::Value(0));
        assert_eq!(verdict(-1, &check("/f", 0, true)), Outcome::Ok);
    }

    #[test]
    fn other_weights_shift_and_the_floor_is_down() {
        assert_eq!(verdict(0, &check("/f", 1, false)), Outcome::Shift(0));
        assert_eq!(verdict(5, &check("/f", 10, false)), Outcome::Shift(50));
        assert_eq!(verdict(5, &check("/f", 10, true)), Outcome::Shift(-50));
        assert_eq!(verdict(-65534, &check("/f", 1, false)), Outcome::Shift(-65534));
        assert_eq!(verdict(-65535, &check("/f", 1, false)), Outcome::Value(-65535));
        assert_eq!(verdict(i64::MIN, &check("/f", -65535, true)), Outcome::Value(i64::MIN));
        assert_eq!(verdict(i64::MAX, &check("/f", 65535, false)), Outcome::Shift(65534));
    }

    #[test]
    fn the_file_is_read_at_each_run() {
        let dir = std::env::temp_dir().join(format!("kl-file-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("flag");
        let c = check(path.to_str().unwrap(), 0, false);
        assert_eq!(block_on_test(probe(&c)), Outcome::Ok, "missing reads as 0");
        std::fs::write(&path, "1\n").unwrap();
        assert_eq!(block_on_test(probe(&c)), Outcome::Value(1));
        std::fs::write(&path, "maintenance").unwrap();
        assert_eq!(block_on_test(probe(&c)), Outcome::BadReply("no number at the start of the file"));
        std::fs::write(&path, "0").unwrap();
        assert_eq!(block_on_test(probe(&c)), Outcome::Ok);
        let c = check(dir.to_str().unwrap(), 0, false);
        assert!(matches!(block_on_test(probe(&c)), Outcome::Error(e) if e.starts_with("cannot read")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
