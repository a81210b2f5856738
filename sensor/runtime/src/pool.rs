//! The worker threads: each owns one [`Worker`], takes its batches from its queue, processes
//! them in order, and hands the worker back when its queue closes.

use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use tapwatch_eve::RecordSink;
use tapwatch_pipeline::worker::Worker;

use crate::dispatch::WorkerQueue;
use crate::health::{HealthBoard, WorkerLoad};
use crate::liveness::{self, Watch};
use crate::swap::EngineSwap;

/// How often a worker publishes its figures for `Health` at most.
const PUBLISH_INTERVAL: Duration = Duration::from_secs(1);

/// What each worker thread is started with besides its worker and queue.
#[derive(Debug, Clone, Default)]
pub struct PoolOptions {
    /// CPU of each worker (worker `i` on `cpus[i % len]`); empty: no pinning.
    pub cpus: Vec<usize>,
    /// Where the workers publish their figures about once a second, when set (for the
    /// exporter's `Health`, the metrics endpoint and the control socket).
    pub health: Option<Arc<HealthBoard>>,
    /// Where the workers hand the flows they report bypassable (after each batch; never
    /// waited on: a full channel drops the report, counted in [`Finished::bypass_dropped`]).
    /// Set only for workers told to [`Worker::report_bypassable`].
    pub bypass: Option<crossbeam_channel::Sender<tapwatch_pipeline::worker::BypassFlow>>,
    /// Where a rule reload offers a new engine, taken by each worker between two batches.
    pub swap: Option<Arc<EngineSwap>>,
    /// Heartbeats for the watchdog (and, in tests only, a worker made to hang).
    pub watch: Watch,
}

/// A worker thread's end: the worker, and the outcome of its last EVE write.
#[derive(Debug)]
pub struct Finished<W: RecordSink> {
    /// The worker, with its counters and tables as they ended.
    pub worker: Worker<W>,
    /// The worker's EVE output failed.
    pub eve: std::io::Result<()>,
    /// The CPU the thread was pinned to, if pinning was asked for and worked.
    pub pinned: Option<usize>,
    /// Bypass reports dropped because the channel was full.
    pub bypass_dropped: u64,
}

/// Starts one thread per worker in `scope`; each processes its queue until the dispatcher
/// closes it, then ends every flow (`Worker::finish`) and returns the worker.
pub fn spawn<'scope, W>(
    scope: &'scope Scope<'scope, '_>,
    workers: Vec<Worker<W>>,
    queues: Vec<WorkerQueue>,
    options: &PoolOptions,
) -> std::io::Result<Vec<ScopedJoinHandle<'scope, Finished<W>>>>
where
    W: RecordSink + Send + 'scope,
{
    let mut handles = Vec::with_capacity(workers.len());
    for (index, (worker, queue)) in workers.into_iter().zip(queues).enumerate() {
        let cpu = (!options.cpus.is_empty())
            .then(|| options.cpus.get(index % options.cpus.len()).copied())
            .flatten();
        let health = options.health.clone();
        let bypass = options.bypass.clone();
        let swap = options.swap.clone();
        let watch = options.watch.clone();
        let handle = std::thread::Builder::new()
            .name(format!("tapwatch-w{index}"))
            .spawn_scoped(scope, move || {
                run(index, worker, &queue, cpu, health, bypass, swap, watch)
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

#[allow(
    clippy::too_many_arguments,
    reason = "what one worker thread owns, moved in at its start"
)]
fn run<W: RecordSink>(
    index: usize,
    mut worker: Worker<W>,
    queue: &WorkerQueue,
    cpu: Option<usize>,
    health: Option<Arc<HealthBoard>>,
    bypass: Option<crossbeam_channel::Sender<tapwatch_pipeline::worker::BypassFlow>>,
    swap: Option<Arc<EngineSwap>>,
    watch: Watch,
) -> Finished<W> {
    let mut engine_generation = 0u64;
    let mut bypass_dropped = 0u64;
    worker.sweep_on_ticks_only();
    let pinned = cpu.filter(|&id| core_affinity::set_for_current(core_affinity::CoreId { id }));
    let mut last_publish = Instant::now();
    let started = Instant::now();
    let mut load = WorkerLoad::default();
    for mut batch in queue.batches.iter() {
        // Busy time is measured per batch (two clock reads), never per packet.
        let begun = Instant::now();
        for (number, packet) in batch.iter() {
            worker.process(number, &packet);
        }
        if let Some(now) = batch.tick {
            worker.tick(now);
        }
        if let Some(tx) = &bypass {
            for flow in worker.drain_bypassable() {
                if tx.try_send(flow).is_err() {
                    bypass_dropped += 1;
                }
            }
        }
        let ended = Instant::now();
        load.busy += ended.duration_since(begun);
        load.batches += 1;
        if let Some(board) = &health {
            if ended.duration_since(last_publish) >= PUBLISH_INTERVAL {
                last_publish = ended;
                board.publish_worker(index, &worker, load);
            }
        }
        batch.clear();
        let _ = queue.recycle.try_send(batch);
        if let Some(l) = &watch.liveness {
            l.beat(index);
        }
        if let Some(after) = watch.test_hang_after.filter(|_| index == 0) {
            if started.elapsed() >= after {
                liveness::hang_for_test(index);
            }
        }
        if let Some(swap) = &swap {
            swap.apply(index, &mut engine_generation, &mut worker);
        }
    }
    if let Some(swap) = &swap {
        swap.worker_ended(index);
    }
    let eve = worker.finish();
    if let Some(board) = &health {
        board.publish_worker(index, &worker, load);
    }
    Finished {
        worker,
        eve,
        pinned,
        bypass_dropped,
    }
}

/// The CPUs this process may run on, by id (for checking a configured pinning).
pub fn available_cpus() -> Vec<usize> {
    core_affinity::get_core_ids()
        .map(|ids| ids.into_iter().map(|c| c.id).collect())
        .unwrap_or_default()
}
