//! One packet-processing worker: decode, defragment, track flows, reassemble TCP, parse the
//! application layer and write EVE records. It owns all of its state; nothing is shared.

use tapwatch_app::{AppConfig, AppFlow, AppOutput, AppProto, DetectOutcome};
use tapwatch_capture::RawPacket;
use tapwatch_common::{Direction, Timestamp};
use tapwatch_defrag::{DefragOutcome, Defragmenter, Fragment};
use tapwatch_eve::{
    AnomalyBody, AnomalyType, Endpoint, Envelope, EveWriter, EventType, FlowBody, FlowRecord,
    PacketSource, RecordSink, TcpFlagsBody,
};
use tapwatch_flow::FlowHandle;
use tapwatch_flow::{
    EndReason, EndedFlow, Flow, FlowTable, IcmpMeta, PacketMeta, TcpMeta, Tracked,
};
use tapwatch_stream::{Reassembler, Segment, StreamEvent, StreamSink, TcpStreams};
use tapwatch_wire::{Checksum, Decoded, Transport};

use crate::config::{AnomalyKind, Config, EveType};
use crate::counters::Counters;

/// Per-flow state the worker keeps inside the flow table.
#[derive(Debug, Default)]
pub struct FlowState {
    streams: TcpStreams,
    app: AppFlow,
    /// Detection state (flowbits, flowints, thresholds by flow, alerted).
    detect: tapwatch_detect::FlowDetect,
    /// Already handed to the driver as bypassable.
    bypass_reported: bool,
}

impl FlowState {
    /// Whether no application-layer parser recognised the flow's data.
    pub fn app_failed(&self) -> bool {
        self.app.outcome() == DetectOutcome::Failed
    }

    /// The flow's application-protocol detection outcome.
    pub fn app_outcome(&self) -> DetectOutcome {
        self.app.outcome()
    }

    /// Whether the flow carries encrypted application data now (TLS).
    pub fn encrypted(&self) -> bool {
        self.app.encrypted()
    }

    /// Detection state of the flow.
    pub fn detect_mut(&mut self) -> &mut tapwatch_detect::FlowDetect {
        &mut self.detect
    }
}

/// The packet that caused the records being written.
#[derive(Debug, Clone, Copy)]
struct Origin {
    ts: Timestamp,
    pcap_cnt: Option<u64>,
    source: PacketSource,
    /// Direction of the packet within its flow.
    direction: Direction,
}

impl<W: RecordSink> std::fmt::Debug for Worker<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("packets", &self.counters.packets)
            .field("active_flows", &self.flows.len())
            .field("eve_records", &self.eve_records())
            .finish_non_exhaustive()
    }
}

/// A packet-processing worker writing EVE to `W`.
pub struct Worker<W: RecordSink> {
    config: Config,
    app_config: AppConfig,
    flows: FlowTable<FlowState>,
    defrag: Defragmenter,
    reassembler: Reassembler,
    eve: Option<EveWriter<W>>,
    counters: Counters,
    /// Flows ended by the flow table, waiting to be finished and logged.
    ended: Vec<EndedFlow<FlowState>>,
    /// Application-layer output of the current packet.
    app_out: Vec<AppOutput>,
    /// Stream (session and reassembly) event names of the current packet.
    stream_events: Vec<(Direction, StreamEvent)>,
    /// Reused buffer holding a reassembled IP datagram while it is processed.
    datagram: Vec<u8>,
    /// Packet time of the next flow-timeout sweep.
    next_sweep: Option<Timestamp>,
    /// Latest packet time seen.
    now: Timestamp,
    /// The first EVE write error; further records are not attempted.
    eve_error: Option<std::io::Error>,
    /// Signature detection, when the worker was given an engine.
    detection: Option<crate::detect_run::Detection>,
    /// Where alerts go besides EVE (the exporter), when set.
    alert_export: Option<crate::export_alert::AlertExport>,
    /// Whether flow timeouts are swept at packets (the default), or only at
    /// [`Worker::tick`]s from a driver, so that several workers sweep at the same points.
    sweep_on_packets: bool,
    /// Whether `finish` writes the `stats` record (off when a driver of several workers
    /// writes one record for all of them).
    writes_stats: bool,
    /// Whether the driver asked for bypassable flows ([`Worker::report_bypassable`]).
    reports_bypass: bool,
    /// Flows that became bypassable, for the driver to drain.
    bypassable: Vec<BypassFlow>,
}

/// A flow the sensor no longer needs to see (see [`Worker::report_bypassable`]): its
/// endpoints as the flow table knows them and its VLAN ids (outer, inner; 0 when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BypassFlow {
    /// The client's address and port.
    pub client: (std::net::IpAddr, u16),
    /// The server's address and port.
    pub server: (std::net::IpAddr, u16),
    /// IP protocol number.
    pub protocol: u8,
    /// Outer and inner VLAN ids.
    pub vlan: [u16; 2],
}

impl<W: RecordSink> Worker<W> {
    /// A worker with `config`, writing EVE records to `eve` when given.
    pub fn new(config: Config, eve: Option<W>) -> Self {
        let app_config = crate::config::app_config(&config);
        Self {
            flows: FlowTable::new(crate::config::flow_config(&config)),
            defrag: Defragmenter::new(crate::config::defrag_config(&config)),
            reassembler: Reassembler::new(crate::config::stream_config(&config)),
            eve: eve.map(EveWriter::new),
            counters: Counters::default(),
            ended: Vec::new(),
            app_out: Vec::new(),
            stream_events: Vec::new(),
            datagram: Vec::new(),
            next_sweep: None,
            now: Timestamp::default(),
            eve_error: None,
            detection: None,
            alert_export: None,
            writes_stats: true,
            sweep_on_packets: true,
            reports_bypass: false,
            bypassable: Vec::new(),
            app_config,
            config,
        }
    }

