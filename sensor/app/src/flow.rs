//! Per-flow application-layer state: detection, then the chosen parser.

use tapwatch_common::{Direction, Timestamp};
use tapwatch_dns::{DnsConfig, DnsEvent, DnsFlow, DnsRecord, MdnsRecord};
use tapwatch_http::{HttpConfig, HttpEvent, HttpParser, HttpTransaction};
use tapwatch_tls::{TlsConfig, TlsEvent, TlsInfo, TlsParser};

use tapwatch_common::Probe;
use tapwatch_mqtt::{MqttConfig, MqttEvent, MqttParser, MqttTransaction};
use tapwatch_smb::{SmbEvent, SmbOutput, SmbParser};
use tapwatch_ssh::{SshEvent, SshInfo, SshParser};

use crate::detect::{
    confirm_tcp, detect_tcp, probe_foreign, tcp_probe_order, AppProto, DetectOutcome, DetectStep,
};

/// Suricata's event when a flow's protocol was detected in one direction and the other
/// direction's first data is no known protocol.
const ONLY_ONE_DIRECTION: &str = "APPLAYER_DETECT_PROTOCOL_ONLY_ONE_DIRECTION";
/// Suricata's event when the two directions of a flow look like different protocols.
const MISMATCH_BOTH_DIRECTIONS: &str = "APPLAYER_MISMATCH_PROTOCOL_BOTH_DIRECTIONS";

/// The mDNS port (RFC 6762).
const MDNS_PORT: u16 = 5353;

/// Whether DNS on a UDP flow between these ports is mDNS: port 5353 on either side, and not
/// port 53, which wins as Suricata 8 decides it (a resolver queried from source port 5353
/// is plain DNS).
fn is_mdns(ports: (u16, u16)) -> bool {
    let has = |p: u16| ports.0 == p || ports.1 == p;
    has(MDNS_PORT) && !has(DNS_PORT)
}

/// The DNS port.
const DNS_PORT: u16 = 53;

/// Whether a UDP flow between these ports is probed for DNS at all. Suricata's default
/// configuration registers the UDP DNS probe for port 53 only
/// (`app-layer.protocols.dns.udp.detection-ports: dp: 53`; a flow seen first from the
/// server's side has 53 as its client port), and mDNS for port 5353: DNS-shaped datagrams on
/// other ports (DNSCrypt on 443, for one) are not DNS.
fn is_dns_port(ports: (u16, u16)) -> bool {
    ports.0 == DNS_PORT || ports.1 == DNS_PORT || is_mdns(ports)
}

/// Limits and parser settings for the application layer (one per worker, shared by its flows).
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Bytes kept per direction while the protocol is not yet known; past this, detection gives up.
    pub detection_buffer_bytes: usize,
    /// HTTP parser settings.
    pub http: HttpConfig,
    /// TLS parser settings.
    pub tls: TlsConfig,
    /// DNS parser settings.
    pub dns: DnsConfig,
    /// MQTT detection and parser settings.
    pub mqtt: MqttSettings,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            detection_buffer_bytes: 4096,
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            dns: DnsConfig::default(),
            mqtt: MqttSettings::default(),
        }
    }
}

/// MQTT's settings, as Suricata's `app-layer.protocols.mqtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttSettings {
    /// Whether MQTT is detected and parsed at all.
    pub enabled: bool,
    /// Server ports probed for MQTT first, where any well-formed MQTT packet (not only a
    /// CONNECT) identifies it (Suricata's `detection-ports`, 1883 by default).
    pub detection_ports: Vec<u16>,
    /// Parser limits.
    pub parser: MqttConfig,
}

impl Default for MqttSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            detection_ports: vec![tapwatch_mqtt::DEFAULT_PORT],
            parser: MqttConfig::default(),
        }
    }
}

/// The transport a flow's data comes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Reassembled TCP stream data.
    Tcp,
    /// UDP datagrams.
    Udp,
}

/// Whether a DNS message has its QR bit set.
fn is_dns_response(payload: &[u8]) -> bool {
    payload.get(2).is_some_and(|flags| flags & 0x80 != 0)
}

