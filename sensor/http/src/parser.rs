//! The per-flow parser: transaction bookkeeping and the public entry points.
//!
//! Each direction is a state machine fed with in-order stream bytes (`request.rs`,
//! `response.rs`). Transactions are created when a request line completes (or when a
//! response arrives that no request is waiting for) and live in a queue bounded by
//! `max_pending_transactions`; responses are paired with requests in order. A transaction
//! leaves the queue, as [`HttpEvent::TransactionComplete`], once both of its messages are
//! done, in transaction order.

use std::collections::VecDeque;

use tapwatch_common::{Direction, Timestamp};
use tapwatch_files::FileTracker;

use crate::body::BodyDecoder;
use crate::decompress::Decompressor;
use crate::files::end_file;
use crate::headers::{BlockState, LineBuf};
use crate::multipart::MultipartScanner;
use crate::response_lines::{LineEnd, SkipBeforeBody};
use crate::{HttpAnomaly, HttpConfig, HttpEvent, HttpTransaction};

/// A transaction in the queue, with what the state machines need to know about it.
#[derive(Debug)]
pub(crate) struct TxSlot {
    pub(crate) tx: HttpTransaction,
    pub(crate) req_done: bool,
    pub(crate) resp_done: bool,
    /// The final (non-1xx) response's headers are complete.
    pub(crate) resp_final: bool,
    pub(crate) continue_seen: bool,
    pub(crate) connect: bool,
    pub(crate) head: bool,
    /// The request body being received as a file.
    pub(crate) req_file: Option<FileTracker>,
    /// The response body being received as a file.
    pub(crate) resp_file: Option<FileTracker>,
}

impl TxSlot {
    pub(crate) fn new(tx: HttpTransaction) -> Self {
        Self {
            tx,
            req_done: false,
            resp_done: false,
            resp_final: false,
            continue_seen: false,
            connect: false,
            head: false,
            req_file: None,
            resp_file: None,
        }
    }

    /// The transaction to emit: a file still being received is truncated.
    pub(crate) fn into_tx(mut self) -> HttpTransaction {
        end_file(&mut self.tx, self.req_file.take(), false);
        end_file(&mut self.tx, self.resp_file.take(), false);
        self.tx
    }
}

/// States of the to-server direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReqState {
    /// Expecting a request line; with `resync`, lines that do not start with a known
    /// method are skipped (after a gap).
    Idle {
        resync: bool,
    },
    Headers,
    Body,
    /// A CONNECT request is done: its bytes are held until the response says whether a
    /// tunnel follows.
    WaitConnect {
        resync: bool,
    },
    /// Not parsed any more (tunnel, or finished).
    Closed,
}

/// States of the to-client direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RespState {
    /// Expecting a status line; with `resync`, lines not starting with `HTTP/` are skipped.
    Idle {
        resync: bool,
    },
    /// Skipping to the end of a line, then `Idle { resync: true }`.
    Skip,
    Headers,
    Body,
    Closed,
}

#[derive(Debug)]
pub(crate) struct ReqSide {
    pub(crate) state: ReqState,
    pub(crate) line: LineBuf,
    pub(crate) line_ts: Timestamp,
    pub(crate) held: Vec<u8>,
    pub(crate) cur: Option<u64>,
    pub(crate) block: BlockState,
    pub(crate) body: Option<BodyDecoder>,
    /// Part-header checks of a `multipart/*` body, while one is being read.
    pub(crate) multipart: Option<MultipartScanner>,
}

#[derive(Debug)]
pub(crate) struct RespSide {
    pub(crate) state: RespState,
    pub(crate) line: LineBuf,
    pub(crate) line_ts: Timestamp,
    pub(crate) held: Vec<u8>,
    pub(crate) cur: Option<u64>,
    pub(crate) block: BlockState,
    pub(crate) body: Option<BodyDecoder>,
    pub(crate) decomp: Option<Decompressor>,
    /// How the last line of the response's head ended.
    pub(crate) line_end: LineEnd,
    /// A run of CRs after a CRLF, part of that line end unless a line end follows.
    pub(crate) deferred_eol: Option<Vec<u8>>,
    /// A line end still to come that belongs to the end of the header block.
    pub(crate) skip_before_body: SkipBeforeBody,
}

