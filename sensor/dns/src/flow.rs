//! Per-flow DNS state: transaction numbering, TCP framing and event output.
//!
//! Transaction ids follow Suricata 8: every message (request or response) is its own
//! transaction, numbered 0, 1, 2... per flow in arrival order over both directions, so a
//! response gets the id after its request's (Suricata's EVE records for a request and its
//! response carry `tx_id` 0 and 1). Requests still waiting for a response are remembered by
//! DNS id, up to `max_pending_tx`, so that [`DnsFlow::unanswered_requests`] can tell how
//! many went unanswered.

use std::collections::VecDeque;

use tapwatch_common::{Direction, Probe, Timestamp};

use crate::anomaly::{AnomalySet, DnsAnomaly};
use crate::config::DnsConfig;
use crate::message::{parse_message_with_anomalies, DnsMessage};
use crate::probe::probe_tcp;

/// What the DNS parser reports for a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsEvent {
    /// A parsed message (boxed: it is large and events are moved around).
    Message(Box<DnsRecord>),
    /// A protocol anomaly, with the transaction it belongs to where there is one.
    Anomaly {
        /// The message's transaction id; `None` for a TCP frame too large to parse.
        tx_id: Option<u64>,
        /// What was wrong.
        event: DnsAnomaly,
    },
}

/// A parsed message with its transaction id and capture time. Its `Serialize` output is
/// the object Suricata writes under `"dns"` in an EVE `dns` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// The transaction id within the flow.
    pub tx_id: u64,
    /// The message.
    pub message: DnsMessage,
    /// When the message's last byte was seen.
    pub ts: Timestamp,
}

/// DNS state of one UDP or TCP flow.
#[derive(Debug, Clone)]
pub struct DnsFlow {
    cfg: DnsConfig,
    txs: TxState,
    to_server: Framer,
    to_client: Framer,
}

/// Transaction numbering and unanswered requests.
#[derive(Debug, Clone, Default)]
struct TxState {
    /// mDNS: queries and responses both travel to port 5353 (often multicast), so the
    /// direction of a message says nothing about its kind.
    multicast: bool,
    next_tx: u64,
    /// DNS ids of requests without a response yet, oldest first.
    pending: VecDeque<u16>,
}

/// TCP framing state of one direction.
#[derive(Debug, Clone, Default)]
struct Framer {
    /// A partial frame, length prefix included; never longer than `max_tcp_message`.
    buf: Vec<u8>,
    /// Bytes still to discard (the rest of a frame that is skipped).
    skip: u64,
    /// Framing was lost in a gap: wait for data that probes as a DNS frame.
    desync: bool,
}

impl DnsFlow {
    /// New state for a flow, with the given limits.
    pub fn new(cfg: &DnsConfig) -> Self {
        Self {
            cfg: cfg.clone(),
            txs: TxState::default(),
            to_server: Framer::default(),
            to_client: Framer::default(),
        }
    }

    /// New state for a multicast DNS (mDNS, UDP port 5353) flow: as [`DnsFlow::new`], except
    /// that a response travelling to the server or a query to the client raises no anomaly,
    /// since mDNS sends both to port 5353.
    pub fn new_mdns(cfg: &DnsConfig) -> Self {
        let mut flow = Self::new(cfg);
        flow.txs.multicast = true;
        flow
    }

    /// Handles one UDP payload: one DNS message.
    pub fn on_udp(
        &mut self,
        dir: Direction,
        payload: &[u8],
        ts: Timestamp,
        out: &mut Vec<DnsEvent>,
    ) {
        self.txs.handle_message(&self.cfg, dir, payload, ts, out);
    }

    /// Handles in-order TCP payload bytes of one direction: length-prefixed DNS messages,
    /// which may be split across calls or several to a call.
    pub fn on_tcp_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<DnsEvent>,
    ) {
        let framer = match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        };
        framer.feed(&self.cfg, &mut self.txs, dir, data, ts, out);
    }

    /// Handles `len` missing bytes in one direction of a TCP flow. A gap inside a frame of
    /// known length loses that message only; elsewhere framing is lost until data that
    /// probes as a DNS frame arrives.
    pub fn on_tcp_gap(&mut self, dir: Direction, len: u64, _out: &mut Vec<DnsEvent>) {
        let framer = match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        };
        framer.gap(len);
    }

    /// Requests seen whose response has not been (at most `max_pending_tx` remembered).
    pub fn unanswered_requests(&self) -> usize {
        self.txs.pending.len()
    }

    /// The transaction id the next message will get (the number of messages so far).
    pub fn next_tx_id(&self) -> u64 {
        self.txs.next_tx
    }
}

