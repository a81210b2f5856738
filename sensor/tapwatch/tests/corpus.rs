//! Replays every capture of the shared corpus through the `tapwatch` binary.
//!
//! - No capture may make tapwatch panic or exit with an error (decode events are fine).
//! - Every packet the manifest counts is processed (the summary's packet count matches).
//! - Every EVE record tapwatch writes validates against Suricata 8.0.6's EVE JSON schema, so
//!   SIEM pipelines built for Suricata's records ingest tapwatch's unchanged.
//!
//! The corpus lives in `../shared/corpus` (or `$TAPWATCH_SHARED/corpus`); without it the tests
//! print a `skipped:` line and pass.

#[path = "common/shared.rs"]
mod shared;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir("corpus/pcaps/MANIFEST.tsv")
}

/// One manifest row: the capture's path and what the manifest says about it.
#[derive(Debug, Clone)]
struct Capture {
    path: String,
    packets: u64,
    truncated: bool,
}

fn manifest(shared: &Path) -> Vec<Capture> {
    let text = std::fs::read_to_string(shared.join("corpus/pcaps/MANIFEST.tsv")).expect("manifest");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (path, packets, notes) = (col("path"), col("packets"), col("notes"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Capture {
                path: f[path].to_string(),
                packets: f[packets].parse().expect("packets"),
                truncated: f.get(notes).is_some_and(|n| n.contains("TRUNC")),
            }
        })
        .collect()
}

/// What one replay produced.
#[derive(Debug)]
struct Replay {
    capture: Capture,
    status: Option<i32>,
    stderr: String,
    summary: Option<serde_json::Value>,
    eve: PathBuf,
}

/// Replays every corpus capture once per test binary, two at a time.
fn replays() -> Option<&'static Vec<Replay>> {
    static REPLAYS: OnceLock<Option<Vec<Replay>>> = OnceLock::new();
    REPLAYS
        .get_or_init(|| {
            let shared = shared_dir()?;
            let captures = manifest(&shared);
            let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-eve");
            let next = AtomicUsize::new(0);
            let results = Mutex::new(Vec::with_capacity(captures.len()));
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(capture) = captures.get(i) else {
                            break;
                        };
                        let r = replay_one(&shared, &out_dir, capture);
                        results.lock().expect("lock").push(r);
                    });
                }
            });
            let mut results = results.into_inner().expect("lock");
            results.sort_by(|a, b| a.capture.path.cmp(&b.capture.path));
            Some(results)
        })
        .as_ref()
}

fn replay_one(shared: &Path, out_dir: &Path, capture: &Capture) -> Replay {
    let pcap = shared.join("corpus/pcaps").join(&capture.path);
    let eve = out_dir.join(format!("{}.eve.json", capture.path));
    std::fs::create_dir_all(eve.parent().expect("parent")).expect("mkdir");
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "--progress", "never", "--summary-json", "--eve"])
        .arg(&eve)
        .arg(&pcap)
        .output()
        .expect("run tapwatch");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let summary = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok());
    Replay {
        capture: capture.clone(),
        status: output.status.code(),
        stderr,
        summary,
        eve,
    }
}

