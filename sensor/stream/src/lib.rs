//! TCP stream reassembly for tapwatch.
//!
//! One [`Reassembler`] per worker thread holds the configuration, the out-of-order memory
//! accounting and the counters; one [`TcpStreams`] lives in each TCP flow's state. The
//! decoder and flow table pass plain [`Segment`] values to [`Reassembler::segment`], which
//! hands the reassembled bytes, gaps and [`StreamEvent`]s of both directions to a
//! [`StreamSink`] (the application-layer dispatcher).
//!
//! Invariants:
//! - in-order data is never buffered and costs no allocation: it goes from the caller's slice
//!   to the sink (and into the bounded window of recent bytes kept to check retransmissions);
//! - out-of-order data is bounded per direction ([`StreamConfig::max_buffered_per_direction`],
//!   [`StreamConfig::max_segments_per_direction`]) and per worker ([`StreamConfig::memcap`]);
//! - delivered data is never delivered again, and data and gaps of one direction reach the
//!   sink in stream order without overlap;
//! - no input makes it panic.
#![forbid(unsafe_code)]

mod buffer;
mod config;
mod event;
mod half;
mod reassembler;
mod segment;
mod stats;
mod window;

#[cfg(test)]
mod tests;

pub use config::{OverlapPolicy, StreamConfig};
pub use event::StreamEvent;
pub use reassembler::{Reassembler, TcpStreams};
pub use segment::{Segment, StreamSink};
pub use stats::StreamStats;
