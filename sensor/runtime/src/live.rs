//! Live capture: one capture thread per receive queue (per interface for the socket
//! fallback), each receiving batches from its [`Source`], stamping them and handing them to
//! the flow-affine workers through its own [`Dispatcher`] (policy [`Backpressure::Drop`]:
//! capture never waits on a worker; a full worker queue drops the batch, counted); and the
//! control loop on the caller's thread, which applies the bypass policy and ends the capture
//! when asked.
//!
//! **Ticks.** Each capture thread sends every worker a clock tick at least every
//! [`TICK_INTERVAL`] (its latest packet's time, or the wall clock when idle), so the flows of
//! a quiet link time out on time. Packets go to the workers when a receive call drains the
//! ring (fewer packets than asked for) or a worker's batch is full, so a busy link makes big
//! batches and a quiet one low latency.
//!
//! **Packet numbers.** A live packet's `pcap_cnt` is its number on its capture queue, as
//! Suricata numbers packets per capture thread.
//!
//! **No run-to-completion.** Even with one queue and one worker, the capture thread copies
//! the frames into a batch for a worker thread instead of running the worker on the UMEM
//! frames in place: the worker's time per packet (detection) varies by orders of magnitude,
//! and while the capture thread is busy in it the fill ring empties and the kernel drops;
//! one copy of each frame (≈ 0.1 µs for 1500 bytes) buys a 64-batch buffer that absorbs
//! those spikes, and keeps one code path for every number of queues and workers.
//!
//! **Bypass.** Workers report flows they no longer need ([`Worker::report_bypassable`]);
//! the pool forwards them over a bounded channel to the control loop, which inserts them
//! into every XDP program's bypass map (their later packets are dropped in the kernel,
//! counted per flow and by the program) and sweeps idle entries once a second; for socket
//! sources it hands them to the capture threads, which skip the flows' packets before
//! dispatch, counted. The monitored-prefix filter of socket sources is applied in the
//! capture thread too (on the innermost IP layer; the XDP program looks at the outer one).
//!
//! [`Worker::report_bypassable`]: tapwatch_pipeline::worker::Worker::report_bypassable

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use tapwatch_capture::RawPacket;
use tapwatch_common::{LinkType, Timestamp};
use tapwatch_pipeline::config::NetworkPrefix;
use tapwatch_pipeline::worker::BypassFlow;
use tapwatch_wire::Decoded;
use tapwatch_xdp::{Endpoint, FlowKey, XdpCounters};

use crate::board::{QueuePublisher, ServiceBoard};
use crate::capture::{self, KernelCounters, OpenInterface, QueueMode, Source};
use crate::dispatch::Dispatcher;

/// Longest time between two clock ticks of a capture thread.
pub const TICK_INTERVAL: Duration = Duration::from_millis(100);
/// Bypassed flows a socket capture thread tracks at most (the XDP map's capacity).
pub const USER_BYPASS_MAX: usize = tapwatch_xdp::layout::BYPASS_MAX_ENTRIES as usize;
/// Bypass requests waiting for a capture thread (socket fallback) at most.
const USER_BYPASS_QUEUE: usize = 4096;
/// How long a capture thread lets its ring fill after a receive that found few packets.
const COALESCE: Duration = Duration::from_millis(1);
/// How often bypassed flows are swept for idleness.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// What the capture threads are run with.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Packets per receive call.
    pub rx_batch: usize,
    /// Monitored prefixes (applied in userspace for socket sources; XDP sources had them
    /// set in the program when opened).
    pub prefixes: Vec<NetworkPrefix>,
    /// The bypass idle timeout, when bypass is on.
    pub bypass_idle: Option<Duration>,
    /// Where the capture threads and the control loop publish their figures about once a
    /// second while capturing (for the metrics endpoint and the control socket), when set.
    pub board: Option<Arc<ServiceBoard>>,
}

