//! Lossless export of alerts and flow records to the national center.
//!
//! ```text
//!  workers ──try_send──► bounded queue ──► batcher thread ──append+fsync──► spool (disk)
//!  (never block;          (full: counted)   (count/time limits,                 │
//!   ExportHandle)                            zstd, seq)                         ▼
//!                                                        sender thread (tokio, one gRPC
//!                                                        Link stream, mutual TLS) ──► center
//!                                                              ▲ Ack: spool.ack(seq)
//! ```
//!
//! - [`ExportHandle`] is what workers hold: `try_send_alert`/`try_send_flow` never block; a
//!   full queue drops the record and counts it (an offline replay may ask its handles to wait
//!   for room instead: [`Exporter::wait_when_full`]).
//! - The batcher closes a batch at `max_batch_records` or `max_batch_delay_ms`, compresses it
//!   (zstd, optional dictionary), writes it to the [`spool`] and syncs (group commit) before the
//!   sender may see it.
//! - The sender sends every unacknowledged batch in seq order (a window of
//!   `window_batches`), advances the spool on each `Ack`, reports lost seq ranges with
//!   `BatchesDropped` and losses in `Health`, and reconnects with backoff and jitter,
//!   resending from the ack watermark (the center deduplicates by seq).
//! - [`Exporter::shutdown`] flushes open batches to the spool, delivers until a deadline and
//!   leaves the rest in the spool for the next start. Dropping an [`Exporter`] without
//!   shutdown stops it at once (open batches are lost, spooled ones are kept).
//!
//! One spool directory must be used by one exporter at a time.

pub mod backoff;
pub mod batch;
pub mod config;
pub mod dict;
pub mod flow;
mod sender;
pub mod spool;
mod stats;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{select, Receiver, Sender, TrySendError};
use tapwatch_proto::v1::{Alert, FlowRecord};

pub use config::ExportConfig;
pub use dict::{alerts_from_eve_file, dictionary_id, train_dictionary, DictError};
pub use sender::SessionError;
pub use spool::{OpenReport, Spool, SpoolError};
pub use stats::ExportStats;

use batch::{Batcher, SealedBatch};
use spool::{BatchKind, SpoolOptions};
use stats::Counters;

/// Sensor state the exporter reports in `Health` but does not know itself. The sensor
/// implements it; it is called from the sender thread every `health_interval_secs`.
pub trait HealthSource: Send + Sync {
    /// The current figures (cumulative since the sensor started).
    fn sensor_health(&self) -> SensorHealth;
}

/// Figures for `Health` that come from the sensor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SensorHealth {
    /// Packets captured.
    pub packets: u64,
    /// Bytes captured.
    pub bytes: u64,
    /// `(capture queue, packets dropped)`.
    pub capture_drops: Vec<(u32, u64)>,
    /// Decoder event name (Suricata's) and count.
    pub decode_events: Vec<(String, u64)>,
    /// Flows in the flow tables.
    pub flows_active: u64,
    /// Memory in use.
    pub memory_bytes: u64,
    /// Alerts produced.
    pub alerts: u64,
    /// Flow records produced.
    pub flows: u64,
    /// The rule set running now, when the sensor runs rules.
    pub ruleset: Option<RulesetHealth>,
}

/// The rule set a sensor runs, and its last live reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesetHealth {
    /// Lower-case hex SHA-256 of the rule files running now.
    pub sha256: String,
    /// Rules the engine runs.
    pub loaded: u64,
    /// The last live reload, when one was tried.
    pub last_reload: Option<ReloadHealth>,
}

/// A live rule reload's outcome, for `Health`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadHealth {
    /// When, µs since the epoch.
    pub at_us: i64,
    /// The new rules run (false: refused, the running rules stay).
    pub ok: bool,
    /// What happened, or why it was refused.
    pub message: String,
    /// Rules of the new set that loaded.
    pub loaded: u64,
    /// Rules of the new set that were rejected.
    pub rejected: u64,
}

/// A [`HealthSource`] that knows nothing (all zeros).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHealth;

impl HealthSource for NoHealth {
    fn sensor_health(&self) -> SensorHealth {
        SensorHealth::default()
    }
}

/// Who the sensor is, for `Hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensorInfo {
    /// e.g. `tapwatch 0.1.0`.
    pub software_version: String,
    /// The host's name (informational).
    pub hostname: String,
}

impl Default for SensorInfo {
    fn default() -> Self {
        SensorInfo {
            software_version: format!("tapwatch {}", env!("CARGO_PKG_VERSION")),
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_default(),
        }
    }
}