    /// A worker that also runs the detection `engine` (shared between workers) on every
    /// packet and application-layer record, writing `alert` records. Fails only when
    /// Hyperscan scratch space cannot be allocated.
    pub fn with_engine(
        config: Config,
        eve: Option<W>,
        engine: std::sync::Arc<tapwatch_detect::Engine>,
    ) -> Result<Self, tapwatch_detect::EngineError> {
        let host = std::sync::Arc::new(tapwatch_detect::HostState::new());
        Self::with_shared_engine(config, eve, engine, host)
    }

    /// Like [`Worker::with_engine`], keeping thresholds and xbits by host in `host`, shared
    /// with the other workers of the sensor.
    pub fn with_shared_engine(
        config: Config,
        eve: Option<W>,
        engine: std::sync::Arc<tapwatch_detect::Engine>,
        host: std::sync::Arc<tapwatch_detect::HostState>,
    ) -> Result<Self, tapwatch_detect::EngineError> {
        let inspect_encrypted =
            config.app.tls.encryption_handling == crate::config::EncryptionHandling::Full;
        let mut worker = Self::new(config, eve);
        worker.detection = Some(crate::detect_run::Detection::new(
            engine,
            host,
            inspect_encrypted,
        )?);
        Ok(worker)
    }

    /// Runs `engine` through `detector` (built for it with the sensor's shared host state)
    /// from the next packet on: a rule reload's swap, made between two packets. Flows keep
    /// their detection state (flowbits, flowints and `by_flow` thresholds, which the engines
    /// key by name and gid:sid, see [`tapwatch_detect::StateNames`]); the detection counters
    /// go on. A worker that ran without rules starts detecting.
    pub fn replace_engine(
        &mut self,
        engine: std::sync::Arc<tapwatch_detect::Engine>,
        detector: tapwatch_detect::Detector,
    ) {
        match &mut self.detection {
            Some(d) => d.replace_engine(engine, detector),
            None => {
                let inspect_encrypted = self.config.app.tls.encryption_handling
                    == crate::config::EncryptionHandling::Full;
                self.detection = Some(crate::detect_run::Detection::with_detector(
                    engine,
                    detector,
                    inspect_encrypted,
                ));
            }
        }
    }

    /// The detection engine the worker runs, if any.
    pub fn engine(&self) -> Option<&std::sync::Arc<tapwatch_detect::Engine>> {
        self.detection.as_ref().map(|d| &d.engine)
    }

    /// Draws flow ids from `ids` (a share of the space all workers draw from), so that flow
    /// ids stay unique across workers. Call before the first packet.
    pub fn use_flow_ids(&mut self, ids: tapwatch_flow::FlowIdSpace) {
        let mut flow = crate::config::flow_config(&self.config);
        flow.ids = ids;
        self.flows = FlowTable::new(flow);
    }

    /// Leaves the `stats` record to the driver: [`Worker::finish`] does not write it, and
    /// [`Worker::stats_record`] gives the figures to merge.
    pub fn leave_stats_to_driver(&mut self) {
        self.writes_stats = false;
    }

    /// Records the flows that become bypassable, for [`Worker::drain_bypassable`]: TLS flows
    /// once encrypted when encrypted payload is not inspected (`[app.tls]
    /// encryption_handling = "default"`), and TCP flows past the reassembly depth in both
    /// directions. Each flow is recorded once. Flows inside a tunnel or with more than two
    /// VLAN tags are never recorded (a kernel bypass keyed on the outer headers cannot tell
    /// them apart). What happens to them is the driver's business; the worker keeps the flow
    /// and writes its flow record, with what it saw, when it ends.
    pub fn report_bypassable(&mut self) {
        self.reports_bypass = true;
    }

