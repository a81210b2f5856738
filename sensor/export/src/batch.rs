//! Batching: records are encoded as they arrive (length-delimited protobuf), a batch closes at
//! `max_batch_records` or when its first record is `max_batch_delay_ms` old, is compressed with
//! zstd (optionally with a dictionary), given the next seq and written to the spool.

use std::time::{Duration, Instant};

use prost::Message;
use tapwatch_proto::v1::{AlertBatch, Compression, FlowBatch};

use crate::spool::BatchKind;

/// Why a batch payload could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// zstd refused the level or the dictionary, or failed.
    #[error("zstd: {0}")]
    Zstd(#[from] std::io::Error),
}

/// A closed, compressed batch waiting for its seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedBatch {
    /// What it holds.
    pub kind: BatchKind,
    /// Number of records.
    pub count: u32,
    /// Smallest record timestamp (µs since the epoch).
    pub first_ts_us: i64,
    /// Largest record timestamp.
    pub last_ts_us: i64,
    /// The compressed payload.
    pub payload: Vec<u8>,
}

impl SealedBatch {
    /// The `AlertBatch`/`FlowBatch` message bytes for `seq`: what the spool stores and the
    /// sender sends.
    pub fn encode(&self, sensor_id: &str, seq: u64, dictionary_id: u32) -> Vec<u8> {
        let sensor_id = sensor_id.to_string();
        let compression = Compression::Zstd as i32;
        match self.kind {
            BatchKind::Alert => AlertBatch {
                sensor_id,
                seq,
                count: self.count,
                first_ts_us: self.first_ts_us,
                last_ts_us: self.last_ts_us,
                compression,
                dictionary_id,
                payload: self.payload.clone(),
            }
            .encode_to_vec(),
            BatchKind::Flow => FlowBatch {
                sensor_id,
                seq,
                count: self.count,
                first_ts_us: self.first_ts_us,
                last_ts_us: self.last_ts_us,
                compression,
                dictionary_id,
                payload: self.payload.clone(),
            }
            .encode_to_vec(),
        }
    }
}

/// One open batch of one kind.
#[derive(Debug)]
struct Open {
    plain: Vec<u8>,
    count: u32,
    first_ts_us: i64,
    last_ts_us: i64,
    opened: Option<Instant>,
}

impl Open {
    fn new() -> Self {
        Open {
            plain: Vec::new(),
            count: 0,
            first_ts_us: i64::MAX,
            last_ts_us: i64::MIN,
            opened: None,
        }
    }
}

/// The zstd levels of a [`Batcher`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    /// Batches closed because they are full: records arrive fast, and a cheap level keeps up.
    pub full: i32,
    /// Batches closed by their time limit (records arrive slower than a batch per delay),
    /// where a high level costs little and saves the most, within [`IDLE_BUDGET`]; `None`:
    /// `full` for every batch.
    pub idle: Option<i32>,
}

/// Time the idle level may spend compressing per [`IDLE_WINDOW`] (10 % of the batcher's
/// thread at most); past it, batches take the `full` level until the window ends, so an alert
/// rate just under a batch per delay cannot make the high level eat a core.
pub const IDLE_BUDGET: Duration = Duration::from_secs(1);
/// The window [`IDLE_BUDGET`] is counted over.
pub const IDLE_WINDOW: Duration = Duration::from_secs(10);

/// Time spent compressing at the idle level in the current window.
#[derive(Debug, Default)]
struct IdleBudget {
    window_start: Option<Instant>,
    spent: Duration,
}

impl IdleBudget {
    /// Whether the idle level may be used at `now`.
    fn allows(&mut self, now: Instant) -> bool {
        let start = *self.window_start.get_or_insert(now);
        if now.saturating_duration_since(start) >= IDLE_WINDOW {
            self.window_start = Some(now);
            self.spent = Duration::ZERO;
        }
        self.spent < IDLE_BUDGET
    }

    fn charge(&mut self, spent: Duration) {
        self.spent += spent;
    }
}

/// Builds batches of both kinds.
pub struct Batcher {
    open: [Open; 2],
    max_records: u32,
    max_delay: Duration,
    compressor: zstd::bulk::Compressor<'static>,
    /// The idle level's compressor, when there is one.
    idle: Option<zstd::bulk::Compressor<'static>>,
    idle_budget: IdleBudget,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("open", &self.open)
            .field("max_records", &self.max_records)
            .field("max_delay", &self.max_delay)
            .finish_non_exhaustive()
    }
}

impl Batcher {
    /// A batcher closing batches at `max_records` or `max_delay`, compressing at `levels`
    /// with `dictionary` when given.
    pub fn new(
        max_records: usize,
        max_delay: Duration,
        levels: Levels,
        dictionary: Option<&[u8]>,
    ) -> Result<Self, BatchError> {
        let compressor = |level| match dictionary {
            Some(d) => zstd::bulk::Compressor::with_dictionary(level, d),
            None => zstd::bulk::Compressor::new(level),
        };
        let idle = match levels.idle {
            Some(level) if level != levels.full => Some(compressor(level)?),
            _ => None,
        };
        Ok(Batcher {
            open: [Open::new(), Open::new()],
            max_records: u32::try_from(max_records.max(1)).unwrap_or(u32::MAX),
            max_delay,
            compressor: compressor(levels.full)?,
            idle,
            idle_budget: IdleBudget::default(),
        })
    }