/// Why the exporter could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The configuration is invalid (every problem listed).
    #[error("invalid export configuration: {}", .0.join("; "))]
    Config(Vec<String>),
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The dictionary could not be read or has no id.
    #[error("dictionary {path}: {reason}")]
    Dictionary {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// zstd refused the level or dictionary.
    #[error(transparent)]
    Batch(#[from] batch::BatchError),
    /// A thread or the async runtime could not start.
    #[error("starting the exporter: {0}")]
    Start(std::io::Error),
}

/// A record for the center.
#[derive(Debug)]
enum Record {
    Alert(Box<Alert>),
    Flow(Box<FlowRecord>),
    /// An `Alert` message already encoded (no length prefix), with its timestamp.
    AlertEncoded {
        timestamp_us: i64,
        bytes: Box<[u8]>,
    },
    /// A flow record as the sensor's EVE output writes it, converted on the batcher thread.
    FlowTyped(Box<tapwatch_eve::FlowRecord>),
}

/// What workers hold to hand records to the exporter. Cheap to clone; never blocks.
#[derive(Debug, Clone)]
pub struct ExportHandle {
    tx: Sender<Record>,
    counters: Arc<Counters>,
    /// Wait for room instead of dropping when the queue is full (offline replay).
    wait_when_full: bool,
}

impl ExportHandle {
    /// Queues an alert; `false` (and counted in `dropped_queue_full`) when the queue is full or
    /// the exporter stopped. (A handle of an exporter set to [`Exporter::wait_when_full`]
    /// waits for room instead, for this and the other `try_send_*`.)
    pub fn try_send_alert(&self, alert: Alert) -> bool {
        self.try_send(Record::Alert(Box::new(alert)), 0)
    }

    /// Queues a flow record; `false` (and counted) when the queue is full or stopped.
    pub fn try_send_flow(&self, flow: FlowRecord) -> bool {
        self.try_send(Record::Flow(Box::new(flow)), 1)
    }

    /// Queues an alert the caller has encoded as a protobuf `Alert` message (without a length
    /// prefix; `timestamp_us` is its `timestamp_us`): the batcher only copies the bytes into
    /// the open batch. `false` (and counted) when the queue is full or the exporter stopped.
    pub fn try_send_alert_encoded(&self, timestamp_us: i64, encoded: &[u8]) -> bool {
        self.try_send(
            Record::AlertEncoded {
                timestamp_us,
                bytes: encoded.into(),
            },
            0,
        )
    }

    /// Counts an alert the caller could not encode (in `dropped_encode`, with `reason` as the
    /// exporter's last error): it never reached the queue, and the center hears of the loss.
    pub fn count_unencodable_alert(&self, reason: impl ToString) {
        self.counters.dropped_encode[0].fetch_add(1, Relaxed);
        self.counters.set_error(reason);
    }

    /// Queues a flow record as the sensor's EVE output writes it; it is converted to a
    /// [`FlowRecord`] on the batcher thread ([`flow::flow_record`]), so the caller only pays
    /// for a move. `false` (and counted in `dropped_queue_full`) when the queue is full or the
    /// exporter stopped.
    pub fn try_send_flow_record(&self, record: tapwatch_eve::FlowRecord) -> bool {
        self.try_send(Record::FlowTyped(Box::new(record)), 1)
    }

    fn try_send(&self, r: Record, kind: usize) -> bool {
        let sent = match self.tx.try_send(r) {
            Ok(()) => true,
            // The batcher never waits on the center (a full spool drops its oldest data), so
            // waiting here ends as soon as it has taken a record, or fails when it stopped.
            Err(TrySendError::Full(r)) if self.wait_when_full => self.tx.send(r).is_ok(),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
        };
        if sent {
            self.counters.queued[kind].fetch_add(1, Relaxed);
        } else {
            self.counters.dropped_queue_full[kind].fetch_add(1, Relaxed);
        }
        sent
    }

    /// The exporter's counters now.
    pub fn stats(&self) -> ExportStats {
        self.counters.snapshot()
    }
}

/// How far the exporter should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Run,
    /// Deliver what is spooled until the deadline.
    Drain(Instant),
    /// Stop now.
    Abort,
}

/// State shared by the batcher and the sender.
pub(crate) struct Shared {
    pub config: ExportConfig,
    pub info: SensorInfo,
    pub spool: Mutex<Spool>,
    pub counters: Arc<Counters>,
    pub notify: tokio::sync::Notify,
    pub dictionary: Option<(u32, Vec<u8>)>,
    pub health: Arc<dyn HealthSource>,
    pub started: Instant,
    pub started_us: i64,
    pub batcher_done: AtomicBool,
}

impl Shared {
    /// The spool, even if a thread panicked while holding it (its state stays consistent:
    /// every mutation is completed before the lock is released or leaves an error).
    pub fn lock_spool(&self) -> MutexGuard<'_, Spool> {
        self.spool.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn batcher_done(&self) -> bool {
        self.batcher_done.load(Relaxed)
    }
}

enum Ctl {
    /// Seal everything queued and stop.
    Flush,
    /// Stop without flushing.
    Abort,
}