/// One capture queue's figures at the end.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QueueReport {
    /// The interface.
    pub interface: String,
    /// The queue (`None`: the socket fallback, all queues).
    pub queue: Option<u32>,
    /// How it was captured.
    pub mode: QueueMode,
    /// Packets received.
    pub packets: u64,
    /// Bytes received.
    pub bytes: u64,
    /// The kernel's counters (drops by cause).
    pub kernel: KernelCounters,
    /// Packets dropped because their worker's queue was full.
    pub dispatch_drops: u64,
    /// Packets skipped by the userspace monitored-prefix filter (socket fallback).
    pub filtered: u64,
    /// Packets of bypassed flows skipped in userspace (socket fallback).
    pub bypassed_packets: u64,
    /// Userspace bypass requests refused because the capture thread's table was full (the
    /// flow goes on being inspected).
    pub bypass_table_full: u64,
    /// Receive calls that failed, and the last failure.
    pub receive_errors: u64,
    /// The last receive error.
    pub last_error: Option<String>,
}

/// One interface's figures at the end.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InterfaceReport {
    /// The interface.
    pub name: String,
    /// How its queues were captured.
    pub mode: QueueMode,
    /// Better modes refused, and why.
    pub refusals: Vec<String>,
    /// The XDP program's counters, in XDP modes.
    pub xdp: Option<XdpCountersReport>,
}

/// [`XdpCounters`] for reports.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct XdpCountersReport {
    /// Frames the program ran on.
    pub seen: u64,
    /// Redirected to a socket.
    pub redirected: u64,
    /// Dropped as packets of bypassed flows.
    pub bypassed: u64,
    /// Passed to the stack by the monitored-prefix filter.
    pub filtered: u64,
    /// Passed to the stack: no socket for their queue.
    pub passed: u64,
}

impl From<XdpCounters> for XdpCountersReport {
    fn from(c: XdpCounters) -> Self {
        Self {
            seen: c.seen,
            redirected: c.redirected,
            bypassed: c.bypassed,
            filtered: c.filtered,
            passed: c.passed,
        }
    }
}

/// The bypass policy's figures.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct BypassReport {
    /// Whether bypass was on.
    pub enabled: bool,
    /// Whether it was applied in userspace (socket fallback) on some interface.
    pub userspace: bool,
    /// Flows the workers reported bypassable.
    pub flows_reported: u64,
    /// Flows inserted into a kernel bypass map (summed over interfaces) or a capture
    /// thread's userspace table.
    pub flows_bypassed: u64,
    /// Insertions refused (map full, or a capture thread's request queue full).
    pub insert_failures: u64,
    /// Bypassed flows forgotten after being idle.
    pub flows_expired: u64,
    /// Packets of bypassed flows dropped in the kernel, as counted per flow (flows removed
    /// by sweeps and at the end).
    pub kernel_packets: u64,
    /// Their bytes.
    pub kernel_bytes: u64,
}

/// Everything a live capture reports at its end.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LiveReport {
    /// Per capture queue.
    pub queues: Vec<QueueReport>,
    /// Per interface.
    pub interfaces: Vec<InterfaceReport>,
    /// The bypass policy.
    pub bypass: BypassReport,
    /// Bypass reports the workers could not hand over (channel full), summed.
    pub bypass_reports_dropped: u64,
}

impl LiveReport {
    /// Packets lost in the kernel, all queues.
    pub fn kernel_drops(&self) -> u64 {
        self.queues.iter().map(|q| q.kernel.drops()).sum()
    }

    /// Packets dropped at a full worker queue, all queues.
    pub fn dispatch_drops(&self) -> u64 {
        self.queues.iter().map(|q| q.dispatch_drops).sum()
    }
}

/// How many capture threads `interfaces` need (one per source): the number of
/// dispatchers to make.
pub fn source_count(interfaces: &[OpenInterface]) -> usize {
    interfaces.iter().map(|i| i.sources.len()).sum()
}

