//! The whole packet path, wired the way the `tapwatch` binary's worker wires it: capture
//! reader, decoder, defragmenter, flow table, reassembler, application layer, JSON records.

use std::io::Cursor;
use std::time::Duration;

use tapwatch_app::{AppConfig, AppFlow, AppOutput};
use tapwatch_capture::{CaptureReader, RawPacket, ReaderLimits};
use tapwatch_common::{Direction, Timestamp};
use tapwatch_defrag::{DefragConfig, DefragOutcome, Defragmenter, Fragment};
use tapwatch_flow::{EndedFlow, FlowConfig, FlowTable, IcmpMeta, PacketMeta, TcpMeta};
use tapwatch_stream::{Reassembler, Segment, StreamConfig, StreamEvent, StreamSink, TcpStreams};
use tapwatch_wire::{Decoded, Transport};

use super::wire::LINKS;

/// Most packets processed per input.
const MAX_PACKETS: usize = 20_000;

/// Runs a capture through every stage. An input that starts like a capture file (pcap,
/// pcapng, gzip) is read as one; any other input is a compact list of frames turned into a
/// pcap in memory: a link-type byte, then per frame a time step byte, a 2-byte big-endian
/// length and the frame.
pub fn pipeline(data: &[u8]) {
    let file = if is_capture(data) {
        data.to_vec()
    } else {
        build_pcap(data)
    };
    let limits = ReaderLimits {
        max_record_len: 65_535,
        resync_window: 4096,
        ..ReaderLimits::default()
    };
    let Ok(mut reader) =
        CaptureReader::from_reader_with_limits(Box::new(Cursor::new(file)), limits)
    else {
        return;
    };
    let mut w = Worker::new();
    let mut n = 0;
    while let Some(p) = reader.next_packet() {
        w.process(&p);
        n += 1;
        if n >= MAX_PACKETS {
            break;
        }
    }
    w.finish();
}

/// Whether `data` starts with a capture file magic.
fn is_capture(data: &[u8]) -> bool {
    let m = data.get(..4).unwrap_or(&[]);
    m.starts_with(&[0x1f, 0x8b])
        || m == [0x0a, 0x0d, 0x0d, 0x0a]
        || m == [0xd4, 0xc3, 0xb2, 0xa1]
        || m == [0xa1, 0xb2, 0xc3, 0xd4]
        || m == [0x4d, 0x3c, 0xb2, 0xa1]
        || m == [0xa1, 0xb2, 0x3c, 0x4d]
}

/// A classic little-endian pcap holding the frames `data` describes.
pub(crate) fn build_pcap(data: &[u8]) -> Vec<u8> {
    let mut input = crate::input::Input::new(data);
    let link = LINKS
        .get(usize::from(input.u8()) % LINKS.len())
        .copied()
        .unwrap_or(tapwatch_common::LinkType::Ethernet);
    let mut out = Vec::with_capacity(data.len() + 64);
    out.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&link.linktype().to_le_bytes());
    let mut secs = 1_700_000_000u32;
    while !input.is_empty() {
        secs = secs.wrapping_add(u32::from(input.u8() >> 4));
        let len = usize::from(input.u16());
        let frame = input.bytes(len);
        for field in [secs, 0, frame.len() as u32, frame.len() as u32] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    out
}

/// Per-flow state.
#[derive(Debug, Default)]
struct FlowState {
    streams: TcpStreams,
    app: AppFlow,
}

/// A compact copy of the binary's worker.
struct Worker {
    flows: FlowTable<FlowState>,
    flow_cfg: FlowConfig,
    defrag: Defragmenter,
    defrag_cfg: DefragConfig,
    reassembler: Reassembler,
    stream_cfg: StreamConfig,
    app_cfg: AppConfig,
    ended: Vec<EndedFlow<FlowState>>,
    out: Vec<AppOutput>,
    datagram: Vec<u8>,
    next_sweep: Option<Timestamp>,
}

