//! The disk spool: every batch is written here, and made durable, before it is sent; it leaves
//! only when the center's `Ack` covers it.
//!
//! # On-disk format
//!
//! A spool is one directory (`spool_dir`) holding:
//!
//! - **segments** `NNNNNNNNNNNNNNNNNNNN.seg`, where the twenty digits are the seq of the first
//!   record the segment was created for. A segment starts with the 8-byte magic `TWSPOOL1`
//!   and then holds records back to back. Segments are append-only; a new one is started when
//!   the active one would grow past `segment_bytes` (a single batch larger than that gets a
//!   segment of its own), and at every open.
//! - **records**: a 28-byte header followed by the payload, which is the exact protobuf
//!   encoding of the `AlertBatch` or `FlowBatch` message that will be sent:
//!
//!   | bytes  | field                                                            |
//!   |--------|------------------------------------------------------------------|
//!   | 0..4   | magic `TWB1`                                                     |
//!   | 4      | kind: 1 alert batch, 2 flow batch                                |
//!   | 5..8   | zero                                                             |
//!   | 8..16  | seq (u64 LE)                                                     |
//!   | 16..20 | number of alerts/flows in the batch (u32 LE)                     |
//!   | 20..24 | payload length (u32 LE)                                          |
//!   | 24..28 | CRC-32C of bytes 0..24 followed by the payload (u32 LE)          |
//!
//! - **`LOCK`**: locked (`flock`) by the exporter using the directory, whose process id it
//!   holds; a second one is refused while the first runs (see `spool/lock.rs`).
//! - **`state`**: 28 bytes, magic `TWSTATE1`, the ack watermark (u64 LE: every seq at or below
//!   it is acknowledged by the center), the highest seq dropped to make room (u64 LE), and a
//!   CRC-32C of the first 24 bytes. It is replaced atomically (written to `state.tmp`, then
//!   renamed). It is not fsynced at every ack: after a power cut an older watermark only makes
//!   the sensor resend batches the center already has, and the center deduplicates by seq.
//!
//! Seqs start at 1 and increase by one per batch; they are never reused: on open the next seq
//! is one past the largest of the ack watermark, every valid record's seq and every segment's
//! name (the newest segment is never deleted, so its name survives even when every batch is
//! acknowledged).
//!
//! # Durability
//!
//! [`Spool::append`] writes a record with one `write` call; [`Spool::sync`] makes everything
//! appended so far durable (`fdatasync` of the active segment; the directory is fsynced when a
//! segment is created) and is the group commit: the batcher appends every batch it has ready,
//! then syncs once. Only synced batches are handed to the sender ([`Spool::next_item`]), so a
//! batch the center may have seen is never lost by a crash. With `fsync = false` the syncs are
//! skipped: faster, but a power cut can lose accepted batches.
//!
//! # Recovery
//!
//! [`Spool::open`] reads each segment, verifies every record's checksum, and resynchronises
//! on the record magic after damage. In the newest segment a damaged or incomplete region
//! running to the end of the file is a torn write (a crash mid-append, never synced) and is
//! truncated away. Damage followed by valid records, or anywhere in an older segment, is
//! corruption: the batches it held are counted as lost (reason `SpoolCorrupt`) and reported to
//! the center as a dropped seq range; the records after it are kept.
//!
//! # Bounds
//!
//! The spool never holds more than `max_bytes` on disk: before an append that would pass it,
//! the oldest segments are deleted whole; their unacknowledged batches are counted as lost
//! (reason `SpoolFull`, per kind, batches and records) and their seq range is reported to the
//! center. A batch larger than half of `max_bytes` is refused. Memory holds one small index
//! entry per unacknowledged batch; [`Spool::open`] reads one segment at a time.

mod format;
mod lock;

pub use format::BatchKind;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use format::{RecordHeader, State, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, SEGMENT_MAGIC};

const STATE_FILE: &str = "state";
const STATE_TMP: &str = "state.tmp";
const SEGMENT_EXT: &str = "seg";

