//! The defragmenter over a sequence of fragments and expiries decoded from the input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tapwatch_common::Timestamp;
use tapwatch_defrag::{DefragConfig, DefragOutcome, Defragmenter, OverlapPolicy};
use tapwatch_wire::Decoded;

use crate::input::Input;

/// Most operations run per input.
const MAX_OPS: usize = 4096;

/// Inserts fragments and expires datagrams; after every step the memcap and tracker limit
/// hold, and every completed datagram has a consistent length field and decodes.
pub fn defrag(data: &[u8]) {
    let mut input = Input::new(data);
    let cfg = DefragConfig {
        memcap_bytes: 256 + usize::from(input.u16()) % 16_384,
        max_trackers: 1 + usize::from(input.u8() % 8),
        timeout: Duration::from_secs(u64::from(input.u8() % 8)),
        max_fragments_per_datagram: 1 + usize::from(input.u8() % 32),
        policy: input
            .choose(&OverlapPolicy::ALL)
            .unwrap_or(OverlapPolicy::Bsd),
    };
    let mut d = Defragmenter::new(cfg);
    let mut secs = 1_000i64;
    let mut header = [0u8; 60];
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        secs += i64::from(op >> 6);
        let ts = Timestamp::new(secs, 0);
        if op & 0x3f == 0x3f {
            d.expire(ts);
            check(&d, &cfg);
            continue;
        }
        let v6 = op & 1 == 1;
        let pair = input.u8();
        let (src, dst) = addresses(v6, pair);
        let offset_units = u32::from(input.u16());
        let flags = input.u8();
        let more = flags & 1 == 1;
        // Mostly 8-byte aligned offsets near the start, sometimes anything.
        let offset = if flags & 2 == 0 {
            (offset_units % 64) * 8
        } else {
            offset_units * 8 + u32::from(flags >> 5)
        };
        let header_len = if v6 {
            40 + usize::from(flags >> 6) * 8
        } else if flags & 4 == 0 {
            20
        } else {
            usize::from(flags >> 2) % 16 * 4
        };
        let header_len = header_len.min(header.len());
        header.fill(0);
        if let Some(first) = header.first_mut() {
            *first = if v6 {
                0x60
            } else {
                0x40 | (header_len / 4) as u8
            };
        }
        let payload_len = usize::from(input.u8() % 128);
        let payload = input.bytes(payload_len);
        let frag = tapwatch_defrag::Fragment {
            ts,
            version: if flags & 8 == 8 && flags & 16 == 16 {
                5
            } else if v6 {
                6
            } else {
                4
            },
            src,
            dst,
            protocol: if v6 { 17 } else { (pair >> 4) % 3 + 16 },
            id: u32::from(pair >> 6),
            offset,
            more,
            header: header.get(..header_len).unwrap_or(&[]),
            payload,
            context: u64::from(op >> 7),
        };
        let complete = match d.insert(&frag) {
            DefragOutcome::Complete { packet, .. } => Some(packet.to_vec()),
            DefragOutcome::Pending { .. } | DefragOutcome::Dropped { .. } => None,
        };
        if let Some(packet) = complete {
            check_datagram(&packet, v6);
        }
        check(&d, &cfg);
    }
    d.expire(Timestamp::new(secs + 3_600, 0));
    check(&d, &cfg);
    assert_eq!(
        d.stats().trackers_in_use,
        0,
        "datagrams left after the timeout"
    );
}

fn check(d: &Defragmenter, cfg: &DefragConfig) {
    let s = d.stats();
    assert!(
        s.bytes_in_use <= cfg.memcap_bytes,
        "{} bytes in use over the memcap {}",
        s.bytes_in_use,
        cfg.memcap_bytes
    );
    assert!(s.trackers_in_use <= cfg.max_trackers);
}

/// A completed datagram: its length field agrees with its length, and it decodes.
fn check_datagram(packet: &[u8], v6: bool) {
    if v6 {
        assert!(packet.len() >= 40 && packet.len() <= 65_535 + 40);
        let plen = packet.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]));
        assert_eq!(plen.map(usize::from), Some(packet.len() - 40));
    } else {
        assert!(packet.len() >= 20 && packet.len() <= 65_535);
        let total = packet.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]]));
        assert_eq!(total.map(usize::from), Some(packet.len()));
    }
    let decoded = tapwatch_wire::decode_ip(packet, &Decoded::default());
    super::wire::check(&decoded, packet);
}

/// One of four address pairs of the family.
fn addresses(v6: bool, pair: u8) -> (IpAddr, IpAddr) {
    let a = pair & 3;
    if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(a))),
            IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)),
            IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
        )
    }
}
