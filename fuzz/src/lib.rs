//! Fuzz targets for tapwatch's decoders and parsers, and a small mutation fuzzer that runs
//! them on stable Rust (cargo-fuzz and libFuzzer need nightly).
//!
//! - [`targets`]: one function per component, `fn(&[u8])`, asserting its invariants;
//! - [`fuzzer`]: the mutation loop (deterministic from a seed), catching panics;
//! - [`seeds`]: built-in seeds per target; [`seed_files`]: seeds from directories.
//!
//! The `tapwatch-fuzz` binary wraps these; `fuzz/README.md` explains how to use it.

pub mod fuzzer;
pub mod input;
pub mod mutate;
pub mod rng;
pub mod seed_files;
pub mod seeds;
pub mod targets;
