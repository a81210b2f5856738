//! Live packet sources: an AF_XDP socket behind tapwatch's XDP program, or an AF_PACKET
//! socket (TPACKET_V3 through libpcap) when XDP cannot be used, and the ladder that picks
//! the best one an interface accepts.
//!
//! A source hands each receive call's packets to a closure, stamped, in arrival order; the
//! frames are lent for the call (AF_XDP: UMEM frames that go back to the fill ring when the
//! call returns; libpcap: its ring's block).

use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tapwatch_common::Timestamp;
use tapwatch_pipeline::config::{CaptureMode, CaptureSection, Queues};
use tapwatch_xdp::xsk::{BindMode, BusyPoll, XskConfig, XskSocket};
use tapwatch_xdp::{LadderStep, Refusal, XdpCounters, XdpMode, XdpProgram};

/// How one queue is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueMode {
    /// AF_XDP zero-copy, program in driver mode.
    XdpDriverZeroCopy,
    /// AF_XDP copy mode, program in driver mode.
    XdpDriverCopy,
    /// AF_XDP copy mode, program in generic (SKB) mode.
    XdpSkb,
    /// AF_PACKET socket (libpcap, TPACKET_V3), no XDP program.
    Socket,
}

impl QueueMode {
    /// Name for logs and summaries.
    pub fn name(self) -> &'static str {
        match self {
            QueueMode::XdpDriverZeroCopy => "xdp-driver-zero-copy",
            QueueMode::XdpDriverCopy => "xdp-driver-copy",
            QueueMode::XdpSkb => "xdp-skb",
            QueueMode::Socket => "socket",
        }
    }

    /// Whether an XDP program does the filtering and bypass in the kernel.
    pub fn is_xdp(self) -> bool {
        self != QueueMode::Socket
    }
}

/// Why live capture could not start.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No interface to capture from.
    #[error("no interface to capture from: give --interface or [capture] interfaces")]
    NoInterface,
    /// The interface's receive queues could not be counted.
    #[error("{iface}: cannot count its receive queues in /sys/class/net/{iface}/queues: {source}")]
    Queues {
        /// The interface.
        iface: String,
        /// The error.
        source: std::io::Error,
    },
    /// The `[capture]` AF_XDP settings are invalid.
    #[error("[capture]: {0}")]
    Config(#[from] tapwatch_xdp::ConfigError),
    /// The requested mode (or, with `auto`, every mode) was refused.
    #[error("{iface}: cannot capture in mode {mode}: {reasons}")]
    Refused {
        /// The interface.
        iface: String,
        /// The mode asked for.
        mode: &'static str,
        /// Every refusal, in the order tried.
        reasons: String,
    },
    /// The XDP program's maps could not be set up.
    #[error("{iface}: {source}")]
    Xdp {
        /// The interface.
        iface: String,
        /// The error.
        source: tapwatch_xdp::XdpError,
    },
}

/// The AF_XDP socket settings of `[capture]`.
pub fn xsk_config(c: &CaptureSection) -> XskConfig {
    XskConfig {
        frame_size: c.umem_frame_size,
        frame_count: c.umem_frame_count,
        fill_ring_size: c.fill_ring_size,
        completion_ring_size: XskConfig::default().completion_ring_size,
        rx_ring_size: c.rx_ring_size,
        max_packet_size: c.max_packet_bytes,
        busy_poll: (c.busy_poll_usecs > 0).then_some(BusyPoll {
            usecs: c.busy_poll_usecs,
            budget: c.busy_poll_budget,
        }),
    }
}

/// A receive source of one queue (or, for the socket, of one interface).
pub enum Source {
    /// An AF_XDP socket, registered with its interface's program.
    Xsk(Box<XskSocket>),
    /// An AF_PACKET socket through libpcap, non-blocking.
    Socket(Box<pcap::Capture<pcap::Active>>),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Xsk(s) => f.debug_tuple("Xsk").field(s).finish(),
            Source::Socket(_) => f.write_str("Socket"),
        }
    }
}

/// A packet as a source lends it: its bytes, its receive time, its length on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The frame from the Ethernet header on.
    pub data: &'a [u8],
    /// Receive time.
    pub ts: Timestamp,
    /// Length on the wire (more than `data.len()` when cut by the snapshot length).
    pub orig_len: u32,
}

