//! pcapng files: block framing, sections, interfaces, packet blocks, and resynchronisation
//! after a corrupt block.

mod interface;

use tapwatch_common::Timestamp;

use crate::bytes::Endian;
use crate::error::CaptureError;
use crate::format::PCAPNG_SHB;
use crate::input::Input;
use crate::limits::ReaderLimits;
use crate::packet::{PacketMeta, Step};
use crate::pcap::truncated;
use crate::problem::{CaptureProblemKind, ProblemLog};
use interface::Interface;

/// Section header block.
const SHB: u32 = 0x0a0d_0d0a;
/// Interface description block.
const IDB: u32 = 1;
/// Obsolete packet block.
const PB: u32 = 2;
/// Simple packet block.
const SPB: u32 = 3;
/// Name resolution block.
const NRB: u32 = 4;
/// Interface statistics block.
const ISB: u32 = 5;
/// Enhanced packet block.
const EPB: u32 = 6;
/// systemd journal export block.
const JOURNAL: u32 = 9;
/// Decryption secrets block.
const DSB: u32 = 0x0a;
/// Custom blocks (copyable and not).
const CUSTOM: u32 = 0x0bad;
const CUSTOM_NOCOPY: u32 = 0x4000_0bad;

/// The byte-order magic of a section header, as written in the section's byte order.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Type, total length, trailing length.
const FRAMING_LEN: usize = 12;
/// Smallest section header block: framing, byte-order magic, versions, section length.
pub(crate) const MIN_SHB_LEN: usize = 28;
/// Interface id, timestamp, captured and original length of an EPB or PB.
const PACKET_FIELDS_LEN: usize = 20;

/// The smallest total length a block of a known type can have, or `None` for an unknown type.
fn min_block_len(block_type: u32) -> Option<usize> {
    match block_type {
        SHB => Some(MIN_SHB_LEN),
        IDB => Some(FRAMING_LEN + 8),
        EPB | PB => Some(FRAMING_LEN + PACKET_FIELDS_LEN),
        SPB => Some(FRAMING_LEN + 4),
        NRB | ISB | JOURNAL | DSB | CUSTOM | CUSTOM_NOCOPY => Some(FRAMING_LEN),
        _ => None,
    }
}

/// Whether a block of this type carries packets or section structure, so that it must be
/// read whole rather than skipped.
fn must_read(block_type: u32) -> bool {
    matches!(block_type, SHB | IDB | EPB | PB | SPB)
}

/// The byte order a section header's byte-order magic (at `at`) stands for.
fn section_endian(bytes: &[u8], at: usize) -> Option<Endian> {
    match Endian::Little.u32(bytes, at)? {
        BYTE_ORDER_MAGIC => Some(Endian::Little),
        m if m.swap_bytes() == BYTE_ORDER_MAGIC => Some(Endian::Big),
        _ => None,
    }
}

/// What reading one block led to.
enum Flow {
    Packet(PacketMeta),
    Continue,
    End,
}

/// A packet located inside a block body, before the block is consumed.
struct Found {
    meta: PacketMeta,
    /// Offset of the packet data from the block start.
    data_from_block: usize,
}

/// The reading state of a pcapng file.
#[derive(Debug)]
pub(crate) struct NgEngine {
    endian: Endian,
    interfaces: Vec<Interface>,
    /// Whether this section already reported more interfaces than kept.
    reported_too_many: bool,
    /// Timestamp of the last packet, given to simple packet blocks (which have none).
    last_ts: Timestamp,
    limits: ReaderLimits,
}

