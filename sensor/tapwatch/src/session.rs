//! What `replay` and `run` share: building the workers, summing their figures at the end,
//! the start-up report and the summary.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::json;

use crate::export_link;
use crate::rules_cmd::{counts_line, REJECTIONS_SHOWN};
use tapwatch_eve::RecordSink;
use tapwatch_export::{ExportStats, Exporter};
use tapwatch_flow::FlowIdSpace;
use tapwatch_pipeline::config::{Config, EveType};
use tapwatch_pipeline::counters::{Counters, TableStats};
use tapwatch_pipeline::detect_setup::Startup;
use tapwatch_pipeline::export_flow::FlowExport;
use tapwatch_pipeline::worker::{stats_record, Worker};
use tapwatch_runtime::eve_file::{system_clock, EveFile, EveFileOptions, EveStats, Reopen};
use tapwatch_runtime::health::WorkerFigures;
use tapwatch_runtime::live::LiveReport;
use tapwatch_runtime::pool::Finished;
use tapwatch_runtime::route::FragmentLimits;

/// Opens the EVE output for `workers` workers: `--eve` (`cli`; "-": stdout) or else
/// `[eve] path` (resolved against the configuration file's directory), a log file written
/// with `[eve]`'s append, mode and rotation settings and reopened on `reopen`. A file named
/// by `--eve` is emptied first when `cli_afresh` (a replay writes its output afresh).
pub(crate) fn open_eve(
    cli: Option<&Path>,
    cli_afresh: bool,
    config: &Config,
    config_path: Option<&Path>,
    workers: usize,
    reopen: Reopen,
) -> anyhow::Result<Option<EveFile>> {
    let (path, append) = match cli {
        Some(p) if p.as_os_str() == "-" => {
            return Ok(Some(
                EveFile::with_chunk(std::io::stdout(), workers, config.eve.buffer_bytes.get())
                    .context("cannot start the EVE writer thread")?,
            ));
        }
        Some(p) => (p.to_path_buf(), config.eve.append && !cli_afresh),
        None => {
            let dir = tapwatch_pipeline::detect_setup::config_dir(config_path);
            match config.eve.resolved_path(dir.as_deref()) {
                Some(p) => (p, config.eve.append),
                None => return Ok(None),
            }
        }
    };
    let eve = &config.eve;
    let options = EveFileOptions {
        append,
        mode: eve.file_mode.bits(),
        rotate_size_bytes: eve.rotate_size_bytes,
        rotate_interval_secs: eve.rotate_interval_secs,
        max_files: eve.max_files,
        reopen,
        ..EveFileOptions::new(&path)
    };
    let chunk = eve.buffer_bytes.get();
    let file = EveFile::open_with(options, workers, chunk, system_clock())
        .with_context(|| format!("cannot open EVE file {}", path.display()))?;
    Ok(Some(file))
}

/// Builds `workers` workers sharing `engine` (when rules are loaded), flow ids and `host`
/// (thresholds and xbits by host), each writing to its producer of `eve_file` and sending alerts (and, with
/// `[export] flows`, flow records) to `exporter`.
pub(crate) fn build_workers(
    config: &Config,
    workers: usize,
    engine: Option<&Arc<tapwatch_detect::Engine>>,
    host: &Arc<tapwatch_detect::HostState>,
    eve_file: Option<&EveFile>,
    exporter: Option<&Exporter>,
) -> anyhow::Result<Vec<Worker<EveSink>>> {
    let ids = FlowIdSpace::random_shared(u32::try_from(workers).unwrap_or(u32::MAX));
    let mut pipeline = Vec::with_capacity(workers);
    for index in 0..workers {
        let mut eve: Option<EveSink> = eve_file.map(|f| Box::new(f.producer()) as EveSink);
        // With flow export on, every flow record the worker hands its EVE output goes to the
        // exporter too, as the same typed value.
        if let Some(x) = exporter.filter(|_| config.export.flows) {
            let inner = eve.unwrap_or_else(|| Box::new(std::io::sink()));
            eve = Some(Box::new(FlowExport::new(inner, Box::new(x.handle()))));
        }
        let mut worker = match engine {
            Some(engine) => Worker::with_shared_engine(
                config.clone(),
                eve,
                Arc::clone(engine),
                Arc::clone(host),
            )
            .context("cannot start detection")?,
            None => Worker::new(config.clone(), eve),
        };
        worker.use_flow_ids(ids.share(u32::try_from(index).unwrap_or(u32::MAX)));
        if workers > 1 {
            worker.leave_stats_to_driver();
        }
        if let Some(x) = exporter {
            worker.send_alerts_to(Box::new(x.handle()));
        }
        pipeline.push(worker);
    }
    Ok(pipeline)
}

