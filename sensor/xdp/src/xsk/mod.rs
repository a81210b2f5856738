//! An AF_XDP socket for receiving: UMEM, fill and rx rings, a bind ladder (zero-copy, then
//! copy), batched receive of lent frames, multi-buffer joining, statistics.
//!
//! The system calls and shared memory live in the private `sys` module; this module is safe
//! code on top.
//!
//! ```no_run
//! use std::time::Duration;
//! use tapwatch_xdp::{XdpMode, XdpProgram, xsk::{XskConfig, XskSocket}};
//!
//! let mut program = XdpProgram::load("eth1", XdpMode::Driver)?;
//! let (mut socket, report) = XskSocket::bind("eth1", 0, &XskConfig::default())?;
//! program.register_socket(0, &socket)?;
//! println!("bound in {:?} mode", report.mode);
//! loop {
//!     let batch = socket.rx_batch(64, Duration::from_millis(100))?;
//!     for frame in batch.iter() {
//!         let _ = frame.len(); // decode here; the frame goes back to the kernel with the batch
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;
mod config;
mod receive;
mod stats;

use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, SystemTime};

pub use batch::{Batch, Frames};
pub use config::{BusyPoll, XskConfig, MAX_RING_SIZE, MAX_UMEM_BYTES, MIN_RING_SIZE};
pub use stats::{SocketCounters, XskStatistics};

use crate::error::{SysError, XskError};
use crate::sys::{self, Frame, RawXsk, RingSizes, Umem};
use receive::Receiver;

/// How the socket is bound to its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindMode {
    /// `XDP_ZEROCOPY`: the driver receives straight into the UMEM.
    ZeroCopy,
    /// `XDP_COPY`: the kernel copies each packet into the UMEM (always available).
    Copy,
}

/// What [`XskSocket::bind`] obtained, and why the better mode was refused.
#[derive(Debug)]
pub struct BindReport {
    /// The mode in use.
    pub mode: BindMode,
    /// Why zero-copy was refused (`EOPNOTSUPP` on veth and drivers without AF_XDP support),
    /// when it was.
    pub zerocopy_refused: Option<SysError>,
}

/// A bound AF_XDP socket receiving from one queue of one interface.
///
/// Owns its UMEM and rings; `Send`, not `Sync`: one receive thread owns it. The XDP program
/// must redirect to it: register it with
/// [`XdpProgram::register_socket`](crate::XdpProgram::register_socket). If the socket is
/// dropped, the kernel removes it from the program's socket map and packets of its queue go to
/// the stack (counted `passed`).
#[derive(Debug)]
pub struct XskSocket {
    raw: RawXsk,
    free: Vec<Frame>,
    rx: Receiver,
    counters: SocketCounters,
    ifindex: u32,
    queue: u32,
    mode: BindMode,
}

impl XskSocket {
    /// Binds to `queue` of `iface` (looked up in this thread's network namespace), trying
    /// zero-copy first, then copy mode.
    pub fn bind(
        iface: &str,
        queue: u32,
        config: &XskConfig,
    ) -> Result<(Self, BindReport), XskError> {
        let ifindex = sys::ifindex(iface).map_err(|source| XskError::Interface {
            name: iface.to_owned(),
            source,
        })?;
        let zerocopy = match Self::try_bind(ifindex, queue, config, BindMode::ZeroCopy)? {
            Ok(socket) => {
                let report = BindReport {
                    mode: socket.mode,
                    zerocopy_refused: None,
                };
                return Ok((socket, report));
            }
            Err(refused) => refused,
        };
        match Self::try_bind(ifindex, queue, config, BindMode::Copy)? {
            Ok(socket) => {
                let report = BindReport {
                    mode: socket.mode,
                    zerocopy_refused: Some(zerocopy),
                };
                Ok((socket, report))
            }
            Err(copy) => Err(XskError::Bind {
                ifindex,
                queue,
                zerocopy,
                copy,
            }),
        }
    }

