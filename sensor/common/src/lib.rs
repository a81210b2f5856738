//! Value types shared by every stage of the tapwatch pipeline.
//!
//! This crate has no dependencies and holds only small `Copy` types, so that the capture,
//! decoding, flow, stream and application-layer crates can agree on them without depending
//! on each other.
#![forbid(unsafe_code)]

mod direction;
mod link;
mod probe;
mod time;

pub use direction::Direction;
pub use link::LinkType;
pub use probe::Probe;
pub use time::Timestamp;
