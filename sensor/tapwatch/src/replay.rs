//! `tapwatch replay`: capture files through the sensor's workers, with progress and a summary.

use std::fs::File;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::export_link;
use crate::rules_cmd::{counts_line, REJECTIONS_SHOWN};
use crate::{ProgressMode, ReplayArgs};
use tapwatch_eve::RecordSink;
use tapwatch_export::ExportStats;
use tapwatch_flow::FlowIdSpace;
use tapwatch_pipeline::config::{Config, EveType};
use tapwatch_pipeline::counters::{Counters, TableStats};
use tapwatch_pipeline::detect_setup::{self, Startup};
use tapwatch_pipeline::export_flow::FlowExport;
use tapwatch_pipeline::worker::{stats_record, Worker};
use tapwatch_runtime::dispatch::{Affinity, Backpressure, Dispatcher, WorkersGone};
use tapwatch_runtime::eve_file::EveFile;
use tapwatch_runtime::health::{HealthBoard, WorkerFigures};
use tapwatch_runtime::pool::{self, Finished, PoolOptions};
use tapwatch_runtime::route::FragmentLimits;

mod feed;

/// Runs a replay. Files that cannot be opened are reported and skipped; the exit status is 1
/// when any file could not be read at all, 0 otherwise (damage inside a file is reported but
/// is not a failure: the rest of the file was read).
///
/// The packets go through the same runtime as live capture: a dispatcher hands each packet to
/// its flow's worker thread (one worker unless `--workers` or `[runtime] workers` says more),
/// waiting for room when a worker is behind, so nothing is lost.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let cpu_at_launch = process_cpu_secs();
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let workers = args
        .workers
        .or(config.runtime.workers)
        .map_or(1, std::num::NonZeroUsize::get);
    config.runtime.check_cpus(&pool::available_cpus())?;
    let mut startup =
        detect_setup::start(&config, args.config.as_deref(), &args.detect.to_args(false))?;
    report_startup(&startup, args.verbose);
    let health = Arc::new(HealthBoard::default());
    let exporter = if args.export || config.export.enabled {
        let dir = detect_setup::config_dir(args.config.as_deref());
        let mut export = export_link::resolved(&config, dir.as_deref());
        export.enabled = true;
        Some(export_link::start(export, &startup.files, health.clone())?)
    } else {
        None
    };
    let eve_file = match &args.eve {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(
            EveFile::start(std::io::stdout(), workers)
                .context("cannot start the EVE writer thread")?,
        ),
        Some(p) => {
            let f = File::create(p)
                .with_context(|| format!("cannot create EVE file {}", p.display()))?;
            Some(EveFile::start(f, workers).context("cannot start the EVE writer thread")?)
        }
    };
    // Kept to the end: see `release_at_exit`.
    let engine = startup.engine.take().map(Arc::new);
    let host = Arc::new(tapwatch_detect::HostState::new());
    let ids = FlowIdSpace::random_shared(u32::try_from(workers).unwrap_or(u32::MAX));
    let mut pipeline = Vec::with_capacity(workers);
    for index in 0..workers {
        let mut eve: Option<EveSink> = eve_file.as_ref().map(|f| Box::new(f.producer()) as EveSink);
        // With flow export on, every flow record the worker hands its EVE output goes to the
        // exporter too, as the same typed value.
        if let Some(x) = exporter.as_ref().filter(|_| config.export.flows) {
            let inner = eve.unwrap_or_else(|| Box::new(std::io::sink()));
            eve = Some(Box::new(FlowExport::new(inner, Box::new(x.handle()))));
        }
        let mut worker = match &engine {
            Some(engine) => Worker::with_shared_engine(
                config.clone(),
                eve,
                Arc::clone(engine),
                Arc::clone(&host),
            )
            .context("cannot start detection")?,
            None => Worker::new(config.clone(), eve),
        };
        worker.use_flow_ids(ids.share(u32::try_from(index).unwrap_or(u32::MAX)));
        if workers > 1 {
            worker.leave_stats_to_driver();
        }
        if let Some(x) = &exporter {
            worker.send_alerts_to(Box::new(x.handle()));
        }
        pipeline.push(worker);
    }
    let total_bytes: u64 = args
        .pcaps
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let show_progress = match args.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let bar = show_progress.then(|| progress_bar(total_bytes));

    let cpu_at_start = process_cpu_secs();
    let started = Instant::now();
    let mut pcap_cnt = 0u64;
    let mut failed_files = 0usize;
    let mut file_problems = 0usize;
    let mut done_bytes = 0u64;
    let file_lens: Vec<u64> = args
        .pcaps
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    let pool_options = PoolOptions {
        cpus: config.runtime.worker_cpus.clone(),
        health: exporter.as_ref().map(|_| Arc::clone(&health)),
    };
    let finished = std::thread::scope(|scope| -> anyhow::Result<Vec<Finished<EveSink>>> {
        let fragments = FragmentLimits {
            timeout: Duration::from_secs(config.defrag.timeout_secs),
            max_datagrams: config.defrag.max_trackers.get(),
            max_held_bytes: config.defrag.memcap_bytes.get(),
        };
        let (dispatcher, queues) =
            Dispatcher::new(Affinity::new(workers), Backpressure::Wait, fragments);
        let handles = pool::spawn(scope, pipeline, queues, &pool_options)
            .context("cannot start the worker threads")?;
        let (feed, batches) = crossbeam_channel::bounded(feed::QUEUE_BATCHES);
        let (recycle, recycled) = crossbeam_channel::bounded(feed::QUEUE_BATCHES);
        let pcaps = &args.pcaps;
        let reader = std::thread::Builder::new()
            .name("tapwatch-reader".into())
            .spawn_scoped(scope, move || feed::read_files(pcaps, &feed, &recycled))
            .context("cannot start the capture reader thread")?;
        let mut dispatcher = Some(dispatcher);
        let mut last_tick = 0u64;
        for message in &batches {
            match message {
                feed::Feed::OpenFailed { file, error } => {
                    let path = args.pcaps.get(file).map(|p| p.display());
                    match path {
                        Some(path) => report(&bar, &format!("tapwatch: error: {path}: {error}")),
                        None => report(&bar, &format!("tapwatch: error: {error}")),
                    }
                    failed_files += 1;
                    done_bytes += file_lens.get(file).copied().unwrap_or(0);
                }
                feed::Feed::Batch { file, batch } => {
                    let Some(d) = dispatcher.as_mut() else {
                        continue;
                    };
                    let consumed = batch.bytes_consumed();
                    let first = pcap_cnt + 1;
                    pcap_cnt += batch.len() as u64;
                    match d.push_batch(first, batch) {
                        // The reader reuses the batch; when it has enough already, it is freed.
                        Ok(spare) => {
                            if let Some(spare) = spare {
                                let _ = recycle.try_send(spare);
                            }
                        }
                        // A worker thread ended early (it panicked): stop reading; its join
                        // below reports it.
                        Err(WorkersGone) => {
                            dispatcher = None;
                            break;
                        }
                    }
                    if let Some(bar) = &bar {
                        if pcap_cnt - last_tick >= 4096 {
                            last_tick = pcap_cnt;
                            // Compressed files advance by their uncompressed size: clamp to
                            // the file's.
                            let file_len = file_lens.get(file).copied().unwrap_or(0);
                            bar.set_position(done_bytes + consumed.min(file_len));
                        }
                    }
                }
                feed::Feed::FileDone { file, problems } => {
                    let path = args.pcaps.get(file).map(|p| p.display().to_string());
                    for problem in problems {
                        file_problems += 1;
                        report(
                            &bar,
                            &format!(
                                "tapwatch: warning: {}: {problem}",
                                path.as_deref().unwrap_or("?")
                            ),
                        );
                    }
                    done_bytes += file_lens.get(file).copied().unwrap_or(0);
                    if let Some(bar) = &bar {
                        bar.set_position(done_bytes);
                    }
                }
            }
        }
        drop(batches);
        // Closing the queues lets each worker finish its queue, end its flows and return.
        if let Some(d) = dispatcher {
            let _ = d.close();
        }
        let mut finished = Vec::with_capacity(handles.len());
        for (index, handle) in handles.into_iter().enumerate() {
            let done = handle
                .join()
                .map_err(|_| anyhow::anyhow!("worker thread {index} failed"))?;
            finished.push(done);
        }
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the capture reader thread failed"))?;
        Ok(finished)
    })?;
    let mut totals = RunTotals::default();
    for done in &finished {
        totals.add(&done.worker);
    }
    let mut finished = finished;
    for done in &mut finished {
        std::mem::replace(&mut done.eve, Ok(())).context("cannot write EVE output")?;
    }
    if workers > 1 && config.eve.wants(EveType::Stats) {
        // One `stats` record for the run, summed over the workers, after every flow record.
        let stats = stats_record(&totals.counters, &totals.tables, totals.detect);
        if let Some(first) = finished.first_mut() {
            first.worker.write_stats_record(totals.now, &stats);
            first.worker.finish().context("cannot write EVE output")?;
            totals.eve_records += 1;
        }
    }
    let elapsed = started.elapsed();
    // The workers hand their EVE producers back to the file when dropped.
    let workers_report: Vec<WorkerReport> = finished
        .iter()
        .map(|f| WorkerReport::of(&f.worker, f.pinned))
        .collect();
    drop(finished);
    if let Some(file) = eve_file {
        file.finish().context("cannot write EVE output")?;
    }
    let export = exporter.map(|x| {
        health.publish(&totals.counters, totals.figures);
        x.shutdown(Duration::from_secs(args.export_wait))
    });
    let cpu_at_end = process_cpu_secs();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = Summary {
        files: args.pcaps.len(),
        failed_files,
        file_problems,
        elapsed,
        counters: &totals.counters,
        defrag: &totals.tables.defrag,
        eve_records: totals.eve_records,
        startup: &startup,
        detect: totals.detect,
        export,
        workers: workers_report,
        cpu: CpuTimes {
            startup: cpu_at_start.zip(cpu_at_launch).map(|(b, a)| b - a),
            processing: cpu_at_end.zip(cpu_at_start).map(|(b, a)| b - a),
        },
    };
    if args.summary_json {
        eprintln!("{}", summary.json());
    } else {
        eprint!("{}", summary.text());
    }
    release_at_exit(engine);
    Ok(if failed_files > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The EVE output of one worker.
type EveSink = Box<dyn RecordSink + Send>;

/// The run's figures, summed over the workers.
#[derive(Debug, Default)]
struct RunTotals {
    counters: Counters,
    tables: TableStats,
    detect: Option<tapwatch_detect::DetectStats>,
    figures: WorkerFigures,
    eve_records: u64,
    now: tapwatch_common::Timestamp,
}

impl RunTotals {
    fn add<W: RecordSink>(&mut self, worker: &Worker<W>) {
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
struct WorkerReport {
    packets: u64,
    bytes: u64,
    flows: u64,
    alerts: u64,
    eve_records: u64,
    cpu: Option<usize>,
}

impl WorkerReport {
    fn of<W: RecordSink>(worker: &Worker<W>, cpu: Option<usize>) -> Self {
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

/// Leaves the detection engine to be freed by the process's exit, all at once, instead of
/// one allocation at a time: with ET Open loaded that is hundreds of thousands of small
/// allocations (rules, patterns, matchers), about 0.1 s of wall time spent after the replay
/// is over. Only called when the replay is done and every output is written and flushed
/// (the worker, its EVE writer included, is dropped before); the engine holds no file,
/// socket or buffered output, only memory.
fn release_at_exit(engine: Option<std::sync::Arc<tapwatch_detect::Engine>>) {
    std::mem::forget(engine);
}

/// Start-up report on stderr: counts, the first rejections (all with `verbose`), cache problems.
fn report_startup(startup: &Startup, verbose: bool) {
    let Some(build) = &startup.build else {
        return;
    };
    let shown = if verbose {
        startup.rejections.len()
    } else {
        REJECTIONS_SHOWN
    };
    for r in startup.rejections.iter().take(shown) {
        eprintln!("tapwatch: rule rejected: {r}");
    }
    if startup.rejections.len() > shown {
        eprintln!(
            "tapwatch: ... and {} more rejected rule(s): --verbose lists them all, \
             `tapwatch rules check` explains them",
            startup.rejections.len() - shown
        );
    }
    eprintln!("tapwatch: {}", counts_line(startup));
    if let Some(w) = &build.cache_warning {
        eprintln!("tapwatch: warning: rule cache: {w}");
    }
    if startup.loaded == 0 {
        eprintln!("tapwatch: warning: no rule could be loaded; nothing will alert");
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn report(bar: &Option<ProgressBar>, line: &str) {
    match bar {
        Some(b) => b.println(line),
        None => eprintln!("{line}"),
    }
}

/// CPU time (user + system) of this process so far, in seconds; `None` where
/// `/proc/self/stat` cannot be read (not Linux). Fields 14 and 15 count clock ticks of
/// `USER_HZ`, which is 100 on every Linux architecture tapwatch builds for.
fn process_cpu_secs() -> Option<f64> {
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
struct CpuTimes {
    startup: Option<f64>,
    processing: Option<f64>,
}

/// What a replay did, for the operator.
struct Summary<'a> {
    files: usize,
    failed_files: usize,
    file_problems: usize,
    elapsed: Duration,
    counters: &'a Counters,
    defrag: &'a tapwatch_defrag::DefragStats,
    eve_records: u64,
    startup: &'a Startup,
    detect: Option<tapwatch_detect::DetectStats>,
    /// The exporter's final counters, when exporting.
    export: Option<ExportStats>,
    /// Each worker's share.
    workers: Vec<WorkerReport>,
    cpu: CpuTimes,
}

impl Summary<'_> {
    fn rates(&self) -> (f64, f64) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let pps = self.counters.packets as f64 / secs;
        let gbps = self.counters.bytes as f64 * 8.0 / secs / 1e9;
        (pps, gbps)
    }

    fn text(&self) -> String {
        let c = self.counters;
        let (pps, gbps) = self.rates();
        let mut s = String::new();
        s.push_str(&format!(
            "tapwatch replay: {} file(s), {} packets, {} bytes in {:.3} s ({:.0} packets/s, {:.3} Gbit/s)\n",
            self.files,
            c.packets,
            c.bytes,
            self.elapsed.as_secs_f64(),
            pps,
            gbps
        ));
        if self.failed_files > 0 || self.file_problems > 0 {
            s.push_str(&format!(
                "  capture files: {} unreadable, {} damaged record(s) reported above\n",
                self.failed_files, self.file_problems
            ));
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
        s.push_str(&format!("  eve: {} records\n", self.eve_records));
        if let Some(x) = &self.export {
            s.push_str(&export_link::summary_line(x));
        }
        s
    }

    fn json(&self) -> serde_json::Value {
        let c = self.counters;
        let (pps, gbps) = self.rates();
        json!({
            "files": self.files,
            "failed_files": self.failed_files,
            "file_problems": self.file_problems,
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
            "workers": self.workers,
            "cpu_secs": {
                "startup": self.cpu.startup,
                "processing": self.cpu.processing,
            },
            "gbit_per_cpu_sec": self.cpu.processing.filter(|&s| s > 0.0)
                .map(|s| c.bytes as f64 * 8.0 / s / 1e9),
            "detect": self.detect_json(),
            "export": self.export,
        })
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
