//! The sensor's figures for the exporter's `Health` messages.
//!
//! A worker's counters live on its thread and are not shared. Each worker thread publishes a
//! copy into [`HealthBoard`] about once a second (checked every few thousand packets), the
//! board sums the workers' copies, and the exporter's sender thread reads the sums when it
//! sends `Health`: the packet path never takes a lock or touches an atomic per packet.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tapwatch_eve::RecordSink;
use tapwatch_export::{HealthSource, ReloadHealth, RulesetHealth, SensorHealth};

use crate::reload::{ReloadError, Reloaded, Ruleset};
use tapwatch_pipeline::counters::{Counters, TableStats};
use tapwatch_pipeline::worker::Worker;

/// Packets between two looks at the clock.
pub const PUBLISH_CHECK_PACKETS: u64 = 4096;

/// How often the figures are published at most.
const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// The latest published figures, shared with the exporter.
#[derive(Debug, Default)]
pub struct HealthBoard {
    packets: AtomicU64,
    bytes: AtomicU64,
    flows_active: AtomicU64,
    memory_bytes: AtomicU64,
    alerts: AtomicU64,
    flows: AtomicU64,
    /// Decoder events by name; written once a second, read once per `Health`.
    decode_events: Mutex<Vec<(String, u64)>>,
    /// Each worker's last published figures, by worker index.
    workers: Mutex<Vec<Option<WorkerSnapshot>>>,
    /// The rule set running and the last reload, when rules run.
    ruleset: Mutex<Option<RulesetHealth>>,
    /// Packets each live capture queue could not take (kernel and dispatch drops), by the
    /// queue's position among the run's queues.
    capture_drops: Mutex<Vec<(u32, u64)>>,
}

/// One worker's figures as it last published them (for the metrics endpoint and the
/// control socket).
#[derive(Debug, Clone, Default)]
pub struct WorkerSnapshot {
    /// Its counters.
    pub counters: Counters,
    /// Its flow table, reassembly and defragmentation state.
    pub figures: WorkerFigures,
    /// Its detection counters (zero without rules).
    pub detect: tapwatch_detect::DetectStats,
    /// Its tables' counters (flows created and ended by reason, reassembly, defrag).
    pub tables: TableStats,
    /// Bytes held by stream reassembly.
    pub stream_memory_bytes: u64,
    /// Bytes held by defragmentation.
    pub defrag_memory_bytes: u64,
    /// EVE records written.
    pub eve_records: u64,
    /// How busy its thread was.
    pub load: WorkerLoad,
}

/// A worker thread's time spent processing, measured per batch (never per packet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerLoad {
    /// Time spent processing batches (packets and clock ticks), since start.
    pub busy: Duration,
    /// Batches processed.
    pub batches: u64,
}

/// What the worker knows besides its [`Counters`].
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerFigures {
    /// Flows in the flow table.
    pub flows_active: u64,
    /// Bytes held by stream reassembly and defragmentation.
    pub memory_bytes: u64,
    /// Alerts written.
    pub alerts: u64,
}

impl WorkerFigures {
    /// The figures of `worker` now.
    pub fn of<W: RecordSink>(worker: &Worker<W>) -> Self {
        Self {
            flows_active: worker.active_flows() as u64,
            memory_bytes: (worker.stream_memory() + worker.defrag_memory()) as u64,
            alerts: worker.detect_stats().map_or(0, |d| d.alerts),
        }
    }
}

impl std::ops::AddAssign<&WorkerFigures> for WorkerFigures {
    fn add_assign(&mut self, other: &WorkerFigures) {
        self.flows_active += other.flows_active;
        self.memory_bytes += other.memory_bytes;
        self.alerts += other.alerts;
    }
}

