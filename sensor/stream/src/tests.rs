//! Behaviour tests of the reassembler as a whole, with segments built in the tests.

use proptest::prelude::*;
use tapwatch_common::{Direction, Timestamp};

use crate::{
    OverlapPolicy, Reassembler, Segment, StreamConfig, StreamEvent, StreamSink, TcpStreams,
};

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;
const ACK: u8 = Segment::ACK;
const SYN: u8 = Segment::SYN;
const FIN: u8 = Segment::FIN;
const RST: u8 = Segment::RST;

/// What the sink received, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Got {
    Data(Direction, Vec<u8>),
    Gap(Direction, u64),
    Event(Direction, StreamEvent),
}

#[derive(Debug, Default)]
struct Sink {
    got: Vec<Got>,
}

impl StreamSink for Sink {
    fn data(&mut self, dir: Direction, data: &[u8]) {
        self.got.push(Got::Data(dir, data.to_vec()));
    }
    fn gap(&mut self, dir: Direction, len: u64) {
        self.got.push(Got::Gap(dir, len));
    }
    fn event(&mut self, dir: Direction, event: StreamEvent) {
        self.got.push(Got::Event(dir, event));
    }
}

impl Sink {
    /// The stream of `dir` with each gap shown as that many `?` bytes.
    fn stream(&self, dir: Direction) -> Vec<u8> {
        let mut out = Vec::new();
        for g in &self.got {
            match g {
                Got::Data(d, bytes) if *d == dir => out.extend_from_slice(bytes),
                Got::Gap(d, len) if *d == dir => {
                    out.extend(std::iter::repeat_n(b'?', *len as usize))
                }
                _ => {}
            }
        }
        out
    }

    fn gaps(&self, dir: Direction) -> Vec<u64> {
        self.got
            .iter()
            .filter_map(|g| match g {
                Got::Gap(d, len) if *d == dir => Some(*len),
                _ => None,
            })
            .collect()
    }

    fn events(&self, dir: Direction) -> Vec<StreamEvent> {
        self.got
            .iter()
            .filter_map(|g| match g {
                Got::Event(d, e) if *d == dir => Some(*e),
                _ => None,
            })
            .collect()
    }
}

/// A connection under test: reassembler, streams and sink together.
struct Conn {
    r: Reassembler,
    s: TcpStreams,
    sink: Sink,
}

impl Conn {
    fn new(cfg: StreamConfig) -> Self {
        Self {
            r: Reassembler::new(cfg),
            s: TcpStreams::default(),
            sink: Sink::default(),
        }
    }

    fn seg(&mut self, dir: Direction, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        let seg = Segment {
            ts: Timestamp::new(1, 0),
            seq,
            ack,
            flags,
            payload,
        };
        self.r.segment(&mut self.s, dir, &seg, &mut self.sink);
    }

    /// Client data (ACK flag with ack 0 is ignored by the unstarted server side).
    fn data(&mut self, seq: u32, payload: &[u8]) {
        self.seg(C2S, seq, 0, 0, payload);
    }

    fn finish(&mut self) {
        self.r.finish(&mut self.s, &mut self.sink);
    }
}

fn cfg() -> StreamConfig {
    StreamConfig::default()
}

fn with_policy(policy: OverlapPolicy) -> StreamConfig {
    StreamConfig {
        overlap_policy: policy,
        ..StreamConfig::default()
    }
}

/// A connection whose client side started with a SYN at `isn` (data at `isn + 1`).
fn opened(cfg: StreamConfig, isn: u32) -> Conn {
    let mut c = Conn::new(cfg);
    c.seg(C2S, isn, 0, SYN, b"");
    c
}

