//! Counters of the exporter, readable at any time from any thread.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use serde::Serialize;

/// A snapshot of the exporter's counters (cumulative since start, except the backlog).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportStats {
    /// Records accepted into the queue, `[alerts, flows]`.
    pub queued: [u64; 2],
    /// Records refused because the queue was full, `[alerts, flows]`.
    pub dropped_queue_full: [u64; 2],
    /// Records that could not be batched (encoding failed or the batch was too large for
    /// the spool), `[alerts, flows]`.
    pub dropped_encode: [u64; 2],
    /// Batches written to the spool.
    pub batches_spooled: u64,
    /// Records in those batches, `[alerts, flows]`.
    pub records_spooled: [u64; 2],
    /// Batches the center acknowledged.
    pub batches_acked: u64,
    /// Batches the center refused permanently.
    pub batches_rejected: u64,
    /// Records in those batches, `[alerts, flows]`.
    pub rejected_records: [u64; 2],
    /// Records lost because writing the spool failed (disk full, I/O error), `[alerts, flows]`.
    pub dropped_spool_io: [u64; 2],
    /// Batches dropped from the spool to make room, `[alerts, flows]`.
    pub dropped_spool_full_batches: [u64; 2],
    /// Records in those batches, `[alerts, flows]`.
    pub dropped_spool_full: [u64; 2],
    /// Batches lost to spool damage (of any kind).
    pub dropped_spool_corrupt_batches: u64,
    /// Protobuf bytes of the messages sent (batches, health, hello...).
    pub bytes_sent: u64,
    /// Batch messages sent, resends included.
    pub batches_sent: u64,
    /// Unacknowledged bytes in the spool.
    pub spool_backlog_bytes: u64,
    /// Unacknowledged batches in the spool.
    pub spool_backlog_batches: u64,
    /// Connections established.
    pub connects: u64,
    /// Connection attempts or streams that failed.
    pub reconnects: u64,
    /// The last error, if any.
    pub last_error: Option<String>,
}

/// The live counters behind [`ExportStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub queued: [AtomicU64; 2],
    pub dropped_queue_full: [AtomicU64; 2],
    pub dropped_encode: [AtomicU64; 2],
    pub batches_spooled: AtomicU64,
    pub records_spooled: [AtomicU64; 2],
    pub batches_acked: AtomicU64,
    pub batches_rejected: AtomicU64,
    pub rejected_records: [AtomicU64; 2],
    pub dropped_spool_io: [AtomicU64; 2],
    pub dropped_spool_full_batches: [AtomicU64; 2],
    pub dropped_spool_full: [AtomicU64; 2],
    pub dropped_spool_corrupt_batches: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub batches_sent: AtomicU64,
    pub spool_backlog_bytes: AtomicU64,
    pub spool_backlog_batches: AtomicU64,
    pub connects: AtomicU64,
    pub reconnects: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

fn pair(a: &[AtomicU64; 2]) -> [u64; 2] {
    [a[0].load(Relaxed), a[1].load(Relaxed)]
}

impl Counters {
    pub fn snapshot(&self) -> ExportStats {
        ExportStats {
            queued: pair(&self.queued),
            dropped_queue_full: pair(&self.dropped_queue_full),
            dropped_encode: pair(&self.dropped_encode),
            batches_spooled: self.batches_spooled.load(Relaxed),
            records_spooled: pair(&self.records_spooled),
            batches_acked: self.batches_acked.load(Relaxed),
            batches_rejected: self.batches_rejected.load(Relaxed),
            rejected_records: pair(&self.rejected_records),
            dropped_spool_io: pair(&self.dropped_spool_io),
            dropped_spool_full_batches: pair(&self.dropped_spool_full_batches),
            dropped_spool_full: pair(&self.dropped_spool_full),
            dropped_spool_corrupt_batches: self.dropped_spool_corrupt_batches.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            batches_sent: self.batches_sent.load(Relaxed),
            spool_backlog_bytes: self.spool_backlog_bytes.load(Relaxed),
            spool_backlog_batches: self.spool_backlog_batches.load(Relaxed),
            connects: self.connects.load(Relaxed),
            reconnects: self.reconnects.load(Relaxed),
            last_error: self.last_error.lock().map(|e| e.clone()).unwrap_or(None),
        }
    }

    pub fn set_error(&self, e: impl ToString) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e.to_string());
        }
    }

    /// Publishes the spool's current state.
    pub fn update_spool(&self, spool: &crate::spool::Spool) {
        self.spool_backlog_bytes
            .store(spool.backlog_bytes(), Relaxed);
        self.spool_backlog_batches
            .store(spool.backlog_batches(), Relaxed);
        let [full, corrupt] = spool.losses();
        for k in 0..2 {
            self.dropped_spool_full_batches[k].store(full.batches[k], Relaxed);
            self.dropped_spool_full[k].store(full.records[k], Relaxed);
        }
        self.dropped_spool_corrupt_batches
            .store(corrupt.total_batches(), Relaxed);
    }
}