/// Runs the capture until `stop` is set: starts one capture thread per source (each with
/// one of `dispatchers`, in order), then runs the control loop on this thread. When `stop`
/// is set (or every capture thread ended), the threads drain their rings, close their
/// dispatchers (so the workers finish their queues and end) and are joined. `started` is
/// called once every thread runs.
pub fn run(
    mut interfaces: Vec<OpenInterface>,
    dispatchers: Vec<Dispatcher>,
    settings: &LiveSettings,
    bypass_flows: Option<Receiver<BypassFlow>>,
    stop: &AtomicBool,
    started: impl FnOnce(&[OpenInterface]),
) -> std::io::Result<LiveReport> {
    let halt = AtomicBool::new(false);
    let mut report = LiveReport::default();
    report.bypass.enabled = settings.bypass_idle.is_some();
    let mut bypass = bypass_flows.filter(|_| settings.bypass_idle.is_some());
    let queues = std::thread::scope(|scope| -> std::io::Result<Vec<QueueReport>> {
        let mut handles = Vec::new();
        let mut user_bypass: Vec<Sender<FlowKey>> = Vec::new();
        let mut dispatchers = dispatchers.into_iter();
        for iface in interfaces.iter_mut() {
            let name = iface.name.clone();
            let mode = iface.mode;
            for (queue, source) in iface.sources.drain(..) {
                let Some(dispatcher) = dispatchers.next() else {
                    break;
                };
                let keys = match (mode.is_xdp(), &bypass) {
                    (false, Some(_)) => {
                        let (tx, rx) = crossbeam_channel::bounded(USER_BYPASS_QUEUE);
                        user_bypass.push(tx);
                        report.bypass.userspace = true;
                        Some(rx)
                    }
                    _ => None,
                };
                let thread = CaptureThread {
                    interface: name.clone(),
                    queue,
                    mode,
                    settings: settings.clone(),
                    user_filter: !mode.is_xdp() && !settings.prefixes.is_empty(),
                    keys,
                };
                let halt = &halt;
                let label = match queue {
                    Some(q) => format!("tw-cap-{name}-{q}"),
                    None => format!("tw-cap-{name}"),
                };
                let handle = std::thread::Builder::new()
                    .name(label.chars().take(15).collect())
                    .spawn_scoped(scope, move || thread.run(source, dispatcher, halt))?;
                handles.push(handle);
            }
        }
        started(&interfaces);
        let mut last_sweep = Instant::now();
        let mut last_publish: Option<Instant> = None;
        loop {
            if let Some(board) = &settings.board {
                if last_publish.is_none_or(|t| t.elapsed() >= crate::board::PUBLISH_INTERVAL) {
                    last_publish = Some(Instant::now());
                    board.publish_interfaces(interface_reports(&interfaces));
                    board.publish_bypass(&report.bypass);
                }
            }
            let stopping = stop.load(Ordering::Acquire)
                || handles
                    .iter()
                    .all(std::thread::ScopedJoinHandle::is_finished);
            match &bypass {
                Some(rx) => {
                    match rx.recv_timeout(TICK_INTERVAL) {
                        Ok(flow) => apply_bypass(&flow, &mut interfaces, &user_bypass, &mut report),
                        Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                        // Every worker ended: nothing more to bypass.
                        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => bypass = None,
                    }
                    if let Some(rx) = &bypass {
                        for flow in rx.try_iter() {
                            apply_bypass(&flow, &mut interfaces, &user_bypass, &mut report);
                        }
                    }
                }
                None => std::thread::sleep(TICK_INTERVAL),
            }
            if let Some(idle) = settings.bypass_idle {
                if last_sweep.elapsed() >= SWEEP_INTERVAL {
                    last_sweep = Instant::now();
                    sweep(&mut interfaces, idle, &mut report.bypass);
                }
            }
            if stopping {
                break;
            }
        }
        halt.store(true, Ordering::Release);
        let mut queues = Vec::with_capacity(handles.len());
        for h in handles {
            match h.join() {
                Ok(q) => queues.push(q),
                Err(_) => {
                    return Err(std::io::Error::other("a capture thread panicked"));
                }
            }
        }
        Ok(queues)
    })?;
    report.queues = queues;
    if report.bypass.enabled {
        // Every remaining entry's counts, for the report (the programs go away next).
        sweep(&mut interfaces, Duration::ZERO, &mut report.bypass);
    }
    report.interfaces = interface_reports(&interfaces);
    if let Some(board) = &settings.board {
        board.publish_interfaces(report.interfaces.clone());
        board.publish_bypass(&report.bypass);
    }
    Ok(report)
}

/// The interfaces' figures now (reads each XDP program's counters: a map lookup per CPU).
fn interface_reports(interfaces: &[OpenInterface]) -> Vec<InterfaceReport> {
    interfaces
        .iter()
        .map(|iface| InterfaceReport {
            name: iface.name.clone(),
            mode: iface.mode,
            refusals: iface.refusals.clone(),
            xdp: iface.xdp_counters().map(XdpCountersReport::from),
        })
        .collect()
}