impl Worker {
    fn new() -> Self {
        let flow_cfg = FlowConfig {
            max_flows: 64,
            tcp_midstream: true,
            ..FlowConfig::default()
        };
        let defrag_cfg = DefragConfig {
            memcap_bytes: 256 * 1024,
            max_trackers: 64,
            ..DefragConfig::default()
        };
        let stream_cfg = StreamConfig {
            memcap: 256 * 1024,
            ..StreamConfig::default()
        };
        Self {
            flows: FlowTable::new(flow_cfg.clone()),
            flow_cfg,
            defrag: Defragmenter::new(defrag_cfg),
            defrag_cfg,
            reassembler: Reassembler::new(stream_cfg.clone()),
            stream_cfg,
            app_cfg: AppConfig::default(),
            ended: Vec::new(),
            out: Vec::new(),
            datagram: Vec::new(),
            next_sweep: None,
        }
    }

    fn process(&mut self, packet: &RawPacket<'_>) {
        let decoded = tapwatch_wire::decode(packet.link, packet.data);
        super::wire::check(&decoded, packet.data);
        let frag = decoded
            .ip
            .as_ref()
            .and_then(|ip| ip.fragment.map(|f| (ip, f)));
        match frag {
            Some((ip, f)) => {
                let fragment = Fragment {
                    ts: packet.ts,
                    version: ip.version,
                    src: ip.src,
                    dst: ip.dst,
                    protocol: ip.protocol,
                    id: f.id,
                    offset: f.offset,
                    more: f.more,
                    header: ip.header,
                    payload: ip.payload,
                    context: decoded.tunnel.id(),
                };
                let mut datagram = std::mem::take(&mut self.datagram);
                datagram.clear();
                if let DefragOutcome::Complete { packet, .. } = self.defrag.insert(&fragment) {
                    datagram.extend_from_slice(packet);
                }
                assert!(self.defrag.stats().bytes_in_use <= self.defrag_cfg.memcap_bytes);
                if !datagram.is_empty() {
                    let inner = tapwatch_wire::decode_ip(&datagram, &decoded);
                    super::wire::check(&inner, &datagram);
                    self.track(&inner, packet.ts);
                }
                self.datagram = datagram;
            }
            None => self.track(&decoded, packet.ts),
        }
        self.sweep(packet.ts);
    }

    fn track(&mut self, d: &Decoded<'_>, ts: Timestamp) {
        let Some(ip) = d.ip.as_ref() else {
            return;
        };
        let (src_port, dst_port, tcp, icmp) = match &d.transport {
            Transport::Tcp(t) => (
                t.src_port,
                t.dst_port,
                Some(TcpMeta {
                    seq: t.seq,
                    ack: t.ack,
                    flags: t.flags.0 as u8,
                    window: t.window,
                    wscale: t.options.wscale,
                    sack_permitted: t.options.sack_permitted,
                    timestamp: t.options.timestamp,
                }),
                None,
            ),
            Transport::Udp(u) => (u.src_port, u.dst_port, None, None),
            Transport::Sctp(s) => (s.src_port, s.dst_port, None, None),
            Transport::Icmpv4(i) | Transport::Icmpv6(i) => (
                0,
                0,
                None,
                Some(IcmpMeta {
                    icmp_type: i.icmp_type,
                    code: i.code,
                    id: i.id.unwrap_or(0),
                }),
            ),
            Transport::None if matches!(ip.protocol, 1 | 6 | 17 | 58 | 132) => return,
            Transport::None | Transport::Other(_) => (0, 0, None, None),
        };
        let vlan = d.vlan.ids();
        let mut vlan_ids = [0u16; 3];
        for (slot, id) in vlan_ids.iter_mut().zip(vlan) {
            *slot = *id;
        }
        let meta = PacketMeta {
            ts,
            src: ip.src,
            dst: ip.dst,
            src_port,
            dst_port,
            protocol: ip.protocol,
            vlan: vlan_ids,
            vlan_len: vlan.len().min(3) as u8,
            tunnel_id: d.tunnel.id(),
            wire_len: 64,
            payload_len: d.payload.len() as u32,
            tcp,
            icmp,
        };
        let Ok(tracked) = self.flows.track(&meta, &mut self.ended) else {
            return;
        };
        assert!(self.flows.len() <= self.flow_cfg.max_flows);
        self.end_flows();
        let Some(flow) = self.flows.get_mut(tracked.handle) else {
            panic!("tracked flow not found");
        };
        let server_port = flow.server.1;
        match &d.transport {
            Transport::Tcp(t) if tracked.tcp_accept => {
                let seg = Segment {
                    ts,
                    seq: t.seq,
                    ack: t.ack,
                    flags: t.flags.0 as u8,
                    payload: d.payload,
                };
                let mut sink = AppSink {
                    app: &mut flow.user.app,
                    cfg: &self.app_cfg,
                    server_port,
                    ts,
                    out: &mut self.out,
                };
                self.reassembler.segment(
                    &mut flow.user.streams,
                    tracked.direction,
                    &seg,
                    &mut sink,
                );
                assert!(self.reassembler.stats().in_use_bytes <= self.stream_cfg.memcap);
            }
            Transport::Udp(_) if !d.payload.is_empty() => {
                flow.user.app.on_udp(
                    &self.app_cfg,
                    (flow.client.1, flow.server.1),
                    tracked.direction,
                    d.payload,
                    ts,
                    &mut self.out,
                );
            }
            _ => {}
        }
        self.emit();
    }

