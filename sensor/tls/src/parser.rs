//! The per-flow TLS parser: records, handshake reassembly, and what they tell.

use tapwatch_common::{Direction, Timestamp};

use crate::cert::parse_certificate_message;
use crate::fingerprint;
use crate::hello::{parse_client_hello, parse_server_hello};
use crate::record::{
    content_type as ct, valid_record_version, Framing, HeaderState, MAX_RECORD_LEN,
};
use crate::version::is_tls13;
use crate::{TlsAnomaly, TlsConfig, TlsEvent, TlsInfo};

/// Handshake message types (RFC 8446 §4, RFC 5246 §7.4 and extensions).
mod hs {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const NEW_SESSION_TICKET: u8 = 4;
    pub const CERTIFICATE: u8 = 11;
    /// Every handshake type a peer may legitimately send.
    pub const KNOWN: [u8; 22] = [
        0, 1, 2, 3, 4, 5, 6, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 23, 24, 25, 67, 254,
    ];
}

/// Most records one `on_data` call may hold before it is reported.
const MAX_RECORDS_PER_CALL: u32 = 255;

/// Length of a handshake message header: type and 24-bit length.
const HS_HEADER_LEN: usize = 4;

/// The state of one direction.
#[derive(Debug, Default)]
struct Side {
    framing: Framing,
    /// Part of a handshake message that spans records or calls (bounded by
    /// `max_record_buffer`).
    pending: Vec<u8>,
    /// Handshake bytes seen so far (bounded by `max_handshake_bytes`).
    handshake_bytes: usize,
    /// The record layer is lost (garbage or a gap): nothing more is read.
    stopped: bool,
    /// Handshake messages are no longer parsed: encrypted, malformed, or over the limit.
    handshake_off: bool,
    /// Whether the first record header of this direction was read whole (or lost in a gap).
    started: bool,
    /// A change_cipher_spec record was seen.
    ccs_seen: bool,
    /// Type of the last handshake message parsed.
    last_message: Option<u8>,
}

/// The TLS parser of one flow. Fed with in-order stream bytes of both directions; keeps
/// at most `max_record_buffer` bytes buffered per direction.
#[derive(Debug)]
pub struct TlsParser {
    cfg: TlsConfig,
    sides: [Side; 2],
    info: TlsInfo,
    client_session_id: Vec<u8>,
    /// The server sent a Certificate message (a full handshake, not a resumption).
    server_certificate_seen: bool,
    /// Anomalies already reported (each at most once per flow).
    reported: u32,
    done: bool,
    /// An application_data record followed both sides' ChangeCipherSpec.
    encrypted: bool,
}

impl TlsParser {
    /// A parser for one flow with the given limits.
    pub fn new(cfg: &TlsConfig) -> Self {
        Self {
            cfg: cfg.clone(),
            sides: [Side::default(), Side::default()],
            info: TlsInfo::default(),
            client_session_id: Vec::new(),
            server_certificate_seen: false,
            reported: 0,
            done: false,
            encrypted: false,
        }
    }

    /// What is known so far.
    pub fn info(&self) -> &TlsInfo {
        &self.info
    }

    /// Whether the session carries encrypted application data: an application_data record
    /// came after both sides' ChangeCipherSpec (the point where Suricata's
    /// `encryption-handling: default` stops inspecting the payload).
    pub fn encrypted(&self) -> bool {
        self.encrypted
    }

