//! Detection inside the worker: what the detector is shown for each packet and each
//! application-layer output, and the alert records written for its matches.
//!
//! For every tracked packet the detector sees the packet (headers, payload, decoder, stream
//! and application-layer events) together with the reassembled TCP data the packet completed
//! in its direction; then each transaction, handshake or file chunk the application layer
//! produced for it, one side at a time (request side first). A transaction is inspected
//! once per side, so a rule alerts at most once per transaction side.

use std::sync::Arc;

use tapwatch_app::{AppOutput, DetectOutcome};
use tapwatch_common::{DecodeEvent, Direction, StreamEvent, Timestamp};
use tapwatch_detect::verify::{IcmpFacts, PacketFacts, TcpFacts};
use tapwatch_detect::{
    Alert, AppState, Buffers, Detector, Engine, EngineError, FlowFacts, PacketInput, TxInput,
};
use tapwatch_flow::{Flow, FlowState as FlowTcpState};
use tapwatch_rules::Buffer;
use tapwatch_wire::{Decoded, Transport};

use crate::worker::FlowState;

/// An alert waiting to be written, with what its record needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingAlert {
    pub alert: Alert,
    /// Index of the application-layer output it matched in (transaction alerts).
    pub output: Option<usize>,
    /// Direction of the data that matched.
    pub direction: Direction,
}

/// The worker's detection state.
#[derive(Debug)]
pub(crate) struct Detection {
    pub engine: Arc<Engine>,
    pub detector: Detector,
    pub alerts: Vec<Alert>,
    pub pending: Vec<PendingAlert>,
    buffers: Buffers,
    /// Reassembled data the current packet completed in its own direction.
    pub stream: Vec<u8>,
    /// The current frame and its link type, kept only when alerts carry `packet`.
    pub frame: Vec<u8>,
    /// Link type of `frame`.
    pub linktype: u32,
    decode_events: Vec<DecodeEvent>,
    stream_events: Vec<StreamEvent>,
    app_events: Vec<String>,
    /// `[app.tls] encryption_handling = "full"`: encrypted payload is inspected too.
    inspect_encrypted: bool,
}

/// The app state of a flow.
pub(crate) fn app_state(flow: &Flow<FlowState>) -> AppState {
    match flow.user.app_outcome() {
        DetectOutcome::Detected(p) => AppState::Detected(p),
        DetectOutcome::Failed => AppState::Failed,
        DetectOutcome::Pending => AppState::Unknown,
    }
}

/// Header facts of a decoded packet.
fn facts(decoded: &Decoded<'_>) -> PacketFacts {
    let mut f = PacketFacts {
        dsize: decoded.payload.len(),
        ..PacketFacts::default()
    };
    if let Some(ip) = &decoded.ip {
        f.ttl = ip.ttl;
        f.tos = ip.tos;
        f.ip_proto = ip.protocol;
        f.same_ip = ip.src == ip.dst;
        if ip.version == 4 {
            f.ip_id = Some(ip.id as u16);
            let mut bits = 0;
            if ip.dont_fragment {
                bits |= 0x02;
            }
            if let Some(frag) = ip.fragment {
                if frag.more {
                    bits |= 0x01;
                }
                f.frag_offset = (frag.offset / 8) as u16;
            }
            f.frag_bits = bits;
        }
    }
    match &decoded.transport {
        Transport::Tcp(t) => {
            f.tcp = Some(TcpFacts {
                flags: t.flags.0 as u8,
                seq: t.seq,
                ack: t.ack,
                window: t.window,
                mss: t.options.mss,
            });
        }
        Transport::Icmpv4(i) | Transport::Icmpv6(i) => {
            f.icmp = Some(IcmpFacts {
                icmp_type: i.icmp_type,
                code: i.code,
                id: i.id,
                seq: i.seq,
            });
        }
        _ => {}
    }
    f
}

