//! The sender: one outbound gRPC connection to the center, one `Link` stream, batches sent from
//! the spool in seq order within a window, `Ack`s advancing the spool, periodic `Health`,
//! reconnection with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;
use tapwatch_proto::v1::{
    center_message, sensor_link_client::SensorLinkClient, sensor_message, AlertBatch,
    BatchesDropped, DataLoss, Dictionary, FlowBatch, Health, Hello, LossReason as PLossReason,
    QueueDrops, RecordKind, SensorMessage,
};
use tokio::sync::{mpsc, watch};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use tapwatch_service::RateLimited;

use crate::backoff::Backoff;
use crate::spool::{BatchKind, DroppedRange, LossReason, SpoolItem};
use crate::{Shared, Stop};

/// Largest message the sender accepts from the center or sends.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Why a session with the center ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The endpoint or TLS settings are unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// Connecting failed.
    #[error("connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    /// The stream failed.
    #[error("stream: {0}")]
    Status(#[from] tonic::Status),
    /// The center closed the stream.
    #[error("the center closed the stream")]
    Closed,
    /// The center sent no Ack after Hello in time.
    #[error("no Ack after Hello within {0:?}")]
    NoAck(Duration),
    /// The center refused the session.
    #[error("refused by the center: {code} {message}")]
    Refused {
        /// The error code name.
        code: String,
        /// Its message.
        message: String,
    },
    /// The spool failed.
    #[error("spool: {0}")]
    Spool(#[from] crate::spool::SpoolError),
}

enum End {
    /// Everything is acknowledged and a shutdown asked to drain.
    Drained,
    /// The shutdown deadline passed, or an abort.
    Stopped,
}

/// Failed sessions are logged at most once per this interval (the rest counted).
const SESSION_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Runs sessions until stopped; the body of the sender thread.
pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<Stop>) {
    let cfg = &shared.config;
    let mut backoff = Backoff::new(cfg.reconnect_base_ms, cfg.reconnect_max_ms);
    // A center that stays unreachable fails every session: one warning a minute, counted.
    let mut warnings = RateLimited::new(SESSION_WARNING_INTERVAL);
    let endpoint = match endpoint(&shared) {
        Ok(e) => e,
        Err(e) => {
            shared.counters.set_error(&e);
            tracing::error!("export disabled: {e}");
            return;
        }
    };
    loop {
        if stopped(&stop) {
            return;
        }
        let mut acked_something = false;
        // A stop is honoured even in the middle of connecting or waiting on the center.
        let mut watcher = stop.clone();
        let result = tokio::select! {
            r = session(&shared, &endpoint, &mut stop, &mut acked_something) => r,
            () = stop_reached(&mut watcher) => return,
        };
        match result {
            Ok(End::Drained | End::Stopped) => return,
            Err(e) => {
                shared.counters.reconnects.fetch_add(1, RELAXED);
                if let Some(repeated) = warnings.check("session", std::time::Instant::now()) {
                    tracing::warn!("export: {e}{}", RateLimited::<&str>::suffix(repeated));
                }
                shared.counters.set_error(&e);
            }
        }
        if acked_something {
            backoff.reset();
        }
        let delay = backoff.next_delay();
        let sleep_until = Instant::now() + delay;
        // Sleep, but wake for a stop (and never past a shutdown deadline).
        loop {
            let wake = match *stop.borrow() {
                Stop::Run => sleep_until,
                Stop::Drain(deadline) => sleep_until.min(deadline),
                Stop::Abort => return,
            };
            if Instant::now() >= wake {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake.into()) => break,
                r = stop.changed() => if r.is_err() { return },
            }
        }
    }
}

