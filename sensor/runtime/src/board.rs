//! The service's live figures: what the metrics endpoint and the control socket report
//! while `tapwatch run` captures.
//!
//! Everything here is written about once a second by the thread that owns the figures, and
//! read on demand by the metrics and control threads:
//!
//! - each worker thread publishes its counters, detection counters, table figures and busy
//!   time into the [`HealthBoard`] (`pool.rs`, per batch at most once a second);
//! - each capture thread publishes its [`QueueReport`] (`live.rs`, [`QueuePublisher`]);
//! - the capture control loop publishes the interfaces' modes and XDP counters and the
//!   bypass policy's figures;
//! - `tapwatch run` sets the rule set's status at start, live rule reload after each
//!   attempt ([`ServiceBoard::set_ruleset`], [`ServiceBoard::record_reload`]);
//! - the exporter's and the EVE file's counters are read at each snapshot through a
//!   [`StatsReader`] and an [`EveStatsHandle`] (atomics).
//!
//! The packet path takes no lock and touches no atomic per packet: a capture thread's
//! counters are its own until it publishes a copy; a worker's likewise.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tapwatch_export::{ExportStats, StatsReader};

use crate::eve_file::{EveStats, EveStatsHandle};
use crate::health::HealthBoard;
use crate::live::{BypassReport, InterfaceReport, QueueReport};
use crate::ruleset_status::{unix, ReloadOutcome, RulesetStatus};

/// How often capture threads and the control loop publish at most.
pub const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// The shared board of a running service.
#[derive(Debug)]
pub struct ServiceBoard {
    health: Arc<HealthBoard>,
    version: String,
    started_at: SystemTime,
    started: Instant,
    queues: Mutex<Vec<QueueReport>>,
    interfaces: Mutex<Vec<InterfaceReport>>,
    bypass: Mutex<BypassReport>,
    ruleset: Mutex<RulesetStatus>,
    export: Mutex<Option<StatsReader>>,
    eve: Mutex<Option<EveStatsHandle>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A publisher that panicked left whole values behind (each write replaces a value).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ServiceBoard {
    /// A board for a service of this `version` (the binary's), started now, whose workers
    /// publish into `health`.
    pub fn new(version: impl Into<String>, health: Arc<HealthBoard>) -> Self {
        Self {
            health,
            version: version.into(),
            started_at: SystemTime::now(),
            started: Instant::now(),
            queues: Mutex::default(),
            interfaces: Mutex::default(),
            bypass: Mutex::default(),
            ruleset: Mutex::default(),
            export: Mutex::default(),
            eve: Mutex::default(),
        }
    }

    /// Where the workers publish (also the exporter's `Health` source).
    pub fn health(&self) -> &Arc<HealthBoard> {
        &self.health
    }

    /// The service's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// When the service started.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Time since the service started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Adds a capture queue with its first figures; returns its slot for
    /// [`ServiceBoard::publish_queue`].
    pub fn add_queue(&self, first: &QueueReport) -> usize {
        let mut queues = lock(&self.queues);
        queues.push(first.clone());
        queues.len() - 1
    }

    /// Replaces the figures of the queue in `slot`.
    pub fn publish_queue(&self, slot: usize, report: &QueueReport) {
        let drops: Vec<(u32, u64)> = {
            let mut queues = lock(&self.queues);
            if let Some(q) = queues.get_mut(slot) {
                q.clone_from(report);
            }
            queues
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let queue = u32::try_from(i).unwrap_or(u32::MAX);
                    (queue, q.kernel.drops() + q.dispatch_drops)
                })
                .collect()
        };
        // The center hears of every packet the capture could not take.
        self.health.set_capture_drops(drops);
    }

    /// Replaces the interfaces' figures.
    pub fn publish_interfaces(&self, interfaces: Vec<InterfaceReport>) {
        *lock(&self.interfaces) = interfaces;
    }

    /// Replaces the bypass policy's figures.
    pub fn publish_bypass(&self, bypass: &BypassReport) {
        *lock(&self.bypass) = *bypass;
    }

    /// Sets the running rule set's status (at start, and after a reload).
    pub fn set_ruleset(&self, status: RulesetStatus) {
        *lock(&self.ruleset) = status;
    }

    /// Records a reload attempt: a successful one's counts become the running ones, and
    /// its `version` replaces the running version; a failed one leaves them as they were.
    pub fn record_reload(&self, outcome: ReloadOutcome, version: Option<String>) {
        let mut r = lock(&self.ruleset);
        if outcome.ok {
            r.loaded = outcome.loaded;
            r.rejected = outcome.rejected;
            if let Some(v) = version {
                r.version = v;
            }
        }
        r.last_reload = Some(outcome);
    }

    /// The rule set's status now.
    pub fn ruleset(&self) -> RulesetStatus {
        lock(&self.ruleset).clone()
    }

    /// Reads the exporter's counters from now on.
    pub fn set_export(&self, reader: StatsReader) {
        *lock(&self.export) = Some(reader);
    }

    /// Reads the EVE file's counters from now on.
    pub fn set_eve(&self, handle: EveStatsHandle) {
        *lock(&self.eve) = Some(handle);
    }

    /// Everything the board holds now, with the workers' figures summed.
    pub fn snapshot(&self) -> Snapshot {
        let workers = self.health.workers();
        let mut totals = Totals::default();
        let mut views = Vec::with_capacity(workers.len());
        for (index, w) in workers.iter().enumerate() {
            let Some(w) = w else {
                views.push(WorkerView {
                    index,
                    published: false,
                    ..WorkerView::default()
                });
                continue;
            };
            totals.add(w);
            views.push(WorkerView {
                index,
                published: true,
                packets: w.counters.packets,
                bytes: w.counters.bytes,
                flows_active: w.figures.flows_active,
                alerts: w.detect.alerts,
                busy_secs: w.load.busy.as_secs_f64(),
                batches: w.load.batches,
            });
        }
        let export = lock(&self.export).as_ref().map(StatsReader::stats);
        let eve = lock(&self.eve).as_ref().map(EveStatsHandle::snapshot);
        Snapshot {
            version: self.version.clone(),
            start_time_unix: unix(self.started_at),
            uptime_secs: self.uptime().as_secs_f64(),
            interfaces: lock(&self.interfaces).clone(),
            queues: lock(&self.queues).clone(),
            bypass: *lock(&self.bypass),
            workers: views,
            totals,
            export,
            eve,
            ruleset: self.ruleset(),
        }
    }
}

