//! Byte layout of spool segments, record headers and the state file (see the parent module's
//! documentation for the overview). Everything is little-endian.

/// First bytes of every segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"TWSPOOL1";
/// Length of a segment's header (its magic).
pub(crate) const SEGMENT_HEADER_LEN: u64 = SEGMENT_MAGIC.len() as u64;
/// First bytes of every record header.
pub(crate) const RECORD_MAGIC: [u8; 4] = *b"TWB1";
/// Length of a record header.
pub(crate) const RECORD_HEADER_LEN: usize = 28;
/// First bytes of the state file.
pub(crate) const STATE_MAGIC: [u8; 8] = *b"TWSTATE1";
/// Length of the state file.
pub(crate) const STATE_LEN: usize = 8 + 8 + 8 + 4;

/// What a spooled batch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BatchKind {
    /// An `AlertBatch` message.
    Alert,
    /// A `FlowBatch` message.
    Flow,
}

impl BatchKind {
    /// Both kinds, in their index order.
    pub const ALL: [BatchKind; 2] = [BatchKind::Alert, BatchKind::Flow];

    pub(crate) fn code(self) -> u8 {
        match self {
            BatchKind::Alert => 1,
            BatchKind::Flow => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(BatchKind::Alert),
            2 => Some(BatchKind::Flow),
            _ => None,
        }
    }

    /// 0 for alerts, 1 for flows: an index into per-kind counter arrays.
    pub fn index(self) -> usize {
        match self {
            BatchKind::Alert => 0,
            BatchKind::Flow => 1,
        }
    }
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub kind: BatchKind,
    pub seq: u64,
    pub records: u32,
    pub payload_len: u32,
    pub crc: u32,
}

impl RecordHeader {
    /// Serialises the header; the checksum covers bytes 0..24 and `payload`.
    pub fn encode(
        kind: BatchKind,
        seq: u64,
        records: u32,
        payload: &[u8],
    ) -> [u8; RECORD_HEADER_LEN] {
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&RECORD_MAGIC);
        h[4] = kind.code();
        h[8..16].copy_from_slice(&seq.to_le_bytes());
        h[16..20].copy_from_slice(&records.to_le_bytes());
        // Callers refuse payloads over u32::MAX before they get here.
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        h[20..24].copy_from_slice(&len.to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&h[0..24]), payload);
        h[24..28].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// Parses a header without checking its checksum; `None` when the magic, kind or reserved
    /// bytes are wrong or `bytes` is short.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let h = bytes.get(..RECORD_HEADER_LEN)?;
        if h[0..4] != RECORD_MAGIC || h[5..8] != [0, 0, 0] {
            return None;
        }
        let kind = BatchKind::from_code(h[4])?;
        Some(RecordHeader {
            kind,
            seq: u64::from_le_bytes(h[8..16].try_into().ok()?),
            records: u32::from_le_bytes(h[16..20].try_into().ok()?),
            payload_len: u32::from_le_bytes(h[20..24].try_into().ok()?),
            crc: u32::from_le_bytes(h[24..28].try_into().ok()?),
        })
    }

    /// Whether `header_bytes` (the 28 header bytes) and `payload` match the checksum.
    pub fn verify(&self, header_bytes: &[u8], payload: &[u8]) -> bool {
        let Some(prefix) = header_bytes.get(0..24) else {
            return false;
        };
        crc32c::crc32c_append(crc32c::crc32c(prefix), payload) == self.crc
    }
}

/// Persisted progress: the ack watermark and the highest seq dropped for space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct State {
    pub acked: u64,
    pub dropped_through: u64,
}

impl State {
    pub fn encode(self) -> [u8; STATE_LEN] {
        let mut b = [0u8; STATE_LEN];
        b[0..8].copy_from_slice(&STATE_MAGIC);
        b[8..16].copy_from_slice(&self.acked.to_le_bytes());
        b[16..24].copy_from_slice(&self.dropped_through.to_le_bytes());
        let crc = crc32c::crc32c(&b[0..24]);
        b[24..28].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != STATE_LEN || b[0..8] != STATE_MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(b[24..28].try_into().ok()?);
        if crc32c::crc32c(&b[0..24]) != crc {
            return None;
        }
        Some(State {
            acked: u64::from_le_bytes(b[8..16].try_into().ok()?),
            dropped_through: u64::from_le_bytes(b[16..24].try_into().ok()?),
        })
    }
}