impl NgEngine {
    /// Checks the first section header at the start of `input` (consumed later, as a block).
    pub(crate) fn start(input: &Input, limits: ReaderLimits) -> Result<Self, CaptureError> {
        let head = input.data();
        if head.len() < MIN_SHB_LEN {
            return Err(CaptureError::TooShort {
                len: head.len(),
                needed: MIN_SHB_LEN,
                format: "pcapng",
            });
        }
        let endian = section_endian(head, 8).ok_or(CaptureError::BadSectionHeader {
            reason: "byte-order magic is not 1a2b3c4d in either byte order",
        })?;
        if endian.u16(head, 12) != Some(1) {
            return Err(CaptureError::BadSectionHeader {
                reason: "major version is not 1",
            });
        }
        let total = endian.u32(head, 4).unwrap_or(0) as usize;
        if total < MIN_SHB_LEN || !total.is_multiple_of(4) {
            return Err(CaptureError::BadSectionHeader {
                reason: "block total length is below 28 or not a multiple of 4",
            });
        }
        Ok(Self {
            endian,
            interfaces: Vec::new(),
            reported_too_many: false,
            last_ts: Timestamp::default(),
            limits,
        })
    }

    /// The next packet.
    pub(crate) fn next(&mut self, input: &mut Input, log: &mut ProblemLog) -> Step {
        loop {
            match self.block(input, log) {
                Flow::Packet(meta) => return Step::Packet(meta),
                Flow::Continue => {}
                Flow::End => return Step::End,
            }
        }
    }

    /// Reads the block at the start of the input.
    fn block(&mut self, input: &mut Input, log: &mut ProblemLog) -> Flow {
        let offset = input.offset();
        match input.fill(FRAMING_LEN) {
            Err(e) => return io_end(log, e, offset),
            Ok(false) => {
                truncated(input, log, FRAMING_LEN as u64);
                return Flow::End;
            }
            Ok(true) => {}
        }
        let head = input.data();
        let is_shb = head.get(..4) == Some(&PCAPNG_SHB[..]);
        let (endian, block_type) = if is_shb {
            match section_endian(head, 8) {
                Some(e) => (e, SHB),
                None => {
                    let total_len = Endian::Little.u32(head, 4).unwrap_or(0);
                    let kind = CaptureProblemKind::CorruptBlock {
                        block_type: SHB,
                        total_len,
                    };
                    return self.recover(input, log, kind);
                }
            }
        } else {
            (self.endian, self.endian.u32(head, 0).unwrap_or(0))
        };
        let total_len = endian.u32(head, 4).unwrap_or(0);
        let corrupt = CaptureProblemKind::CorruptBlock {
            block_type,
            total_len,
        };
        let total = total_len as usize;
        let min_len = min_block_len(block_type).unwrap_or(FRAMING_LEN);
        if total < min_len || !total.is_multiple_of(4) {
            return self.recover(input, log, corrupt);
        }
        if total_len > self.limits.max_block_len() {
            if !must_read(block_type) && total_len <= self.limits.max_skipped_block_len {
                return self.skip_large(input, log, endian, block_type, total_len);
            }
            return self.recover(input, log, corrupt);
        }
        match input.fill(total) {
            Err(e) => return io_end(log, e, offset),
            Ok(false) => {
                truncated(input, log, u64::from(total_len));
                return Flow::End;
            }
            Ok(true) => {}
        }
        let data = input.data();
        let trailing = endian.u32(data, total - 4).unwrap_or(0);
        if trailing != total_len {
            let kind = CaptureProblemKind::BlockLengthMismatch {
                block_type,
                leading: total_len,
                trailing,
            };
            return self.recover(input, log, kind);
        }
        let body = data.get(8..total - 4).unwrap_or(&[]);
        let found = match block_type {
            SHB => {
                let major = endian.u16(body, 4).unwrap_or(0);
                if major != 1 {
                    log.push(CaptureProblemKind::UnsupportedSection { major }, offset);
                    return Flow::End;
                }
                self.new_section(endian);
                Ok(None)
            }
            IDB => {
                self.add_interface(body, log, offset);
                Ok(None)
            }
            EPB | PB => self.packet_block(block_type, body),
            SPB => self.simple_packet_block(body),
            _ => Ok(None),
        };
        let at = input.consume(total);
        match found {
            Ok(Some(found)) => {
                self.last_ts = found.meta.ts;
                if found.meta.len > found.meta.orig_len as usize {
                    let kind = CaptureProblemKind::CaplenOverOrigLen {
                        caplen: u32::try_from(found.meta.len).unwrap_or(u32::MAX),
                        orig_len: found.meta.orig_len,
                    };
                    log.push(kind, offset);
                }
                Flow::Packet(PacketMeta {
                    at: at + found.data_from_block,
                    ..found.meta
                })
            }
            Ok(None) => Flow::Continue,
            Err(kind) => {
                log.push(kind, offset);
                Flow::Continue
            }
        }
    }