/// Publishes one capture thread's figures about once a second (never per packet: the
/// thread asks [`QueuePublisher::due`] once per receive call).
#[derive(Debug)]
pub struct QueuePublisher {
    board: Arc<ServiceBoard>,
    slot: usize,
    last: Instant,
}

impl QueuePublisher {
    /// Adds the queue of `first` to `board`.
    pub fn new(board: Arc<ServiceBoard>, first: &QueueReport) -> Self {
        let slot = board.add_queue(first);
        Self {
            board,
            slot,
            last: Instant::now(),
        }
    }

    /// Whether a second has passed since the last publication.
    pub fn due(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.last) < PUBLISH_INTERVAL {
            return false;
        }
        self.last = now;
        true
    }

    /// Publishes `report` now.
    pub fn publish(&self, report: &QueueReport) {
        self.board.publish_queue(self.slot, report);
    }
}

/// What the board holds at one moment (`tapwatch ctl dump-counters`, and the metrics).
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// The service's version.
    pub version: String,
    /// When it started, seconds since the Unix epoch.
    pub start_time_unix: f64,
    /// Seconds since it started.
    pub uptime_secs: f64,
    /// Per interface: capture mode, refusals, XDP counters.
    pub interfaces: Vec<InterfaceReport>,
    /// Per capture queue.
    pub queues: Vec<QueueReport>,
    /// The bypass policy.
    pub bypass: BypassReport,
    /// Per worker.
    pub workers: Vec<WorkerView>,
    /// Sums over the workers.
    pub totals: Totals,
    /// The exporter's counters, when exporting.
    pub export: Option<ExportStats>,
    /// The EVE file's counters, when writing one.
    pub eve: Option<EveStats>,
    /// The rule set.
    pub ruleset: RulesetStatus,
}