/// The kernel bypass key of a flow reported by a worker.
pub fn bypass_key(flow: &BypassFlow) -> FlowKey {
    FlowKey::new(
        flow.vlan,
        flow.protocol,
        Endpoint::new(flow.client.0, flow.client.1),
        Endpoint::new(flow.server.0, flow.server.1),
    )
    .0
}

fn apply_bypass(
    flow: &BypassFlow,
    interfaces: &mut [OpenInterface],
    user: &[Sender<FlowKey>],
    report: &mut LiveReport,
) {
    report.bypass.flows_reported += 1;
    let key = bypass_key(flow);
    for program in interfaces.iter_mut().filter_map(|i| i.program.as_mut()) {
        match program.bypass_insert(&key) {
            Ok(true) => report.bypass.flows_bypassed += 1,
            Ok(false) => {}
            Err(_) => report.bypass.insert_failures += 1,
        }
    }
    for tx in user {
        match tx.try_send(key) {
            Ok(()) => report.bypass.flows_bypassed += 1,
            Err(_) => report.bypass.insert_failures += 1,
        }
    }
}

fn sweep(interfaces: &mut [OpenInterface], idle: Duration, report: &mut BypassReport) {
    for program in interfaces.iter_mut().filter_map(|i| i.program.as_mut()) {
        let mut packets = 0u64;
        let mut bytes = 0u64;
        let swept = program.bypass_sweep_with(idle, |_, v| {
            packets += v.packets.iter().sum::<u64>();
            bytes += v.bytes.iter().sum::<u64>();
        });
        if let Ok(n) = swept {
            if !idle.is_zero() {
                report.flows_expired += n as u64;
            }
        }
        report.kernel_packets += packets;
        report.kernel_bytes += bytes;
    }
}

/// One capture thread's settings and state.
struct CaptureThread {
    interface: String,
    queue: Option<u32>,
    mode: QueueMode,
    settings: LiveSettings,
    /// Apply the monitored-prefix filter here (socket fallback with prefixes).
    user_filter: bool,
    /// Bypass keys from the control loop (socket fallback with bypass on).
    keys: Option<Receiver<FlowKey>>,
}