/// A streaming HTTP/1.x parser for one TCP flow.
///
/// Feed it each direction's reassembled bytes in order, in pieces of any size; it never
/// panics, and everything it holds is bounded by its [`HttpConfig`].
#[derive(Debug)]
pub struct HttpParser {
    pub(crate) cfg: HttpConfig,
    pub(crate) txs: VecDeque<TxSlot>,
    pub(crate) next_tx_id: u64,
    pub(crate) next_resp_id: u64,
    pub(crate) req: ReqSide,
    pub(crate) resp: RespSide,
    /// Set by `finish`: responses nobody waits for are not held back any more.
    pub(crate) closing: bool,
    finished: bool,
}

/// The queued transaction `id`, if it is still queued.
pub(crate) fn slot_mut(txs: &mut VecDeque<TxSlot>, id: u64) -> Option<&mut TxSlot> {
    let front = txs.front()?.tx.tx_id;
    let idx = usize::try_from(id.checked_sub(front)?).ok()?;
    txs.get_mut(idx).filter(|s| s.tx.tx_id == id)
}

/// Pushes an anomaly event.
pub(crate) fn anomaly(out: &mut Vec<HttpEvent>, tx_id: Option<u64>, event: HttpAnomaly) {
    out.push(HttpEvent::Anomaly { tx_id, event });
}

impl HttpParser {
    /// A parser for a new flow.
    pub fn new(cfg: &HttpConfig) -> Self {
        let line_limit = cfg.max_header_bytes;
        Self {
            cfg: cfg.clone(),
            txs: VecDeque::new(),
            next_tx_id: 0,
            next_resp_id: 0,
            req: ReqSide {
                state: ReqState::Idle { resync: false },
                line: LineBuf::new(line_limit),
                line_ts: Timestamp::default(),
                held: Vec::new(),
                cur: None,
                block: BlockState::default(),
                body: None,
                multipart: None,
            },
            resp: RespSide {
                state: RespState::Idle { resync: false },
                line: LineBuf::new(line_limit),
                line_ts: Timestamp::default(),
                held: Vec::new(),
                cur: None,
                block: BlockState::default(),
                body: None,
                decomp: None,
                line_end: LineEnd::Crlf,
                deferred_eol: None,
                skip_before_body: SkipBeforeBody::Nothing,
            },
            closing: false,
            finished: false,
        }
    }

