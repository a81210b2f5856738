//! Worker heartbeats, for systemd's watchdog: a stuck worker must stop the pings.
//!
//! Each worker bumps its own counter once per batch it takes from its queue (never per
//! packet). In live capture every worker gets a batch at least every 100 ms (the capture
//! threads' clock ticks, `live.rs`), so a counter that has not moved for seconds means the
//! worker is stuck (in a rule, a parser, a lock), not idle. [`Checker`] compares the
//! counters between two looks; the caller pings only when every worker moved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One heartbeat counter per worker, shared by the workers (each writes its own) and the
/// watchdog (reads them all).
#[derive(Debug)]
pub struct Liveness {
    beats: Box<[AtomicU64]>,
}

impl Liveness {
    /// Counters for `workers` workers, all at 0.
    pub fn new(workers: usize) -> Self {
        Self {
            beats: (0..workers).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Worker `index` made progress (took a batch). Out-of-range indexes are ignored.
    pub fn beat(&self, index: usize) {
        if let Some(b) = self.beats.get(index) {
            b.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The workers counted.
    pub fn workers(&self) -> usize {
        self.beats.len()
    }

    fn snapshot(&self) -> Vec<u64> {
        self.beats
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect()
    }
}

/// Which workers made no progress between two looks.
#[derive(Debug)]
pub struct Checker {
    last: Vec<u64>,
}

impl Checker {
    /// Starts from the counters as they are now.
    pub fn new(liveness: &Liveness) -> Self {
        Self {
            last: liveness.snapshot(),
        }
    }

    /// The workers whose counter did not move since the previous look (or since
    /// [`Checker::new`]); empty when every worker made progress.
    pub fn stalled(&mut self, liveness: &Liveness) -> Vec<usize> {
        let now = liveness.snapshot();
        let stalled = now
            .iter()
            .zip(&self.last)
            .enumerate()
            .filter(|(_, (n, l))| n == l)
            .map(|(i, _)| i)
            .collect();
        self.last = now;
        stalled
    }
}

/// What a worker thread does besides its work, for the service's watchdog.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Heartbeats, bumped once per batch, when set.
    pub liveness: Option<std::sync::Arc<Liveness>>,
    /// TEST ONLY (`tapwatch run --test-hang-worker-after-secs`, hidden): worker 0 stops
    /// making progress this long after it starts, as a stuck worker would, so that a test
    /// can see the watchdog's pings stop. It never returns: the process must be killed.
    /// `None` in every real run.
    pub test_hang_after: Option<Duration>,
}

/// Makes the calling worker stuck for good (see [`Watch::test_hang_after`]).
pub(crate) fn hang_for_test(index: usize) -> ! {
    tracing::warn!("TEST ONLY: worker {index} now hangs (--test-hang-worker-after-secs)");
    loop {
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_worker_without_beats_is_stalled() {
        let l = Liveness::new(3);
        let mut c = Checker::new(&l);
        assert_eq!(c.stalled(&l), [0, 1, 2], "nothing moved yet");
        l.beat(0);
        l.beat(1);
        l.beat(2);
        assert!(c.stalled(&l).is_empty(), "every worker moved");
        l.beat(0);
        l.beat(2);
        l.beat(2);
        assert_eq!(c.stalled(&l), [1]);
        l.beat(1);
        assert_eq!(
            c.stalled(&l),
            [0, 2],
            "a look compares with the previous look"
        );
        l.beat(7); // out of range: ignored
        assert_eq!(l.workers(), 3);
    }

    #[test]
    fn beats_from_threads_are_seen() {
        let l = Arc::new(Liveness::new(2));
        let mut c = Checker::new(&l);
        std::thread::scope(|s| {
            for w in 0..2 {
                let l = Arc::clone(&l);
                s.spawn(move || {
                    for _ in 0..1000 {
                        l.beat(w);
                    }
                });
            }
        });
        assert!(c.stalled(&l).is_empty());
        assert_eq!(l.snapshot(), [1000, 1000]);
    }
}
