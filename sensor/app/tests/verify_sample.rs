//! The suricata-verify sample captures of the shared corpus that need SSH and SMB: their
//! single TCP flow is fed to an [`AppFlow`] (in-order segments only, retransmissions dropped)
//! and the detected protocol and inspection outputs are checked.
//!
//! Skips (with a `skipped:` line) when the shared corpus is absent.

use std::path::{Path, PathBuf};

use tapwatch_app::{AppConfig, AppFlow, AppOutput, AppProto, DetectOutcome};
use tapwatch_capture::CaptureReader;
use tapwatch_common::{Direction, Timestamp};
use tapwatch_wire::{decode, Transport};

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.join("corpus/verify-sample").is_dir().then_some(dir)
}

/// Replays the one TCP flow of `pcap` (the client is the SYN's sender) through an `AppFlow`.
fn replay(pcap: &Path) -> (AppFlow, Vec<AppOutput>) {
    let mut reader = CaptureReader::open(pcap).expect("open capture");
    let cfg = AppConfig::default();
    let mut flow = AppFlow::default();
    let mut out = Vec::new();
    let mut client_port = None;
    let mut server_port = 0;
    // The next expected sequence number per direction.
    let mut next: [Option<u32>; 2] = [None, None];
    let ts = Timestamp::new(0, 0);
    while let Some(pkt) = reader.next_packet() {
        let d = decode(pkt.link, pkt.data);
        let Transport::Tcp(tcp) = d.transport else {
            continue;
        };
        if tcp.flags.syn() && !tcp.flags.ack() {
            client_port = Some(tcp.src_port);
            server_port = tcp.dst_port;
        }
        let dir = if Some(tcp.src_port) == client_port {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let i = dir.index();
        if tcp.flags.syn() {
            next[i] = Some(tcp.seq.wrapping_add(1));
            continue;
        }
        if d.payload.is_empty() || next[i] != Some(tcp.seq) {
            continue;
        }
        next[i] = Some(tcp.seq.wrapping_add(d.payload.len() as u32));
        flow.on_stream_data(&cfg, server_port, dir, d.payload, ts, &mut out);
    }
    flow.finish(&cfg, ts, &mut out);
    (flow, out)
}

#[test]
fn verify_sample_captures() {
    let Some(shared) = shared() else {
        println!("skipped: shared corpus verify-sample not found");
        return;
    };
    let v = shared.join("corpus/verify-sample");

    let (flow, out) = replay(&v.join("ssh-newkeys/input.pcap"));
    assert_eq!(flow.outcome(), DetectOutcome::Detected(AppProto::Ssh));
    let info = flow.ssh().expect("ssh state");
    assert!(info.client_newkeys && info.server_newkeys);
    assert!(out.iter().any(|o| matches!(o, AppOutput::Ssh(_))));

    let (flow, out) = replay(&v.join("smb-eicar-andx/smbandx.pcap"));
    assert_eq!(flow.outcome(), DetectOutcome::Detected(AppProto::Smb));
    let eicar: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    let written: Vec<u8> = out
        .iter()
        .filter_map(|o| match o {
            AppOutput::FileData {
                proto: AppProto::Smb,
                dir: Direction::ToServer,
                data,
                ..
            } => Some(data.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        written.windows(eicar.len()).any(|w| w == eicar),
        "EICAR not in file data: {:?}",
        String::from_utf8_lossy(&written)
    );
    assert!(out.iter().any(|o| matches!(
        o,
        AppOutput::Smb(e) if e.file_name.as_deref() == Some(&br"\test.txt"[..])
    )));

    let (flow, out) = replay(&v.join("smb-named-pipe-ascii/input.pcap"));
    assert_eq!(flow.outcome(), DetectOutcome::Detected(AppProto::Smb));
    let pipes: Vec<&[u8]> = out
        .iter()
        .filter_map(|o| match o {
            AppOutput::Smb(e) => e.named_pipe.as_deref(),
            _ => None,
        })
        .collect();
    assert_eq!(pipes, [&br"\\127.0.0.1\IPC$"[..]]);
}
