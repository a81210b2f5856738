//! Reassembly state and logic of one direction of a connection.
//!
//! Positions are kept as 64-bit stream offsets (0 = the first data byte of the direction),
//! so a stream longer than 4 GiB never wraps; sequence numbers are turned into offsets by
//! their signed 32-bit distance from the next expected sequence number, which is correct
//! across the 2^32 wrap.

use tapwatch_common::Direction;

use crate::buffer::{sub, OooBuffer, Part};
use crate::config::Span;
use crate::window::RecentWindow;
use crate::{StreamConfig, StreamEvent, StreamSink, StreamStats};

/// Segments starting more than this far ahead of the next expected byte are ignored: no TCP
/// window (65535 << 14) reaches that far.
const MAX_AHEAD: i64 = 1 << 30;

/// Everything a half-stream operation needs from its reassembler and caller.
pub(crate) struct Ctx<'a, S> {
    pub(crate) cfg: &'a StreamConfig,
    pub(crate) stats: &'a mut StreamStats,
    /// Scratch space for merge plans, reused so in-order overlaps need no allocation.
    pub(crate) parts: &'a mut Vec<Part>,
    pub(crate) sink: &'a mut S,
    pub(crate) dir: Direction,
}

impl<S: StreamSink> Ctx<'_, S> {
    fn event(&mut self, event: StreamEvent) {
        self.sink.event(self.dir, event);
    }

    /// Books `freed` bytes of out-of-order memory as given back.
    fn free(&mut self, freed: usize) {
        self.stats.in_use_bytes = self.stats.in_use_bytes.saturating_sub(freed);
    }
}

/// Why a direction delivers nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    /// Every byte up to its FIN was delivered or skipped.
    Fin,
    /// The reassembly depth was reached.
    Depth,
    /// The connection was reset, finished or discarded.
    Closed,
}

/// The delivery side: where the stream stands and what was recently delivered.
#[derive(Debug, Default)]
struct Out {
    /// Stream offset of the next byte to deliver (data and gaps so far).
    next_off: u64,
    /// Data bytes delivered.
    delivered: u64,
    recent: RecentWindow,
    done: Option<Done>,
    depth_reached: bool,
}

impl Out {
    /// Delivers `data` at `next_off`, cut at the depth.
    fn emit<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>, data: &[u8]) {
        if self.done.is_some() || data.is_empty() {
            return;
        }
        let (data, cut) = match self.room(ctx.cfg) {
            Some(room) if data.len() as u64 > room => (
                data.get(..usize::try_from(room).unwrap_or(0))
                    .unwrap_or_default(),
                true,
            ),
            _ => (data, false),
        };
        if !data.is_empty() {
            ctx.sink.data(ctx.dir, data);
            self.recent
                .push(ctx.cfg.compare_window, self.next_off, data);
            let n = data.len() as u64;
            self.next_off = self.next_off.saturating_add(n);
            self.delivered = self.delivered.saturating_add(n);
            ctx.stats.bytes_delivered = ctx.stats.bytes_delivered.saturating_add(n);
        }
        if cut {
            self.reach_depth(ctx);
        }
    }

    /// Skips `len` bytes never seen, cut at the depth.
    fn gap<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>, len: u64) {
        if self.done.is_some() || len == 0 {
            return;
        }
        let (len, cut) = match self.room(ctx.cfg) {
            Some(room) if len > room => (room, true),
            _ => (len, false),
        };
        if len > 0 {
            ctx.sink.gap(ctx.dir, len);
            ctx.stats.gaps += 1;
            ctx.stats.gap_bytes = ctx.stats.gap_bytes.saturating_add(len);
            ctx.event(StreamEvent::ReassemblySeqGap);
            self.next_off = self.next_off.saturating_add(len);
        }
        if cut {
            self.reach_depth(ctx);
        }
    }

    /// Bytes left before the depth, `None` when unlimited.
    fn room(&self, cfg: &StreamConfig) -> Option<u64> {
        (cfg.depth > 0).then(|| cfg.depth.saturating_sub(self.next_off))
    }

    fn reach_depth<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>) {
        self.depth_reached = true;
        self.done = Some(Done::Depth);
        ctx.stats.depth_reached += 1;
        ctx.event(StreamEvent::ReassemblyDepthReached);
    }
}

