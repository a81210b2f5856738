//! The to-client direction: status lines, headers and bodies.

use tapwatch_common::Timestamp;

use crate::body::{BodyDecoder, BodySink};
use crate::decompress::{append_bounded, codings, Decoded, Decompressor};
use crate::files::{end_file, response_file};
use crate::headers::{
    add_header_line, combined_value_nozero, declared_framing, name_is_nozero, strip_eol,
    BlockState, Declared, Framing, Side,
};
use crate::parser::{anomaly, slot_mut, ReqState, RespState, TxSlot};
use crate::probe::probe_response;
use crate::response_lines::{
    first_line_kind, is_cr_run, is_empty_fold, is_space, strip_all_eol, LineEnd, LineKind,
    SkipBeforeBody,
};
use crate::startline::{parse_status_line, protocol_before_1_1};
use crate::{HttpAnomaly, HttpConfig, HttpEvent, HttpParser, HttpTransaction, Probe, Response};
use tapwatch_files::FileTracker;

/// Bytes that decide whether a response starts with a status line (`HTTP/`) while the
/// parser resynchronises after a gap.
const STATUS_PREFIX_LEN: usize = 5;

/// Where response body bytes and trailers go.
struct RespSink<'a> {
    resp: Option<&'a mut Response>,
    file: Option<&'a mut FileTracker>,
    decomp: Option<&'a mut Decompressor>,
    block: &'a mut BlockState,
    cfg: &'a HttpConfig,
    out: &'a mut Vec<HttpEvent>,
    id: u64,
}

/// Decoded response body bytes: into the kept body, up to its limit, and the file.
struct BodyAndFile<'a> {
    body: &'a mut Vec<u8>,
    limit: usize,
    file: Option<&'a mut FileTracker>,
}

impl Decoded for BodyAndFile<'_> {
    fn push(&mut self, bytes: &[u8]) {
        append_bounded(self.body, bytes, self.limit);
        if let Some(f) = self.file.as_deref_mut() {
            f.append(bytes);
        }
    }

    fn full(&self) -> bool {
        self.body.len() >= self.limit && self.file.as_deref().is_none_or(|f| !f.is_open())
    }
}

impl BodySink for RespSink<'_> {
    fn data(&mut self, bytes: &[u8]) {
        if let Some(r) = self.resp.as_deref_mut() {
            let mut dest = BodyAndFile {
                body: &mut r.body,
                limit: self.cfg.response_body_limit,
                file: self.file.as_deref_mut(),
            };
            match self.decomp.as_deref_mut() {
                Some(d) => {
                    if let Some(a) = d.feed(bytes, &mut dest, self.cfg) {
                        anomaly(self.out, Some(self.id), a);
                    }
                }
                None => dest.push(bytes),
            }
        }
    }

    fn trailer(&mut self, raw: &[u8], truncated: bool) {
        if let Some(r) = self.resp.as_deref_mut() {
            let (out, id) = (&mut *self.out, self.id);
            add_header_line(
                &mut r.headers,
                self.block,
                raw,
                truncated,
                Side::Response,
                self.cfg,
                &mut |a| anomaly(out, Some(id), a),
            );
        }
    }

    fn anomaly(&mut self, a: HttpAnomaly) {
        anomaly(self.out, Some(self.id), a);
    }

    fn wire(&mut self, n: usize) {
        if let Some(r) = self.resp.as_deref_mut() {
            r.body_len = r.body_len.saturating_add(n as u64);
        }
    }
}