    /// Adds one record (`ts_us` its timestamp); returns the sealed batch when this record
    /// filled it.
    pub fn push<M: Message>(
        &mut self,
        kind: BatchKind,
        ts_us: i64,
        record: &M,
        now: Instant,
    ) -> Result<Option<SealedBatch>, BatchError> {
        // Encoding into a Vec cannot run out of room.
        let _ = record.encode_length_delimited(&mut self.open[kind.index()].plain);
        self.added(kind, ts_us, now)
    }

    /// Adds one record already encoded as a protobuf message of `kind` (without its length
    /// prefix; `ts_us` its timestamp); returns the sealed batch when this record filled it.
    pub fn push_encoded(
        &mut self,
        kind: BatchKind,
        ts_us: i64,
        encoded: &[u8],
        now: Instant,
    ) -> Result<Option<SealedBatch>, BatchError> {
        let plain = &mut self.open[kind.index()].plain;
        prost::encoding::encode_varint(encoded.len() as u64, plain);
        plain.extend_from_slice(encoded);
        self.added(kind, ts_us, now)
    }

    /// Accounts for the record just appended to the open batch of `kind`.
    fn added(
        &mut self,
        kind: BatchKind,
        ts_us: i64,
        now: Instant,
    ) -> Result<Option<SealedBatch>, BatchError> {
        let open = &mut self.open[kind.index()];
        open.count += 1;
        open.first_ts_us = open.first_ts_us.min(ts_us);
        open.last_ts_us = open.last_ts_us.max(ts_us);
        open.opened.get_or_insert(now);
        if open.count >= self.max_records {
            return self.seal(kind, false);
        }
        Ok(None)
    }