/// One direction of a connection.
#[derive(Debug, Default)]
pub(crate) struct Half {
    /// Whether the base sequence number is known.
    init: bool,
    /// Sequence number of stream offset 0.
    base_seq: u32,
    /// Stream offset of the FIN (one past the last data byte), once seen.
    fin_off: Option<u64>,
    /// Stream offset up to which the other side acknowledged (0 until an ACK past the
    /// start), capped at the FIN.
    acked_off: u64,
    out: Out,
    buf: OooBuffer,
}

impl Half {
    /// Data bytes delivered.
    pub(crate) fn delivered(&self) -> u64 {
        self.out.delivered
    }

    /// Whether the depth was reached.
    pub(crate) fn depth_reached(&self) -> bool {
        self.out.depth_reached
    }

    /// Bytes buffered out of order.
    pub(crate) fn buffered(&self) -> usize {
        self.buf.bytes()
    }

    /// Whether a FIN was seen.
    pub(crate) fn fin_seen(&self) -> bool {
        self.fin_off.is_some()
    }

    /// The next sequence number expected, once the direction has started.
    pub(crate) fn next_seq(&self) -> Option<u32> {
        // Truncation to 32 bits is the sequence-number wrap.
        self.init
            .then(|| self.base_seq.wrapping_add(self.out.next_off as u32))
    }

    /// Starts the direction at a SYN (data at `seq + 1`) or midstream (data at `seq`).
    pub(crate) fn start(&mut self, seq: u32, syn: bool) {
        if !self.init {
            self.init = true;
            self.base_seq = if syn { seq.wrapping_add(1) } else { seq };
        }
    }

    /// Signed distance of `seq` from the next expected sequence number.
    fn rel(&self, seq: u32) -> i64 {
        let next = self.base_seq.wrapping_add(self.out.next_off as u32);
        i64::from(seq.wrapping_sub(next) as i32)
    }