/// Ends a run's workers: checks their EVE outputs, writes one merged `stats` record when
/// there were several, and returns the totals and each worker's share. The workers are
/// dropped (their EVE producers go back to the file).
pub(crate) fn finish_workers(
    mut finished: Vec<Finished<EveSink>>,
    config: &Config,
) -> anyhow::Result<(RunTotals, Vec<WorkerReport>)> {
    let mut totals = RunTotals::default();
    for done in &finished {
        totals.add(&done.worker);
    }
    for done in &mut finished {
        std::mem::replace(&mut done.eve, Ok(())).context("cannot write EVE output")?;
    }
    if finished.len() > 1 && config.eve.wants(EveType::Stats) {
        // One `stats` record for the run, summed over the workers, after every flow record.
        let stats = stats_record(&totals.counters, &totals.tables, totals.detect);
        if let Some(first) = finished.first_mut() {
            first.worker.write_stats_record(totals.now, &stats);
            first.worker.finish().context("cannot write EVE output")?;
            totals.eve_records += 1;
        }
    }
    let reports = finished
        .iter()
        .map(|f| WorkerReport::of(&f.worker, f.pinned))
        .collect();
    Ok((totals, reports))
}

/// The live capture's part of the text summary: per interface and per queue.
fn live_text(live: &LiveReport) -> String {
    let mut s = String::new();
    for i in &live.interfaces {
        s.push_str(&format!("  interface {}: {}", i.name, i.mode.name()));
        if let Some(x) = &i.xdp {
            s.push_str(&format!(
                "; xdp seen {}, redirected {}, bypassed {}, filtered {}, passed {}",
                x.seen, x.redirected, x.bypassed, x.filtered, x.passed
            ));
        }
        s.push('\n');
        for r in &i.refusals {
            s.push_str(&format!("    refused: {r}\n"));
        }
    }
    for q in &live.queues {
        let queue = q.queue.map_or_else(|| "all".to_owned(), |q| q.to_string());
        let k = &q.kernel;
        s.push_str(&format!(
            "  queue {}/{queue} ({}): received {} packets, {} bytes; kernel drops {} (rx_dropped {}, \
             rx_ring_full {}, invalid_descs {}, oversize {}, socket {}, interface {}; fill ring \
             empty {}); dispatch drops {}",
            q.interface,
            q.mode.name(),
            q.packets,
            q.bytes,
            k.drops(),
            k.rx_dropped,
            k.rx_ring_full,
            k.invalid_descs,
            k.oversize,
            k.socket_drops,
            k.interface_drops,
            k.fill_ring_empty,
            q.dispatch_drops
        ));
        if q.filtered > 0 || q.bypassed_packets > 0 || q.bypass_table_full > 0 {
            s.push_str(&format!(
                "; userspace: filtered {}, bypassed {}, bypass table full {}",
                q.filtered, q.bypassed_packets, q.bypass_table_full
            ));
        }
        if let Some(e) = &q.last_error {
            s.push_str(&format!("; {} receive errors, last: {e}", q.receive_errors));
        }
        s.push('\n');
    }
    let b = &live.bypass;
    if b.enabled {
        s.push_str(&format!(
            "  bypass ({}): {} flows reported, {} bypassed, {} insert failures, {} expired; \
             {} packets ({} bytes) dropped in the kernel; {} reports lost\n",
            if b.userspace { "userspace" } else { "kernel" },
            b.flows_reported,
            b.flows_bypassed,
            b.insert_failures,
            b.flows_expired,
            b.kernel_packets,
            b.kernel_bytes,
            live.bypass_reports_dropped
        ));
    }
    s
}

