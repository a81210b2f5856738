//! The input (one TCP segment) and the output (a sink) of the reassembler.

use tapwatch_common::{Direction, Timestamp};

use crate::StreamEvent;

/// One TCP segment as the reassembler needs it: plain header values and a borrowed payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Capture time of the packet carrying the segment.
    pub ts: Timestamp,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (meaningful only with [`Segment::ACK`] in `flags`).
    pub ack: u32,
    /// TCP flags byte: [`Segment::FIN`], [`Segment::SYN`], [`Segment::RST`],
    /// [`Segment::PSH`], [`Segment::ACK`] (other bits are ignored).
    pub flags: u8,
    /// TCP payload.
    pub payload: &'a [u8],
}

impl Segment<'_> {
    /// FIN flag bit.
    pub const FIN: u8 = 0x01;
    /// SYN flag bit.
    pub const SYN: u8 = 0x02;
    /// RST flag bit.
    pub const RST: u8 = 0x04;
    /// PSH flag bit.
    pub const PSH: u8 = 0x08;
    /// ACK flag bit.
    pub const ACK: u8 = 0x10;

    /// Whether every bit of `flag` is set in `flags`.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// Receives the reassembled byte stream of both directions of a connection.
///
/// Calls for one direction arrive in stream order: `data` and `gap` together cover the
/// stream from its first byte without overlap.
pub trait StreamSink {
    /// The next `data.len()` bytes of the stream travelling in `dir`.
    fn data(&mut self, dir: Direction, data: &[u8]);
    /// The next `len` bytes of the stream travelling in `dir` were never seen and are skipped.
    fn gap(&mut self, dir: Direction, len: u64);
    /// A notable condition in direction `dir`.
    fn event(&mut self, dir: Direction, event: StreamEvent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits() {
        let seg = Segment {
            ts: Timestamp::default(),
            seq: 0,
            ack: 0,
            flags: Segment::SYN | Segment::ACK,
            payload: &[],
        };
        assert!(seg.has(Segment::SYN));
        assert!(seg.has(Segment::ACK));
        assert!(seg.has(Segment::SYN | Segment::ACK));
        assert!(!seg.has(Segment::FIN));
        assert!(!seg.has(Segment::RST | Segment::SYN));
    }
}