    /// The flows recorded as bypassable since the last call (empty unless
    /// [`Worker::report_bypassable`] was called).
    pub fn drain_bypassable(&mut self) -> std::vec::Drain<'_, BypassFlow> {
        self.bypassable.drain(..)
    }

    fn note_bypassable(&mut self, handle: FlowHandle) {
        if !self.reports_bypass {
            return;
        }
        let Some(flow) = self.flows.get_mut(handle) else {
            return;
        };
        if flow.user.bypass_reported || flow.tunnel_id != 0 || flow.vlan_len > 2 {
            return;
        }
        let encrypted = self.config.app.tls.encryption_handling
            != crate::config::EncryptionHandling::Full
            && flow.user.encrypted();
        let past_depth = flow.protocol == 6
            && self.config.stream.depth_bytes > 0
            && flow.user.streams.depth_reached(Direction::ToServer)
            && flow.user.streams.depth_reached(Direction::ToClient);
        if encrypted || past_depth {
            flow.user.bypass_reported = true;
            self.bypassable.push(BypassFlow {
                client: flow.client,
                server: flow.server,
                protocol: flow.protocol,
                vlan: [flow.vlan[0], flow.vlan[1]],
            });
        }
    }

    /// Also hands every alert to `sink`, as an encoded protobuf `Alert` built from the values
    /// its EVE record is written from (whether or not an EVE output is set).
    pub fn send_alerts_to(&mut self, sink: Box<dyn crate::export_alert::AlertSink>) {
        self.alert_export = Some(crate::export_alert::AlertExport::new(sink));
    }

    /// Detection counters, when the worker runs an engine.
    pub fn detect_stats(&self) -> Option<tapwatch_detect::DetectStats> {
        self.detection.as_ref().map(|d| d.detector.stats())
    }

    /// Counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Processes one captured packet; `pcap_cnt` is its 1-based number in the run.
    pub fn process(&mut self, pcap_cnt: u64, packet: &RawPacket<'_>) {
        self.counters.packets += 1;
        self.counters.bytes += packet.data.len() as u64;
        self.counters.max_packet_size = self.counters.max_packet_size.max(packet.data.len() as u64);
        if packet.ts > self.now {
            self.now = packet.ts;
        }
        if let Some(det) = self.detection.as_mut() {
            // Alerts that carry the whole packet need the frame; copied only then.
            det.frame.clear();
            if self.config.detect.alert.packet {
                det.frame.extend_from_slice(packet.data);
                det.linktype = packet.link.linktype();
            }
        }
        // Decoded in place: a `Decoded` is a few hundred bytes, not worth moving per packet.
        let mut decoded = Decoded::default();
        tapwatch_wire::decode_into(&mut decoded, packet.link, packet.data);
        let origin = Origin {
            ts: packet.ts,
            pcap_cnt: Some(pcap_cnt),
            source: PacketSource::Wire,
            direction: Direction::ToServer,
        };
        self.count_decoded(&decoded, origin);
        if decoded.ip.is_none() {
            self.detect_without_flow(&decoded, origin);
        }
        match decoded
            .ip
            .as_ref()
            .and_then(|ip| ip.fragment.map(|f| (ip, f)))
        {
            Some((ip, frag)) => {
                self.counters.fragments += 1;
                let fragment = Fragment {
                    ts: packet.ts,
                    version: ip.version,
                    src: ip.src,
                    dst: ip.dst,
                    protocol: ip.protocol,
                    id: frag.id,
                    offset: frag.offset,
                    more: frag.more,
                    header: ip.header,
                    payload: ip.payload,
                    context: context_id(&decoded),
                };
                let mut datagram = std::mem::take(&mut self.datagram);
                datagram.clear();
                let complete = match self.defrag.insert(&fragment) {
                    DefragOutcome::Complete { packet, events } => {
                        datagram.extend_from_slice(packet);
                        self.counters
                            .count_defrag_events(events.iter().map(|e| e.decode_event()));
                        true
                    }
                    DefragOutcome::Pending { events } | DefragOutcome::Dropped { events, .. } => {
                        self.counters
                            .count_defrag_events(events.iter().map(|e| e.decode_event()));
                        false
                    }
                };
                if complete {
                    let inner = tapwatch_wire::decode_ip(&datagram, &decoded);
                    let origin = Origin {
                        source: PacketSource::Defrag,
                        ..origin
                    };
                    self.count_decoded(&inner, origin);
                    self.track(&inner, datagram.len() as u32, origin);
                }
                self.datagram = datagram;
            }
            None => self.track(&decoded, packet.data.len() as u32, origin),
        }
        if self.sweep_on_packets {
            self.sweep_if_due(packet.ts);
        }
    }

    /// End of input: every flow ends, and the final records are written.
    pub fn finish(&mut self) -> std::io::Result<()> {
        let mut ended = std::mem::take(&mut self.ended);
        self.flows.drain(&mut ended);
        for flow in ended.drain(..) {
            self.end_flow(flow);
        }
        self.ended = ended;
        if self.writes_stats && self.config.eve.wants(EveType::Stats) {
            let stats = stats_record(&self.counters, &self.table_stats(), self.detect_stats());
            let env = Envelope::new(self.now, EventType::Stats);
            self.write_eve(&env, &stats);
        }
        if let Some(eve) = self.eve.as_mut() {
            eve.flush()?;
        }
        match self.eve_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The figures of the worker's tables, for a `stats` record.
    pub fn table_stats(&self) -> crate::counters::TableStats {
        crate::counters::TableStats::of(&self.flows, &self.reassembler, &self.defrag)
    }

    /// The latest packet time the worker has seen or been told of.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Sweeps flow timeouts only at [`Worker::tick`]s, not at packets. A driver of several
    /// workers ticks them all at the same points of the packet stream, so each flow times out
    /// at the same point whichever worker holds it and however many workers there are (a
    /// packet of a flow past its timeout starts a new flow at lookup either way).
    pub fn sweep_on_ticks_only(&mut self) {
        self.sweep_on_packets = false;
    }

    /// The capture's time is `now` (the time of its latest packet, or the wall clock of a
    /// live capture): flow timeouts are swept as a packet at `now` would sweep them, so the
    /// flows of a worker that receives nothing for a while still time out.
    pub fn tick(&mut self, now: Timestamp) {
        if now > self.now {
            self.now = now;
        }
        self.sweep_if_due(now);
    }

    /// Writes `stats` (a record merged over workers by the driver) to this worker's EVE.
    pub fn write_stats_record(&mut self, at: Timestamp, stats: &serde_json::Value) {
        let env = Envelope::new(at, EventType::Stats);
        self.write_eve(&env, stats);
    }

    /// Flows being tracked now.
    pub fn active_flows(&self) -> usize {
        self.flows.len()
    }

    /// Bytes of out-of-order TCP data held now, across all connections.
    pub fn stream_memory(&self) -> usize {
        self.reassembler.stats().in_use_bytes
    }

    /// Defragmentation counters, drops by reason included.
    pub fn defrag_stats(&self) -> &tapwatch_defrag::DefragStats {
        self.defrag.stats()
    }

    /// Bytes of IP fragments held now.
    pub fn defrag_memory(&self) -> usize {
        self.defrag.stats().bytes_in_use
    }

    /// The configuration the worker runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The EVE output, once the worker is done with it.
    pub fn into_eve(self) -> Option<W> {
        self.eve.map(EveWriter::into_inner)
    }

    /// EVE records written so far.
    pub fn eve_records(&self) -> u64 {
        self.eve.as_ref().map_or(0, EveWriter::records)
    }

    fn count_decoded(&mut self, decoded: &Decoded<'_>, origin: Origin) {
        self.counters.count_decoded(decoded);
        if decoded.events.is_empty() || !self.config.eve.wants_anomaly(AnomalyKind::Decode) {
            return;
        }
        for event in decoded.events.iter() {
            let env = Envelope {
                pcap_cnt: origin.pcap_cnt,
                pkt_src: Some(origin.source),
                vlan: decoded.vlan.ids(),
                ..Envelope::new(origin.ts, EventType::Anomaly)
            };
            let body = AnomalyBody {
                kind: AnomalyType::Decode,
                event: event.name(),
                app_proto: None,
            };
            self.write_eve(&env, &body);
        }
    }

    /// Flow tracking and everything after it, for a decoded (and, if need be, reassembled) packet.
    fn track(&mut self, decoded: &Decoded<'_>, wire_len: u32, origin: Origin) {
        let Some(ip) = decoded.ip.as_ref() else {
            return;
        };
        let (src_port, dst_port, tcp, icmp) = match &decoded.transport {
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
            // A transport header that should be there but could not be read (truncated or
            // malformed): the packet is counted as invalid by the decoder and not tracked.
            Transport::None if matches!(ip.protocol, 1 | 6 | 17 | 58 | 132) => {
                self.detect_without_flow(decoded, origin);
                return;
            }
            // Other protocols are flows without ports.
            Transport::None | Transport::Other(_) => (0, 0, None, None),
        };
        let vlan = decoded.vlan.ids();
        let mut vlan_ids = [0u16; 3];
        for (slot, id) in vlan_ids.iter_mut().zip(vlan) {
            *slot = *id;
        }
        let meta = PacketMeta {
            ts: origin.ts,
            src: ip.src,
            dst: ip.dst,
            src_port,
            dst_port,
            protocol: ip.protocol,
            vlan: vlan_ids,
            vlan_len: vlan.len().min(3) as u8,
            tunnel_id: decoded.tunnel.id(),
            wire_len,
            payload_len: decoded.payload.len() as u32,
            tcp,
            icmp,
        };
        let tracked = match self.flows.track(&meta, &mut self.ended) {
            Ok(t) => t,
            Err(_) => {
                self.counters.flow_table_full += 1;
                return;
            }
        };
        self.finish_ended_flows();
        if self.config.decode.checksum_validation && !self.checksums_valid(decoded) {
            // Counted with its flow, but an end host would drop it: not reassembled or parsed.
            return;
        }
        let origin = Origin {
            direction: tracked.direction,
            ..origin
        };
        self.inspect(&tracked, decoded, origin);
    }

    /// Verifies the packet's IPv4 header and transport checksums, counting bad ones.
    fn checksums_valid(&mut self, decoded: &Decoded<'_>) -> bool {
        let status = tapwatch_wire::checksum_ok(decoded);
        let transport_bad = status.transport == Checksum::Invalid;
        if transport_bad && matches!(decoded.transport, Transport::Tcp(_)) {
            self.counters.tcp_invalid_checksum += 1;
        }
        let bad = transport_bad || status.ip == Checksum::Invalid;
        if bad {
            self.counters.invalid_checksum += 1;
        }
        !bad
    }

    /// Stream reassembly and the application layer for one tracked packet.
    fn inspect(&mut self, tracked: &Tracked, decoded: &Decoded<'_>, mut origin: Origin) {
        let Some(flow) = self.flows.get_mut(tracked.handle) else {
            return;
        };
        let server_port = flow.server.1;
        match &decoded.transport {
            Transport::Tcp(t) if tracked.tcp_accept => {
                let segment = Segment {
                    ts: origin.ts,
                    seq: t.seq,
                    ack: t.ack,
                    flags: t.flags.0 as u8,
                    payload: decoded.payload,
                };
                let stream = match self.detection.as_mut() {
                    Some(d) if d.wants_stream() => {
                        d.stream.clear();
                        Some((tracked.direction, &mut d.stream))
                    }
                    _ => None,
                };
                let mut sink = AppSink {
                    app: &mut flow.user.app,
                    config: &self.app_config,
                    server_port,
                    ts: origin.ts,
                    out: &mut self.app_out,
                    events: &mut self.stream_events,
                    stream,
                };
                self.reassembler.segment(
                    &mut flow.user.streams,
                    tracked.direction,
                    &segment,
                    &mut sink,
                );
            }
            Transport::Udp(_) if !decoded.payload.is_empty() => {
                flow.user.app.on_udp(
                    &self.app_config,
                    (flow.client.1, server_port),
                    tracked.direction,
                    decoded.payload,
                    origin.ts,
                    &mut self.app_out,
                );
                let reversed = matches!(self.app_out.first(), Some(AppOutput::Reversed));
                if reversed && flow.reverse() {
                    origin.direction = origin.direction.reverse();
                }
            }
            _ => {}
        }
        for event in tracked.tcp_events.iter() {
            self.stream_events.push((tracked.direction, event));
        }
        if self.detection.is_some() {
            self.detect_flow_packet(tracked.handle, decoded, origin);
        }
        self.emit(tracked.handle, origin);
        self.note_bypassable(tracked.handle);
    }

    /// Writes the records the current packet produced for flow `handle`.
    fn emit(&mut self, handle: FlowHandle, origin: Origin) {
        if self.app_out.is_empty() && self.stream_events.is_empty() {
            return;
        }
        let Some(flow) = self.flows.get(handle) else {
            return;
        };
        let view = FlowView::of(flow);
        let mut out = std::mem::take(&mut self.app_out);
        let mut events = std::mem::take(&mut self.stream_events);
        for (dir, event) in events.drain(..) {
            self.counters.count_stream_event(event);
            if self.config.eve.wants_anomaly(AnomalyKind::Stream) {
                let env = view.envelope(
                    EventType::Anomaly,
                    Origin {
                        direction: dir,
                        ..origin
                    },
                    dir,
                    None,
                );
                let body = AnomalyBody {
                    kind: AnomalyType::Stream,
                    event: event.name(),
                    app_proto: None,
                };
                self.write_eve(&env, &body);
            }
        }
        for output in out.drain(..) {
            self.write_app_output(&view, output, origin);
        }
        self.app_out = out;
        self.stream_events = events;
    }

    fn write_app_output(&mut self, view: &FlowView, output: AppOutput, origin: Origin) {
        match output {
            // Already applied to the flow by `inspect`.
            AppOutput::Reversed => {}
            AppOutput::Detected(proto) => {
                // Suricata counts DNS and DCERPC flows per transport (`dns_udp`, `dns_tcp`).
                let name = match (proto, view.protocol) {
                    (AppProto::Dns, 17) => "dns_udp",
                    (AppProto::Dns, _) => "dns_tcp",
                    // DCERPC is only detected over TCP.
                    (AppProto::Dcerpc, _) => "dcerpc_tcp",
                    (other, _) => other.name(),
                };
                self.counters.count_app_flow(name);
            }
            AppOutput::Http(tx) => {
                self.counters.http_tx += 1;
                self.counters.files += tx.files.len() as u64;
                if self.config.eve.wants(EveType::Http) {
                    let env =
                        view.envelope(EventType::Http, origin, Direction::ToServer, Some(tx.tx_id));
                    self.write_eve(&env, &*tx);
                }
                if self.config.eve.wants(EveType::Files) {
                    for file in &tx.files {
                        // Suricata's file records have the file's direction and no top-level
                        // `tx_id` (it is in the `fileinfo` object).
                        let env = view.envelope(EventType::Fileinfo, origin, file.direction, None);
                        self.write_fileinfo(&env, ("http", &*tx), AppProto::Http.name(), file);
                    }
                }
            }
            AppOutput::Dns(rec) => {
                if view.protocol == 17 {
                    self.counters.dns_udp_tx += 1;
                } else {
                    self.counters.dns_tcp_tx += 1;
                }
                if self.config.eve.wants(EveType::Dns) {
                    let dir = if rec.message.response {
                        Direction::ToClient
                    } else {
                        Direction::ToServer
                    };
                    let env = view.envelope(EventType::Dns, origin, dir, None);
                    self.write_eve(&env, &*rec);
                }
            }
            AppOutput::Mdns(rec) => {
                self.counters.mdns_tx += 1;
                // Queries and responses both travel to port 5353: show the packet's direction.
                if self.config.eve.wants(EveType::Mdns) {
                    let env =
                        view.envelope(EventType::Mdns, origin, origin.direction, Some(rec.tx_id()));
                    self.write_eve(&env, &*rec);
                }
            }
            AppOutput::Tls(info) => {
                self.counters.tls_tx += 1;
                if self.config.eve.wants(EveType::Tls) {
                    let env = view.envelope(EventType::Tls, origin, Direction::ToServer, None);
                    self.write_eve(&env, &*info);
                }
            }
            AppOutput::Ssh(info) => {
                self.counters.ssh_tx += 1;
                if self.config.eve.wants(EveType::Ssh) {
                    let env = view.envelope(EventType::Ssh, origin, Direction::ToServer, None);
                    self.write_eve(&env, &*info);
                }
            }
            AppOutput::Mqtt(tx) => {
                self.counters.mqtt_tx += 1;
                if self.config.eve.wants(EveType::Mqtt) {
                    let env = view.envelope(EventType::Mqtt, origin, tx.direction(), None);
                    let body = tapwatch_app::MqttEve {
                        tx: &tx,
                        limit: self.config.eve.mqtt_string_log_limit_bytes,
                    };
                    self.write_eve(&env, &body);
                }
            }
            // Inspection buffers for detection; nothing is logged.
            AppOutput::Smb(_) => self.counters.smb_events += 1,
            AppOutput::FileData { data, .. } => {
                self.counters.file_data_bytes += data.len() as u64;
            }
            AppOutput::Anomaly {
                proto,
                event,
                detection,
                tx_id,
            } => {
                self.counters.count_app_event(event);
                if self.config.eve.wants_anomaly(AnomalyKind::Applayer) {
                    // Suricata parses TCP data when the receiver acknowledges it, so it logs
                    // the anomaly on the acknowledging packet, which travels the other way.
                    let on_ack = view.protocol == 6 && origin.source != PacketSource::FlowTimeout;
                    let dir = if on_ack {
                        origin.direction.reverse()
                    } else {
                        origin.direction
                    };
                    let env = view.envelope(EventType::Anomaly, origin, dir, tx_id);
                    let kind = if detection {
                        AnomalyType::AppLayerDetect
                    } else {
                        AnomalyType::AppLayerParser
                    };
                    let body = AnomalyBody {
                        kind,
                        event,
                        app_proto: proto.map(AppProto::name),
                    };
                    self.write_eve(&env, &body);
                }
            }
        }
    }

    fn finish_ended_flows(&mut self) {
        if self.ended.is_empty() {
            return;
        }
        let mut ended = std::mem::take(&mut self.ended);
        for flow in ended.drain(..) {
            self.end_flow(flow);
        }
        self.ended = ended;
    }

    /// A flow ended: flush its stream and parsers, then write its remaining records and its
    /// flow record.
    fn end_flow(&mut self, ended: EndedFlow<FlowState>) {
        let EndedFlow { mut flow, reason } = ended;
        let origin = Origin {
            ts: flow.last,
            pcap_cnt: None,
            source: PacketSource::FlowTimeout,
            direction: Direction::ToServer,
        };
        let server_port = flow.server.1;
        {
            let FlowState { streams, app, .. } = &mut flow.user;
            let mut sink = AppSink {
                app,
                config: &self.app_config,
                server_port,
                ts: flow.last,
                out: &mut self.app_out,
                events: &mut self.stream_events,
                stream: None,
            };
            self.reassembler.finish(streams, &mut sink);
            app.finish(&self.app_config, flow.last, &mut self.app_out);
        }
        if let Some(det) = self.detection.as_mut() {
            if !self.app_out.is_empty() {
                det.flow_end(&mut flow, &self.app_out);
                self.write_alerts(Some(&flow), origin, &[]);
            }
        }
        let view = FlowView::of(&flow);
        let mut out = std::mem::take(&mut self.app_out);
        self.stream_events.clear();
        for output in out.drain(..) {
            self.write_app_output(&view, output, origin);
        }
        self.app_out = out;
        self.counters.count_flow_end(&flow, reason);
        if self.config.eve.wants(EveType::Flow) {
            self.write_flow_record(&flow, reason);
        }
    }

    fn write_flow_record(&mut self, flow: &Flow<FlowState>, reason: EndReason) {
        if self.eve_error.is_some() {
            return;
        }
        let Some(eve) = self.eve.as_mut() else {
            return;
        };
        let view = FlowView::of(flow);
        let app_proto = match flow.user.app.outcome() {
            DetectOutcome::Detected(p) => Some(p.name()),
            DetectOutcome::Failed => Some("failed"),
            DetectOutcome::Pending => None,
        };
        let body = FlowBody {
            pkts_toserver: flow.to_server.packets,
            pkts_toclient: flow.to_client.packets,
            bytes_toserver: flow.to_server.bytes,
            bytes_toclient: flow.to_client.bytes,
            start: flow.start,
            end: flow.last,
            state: flow.state.name(),
            reason: match reason {
                EndReason::Timeout => "timeout",
                EndReason::Shutdown => "shutdown",
                _ => "forced",
            },
            alerted: flow.user.detect.alerted(),
        };
        let tcp = flow.tcp.as_ref().map(|s| TcpFlagsBody {
            flags_ts: s.client.flags,
            flags_tc: s.server.flags,
            state: Some(s.state.name()),
        });
        let record = FlowRecord {
            start: flow.start,
            flow_id: view.id,
            vlan: view.vlan().to_vec(),
            endpoints: view.endpoints(Direction::ToServer),
            proto: view.protocol,
            icmp: view.icmp,
            app_proto,
            body,
            tcp,
        };
        if let Err(e) = eve.write_flow_record(record) {
            self.eve_error = Some(e);
        }
    }

    /// Detection for a packet that is not tracked as part of a flow.
    fn detect_without_flow(&mut self, decoded: &Decoded<'_>, origin: Origin) {
        let Some(det) = self.detection.as_mut() else {
            return;
        };
        det.packet_without_flow(decoded, origin.ts);
        if !det.pending.is_empty() {
            let endpoints = decoded.ip.as_ref().map(|ip| {
                let ports = decoded.transport.ports();
                (
                    Endpoint {
                        ip: ip.src,
                        port: ports.map(|p| p.0),
                    },
                    Endpoint {
                        ip: ip.dst,
                        port: ports.map(|p| p.1),
                    },
                    ip.protocol,
                )
            });
            self.write_flowless_alerts(endpoints, origin, decoded.payload);
        }
    }

    /// Detection for a tracked packet and the application-layer output it produced.
    fn detect_flow_packet(&mut self, handle: FlowHandle, decoded: &Decoded<'_>, origin: Origin) {
        let Some(det) = self.detection.as_mut() else {
            return;
        };
        let Some(flow) = self.flows.get_mut(handle) else {
            return;
        };
        det.flow_packet(
            flow,
            decoded,
            origin.direction,
            origin.ts,
            &self.app_out,
            &self.stream_events,
        );
        if det.pending.is_empty() {
            return;
        }
        let Some(flow) = self.flows.get(handle) else {
            return;
        };
        // Copy what the records need so the flow table is free again.
        let snapshot = crate::detect_run::FlowSnapshot::of(flow);
        let stream = std::mem::take(&mut det.stream);
        self.write_alerts_snapshot(&snapshot, origin, decoded.payload, &stream);
        if let Some(det) = self.detection.as_mut() {
            det.stream = stream;
        }
    }

    fn write_alerts(&mut self, flow: Option<&Flow<FlowState>>, origin: Origin, payload: &[u8]) {
        if let Some(flow) = flow {
            let snapshot = crate::detect_run::FlowSnapshot::of(flow);
            self.write_alerts_snapshot(&snapshot, origin, payload, &[]);
        }
    }

    fn write_alerts_snapshot(
        &mut self,
        flow: &crate::detect_run::FlowSnapshot,
        origin: Origin,
        payload: &[u8],
        stream: &[u8],
    ) {
        let Some(det) = self.detection.take() else {
            return;
        };
        for p in &det.pending {
            let Some(info) = det.engine.sig(p.alert.sig) else {
                continue;
            };
            let dir = p.direction;
            let (src, dst) = flow.view.endpoints(dir);
            let env = Envelope {
                flow_id: Some(flow.view.id),
                pcap_cnt: origin.pcap_cnt,
                vlan: flow.view.vlan(),
                endpoints: Some((src, dst)),
                proto: Some(flow.view.protocol),
                pkt_src: Some(origin.source),
                tx_id: p.alert.tx_id,
                app_proto: flow.app_proto,
                ..Envelope::new(origin.ts, EventType::Alert)
            };
            let data: &[u8] = match p.alert.source {
                tapwatch_detect::AlertSource::Stream => stream,
                tapwatch_detect::AlertSource::Packet => payload,
                tapwatch_detect::AlertSource::Tx => &[],
            };
            let output = p.output.and_then(|i| self.app_out.get(i));
            let rest = crate::detect_run::AlertRest::new(
                &self.config.detect.alert,
                dir,
                output,
                flow,
                data,
                p.alert.source == tapwatch_detect::AlertSource::Stream,
            )
            .with_mqtt_limit(self.config.eve.mqtt_string_log_limit_bytes)
            .with_packet(
                &self.config.detect.alert,
                packet_frame(&det, origin),
                det.linktype,
            );
            let body = crate::detect_run::alert_body(&info, self.config.detect.alert.metadata);
            if self.eve_error.is_none() {
                if let Some(eve) = self.eve.as_mut() {
                    if let Err(e) = eve.write_alert(&env, &body, &rest) {
                        self.eve_error = Some(e);
                    }
                }
            }
            if let Some(x) = self.alert_export.as_mut() {
                x.send(&env, &body, &rest);
            }
        }
        self.detection = Some(det);
    }

    fn write_flowless_alerts(
        &mut self,
        endpoints: Option<(Endpoint, Endpoint, u8)>,
        origin: Origin,
        payload: &[u8],
    ) {
        let Some(det) = self.detection.take() else {
            return;
        };
        for p in &det.pending {
            let Some(info) = det.engine.sig(p.alert.sig) else {
                continue;
            };
            let env = Envelope {
                pcap_cnt: origin.pcap_cnt,
                endpoints: endpoints.map(|(s, d, _)| (s, d)),
                proto: endpoints.map(|(_, _, p)| p),
                pkt_src: Some(origin.source),
                ..Envelope::new(origin.ts, EventType::Alert)
            };
            let rest = crate::detect_run::AlertRest::flowless(&self.config.detect.alert, payload)
                .with_packet(
                    &self.config.detect.alert,
                    packet_frame(&det, origin),
                    det.linktype,
                );
            let body = crate::detect_run::alert_body(&info, self.config.detect.alert.metadata);
            if self.eve_error.is_none() {
                if let Some(eve) = self.eve.as_mut() {
                    if let Err(e) = eve.write_alert(&env, &body, &rest) {
                        self.eve_error = Some(e);
                    }
                }
            }
            if let Some(x) = self.alert_export.as_mut() {
                x.send(&env, &body, &rest);
            }
        }
        self.detection = Some(det);
    }

    fn sweep_if_due(&mut self, ts: Timestamp) {
        let due = self.next_sweep.is_none_or(|next| ts >= next);
        if !due {
            return;
        }
        self.next_sweep = Some(ts.add(std::time::Duration::from_secs(1)));
        self.defrag.expire(ts);
        let mut ended = std::mem::take(&mut self.ended);
        self.flows.expire(ts, &mut ended);
        self.ended = ended;
        self.finish_ended_flows();
        // The EVE output's records go on once a second of packet time rather than only when
        // a chunk is full: a quiet live sensor's records reach the file within a second or so.
        if self.eve_error.is_none() {
            if let Some(eve) = self.eve.as_mut() {
                if let Err(e) = eve.get_mut().hand_over() {
                    self.eve_error = Some(e);
                }
            }
        }
    }

    fn write_fileinfo<A: serde::Serialize + ?Sized>(
        &mut self,
        env: &Envelope<'_>,
        app: (&str, &A),
        app_proto: &str,
        file: &tapwatch_http::FileInfo,
    ) {
        if self.eve_error.is_some() {
            return;
        }
        if let Some(eve) = self.eve.as_mut() {
            if let Err(e) = eve.write_fileinfo(env, app, app_proto, file) {
                self.eve_error = Some(e);
            }
        }
    }

    fn write_eve<B: serde::Serialize + ?Sized>(&mut self, env: &Envelope<'_>, body: &B) {
        if self.eve_error.is_some() {
            return;
        }
        if let Some(eve) = self.eve.as_mut() {
            if let Err(e) = eve.write(env, body) {
                self.eve_error = Some(e);
            }
        }
    }
}