/// The EVE output of one worker.
pub(crate) type EveSink = Box<dyn RecordSink + Send>;

/// The run's figures, summed over the workers.
#[derive(Debug, Default)]
pub(crate) struct RunTotals {
    pub counters: Counters,
    pub tables: TableStats,
    pub detect: Option<tapwatch_detect::DetectStats>,
    pub figures: WorkerFigures,
    pub eve_records: u64,
    pub now: tapwatch_common::Timestamp,
}

impl RunTotals {
    pub(crate) fn add<W: RecordSink>(&mut self, worker: &Worker<W>) {
        self.counters += worker.counters();
        self.tables += &worker.table_stats();
        if let Some(d) = worker.detect_stats() {
            *self.detect.get_or_insert_with(Default::default) += &d;
        }
        self.figures += &WorkerFigures::of(worker);
        self.eve_records += worker.eve_records();
        self.now = self.now.max(worker.now());
    }
}

/// One worker's share of the run, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct WorkerReport {
    packets: u64,
    bytes: u64,
    flows: u64,
    alerts: u64,
    eve_records: u64,
    cpu: Option<usize>,
}

impl WorkerReport {
    pub(crate) fn of<W: RecordSink>(worker: &Worker<W>, cpu: Option<usize>) -> Self {
        let c = worker.counters();
        Self {
            packets: c.packets,
            bytes: c.bytes,
            flows: c.flows_total(),
            alerts: worker.detect_stats().map_or(0, |d| d.alerts),
            eve_records: worker.eve_records(),
            cpu,
        }
    }
}

/// At the end of a run: warns about sets whose memcap refused values, and writes every set
/// with a `save` or `state` file (failures are logged; the other sets are still written).
pub(crate) fn save_datasets(engine: Option<&std::sync::Arc<tapwatch_detect::Engine>>) {
    let Some(engine) = engine else {
        return;
    };
    let datasets = engine.datasets();
    for (name, st) in datasets.stats() {
        if st.memcap_refused > 0 {
            tracing::warn!(
                "dataset {name}: {} value(s) not stored: the set reached its memcap of {} bytes \
                 ({} entries)",
                st.memcap_refused,
                st.memcap,
                st.entries
            );
        }
    }
    for e in datasets.save_all() {
        tracing::error!("cannot save {e}");
    }
}

/// Leaves the detection engine to be freed by the process's exit, all at once, instead of
/// one allocation at a time: with ET Open loaded that is hundreds of thousands of small
/// allocations (rules, patterns, matchers), about 0.1 s of wall time spent after the replay
/// is over. Only called when the replay is done and every output is written and flushed
/// (the worker, its EVE writer included, is dropped before); the engine holds no file,
/// socket or buffered output, only memory.
pub(crate) fn release_at_exit(engine: Option<std::sync::Arc<tapwatch_detect::Engine>>) {
    std::mem::forget(engine);
}

/// Start-up report in the log: counts, the first rejections (all with `verbose`), cache
/// problems.
pub(crate) fn report_startup(startup: &Startup, verbose: bool) {
    let Some(build) = &startup.build else {
        return;
    };
    let shown = if verbose {
        startup.rejections.len()
    } else {
        REJECTIONS_SHOWN
    };
    for r in startup.rejections.iter().take(shown) {
        tracing::warn!("rule rejected: {r}");
    }
    if startup.rejections.len() > shown {
        tracing::warn!(
            "... and {} more rejected rule(s): --verbose lists them all, \
             `tapwatch rules check` explains them",
            startup.rejections.len() - shown
        );
    }
    tracing::info!("{}", counts_line(startup));
    if let Some(w) = &build.cache_warning {
        tracing::warn!("rule cache: {w}");
    }
    if startup.loaded == 0 {
        tracing::warn!("no rule could be loaded; nothing will alert");
    }
}