/// Errors of the spool. Damaged data is not an error (it is counted); these are I/O failures
/// and refused input.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file operation failed.
    #[error("spool {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The batch cannot fit in the spool at all.
    #[error("batch of {size} bytes exceeds the spool's per-batch limit of {limit} bytes")]
    TooLarge {
        /// Size of the record.
        size: u64,
        /// Half of `max_bytes`.
        limit: u64,
    },
    /// The options are unusable.
    #[error("invalid spool options: {0}")]
    Options(&'static str),
    /// Another running process (another sensor) uses this spool directory.
    #[error(
        "spool directory is in use by {} ({path} is locked); each sensor needs its own \
         spool_dir",
        lock::holder(.pid)
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The process holding it, when the lock file says.
        pid: Option<u32>,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> SpoolError + 'a {
    move |source| SpoolError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Why batches were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossReason {
    /// Deleted to make room (`max_bytes`).
    SpoolFull,
    /// Damaged on disk (checksum failure).
    SpoolCorrupt,
    /// Refused by the center for good.
    Rejected,
}

/// Sizing and durability of a spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolOptions {
    /// Target size of one segment file.
    pub segment_bytes: u64,
    /// Bound on the total size of the segment files.
    pub max_bytes: u64,
    /// Whether [`Spool::sync`] calls `fdatasync`.
    pub fsync: bool,
}

/// Counts of lost batches and records, per kind (index [`BatchKind::index`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LossCounts {
    /// Batches lost, per kind.
    pub batches: [u64; 2],
    /// Alerts/flows those batches held, per kind (0 where a damaged header hid it).
    pub records: [u64; 2],
    /// Batches lost whose kind is unknown (damaged headers).
    pub unknown_batches: u64,
}

impl LossCounts {
    fn add(&mut self, kind: BatchKind, records: u32) {
        self.batches[kind.index()] += 1;
        self.records[kind.index()] += u64::from(records);
    }

    /// Total batches lost.
    pub fn total_batches(&self) -> u64 {
        self.batches[0] + self.batches[1] + self.unknown_batches
    }
}

/// What [`Spool::open`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Segment files read.
    pub segments: usize,
    /// Valid, unacknowledged batches recovered.
    pub recovered_batches: u64,
    /// Bytes truncated from the end of the newest segment (a torn write).
    pub torn_tail_bytes: u64,
    /// Damaged regions skipped (corruption, counted as loss).
    pub corrupt_regions: u64,
    /// Bytes in those regions.
    pub corrupt_bytes: u64,
    /// The state file was missing or damaged (the watermark restarts from 0: batches the
    /// center already has may be resent, and it deduplicates them).
    pub state_reset: bool,
    /// The next seq that will be assigned.
    pub next_seq: u64,
    /// The ack watermark.
    pub acked: u64,
}

/// One batch read back from the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledBatch {
    /// Its seq.
    pub seq: u64,
    /// What it holds.
    pub kind: BatchKind,
    /// Alerts/flows in it.
    pub records: u32,
    /// The encoded `AlertBatch`/`FlowBatch` message.
    pub payload: Vec<u8>,
}

/// A range of seqs that will never be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedRange {
    /// First seq, inclusive.
    pub first_seq: u64,
    /// Last seq, inclusive.
    pub last_seq: u64,
    /// Kind, when the whole range is of one kind and known.
    pub kind: Option<BatchKind>,
    /// Alerts/flows the range held, when known (0 otherwise).
    pub records: u64,
    /// Why.
    pub reason: LossReason,
}

/// What the sender sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpoolItem {
    /// A batch.
    Batch(SpooledBatch),
    /// Seqs lost on the sensor, to be reported so that the center's watermark can pass them.
    Dropped(DroppedRange),
}

#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    file: File,
    len: u64,
    /// Seq of the last record written to this segment, if any.
    last_seq: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct IndexEntry {
    seq: u64,
    kind: BatchKind,
    records: u32,
    segment: u64,
    offset: u64,
    len: u32,
}