/// What the application layer produced for the caller to log or inspect.
#[derive(Debug)]
pub enum AppOutput {
    /// The flow's first packet was a reply: the caller should swap the flow's client and
    /// server (`Flow::reverse`). Comes before any other output of the same packet, which
    /// already treats the packet as travelling to the client.
    Reversed,
    /// The flow's protocol was recognised.
    Detected(AppProto),
    /// A finished HTTP transaction.
    Http(Box<HttpTransaction>),
    /// A DNS message.
    Dns(Box<DnsRecord>),
    /// A DNS message on an mDNS flow (logged as EVE `mdns`).
    Mdns(Box<MdnsRecord>),
    /// A TLS handshake, as far as it was seen.
    Tls(Box<TlsInfo>),
    /// An SSH session's identification strings (logged as EVE `ssh`), once both were seen,
    /// or at the end of the flow.
    Ssh(Box<SshInfo>),
    /// An SMB tree connect or create: the share, named pipe or file name.
    Smb(Box<SmbEvent>),
    /// An MQTT transaction, once complete (or at the end of the flow as it stands).
    Mqtt(Box<MqttTransaction>),
    /// A piece of a file carried by the protocol (SMB reads and writes), for `file_data`.
    /// At most [`tapwatch_smb::FILE_DATA_LIMIT`] bytes per file are handed out.
    FileData {
        /// The protocol that carried it.
        proto: AppProto,
        /// The direction the data travelled.
        dir: Direction,
        /// The file within the flow.
        file_id: u64,
        /// The offset of `data` within the file.
        offset: u64,
        /// The bytes (empty when only `complete` is news).
        data: Vec<u8>,
        /// The file is closed: no more data will come for it.
        complete: bool,
    },
    /// An application-layer anomaly.
    Anomaly {
        /// The protocol whose parser or detector raised it, if known.
        proto: Option<AppProto>,
        /// Suricata's event name (`RESPONSE_HEADER_REPETITION`, ...).
        event: &'static str,
        /// True for protocol-detection anomalies, false for parser anomalies.
        detection: bool,
        /// The transaction it belongs to, if any.
        tx_id: Option<u64>,
    },
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Detecting,
    Http(Box<HttpParser>),
    Tls(Box<TlsParser>),
    Dns(Box<DnsFlow>),
    Mdns(Box<DnsFlow>),
    Ssh(Box<SshParser>),
    Smb(Box<SmbParser>),
    Mqtt(Box<MqttParser>),
    /// A protocol detected without a parser (FTP, SMTP, DCERPC).
    Detected(AppProto),
    /// No parser recognised the data; the flow's bytes are no longer looked at here.
    Failed,
}

/// Application-layer state of one flow.
#[derive(Debug, Default)]
pub struct AppFlow {
    state: State,
    /// First bytes of each direction, kept while detecting (index: [`Direction::index`]).
    pending: [Vec<u8>; 2],
    /// Directions whose first bytes all probes rejected.
    rejected: [bool; 2],
    /// A TLS record was already logged for this flow.
    tls_logged: bool,
    /// The SSH record was already logged for this flow.
    ssh_logged: bool,
    /// After detection, the check of the other direction's first bytes.
    cross: CrossCheck,
}

/// After a TCP flow's protocol is detected from one direction, the first bytes of the other
/// direction are probed too: the same protocol is expected there. The parser gets the data
/// either way; only the detection anomaly depends on the answer.
#[derive(Debug, Default)]
enum CrossCheck {
    /// No protocol detected yet, or not a TCP flow.
    #[default]
    Idle,
    /// Waiting for enough of `dir`'s first bytes (kept in `buf`, bounded by
    /// [`AppConfig::detection_buffer_bytes`]) to decide.
    Waiting {
        dir: Direction,
        proto: AppProto,
        buf: Vec<u8>,
    },
    /// Decided, or given up (a gap before the first bytes).
    Done,
}

impl AppFlow {
    /// The detection outcome so far.
    pub fn outcome(&self) -> DetectOutcome {
        match self.state {
            State::Detecting => DetectOutcome::Pending,
            State::Http(_) => DetectOutcome::Detected(AppProto::Http),
            State::Tls(_) => DetectOutcome::Detected(AppProto::Tls),
            State::Dns(_) => DetectOutcome::Detected(AppProto::Dns),
            State::Mdns(_) => DetectOutcome::Detected(AppProto::Mdns),
            State::Ssh(_) => DetectOutcome::Detected(AppProto::Ssh),
            State::Smb(_) => DetectOutcome::Detected(AppProto::Smb),
            State::Mqtt(_) => DetectOutcome::Detected(AppProto::Mqtt),
            State::Detected(p) => DetectOutcome::Detected(p),
            State::Failed => DetectOutcome::Failed,
        }
    }