/// Kernel-side counters of a source, as read now (cumulative since it was opened).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KernelCounters {
    /// AF_XDP `rx_dropped`: dropped by the kernel (e.g. no UMEM frame in copy mode).
    pub rx_dropped: u64,
    /// AF_XDP `rx_ring_full`: dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// AF_XDP `rx_fill_ring_empty_descs`: times the kernel found the fill ring empty.
    pub fill_ring_empty: u64,
    /// AF_XDP `rx_invalid_descs`: invalid descriptors in the fill ring.
    pub invalid_descs: u64,
    /// AF_XDP: packets longer than `max_packet_bytes`, dropped by the socket.
    pub oversize: u64,
    /// libpcap `ps_drop`: dropped because the socket's ring was full.
    pub socket_drops: u64,
    /// libpcap `ps_ifdrop`: dropped by the interface or its driver.
    pub interface_drops: u64,
}

impl KernelCounters {
    /// Packets lost before tapwatch could read them.
    pub fn drops(&self) -> u64 {
        self.rx_dropped
            + self.rx_ring_full
            + self.invalid_descs
            + self.oversize
            + self.socket_drops
            + self.interface_drops
    }
}

/// A source's receive call failed.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    /// The AF_XDP socket.
    #[error(transparent)]
    Xsk(#[from] tapwatch_xdp::XskError),
    /// libpcap.
    #[error("{0}")]
    Pcap(#[from] pcap::Error),
    /// Waiting for the socket.
    #[error(transparent)]
    Poll(#[from] tapwatch_xdp::SysError),
}

fn stamp(t: SystemTime) -> Timestamp {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    Timestamp::new(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
}

/// The wall clock as a capture timestamp.
pub fn now() -> Timestamp {
    stamp(SystemTime::now())
}

impl Source {
    /// Receives up to `max` packets, waiting at most `timeout` when none is there (sleeping,
    /// not spinning), and calls `each` with every packet in arrival order. Returns how many.
    pub fn receive(
        &mut self,
        max: usize,
        timeout: Duration,
        mut each: impl FnMut(Received<'_>),
    ) -> Result<usize, ReceiveError> {
        match self {
            Source::Xsk(socket) => {
                let batch = socket.rx_batch(max, timeout)?;
                let ts = stamp(batch.timestamp());
                let mut n = 0;
                for data in batch.iter() {
                    n += 1;
                    each(Received {
                        data,
                        ts,
                        orig_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
                    });
                }
                Ok(n)
            }
            Source::Socket(cap) => {
                let mut n = 0;
                let mut waited = false;
                while n < max {
                    match cap.next_packet() {
                        Ok(p) => {
                            n += 1;
                            let ts = Timestamp::new(
                                p.header.ts.tv_sec,
                                u32::try_from(p.header.ts.tv_usec)
                                    .unwrap_or(0)
                                    .saturating_mul(1000),
                            );
                            each(Received {
                                data: p.data,
                                ts,
                                orig_len: p.header.len,
                            });
                        }
                        Err(pcap::Error::TimeoutExpired) => {
                            if n > 0 || waited || timeout.is_zero() {
                                break;
                            }
                            waited = true;
                            tapwatch_xdp::wait_readable(cap.as_raw_fd(), timeout)?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                Ok(n)
            }
        }
    }

    /// The kernel's counters for this source now.
    pub fn kernel_counters(&mut self) -> KernelCounters {
        match self {
            Source::Xsk(socket) => {
                let s = socket.statistics().unwrap_or_default();
                KernelCounters {
                    rx_dropped: s.rx_dropped,
                    rx_ring_full: s.rx_ring_full,
                    fill_ring_empty: s.rx_fill_ring_empty_descs,
                    invalid_descs: s.rx_invalid_descs,
                    oversize: socket.counters().oversize,
                    ..KernelCounters::default()
                }
            }
            Source::Socket(cap) => match cap.stats() {
                Ok(s) => KernelCounters {
                    socket_drops: u64::from(s.dropped),
                    interface_drops: u64::from(s.if_dropped),
                    ..KernelCounters::default()
                },
                Err(_) => KernelCounters::default(),
            },
        }
    }
}

/// One interface opened for capture: its program (XDP modes) and its queues' sources.
#[derive(Debug)]
pub struct OpenInterface {
    /// The interface's name.
    pub name: String,
    /// The XDP program, in the XDP modes (detached when dropped).
    pub program: Option<XdpProgram>,
    /// How the interface's queues are captured.
    pub mode: QueueMode,
    /// Better modes that were refused, and why.
    pub refusals: Vec<String>,
    /// One source per queue (the queue number; `None` for the socket, which takes all).
    pub sources: Vec<(Option<u32>, Source)>,
}

impl OpenInterface {
    /// The XDP program's counters, when there is a program.
    pub fn xdp_counters(&self) -> Option<XdpCounters> {
        self.program.as_ref().and_then(|p| p.counters().ok())
    }
}

/// The receive queues of `iface` (`/sys/class/net/IFACE/queues/rx-*`).
pub fn rx_queue_count(iface: &str) -> Result<u32, std::io::Error> {
    let dir = std::path::Path::new("/sys/class/net")
        .join(iface)
        .join("queues");
    let mut n = 0u32;
    for entry in std::fs::read_dir(dir)? {
        if entry?.file_name().to_string_lossy().starts_with("rx-") {
            n += 1;
        }
    }
    Ok(n.max(1))
}

fn refusal_text(r: &Refusal) -> String {
    let step = match r.step {
        LadderStep::DriverAttach => "driver-mode attach",
        LadderStep::DriverZeroCopyBind => "zero-copy bind",
        LadderStep::DriverCopyBind => "copy bind (driver mode)",
        LadderStep::SkbAttach => "generic-mode attach",
        LadderStep::SkbCopyBind => "copy bind (generic mode)",
    };
    match r.queue {
        Some(q) => format!("{step}, queue {q}: {}", r.reason),
        None => format!("{step}: {}", r.reason),
    }
}

/// Opens `iface` for capture in `mode` (the ladder for `auto`), with `section`'s settings.
pub fn open_interface(
    iface: &str,
    mode: CaptureMode,
    section: &CaptureSection,
) -> Result<OpenInterface, CaptureError> {
    let xsk = xsk_config(section);
    if mode != CaptureMode::Socket {
        xsk.validate()?;
    }
    let queues: Vec<u32> = match section.queues {
        Queues::All => {
            let n = rx_queue_count(iface).map_err(|source| CaptureError::Queues {
                iface: iface.to_owned(),
                source,
            })?;
            (0..n).collect()
        }
        Queues::First(n) => (0..n.get()).collect(),
    };
    let mut refusals = Vec::new();
    let refused = |refusals: &[String]| CaptureError::Refused {
        iface: iface.to_owned(),
        mode: mode.name(),
        reasons: refusals.join("; "),
    };
    let xdp = match mode {
        CaptureMode::Socket => None,
        CaptureMode::Auto => match tapwatch_xdp::open_capture(iface, &queues, &xsk) {
            Ok(c) => {
                refusals.extend(c.report.refusals.iter().map(refusal_text));
                let mode = match (c.report.xdp_mode, c.report.bind_mode) {
                    (XdpMode::Driver, BindMode::ZeroCopy) => QueueMode::XdpDriverZeroCopy,
                    (XdpMode::Driver, BindMode::Copy) => QueueMode::XdpDriverCopy,
                    (XdpMode::Skb, _) => QueueMode::XdpSkb,
                };
                Some((c.program, c.sockets, mode))
            }
            Err(tapwatch_xdp::CaptureError::Refused { refusals: r }) => {
                refusals.extend(r.iter().map(refusal_text));
                None
            }
            Err(e) => {
                refusals.push(e.to_string());
                None
            }
        },
        CaptureMode::XdpZc | CaptureMode::XdpDrv | CaptureMode::XdpSkb => {
            match exact_xdp(iface, mode, &queues, &xsk) {
                Ok(x) => Some(x),
                Err(reason) => {
                    refusals.push(reason);
                    return Err(refused(&refusals));
                }
            }
        }
    };
    if let Some((mut program, sockets, qmode)) = xdp {
        let prefixes: Vec<tapwatch_xdp::Prefix> = section
            .monitored_prefixes
            .iter()
            .filter_map(|p| tapwatch_xdp::Prefix::new(p.addr, p.len))
            .collect();
        program
            .set_monitored_prefixes(&prefixes)
            .map_err(|source| CaptureError::Xdp {
                iface: iface.to_owned(),
                source,
            })?;
        return Ok(OpenInterface {
            name: iface.to_owned(),
            program: Some(program),
            mode: qmode,
            refusals,
            sources: queues
                .iter()
                .copied()
                .map(Some)
                .zip(sockets.into_iter().map(|s| Source::Xsk(Box::new(s))))
                .collect(),
        });
    }
    match open_socket(iface, section) {
        Ok(cap) => Ok(OpenInterface {
            name: iface.to_owned(),
            program: None,
            mode: QueueMode::Socket,
            refusals,
            sources: vec![(None, Source::Socket(Box::new(cap)))],
        }),
        Err(e) => {
            refusals.push(format!("AF_PACKET socket: {e}"));
            Err(refused(&refusals))
        }
    }
}

type XdpOpened = (XdpProgram, Vec<XskSocket>, QueueMode);

/// One exact XDP mode, no fallback; the error is the refusal's text.
fn exact_xdp(
    iface: &str,
    mode: CaptureMode,
    queues: &[u32],
    xsk: &XskConfig,
) -> Result<XdpOpened, String> {
    let (xdp_mode, binds): (XdpMode, &[BindMode]) = match mode {
        CaptureMode::XdpZc => (XdpMode::Driver, &[BindMode::ZeroCopy]),
        CaptureMode::XdpDrv => (XdpMode::Driver, &[BindMode::ZeroCopy, BindMode::Copy]),
        _ => (XdpMode::Skb, &[BindMode::Copy]),
    };
    let mut program = XdpProgram::load(iface, xdp_mode).map_err(|e| error_chain(&e))?;
    let ifindex = tapwatch_xdp::ifindex(iface).map_err(|e| error_chain(&e))?;
    let mut sockets = Vec::with_capacity(queues.len());
    for &queue in queues {
        let mut last = String::new();
        let mut bound = None;
        for &b in binds {
            match XskSocket::try_bind(ifindex, queue, xsk, b) {
                Ok(Ok(s)) => {
                    bound = Some(s);
                    break;
                }
                Ok(Err(refused)) => last = format!("{b:?} bind, queue {queue}: {refused}"),
                Err(e) => return Err(error_chain(&e)),
            }
        }
        let socket = bound.ok_or(last)?;
        program
            .register_socket(queue, &socket)
            .map_err(|e| error_chain(&e))?;
        sockets.push(socket);
    }
    let qmode = match xdp_mode {
        XdpMode::Skb => QueueMode::XdpSkb,
        XdpMode::Driver if sockets.iter().all(|s| s.mode() == BindMode::ZeroCopy) => {
            QueueMode::XdpDriverZeroCopy
        }
        XdpMode::Driver => QueueMode::XdpDriverCopy,
    };
    Ok((program, sockets, qmode))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// The AF_PACKET fallback: libpcap on `iface`, promiscuous, inbound packets only (as an
/// AF_XDP socket sees them), non-blocking (a blocking read can hang once traffic stops).
fn open_socket(
    iface: &str,
    section: &CaptureSection,
) -> Result<pcap::Capture<pcap::Active>, pcap::Error> {
    let cap = pcap::Capture::from_device(iface)?
        .promisc(true)
        .snaplen(i32::try_from(section.max_packet_bytes).unwrap_or(65535))
        .buffer_size(i32::try_from(section.socket_buffer_bytes.get()).unwrap_or(i32::MAX))
        .timeout(50)
        .open()?;
    cap.direction(pcap::Direction::In)?;
    if cap.get_datalink() != pcap::Linktype::ETHERNET {
        return Err(pcap::Error::PcapError(format!(
            "link type {:?} is not Ethernet",
            cap.get_datalink()
        )));
    }
    cap.setnonblock()
}
