//! The Prometheus metrics endpoint: `GET /metrics` in the Prometheus text format (0.0.4),
//! encoded by `prometheus-client` from a [`Snapshot`] of the [`ServiceBoard`] taken at each
//! scrape.
//!
//! **Server.** One thread with a blocking `TcpListener` serves one connection at a time:
//! a request of at most [`MAX_REQUEST_BYTES`], read within [`IO_TIMEOUT`], one answer, then
//! the connection is closed. Further connections wait in the kernel's listen backlog, so a
//! slow or hostile client costs at most one thread and a few seconds, and never reaches the
//! packet path: a scrape only reads the board, whose locks the publishers hold for the copy
//! of a few figures once a second.
//!
//! **Names** follow Prometheus' conventions: `tapwatch_` prefix, `_total` on counters, the
//! unit in the name (`_bytes`, `_seconds`), and labels for `interface`, `queue` (`all` for
//! the socket fallback, which takes every queue), `cause`, `mode`, `worker`, `protocol`,
//! `severity` (the rule's priority, 1 most severe; `4` counts 4 and above), `event`,
//! `reason`, `kind` and `outcome`. The EVE output loses records only when its file cannot be
//! written (a worker waits for the EVE thread rather than drop):
//! `tapwatch_eve_dropped_records_total`.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::board::{ServiceBoard, Snapshot};

/// Largest request read (request line and headers); a longer one is answered 431.
pub const MAX_REQUEST_BYTES: usize = 8192;
/// How long a client may take to send its request or read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The listen address could not be bound.
    #[error(
        "[metrics] listen = \"{addr}\": cannot listen there: {source} (another program may hold \
         the port: choose another address, or set [metrics] enabled = false)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server thread could not be started.
    #[error("cannot start the metrics thread: {0}")]
    Thread(std::io::Error),
}

/// The running endpoint; [`MetricsServer::stop`] ends it (dropping it does too).
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `listen` and serves `board`'s figures from a thread of its own.
    pub fn start(listen: SocketAddr, board: Arc<ServiceBoard>) -> Result<Self, MetricsError> {
        let listener = TcpListener::bind(listen).map_err(|source| MetricsError::Bind {
            addr: listen,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| MetricsError::Bind {
            addr: listen,
            source,
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("tw-metrics".into())
            .spawn(move || serve(&listener, &board, &flag))
            .map_err(MetricsError::Thread)?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on (the port chosen by the kernel when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the thread (at most one request's [`IO_TIMEOUT`]).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the blocking accept with a connection of our own.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.shutdown();
        }
    }
}

fn serve(listener: &TcpListener, board: &ServiceBoard, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let Ok(stream) = conn else {
            // Out of descriptors and the like: do not spin.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        // A client's failure (timeout, reset) ends only its connection.
        let _ = answer(stream, board);
    }
}

/// What a request asked for.
#[derive(Debug, PartialEq, Eq)]
enum Request {
    Metrics { head: bool },
    NotFound,
    BadMethod,
    TooLarge,
    Bad,
}

fn answer(mut stream: TcpStream, board: &ServiceBoard) -> std::io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let request = read_request(&mut stream)?;
    let (status, content_type, body) = match request {
        Request::Metrics { head } => {
            let body = render(board.snapshot()).unwrap_or_default();
            let len = body.len();
            (
                "200 OK",
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                if head {
                    Body::Len(len)
                } else {
                    Body::Text(body)
                },
            )
        }
        Request::NotFound => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            Body::Text("not found: tapwatch serves GET /metrics\n".into()),
        ),
        Request::BadMethod => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            Body::Text("only GET and HEAD\n".into()),
        ),
        Request::TooLarge => (
            "431 Request Header Fields Too Large",
            "text/plain; charset=utf-8",
            Body::Text("request too large\n".into()),
        ),
        Request::Bad => (
            "400 Bad Request",
            "text/plain; charset=utf-8",
            Body::Text("bad request\n".into()),
        ),
    };
    let (len, text) = match &body {
        Body::Len(n) => (*n, ""),
        Body::Text(t) => (t.len(), t.as_str()),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\
         Connection: close\r\n"
    );
    if matches!(request, Request::BadMethod) {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    out.push_str(text);
    stream.write_all(out.as_bytes())?;
    stream.flush()
}

enum Body {
    Len(usize),
    Text(String),
}

/// Reads the request line and headers (up to the blank line), bounded.
fn read_request(stream: &mut impl Read) -> std::io::Result<Request> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if buf.len() >= MAX_REQUEST_BYTES {
            return Ok(Request::TooLarge);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
    }
    Ok(parse_request(&buf))
}