/// A packet input for `decoded` (without flow facts or events).
fn packet_input<'a>(decoded: &'a Decoded<'a>, ts: Timestamp) -> PacketInput<'a> {
    let mut pkt = PacketInput::undecoded(ts, &[]);
    let Some(ip) = &decoded.ip else { return pkt };
    let (sp, dp) = decoded.transport.ports().unwrap_or((0, 0));
    pkt.src = Some((ip.src, sp));
    pkt.dst = Some((ip.dst, dp));
    pkt.ip_proto = Some(ip.protocol);
    pkt.facts = facts(decoded);
    pkt.payload = decoded.payload;
    if ip.version == 4 {
        pkt.headers.ipv4 = ip.header;
    } else {
        pkt.headers.ipv6 = ip.header;
    }
    match &decoded.transport {
        Transport::Tcp(t) => pkt.headers.tcp = t.header,
        Transport::Udp(_) => pkt.headers.udp = ip.payload.get(..8).unwrap_or(&[]),
        Transport::Icmpv4(i) => pkt.headers.icmpv4 = i.header,
        Transport::Icmpv6(i) => pkt.headers.icmpv6 = i.header,
        _ => {}
    }
    pkt
}

impl Detection {
    /// Detection state for one worker; `inspect_encrypted` keeps inspecting the payload of
    /// flows once it is encrypted.
    pub fn new(
        engine: Arc<Engine>,
        host: Arc<tapwatch_detect::HostState>,
        inspect_encrypted: bool,
    ) -> Result<Self, EngineError> {
        let detector = Detector::with_host_state(&engine, host)?;
        Ok(Self::with_detector(engine, detector, inspect_encrypted))
    }

    /// Detection state for one worker running `engine` through `detector` (built for it).
    pub fn with_detector(engine: Arc<Engine>, detector: Detector, inspect_encrypted: bool) -> Self {
        Self {
            detector,
            engine,
            alerts: Vec::new(),
            pending: Vec::new(),
            buffers: Buffers::new(),
            stream: Vec::new(),
            frame: Vec::new(),
            linktype: 0,
            decode_events: Vec::new(),
            stream_events: Vec::new(),
            app_events: Vec::new(),
            inspect_encrypted,
        }
    }

    /// Runs `engine` through `detector` (built for it) from the next packet on, keeping the
    /// counters. Called between packets, when no alert is pending: every alert of the
    /// running engine has been written.
    pub fn replace_engine(&mut self, engine: Arc<Engine>, mut detector: Detector) {
        detector.continue_counts_of(&self.detector);
        self.engine = engine;
        self.detector = detector;
    }

    /// Whether stream data should be collected for inspection.
    pub fn wants_stream(&self) -> bool {
        self.engine.wants_stream()
    }

    /// A packet that belongs to no flow (undecoded, or not tracked): decoder events and
    /// packet rules without flow conditions.
    pub fn packet_without_flow(&mut self, decoded: &Decoded<'_>, ts: Timestamp) {
        self.pending.clear();
        self.decode_events.clear();
        // Iterating a set visits every kind of event: skipped for the usual empty set.
        if !decoded.events.is_empty() {
            self.decode_events.extend(decoded.events.iter());
        }
        let mut pkt = packet_input(decoded, ts);
        pkt.decode_events = &self.decode_events;
        self.alerts.clear();
        self.detector
            .inspect_packet(&self.engine, &pkt, None, &mut self.alerts);
        for a in self.alerts.drain(..) {
            self.pending.push(PendingAlert {
                alert: a,
                output: None,
                direction: Direction::ToServer,
            });
        }
    }

