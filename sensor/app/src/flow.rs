//! Per-flow application-layer state: detection, then the chosen parser.

use tapwatch_common::{Direction, Timestamp};
use tapwatch_dns::{DnsConfig, DnsEvent, DnsFlow, DnsRecord};
use tapwatch_http::{HttpConfig, HttpEvent, HttpParser, HttpTransaction};
use tapwatch_tls::{TlsConfig, TlsEvent, TlsInfo, TlsParser};

use crate::detect::{detect_tcp, tcp_probe_order, AppProto, DetectOutcome, DetectStep};

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
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            detection_buffer_bytes: 4096,
            http: HttpConfig::default(),
            tls: TlsConfig::default(),
            dns: DnsConfig::default(),
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

/// What the application layer produced for the caller to log or inspect.
#[derive(Debug)]
pub enum AppOutput {
    /// The flow's protocol was recognised.
    Detected(AppProto),
    /// A finished HTTP transaction.
    Http(Box<HttpTransaction>),
    /// A DNS message.
    Dns(Box<DnsRecord>),
    /// A TLS handshake, as far as it was seen.
    Tls(Box<TlsInfo>),
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
}

impl AppFlow {
    /// The detection outcome so far.
    pub fn outcome(&self) -> DetectOutcome {
        match self.state {
            State::Detecting => DetectOutcome::Pending,
            State::Http(_) => DetectOutcome::Detected(AppProto::Http),
            State::Tls(_) => DetectOutcome::Detected(AppProto::Tls),
            State::Dns(_) => DetectOutcome::Detected(AppProto::Dns),
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
        self.feed_stream(dir, data, ts, out);
    }

    /// A hole of `len` bytes in the TCP stream travelling in `dir`.
    pub fn on_stream_gap(&mut self, dir: Direction, len: u64, out: &mut Vec<AppOutput>) {
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
                push_dns(events, out);
            }
            State::Failed => {}
        }
    }

    /// One UDP datagram's payload travelling in `dir`.
    pub fn on_udp(
        &mut self,
        cfg: &AppConfig,
        dir: Direction,
        payload: &[u8],
        ts: Timestamp,
        out: &mut Vec<AppOutput>,
    ) {
        if let State::Detecting = self.state {
            match tapwatch_dns::probe_udp(dir, payload) {
                tapwatch_common::Probe::Match => {
                    self.state = State::Dns(Box::new(DnsFlow::new(&cfg.dns)));
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
        if let State::Dns(p) = &mut self.state {
            let mut events = Vec::new();
            p.on_udp(dir, payload, ts, &mut events);
            push_dns(events, out);
        }
    }

    /// The flow ended: parsers complete what they can.
    pub fn finish(&mut self, ts: Timestamp, out: &mut Vec<AppOutput>) {
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
            State::Dns(_) | State::Failed => {}
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
        let order = tcp_probe_order(server_port);
        match detect_tcp(&order, dir, &self.pending[i]) {
            DetectStep::Found(proto) => {
                self.state = match proto {
                    AppProto::Http => State::Http(Box::new(HttpParser::new(&cfg.http))),
                    AppProto::Tls => State::Tls(Box::new(TlsParser::new(&cfg.tls))),
                    AppProto::Dns => State::Dns(Box::new(DnsFlow::new(&cfg.dns))),
                };
                out.push(AppOutput::Detected(proto));
                // Replay what was held back: the other direction's bytes first (they arrived
                // earlier), then this direction's, including what did not fit the buffer.
                let other = std::mem::take(&mut self.pending[dir.reverse().index()]);
                if !other.is_empty() {
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
                push_dns(events, out);
            }
            State::Detecting | State::Failed => {}
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

fn push_dns(events: Vec<DnsEvent>, out: &mut Vec<AppOutput>) {
    for ev in events {
        match ev {
            DnsEvent::Message(rec) => out.push(AppOutput::Dns(rec)),
            DnsEvent::Anomaly { tx_id, event } => out.push(AppOutput::Anomaly {
                proto: Some(AppProto::Dns),
                event: event.name(),
                detection: false,
                tx_id,
            }),
        }
    }
}
