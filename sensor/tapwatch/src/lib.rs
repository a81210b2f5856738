//! The tapwatch sensor as a library: its configuration file and the worker that wires the
//! stage crates (capture, wire, defrag, flow, stream, app, eve) into one packet path.
//!
//! The `tapwatch` binary owns the command line and drives a [`worker::Worker`] over capture
//! files; the fuzz targets drive the same worker over generated input, so that what is fuzzed
//! is exactly what runs.

pub mod config;
pub mod counters;
mod detect_buffers;
mod detect_run;
pub mod detect_setup;
pub mod export_alert;
pub mod worker;
