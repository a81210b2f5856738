//! Handing a new detection engine to running workers: the swap of a live rule reload.
//!
//! The reloading thread builds the engine and one [`Detector`] per worker off the packet
//! path, then [`EngineSwap::offer`]s them. Each worker thread looks at the offer's generation
//! (one relaxed atomic load) after every batch, and when it changed takes its detector and
//! swaps it in before its next batch ([`Worker::replace_engine`]). No batch is dropped or
//! waited for: a worker processes every packet under exactly one engine, and packets of one
//! batch under the same. In live capture every worker gets a clock tick at least every
//! 100 ms, so an idle worker swaps within that time too.
//!
//! The old engine is freed when the last worker dropped it; until then both are in memory
//! (the bound documented in `ARCHITECTURE.md`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tapwatch_detect::{Detector, Engine};
use tapwatch_eve::RecordSink;
use tapwatch_pipeline::worker::Worker;

/// A new engine on offer to the workers.
#[derive(Debug)]
struct Offer {
    generation: u64,
    engine: Arc<Engine>,
    /// Each worker's detector, taken by the worker when it swaps.
    detectors: Vec<Option<Detector>>,
}

/// Where the workers of a sensor find a new engine. Shared (`Arc`) by the reloading thread and
/// the worker threads.
#[derive(Debug)]
pub struct EngineSwap {
    /// Generation of the latest offer (0: none yet).
    generation: AtomicU64,
    offer: Mutex<Option<Offer>>,
    /// The generation each worker runs.
    applied: Mutex<Vec<u64>>,
    changed: Condvar,
}

impl EngineSwap {
    /// For `workers` workers, running the engine they were built with (generation 0).
    pub fn new(workers: usize) -> Self {
        Self {
            generation: AtomicU64::new(0),
            offer: Mutex::new(None),
            applied: Mutex::new(vec![0; workers]),
            changed: Condvar::new(),
        }
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Offers `engine` with one detector per worker (built for it, with the sensor's host
    /// state); returns the offer's generation. A previous offer not yet taken by every worker
    /// is replaced: those workers go straight to this one.
    ///
    /// # Panics
    /// Never; `detectors` shorter than the workers leaves the others on their engine (and
    /// [`EngineSwap::wait_applied`] then times out), which the caller avoids.
    pub fn offer(&self, engine: Arc<Engine>, detectors: Vec<Detector>) -> u64 {
        let mut slot = self.offer.lock().unwrap_or_else(PoisonError::into_inner);
        let generation = self.generation.load(Ordering::Relaxed) + 1;
        *slot = Some(Offer {
            generation,
            engine,
            detectors: detectors.into_iter().map(Some).collect(),
        });
        self.generation.store(generation, Ordering::Release);
        generation
    }

    /// Waits until every worker runs generation `generation` or a later one, at most
    /// `timeout`; returns whether they all do. Workers that ended count as done.
    pub fn wait_applied(&self, generation: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if applied.iter().all(|&g| g >= generation) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            applied = self
                .changed
                .wait_timeout(applied, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Marks worker `index` as gone (its thread ended): no reload waits for it.
    pub fn worker_ended(&self, index: usize) {
        self.mark(index, u64::MAX);
    }

    fn mark(&self, index: usize, generation: u64) {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(g) = applied.get_mut(index) {
            *g = generation;
        }
        self.changed.notify_all();
    }

    /// Worker `index`'s side, called between batches: swaps in the offered engine when there
    /// is a new one. `seen` is the generation the worker runs; updated.
    pub fn apply<W: RecordSink>(&self, index: usize, seen: &mut u64, worker: &mut Worker<W>) {
        let generation = self.generation.load(Ordering::Acquire);
        if generation == *seen {
            return;
        }
        let taken = {
            let mut slot = self.offer.lock().unwrap_or_else(PoisonError::into_inner);
            slot.as_mut().and_then(|offer| {
                let detector = offer.detectors.get_mut(index).and_then(Option::take)?;
                Some((offer.generation, Arc::clone(&offer.engine), detector))
            })
        };
        // Whatever happens, this generation is not looked at again.
        *seen = generation;
        if let Some((generation, engine, detector)) = taken {
            worker.replace_engine(engine, detector);
            *seen = generation;
            self.mark(index, generation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(rules: &str) -> Arc<Engine> {
        let mut report = tapwatch_rules::LoadReport::default();
        tapwatch_rules::load_rules_text(
            "t.rules",
            rules,
            &tapwatch_rules::LoadOptions::suricata_defaults(),
            &mut report,
        );
        let config = tapwatch_detect::EngineConfig::default();
        Arc::new(Engine::build(report.signatures, &config).expect("build").0)
    }

    #[test]
    fn every_worker_takes_the_offer_once_between_batches() {
        let host = Arc::new(tapwatch_detect::HostState::new());
        let first = engine("alert tcp any any -> any any (msg:\"a\"; content:\"A\"; sid:1;)");
        let config = tapwatch_pipeline::config::Config::default();
        let mut workers: Vec<Worker<Vec<u8>>> = (0..2)
            .map(|_| {
                Worker::with_shared_engine(
                    config.clone(),
                    None,
                    Arc::clone(&first),
                    Arc::clone(&host),
                )
                .unwrap()
            })
            .collect();
        let swap = EngineSwap::new(2);
        assert!(swap.wait_applied(0, Duration::ZERO));
        let second = engine("alert tcp any any -> any any (msg:\"b\"; content:\"B\"; sid:2;)");
        let detectors = (0..2)
            .map(|_| Detector::with_host_state(&second, Arc::clone(&host)).unwrap())
            .collect();
        let generation = swap.offer(Arc::clone(&second), detectors);
        assert!(!swap.wait_applied(generation, Duration::from_millis(10)));
        let mut seen = [0u64; 2];
        for (i, w) in workers.iter_mut().enumerate() {
            swap.apply(i, &mut seen[i], w);
            assert!(Arc::ptr_eq(w.engine().unwrap(), &second));
        }
        assert!(swap.wait_applied(generation, Duration::ZERO));
        // Nothing new: nothing happens.
        swap.apply(0, &mut seen[0], &mut workers[0]);
        assert_eq!(seen, [generation; 2]);
        // Only the workers hold the new engine (and this test); the old one is theirs no more.
        assert_eq!(Arc::strong_count(&first), 1);
    }

    #[test]
    fn an_ended_worker_is_not_waited_for() {
        let swap = EngineSwap::new(2);
        let second = engine("alert tcp any any -> any any (msg:\"b\"; content:\"B\"; sid:2;)");
        let generation = swap.offer(second, Vec::new());
        swap.worker_ended(0);
        swap.worker_ended(1);
        assert!(swap.wait_applied(generation, Duration::ZERO));
    }
}