/// CPU time (user + system) of this process so far, in seconds; `None` where
/// `/proc/self/stat` cannot be read (not Linux). Fields 14 and 15 count clock ticks of
/// `USER_HZ`, which is 100 on every Linux architecture tapwatch builds for.
pub(crate) fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// CPU seconds spent in start-up and in packet processing: on a shared machine these vary
/// much less than elapsed time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuTimes {
    pub startup: Option<f64>,
    pub processing: Option<f64>,
}

impl CpuTimes {
    /// The process's CPU seconds between launch and the start of processing, and between
    /// that start and `end` (each `None` where `/proc` could not be read).
    pub(crate) fn between(launch: Option<f64>, start: Option<f64>, end: Option<f64>) -> Self {
        Self {
            startup: start.zip(launch).map(|(b, a)| b - a),
            processing: end.zip(start).map(|(b, a)| b - a),
        }
    }
}

/// Where a run's packets came from, for its summary.
pub(crate) enum Origin<'a> {
    /// `tapwatch replay`: capture files.
    Files {
        /// Files given.
        files: usize,
        /// Files that could not be read at all.
        failed_files: usize,
        /// Damaged records reported.
        file_problems: usize,
    },
    /// `tapwatch run`: live capture.
    Live(&'a LiveReport),
}

/// What a run did, for the operator.
pub(crate) struct Summary<'a> {
    pub origin: Origin<'a>,
    pub elapsed: Duration,
    pub counters: &'a Counters,
    pub defrag: &'a tapwatch_defrag::DefragStats,
    pub eve_records: u64,
    /// What the EVE output wrote and dropped, when there was one.
    pub eve_output: Option<EveStats>,
    pub startup: &'a Startup,
    pub detect: Option<tapwatch_detect::DetectStats>,
    /// The exporter's final counters, when exporting.
    pub export: Option<ExportStats>,
    /// Each worker's share.
    pub workers: Vec<WorkerReport>,
    pub cpu: CpuTimes,
}

