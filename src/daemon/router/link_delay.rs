//! keepalived's `interface_up_down_delays`: a change of an instance's link reaches the
//! instance only once it has lasted `up_delay` (coming up) or `down_delay` (going down).
//! A bridge whose port is still blocked by STP, or a link that blips, then moves nothing.

use std::time::{Duration, Instant};

/// The link state an instance has been told, and a change waiting for its delay.
#[derive(Debug, Clone)]
pub struct LinkDelay {
    up: Duration,
    down: Duration,
    reported: Option<bool>,
    pending: Option<(bool, Instant)>,
}

impl LinkDelay {
    pub fn new(up: Duration, down: Duration) -> LinkDelay {
        LinkDelay { up, down, reported: None, pending: None }
    }

    /// The link is `usable` at `now`: the state to tell the instance now, if any. The
    /// first observation is told at once; a change is told once it has lasted its delay
    /// (see [`due`](Self::due)); a change that reverts before then is never told.
    pub fn observe(&mut self, now: Instant, usable: bool) -> Option<bool> {
        match self.reported {
            Some(told) if told == usable => {
                self.pending = None;
                None
            }
            Some(_) => {
                let delay = if usable { self.up } else { self.down };
                if delay.is_zero() {
                    return self.tell(usable);
                }
                if self.pending.map(|(u, _)| u) != Some(usable) {
                    self.pending = Some((usable, now + delay));
                }
                None
            }
            None => self.tell(usable),
        }
    }

    /// When a waiting change is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.map(|(_, at)| at)
    }

    /// The waiting change, once its delay has passed at `now`.
    pub fn due(&mut self, now: Instant) -> Option<bool> {
        match self.pending {
            Some((usable, at)) if at <= now => self.tell(usable),
            _ => None,
        }
    }

    fn tell(&mut self, usable: bool) -> Option<bool> {
        self.pending = None;
        self.reported = Some(usable);
        Some(usable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn without_delays_every_change_is_told_at_once() {
        let t = Instant::now();
        let mut d = LinkDelay::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(d.observe(t, true), Some(true));
        assert_eq!(d.observe(t, true), None);
        assert_eq!(d.observe(t, false), Some(false));
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn a_change_is_told_once_it_has_lasted_its_delay() {
        let t = Instant::now();
        let mut d = LinkDelay::new(3 * S, S);
        assert_eq!(d.observe(t, true), Some(true), "the first state at once");
        assert_eq!(d.observe(t, false), None);
        assert_eq!(d.deadline(), Some(t + S));
        // Seen again meanwhile: the wait does not restart.
        assert_eq!(d.observe(t + S / 2, false), None);
        assert_eq!(d.due(t + S / 2), None);
        assert_eq!(d.due(t + S), Some(false));
        // Back up: told after 3 s.
        assert_eq!(d.observe(t + 2 * S, true), None);
        assert_eq!(d.due(t + 4 * S), None);
        assert_eq!(d.due(t + 5 * S), Some(true));
    }

    #[test]
    fn a_blip_shorter_than_the_delay_is_never_told() {
        let t = Instant::now();
        let mut d = LinkDelay::new(Duration::ZERO, S);
        d.observe(t, true);
        assert_eq!(d.observe(t, false), None);
        assert_eq!(d.observe(t + S / 3, true), None);
        assert_eq!((d.deadline(), d.due(t + 2 * S)), (None, None));
    }
}
