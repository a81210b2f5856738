//! Storage of what sensors send, behind one trait ([`Store`]) with two back-ends: embedded
//! SQLite ([`sqlite::SqliteStore`], the default) and PostgreSQL ([`postgres::PgStore`]).
//!
//! Every write of a batch is one transaction that records `(sensor_id, seq)` in `batches`
//! (primary key: a resent batch inserts nothing), its records, and the sensor's new highest
//! contiguous seq. A batch is acknowledged only after that transaction has committed.

pub mod postgres;
pub mod rows;
pub mod sqlite;

pub use rows::{AlertColumns, EncodedAlerts};

use tapwatch_proto::v1::{Alert, FlowRecord, Health, Hello};

use crate::config::{StorageKind, StorageSection};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed.
    #[error("postgres: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// A stored record does not decode (database damaged or written by a newer version).
    #[error("stored record does not decode: {0}")]
    Corrupt(String),
    /// Another dictionary is already stored under this id.
    #[error("dictionary {0} already stored with other contents")]
    DictionaryConflict(u32),
    /// A bundle's version is not above the latest published on its kind and channel.
    #[error(
        "{kind} bundle version {version} on channel {channel:?} is not above the latest \
         published, {latest}: versions only increase"
    )]
    BundleNotNewer {
        /// The bundle's kind.
        kind: String,
        /// Its channel.
        channel: String,
        /// Its version.
        version: u64,
        /// The latest published.
        latest: u64,
    },
    /// A value the store cannot hold.
    #[error("{0}")]
    OutOfRange(String),
}

/// A signed bundle to publish (`tapwatch-center bundle publish`): its identifying fields, as
/// read from its verified manifest, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBundle<'a> {
    /// `rules` or `ioc`.
    pub kind: &'a str,
    /// The channel.
    pub channel: &'a str,
    /// The version (at most `i64::MAX`).
    pub version: u64,
    /// Build time, µs since the epoch.
    pub created_us: i64,
    /// Rules or IOC entries.
    pub entries: u64,
    /// SHA-256 of the manifest.
    pub manifest_sha256: &'a str,
    /// The signing keys' ids, comma-separated.
    pub key_ids: &'a str,
    /// The bundle file.
    pub data: &'a [u8],
}

/// A published bundle, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleInfo {
    /// `rules` or `ioc`.
    pub kind: String,
    /// The channel.
    pub channel: String,
    /// The version.
    pub version: u64,
    /// Build time, µs since the epoch.
    pub created_us: i64,
    /// Publication time, µs since the epoch (center clock).
    pub published_us: i64,
    /// Rules or IOC entries.
    pub entries: u64,
    /// SHA-256 of the manifest.
    pub manifest_sha256: String,
    /// The signing keys' ids, comma-separated.
    pub key_ids: String,
    /// Size of the bundle file.
    pub size_bytes: u64,
}

/// The version a bundle is stored under (a signed 64-bit column, compared as a number).
pub(crate) fn bundle_version(b: &NewBundle<'_>) -> Result<i64, StoreError> {
    i64::try_from(b.version).map_err(|_| {
        StoreError::OutOfRange(format!(
            "bundle version {} is above the largest storable, {}",
            b.version,
            i64::MAX
        ))
    })
}

/// The records of one batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Records {
    /// An `AlertBatch`.
    Alerts(Vec<Alert>),
    /// An `AlertBatch` as received: the protobuf bytes each alert came as, which are stored as
    /// they are instead of being encoded again, and its indexed columns.
    EncodedAlerts(EncodedAlerts),
    /// A `FlowBatch`.
    Flows(Vec<FlowRecord>),
}

impl Records {
    /// Batch kind as stored (`alerts` / `flows`).
    pub fn kind(&self) -> &'static str {
        match self {
            Records::Alerts(_) | Records::EncodedAlerts(_) => "alerts",
            Records::Flows(_) => "flows",
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        match self {
            Records::Alerts(a) => a.len(),
            Records::EncodedAlerts(a) => a.len(),
            Records::Flows(f) => f.len(),
        }
    }

