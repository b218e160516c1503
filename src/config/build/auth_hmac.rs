//! A `vrrp` section's `auth_hmac_*` options: keepalived's `auth_hmac` block.

use super::reader::Reader;
use crate::config::model::*;
use crate::config::value::{self, Bad, Parsed};
use std::path::Path;
use std::time::Duration;

/// The options, all read here.
const OPTIONS: [&str; 5] =
    ["auth_hmac_key", "auth_hmac_active_key", "auth_hmac_mode", "auth_hmac_anti_replay", "auth_hmac_window"];

/// Reads the `auth_hmac_*` options of an instance sending every `advert_int`; `None`
/// without keys (then any other `auth_hmac_*` option is reported).
pub fn read(r: &mut Reader, advert_int: Duration) -> Option<AuthHmac> {
    let mut keys = Vec::new();
    let values = r.section.get("auth_hmac_key").map_or(&[][..], |o| o.values.as_slice());
    for v in values {
        match key(v) {
            Ok((k, readable)) => {
                if readable {
                    let what = format!("key {}: {} can be read by group or others", k.id, k.written);
                    r.warn("auth_hmac_key", what, "a file only root can read (chmod 600)");
                }
                keys.push(k);
            }
            Err(b) => r.fail("auth_hmac_key", b.what, b.expected),
        }
    }
    let ids: Vec<u8> = keys.iter().map(|k| k.id).collect();
    let twice = r.no_duplicates("auth_hmac_key", &ids, |id| format!("key id {id}"));
    let active = r.one("auth_hmac_active_key", |v| value::uint::<u8>(v, 1, 255));
    let mode = r.or("auth_hmac_mode", HmacMode::Enforce, |v| value::keyword(v, HMAC_MODES));
    let anti_replay = r.or("auth_hmac_anti_replay", AntiReplay::Time, |v| value::keyword(v, ANTI_REPLAYS));
    let window = r.one("auth_hmac_window", window);
    if keys.is_empty() || twice {
        if !r.has("auth_hmac_key") {
            for option in &OPTIONS[1..] {
                if r.has(option) {
                    r.warn(option, "has no effect without auth_hmac_key", "auth_hmac_key, or no such option");
                }
            }
        }
        return None;
    }
    let active_key = match active {
        Some(id) if !ids.contains(&id) => {
            r.fail(
                "auth_hmac_active_key",
                format!("no auth_hmac_key has id {id}"),
                "the id of one of the keys",
            );
            return None;
        }
        Some(id) => id,
        None if ids.len() == 1 => ids[0],
        None => {
            r.missing(
                "'auth_hmac_active_key'",
                "the id of the key adverts are signed with, with several keys",
            );
            return None;
        }
    };
    if window.is_some() && anti_replay == AntiReplay::Monotonic {
        r.warn(
            "auth_hmac_window",
            "has no effect with auth_hmac_anti_replay monotonic",
            "no auth_hmac_window",
        );
    }
    // keepalived's default: three adverts, at least 5 s.
    let default_window = (advert_int * 3).as_secs_f64().ceil().clamp(5.0, 300.0) as u32;
    let keys = r.fixed("auth_hmac_key", keys, "HMAC_KEYS");
    Some(AuthHmac { keys, active_key, mode, anti_replay, window: window.unwrap_or(default_window) })
}

fn window(v: &str) -> Parsed<u32> {
    let d = value::duration_in(v, Duration::from_secs(1), Duration::from_secs(300))?;
    if d.subsec_nanos() != 0 {
        return Err(Bad {
            what: format!("{v} is not whole seconds"),
            expected: "1s..5m in whole seconds".into(),
        });
    }
    Ok(d.as_secs() as u32)
}

/// `ID VALUE`, VALUE being `hex:HEX`, `file:PATH` or the key as text; and whether the
/// file can be read by group or others.
fn key(v: &str) -> Parsed<(HmacKey, bool)> {
    let expected = "ID VALUE: an id 1..255, then hex:HEX, file:/PATH or 32 to 64 characters";
    let mut words = v.split_whitespace();
    let (Some(id), Some(written), None) = (words.next(), words.next(), words.next()) else {
        // Not shown: it may hold the key.
        let what = match v.split_whitespace().count() {
            1 => "one word, not an id and a key".to_owned(),
            n => format!("{n} words, not an id and a key"),
        };
        return Err(Bad { what, expected: expected.into() });
    };
    // Not value::uint: its error quotes the word, which may be the key (written first).
    let digits = id.bytes().all(|b| b.is_ascii_digit());
    let id = id
        .parse::<u8>()
        .ok()
        .filter(|&i| digits && i > 0)
        .ok_or_else(|| Bad { what: "the first word is no key id".into(), expected: expected.into() })?;
    let (bytes, readable) = match written.strip_prefix("file:") {
        Some(path) => file_key(path)?,
        None => (inline_key(written)?, false),
    };
    let length = || Bad {
        what: format!("key {id} is {} bytes long", bytes.len()),
        expected: format!("{HMAC_KEY_MIN} to {HMAC_KEY_MAX} bytes (openssl rand -hex 32)"),
    };
    if bytes.len() < HMAC_KEY_MIN {
        return Err(length());
    }
    let secret = heapless::Vec::from_slice(&bytes).map_err(|()| length())?;
    Ok((HmacKey { id, written: written.to_owned(), secret: Secret(secret) }, readable))
}

/// `hex:HEX` or the key as text.
fn inline_key(written: &str) -> Parsed<Vec<u8>> {
    let Some(digits) = written.strip_prefix("hex:") else { return Ok(written.as_bytes().to_vec()) };
    let bad =
        || Bad { what: "the key after hex: is not hexadecimal".into(), expected: "pairs of 0-9a-f".into() };
    if digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| digits.get(i..i + 2).and_then(|d| u8::from_str_radix(d, 16).ok()).ok_or_else(bad))
        .collect()
}

/// A key file: the same `hex:` line or the key as text, a final newline left out.
fn file_key(path: &str) -> Parsed<(Vec<u8>, bool)> {
    let fail = |why: String| Bad {
        what: format!("key file {path}: {why}"),
        expected: "a key file of root's, mode 600".into(),
    };
    if !path.starts_with('/') {
        return Err(fail("not an absolute path".into()));
    }
    // Room for 64 bytes as hex and a line end.
    let (bytes, readable) =
        crate::trust::read_secret(Path::new(path), 4 + 2 * HMAC_KEY_MAX + 2).map_err(fail)?;
    let text = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let key = match std::str::from_utf8(text) {
        Ok(t) if t.starts_with("hex:") => inline_key(t)?,
        _ => text.to_vec(),
    };
    Ok((key, readable))
}
