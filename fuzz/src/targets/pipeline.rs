//! The whole packet path: the capture reader feeding the `tapwatch` binary's own worker
//! (decoder, defragmenter, flow table, reassembler, application layer, EVE writer), with small
//! limits so that every bound is reached.

use std::io::Cursor;
use std::num::NonZeroUsize;

use tapwatch_capture::{CaptureReader, ReaderLimits};
use tapwatch_pipeline::config::{AnomalyKind, Config};
use tapwatch_pipeline::worker::Worker;

use super::wire::LINKS;

/// Most packets processed per input.
const MAX_PACKETS: u64 = 20_000;

/// Runs a capture through every stage. An input that starts like a capture file (pcap,
/// pcapng, gzip) is read as one; any other input is a compact list of frames turned into a
/// pcap in memory: a link-type byte, then per frame a time step byte, a 2-byte big-endian
/// length and the frame.
pub fn pipeline(data: &[u8]) {
    let file = if is_capture(data) {
        data.to_vec()
    } else {
        build_pcap(data)
    };
    let limits = ReaderLimits {
        max_record_len: 65_535,
        resync_window: 4096,
        ..ReaderLimits::default()
    };
    let Ok(mut reader) =
        CaptureReader::from_reader_with_limits(Box::new(Cursor::new(file)), limits)
    else {
        return;
    };
    let config = small_config();
    let (max_flows, defrag_memcap, stream_memcap) = (
        config.flow.max_flows.get(),
        config.defrag.memcap_bytes.get(),
        config.stream.memcap_bytes.get(),
    );
    let mut worker = Worker::new(config, Some(Vec::new()));
    let mut n = 0u64;
    while let Some(p) = reader.next_packet() {
        n += 1;
        worker.process(n, &p);
        assert!(
            worker.active_flows() <= max_flows,
            "flow table over its bound"
        );
        assert!(
            worker.defrag_memory() <= defrag_memcap,
            "defrag over its memcap"
        );
        assert!(
            worker.stream_memory() <= stream_memcap,
            "stream over its memcap"
        );
        if n >= MAX_PACKETS {
            break;
        }
    }
    worker.finish().expect("writing EVE to memory cannot fail");
    assert_eq!(worker.counters().packets, n);
    assert_eq!(worker.active_flows(), 0, "flows left after finish");
    assert_eq!(worker.stream_memory(), 0, "stream memory left after finish");
    let eve = worker.into_eve().unwrap_or_default();
    for line in eve.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let record: serde_json::Value =
            serde_json::from_slice(line).expect("every EVE line is one JSON object");
        assert!(
            record.get("event_type").is_some(),
            "EVE record without event_type"
        );
    }
}

/// The default configuration with small bounds and every record and anomaly kind on.
fn small_config() -> Config {
    let nz = |v: usize| NonZeroUsize::new(v).unwrap_or(NonZeroUsize::MIN);
    let mut config = Config::default();
    config.flow.max_flows = nz(64);
    config.flow.tcp_midstream = true;
    config.defrag.memcap_bytes = nz(256 * 1024);
    config.defrag.max_trackers = nz(64);
    config.stream.memcap_bytes = nz(256 * 1024);
    config.decode.checksum_validation = true;
    config.eve.anomaly_types = vec![
        AnomalyKind::Decode,
        AnomalyKind::Stream,
        AnomalyKind::Applayer,
    ];
    config
}

/// Whether `data` starts with a capture file magic.
fn is_capture(data: &[u8]) -> bool {
    let m = data.get(..4).unwrap_or(&[]);
    m.starts_with(&[0x1f, 0x8b])
        || m == [0x0a, 0x0d, 0x0d, 0x0a]
        || m == [0xd4, 0xc3, 0xb2, 0xa1]
        || m == [0xa1, 0xb2, 0xc3, 0xd4]
        || m == [0x4d, 0x3c, 0xb2, 0xa1]
        || m == [0xa1, 0xb2, 0x3c, 0x4d]
}

/// A classic little-endian pcap holding the frames `data` describes.
pub(crate) fn build_pcap(data: &[u8]) -> Vec<u8> {
    let mut input = crate::input::Input::new(data);
    let link = LINKS
        .get(usize::from(input.u8()) % LINKS.len())
        .copied()
        .unwrap_or(tapwatch_common::LinkType::Ethernet);
    let mut out = Vec::with_capacity(data.len() + 64);
    out.extend_from_slice(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&link.linktype().to_le_bytes());
    let mut secs = 1_700_000_000u32;
    while !input.is_empty() {
        secs = secs.wrapping_add(u32::from(input.u8() >> 4));
        let len = usize::from(input.u16());
        let frame = input.bytes(len);
        for field in [secs, 0, frame.len() as u32, frame.len() as u32] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    out
}