impl HealthBoard {
    /// Publishes worker number `index`'s figures now, with its thread's `load`; the board
    /// then holds the sums over every worker that has published.
    pub fn publish_worker<W: RecordSink>(
        &self,
        index: usize,
        worker: &Worker<W>,
        load: WorkerLoad,
    ) {
        let snapshot = WorkerSnapshot {
            counters: worker.counters().clone(),
            figures: WorkerFigures::of(worker),
            detect: worker.detect_stats().unwrap_or_default(),
            tables: worker.table_stats(),
            stream_memory_bytes: worker.stream_memory() as u64,
            defrag_memory_bytes: worker.defrag_memory() as u64,
            eve_records: worker.eve_records(),
            load,
        };
        self.publish_snapshot(index, snapshot);
    }

    /// Publishes `snapshot` as worker number `index`'s figures (see
    /// [`HealthBoard::publish_worker`]).
    pub fn publish_snapshot(&self, index: usize, snapshot: WorkerSnapshot) {
        let sums = {
            let mut workers = self
                .workers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if workers.len() <= index {
                workers.resize_with(index + 1, || None);
            }
            if let Some(slot) = workers.get_mut(index) {
                *slot = Some(snapshot);
            }
            let mut counters = Counters::default();
            let mut figures = WorkerFigures::default();
            for w in workers.iter().flatten() {
                counters += &w.counters;
                figures += &w.figures;
            }
            (counters, figures)
        };
        self.publish(&sums.0, sums.1);
    }

