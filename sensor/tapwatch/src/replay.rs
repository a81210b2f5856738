//! `tapwatch replay`: capture files through the sensor's workers, with progress and a summary.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use crate::export_link;
use crate::session::{self, CpuTimes, EveSink, Origin, Summary};
use crate::{ProgressMode, ReplayArgs};
use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::detect_setup;
use tapwatch_runtime::dispatch::{Affinity, Backpressure, Dispatcher, WorkersGone};
use tapwatch_runtime::eve_file::{EveFile, Reopen};
use tapwatch_runtime::health::HealthBoard;
use tapwatch_runtime::pool::{self, Finished, PoolOptions};

mod feed;

/// Runs a replay. Files that cannot be opened are reported and skipped; the exit status is 1
/// when any file could not be read at all or EVE records could not be written, 0 otherwise (damage inside a file is reported but
/// is not a failure: the rest of the file was read).
///
/// The packets go through the same runtime as live capture: a dispatcher hands each packet to
/// its flow's worker thread (one worker unless `--workers` or `[runtime] workers` says more),
/// waiting for room when a worker is behind, so nothing is lost.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let cpu_at_launch = session::process_cpu_secs();
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
    session::report_startup(&startup, args.verbose);
    let health = Arc::new(HealthBoard::default());
    let exporter = session::start_exporter(
        args.export,
        &config,
        args.config.as_deref(),
        &startup,
        &health,
        export_link::WhenFull::Wait,
    )?;
    let eve_file = session::open_eve(
        args.eve.as_deref(),
        true,
        &config,
        args.config.as_deref(),
        workers,
        Reopen::default(),
    )?;
    let eve_stats = eve_file.as_ref().map(EveFile::stats_handle);
    // Kept to the end: see `release_at_exit`.
    let engine = startup.engine.take().map(Arc::new);
    let pipeline = session::build_workers(
        &config,
        workers,
        engine.as_ref(),
        &Arc::new(tapwatch_detect::HostState::new()),
        eve_file.as_ref(),
        exporter.as_ref(),
    )?;
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

    let cpu_at_start = session::process_cpu_secs();
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
        bypass: None,
        swap: None,
        watch: Default::default(),
    };
    let finished = std::thread::scope(|scope| -> anyhow::Result<Vec<Finished<EveSink>>> {
        let (dispatcher, queues) = Dispatcher::new(
            Affinity::new(workers),
            Backpressure::Wait,
            session::fragment_limits(&config),
        );
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
    let (totals, workers_report) = session::finish_workers(finished, &config)?;
    let elapsed = started.elapsed();
    if let Some(file) = eve_file {
        file.finish().context("cannot write EVE output")?;
    }
    let export = exporter.map(|x| {
        health.publish(&totals.counters, totals.figures);
        x.shutdown(Duration::from_secs(args.export_wait))
    });
    let cpu_at_end = session::process_cpu_secs();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let summary = Summary {
        origin: Origin::Files {
            files: args.pcaps.len(),
            failed_files,
            file_problems,
        },
        elapsed,
        counters: &totals.counters,
        defrag: &totals.tables.defrag,
        eve_records: totals.eve_records,
        eve_output: eve_stats.map(|h| h.snapshot()),
        startup: &startup,
        detect: totals.detect,
        export,
        workers: workers_report,
        cpu: CpuTimes::between(cpu_at_launch, cpu_at_start, cpu_at_end),
    };
    summary.print(args.summary_json);
    session::save_datasets(engine.as_ref());
    session::release_at_exit(engine);
    let eve_dropped = summary.eve_output.as_ref().map_or(0, |o| o.records_dropped);
    if eve_dropped > 0 {
        eprintln!("tapwatch: error: {eve_dropped} EVE records could not be written");
    }
    Ok(if failed_files > 0 || eve_dropped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