    fn new_section(&mut self, endian: Endian) {
        self.endian = endian;
        self.interfaces.clear();
        self.reported_too_many = false;
    }

    fn add_interface(&mut self, body: &[u8], log: &mut ProblemLog, offset: u64) {
        let Some(iface) = Interface::parse(self.endian, body) else {
            log.push(
                CaptureProblemKind::MalformedBlock { block_type: IDB },
                offset,
            );
            return;
        };
        if self.interfaces.len() < self.limits.max_interfaces as usize {
            self.interfaces.push(iface);
        } else if !self.reported_too_many {
            self.reported_too_many = true;
            let limit = self.limits.max_interfaces;
            log.push(CaptureProblemKind::TooManyInterfaces { limit }, offset);
        }
    }

    /// Locates the packet in an enhanced (or obsolete) packet block body.
    fn packet_block(
        &self,
        block_type: u32,
        body: &[u8],
    ) -> Result<Option<Found>, CaptureProblemKind> {
        let e = self.endian;
        let malformed = CaptureProblemKind::MalformedBlock { block_type };
        let interface = if block_type == PB {
            e.u16(body, 0).map(u32::from)
        } else {
            e.u32(body, 0)
        }
        .ok_or(malformed)?;
        let ts_high = e.u32(body, 4).ok_or(malformed)?;
        let ts_low = e.u32(body, 8).ok_or(malformed)?;
        let caplen = e.u32(body, 12).ok_or(malformed)?;
        let orig_len = e.u32(body, 16).ok_or(malformed)?;
        let room = body.len().saturating_sub(PACKET_FIELDS_LEN);
        if caplen as usize > room {
            return Err(CaptureProblemKind::CaplenExceedsBlock {
                caplen,
                room: u32::try_from(room).unwrap_or(u32::MAX),
            });
        }
        let iface = self
            .interfaces
            .get(interface as usize)
            .ok_or(CaptureProblemKind::UnknownInterface { interface })?;
        Ok(Some(Found {
            meta: PacketMeta {
                ts: iface.timestamp(ts_high, ts_low),
                link: iface.link,
                at: 0,
                len: caplen as usize,
                orig_len,
                interface,
            },
            data_from_block: 8 + PACKET_FIELDS_LEN,
        }))
    }

    /// Locates the packet in a simple packet block body: interface 0, no timestamp (the
    /// last packet's is used), captured length bounded by the snapshot length.
    fn simple_packet_block(&self, body: &[u8]) -> Result<Option<Found>, CaptureProblemKind> {
        let orig_len = self
            .endian
            .u32(body, 0)
            .ok_or(CaptureProblemKind::MalformedBlock { block_type: SPB })?;
        let iface = self
            .interfaces
            .first()
            .ok_or(CaptureProblemKind::UnknownInterface { interface: 0 })?;
        let room = body.len().saturating_sub(4);
        let mut len = room.min(orig_len as usize);
        if iface.snaplen != 0 {
            len = len.min(iface.snaplen as usize);
        }
        Ok(Some(Found {
            meta: PacketMeta {
                ts: self.last_ts,
                link: iface.link,
                at: 0,
                len,
                orig_len,
                interface: 0,
            },
            data_from_block: 12,
        }))
    }

