//! The sensor's runtime: what drives the packet pipeline (`tapwatch_pipeline::worker::Worker`) over a
//! source of packets, on one or several worker threads.
//!
//! - [`dispatch`]: flow-affine choice of a packet's worker and the bounded queues that take
//!   packets to the workers (back-pressure: wait for replay, count and drop for live capture);
//! - [`route`]: which worker a packet goes to, fragments of tunnel datagrams included;
//! - [`pool`]: the worker threads (CPU pinning, health publishing, finishing);
//! - [`eve_file`]: the EVE file written by a thread of its own, fed by every worker;
//! - [`health`]: the figures the exporter sends in `Health`, summed over workers;
//! - [`capture`]: live packet sources (AF_XDP behind tapwatch's XDP program, or an
//!   AF_PACKET socket) and the mode ladder that opens them;
//! - [`live`]: the live capture threads, their ticks and counters, and the bypass policy;
//! - [`liveness`]: per-worker heartbeats behind the service's watchdog;
//! - [`board`]: the service's live figures (workers, queues, interfaces, rule set, export),
//!   published about once a second, read by [`metrics`] (the Prometheus endpoint) and
//!   [`control`] (the control socket behind `tapwatch ctl`); [`ruleset_status`]: the rule
//!   set's status and the last reload's outcome.
//!
//! The `tapwatch` binary wires these with its command line and configuration.

pub mod board;
pub mod capture;
pub mod control;
pub mod dispatch;
pub mod eve_file;
pub mod health;
pub mod live;
pub mod liveness;
pub mod metrics;
pub mod pool;
pub mod reload;
pub mod route;
pub mod ruleset_status;
pub mod swap;

#[cfg(test)]
mod fixtures;
mod selftest;