#[test]
fn every_capture_replays_without_error() {
    let Some(replays) = replays() else {
        println!("skipped: ../shared/corpus not found (set TAPWATCH_SHARED)");
        return;
    };
    let mut failures = Vec::new();
    let mut packets = 0u64;
    for r in replays {
        let processed = r.summary.as_ref().and_then(|s| s["packets"].as_u64());
        packets += processed.unwrap_or(0);
        let expected = r.capture.packets;
        let count_ok = match processed {
            Some(n) if r.capture.truncated => n == expected || n + 1 == expected,
            Some(n) => n == expected,
            None => false,
        };
        if r.status != Some(0) || r.stderr.contains("panicked") || !count_ok {
            failures.push(format!(
                "{}: exit {:?}, packets {:?} of {}\n{}",
                r.capture.path,
                r.status,
                processed,
                expected,
                r.stderr.lines().take(8).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    println!("replayed {} captures, {packets} packets", replays.len());
    assert!(
        failures.is_empty(),
        "{} captures failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_eve_record_validates_against_suricata_schema() {
    let Some(replays) = replays() else {
        println!("skipped: ../shared/corpus not found (set TAPWATCH_SHARED)");
        return;
    };
    let shared = shared_dir().expect("shared");
    let schema_text =
        std::fs::read_to_string(shared.join("corpus/eve-schema/suricata-8.0.6-eve-schema.json"))
            .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let newer_events = bundled_decoder_events(&shared);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let mut invalid = Vec::new();
    let mut invalid_count = 0usize;
    for r in replays {
        let Ok(text) = std::fs::read_to_string(&r.eve) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let record: serde_json::Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(e) => {
                    invalid_count += 1;
                    invalid.push(format!("{}:{}: not JSON: {e}", r.capture.path, n + 1));
                    continue;
                }
            };
            let event_type = record["event_type"].as_str().unwrap_or("?").to_string();
            *by_type.entry(event_type).or_insert(0) += 1;
            let errors: Vec<String> = validator
                .iter_errors(&record)
                .filter(|e| !is_newer_decoder_event(e, &newer_events) && !is_suricata_schema_gap(e))
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            if !errors.is_empty() {
                invalid_count += 1;
                if invalid.len() < 20 {
                    invalid.push(format!(
                        "{}:{}: {}\n  {}",
                        r.capture.path,
                        n + 1,
                        errors.join("; "),
                        line
                    ));
                }
            }
        }
    }
    println!("validated records by event_type: {by_type:?}");
    for t in ["flow", "http", "dns", "tls", "stats"] {
        assert!(
            by_type.get(t).copied().unwrap_or(0) > 0,
            "no {t} records at all: {by_type:?}"
        );
    }
    assert!(
        invalid.is_empty(),
        "{invalid_count} records do not validate; first ones:\n{}",
        invalid.join("\n")
    );
}

/// Decoder event names (`layer.name`) of Suricata's bundled rules (`decode-event:` options). The rules
/// come from a newer Suricata than the 8.0.6 schema, and tapwatch raises some events that only
/// the newer one has (for example `sctp.data_with_zero_vtag`); their counters are the one
/// place where a `stats` record may hold a name the 8.0.6 schema does not list.
fn bundled_decoder_events(shared: &Path) -> std::collections::BTreeSet<String> {
    let dir = shared.join("corpus/rules/suricata-bundled");
    let mut rules = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|e| e == "rules") {
            rules.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
    }
    rules
        .split("decode-event:")
        .skip(1)
        .filter_map(|rest| rest.split(';').next())
        .map(|name| name.trim().to_string())
        .collect()
}

/// Whether a schema error is only a decoder event counter that a newer Suricata defines.
fn is_newer_decoder_event(
    e: &jsonschema::ValidationError<'_>,
    newer: &std::collections::BTreeSet<String>,
) -> bool {
    let path = e.instance_path().to_string();
    let Some(layer) = path.strip_prefix("/stats/decoder/event/") else {
        return false;
    };
    match e.kind() {
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .all(|name| newer.contains(&format!("{layer}.{name}"))),
        _ => false,
    }
}

/// Whether a schema error is one that Suricata 8.0.6's own output has too: it writes
/// `rdata_truncated` and `opt` in DNS `answers` entries (seen in `corpus/suricata-eve`), which
/// its schema lists only under `authorities` and `additionals`.
fn is_suricata_schema_gap(e: &jsonschema::ValidationError<'_>) -> bool {
    let path = e.instance_path().to_string();
    if !path.starts_with("/dns/answers/") {
        return false;
    }
    match e.kind() {
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .all(|name| name == "rdata_truncated" || name == "opt"),
        _ => false,
    }
}