/// One worker's share.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkerView {
    /// Its index.
    pub index: usize,
    /// Whether it has published yet (the rest is zero until then).
    pub published: bool,
    /// Packets processed.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Flows in its table.
    pub flows_active: u64,
    /// Alerts it raised.
    pub alerts: u64,
    /// Seconds spent processing batches.
    pub busy_secs: f64,
    /// Batches processed.
    pub batches: u64,
}

/// The workers' figures summed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Packets processed.
    pub packets: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Decoder and defragmentation events by Suricata's name (without `decoder.`).
    pub decode_events: BTreeMap<&'static str, u64>,
    /// TCP session and reassembly events by Suricata's name (without `stream.`).
    pub stream_events: BTreeMap<&'static str, u64>,
    /// Flows in the tables.
    pub flows_active: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended, by reason (`timeout`, `evicted`, `shutdown`, `tcp_reuse`).
    pub flows_ended: BTreeMap<&'static str, u64>,
    /// Packets refused because a flow table was full.
    pub flow_table_full: u64,
    /// Flows whose application protocol was detected, by protocol.
    pub app_flows: BTreeMap<&'static str, u64>,
    /// Application-layer transactions by protocol (`dns_udp`, `dns_tcp`, `http`, `mdns`,
    /// `mqtt`, `smb`, `ssh`, `tls`).
    pub app_transactions: BTreeMap<&'static str, u64>,
    /// Bytes held by stream reassembly.
    pub stream_memory_bytes: u64,
    /// Bytes held by defragmentation.
    pub defrag_memory_bytes: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Alerts by priority: `[1, 2, 3, 4 or more]`.
    pub alerts_by_priority: [u64; 4],
    /// Matches kept from alerting by thresholds or suppression.
    pub alerts_suppressed: u64,
    /// EVE records written.
    pub eve_records: u64,
}