    /// Binds in exactly `mode`: the outer error is a failure before `bind` (configuration,
    /// memory, rings), the inner one the kernel's refusal of the bind itself.
    pub fn try_bind(
        ifindex: u32,
        queue: u32,
        config: &XskConfig,
        mode: BindMode,
    ) -> Result<Result<Self, SysError>, XskError> {
        config.validate()?;
        let (umem, free) = Umem::new(config.frame_size, config.frame_count)?;
        let sizes = RingSizes {
            fill: config.fill_ring_size,
            completion: config.completion_ring_size,
            rx: config.rx_ring_size,
        };
        let raw = RawXsk::open(umem, sizes)?;
        let flags = libc::XDP_USE_NEED_WAKEUP
            | libc::XDP_USE_SG
            | match mode {
                BindMode::ZeroCopy => libc::XDP_ZEROCOPY,
                BindMode::Copy => libc::XDP_COPY,
            };
        if let Err(refused) = raw.bind(ifindex, queue, flags) {
            return Ok(Err(refused));
        }
        let mode = if raw.zerocopy()? {
            BindMode::ZeroCopy
        } else {
            BindMode::Copy
        };
        if let Some(bp) = config.busy_poll {
            raw.set_busy_poll(bp.usecs, bp.budget)?;
        }
        let mut socket = Self {
            raw,
            free,
            rx: Receiver::new(config),
            counters: SocketCounters::default(),
            ifindex,
            queue,
            mode,
        };
        socket.refill()?;
        Ok(Ok(socket))
    }

    /// The bind mode in use.
    pub fn mode(&self) -> BindMode {
        self.mode
    }

    /// The interface index bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The queue bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// The socket's own counters (packets delivered, joined, dropped as oversize, ...).
    pub fn counters(&self) -> SocketCounters {
        self.counters
    }

    /// The kernel's counters for this socket (`getsockopt(XDP_STATISTICS)`).
    pub fn statistics(&self) -> Result<XskStatistics, XskError> {
        Ok(self.raw.statistics()?.into())
    }

    /// Receives up to `max` packets (at least 1). When none is waiting, sleeps in `poll` for
    /// at most `timeout` (no spinning when idle; zero means do not wait) and returns what came
    /// meanwhile, possibly nothing.
    ///
    /// The frames are lent: they go back to the fill ring when the batch is dropped.
    pub fn rx_batch(&mut self, max: usize, timeout: Duration) -> Result<Batch<'_>, XskError> {
        if !self.rx.is_empty() {
            self.end_batch(); // a batch leaked with `mem::forget`: take its frames back
        }
        let max = max.max(1);
        self.refill()?;
        self.receive(max);
        if self.rx.is_empty() && !timeout.is_zero() {
            let ms = i32::try_from(timeout.as_millis())
                .unwrap_or(i32::MAX)
                .max(1);
            if self.raw.poll(ms)? {
                self.receive(max);
            }
        }
        Ok(Batch::new(self, SystemTime::now()))
    }

    fn receive(&mut self, max: usize) {
        self.rx
            .receive(&mut self.raw, &mut self.free, &mut self.counters, max);
    }

    /// Puts free frames into the fill ring and kicks the kernel when it asks for it.
    fn refill(&mut self) -> Result<(), SysError> {
        self.raw.fill(&mut self.free);
        if self.raw.fill_needs_wakeup() {
            self.counters.wakeups += 1;
            self.raw.wakeup()?;
        }
        Ok(())
    }

    /// Ends a batch: lent frames go back to the free list, then into the fill ring.
    fn end_batch(&mut self) {
        self.rx.release(self.raw.umem(), &mut self.free);
        if self.refill().is_err() {
            self.counters.wakeup_errors += 1;
        }
    }
}

const _: () = {
    const fn send<T: Send>() {}
    send::<XskSocket>();
};

impl AsFd for XskSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.raw.as_fd()
    }
}
