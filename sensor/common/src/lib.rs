//! Value types shared by every stage of the tapwatch pipeline.
//!
//! This crate has no dependencies and holds only small `Copy` types, so that the capture,
//! decoding, flow, stream, application-layer, rule and detection crates can agree on them
//! without depending on each other: timestamps, link types, directions, IP protocol numbers,
//! application protocols and engine events. Each vocabulary is one type with Suricata's
//! names, so values cross crates typed rather than as strings.
#![forbid(unsafe_code)]

mod app_proto;
pub mod civil;
mod direction;
pub mod event;
mod ip_proto;
mod link;
mod probe;
pub mod text;
mod time;

pub use app_proto::AppProto;
pub use direction::Direction;
pub use event::{DecodeEvent, DecodeEvents, StreamEvent};
pub use ip_proto::IpProto;
pub use link::LinkType;
pub use probe::Probe;
pub use time::Timestamp;
