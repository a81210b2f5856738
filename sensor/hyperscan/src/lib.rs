//! A small safe wrapper around libhs (Hyperscan 5.4) for tapwatch's multi-pattern prefilter.
//!
//! The detection engine compiles the literal contents of its rules into a
//! [`LiteralDatabase`], shares it between workers behind an `Arc`, and scans each buffer with
//! a per-worker [`Scratch`]; every call reports the ids of the literals found (each id at most
//! once per scan). Databases can be serialized for the on-disk cache and loaded back.
//!
//! Literals are compiled with `hs_compile_lit_multi`: their bytes are matched exactly (NUL and
//! regular-expression metacharacters included), ASCII case-insensitively when asked.
//!
//! All `unsafe` code lives in the private `ffi` module, whose documentation lists the
//! invariants that make this interface sound.

mod database;
mod ffi;
mod scratch;

#[cfg(test)]
mod tests;

pub use database::LiteralDatabase;
pub use scratch::Scratch;

/// One literal to find.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// The id reported when the literal is found. Several literals may share an id.
    pub id: u32,
    /// The exact bytes to find; any byte value is allowed. Must not be empty.
    pub bytes: Vec<u8>,
    /// Match ASCII letters case-insensitively (other bytes always match exactly).
    pub caseless: bool,
}

/// What can go wrong with libhs.
#[derive(Debug, thiserror::Error)]
pub enum HsError {
    /// A literal set could not be compiled.
    #[error("hyperscan compile failed{}: {message}", literal_index.map(|i| format!(" at literal {i}")).unwrap_or_default())]
    Compile {
        /// libhs's message, or ours for input refused before calling it.
        message: String,
        /// The index in the input slice of the literal at fault, when one is.
        literal_index: Option<usize>,
    },
    /// A database could not be serialized.
    #[error("hyperscan serialize failed: {0}")]
    Serialize(String),
    /// Bytes could not be turned back into a database (damaged, foreign or from another
    /// libhs version or platform).
    #[error("hyperscan deserialize failed: {0}")]
    Deserialize(String),
    /// Scratch space could not be allocated, or was not reserved for the database scanned.
    #[error("hyperscan scratch: {0}")]
    Scratch(String),
    /// A scan failed.
    #[error("hyperscan scan failed: {0}")]
    Scan(String),
}

/// The libhs version string (for example `5.4.0 2023-02-03`); part of the cache key, since a
/// serialized database only loads into the version that built it.
pub fn version() -> String {
    ffi::version()
}