    /// Calls `f` with the index and columns of each alert, in order (nothing for flows).
    pub fn for_each_alert<E>(
        &self,
        f: impl FnMut(usize, &AlertColumns<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Records::Alerts(a) => rows::for_each_columns(a, f),
            Records::EncodedAlerts(e) => {
                let mut f = f;
                e.columns().enumerate().try_for_each(|(i, c)| f(i, &c))
            }
            Records::Flows(_) => Ok(()),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One write to apply in a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A batch of records.
    Batch {
        /// The sender.
        sensor_id: String,
        /// The batch's seq.
        seq: u64,
        /// Its records.
        records: Records,
    },
    /// A range of seqs the sensor dropped (`BatchesDropped`).
    Dropped {
        /// The sender.
        sensor_id: String,
        /// First seq, inclusive.
        first_seq: u64,
        /// Last seq, inclusive.
        last_seq: u64,
        /// `RecordKind` as its proto number.
        kind: i32,
        /// Records lost, when known.
        records: u64,
        /// `LossReason` as its proto number.
        reason: i32,
    },
}

impl Write {
    /// The sensor this write belongs to.
    pub fn sensor_id(&self) -> &str {
        match self {
            Write::Batch { sensor_id, .. } | Write::Dropped { sensor_id, .. } => sensor_id,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    /// False when the batch was already stored (a resend): nothing was written.
    pub new: bool,
    /// Records written.
    pub records: usize,
    /// The sensor's highest contiguous seq after the write.
    pub highest_contiguous: u64,
    /// The sensor's highest stored seq after the write.
    pub highest_seen: u64,
}

/// Where a sensor's sequence stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqState {
    /// Every seq up to this one is stored or recorded as dropped.
    pub highest_contiguous: u64,
    /// The largest stored seq.
    pub highest_seen: u64,
}

/// Which alerts a query returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only this sensor.
    pub sensor: Option<String>,
    /// Timestamp ≥ this (µs since the epoch).
    pub since_us: Option<i64>,
    /// Timestamp < this.
    pub until_us: Option<i64>,
    /// Only this signature id.
    pub sid: Option<u32>,
    /// Only this severity.
    pub severity: Option<u32>,
    /// At most this many (oldest first).
    pub limit: Option<usize>,
}

/// An alert as stored, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    /// The sensor that sent it.
    pub sensor_id: String,
    /// The batch it came in.
    pub seq: u64,
    /// The alert.
    pub alert: Alert,
}

/// A sensor as the center knows it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SensorInfo {
    /// Identity (certificate CN).
    pub sensor_id: String,
    /// First contact, µs since the epoch (center clock).
    pub first_seen_us: i64,
    /// Last message, µs since the epoch (center clock).
    pub last_seen_us: i64,
    /// Software version from `Hello`.
    pub software_version: String,
    /// Ruleset id (from `Health` when sent, else `Hello`).
    pub ruleset_id: String,
    /// Ruleset hash (from `Health` when sent: it changes on a live reload; else `Hello`).
    pub ruleset_sha256: String,
    /// Unacknowledged spool bytes (last `Health`).
    pub spool_backlog_bytes: u64,
    /// Unacknowledged spool batches (last `Health`).
    pub spool_backlog_batches: u64,
    /// Capture drops over all queues (last `Health`).
    pub capture_drops: u64,
    /// Records lost on the sensor (sum of the last `Health`'s `data_loss`).
    pub records_lost: u64,
    /// Batches the sensor reported dropped (`BatchesDropped`).
    pub batches_dropped: u64,
    /// Packets seen (last `Health`).
    pub packets: u64,
    /// Uptime in seconds (last `Health`).
    pub uptime_s: u64,
    /// Highest contiguous seq stored.
    pub highest_contiguous_seq: u64,
    /// Alerts stored.
    pub alerts_stored: u64,
}

/// Storage of sensors, batches and alerts.
///
/// Implementations are used from one thread at a time (`&mut self`); the server gives the
/// writing store its own thread and opens others for queries.
pub trait Store: Send {
    /// Applies `writes` in one transaction (group commit); results are in the same order.
    /// Nothing is applied when an error is returned.
    fn apply(&mut self, writes: &[Write]) -> Result<Vec<Inserted>, StoreError>;