fn parse_request(buf: &[u8]) -> Request {
    let Ok(text) = std::str::from_utf8(buf) else {
        return Request::Bad;
    };
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Request::Bad;
    };
    if !version.starts_with("HTTP/1.") {
        return Request::Bad;
    }
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics") => Request::Metrics {
            head: method == "HEAD",
        },
        ("GET" | "HEAD", _) => Request::NotFound,
        _ => Request::BadMethod,
    }
}

/// The Prometheus text exposition of `snapshot`.
pub fn render(snapshot: Snapshot) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(SnapshotCollector(snapshot)));
    let mut out = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)?;
    Ok(out)
}

#[derive(Debug)]
struct SnapshotCollector(Snapshot);

type Labels = Vec<(&'static str, String)>;

/// Writes one metric family: its descriptor, then one sample per label set.
fn family<V: Copy>(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: &[(Labels, V)],
) -> fmt::Result
where
    ConstCounter<V>: EncodeMetric,
    ConstGauge<V>: EncodeMetric,
{
    if samples.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in samples {
        let e = m.encode_family(labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(*v).encode(e)?,
            _ => ConstGauge::new(*v).encode(e)?,
        }
    }
    Ok(())
}

fn one<V>(v: V) -> Vec<(Labels, V)> {
    vec![(Vec::new(), v)]
}

fn by<V: Copy>(
    label: &'static str,
    items: impl IntoIterator<Item = (String, V)>,
) -> Vec<(Labels, V)> {
    items
        .into_iter()
        .map(|(k, v)| (vec![(label, k)], v))
        .collect()
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> fmt::Result {
        use MetricType::{Counter as C, Gauge as G};
        let s = &self.0;
        let e = &mut enc;
        family(
            e,
            "tapwatch_build_info",
            "tapwatch's version (always 1)",
            G,
            &[(vec![("version", s.version.clone())], 1u64)],
        )?;
        family(
            e,
            "tapwatch_start_time_seconds",
            "When the service started, seconds since the Unix epoch",
            G,
            &one(s.start_time_unix),
        )?;
        family(
            e,
            "tapwatch_uptime_seconds",
            "Seconds since the service started",
            G,
            &one(s.uptime_secs),
        )?;

        // Capture, per interface and queue.
        let q = |f: &dyn Fn(&crate::live::QueueReport) -> u64| -> Vec<(Labels, u64)> {
            s.queues.iter().map(|r| (queue_labels(r), f(r))).collect()
        };
        family(
            e,
            "tapwatch_capture_packets",
            "Packets received per interface and queue",
            C,
            &q(&|r| r.packets),
        )?;
        family(
            e,
            "tapwatch_capture_bytes",
            "Bytes received per interface and queue",
            C,
            &q(&|r| r.bytes),
        )?;
        let mut drops = Vec::new();
        for r in &s.queues {
            let k = &r.kernel;
            for (cause, n) in [
                ("rx_dropped", k.rx_dropped),
                ("rx_ring_full", k.rx_ring_full),
                ("invalid_descs", k.invalid_descs),
                ("oversize", k.oversize),
                ("socket_drops", k.socket_drops),
                ("interface_drops", k.interface_drops),
            ] {
                let mut l = queue_labels(r);
                l.push(("cause", cause.to_owned()));
                drops.push((l, n));
            }
        }
        family(e, "tapwatch_capture_kernel_drops", "Packets lost before tapwatch read them, per queue and cause (AF_XDP statistics, or libpcap's for the socket fallback)", C, &drops)?;
        family(
            e,
            "tapwatch_capture_fill_ring_empty",
            "Times the kernel found an AF_XDP fill ring empty",
            C,
            &q(&|r| r.kernel.fill_ring_empty),
        )?;
        family(
            e,
            "tapwatch_capture_dispatch_drops",
            "Packets dropped because their worker's queue was full",
            C,
            &q(&|r| r.dispatch_drops),
        )?;
        family(
            e,
            "tapwatch_capture_filtered_packets",
            "Packets skipped by the monitored-prefix filter in userspace (socket fallback)",
            C,
            &q(&|r| r.filtered),
        )?;
        family(
            e,
            "tapwatch_capture_bypassed_packets",
            "Packets of bypassed flows skipped in userspace (socket fallback)",
            C,
            &q(&|r| r.bypassed_packets),
        )?;
        family(
            e,
            "tapwatch_capture_receive_errors",
            "Receive calls that failed",
            C,
            &q(&|r| r.receive_errors),
        )?;
        let modes: Vec<(Labels, u64)> = s
            .queues
            .iter()
            .map(|r| {
                let mut l = queue_labels(r);
                l.push(("mode", r.mode.name().to_owned()));
                (l, 1)
            })
            .collect();
        family(
            e,
            "tapwatch_capture_mode",
            "How each queue is captured (the mode label; always 1)",
            G,
            &modes,
        )?;
        let mut xdp_seen = Vec::new();
        let mut xdp = Vec::new();
        for i in &s.interfaces {
            let Some(x) = &i.xdp else { continue };
            xdp_seen.push((vec![("interface", i.name.clone())], x.seen));
            for (outcome, n) in [
                ("redirected", x.redirected),
                ("bypassed", x.bypassed),
                ("filtered", x.filtered),
                ("passed", x.passed),
            ] {
                xdp.push((
                    vec![
                        ("interface", i.name.clone()),
                        ("outcome", outcome.to_owned()),
                    ],
                    n,
                ));
            }
        }
        family(
            e,
            "tapwatch_xdp_frames_seen",
            "Frames the XDP program ran on",
            C,
            &xdp_seen,
        )?;
        family(e, "tapwatch_xdp_frames", "Frames by the XDP program's verdict: redirected to tapwatch, dropped as bypassed, passed to the stack by the prefix filter or for want of a socket", C, &xdp)?;

        // Bypass.
        let b = &s.bypass;
        family(e, "tapwatch_flows_bypassed", "Flows put in a bypass table (kernel maps summed over interfaces, or a capture thread's table)", C, &one(b.flows_bypassed))?;
        family(
            e,
            "tapwatch_bypass_flows_reported",
            "Flows the workers reported bypassable",
            C,
            &one(b.flows_reported),
        )?;
        family(
            e,
            "tapwatch_bypass_insert_failures",
            "Bypass insertions refused (table or queue full)",
            C,
            &one(b.insert_failures),
        )?;
        family(
            e,
            "tapwatch_bypass_flows_expired",
            "Bypassed flows forgotten after being idle",
            C,
            &one(b.flows_expired),
        )?;

        // Workers.
        let t = &s.totals;
        let w = |f: &dyn Fn(&crate::board::WorkerView) -> f64| -> Vec<(Labels, f64)> {
            s.workers
                .iter()
                .map(|v| (vec![("worker", v.index.to_string())], f(v)))
                .collect()
        };
        family(
            e,
            "tapwatch_worker_busy_seconds",
            "Time each worker spent processing batches",
            C,
            &w(&|v| v.busy_secs),
        )?;
        let wu = |f: &dyn Fn(&crate::board::WorkerView) -> u64| -> Vec<(Labels, u64)> {
            s.workers
                .iter()
                .map(|v| (vec![("worker", v.index.to_string())], f(v)))
                .collect()
        };
        family(
            e,
            "tapwatch_worker_batches",
            "Batches each worker processed (clock ticks included)",
            C,
            &wu(&|v| v.batches),
        )?;
        family(
            e,
            "tapwatch_worker_packets",
            "Packets each worker processed",
            C,
            &wu(&|v| v.packets),
        )?;
        family(
            e,
            "tapwatch_packets",
            "Packets processed by the workers",
            C,
            &one(t.packets),
        )?;
        family(
            e,
            "tapwatch_bytes",
            "Bytes of the packets processed by the workers",
            C,
            &one(t.bytes),
        )?;
        family(
            e,
            "tapwatch_decoder_events",
            "Decoder and defragmentation events, by Suricata's name",
            C,
            &by(
                "event",
                t.decode_events.iter().map(|(k, v)| ((*k).to_owned(), *v)),
            ),
        )?;
        family(
            e,
            "tapwatch_stream_events",
            "TCP session and reassembly events, by Suricata's name",
            C,
            &by(
                "event",
                t.stream_events.iter().map(|(k, v)| ((*k).to_owned(), *v)),
            ),
        )?;

        // Flows and memory.
        family(
            e,
            "tapwatch_flows_active",
            "Flows in the workers' tables",
            G,
            &one(t.flows_active),
        )?;
        family(
            e,
            "tapwatch_flows_created",
            "Flows created",
            C,
            &one(t.flows_created),
        )?;
        family(
            e,
            "tapwatch_flows_ended",
            "Flows ended, by reason (timeout, evicted from a full table, shutdown, tcp_reuse)",
            C,
            &by(
                "reason",
                t.flows_ended.iter().map(|(k, v)| ((*k).to_owned(), *v)),
            ),
        )?;
        family(
            e,
            "tapwatch_flow_table_full_packets",
            "Packets refused because a flow table was full",
            C,
            &one(t.flow_table_full),
        )?;
        family(
            e,
            "tapwatch_stream_memory_bytes",
            "Bytes held by TCP reassembly",
            G,
            &one(t.stream_memory_bytes),
        )?;
        family(
            e,
            "tapwatch_defrag_memory_bytes",
            "Bytes held by IP defragmentation",
            G,
            &one(t.defrag_memory_bytes),
        )?;
        family(
            e,
            "tapwatch_app_flows",
            "Flows whose application protocol was detected, by protocol",
            C,
            &by(
                "protocol",
                t.app_flows.iter().map(|(k, v)| ((*k).to_owned(), *v)),
            ),
        )?;
        family(
            e,
            "tapwatch_app_transactions",
            "Application-layer transactions, by protocol",
            C,
            &by(
                "protocol",
                t.app_transactions
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), *v)),
            ),
        )?;

        // Detection and outputs.
        family(
            e,
            "tapwatch_alerts",
            "Alerts raised, by severity (the rule's priority; 4 counts 4 and above)",
            C,
            &by(
                "severity",
                t.alerts_by_priority
                    .iter()
                    .enumerate()
                    .map(|(i, v)| ((i + 1).to_string(), *v)),
            ),
        )?;
        family(
            e,
            "tapwatch_alerts_suppressed",
            "Matches kept from alerting by threshold, detection_filter or suppress",
            C,
            &one(t.alerts_suppressed),
        )?;
        family(
            e,
            "tapwatch_eve_records",
            "EVE records the workers produced",
            C,
            &one(t.eve_records),
        )?;
        if let Some(x) = &s.eve {
            family(
                e,
                "tapwatch_eve_written_records",
                "EVE records written to the file",
                C,
                &one(x.records_written),
            )?;
            family(
                e,
                "tapwatch_eve_written_bytes",
                "Bytes written to the EVE file",
                C,
                &one(x.bytes_written),
            )?;
            family(
                e,
                "tapwatch_eve_dropped_records",
                "EVE records lost because the file could not be written or opened",
                C,
                &one(x.records_dropped),
            )?;
            family(
                e,
                "tapwatch_eve_write_errors",
                "Failed writes, opens and renames of the EVE file",
                C,
                &one(x.write_errors),
            )?;
            family(
                e,
                "tapwatch_eve_rotations",
                "EVE files rotated out",
                C,
                &one(x.rotations),
            )?;
        }
        if let Some(x) = &s.export {
            let kinds = |p: [u64; 2]| [("alert", p[0]), ("flow", p[1])];
            family(
                e,
                "tapwatch_export_records_queued",
                "Records handed to the exporter, by kind",
                C,
                &by("kind", kinds(x.queued).map(|(k, v)| (k.to_owned(), v))),
            )?;
            let mut dropped = Vec::new();
            for (cause, pair) in [
                ("queue_full", x.dropped_queue_full),
                ("encode", x.dropped_encode),
                ("spool_io", x.dropped_spool_io),
                ("spool_full", x.dropped_spool_full),
                ("rejected", x.rejected_records),
            ] {
                for (kind, n) in kinds(pair) {
                    dropped.push((
                        vec![("kind", kind.to_owned()), ("cause", cause.to_owned())],
                        n,
                    ));
                }
            }
            family(
                e,
                "tapwatch_export_dropped_records",
                "Records the export lost, by kind and cause",
                C,
                &dropped,
            )?;
            family(
                e,
                "tapwatch_export_spool_corrupt_batches",
                "Batches lost to spool damage",
                C,
                &one(x.dropped_spool_corrupt_batches),
            )?;
            family(
                e,
                "tapwatch_export_spool_backlog_bytes",
                "Unacknowledged bytes in the spool",
                G,
                &one(x.spool_backlog_bytes),
            )?;
            family(
                e,
                "tapwatch_export_spool_backlog_batches",
                "Unacknowledged batches in the spool",
                G,
                &one(x.spool_backlog_batches),
            )?;
            family(
                e,
                "tapwatch_export_batches_spooled",
                "Batches written to the spool",
                C,
                &one(x.batches_spooled),
            )?;
            family(
                e,
                "tapwatch_export_batches_acked",
                "Batches the center acknowledged",
                C,
                &one(x.batches_acked),
            )?;
            family(
                e,
                "tapwatch_export_sent_bytes",
                "Protobuf bytes sent to the center",
                C,
                &one(x.bytes_sent),
            )?;
            family(
                e,
                "tapwatch_export_connects",
                "Connections to the center established",
                C,
                &one(x.connects),
            )?;
            family(
                e,
                "tapwatch_export_reconnects",
                "Connection attempts or streams that failed",
                C,
                &one(x.reconnects),
            )?;
        }

        // Rule set.
        let r = &s.ruleset;
        family(
            e,
            "tapwatch_ruleset_info",
            "The running rule set (version: SHA-256 of its files; always 1)",
            G,
            &[(vec![("version", r.version.clone())], 1u64)],
        )?;
        family(
            e,
            "tapwatch_rules_loaded",
            "Rules the engine runs",
            G,
            &one(r.loaded),
        )?;
        family(
            e,
            "tapwatch_rules_rejected",
            "Rules named but not loaded",
            G,
            &one(r.rejected),
        )?;
        if let Some(last) = &r.last_reload {
            family(
                e,
                "tapwatch_ruleset_last_reload_success",
                "Whether the last rule reload succeeded (1) or kept the running rules (0)",
                G,
                &one(u64::from(last.ok)),
            )?;
            family(
                e,
                "tapwatch_ruleset_last_reload_timestamp_seconds",
                "When the last rule reload ended, seconds since the Unix epoch",
                G,
                &one(last.at_unix_secs()),
            )?;
        }
        Ok(())
    }
}