/// Reads an exporter's counters from any thread (atomics; a snapshot costs about twenty
/// relaxed loads and one uncontended lock).
#[derive(Debug, Clone)]
pub struct StatsReader {
    counters: Arc<Counters>,
}

impl StatsReader {
    /// The exporter's counters now.
    pub fn stats(&self) -> ExportStats {
        self.counters.snapshot()
    }
}

/// The running exporter: a batcher thread and a sender thread.
pub struct Exporter {
    handle: ExportHandle,
    shared: Arc<Shared>,
    ctl: Sender<Ctl>,
    stop: tokio::sync::watch::Sender<Stop>,
    batcher: Option<JoinHandle<()>>,
    sender: Option<JoinHandle<()>>,
    open_report: OpenReport,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("sensor_id", &self.shared.config.sensor_id)
            .field("open_report", &self.open_report)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Validates `config`, opens the spool (recovering unacknowledged batches), and starts the
    /// batcher and sender threads.
    pub fn start(
        config: &ExportConfig,
        info: SensorInfo,
        health: Arc<dyn HealthSource>,
    ) -> Result<Exporter, ExportError> {
        let errs = config.validate();
        if !errs.is_empty() {
            return Err(ExportError::Config(errs));
        }
        let dictionary = match &config.dictionary_path {
            Some(p) => Some(load_dictionary(p)?),
            None => None,
        };
        let (spool, open_report) = Spool::open(
            &config.spool_dir,
            SpoolOptions {
                segment_bytes: config.segment_bytes,
                max_bytes: config.max_bytes,
                fsync: config.fsync,
            },
        )?;
        let batcher = Batcher::new(
            config.max_batch_records,
            Duration::from_millis(config.max_batch_delay_ms),
            batch::Levels {
                full: config.zstd_level,
                idle: (config.zstd_level_idle > 0).then_some(config.zstd_level_idle),
            },
            dictionary.as_ref().map(|(_, d)| d.as_slice()),
        )?;
        let counters = Arc::new(Counters::default());
        counters.update_spool(&spool);
        let shared = Arc::new(Shared {
            config: config.clone(),
            info,
            spool: Mutex::new(spool),
            counters: counters.clone(),
            notify: tokio::sync::Notify::new(),
            dictionary,
            health,
            started: Instant::now(),
            started_us: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
                .unwrap_or(0),
            batcher_done: AtomicBool::new(false),
        });
        let (tx, rx) = crossbeam_channel::bounded(config.queue_capacity);
        let (ctl_tx, ctl_rx) = crossbeam_channel::bounded(1);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(Stop::Run);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ExportError::Start)?;
        let s = shared.clone();
        let sender = std::thread::Builder::new()
            .name("export-sender".into())
            .spawn(move || runtime.block_on(sender::run(s, stop_rx)))
            .map_err(ExportError::Start)?;
        let s = shared.clone();
        let batcher = std::thread::Builder::new()
            .name("export-batcher".into())
            .spawn(move || run_batcher(rx, ctl_rx, batcher, s))
            .map_err(ExportError::Start)?;
        Ok(Exporter {
            handle: ExportHandle {
                tx,
                counters,
                wait_when_full: false,
            },
            shared,
            ctl: ctl_tx,
            stop: stop_tx,
            batcher: Some(batcher),
            sender: Some(sender),
            open_report,
        })
    }

    /// A handle for a worker.
    pub fn handle(&self) -> ExportHandle {
        self.handle.clone()
    }

    /// Makes the handles given from now on wait for room when the queue is full instead of
    /// dropping the record: for an offline replay, where waiting only slows the reading of a
    /// file and nothing is lost, while the queue stays bounded by `queue_capacity`. A live
    /// capture must never use it (it would stall capture).
    pub fn wait_when_full(&mut self) {
        self.handle.wait_when_full = true;
    }

    /// The counters now.
    pub fn stats(&self) -> ExportStats {
        self.shared.counters.snapshot()
    }

    /// A reader of the counters for another thread (a metrics endpoint): it holds no queue
    /// handle, so it does not keep the batcher running at shutdown.
    pub fn stats_reader(&self) -> StatsReader {
        StatsReader {
            counters: Arc::clone(&self.shared.counters),
        }
    }

    /// What opening the spool found.
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// Seals open batches into the spool, delivers until `timeout` has passed or everything
    /// is acknowledged, and stops. What is not acknowledged stays in the spool for the next
    /// start. Returns the final counters.
    pub fn shutdown(mut self, timeout: Duration) -> ExportStats {
        let deadline = Instant::now() + timeout;
        let _ = self.stop.send(Stop::Drain(deadline));
        let _ = self.ctl.send(Ctl::Flush);
        if let Some(b) = self.batcher.take() {
            let _ = b.join();
        }
        self.shared.notify.notify_one();
        if let Some(s) = self.sender.take() {
            let _ = s.join();
        }
        self.shared.counters.snapshot()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.stop.send(Stop::Abort);
        let _ = self.ctl.try_send(Ctl::Abort);
        if let Some(b) = self.batcher.take() {
            let _ = b.join();
        }
        if let Some(s) = self.sender.take() {
            let _ = s.join();
        }
    }
}

