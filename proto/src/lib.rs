//! The tapwatch sensor ↔ center protocol.
//!
//! - [`v1`]: the generated protobuf messages and the `SensorLink` gRPC client and server
//!   (`tapwatch/v1/sensor.proto`, documented field by field in `proto/README.md`);
//! - [`batch`]: encoding and decoding of batch payloads (length-delimited records, zstd with an
//!   optional dictionary, bounded decompression);
//! - [`eve`]: conversion between Suricata/tapwatch EVE `alert` records and [`v1::Alert`].

pub mod batch;
pub mod eve;
pub mod time;

/// Generated code for package `tapwatch.v1`.
#[allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]
pub mod v1 {
    tonic::include_proto!("tapwatch.v1");
}

/// The `protocol_version` this crate speaks (sent in `Hello`).
pub const PROTOCOL_VERSION: u32 = 1;
