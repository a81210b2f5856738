//! `tapwatch run`: live capture from network interfaces until SIGINT or SIGTERM; SIGHUP
//! reopens the EVE file (for logrotate).

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::endpoints::{self, Services};
use crate::export_link;
use crate::service::{self, Watchdog};
use crate::session::{self, CpuTimes, Origin, Summary};
use crate::RunArgs;
use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::detect_setup;
use tapwatch_runtime::board::ServiceBoard;
use tapwatch_runtime::capture::{self, OpenInterface};
use tapwatch_runtime::dispatch::{Affinity, Backpressure, Dispatcher};
use tapwatch_runtime::eve_file::{EveFile, Reopen};
use tapwatch_runtime::health::HealthBoard;
use tapwatch_runtime::live::{self, LiveSettings};
use tapwatch_runtime::liveness::Liveness;
use tapwatch_runtime::pool::{self, PoolOptions};
use tapwatch_runtime::reload::{Reloader, RuleSource};
use tapwatch_runtime::ruleset_status::RulesetStatus;
use tapwatch_runtime::swap::EngineSwap;
use tapwatch_service::Notifier;

/// Bypass reports waiting between the workers and the control loop at most.
const BYPASS_CHANNEL: usize = 4096;

/// Runs live capture. Exit status 0 after a clean stop (SIGINT or SIGTERM); a second signal
/// while stopping ends the process at once with status 1.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let cpu_at_launch = session::process_cpu_secs();
    // First, so that a signal during the rules' compilation also stops cleanly.
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // The second signal, with the flag already set, exits at once.
        signal_hook::flag::register_conditional_shutdown(signal, 1, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install the signal handlers")?;
    }
    // SIGUSR2 reloads the rules (as Suricata's); handled by a thread of its own once capture
    // runs, and caught from now on so that an early one does not end the process.
    let mut reload_signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGUSR2])
        .context("cannot install the signal handlers")?;
    // SIGHUP reopens the EVE file (logrotate); registered even without one, so that a
    // SIGHUP never ends the process.
    let reopen = Reopen::default();
    signal_hook::flag::register(signal_hook::consts::SIGHUP, reopen.flag())
        .context("cannot install the signal handlers")?;
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    // As the file says, before the command line's overrides: a reload compares the file with it.
    let file_config = config.clone();
    if !args.interfaces.is_empty() {
        config.capture.interfaces.clone_from(&args.interfaces);
    }
    if let Some(mode) = args.capture {
        config.capture.mode = mode.into();
    }
    if config.capture.interfaces.is_empty() {
        anyhow::bail!("{}", capture::CaptureError::NoInterface);
    }
    config.runtime.check_cpus(&pool::available_cpus())?;
    service::record_running_config(args.config.as_deref());
    let notifier = service::notifier();
    notifier.status("loading and compiling rules");
    let mut startup =
        detect_setup::start(&config, args.config.as_deref(), &args.detect.to_args(false))?;
    session::report_startup(&startup, args.verbose);

    let mut interfaces: Vec<OpenInterface> = Vec::new();
    for iface in &config.capture.interfaces {
        let open = capture::open_interface(iface, config.capture.mode, &config.capture)?;
        tracing::info!(
            "{iface}: capturing in mode {} on {} queue(s){}",
            open.mode.name(),
            open.sources.len(),
            if open.refusals.is_empty() {
                String::new()
            } else {
                format!("; better modes refused: {}", open.refusals.join("; "))
            }
        );
        interfaces.push(open);
    }
    let sources = live::source_count(&interfaces);
    let workers = args
        .workers
        .or(config.runtime.workers)
        .map_or(sources.max(1), std::num::NonZeroUsize::get);

    let liveness = Arc::new(Liveness::new(workers));
    let health = Arc::new(HealthBoard::default());
    // Always published (metrics, control socket), whether or not the run exports.
    let board = Arc::new(ServiceBoard::new(
        env!("CARGO_PKG_VERSION"),
        Arc::clone(&health),
    ));
    let exporter = session::start_exporter(
        args.export,
        &config,
        args.config.as_deref(),
        &startup,
        &health,
        export_link::WhenFull::Drop,
    )?;
    if let Some(x) = &exporter {
        board.set_export(x.stats_reader());
    }
    let eve_file = session::open_eve(
        args.eve.as_deref(),
        false,
        &config,
        args.config.as_deref(),
        workers,
        reopen,
    )?;
    let eve_stats = eve_file.as_ref().map(EveFile::stats_handle);
    if let Some(h) = &eve_stats {
        board.set_eve(h.clone());
    }
    let engine = startup.engine.take().map(Arc::new);
    let host = Arc::new(tapwatch_detect::HostState::new());
    let mut pipeline = session::build_workers(
        &config,
        workers,
        engine.as_ref(),
        &host,
        eve_file.as_ref(),
        exporter.as_ref(),
    )?;
    let swap = Arc::new(EngineSwap::new(workers));
    let source = RuleSource {
        config: file_config,
        config_path: args.config.clone(),
        args: args.detect.to_args(false),
    };
    let reloader = Arc::new(Reloader::new(
        source,
        &startup,
        engine,
        host,
        Arc::clone(&swap),
    ));
    health.set_ruleset(&reloader.ruleset());
    board.set_ruleset(endpoints::ruleset_status(&reloader.ruleset(), &health));
    let reload_from_socket: endpoints::ReloadFn = {
        let (reloader, health, board, notifier) = (
            Arc::clone(&reloader),
            Arc::clone(&health),
            Arc::clone(&board),
            Arc::clone(&notifier),
        );
        Arc::new(move || reload_rules(&reloader, &health, &board, &notifier, "control socket"))
    };
    let (bypass_tx, bypass_rx) = crossbeam_channel::bounded(BYPASS_CHANNEL);
    if config.capture.bypass {
        for w in &mut pipeline {
            w.report_bypassable();
        }
    }
    let pool_options = PoolOptions {
        cpus: config.runtime.worker_cpus.clone(),
        health: Some(Arc::clone(&health)),
        bypass: config.capture.bypass.then_some(bypass_tx),
        swap: Some(swap),
        watch: tapwatch_runtime::liveness::Watch {
            liveness: Some(Arc::clone(&liveness)),
            test_hang_after: args.test_hang_worker_after_secs.map(Duration::from_secs),
        },
    };
    let settings = LiveSettings {
        rx_batch: config.capture.rx_batch_packets.get() as usize,
        prefixes: config.capture.monitored_prefixes.clone(),
        bypass_idle: config
            .capture
            .bypass
            .then(|| Duration::from_secs(config.capture.bypass_idle_timeout_secs)),
        board: Some(Arc::clone(&board)),
    };
    let config_dir = detect_setup::config_dir(args.config.as_deref());
    let mut services: Option<anyhow::Result<Services>> = None;
    let ready = Arc::new(AtomicBool::new(false));
    let watchdog = Watchdog::start(
        &notifier,
        &liveness,
        tapwatch_service::notify::watchdog_interval(),
        &ready,
    )
    .context("cannot start the watchdog thread")?;
    let status = format!(
        "capturing on {} ({sources} queue(s)) with {workers} worker(s)",
        config.capture.interfaces.join(", ")
    );
    let cpu_at_start = session::process_cpu_secs();
    let started = Instant::now();
    let (mut report, finished) = std::thread::scope(|scope| -> anyhow::Result<_> {
        let (dispatchers, queues): (Vec<Dispatcher>, _) = Dispatcher::shared(
            Affinity::new(workers),
            Backpressure::Drop,
            session::fragment_limits(&config),
            sources,
            config.capture.worker_queue_batches.get() as usize,
        );
        let handles = pool::spawn(scope, pipeline, queues, &pool_options)
            .context("cannot start the worker threads")?;
        let reload_handle = reload_signals.handle();
        let reloads = std::thread::Builder::new()
            .name("tw-reload".into())
            .spawn_scoped(scope, || {
                for _ in reload_signals.forever() {
                    let _ = reload_rules(&reloader, &health, &board, &notifier, "SIGUSR2");
                }
            })
            .context("cannot start the reload thread")?;
        let report = live::run(
            interfaces,
            dispatchers,
            &settings,
            Some(bypass_rx),
            &stop,
            |_| {
                // Served once every queue captures; a failure stops the run.
                let started = Services::start(
                    &config,
                    config_dir.as_deref(),
                    args.control_socket.as_deref(),
                    &board,
                    &stop,
                    reload_from_socket,
                );
                if started.is_err() {
                    stop.store(true, Ordering::Release);
                } else {
                    tracing::info!(
                        "capture started with {workers} worker(s); stop with Ctrl-C or SIGTERM"
                    );
                    notifier.ready();
                    notifier.status(&status);
                    ready.store(true, Ordering::Release);
                }
                services = Some(started);
            },
        )
        .context("live capture failed");
        // Capture has stopped: no more ticks, so idle workers are no longer stuck ones.
        ready.store(false, Ordering::Release);
        notifier.stopping();
        notifier.status("stopping: finishing flows, flushing EVE and the export spool");
        reload_handle.close();
        let _ = reloads.join();
        let report = report?;
        let mut finished = Vec::with_capacity(handles.len());
        for (index, handle) in handles.into_iter().enumerate() {
            finished.push(
                handle
                    .join()
                    .map_err(|_| anyhow::anyhow!("worker thread {index} failed"))?,
            );
        }
        Ok((report, finished))
    })?;
    drop(watchdog);
    match services {
        Some(Ok(s)) => s.stop(),
        Some(Err(e)) => return Err(e),
        None => {}
    }
    if !stop.load(Ordering::Acquire) {
        tracing::warn!("every capture thread ended; stopping");
    }
    let elapsed = started.elapsed();
    report.bypass_reports_dropped = finished.iter().map(|f| f.bypass_dropped).sum();
    let (totals, workers_report) = session::finish_workers(finished, &config)?;
    if let Some(file) = eve_file {
        file.finish().context("cannot write EVE output")?;
    }
    let export = exporter.map(|x| {
        health.publish(&totals.counters, totals.figures);
        x.shutdown(Duration::from_secs(args.export_wait))
    });
    let cpu_at_end = session::process_cpu_secs();
    let summary = Summary {
        origin: Origin::Live(&report),
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
    let engine = reloader.engine();
    session::save_datasets(engine.as_ref());
    session::release_at_exit(engine);
    Ok(ExitCode::SUCCESS)
}