fn load_dictionary(path: &Path) -> Result<(u32, Vec<u8>), ExportError> {
    let err = |reason: String| ExportError::Dictionary {
        path: path.display().to_string(),
        reason,
    };
    let data = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let id = dictionary_id(&data).map_err(|e| err(e.to_string()))?;
    Ok((id, data))
}

/// Records taken from the queue per wake-up before the sealed batches are written.
const DRAIN_BURST: usize = 8192;

fn run_batcher(
    rx: Receiver<Record>,
    ctl: Receiver<Ctl>,
    mut batcher: Batcher,
    shared: Arc<Shared>,
) {
    let mut sealed: Vec<SealedBatch> = Vec::new();
    let idle = Duration::from_secs(1);
    loop {
        let now = Instant::now();
        let timeout = batcher
            .next_deadline()
            .map(|d| d.saturating_duration_since(now))
            .unwrap_or(idle);
        let mut flush = false;
        select! {
            recv(rx) -> r => {
                if let Ok(r) = r {
                    add(&mut batcher, r, &mut sealed, &shared);
                    for r in rx.try_iter().take(DRAIN_BURST) {
                        add(&mut batcher, r, &mut sealed, &shared);
                    }
                }
            }
            recv(ctl) -> c => match c {
                Ok(Ctl::Flush) | Err(_) => flush = true,
                Ok(Ctl::Abort) => break,
            },
            default(timeout) => {}
        }
        if flush {
            for r in rx.try_iter() {
                add(&mut batcher, r, &mut sealed, &shared);
            }
        }
        match batcher.seal_due(Instant::now(), flush) {
            Ok(b) => sealed.extend(b),
            Err(e) => shared.counters.set_error(e),
        }
        if !sealed.is_empty() {
            write_sealed(&shared, &mut sealed);
        }
        if flush {
            break;
        }
    }
    shared.batcher_done.store(true, Relaxed);
    shared.notify.notify_one();
}

fn add(batcher: &mut Batcher, r: Record, sealed: &mut Vec<SealedBatch>, shared: &Shared) {
    let now = Instant::now();
    let r = match r {
        Record::FlowTyped(record) => Record::Flow(Box::new(flow::flow_record(&record))),
        r => r,
    };
    let (kind, res) = match &r {
        Record::Alert(a) => (
            BatchKind::Alert,
            batcher.push(BatchKind::Alert, a.timestamp_us, a.as_ref(), now),
        ),
        Record::Flow(f) => (
            BatchKind::Flow,
            batcher.push(BatchKind::Flow, f.timestamp_us, f.as_ref(), now),
        ),
        Record::AlertEncoded {
            timestamp_us,
            bytes,
        } => (
            BatchKind::Alert,
            batcher.push_encoded(BatchKind::Alert, *timestamp_us, bytes, now),
        ),
        Record::FlowTyped(_) => return,
    };
    match res {
        Ok(Some(b)) => sealed.push(b),
        Ok(None) => {}
        Err(e) => {
            shared.counters.dropped_encode[kind.index()].fetch_add(1, Relaxed);
            shared.counters.set_error(e);
        }
    }
}

/// Appends sealed batches to the spool, syncs once (the group commit) and wakes the sender.
fn write_sealed(shared: &Shared, sealed: &mut Vec<SealedBatch>) {
    let dict_id = shared.dictionary.as_ref().map_or(0, |(id, _)| *id);
    let sensor_id = shared.config.sensor_id.as_str();
    let c = &shared.counters;
    let mut spool = shared.lock_spool();
    for b in sealed.drain(..) {
        let k = b.kind.index();
        match spool.append(b.kind, b.count, |seq| b.encode(sensor_id, seq, dict_id)) {
            Ok(_) => {
                c.batches_spooled.fetch_add(1, Relaxed);
                c.records_spooled[k].fetch_add(u64::from(b.count), Relaxed);
            }
            Err(e @ SpoolError::TooLarge { .. }) => {
                c.dropped_encode[k].fetch_add(u64::from(b.count), Relaxed);
                c.set_error(e);
            }
            Err(e) => {
                c.dropped_spool_io[k].fetch_add(u64::from(b.count), Relaxed);
                c.set_error(e);
            }
        }
    }
    if let Err(e) = spool.sync() {
        c.set_error(e);
    }
    c.update_spool(&spool);
    drop(spool);
    shared.notify.notify_one();
}
