//! Reads every capture of the team corpus and checks its packet count against the manifest.
//!
//! The corpus lives outside the repository: `$TAPWATCH_SHARED/corpus/pcaps`, or
//! `<crate>/../../../shared/corpus/pcaps`. Without it the test says so and passes.

use std::path::{Path, PathBuf};

use tapwatch_capture::{CaptureProblemKind, CaptureReader};

fn corpus_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("corpus/pcaps");
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

/// One manifest row: path, expected packets, whether the file is known to be truncated.
struct Entry {
    path: String,
    packets: u64,
    truncated: bool,
}

fn manifest(dir: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("manifest is readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .expect("manifest has a header")
        .split('\t')
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("manifest has no `{name}` column"))
    };
    let (path, packets, notes) = (col("path"), col("packets"), col("notes"));
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            Entry {
                path: field(path).to_string(),
                packets: field(packets)
                    .parse()
                    .unwrap_or_else(|_| panic!("bad packet count in: {l}")),
                truncated: field(notes).to_ascii_lowercase().contains("truncated"),
            }
        })
        .collect()
}

#[test]
fn every_corpus_file_reads_with_its_manifest_packet_count() {
    let Some(dir) = corpus_dir() else {
        println!("skipped: ../shared/corpus not found (set TAPWATCH_SHARED to run this test)");
        return;
    };
    let entries = manifest(&dir);
    assert!(!entries.is_empty(), "empty manifest");
    let mut failures = Vec::new();
    let (mut packets, mut bytes, mut with_problems) = (0u64, 0u64, 0usize);
    for e in &entries {
        let path = dir.join(&e.path);
        let mut reader = match CaptureReader::open(&path) {
            Ok(r) => r,
            // An empty file is not a capture; the manifest counts no packets in it.
            Err(err) if e.packets == 0 => {
                println!("note: {}: {err}", e.path);
                continue;
            }
            Err(err) => {
                failures.push(format!("{}: {err}", e.path));
                continue;
            }
        };
        let mut n = 0u64;
        while let Some(p) = reader.next_packet() {
            n += 1;
            bytes += p.data.len() as u64;
        }
        packets += n;
        if !reader.problems().is_empty() {
            with_problems += 1;
            for p in reader.problems().iter().take(3) {
                println!("problem: {}: {p}", e.path);
            }
        }
        let ends_truncated = reader
            .problems()
            .last()
            .is_some_and(|p| matches!(p.kind, CaptureProblemKind::Truncated { .. }));
        let ok = n == e.packets || (e.truncated && ends_truncated && n + 1 == e.packets);
        if !ok {
            failures.push(format!(
                "{}: read {n} packets, manifest says {}; problems: {:?}",
                e.path,
                e.packets,
                reader
                    .problems()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
            ));
        }
    }
    println!(
        "corpus: {} files, {packets} packets, {bytes} captured bytes, {with_problems} files with problems",
        entries.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} files differ:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}