/// Reloads the rules on SIGUSR2 or the control socket's `reload-rules` (`trigger`), telling
/// the operator, the center (in `Health`), the service board (metrics, `ruleset-stats`) and
/// systemd (`RELOADING=1` then `READY=1`) what happened; returns the status then, or why the
/// running rules stay.
fn reload_rules(
    reloader: &Reloader,
    health: &HealthBoard,
    board: &ServiceBoard,
    notifier: &Notifier,
    trigger: &str,
) -> Result<RulesetStatus, String> {
    tracing::info!("{trigger}: reloading the rules");
    notifier.reloading();
    notifier.status("reloading the rules");
    let outcome = reloader.reload();
    health.set_reload(&outcome, &reloader.ruleset());
    board.set_ruleset(endpoints::ruleset_status(&reloader.ruleset(), health));
    match &outcome {
        Ok(done) => {
            tracing::info!(
                "rules reloaded: {} rules running (were {}), {} rejected; built in \
                 {:.3} s, swapped into every worker in {:.3} s{}",
                done.ruleset.loaded,
                done.previous.loaded,
                done.ruleset.rejected,
                done.build_time.as_secs_f64(),
                done.swap_time.as_secs_f64(),
                if done.all_swapped {
                    ""
                } else {
                    " (some workers had not swapped yet: they do at their next batch)"
                }
            );
            for r in &done.rejections {
                tracing::warn!("rule rejected: {r}");
            }
            if !done.restart_needed.is_empty() {
                tracing::warn!(
                    "changed settings not applied by a reload (restart to apply them): {}",
                    done.restart_needed.join(", ")
                );
            }
        }
        Err(e) => tracing::error!("rule reload refused, the running rules stay: {e}"),
    }
    // Reloaded or refused, the sensor runs (with the new rules or the old ones).
    notifier.ready();
    notifier.status(&match &outcome {
        Ok(done) => format!("capturing; {} rules running", done.ruleset.loaded),
        Err(_) => "capturing; the last rule reload was refused (see the log)".to_owned(),
    });
    outcome
        .map(|_| board.ruleset())
        .map_err(|e| format!("rule reload refused, the running rules stay: {e}"))
}