    /// Each worker's last published figures, by worker index (`None`: not published yet).
    pub fn workers(&self) -> Vec<Option<WorkerSnapshot>> {
        self.workers
            .lock()
            .map(|w| w.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Publishes these figures as the sensor's now.
    pub fn publish(&self, c: &Counters, w: WorkerFigures) {
        self.packets.store(c.packets, Relaxed);
        self.bytes.store(c.bytes, Relaxed);
        self.flows_active.store(w.flows_active, Relaxed);
        self.memory_bytes.store(w.memory_bytes, Relaxed);
        self.alerts.store(w.alerts, Relaxed);
        self.flows.store(c.flows_total(), Relaxed);
        let events: Vec<(String, u64)> = c
            .decode_events_by_name()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        if let Ok(mut g) = self.decode_events.lock() {
            *g = events;
        }
    }
}

impl HealthBoard {
    /// Publishes the live capture queues' drops: `(queue, packets dropped)`, the queue
    /// numbered by its position among the run's queues (interface by interface).
    pub fn set_capture_drops(&self, drops: Vec<(u32, u64)>) {
        *self
            .capture_drops
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = drops;
    }

    /// Publishes the rule set running (at start).
    pub fn set_ruleset(&self, ruleset: &Ruleset) {
        let mut slot = self
            .ruleset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(RulesetHealth {
            sha256: ruleset.sha256.clone(),
            loaded: ruleset.loaded,
            last_reload: slot.take().and_then(|r| r.last_reload),
        });
    }

    /// Publishes a live reload's outcome (and the rule set it left running).
    pub fn set_reload(&self, outcome: &Result<Reloaded, ReloadError>, running: &Ruleset) {
        let at_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let last = match outcome {
            Ok(done) => ReloadHealth {
                at_us,
                ok: true,
                message: format!(
                    "{} rules running (were {}), {} rejected",
                    done.ruleset.loaded, done.previous.loaded, done.ruleset.rejected
                ),
                loaded: done.ruleset.loaded,
                rejected: done.ruleset.rejected,
            },
            Err(e) => ReloadHealth {
                at_us,
                ok: false,
                message: e.to_string(),
                loaded: match e {
                    ReloadError::TooFewRules { loaded, .. } => *loaded,
                    _ => 0,
                },
                rejected: match e {
                    ReloadError::NoRules { rejected } => *rejected,
                    _ => 0,
                },
            },
        };
        let mut slot = self
            .ruleset
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = Some(RulesetHealth {
            sha256: running.sha256.clone(),
            loaded: running.loaded,
            last_reload: Some(last),
        });
    }
}

impl HealthSource for HealthBoard {
    fn sensor_health(&self) -> SensorHealth {
        SensorHealth {
            packets: self.packets.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
            // Empty for a replay: reading files drops nothing.
            capture_drops: self
                .capture_drops
                .lock()
                .map(|g| g.clone())
                .unwrap_or_default(),
            decode_events: self
                .decode_events
                .lock()
                .map(|g| g.clone())
                .unwrap_or_default(),
            flows_active: self.flows_active.load(Relaxed),
            memory_bytes: self.memory_bytes.load(Relaxed),
            alerts: self.alerts.load(Relaxed),
            flows: self.flows.load(Relaxed),
            ruleset: self.ruleset.lock().map(|g| g.clone()).unwrap_or_default(),
        }
    }
}

/// Decides when the replay loop publishes: every [`PUBLISH_CHECK_PACKETS`] packets it looks
/// at the clock, and publishes when a second has passed.
#[derive(Debug)]
pub struct PublishTimer {
    last: Instant,
}

impl Default for PublishTimer {
    fn default() -> Self {
        PublishTimer {
            last: Instant::now(),
        }
    }
}

impl PublishTimer {
    /// Whether to publish after packet number `pcap_cnt`.
    pub fn due(&mut self, pcap_cnt: u64) -> bool {
        if !pcap_cnt.is_multiple_of(PUBLISH_CHECK_PACKETS) {
            return false;
        }
        let now = Instant::now();
        if now.duration_since(self.last) < PUBLISH_INTERVAL {
            return false;
        }
        self.last = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishes_what_the_counters_say() {
        let board = HealthBoard::default();
        let mut c = Counters {
            packets: 10,
            bytes: 1000,
            ..Counters::default()
        };
        c.decode_events
            .insert(tapwatch_common::DecodeEvent::Ipv4TruncPkt, 2);
        board.publish(
            &c,
            WorkerFigures {
                flows_active: 3,
                memory_bytes: 4,
                alerts: 5,
            },
        );
        let h = board.sensor_health();
        assert_eq!((h.packets, h.bytes, h.flows_active), (10, 1000, 3));
        assert_eq!((h.memory_bytes, h.alerts), (4, 5));
        assert_eq!(h.decode_events, vec![("ipv4.trunc_pkt".into(), 2)]);
        assert_eq!(h.ruleset, None);
    }

    #[test]
    fn the_rule_set_and_the_last_reload_are_published() {
        let board = HealthBoard::default();
        let first = Ruleset {
            sha256: "aa".into(),
            files: Vec::new(),
            loaded: 10,
            rejected: 1,
            loaded_at: std::time::SystemTime::now(),
        };
        board.set_ruleset(&first);
        let h = board.sensor_health().ruleset.expect("ruleset");
        assert_eq!(
            (h.sha256.as_str(), h.loaded, h.last_reload),
            ("aa", 10, None)
        );
        let refused = Err(ReloadError::TooFewRules {
            loaded: 2,
            running: 10,
            min_percent: 50,
        });
        board.set_reload(&refused, &first);
        let h = board.sensor_health().ruleset.expect("ruleset");
        let last = h.last_reload.expect("reload");
        assert_eq!((h.sha256.as_str(), last.ok, last.loaded), ("aa", false, 2));
        assert!(last.message.contains("fewer than 50%"), "{}", last.message);
        let second = Ruleset {
            sha256: "bb".into(),
            loaded: 12,
            ..first.clone()
        };
        let done = Ok(Reloaded {
            ruleset: second.clone(),
            previous: first,
            rejections: Vec::new(),
            build_time: std::time::Duration::ZERO,
            swap_time: std::time::Duration::ZERO,
            all_swapped: true,
            restart_needed: Vec::new(),
        });
        board.set_reload(&done, &second);
        let h = board.sensor_health().ruleset.expect("ruleset");
        let last = h.last_reload.expect("reload");
        assert_eq!(
            (h.sha256.as_str(), h.loaded, last.ok, last.loaded),
            ("bb", 12, true, 12)
        );
    }
}