    /// Stores one batch: `apply` with one write.
    fn insert_batch(
        &mut self,
        sensor_id: &str,
        seq: u64,
        records: Records,
    ) -> Result<Inserted, StoreError> {
        let w = Write::Batch {
            sensor_id: sensor_id.to_owned(),
            seq,
            records,
        };
        self.apply(std::slice::from_ref(&w))?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("apply returned no result".into()))
    }

    /// Where the sensor's sequence stands.
    fn seq_state(&mut self, sensor_id: &str) -> Result<SeqState, StoreError>;

    /// The highest contiguous seq of a sensor.
    fn highest_contiguous(&mut self, sensor_id: &str) -> Result<u64, StoreError> {
        Ok(self.seq_state(sensor_id)?.highest_contiguous)
    }

    /// Records a `Hello` (creates the sensor on first contact). `now_us`: center clock.
    fn upsert_hello(&mut self, hello: &Hello, now_us: i64) -> Result<(), StoreError>;

    /// Records a `Health`.
    fn upsert_health(
        &mut self,
        sensor_id: &str,
        health: &Health,
        now_us: i64,
    ) -> Result<(), StoreError>;

    /// Stores a dictionary; the same bytes again are fine, other bytes are a conflict.
    fn put_dictionary(&mut self, sensor_id: &str, id: u32, data: &[u8]) -> Result<(), StoreError>;

    /// A stored dictionary.
    fn dictionary(&mut self, sensor_id: &str, id: u32) -> Result<Option<Vec<u8>>, StoreError>;

    /// Alerts matching `filter`, oldest first.
    fn query_alerts(&mut self, filter: &AlertFilter) -> Result<Vec<StoredAlert>, StoreError>;

    /// Every sensor, by id.
    fn sensors(&mut self) -> Result<Vec<SensorInfo>, StoreError>;

    /// Publishes a bundle: refused ([`StoreError::BundleNotNewer`]) unless its version is
    /// above every version published on its kind and channel (checked and inserted in one
    /// transaction that excludes concurrent publishers). `now_us`: center clock.
    fn publish_bundle(&mut self, bundle: &NewBundle<'_>, now_us: i64) -> Result<(), StoreError>;

    /// Published bundles, by kind, channel and version; only `kind` / `channel` when given.
    fn bundles(
        &mut self,
        kind: Option<&str>,
        channel: Option<&str>,
    ) -> Result<Vec<BundleInfo>, StoreError>;

    /// The bytes of a published bundle.
    fn bundle_data(
        &mut self,
        kind: &str,
        channel: &str,
        version: u64,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// The latest bundle published on a kind and channel.
    fn latest_bundle(
        &mut self,
        kind: &str,
        channel: &str,
    ) -> Result<Option<BundleInfo>, StoreError> {
        Ok(self.bundles(Some(kind), Some(channel))?.pop())
    }
}

/// Opens the configured store (creating the schema when needed).
pub fn open(cfg: &StorageSection) -> Result<Box<dyn Store>, StoreError> {
    Ok(match cfg.kind {
        StorageKind::Sqlite => Box::new(sqlite::SqliteStore::open(
            &cfg.path,
            cfg.sqlite_synchronous,
        )?),
        StorageKind::Postgres => Box::new(postgres::PgStore::connect(&cfg.url)?),
    })
}

/// Capture drops over all queues of a `Health`.
pub(crate) fn total_drops(h: &Health) -> u64 {
    h.capture_drops
        .iter()
        .map(|q| q.dropped)
        .fold(0, u64::saturating_add)
}

/// Records lost over all kinds and reasons of a `Health`.
pub(crate) fn total_lost(h: &Health) -> u64 {
    h.data_loss
        .iter()
        .map(|l| l.count)
        .fold(0, u64::saturating_add)
}

/// Advances a contiguous seq over `stored` (sorted seqs above it) and `dropped` ranges.
pub(crate) fn advance_contiguous(mut hc: u64, stored: &[u64], dropped: &[(u64, u64)]) -> u64 {
    let mut si = 0;
    loop {
        if hc == u64::MAX {
            return hc;
        }
        let next = hc.saturating_add(1);
        while si < stored.len() && stored[si] < next {
            si += 1;
        }
        if si < stored.len() && stored[si] == next {
            hc = next;
            continue;
        }
        match dropped
            .iter()
            .filter(|(f, l)| *f <= next && *l >= next)
            .map(|(_, l)| *l)
            .max()
        {
            Some(l) => hc = l,
            None => return hc,
        }
    }
}

/// u64 stored in a signed 64-bit column, bit for bit.
pub(crate) fn to_i64(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// Inverse of [`to_i64`].
pub(crate) fn from_i64(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_advances_over_stored_and_dropped() {
        assert_eq!(advance_contiguous(0, &[], &[]), 0);
        assert_eq!(advance_contiguous(0, &[1, 2, 4], &[]), 2);
        assert_eq!(advance_contiguous(2, &[4, 5], &[(3, 3)]), 5);
        assert_eq!(advance_contiguous(0, &[10], &[(1, 9)]), 10);
        assert_eq!(advance_contiguous(5, &[2, 3], &[(1, 4)]), 5);
    }
}
