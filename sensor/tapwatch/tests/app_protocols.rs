//! The flow records of the suricata-verify sample captures that need the SSH and SMB
//! detection carry the protocol's name, as Suricata's do (`app_proto`).
//!
//! Skips (with a `skipped:` line) when the shared corpus is absent.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.join("corpus/verify-sample").is_dir().then_some(dir)
}

#[test]
fn verify_sample_flows_have_their_app_proto() {
    let Some(shared) = shared() else {
        println!("skipped: shared corpus verify-sample not found");
        return;
    };
    let v = shared.join("corpus/verify-sample");
    let cases = [
        ("ssh-newkeys/input.pcap", "ssh"),
        ("smb-eicar-andx/smbandx.pcap", "smb"),
        ("smb-named-pipe-ascii/input.pcap", "smb"),
    ];
    let tmp = std::env::temp_dir().join(format!("tapwatch-app-protocols-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    for (i, (pcap, proto)) in cases.iter().enumerate() {
        let eve = tmp.join(format!("{i}.json"));
        let status = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
            .args(["replay", "--progress", "never", "--eve"])
            .arg(&eve)
            .arg(v.join(pcap))
            .status()
            .expect("run tapwatch");
        assert!(status.success(), "{pcap}: {status}");
        let text = std::fs::read_to_string(&eve).expect("eve output");
        let flows: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["event_type"] == "flow")
            .collect();
        assert_eq!(flows.len(), 1, "{pcap}");
        assert_eq!(flows[0]["app_proto"], *proto, "{pcap}");
        if *proto == "ssh" {
            let ssh = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|r| r["event_type"] == "ssh")
                .expect("an ssh record");
            assert_eq!(ssh["ssh"]["client"]["software_version"], "libssh-0.7.2");
            assert_eq!(ssh["ssh"]["server"]["software_version"], "OpenSSH_7.4");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
