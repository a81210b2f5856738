//! Golden test: the bundled sample capture gives exactly the EVE records in
//! `samples/sample.eve.golden.json`.
//!
//! Flow ids are random per run (keyed per flow table), so they are replaced by their order of
//! first appearance before comparing; records of one flow must still share one id. To accept a
//! deliberate change of output, run with `TAPWATCH_BLESS=1` and review the diff of the golden file.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Replaces each `"flow_id":N` by its order of first appearance, leaving the rest of the line
/// byte for byte (field order is part of what the golden file checks).
fn normalise_flow_ids(eve: &str) -> String {
    const KEY: &str = "\"flow_id\":";
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut out = String::new();
    for line in eve.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("EVE line is JSON");
        match line.find(KEY) {
            Some(start) => {
                let digits_at = start + KEY.len();
                let len = line[digits_at..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
                let id = &line[digits_at..digits_at + len];
                let next = ids.len() + 1;
                let ordinal = *ids.entry(id.to_string()).or_insert(next);
                out.push_str(&line[..digits_at]);
                out.push_str(&ordinal.to_string());
                out.push_str(&line[digits_at + len..]);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn sample_capture_matches_golden_eve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "--progress", "never", "--eve", "-"])
        .arg(root.join("samples/sample.pcap"))
        .output()
        .expect("run tapwatch");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let actual = normalise_flow_ids(&String::from_utf8(output.stdout).expect("utf-8"));
    let golden_path = root.join("samples/sample.eve.golden.json");
    if std::env::var_os("TAPWATCH_BLESS").is_some() {
        std::fs::write(&golden_path, &actual).expect("write golden");
    }
    let golden = std::fs::read_to_string(&golden_path).expect("golden file");
    if actual != golden {
        for (i, (a, g)) in actual.lines().zip(golden.lines()).enumerate() {
            if a != g {
                panic!("line {} differs:\n  actual: {a}\n  golden: {g}", i + 1);
            }
        }
        panic!(
            "record count differs: {} actual, {} golden",
            actual.lines().count(),
            golden.lines().count()
        );
    }
}

#[test]
fn summary_counts_the_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "--progress", "never", "--summary-json"])
        .arg(root.join("samples/sample.pcap"))
        .output()
        .expect("run tapwatch");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(stderr.lines().last().expect("summary line")).expect("summary JSON");
    assert_eq!(summary["packets"], 28);
    assert_eq!(summary["files"], 1);
    assert_eq!(summary["flows"], 7, "{summary}");
    assert_eq!(summary["decode_events"]["ipv4.trunc_pkt"], 1, "{summary}");
    assert_eq!(summary["app_flows"]["http"], 2, "{summary}");
    assert_eq!(summary["app_flows"]["tls"], 1, "{summary}");
}

#[test]
fn unreadable_file_is_reported_and_fails_the_run() {
    let dir = std::env::temp_dir().join(format!("tapwatch-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let bogus = dir.join("not-a-capture.pcap");
    std::fs::write(&bogus, b"this is not a capture file at all").expect("write");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["replay", "--progress", "never", "--summary-json"])
        .arg(&bogus)
        .arg(root.join("samples/sample.pcap"))
        .output()
        .expect("run tapwatch");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not-a-capture.pcap"), "{stderr}");
    // The good file after it was still read.
    let summary: serde_json::Value =
        serde_json::from_str(stderr.lines().last().expect("line")).expect("json");
    assert_eq!(summary["packets"], 28);
    assert_eq!(summary["failed_files"], 1);
}

#[test]
fn bad_config_is_refused_with_its_line() {
    let dir = std::env::temp_dir().join(format!("tapwatch-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("sensor.toml");
    std::fs::write(&config, "[flow]\nmax_flows = 100\ntimeout = 3\n").expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args(["config", "check"])
        .arg(&config)
        .output()
        .expect("run tapwatch");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert!(stderr.contains("unknown field `timeout`"), "{stderr}");
}

/// The sample with one byte of the HTTP request (packet 7) changed, so its TCP checksum is wrong.
fn sample_with_bad_tcp_checksum(dir: &Path) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut pcap = std::fs::read(root.join("samples/sample.pcap")).expect("sample");
    let mut offset = 24; // classic pcap file header
    for _ in 0..6 {
        let caplen = u32::from_le_bytes(pcap[offset + 8..offset + 12].try_into().expect("4 bytes"));
        offset += 16 + caplen as usize;
    }
    let caplen =
        u32::from_le_bytes(pcap[offset + 8..offset + 12].try_into().expect("4 bytes")) as usize;
    let last = offset + 16 + caplen - 1;
    pcap[last] ^= 0x20;
    let path = dir.join("bad-checksum.pcap");
    std::fs::write(&path, pcap).expect("write");
    path
}

fn http_records(args: &[&str], pcap: &Path) -> (usize, serde_json::Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .args([
            "replay",
            "--progress",
            "never",
            "--summary-json",
            "--eve",
            "-",
        ])
        .args(args)
        .arg(pcap)
        .output()
        .expect("run tapwatch");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let eve = String::from_utf8(output.stdout).expect("utf-8");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = serde_json::from_str(stderr.lines().last().expect("summary")).expect("json");
    (
        eve.lines()
            .filter(|l| l.contains("\"event_type\":\"http\""))
            .count(),
        summary,
    )
}

#[test]
fn checksum_validation_drops_bad_segments_from_inspection() {
    let dir = std::env::temp_dir().join(format!("tapwatch-checksum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let pcap = sample_with_bad_tcp_checksum(&dir);
    let config = dir.join("checksums.toml");
    std::fs::write(&config, "[decode]\nchecksum_validation = true\n").expect("write");

    // Off (the default): the request is parsed as it is, both HTTP transactions are logged.
    let (http, summary) = http_records(&[], &pcap);
    assert_eq!(http, 2);
    assert_eq!(summary["invalid_checksum"], 0);
    // On: the corrupted segment is counted and not inspected, so its request is missing: its
    // response (whose ACK covers the lost segment) is logged unmatched, as Suricata does.
    let (http, summary) = http_records(&["--config", config.to_str().expect("utf-8 path")], &pcap);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(summary["invalid_checksum"], 1, "{summary}");
    assert_eq!(http, 2, "{summary}");
    assert_eq!(
        summary["app_events"]["UNABLE_TO_MATCH_RESPONSE_TO_REQUEST"], 1,
        "{summary}"
    );
}

#[test]
fn defrag_memcap_drops_are_reported() {
    let dir = std::env::temp_dir().join(format!("tapwatch-defrag-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let config = dir.join("defrag.toml");
    // Smaller than either fragment of the sample's fragmented datagram: both are dropped.
    std::fs::write(&config, "[defrag]\nmemcap_bytes = 16\n").expect("write");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (_, summary) = http_records(
        &["--config", config.to_str().expect("utf-8 path")],
        &root.join("samples/sample.pcap"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(summary["defrag_dropped"]["memcap"], 2, "{summary}");
    // With the default memcap nothing is dropped.
    let (_, summary) = http_records(&[], &root.join("samples/sample.pcap"));
    assert_eq!(summary["defrag_dropped"]["memcap"], 0, "{summary}");
}