impl Summary<'_> {
    /// Prints the summary on stderr: one JSON object, or text for the operator.
    pub(crate) fn print(&self, as_json: bool) {
        if as_json {
            eprintln!("{}", self.json());
        } else {
            eprint!("{}", self.text());
        }
    }

    fn rates(&self) -> (f64, f64) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let pps = self.counters.packets as f64 / secs;
        let gbps = self.counters.bytes as f64 * 8.0 / secs / 1e9;
        (pps, gbps)
    }

    pub(crate) fn text(&self) -> String {
        let c = self.counters;
        let (pps, gbps) = self.rates();
        let mut s = String::new();
        match &self.origin {
            Origin::Files {
                files,
                failed_files,
                file_problems,
            } => {
                s.push_str(&format!(
                    "tapwatch replay: {} file(s), {} packets, {} bytes in {:.3} s ({:.0} packets/s, {:.3} Gbit/s)\n",
                    files,
                    c.packets,
                    c.bytes,
                    self.elapsed.as_secs_f64(),
                    pps,
                    gbps
                ));
                if *failed_files > 0 || *file_problems > 0 {
                    s.push_str(&format!(
                        "  capture files: {failed_files} unreadable, {file_problems} damaged record(s) reported above\n"
                    ));
                }
            }
            Origin::Live(live) => {
                s.push_str(&format!(
                    "tapwatch run: {} interface(s), {} queue(s), {} packets, {} bytes in {:.3} s ({:.0} packets/s, {:.3} Gbit/s)\n",
                    live.interfaces.len(),
                    live.queues.len(),
                    c.packets,
                    c.bytes,
                    self.elapsed.as_secs_f64(),
                    pps,
                    gbps
                ));
                s.push_str(&live_text(live));
            }
        }
        s.push_str(&format!(
            "  layers: ipv4 {}, ipv6 {}, tcp {}, udp {}, icmp {}, not ip {}, fragments {}\n",
            c.ipv4,
            c.ipv6,
            c.tcp,
            c.udp,
            c.icmpv4 + c.icmpv6,
            c.not_ip,
            c.fragments
        ));
        s.push_str(&format!(
            "  flows: {} ({}), evicted {}, dropped for a full table {}\n",
            c.flows_total(),
            join(&c.flows_by_proto),
            c.flows_evicted,
            c.flow_table_full
        ));
        s.push_str(&format!(
            "  app layer: {} flows ({}), failed tcp {}; http {} tx, dns+mdns {} messages, tls {} handshakes\n",
            c.app_flows.values().sum::<u64>(),
            join(&c.app_flows),
            c.app_failed_tcp,
            c.http_tx,
            c.dns_udp_tx + c.dns_tcp_tx + c.mdns_tx,
            c.tls_tx
        ));
        s.push_str(&format!(
            "  decode events: {}{}\n",
            c.decode_event_total(),
            top(&c.decode_events_by_name())
        ));
        s.push_str(&format!(
            "  stream events: {}{}\n",
            c.stream_events.values().sum::<u64>(),
            top(&c.stream_events_by_name())
        ));
        let d = self.defrag;
        let defrag_dropped =
            d.memcap_drops + d.max_trackers_reached + d.max_frags_reached + d.too_large + d.invalid;
        if defrag_dropped > 0 {
            s.push_str(&format!(
                "  defrag drops: {defrag_dropped} (memcap {}, tracker table full {}, too many \
                 fragments {}, too large {}, malformed {})\n",
                d.memcap_drops, d.max_trackers_reached, d.max_frags_reached, d.too_large, d.invalid
            ));
        }
        if c.invalid_checksum > 0 {
            s.push_str(&format!(
                "  invalid checksums: {} packets (not reassembled or parsed)\n",
                c.invalid_checksum
            ));
        }
        if let (Some(build), Some(d)) = (&self.startup.build, &self.detect) {
            s.push_str(&format!(
                "  detection: {} rules ({} rejected); {} alerts, {} suppressed by thresholds; \
                 start-up {:.3} s (load {:.3} s, build {:.3} s, cache {})\n",
                self.startup.loaded,
                self.startup.rejected(),
                d.alerts,
                d.alerts_suppressed,
                self.startup.total_time().as_secs_f64(),
                self.startup.load_time.as_secs_f64(),
                self.startup.build_time.as_secs_f64(),
                build.cache.name()
            ));
        }
        if self.workers.len() > 1 {
            let shares: Vec<String> = self
                .workers
                .iter()
                .map(|w| format!("{} packets, {} alerts", w.packets, w.alerts))
                .collect();
            s.push_str(&format!(
                "  workers: {} ({})\n",
                self.workers.len(),
                shares.join("; ")
            ));
        }
        s.push_str(&format!("  eve: {} records", self.eve_records));
        if let Some(o) = &self.eve_output {
            s.push_str(&format!(
                "; output: {} written ({} bytes), {} dropped, {} rotations, {} reopens",
                o.records_written, o.bytes_written, o.records_dropped, o.rotations, o.reopens
            ));
            if let Some(e) = &o.last_error {
                s.push_str(&format!("; {} errors, last: {e}", o.write_errors));
            }
        }
        s.push('\n');
        if let Some(x) = &self.export {
            s.push_str(&export_link::summary_line(x));
        }
        s
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        let c = self.counters;
        let (pps, gbps) = self.rates();
        let mut j = json!({
            "packets": c.packets,
            "bytes": c.bytes,
            "elapsed_secs": self.elapsed.as_secs_f64(),
            "packets_per_sec": pps,
            "gbit_per_sec": gbps,
            "flows": c.flows_total(),
            "flows_by_proto": c.flows_by_proto,
            "app_flows": c.app_flows,
            "decode_events": c.decode_events_by_name(),
            "defrag_events": c.defrag_events_by_name(),
            "stream_events": c.stream_events_by_name(),
            "app_events": c.app_events,
            "invalid_checksum": c.invalid_checksum,
            "defrag_dropped": {
                "memcap": self.defrag.memcap_drops,
                "max_trackers": self.defrag.max_trackers_reached,
                "max_frags": self.defrag.max_frags_reached,
                "too_large": self.defrag.too_large,
                "malformed": self.defrag.invalid,
            },
            "eve_records": self.eve_records,
            "eve_output": self.eve_output,
            "workers": self.workers,
            "cpu_secs": {
                "startup": self.cpu.startup,
                "processing": self.cpu.processing,
            },
            "gbit_per_cpu_sec": self.cpu.processing.filter(|&s| s > 0.0)
                .map(|s| c.bytes as f64 * 8.0 / s / 1e9),
            "detect": self.detect_json(),
            "export": self.export,
        });
        if let Some(obj) = j.as_object_mut() {
            match &self.origin {
                Origin::Files {
                    files,
                    failed_files,
                    file_problems,
                } => {
                    obj.insert("files".into(), json!(files));
                    obj.insert("failed_files".into(), json!(failed_files));
                    obj.insert("file_problems".into(), json!(file_problems));
                }
                Origin::Live(live) => {
                    obj.insert("capture".into(), json!(live));
                    obj.insert("kernel_drops".into(), json!(live.kernel_drops()));
                    obj.insert("dispatch_drops".into(), json!(live.dispatch_drops()));
                }
            }
        }
        j
    }

    /// Detection figures: start-up (load, compile, cache) apart from packet processing, which
    /// `elapsed_secs` and the rates above measure alone.
    fn detect_json(&self) -> serde_json::Value {
        let (Some(_), Some(d)) = (&self.startup.build, &self.detect) else {
            return serde_json::Value::Null;
        };
        let mut j = self.startup.json();
        if let Some(obj) = j.as_object_mut() {
            obj.insert("alerts".into(), json!(d.alerts));
            obj.insert("alerts_suppressed".into(), json!(d.alerts_suppressed));
            obj.insert("candidates".into(), json!(d.candidates));
            obj.insert("processing_secs".into(), json!(self.elapsed.as_secs_f64()));
        }
        j
    }
}