    fn sweep(&mut self, ts: Timestamp) {
        if self.next_sweep.is_some_and(|next| ts < next) {
            return;
        }
        self.next_sweep = Some(ts.add(Duration::from_secs(1)));
        self.defrag.expire(ts);
        self.flows.expire(ts, &mut self.ended);
        self.end_flows();
    }

    fn end_flows(&mut self) {
        let mut ended = std::mem::take(&mut self.ended);
        for e in ended.drain(..) {
            let mut flow = e.flow;
            let server_port = flow.server.1;
            let FlowState { streams, app } = &mut flow.user;
            let mut sink = AppSink {
                app,
                cfg: &self.app_cfg,
                server_port,
                ts: flow.last,
                out: &mut self.out,
            };
            self.reassembler.finish(streams, &mut sink);
            app.finish(flow.last, &mut self.out);
            self.emit();
        }
        self.ended = ended;
    }

    fn finish(&mut self) {
        self.flows.drain(&mut self.ended);
        self.end_flows();
        assert!(self.flows.is_empty());
        assert_eq!(
            self.reassembler.stats().in_use_bytes,
            0,
            "stream memory left"
        );
    }

    /// Serializes the records of the current packet, as the EVE writer would.
    fn emit(&mut self) {
        for o in self.out.drain(..) {
            let json = match &o {
                AppOutput::Http(tx) => Some(serde_json::to_vec(&**tx)),
                AppOutput::Dns(r) => Some(serde_json::to_vec(&**r)),
                AppOutput::Mdns(r) => Some(serde_json::to_vec(&**r)),
                AppOutput::Tls(i) => Some(serde_json::to_vec(&**i)),
                AppOutput::Reversed | AppOutput::Detected(_) | AppOutput::Anomaly { .. } => None,
            };
            if let Some(json) = json {
                assert!(json.is_ok(), "record does not serialize");
            }
        }
    }
}

/// Feeds reassembled data to a flow's application layer.
struct AppSink<'a> {
    app: &'a mut AppFlow,
    cfg: &'a AppConfig,
    server_port: u16,
    ts: Timestamp,
    out: &'a mut Vec<AppOutput>,
}

impl StreamSink for AppSink<'_> {
    fn data(&mut self, dir: Direction, data: &[u8]) {
        self.app
            .on_stream_data(self.cfg, self.server_port, dir, data, self.ts, self.out);
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        self.app.on_stream_gap(dir, len, self.out);
    }

    fn event(&mut self, _dir: Direction, _event: StreamEvent) {}
}