    /// The TLS handshake seen so far, for inspection before it is logged.
    pub fn tls(&self) -> Option<&TlsInfo> {
        match &self.state {
            State::Tls(p) => Some(p.info()),
            _ => None,
        }
    }

    /// Whether the flow now carries encrypted application data (TLS after both sides'
    /// ChangeCipherSpec and the first application data record).
    pub fn encrypted(&self) -> bool {
        match &self.state {
            State::Tls(p) => p.encrypted(),
            _ => false,
        }
    }

    /// The SSH session seen so far, for inspection.
    pub fn ssh(&self) -> Option<&SshInfo> {
        match &self.state {
            State::Ssh(p) => Some(p.info()),
            _ => None,
        }
    }

    /// In-order TCP stream bytes travelling in `dir`. `server_port` orders the probes.
    pub fn on_stream_data(
        &mut self,
        cfg: &AppConfig,
        server_port: u16,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<AppOutput>,
    ) {
        if data.is_empty() {
            return;
        }
        if let State::Detecting = self.state {
            self.detect_stream(cfg, server_port, dir, data, ts, out);
            return;
        }
        self.cross_check(
            cfg,
            cfg.detection_buffer_bytes,
            server_port,
            dir,
            data,
            false,
            out,
        );
        self.feed_stream(dir, data, ts, out);
    }

    /// A hole of `len` bytes in the TCP stream travelling in `dir`.
    pub fn on_stream_gap(&mut self, dir: Direction, len: u64, out: &mut Vec<AppOutput>) {
        if matches!(&self.cross, CrossCheck::Waiting { dir: d, .. } if *d == dir) {
            // The start of that direction is lost: nothing to compare.
            self.cross = CrossCheck::Done;
        }
        match &mut self.state {
            State::Detecting => {
                // Detection needs the start of the stream: without it, give up on this flow.
                self.state = State::Failed;
                self.pending = Default::default();
            }
            State::Http(p) => {
                let mut events = Vec::new();
                p.on_gap(dir, len, &mut events);
                push_http(events, out);
            }
            State::Tls(p) => {
                let mut events = Vec::new();
                p.on_gap(dir, len, &mut events);
                Self::push_tls(p, &mut self.tls_logged, events, out);
            }
            State::Dns(p) => {
                let mut events = Vec::new();
                p.on_tcp_gap(dir, len, &mut events);
                push_dns(events, out, false);
            }
            State::Ssh(p) => p.on_gap(dir),
            State::Smb(p) => p.on_gap(dir),
            State::Mqtt(p) => p.on_gap(dir),
            State::Mdns(_) | State::Detected(_) | State::Failed => {}
        }
    }

    /// One UDP datagram's payload travelling in `dir`. `ports` are the flow's client and
    /// server ports: DNS on a flow with port 5353 on either side (and not 53) is multicast
    /// DNS.
    pub fn on_udp(
        &mut self,
        cfg: &AppConfig,
        ports: (u16, u16),
        dir: Direction,
        payload: &[u8],
        ts: Timestamp,
        out: &mut Vec<AppOutput>,
    ) {
        let mut dir = dir;
        if let State::Detecting = self.state {
            let probe = if is_dns_port(ports) {
                tapwatch_dns::probe_udp(dir, payload)
            } else {
                tapwatch_common::Probe::NoMatch
            };
            match probe {
                tapwatch_common::Probe::Match if is_mdns(ports) => {
                    self.state = State::Mdns(Box::new(DnsFlow::new_mdns(&cfg.dns)));
                    out.push(AppOutput::Detected(AppProto::Mdns));
                }
                tapwatch_common::Probe::Match => {
                    self.state = State::Dns(Box::new(DnsFlow::new(&cfg.dns)));
                    // The flow's first datagram is a response: its sender is the server.
                    let first = !self.rejected[0] && !self.rejected[1];
                    if first && dir == Direction::ToServer && is_dns_response(payload) {
                        out.push(AppOutput::Reversed);
                        dir = dir.reverse();
                    }
                    out.push(AppOutput::Detected(AppProto::Dns));
                }
                // A datagram is complete: "need more" cannot become a match later.
                _ => {
                    self.rejected[dir.index()] = true;
                    if self.rejected[dir.reverse().index()] {
                        self.state = State::Failed;
                    }
                    return;
                }
            }
        }
        let (p, mdns) = match &mut self.state {
            State::Dns(p) => (p, false),
            State::Mdns(p) => (p, true),
            _ => return,
        };
        let mut events = Vec::new();
        p.on_udp(dir, payload, ts, &mut events);
        push_dns(events, out, mdns);
    }

