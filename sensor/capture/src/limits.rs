//! Bounds on what a reader buffers, keeps and scans.

/// Limits of one [`crate::CaptureReader`]. Every buffer and table of the reader is bounded by
/// these; [`Default`] gives values suited to ordinary captures.
///
/// The reader allocates one input buffer of about `resync_window + 2 * (max_record_len +
/// 64 KiB)` bytes; to keep that sane, `max_record_len` is clamped to 64 bytes..16 MiB and
/// `resync_window` to 64 MiB when a reader is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderLimits {
    /// Largest captured length accepted for one packet (default 262,144, libpcap's maximum
    /// snapshot length). Larger records are treated as corrupt.
    pub max_record_len: u32,
    /// How far past a corrupt record or block the reader looks for a plausible next one
    /// (default 1 MiB).
    pub resync_window: u32,
    /// Problems kept for [`crate::CaptureReader::problems`] (default 1,024); later ones
    /// are only counted.
    pub max_problems: usize,
    /// Interfaces kept per pcapng section (default 1,024).
    pub max_interfaces: u32,
    /// Largest non-packet pcapng block (name resolution, statistics, secrets, custom) skipped
    /// unread (default 64 MiB). Larger ones are treated as corrupt.
    pub max_skipped_block_len: u32,
}

impl Default for ReaderLimits {
    fn default() -> Self {
        Self {
            max_record_len: 262_144,
            resync_window: 1 << 20,
            max_problems: 1_024,
            max_interfaces: 1_024,
            max_skipped_block_len: 64 << 20,
        }
    }
}

/// Room for a pcapng packet block's header fields and options beyond its packet data.
pub(crate) const BLOCK_OVERHEAD: u32 = 64 * 1024;

/// Bounds applied to [`ReaderLimits::max_record_len`].
const RECORD_LEN_RANGE: (u32, u32) = (64, 16 << 20);
/// Upper bound applied to [`ReaderLimits::resync_window`].
const MAX_RESYNC_WINDOW: u32 = 64 << 20;

impl ReaderLimits {
    /// These limits with the buffer-sizing ones clamped to what the reader supports.
    pub(crate) fn clamped(self) -> Self {
        Self {
            max_record_len: self
                .max_record_len
                .clamp(RECORD_LEN_RANGE.0, RECORD_LEN_RANGE.1),
            resync_window: self.resync_window.min(MAX_RESYNC_WINDOW),
            ..self
        }
    }

    /// The largest pcapng block read whole into the buffer.
    pub(crate) fn max_block_len(&self) -> u32 {
        self.max_record_len.saturating_add(BLOCK_OVERHEAD)
    }

    /// The input buffer size: a resync window plus two of the largest records or blocks, so
    /// that a resync candidate and the record after it can be checked in place.
    pub(crate) fn buffer_len(&self) -> usize {
        let block = self.max_block_len() as usize;
        (self.resync_window as usize)
            .saturating_add(block.saturating_mul(2))
            .saturating_add(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_holds_window_and_two_blocks() {
        let l = ReaderLimits::default();
        assert_eq!(l.max_block_len(), 262_144 + 65_536);
        assert_eq!(l.buffer_len(), (1 << 20) + 2 * (262_144 + 65_536) + 64);
        assert_eq!(l.clamped(), l);
    }

    #[test]
    fn clamps_buffer_sizing_limits() {
        let l = ReaderLimits {
            max_record_len: u32::MAX,
            resync_window: u32::MAX,
            ..ReaderLimits::default()
        }
        .clamped();
        assert_eq!((l.max_record_len, l.resync_window), (16 << 20, 64 << 20));
        let l = ReaderLimits {
            max_record_len: 0,
            ..ReaderLimits::default()
        };
        assert_eq!(l.clamped().max_record_len, 64);
    }
}
