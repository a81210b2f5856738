//! `[app.tls] encryption_handling`: once a TLS session carries encrypted application data,
//! rules on the payload no longer see it by default (Suricata's `encryption-handling:
//! default`), and do again with `"full"`; the handshake's own rules are unaffected.
//!
//! Runs on a capture of the shared corpus (`../shared/corpus`, or `$TAPWATCH_SHARED`); without
//! it the test prints a `skipped:` line and passes.

#[path = "common/shared.rs"]
mod shared;

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir("corpus/pcaps/MANIFEST.tsv")
}

/// Alerts per signature id of one replay of `pcap` with `rules` and an optional config.
fn alerts(pcap: &Path, rules: &Path, config: Option<&Path>) -> Vec<(u64, usize)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapwatch"));
    cmd.args([
        "replay",
        "--progress",
        "never",
        "--no-cache",
        "--eve",
        "-",
        "--rules",
    ])
    .arg(rules);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let output = cmd.arg(pcap).output().expect("run tapwatch");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut counts = std::collections::BTreeMap::new();
    for line in String::from_utf8(output.stdout).expect("utf-8").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("EVE JSON");
        if v["event_type"] == "alert" {
            let sid = v["alert"]["signature_id"].as_u64().expect("sid");
            *counts.entry(sid).or_insert(0usize) += 1;
        }
    }
    counts.into_iter().collect()
}

#[test]
fn encrypted_tls_payload_is_inspected_only_with_full_handling() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared/corpus not found (set TAPWATCH_SHARED)");
        return;
    };
    // A TLS 1.2 session with a long certificate chain, then application data both ways.
    let pcap = shared.join("corpus/pcaps/ndpi/long_tls_certificate.pcap");
    let dir = std::env::temp_dir().join(format!("tapwatch-encryption-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let rules = dir.join("tls.rules");
    // 1: TLS 1.2 application data record headers (only after the handshake);
    // 2: the handshake's server name, an application-layer buffer.
    std::fs::write(
        &rules,
        "alert tcp any any -> any any (msg:\"app data record\"; flow:established; content:\"|17 03 03|\"; sid:1;)\n\
         alert tls any any -> any any (msg:\"any sni\"; flow:established; tls.sni; content:\".\"; sid:2;)\n",
    )
    .expect("rules");
    let full = dir.join("full.toml");
    std::fs::write(&full, "[app.tls]\nencryption_handling = \"full\"\n").expect("config");
    let default = dir.join("default.toml");
    std::fs::write(&default, "[app.tls]\nencryption_handling = \"default\"\n").expect("config");

    let implicit = alerts(&pcap, &rules, None);
    let explicit = alerts(&pcap, &rules, Some(&default));
    let inspected = alerts(&pcap, &rules, Some(&full));
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(implicit, explicit, "\"default\" is the default");
    let count =
        |a: &[(u64, usize)], sid: u64| a.iter().find(|(s, _)| *s == sid).map_or(0, |(_, n)| *n);
    assert_eq!(
        count(&implicit, 1),
        0,
        "encrypted payload inspected: {implicit:?}"
    );
    assert!(
        count(&inspected, 1) > 0,
        "full handling inspects it: {inspected:?}"
    );
    assert_eq!(
        count(&implicit, 2),
        1,
        "handshake rules still run: {implicit:?}"
    );
    assert_eq!(count(&inspected, 2), 1, "{inspected:?}");
}
