//! Classic libpcap files: the file header, record headers, and resynchronisation after a
//! corrupt record.

use tapwatch_common::{LinkType, Timestamp};

use crate::bytes::Endian;
use crate::error::CaptureError;
use crate::input::Input;
use crate::limits::ReaderLimits;
use crate::packet::{PacketMeta, Step};
use crate::problem::{CaptureProblemKind, ProblemLog};

/// Length of the file header.
pub(crate) const FILE_HEADER_LEN: usize = 24;
/// Length of a record header.
const RECORD_HEADER_LEN: usize = 16;
/// A resync candidate's timestamp must lie within this many seconds of the last good one.
const RESYNC_MAX_TIME_GAP_SECS: i64 = 86_400;
/// Original lengths above this are implausible for a resync candidate.
const RESYNC_MAX_ORIG_LEN: u32 = 16 << 20;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// The byte order and resolution a classic pcap magic stands for, if it is one.
pub(crate) fn magic(first4: [u8; 4]) -> Option<(Endian, bool)> {
    match (u32::from_le_bytes(first4), u32::from_be_bytes(first4)) {
        (MAGIC_MICROS, _) => Some((Endian::Little, false)),
        (MAGIC_NANOS, _) => Some((Endian::Little, true)),
        (_, MAGIC_MICROS) => Some((Endian::Big, false)),
        (_, MAGIC_NANOS) => Some((Endian::Big, true)),
        _ => None,
    }
}

/// One record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RecordHeader {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    orig_len: u32,
}

/// The reading state of a classic pcap file.
#[derive(Debug)]
pub(crate) struct PcapEngine {
    endian: Endian,
    nanos: bool,
    snaplen: u32,
    link: LinkType,
    limits: ReaderLimits,
    /// Seconds of the last good record, to judge resync candidates.
    last_secs: Option<u32>,
}

impl PcapEngine {
    /// Parses the file header at the start of `input` (which must hold at least
    /// [`FILE_HEADER_LEN`] bytes, or the file is too short) and consumes it.
    pub(crate) fn start(input: &mut Input, limits: ReaderLimits) -> Result<Self, CaptureError> {
        let head = input.data();
        if head.len() < FILE_HEADER_LEN {
            return Err(CaptureError::TooShort {
                len: head.len(),
                needed: FILE_HEADER_LEN,
                format: "pcap",
            });
        }
        let first4: [u8; 4] = head
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .unwrap_or_default();
        let Some((endian, nanos)) = magic(first4) else {
            return Err(CaptureError::NotACapture { magic: first4 });
        };
        let field = |at| endian.u32(head, at).unwrap_or(0);
        let major = endian.u16(head, 4).unwrap_or(0);
        let minor = endian.u16(head, 6).unwrap_or(0);
        if major != 2 {
            return Err(CaptureError::UnsupportedPcapVersion { major, minor });
        }
        let snaplen = field(16);
        // The low 28 bits are the link type; the top four describe an FCS, which is kept
        // in the frames as captured.
        let link = LinkType::from_linktype(field(20) & 0x0fff_ffff);
        input.consume(FILE_HEADER_LEN);
        Ok(Self {
            endian,
            nanos,
            snaplen,
            link,
            limits,
            last_secs: None,
        })
    }

    /// Whether timestamps are in nanoseconds.
    pub(crate) fn nanos(&self) -> bool {
        self.nanos
    }

    fn header(&self, bytes: &[u8], at: usize) -> Option<RecordHeader> {
        Some(RecordHeader {
            ts_sec: self.endian.u32(bytes, at)?,
            ts_frac: self.endian.u32(bytes, at + 4)?,
            caplen: self.endian.u32(bytes, at + 8)?,
            orig_len: self.endian.u32(bytes, at + 12)?,
        })
    }

    /// The snapshot length as a bound, when the header gives a usable one.
    fn snaplen_bound(&self) -> Option<u32> {
        (self.snaplen != 0 && self.snaplen <= self.limits.max_record_len).then_some(self.snaplen)
    }

