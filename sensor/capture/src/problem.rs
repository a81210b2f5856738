//! Problems met while reading an opened capture, and their bounded log.

use std::fmt;
use std::io;

/// What went wrong at one place in a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaptureProblemKind {
    /// The input ends inside a record or block; reading ended there.
    Truncated {
        /// Bytes the record or block needs.
        needed: u64,
        /// Bytes that were left.
        available: u64,
    },
    /// A classic pcap record header with impossible lengths (captured length above the
    /// limit or far above the snapshot length); the reader tried to resynchronise.
    CorruptRecord {
        /// Captured length from the header.
        caplen: u32,
        /// Original length from the header.
        orig_len: u32,
    },
    /// A pcapng block whose total length is impossible (below 12, not a multiple of 4, or
    /// over the limit for its type); the reader tried to resynchronise.
    CorruptBlock {
        /// Block type.
        block_type: u32,
        /// Total length from the block header.
        total_len: u32,
    },
    /// A pcapng block whose trailing length differs from its leading one; the reader tried
    /// to resynchronise.
    BlockLengthMismatch {
        /// Block type.
        block_type: u32,
        /// Length at the start of the block.
        leading: u32,
        /// Length at the end of the block.
        trailing: u32,
    },
    /// A pcapng block too short for the fields of its type; it was skipped.
    MalformedBlock {
        /// Block type.
        block_type: u32,
    },
    /// After a corrupt record or block, reading resumed at a plausible one further on.
    Resynchronised {
        /// Bytes skipped to get there.
        skipped: u64,
    },
    /// After a corrupt record or block, nothing plausible was found within the resync
    /// window; reading ended.
    ResyncFailed {
        /// Bytes scanned.
        scanned: u64,
    },
    /// A pcapng packet block whose captured length exceeds the block; it was skipped.
    CaplenExceedsBlock {
        /// Captured length from the block.
        caplen: u32,
        /// Bytes of packet data the block has room for.
        room: u32,
    },
    /// A record whose captured length exceeds its original length; the packet was returned.
    CaplenOverOrigLen {
        /// Captured length.
        caplen: u32,
        /// Original length.
        orig_len: u32,
    },
    /// A pcapng packet block naming an interface not described in its section; skipped.
    UnknownInterface {
        /// Interface id from the block.
        interface: u32,
    },
    /// A pcapng section describes more interfaces than the reader keeps; the extra ones
    /// were ignored (their packets are reported as [`Self::UnknownInterface`]).
    TooManyInterfaces {
        /// The limit.
        limit: u32,
    },
    /// A pcapng section header of an unknown major version; reading ended.
    UnsupportedSection {
        /// Major version from the section header.
        major: u16,
    },
    /// The source failed (an I/O or decompression error); reading ended.
    Io(io::ErrorKind),
}

impl CaptureProblemKind {
    /// Whether reading ended because of this problem.
    pub fn ends_reading(self) -> bool {
        matches!(
            self,
            Self::Truncated { .. }
                | Self::ResyncFailed { .. }
                | Self::UnsupportedSection { .. }
                | Self::Io(_)
        )
    }
}

impl fmt::Display for CaptureProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { needed, available } => write!(
                f,
                "file ends inside a record ({needed} bytes needed, {available} left); \
                 reading stopped"
            ),
            Self::CorruptRecord { caplen, orig_len } => write!(
                f,
                "corrupt record header (captured length {caplen}, original length {orig_len})"
            ),
            Self::CorruptBlock {
                block_type,
                total_len,
            } => write!(
                f,
                "corrupt block of type {block_type:#010x} (impossible total length {total_len})"
            ),
            Self::BlockLengthMismatch {
                block_type,
                leading,
                trailing,
            } => write!(
                f,
                "corrupt block of type {block_type:#010x} (leading length {leading}, \
                 trailing length {trailing})"
            ),
            Self::MalformedBlock { block_type } => write!(
                f,
                "block of type {block_type:#010x} too short for its fields; skipped"
            ),
            Self::Resynchronised { skipped } => {
                write!(f, "resynchronised after skipping {skipped} bytes")
            }
            Self::ResyncFailed { scanned } => write!(
                f,
                "no plausible record in the {scanned} bytes after a corrupt one; reading stopped"
            ),
            Self::CaplenExceedsBlock { caplen, room } => write!(
                f,
                "captured length {caplen} exceeds the {room} bytes its block holds; skipped"
            ),
            Self::CaplenOverOrigLen { caplen, orig_len } => write!(
                f,
                "captured length {caplen} exceeds original length {orig_len}"
            ),
            Self::UnknownInterface { interface } => {
                write!(f, "packet on undescribed interface {interface}; skipped")
            }
            Self::TooManyInterfaces { limit } => {
                write!(
                    f,
                    "more than {limit} interfaces in one section; extra ones ignored"
                )
            }
            Self::UnsupportedSection { major } => write!(
                f,
                "pcapng section of unsupported major version {major}; reading stopped"
            ),
            Self::Io(kind) => write!(f, "read failed ({kind}); reading stopped"),
        }
    }
}

/// One problem met while reading, with where it was met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureProblem {
    /// What went wrong.
    pub kind: CaptureProblemKind,
    /// Byte offset in the (uncompressed) input of the record or block concerned.
    pub offset: u64,
    /// Packets returned before it.
    pub packet_index: u64,
}

impl fmt::Display for CaptureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at byte offset {} (after {} packets): {}",
            self.offset, self.packet_index, self.kind
        )
    }
}

/// The problems met so far, at most a configured number; later ones are only counted.
#[derive(Debug)]
pub(crate) struct ProblemLog {
    kept: Vec<CaptureProblem>,
    limit: usize,
    suppressed: u64,
    /// Packets returned so far: the `packet_index` of the next problem.
    pub(crate) packets: u64,
}

impl ProblemLog {
    /// An empty log keeping at most `limit` problems.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            kept: Vec::new(),
            limit,
            suppressed: 0,
            packets: 0,
        }
    }

    /// Records a problem at `offset`.
    pub(crate) fn push(&mut self, kind: CaptureProblemKind, offset: u64) {
        if self.kept.len() < self.limit {
            self.kept.push(CaptureProblem {
                kind,
                offset,
                packet_index: self.packets,
            });
        } else {
            self.suppressed += 1;
        }
    }

    /// The problems kept.
    pub(crate) fn kept(&self) -> &[CaptureProblem] {
        &self.kept
    }

    /// Problems not kept because the log was full.
    pub(crate) fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_offset_and_count() {
        let p = CaptureProblem {
            kind: CaptureProblemKind::Truncated {
                needed: 116,
                available: 40,
            },
            offset: 1024,
            packet_index: 3,
        };
        assert_eq!(
            p.to_string(),
            "at byte offset 1024 (after 3 packets): file ends inside a record \
             (116 bytes needed, 40 left); reading stopped"
        );
        assert!(p.kind.ends_reading());
        assert!(!CaptureProblemKind::Resynchronised { skipped: 1 }.ends_reading());
    }

    #[test]
    fn log_is_bounded() {
        let mut log = ProblemLog::new(2);
        for i in 0..5 {
            log.packets = i;
            log.push(
                CaptureProblemKind::UnknownInterface { interface: 9 },
                i * 10,
            );
        }
        assert_eq!(log.kept().len(), 2);
        assert_eq!(log.kept()[1].offset, 10);
        assert_eq!(log.kept()[1].packet_index, 1);
        assert_eq!(log.suppressed(), 3);
    }
}