#[test]
fn handshake_and_in_order_data_are_delivered_at_once() {
    let mut c = Conn::new(cfg());
    c.seg(C2S, 100, 0, SYN, b"");
    c.seg(S2C, 5000, 101, SYN | ACK, b"");
    c.seg(C2S, 101, 5001, ACK, b"");
    c.seg(C2S, 101, 5001, ACK, b"GET / HTTP/1.1\r\n");
    assert_eq!(c.sink.stream(C2S), b"GET / HTTP/1.1\r\n");
    c.seg(S2C, 5001, 117, ACK, b"HTTP/1.1 200 OK\r\n");
    assert_eq!(c.sink.stream(S2C), b"HTTP/1.1 200 OK\r\n");
    c.seg(C2S, 117, 5018, ACK, b"more");
    assert_eq!(c.sink.stream(C2S), b"GET / HTTP/1.1\r\nmore");
    assert_eq!(c.s.delivered(C2S), 20);
    assert_eq!(c.s.delivered(S2C), 17);
    assert_eq!(c.s.next_seq(C2S), Some(121));
    assert_eq!(c.r.stats().bytes_delivered, 37);
    assert_eq!(c.r.stats().segments, 6);
    assert_eq!(c.r.stats().out_of_order, 0);
    assert!(c.sink.events(C2S).is_empty());
    assert!(c.sink.events(S2C).is_empty());
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn every_order_of_four_segments_reassembles() {
    let pieces: [(u32, &[u8]); 4] = [(1, b"abc"), (4, b"defg"), (8, b"h"), (9, b"ijklm")];
    let perms = permutations(4);
    assert_eq!(perms.len(), 24);
    for perm in perms {
        let mut c = opened(cfg(), 1000);
        for &i in &perm {
            let (off, bytes) = pieces[i];
            c.data(1000 + off, bytes);
        }
        assert_eq!(c.sink.stream(C2S), b"abcdefghijklm", "{perm:?}");
        assert!(c.sink.gaps(C2S).is_empty());
        assert!(c.sink.events(C2S).is_empty(), "{perm:?}");
        assert_eq!(c.r.stats().in_use_bytes, 0);
        assert_eq!(c.s.buffered(C2S), 0);
    }
}

#[test]
fn out_of_order_data_waits_for_the_hole() {
    let mut c = opened(cfg(), 0);
    c.data(4, b"def");
    assert_eq!(c.sink.stream(C2S), b"");
    assert_eq!(c.s.buffered(C2S), 3);
    assert_eq!(c.r.stats().in_use_bytes, 3);
    c.data(1, b"abc");
    assert_eq!(c.sink.stream(C2S), b"abcdef");
    assert_eq!(c.r.stats().in_use_bytes, 0);
    assert_eq!(c.r.stats().out_of_order, 1);
}

#[test]
fn sequence_numbers_wrap_at_two_to_the_32() {
    let isn = u32::MAX - 4; // data starts at 2^32 - 3
    let mut c = opened(cfg(), isn);
    c.data(2, b"CDEF"); // offsets 6..10, after the wrap
    c.data(u32::MAX, b"BBB"); // offsets 3..6, straddles the wrap
    c.data(isn.wrapping_add(1), b"AAA"); // offsets 0..3
    assert_eq!(c.sink.stream(C2S), b"AAABBBCDEF");
    assert_eq!(c.s.next_seq(C2S), Some(6));
    // A retransmission from before the wrap is old data, not far-future data.
    c.data(u32::MAX - 3, b"AAA");
    assert_eq!(c.sink.stream(C2S), b"AAABBBCDEF");
    assert_eq!(c.r.stats().retransmitted, 1);
    // An ACK across the wrap acknowledges missing bytes, skipped when data follows them.
    c.seg(S2C, 77, 20, ACK, b"");
    c.data(20, b"X");
    assert_eq!(c.sink.gaps(C2S), vec![14]);
    assert_eq!(c.s.next_seq(C2S), Some(21));
}

#[test]
fn syn_with_data_is_delivered() {
    let mut c = Conn::new(cfg());
    c.seg(C2S, 50, 0, SYN, b"fast-open");
    assert_eq!(c.sink.stream(C2S), b"fast-open");
    c.data(60, b"!");
    assert_eq!(c.sink.stream(C2S), b"fast-open!");
    // The SYN retransmitted with the same data changes nothing.
    c.seg(C2S, 50, 0, SYN, b"fast-open");
    assert_eq!(c.sink.stream(C2S), b"fast-open!");
}

#[test]
fn midstream_pick_up_starts_at_first_segment() {
    let mut c = Conn::new(cfg());
    c.seg(S2C, 9000, 0, ACK, b"world");
    c.seg(S2C, 8995, 0, ACK, b"hello"); // before the pick-up point: never delivered
    c.seg(S2C, 9005, 0, ACK, b"!");
    assert_eq!(c.sink.stream(S2C), b"world!");
    assert_eq!(c.s.next_seq(S2C), Some(9006));
}

#[test]
fn retransmission_of_delivered_data_is_compared() {
    let mut c = opened(cfg(), 0);
    c.data(1, b"hello world");
    c.data(1, b"hello");
    assert_eq!(c.sink.events(C2S), vec![StreamEvent::PktRetransmission]);
    assert_eq!(c.r.stats().overlaps, 1);
    assert_eq!(c.r.stats().overlaps_different_data, 0);
    c.data(7, b"WORLD");
    assert_eq!(
        c.sink.events(C2S),
        vec![
            StreamEvent::PktRetransmission,
            StreamEvent::PktRetransmission,
            StreamEvent::ReassemblyOverlapDifferentData
        ]
    );
    // Partly old, partly new: only the new part is delivered.
    c.data(10, b"ld and more");
    assert_eq!(c.sink.stream(C2S), b"hello world and more");
    assert_eq!(c.r.stats().retransmitted, 2);
    assert_eq!(c.r.stats().overlaps, 3);
    assert_eq!(c.r.stats().overlaps_different_data, 1);
}

#[test]
fn retransmission_older_than_the_window_is_reported() {
    let config = StreamConfig {
        compare_window: 4,
        ..cfg()
    };
    let mut c = opened(config, 0);
    c.data(1, b"abcdefgh");
    c.data(1, b"ab");
    assert_eq!(
        c.sink.events(C2S),
        vec![
            StreamEvent::ReassemblySegmentBeforeBaseSeq,
            StreamEvent::PktRetransmission
        ]
    );
    assert_eq!(c.r.stats().overlaps, 0);
}

#[test]
fn keepalive_is_ignored() {
    let mut c = opened(cfg(), 0);
    c.data(1, b"abc");
    c.data(3, b"\0");
    assert!(c.sink.events(C2S).is_empty());
    assert_eq!(c.r.stats().keepalives, 1);
    assert_eq!(c.r.stats().overlaps, 0);
}

/// Buffers "AAAAAAAAAA" at offsets 10..20 and "BBBBBBBBBB" at 5..15, then fills 0..5.
fn conflicting_buffered(policy: OverlapPolicy) -> Conn {
    let mut c = opened(with_policy(policy), 0);
    c.data(11, b"AAAAAAAAAA");
    c.data(6, b"BBBBBBBBBB");
    c.data(1, b"01234");
    c
}

#[test]
fn overlap_policies_decide_which_buffered_bytes_win() {
    for (policy, want) in [
        (OverlapPolicy::First, &b"01234BBBBBAAAAAAAAAA"[..]),
        (OverlapPolicy::Windows, b"01234BBBBBAAAAAAAAAA"),
        (OverlapPolicy::Solaris, b"01234BBBBBAAAAAAAAAA"),
        (OverlapPolicy::Last, b"01234BBBBBBBBBBAAAAA"),
        (OverlapPolicy::Bsd, b"01234BBBBBBBBBBAAAAA"),
        (OverlapPolicy::Linux, b"01234BBBBBBBBBBAAAAA"),
    ] {
        let c = conflicting_buffered(policy);
        assert_eq!(c.sink.stream(C2S), want, "{policy:?}");
        assert_eq!(
            c.sink.events(C2S),
            vec![StreamEvent::ReassemblyOverlapDifferentData]
        );
        assert_eq!(c.r.stats().overlaps_different_data, 1);
        assert_eq!(c.r.stats().in_use_bytes, 0);
    }
}

#[test]
fn overlap_at_same_start_separates_linux_from_bsd() {
    // Old 10..15 "AAAAA", new 10..20 "BBBBBBBBBB": same start, new longer.
    for (policy, want) in [
        (OverlapPolicy::Bsd, &b"0123456789AAAAABBBBB"[..]),
        (OverlapPolicy::Linux, b"0123456789BBBBBBBBBB"),
        (OverlapPolicy::Last, b"0123456789BBBBBBBBBB"),
        (OverlapPolicy::Solaris, b"0123456789AAAAABBBBB"),
    ] {
        let mut c = opened(with_policy(policy), 0);
        c.data(11, b"AAAAA");
        c.data(11, b"BBBBBBBBBB");
        c.data(1, b"0123456789");
        assert_eq!(c.sink.stream(C2S), want, "{policy:?}");
    }
}

#[test]
fn solaris_new_segment_covering_old_wins() {
    // Old 10..15, new 8..18 starts before and covers it.
    let mut c = opened(with_policy(OverlapPolicy::Solaris), 0);
    c.data(11, b"AAAAA");
    c.data(9, b"BBBBBBBBBB");
    c.data(1, b"01234567");
    assert_eq!(c.sink.stream(C2S), b"01234567BBBBBBBBBB");
}

#[test]
fn in_order_segment_overlapping_buffered_data_follows_policy() {
    for (policy, want) in [
        (OverlapPolicy::Bsd, &b"BBBBBBBBBBBBBBBAAAAA"[..]),
        (OverlapPolicy::First, b"BBBBBBBBBBAAAAAAAAAA"),
    ] {
        let mut c = opened(with_policy(policy), 0);
        c.data(11, b"AAAAAAAAAA");
        c.data(1, b"BBBBBBBBBBBBBBB");
        assert_eq!(c.sink.stream(C2S), want, "{policy:?}");
        assert_eq!(
            c.sink.events(C2S),
            vec![StreamEvent::ReassemblyOverlapDifferentData]
        );
        assert_eq!(c.r.stats().in_use_bytes, 0);
    }
}

#[test]
fn ack_beyond_hole_declares_gap_and_data_resumes() {
    let mut c = opened(cfg(), 0);
    c.seg(S2C, 500, 1, SYN | ACK, b"");
    c.data(1, b"abc");
    c.data(8, b"hij"); // hole at offsets 3..7
    assert_eq!(c.sink.stream(C2S), b"abc");
    c.seg(S2C, 501, 6, ACK, b""); // server got up to offset 5: hole 3..5 skipped, still waiting
    assert_eq!(c.sink.gaps(C2S), vec![2]);
    assert_eq!(c.sink.stream(C2S), b"abc??");
    c.seg(S2C, 501, 11, ACK, b""); // everything acknowledged
    assert_eq!(c.sink.stream(C2S), b"abc????hij");
    assert_eq!(c.sink.gaps(C2S), vec![2, 2]);
    c.data(11, b"klm");
    assert_eq!(c.sink.stream(C2S), b"abc????hijklm");
    assert_eq!(c.r.stats().gaps, 2);
    assert_eq!(c.r.stats().gap_bytes, 4);
    assert_eq!(c.s.delivered(C2S), 9);
    assert_eq!(
        c.sink.events(C2S),
        vec![StreamEvent::ReassemblySeqGap, StreamEvent::ReassemblySeqGap]
    );
}

#[test]
fn ack_beyond_everything_seen_waits_for_data_after_the_hole() {
    let mut c = opened(cfg(), 0);
    c.seg(S2C, 500, 1, SYN | ACK, b"");
    c.data(1, b"abc"); // offsets 0..3
                       // The segments at offsets 3..10 were lost from the capture; the server acknowledges
                       // them. Nothing after the hole was seen: no gap yet (as in Suricata).
    c.seg(S2C, 501, 11, ACK, b"");
    assert!(c.sink.gaps(C2S).is_empty());
    assert_eq!(c.s.next_seq(C2S), Some(4));
    // Data after the acknowledged hole: the gap, then the data, at once and unbuffered.
    c.data(11, b"nop");
    assert_eq!(c.sink.stream(C2S), b"abc???????nop");
    assert_eq!(c.sink.gaps(C2S), vec![7]);
    assert_eq!(c.r.stats().out_of_order, 0);
    // Data after a later hole, before the acknowledged point, is handled the same way.
    c.seg(S2C, 501, 40, ACK, b"");
    c.data(20, b"tu");
    assert_eq!(c.sink.gaps(C2S), vec![7, 6]);
    assert_eq!(c.sink.stream(C2S), b"abc???????nop??????tu");
    assert_eq!(c.r.stats().out_of_order, 0);
    // Data beyond the acknowledged point waits in the buffer for its ACK; now that data
    // follows it, the acknowledged part of the hole (offsets 21..39) is skipped.
    c.data(45, b"xy"); // offsets 44..46
    assert_eq!(c.sink.gaps(C2S), vec![7, 6, 18]);
    c.data(50, b"zz"); // offsets 49..51
    assert_eq!(c.s.buffered(C2S), 4);
    c.seg(S2C, 501, 60, ACK, b"");
    assert_eq!(c.sink.gaps(C2S), vec![7, 6, 18, 5, 3]);
    assert_eq!(c.s.buffered(C2S), 0);
    assert_eq!(c.s.next_seq(C2S), Some(52));
    // The trailing hole up to ack 60 is left alone, at the end of the connection too.
    c.finish();
    assert_eq!(c.sink.gaps(C2S), vec![7, 6, 18, 5, 3]);
    assert_eq!(c.sink.stream(C2S).len(), 51);
}

#[test]
fn segment_limit_forces_gap() {
    let config = StreamConfig {
        max_segments_per_direction: 2,
        ..cfg()
    };
    let mut c = opened(config, 0);
    c.data(1, b"a");
    c.data(3, b"c");
    c.data(5, b"e");
    c.data(7, b"g"); // third piece: the first hole is skipped
    assert_eq!(c.sink.stream(C2S), b"a?c");
    assert_eq!(c.s.buffered(C2S), 2);
    assert_eq!(
        c.sink.events(C2S),
        vec![
            StreamEvent::ReassemblyInsertLimit,
            StreamEvent::ReassemblySeqGap
        ]
    );
    assert_eq!(c.r.stats().limit_gaps, 1);
}

#[test]
fn buffer_limit_forces_gap_and_oversized_segment_goes_through() {
    let config = StreamConfig {
        max_buffered_per_direction: 4,
        ..cfg()
    };
    let mut c = opened(config, 0);
    c.data(5, b"efg");
    c.data(10, b"jk"); // 5 bytes > 4: skip to "efg"
    assert_eq!(c.sink.stream(C2S), b"????efg");
    assert_eq!(c.s.buffered(C2S), 2);
    // A segment larger than the whole buffer, out of order, after a flush is in order.
    c.data(20, b"0123456789");
    assert_eq!(c.sink.stream(C2S), b"????efg??jk????????0123456789");
    assert_eq!(c.r.stats().in_use_bytes, 0);
}

#[test]
fn memcap_drops_segment_and_gap_follows_at_finish() {
    let config = StreamConfig { memcap: 5, ..cfg() };
    let mut c = opened(config, 0);
    c.data(1, b"ab");
    c.data(5, b"efgh"); // buffered: 4
    c.data(11, b"klmn"); // would need 8 > 5: dropped
    assert_eq!(c.r.stats().memcap_drops, 1);
    assert_eq!(c.r.stats().in_use_bytes, 4);
    assert_eq!(
        c.sink.events(C2S),
        vec![StreamEvent::ReassemblyInsertMemcap]
    );
    c.data(3, b"cd");
    assert_eq!(c.sink.stream(C2S), b"abcdefgh");
    c.seg(C2S, 13, 0, FIN, b"mn");
    c.finish();
    assert_eq!(c.sink.stream(C2S), b"abcdefgh????mn");
    assert_eq!(c.r.stats().in_use_bytes, 0);
}

#[test]
fn memcap_is_shared_by_connections_of_a_worker() {
    let mut r = Reassembler::new(StreamConfig { memcap: 6, ..cfg() });
    let mut a = TcpStreams::default();
    let mut b = TcpStreams::default();
    let mut sink = Sink::default();
    let seg = |seq, payload| Segment {
        ts: Timestamp::default(),
        seq,
        ack: 0,
        flags: 0,
        payload,
    };
    r.segment(&mut a, C2S, &seg(0, b""), &mut sink);
    r.segment(&mut b, C2S, &seg(0, b""), &mut sink);
    r.segment(&mut a, C2S, &seg(10, b"aaaa"), &mut sink);
    r.segment(&mut b, C2S, &seg(10, b"bbbb"), &mut sink);
    assert_eq!(r.stats().in_use_bytes, 4);
    assert_eq!(r.stats().memcap_drops, 1);
    r.discard(&mut a);
    assert_eq!(r.stats().in_use_bytes, 0);
    r.segment(&mut b, C2S, &seg(10, b"bbbb"), &mut sink);
    assert_eq!(r.stats().in_use_bytes, 4);
    assert!(a.is_finished());
}

#[test]
fn depth_cuts_delivery_once() {
    let config = StreamConfig { depth: 10, ..cfg() };
    let mut c = opened(config, 0);
    c.data(1, b"0123456");
    c.data(8, b"789");
    assert!(!c.s.depth_reached(C2S));
    c.data(11, b"ABC");
    c.data(14, b"DEF");
    assert_eq!(c.sink.stream(C2S), b"0123456789");
    assert!(c.s.depth_reached(C2S));
    assert_eq!(
        c.sink.events(C2S),
        vec![StreamEvent::ReassemblyDepthReached]
    );
    assert_eq!(c.r.stats().depth_reached, 1);
    // The other direction is not affected.
    c.seg(S2C, 0, 0, SYN, b"");
    c.seg(S2C, 1, 0, ACK, b"short");
    assert_eq!(c.sink.stream(S2C), b"short");
}

#[test]
fn depth_cut_inside_a_segment_and_buffers_released() {
    let config = StreamConfig { depth: 4, ..cfg() };
    let mut c = opened(config, 0);
    c.data(8, b"xyz");
    c.data(1, b"abcdef");
    assert_eq!(c.sink.stream(C2S), b"abcd");
    assert_eq!(c.r.stats().in_use_bytes, 0);
    assert_eq!(c.s.delivered(C2S), 4);
}

#[test]
fn rst_flushes_and_stops_delivery() {
    let mut c = opened(cfg(), 0);
    c.data(1, b"ab");
    c.data(5, b"ef");
    c.seg(S2C, 900, 3, RST | ACK, b"rst-payload");
    assert!(c.s.is_reset());
    assert_eq!(c.sink.stream(C2S), b"ab??ef");
    assert!(c.sink.stream(S2C).is_empty());
    c.data(7, b"gh");
    assert_eq!(c.sink.stream(C2S), b"ab??ef");
    assert_eq!(
        c.sink.events(C2S),
        vec![
            StreamEvent::ReassemblySeqGap,
            StreamEvent::SuspectedRstInject
        ]
    );
    assert_eq!(c.r.stats().data_after_rst, 1);
    assert_eq!(c.r.stats().in_use_bytes, 0);
}

#[test]
fn fin_ends_direction_and_later_data_is_ignored() {
    let mut c = opened(cfg(), 0);
    c.data(1, b"abc");
    c.seg(C2S, 4, 0, FIN | ACK, b"de");
    assert!(c.s.fin_seen(C2S));
    assert_eq!(c.sink.stream(C2S), b"abcde");
    c.data(6, b"zz");
    c.data(4, b"de"); // retransmission: counted, no event
    assert_eq!(c.sink.stream(C2S), b"abcde");
    assert_eq!(c.sink.events(C2S), vec![StreamEvent::DataAfterFin]);
    assert_eq!(c.r.stats().data_after_fin, 1);
    assert_eq!(c.r.stats().retransmitted, 1);
}

#[test]
fn fin_before_buffered_data_truncates_it() {
    let mut c = opened(cfg(), 0);
    c.data(8, b"late");
    c.seg(C2S, 4, 0, FIN, b"de"); // FIN at offset 5, out of order
    assert_eq!(c.s.buffered(C2S), 2);
    assert_eq!(c.sink.events(C2S), vec![StreamEvent::DataAfterFin]);
    c.data(1, b"abcdeXY"); // bytes beyond the FIN are ignored
    assert_eq!(c.sink.stream(C2S), b"abcde");
    assert_eq!(
        c.sink.events(C2S),
        vec![StreamEvent::DataAfterFin, StreamEvent::DataAfterFin]
    );
    assert_eq!(c.r.stats().in_use_bytes, 0);
}

#[test]
fn finish_flushes_after_holes() {
    let mut c = opened(cfg(), 0);
    c.data(1, b"a");
    c.data(4, b"d");
    c.data(7, b"gh");
    c.seg(S2C, 0, 0, SYN, b"");
    c.seg(S2C, 2, 0, ACK, b"x"); // server side: hole at its start
    c.finish();
    assert_eq!(c.sink.stream(C2S), b"a??d??gh");
    assert_eq!(c.sink.stream(S2C), b"?x");
    assert_eq!(c.sink.gaps(C2S), vec![2, 2]);
    assert_eq!(c.r.stats().in_use_bytes, 0);
    assert!(c.s.is_finished());
    // Nothing afterwards.
    c.data(9, b"i");
    c.finish();
    assert_eq!(c.sink.stream(C2S), b"a??d??gh");
}

#[test]
fn finish_declares_no_gap_before_a_fin_beyond_the_data() {
    let mut c = opened(cfg(), 0);
    c.data(1, b"ab");
    c.seg(C2S, 6, 0, FIN, b""); // FIN at offset 5: bytes 2..5 missing
    c.finish();
    assert_eq!(c.sink.stream(C2S), b"ab");
    assert!(c.sink.gaps(C2S).is_empty());
}

fn ooo_config() -> impl Strategy<Value = StreamConfig> {
    (
        0u64..64,
        0usize..64,
        0usize..48,
        0usize..6,
        0usize..6,
        0usize..32,
    )
        .prop_map(
            |(depth, memcap, buffered, segments, policy, window)| StreamConfig {
                depth,
                memcap,
                max_buffered_per_direction: buffered,
                max_segments_per_direction: segments,
                overlap_policy: OverlapPolicy::ALL[policy],
                compare_window: window,
            },
        )
}

proptest! {
    /// Random segmentation, reordering and duplication of a byte string always reassembles
    /// to exactly the string.
    #[test]
    fn reassembles_any_segmentation_and_order(
        data in proptest::collection::vec(any::<u8>(), 1..400),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..30),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        order_seed in proptest::collection::vec(any::<u32>(), 40),
        isn in prop_oneof![any::<u32>(), Just(u32::MAX - 100), Just(u32::MAX)],
        policy in 0usize..6,
    ) {
        let mut bounds: Vec<usize> = cuts.iter().map(|i| i.index(data.len())).collect();
        bounds.push(0);
        bounds.push(data.len());
        bounds.sort_unstable();
        bounds.dedup();
        let mut segs: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        for d in &dups {
            let s = segs[d.index(segs.len())];
            segs.push(s);
        }
        // Shuffle with the seeds.
        for i in (1..segs.len()).rev() {
            let j = order_seed[i % order_seed.len()] as usize % (i + 1);
            segs.swap(i, j);
        }
        let mut c = opened(with_policy(OverlapPolicy::ALL[policy]), isn);
        for (a, b) in segs {
            c.data(isn.wrapping_add(1).wrapping_add(a as u32), &data[a..b]);
        }
        prop_assert_eq!(c.sink.stream(C2S), data.clone());
        prop_assert!(c.sink.gaps(C2S).is_empty());
        prop_assert_eq!(c.r.stats().in_use_bytes, 0);
        prop_assert_eq!(c.s.delivered(C2S), data.len() as u64);
        prop_assert_eq!(c.r.stats().overlaps_different_data, 0);
    }

    /// Arbitrary segments in both directions, under tiny limits, never panic, never exceed the
    /// memcap, keep the accounting exact, and reach the sink as one ordered stream.
    #[test]
    fn arbitrary_segments_never_panic_and_respect_memcap(
        config in ooo_config(),
        base in any::<u32>(),
        segs in proptest::collection::vec(
            (any::<bool>(), 0u32..80, any::<u32>(), any::<u8>(),
             proptest::collection::vec(any::<u8>(), 0..24), any::<bool>()),
            0..60,
        ),
    ) {
        let memcap = config.memcap;
        let mut c = Conn::new(config);
        for (to_server, rel, ack, flags, payload, wild) in segs {
            let dir = if to_server { C2S } else { S2C };
            // Mostly near the base so segments interact; sometimes anywhere.
            let seq = if wild { ack.rotate_left(7) } else { base.wrapping_add(rel) };
            let ack = if wild { ack } else { base.wrapping_add(ack % 80) };
            // RST and FIN rare enough that most connections live on.
            let flags = if flags % 32 == 0 { flags } else { flags & !(RST | FIN) };
            c.seg(dir, seq, ack, flags, &payload);
            prop_assert!(c.r.stats().in_use_bytes <= memcap);
            prop_assert_eq!(
                c.r.stats().in_use_bytes,
                c.s.buffered(C2S) + c.s.buffered(S2C)
            );
        }
        c.finish();
        prop_assert_eq!(c.r.stats().in_use_bytes, 0);
        for dir in [C2S, S2C] {
            let data: u64 = c.sink.got.iter().map(|g| match g {
                Got::Data(d, b) if *d == dir => b.len() as u64,
                _ => 0,
            }).sum();
            prop_assert_eq!(data, c.s.delivered(dir));
        }
        let total: u64 = c.s.delivered(C2S) + c.s.delivered(S2C);
        prop_assert_eq!(total, c.r.stats().bytes_delivered);
    }
}