    /// A tracked packet of `flow` travelling in `dir`, and the application-layer outputs it
    /// produced. Alerts are left in `self.pending`.
    pub fn flow_packet(
        &mut self,
        flow: &mut Flow<FlowState>,
        decoded: &Decoded<'_>,
        dir: Direction,
        ts: Timestamp,
        outputs: &[AppOutput],
        stream_events: &[(Direction, StreamEvent)],
    ) {
        self.pending.clear();
        self.decode_events.clear();
        // Iterating a set visits every kind of event: skipped for the usual empty set.
        if !decoded.events.is_empty() {
            self.decode_events.extend(decoded.events.iter());
        }
        self.stream_events.clear();
        self.stream_events
            .extend(stream_events.iter().map(|&(_, e)| e));
        self.app_events.clear();
        for out in outputs {
            if let AppOutput::Anomaly {
                proto,
                event,
                detection,
                ..
            } = out
            {
                // Protocol detection's events are engine events (`applayer_...`), named
                // without a protocol in rules; parser events are `proto.event`.
                let name = match proto {
                    Some(p) if !*detection => format!("{p}.{}", event.to_ascii_lowercase()),
                    _ => event.to_ascii_lowercase(),
                };
                self.app_events.push(name);
            }
        }
        let stream = std::mem::take(&mut self.stream);
        let decode_events = std::mem::take(&mut self.decode_events);
        let stream_events = std::mem::take(&mut self.stream_events);
        let app_event_names = std::mem::take(&mut self.app_events);
        let app_events: Vec<&str> = app_event_names.iter().map(String::as_str).collect();
        let facts = FlowFacts {
            direction: dir,
            established: flow.state != FlowTcpState::New,
            app: app_state(flow),
            payload_off: !self.inspect_encrypted && flow.user.encrypted(),
        };
        let mut pkt = packet_input(decoded, ts);
        pkt.flow = Some(facts);
        pkt.stream = &stream;
        pkt.decode_events = &decode_events;
        pkt.stream_events = &stream_events;
        pkt.app_events = &app_events;
        self.alerts.clear();
        let state = flow.user.detect_mut();
        self.detector
            .inspect_packet(&self.engine, &pkt, Some(&mut *state), &mut self.alerts);
        for a in self.alerts.drain(..) {
            self.pending.push(PendingAlert {
                alert: a,
                output: None,
                direction: dir,
            });
        }
        for (i, out) in outputs.iter().enumerate() {
            self.inspect_output(i, out, &pkt, state);
        }
        drop(app_events);
        self.stream = stream;
        self.decode_events = decode_events;
        self.stream_events = stream_events;
        self.app_events = app_event_names;
    }

    /// The outputs produced at the end of a flow (no packet).
    pub fn flow_end(&mut self, flow: &mut Flow<FlowState>, outputs: &[AppOutput]) {
        self.pending.clear();
        let facts = FlowFacts {
            direction: Direction::ToServer,
            established: flow.state != FlowTcpState::New,
            app: app_state(flow),
            payload_off: !self.inspect_encrypted && flow.user.encrypted(),
        };
        let mut pkt = PacketInput::undecoded(flow.last, &[]);
        pkt.src = Some(flow.client);
        pkt.dst = Some(flow.server);
        pkt.ip_proto = Some(flow.protocol);
        pkt.flow = Some(facts);
        let state = flow.user.detect_mut();
        for (i, out) in outputs.iter().enumerate() {
            self.inspect_output(i, out, &pkt, state);
        }
    }

    fn inspect_output(
        &mut self,
        index: usize,
        out: &AppOutput,
        pkt: &PacketInput<'_>,
        state: &mut tapwatch_detect::FlowDetect,
    ) {
        let proto = match pkt.flow.map(|f| f.app) {
            Some(AppState::Detected(p)) => p,
            _ => return,
        };
        if !self.engine.has_tx_rules(proto) {
            return;
        }
        self.buffers.clear();
        let (tx_id, sides): (u64, &[Direction]) = match out {
            AppOutput::Http(tx) => {
                crate::detect_buffers::http(&self.engine, tx, &mut self.buffers);
                let sides: &[Direction] = if tx.response.is_some() {
                    &[Direction::ToServer, Direction::ToClient]
                } else {
                    &[Direction::ToServer]
                };
                (tx.tx_id, sides)
            }
            AppOutput::Dns(rec) => {
                let dir = if rec.message.response {
                    Direction::ToClient
                } else {
                    Direction::ToServer
                };
                crate::detect_buffers::dns(&self.engine, &rec.message, dir, &mut self.buffers);
                let sides: &[Direction] = if rec.message.response {
                    &[Direction::ToClient]
                } else {
                    &[Direction::ToServer]
                };
                (rec.tx_id, sides)
            }
            AppOutput::Tls(info) => {
                crate::detect_buffers::tls(&self.engine, info, &mut self.buffers);
                (0, &[Direction::ToServer, Direction::ToClient])
            }
            AppOutput::Smb(ev) => {
                let dir = ev.dir;
                if let Some(p) = &ev.named_pipe {
                    self.buffers.push(Buffer::SmbNamedPipe, dir, p);
                }
                if let Some(s) = &ev.share {
                    self.buffers.push(Buffer::SmbShare, dir, s);
                }
                (0, &[Direction::ToServer, Direction::ToClient])
            }
            AppOutput::Mqtt(tx) => {
                crate::detect_buffers::mqtt(&self.engine, tx, &mut self.buffers);
                // All of a transaction's buffers are inspected together on its to-server side
                // (rules that ask for the to-client side see them there).
                (tx.tx_id, &[Direction::ToServer, Direction::ToClient])
            }
            AppOutput::FileData { dir, data, .. } => {
                let d = *dir;
                self.buffers.push(Buffer::FileData, d, data);
                let sides: &[Direction] = match d {
                    Direction::ToServer => &[Direction::ToServer],
                    Direction::ToClient => &[Direction::ToClient],
                };
                (0, sides)
            }
            _ => return,
        };
        if self.buffers.is_empty() {
            return;
        }
        for &side in sides {
            let tx = TxInput {
                tx_id,
                direction: side,
                buffers: &self.buffers,
            };
            self.alerts.clear();
            self.detector
                .inspect_tx(&self.engine, pkt, &tx, state, &mut self.alerts);
            for a in self.alerts.drain(..) {
                self.pending.push(PendingAlert {
                    alert: a,
                    output: Some(index),
                    direction: side,
                });
            }
        }
    }
}