impl TxState {
    /// Parses one message and reports it with its anomalies.
    fn handle_message(
        &mut self,
        cfg: &DnsConfig,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<DnsEvent>,
    ) {
        let tx_id = self.next_tx;
        self.next_tx = self.next_tx.saturating_add(1);
        let mut anomalies = AnomalySet::default();
        let message = match parse_message_with_anomalies(data, cfg, &mut anomalies) {
            Ok(m) => m,
            Err(_) => {
                out.push(DnsEvent::Anomaly {
                    tx_id: Some(tx_id),
                    event: DnsAnomaly::MalformedData,
                });
                return;
            }
        };
        match (dir, message.response) {
            _ if self.multicast => {}
            (Direction::ToServer, true) => anomalies.insert(DnsAnomaly::NotRequest),
            (Direction::ToClient, false) => anomalies.insert(DnsAnomaly::NotResponse),
            _ => {}
        }
        out.extend(anomalies.iter().map(|event| DnsEvent::Anomaly {
            tx_id: Some(tx_id),
            event,
        }));
        self.track(cfg, &message);
        out.push(DnsEvent::Message(Box::new(DnsRecord {
            tx_id,
            message,
            ts,
        })));
    }

    /// Remembers a request's id, or forgets the request a response answers.
    fn track(&mut self, cfg: &DnsConfig, message: &DnsMessage) {
        if message.response {
            if let Some(i) = self.pending.iter().position(|&id| id == message.id) {
                self.pending.remove(i);
            }
        } else if cfg.max_pending_tx > 0 {
            if self.pending.len() >= cfg.max_pending_tx {
                self.pending.pop_front();
            }
            self.pending.push_back(message.id);
        }
    }
}

/// The length a 2-byte prefix announces.
fn frame_len(prefix: &[u8]) -> usize {
    match prefix {
        [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => 0,
    }
}

impl Framer {
    fn feed(
        &mut self,
        cfg: &DnsConfig,
        txs: &mut TxState,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<DnsEvent>,
    ) {
        let mut input = data;
        if self.desync {
            if self.skip == 0 && self.buf.is_empty() && probe_tcp(dir, input) == Probe::NoMatch {
                return;
            }
            self.desync = false;
        }
        loop {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                self.skip -= n as u64;
                input = input.get(n..).unwrap_or_default();
            }
            if input.is_empty() {
                return;
            }
            if self.buf.is_empty() {
                // At a frame boundary: parse whole frames straight from the input.
                let Some((prefix, rest)) = input.split_first_chunk::<2>() else {
                    self.buf.extend_from_slice(input);
                    return;
                };
                let len = frame_len(prefix);
                if 2 + len > cfg.max_tcp_message {
                    out.push(DnsEvent::Anomaly {
                        tx_id: None,
                        event: DnsAnomaly::MalformedData,
                    });
                    self.skip = len as u64;
                    input = rest;
                    continue;
                }
                if let (Some(msg), Some(after)) = (rest.get(..len), rest.get(len..)) {
                    txs.handle_message(cfg, dir, msg, ts, out);
                    input = after;
                    continue;
                }
                self.buf.extend_from_slice(input);
                return;
            }
            if self.buf.len() < 2 {
                let take = (2 - self.buf.len()).min(input.len());
                self.buf
                    .extend_from_slice(input.get(..take).unwrap_or_default());
                input = input.get(take..).unwrap_or_default();
                if self.buf.len() < 2 {
                    return;
                }
                let len = frame_len(&self.buf);
                if 2 + len > cfg.max_tcp_message {
                    out.push(DnsEvent::Anomaly {
                        tx_id: None,
                        event: DnsAnomaly::MalformedData,
                    });
                    self.buf.clear();
                    self.skip = len as u64;
                    continue;
                }
            }
            let total = 2 + frame_len(&self.buf);
            let take = total.saturating_sub(self.buf.len()).min(input.len());
            self.buf
                .extend_from_slice(input.get(..take).unwrap_or_default());
            input = input.get(take..).unwrap_or_default();
            if self.buf.len() < total {
                return;
            }
            let frame = std::mem::take(&mut self.buf);
            txs.handle_message(cfg, dir, frame.get(2..).unwrap_or_default(), ts, out);
            // Keep the allocation for the next partial frame.
            self.buf = frame;
            self.buf.clear();
        }
    }

    fn gap(&mut self, len: u64) {
        if len == 0 {
            return;
        }
        if self.skip >= len {
            self.skip -= len;
            return;
        }
        if self.skip == 0 && self.buf.len() >= 2 {
            let remaining = (2 + frame_len(&self.buf)).saturating_sub(self.buf.len()) as u64;
            self.buf.clear();
            if len <= remaining {
                self.skip = remaining - len;
                return;
            }
        }
        self.buf.clear();
        self.skip = 0;
        self.desync = true;
    }
}