/// The spool. One value per directory; not shared between processes.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    opts: SpoolOptions,
    /// Oldest first; the last is the active one.
    segments: VecDeque<Segment>,
    /// Unacknowledged batches, by increasing seq.
    index: VecDeque<IndexEntry>,
    /// Known lost ranges above the watermark, by increasing seq.
    dropped: VecDeque<DroppedRange>,
    next_seq: u64,
    durable_seq: u64,
    state: State,
    total_bytes: u64,
    losses: [LossCounts; 2],
    backlog_bytes: u64,
    buf: Vec<u8>,
    /// Held until the spool is dropped.
    _lock: lock::DirLock,
}

impl Spool {
    /// Opens (creating if needed) the spool in `dir`, recovering what it holds.
    pub fn open(dir: &Path, opts: SpoolOptions) -> Result<(Spool, OpenReport), SpoolError> {
        if opts.segment_bytes < 1024 {
            return Err(SpoolError::Options("segment_bytes must be at least 1024"));
        }
        if opts.max_bytes < opts.segment_bytes.saturating_mul(2) {
            return Err(SpoolError::Options(
                "max_bytes must be at least twice segment_bytes",
            ));
        }
        fs::create_dir_all(dir).map_err(io_err("create", dir))?;
        let lock = lock::DirLock::acquire(dir)?;
        let mut report = OpenReport::default();
        let state_path = dir.join(STATE_FILE);
        let state = match fs::read(&state_path) {
            Ok(b) => State::decode(&b).unwrap_or_else(|| {
                report.state_reset = true;
                State::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io_err("read", &state_path)(e)),
        };
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            opts,
            segments: VecDeque::new(),
            index: VecDeque::new(),
            dropped: VecDeque::new(),
            next_seq: state.acked.max(state.dropped_through) + 1,
            durable_seq: 0,
            state,
            total_bytes: 0,
            losses: [LossCounts::default(); 2],
            backlog_bytes: 0,
            buf: Vec::new(),
            _lock: lock,
        };
        let names = spool.list_segments()?;
        let count = names.len();
        for (i, (first_seq, path)) in names.into_iter().enumerate() {
            spool.recover_segment(first_seq, path, i + 1 == count, &mut report)?;
        }
        spool.durable_seq = spool.next_seq - 1;
        spool.rebuild_gaps();
        // Appends always go to a fresh segment: nothing is ever written after recovered bytes.
        spool.rotate()?;
        spool.delete_acked_segments()?;
        report.segments = count;
        report.recovered_batches = spool.index.len() as u64;
        report.next_seq = spool.next_seq;
        report.acked = spool.state.acked;
        Ok((spool, report))
    }