impl Totals {
    fn add(&mut self, w: &crate::health::WorkerSnapshot) {
        let c = &w.counters;
        self.packets += c.packets;
        self.bytes += c.bytes;
        for (k, v) in c
            .decode_events_by_name()
            .into_iter()
            .chain(c.defrag_events_by_name())
        {
            *self.decode_events.entry(k).or_insert(0) += v;
        }
        for (k, v) in c.stream_events_by_name() {
            *self.stream_events.entry(k).or_insert(0) += v;
        }
        self.flows_active += w.figures.flows_active;
        let f = &w.tables.flows;
        self.flows_created += f.created;
        for (reason, n) in [
            ("timeout", f.ended_timeout),
            ("evicted", f.ended_evicted),
            ("shutdown", f.ended_shutdown),
            ("tcp_reuse", f.ended_tcp_reuse),
        ] {
            *self.flows_ended.entry(reason).or_insert(0) += n;
        }
        self.flow_table_full += f.table_full;
        for (k, v) in &c.app_flows {
            *self.app_flows.entry(*k).or_insert(0) += v;
        }
        for (proto, n) in [
            ("dns_tcp", c.dns_tcp_tx),
            ("dns_udp", c.dns_udp_tx),
            ("http", c.http_tx),
            ("mdns", c.mdns_tx),
            ("mqtt", c.mqtt_tx),
            ("smb", c.smb_events),
            ("ssh", c.ssh_tx),
            ("tls", c.tls_tx),
        ] {
            *self.app_transactions.entry(proto).or_insert(0) += n;
        }
        self.stream_memory_bytes += w.stream_memory_bytes;
        self.defrag_memory_bytes += w.defrag_memory_bytes;
        self.alerts += w.detect.alerts;
        for (sum, n) in self
            .alerts_by_priority
            .iter_mut()
            .zip(w.detect.alerts_by_priority)
        {
            *sum += n;
        }
        self.alerts_suppressed += w.detect.alerts_suppressed;
        self.eve_records += w.eve_records;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::capture::{KernelCounters, QueueMode};
    use crate::health::{WorkerLoad, WorkerSnapshot};
    use tapwatch_pipeline::counters::Counters;

    /// A board with one queue, one interface, two workers (one published) and a rule set.
    pub(crate) fn sample_board() -> Arc<ServiceBoard> {
        let board = Arc::new(ServiceBoard::new("9.9.9", Arc::new(HealthBoard::default())));
        let mut c = Counters {
            packets: 1234,
            bytes: 567_890,
            http_tx: 7,
            dns_udp_tx: 3,
            ..Counters::default()
        };
        c.decode_events
            .insert(tapwatch_common::DecodeEvent::Ipv4TruncPkt, 2);
        let mut snap = WorkerSnapshot {
            counters: c,
            stream_memory_bytes: 4096,
            defrag_memory_bytes: 512,
            eve_records: 99,
            load: WorkerLoad {
                busy: Duration::from_millis(2500),
                batches: 40,
            },
            ..WorkerSnapshot::default()
        };
        snap.figures.flows_active = 11;
        snap.tables.flows.created = 20;
        snap.tables.flows.ended_timeout = 9;
        snap.detect.alerts = 6;
        snap.detect.alerts_by_priority = [1, 2, 3, 0];
        board.health().publish_snapshot(1, snap);
        let q = QueueReport {
            interface: "eth1".into(),
            queue: Some(0),
            mode: QueueMode::XdpDriverCopy,
            packets: 1300,
            bytes: 600_000,
            kernel: KernelCounters {
                rx_dropped: 5,
                rx_ring_full: 4,
                ..KernelCounters::default()
            },
            dispatch_drops: 66,
            filtered: 0,
            bypassed_packets: 0,
            bypass_table_full: 0,
            receive_errors: 0,
            last_error: None,
        };
        let mut publisher = QueuePublisher::new(Arc::clone(&board), &q);
        assert!(!publisher.due(), "not due right after start");
        publisher.publish(&q);
        board.publish_interfaces(vec![InterfaceReport {
            name: "eth1".into(),
            mode: QueueMode::XdpDriverCopy,
            refusals: vec![],
            xdp: None,
        }]);
        board.set_ruleset(RulesetStatus {
            version: "abc123".into(),
            loaded: 100,
            rejected: 2,
            last_reload: None,
        });
        board
    }

    #[test]
    fn a_snapshot_sums_what_was_published() {
        let board = sample_board();
        let s = board.snapshot();
        assert_eq!(s.workers.len(), 2);
        assert!(!s.workers[0].published);
        assert_eq!(s.workers[1].packets, 1234);
        assert_eq!(s.workers[1].busy_secs, 2.5);
        assert_eq!(s.totals.packets, 1234);
        assert_eq!(s.totals.decode_events.get("ipv4.trunc_pkt"), Some(&2));
        assert_eq!(s.totals.app_transactions.get("http"), Some(&7));
        assert_eq!(s.totals.flows_ended.get("timeout"), Some(&9));
        assert_eq!(s.totals.alerts_by_priority, [1, 2, 3, 0]);
        assert_eq!(s.queues[0].dispatch_drops, 66);
        assert_eq!(s.version, "9.9.9");
        assert!(s.export.is_none());
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["queues"][0]["kernel"]["rx_ring_full"], 4);
        assert_eq!(json["totals"]["stream_memory_bytes"], 4096);
        // The center hears of the queue's drops (kernel 5 + 4, dispatch 66) in `Health`.
        use tapwatch_export::HealthSource as _;
        assert_eq!(board.health().sensor_health().capture_drops, vec![(0, 75)]);
    }

    #[test]
    fn a_failed_reload_keeps_the_running_counts() {
        let board = sample_board();
        let at = SystemTime::now();
        let failed = ReloadOutcome {
            at,
            ok: false,
            message: "all rules rejected".into(),
            loaded: 0,
            rejected: 50,
        };
        board.record_reload(failed.clone(), Some("new".into()));
        let r = board.ruleset();
        assert_eq!(
            (r.version.as_str(), r.loaded, r.rejected),
            ("abc123", 100, 2)
        );
        assert_eq!(r.last_reload, Some(failed));
        let ok = ReloadOutcome {
            at,
            ok: true,
            message: "swapped".into(),
            loaded: 120,
            rejected: 1,
        };
        board.record_reload(ok, Some("new".into()));
        let r = board.ruleset();
        assert_eq!((r.version.as_str(), r.loaded, r.rejected), ("new", 120, 1));
    }
}