/// Per-byte reference model of delivery under an overlap policy: every held byte remembers
/// the segment it came from; a byte is delivered as soon as all bytes before it are.
fn model(policy: OverlapPolicy, segs: &[(u64, Vec<u8>)]) -> Vec<u8> {
    use crate::config::Span;
    use std::collections::BTreeMap;
    let mut next = 0u64;
    let mut held: BTreeMap<u64, (u8, Span)> = BTreeMap::new();
    let mut out = Vec::new();
    for (start, bytes) in segs {
        let span = Span {
            start: *start,
            end: start + bytes.len() as u64,
        };
        for (i, &b) in bytes.iter().enumerate() {
            let off = start + i as u64;
            if off < next {
                continue;
            }
            match held.get(&off) {
                Some(&(_, old)) if !policy.new_wins(span, old) => {}
                _ => {
                    held.insert(off, (b, span));
                }
            }
        }
        while let Some((b, _)) = held.remove(&next) {
            out.push(b);
            next += 1;
        }
    }
    for (off, (b, _)) in held {
        out.extend(std::iter::repeat_n(b'?', (off - next) as usize));
        out.push(b);
        next = off + 1;
    }
    out
}

proptest! {
    /// Conflicting overlapping segments are resolved exactly as the per-byte model says,
    /// for every policy, in order or not.
    #[test]
    fn overlaps_follow_the_per_byte_model(
        policy in 0usize..6,
        isn in any::<u32>(),
        segs in proptest::collection::vec(
            (0u64..60, proptest::collection::vec(b'a'..b'e', 0..20)),
            1..25,
        ),
    ) {
        let policy = OverlapPolicy::ALL[policy];
        let mut c = opened(with_policy(policy), isn);
        for (start, bytes) in &segs {
            c.data(isn.wrapping_add(1).wrapping_add(*start as u32), bytes);
        }
        c.finish();
        prop_assert_eq!(c.sink.stream(C2S), model(policy, &segs));
    }
}