/// Completes when the exporter must stop at once: on abort, or when a drain deadline passes.
async fn stop_reached(stop: &mut watch::Receiver<Stop>) {
    loop {
        let state = *stop.borrow_and_update();
        match state {
            Stop::Abort => return,
            Stop::Drain(deadline) => {
                tokio::time::sleep_until(deadline.into()).await;
                return;
            }
            Stop::Run => {}
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

const RELAXED: std::sync::atomic::Ordering = std::sync::atomic::Ordering::Relaxed;

fn stopped(stop: &watch::Receiver<Stop>) -> bool {
    match *stop.borrow() {
        Stop::Run => false,
        Stop::Drain(deadline) => Instant::now() >= deadline,
        Stop::Abort => true,
    }
}

fn endpoint(shared: &Shared) -> Result<Endpoint, SessionError> {
    let cfg = &shared.config;
    let config_err = |e: &dyn std::fmt::Display| SessionError::Config(e.to_string());
    let mut ep = Endpoint::from_shared(cfg.center_url.clone())
        .map_err(|e| config_err(&e))?
        .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    if cfg.insecure {
        tracing::warn!(
            "export: INSECURE plaintext connection to {} (no TLS, no sensor identity): \
             never use this outside a lab",
            cfg.center_url
        );
        return Ok(ep);
    }
    let read = |p: &Option<std::path::PathBuf>, what: &str| -> Result<Vec<u8>, SessionError> {
        let p = p
            .as_ref()
            .ok_or_else(|| SessionError::Config(format!("{what} is required")))?;
        std::fs::read(p).map_err(|e| SessionError::Config(format!("{}: {e}", p.display())))
    };
    let ca = read(&cfg.ca_cert, "ca_cert")?;
    let cert = read(&cfg.client_cert, "client_cert")?;
    let key = read(&cfg.client_key, "client_key")?;
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .identity(Identity::from_pem(cert, key));
    if let Some(name) = &cfg.server_name {
        tls = tls.domain_name(name.clone());
    }
    ep = ep.tls_config(tls).map_err(|e| config_err(&e))?;
    Ok(ep)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// How long a drained session waits for the center to close the stream after the last
/// `Health`.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

async fn session(
    shared: &Shared,
    endpoint: &Endpoint,
    stop: &mut watch::Receiver<Stop>,
    acked_something: &mut bool,
) -> Result<End, SessionError> {
    let cfg = &shared.config;
    let channel: Channel = endpoint.connect().await?;
    let mut client = SensorLinkClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let (tx, rx) = mpsc::channel::<SensorMessage>(cfg.window_batches + 16);
    let out = Outbound {
        tx,
        counters: &shared.counters,
    };
    out.send(sensor_message::Msg::Hello(hello(shared))).await?;
    let response = client
        .link(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await?;
    let mut inbound = response.into_inner();
    // The center answers Hello with an Ack (or an Error).
    let wait = Duration::from_millis(cfg.connect_timeout_ms);
    let first = tokio::time::timeout(wait, inbound.message())
        .await
        .map_err(|_| SessionError::NoAck(wait))??;
    match first.and_then(|m| m.msg) {
        Some(center_message::Msg::Ack(a)) => {
            let mut spool = shared.lock_spool();
            // A center that saw higher seqs than this spool knows (its state was lost).
            spool.advance_seq(a.highest_seen_seq.saturating_add(1))?;
            // Batches the center stored before the last stream broke, whose acks were lost
            // with it, are acknowledged here: the counters must say so too (else the backlog
            // reported in `Health` and at shutdown stays stale).
            let n = spool.ack(a.highest_contiguous_seq)?;
            if n > 0 {
                *acked_something = true;
            }
            shared.counters.batches_acked.fetch_add(n, RELAXED);
            shared.counters.update_spool(&spool);
        }
        Some(center_message::Msg::Error(e)) => return Err(refused(&e)),
        Some(_) => {}
        None => return Err(SessionError::Closed),
    }
    shared.counters.connects.fetch_add(1, RELAXED);
    if let Some((id, data)) = &shared.dictionary {
        out.send(sensor_message::Msg::Dictionary(Dictionary {
            dictionary_id: *id,
            data: data.clone(),
        }))
        .await?;
    }
    let mut cursor = shared.lock_spool().acked() + 1;
    let mut health = tokio::time::interval(Duration::from_secs(cfg.health_interval_secs));
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut final_health_sent = false;
    let window = cfg.window_batches as u64;
    loop {
        // Fill the window from the spool.
        loop {
            let item = {
                let mut spool = shared.lock_spool();
                if cursor.saturating_sub(spool.acked() + 1) >= window {
                    None
                } else {
                    spool.next_item(cursor)?
                }
            };
            let Some(item) = item else { break };
            match item {
                SpoolItem::Batch(b) => {
                    cursor = b.seq + 1;
                    match batch_message(b.kind, &b.payload) {
                        Some(msg) => {
                            out.send(msg).await?;
                            shared.counters.batches_sent.fetch_add(1, RELAXED);
                        }
                        None => {
                            // Verified by its checksum yet not decodable: cannot happen
                            // unless the spool was written by another version. Report it.
                            let rejected = shared.lock_spool().reject(b.seq);
                            if let Some(r) = rejected {
                                out.send(dropped_message(&shared.config.sensor_id, &r))
                                    .await?;
                            }
                        }
                    }
                }
                SpoolItem::Dropped(r) => {
                    cursor = r.last_seq + 1;
                    out.send(dropped_message(&shared.config.sensor_id, &r))
                        .await?;
                }
            }
        }
        // Read once per turn: the final `Health` below and the end of the drain must agree on
        // them (the batcher finishing between two reads ended the drain without it).
        let stop_now = *stop.borrow();
        let batcher_done = shared.batcher_done();
        // Draining and nothing more to spool: one last `Health`, so the center learns the
        // final counters (the sensor publishes them before it drains) before the stream ends.
        if !final_health_sent && matches!(stop_now, Stop::Drain(_)) && batcher_done {
            out.send(sensor_message::Msg::Health(health_message(shared)))
                .await?;
            final_health_sent = true;
        }
        let (acked, next) = {
            let s = shared.lock_spool();
            (s.acked(), s.next_seq())
        };
        match stop_now {
            Stop::Abort => return Ok(End::Stopped),
            Stop::Drain(deadline) => {
                if acked + 1 >= next && batcher_done {
                    if final_health_sent {
                        // Close our side and give the center a moment to read the last
                        // `Health` and end the stream, so it is not cut off in transit.
                        drop(out);
                        let grace = deadline.min(Instant::now() + CLOSE_GRACE);
                        let _ = tokio::time::timeout_at(grace.into(), async {
                            while let Ok(Some(_)) = inbound.message().await {}
                        })
                        .await;
                    }
                    return Ok(End::Drained);
                }
                if Instant::now() >= deadline {
                    return Ok(End::Stopped);
                }
            }
            Stop::Run => {}
        }
        let deadline = match stop_now {
            Stop::Drain(d) => d,
            _ => Instant::now() + Duration::from_secs(3600),
        };
        tokio::select! {
            m = inbound.message() => {
                match m?.and_then(|m| m.msg) {
                    Some(center_message::Msg::Ack(a)) => {
                        let mut spool = shared.lock_spool();
                        let n = spool.ack(a.highest_contiguous_seq)?;
                        if n > 0 {
                            *acked_something = true;
                        }
                        shared.counters.batches_acked.fetch_add(n, RELAXED);
                        shared.counters.update_spool(&spool);
                    }
                    Some(center_message::Msg::Error(e)) => {
                        if e.fatal {
                            return Err(refused(&e));
                        }
                        tracing::warn!("export: center refused batch {}: {}", e.seq, e.message);
                        shared.counters.set_error(format!("batch {} refused: {}", e.seq, e.message));
                        let rejected = shared.lock_spool().reject(e.seq);
                        if let Some(r) = rejected {
                            if let Some(k) = r.kind {
                                shared.counters.rejected_records[k.index()].fetch_add(r.records, RELAXED);
                            }
                            shared.counters.batches_rejected.fetch_add(1, RELAXED);
                            out.send(dropped_message(&shared.config.sensor_id, &r)).await?;
                        }
                    }
                    Some(_) => {}
                    None => return Err(SessionError::Closed),
                }
            }
            _ = shared.notify.notified() => {}
            _ = health.tick() => {
                out.send(sensor_message::Msg::Health(health_message(shared))).await?;
            }
            r = stop.changed() => {
                if r.is_err() {
                    return Ok(End::Stopped);
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
    }
}

struct Outbound<'a> {
    tx: mpsc::Sender<SensorMessage>,
    counters: &'a crate::stats::Counters,
}

impl Outbound<'_> {
    async fn send(&self, msg: sensor_message::Msg) -> Result<(), SessionError> {
        let m = SensorMessage { msg: Some(msg) };
        self.counters
            .bytes_sent
            .fetch_add(m.encoded_len() as u64, RELAXED);
        self.tx.send(m).await.map_err(|_| SessionError::Closed)
    }
}

fn refused(e: &tapwatch_proto::v1::Error) -> SessionError {
    let code = tapwatch_proto::v1::ErrorCode::try_from(e.code)
        .map(|c| c.as_str_name().to_string())
        .unwrap_or_else(|_| e.code.to_string());
    SessionError::Refused {
        code,
        message: e.message.clone(),
    }
}

fn batch_message(kind: BatchKind, bytes: &[u8]) -> Option<sensor_message::Msg> {
    match kind {
        BatchKind::Alert => AlertBatch::decode(bytes)
            .ok()
            .map(sensor_message::Msg::AlertBatch),
        BatchKind::Flow => FlowBatch::decode(bytes)
            .ok()
            .map(sensor_message::Msg::FlowBatch),
    }
}

fn record_kind(k: Option<BatchKind>) -> RecordKind {
    match k {
        Some(BatchKind::Alert) => RecordKind::Alerts,
        Some(BatchKind::Flow) => RecordKind::Flows,
        None => RecordKind::Unspecified,
    }
}

fn loss_reason(r: LossReason) -> PLossReason {
    match r {
        LossReason::SpoolFull => PLossReason::SpoolFull,
        LossReason::SpoolCorrupt => PLossReason::SpoolCorrupt,
        LossReason::Rejected => PLossReason::Rejected,
    }
}

fn dropped_message(sensor_id: &str, r: &DroppedRange) -> sensor_message::Msg {
    sensor_message::Msg::BatchesDropped(BatchesDropped {
        sensor_id: sensor_id.to_string(),
        first_seq: r.first_seq,
        last_seq: r.last_seq,
        kind: record_kind(r.kind) as i32,
        records: r.records,
        reason: loss_reason(r.reason) as i32,
    })
}

fn hello(shared: &Shared) -> Hello {
    let mut capabilities = vec!["alerts".to_string(), "flows".into(), "zstd".into()];
    if shared.dictionary.is_some() {
        capabilities.push("zstd-dict".into());
    }
    // The rule set running now: a live reload may have replaced the one of the start.
    let running = shared
        .health
        .sensor_health()
        .ruleset
        .map(|r| r.sha256)
        .filter(|s| !s.is_empty());
    Hello {
        sensor_id: shared.config.sensor_id.clone(),
        software_version: shared.info.software_version.clone(),
        ruleset_id: shared.config.ruleset_id.clone(),
        ruleset_sha256: running.unwrap_or_else(|| shared.config.ruleset_sha256.clone()),
        capabilities,
        protocol_version: tapwatch_proto::PROTOCOL_VERSION,
        hostname: shared.info.hostname.clone(),
    }
}

fn health_message(shared: &Shared) -> Health {
    let h = shared.health.sensor_health();
    let s = shared.counters.snapshot();
    let mut data_loss = Vec::new();
    let mut loss = |kind: RecordKind, count: u64, reason: PLossReason| {
        if count > 0 {
            data_loss.push(DataLoss {
                kind: kind as i32,
                count,
                reason: reason as i32,
                since_ts_us: shared.started_us,
            });
        }
    };
    for (k, kind) in [(0, RecordKind::Alerts), (1, RecordKind::Flows)] {
        loss(kind, s.dropped_queue_full[k], PLossReason::QueueFull);
        loss(kind, s.dropped_encode[k], PLossReason::EncodeError);
        loss(kind, s.dropped_spool_full[k], PLossReason::SpoolFull);
        loss(kind, s.rejected_records[k], PLossReason::Rejected);
    }
    let corrupt = shared.lock_spool().losses()[1];
    loss(
        RecordKind::Alerts,
        corrupt.records[0],
        PLossReason::SpoolCorrupt,
    );
    loss(
        RecordKind::Flows,
        corrupt.records[1],
        PLossReason::SpoolCorrupt,
    );
    // Batches whose content a damaged header hid: the count is of batches, kind unknown.
    loss(
        RecordKind::Unspecified,
        corrupt.unknown_batches,
        PLossReason::SpoolCorrupt,
    );
    Health {
        sensor_id: shared.config.sensor_id.clone(),
        uptime_s: shared.started.elapsed().as_secs(),
        packets: h.packets,
        bytes: h.bytes,
        capture_drops: h
            .capture_drops
            .iter()
            .map(|&(queue, dropped)| QueueDrops { queue, dropped })
            .collect(),
        decode_events: h.decode_events.into_iter().collect(),
        flows_active: h.flows_active,
        memory_bytes: h.memory_bytes,
        ruleset_id: shared.config.ruleset_id.clone(),
        spool_backlog_bytes: s.spool_backlog_bytes,
        spool_backlog_batches: s.spool_backlog_batches,
        data_loss,
        sent_at_us: now_us(),
        alerts: h.alerts,
        flows: h.flows,
        ruleset_sha256: h
            .ruleset
            .as_ref()
            .map(|r| r.sha256.clone())
            .unwrap_or_default(),
        rules_loaded: h.ruleset.as_ref().map_or(0, |r| r.loaded),
        last_reload: h.ruleset.and_then(|r| r.last_reload).map(|r| {
            tapwatch_proto::v1::RuleReload {
                at_us: r.at_us,
                ok: r.ok,
                message: r.message,
                rules_loaded: r.loaded,
                rules_rejected: r.rejected,
            }
        }),
    }
}
