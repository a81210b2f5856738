//! Rate-limited messages: a warning that repeats (a center that refuses connections, a
//! full queue) is logged at most once per key and interval; the repetitions in between are
//! counted and reported with the next message that is let through.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tapwatch_service::RateLimited;
//!
//! let mut limit = RateLimited::new(Duration::from_secs(60));
//! for _ in 0..3 {
//!     if let Some(repeated) = limit.check("connect", Instant::now()) {
//!         eprintln!("cannot connect{}", RateLimited::<&str>::suffix(repeated));
//!     }
//! }
//! ```

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// At most one message per key every `interval`; owned by the code that logs (no global
/// table). Keys should come from a small set (a message kind, a sensor id): the table keeps
/// one entry per key ever seen.
#[derive(Debug)]
pub struct RateLimited<K> {
    interval: Duration,
    seen: HashMap<K, Entry>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    last: Instant,
    suppressed: u64,
}

impl<K: Hash + Eq> RateLimited<K> {
    /// One message per key per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            seen: HashMap::new(),
        }
    }

    /// Whether a message for `key` may be logged at `now`: `Some(n)` when it may, `n` being
    /// how many were held back since the last one let through; `None` when it is held back
    /// (and counted).
    pub fn check(&mut self, key: K, now: Instant) -> Option<u64> {
        match self.seen.get_mut(&key) {
            Some(e) if now.saturating_duration_since(e.last) < self.interval => {
                e.suppressed += 1;
                None
            }
            Some(e) => {
                let n = e.suppressed;
                *e = Entry {
                    last: now,
                    suppressed: 0,
                };
                Some(n)
            }
            None => {
                self.seen.insert(
                    key,
                    Entry {
                        last: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }

    /// Messages held back for `key` since the last one let through (for a final report).
    pub fn pending(&self, key: &K) -> u64 {
        self.seen.get(key).map_or(0, |e| e.suppressed)
    }

    /// The text appended to a message let through after `repeated` were held back: empty
    /// for 0, else `" (repeated N times)"`.
    pub fn suffix(repeated: u64) -> String {
        match repeated {
            0 => String::new(),
            1 => " (repeated once)".to_owned(),
            n => format!(" (repeated {n} times)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_interval_and_key_with_the_count() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut r = RateLimited::new(Duration::from_secs(10));
        assert_eq!(r.check("a", t0), Some(0));
        assert_eq!(r.check("a", t0 + s), None);
        assert_eq!(r.check("a", t0 + 2 * s), None);
        // Another key is independent.
        assert_eq!(r.check("b", t0 + 2 * s), Some(0));
        assert_eq!(r.pending(&"a"), 2);
        // Just before the interval: still held; at it: let through with the count.
        assert_eq!(r.check("a", t0 + 9 * s), None);
        assert_eq!(r.check("a", t0 + 10 * s), Some(3));
        assert_eq!(r.pending(&"a"), 0);
        assert_eq!(r.check("a", t0 + 11 * s), None);
        assert_eq!(r.check("a", t0 + 25 * s), Some(1));
    }

    #[test]
    fn suffix_reads_well() {
        assert_eq!(RateLimited::<u8>::suffix(0), "");
        assert_eq!(RateLimited::<u8>::suffix(1), " (repeated once)");
        assert_eq!(RateLimited::<u8>::suffix(123), " (repeated 123 times)");
    }
}
