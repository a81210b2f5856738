//! The sensor's packet pipeline: its configuration file and the worker that wires the stage
//! crates (capture, wire, defrag, flow, stream, app, detect, eve) into one packet path, with
//! its counters.
//!
//! `tapwatch-runtime` drives one or several [`worker::Worker`]s over a source of packets; the
//! `tapwatch` binary wires the runtime with its command line; the fuzz targets drive the same
//! worker over generated input, so that what is fuzzed is exactly what runs.

pub mod config;
pub mod counters;
mod detect_buffers;
mod detect_run;
pub mod detect_setup;
pub mod export_alert;
pub mod export_flow;
pub mod worker;