fn join(map: &std::collections::BTreeMap<&'static str, u64>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

fn top(map: &std::collections::BTreeMap<&'static str, u64>) -> String {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1));
    let parts: Vec<String> = v.iter().take(5).map(|(k, n)| format!("{k} {n}")).collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!(" (most: {})", parts.join(", "))
    }
}

/// The bounds of the dispatcher's fragment routing: the defragmenter's.
pub fn fragment_limits(config: &Config) -> FragmentLimits {
    FragmentLimits {
        timeout: Duration::from_secs(config.defrag.timeout_secs),
        max_datagrams: config.defrag.max_trackers.get(),
        max_held_bytes: config.defrag.memcap_bytes.get(),
    }
}

/// Starts the exporter when `[export]` is enabled or `forced` (`--export`), with the
/// configuration's paths resolved against its directory; `None` when export is off.
pub(crate) fn start_exporter(
    forced: bool,
    config: &Config,
    config_path: Option<&std::path::Path>,
    startup: &Startup,
    health: &Arc<tapwatch_runtime::health::HealthBoard>,
    when_full: export_link::WhenFull,
) -> anyhow::Result<Option<Exporter>> {
    if !(forced || config.export.enabled) {
        return Ok(None);
    }
    let dir = tapwatch_pipeline::detect_setup::config_dir(config_path);
    let mut export = export_link::resolved(config, dir.as_deref());
    export.enabled = true;
    let health: Arc<dyn tapwatch_export::HealthSource> = health.clone();
    export_link::start(
        export,
        &startup.files,
        &startup.ruleset_sha256,
        health,
        when_full,
    )
    .map(Some)
}