    /// Skips a large non-packet block without buffering it whole.
    fn skip_large(
        &mut self,
        input: &mut Input,
        log: &mut ProblemLog,
        endian: Endian,
        block_type: u32,
        total_len: u32,
    ) -> Flow {
        let offset = input.offset();
        match input.skip(u64::from(total_len) - 4) {
            Err(e) => return io_end(log, e, offset),
            Ok(false) => {
                let available = input.offset() - offset;
                let kind = CaptureProblemKind::Truncated {
                    needed: u64::from(total_len),
                    available,
                };
                log.push(kind, offset);
                return Flow::End;
            }
            Ok(true) => {}
        }
        match input.fill(4) {
            Err(e) => io_end(log, e, offset),
            Ok(false) => {
                let rest = input.data().len();
                let kind = CaptureProblemKind::Truncated {
                    needed: u64::from(total_len),
                    available: input.offset() - offset + rest as u64,
                };
                log.push(kind, offset);
                input.consume(rest);
                Flow::End
            }
            Ok(true) => {
                let trailing = endian.u32(input.data(), 0).unwrap_or(0);
                if trailing == total_len {
                    input.consume(4);
                    return Flow::Continue;
                }
                let kind = CaptureProblemKind::BlockLengthMismatch {
                    block_type,
                    leading: total_len,
                    trailing,
                };
                self.recover(input, log, kind)
            }
        }
    }

    /// Reports `kind` for the block at the start of the input and looks past it for a
    /// block of a known type whose leading and trailing lengths agree.
    fn recover(
        &mut self,
        input: &mut Input,
        log: &mut ProblemLog,
        kind: CaptureProblemKind,
    ) -> Flow {
        let offset = input.offset();
        log.push(kind, offset);
        if let Err(e) = input.fill(input.capacity()) {
            return io_end(log, e, offset);
        }
        let data = input.data();
        let window = (self.limits.resync_window as usize).min(data.len());
        match (1..=window).find(|&i| self.is_block_at(data, i)) {
            Some(skip) => {
                input.consume(skip);
                let kind = CaptureProblemKind::Resynchronised {
                    skipped: skip as u64,
                };
                log.push(kind, offset);
                Flow::Continue
            }
            None => {
                let kind = CaptureProblemKind::ResyncFailed {
                    scanned: window as u64,
                };
                log.push(kind, offset);
                Flow::End
            }
        }
    }

    /// Whether a well-framed block of a known type starts at `at`.
    fn is_block_at(&self, data: &[u8], at: usize) -> bool {
        let is_shb = at
            .checked_add(4)
            .and_then(|end| data.get(at..end))
            .is_some_and(|t| t == PCAPNG_SHB);
        let (endian, block_type) = if is_shb {
            match section_endian(data, at + 8) {
                Some(e) => (e, SHB),
                None => return false,
            }
        } else {
            match self.endian.u32(data, at) {
                Some(t) => (self.endian, t),
                None => return false,
            }
        };
        let (Some(min_len), Some(total_len)) =
            (min_block_len(block_type), endian.u32(data, at + 4))
        else {
            return false;
        };
        let total = total_len as usize;
        total >= min_len
            && total.is_multiple_of(4)
            && total_len <= self.limits.max_block_len()
            && endian.u32(data, at + total - 4) == Some(total_len)
    }
}