    /// Whether a record header read in sequence is too absurd to follow.
    fn is_corrupt(&self, h: &RecordHeader) -> bool {
        h.caplen > self.limits.max_record_len
            || self
                .snaplen_bound()
                .is_some_and(|s| h.caplen > s.saturating_mul(2).max(65_535))
    }

    /// Whether a header found while scanning looks like a real record.
    fn is_plausible(&self, h: &RecordHeader) -> bool {
        let frac_limit = if self.nanos { 1_000_000_000 } else { 1_000_000 };
        let caplen_limit = self.snaplen_bound().unwrap_or(self.limits.max_record_len);
        let near = self.last_secs.is_none_or(|last| {
            (i64::from(h.ts_sec) - i64::from(last)).abs() <= RESYNC_MAX_TIME_GAP_SECS
        });
        near && h.ts_frac < frac_limit
            && h.caplen <= caplen_limit
            && h.caplen <= h.orig_len
            && h.orig_len <= RESYNC_MAX_ORIG_LEN
    }

    fn timestamp(&self, h: &RecordHeader) -> Timestamp {
        let frac_nanos = if self.nanos {
            i128::from(h.ts_frac)
        } else {
            i128::from(h.ts_frac) * 1_000
        };
        Timestamp::from_nanos(i128::from(h.ts_sec) * 1_000_000_000 + frac_nanos)
    }

    /// The next packet.
    pub(crate) fn next(&mut self, input: &mut Input, log: &mut ProblemLog) -> Step {
        loop {
            match input.fill(RECORD_HEADER_LEN) {
                Err(e) => {
                    log.push(CaptureProblemKind::Io(e.kind()), input.offset());
                    return Step::End;
                }
                Ok(false) => {
                    truncated(input, log, RECORD_HEADER_LEN as u64);
                    return Step::End;
                }
                Ok(true) => {}
            }
            let Some(h) = self.header(input.data(), 0) else {
                return Step::End;
            };
            if self.is_corrupt(&h) {
                log.push(
                    CaptureProblemKind::CorruptRecord {
                        caplen: h.caplen,
                        orig_len: h.orig_len,
                    },
                    input.offset(),
                );
                if self.resync(input, log) {
                    continue;
                }
                return Step::End;
            }
            // `is_corrupt` bounds caplen by `max_record_len`, a u32.
            let total = RECORD_HEADER_LEN + h.caplen as usize;
            match input.fill(total) {
                Err(e) => {
                    log.push(CaptureProblemKind::Io(e.kind()), input.offset());
                    return Step::End;
                }
                Ok(false) => {
                    truncated(input, log, total as u64);
                    return Step::End;
                }
                Ok(true) => {}
            }
            if h.caplen > h.orig_len {
                log.push(
                    CaptureProblemKind::CaplenOverOrigLen {
                        caplen: h.caplen,
                        orig_len: h.orig_len,
                    },
                    input.offset(),
                );
            }
            let at = input.consume(total);
            self.last_secs = Some(h.ts_sec);
            return Step::Packet(PacketMeta {
                ts: self.timestamp(&h),
                link: self.link,
                at: at + RECORD_HEADER_LEN,
                len: h.caplen as usize,
                orig_len: h.orig_len,
                interface: 0,
            });
        }
    }

