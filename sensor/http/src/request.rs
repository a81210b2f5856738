//! The to-server direction: request lines, headers and bodies.

use tapwatch_common::{Direction, Timestamp};
use tapwatch_files::FileTracker;

use crate::body::{BodyDecoder, BodySink};
use crate::decompress::append_bounded;
use crate::files::{end_file, request_body_is_file, request_file};
use crate::headers::{
    add_header_line, declared_framing, is_ws, strip_eol, trim, BlockState, Declared, Framing, Side,
};
use crate::multipart::{boundary, MultipartScanner};
use crate::parser::{anomaly, slot_mut, ReqState, TxSlot};
use crate::startline::{parse_request_line, protocol_before_1_1};
use crate::uri::{absolute_parts, normalize_uri, parse_authority};
use crate::{
    probe, HttpAnomaly, HttpConfig, HttpEvent, HttpParser, HttpTransaction, Probe, Request,
};

/// Where request body bytes and trailers go.
struct ReqSink<'a> {
    req: Option<&'a mut Request>,
    file: Option<&'a mut FileTracker>,
    multipart: Option<&'a mut MultipartScanner>,
    block: &'a mut BlockState,
    cfg: &'a HttpConfig,
    out: &'a mut Vec<HttpEvent>,
    id: u64,
}

impl BodySink for ReqSink<'_> {
    fn data(&mut self, bytes: &[u8]) {
        if let Some(r) = self.req.as_deref_mut() {
            r.body_len = r.body_len.saturating_add(bytes.len() as u64);
            append_bounded(&mut r.body, bytes, self.cfg.request_body_limit);
        }
        if let Some(f) = self.file.as_deref_mut() {
            f.append(bytes);
        }
        if self.multipart.as_deref_mut().is_some_and(|m| m.feed(bytes)) {
            anomaly(self.out, Some(self.id), HttpAnomaly::MultipartInvalidHeader);
        }
    }

    fn trailer(&mut self, raw: &[u8], truncated: bool) {
        if let Some(r) = self.req.as_deref_mut() {
            let (out, id) = (&mut *self.out, self.id);
            add_header_line(
                &mut r.headers,
                self.block,
                raw,
                truncated,
                Side::Request,
                self.cfg,
                &mut |a| anomaly(out, Some(id), a),
            );
        }
    }

    fn anomaly(&mut self, a: HttpAnomaly) {
        anomaly(self.out, Some(self.id), a);
    }

    fn wire(&mut self, _n: usize) {}
}

/// `Authorization` schemes libhtp recognises; any other raises `REQUEST_AUTH_UNRECOGNIZED`.
/// (Checked against Suricata's records: NTLM and Negotiate raise it, Basic and Digest do not.)
const KNOWN_AUTH_SCHEMES: [&[u8]; 3] = [b"basic", b"digest", b"bearer"];

/// Raises `REQUEST_AUTH_UNRECOGNIZED` for an `Authorization` header whose scheme is unknown.
fn check_authorization(req: &Request, emit: &mut impl FnMut(HttpAnomaly)) {
    let Some(value) = req.header("authorization").map(trim) else {
        return;
    };
    let scheme = value.split(|&b| is_ws(b)).next().unwrap_or_default();
    if !scheme.is_empty()
        && !KNOWN_AUTH_SCHEMES
            .iter()
            .any(|k| scheme.eq_ignore_ascii_case(k))
    {
        emit(HttpAnomaly::RequestAuthUnrecognized);
    }
}

/// Sets `hostname` and `port` from the URI or the `Host` header and reports the
/// authority anomalies.
fn resolve_authority(req: &mut Request, emit: &mut impl FnMut(HttpAnomaly)) {
    let uri_authority = match absolute_parts(&req.uri_raw) {
        Some((auth, _)) => Some(auth),
        None if req.method == b"CONNECT" => Some(req.uri_raw.as_slice()),
        None => None,
    };
    let mut hostname = None;
    let mut port = None;
    if let Some(auth) = uri_authority {
        match parse_authority(auth) {
            Ok(a) => {
                if a.port == Some(None) {
                    emit(HttpAnomaly::InvalidAuthorityPort);
                }
                port = a.port.flatten();
                hostname = Some(a.host);
            }
            Err(_) => emit(HttpAnomaly::RequestUriHostInvalid),
        }
    }
    match req.header("host") {
        Some(value) => match parse_authority(value) {
            Ok(a) => match &hostname {
                Some(h) if *h != a.host => emit(HttpAnomaly::HostHeaderAmbiguous),
                Some(_) => {}
                None => {
                    if a.port == Some(None) {
                        emit(HttpAnomaly::InvalidServerPortInRequest);
                    }
                    port = a.port.flatten();
                    hostname = Some(a.host);
                }
            },
            Err(_) => {
                emit(HttpAnomaly::RequestHeaderHostInvalid);
                if hostname.is_none() {
                    hostname = Some(trim(value).to_ascii_lowercase());
                }
            }
        },
        None => {
            if !req.protocol.is_empty() && !protocol_before_1_1(&req.protocol) {
                emit(HttpAnomaly::MissingHostHeader);
            }
        }
    }
    req.hostname = hostname;
    req.port = port;
}

