//! keepalived's `auth_hmac` advert extension (draft-cassen-vrrp-auth-hmac), sans I/O: a
//! 28-byte trailer after the VRRP message that carries an HMAC-SHA256 truncated to 16
//! bytes and a 64-bit time-based sequence number.
//!
//! ```text
//!  0        1        2        3
//! +--------+--------+--------+--------+
//! |ext type| key id |    reserved (0) |
//! +--------+--------+--------+--------+
//! |       seconds since 1970 (UTC)    |
//! +--------+--------+--------+--------+
//! |  1/65536 seconds |     counter     |
//! +--------+--------+--------+--------+
//! |    HMAC-SHA256, first 16 bytes    |
//! +--------+--------+--------+--------+
//! ```
//!
//! The HMAC covers a 20-byte pseudo header (family 4 or 6, version, VRID, 0, the sender's
//! address zero-padded), the message with its checksum read as zero (an IPv6 checksum
//! covers the trailer too, so it cannot be in the HMAC), the trailer's first 12 bytes
//! and 16 zero bytes. The IP header is not covered: unicast TTLs may change on the way.
//!
//! A receiver drops a stale timestamp before computing anything (anti-replay `time`),
//! then checks the HMAC, then keeps each sender's sequence growing, in that order: only
//! a sender with a valid signature moves its mark or takes a place in the table.
//! Clocks come in as arguments (`wall`: the time since 1970), so tests run any time.

use super::packet::{Repr, MAX_MESSAGE_LEN};
use crate::config::model::{AntiReplay, AuthHmac as Settings, HmacMode};
use crate::limits;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::time::Duration;

/// Bytes the trailer adds to an advert.
pub const TRAILER_LEN: usize = 28;
/// Extension type of HMAC-SHA256 truncated to 128 bits, the only one defined.
const EXT_SHA256: u8 = 1;
/// Bytes of the HMAC carried.
const HMAC_LEN: usize = 16;
/// The trailer up to the HMAC.
const SIGNED_LEN: usize = TRAILER_LEN - HMAC_LEN;
/// Offset of the checksum in the VRRP message (read as zero by the HMAC).
const CHECKSUM: std::ops::Range<usize> = 6..8;

/// Why a received advert's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// No trailer, and the instance enforces.
    Missing,
    /// Bytes after the message that are no trailer, an unknown extension type or a
    /// reserved field that is not zero.
    Malformed,
    /// The trailer names a key id this instance does not have.
    UnknownKey,
    /// The HMAC does not verify: another key, a changed packet or a forgery.
    Digest,
    /// The timestamp is further from our clock than the window (anti-replay `time`).
    Stale,
    /// The sequence is not above the last one this sender's valid adverts carried.
    Replay,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Reject::Missing => {
                "it carries no auth_hmac signature (a peer without auth_hmac, or receive-only)"
            }
            Reject::Malformed => "the bytes after the message are no auth_hmac trailer",
            Reject::UnknownKey => "it is signed with a key id this router does not have",
            Reject::Digest => "its HMAC does not verify (another key, or a forgery)",
            Reject::Stale => "its timestamp is outside the auth_hmac window (clocks apart? check NTP)",
            Reject::Replay => "its sequence number was seen already (a replay)",
        })
    }
}

/// A received advert the extension lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// With a valid trailer; `skew`: our clock minus the sender's, in seconds.
    Signed { skew: i32 },
    /// Without a trailer, taken because the instance is not enforcing.
    Unsigned,
}

/// One sender's last accepted sequence.
#[derive(Debug, Clone, Copy)]
struct Sender {
    addr: IpAddr,
    seq: Option<u64>,
    /// Least recently used rank; the lowest is forgotten first.
    used: u32,
}