    /// Feeds the next in-order bytes of direction `dir`; may be split anywhere.
    pub fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        _ts: Timestamp,
        out: &mut Vec<TlsEvent>,
    ) {
        let idx = dir.index();
        let mut input = data;
        let mut records = 0u32;
        while !input.is_empty() {
            let Some(side) = self.sides.get_mut(idx) else {
                return;
            };
            if side.stopped {
                return;
            }
            if !side.framing.in_body() {
                let sslv2 = dir == Direction::ToServer && !side.started;
                let (used, state) = side.framing.push_header(input, sslv2);
                // The first header may arrive split: it is the first until it is complete.
                side.started |= !matches!(state, HeaderState::Partial);
                input = input.get(used..).unwrap_or(&[]);
                match state {
                    HeaderState::Partial => {}
                    HeaderState::Sslv2(len) => {
                        if len < 3 {
                            self.stop(idx, TlsAnomaly::InvalidSslv2Header, out);
                        }
                    }
                    HeaderState::Tls(ty, version, len) => {
                        records += 1;
                        if records == MAX_RECORDS_PER_CALL + 1 {
                            self.report(TlsAnomaly::TooManyRecordsInPacket, out);
                        }
                        self.start_record(dir, ty, version, len, out);
                        if ty == ct::APPLICATION_DATA && self.sides.iter().all(|s| s.ccs_seen) {
                            self.encrypted = true;
                        }
                    }
                }
                continue;
            }
            let body = side.framing.take_body(input);
            input = input.get(body.len()..).unwrap_or(&[]);
            let (ty, left) = (side.framing.content_type, side.framing.body_left);
            if ty == ct::HANDSHAKE && !side.handshake_off {
                self.feed_handshake(dir, body, out);
            }
            if left == 0 {
                self.end_record(dir, out);
            }
        }
    }

    /// Reports that `len` bytes of direction `dir` were lost. A gap inside a record body
    /// that is not being parsed is skipped; anywhere else it ends parsing of that direction.
    pub fn on_gap(&mut self, dir: Direction, len: u64, _out: &mut Vec<TlsEvent>) {
        let Some(side) = self.sides.get_mut(dir.index()) else {
            return;
        };
        if side.stopped || len == 0 {
            return;
        }
        side.started = true;
        let framing = &mut side.framing;
        match usize::try_from(len) {
            Ok(n) if framing.in_body() && n <= framing.body_left => {
                framing.body_left -= n;
                framing.body_gap = true;
                if framing.content_type == ct::HANDSHAKE && !side.handshake_off {
                    side.handshake_off = true;
                    side.pending = Vec::new();
                }
                if framing.body_left == 0 {
                    framing.end_record();
                }
            }
            _ => {
                side.stopped = true;
                side.pending = Vec::new();
            }
        }
    }

    /// The flow ends: reports [`TlsEvent::HandshakeDone`] if it was not yet and the server
    /// sent anything.
    pub fn finish(&mut self, _ts: Timestamp, out: &mut Vec<TlsEvent>) {
        let server_spoke = self.info.server_hello_seen || self.info.server_record_version.is_some();
        if !self.done && server_spoke {
            self.done = true;
            out.push(TlsEvent::HandshakeDone);
        }
        for side in &mut self.sides {
            side.pending = Vec::new();
        }
    }

    fn report(&mut self, a: TlsAnomaly, out: &mut Vec<TlsEvent>) {
        if self.reported & a.bit() == 0 {
            self.reported |= a.bit();
            out.push(TlsEvent::Anomaly(a));
        }
    }

    /// Reports `a` and stops reading direction `idx`.
    fn stop(&mut self, idx: usize, a: TlsAnomaly, out: &mut Vec<TlsEvent>) {
        if let Some(side) = self.sides.get_mut(idx) {
            side.stopped = true;
            side.pending = Vec::new();
        }
        self.report(a, out);
    }

    /// Reports `a` and stops parsing handshake messages in direction `idx`.
    fn handshake_off(&mut self, idx: usize, a: TlsAnomaly, out: &mut Vec<TlsEvent>) {
        if let Some(side) = self.sides.get_mut(idx) {
            side.handshake_off = true;
            side.pending = Vec::new();
        }
        self.report(a, out);
    }

    fn mark_done(&mut self, out: &mut Vec<TlsEvent>) {
        if !self.done {
            self.done = true;
            out.push(TlsEvent::HandshakeDone);
        }
    }

    fn start_record(
        &mut self,
        dir: Direction,
        ty: u8,
        version: u16,
        len: usize,
        out: &mut Vec<TlsEvent>,
    ) {
        let idx = dir.index();
        if dir == Direction::ToClient && self.info.server_record_version.is_none() {
            // Suricata reports the server's first record version when no ServerHello says more.
            self.info.server_record_version = Some(version);
        }
        if !(ct::CHANGE_CIPHER_SPEC..=ct::HEARTBEAT).contains(&ty) {
            return self.stop(idx, TlsAnomaly::InvalidRecordType, out);
        }
        if !valid_record_version(version) {
            return self.stop(idx, TlsAnomaly::InvalidRecordVersion, out);
        }
        if len > MAX_RECORD_LEN {
            return self.stop(idx, TlsAnomaly::InvalidRecordLength, out);
        }
        if let Some(side) = self.sides.get_mut(idx) {
            side.framing.start_body(ty, len);
        }
        if len == 0 {
            self.end_record(dir, out);
        }
    }

    fn end_record(&mut self, dir: Direction, out: &mut Vec<TlsEvent>) {
        let idx = dir.index();
        let Some(side) = self.sides.get_mut(idx) else {
            return;
        };
        side.framing.end_record();
        let encrypted = side.ccs_seen;
        let complete = !side.framing.body_gap;
        let (ty, len) = (side.framing.content_type, side.framing.record_len);
        let mut peek = [0u8; 3];
        let peek_len = side.framing.peek().len();
        for (d, s) in peek.iter_mut().zip(side.framing.peek()) {
            *d = *s;
        }
        match ty {
            ct::SSLV2 => {
                // CLIENT-HELLO (1): its version follows the message type.
                if let (3, [1, hi, lo]) = (peek_len, peek) {
                    if self.info.client_version == 0 {
                        self.info.client_version = u16::from_be_bytes([hi, lo]);
                    }
                } else {
                    self.stop(idx, TlsAnomaly::InvalidSslv2Header, out);
                }
            }
            // A server ChangeCipherSpec before the ServerHello is TLS 1.3 middlebox
            // compatibility after a HelloRetryRequest: the ServerHello still follows in
            // plaintext. (A client's early one only hides its second ClientHello, which
            // is not used.)
            ct::CHANGE_CIPHER_SPEC if dir == Direction::ToServer || self.info.server_hello_seen => {
                side.ccs_seen = true;
                side.handshake_off = true;
                side.pending = Vec::new();
                // An abbreviated handshake: no Certificate between the ServerHello and the
                // server's ChangeCipherSpec, at most a NewSessionTicket (ticket resumption).
                let abbreviated = match side.last_message {
                    Some(hs::SERVER_HELLO) => true,
                    Some(hs::NEW_SESSION_TICKET) => !self.server_certificate_seen,
                    _ => false,
                };
                if dir == Direction::ToClient
                    && abbreviated
                    && self.info.version.is_some_and(|v| !is_tls13(v))
                {
                    self.info.session_resumed = true;
                }
                if self.sides.iter().all(|s| s.ccs_seen) {
                    self.mark_done(out);
                }
            }
            ct::ALERT if !encrypted && complete => {
                if len != 2 || peek_len < 2 {
                    self.report(TlsAnomaly::InvalidAlertMessage, out);
                } else {
                    match peek[0] {
                        1 => {}
                        2 => self.report(TlsAnomaly::ErrorMessageEncountered, out),
                        _ => self.report(TlsAnomaly::InvalidAlertMessage, out),
                    }
                }
            }
            ct::HEARTBEAT => {
                self.report(TlsAnomaly::HeartbeatMessage, out);
                if !encrypted && complete {
                    if peek_len == 3 {
                        let [kind, hi, lo] = peek;
                        let payload = usize::from(u16::from_be_bytes([hi, lo]));
                        if kind != 1 && kind != 2 {
                            self.report(TlsAnomaly::InvalidHeartbeatMessage, out);
                        } else if payload + 3 + 16 > len {
                            self.report(TlsAnomaly::OverflowHeartbeatMessage, out);
                        }
                    } else {
                        self.report(TlsAnomaly::InvalidHeartbeatMessage, out);
                    }
                }
            }
            ct::APPLICATION_DATA if self.info.server_hello_seen => self.mark_done(out),
            _ => {}
        }
    }

    /// Adds handshake-record body bytes of direction `dir` and parses every complete message.
    fn feed_handshake(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<TlsEvent>) {
        let idx = dir.index();
        let max_msg = self.cfg.max_record_buffer;
        let Some(side) = self.sides.get_mut(idx) else {
            return;
        };
        side.handshake_bytes = side.handshake_bytes.saturating_add(bytes.len());
        if side.handshake_bytes > self.cfg.max_handshake_bytes {
            side.handshake_off = true;
            side.pending = Vec::new();
            return;
        }
        if !side.pending.is_empty() {
            // Complete the message begun earlier.
            if side.pending.len() < HS_HEADER_LEN {
                let take = (HS_HEADER_LEN - side.pending.len()).min(bytes.len());
                let (head, rest) = bytes.split_at(take);
                side.pending.extend_from_slice(head);
                bytes = rest;
                if side.pending.len() < HS_HEADER_LEN {
                    return;
                }
            }
            let total = match message_len(&side.pending) {
                Some(total) if total <= max_msg => total,
                _ => return self.handshake_off(idx, TlsAnomaly::HandshakeInvalidLength, out),
            };
            let take = total.saturating_sub(side.pending.len()).min(bytes.len());
            let (head, rest) = bytes.split_at(take);
            side.pending.extend_from_slice(head);
            bytes = rest;
            if side.pending.len() < total {
                return;
            }
            let mut message = std::mem::take(&mut side.pending);
            self.handle_message(dir, &message, out);
            message.clear();
            if let Some(side) = self.sides.get_mut(idx) {
                if !side.handshake_off {
                    side.pending = message; // keep the capacity
                }
            }
        }
        // Parse whole messages straight from the input; buffer only a trailing fragment.
        loop {
            let Some(side) = self.sides.get_mut(idx) else {
                return;
            };
            if side.handshake_off || bytes.is_empty() {
                return;
            }
            let total = match message_len(bytes) {
                None => usize::MAX, // header incomplete
                Some(total) if total <= max_msg => total,
                Some(_) => return self.handshake_off(idx, TlsAnomaly::HandshakeInvalidLength, out),
            };
            if bytes.len() < total {
                side.pending.extend_from_slice(bytes);
                return;
            }
            let (message, rest) = bytes.split_at(total);
            bytes = rest;
            self.handle_message(dir, message, out);
        }
    }

    /// Handles one complete handshake message (header included).
    fn handle_message(&mut self, dir: Direction, message: &[u8], out: &mut Vec<TlsEvent>) {
        let idx = dir.index();
        let (Some(&ty), Some(body)) = (message.first(), message.get(HS_HEADER_LEN..)) else {
            return;
        };
        if !hs::KNOWN.contains(&ty) {
            return self.handshake_off(idx, TlsAnomaly::InvalidHandshakeMessage, out);
        }
        if let Some(side) = self.sides.get_mut(idx) {
            side.last_message = Some(ty);
        }
        if (dir, ty) == (Direction::ToClient, hs::CERTIFICATE) {
            self.server_certificate_seen = true;
        }
        match (dir, ty) {
            (Direction::ToServer, hs::CLIENT_HELLO) => self.on_client_hello(body, out),
            (Direction::ToClient, hs::SERVER_HELLO) => self.on_server_hello(body, out),
            (_, hs::CERTIFICATE) => self.on_certificate(dir, body, out),
            _ => {}
        }
    }

    fn on_client_hello(&mut self, body: &[u8], out: &mut Vec<TlsEvent>) {
        let parsed = match parse_client_hello(body) {
            Ok(p) => p,
            Err(a) => return self.handshake_off(Direction::ToServer.index(), a, out),
        };
        for a in parsed.anomalies {
            self.report(a, out);
        }
        if self.info.client_hello_seen {
            return; // a second ClientHello after a HelloRetryRequest: keep the first
        }
        let h = parsed.hello;
        let info = &mut self.info;
        info.client_hello_seen = true;
        info.ja3 = Some(fingerprint::ja3(&h));
        info.ja4 = Some(fingerprint::ja4(Some(&h)));
        info.client_version = h.version;
        info.client_random = Some(h.random);
        self.client_session_id = h.session_id;
        info.sni = h.sni;
        info.client_supported_versions = h.supported_versions;
        info.ciphers = h.ciphers;
        info.extensions = h.extensions;
        info.groups = h.groups;
        info.ec_point_formats = h.ec_point_formats;
        info.sig_algs = h.sig_algs;
        info.client_alpns = h.alpns;
        out.push(TlsEvent::ClientHello);
    }

    fn on_server_hello(&mut self, body: &[u8], out: &mut Vec<TlsEvent>) {
        let idx = Direction::ToClient.index();
        let h = match parse_server_hello(body) {
            Ok(h) => h,
            Err(a) => return self.handshake_off(idx, a, out),
        };
        if h.is_hrr || self.info.server_hello_seen {
            return;
        }
        let version = h.negotiated();
        let resumed_by_id = !is_tls13(version)
            && !h.session_id.is_empty()
            && h.session_id == self.client_session_id;
        let info = &mut self.info;
        info.server_hello_seen = true;
        info.server_random = Some(h.random);
        info.version = Some(version);
        info.cipher_suite = Some(h.cipher);
        info.ja3s = Some(fingerprint::ja3s(&h));
        info.server_alpns = h.alpns;
        info.server_extensions = h.extensions;
        info.session_resumed |= resumed_by_id;
        out.push(TlsEvent::ServerHello);
        if is_tls13(version) {
            // Everything after the ServerHello is encrypted: nothing more to learn.
            if let Some(side) = self.sides.get_mut(idx) {
                side.handshake_off = true;
                side.pending = Vec::new();
            }
            self.mark_done(out);
        }
    }

    fn on_certificate(&mut self, dir: Direction, body: &[u8], out: &mut Vec<TlsEvent>) {
        let tls13 = self.info.version.is_some_and(is_tls13);
        let mut anomalies = Vec::new();
        let (certs, count) =
            match parse_certificate_message(body, tls13, self.cfg.max_certificates, &mut anomalies)
            {
                Ok(c) => c,
                Err(a) => return self.handshake_off(dir.index(), a, out),
            };
        for a in anomalies {
            self.report(a, out);
        }
        if dir == Direction::ToClient && self.info.server_chain_len.is_none() {
            self.info.server_chain_len = Some(count);
        }
        let slot = match dir {
            Direction::ToClient => &mut self.info.certificates,
            Direction::ToServer => &mut self.info.client_certificates,
        };
        if slot.is_empty() && !certs.is_empty() {
            *slot = certs;
            out.push(TlsEvent::Certificates);
        }
    }
}

/// Total length (header included) of the handshake message starting `data`, once its
/// header is complete.
fn message_len(data: &[u8]) -> Option<usize> {
    match data {
        [_, a, b, c, ..] => {
            Some(HS_HEADER_LEN + (usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c)))
        }
        _ => None,
    }
}
