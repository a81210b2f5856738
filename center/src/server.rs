//! The gRPC server sensors connect to: one `Link` stream per sensor, mutual TLS, identity
//! checks, batch decoding with bounds, and durable storage before every `Ack`.
//!
//! All writes go to one storage thread ([`StoreWorker`]) which commits the batches waiting at
//! that moment from all sensors in one transaction (group commit), then answers each.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use tapwatch_proto::batch::{decode_records, decompress, BatchError};
use tapwatch_proto::v1::sensor_link_server::{SensorLink, SensorLinkServer};
use tapwatch_proto::v1::{
    center_message, sensor_message, Ack, CenterMessage, Error as ErrorMsg, ErrorCode, FlowRecord,
    Health, Hello, SensorMessage,
};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::Stream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

use crate::config::{Config, ServerSection};
use crate::identity::identity_from_chain;
use crate::log;
use crate::store::{self, EncodedAlerts, Inserted, Records, SeqState, Store, StoreError, Write};

/// A request to the storage thread.
enum Cmd {
    Apply(Write, oneshot::Sender<Result<Inserted, String>>),
    Hello(Hello, oneshot::Sender<Result<SeqState, String>>),
    Health(String, Box<Health>),
    PutDictionary(
        String,
        u32,
        Vec<u8>,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    GetDictionary(
        String,
        u32,
        oneshot::Sender<Result<Option<Vec<u8>>, String>>,
    ),
    State(String, oneshot::Sender<Result<SeqState, String>>),
}

/// Handle to the storage thread.
#[derive(Clone, Debug)]
pub struct StoreWorker {
    tx: mpsc::Sender<Cmd>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cmd")
    }
}

const GONE: &str = "storage thread stopped";

impl StoreWorker {
    /// Starts the storage thread on `store`; `max_group` batches are committed together at most.
    pub fn start(store: Box<dyn Store>, max_group: usize) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        std::thread::Builder::new()
            .name("center-store".into())
            .spawn(move || store_thread(store, rx, max_group.max(1)))
            .map(|_| ())
            .unwrap_or_else(|e| log::error(&format!("cannot start the storage thread: {e}")));
        Self { tx }
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Cmd) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Queues a write; the receiver gets its result once committed (or nothing when the
    /// storage thread stopped).
    async fn submit(&self, w: Write) -> oneshot::Receiver<Result<Inserted, String>> {
        let (tx, rx) = oneshot::channel();
        // When the thread stopped, `tx` is dropped with the command and `rx` reports it.
        let _ = self.tx.send(Cmd::Apply(w, tx)).await;
        rx
    }

    async fn apply(&self, w: Write) -> Result<Inserted, String> {
        self.call(|r| Cmd::Apply(w, r))
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }

    async fn hello(&self, h: Hello) -> Result<SeqState, String> {
        self.call(|r| Cmd::Hello(h, r))
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }

    async fn state(&self, s: String) -> Result<SeqState, String> {
        self.call(|r| Cmd::State(s, r))
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }

    async fn put_dictionary(&self, s: String, id: u32, d: Vec<u8>) -> Result<(), StoreError> {
        self.call(|r| Cmd::PutDictionary(s, id, d, r))
            .await
            .unwrap_or_else(|| Err(StoreError::Corrupt(GONE.into())))
    }

    async fn dictionary(&self, s: String, id: u32) -> Result<Option<Vec<u8>>, String> {
        self.call(|r| Cmd::GetDictionary(s, id, r))
            .await
            .unwrap_or_else(|| Err(GONE.into()))
    }

    async fn health(&self, s: String, h: Health) {
        let _ = self.tx.send(Cmd::Health(s, Box::new(h))).await;
    }
}