/// The EVE `stats` object for `counters`, `tables` and, with detection, `detect`.
pub fn stats_record(
    counters: &Counters,
    tables: &crate::counters::TableStats,
    detect: Option<tapwatch_detect::DetectStats>,
) -> serde_json::Value {
    let mut stats = counters.stats_record(tables);
    if let (Some(det), Some(obj)) = (detect, stats.as_object_mut()) {
        obj.insert("detect".into(), crate::detect_run::stats_json(&det));
    }
    stats
}

/// What a record needs to know of its flow, copied out so the flow table is free again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowView {
    id: u64,
    client: Endpoint,
    server: Endpoint,
    protocol: u8,
    vlan: [u16; 3],
    vlan_len: u8,
    icmp: Option<(u8, u8)>,
}

impl FlowView {
    pub(crate) fn of(flow: &Flow<FlowState>) -> Self {
        let has_ports = matches!(flow.protocol, 6 | 17 | 132);
        let endpoint = |(ip, port): (std::net::IpAddr, u16)| Endpoint {
            ip,
            port: has_ports.then_some(port),
        };
        Self {
            id: flow.id,
            client: endpoint(flow.client),
            server: endpoint(flow.server),
            protocol: flow.protocol,
            vlan: flow.vlan,
            vlan_len: flow.vlan_len,
            icmp: None,
        }
    }

