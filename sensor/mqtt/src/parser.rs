//! The per-flow MQTT state: framing of each direction, transactions as Suricata forms them,
//! and its app-layer events.
//!
//! A transaction is one exchange: CONNECT and its CONNACK; PUBLISH with QoS 0 alone, with
//! QoS 1 until its PUBACK, with QoS 2 through PUBREC and PUBREL until its PUBCOMP; SUBSCRIBE
//! and SUBACK; UNSUBSCRIBE and UNSUBACK; every other packet (PINGREQ, PINGRESP, DISCONNECT,
//! AUTH, a type-0 packet, a packet longer than the configured maximum) alone. A transaction
//! is handed out once complete, or at the end of the flow as it stands.

use std::collections::VecDeque;

use tapwatch_common::Direction;

use crate::message::{parse_body, read_fixed_header, Body, HeaderRead, MqttMessage, MsgType};
use crate::MqttConfig;

/// The packet identifier Suricata gives the CONNECT transaction (beyond any 16-bit id).
const CONNECT_ID: u32 = u32::MAX;

/// MQTT's app-layer events, by Suricata's names (`app-layer-event:mqtt.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MqttAnomaly {
    /// A CONNACK without a CONNECT before it.
    MissingConnect,
    /// A PUBACK, PUBREC, PUBREL or PUBCOMP for no pending PUBLISH.
    MissingPublish,
    /// A SUBACK for no pending SUBSCRIBE.
    MissingSubscribe,
    /// An UNSUBACK for no pending UNSUBSCRIBE.
    MissingUnsubscribe,
    /// A second CONNECT on a connected session.
    DoubleConnect,
    /// A packet other than CONNECT or CONNACK before the session was connected.
    UnintroducedMessage,
    /// A PUBLISH with QoS 3.
    InvalidQosLevel,
    /// A QoS 1 or 2 PUBLISH whose packet identifier is 0 (MQTT requires a non-zero one).
    MissingMsgId,
    /// A packet of type 0.
    UnassignedMsgType,
    /// More transactions open than the configured maximum: the open ones were closed.
    TooManyTransactions,
    /// A packet that could not be read; the flow is no longer parsed.
    MalformedTraffic,
}

impl MqttAnomaly {
    /// Suricata's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::MissingConnect => "missing_connect",
            Self::MissingPublish => "missing_publish",
            Self::MissingSubscribe => "missing_subscribe",
            Self::MissingUnsubscribe => "missing_unsubscribe",
            Self::DoubleConnect => "double_connect",
            Self::UnintroducedMessage => "unintroduced_message",
            Self::InvalidQosLevel => "invalid_qos_level",
            Self::MissingMsgId => "missing_msg_id",
            Self::UnassignedMsgType => "unassigned_msg_type",
            Self::TooManyTransactions => "too_many_transactions",
            Self::MalformedTraffic => "malformed_traffic",
        }
    }
}

/// One MQTT transaction: its packets in the order seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTransaction {
    /// The transaction's id within the flow (from 0).
    pub tx_id: u64,
    /// The packets.
    pub messages: Vec<MqttMessage>,
    /// The events raised on it.
    pub events: Vec<MqttAnomaly>,
    /// The packet identifier that later packets of the exchange carry ([`CONNECT_ID`] for a
    /// CONNECT).
    pkt_id: Option<u32>,
}

impl MqttTransaction {
    /// The direction of the transaction's first packet (EVE's `src`/`dest` follow it).
    pub fn direction(&self) -> Direction {
        self.messages
            .first()
            .map_or(Direction::ToServer, |m| m.direction)
    }
}

/// What the parser reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttEvent {
    /// A transaction, complete or (at the end of the flow, or closed because too many were
    /// open) as it stands.
    Transaction(Box<MqttTransaction>),
    /// An event raised on transaction `tx_id` (none for a malformed packet before any
    /// transaction).
    Anomaly {
        /// The transaction it belongs to.
        tx_id: Option<u64>,
        /// The event.
        event: MqttAnomaly,
    },
}

/// Where one direction's framing stands.
#[derive(Debug, Default)]
struct Side {
    /// The start of the packet being received (at most the configured maximum packet body
    /// and a five-byte fixed header).
    buf: Vec<u8>,
    /// Bytes of an over-long packet still to skip.
    skip: u64,
    /// Framing was lost (a gap, or a malformed packet): nothing more is read.
    done: bool,
}

