//! Rise/fall hysteresis: an object changes state only after `rise` successes or `fall`
//! failures in a row (keepalived's scripts and checkers).

/// The up/down state of one tracked object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    up: bool,
    /// Results in a row that disagree with `up`.
    streak: u32,
}

impl RiseFall {
    /// Starts `up` (or down), needing `rise` and `fall` results in a row to change.
    pub fn new(rise: u32, fall: u32, up: bool) -> RiseFall {
        RiseFall { rise: rise.max(1), fall: fall.max(1), up, streak: 0 }
    }

    /// True when `other` needs the same numbers of results to change.
    pub fn same_settings(&self, other: &RiseFall) -> bool {
        (self.rise, self.fall) == (other.rise, other.fall)
    }

    /// Current state.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Records one result; true when the state changed.
    pub fn record(&mut self, ok: bool) -> bool {
        if ok == self.up {
            self.streak = 0;
            return false;
        }
        self.streak += 1;
        let needed = if ok { self.rise } else { self.fall };
        if self.streak >= needed {
            self.up = ok;
            self.streak = 0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_consecutive_results() {
        let mut r = RiseFall::new(2, 3, true);
        assert!(!r.record(false));
        assert!(!r.record(false));
        assert!(!r.record(true)); // streak broken
        assert!(!r.record(false));
        assert!(!r.record(false));
        assert!(r.record(false));
        assert!(!r.is_up());
        assert!(!r.record(true));
        assert!(r.record(true));
        assert!(r.is_up());
    }
}
