//! TCP reassembly over segments of two connections in both directions.

use tapwatch_common::{Direction, Timestamp};
use tapwatch_stream::{
    OverlapPolicy, Reassembler, Segment, StreamConfig, StreamEvent, StreamSink, TcpStreams,
};

use crate::input::Input;

/// Most operations run per input.
const MAX_OPS: usize = 4096;
/// Connections sharing the reassembler (and its memcap).
const CONNS: usize = 2;

/// What the sink saw of one connection, per direction.
#[derive(Debug, Default)]
struct Totals {
    data: [u64; 2],
    gaps: [u64; 2],
}

impl StreamSink for Totals {
    fn data(&mut self, dir: Direction, data: &[u8]) {
        if let Some(t) = self.data.get_mut(dir.index()) {
            *t += data.len() as u64;
        }
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        assert!(len > 0, "empty gap");
        if let Some(t) = self.gaps.get_mut(dir.index()) {
            *t += len;
        }
    }

    fn event(&mut self, _dir: Direction, _event: StreamEvent) {}
}

/// Feeds segments near each direction's initial sequence number; after every step the bytes
/// delivered equal the sink's totals, the stream offset stays within the depth, buffered bytes
/// stay within the per-direction limit and the memcap, and ending every connection frees all
/// memory.
pub fn stream(data: &[u8]) {
    let mut input = Input::new(data);
    let depth = [0u64, 64, 1024, 1 << 20][usize::from(input.u8() % 4)];
    let cfg = StreamConfig {
        depth,
        memcap: 64 + usize::from(input.u16()) % 4096,
        max_buffered_per_direction: 16 + usize::from(input.u16()) % 2048,
        max_segments_per_direction: 1 + usize::from(input.u8() % 16),
        overlap_policy: input
            .choose(&OverlapPolicy::ALL)
            .unwrap_or(OverlapPolicy::Bsd),
        compare_window: [0usize, 16, 65_536][usize::from(input.u8() % 3)],
    };
    let isn = [input.u32(), input.u32()];
    let mut r = Reassembler::new(cfg.clone());
    let mut conns: Vec<(TcpStreams, Totals)> = (0..CONNS)
        .map(|_| (TcpStreams::default(), Totals::default()))
        .collect();
    let mut delivered_total = 0u64;
    for step in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        let c = usize::from(op & 1);
        let dir = if op & 2 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let Some((streams, sink)) = conns.get_mut(c) else {
            break;
        };
        if op & 0xfc == 0xfc {
            // End the connection and start a new one in its place.
            if op & 2 == 0 {
                r.finish(streams, sink);
            } else {
                r.discard(streams);
            }
            check_conn(streams, sink, &cfg);
            delivered_total += sink.data.iter().sum::<u64>();
            *streams = TcpStreams::default();
            *sink = Totals::default();
            continue;
        }
        let mut flags = (op >> 2) & (Segment::SYN | Segment::FIN | Segment::ACK | Segment::PSH);
        if (op >> 2) & 0x1f == 0x1f {
            flags = Segment::RST | Segment::ACK;
        }
        let base = isn.get(dir.index()).copied().unwrap_or(0);
        let other = isn.get(dir.reverse().index()).copied().unwrap_or(0);
        let seq = base
            .wrapping_add(u32::from(input.u16() % 2048))
            .wrapping_sub(8);
        let ack = other
            .wrapping_add(u32::from(input.u16() % 2048))
            .wrapping_sub(8);
        let len = usize::from(input.u8() % 64);
        let payload = input.bytes(len);
        let seg = Segment {
            ts: Timestamp::new(1_000 + step as i64, 0),
            seq,
            ack,
            flags,
            payload,
        };
        r.segment(streams, dir, &seg, sink);
        check_conn(streams, sink, &cfg);
        let buffered: usize = conns
            .iter()
            .map(|(s, _)| s.buffered(Direction::ToServer) + s.buffered(Direction::ToClient))
            .sum();
        assert!(r.stats().in_use_bytes <= cfg.memcap, "memcap exceeded");
        assert_eq!(
            buffered,
            r.stats().in_use_bytes,
            "buffered bytes not booked"
        );
        let live: u64 = conns.iter().map(|(_, t)| t.data.iter().sum::<u64>()).sum();
        assert_eq!(r.stats().bytes_delivered, delivered_total + live);
    }
    for (streams, sink) in &mut conns {
        r.finish(streams, sink);
        check_conn(streams, sink, &cfg);
    }
    assert_eq!(
        r.stats().in_use_bytes,
        0,
        "memory left after every connection ended"
    );
}

fn check_conn(streams: &TcpStreams, sink: &Totals, cfg: &StreamConfig) {
    for dir in [Direction::ToServer, Direction::ToClient] {
        let i = dir.index();
        let data = sink.data.get(i).copied().unwrap_or(0);
        let gaps = sink.gaps.get(i).copied().unwrap_or(0);
        assert_eq!(
            streams.delivered(dir),
            data,
            "delivered bytes differ from the sink's"
        );
        assert!(streams.buffered(dir) <= cfg.max_buffered_per_direction);
        if cfg.depth > 0 {
            assert!(
                data + gaps <= cfg.depth,
                "stream offset {} past depth",
                data + gaps
            );
        }
    }
}