fn store_thread(mut store: Box<dyn Store>, mut rx: mpsc::Receiver<Cmd>, max_group: usize) {
    let mut pending: Option<Cmd> = None;
    loop {
        let cmd = match pending.take() {
            Some(c) => c,
            None => match rx.blocking_recv() {
                Some(c) => c,
                None => return,
            },
        };
        let now = store::sqlite::now_us();
        match cmd {
            Cmd::Apply(w, reply) => {
                let mut group = vec![(w, reply)];
                while group.len() < max_group {
                    match rx.try_recv() {
                        Ok(Cmd::Apply(w, r)) => group.push((w, r)),
                        Ok(other) => {
                            pending = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                apply_group(store.as_mut(), group);
            }
            Cmd::Hello(h, reply) => {
                let r = store
                    .upsert_hello(&h, now)
                    .and_then(|()| store.seq_state(&h.sensor_id))
                    .map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Cmd::Health(s, h) => {
                if let Err(e) = store.upsert_health(&s, &h, now) {
                    log::error(&format!("sensor {s}: storing health failed: {e}"));
                }
            }
            Cmd::PutDictionary(s, id, d, reply) => {
                let _ = reply.send(store.put_dictionary(&s, id, &d));
            }
            Cmd::GetDictionary(s, id, reply) => {
                let _ = reply.send(store.dictionary(&s, id).map_err(|e| e.to_string()));
            }
            Cmd::State(s, reply) => {
                let _ = reply.send(store.seq_state(&s).map_err(|e| e.to_string()));
            }
        }
    }
}

type Reply = oneshot::Sender<Result<Inserted, String>>;

/// Commits a group in one transaction; if that fails, each write alone, so that one bad write
/// cannot fail the others.
fn apply_group(store: &mut dyn Store, group: Vec<(Write, Reply)>) {
    let (writes, replies): (Vec<Write>, Vec<Reply>) = group.into_iter().unzip();
    match store.apply(&writes) {
        Ok(results) => {
            for (r, res) in replies.into_iter().zip(results) {
                let _ = r.send(Ok(res));
            }
        }
        Err(e) if writes.len() == 1 => {
            for r in replies {
                let _ = r.send(Err(e.to_string()));
            }
        }
        Err(_) => {
            for (w, r) in writes.iter().zip(replies) {
                let res = store
                    .apply(std::slice::from_ref(w))
                    .map_err(|e| e.to_string())
                    .and_then(|mut v| v.pop().ok_or_else(|| "no result".to_owned()));
                let _ = r.send(res);
            }
        }
    }
}

/// Limits applied to what sensors send.
#[derive(Debug, Clone)]
struct Limits {
    max_decompressed_bytes: usize,
    max_records_per_batch: usize,
    max_dictionary_bytes: usize,
}

/// The `SensorLink` service.
#[derive(Debug, Clone)]
pub struct LinkService {
    store: StoreWorker,
    insecure: bool,
    limits: Arc<Limits>,
}

impl LinkService {
    /// A service writing through `store`.
    pub fn new(store: StoreWorker, cfg: &ServerSection) -> Self {
        Self {
            store,
            insecure: cfg.insecure,
            limits: Arc::new(Limits {
                max_decompressed_bytes: cfg.max_decompressed_bytes,
                max_records_per_batch: cfg.max_records_per_batch,
                max_dictionary_bytes: cfg.max_dictionary_bytes,
            }),
        }
    }
}

type Out = mpsc::Sender<Result<CenterMessage, Status>>;

#[tonic::async_trait]
impl SensorLink for LinkService {
    type LinkStream = Pin<Box<dyn Stream<Item = Result<CenterMessage, Status>> + Send + 'static>>;

    async fn link(
        &self,
        req: Request<Streaming<SensorMessage>>,
    ) -> Result<Response<Self::LinkStream>, Status> {
        let peer = req.remote_addr();
        let identity = if self.insecure {
            None
        } else {
            let certs = req.peer_certs();
            match identity_from_chain(certs.as_deref().map(Vec::as_slice)) {
                Ok(id) => Some(id),
                Err(e) => {
                    log::warn(&format!("{}: refused: {e}", fmt_peer(peer)));
                    return Err(Status::unauthenticated(e.to_string()));
                }
            }
        };
        let inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let session = Session {
            store: self.store.clone(),
            limits: Arc::clone(&self.limits),
            peer: fmt_peer(peer),
            identity,
            sensor_id: String::new(),
            dictionaries: HashMap::new(),
            out: tx,
            pending: None,
            broken: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        };
        tokio::spawn(session.run(inbound));
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

fn fmt_peer(p: Option<SocketAddr>) -> String {
    p.map(|a| a.to_string())
        .unwrap_or_else(|| "unknown peer".into())
}

/// The refusal of one message.
struct Refusal {
    code: ErrorCode,
    message: String,
    seq: u64,
    fatal: bool,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>, seq: u64, fatal: bool) -> Self {
        Self {
            code,
            message: message.into(),
            seq,
            fatal,
        }
    }
}

struct Session {
    store: StoreWorker,
    limits: Arc<Limits>,
    peer: String,
    identity: Option<String>,
    sensor_id: String,
    dictionaries: HashMap<u32, Arc<Vec<u8>>>,
    out: Out,
    /// Batches submitted to the storage thread, awaited in order by the acker task, which
    /// sends each `Ack` after its commit: the next batch is read and decoded while the
    /// previous ones are being committed (and several commit together).
    pending: Option<mpsc::Sender<InFlight>>,
    /// Set by the acker when a commit failed: the stream is then closed.
    broken: Arc<std::sync::atomic::AtomicBool>,
}

/// A batch submitted to the storage thread: its seq and where its result arrives.
type InFlight = (u64, oneshot::Receiver<Result<Inserted, String>>);

/// Batches a stream may have in flight to the storage thread.
const PIPELINE_DEPTH: usize = 32;

/// Sends the `Ack` of each committed batch, in submission order; a failed commit ends the
/// stream with a fatal `Error` (the sensor resends from its last ack).
async fn acker(
    mut rx: mpsc::Receiver<InFlight>,
    out: Out,
    broken: Arc<std::sync::atomic::AtomicBool>,
    sensor: String,
) {
    while let Some((seq, reply)) = rx.recv().await {
        let res = reply.await.unwrap_or_else(|_| Err(GONE.into()));
        let m = match res {
            Ok(ins) => ack(SeqState {
                highest_contiguous: ins.highest_contiguous,
                highest_seen: ins.highest_seen,
            }),
            Err(e) => {
                broken.store(true, std::sync::atomic::Ordering::SeqCst);
                log::error(&format!(
                    "sensor {sensor}: batch {seq}: storing failed: {e}"
                ));
                CenterMessage {
                    msg: Some(center_message::Msg::Error(tapwatch_proto::v1::Error {
                        code: ErrorCode::Storage as i32,
                        message: e,
                        seq,
                        fatal: true,
                    })),
                }
            }
        };
        let fatal = matches!(m.msg, Some(center_message::Msg::Error(_)));
        if out.send(Ok(m)).await.is_err() || fatal {
            return;
        }
    }
}

fn ack(st: SeqState) -> CenterMessage {
    CenterMessage {
        msg: Some(center_message::Msg::Ack(Ack {
            highest_contiguous_seq: st.highest_contiguous,
            highest_seen_seq: st.highest_seen,
        })),
    }
}

/// A stream error from tonic as an `ErrorCode`.
fn status_code(s: &Status) -> ErrorCode {
    let m = s.message();
    if s.code() == tonic::Code::OutOfRange
        || s.code() == tonic::Code::ResourceExhausted
        || m.contains("too large")
    {
        ErrorCode::TooLarge
    } else {
        ErrorCode::Malformed
    }
}

impl Session {
    async fn run(mut self, mut inbound: Streaming<SensorMessage>) {
        let first = inbound.message().await;
        let hello = match first {
            Ok(Some(SensorMessage {
                msg: Some(sensor_message::Msg::Hello(h)),
            })) => h,
            Ok(None) => return,
            Ok(Some(_)) => {
                self.refuse(Refusal::new(
                    ErrorCode::HelloRequired,
                    "the first message must be Hello",
                    0,
                    true,
                ))
                .await;
                return;
            }
            Err(s) => {
                self.refuse(Refusal::new(
                    status_code(&s),
                    format!("stream error: {}", s.message()),
                    0,
                    true,
                ))
                .await;
                return;
            }
        };
        if let Err(r) = self.hello(hello).await {
            self.refuse(r).await;
            return;
        }
        loop {
            if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            let msg = match inbound.message().await {
                Ok(Some(m)) => m,
                Ok(None) => {
                    log::info(&format!(
                        "sensor {} ({}): stream closed",
                        self.sensor_id, self.peer
                    ));
                    return;
                }
                Err(s) => {
                    self.refuse(Refusal::new(
                        status_code(&s),
                        format!("stream error: {}", s.message()),
                        0,
                        true,
                    ))
                    .await;
                    return;
                }
            };
            let result = match msg.msg {
                Some(sensor_message::Msg::AlertBatch(b)) => {
                    let h = BatchHeader {
                        sensor_id: b.sensor_id,
                        seq: b.seq,
                        count: b.count,
                        compression: b.compression,
                        dictionary_id: b.dictionary_id,
                    };
                    self.batch(h, b.payload, |plain, max| {
                        EncodedAlerts::decode(plain, max).map(Records::EncodedAlerts)
                    })
                    .await
                }
                Some(sensor_message::Msg::FlowBatch(b)) => {
                    let h = BatchHeader {
                        sensor_id: b.sensor_id,
                        seq: b.seq,
                        count: b.count,
                        compression: b.compression,
                        dictionary_id: b.dictionary_id,
                    };
                    self.batch(h, b.payload, |plain, max| {
                        decode_records::<FlowRecord>(&plain, max).map(Records::Flows)
                    })
                    .await
                }
                Some(sensor_message::Msg::Health(h)) => self.health(h).await,
                Some(sensor_message::Msg::Dictionary(d)) => {
                    self.dictionary(d.dictionary_id, d.data).await
                }
                Some(sensor_message::Msg::BatchesDropped(d)) => self.dropped(d).await,
                Some(sensor_message::Msg::Hello(h)) => self.hello(h).await,
                None => Err(Refusal::new(
                    ErrorCode::Malformed,
                    "empty SensorMessage",
                    0,
                    false,
                )),
            };
            if let Err(r) = result {
                let fatal = r.fatal;
                if !self.refuse(r).await || fatal {
                    return;
                }
            }
        }
    }

    /// Sends a message; false when the sensor is gone.
    async fn send(&self, m: CenterMessage) -> bool {
        self.out.send(Ok(m)).await.is_ok()
    }

    /// Logs and sends an `Error`; false when the sensor is gone.
    async fn refuse(&self, r: Refusal) -> bool {
        let who = if self.sensor_id.is_empty() {
            self.identity.clone().unwrap_or_else(|| "?".into())
        } else {
            self.sensor_id.clone()
        };
        log::warn(&format!(
            "sensor {who} ({}): {:?} seq {}: {}{}",
            self.peer,
            r.code,
            r.seq,
            r.message,
            if r.fatal { " (closing the stream)" } else { "" }
        ));
        self.send(CenterMessage {
            msg: Some(center_message::Msg::Error(ErrorMsg {
                code: r.code as i32,
                message: r.message,
                seq: r.seq,
                fatal: r.fatal,
            })),
        })
        .await
    }

    fn check_sender(&self, claimed: &str, seq: u64) -> Result<(), Refusal> {
        if claimed != self.sensor_id {
            return Err(Refusal::new(
                ErrorCode::IdentityMismatch,
                format!(
                    "sensor_id {claimed:?} is not this stream's sensor {:?}",
                    self.sensor_id
                ),
                seq,
                true,
            ));
        }
        Ok(())
    }

    async fn hello(&mut self, h: Hello) -> Result<(), Refusal> {
        if h.protocol_version != tapwatch_proto::PROTOCOL_VERSION {
            return Err(Refusal::new(
                ErrorCode::ProtocolVersion,
                format!(
                    "protocol_version {} not supported (this center speaks {})",
                    h.protocol_version,
                    tapwatch_proto::PROTOCOL_VERSION
                ),
                0,
                true,
            ));
        }
        if let Some(id) = &self.identity {
            if &h.sensor_id != id {
                return Err(Refusal::new(
                    ErrorCode::IdentityMismatch,
                    format!(
                        "Hello.sensor_id {:?} differs from the certificate identity {id:?}",
                        h.sensor_id
                    ),
                    0,
                    true,
                ));
            }
        } else if h.sensor_id.is_empty() {
            return Err(Refusal::new(
                ErrorCode::IdentityMismatch,
                "empty sensor_id",
                0,
                true,
            ));
        }
        if !self.sensor_id.is_empty() && self.sensor_id != h.sensor_id {
            return Err(Refusal::new(
                ErrorCode::IdentityMismatch,
                "a stream cannot change sensor",
                0,
                true,
            ));
        }
        self.sensor_id = h.sensor_id.clone();
        log::info(&format!(
            "sensor {} ({}): hello, {}, ruleset {}",
            h.sensor_id, self.peer, h.software_version, h.ruleset_id
        ));
        let st = self
            .store
            .hello(h)
            .await
            .map_err(|e| Refusal::new(ErrorCode::Storage, e, 0, true))?;
        self.send(ack(st)).await;
        Ok(())
    }

    async fn dict(&mut self, id: u32, seq: u64) -> Result<Option<Arc<Vec<u8>>>, Refusal> {
        if id == 0 {
            return Ok(None);
        }
        if let Some(d) = self.dictionaries.get(&id) {
            return Ok(Some(Arc::clone(d)));
        }
        match self.store.dictionary(self.sensor_id.clone(), id).await {
            Ok(Some(d)) => {
                let d = Arc::new(d);
                self.dictionaries.insert(id, Arc::clone(&d));
                Ok(Some(d))
            }
            Ok(None) => Err(Refusal::new(
                ErrorCode::UnknownDictionary,
                format!("dictionary {id} was never sent"),
                seq,
                false,
            )),
            Err(e) => Err(Refusal::new(ErrorCode::Storage, e, seq, true)),
        }
    }

    /// Decompresses and decodes (`decode`: the decompressed payload and the most records it
    /// may hold) a batch off the async threads, checks it, and submits it for storage.
    async fn batch(
        &mut self,
        h: BatchHeader,
        payload: Vec<u8>,
        decode: fn(Vec<u8>, usize) -> Result<Records, BatchError>,
    ) -> Result<(), Refusal> {
        self.check_sender(&h.sensor_id, h.seq)?;
        let seq = h.seq;
        if seq == 0 {
            return Err(Refusal::new(
                ErrorCode::InvalidSeq,
                "seq 0 is not valid (seqs start at 1)",
                0,
                false,
            ));
        }
        let limits = Arc::clone(&self.limits);
        if h.count as usize > limits.max_records_per_batch {
            return Err(Refusal::new(
                ErrorCode::TooLarge,
                format!(
                    "count {} exceeds {} records per batch",
                    h.count, limits.max_records_per_batch
                ),
                seq,
                false,
            ));
        }
        let dict = self.dict(h.dictionary_id, seq).await?;
        let max_count = (h.count as usize)
            .saturating_add(1)
            .min(limits.max_records_per_batch.saturating_add(1));
        let decoded = tokio::task::spawn_blocking(move || {
            let plain = decompress(
                &payload,
                h.compression,
                dict.as_deref().map(Vec::as_slice),
                limits.max_decompressed_bytes,
            )?;
            decode(plain, max_count)
        })
        .await
        .map_err(|e| {
            Refusal::new(
                ErrorCode::Malformed,
                format!("decoder failed: {e}"),
                seq,
                false,
            )
        })?;
        let records = decoded.map_err(|e| {
            let code = match &e {
                BatchError::TooLarge { .. } => ErrorCode::TooLarge,
                BatchError::Decompress(_) | BatchError::Compress(_) => ErrorCode::Decompression,
                BatchError::TooManyRecords { .. } => ErrorCode::CountMismatch,
                BatchError::Malformed { .. } | BatchError::UnknownCompression(_) => {
                    ErrorCode::Malformed
                }
            };
            Refusal::new(code, e.to_string(), seq, false)
        })?;
        if records.len() != h.count as usize {
            return Err(Refusal::new(
                ErrorCode::CountMismatch,
                format!(
                    "count says {} records, payload holds {}",
                    h.count,
                    records.len()
                ),
                seq,
                false,
            ));
        }
        let w = Write::Batch {
            sensor_id: self.sensor_id.clone(),
            seq,
            records,
        };
        let reply = self.store.submit(w).await;
        let pending = match &self.pending {
            Some(p) => p.clone(),
            None => {
                let (tx, rx) = mpsc::channel(PIPELINE_DEPTH);
                tokio::spawn(acker(
                    rx,
                    self.out.clone(),
                    Arc::clone(&self.broken),
                    self.sensor_id.clone(),
                ));
                self.pending = Some(tx.clone());
                tx
            }
        };
        if pending.send((seq, reply)).await.is_err() {
            return Err(Refusal::new(ErrorCode::Storage, GONE, seq, true));
        }
        Ok(())
    }

    async fn health(&mut self, h: Health) -> Result<(), Refusal> {
        if !h.sensor_id.is_empty() {
            self.check_sender(&h.sensor_id, 0)?;
        }
        self.store.health(self.sensor_id.clone(), h).await;
        Ok(())
    }

    async fn dictionary(&mut self, id: u32, data: Vec<u8>) -> Result<(), Refusal> {
        if id == 0 {
            return Err(Refusal::new(
                ErrorCode::InvalidSeq,
                "dictionary id 0 is reserved",
                0,
                false,
            ));
        }
        if data.len() > self.limits.max_dictionary_bytes {
            return Err(Refusal::new(
                ErrorCode::TooLarge,
                format!(
                    "dictionary of {} bytes exceeds {}",
                    data.len(),
                    self.limits.max_dictionary_bytes
                ),
                0,
                false,
            ));
        }
        let d = Arc::new(data.clone());
        match self
            .store
            .put_dictionary(self.sensor_id.clone(), id, data)
            .await
        {
            Ok(()) => {
                self.dictionaries.insert(id, d);
            }
            Err(StoreError::DictionaryConflict(id)) => {
                return Err(Refusal::new(
                    ErrorCode::DictionaryConflict,
                    format!("dictionary {id} is already stored with other bytes"),
                    0,
                    false,
                ))
            }
            Err(e) => return Err(Refusal::new(ErrorCode::Storage, e.to_string(), 0, true)),
        }
        let st = self
            .store
            .state(self.sensor_id.clone())
            .await
            .map_err(|e| Refusal::new(ErrorCode::Storage, e, 0, true))?;
        self.send(ack(st)).await;
        Ok(())
    }

    async fn dropped(&mut self, d: tapwatch_proto::v1::BatchesDropped) -> Result<(), Refusal> {
        self.check_sender(&d.sensor_id, d.first_seq)?;
        if d.first_seq == 0 || d.last_seq < d.first_seq {
            return Err(Refusal::new(
                ErrorCode::InvalidSeq,
                format!("invalid dropped range {}..={}", d.first_seq, d.last_seq),
                d.first_seq,
                false,
            ));
        }
        log::warn(&format!(
            "sensor {}: reports batches {}..={} dropped ({} records, reason {:?})",
            self.sensor_id,
            d.first_seq,
            d.last_seq,
            d.records,
            d.reason()
        ));
        let w = Write::Dropped {
            sensor_id: self.sensor_id.clone(),
            first_seq: d.first_seq,
            last_seq: d.last_seq,
            kind: d.kind,
            records: d.records,
            reason: d.reason,
        };
        let ins = self
            .store
            .apply(w)
            .await
            .map_err(|e| Refusal::new(ErrorCode::Storage, e, d.first_seq, true))?;
        self.send(ack(SeqState {
            highest_contiguous: ins.highest_contiguous,
            highest_seen: ins.highest_seen,
        }))
        .await;
        Ok(())
    }
}

struct BatchHeader {
    sensor_id: String,
    seq: u64,
    count: u32,
    compression: i32,
    dictionary_id: u32,
}

/// Runs the gRPC server (and the HTTP API when enabled) until ctrl-c / SIGTERM.
pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let s = &cfg.server;
    let listener = tokio::net::TcpListener::bind(s.listen).await?;
    let addr = listener.local_addr()?;
    let scfg = cfg.storage.clone();
    let store = tokio::task::spawn_blocking(move || store::open(&scfg)).await??;
    let worker = StoreWorker::start(store, s.max_group_commit);
    let svc = SensorLinkServer::new(LinkService::new(worker, s))
        .max_decoding_message_size(s.max_message_bytes)
        .max_encoding_message_size(s.max_message_bytes);
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)));
    if s.insecure {
        log::warn("!!! server.insecure = true: PLAINTEXT gRPC WITHOUT CLIENT CERTIFICATES. Any client can write as any sensor. Lab use only. !!!");
    } else {
        let read = |p: &std::path::Path| {
            std::fs::read(p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))
        };
        let tls = ServerTlsConfig::new()
            .identity(Identity::from_pem(
                read(&s.server_cert)?,
                read(&s.server_key)?,
            ))
            .client_ca_root(Certificate::from_pem(read(&s.ca_cert)?));
        builder = builder.tls_config(tls)?;
    }
    if cfg.api.enabled {
        let api_listener = tokio::net::TcpListener::bind(cfg.api.listen).await?;
        log::info(&format!(
            "api listening on http://{}",
            api_listener.local_addr()?
        ));
        let state = crate::api::ApiState::new(cfg.storage.clone(), cfg.api.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(api_listener, crate::api::router(state)).await {
                log::error(&format!("api server stopped: {e}"));
            }
        });
    }
    log::info(&format!(
        "grpc listening on {addr} ({})",
        if s.insecure {
            "plaintext"
        } else {
            "mutual TLS"
        }
    ));
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    // Under systemd (Type=notify): ready once both listeners are bound.
    let notifier = tapwatch_service::Notifier::from_env().unwrap_or_else(|e| {
        log::warn(&format!("cannot notify systemd: {e}"));
        tapwatch_service::Notifier::disabled()
    });
    notifier.ready();
    notifier.status(&format!("serving sensors on {addr}"));
    let stopping = async {
        shutdown_signal().await;
        notifier.stopping();
    };
    builder
        .add_service(svc)
        .serve_with_incoming_shutdown(incoming, stopping)
        .await?;
    log::info("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