/// What an alert record needs of its flow, copied out of the flow table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowSnapshot {
    pub view: crate::worker::FlowView,
    pub app_proto: Option<&'static str>,
    pub flow: tapwatch_eve::AlertFlow,
}

impl FlowSnapshot {
    pub fn of(flow: &Flow<FlowState>) -> Self {
        let has_ports = matches!(flow.protocol, 6 | 17 | 132);
        let app_proto = match flow.user.app_outcome() {
            DetectOutcome::Detected(p) => Some(p.name()),
            DetectOutcome::Failed => Some("failed"),
            DetectOutcome::Pending => None,
        };
        Self {
            view: crate::worker::FlowView::of(flow),
            app_proto,
            flow: tapwatch_eve::AlertFlow {
                pkts_toserver: flow.to_server.packets,
                pkts_toclient: flow.to_client.packets,
                bytes_toserver: flow.to_server.bytes,
                bytes_toclient: flow.to_client.bytes,
                start: flow.start,
                src_ip: flow.client.0,
                dest_ip: flow.server.0,
                src_port: has_ports.then_some(flow.client.1),
                dest_port: has_ports.then_some(flow.server.1),
            },
        }
    }
}

/// The fields of an alert record after `alert`, in Suricata's order.
#[derive(Debug)]
pub(crate) struct AlertRest<'a> {
    pub direction: Option<&'static str>,
    pub http: Option<&'a tapwatch_http::HttpTransaction>,
    pub dns: Option<&'a tapwatch_dns::DnsRecord>,
    pub tls: Option<&'a tapwatch_tls::TlsInfo>,
    pub mqtt: Option<tapwatch_app::MqttEve<'a>>,
    pub flow: Option<tapwatch_eve::AlertFlow>,
    pub payload: Option<String>,
    payload_printable: Option<String>,
    pub stream: Option<u8>,
    packet: Option<String>,
    /// `packet_info.linktype` of an alert carrying `packet`.
    packet_linktype: Option<u32>,
    /// The bytes `payload` is the base64 of (kept for the exporter).
    pub data: &'a [u8],
}

impl tapwatch_eve::AlertFields for AlertRest<'_> {
    fn write_fields(&self, out: &mut Vec<u8>) {
        use tapwatch_eve::{push_json_str, push_key, push_u64};
        /// An application-layer object through its `Serialize` form.
        fn object<T: serde::Serialize>(out: &mut Vec<u8>, key: &str, value: Option<&T>) {
            if let Some(v) = value {
                push_key(out, key);
                // Serialising into a Vec fails only on a map with non-string keys, which these
                // objects do not have; `null` keeps the line valid JSON should it happen.
                if serde_json::to_writer(&mut *out, v).is_err() {
                    out.extend_from_slice(b"null");
                }
            }
        }
        if let Some(d) = self.direction {
            push_key(out, "direction");
            push_json_str(out, d);
        }
        object(out, "http", self.http);
        object(out, "dns", self.dns);
        object(out, "tls", self.tls);
        object(out, "mqtt", self.mqtt.as_ref());
        if let Some(f) = &self.flow {
            push_key(out, "flow");
            f.write_json(out);
        }
        for (key, value) in [
            ("payload", &self.payload),
            ("payload_printable", &self.payload_printable),
        ] {
            if let Some(v) = value {
                push_key(out, key);
                push_json_str(out, v);
            }
        }
        if let Some(s) = self.stream {
            push_key(out, "stream");
            push_u64(out, u64::from(s));
        }
        if let Some(p) = &self.packet {
            push_key(out, "packet");
            push_json_str(out, p);
        }
        if let Some(l) = self.packet_linktype {
            push_key(out, "packet_info");
            out.extend_from_slice(b"{\"linktype\":");
            push_u64(out, u64::from(l));
            out.push(b'}');
        }
    }
}