/// The extension's state for one instance: its settings, the last sequence it sent and
/// the last one each sender's valid adverts carried.
#[derive(Debug, Clone)]
pub struct AuthHmac {
    settings: Settings,
    /// 4 or 6, the pseudo header's first byte.
    family: u8,
    version: u8,
    vrid: u8,
    /// The last sequence sent; none yet (any clock reading comes after none, also past
    /// 2038, where a reading no longer comes after 0 in serial order).
    sent: Option<u64>,
    senders: heapless::Vec<Sender, { limits::HMAC_SENDERS }>,
    clock: u32,
}

impl AuthHmac {
    /// The state of instance `vrid` (VRRP `version` 2 or 3, IPv6 or not).
    pub fn new(settings: Settings, ipv6: bool, version: u8, vrid: u8) -> AuthHmac {
        let family = if ipv6 { 6 } else { 4 };
        AuthHmac { settings, family, version, vrid, sent: None, senders: heapless::Vec::new(), clock: 0 }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Takes new settings, keeping the sequence sent and the senders' marks (a reload).
    pub fn update(&mut self, settings: Settings) {
        self.settings = settings;
    }

    /// True when adverts carry a trailer (not `receive-only`).
    pub fn signs(&self) -> bool {
        self.settings.mode != HmacMode::ReceiveOnly
    }

    /// The trailer for `message` (the VRRP message, any checksum) sent from `src` at
    /// `wall`. Each call takes the next sequence number; an advert sent to several
    /// unicast peers carries one trailer.
    pub fn sign(&mut self, wall: Duration, src: IpAddr, message: &[u8]) -> [u8; TRAILER_LEN] {
        let seq = self.next_seq(wall);
        let mut trailer = [0u8; TRAILER_LEN];
        trailer[0] = EXT_SHA256;
        trailer[1] = self.settings.active_key;
        trailer[4..12].copy_from_slice(&seq.to_be_bytes());
        // Settings always name a configured key; a zero HMAC (none) is refused by all.
        if let Some(key) = self.key(self.settings.active_key) {
            let digest = self.digest(key, src, message, &trailer);
            trailer[SIGNED_LEN..].copy_from_slice(&digest);
        }
        trailer
    }

    /// The trailer for `advert` sent from `src` at `wall` (see [`sign`](Self::sign)).
    pub fn sign_advert(&mut self, wall: Duration, src: IpAddr, advert: &Repr) -> [u8; TRAILER_LEN] {
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let message = &mut buf[..advert.buffer_len().min(MAX_MESSAGE_LEN)];
        // Any destination: the checksum it decides is not signed.
        advert.emit(message, src, src);
        self.sign(wall, src, message)
    }

    /// Checks the bytes that follow a received `message` from `src` at `wall`.
    pub fn verify(
        &mut self,
        wall: Duration,
        src: IpAddr,
        message: &[u8],
        rest: &[u8],
    ) -> Result<Accepted, Reject> {
        if rest.is_empty() {
            return match self.settings.mode {
                HmacMode::Enforce => Err(Reject::Missing),
                HmacMode::Permissive | HmacMode::ReceiveOnly => Ok(Accepted::Unsigned),
            };
        }
        let trailer: &[u8; TRAILER_LEN] = rest.try_into().map_err(|_| Reject::Malformed)?;
        if trailer[0] != EXT_SHA256 || trailer[2..4] != [0, 0] {
            return Err(Reject::Malformed);
        }
        let seq = u64::from_be_bytes([
            trailer[4],
            trailer[5],
            trailer[6],
            trailer[7],
            trailer[8],
            trailer[9],
            trailer[10],
            trailer[11],
        ]);
        let now = wall.as_secs() as u32;
        let skew = now.wrapping_sub((seq >> 32) as u32) as i32;
        if self.settings.anti_replay == AntiReplay::Time && !self.within_window(skew) {
            // Before the HMAC: a flood of old captures costs no digest each.
            return Err(Reject::Stale);
        }
        let key = self.key(trailer[1]).ok_or(Reject::UnknownKey)?;
        let digest = self.digest(key, src, message, trailer);
        if !same(&digest, &trailer[SIGNED_LEN..]) {
            return Err(Reject::Digest);
        }
        self.fresh(src, seq, now)?;
        Ok(Accepted::Signed { skew })
    }

    fn key(&self, id: u8) -> Option<&[u8]> {
        self.settings.keys.iter().find(|k| k.id == id).map(|k| k.secret.0.as_slice())
    }

    fn within_window(&self, seconds: i32) -> bool {
        seconds.unsigned_abs() <= self.settings.window
    }

    /// The larger of the clock and the last sequence plus one (RFC 1982 order), so the
    /// sequence grows even when the clock does not; after a clock stepped back by more
    /// than the window, the clock again (receivers would take nothing else).
    fn next_seq(&mut self, wall: Duration) -> u64 {
        let subsec = (u64::from(wall.subsec_nanos()) << 16) / 1_000_000_000;
        let clock = (u64::from(wall.as_secs() as u32) << 32) | (subsec << 16);
        let next = match self.sent {
            None => clock,
            Some(sent) => {
                let ahead = ((sent >> 32) as u32).wrapping_sub((clock >> 32) as u32) as i32;
                let restart =
                    self.settings.anti_replay == AntiReplay::Time && ahead > self.settings.window as i32;
                if after(clock, sent) || restart {
                    clock
                } else {
                    sent.wrapping_add(1)
                }
            }
        };
        self.sent = Some(next);
        next
    }

    fn digest(&self, key: &[u8], src: IpAddr, message: &[u8], trailer: &[u8; TRAILER_LEN]) -> [u8; HMAC_LEN] {
        let mut pseudo = [0u8; 20];
        pseudo[..3].copy_from_slice(&[self.family, self.version, self.vrid]);
        match src {
            IpAddr::V4(a) => pseudo[4..8].copy_from_slice(&a.octets()),
            IpAddr::V6(a) => pseudo[4..20].copy_from_slice(&a.octets()),
        }
        let (head, tail) = message.split_at(CHECKSUM.start.min(message.len()));
        let tail = tail.get(CHECKSUM.len()..).unwrap_or_default();
        let full = hmac_sha256(key, &[&pseudo, head, &[0, 0], tail, &trailer[..SIGNED_LEN], &[0; HMAC_LEN]]);
        let mut out = [0u8; HMAC_LEN];
        out.copy_from_slice(&full[..HMAC_LEN]);
        out
    }

    /// Raises `src`'s mark to `seq`, or refuses a sequence that does not grow. A mark
    /// older than the window (anti-replay `time`) is forgotten: only the window orders
    /// such packets, and a sender whose clock was stepped back starts again.
    fn fresh(&mut self, src: IpAddr, seq: u64, now: u32) -> Result<(), Reject> {
        self.clock = self.clock.wrapping_add(1).max(1);
        let used = self.clock;
        let i = match self.senders.iter().position(|s| s.addr == src) {
            Some(i) => i,
            None => {
                let new = Sender { addr: src, seq: None, used };
                match self.senders.push(new) {
                    Ok(()) => self.senders.len() - 1,
                    Err(new) => {
                        let oldest =
                            (0..self.senders.len()).min_by_key(|&i| self.senders[i].used).unwrap_or(0);
                        self.senders[oldest] = new;
                        oldest
                    }
                }
            }
        };
        let time = self.settings.anti_replay == AntiReplay::Time;
        let window = self.settings.window;
        let sender = &mut self.senders[i];
        sender.used = used;
        if let Some(last) = sender.seq {
            let age = now.wrapping_sub((last >> 32) as u32) as i32;
            if time && age.unsigned_abs() > window {
                sender.seq = None;
            } else if !after(seq, last) {
                return Err(Reject::Replay);
            }
        }
        sender.seq = Some(seq);
        Ok(())
    }
}

/// `a` comes after `b` in RFC 1982 serial number order over 64 bits.
fn after(a: u64, b: u64) -> bool {
    (a.wrapping_sub(b) as i64) > 0
}

/// Compares in time that does not depend on where the bytes differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts`.
fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

#[cfg(test)]
mod tests;