/// The MQTT parser of one flow.
#[derive(Debug)]
pub struct MqttParser {
    cfg: MqttConfig,
    sides: [Side; 2],
    /// The protocol level the CONNECT announced (0 until one is seen).
    version: u8,
    /// A CONNACK answered the CONNECT.
    connected: bool,
    /// Open transactions, oldest first (bounded by `cfg.max_tx`).
    open: VecDeque<MqttTransaction>,
    next_tx_id: u64,
}

impl MqttParser {
    /// A parser for a new flow.
    pub fn new(cfg: &MqttConfig) -> Self {
        Self {
            cfg: *cfg,
            sides: Default::default(),
            version: 0,
            connected: false,
            open: VecDeque::new(),
            next_tx_id: 0,
        }
    }

    /// The protocol level announced by the session's CONNECT (0 before one is seen).
    pub fn protocol_version(&self) -> u8 {
        self.version
    }

    /// Transactions still waiting for their answer.
    pub fn open_transactions(&self) -> usize {
        self.open.len()
    }

    /// In-order stream bytes travelling in `dir`.
    pub fn on_data(&mut self, dir: Direction, mut data: &[u8], out: &mut Vec<MqttEvent>) {
        let i = dir.index();
        loop {
            let Some(side) = self.sides.get_mut(i) else {
                return;
            };
            if side.done || data.is_empty() {
                return;
            }
            if side.skip > 0 {
                let n = usize::try_from(side.skip)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                side.skip -= n as u64;
                data = data.get(n..).unwrap_or_default();
                continue;
            }
            // Take only what can belong to the current packet: the fixed header first, then
            // the rest of the packet once its length is known.
            let want = match read_fixed_header(&side.buf) {
                HeaderRead::Incomplete => side.buf.len() + 1,
                HeaderRead::Invalid => {
                    side.done = true;
                    self.malformed(out);
                    return;
                }
                HeaderRead::Header(h) => {
                    if u64::from(h.remaining_length) > self.cfg.max_msg_len as u64 {
                        // Too long to keep: the header is logged, the body skipped.
                        side.skip = h.packet_length() - side.buf.len() as u64;
                        side.buf.clear();
                        let msg = MqttMessage {
                            header: h,
                            direction: dir,
                            body: Body::Truncated {
                                skipped_length: h.packet_length(),
                            },
                        };
                        self.handle(msg, out);
                        continue;
                    }
                    usize::try_from(h.packet_length()).unwrap_or(usize::MAX)
                }
            };
            let need = want.saturating_sub(side.buf.len());
            let n = need.min(data.len());
            side.buf
                .extend_from_slice(data.get(..n).unwrap_or_default());
            data = data.get(n..).unwrap_or_default();
            if side.buf.len() < want {
                continue;
            }
            if let HeaderRead::Header(h) = read_fixed_header(&side.buf) {
                if side.buf.len() as u64 == h.packet_length() {
                    let buf = std::mem::take(&mut side.buf);
                    let body = buf.get(usize::from(h.header_length)..).unwrap_or_default();
                    let version = if h.kind == MsgType::Connect {
                        0
                    } else {
                        self.version
                    };
                    match parse_body(&h, body, version) {
                        Ok(body) => self.handle(
                            MqttMessage {
                                header: h,
                                direction: dir,
                                body,
                            },
                            out,
                        ),
                        Err(_) => {
                            if let Some(side) = self.sides.get_mut(i) {
                                side.done = true;
                            }
                            self.malformed(out);
                            return;
                        }
                    }
                    // Keep the allocation for the next packet.
                    if let Some(side) = self.sides.get_mut(i) {
                        side.buf = buf;
                        side.buf.clear();
                    }
                }
            }
        }
    }

    /// A hole in the stream travelling in `dir`: its framing is lost, so that direction is
    /// no longer read.
    pub fn on_gap(&mut self, dir: Direction) {
        if let Some(side) = self.sides.get_mut(dir.index()) {
            side.done = true;
            side.buf = Vec::new();
        }
    }

    /// The flow ended: every open transaction is handed out as it stands.
    pub fn finish(&mut self, out: &mut Vec<MqttEvent>) {
        for tx in self.open.drain(..) {
            out.push(MqttEvent::Transaction(Box::new(tx)));
        }
        self.sides = Default::default();
    }

    /// A malformed packet: both directions stop (as Suricata's parser error) and the event
    /// goes to the latest transaction, if any.
    fn malformed(&mut self, out: &mut Vec<MqttEvent>) {
        for s in &mut self.sides {
            s.done = true;
            s.buf = Vec::new();
        }
        let tx_id = self.next_tx_id.checked_sub(1);
        out.push(MqttEvent::Anomaly {
            tx_id,
            event: MqttAnomaly::MalformedTraffic,
        });
    }

