//! Reconnection delays: exponential backoff with full jitter.

use std::time::Duration;

/// Delays for successive failed attempts: attempt `n` waits a uniformly random time in
/// `[0, min(cap, base * 2^n)]` ("full jitter"), so that many sensors cut off at once do not
/// come back in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u64,
    cap_ms: u64,
    attempt: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// A backoff from `base_ms` doubling up to `cap_ms`.
    pub fn new(base_ms: u64, cap_ms: u64) -> Self {
        Backoff {
            base_ms: base_ms.max(1),
            cap_ms: cap_ms.max(base_ms.max(1)),
            attempt: 0,
            rng: fastrand::Rng::new(),
        }
    }

    /// The upper bound of the next delay.
    pub fn ceiling_ms(&self) -> u64 {
        let factor = 1u64.checked_shl(self.attempt.min(40)).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(self.cap_ms)
    }

    /// The next delay; each call counts one failed attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling_ms();
        self.attempt = self.attempt.saturating_add(1);
        Duration::from_millis(self.rng.u64(0..=ceiling))
    }

    /// Back to the first delay (after a connection that worked).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_and_resets() {
        let mut b = Backoff::new(100, 1000);
        let mut ceilings = Vec::new();
        for _ in 0..6 {
            ceilings.push(b.ceiling_ms());
            assert!(b.next_delay() <= Duration::from_millis(1000));
        }
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        for _ in 0..100 {
            let _ = b.next_delay();
        }
        assert_eq!(b.ceiling_ms(), 1000);
        b.reset();
        assert_eq!(b.ceiling_ms(), 100);
    }
}