fn queue_labels(r: &crate::live::QueueReport) -> Labels {
    vec![
        ("interface", r.interface.clone()),
        (
            "queue",
            r.queue.map_or_else(|| "all".to_owned(), |q| q.to_string()),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::tests::sample_board;
    use std::collections::BTreeMap;

    /// Parses the text format into (name with labels) -> value, checking every sample has
    /// a TYPE line before it.
    fn parse(text: &str) -> (BTreeMap<String, f64>, BTreeMap<String, String>) {
        let mut samples = BTreeMap::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (key, value) = line.rsplit_once(' ').unwrap();
            let name = key.split('{').next().unwrap();
            assert!(types.contains_key(name), "no TYPE before {line}");
            assert!(name.starts_with("tapwatch_"), "{name}");
            samples.insert(key.to_owned(), value.parse::<f64>().unwrap());
        }
        (samples, types)
    }

    fn get(url_path: &str, addr: SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        write!(s, "GET {url_path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn a_real_scrape_shows_what_was_published() {
        let board = sample_board();
        let server =
            MetricsServer::start("127.0.0.1:0".parse().unwrap(), Arc::clone(&board)).unwrap();
        let answer = get("/metrics", server.local_addr());
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        assert!(head.contains("text/plain; version=0.0.4"), "{head}");
        let (m, types) = parse(body);
        let q = "interface=\"eth1\",queue=\"0\"";
        assert_eq!(m[&format!("tapwatch_capture_packets_total{{{q}}}")], 1300.0);
        assert_eq!(
            m[&format!("tapwatch_capture_bytes_total{{{q}}}")],
            600_000.0
        );
        assert_eq!(
            m[&format!("tapwatch_capture_kernel_drops_total{{{q},cause=\"rx_ring_full\"}}")],
            4.0
        );
        assert_eq!(
            m[&format!("tapwatch_capture_kernel_drops_total{{{q},cause=\"rx_dropped\"}}")],
            5.0
        );
        assert_eq!(
            m[&format!("tapwatch_capture_dispatch_drops_total{{{q}}}")],
            66.0
        );
        assert_eq!(
            m[&format!("tapwatch_capture_mode{{{q},mode=\"xdp-driver-copy\"}}")],
            1.0
        );
        assert_eq!(m["tapwatch_packets_total"], 1234.0);
        assert_eq!(m["tapwatch_bytes_total"], 567_890.0);
        assert_eq!(
            m["tapwatch_decoder_events_total{event=\"ipv4.trunc_pkt\"}"],
            2.0
        );
        assert_eq!(m["tapwatch_flows_active"], 11.0);
        assert_eq!(m["tapwatch_flows_created_total"], 20.0);
        assert_eq!(m["tapwatch_flows_ended_total{reason=\"timeout\"}"], 9.0);
        assert_eq!(m["tapwatch_stream_memory_bytes"], 4096.0);
        assert_eq!(m["tapwatch_defrag_memory_bytes"], 512.0);
        assert_eq!(m["tapwatch_app_transactions_total{protocol=\"http\"}"], 7.0);
        assert_eq!(
            m["tapwatch_app_transactions_total{protocol=\"dns_udp\"}"],
            3.0
        );
        assert_eq!(m["tapwatch_alerts_total{severity=\"1\"}"], 1.0);
        assert_eq!(m["tapwatch_alerts_total{severity=\"3\"}"], 3.0);
        assert_eq!(m["tapwatch_alerts_total{severity=\"4\"}"], 0.0);
        assert_eq!(m["tapwatch_eve_records_total"], 99.0);
        assert_eq!(m["tapwatch_worker_busy_seconds_total{worker=\"1\"}"], 2.5);
        assert_eq!(m["tapwatch_worker_busy_seconds_total{worker=\"0\"}"], 0.0);
        assert_eq!(m["tapwatch_worker_batches_total{worker=\"1\"}"], 40.0);
        assert_eq!(m["tapwatch_rules_loaded"], 100.0);
        assert_eq!(m["tapwatch_rules_rejected"], 2.0);
        assert_eq!(m["tapwatch_ruleset_info{version=\"abc123\"}"], 1.0);
        assert_eq!(m["tapwatch_build_info{version=\"9.9.9\"}"], 1.0);
        assert!(m["tapwatch_start_time_seconds"] > 1.7e9);
        assert!(m["tapwatch_uptime_seconds"] >= 0.0);
        assert!(
            !m.contains_key("tapwatch_ruleset_last_reload_success"),
            "no reload yet"
        );
        assert!(
            !m.keys().any(|k| k.starts_with("tapwatch_export_")),
            "not exporting"
        );
        assert!(
            !m.contains_key("tapwatch_eve_dropped_records_total"),
            "no EVE file"
        );
        assert_eq!(types["tapwatch_capture_packets_total"], "counter");
        assert_eq!(types["tapwatch_flows_active"], "gauge");
        assert_eq!(types["tapwatch_worker_busy_seconds_total"], "counter");

        board.record_reload(
            crate::ruleset_status::ReloadOutcome {
                at: std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
                ok: false,
                message: "syntax".into(),
                loaded: 0,
                rejected: 1,
            },
            None,
        );
        let eve = crate::eve_file::EveFile::start(std::io::sink(), 1).unwrap();
        board.set_eve(eve.stats_handle());
        let answer = get("/metrics?x=1", server.local_addr());
        let (m, _) = parse(answer.split_once("\r\n\r\n").unwrap().1);
        assert_eq!(m["tapwatch_eve_dropped_records_total"], 0.0);
        assert_eq!(m["tapwatch_eve_write_errors_total"], 0.0);
        assert_eq!(m["tapwatch_ruleset_last_reload_success"], 0.0);
        assert_eq!(m["tapwatch_ruleset_last_reload_timestamp_seconds"], 1.8e9);

        let answer = get("/", server.local_addr());
        assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
        let mut s = TcpStream::connect(server.local_addr()).unwrap();
        s.write_all(b"POST /metrics HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 405"), "{out}");
        server.stop();
    }

    #[test]
    fn an_oversized_or_garbled_request_is_refused() {
        let long = format!(
            "GET /metrics HTTP/1.1\r\nX: {}\r\n",
            "a".repeat(MAX_REQUEST_BYTES)
        );
        let mut cursor = std::io::Cursor::new(long.into_bytes());
        assert_eq!(read_request(&mut cursor).unwrap(), Request::TooLarge);
        assert_eq!(parse_request(b"\xff\xfe\r\n\r\n"), Request::Bad);
        assert_eq!(parse_request(b"garbage\r\n\r\n"), Request::Bad);
        assert_eq!(
            parse_request(b"HEAD /metrics HTTP/1.0\r\n\r\n"),
            Request::Metrics { head: true }
        );
        let board = sample_board();
        let server = MetricsServer::start("127.0.0.1:0".parse().unwrap(), board).unwrap();
        let mut s = TcpStream::connect(server.local_addr()).unwrap();
        s.write_all(b"garbage\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        // The address stays in use while it runs.
        let err = MetricsServer::start(server.local_addr(), sample_board()).unwrap_err();
        assert!(err.to_string().contains("cannot listen there"), "{err}");
    }
}
