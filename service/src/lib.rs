//! What tapwatch's two binaries (`tapwatch` and `tapwatch-center`) share as long-running
//! services:
//!
//! - [`logging`]: the one `tracing` subscriber each binary installs at start: the journal's
//!   form (`<4>` priority prefixes, no timestamps) when stderr is connected to the journal,
//!   plain text with timestamps on a terminal, or JSON lines; the `[logging]` section of both
//!   configurations and the `TAPWATCH_LOG` override;
//! - [`notify`]: systemd's notification protocol (`READY=1`, `STATUS=`, `STOPPING=1`,
//!   `RELOADING=1`, `WATCHDOG=1`) over the `NOTIFY_SOCKET` datagram socket, and the watchdog
//!   interval systemd asks for; no libsystemd;
//! - [`ratelimit`]: at most one message per key and interval, the rest counted and
//!   reported with the next one.
//!
//! Nothing here keeps global state of its own: the subscriber is the process's one
//! `tracing` dispatcher, set once by `main`.

pub mod logging;
pub mod notify;
pub mod ratelimit;

pub use logging::{LogFormat, LogLevel, LoggingSection};
pub use notify::Notifier;
pub use ratelimit::RateLimited;
