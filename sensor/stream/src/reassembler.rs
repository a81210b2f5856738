//! The per-worker reassembler and the per-connection stream state.

use tapwatch_common::Direction;

use crate::buffer::Part;
use crate::half::{Ctx, Half};
use crate::{Segment, StreamConfig, StreamEvent, StreamSink, StreamStats};

/// Both directions of one TCP connection; lives in the flow's per-flow state.
///
/// Out-of-order memory held here is booked in the [`Reassembler`] that handled it: end every
/// connection with [`Reassembler::finish`] or [`Reassembler::discard`] before dropping its
/// `TcpStreams`, or the worker's `in_use_bytes` stays too high.
#[derive(Debug, Default)]
pub struct TcpStreams {
    halves: [Half; 2],
    reset: bool,
    finished: bool,
}

impl TcpStreams {
    /// Data bytes delivered so far in `dir` (gaps not included).
    pub fn delivered(&self, dir: Direction) -> u64 {
        self.half(dir).delivered()
    }

    /// Whether `dir` reached the reassembly depth.
    pub fn depth_reached(&self, dir: Direction) -> bool {
        self.half(dir).depth_reached()
    }

    /// Bytes of `dir` currently buffered out of order.
    pub fn buffered(&self, dir: Direction) -> usize {
        self.half(dir).buffered()
    }

    /// Whether a FIN was seen in `dir`.
    pub fn fin_seen(&self, dir: Direction) -> bool {
        self.half(dir).fin_seen()
    }

    /// The next sequence number expected in `dir`, once the direction has started.
    pub fn next_seq(&self, dir: Direction) -> Option<u32> {
        self.half(dir).next_seq()
    }

    /// Whether the connection was reset (an RST was seen).
    pub fn is_reset(&self) -> bool {
        self.reset
    }

    /// Whether [`Reassembler::finish`] or [`Reassembler::discard`] ended the connection.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn half(&self, dir: Direction) -> &Half {
        let [to_server, to_client] = &self.halves;
        match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }

    fn half_mut(&mut self, dir: Direction) -> &mut Half {
        let [to_server, to_client] = &mut self.halves;
        match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }
}

/// TCP stream reassembly for one worker thread: configuration, out-of-order memory
/// accounting and counters, shared by all the [`TcpStreams`] the worker handles.
///
/// Semantics, per direction:
/// - The stream starts after the SYN's sequence number (a SYN may carry data), or, when
///   the first segment seen has no SYN (midstream pick-up), at that segment's sequence number.
///   Data before that point is never delivered.
/// - In-order data goes from the caller's slice straight to the sink; out-of-order data is
///   copied into a bounded buffer, overlaps among buffered segments resolved by the
///   [`crate::OverlapPolicy`], and delivered as soon as the hole before it is filled.
/// - Delivered data is final: a retransmission is compared with the last
///   [`StreamConfig::compare_window`] bytes delivered and a difference raises
///   [`StreamEvent::ReassemblyOverlapDifferentData`].
/// - A hole is skipped ([`StreamSink::gap`]) when the other side has acknowledged it and
///   data after it was seen (an acknowledgment of data lost from the capture alone declares
///   nothing, as in Suricata), when a per-direction limit is hit, and at
///   [`Reassembler::finish`] or on RST (up to the buffered data, or the FIN).
/// - A FIN ends the direction: data beyond it is ignored ([`StreamEvent::DataAfterFin`]).
/// - An RST (in either direction) flushes both directions as `finish` does; the RST's own
///   payload and any later data are not delivered ([`StreamEvent::SuspectedRstInject`]).
///   The caller validates RSTs (sequence window) before passing them, if it wants to.
/// - Segments more than 1 GiB ahead, and keep-alive probes, are ignored (counted).
#[derive(Debug)]
pub struct Reassembler {
    cfg: StreamConfig,
    stats: StreamStats,
    parts: Vec<Part>,
}

impl Reassembler {
    /// A reassembler with configuration `cfg` and zeroed counters.
    pub fn new(cfg: StreamConfig) -> Self {
        Self {
            cfg,
            stats: StreamStats::default(),
            parts: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StreamConfig {
        &self.cfg
    }

    /// One TCP segment travelling in `dir`. In-order data is delivered to `sink` at once
    /// (before this returns), in sequence order; out-of-order data is buffered (bounded)
    /// until the hole is filled or declared a gap. The segment's acknowledgement number (with
    /// the ACK flag) acknowledges the data of the opposite direction and may declare its holes
    /// gaps.
    pub fn segment(
        &mut self,
        streams: &mut TcpStreams,
        dir: Direction,
        seg: &Segment<'_>,
        sink: &mut impl StreamSink,
    ) {
        self.stats.segments += 1;
        if streams.reset {
            if !seg.payload.is_empty() {
                self.stats.data_after_rst += 1;
                sink.event(dir, StreamEvent::SuspectedRstInject);
            }
            return;
        }
        if streams.finished {
            return;
        }
        let mut ctx = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            parts: &mut self.parts,
            sink,
            dir,
        };
        if seg.has(Segment::RST) {
            for d in [Direction::ToServer, Direction::ToClient] {
                ctx.dir = d;
                streams.half_mut(d).flush(&mut ctx);
            }
            streams.reset = true;
            return;
        }
        // The acknowledgment first, as Suricata does: what the sender had received when it
        // sent this segment comes before what the segment carries, so a request after a
        // hole reaches the parser before the response sent after it.
        if seg.has(Segment::ACK) {
            ctx.dir = dir.reverse();
            streams.half_mut(dir.reverse()).on_ack(&mut ctx, seg.ack);
            ctx.dir = dir;
        }
        let syn = seg.has(Segment::SYN);
        let fin = seg.has(Segment::FIN);
        let half = streams.half_mut(dir);
        half.start(seg.seq, syn);
        if !seg.payload.is_empty() || fin {
            let data_seq = if syn {
                seg.seq.wrapping_add(1)
            } else {
                seg.seq
            };
            half.on_data(&mut ctx, data_seq, fin, seg.payload);
        }
    }

    /// End of the connection: buffered data beyond holes is delivered after `gap` calls;
    /// memory released. Later segments of the connection are ignored.
    pub fn finish(&mut self, streams: &mut TcpStreams, sink: &mut impl StreamSink) {
        if streams.finished {
            return;
        }
        let mut ctx = Ctx {
            cfg: &self.cfg,
            stats: &mut self.stats,
            parts: &mut self.parts,
            sink,
            dir: Direction::ToServer,
        };
        for d in [Direction::ToServer, Direction::ToClient] {
            ctx.dir = d;
            streams.half_mut(d).flush(&mut ctx);
        }
        streams.finished = true;
    }

    /// Ends the connection without delivering anything more (for example when the flow
    /// table evicts it under pressure); memory released.
    pub fn discard(&mut self, streams: &mut TcpStreams) {
        for d in [Direction::ToServer, Direction::ToClient] {
            streams.half_mut(d).close(&mut self.stats);
        }
        streams.finished = true;
    }

    /// The counters.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }
}