impl HttpParser {
    pub(crate) fn feed_request(
        &mut self,
        mut data: &[u8],
        ts: Timestamp,
        out: &mut Vec<HttpEvent>,
    ) {
        while !data.is_empty() {
            match self.req.state {
                ReqState::Closed => return,
                ReqState::WaitConnect { .. } => {
                    if self.req.held.len().saturating_add(data.len()) > self.cfg.max_header_bytes {
                        // No answer to the CONNECT within the bound: treat it as a tunnel.
                        self.req.held = Vec::new();
                        self.req.state = ReqState::Closed;
                    } else {
                        self.req.held.extend_from_slice(data);
                    }
                    return;
                }
                ReqState::Idle { resync } => {
                    if self.req.line.is_empty() {
                        self.req.line_ts = ts;
                    }
                    let (n, complete) = self.req.line.feed(data);
                    data = data.get(n..).unwrap_or_default();
                    if complete {
                        let overflow = self.req.line.overflowed();
                        let buf = self.req.line.take();
                        self.request_line(&buf, overflow, resync, out);
                        self.req.line.restore(buf);
                    }
                }
                ReqState::Headers => {
                    let (n, complete) = self.req.line.feed(data);
                    data = data.get(n..).unwrap_or_default();
                    if complete {
                        let overflow = self.req.line.overflowed();
                        let buf = self.req.line.take();
                        self.request_header_line(&buf, overflow, out);
                        self.req.line.restore(buf);
                    }
                }
                ReqState::Body => {
                    let n = self.request_body(data, out);
                    data = data.get(n..).unwrap_or_default();
                }
            }
        }
    }

    fn request_line(&mut self, raw: &[u8], overflow: bool, resync: bool, out: &mut Vec<HttpEvent>) {
        let line = strip_eol(raw);
        if trim(line).is_empty() {
            return;
        }
        if resync {
            if probe(Direction::ToServer, line) != Probe::Match {
                return;
            }
            self.req.state = ReqState::Idle { resync: false };
        }
        let parsed = parse_request_line(line);
        let id = self.new_tx_id(out);
        let request = Request {
            method: parsed.method.to_vec(),
            uri_raw: parsed.uri.to_vec(),
            uri_normalized: normalize_uri(parsed.uri),
            protocol: parsed.protocol.to_vec(),
            ts: self.req.line_ts,
            ..Request::default()
        };
        let mut slot = TxSlot::new(HttpTransaction {
            tx_id: id,
            request: Some(request),
            ..HttpTransaction::default()
        });
        slot.connect = parsed.method == b"CONNECT";
        slot.head = parsed.method == b"HEAD";
        self.txs.push_back(slot);
        for a in parsed.anomalies.iter() {
            anomaly(out, Some(id), a);
        }
        self.req.cur = Some(id);
        self.req.block = BlockState::new(raw.len());
        if overflow {
            self.req
                .block
                .flag_too_long(Side::Request, &mut |a| anomaly(out, Some(id), a));
        }
        if parsed.http09 {
            self.request_headers_done(out);
        } else {
            self.req.state = ReqState::Headers;
        }
    }

    fn request_header_line(&mut self, raw: &[u8], overflow: bool, out: &mut Vec<HttpEvent>) {
        let end = strip_eol(raw).is_empty();
        if let Some(id) = self.req.cur {
            if let Some(req) = slot_mut(&mut self.txs, id).and_then(|s| s.tx.request.as_mut()) {
                append_bounded(&mut req.headers_raw, raw, self.cfg.max_header_bytes);
            }
        }
        if end {
            self.request_headers_done(out);
            return;
        }
        let Some(id) = self.req.cur else {
            return;
        };
        if let Some(req) = slot_mut(&mut self.txs, id).and_then(|s| s.tx.request.as_mut()) {
            add_header_line(
                &mut req.headers,
                &mut self.req.block,
                raw,
                overflow,
                Side::Request,
                &self.cfg,
                &mut |a| anomaly(out, Some(id), a),
            );
        }
    }