fn io_end(log: &mut ProblemLog, e: std::io::Error, offset: u64) -> Flow {
    log.push(CaptureProblemKind::Io(e.kind()), offset);
    Flow::End
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{reader, reader_with, rows, Ng};
    use crate::{CaptureFormat, CaptureProblemKind, ReaderLimits};

    const T0_US: u64 = 1_700_000_000_000_000;

    fn two_interfaces(big: bool) -> Ng {
        let mut n = Ng::new(big);
        n.idb(1, 65535, None, None); // Ethernet, microseconds
        n.idb(101, 0, Some(9), Some(-5)); // raw IP, nanoseconds, offset -5 s
        n.block(4, &[0, 0, 0, 0]); // name resolution: skipped
        n.epb(0, T0_US + 1, &[1, 2, 3], 3);
        n.epb(1, 1_700_000_000_123_456_789, &[0x45], 20);
        n.block(5, &[0; 12]); // interface statistics: skipped
        n.block(0x0bad, &[1, 2, 3, 4, 5]); // custom: skipped
        n.block(0x7777, &[0; 8]); // unknown: skipped
        n.spb(&[9, 9, 9, 9, 9], 5);
        n.pb(1, 2_000_000_000, &[7], 7);
        n
    }

    fn expected() -> Vec<crate::fixtures::Row> {
        vec![
            (1_700_000_000, 1_000, 1, vec![1, 2, 3], 3, 0),
            (1_699_999_995, 123_456_789, 101, vec![0x45], 20, 1),
            // A simple packet block has no timestamp: the last packet's is used.
            (1_699_999_995, 123_456_789, 1, vec![9, 9, 9, 9, 9], 5, 0),
            (-3, 0, 101, vec![7], 7, 1),
        ]
    }

    #[test]
    fn two_interfaces_both_byte_orders() {
        for big in [false, true] {
            let n = two_interfaces(big);
            let mut r = reader(&n.bytes);
            assert_eq!(r.format(), CaptureFormat::PcapNg { gzip: false });
            assert_eq!(rows(&mut r), expected(), "big endian: {big}");
            assert!(r.problems().is_empty(), "{:?}", r.problems());
            assert_eq!(r.bytes_consumed(), n.bytes.len() as u64);
            assert_eq!(r.packets_read(), 4);
        }
    }

    #[test]
    fn binary_resolution_and_snaplen_bound_on_simple_packets() {
        let mut n = Ng::new(false);
        n.idb(1, 4, Some(0x80 | 20), None); // 2^-20 s
        n.epb(0, (5 << 20) + (1 << 19), &[], 0);
        n.spb(&[1, 2, 3, 4, 5, 6], 6);
        let mut r = reader(&n.bytes);
        assert_eq!(
            rows(&mut r),
            vec![
                (5, 500_000_000, 1, vec![], 0, 0),
                (5, 500_000_000, 1, vec![1, 2, 3, 4], 6, 0)
            ]
        );
    }

    #[test]
    fn new_section_resets_interfaces_and_byte_order() {
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        n.epb(0, 1_000_000, &[1], 1);
        n.section(true);
        n.idb(113, 0, Some(3), None);
        n.epb(0, 2_500, &[2], 1);
        n.epb(1, 0, &[3], 1); // interface 1 belongs to the old section only
        let mut r = reader(&n.bytes);
        assert_eq!(
            rows(&mut r),
            vec![
                (1, 0, 1, vec![1], 1, 0),
                (2, 500_000_000, 113, vec![2], 1, 0)
            ]
        );
        assert_eq!(r.problems().len(), 1);
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::UnknownInterface { interface: 1 }
        );
        assert_eq!(r.problems()[0].packet_index, 2);
    }

    #[test]
    fn truncated_last_block() {
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        n.epb(0, 0, &[1; 8], 8);
        let last = n.epb(0, 0, &[2; 8], 8);
        let len = n.bytes.len();
        for cut in [len - 1, last + 6] {
            let mut r = reader(&n.bytes[..cut]);
            assert_eq!(rows(&mut r).len(), 1);
            let p = r.problems()[0];
            assert_eq!(p.offset, last as u64);
            let needed = if cut == len - 1 {
                (len - last) as u64
            } else {
                12
            };
            assert_eq!(
                p.kind,
                CaptureProblemKind::Truncated {
                    needed,
                    available: (cut - last) as u64
                }
            );
        }
    }

    #[test]
    fn trailing_length_mismatch_then_resync() {
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        let bad = n.epb(0, 0, &[0xee; 16], 16);
        let end = n.bytes.len();
        n.bytes[end - 4..].copy_from_slice(&9999u32.to_le_bytes());
        n.epb(0, 1_000_000, &[0xdd; 4], 4);
        let mut r = reader(&n.bytes);
        assert_eq!(rows(&mut r), vec![(1, 0, 1, vec![0xdd; 4], 4, 0)]);
        let kinds: Vec<_> = r.problems().iter().map(|p| (p.kind, p.offset)).collect();
        let bad_len = (end - bad) as u32;
        assert_eq!(
            kinds,
            vec![
                (
                    CaptureProblemKind::BlockLengthMismatch {
                        block_type: 6,
                        leading: bad_len,
                        trailing: 9999
                    },
                    bad as u64
                ),
                (
                    CaptureProblemKind::Resynchronised {
                        skipped: u64::from(bad_len)
                    },
                    bad as u64
                ),
            ]
        );
    }

    #[test]
    fn impossible_total_length_then_resync() {
        let mut n = Ng::new(true);
        n.idb(1, 0, None, None);
        let bad = n.epb(0, 0, &[0; 4], 4);
        n.bytes[bad + 4..bad + 8].copy_from_slice(&7u32.to_be_bytes());
        n.epb(0, 0, &[5], 1);
        let mut r = reader(&n.bytes);
        assert_eq!(rows(&mut r).len(), 1);
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::CorruptBlock {
                block_type: 6,
                total_len: 7
            }
        );
        assert!(matches!(
            r.problems()[1].kind,
            CaptureProblemKind::Resynchronised { .. }
        ));
    }

    #[test]
    fn packet_longer_than_its_block_is_skipped() {
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        let bad = n.epb(0, 0, &[1; 4], 4);
        n.bytes[bad + 20..bad + 24].copy_from_slice(&1000u32.to_le_bytes());
        n.epb(0, 0, &[2; 4], 4);
        let mut r = reader(&n.bytes);
        assert_eq!(rows(&mut r).len(), 1);
        // Room: 4 bytes of data plus the 16 bytes of options that follow it.
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::CaplenExceedsBlock {
                caplen: 1000,
                room: 20
            }
        );
    }

    #[test]
    fn packet_before_any_interface_is_skipped() {
        let mut n = Ng::new(false);
        n.epb(0, 0, &[1], 1);
        n.spb(&[1], 1);
        let mut r = reader(&n.bytes);
        assert!(r.next_packet().is_none());
        assert_eq!(r.problems().len(), 2);
        assert_eq!(
            r.problems()[1].kind,
            CaptureProblemKind::UnknownInterface { interface: 0 }
        );
    }

    #[test]
    fn large_non_packet_blocks_are_skipped_unbuffered() {
        let limits = ReaderLimits {
            max_record_len: 1_000,
            ..ReaderLimits::default()
        };
        let big = vec![0x55; limits.max_block_len() as usize + 4_000];
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        n.block(0x0a, &big); // decryption secrets
        n.epb(0, 0, &[1], 1);
        let mut r = reader_with(&n.bytes, limits);
        assert_eq!(rows(&mut r).len(), 1);
        assert!(r.problems().is_empty(), "{:?}", r.problems());

        // An oversized packet block is corrupt instead.
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        n.epb(0, 0, &big, 1);
        let mut r = reader_with(&n.bytes, limits);
        assert!(r.next_packet().is_none());
        assert!(matches!(
            r.problems()[0].kind,
            CaptureProblemKind::CorruptBlock { block_type: 6, .. }
        ));
    }

    #[test]
    fn too_many_interfaces_reported_once() {
        let limits = ReaderLimits {
            max_interfaces: 1,
            ..ReaderLimits::default()
        };
        let mut n = Ng::new(false);
        for _ in 0..3 {
            n.idb(1, 0, None, None);
        }
        n.epb(1, 0, &[1], 1);
        let mut r = reader_with(&n.bytes, limits);
        assert!(r.next_packet().is_none());
        let kinds: Vec<_> = r.problems().iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            vec![
                CaptureProblemKind::TooManyInterfaces { limit: 1 },
                CaptureProblemKind::UnknownInterface { interface: 1 }
            ]
        );
    }

    #[test]
    fn unsupported_later_section_ends_reading() {
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        n.epb(0, 0, &[1], 1);
        let second = n.bytes.len();
        n.section(false);
        n.bytes[second + 12..second + 14].copy_from_slice(&2u16.to_le_bytes());
        n.idb(1, 0, None, None);
        n.epb(0, 0, &[1], 1);
        let mut r = reader(&n.bytes);
        assert_eq!(rows(&mut r).len(), 1);
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::UnsupportedSection { major: 2 }
        );
        assert_eq!(r.problems()[0].offset, second as u64);
    }
}
