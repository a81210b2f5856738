//! What building the engine produced: counts, rejections, database statistics, cache outcome.

use std::time::Duration;

use tapwatch_rules::{SignatureId, SourceLocation};

/// A signature the engine could not take (for example a pcre PCRE2 refuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRejection {
    /// The rule.
    pub id: SignatureId,
    /// Where it was read from.
    pub location: SourceLocation,
    /// The keyword at fault (`pcre`, `content`, ...).
    pub keyword: String,
    /// Why.
    pub reason: String,
}

/// One prefilter database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseStats {
    /// The inspection buffer (Suricata's keyword), with its transforms after a `|`.
    pub buffer: String,
    /// Rules whose fast pattern is in this database.
    pub rules: usize,
    /// Distinct literals compiled.
    pub patterns: usize,
    /// Distinct literals checked at their fixed place near the buffer's start instead.
    pub anchored: usize,
    /// Compiled size in bytes (0 in reference mode).
    pub bytes: usize,
}

/// What happened with the compiled-database cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// The databases were loaded from the cache.
    Hit,
    /// No entry for these rules: compiled and stored.
    Miss,
    /// An entry existed but was unusable (damaged, stale, foreign): compiled and overwritten.
    Rebuilt {
        /// Why the entry was refused.
        reason: String,
    },
    /// No cache (disabled by configuration, or reference prefilter).
    Disabled,
}

impl CacheOutcome {
    /// A short name: `hit`, `miss`, `rebuilt`, `disabled`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Miss => "miss",
            Self::Rebuilt { .. } => "rebuilt",
            Self::Disabled => "disabled",
        }
    }
}

/// The result of [`Engine::build`](crate::Engine::build).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildReport {
    /// Signatures the engine runs.
    pub loaded: usize,
    /// Signatures it refused.
    pub rejected: Vec<BuildRejection>,
    /// One entry per prefilter database.
    pub databases: Vec<DatabaseStats>,
    /// Rules whose fast pattern is in each buffer (Suricata keyword), sorted by name. A
    /// database scanned for two buffers is named `first+second` (HTTP's body and
    /// `file.data`).
    pub rules_per_buffer: Vec<(String, usize)>,
    /// Time spent compiling (or loading) the databases and the rules.
    pub compile_time: Duration,
    /// Cache outcome.
    pub cache: CacheOutcome,
    /// Rules without a usable fast pattern (checked on every packet of their group).
    pub rules_without_pattern: usize,
    /// Warning about the cache that did not stop the build (unwritable directory, ...).
    pub cache_warning: Option<String>,
}

/// Errors that stop the engine from being built at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Hyperscan refused a database.
    #[error("building the {buffer} prefilter database: {source}")]
    Hyperscan {
        /// The database's buffer.
        buffer: String,
        /// The error.
        #[source]
        source: tapwatch_hyperscan::HsError,
    },
}