    /// When the oldest open batch must close, if any is open.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.open
            .iter()
            .filter_map(|o| o.opened)
            .min()
            .map(|t| t + self.max_delay)
    }

    /// Seals every batch whose delay has passed at `now` (all open batches with `force`).
    pub fn seal_due(&mut self, now: Instant, force: bool) -> Result<Vec<SealedBatch>, BatchError> {
        let mut out = Vec::new();
        for kind in BatchKind::ALL {
            let due = self.open[kind.index()]
                .opened
                .is_some_and(|t| force || now >= t + self.max_delay);
            if due {
                if let Some(b) = self.seal(kind, true)? {
                    out.push(b);
                }
            }
        }
        Ok(out)
    }

    /// Closes the open batch of `kind`; `by_time` when its delay (or a flush), not its size,
    /// closed it.
    fn seal(&mut self, kind: BatchKind, by_time: bool) -> Result<Option<SealedBatch>, BatchError> {
        let open = std::mem::replace(&mut self.open[kind.index()], Open::new());
        if open.count == 0 {
            return Ok(None);
        }
        let started = Instant::now();
        let payload = match &mut self.idle {
            Some(idle) if by_time && self.idle_budget.allows(started) => {
                let payload = idle.compress(&open.plain)?;
                self.idle_budget.charge(started.elapsed());
                payload
            }
            _ => self.compressor.compress(&open.plain)?,
        };
        Ok(Some(SealedBatch {
            kind,
            count: open.count,
            first_ts_us: open.first_ts_us,
            last_ts_us: open.last_ts_us,
            payload,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_proto::v1::Alert;

    const LEVEL_3: Levels = Levels {
        full: 3,
        idle: None,
    };

    fn alert(i: u32) -> Alert {
        Alert {
            timestamp_us: 1_700_000_000_000_000 + i64::from(i),
            sid: 2_000_000 + i,
            signature: format!("ET TEST rule {i}"),
            ..Alert::default()
        }
    }

    #[test]
    fn closes_by_count_and_round_trips() {
        let mut b = Batcher::new(3, Duration::from_secs(60), LEVEL_3, None).expect("batcher");
        let now = Instant::now();
        assert!(b
            .push(BatchKind::Alert, 5, &alert(1), now)
            .expect("push")
            .is_none());
        assert!(b
            .push(BatchKind::Alert, 2, &alert(2), now)
            .expect("push")
            .is_none());
        let sealed = b
            .push(BatchKind::Alert, 9, &alert(3), now)
            .expect("push")
            .expect("sealed at 3");
        assert_eq!(
            (sealed.count, sealed.first_ts_us, sealed.last_ts_us),
            (3, 2, 9)
        );
        let msg = AlertBatch::decode(sealed.encode("s1", 7, 0).as_slice()).expect("decode");
        assert_eq!((msg.seq, msg.count, msg.sensor_id.as_str()), (7, 3, "s1"));
        let alerts: Vec<Alert> =
            tapwatch_proto::batch::decode_batch(&msg.payload, msg.compression, None, 10, 1 << 20)
                .expect("payload");
        assert_eq!(alerts, vec![alert(1), alert(2), alert(3)]);
        assert!(b.next_deadline().is_none());
    }

    #[test]
    fn encoded_records_make_the_same_batch() {
        let now = Instant::now();
        let mut by_message = Batcher::new(2, Duration::from_secs(60), LEVEL_3, None).expect("b");
        let mut by_bytes = Batcher::new(2, Duration::from_secs(60), LEVEL_3, None).expect("b");
        let mut sealed = Vec::new();
        for (i, ts) in [(1, 40), (2, 30)] {
            let a = alert(i);
            let m = by_message
                .push(BatchKind::Alert, ts, &a, now)
                .expect("push");
            let e = by_bytes
                .push_encoded(BatchKind::Alert, ts, &a.encode_to_vec(), now)
                .expect("push");
            sealed.push((m, e));
        }
        assert_eq!(sealed[0], (None, None));
        let (m, e) = sealed.pop().expect("second");
        let (m, e) = (m.expect("sealed at 2"), e.expect("sealed at 2"));
        assert_eq!(m, e);
        assert_eq!((e.count, e.first_ts_us, e.last_ts_us), (2, 30, 40));
    }

    #[test]
    fn closes_by_time() {
        let mut b = Batcher::new(1000, Duration::from_millis(100), LEVEL_3, None).expect("batcher");
        let t0 = Instant::now();
        let _ = b.push(BatchKind::Flow, 1, &alert(1), t0).expect("push");
        assert_eq!(b.next_deadline(), Some(t0 + Duration::from_millis(100)));
        assert!(b
            .seal_due(t0 + Duration::from_millis(50), false)
            .expect("seal")
            .is_empty());
        let due = b
            .seal_due(t0 + Duration::from_millis(100), false)
            .expect("seal");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].kind, BatchKind::Flow);
        assert!(b.seal_due(t0, true).expect("seal").is_empty());
    }

    fn batch_of(b: &mut Batcher, n: u32, t0: Instant, by_time: bool) -> SealedBatch {
        for i in 0..n {
            let sealed = b
                .push(BatchKind::Alert, 1, &alert(i % 7), t0)
                .expect("push");
            if let Some(s) = sealed {
                assert!(!by_time && i == n - 1, "sealed early");
                return s;
            }
        }
        let mut due = b
            .seal_due(t0 + Duration::from_secs(1), false)
            .expect("seal");
        assert!(by_time && due.len() == 1);
        due.remove(0)
    }

    fn decoded(sealed: &SealedBatch) -> Vec<Alert> {
        tapwatch_proto::batch::decode_batch(
            &sealed.payload,
            tapwatch_proto::v1::Compression::Zstd as i32,
            None,
            10_000,
            64 << 20,
        )
        .expect("payload")
    }

    #[test]
    fn batches_closed_by_time_take_the_idle_level_and_full_ones_the_base_level() {
        let adaptive = Levels {
            full: 1,
            idle: Some(19),
        };
        let delay = Duration::from_millis(100);
        let t0 = Instant::now();
        let mut plain = Batcher::new(500, delay, LEVEL_3, None).expect("batcher");
        let mut base = Batcher::new(
            500,
            delay,
            Levels {
                full: 1,
                idle: None,
            },
            None,
        )
        .expect("batcher");
        let mut both = Batcher::new(500, delay, adaptive, None).expect("batcher");
        // Full batches: the base level, byte for byte.
        let full = batch_of(&mut both, 500, t0, false);
        assert_eq!(full.payload, batch_of(&mut base, 500, t0, false).payload);
        // Batches closed by time: the idle level, smaller, same records.
        let idle = batch_of(&mut both, 400, t0, true);
        let at_base = batch_of(&mut base, 400, t0, true);
        let at_3 = batch_of(&mut plain, 400, t0, true);
        assert!(idle.payload.len() < at_base.payload.len());
        assert!(idle.payload.len() <= at_3.payload.len());
        assert_eq!(decoded(&idle), decoded(&at_base));
        assert_eq!(decoded(&idle).len(), 400);
    }

    #[test]
    fn the_idle_budget_is_bounded_per_window() {
        let mut budget = IdleBudget::default();
        let t0 = Instant::now();
        assert!(budget.allows(t0));
        budget.charge(IDLE_BUDGET);
        assert!(!budget.allows(t0 + Duration::from_secs(1)));
        assert!(!budget.allows(t0 + IDLE_WINDOW - Duration::from_millis(1)));
        // A new window, a new budget.
        assert!(budget.allows(t0 + IDLE_WINDOW));
        budget.charge(IDLE_BUDGET / 2);
        assert!(budget.allows(t0 + IDLE_WINDOW + Duration::from_secs(1)));
    }
}