    /// A new transaction holding `msg`; complete ones are handed out at once.
    fn new_tx(
        &mut self,
        msg: MqttMessage,
        pkt_id: Option<u32>,
        complete: bool,
        event: Option<MqttAnomaly>,
        out: &mut Vec<MqttEvent>,
    ) {
        let tx_id = self.next_tx_id;
        self.next_tx_id += 1;
        let mut events: Vec<MqttAnomaly> = event.into_iter().collect();
        if self.open.len() >= self.cfg.max_tx {
            // Too many exchanges left unanswered: close them all as they stand.
            for tx in self.open.drain(..) {
                out.push(MqttEvent::Transaction(Box::new(tx)));
            }
            events.push(MqttAnomaly::TooManyTransactions);
        }
        for &event in &events {
            out.push(MqttEvent::Anomaly {
                tx_id: Some(tx_id),
                event,
            });
        }
        let tx = MqttTransaction {
            tx_id,
            messages: vec![msg],
            events,
            pkt_id,
        };
        if complete {
            out.push(MqttEvent::Transaction(Box::new(tx)));
        } else {
            self.open.push_back(tx);
        }
    }

    /// Adds `msg` to the oldest open transaction with packet identifier `id`; `complete`
    /// closes it. Gives `msg` back when there is none.
    fn answer(
        &mut self,
        id: u32,
        msg: MqttMessage,
        complete: bool,
        out: &mut Vec<MqttEvent>,
    ) -> Option<MqttMessage> {
        let Some(pos) = self.open.iter().position(|t| t.pkt_id == Some(id)) else {
            return Some(msg);
        };
        if let Some(tx) = self.open.get_mut(pos) {
            tx.messages.push(msg);
        }
        if complete {
            if let Some(tx) = self.open.remove(pos) {
                out.push(MqttEvent::Transaction(Box::new(tx)));
            }
        }
        None
    }

