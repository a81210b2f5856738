//! Differential test against tshark over a varied subset of the shared corpus.
//!
//! For each capture listed in `tshark/captures.rs` (tunnels, fragments, VLAN/MPLS/PPPoE,
//! every link type tapwatch reads, pcapng and nanosecond pcap, DNS/HTTP/TLS), tshark's
//! dissection and tapwatch's EVE output are reduced to four sets and compared:
//!
//! - TCP and UDP conversations (5-tuples, direction-independent), the innermost layer as
//!   tshark sees it against tapwatch's `flow` records;
//! - DNS query names against `dns.queries[].rrname`;
//! - HTTP request hosts and URIs against `http.hostname` / `http.url`;
//! - TLS ClientHello server names over TCP against `tls.sni`.
//!
//! The sets must be equal except for the differences listed, with their reasons, in
//! `ALLOWED`; a new difference fails the test, and so does an allowance no longer needed.
//! Without the shared corpus or without tshark, the test prints a `skipped:` line and passes.

mod tshark;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tshark::captures::{Allow, ALLOWED, CAPTURES};
use tshark::{Kind, Observed, Side};

fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.join("corpus/pcaps").is_dir().then_some(dir)
}

/// One difference between the two tools.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Difference {
    capture: &'static str,
    kind: Kind,
    side: Side,
    value: String,
}

impl Difference {
    /// The index of the value in `a` that accepts this difference.
    fn allowed_by(&self, a: &Allow) -> Option<usize> {
        if a.capture != self.capture || a.kind != self.kind || a.side != self.side {
            return None;
        }
        a.values.iter().position(|v| *v == "*" || *v == self.value)
    }
}

/// Compares one capture; `Err` when a tool could not run.
fn compare(binary: &Path, pcaps: &Path, capture: &'static str) -> Result<Vec<Difference>, String> {
    let path = pcaps.join(capture);
    let theirs = tshark::tshark(&path)?;
    let ours = tshark::tapwatch(binary, &path)?;
    let only = |a: &Observed, b: &Observed, side| {
        a.difference(b)
            .map(|(kind, value)| Difference {
                capture,
                kind: *kind,
                side,
                value: value.clone(),
            })
            .collect::<Vec<_>>()
    };
    let mut diffs = only(&theirs, &ours, Side::Tshark);
    diffs.extend(only(&ours, &theirs, Side::Tapwatch));
    Ok(diffs)
}

#[test]
fn tapwatch_agrees_with_tshark() {
    let Some(shared) = shared_dir() else {
        println!("skipped: shared corpus not found (set TAPWATCH_SHARED)");
        return;
    };
    if !tshark::tshark_available() {
        println!("skipped: tshark not found");
        return;
    }
    let pcaps = shared.join("corpus/pcaps");
    let captures: Vec<&'static str> = CAPTURES
        .iter()
        .flat_map(|(_, files)| files.iter().copied())
        .collect();
    let missing: Vec<_> = captures
        .iter()
        .filter(|c| !pcaps.join(c).is_file())
        .collect();
    assert!(
        missing.is_empty(),
        "captures not in the corpus: {missing:?}"
    );

    let binary = Path::new(env!("CARGO_BIN_EXE_tapwatch"));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(capture) = captures.get(i) else {
                    break;
                };
                let r = compare(binary, &pcaps, capture);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((*capture, r));
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());

    let mut failures = Vec::new();
    let mut used = BTreeSet::new();
    let mut accepted = 0usize;
    for (capture, result) in &results {
        match result {
            Err(e) => failures.push(format!("{capture}: {e}")),
            Ok(diffs) => {
                for d in diffs {
                    let hit = ALLOWED
                        .iter()
                        .enumerate()
                        .find_map(|(i, a)| Some((i, d.allowed_by(a)?)));
                    match hit {
                        Some(at) => {
                            used.insert(at);
                            accepted += 1;
                        }
                        None => failures.push(format!(
                            "{}: {:?} {}: {:?}",
                            d.capture, d.kind, d.side, d.value
                        )),
                    }
                }
            }
        }
    }
    for (i, a) in ALLOWED.iter().enumerate() {
        for (j, value) in a.values.iter().enumerate() {
            if !used.contains(&(i, j)) {
                failures.push(format!(
                    "{}: allowance no longer needed: {:?} {}: {:?}",
                    a.capture, a.kind, a.side, value
                ));
            } else {
                println!(
                    "accepted: {}: {:?} {}: {:?}: {}",
                    a.capture, a.kind, a.side, value, a.reason
                );
            }
        }
    }
    failures.sort();
    println!(
        "tshark differential: {} captures, {} accepted differences, {} failures",
        results.len(),
        accepted,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "tapwatch and tshark disagree (fix it, or allow it in tests/tshark/captures.rs with \
         the reason):\n{}",
        failures.join("\n")
    );
}