    /// Data (and/or a FIN) of a segment whose first data byte has sequence number `seq`.
    pub(crate) fn on_data<S: StreamSink>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        seq: u32,
        fin: bool,
        payload: &[u8],
    ) {
        let mut rel = self.rel(seq);
        if self.out.done.is_none() && rel > 0 && rel <= MAX_AHEAD && !payload.is_empty() {
            // Data after a hole the receiver already acknowledged: the hole is lost. It is
            // skipped first so that the data goes straight through, not through the buffer.
            let start = self.out.next_off.saturating_add(rel.unsigned_abs());
            if start <= self.acked_off {
                self.skip_holes(ctx, Some(start), true);
                rel = self.rel(seq);
            }
        }
        if let Some(done) = self.out.done {
            self.after_done(ctx, done, rel, payload.len());
            return;
        }
        if payload.len() <= 1 && rel == -1 && !fin {
            ctx.stats.keepalives += 1;
            return;
        }
        if rel > MAX_AHEAD {
            ctx.stats.out_of_window += 1;
            return;
        }
        let next = i128::from(self.out.next_off);
        let start = next + i128::from(rel);
        let end = start + payload.len() as i128;
        if fin {
            self.set_fin(ctx, end);
        }
        let mut end_clip = end;
        if let Some(f) = self.fin_off.map(i128::from) {
            if end > f {
                ctx.stats.data_after_fin += 1;
                ctx.event(StreamEvent::DataAfterFin);
                end_clip = f.max(start);
            }
        }
        let mut overlapped = false;
        let mut differs = false;
        // Already delivered (or skipped) part; bytes before the stream's start are ignored.
        let old_start = start.max(0);
        let old_end = end_clip.min(next);
        if old_start < old_end {
            let old = slice(payload, start, old_start, old_end);
            let cmp = self.out.recent.compare(offset(old_start), old);
            overlapped |= cmp.known > 0;
            differs |= cmp.differs;
            if cmp.known < old.len() && ctx.cfg.compare_window > 0 {
                ctx.event(StreamEvent::ReassemblySegmentBeforeBaseSeq);
            }
        }
        if end_clip <= next {
            if !payload.is_empty() && end <= next {
                ctx.stats.retransmitted += 1;
                ctx.event(StreamEvent::PktRetransmission);
            }
        } else {
            let new_start = start.max(next);
            let new = slice(payload, start, new_start, end_clip);
            let origin = Span {
                start: offset(start),
                end: offset(end),
            };
            let (o, d) = self.insert(ctx, offset(new_start), new, origin);
            overlapped |= o;
            differs |= d;
        }
        if overlapped {
            ctx.stats.overlaps += 1;
        }
        if differs {
            ctx.stats.overlaps_different_data += 1;
            ctx.event(StreamEvent::ReassemblyOverlapDifferentData);
        }
        // Data beyond a hole the receiver already acknowledged: the hole is lost.
        self.skip_acked_holes(ctx);
    }

    /// A segment for a direction that delivers nothing more: only counted.
    fn after_done<S: StreamSink>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        done: Done,
        rel: i64,
        len: usize,
    ) {
        if len == 0 {
            return;
        }
        match done {
            Done::Fin if rel + len as i64 > 0 && rel <= MAX_AHEAD => {
                ctx.stats.data_after_fin += 1;
                ctx.event(StreamEvent::DataAfterFin);
            }
            Done::Fin => ctx.stats.retransmitted += 1,
            Done::Depth | Done::Closed => {}
        }
    }

    /// Records the FIN at stream offset `end` (first FIN wins) and drops buffered data
    /// beyond it.
    fn set_fin<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>, end: i128) {
        if self.fin_off.is_some() || end < i128::from(self.out.next_off) {
            return;
        }
        let fin = offset(end);
        self.fin_off = Some(fin);
        let dropped = self.buf.truncate_from(fin);
        if dropped > 0 {
            ctx.free(dropped);
            ctx.stats.data_after_fin += 1;
            ctx.event(StreamEvent::DataAfterFin);
        }
    }

    /// Delivers or buffers `new` (at offset `new_start >= next_off`). Returns whether it
    /// overlapped buffered data and whether any overlapping byte differed.
    fn insert<S: StreamSink>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        new_start: u64,
        new: &[u8],
        origin: Span,
    ) -> (bool, bool) {
        let new_end = new_start.saturating_add(new.len() as u64);
        // Each pass either finishes or declares a gap that removes at least one piece or
        // makes the segment in-order; the bound only guards against a broken invariant.
        for _ in 0..=self.buf.len().saturating_add(1) {
            if self.out.done.is_some() {
                break;
            }
            let next = self.out.next_off;
            let start = new_start.max(next);
            let data = sub(new, new_start, start, new_end);
            if data.is_empty() {
                break;
            }
            if start == next {
                return self.in_order(ctx, start, data, origin);
            }
            let mut parts = std::mem::take(ctx.parts);
            let plan = self
                .buf
                .plan(start, data, origin, ctx.cfg.overlap_policy, &mut parts);
            let over = self.buf.len_after(&plan, &parts) > ctx.cfg.max_segments_per_direction
                || self.buf.bytes().saturating_add(plan.added) > ctx.cfg.max_buffered_per_direction;
            if over {
                *ctx.parts = parts;
                let upto = self.buf.first_start().map_or(start, |f| f.min(start));
                ctx.stats.limit_gaps += 1;
                ctx.event(StreamEvent::ReassemblyInsertLimit);
                self.out.gap(ctx, upto.saturating_sub(next));
                self.drain(ctx);
                continue;
            }
            if ctx.stats.in_use_bytes.saturating_add(plan.added) > ctx.cfg.memcap {
                *ctx.parts = parts;
                ctx.stats.memcap_drops += 1;
                ctx.event(StreamEvent::ReassemblyInsertMemcap);
                return (false, false);
            }
            let before = self.buf.bytes();
            self.buf.commit(&plan, start, data, &parts);
            *ctx.parts = parts;
            ctx.stats.in_use_bytes = ctx
                .stats
                .in_use_bytes
                .saturating_sub(before)
                .saturating_add(self.buf.bytes());
            ctx.stats.out_of_order += 1;
            return (plan.overlap > 0, plan.differs);
        }
        (false, false)
    }

    /// Delivers `data`, which starts at the next offset, merging it with any buffered
    /// pieces it overlaps, then whatever buffered data has become contiguous.
    fn in_order<S: StreamSink>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        start: u64,
        data: &[u8],
        origin: Span,
    ) -> (bool, bool) {
        let end = start.saturating_add(data.len() as u64);
        let mut result = (false, false);
        if self.buf.overlaps(start, end) {
            let mut parts = std::mem::take(ctx.parts);
            let plan = self
                .buf
                .plan(start, data, origin, ctx.cfg.overlap_policy, &mut parts);
            for part in &parts {
                self.out.emit(ctx, self.buf.part_bytes(part, start, data));
            }
            *ctx.parts = parts;
            let freed = self.buf.remove(plan.first, plan.last);
            ctx.free(freed);
            result = (plan.overlap > 0, plan.differs);
        } else {
            self.out.emit(ctx, data);
        }
        self.drain(ctx);
        result
    }

    /// Delivers buffered pieces that have become contiguous with the next offset.
    fn drain<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>) {
        while self.out.done.is_none() {
            let next = self.out.next_off;
            let Some(piece) = self.buf.pop_front_at(next) else {
                break;
            };
            ctx.free(piece.data.len());
            self.out
                .emit(ctx, sub(&piece.data, piece.start, next, piece.end()));
        }
        self.settle(ctx);
    }

    /// Marks the direction complete once its FIN is reached, and releases all memory of a
    /// direction that delivers nothing more.
    fn settle<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>) {
        if self.out.done.is_none() && self.fin_off == Some(self.out.next_off) {
            self.out.done = Some(Done::Fin);
        }
        if self.out.done.is_some() {
            let freed = self.buf.clear();
            ctx.free(freed);
            self.out.recent.release();
        }
    }

    /// An acknowledgement from the other side: the receiver holds every byte before `ack`,
    /// so holes before it will never be filled and are skipped.
    ///
    /// As in Suricata, a hole is skipped only once data after it was seen: an
    /// acknowledgment beyond everything seen (the segments after the hole were lost from the
    /// capture too) declares nothing until such data arrives ([`Half::on_data`] then skips
    /// the acknowledged hole at once) or the connection ends. A parser thus never gets a
    /// gap at the end of what it was given, only one followed by data.
    pub(crate) fn on_ack<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>, ack: u32) {
        if !self.init || self.out.done.is_some() {
            return;
        }
        let rel = self.rel(ack);
        if rel <= 0 || rel > MAX_AHEAD {
            return;
        }
        let mut target = self.out.next_off.saturating_add(rel.unsigned_abs());
        if let Some(f) = self.fin_off {
            target = target.min(f);
        }
        self.acked_off = self.acked_off.max(target);
        self.skip_acked_holes(ctx);
    }

    /// Skips the acknowledged holes that have buffered data after them.
    fn skip_acked_holes<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>) {
        if self.acked_off > self.out.next_off {
            self.skip_holes(ctx, Some(self.acked_off), false);
        } else {
            self.settle(ctx);
        }
    }

    /// Declares holes a gap and delivers the data after each: every hole before buffered
    /// data that starts before `target` (any buffered data when `None`), and, with
    /// `trailing`, the hole between the last buffered data and `target`.
    fn skip_holes<S: StreamSink>(
        &mut self,
        ctx: &mut Ctx<'_, S>,
        target: Option<u64>,
        trailing: bool,
    ) {
        for _ in 0..=self.buf.len() {
            let next = self.out.next_off;
            if self.out.done.is_some() || target.is_some_and(|t| next >= t) {
                break;
            }
            let hole_end = match (self.buf.first_start(), target) {
                (Some(f), Some(t)) => f.min(t),
                (Some(f), None) => f,
                (None, Some(t)) if trailing => t,
                (None, _) => break,
            };
            self.out.gap(ctx, hole_end.saturating_sub(next));
            self.drain(ctx);
        }
        self.settle(ctx);
    }

    /// End of the connection: delivers everything buffered after gaps, then releases all
    /// memory. Nothing is delivered afterwards. A hole after the last data (before a FIN, or
    /// acknowledged) is not declared: no data follows it, and Suricata does not declare it
    /// either.
    pub(crate) fn flush<S: StreamSink>(&mut self, ctx: &mut Ctx<'_, S>) {
        if self.init {
            self.skip_holes(ctx, None, false);
        }
        self.close(ctx.stats);
    }

    /// Releases all memory without delivering anything; nothing is delivered afterwards.
    pub(crate) fn close(&mut self, stats: &mut StreamStats) {
        let freed = self.buf.clear();
        stats.in_use_bytes = stats.in_use_bytes.saturating_sub(freed);
        self.out.recent.release();
        if self.out.done.is_none() {
            self.out.done = Some(Done::Closed);
        }
    }
}

/// A non-negative stream offset from the signed arithmetic above (negatives become 0).
fn offset(v: i128) -> u64 {
    u64::try_from(v.max(0)).unwrap_or(u64::MAX)
}

/// The bytes of `payload` (starting at offset `base`) between offsets `from` and `to`.
fn slice(payload: &[u8], base: i128, from: i128, to: i128) -> &[u8] {
    let a = usize::try_from(from - base).unwrap_or(usize::MAX);
    let b = usize::try_from(to - base).unwrap_or(0);
    payload.get(a..b).unwrap_or_default()
}