    /// Looks past the corrupt record at the start of the buffer for one that is plausible
    /// and followed by another plausible one (or the end of the input). Consumes up to it
    /// and returns true, or reports failure and returns false.
    fn resync(&mut self, input: &mut Input, log: &mut ProblemLog) -> bool {
        let offset = input.offset();
        if let Err(e) = input.fill(input.capacity()) {
            log.push(CaptureProblemKind::Io(e.kind()), offset);
            return false;
        }
        let data = input.data();
        let eof = input.at_eof();
        let window = (self.limits.resync_window as usize).min(data.len());
        let found = (1..=window).find(|&i| {
            let Some(h) = self.header(data, i).filter(|h| self.is_plausible(h)) else {
                return false;
            };
            let next = i + RECORD_HEADER_LEN + h.caplen as usize;
            if next == data.len() && eof {
                return true;
            }
            self.header(data, next)
                .is_some_and(|n| self.is_plausible(&n))
        });
        match found {
            Some(skip) => {
                input.consume(skip);
                log.push(
                    CaptureProblemKind::Resynchronised {
                        skipped: skip as u64,
                    },
                    offset,
                );
                true
            }
            None => {
                log.push(
                    CaptureProblemKind::ResyncFailed {
                        scanned: window as u64,
                    },
                    offset,
                );
                false
            }
        }
    }
}