impl CaptureThread {
    fn run(self, mut source: Source, mut d: Dispatcher, halt: &AtomicBool) -> QueueReport {
        let mut r = QueueReport {
            interface: self.interface.clone(),
            queue: self.queue,
            mode: self.mode,
            packets: 0,
            bytes: 0,
            kernel: KernelCounters::default(),
            dispatch_drops: 0,
            filtered: 0,
            bypassed_packets: 0,
            bypass_table_full: 0,
            receive_errors: 0,
            last_error: None,
        };
        let mut publisher = self
            .settings
            .board
            .clone()
            .map(|board| QueuePublisher::new(board, &r));
        let max = self.settings.rx_batch.max(1);
        let mut number = 0u64;
        let mut bypassed: HashMap<FlowKey, Timestamp> = HashMap::new();
        let mut last_tick = Instant::now();
        let mut last_sweep = Instant::now();
        let mut gone = false;
        loop {
            let halting = halt.load(Ordering::Acquire);
            if let Some(keys) = &self.keys {
                let now = capture::now();
                for key in keys.try_iter() {
                    if bypassed.len() < USER_BYPASS_MAX || bypassed.contains_key(&key) {
                        bypassed.insert(key, now);
                    } else {
                        r.bypass_table_full += 1;
                    }
                }
            }
            let timeout = if halting {
                Duration::from_millis(10)
            } else {
                TICK_INTERVAL
            };
            let inspect_here = self.user_filter || !bypassed.is_empty();
            let received = source.receive(max, timeout, |p| {
                r.packets += 1;
                r.bytes += p.data.len() as u64;
                number += 1;
                let raw = RawPacket {
                    ts: p.ts,
                    link: LinkType::Ethernet,
                    data: p.data,
                    orig_len: p.orig_len,
                    interface: 0,
                };
                let sent = if inspect_here {
                    let mut decoded = Decoded::default();
                    tapwatch_wire::decode_into(&mut decoded, raw.link, raw.data);
                    if self.user_filter && !monitored(&decoded, &self.settings.prefixes) {
                        r.filtered += 1;
                        return;
                    }
                    if let Some(seen) = user_key(&decoded).and_then(|k| bypassed.get_mut(&k)) {
                        *seen = p.ts;
                        r.bypassed_packets += 1;
                        return;
                    }
                    d.push_decoded(number, &raw, &decoded)
                } else {
                    d.push(number, &raw)
                };
                gone |= sent.is_err();
            });
            let n = match received {
                Ok(n) => n,
                Err(e) => {
                    r.receive_errors += 1;
                    r.last_error = Some(e.to_string());
                    // Do not spin on a persistent error.
                    std::thread::sleep(TICK_INTERVAL);
                    0
                }
            };
            if n < max && d.has_pending() {
                gone |= d.flush_pending().is_err();
            }
            if last_tick.elapsed() >= TICK_INTERVAL {
                last_tick = Instant::now();
                d.advance_clock(capture::now());
                gone |= d.flush().is_err();
            }
            if let Some(p) = publisher.as_mut() {
                if p.due() {
                    r.kernel = source.kernel_counters();
                    r.dispatch_drops = d.dropped().iter().sum();
                    p.publish(&r);
                }
            }
            if let Some(idle) = self.settings.bypass_idle.filter(|_| !bypassed.is_empty()) {
                if last_sweep.elapsed() >= SWEEP_INTERVAL {
                    last_sweep = Instant::now();
                    let now = capture::now();
                    bypassed.retain(|_, seen| now.saturating_since(*seen) < idle);
                }
            }
            if gone || (halting && n == 0) {
                break;
            }
            // Userspace interrupt coalescing: a receive that found only a few packets woke
            // for them; waiting a moment lets the ring gather a batch, so a moderate rate
            // costs a few thousand wake-ups (of this thread and the worker) per second
            // instead of one per packet. The rx ring (2,048 frames by default) holds more
            // than a millisecond of traffic up to 2 Mpps; a busy link fills every receive
            // and never waits here.
            if n > 0 && n < max / 2 && !halting {
                std::thread::sleep(COALESCE);
            }
        }
        r.kernel = source.kernel_counters();
        r.dispatch_drops = d.dropped().iter().sum();
        let _ = d.close();
        if let Some(p) = &publisher {
            p.publish(&r);
        }
        r
    }
}

/// Whether a packet touches a monitored prefix (non-IP frames do not).
fn monitored(decoded: &Decoded<'_>, prefixes: &[NetworkPrefix]) -> bool {
    decoded.ip.as_ref().is_some_and(|ip| {
        prefixes
            .iter()
            .any(|p| p.contains(ip.src) || p.contains(ip.dst))
    })
}

/// The bypass key of a decoded packet, as the XDP program would make it.
fn user_key(decoded: &Decoded<'_>) -> Option<FlowKey> {
    let ip = decoded.ip.as_ref()?;
    let vlan = decoded.vlan.ids();
    let vlan = [
        vlan.first().copied().unwrap_or(0),
        vlan.get(1).copied().unwrap_or(0),
    ];
    let (sp, dp) = if ip.fragment.is_some() {
        (0, 0)
    } else {
        decoded.transport.ports().unwrap_or((0, 0))
    };
    Some(
        FlowKey::new(
            vlan,
            ip.protocol,
            Endpoint::new(ip.src, sp),
            Endpoint::new(ip.dst, dp),
        )
        .0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_flow_and_its_packets_share_one_key() {
        let flow = BypassFlow {
            client: ("10.0.0.1".parse().unwrap(), 40000),
            server: ("192.0.2.7".parse().unwrap(), 443),
            protocol: 6,
            vlan: [0, 0],
        };
        // A server-to-client TCP packet of the flow.
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[192, 0, 2, 7, 10, 0, 0, 1]);
        f.extend_from_slice(&443u16.to_be_bytes());
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff, 0, 0, 0, 0]);
        let mut decoded = Decoded::default();
        tapwatch_wire::decode_into(&mut decoded, LinkType::Ethernet, &f);
        assert_eq!(user_key(&decoded), Some(bypass_key(&flow)));
        let inside: NetworkPrefix = "10.0.0.0/8".parse().unwrap();
        let outside: NetworkPrefix = "172.16.0.0/12".parse().unwrap();
        assert!(monitored(&decoded, &[outside, inside]));
        assert!(!monitored(&decoded, &[outside]));
    }
}
