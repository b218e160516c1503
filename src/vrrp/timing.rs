//! VRRP's timers: Skew_Time and Master_Down_Interval for v2 (RFC 3768 section 6.1) and v3
//! (RFC 9568 section 6.1, where Skew_Time uses the learned Master_Adver_Interval; RFC 5798
//! used the local Advertisement_Interval, an erratum 9568 fixed).

use super::packet::Version;
use std::time::Duration;

/// The inputs of the timer formulas.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub version: Version,
    /// Local (effective) priority.
    pub priority: u8,
    /// v3: learned from the master; v2: the configured interval.
    pub master_adver_int: Duration,
}

impl Timing {
    /// Skew_Time: lower priorities wait longer before taking over.
    pub fn skew_time(&self) -> Duration {
        let weight = 256 - u128::from(self.priority);
        let unit = match self.version {
            Version::V2 => Duration::from_secs(1),
            Version::V3 => self.master_adver_int,
        };
        Duration::from_nanos((unit.as_nanos() * weight / 256) as u64)
    }

    /// Master_Down_Interval: three intervals plus Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        3 * self.master_adver_int + self.skew_time()
    }
}

/// A v3 advert interval field as a duration.
pub fn centiseconds(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_formulas() {
        let t =
            |version, priority, ms| Timing { version, priority, master_adver_int: Duration::from_millis(ms) };
        // v2, priority 100, 1 s: skew (256-100)/256 s = 609.375 ms; down 3.609375 s.
        assert_eq!(t(Version::V2, 100, 1000).skew_time(), Duration::from_nanos(609_375_000));
        assert_eq!(t(Version::V2, 100, 1000).master_down_interval(), Duration::from_nanos(3_609_375_000));
        // v2 skew ignores the interval.
        assert_eq!(t(Version::V2, 100, 5000).skew_time(), Duration::from_nanos(609_375_000));
        // v3, priority 200, 100 ms: skew 56 * 100 / 256 ms = 21.875 ms.
        assert_eq!(t(Version::V3, 200, 100).skew_time(), Duration::from_nanos(21_875_000));
        assert_eq!(t(Version::V3, 200, 100).master_down_interval(), Duration::from_nanos(321_875_000));
        // The owner's skew is the smallest: 1/256 of the interval.
        assert_eq!(t(Version::V3, 255, 1000).skew_time(), Duration::from_nanos(3_906_250));
        assert_eq!(centiseconds(50), Duration::from_millis(500));
    }
}