    pub(crate) fn vlan(&self) -> &[u16] {
        self.vlan.get(..usize::from(self.vlan_len)).unwrap_or(&[])
    }

    /// Source and destination for a record about data travelling in `dir`.
    pub(crate) fn endpoints(&self, dir: Direction) -> (Endpoint, Endpoint) {
        match dir {
            Direction::ToServer => (self.client, self.server),
            Direction::ToClient => (self.server, self.client),
        }
    }

    fn envelope(
        &self,
        event_type: EventType,
        origin: Origin,
        dir: Direction,
        tx_id: Option<u64>,
    ) -> Envelope<'_> {
        Envelope {
            flow_id: Some(self.id),
            pcap_cnt: origin.pcap_cnt,
            vlan: self.vlan(),
            endpoints: Some(self.endpoints(dir)),
            proto: Some(self.protocol),
            pkt_src: Some(origin.source),
            tx_id,
            ..Envelope::new(origin.ts, event_type)
        }
    }
}

/// The frame of the packet that caused a record (none at a flow's end).
fn packet_frame(det: &crate::detect_run::Detection, origin: Origin) -> &[u8] {
    if origin.source == PacketSource::FlowTimeout {
        &[]
    } else {
        &det.frame
    }
}

/// Feeds reassembled stream data to a flow's application layer.
struct AppSink<'a> {
    app: &'a mut AppFlow,
    config: &'a AppConfig,
    server_port: u16,
    ts: Timestamp,
    out: &'a mut Vec<AppOutput>,
    events: &'a mut Vec<(Direction, StreamEvent)>,
    /// Where to copy the in-order data of one direction for stream inspection.
    stream: Option<(Direction, &'a mut Vec<u8>)>,
}