    fn request_headers_done(&mut self, out: &mut Vec<HttpEvent>) {
        let Some(id) = self.req.cur else {
            self.req.state = ReqState::Idle { resync: false };
            return;
        };
        let mut framing = Framing::None;
        self.req.multipart = None;
        if let Some(req) = slot_mut(&mut self.txs, id).and_then(|s| s.tx.request.as_mut()) {
            let mut emit = |a| anomaly(out, Some(id), a);
            resolve_authority(req, &mut emit);
            check_authorization(req, &mut emit);
            self.req.multipart = req
                .header("content-type")
                .and_then(boundary)
                .map(|b| MultipartScanner::new(b, self.cfg.request_body_limit));
            framing = match declared_framing(&req.headers, Side::Request, &mut emit) {
                Declared::Chunked => Framing::Chunked,
                Declared::Length(n) => Framing::Length(n),
                Declared::Invalid | Declared::Nothing => Framing::None,
            };
        }
        out.push(HttpEvent::RequestHeaders(id));
        let decoder = BodyDecoder::new(framing, Side::Request, self.cfg.max_header_bytes);
        if decoder.is_done() {
            self.request_complete(out);
        } else {
            if let Some(slot) = slot_mut(&mut self.txs, id) {
                let is_file = slot
                    .tx
                    .request
                    .as_ref()
                    .is_some_and(|r| request_body_is_file(&r.method, &r.headers));
                if is_file {
                    slot.req_file = Some(request_file(slot, &self.cfg));
                }
            }
            self.req.body = Some(decoder);
            self.req.state = ReqState::Body;
        }
    }

    fn request_body(&mut self, data: &[u8], out: &mut Vec<HttpEvent>) -> usize {
        let Some(id) = self.req.cur else {
            self.req.state = ReqState::Idle { resync: false };
            return 0;
        };
        let Some(decoder) = self.req.body.as_mut() else {
            self.request_complete(out);
            return 0;
        };
        let (req, file) = match slot_mut(&mut self.txs, id) {
            Some(s) => (s.tx.request.as_mut(), s.req_file.as_mut()),
            None => (None, None),
        };
        let mut sink = ReqSink {
            req,
            file,
            multipart: self.req.multipart.as_mut(),
            block: &mut self.req.block,
            cfg: &self.cfg,
            out,
            id,
        };
        let used = decoder.feed(data, &mut sink);
        if decoder.is_done() {
            self.req.body = None;
            self.request_complete(out);
        } else if decoder.is_broken() {
            self.req.body = None;
            self.mark_incomplete(Some(id));
            if let Some(f) = slot_mut(&mut self.txs, id).and_then(|s| s.req_file.as_mut()) {
                f.truncate();
            }
            self.request_complete(out);
            if self.req.state == (ReqState::Idle { resync: false }) {
                self.req.state = ReqState::Idle { resync: true };
            }
        }
        used
    }

    /// The request of the current transaction is over.
    pub(crate) fn request_complete(&mut self, out: &mut Vec<HttpEvent>) {
        self.req.multipart = None;
        let Some(id) = self.req.cur.take() else {
            return;
        };
        self.req.state = ReqState::Idle { resync: false };
        let mut tunnel = false;
        if let Some(slot) = slot_mut(&mut self.txs, id) {
            slot.req_done = true;
            // A body cut short was truncated where that was seen.
            end_file(&mut slot.tx, slot.req_file.take(), true);
            if slot.connect {
                let answered = slot
                    .resp_final
                    .then(|| slot.tx.response.as_ref().and_then(|r| r.status));
                match answered {
                    Some(Some(code)) if (200..300).contains(&code) => tunnel = true,
                    Some(_) => {}
                    None => self.req.state = ReqState::WaitConnect { resync: false },
                }
            }
        }
        out.push(HttpEvent::RequestComplete(id));
        if tunnel {
            self.enter_tunnel(id, out);
        } else {
            self.reap(out);
        }
    }