/// A valid record found by [`scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub offset: u64,
    pub header: RecordHeader,
}

/// What [`scan`] found in a segment's bytes.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Valid records in file order.
    pub records: Vec<Found>,
    /// Damaged regions followed by a valid record: `(start, end)` byte offsets.
    pub corrupt_middle: Vec<(u64, u64)>,
    /// Start of a damaged or incomplete region running to the end of the file, if any.
    pub bad_tail: Option<u64>,
}

/// Scans a whole segment: every record whose header and checksum are valid, resyncing on the
/// record magic after damage.
pub(crate) fn scan(bytes: &[u8]) -> Scan {
    let mut out = Scan::default();
    let mut pos = if bytes.starts_with(&SEGMENT_MAGIC) {
        SEGMENT_HEADER_LEN as usize
    } else {
        0
    };
    let mut bad_start: Option<usize> = if pos == 0 && !bytes.is_empty() {
        Some(0)
    } else {
        None
    };
    while pos < bytes.len() {
        if let Some(size) = valid_record_at(bytes, pos) {
            if let Some(start) = bad_start.take() {
                out.corrupt_middle.push((start as u64, pos as u64));
            }
            if let Some(header) = RecordHeader::decode(&bytes[pos..]) {
                out.records.push(Found {
                    offset: pos as u64,
                    header,
                });
            }
            pos += size;
            continue;
        }
        if bad_start.is_none() {
            bad_start = Some(pos);
        }
        pos = match find_magic(bytes, pos + 1) {
            Some(next) => next,
            None => bytes.len(),
        };
    }
    out.bad_tail = bad_start.map(|s| s as u64);
    out
}

/// The size of the valid record starting at `pos`, if there is one.
fn valid_record_at(bytes: &[u8], pos: usize) -> Option<usize> {
    let rest = bytes.get(pos..)?;
    let header = RecordHeader::decode(rest)?;
    let size = RECORD_HEADER_LEN.checked_add(header.payload_len as usize)?;
    let payload = rest.get(RECORD_HEADER_LEN..size)?;
    header.verify(rest, payload).then_some(size)
}

fn find_magic(bytes: &[u8], from: usize) -> Option<usize> {
    let hay = bytes.get(from..)?;
    hay.windows(RECORD_MAGIC.len())
        .position(|w| w == RECORD_MAGIC)
        .map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: BatchKind, seq: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = RecordHeader::encode(kind, seq, 3, payload).to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn header_round_trip_and_checksum() {
        let bytes = record(BatchKind::Flow, 42, b"hello");
        let h = RecordHeader::decode(&bytes).expect("header");
        assert_eq!(
            (h.kind, h.seq, h.records, h.payload_len),
            (BatchKind::Flow, 42, 3, 5)
        );
        assert!(h.verify(&bytes, &bytes[RECORD_HEADER_LEN..]));
        assert!(!h.verify(&bytes, b"hellO"));
    }

    #[test]
    fn scan_resyncs_after_damage_and_reports_tail() {
        let mut seg = SEGMENT_MAGIC.to_vec();
        seg.extend(record(BatchKind::Alert, 1, b"one"));
        let damaged_at = seg.len();
        let mut two = record(BatchKind::Alert, 2, b"two");
        two[RECORD_HEADER_LEN] ^= 0xff;
        seg.extend(two);
        seg.extend(record(BatchKind::Alert, 3, b"three"));
        let tail_at = seg.len();
        seg.extend(&record(BatchKind::Alert, 4, b"four")[..10]);
        let s = scan(&seg);
        let seqs: Vec<u64> = s.records.iter().map(|f| f.header.seq).collect();
        assert_eq!(seqs, vec![1, 3]);
        assert_eq!(s.corrupt_middle.len(), 1);
        assert_eq!(s.corrupt_middle[0].0, damaged_at as u64);
        assert_eq!(s.bad_tail, Some(tail_at as u64));
    }

    #[test]
    fn state_round_trip_and_corruption() {
        let st = State {
            acked: 7,
            dropped_through: 3,
        };
        let mut b = st.encode();
        assert_eq!(State::decode(&b), Some(st));
        b[9] ^= 1;
        assert_eq!(State::decode(&b), None);
    }
}
