//! The capture ladder: the best XDP mode and socket bind mode an interface accepts.
//!
//! Order: program in driver mode with zero-copy sockets; driver mode with copy sockets; then
//! the program in generic (SKB) mode with copy sockets. Each refused step is recorded with
//! its reason and errno (zero-copy on veth: `EOPNOTSUPP`, expected).

use std::io;

use crate::error::{XdpError, XskError};
use crate::program::{XdpMode, XdpProgram};
use crate::sys;
use crate::xsk::{BindMode, XskConfig, XskSocket};

/// A step of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LadderStep {
    /// Attaching the program in driver (native) mode.
    DriverAttach,
    /// Binding a socket in zero-copy mode (program in driver mode).
    DriverZeroCopyBind,
    /// Binding a socket in copy mode (program in driver mode).
    DriverCopyBind,
    /// Attaching the program in generic (SKB) mode.
    SkbAttach,
    /// Binding a socket in copy mode (program in SKB mode).
    SkbCopyBind,
}

/// A refused step, with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The step.
    pub step: LadderStep,
    /// The queue, for bind steps.
    pub queue: Option<u32>,
    /// The kernel's errno, when one was found in the error.
    pub errno: Option<i32>,
    /// The whole error, formatted.
    pub reason: String,
}

impl Refusal {
    fn new(
        step: LadderStep,
        queue: Option<u32>,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        let mut errno = None;
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = cur {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                errno = io.raw_os_error();
            }
            cur = e.source();
        }
        let mut reason = error.to_string();
        let mut src = error.source();
        while let Some(e) = src {
            let text = e.to_string();
            if !reason.contains(&text) {
                reason.push_str(": ");
                reason.push_str(&text);
            }
            src = e.source();
        }
        Self {
            step,
            queue,
            errno,
            reason,
        }
    }
}

/// What the ladder obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderReport {
    /// Where the program runs.
    pub xdp_mode: XdpMode,
    /// How the sockets are bound (`Copy` if any socket is in copy mode).
    pub bind_mode: BindMode,
    /// The better steps that were refused, in the order tried.
    pub refusals: Vec<Refusal>,
}

/// An attached program with one bound, registered socket per queue.
#[derive(Debug)]
pub struct Capture {
    /// The program (detached when dropped).
    pub program: XdpProgram,
    /// One socket per requested queue, in the order given.
    pub sockets: Vec<XskSocket>,
    /// Modes obtained and refusals.
    pub report: LadderReport,
}

/// Why the ladder found no way to capture.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// No queue was given.
    #[error("no queue to capture from")]
    NoQueues,
    /// Every step was refused.
    #[error("every capture mode was refused: {}", summary(.refusals))]
    Refused {
        /// Each refusal, in the order tried.
        refusals: Vec<Refusal>,
    },
    /// The program could not be loaded at all (before any attach).
    #[error(transparent)]
    Xdp(#[from] XdpError),
    /// The socket failed before binding (configuration, memory, rings).
    #[error(transparent)]
    Xsk(#[from] XskError),
}

fn summary(refusals: &[Refusal]) -> String {
    refusals
        .iter()
        .map(|r| format!("{:?}: {}", r.step, r.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Runs the ladder on `iface` (in this thread's network namespace) for `queues`.
pub fn open_capture(
    iface: &str,
    queues: &[u32],
    config: &XskConfig,
) -> Result<Capture, CaptureError> {
    if queues.is_empty() {
        return Err(CaptureError::NoQueues);
    }
    config.validate().map_err(XskError::from)?;
    let ifindex = sys::ifindex(iface).map_err(|source| XskError::Interface {
        name: iface.to_owned(),
        source,
    })?;
    let mut refusals = Vec::new();

    let rungs = [
        (
            XdpMode::Driver,
            LadderStep::DriverAttach,
            &[
                (BindMode::ZeroCopy, LadderStep::DriverZeroCopyBind),
                (BindMode::Copy, LadderStep::DriverCopyBind),
            ][..],
        ),
        (
            XdpMode::Skb,
            LadderStep::SkbAttach,
            &[(BindMode::Copy, LadderStep::SkbCopyBind)][..],
        ),
    ];
    for (xdp_mode, attach_step, binds) in rungs {
        let mut program = match XdpProgram::load(iface, xdp_mode) {
            Ok(p) => p,
            Err(e @ XdpError::Attach { .. }) => {
                refusals.push(Refusal::new(attach_step, None, &e));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let Some(sockets) = bind_all(ifindex, queues, config, binds, &mut refusals)? else {
            continue; // drops the program: detached before the next rung attaches
        };
        for (queue, socket) in queues.iter().zip(&sockets) {
            program.register_socket(*queue, socket)?;
        }
        let bind_mode = if sockets.iter().all(|s| s.mode() == BindMode::ZeroCopy) {
            BindMode::ZeroCopy
        } else {
            BindMode::Copy
        };
        return Ok(Capture {
            program,
            sockets,
            report: LadderReport {
                xdp_mode,
                bind_mode,
                refusals,
            },
        });
    }
    Err(CaptureError::Refused { refusals })
}

/// Binds one socket per queue, each in the first mode accepted; `None` when a queue refused
/// every mode.
fn bind_all(
    ifindex: u32,
    queues: &[u32],
    config: &XskConfig,
    modes: &[(BindMode, LadderStep)],
    refusals: &mut Vec<Refusal>,
) -> Result<Option<Vec<XskSocket>>, XskError> {
    let mut sockets = Vec::with_capacity(queues.len());
    'queues: for &queue in queues {
        for &(mode, step) in modes {
            match XskSocket::try_bind(ifindex, queue, config, mode)? {
                Ok(socket) => {
                    sockets.push(socket);
                    continue 'queues;
                }
                Err(refused) => refusals.push(Refusal::new(step, Some(queue), &refused)),
            }
        }
        return Ok(None);
    }
    Ok(Some(sockets))
}