impl<'a> AlertRest<'a> {
    pub fn new(
        opts: &crate::config::AlertSection,
        dir: Direction,
        output: Option<&'a AppOutput>,
        flow: &FlowSnapshot,
        data: &'a [u8],
        stream: bool,
    ) -> Self {
        let mut rest = Self::flowless(opts, data);
        rest.direction = Some(match dir {
            Direction::ToServer => "to_server",
            Direction::ToClient => "to_client",
        });
        if opts.metadata {
            match output {
                Some(AppOutput::Http(tx)) => rest.http = Some(tx),
                Some(AppOutput::Dns(rec)) => rest.dns = Some(rec),
                Some(AppOutput::Tls(info)) => rest.tls = Some(info),
                Some(AppOutput::Mqtt(tx)) => {
                    rest.mqtt = Some(tapwatch_app::MqttEve {
                        tx,
                        limit: tapwatch_mqtt::DEFAULT_STRING_LOG_LIMIT,
                    })
                }
                _ => {}
            }
        }
        rest.flow = Some(flow.flow);
        if opts.payload || opts.payload_printable {
            rest.stream = Some(u8::from(stream));
        }
        rest
    }

    pub fn flowless(opts: &crate::config::AlertSection, data: &'a [u8]) -> Self {
        Self {
            direction: None,
            http: None,
            dns: None,
            tls: None,
            mqtt: None,
            flow: None,
            payload: opts.payload.then(|| tapwatch_eve::base64(data)),
            payload_printable: opts
                .payload_printable
                .then(|| tapwatch_eve::printable(data)),
            stream: None,
            packet: None,
            packet_linktype: None,
            data,
        }
    }

    /// Cuts the strings of the `mqtt` object at `limit` bytes (`[eve]
    /// mqtt_string_log_limit_bytes`).
    pub fn with_mqtt_limit(mut self, limit: usize) -> Self {
        if let Some(m) = self.mqtt.as_mut() {
            m.limit = limit;
        }
        self
    }

    /// Adds `packet` (the frame, base64) and `packet_info` when configured and known.
    pub fn with_packet(
        mut self,
        opts: &crate::config::AlertSection,
        frame: &[u8],
        linktype: u32,
    ) -> Self {
        if opts.packet && !frame.is_empty() {
            self.packet = Some(tapwatch_eve::base64(frame));
            self.packet_linktype = Some(linktype);
        }
        self
    }
}

/// The `alert` object of a rule.
pub(crate) fn alert_body<'a>(
    info: &tapwatch_detect::SigInfo<'a>,
    metadata: bool,
) -> tapwatch_eve::AlertBody<'a> {
    let s = info.signature;
    tapwatch_eve::AlertBody {
        action: "allowed",
        gid: s.id.gid,
        signature_id: s.id.sid,
        rev: s.id.rev,
        signature: &s.msg,
        category: s.category.as_deref(),
        severity: s.priority,
        metadata: metadata.then_some(info.metadata),
    }
}

/// `stats.detect`, with Suricata's counter names.
pub(crate) fn stats_json(s: &tapwatch_detect::DetectStats) -> serde_json::Value {
    serde_json::json!({
        "alert": s.alerts,
        "alerts_suppressed": s.alerts_suppressed,
        "matches": s.matches,
        "candidates": s.candidates,
        "threshold_table_full": s.threshold_table_full,
        "xbits_table_full": s.xbits_table_full,
        "flow_vars_full": s.flow_vars_full,
        "scan_errors": s.scan_errors,
    })
}