    fn list_segments(&self) -> Result<Vec<(u64, PathBuf)>, SpoolError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err("list", &self.dir))? {
            let entry = entry.map_err(io_err("list", &self.dir))?;
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some(SEGMENT_EXT) {
                continue;
            }
            let Some(first) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            out.push((first, path));
        }
        out.sort_by_key(|(first, _)| *first);
        Ok(out)
    }

    fn recover_segment(
        &mut self,
        first_seq: u64,
        path: PathBuf,
        newest: bool,
        report: &mut OpenReport,
    ) -> Result<(), SpoolError> {
        let bytes = fs::read(&path).map_err(io_err("read", &path))?;
        let scan = format::scan(&bytes);
        let mut len = bytes.len() as u64;
        for &(start, end) in &scan.corrupt_middle {
            report.corrupt_regions += 1;
            report.corrupt_bytes += end - start;
        }
        if let Some(tail) = scan.bad_tail {
            if newest {
                report.torn_tail_bytes += len - tail;
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_err("open", &path))?;
                f.set_len(tail).map_err(io_err("truncate", &path))?;
                if self.opts.fsync {
                    f.sync_all().map_err(io_err("sync", &path))?;
                }
                len = tail;
            } else {
                report.corrupt_regions += 1;
                report.corrupt_bytes += len - tail;
            }
        }
        self.next_seq = self.next_seq.max(first_seq);
        let mut last_seq = None;
        for found in &scan.records {
            let h = found.header;
            last_seq = Some(h.seq);
            if h.seq <= self.state.acked || self.is_indexed_or_old(h.seq) {
                continue;
            }
            self.index_push(IndexEntry {
                seq: h.seq,
                kind: h.kind,
                records: h.records,
                segment: first_seq,
                offset: found.offset,
                len: h.payload_len,
            });
            self.next_seq = self.next_seq.max(h.seq + 1);
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        self.total_bytes += len;
        self.segments.push_back(Segment {
            first_seq,
            path,
            file,
            len,
            last_seq,
        });
        Ok(())
    }

    /// Whether `seq` is already in the index or older than its newest entry (a duplicate or
    /// out-of-order record, which a healthy spool never holds).
    fn is_indexed_or_old(&self, seq: u64) -> bool {
        self.index.back().is_some_and(|e| seq <= e.seq)
    }

    /// Recomputes the lost ranges after open: every seq above the watermark and below the next
    /// seq that no record holds.
    fn rebuild_gaps(&mut self) {
        let mut expected = self.state.acked + 1;
        let mut gaps = Vec::new();
        for e in &self.index {
            if e.seq > expected {
                gaps.push((expected, e.seq - 1));
            }
            expected = e.seq + 1;
        }
        if self.next_seq > expected {
            gaps.push((expected, self.next_seq - 1));
        }
        for (first, last) in gaps {
            // Seqs up to `dropped_through` were dropped for space before the restart (and
            // already counted then); anything else is damage found now.
            if first <= self.state.dropped_through {
                let end = last.min(self.state.dropped_through);
                self.push_dropped(DroppedRange {
                    first_seq: first,
                    last_seq: end,
                    kind: None,
                    records: 0,
                    reason: LossReason::SpoolFull,
                });
                if end < last {
                    self.push_corrupt_gap(end + 1, last);
                }
            } else {
                self.push_corrupt_gap(first, last);
            }
        }
    }

    fn push_corrupt_gap(&mut self, first: u64, last: u64) {
        self.losses[1].unknown_batches += last - first + 1;
        self.push_dropped(DroppedRange {
            first_seq: first,
            last_seq: last,
            kind: None,
            records: 0,
            reason: LossReason::SpoolCorrupt,
        });
    }

    /// The seq the next appended batch gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The ack watermark.
    pub fn acked(&self) -> u64 {
        self.state.acked
    }

    /// Unacknowledged batches held.
    pub fn backlog_batches(&self) -> u64 {
        self.index.len() as u64
    }

    /// Bytes of unacknowledged batches held (headers included).
    pub fn backlog_bytes(&self) -> u64 {
        self.backlog_bytes
    }

    fn entry_bytes(e: &IndexEntry) -> u64 {
        u64::from(e.len) + RECORD_HEADER_LEN as u64
    }

    fn index_push(&mut self, e: IndexEntry) {
        self.backlog_bytes += Self::entry_bytes(&e);
        self.index.push_back(e);
    }

    fn index_pop_front(&mut self) -> Option<IndexEntry> {
        let e = self.index.pop_front()?;
        self.backlog_bytes = self.backlog_bytes.saturating_sub(Self::entry_bytes(&e));
        Some(e)
    }

    fn index_remove(&mut self, pos: usize) -> Option<IndexEntry> {
        let e = self.index.remove(pos)?;
        self.backlog_bytes = self.backlog_bytes.saturating_sub(Self::entry_bytes(&e));
        Some(e)
    }

    /// Bytes of segment files on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Cumulative losses since open: `[SpoolFull, SpoolCorrupt]`.
    pub fn losses(&self) -> [LossCounts; 2] {
        self.losses
    }

    /// Appends one batch. `encode` receives the batch's seq and returns the message bytes to
    /// spool. Returns the seq. The batch is not durable until [`Spool::sync`].
    pub fn append(
        &mut self,
        kind: BatchKind,
        records: u32,
        encode: impl FnOnce(u64) -> Vec<u8>,
    ) -> Result<u64, SpoolError> {
        let seq = self.next_seq;
        let payload = encode(seq);
        let size = (RECORD_HEADER_LEN + payload.len()) as u64;
        let limit = (self.opts.max_bytes / 2).min(u64::from(u32::MAX));
        if size > limit {
            return Err(SpoolError::TooLarge { size, limit });
        }
        self.make_room(size)?;
        if self.segments.back().is_none_or(|s| {
            s.last_seq.is_some() && s.len.saturating_add(size) > self.opts.segment_bytes
        }) {
            self.rotate()?;
        }
        let header = RecordHeader::encode(kind, seq, records, &payload);
        self.buf.clear();
        self.buf.extend_from_slice(&header);
        self.buf.extend_from_slice(&payload);
        let Some(seg) = self.segments.back_mut() else {
            return Err(SpoolError::Options("no active segment"));
        };
        let offset = seg.len;
        if let Err(e) = seg.file.write_all(&self.buf) {
            // Leave no partial record behind (best effort: open() would truncate it anyway).
            let _ = seg.file.set_len(offset);
            return Err(io_err("write", &seg.path)(e));
        }
        seg.len += size;
        seg.last_seq = Some(seq);
        let segment = seg.first_seq;
        self.total_bytes += size;
        self.index_push(IndexEntry {
            seq,
            kind,
            records,
            segment,
            offset,
            len: payload.len() as u32,
        });
        self.next_seq += 1;
        Ok(seq)
    }

    /// Makes every appended batch durable (the group commit); they become visible to
    /// [`Spool::next_item`].
    pub fn sync(&mut self) -> Result<(), SpoolError> {
        if self.durable_seq + 1 == self.next_seq {
            return Ok(());
        }
        if self.opts.fsync {
            if let Some(seg) = self.segments.back() {
                seg.file.sync_data().map_err(io_err("sync", &seg.path))?;
            }
        }
        self.durable_seq = self.next_seq - 1;
        Ok(())
    }

    /// Deletes the oldest segments until `size` more bytes fit under `max_bytes`.
    fn make_room(&mut self, size: u64) -> Result<(), SpoolError> {
        while self.total_bytes + size > self.opts.max_bytes {
            if self.segments.len() <= 1 {
                match self.segments.back() {
                    Some(s) if s.last_seq.is_some() => self.rotate()?,
                    _ => break,
                }
                continue;
            }
            self.drop_oldest_segment()?;
        }
        Ok(())
    }

    fn drop_oldest_segment(&mut self) -> Result<(), SpoolError> {
        let Some(seg) = self.segments.pop_front() else {
            return Ok(());
        };
        // Unacknowledged batches in it are lost; group them into ranges for the center.
        let mut lost: Option<DroppedRange> = None;
        while let Some(e) = self.index.front().copied() {
            if e.segment != seg.first_seq {
                break;
            }
            self.index_pop_front();
            self.losses[0].add(e.kind, e.records);
            lost = Some(match lost {
                None => DroppedRange {
                    first_seq: e.seq,
                    last_seq: e.seq,
                    kind: Some(e.kind),
                    records: u64::from(e.records),
                    reason: LossReason::SpoolFull,
                },
                Some(mut r) => {
                    r.last_seq = e.seq;
                    r.records += u64::from(e.records);
                    if r.kind != Some(e.kind) {
                        r.kind = None;
                    }
                    r
                }
            });
        }
        if let Some(r) = lost {
            self.state.dropped_through = self.state.dropped_through.max(r.last_seq);
            self.push_dropped(r);
            self.write_state()?;
        }
        self.total_bytes = self.total_bytes.saturating_sub(seg.len);
        remove_file(&seg.path)
    }

    fn push_dropped(&mut self, r: DroppedRange) {
        // Keep ranges sorted; drops come from the oldest segment, ranges found on read can be
        // anywhere above the watermark. Adjacent ranges of one reason merge.
        let pos = self.dropped.partition_point(|d| d.first_seq < r.first_seq);
        if let Some(prev) = pos.checked_sub(1).and_then(|p| self.dropped.get_mut(p)) {
            if prev.last_seq + 1 == r.first_seq && prev.reason == r.reason {
                prev.last_seq = r.last_seq;
                prev.records += r.records;
                if prev.kind != r.kind {
                    prev.kind = None;
                }
                return;
            }
        }
        self.dropped.insert(pos, r);
    }

    /// Starts a new active segment.
    fn rotate(&mut self) -> Result<(), SpoolError> {
        if let Some(seg) = self.segments.back() {
            if seg.last_seq.is_none()
                && seg.first_seq == self.next_seq
                && seg.len == SEGMENT_HEADER_LEN
            {
                return Ok(());
            }
            if self.opts.fsync {
                seg.file.sync_data().map_err(io_err("sync", &seg.path))?;
            }
        }
        let path = self
            .dir
            .join(format!("{:020}.{SEGMENT_EXT}", self.next_seq));
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err("create", &path))?;
        // A leftover file with this name can only be an empty or torn segment of ours.
        file.set_len(0).map_err(io_err("truncate", &path))?;
        file.write_all(&SEGMENT_MAGIC)
            .map_err(io_err("write", &path))?;
        if self.opts.fsync {
            file.sync_all().map_err(io_err("sync", &path))?;
            sync_dir(&self.dir)?;
        }
        if let Some(pos) = self.segments.iter().position(|s| s.path == path) {
            // Only an empty recovered segment can share the name: forget the old handle.
            if let Some(old) = self.segments.remove(pos) {
                self.total_bytes = self.total_bytes.saturating_sub(old.len);
            }
        }
        self.total_bytes += SEGMENT_HEADER_LEN;
        self.segments.push_back(Segment {
            first_seq: self.next_seq,
            path,
            file,
            len: SEGMENT_HEADER_LEN,
            last_seq: None,
        });
        Ok(())
    }

    /// The next thing to send at or after `cursor`: the batch with seq `cursor`, or the range
    /// of lost seqs starting there. `None` when everything durable up to `cursor` is handed out.
    pub fn next_item(&mut self, cursor: u64) -> Result<Option<SpoolItem>, SpoolError> {
        let cursor = cursor.max(self.state.acked + 1);
        loop {
            if cursor > self.durable_seq {
                return Ok(None);
            }
            if let Some(d) = self
                .dropped
                .iter()
                .find(|d| d.first_seq <= cursor && cursor <= d.last_seq)
            {
                let mut d = *d;
                if d.first_seq < cursor {
                    // Part of the range is already reported; the counts stay with the first.
                    d.first_seq = cursor;
                    d.records = 0;
                }
                return Ok(Some(SpoolItem::Dropped(d)));
            }
            let pos = self.index.partition_point(|e| e.seq < cursor);
            let Some(e) = self.index.get(pos).copied() else {
                // Nothing indexed here although the seq is durable: an internal gap.
                self.push_corrupt_gap(cursor, self.durable_seq);
                continue;
            };
            if e.seq != cursor {
                self.push_corrupt_gap(cursor, e.seq - 1);
                continue;
            }
            match self.read_entry(&e)? {
                Some(payload) => {
                    return Ok(Some(SpoolItem::Batch(SpooledBatch {
                        seq: e.seq,
                        kind: e.kind,
                        records: e.records,
                        payload,
                    })))
                }
                None => {
                    // Damaged since it was written: lost.
                    self.index_remove(pos);
                    self.losses[1].add(e.kind, e.records);
                    self.push_dropped(DroppedRange {
                        first_seq: e.seq,
                        last_seq: e.seq,
                        kind: Some(e.kind),
                        records: u64::from(e.records),
                        reason: LossReason::SpoolCorrupt,
                    });
                }
            }
        }
    }

    /// Reads and verifies one record's payload; `None` when it no longer verifies.
    fn read_entry(&self, e: &IndexEntry) -> Result<Option<Vec<u8>>, SpoolError> {
        let Ok(i) = self
            .segments
            .binary_search_by_key(&e.segment, |s| s.first_seq)
        else {
            return Ok(None);
        };
        let seg = &self.segments[i];
        let mut buf = vec![0u8; RECORD_HEADER_LEN + e.len as usize];
        match seg.file.read_exact_at(&mut buf, e.offset) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(err) => return Err(io_err("read", &seg.path)(err)),
        }
        let Some(h) = RecordHeader::decode(&buf) else {
            return Ok(None);
        };
        if h.seq != e.seq || !h.verify(&buf, &buf[RECORD_HEADER_LEN..]) {
            return Ok(None);
        }
        buf.drain(..RECORD_HEADER_LEN);
        Ok(Some(buf))
    }

    /// Records that the center refused batch `seq` for good: it will not be sent again and is
    /// reported as a dropped range (reason [`LossReason::Rejected`]). Returns that range.
    pub fn reject(&mut self, seq: u64) -> Option<DroppedRange> {
        let pos = self.index.binary_search_by_key(&seq, |e| e.seq).ok()?;
        let e = self.index_remove(pos)?;
        let r = DroppedRange {
            first_seq: e.seq,
            last_seq: e.seq,
            kind: Some(e.kind),
            records: u64::from(e.records),
            reason: LossReason::Rejected,
        };
        self.push_dropped(r);
        Some(r)
    }

    /// Makes the next new seq at least `min_next` (a center that saw higher seqs from this
    /// sensor, after the spool's state was lost). Batches already spooled keep their seqs.
    pub fn advance_seq(&mut self, min_next: u64) -> Result<(), SpoolError> {
        if min_next <= self.next_seq {
            return Ok(());
        }
        self.sync()?;
        self.next_seq = min_next;
        // Record the jump durably: a fresh segment is named after it. The skipped seqs are
        // reported as a lost range once later batches are durable (the center counts ranges
        // it already holds as done).
        self.rotate()
    }

    /// Advances the ack watermark to `seq` (clamped to what was handed out), persists it, and
    /// deletes segments it fully covers. Returns the number of batches newly acknowledged.
    pub fn ack(&mut self, seq: u64) -> Result<u64, SpoolError> {
        let seq = seq.min(self.durable_seq);
        if seq <= self.state.acked {
            return Ok(0);
        }
        self.state.acked = seq;
        let mut n = 0;
        while self.index.front().is_some_and(|e| e.seq <= seq) {
            self.index_pop_front();
            n += 1;
        }
        while self.dropped.front().is_some_and(|d| d.last_seq <= seq) {
            self.dropped.pop_front();
        }
        if let Some(d) = self.dropped.front_mut() {
            d.first_seq = d.first_seq.max(seq + 1);
        }
        self.write_state()?;
        self.delete_acked_segments()?;
        Ok(n)
    }

    /// Deletes every non-active segment whose records are all acknowledged.
    fn delete_acked_segments(&mut self) -> Result<(), SpoolError> {
        while self.segments.len() > 1 {
            let Some(front) = self.segments.front() else {
                break;
            };
            let covered = match front.last_seq {
                Some(last) => last <= self.state.acked,
                None => true,
            };
            if !covered
                || self
                    .index
                    .front()
                    .is_some_and(|e| e.segment == front.first_seq)
            {
                break;
            }
            if let Some(seg) = self.segments.pop_front() {
                self.total_bytes = self.total_bytes.saturating_sub(seg.len);
                remove_file(&seg.path)?;
            }
        }
        Ok(())
    }

    fn write_state(&self) -> Result<(), SpoolError> {
        let tmp = self.dir.join(STATE_TMP);
        let dst = self.dir.join(STATE_FILE);
        fs::write(&tmp, self.state.encode()).map_err(io_err("write", &tmp))?;
        fs::rename(&tmp, &dst).map_err(io_err("rename", &dst))
    }
}

fn remove_file(path: &Path) -> Result<(), SpoolError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("delete", path)(e)),
    }
}

fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync", dir))
}

#[cfg(test)]
mod tests;