    /// The flow ended: parsers complete what they can.
    pub fn finish(&mut self, cfg: &AppConfig, ts: Timestamp, out: &mut Vec<AppOutput>) {
        if let CrossCheck::Waiting { dir, .. } = self.cross {
            // What arrived is all there is: decide on it (the port only orders the probes,
            // which rarely matters for bytes that no probe accepted so far).
            self.cross_check(cfg, usize::MAX, 0, dir, &[], true, out);
        }
        match &mut self.state {
            State::Http(p) => {
                let mut events = Vec::new();
                p.finish(ts, &mut events);
                push_http(events, out);
            }
            State::Tls(p) => {
                let mut events = Vec::new();
                p.finish(ts, &mut events);
                Self::push_tls(p, &mut self.tls_logged, events, out);
                if !self.tls_logged && p.info().client_hello_seen {
                    self.tls_logged = true;
                    out.push(AppOutput::Tls(Box::new(p.info().clone())));
                }
            }
            State::Detecting => {
                // Data seen but never recognised: detection failed.
                if self.pending.iter().any(|p| !p.is_empty()) {
                    self.state = State::Failed;
                }
            }
            State::Ssh(p) => {
                let info = p.info();
                if !self.ssh_logged && (info.client.is_some() || info.server.is_some()) {
                    self.ssh_logged = true;
                    out.push(AppOutput::Ssh(Box::new(info.clone())));
                }
            }
            State::Mqtt(p) => {
                let mut events = Vec::new();
                p.finish(&mut events);
                push_mqtt(events, out);
            }
            State::Dns(_) | State::Mdns(_) | State::Smb(_) | State::Detected(_) | State::Failed => {
            }
        }
        self.pending = Default::default();
    }

    fn detect_stream(
        &mut self,
        cfg: &AppConfig,
        server_port: u16,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<AppOutput>,
    ) {
        let i = dir.index();
        let room = cfg
            .detection_buffer_bytes
            .saturating_sub(self.pending[i].len());
        let take = data.len().min(room);
        self.pending[i].extend_from_slice(&data[..take]);
        let order = tcp_probe_order(cfg, server_port);
        match detect_tcp(cfg, &order, server_port, dir, &self.pending[i]) {
            DetectStep::Found(proto) => {
                self.state = match proto {
                    AppProto::Http => State::Http(Box::new(HttpParser::new(&cfg.http))),
                    AppProto::Tls => State::Tls(Box::new(TlsParser::new(&cfg.tls))),
                    // The TCP probes never report mDNS.
                    AppProto::Dns | AppProto::Mdns => State::Dns(Box::new(DnsFlow::new(&cfg.dns))),
                    AppProto::Ssh => State::Ssh(Box::new(SshParser::new())),
                    AppProto::Smb => State::Smb(Box::new(SmbParser::new())),
                    AppProto::Mqtt => State::Mqtt(Box::new(MqttParser::new(&cfg.mqtt.parser))),
                    // Detected only: FTP, SMTP, DCERPC (the probes report no other protocol).
                    _ => State::Detected(proto),
                };
                out.push(AppOutput::Detected(proto));
                self.cross = CrossCheck::Waiting {
                    dir: dir.reverse(),
                    proto,
                    buf: Vec::new(),
                };
                // Replay what was held back: the other direction's bytes first (they arrived
                // earlier), then this direction's, including what did not fit the buffer.
                let other = std::mem::take(&mut self.pending[dir.reverse().index()]);
                if !other.is_empty() {
                    self.cross_check(
                        cfg,
                        cfg.detection_buffer_bytes,
                        server_port,
                        dir.reverse(),
                        &other,
                        false,
                        out,
                    );
                    self.feed_stream(dir.reverse(), &other, ts, out);
                }
                let mine = std::mem::take(&mut self.pending[i]);
                self.feed_stream(dir, &mine, ts, out);
                if take < data.len() {
                    self.feed_stream(dir, &data[take..], ts, out);
                }
            }
            DetectStep::NeedMore if take == data.len() => {}
            DetectStep::NeedMore | DetectStep::NoMatch => {
                self.rejected[i] = true;
                if self.rejected[dir.reverse().index()] {
                    self.state = State::Failed;
                    self.pending = Default::default();
                }
            }
        }
    }

