//! What the worker hands the detector: a packet with its context, and transaction buffers.

use std::net::IpAddr;

use tapwatch_common::{AppProto, DecodeEvent, Direction, StreamEvent, Timestamp};
use tapwatch_rules::Buffer;

use crate::verify::PacketFacts;

/// The flow's application protocol, as detection knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AppState {
    /// Not (yet) known.
    #[default]
    Unknown,
    /// Detected.
    Detected(AppProto),
    /// No parser recognised the flow (`app-layer-protocol:failed`).
    Failed,
}

/// Facts about the flow a packet belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowFacts {
    /// Direction of the packet (or of the transaction side being inspected).
    pub direction: Direction,
    /// TCP: the three-way handshake completed; other protocols: packets were seen both ways.
    pub established: bool,
    /// The flow's application protocol.
    pub app: AppState,
    /// The flow's payload is no longer inspected: it carries encrypted application data
    /// (TLS), and the sensor follows Suricata's `encryption-handling: default`. Rules that
    /// inspect the payload or the stream do not match its packets; header, flow-variable and
    /// application-layer (`tls.*`) rules still do.
    pub payload_off: bool,
}

/// Header bytes of the packet's layers, for the `*.hdr` buffers; empty when absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeaderBytes<'a> {
    /// IPv4 header with options.
    pub ipv4: &'a [u8],
    /// IPv6 fixed header.
    pub ipv6: &'a [u8],
    /// TCP header with options.
    pub tcp: &'a [u8],
    /// UDP header.
    pub udp: &'a [u8],
    /// ICMPv4 header.
    pub icmpv4: &'a [u8],
    /// ICMPv6 header.
    pub icmpv6: &'a [u8],
}

/// One packet to inspect, with everything detection needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct PacketInput<'a> {
    /// Packet time.
    pub ts: Timestamp,
    /// Source address and port (0 without ports); `None` for packets that did not decode to
    /// IP (only `pkthdr` rules see those).
    pub src: Option<(IpAddr, u16)>,
    /// Destination address and port.
    pub dst: Option<(IpAddr, u16)>,
    /// IP protocol number (`None` without IP).
    pub ip_proto: Option<u8>,
    /// Header facts for `ttl`, `flags`, `dsize`, ...
    pub facts: PacketFacts,
    /// Transport payload.
    pub payload: &'a [u8],
    /// Reassembled TCP data this packet completed in its direction (empty if none).
    pub stream: &'a [u8],
    /// Header bytes.
    pub headers: HeaderBytes<'a>,
    /// The flow, when the packet belongs to one.
    pub flow: Option<FlowFacts>,
    /// Decoder events of the packet.
    pub decode_events: &'a [DecodeEvent],
    /// Stream events (TCP session and reassembly) raised by the packet.
    pub stream_events: &'a [StreamEvent],
    /// Application-layer events raised by the packet (`proto.event`, lower case).
    pub app_events: &'a [&'a str],
    /// The packet is a reassembled IP datagram.
    pub defragmented: bool,
}

impl<'a> PacketInput<'a> {
    /// A packet without IP: only decode-event (`pkthdr`) rules apply.
    pub fn undecoded(ts: Timestamp, decode_events: &'a [DecodeEvent]) -> Self {
        Self {
            ts,
            src: None,
            dst: None,
            ip_proto: None,
            facts: PacketFacts::default(),
            payload: &[],
            stream: &[],
            headers: HeaderBytes::default(),
            flow: None,
            decode_events,
            stream_events: &[],
            app_events: &[],
            defragmented: false,
        }
    }
}

/// The buffers of one application-layer transaction (or handshake, or file chunk), filled by
/// the worker and reused between transactions: one byte arena and a list of spans.
#[derive(Debug, Default, Clone)]
pub struct Buffers {
    data: Vec<u8>,
    spans: Vec<Span>,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    buffer: Buffer,
    dir: Direction,
    start: usize,
    end: usize,
}

impl Buffers {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets every buffer, keeping the memory.
    pub fn clear(&mut self) {
        self.data.clear();
        self.spans.clear();
    }

    /// Adds one instance of `buffer` travelling in `dir` (multi-buffers get one call per
    /// instance).
    pub fn push(&mut self, buffer: Buffer, dir: Direction, bytes: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.spans.push(Span {
            buffer,
            dir,
            start,
            end: self.data.len(),
        });
    }

    /// Adds `buffer` as a second name of the instance added last (the same bytes, not
    /// copied), travelling in `dir`. Nothing happens when no instance was added yet.
    pub fn push_same(&mut self, buffer: Buffer, dir: Direction) {
        if let Some(&last) = self.spans.last() {
            self.spans.push(Span {
                buffer,
                dir,
                ..last
            });
        }
    }

    /// Adds one instance built by `fill`, which appends its bytes to the vector it is given.
    pub fn push_with(&mut self, buffer: Buffer, dir: Direction, fill: impl FnOnce(&mut Vec<u8>)) {
        let start = self.data.len();
        fill(&mut self.data);
        self.spans.push(Span {
            buffer,
            dir,
            start,
            end: self.data.len(),
        });
    }

    /// Whether no buffer was added.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The instances of `buffer` in direction `dir`, in the order they were added.
    pub fn get(&self, buffer: Buffer, dir: Direction) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .filter(move |s| s.buffer == buffer && s.dir == dir)
            .map(|s| self.data.get(s.start..s.end).unwrap_or(&[]))
    }

    /// The instances of `buffer` in direction `dir` that are not also instances of `other`
    /// (the same bytes given both names with [`Buffers::push_same`]).
    pub fn get_except(
        &self,
        buffer: Buffer,
        other: Buffer,
        dir: Direction,
    ) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .filter(move |s| s.buffer == buffer && s.dir == dir)
            .filter(move |s| {
                !self.spans.iter().any(|o| {
                    o.buffer == other && o.dir == dir && o.start == s.start && o.end == s.end
                })
            })
            .map(|s| self.data.get(s.start..s.end).unwrap_or(&[]))
    }

    /// Whether `buffer` has at least one instance in direction `dir`.
    pub fn has(&self, buffer: Buffer, dir: Direction) -> bool {
        self.spans
            .iter()
            .any(|s| s.buffer == buffer && s.dir == dir)
    }
}

/// One side of an application-layer transaction to inspect.
#[derive(Debug, Clone, Copy)]
pub struct TxInput<'a> {
    /// The transaction id within the flow (EVE `tx_id`).
    pub tx_id: u64,
    /// The side inspected now: rules inspecting this direction run, with buffers of both
    /// sides available (a response-side rule may look at the request too).
    pub direction: Direction,
    /// The buffers.
    pub buffers: &'a Buffers,
}