    /// Parses the next bytes of direction `dir`, seen at `ts`; events go to `out`.
    pub fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ts: Timestamp,
        out: &mut Vec<HttpEvent>,
    ) {
        if self.finished {
            return;
        }
        match dir {
            Direction::ToServer => self.feed_request(data, ts, out),
            Direction::ToClient => self.feed_response(data, ts, out),
        }
        self.pump(ts, out);
    }

    /// `len` bytes of direction `dir` are missing from the stream. Inside a body of known
    /// length the gap is skipped; elsewhere the message in progress is marked incomplete
    /// (`INVALID_GAP`) and parsing resumes at the next request or status line.
    pub fn on_gap(&mut self, dir: Direction, len: u64, out: &mut Vec<HttpEvent>) {
        if self.finished || len == 0 {
            return;
        }
        match dir {
            Direction::ToServer => self.request_gap(len, out),
            Direction::ToClient => self.response_gap(len, out),
        }
    }

    /// End of flow: completes what can be completed (a request line without its line
    /// end, a response body delimited by the close, responses held back) and emits every
    /// transaction still open, marked incomplete where a message was not finished.
    pub fn finish(&mut self, ts: Timestamp, out: &mut Vec<HttpEvent>) {
        if self.finished {
            return;
        }
        self.closing = true;
        if matches!(self.req.state, ReqState::Idle { .. }) && !self.req.line.is_empty() {
            self.feed_request(b"\n", ts, out);
        }
        self.pump(ts, out);
        if !self.resp.held.is_empty() && matches!(self.resp.state, RespState::Idle { .. }) {
            let held = std::mem::take(&mut self.resp.held);
            self.feed_response(&held, ts, out);
        }
        if matches!(self.resp.state, RespState::Idle { .. }) && !self.resp.line.is_empty() {
            self.finish_response_line(ts, out);
        }
        if self.resp.state == RespState::Body
            && self
                .resp
                .body
                .as_ref()
                .is_some_and(BodyDecoder::until_close)
        {
            self.response_complete(out);
        }
        self.finished = true;
        self.req.state = ReqState::Closed;
        self.resp.state = RespState::Closed;
        while let Some(mut slot) = self.txs.pop_front() {
            if !(slot.req_done && slot.resp_done) {
                slot.tx.incomplete = true;
            }
            out.push(HttpEvent::TransactionComplete(Box::new(slot.into_tx())));
        }
    }

    /// The open transaction `tx_id` (for inspection after `RequestHeaders` or
    /// `ResponseHeaders`); `None` once it was emitted.
    pub fn transaction(&self, tx_id: u64) -> Option<&HttpTransaction> {
        self.txs.iter().map(|s| &s.tx).find(|t| t.tx_id == tx_id)
    }

    /// Number of transactions open now.
    pub fn open_transactions(&self) -> usize {
        self.txs.len()
    }

    /// Re-feeds bytes a direction held back while it waited for the other one.
    fn pump(&mut self, ts: Timestamp, out: &mut Vec<HttpEvent>) {
        // Every round consumes held bytes or stops; the bound is a guard only.
        for _ in 0..(2 * self.cfg.max_pending_transactions.max(1) + 4) {
            let mut progressed = false;
            if !self.req.held.is_empty() && matches!(self.req.state, ReqState::Idle { .. }) {
                let held = std::mem::take(&mut self.req.held);
                self.feed_request(&held, ts, out);
                progressed = true;
            }
            if !self.resp.held.is_empty()
                && self.resp.cur.is_none()
                && matches!(self.resp.state, RespState::Idle { .. })
                && self.next_awaiting().is_some()
            {
                let held = std::mem::take(&mut self.resp.held);
                self.feed_response(&held, ts, out);
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    /// A new transaction id, evicting the oldest open transaction when the queue is full.
    pub(crate) fn new_tx_id(&mut self, out: &mut Vec<HttpEvent>) -> u64 {
        while self.txs.len() >= self.cfg.max_pending_transactions.max(1) {
            let Some(mut slot) = self.txs.pop_front() else {
                break;
            };
            slot.tx.incomplete = true;
            out.push(HttpEvent::TransactionComplete(Box::new(slot.into_tx())));
        }
        let id = self.next_tx_id;
        self.next_tx_id = self.next_tx_id.saturating_add(1);
        id
    }

    /// The transaction the next response belongs to, if one is waiting.
    pub(crate) fn next_awaiting(&mut self) -> Option<u64> {
        match self.txs.front() {
            Some(front) if self.next_resp_id < front.tx.tx_id => self.next_resp_id = front.tx.tx_id,
            None => self.next_resp_id = self.next_tx_id,
            Some(_) => {}
        }
        (self.next_resp_id < self.next_tx_id).then_some(self.next_resp_id)
    }

    /// Emits, in order, the transactions at the head of the queue that are done.
    pub(crate) fn reap(&mut self, out: &mut Vec<HttpEvent>) {
        while self.txs.front().is_some_and(|s| s.req_done && s.resp_done) {
            if let Some(slot) = self.txs.pop_front() {
                out.push(HttpEvent::TransactionComplete(Box::new(slot.into_tx())));
            }
        }
    }

    /// Marks transaction `id` incomplete.
    pub(crate) fn mark_incomplete(&mut self, id: Option<u64>) {
        if let Some(slot) = id.and_then(|id| slot_mut(&mut self.txs, id)) {
            slot.tx.incomplete = true;
        }
    }

    /// A CONNECT or Upgrade succeeded: what follows is not HTTP; stop parsing both ways.
    pub(crate) fn enter_tunnel(&mut self, id: u64, out: &mut Vec<HttpEvent>) {
        if let Some(slot) = slot_mut(&mut self.txs, id) {
            slot.req_done = true;
            slot.resp_done = true;
        }
        self.req.state = ReqState::Closed;
        self.req.held = Vec::new();
        self.req.body = None;
        self.req.multipart = None;
        self.resp.state = RespState::Closed;
        self.resp.held = Vec::new();
        self.resp.body = None;
        self.resp.decomp = None;
        self.resp.cur = None;
        self.next_resp_id = id.saturating_add(1);
        self.reap(out);
    }
}
