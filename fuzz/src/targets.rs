//! The fuzz targets: one function per component, each taking arbitrary bytes, driving the
//! component with them and asserting its invariants. A target panics (an assertion or a
//! bug in the component) exactly when it found a problem.

mod bundle;
mod capture;
mod chunks;
mod datasets;
mod defrag;
mod dns;
mod flow;
mod http;
mod mqtt;
mod pipeline;
mod rules_parse;
mod stream;
mod tls;
mod wire;

pub use bundle::bundle;
pub(crate) use bundle::{limits as bundle_limits, seed_key as bundle_seed_key};
pub use capture::capture;
pub use datasets::datasets;
pub use defrag::defrag;
pub use dns::dns;
pub use flow::flow;
pub use http::{http, http_split};
pub use mqtt::mqtt;
pub use pipeline::pipeline;
pub use rules_parse::rules_parse;
pub use stream::stream;
pub use tls::tls;
pub use wire::{link_selector, wire};

/// What a fuzz target's input is seeded from by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedKind {
    /// Capture files are seeds as they are.
    CaptureFile,
    /// Frames: a link-type selector byte, then the frame (taken from capture files' packets).
    Frame,
    /// Anything else: files are used as raw bytes.
    Raw,
}

/// A fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name on the command line.
    pub name: &'static str,
    /// What it drives.
    pub about: &'static str,
    /// The target function.
    pub run: fn(&[u8]),
    /// Default longest input.
    pub max_len: usize,
    /// How seed files are turned into inputs.
    pub seed_kind: SeedKind,
    /// Whether the smoke run (`scripts/fuzz-smoke.sh`) runs it: false for targets that still
    /// find open issues.
    pub smoke: bool,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "capture",
        about: "pcap/pcapng/gzip reader; whole and trickled reads agree",
        run: capture,
        max_len: 64 * 1024,
        seed_kind: SeedKind::CaptureFile,
        smoke: true,
    },
    Target {
        name: "wire",
        about: "decoder under every link type; views inside the frame",
        run: wire,
        max_len: 4096,
        seed_kind: SeedKind::Frame,
        smoke: true,
    },
    Target {
        name: "defrag",
        about: "IPv4/IPv6 defragmenter; memcap and tracker limit held",
        run: defrag,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "flow",
        about: "flow table; size bound, packet conservation",
        run: flow,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "stream",
        about: "TCP reassembly; delivered bytes, depth, memcap",
        run: stream,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "http",
        about: "HTTP/1.x parser; split invariance, limits, JSON",
        run: http,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "http-split",
        about: "HTTP/1.x parser; events independent of the split (finds open issues)",
        run: http_split,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: false,
    },
    Target {
        name: "dns",
        about: "DNS messages, UDP and TCP flows; split invariance, limits, JSON",
        run: dns,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "tls",
        about: "TLS handshake parser; once-only events, limits, split invariance",
        run: tls,
        max_len: 8192,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "mqtt",
        about: "MQTT parser; transaction and packet bounds, JSON, split invariance",
        run: mqtt,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "rules_parse",
        about: "rule files: parser, lowering, classification and threshold config readers",
        run: rules_parse,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "bundle",
        about: "signed bundles: reader, content checks, acceptance policy, IOC readers",
        run: bundle,
        max_len: 16 * 1024,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "datasets",
        about: "dataset files (load, save, load again) and IP reputation lines",
        run: datasets,
        max_len: 4096,
        seed_kind: SeedKind::Raw,
        smoke: true,
    },
    Target {
        name: "pipeline",
        about: "capture to application layer, wired as the worker does",
        run: pipeline,
        max_len: 64 * 1024,
        seed_kind: SeedKind::CaptureFile,
        smoke: true,
    },
];

/// The target called `name`.
pub fn find(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seeds kept under `fuzz/seeds/TARGET/` (crash reproducers among them).
    fn stored_seeds(name: &str) -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }

    #[test]
    fn every_target_runs_its_seeds() {
        for t in TARGETS {
            let seeds = crate::seeds::builtin(t.name);
            assert!(!seeds.is_empty(), "{} has no built-in seeds", t.name);
            if !t.smoke {
                continue;
            }
            for s in seeds.iter().chain(&stored_seeds(t.name)) {
                (t.run)(s);
            }
        }
    }

    #[test]
    fn every_target_survives_trivial_inputs() {
        for t in TARGETS {
            for s in [&[][..], &[0], &[0xff; 64], &[0; 300]] {
                (t.run)(s);
            }
        }
    }

    #[test]
    fn a_short_deterministic_run_finds_nothing() {
        for t in TARGETS.iter().filter(|t| t.smoke) {
            let opts = crate::fuzzer::Options {
                iterations: Some(200),
                seconds: None,
                max_len: t.max_len.min(4096),
                rng_seed: 1,
            };
            let seeds = crate::seeds::builtin(t.name);
            let report = crate::fuzzer::fuzz(t, seeds, &opts);
            assert!(report.crash.is_none(), "{}: {:?}", t.name, report.crash);
            assert_eq!(report.executions, 200);
        }
    }

    #[test]
    fn names_are_unique_and_found() {
        for t in TARGETS {
            assert_eq!(find(t.name).map(|f| f.name), Some(t.name));
        }
        assert!(find("nope").is_none());
    }
}