impl StreamSink for AppSink<'_> {
    fn data(&mut self, dir: Direction, data: &[u8]) {
        if let Some((d, buf)) = self.stream.as_mut() {
            if *d == dir {
                buf.extend_from_slice(data);
            }
        }
        self.app
            .on_stream_data(self.config, self.server_port, dir, data, self.ts, self.out);
    }

    fn gap(&mut self, dir: Direction, len: u64) {
        self.app.on_stream_gap(dir, len, self.out);
    }

    fn event(&mut self, dir: Direction, event: StreamEvent) {
        self.events.push((dir, event));
    }
}

/// A stable id for the VLAN and tunnel context of a packet, so that fragments from different
/// contexts never combine.
fn context_id(decoded: &Decoded<'_>) -> u64 {
    let mut id = decoded.tunnel.id();
    for vlan in decoded.vlan.ids() {
        id = id.rotate_left(13) ^ u64::from(*vlan);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// An EVE output that counts its hand-overs.
    #[derive(Default)]
    struct Counting(Arc<AtomicUsize>);

    impl std::io::Write for Counting {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl RecordSink for Counting {
        fn hand_over(&mut self) -> std::io::Result<()> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn the_eve_output_is_handed_over_once_a_second_of_packet_time() {
        let sink = Counting::default();
        let count = Arc::clone(&sink.0);
        let mut worker = Worker::new(Config::default(), Some(sink));
        // Ticks every 100 ms for 3 s (as live capture sends them), then a gap.
        for tenth in 0..30 {
            worker.tick(Timestamp::new(
                1_000 + tenth / 10,
                (tenth % 10) as u32 * 100_000_000,
            ));
        }
        assert_eq!(count.load(Ordering::SeqCst), 3, "at 1000, 1001 and 1002 s");
        worker.tick(Timestamp::new(1_010, 0));
        assert_eq!(count.load(Ordering::SeqCst), 4);
    }
}