impl HttpParser {
    pub(crate) fn feed_response(
        &mut self,
        mut data: &[u8],
        ts: Timestamp,
        out: &mut Vec<HttpEvent>,
    ) {
        while !data.is_empty() {
            match self.resp.state {
                RespState::Closed => return,
                RespState::Skip => match data.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        data = data.get(i + 1..).unwrap_or_default();
                        self.resp.state = RespState::Idle { resync: true };
                    }
                    None => return,
                },
                RespState::Idle { resync } => {
                    if self.resp.line.is_empty() {
                        // Blank lines before a response are skipped, but not when they
                        // continue bytes already held (those started with a non-blank byte).
                        let blank = if self.resp.held.is_empty() {
                            data.iter()
                                .take_while(|&&b| b == b'\r' || b == b'\n')
                                .count()
                        } else {
                            0
                        };
                        data = data.get(blank..).unwrap_or_default();
                        if data.is_empty() {
                            return;
                        }
                        if !resync && self.resp.cur.is_none() {
                            match self.next_awaiting() {
                                Some(id) => self.resp.cur = Some(id),
                                None => {
                                    let room = self.cfg.max_header_bytes;
                                    if !self.closing
                                        && self.resp.held.len().saturating_add(data.len()) <= room
                                    {
                                        self.resp.held.extend_from_slice(data);
                                        return;
                                    }
                                    if !self.resp.held.is_empty() {
                                        // Bytes held earlier come first.
                                        let held = std::mem::take(&mut self.resp.held);
                                        self.new_orphan(out);
                                        self.feed_response(&held, ts, out);
                                        continue;
                                    }
                                    self.new_orphan(out);
                                }
                            }
                        }
                        self.resp.line_ts = ts;
                    }
                    if resync {
                        let decided = probe_response(self.resp.line.raw()) == Probe::Match;
                        let max = if decided {
                            data.len()
                        } else {
                            STATUS_PREFIX_LEN.saturating_sub(self.resp.line.raw().len())
                        };
                        let (n, complete) = self.resp.line.feed_at_most(data, max);
                        data = data.get(n..).unwrap_or_default();
                        match probe_response(self.resp.line.raw()) {
                            Probe::Match => {
                                if complete {
                                    let overflow = self.resp.line.overflowed();
                                    let buf = self.resp.line.take();
                                    self.status_line(&buf, overflow, out);
                                    self.resp.line.restore(buf);
                                }
                            }
                            Probe::NeedMore if !complete => {}
                            Probe::NeedMore | Probe::NoMatch => {
                                self.resp.line.clear();
                                if !complete {
                                    self.resp.state = RespState::Skip;
                                }
                            }
                        }
                        continue;
                    }
                    // A status line is any line that starts, after white space, with "http";
                    // other lines are the body, unless libhtp skips them (see below).
                    let status = first_line_kind(self.resp.line.raw(), false) == LineKind::Status;
                    let max = if status {
                        data.len()
                    } else {
                        self.resp.line.room()
                    };
                    let (n, complete) = self.resp.line.feed_at_most(data, max);
                    data = data.get(n..).unwrap_or_default();
                    let full = !complete && self.resp.line.room() == 0;
                    match first_line_kind(self.resp.line.raw(), complete || full) {
                        LineKind::Undecided => {}
                        LineKind::Status => {
                            if complete {
                                let overflow = self.resp.line.overflowed();
                                let buf = self.resp.line.take();
                                let tail = self.status_and_header_lines(&buf, overflow, out);
                                self.resp.line.restore(buf);
                                if let Some(tail) = tail.filter(|t| !t.is_empty()) {
                                    self.feed_response(&tail, ts, out);
                                }
                            }
                        }
                        LineKind::Blank => self.resp.line.clear(),
                        LineKind::Other if !complete && !full => {}
                        LineKind::Other => {
                            // libhtp skips a line that is not a status line when the next
                            // one starts with 'H' or when it is at most two bytes long.
                            let short = strip_all_eol(self.resp.line.raw()).len() <= 2;
                            let next_h = data.len() > 1 && data.first() == Some(&b'H');
                            if complete && (short || next_h) {
                                self.resp.line.clear();
                            } else {
                                let buf = self.resp.line.take();
                                self.response_without_status_line(&buf, out);
                                self.resp.line.restore(buf);
                            }
                        }
                    }
                }
                RespState::Headers => {
                    let (n, complete) = self.resp.line.feed(data);
                    data = data.get(n..).unwrap_or_default();
                    if complete {
                        let overflow = self.resp.line.overflowed();
                        let buf = self.resp.line.take();
                        let tail = self.response_header_lines(&buf, overflow, out);
                        self.resp.line.restore(buf);
                        if let Some(tail) = tail.filter(|t| !t.is_empty()) {
                            // Bytes after the end of the headers, in the same LF-ended line.
                            self.feed_response(&tail, ts, out);
                        }
                    }
                }
                RespState::Body => {
                    let skip = std::mem::take(&mut self.resp.skip_before_body).len_in(data);
                    data = data.get(skip..).unwrap_or_default();
                    if data.is_empty() {
                        continue;
                    }
                    let n = self.response_body(data, out);
                    data = data.get(n..).unwrap_or_default();
                }
            }
        }
    }

    /// The connection closed while the first line of a response had no line end yet: a
    /// status line is completed, anything else is the body, as libhtp reads it.
    pub(crate) fn finish_response_line(&mut self, ts: Timestamp, out: &mut Vec<HttpEvent>) {
        match first_line_kind(self.resp.line.raw(), true) {
            LineKind::Status => self.feed_response(b"\n", ts, out),
            LineKind::Blank | LineKind::Undecided => self.resp.line.clear(),
            LineKind::Other => {
                if matches!(self.resp.state, RespState::Idle { resync: true }) {
                    self.resp.line.clear();
                    return;
                }
                let buf = self.resp.line.take();
                self.response_without_status_line(&buf, out);
                self.resp.line.restore(buf);
            }
        }
    }

    /// A transaction for a response that no request is waiting for.
    fn new_orphan(&mut self, out: &mut Vec<HttpEvent>) -> u64 {
        let id = self.new_tx_id(out);
        let mut slot = TxSlot::new(HttpTransaction {
            tx_id: id,
            ..HttpTransaction::default()
        });
        slot.req_done = true;
        self.txs.push_back(slot);
        anomaly(out, Some(id), HttpAnomaly::UnableToMatchResponseToRequest);
        self.next_resp_id = id;
        self.resp.cur = Some(id);
        id
    }

    /// The transaction this response belongs to, creating one if none waits.
    fn response_tx(&mut self, out: &mut Vec<HttpEvent>) -> u64 {
        if let Some(id) = self.resp.cur {
            return id;
        }
        let id = match self.next_awaiting() {
            Some(id) => id,
            None => self.new_orphan(out),
        };
        self.resp.cur = Some(id);
        id
    }

    /// A response that does not start with `HTTP/`: an HTTP/0.9 style body that runs
    /// until the connection closes; `first` are its first bytes.
    fn response_without_status_line(&mut self, first: &[u8], out: &mut Vec<HttpEvent>) {
        let id = self.response_tx(out);
        if let Some(slot) = slot_mut(&mut self.txs, id) {
            slot.resp_final = true;
            slot.tx.response = Some(Response {
                ts: self.resp.line_ts,
                ..Response::default()
            });
        }
        self.resp.body = Some(BodyDecoder::new(
            Framing::UntilClose,
            Side::Response,
            self.cfg.max_header_bytes,
        ));
        self.resp.decomp = None;
        self.resp.state = RespState::Body;
        self.response_body(first, out);
    }

    fn status_line(&mut self, raw: &[u8], overflow: bool, out: &mut Vec<HttpEvent>) {
        self.resp.line_end = LineEnd::of(raw);
        self.resp.deferred_eol = None;
        self.resp.skip_before_body = SkipBeforeBody::Nothing;
        if self.resp.state == (RespState::Idle { resync: true }) {
            self.resp.state = RespState::Idle { resync: false };
        }
        let id = self.response_tx(out);
        let start = raw
            .iter()
            .position(|&b| !is_space(b) && b != 0)
            .unwrap_or(raw.len());
        let parsed = parse_status_line(strip_eol(raw.get(start..).unwrap_or_default()));
        if let Some(slot) = slot_mut(&mut self.txs, id) {
            slot.tx.response = Some(Response {
                protocol: parsed.protocol.to_vec(),
                status: parsed.status,
                status_raw: parsed.status_raw.to_vec(),
                reason: parsed.reason.to_vec(),
                ts: self.resp.line_ts,
                ..Response::default()
            });
        }
        for a in parsed.anomalies.iter() {
            anomaly(out, Some(id), a);
        }
        self.resp.block = BlockState::new(raw.len());
        if overflow {
            self.resp
                .block
                .flag_too_long(Side::Response, &mut |a| anomaly(out, Some(id), a));
        }
        self.resp.state = RespState::Headers;
    }

    /// The LF-ended line that starts a response: its status line ends at the first CR not
    /// followed by LF, as libhtp ends response lines, and header lines may follow in the
    /// same LF-ended line. Returns the bytes after the end of the headers, if it came.
    fn status_and_header_lines(
        &mut self,
        raw: &[u8],
        overflow: bool,
        out: &mut Vec<HttpEvent>,
    ) -> Option<Vec<u8>> {
        let lone_cr = raw
            .iter()
            .enumerate()
            .find(|&(i, &b)| b == b'\r' && i + 1 < raw.len() && raw.get(i + 1) != Some(&b'\n'))
            .map(|(i, _)| i);
        let Some(cr) = lone_cr else {
            self.status_line(raw, overflow, out);
            return None;
        };
        let (status, rest) = raw.split_at(cr + 1);
        self.status_line(status, false, out);
        if self.resp.state != RespState::Headers {
            return Some(rest.to_vec());
        }
        self.response_header_lines(rest, overflow, out)
    }

    /// One LF-ended line of a response header block (or the rest of the status line's),
    /// read with libhtp's response line ends:
    /// - a CR that does not precede an LF also ends a line (`A: 1\rB: 2\r\n` is two headers);
    /// - after a bare LF, a CR belongs to that line end (`\n\r`), and `\n\r\r\n` followed
    ///   by a line end is one deformed line end;
    /// - after a CRLF, a run of CRs, spaces and tabs that starts with CR (`\r\r\n`) is part
    ///   of that line end when a header follows, and ends the block when a line end
    ///   follows; any other line starting with CR ends the block at that CR;
    /// - a line of only spaces and tabs ended by a bare LF ends the block (libhtp sees an
    ///   empty fold), and a bare LF right after it is part of the end.
    ///
    /// Returns the bytes that are already the body when the block ended.
    fn response_header_lines(
        &mut self,
        raw: &[u8],
        overflow: bool,
        out: &mut Vec<HttpEvent>,
    ) -> Option<Vec<u8>> {
        let mut pos = 0;
        loop {
            let line = raw.get(pos..).unwrap_or_default();
            if self.resp.line_end == LineEnd::Crlf
                && self.resp.deferred_eol.is_none()
                && line != b"\r\n"
                && is_cr_run(line)
            {
                // Part of the previous line end unless a line end comes next.
                self.resp.deferred_eol = Some(line.to_vec());
                return None;
            }
            if self.resp.line_end == LineEnd::Lf && line.first() == Some(&b'\r') {
                if line == b"\r\r\n" {
                    // `\n\r\r\n`: the end of the block, and a line end right after it too.
                    self.resp.skip_before_body = SkipBeforeBody::Eol;
                    self.response_header_line(b"\n", false, out);
                    return None;
                }
                // `\n\r` is one line end.
                pos += 1;
                self.resp.line_end = LineEnd::Crlf;
                continue;
            }
            let lone_cr = raw
                .iter()
                .enumerate()
                .skip(pos)
                .find(|&(i, &b)| b == b'\r' && i + 1 < raw.len() && raw.get(i + 1) != Some(&b'\n'))
                .map(|(i, _)| i);
            let end = lone_cr.map_or(raw.len(), |i| i + 1);
            let seg = raw.get(pos..end).unwrap_or_default();
            let rest = raw.get(end..).unwrap_or_default();
            let prev = self.resp.line_end;
            self.resp.line_end = LineEnd::of(seg);
            if let Some(deferred) = self.resp.deferred_eol.take() {
                if strip_eol(seg).is_empty() {
                    // The CR run was not part of a line end: the block ended at its CR.
                    self.response_header_line(b"\n", false, out);
                    let mut tail = deferred.get(1..).unwrap_or_default().to_vec();
                    tail.extend_from_slice(seg);
                    tail.extend_from_slice(rest);
                    return self.body_tail(tail);
                }
            }
            let starts_cr = seg.first() == Some(&b'\r') && seg != b"\r\n";
            if prev == LineEnd::Crlf && starts_cr {
                // The block ends at this CR; what follows it is the body.
                self.response_header_line(b"\n", false, out);
                let mut tail = seg.get(1..).unwrap_or_default().to_vec();
                tail.extend_from_slice(rest);
                return self.body_tail(tail);
            } else if is_empty_fold(seg) {
                self.resp.skip_before_body = SkipBeforeBody::Lf;
                self.response_header_line(b"\n", false, out);
            } else {
                self.response_header_line(seg, overflow && lone_cr.is_none(), out);
            }
            if self.resp.state != RespState::Headers {
                return self.body_tail(rest.to_vec());
            }
            lone_cr?;
            pos = end;
        }
    }

    /// `tail`, the bytes after the end of a header block, when the headers left the
    /// parser reading a body (or a next response); `None` when there are none.
    fn body_tail(&mut self, tail: Vec<u8>) -> Option<Vec<u8>> {
        (!tail.is_empty()).then_some(tail)
    }

    fn response_header_line(&mut self, raw: &[u8], overflow: bool, out: &mut Vec<HttpEvent>) {
        let end = strip_eol(raw).is_empty();
        if let Some(id) = self.resp.cur {
            if let Some(resp) = slot_mut(&mut self.txs, id).and_then(|s| s.tx.response.as_mut()) {
                append_bounded(&mut resp.headers_raw, raw, self.cfg.max_header_bytes);
            }
        }
        if end {
            self.response_headers_done(out);
            return;
        }
        let Some(id) = self.resp.cur else {
            return;
        };
        if let Some(resp) = slot_mut(&mut self.txs, id).and_then(|s| s.tx.response.as_mut()) {
            add_header_line(
                &mut resp.headers,
                &mut self.resp.block,
                raw,
                overflow,
                Side::Response,
                &self.cfg,
                &mut |a| anomaly(out, Some(id), a),
            );
        }
    }

    fn response_headers_done(&mut self, out: &mut Vec<HttpEvent>) {
        let Some(id) = self.resp.cur else {
            self.resp.state = RespState::Idle { resync: false };
            return;
        };
        let Some(slot) = slot_mut(&mut self.txs, id) else {
            // Evicted meanwhile: the body cannot be framed without the headers.
            self.resp.cur = None;
            self.resp.state = RespState::Idle { resync: true };
            return;
        };
        let status = slot.tx.response.as_ref().and_then(|r| r.status);
        // libhtp reads a 101 that announces a body (Content-Length or Transfer-Encoding) as
        // an ordinary response, not as a switch of protocols.
        let announces_body = slot.tx.response.as_ref().is_some_and(|r| {
            r.headers.iter().any(|h| {
                name_is_nozero(&h.name, "content-length")
                    || name_is_nozero(&h.name, "transfer-encoding")
            })
        });
        let status_for_interim = status.filter(|&c| !(c == 101 && announces_body));
        if let Some(code) = status_for_interim.filter(|c| (100..200).contains(c)) {
            if code == 101 {
                out.push(HttpEvent::ResponseHeaders(id));
                self.enter_tunnel(id, out);
                return;
            }
            if code == 100 {
                if slot.continue_seen {
                    anomaly(out, Some(id), HttpAnomaly::ContinueAlreadySeen);
                }
                slot.continue_seen = true;
            }
            // An interim response: the final one follows for the same transaction.
            slot.tx.response = None;
            self.resp.state = RespState::Idle { resync: false };
            return;
        }
        slot.resp_final = true;
        let (connect, head) = (slot.connect, slot.head);
        let mut framing = Framing::UntilClose;
        let mut codec = None;
        if let Some(resp) = slot.tx.response.as_ref() {
            let mut emit = |a| anomaly(out, Some(id), a);
            let declared = declared_framing(&resp.headers, Side::Response, &mut emit);
            let no_body_status = matches!(status, Some(204 | 304));
            if no_body_status && !head && declared != Declared::Nothing {
                // libhtp (and browsers) read the body a 204 or 304 announces anyway.
                emit(HttpAnomaly::ResponseBodyUnexpected);
            }
            framing = match declared {
                // libhtp accepts the framing headers of a HEAD response (they describe the
                // GET) silently.
                _ if head => Framing::None,
                Declared::Nothing if no_body_status => Framing::None,
                Declared::Chunked => {
                    if resp.protocol.is_empty() || protocol_before_1_1(&resp.protocol) {
                        emit(HttpAnomaly::ResponseChunkedOldProto);
                    }
                    Framing::Chunked
                }
                Declared::Length(n) => Framing::Length(n),
                Declared::Invalid | Declared::Nothing => Framing::UntilClose,
            };
            if self.cfg.decompress {
                codec = combined_value_nozero(&resp.headers, "content-encoding")
                    .and_then(|v| Decompressor::new(&codings(&v, self.cfg.decompress_layer_limit)));
            }
        }
        out.push(HttpEvent::ResponseHeaders(id));
        if connect {
            if status.is_some_and(|c| (200..300).contains(&c)) {
                self.enter_tunnel(id, out);
                return;
            }
            if let ReqState::WaitConnect { resync } = self.req.state {
                self.req.state = ReqState::Idle { resync };
            }
        }
        let decoder = BodyDecoder::new(framing, Side::Response, self.cfg.max_header_bytes);
        if decoder.is_done() {
            self.response_complete(out);
        } else {
            if let Some(slot) = slot_mut(&mut self.txs, id) {
                slot.resp_file = Some(response_file(slot, &self.cfg));
            }
            self.resp.body = Some(decoder);
            self.resp.decomp = codec;
            self.resp.state = RespState::Body;
        }
    }

    fn response_body(&mut self, data: &[u8], out: &mut Vec<HttpEvent>) -> usize {
        let Some(id) = self.resp.cur else {
            self.resp.state = RespState::Idle { resync: false };
            return 0;
        };
        let Some(decoder) = self.resp.body.as_mut() else {
            self.response_complete(out);
            return 0;
        };
        let (resp, file) = match slot_mut(&mut self.txs, id) {
            Some(s) => (s.tx.response.as_mut(), s.resp_file.as_mut()),
            None => (None, None),
        };
        let mut sink = RespSink {
            resp,
            file,
            decomp: self.resp.decomp.as_mut(),
            block: &mut self.resp.block,
            cfg: &self.cfg,
            out,
            id,
        };
        let used = decoder.feed(data, &mut sink);
        if decoder.is_done() {
            self.response_complete(out);
        } else if decoder.is_broken() {
            // The chunked framing is lost: the rest of the connection is body.
            self.resp.body = Some(BodyDecoder::new(
                Framing::UntilClose,
                Side::Response,
                self.cfg.max_header_bytes,
            ));
        }
        used
    }

    /// The response of the current transaction is over.
    pub(crate) fn response_complete(&mut self, out: &mut Vec<HttpEvent>) {
        self.resp.skip_before_body = SkipBeforeBody::Nothing;
        self.resp.body = None;
        self.resp.decomp = None;
        self.resp.state = RespState::Idle { resync: false };
        let Some(id) = self.resp.cur.take() else {
            return;
        };
        if let Some(slot) = slot_mut(&mut self.txs, id) {
            slot.resp_done = true;
            // A body cut short was truncated where that was seen.
            end_file(&mut slot.tx, slot.resp_file.take(), true);
        }
        self.next_resp_id = self.next_resp_id.max(id.saturating_add(1));
        self.reap(out);
    }

    pub(crate) fn response_gap(&mut self, len: u64, out: &mut Vec<HttpEvent>) {
        self.resp.held.clear();
        let id = self.resp.cur;
        match self.resp.state {
            RespState::Closed => {}
            RespState::Idle { .. } | RespState::Skip => {
                self.resp.line.clear();
                anomaly(out, id, HttpAnomaly::InvalidGap);
                self.resp.state = RespState::Idle { resync: true };
            }
            RespState::Headers => {
                self.resp.line.clear();
                anomaly(out, id, HttpAnomaly::InvalidGap);
                self.mark_incomplete(id);
                self.response_complete(out);
                self.resp.state = RespState::Idle { resync: true };
            }
            RespState::Body => {
                self.mark_incomplete(id);
                if let Some(d) = self.resp.decomp.as_mut() {
                    // Compressed data with a hole cannot be decoded further.
                    d.stop();
                }
                let in_data = self.resp.body.as_ref().map_or(0, |d| d.gap_in_data(len));
                let skipped = self.resp.body.as_mut().is_some_and(|d| d.gap(len));
                let done = self.resp.body.as_ref().is_some_and(BodyDecoder::is_done);
                if let Some(slot) = id.and_then(|id| slot_mut(&mut self.txs, id)) {
                    if let Some(f) = slot.resp_file.as_mut() {
                        // A gap past the body's end marks the file and counts only the body
                        // bytes it took.
                        f.gap(in_data);
                    }
                    if skipped {
                        // The missing bytes were body bytes on the wire: Suricata counts
                        // them in `length` too.
                        if let Some(r) = slot.tx.response.as_mut() {
                            r.body_len = r.body_len.saturating_add(len);
                        }
                    }
                }
                if !skipped {
                    anomaly(out, id, HttpAnomaly::InvalidGap);
                    if let Some(f) = id
                        .and_then(|id| slot_mut(&mut self.txs, id))
                        .and_then(|s| s.resp_file.as_mut())
                    {
                        f.truncate();
                    }
                    self.response_complete(out);
                    self.resp.state = RespState::Idle { resync: true };
                } else if done {
                    self.response_complete(out);
                }
            }
        }
    }
}
