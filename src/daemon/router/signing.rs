//! `auth_hmac` for one instance on the wire: the trailer its adverts carry, the verdict on
//! each advert it hears (counted, and logged at most once a minute).

use crate::config::model::{AntiReplay, AuthHmac as Settings};
use crate::log;
use crate::vrrp::auth_hmac::{Accepted, AuthHmac, Reject, TRAILER_LEN};
use crate::vrrp::counters::Discard;
use crate::vrrp::instance::Instance;
use crate::vrrp::packet::Repr;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

/// Problems of one kind are logged once in this long; the counters count them all.
const LOG_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Signing {
    state: AuthHmac,
    /// When each kind of problem was last logged: the refusals in [`Reject`]'s order,
    /// then the clock-skew warning.
    logged: [Option<Instant>; 7],
}

/// Where a problem's last log time is kept.
fn kind(reject: Option<Reject>) -> usize {
    match reject {
        Some(Reject::Missing) => 0,
        Some(Reject::Malformed) => 1,
        Some(Reject::UnknownKey) => 2,
        Some(Reject::Digest) => 3,
        Some(Reject::Stale) => 4,
        Some(Reject::Replay) => 5,
        None => 6,
    }
}

/// The wall clock the sequence numbers and the window are read against.
fn wall() -> Duration {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
}

impl Signing {
    pub fn new(settings: Settings, ipv6: bool, version: u8, vrid: u8) -> Signing {
        Signing { state: AuthHmac::new(settings, ipv6, version, vrid), logged: [None; 7] }
    }

    /// The same instance after a reload: `new`'s settings, this one's sequence, marks and
    /// log times.
    pub fn continued_by(mut self, new: Signing) -> Signing {
        self.state.update(new.state.settings().clone());
        self
    }

    /// The trailer `advert` from `src` carries; empty in receive-only mode.
    pub fn trailer(&mut self, advert: &Repr, src: IpAddr) -> heapless::Vec<u8, TRAILER_LEN> {
        if !self.state.signs() {
            return heapless::Vec::new();
        }
        self.state.sign_advert(wall(), src, advert).into_iter().collect()
    }

    /// True when the advert `message` from `src`, followed by `rest`, may go on to
    /// `instance`; otherwise the discard is counted there.
    pub fn admits(
        &mut self,
        name: &str,
        instance: &mut Instance,
        src: IpAddr,
        message: &[u8],
        rest: &[u8],
    ) -> bool {
        let verdict = self.state.verify(wall(), src, message, rest);
        let problem = match verdict {
            Ok(Accepted::Unsigned) => {
                instance.count_unsigned();
                return true;
            }
            Ok(Accepted::Signed { skew }) => {
                let settings = self.state.settings();
                let window = settings.window;
                if settings.anti_replay != AntiReplay::Time || skew.unsigned_abs() * 2 <= window {
                    return true;
                }
                None
            }
            Err(reject) => {
                instance.count_discard(Discard::Hmac(reject));
                Some(reject)
            }
        };
        let now = Instant::now();
        let last = &mut self.logged[kind(problem)];
        if last.is_none_or(|at| now.duration_since(at) >= LOG_EVERY) {
            *last = Some(now);
            match (problem, verdict) {
                (Some(reject), _) => {
                    log::warning!("vrrp {name}: advert from {src} refused: {reject} (logged once a minute, all counted)")
                }
                (None, Ok(Accepted::Signed { skew })) => log::warning!(
                    "vrrp {name}: the clock of {src} is {skew} s from ours, over half the auth_hmac window ({} s): check NTP",
                    self.state.settings().window
                ),
                _ => {}
            }
        }
        problem.is_none()
    }
}