    /// Probes the first bytes of the direction opposite to the one the protocol was detected
    /// in, and raises Suricata's detection anomaly when they are another protocol
    /// ([`MISMATCH_BOTH_DIRECTIONS`]) or none ([`ONLY_ONE_DIRECTION`]). `last`: no more data
    /// will come, so "need more" counts as no match.
    #[allow(
        clippy::too_many_arguments,
        reason = "the flow's detection context, passed along"
    )]
    fn cross_check(
        &mut self,
        cfg: &AppConfig,
        limit: usize,
        server_port: u16,
        dir: Direction,
        data: &[u8],
        last: bool,
        out: &mut Vec<AppOutput>,
    ) {
        let CrossCheck::Waiting {
            dir: want,
            proto,
            buf,
        } = &mut self.cross
        else {
            return;
        };
        if *want != dir {
            return;
        }
        let proto = *proto;
        let take = data.len().min(limit.saturating_sub(buf.len()));
        buf.extend_from_slice(data.get(..take).unwrap_or_default());
        let full = take < data.len() || buf.len() >= limit;
        if buf.is_empty() {
            if last {
                self.cross = CrossCheck::Done;
            }
            return;
        }
        let agrees = confirm_tcp(cfg, proto, dir, buf);
        let order = tcp_probe_order(cfg, server_port);
        let event = match detect_tcp(cfg, &order, server_port, dir, buf) {
            _ if agrees == Probe::Match => None,
            _ if agrees == Probe::NeedMore && !(last || full) => return,
            DetectStep::Found(found) if found == proto => None,
            DetectStep::Found(_) => Some(MISMATCH_BOTH_DIRECTIONS),
            DetectStep::NeedMore if !(last || full) => return,
            DetectStep::NeedMore | DetectStep::NoMatch => match probe_foreign(dir, buf) {
                Probe::Match => Some(MISMATCH_BOTH_DIRECTIONS),
                Probe::NeedMore if !(last || full) => return,
                Probe::NeedMore | Probe::NoMatch => Some(ONLY_ONE_DIRECTION),
            },
        };
        self.cross = CrossCheck::Done;
        if let Some(event) = event {
            out.push(AppOutput::Anomaly {
                proto: Some(proto),
                event,
                detection: true,
                tx_id: None,
            });
        }
    }

    fn feed_stream(
        &mut self,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<AppOutput>,
    ) {
        match &mut self.state {
            State::Http(p) => {
                let mut events = Vec::new();
                p.on_data(dir, data, ts, &mut events);
                push_http(events, out);
            }
            State::Tls(p) => {
                let mut events = Vec::new();
                p.on_data(dir, data, ts, &mut events);
                Self::push_tls(p, &mut self.tls_logged, events, out);
            }
            State::Dns(p) => {
                let mut events = Vec::new();
                p.on_tcp_data(dir, data, ts, &mut events);
                push_dns(events, out, false);
            }
            State::Ssh(p) => {
                let mut events = Vec::new();
                p.on_data(dir, data, &mut events);
                for ev in events {
                    match ev {
                        SshEvent::BannerDone(_) if !self.ssh_logged && p.info().banners_done() => {
                            self.ssh_logged = true;
                            out.push(AppOutput::Ssh(Box::new(p.info().clone())));
                        }
                        SshEvent::Anomaly(event) => out.push(AppOutput::Anomaly {
                            proto: Some(AppProto::Ssh),
                            event,
                            detection: false,
                            tx_id: Some(0),
                        }),
                        _ => {}
                    }
                }
            }
            State::Smb(p) => {
                let mut events = Vec::new();
                p.on_data(dir, data, &mut events);
                out.extend(events.into_iter().map(|ev| match ev {
                    SmbOutput::Event(e) => AppOutput::Smb(e),
                    SmbOutput::FileData(c) => AppOutput::FileData {
                        proto: AppProto::Smb,
                        dir: c.dir,
                        file_id: c.file_id,
                        offset: c.offset,
                        data: c.data,
                        complete: c.complete,
                    },
                }));
            }
            State::Mqtt(p) => {
                let mut events = Vec::new();
                p.on_data(dir, data, &mut events);
                push_mqtt(events, out);
            }
            State::Mdns(_) | State::Detecting | State::Detected(_) | State::Failed => {}
        }
    }

    fn push_tls(p: &TlsParser, logged: &mut bool, events: Vec<TlsEvent>, out: &mut Vec<AppOutput>) {
        for ev in events {
            match ev {
                TlsEvent::HandshakeDone if !*logged => {
                    *logged = true;
                    out.push(AppOutput::Tls(Box::new(p.info().clone())));
                }
                TlsEvent::Anomaly(a) => out.push(AppOutput::Anomaly {
                    proto: Some(AppProto::Tls),
                    event: a.name(),
                    detection: false,
                    tx_id: Some(0),
                }),
                _ => {}
            }
        }
    }
}