    pub(crate) fn request_gap(&mut self, len: u64, out: &mut Vec<HttpEvent>) {
        let id = self.req.cur;
        match self.req.state {
            ReqState::Closed => {}
            ReqState::WaitConnect { .. } => {
                self.req.held.clear();
                self.req.state = ReqState::WaitConnect { resync: true };
            }
            ReqState::Idle { .. } => {
                self.req.line.clear();
                anomaly(out, None, HttpAnomaly::InvalidGap);
                self.req.state = ReqState::Idle { resync: true };
            }
            ReqState::Headers => {
                self.req.line.clear();
                anomaly(out, id, HttpAnomaly::InvalidGap);
                self.mark_incomplete(id);
                self.request_complete(out);
                self.resync_request();
            }
            ReqState::Body => {
                self.mark_incomplete(id);
                let in_data = self.req.body.as_ref().map_or(0, |d| d.gap_in_data(len));
                let skipped = self.req.body.as_mut().is_some_and(|d| d.gap(len));
                let done = self.req.body.as_ref().is_some_and(BodyDecoder::is_done);
                if let Some(f) = id
                    .and_then(|id| slot_mut(&mut self.txs, id))
                    .and_then(|s| s.req_file.as_mut())
                {
                    f.gap(in_data);
                    if !skipped {
                        f.truncate();
                    }
                }
                if !skipped {
                    anomaly(out, id, HttpAnomaly::InvalidGap);
                    self.req.body = None;
                    self.request_complete(out);
                    self.resync_request();
                } else if done {
                    self.req.body = None;
                    self.request_complete(out);
                }
            }
        }
    }

    fn resync_request(&mut self) {
        match self.req.state {
            ReqState::Idle { .. } => self.req.state = ReqState::Idle { resync: true },
            ReqState::WaitConnect { .. } => self.req.state = ReqState::WaitConnect { resync: true },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req_with(method: &str, uri: &str, proto: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            uri_raw: uri.into(),
            protocol: proto.into(),
            headers: headers
                .iter()
                .map(|(n, v)| crate::Header {
                    name: (*n).into(),
                    value: (*v).into(),
                })
                .collect(),
            ..Request::default()
        }
    }

    fn resolve(r: &mut Request) -> Vec<HttpAnomaly> {
        let mut v = Vec::new();
        resolve_authority(r, &mut |a| v.push(a));
        v
    }

    #[test]
    fn authority_sources() {
        let mut r = req_with("GET", "/", "HTTP/1.1", &[("Host", "WWW.Example.com:8080")]);
        assert!(resolve(&mut r).is_empty());
        assert_eq!(
            (r.hostname.as_deref(), r.port),
            (Some(&b"www.example.com"[..]), Some(8080))
        );

        let mut r = req_with(
            "GET",
            "http://a.example/x",
            "HTTP/1.1",
            &[("Host", "b.example")],
        );
        assert_eq!(resolve(&mut r), vec![HttpAnomaly::HostHeaderAmbiguous]);
        assert_eq!(r.hostname.as_deref(), Some(&b"a.example"[..]));

        let mut r = req_with(
            "CONNECT",
            "apache.org:443",
            "HTTP/1.1",
            &[("Host", "apache.org:443")],
        );
        assert!(resolve(&mut r).is_empty());
        assert_eq!(
            (r.hostname.as_deref(), r.port),
            (Some(&b"apache.org"[..]), Some(443))
        );

        let mut r = req_with("CONNECT", r#"{"a":1,"b":true}"#, "", &[]);
        assert_eq!(resolve(&mut r), vec![HttpAnomaly::RequestUriHostInvalid]);
        assert_eq!(r.hostname, None);

        let mut r = req_with("GET", "/", "HTTP/1.1", &[]);
        assert_eq!(resolve(&mut r), vec![HttpAnomaly::MissingHostHeader]);
        let mut r = req_with("GET", "/", "HTTP/1.0", &[]);
        assert!(resolve(&mut r).is_empty());

        let mut r = req_with("GET", "/", "HTTP/1.1", &[("Host", "h:port")]);
        assert_eq!(
            resolve(&mut r),
            vec![HttpAnomaly::InvalidServerPortInRequest]
        );
        assert_eq!((r.hostname.as_deref(), r.port), (Some(&b"h"[..]), None));

        let mut r = req_with("GET", "/", "HTTP/1.1", &[("Host", "Bad Host")]);
        assert_eq!(resolve(&mut r), vec![HttpAnomaly::RequestHeaderHostInvalid]);
        assert_eq!(r.hostname.as_deref(), Some(&b"bad host"[..]));
    }
}
