//! Zero-copy packet decoding for tapwatch.
//!
//! `wire` turns a captured frame into a `Decoded` view: link layer, VLAN tags, tunnels,
//! the innermost IP header and transport header, and the payload, all borrowed from the
//! frame. It never allocates and never panics on malformed input: anomalies become
//! `DecodeEvent`s and decoding stops at the layer that could not be read.
#![forbid(unsafe_code)]

pub use tapwatch_common::{LinkType, Timestamp};
