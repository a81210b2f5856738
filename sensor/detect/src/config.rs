//! How the engine is built: prefilter mode, cache, limits and `threshold.config` entries.

use std::path::PathBuf;

use tapwatch_rules::{Threshold, Track};

/// How candidate rules are found before full verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefilter {
    /// One Hyperscan literal database per inspection buffer (the production mode).
    #[default]
    Hyperscan,
    /// No prefilter: every rule of the group is a candidate. Pure Rust, slow; the reference
    /// the tests compare the Hyperscan engine with.
    Reference,
}

/// Bounds on the per-worker detection tables. Reaching one is counted, never silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectLimits {
    /// Threshold and detection-filter tracking entries per worker.
    pub max_threshold_entries: usize,
    /// xbits entries (ip_src/ip_dst/ip_pair bits) per worker.
    pub max_xbits: usize,
    /// Flowbits and flowints per flow.
    pub max_flow_vars: usize,
    /// Bytes of earlier stream data kept per direction so that a stream match may span
    /// segments.
    pub stream_window: usize,
}

impl Default for DetectLimits {
    fn default() -> Self {
        Self {
            max_threshold_entries: 65_536,
            max_xbits: 65_536,
            max_flow_vars: 64,
            stream_window: 512,
        }
    }
}

/// Which addresses a `suppress` entry covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuppressTrack {
    /// No `track`: every alert of the rule is suppressed.
    All,
    /// `track by_src, ip ...`: alerts whose source is in the set.
    BySrc(tapwatch_rules::AddressSet),
    /// `track by_dst, ip ...`
    ByDst(tapwatch_rules::AddressSet),
    /// `track by_either, ip ...`: source or destination in the set.
    ByEither(tapwatch_rules::AddressSet),
}

/// One `threshold.config` entry, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThresholdOverride {
    /// `suppress gen_id G, sig_id S[, track ..., ip ...]`; `sid` 0 means every rule of `gid`,
    /// `gid` 0 every generator.
    Suppress {
        /// Generator id (0: any).
        gid: u32,
        /// Signature id (0: any).
        sid: u32,
        /// Which alerts.
        track: SuppressTrack,
    },
    /// `threshold`/`event_filter gen_id G, sig_id S, ...`: replaces the rule's own
    /// `threshold` (for sid 0, applies to rules without one).
    Threshold {
        /// Generator id (0: any).
        gid: u32,
        /// Signature id (0: any).
        sid: u32,
        /// The threshold.
        threshold: Threshold,
    },
}

/// Options of [`Engine::build`](crate::Engine::build).
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// Prefilter mode.
    pub prefilter: Prefilter,
    /// Compile everything at build time, so that a bad pcre is reported as a rejection
    /// (`rules check`). Today every matcher is compiled by [`Engine::build`] whatever this
    /// says (ET Open's pcres take well under a second); the flag is where lazy compilation
    /// will be switched off once it exists.
    ///
    /// [`Engine::build`]: crate::Engine::build
    pub eager: bool,
    /// Directory of the compiled-database cache; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
    /// Table bounds.
    pub limits: DetectLimits,
    /// `threshold.config` entries.
    pub overrides: Vec<ThresholdOverride>,
    /// Search every database with Hyperscan, even those of so few literals that a direct
    /// search is cheaper (the engine tests run both ways).
    pub always_hyperscan: bool,
    /// The sensor's datasets: rules' `dataset`/`datarep` find (or make) their sets here by
    /// name, so the engine built on a rule reload shares the running one's sets.
    pub datasets: std::sync::Arc<tapwatch_datasets::Datasets>,
    /// IP reputation (`iprep`): categories and table, loaded from the configured files.
    pub reputation: std::sync::Arc<tapwatch_datasets::IpReputation>,
}

/// The `track` of a threshold as Suricata names it (for reports).
pub fn track_name(track: Track) -> &'static str {
    match track {
        Track::BySrc => "by_src",
        Track::ByDst => "by_dst",
        Track::ByRule => "by_rule",
        Track::ByBoth => "by_both",
        Track::ByFlow => "by_flow",
    }
}
