//! tapwatch's detection engine.
//!
//! Signatures from `tapwatch-rules` are grouped by protocol, direction and ports; each inspection
//! buffer gets one Hyperscan database of the rules' fast patterns; candidate rules are then
//! verified fully, in order, by the pure-Rust matchers of [`verify`].
//!
//! The pieces:
//! - [`Engine::build`] turns signatures into an immutable [`Engine`] shared by all workers
//!   (behind an `Arc`), reporting what it did in a [`BuildReport`].
//! - Each worker owns a [`Detector`] (Hyperscan scratch, match context, threshold and xbits
//!   tables) and keeps a [`FlowDetect`] in every flow (flowbits, flowints, stream progress).
//! - The worker describes what to inspect with [`PacketInput`] (a packet, its payload and the
//!   reassembled stream data it completed) and [`TxInput`] (an application-layer transaction's
//!   buffers in a [`Buffers`]); the detector appends [`Alert`]s.

pub mod cache;
pub mod verify;

mod anchored;
mod build;
mod config;
mod detector;
mod engine;
mod fastpattern;
mod fewliterals;
mod flowvars;
mod host;
mod input;
mod iponly;
mod names;
mod portgroups;
mod report;
mod threshold;

#[cfg(test)]
mod tests;

pub use config::{
    track_name, DetectLimits, EngineConfig, Prefilter, SuppressTrack, ThresholdOverride,
};
pub use detector::{priority_slot, Alert, AlertSource, DetectStats, Detector};
pub use engine::{Engine, SigInfo};
pub use flowvars::FlowDetect;
pub use host::HostState;
pub use input::{AppState, Buffers, FlowFacts, PacketInput, TxInput};
pub use names::StateNames;
pub use report::{BuildRejection, BuildReport, CacheOutcome, DatabaseStats, EngineError};