/// Reports that the input ends inside a record needing `needed` bytes (nothing when it
/// ends cleanly between records) and consumes the rest.
pub(crate) fn truncated(input: &mut Input, log: &mut ProblemLog, needed: u64) {
    let available = input.data().len();
    if available > 0 {
        log.push(
            CaptureProblemKind::Truncated {
                needed,
                available: available as u64,
            },
            input.offset(),
        );
        input.consume(available);
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{reader, reader_with, rows, Pcap};
    use crate::{CaptureFormat, CaptureProblem, CaptureProblemKind, ReaderLimits};

    const T0: u32 = 1_700_000_000;

    #[test]
    fn microsecond_little_endian() {
        let mut f = Pcap::new(false, false, 65535, 1);
        f.record(T0, 999_999, &[1, 2, 3], 60);
        f.record(T0 + 1, 0, &[], 0);
        let mut r = reader(&f.bytes);
        assert_eq!(
            r.format(),
            CaptureFormat::Pcap {
                nanos: false,
                gzip: false
            }
        );
        assert_eq!(
            rows(&mut r),
            vec![
                (i64::from(T0), 999_999_000, 1, vec![1, 2, 3], 60, 0),
                (i64::from(T0) + 1, 0, 1, vec![], 0, 0),
            ]
        );
        assert_eq!(r.packets_read(), 2);
        assert_eq!(r.bytes_consumed(), f.bytes.len() as u64);
        assert!(r.problems().is_empty());
        assert!(r.next_packet().is_none());
    }

    #[test]
    fn nanosecond_big_endian_with_fcs_bits() {
        // Link type 101 with the "FCS present, 4 bytes" bits set above bit 27.
        let mut f = Pcap::new(true, true, 0, 101 | 0x1000_0000 | 0x4000_0000);
        f.record(T0, 123_456_789, &[0x45, 0], 20);
        f.record(T0, 999_999_999, &[0x60], 40);
        let mut r = reader(&f.bytes);
        assert_eq!(
            r.format(),
            CaptureFormat::Pcap {
                nanos: true,
                gzip: false
            }
        );
        assert_eq!(
            rows(&mut r),
            vec![
                (i64::from(T0), 123_456_789, 101, vec![0x45, 0], 20, 0),
                (i64::from(T0), 999_999_999, 101, vec![0x60], 40, 0),
            ]
        );
    }

    #[test]
    fn unknown_link_type_reads_as_other() {
        let mut f = Pcap::new(false, false, 65535, 147);
        f.record(T0, 0, &[9], 1);
        let mut r = reader(&f.bytes);
        let p = r.next_packet().unwrap();
        assert_eq!(p.link, tapwatch_common::LinkType::Other(147));
    }

    #[test]
    fn truncated_last_packet_ends_cleanly() {
        let mut f = Pcap::new(false, false, 65535, 1);
        f.record(T0, 0, &[1; 10], 10);
        let second = f.record(T0, 1, &[2; 100], 100);
        for cut in [f.bytes.len() - 1, second + 16, second + 5] {
            let mut r = reader(&f.bytes[..cut]);
            assert_eq!(rows(&mut r).len(), 1);
            let needed = if cut >= second + 16 { 116 } else { 16 };
            assert_eq!(
                r.problems(),
                &[CaptureProblem {
                    kind: CaptureProblemKind::Truncated {
                        needed,
                        available: (cut - second) as u64,
                    },
                    offset: second as u64,
                    packet_index: 1,
                }]
            );
            assert_eq!(r.bytes_consumed(), cut as u64);
            assert!(r.next_packet().is_none());
        }
    }

    #[test]
    fn header_only_file_has_no_packets_and_no_problems() {
        let f = Pcap::new(false, false, 65535, 1);
        let mut r = reader(&f.bytes);
        assert!(r.next_packet().is_none());
        assert!(r.problems().is_empty());
    }

    #[test]
    fn corrupt_record_then_resync() {
        let mut f = Pcap::new(false, false, 1500, 1);
        f.record(T0, 10, &[0xaa; 40], 40);
        let bad = f.record(T0 + 1, 20, &[0; 30], 30);
        // Corrupt the second record's captured length.
        f.bytes[bad + 8..bad + 12].copy_from_slice(&0x00ff_ffffu32.to_le_bytes());
        f.record(T0 + 2, 30, &[0xbb; 50], 50);
        f.record(T0 + 3, 40, &[0xcc; 5], 60);
        let mut r = reader(&f.bytes);
        let got: Vec<_> = rows(&mut r)
            .into_iter()
            .map(|row| (row.0, row.3.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                (i64::from(T0), 40),
                (i64::from(T0) + 2, 50),
                (i64::from(T0) + 3, 5)
            ]
        );
        let kinds: Vec<_> = r
            .problems()
            .iter()
            .map(|p| (p.kind, p.offset, p.packet_index))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (
                    CaptureProblemKind::CorruptRecord {
                        caplen: 0x00ff_ffff,
                        orig_len: 30
                    },
                    bad as u64,
                    1
                ),
                (
                    CaptureProblemKind::Resynchronised { skipped: 46 },
                    bad as u64,
                    1
                ),
            ]
        );
    }

    #[test]
    fn resync_gives_up_outside_its_window() {
        let mut f = Pcap::new(false, false, 1500, 1);
        f.record(T0, 0, &[1; 4], 4);
        let bad = f.record(T0, 0, &[], 0);
        f.bytes[bad + 8..bad + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        f.bytes.extend_from_slice(&[0; 300]);
        f.record(T0, 5, &[7; 4], 4);
        f.record(T0, 6, &[7; 4], 4);
        let limits = ReaderLimits {
            resync_window: 200,
            ..ReaderLimits::default()
        };
        let mut r = reader_with(&f.bytes, limits);
        assert_eq!(rows(&mut r).len(), 1);
        assert_eq!(
            r.problems().last().unwrap().kind,
            CaptureProblemKind::ResyncFailed { scanned: 200 }
        );
        // With the default window the same file resynchronises.
        let mut r = reader(&f.bytes);
        assert_eq!(rows(&mut r).len(), 3);
        assert_eq!(
            r.problems().last().unwrap().kind,
            CaptureProblemKind::Resynchronised { skipped: 316 }
        );
    }

    #[test]
    fn caplen_over_orig_len_is_reported_but_returned() {
        let mut f = Pcap::new(false, false, 65535, 1);
        f.record(T0, 0, &[1; 8], 4);
        let mut r = reader(&f.bytes);
        assert_eq!(r.next_packet().unwrap().data.len(), 8);
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::CaplenOverOrigLen {
                caplen: 8,
                orig_len: 4
            }
        );
    }

    #[test]
    fn record_above_max_len_is_corrupt() {
        let mut f = Pcap::new(false, false, 0, 1);
        f.record(T0, 0, &[1; 300], 300);
        let limits = ReaderLimits {
            max_record_len: 256,
            ..ReaderLimits::default()
        };
        let mut r = reader_with(&f.bytes, limits);
        assert!(r.next_packet().is_none());
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::CorruptRecord {
                caplen: 300,
                orig_len: 300
            }
        );
    }
}