    fn handle(&mut self, msg: MqttMessage, out: &mut Vec<MqttEvent>) {
        let kind = msg.header.kind;
        if let Body::Truncated { .. } = msg.body {
            self.new_tx(msg, None, true, None, out);
            return;
        }
        let unintroduced = (!self.connected).then_some(MqttAnomaly::UnintroducedMessage);
        match kind {
            MsgType::Connect => {
                if self.connected {
                    self.new_tx(msg, None, true, Some(MqttAnomaly::DoubleConnect), out);
                } else {
                    if let Body::Connect(c) = &msg.body {
                        self.version = c.protocol_version;
                    }
                    self.new_tx(msg, Some(CONNECT_ID), false, None, out);
                }
            }
            MsgType::Connack => {
                if let Some(msg) = self.answer(CONNECT_ID, msg, true, out) {
                    self.new_tx(msg, None, true, Some(MqttAnomaly::MissingConnect), out);
                } else {
                    self.connected = true;
                }
            }
            MsgType::Publish => {
                if unintroduced.is_some() {
                    self.new_tx(msg, None, true, unintroduced, out);
                    return;
                }
                let id = match &msg.body {
                    Body::Publish(p) => p.message_id,
                    _ => None,
                };
                match (msg.header.qos, id) {
                    (0, _) => self.new_tx(msg, None, true, None, out),
                    (1 | 2, Some(0) | None) => {
                        self.new_tx(msg, None, true, Some(MqttAnomaly::MissingMsgId), out)
                    }
                    (1 | 2, Some(id)) => self.new_tx(msg, Some(u32::from(id)), false, None, out),
                    _ => self.new_tx(msg, None, true, Some(MqttAnomaly::InvalidQosLevel), out),
                }
            }
            MsgType::Puback | MsgType::Pubrec | MsgType::Pubrel | MsgType::Pubcomp => {
                if unintroduced.is_some() {
                    self.new_tx(msg, None, true, unintroduced, out);
                    return;
                }
                let id = match &msg.body {
                    Body::Ack(a) => u32::from(a.message_id),
                    _ => return,
                };
                let complete = matches!(kind, MsgType::Puback | MsgType::Pubcomp);
                if let Some(msg) = self.answer(id, msg, complete, out) {
                    self.new_tx(msg, None, true, Some(MqttAnomaly::MissingPublish), out);
                }
            }
            MsgType::Subscribe | MsgType::Unsubscribe => {
                if unintroduced.is_some() {
                    self.new_tx(msg, None, true, unintroduced, out);
                    return;
                }
                let id = match &msg.body {
                    Body::Subscribe(s) => s.message_id,
                    Body::Unsubscribe(u) => u.message_id,
                    _ => return,
                };
                self.new_tx(msg, Some(u32::from(id)), false, None, out);
            }
            MsgType::Suback | MsgType::Unsuback => {
                if unintroduced.is_some() {
                    self.new_tx(msg, None, true, unintroduced, out);
                    return;
                }
                let (id, missing) = match &msg.body {
                    Body::Suback(s) => (s.message_id, MqttAnomaly::MissingSubscribe),
                    Body::Unsuback(u) => (u.message_id, MqttAnomaly::MissingUnsubscribe),
                    _ => return,
                };
                if let Some(msg) = self.answer(u32::from(id), msg, true, out) {
                    self.new_tx(msg, None, true, Some(missing), out);
                }
            }
            MsgType::Pingreq | MsgType::Pingresp | MsgType::Disconnect | MsgType::Auth => {
                self.new_tx(msg, None, true, unintroduced, out);
            }
            MsgType::Unassigned => {
                self.new_tx(msg, None, true, Some(MqttAnomaly::UnassignedMsgType), out);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const S: Direction = Direction::ToServer;
    const C: Direction = Direction::ToClient;

    /// A packet: first byte, then the remaining length and body.
    pub(crate) fn packet(b0: u8, body: &[u8]) -> Vec<u8> {
        let mut p = vec![b0];
        let mut n = body.len();
        loop {
            let mut b = (n & 0x7f) as u8;
            n >>= 7;
            if n > 0 {
                b |= 0x80;
            }
            p.push(b);
            if n == 0 {
                break;
            }
        }
        p.extend_from_slice(body);
        p
    }

    pub(crate) fn connect(version: u8) -> Vec<u8> {
        let mut b = b"\x00\x04MQTT".to_vec();
        b.push(version);
        b.extend(b"\x02\x00\x3c");
        if version == 5 {
            b.push(0);
        }
        b.extend(b"\x00\x02id");
        packet(0x10, &b)
    }

    fn run(cfg: &MqttConfig, chunks: &[(Direction, Vec<u8>)]) -> Vec<MqttEvent> {
        let mut p = MqttParser::new(cfg);
        let mut out = Vec::new();
        for (d, c) in chunks {
            p.on_data(*d, c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn txs(events: &[MqttEvent]) -> Vec<Vec<MsgType>> {
        events
            .iter()
            .filter_map(|e| match e {
                MqttEvent::Transaction(t) => {
                    Some(t.messages.iter().map(|m| m.header.kind).collect())
                }
                MqttEvent::Anomaly { .. } => None,
            })
            .collect()
    }

    fn anomalies(events: &[MqttEvent]) -> Vec<&'static str> {
        events
            .iter()
            .filter_map(|e| match e {
                MqttEvent::Anomaly { event, .. } => Some(event.name()),
                MqttEvent::Transaction(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_session_forms_suricatas_transactions() {
        use MsgType::*;
        let chunks = vec![
            (S, connect(4)),
            (C, packet(0x20, b"\x00\x00")),
            (S, packet(0x32, b"\x00\x01t\x00\x07hello")),
            (S, packet(0x34, b"\x00\x01t\x00\x08qos2")),
            (C, packet(0x40, b"\x00\x07")),
            (C, packet(0x50, b"\x00\x08")),
            (S, packet(0x62, b"\x00\x08")),
            (C, packet(0x70, b"\x00\x08")),
            (S, packet(0x82, b"\x00\x09\x00\x01a\x01")),
            (C, packet(0x90, b"\x00\x09\x01")),
            (S, packet(0xc0, b"")),
            (C, packet(0xd0, b"")),
            (S, packet(0xe0, b"")),
        ];
        let out = run(&MqttConfig::default(), &chunks);
        assert_eq!(
            txs(&out),
            [
                vec![Connect, Connack],
                vec![Publish, Puback],
                vec![Publish, Pubrec, Pubrel, Pubcomp],
                vec![Subscribe, Suback],
                vec![Pingreq],
                vec![Pingresp],
                vec![Disconnect],
            ]
        );
        assert!(anomalies(&out).is_empty());
        // The same bytes one at a time give the same events.
        let bytes: Vec<(Direction, Vec<u8>)> = chunks
            .iter()
            .flat_map(|(d, c)| c.iter().map(move |b| (*d, vec![*b])))
            .collect();
        assert_eq!(run(&MqttConfig::default(), &bytes), out);
    }

    #[test]
    fn events_by_suricatas_rules() {
        let cfg = MqttConfig::default();
        let ev = run(&cfg, &[(C, packet(0x20, b"\x00\x00"))]);
        assert_eq!(anomalies(&ev), ["missing_connect"]);
        let ev = run(&cfg, &[(S, packet(0xc0, b"")), (C, packet(0xd0, b""))]);
        assert_eq!(
            anomalies(&ev),
            ["unintroduced_message", "unintroduced_message"]
        );
        let hello = [(S, connect(4)), (C, packet(0x20, b"\x00\x00"))];
        let with = |more: Vec<u8>| {
            let mut c = hello.to_vec();
            c.push((S, more));
            anomalies(&run(&cfg, &c))
        };
        assert_eq!(with(packet(0x40, b"\x00\x05")), ["missing_publish"]);
        assert_eq!(with(packet(0x90, b"\x00\x05\x00")), ["missing_subscribe"]);
        assert_eq!(with(packet(0xb0, b"\x00\x05")), ["missing_unsubscribe"]);
        assert_eq!(with(connect(4)), ["double_connect"]);
        assert_eq!(
            with(packet(0x36, b"\x00\x01t\x00\x01x")),
            ["invalid_qos_level"]
        );
        assert_eq!(
            with(packet(0x32, b"\x00\x01t\x00\x00x")),
            ["missing_msg_id"]
        );
        assert_eq!(with(packet(0x00, b"abc")), ["unassigned_msg_type"]);
        assert_eq!(with(packet(0x20, b"\x00")), ["malformed_traffic"]);
    }

    #[test]
    fn too_many_open_transactions_close_them() {
        let cfg = MqttConfig {
            max_tx: 2,
            ..MqttConfig::default()
        };
        let mut chunks = vec![(S, connect(4)), (C, packet(0x20, b"\x00\x00"))];
        for id in 1..=3u8 {
            chunks.push((S, packet(0x32, &[0, 1, b't', 0, id, b'x'])));
        }
        let mut p = MqttParser::new(&cfg);
        let mut out = Vec::new();
        for (d, c) in &chunks {
            p.on_data(*d, c, &mut out);
            assert!(p.open_transactions() <= cfg.max_tx);
        }
        assert_eq!(anomalies(&out), ["too_many_transactions"]);
        assert_eq!(txs(&out).len(), 3);
    }

    #[test]
    fn long_packets_are_skipped_and_logged_truncated() {
        let cfg = MqttConfig {
            max_msg_len: 50,
            ..MqttConfig::default()
        };
        let mut big = b"\x00\x03a/b\x00\x02".to_vec();
        big.extend(std::iter::repeat_n(b'Z', 100));
        let chunks = vec![
            (S, connect(4)),
            (C, packet(0x20, b"\x00\x00")),
            (S, packet(0x32, &big)),
            (S, packet(0xe0, b"")),
        ];
        let out = run(&cfg, &chunks);
        let truncated = out.iter().find_map(|e| match e {
            MqttEvent::Transaction(t) => match t.messages.first().map(|m| &m.body) {
                Some(Body::Truncated { skipped_length }) => Some(*skipped_length),
                _ => None,
            },
            MqttEvent::Anomaly { .. } => None,
        });
        assert_eq!(truncated, Some(109));
        assert_eq!(txs(&out).last(), Some(&vec![MsgType::Disconnect]));
        // Split anywhere, the same.
        let mut p = MqttParser::new(&cfg);
        let mut split = Vec::new();
        for (d, c) in &chunks {
            for piece in c.chunks(7) {
                p.on_data(*d, piece, &mut split);
            }
        }
        p.finish(&mut split);
        assert_eq!(split, out);
    }

    #[test]
    fn v5_session_reads_properties_after_connect() {
        let chunks = vec![
            (S, connect(5)),
            (C, packet(0x20, b"\x00\x00\x03\x22\x00\x0a")),
            (S, packet(0x30, b"\x00\x01t\x03\x23\x00\x05msg")),
        ];
        let out = run(&MqttConfig::default(), &chunks);
        assert!(anomalies(&out).is_empty(), "{out:?}");
        let msg = out.iter().rev().find_map(|e| match e {
            MqttEvent::Transaction(t) => t.messages.first().cloned(),
            MqttEvent::Anomaly { .. } => None,
        });
        let Some(Body::Publish(p)) = msg.map(|m| m.body) else {
            panic!()
        };
        assert_eq!(p.message, b"msg");
        assert_eq!(
            p.properties,
            [crate::message::Property::Int("topic_alias", 5)]
        );
    }
}