fn push_http(events: Vec<HttpEvent>, out: &mut Vec<AppOutput>) {
    for ev in events {
        match ev {
            HttpEvent::TransactionComplete(tx) => out.push(AppOutput::Http(tx)),
            HttpEvent::Anomaly { tx_id, event } => out.push(AppOutput::Anomaly {
                proto: Some(AppProto::Http),
                event: event.name(),
                detection: false,
                tx_id,
            }),
            _ => {}
        }
    }
}

/// Turns MQTT parser events into outputs.
fn push_mqtt(events: Vec<MqttEvent>, out: &mut Vec<AppOutput>) {
    for ev in events {
        match ev {
            MqttEvent::Transaction(tx) => out.push(AppOutput::Mqtt(tx)),
            MqttEvent::Anomaly { tx_id, event } => out.push(AppOutput::Anomaly {
                proto: Some(AppProto::Mqtt),
                event: event.name(),
                detection: false,
                tx_id,
            }),
        }
    }
}

/// Turns DNS parser events into outputs; on an mDNS flow, messages become [`AppOutput::Mdns`]
/// and anomalies are reported under [`AppProto::Mdns`].
fn push_dns(events: Vec<DnsEvent>, out: &mut Vec<AppOutput>, mdns: bool) {
    let proto = if mdns { AppProto::Mdns } else { AppProto::Dns };
    for ev in events {
        match ev {
            DnsEvent::Message(rec) if mdns => out.push(AppOutput::Mdns(Box::new(MdnsRecord(*rec)))),
            DnsEvent::Message(rec) => out.push(AppOutput::Dns(rec)),
            DnsEvent::Anomaly { tx_id, event } => out.push(AppOutput::Anomaly {
                proto: Some(proto),
                event: event.name(),
                detection: false,
                tx_id,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    fn ts() -> Timestamp {
        Timestamp::new(1_700_000_000, 0)
    }

    /// Feeds stream chunks to a new flow (server port 80) and ends it; returns the
    /// detection anomalies raised.
    fn detection_events(chunks: &[(Direction, &[u8])]) -> Vec<(Option<AppProto>, &'static str)> {
        let cfg = AppConfig::default();
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        for (dir, data) in chunks {
            flow.on_stream_data(&cfg, 80, *dir, data, ts(), &mut out);
        }
        flow.finish(&cfg, ts(), &mut out);
        out.iter()
            .filter_map(|o| match o {
                AppOutput::Anomaly {
                    proto,
                    event,
                    detection: true,
                    ..
                } => Some((*proto, *event)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn same_protocol_both_ways_raises_nothing() {
        let c = Direction::ToClient;
        let s = Direction::ToServer;
        assert!(detection_events(&[(s, REQUEST), (c, b"HTTP/1.1 200 OK\r\n\r\n")]).is_empty());
        // Split inside "HTTP/": decided when enough bytes arrived.
        assert!(
            detection_events(&[(s, REQUEST), (c, b"HT"), (c, b"TP/1.1 200 OK\r\n\r\n")]).is_empty()
        );
        // No data the other way: nothing to compare.
        assert!(detection_events(&[(s, REQUEST)]).is_empty());
    }

    #[test]
    fn unrecognised_other_direction_is_only_one_direction() {
        let ev = detection_events(&[
            (Direction::ToServer, REQUEST),
            (Direction::ToClient, b"<html>HTTP/0.9 body</html>"),
        ]);
        assert_eq!(ev, [(Some(AppProto::Http), ONLY_ONE_DIRECTION)]);
        // Bytes still undecided when the flow ends count as unrecognised.
        let ev = detection_events(&[(Direction::ToServer, REQUEST), (Direction::ToClient, b"HT")]);
        assert_eq!(ev, [(Some(AppProto::Http), ONLY_ONE_DIRECTION)]);
    }

    #[test]
    fn other_protocol_is_a_mismatch() {
        let ev = detection_events(&[
            (Direction::ToServer, REQUEST),
            (Direction::ToClient, b"SSH-2.0-OpenSSH_8.7\r\n"),
        ]);
        assert_eq!(ev, [(Some(AppProto::Http), MISMATCH_BOTH_DIRECTIONS)]);
        // TLS to a web server that answers in HTTP.
        let hello = [0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00];
        let ev = detection_events(&[
            (Direction::ToServer, &hello),
            (Direction::ToClient, b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        ]);
        assert_eq!(ev, [(Some(AppProto::Tls), MISMATCH_BOTH_DIRECTIONS)]);
    }

    #[test]
    fn other_direction_seen_first_is_checked_at_detection() {
        // The server speaks first with a banner no probe accepts; the request then detects
        // HTTP, and the banner is judged at once.
        let ev = detection_events(&[
            (Direction::ToClient, b"220 banner\r\n"),
            (Direction::ToServer, REQUEST),
        ]);
        assert_eq!(ev, [(Some(AppProto::Http), ONLY_ONE_DIRECTION)]);
    }

    #[test]
    fn gap_before_other_direction_gives_up() {
        let cfg = AppConfig::default();
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        flow.on_stream_data(&cfg, 80, Direction::ToServer, REQUEST, ts(), &mut out);
        flow.on_stream_gap(Direction::ToClient, 100, &mut out);
        flow.on_stream_data(&cfg, 80, Direction::ToClient, b"garbage", ts(), &mut out);
        flow.finish(&cfg, ts(), &mut out);
        assert!(!out.iter().any(|o| matches!(
            o,
            AppOutput::Anomaly {
                detection: true,
                ..
            }
        )));
    }

    #[test]
    fn ssh_flow_is_logged_once_with_both_banners() {
        let cfg = AppConfig::default();
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        let s = Direction::ToServer;
        let c = Direction::ToClient;
        flow.on_stream_data(&cfg, 22, c, b"SSH-2.0-OpenSSH_7.4\r\n", ts(), &mut out);
        flow.on_stream_data(&cfg, 22, s, b"SSH-2.0-libssh-0.7.2\r\n", ts(), &mut out);
        flow.finish(&cfg, ts(), &mut out);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Ssh)));
        let logged: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                AppOutput::Ssh(info) => Some(info.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(logged.len(), 1);
        assert!(logged[0].banners_done());
        assert_eq!(flow.outcome(), DetectOutcome::Detected(AppProto::Ssh));
        assert!(!out.iter().any(|o| matches!(o, AppOutput::Anomaly { .. })));
    }

    #[test]
    fn ftp_greeting_then_command_agree() {
        // A server greeting on a port that is neither FTP's nor SMTP's waits for the
        // client; the reply lines then agree with FTP: no detection anomaly.
        let cfg = AppConfig::default();
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        let s = Direction::ToServer;
        let c = Direction::ToClient;
        flow.on_stream_data(&cfg, 443, c, b"220-FileZilla\r\n", ts(), &mut out);
        assert!(out.is_empty());
        flow.on_stream_data(&cfg, 443, s, b"USER admin\r\n", ts(), &mut out);
        flow.finish(&cfg, ts(), &mut out);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Ftp)));
        assert_eq!(out.len(), 1, "{out:?}");
    }

    #[test]
    fn smb_write_becomes_file_data() {
        let cfg = AppConfig::default();
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        let mut m = b"\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00\x09\x00".to_vec();
        m.resize(64, 0);
        m.extend(49u16.to_le_bytes());
        m.extend(112u16.to_le_bytes());
        m.extend(4u32.to_le_bytes());
        m.resize(112, 0);
        m.extend(b"data");
        let mut msg = vec![0, 0, 0, m.len() as u8];
        msg.extend(&m);
        flow.on_stream_data(&cfg, 445, Direction::ToServer, &msg, ts(), &mut out);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Smb)));
        assert!(matches!(
            &out[1],
            AppOutput::FileData { proto: AppProto::Smb, data, offset: 0, .. } if data == b"data"
        ));
    }

    #[test]
    fn mqtt_session_gives_transactions_and_events() {
        let cfg = AppConfig::default();
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        let s = Direction::ToServer;
        let c = Direction::ToClient;
        // Seen from its middle on port 1883: a PINGREQ, then its answer.
        flow.on_stream_data(&cfg, 1883, s, b"\xc0\x00", ts(), &mut out);
        flow.on_stream_data(&cfg, 1883, c, b"\xd0\x00", ts(), &mut out);
        flow.finish(&cfg, ts(), &mut out);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Mqtt)));
        let txs = out
            .iter()
            .filter(|o| matches!(o, AppOutput::Mqtt(_)))
            .count();
        assert_eq!(txs, 2);
        let events: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                AppOutput::Anomaly {
                    proto: Some(AppProto::Mqtt),
                    event,
                    detection: false,
                    tx_id: Some(_),
                } => Some(*event),
                _ => None,
            })
            .collect();
        assert_eq!(events, ["unintroduced_message", "unintroduced_message"]);
        // Elsewhere the same bytes are not MQTT, and with MQTT off not even on its port.
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        flow.on_stream_data(&cfg, 8080, s, b"\xc0\x00", ts(), &mut out);
        assert!(!out
            .iter()
            .any(|o| matches!(o, AppOutput::Detected(AppProto::Mqtt))));
        let off = AppConfig {
            mqtt: MqttSettings {
                enabled: false,
                ..MqttSettings::default()
            },
            ..AppConfig::default()
        };
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        flow.on_stream_data(&off, 1883, s, b"\xc0\x00", ts(), &mut out);
        assert!(!out
            .iter()
            .any(|o| matches!(o, AppOutput::Detected(AppProto::Mqtt))));
    }

    /// A DNS query for `a.local` (type A).
    const QUERY: &[u8] =
        b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x05local\x00\x00\x01\x00\x01";

    fn udp_outputs(ports: (u16, u16), dir: Direction, payload: &[u8]) -> Vec<AppOutput> {
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        flow.on_udp(&AppConfig::default(), ports, dir, payload, ts(), &mut out);
        out
    }

    #[test]
    fn port_5353_is_mdns_unless_port_53() {
        let out = udp_outputs((5353, 5353), Direction::ToServer, QUERY);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Mdns)));
        assert!(matches!(&out[1], AppOutput::Mdns(r) if r.tx_id() == 0 && !r.is_response()));
        let out = udp_outputs((40000, 5353), Direction::ToServer, QUERY);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Mdns)));
        let out = udp_outputs((5353, 53), Direction::ToServer, QUERY);
        assert!(matches!(out[0], AppOutput::Detected(AppProto::Dns)));
        assert!(matches!(out[1], AppOutput::Dns(_)));
        // A response travelling to port 5353 is normal for mDNS: no `not_request`.
        let mut response = QUERY.to_vec();
        response[2] = 0x84;
        let out = udp_outputs((5353, 5353), Direction::ToServer, &response);
        assert!(!out.iter().any(|o| matches!(o, AppOutput::Anomaly { .. })));
        // A port-53 flow whose first datagram is a response is turned round, as Suricata
        // does: no anomaly, and the message is parsed as travelling to the client.
        let out = udp_outputs((1234, 53), Direction::ToServer, &response);
        assert!(matches!(out[0], AppOutput::Reversed));
        assert!(matches!(&out[2], AppOutput::Dns(r) if r.message.response));
        assert!(!out.iter().any(|o| matches!(o, AppOutput::Anomaly { .. })));
        // Later in the flow, a response travelling to the server is `not_request`.
        let mut flow = AppFlow::default();
        let mut out = Vec::new();
        let cfg = AppConfig::default();
        flow.on_udp(&cfg, (1234, 53), Direction::ToServer, QUERY, ts(), &mut out);
        out.clear();
        flow.on_udp(
            &cfg,
            (1234, 53),
            Direction::ToServer,
            &response,
            ts(),
            &mut out,
        );
        assert!(!out.iter().any(|o| matches!(o, AppOutput::Reversed)));
        assert!(out.iter().any(|o| matches!(
            o,
            AppOutput::Anomaly {
                proto: Some(AppProto::Dns),
                event: "not_request",
                ..
            }
        )));
        assert_eq!(AppProto::Mdns.name(), "mdns");
    }

    #[test]
    fn udp_dns_is_probed_on_port_53_only() {
        for ports in [(40000, 53), (53, 40000)] {
            let out = udp_outputs(ports, Direction::ToServer, QUERY);
            assert!(
                matches!(out[0], AppOutput::Detected(AppProto::Dns)),
                "{ports:?}"
            );
        }
        // A DNS-shaped datagram on port 443 (DNSCrypt) or 5300 is not DNS.
        for ports in [(40000, 443), (5300, 40000)] {
            let mut flow = AppFlow::default();
            let mut out = Vec::new();
            let cfg = AppConfig::default();
            flow.on_udp(&cfg, ports, Direction::ToServer, QUERY, ts(), &mut out);
            flow.on_udp(&cfg, ports, Direction::ToClient, QUERY, ts(), &mut out);
            assert!(out.is_empty(), "{ports:?}: {out:?}");
            assert_eq!(flow.outcome(), DetectOutcome::Failed);
        }
    }
}
