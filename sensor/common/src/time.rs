//! Packet timestamps.

use std::fmt;

/// A packet timestamp: seconds and nanoseconds since the Unix epoch (UTC).
///
/// Capture files carry micro- or nanosecond resolution; both are kept here exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second, always below 1,000,000,000.
    pub nanos: u32,
}

impl Timestamp {
    /// Nanoseconds in one second.
    pub const NANOS_PER_SEC: u32 = 1_000_000_000;

    /// A timestamp from seconds and nanoseconds; nanoseconds past one second carry over.
    pub fn new(secs: i64, nanos: u32) -> Self {
        let carry = i64::from(nanos / Self::NANOS_PER_SEC);
        Self {
            secs: secs.saturating_add(carry),
            nanos: nanos % Self::NANOS_PER_SEC,
        }
    }

    /// A timestamp from whole nanoseconds since the epoch.
    pub fn from_nanos(total: i128) -> Self {
        let per = i128::from(Self::NANOS_PER_SEC);
        let secs = total.div_euclid(per);
        let nanos = total.rem_euclid(per);
        Self {
            secs: i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX }),
            // rem_euclid of a positive modulus is in 0..per, which fits in u32.
            nanos: u32::try_from(nanos).unwrap_or(0),
        }
    }

    /// Whole nanoseconds since the epoch.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * i128::from(Self::NANOS_PER_SEC) + i128::from(self.nanos)
    }

    /// Microseconds within the second (what Suricata's EVE timestamps show).
    pub fn micros(self) -> u32 {
        self.nanos / 1_000
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> std::time::Duration {
        let d = self.as_nanos() - earlier.as_nanos();
        if d <= 0 {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_nanos(u64::try_from(d).unwrap_or(u64::MAX))
        }
    }

    /// `self` moved forward by `d` (the same as `self + d`).
    #[allow(
        clippy::should_implement_trait,
        reason = "std::ops::Add is implemented too; the method needs no import"
    )]
    pub fn add(self, d: std::time::Duration) -> Timestamp {
        Timestamp::from_nanos(self.as_nanos() + d.as_nanos() as i128)
    }
}

impl std::ops::Add<std::time::Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, d: std::time::Duration) -> Timestamp {
        Timestamp::from_nanos(self.as_nanos() + d.as_nanos() as i128)
    }
}

impl fmt::Display for Timestamp {
    /// Seconds with nine decimals, e.g. `1700000000.000000001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_round_trip_and_carry() {
        let t = Timestamp::new(10, 1_500_000_000);
        assert_eq!(
            t,
            Timestamp {
                secs: 11,
                nanos: 500_000_000
            }
        );
        assert_eq!(Timestamp::from_nanos(t.as_nanos()), t);
        assert_eq!(
            Timestamp::from_nanos(-1),
            Timestamp {
                secs: -1,
                nanos: 999_999_999
            }
        );
        assert_eq!(t.micros(), 500_000);
    }

    #[test]
    fn since_saturates() {
        let a = Timestamp::new(5, 0);
        let b = Timestamp::new(7, 250);
        assert_eq!(b.saturating_since(a).as_nanos(), 2_000_000_250);
        assert_eq!(a.saturating_since(b), std::time::Duration::ZERO);
        assert_eq!(a.add(std::time::Duration::from_nanos(2_000_000_250)), b);
    }
}
