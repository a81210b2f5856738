//! Behaviour tests of the defragmenter, with fragments built here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use proptest::prelude::*;
use tapwatch_common::Timestamp;

use crate::header::checksum;
use crate::{
    DefragConfig, DefragEvent, DefragOutcome, Defragmenter, DropReason, Fragment, OverlapPolicy,
};

const SRC4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const DST4: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
const SRC6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
const DST6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

/// An IPv4 header (20 bytes, or 24 with a NOP option block) as a fragment carries it.
fn v4_header(options: bool) -> Vec<u8> {
    let mut h = vec![0u8; if options { 24 } else { 20 }];
    h[0] = if options { 0x46 } else { 0x45 };
    h[6] = 0x40 | 0x20; // DF and MF set as captured; the defragmenter clears MF.
    h[7] = 0x03;
    h[8] = 64;
    h[9] = 17;
    h[10] = 0xde;
    h[11] = 0xad;
    h[12..16].copy_from_slice(&[192, 0, 2, 1]);
    h[16..20].copy_from_slice(&[198, 51, 100, 7]);
    if options {
        h[20..24].copy_from_slice(&[1, 1, 1, 0]);
    }
    h
}

/// An IPv6 header followed by a hop-by-hop header whose next header is the fragment header.
fn v6_header() -> Vec<u8> {
    let mut h = vec![0u8; 48];
    h[0] = 0x60;
    h[6] = 0; // hop-by-hop
    h[7] = 64;
    h[40] = 44; // fragment header follows
    h
}

fn frag<'a>(
    v6: bool,
    header: &'a [u8],
    offset: u32,
    more: bool,
    payload: &'a [u8],
) -> Fragment<'a> {
    Fragment {
        ts: Timestamp::new(1_000, 0),
        version: if v6 { 6 } else { 4 },
        src: if v6 { SRC6 } else { SRC4 },
        dst: if v6 { DST6 } else { DST4 },
        protocol: 17,
        id: 0x1234,
        offset,
        more,
        header,
        payload,
        context: 0,
    }
}

fn datagram(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// Splits `data` into fragments of `size` bytes (a multiple of 8): (offset, more, payload).
fn split(data: &[u8], size: usize) -> Vec<(u32, bool, &[u8])> {
    let n = data.len().div_ceil(size);
    data.chunks(size)
        .enumerate()
        .map(|(i, c)| ((i * size) as u32, i + 1 < n, c))
        .collect()
}

/// Inserts fragments in order; returns the packet if the last completed it, and every
/// fragment's events.
fn feed(
    d: &mut Defragmenter,
    v6: bool,
    header: &[u8],
    frags: &[(u32, bool, &[u8])],
) -> (Option<Vec<u8>>, Vec<Vec<DefragEvent>>) {
    let mut events = Vec::new();
    let mut packet = None;
    for (offset, more, payload) in frags {
        let out = d.insert(&frag(v6, header, *offset, *more, payload));
        events.push(out.events().iter().collect());
        if let DefragOutcome::Complete { packet: p, .. } = out {
            packet = Some(p.to_vec());
        }
    }
    (packet, events)
}

#[test]
fn in_order_ipv4_fixes_the_header() {
    let data = datagram(100);
    let header = v4_header(true);
    let mut d = Defragmenter::new(DefragConfig::default());
    let frags = split(&data, 32);
    let (packet, events) = feed(&mut d, false, &header, &frags);
    let packet = packet.expect("complete");
    assert_eq!(packet.len(), 124);
    assert_eq!(&packet[24..], &data[..]);
    assert_eq!(u16::from_be_bytes([packet[2], packet[3]]), 124);
    assert_eq!((packet[6], packet[7]), (0x40, 0)); // DF kept, MF and offset cleared
    assert_eq!(checksum(&packet[..24]), 0);
    assert_eq!(&packet[20..24], &[1, 1, 1, 0]);
    assert!(events.iter().all(Vec::is_empty));
    let s = d.stats();
    assert_eq!((s.ipv4_fragments, s.ipv4_reassembled), (4, 1));
    assert_eq!((s.trackers_in_use, s.bytes_in_use, s.overlaps), (0, 0, 0));
}

#[test]
fn reverse_order_completes_on_the_first_fragment() {
    let data = datagram(64);
    let header = v4_header(false);
    let mut d = Defragmenter::new(DefragConfig::default());
    let mut frags = split(&data, 16);
    frags.reverse();
    let (packet, _) = feed(&mut d, false, &header, &frags[..3]);
    assert!(packet.is_none());
    assert_eq!(d.stats().trackers_in_use, 1);
    assert!(d.stats().bytes_in_use >= 48);
    let (packet, _) = feed(&mut d, false, &header, &frags[3..]);
    assert_eq!(&packet.expect("complete")[20..], &data[..]);
}

#[test]
fn identical_duplicates_are_not_overlaps() {
    let data = datagram(48);
    let header = v4_header(false);
    let mut d = Defragmenter::new(DefragConfig::default());
    let f = split(&data, 16);
    let order = [f[0], f[1], f[1], f[0], f[2]];
    let (packet, events) = feed(&mut d, false, &header, &order);
    assert_eq!(&packet.expect("complete")[20..], &data[..]);
    assert!(events.iter().all(Vec::is_empty), "{events:?}");
    assert_eq!(d.stats().overlaps, 0);
}

#[test]
fn ipv6_with_extension_headers_before_the_fragment_header() {
    let data = datagram(200);
    let header = v6_header();
    let mut d = Defragmenter::new(DefragConfig::default());
    let mut frags = split(&data, 64);
    frags.swap(0, 2);
    let (packet, events) = feed(&mut d, true, &header, &frags);
    let packet = packet.expect("complete");
    assert_eq!(packet.len(), 48 + 200);
    assert_eq!(u16::from_be_bytes([packet[4], packet[5]]), 208);
    assert_eq!((packet[6], packet[40]), (0, 17));
    assert_eq!(&packet[48..], &data[..]);
    assert!(events.iter().all(Vec::is_empty));
    assert_eq!(d.stats().ipv6_reassembled, 1);
}

#[test]
fn tiny_first_fragment() {
    let data = datagram(40);
    let header = v4_header(false);
    let mut d = Defragmenter::new(DefragConfig::default());
    let frags = [(0, true, &data[..8]), (8, false, &data[8..])];
    let (packet, _) = feed(&mut d, false, &header, &frags);
    assert_eq!(&packet.expect("complete")[20..], &data[..]);
}

#[test]
fn ipv6_invalid_length_and_empty_fragments() {
    let header = v6_header();
    let mut d = Defragmenter::new(DefragConfig::default());
    let out = d.insert(&frag(true, &header, 0, true, &[0; 12]));
    assert_eq!(
        out,
        DefragOutcome::Dropped {
            reason: DropReason::InvalidLength,
            events: DefragEvent::Ipv6FragInvalidLength.into()
        }
    );
    let h4 = v4_header(false);
    let out = d.insert(&frag(false, &h4, 8, true, &[]));
    assert!(
        matches!(out, DefragOutcome::Dropped { reason: DropReason::InvalidLength, events } if events.is_empty())
    );
    let mut bad = frag(false, &h4, 0, true, &[0; 8]);
    bad.src = SRC6;
    assert!(matches!(
        d.insert(&bad),
        DefragOutcome::Dropped {
            reason: DropReason::Malformed,
            ..
        }
    ));
    assert!(matches!(
        d.insert(&frag(false, &h4[..12], 0, true, &[0; 8])),
        DefragOutcome::Dropped {
            reason: DropReason::Malformed,
            ..
        }
    ));
    assert_eq!(d.stats().invalid, 4);
    assert_eq!(d.stats().trackers_in_use, 0);
}

#[test]
fn too_large_drops_the_datagram() {
    let header = v4_header(false);
    let mut d = Defragmenter::new(DefragConfig::default());
    assert!(matches!(
        d.insert(&frag(false, &header, 0, true, &[1; 8])),
        DefragOutcome::Pending { .. }
    ));
    // 20 + 65_512 + 8 = 65_540 > 65_535.
    let out = d.insert(&frag(false, &header, 65_512, false, &[2; 8]));
    assert_eq!(
        out,
        DefragOutcome::Dropped {
            reason: DropReason::TooLarge,
            events: DefragEvent::Ipv4FragPktTooLarge.into()
        }
    );
    assert_eq!(
        (
            d.stats().too_large,
            d.stats().trackers_in_use,
            d.stats().bytes_in_use
        ),
        (1, 0, 0)
    );
    // The largest legal datagram fits exactly.
    let out = d.insert(&frag(false, &header, 65_512, false, &[2; 3]));
    assert!(matches!(out, DefragOutcome::Pending { events } if events.is_empty()));

    let h6 = v6_header();
    // IPv6 payload length counts the 8-byte hop-by-hop header: 8 + 65_528 + 8 > 65_535.
    let out = d.insert(&frag(true, &h6, 65_528, false, &[0; 8]));
    assert_eq!(
        out.events().iter().collect::<Vec<_>>(),
        [DefragEvent::Ipv6FragPktTooLarge]
    );
}

#[test]
fn timeout_expires_and_restarts() {
    let header = v4_header(false);
    let cfg = DefragConfig {
        timeout: Duration::from_secs(10),
        ..DefragConfig::default()
    };
    let mut d = Defragmenter::new(cfg);
    let mut f = frag(false, &header, 0, true, &[1; 8]);
    d.insert(&f);
    d.expire(Timestamp::new(1_010, 0));
    assert_eq!(d.stats().trackers_in_use, 1);
    d.expire(Timestamp::new(1_010, 1));
    assert_eq!(
        (
            d.stats().trackers_in_use,
            d.stats().ipv4_timeouts,
            d.stats().bytes_in_use
        ),
        (0, 1, 0)
    );

    // A fragment arriving after the timeout starts over instead of completing stale data.
    d.insert(&f);
    f.ts = Timestamp::new(1_020, 1);
    f.offset = 8;
    f.more = false;
    assert!(matches!(d.insert(&f), DefragOutcome::Pending { .. }));
    assert_eq!(d.stats().ipv4_timeouts, 2);
}

#[test]
fn memcap_evicts_the_oldest_datagram_first() {
    let header = v4_header(false);
    let cfg = DefragConfig {
        memcap_bytes: 3 * (256 + 32 + 20 + 100),
        ..DefragConfig::default()
    };
    let mut d = Defragmenter::new(cfg);
    let payload = [9u8; 100];
    for id in 0..3 {
        let mut f = frag(false, &header, 0, true, &payload);
        f.id = id;
        assert!(matches!(d.insert(&f), DefragOutcome::Pending { .. }));
    }
    assert_eq!(d.stats().trackers_in_use, 3);
    assert_eq!(d.stats().bytes_in_use, cfg.memcap_bytes);
    // Touch datagram 0 so that datagram 1 is the oldest.
    let mut f = frag(false, &header, 200, true, &[]);
    f.id = 0;
    f.more = false;
    d.insert(&f);
    let mut f = frag(false, &header, 0, true, &payload);
    f.id = 3;
    assert!(matches!(d.insert(&f), DefragOutcome::Pending { .. }));
    assert_eq!(d.stats().memcap_drops, 1);
    assert_eq!(d.stats().trackers_in_use, 3);
    assert!(d.stats().bytes_in_use <= cfg.memcap_bytes);
    // Datagram 1 is gone: its second half starts a new tracker and does not complete.
    let mut f = frag(false, &header, 100, false, &[1; 4]);
    f.id = 1;
    assert!(matches!(d.insert(&f), DefragOutcome::Pending { .. }));
    // Datagram 0 survived.
    let mut f = frag(false, &header, 100, true, &[1; 100]);
    f.id = 0;
    assert!(matches!(d.insert(&f), DefragOutcome::Complete { .. }));

    // A fragment larger than the whole memcap is refused.
    let mut d = Defragmenter::new(DefragConfig {
        memcap_bytes: 300,
        ..DefragConfig::default()
    });
    let out = d.insert(&frag(false, &header, 0, true, &[0; 64]));
    assert_eq!(
        out,
        DefragOutcome::Dropped {
            reason: DropReason::Memcap,
            events: DefragEvent::Ipv4FragIgnored.into()
        }
    );
    assert_eq!((d.stats().trackers_in_use, d.stats().bytes_in_use), (0, 0));
}

#[test]
fn tracker_and_fragment_limits() {
    let header = v4_header(false);
    let mut d = Defragmenter::new(DefragConfig {
        max_trackers: 2,
        max_fragments_per_datagram: 2,
        ..DefragConfig::default()
    });
    for id in 0..3 {
        let mut f = frag(false, &header, 0, true, &[0; 8]);
        f.id = id;
        d.insert(&f);
    }
    assert_eq!(
        (d.stats().trackers_in_use, d.stats().max_trackers_reached),
        (2, 1)
    );
    let mut f = frag(false, &header, 8, true, &[0; 8]);
    f.id = 2;
    assert!(matches!(d.insert(&f), DefragOutcome::Pending { .. }));
    f.offset = 16;
    let out = d.insert(&f);
    assert_eq!(
        out,
        DefragOutcome::Dropped {
            reason: DropReason::TooManyFragments,
            events: DefragEvent::Ipv4FragIgnored.into()
        }
    );
    assert_eq!(d.stats().max_frags_reached, 1);
}

#[test]
fn context_and_protocol_separate_datagrams() {
    let header = v4_header(false);
    let mut d = Defragmenter::new(DefragConfig::default());
    d.insert(&frag(false, &header, 0, true, &[1; 8]));
    let mut other_vlan = frag(false, &header, 8, false, &[2; 8]);
    other_vlan.context = 5;
    assert!(matches!(
        d.insert(&other_vlan),
        DefragOutcome::Pending { .. }
    ));
    let mut other_proto = frag(false, &header, 8, false, &[2; 8]);
    other_proto.protocol = 6;
    assert!(matches!(
        d.insert(&other_proto),
        DefragOutcome::Pending { .. }
    ));
    assert_eq!(d.stats().trackers_in_use, 3);
    assert!(matches!(
        d.insert(&frag(false, &header, 8, false, &[2; 8])),
        DefragOutcome::Complete { .. }
    ));
}

/// Five overlapping fragments (extents in 8-byte blocks) on which all seven policies
/// disagree: A 0..3, B 2..5, C 3..6, D 0..4, then E 1..6 (the last fragment).
#[test]
fn each_policy_on_a_crafted_overlap_pattern() {
    let extents = [(0u32, 3u32), (2, 5), (3, 6), (0, 4), (1, 6)];
    let expected = [
        (OverlapPolicy::First, "AAABBC"),
        (OverlapPolicy::Last, "DEEEEE"),
        (OverlapPolicy::Bsd, "AAADEE"),
        (OverlapPolicy::BsdRight, "DEECCC"),
        (OverlapPolicy::Linux, "DDDDEE"),
        (OverlapPolicy::Windows, "AAAEEC"),
        (OverlapPolicy::Solaris, "AAAEEE"),
    ];
    let payloads: Vec<Vec<u8>> = extents
        .iter()
        .zip(b"ABCDE")
        .map(|((s, e), c)| vec![*c; ((e - s) * 8) as usize])
        .collect();
    for v6 in [false, true] {
        let header = if v6 { v6_header() } else { v4_header(false) };
        for (policy, want) in expected {
            let mut d = Defragmenter::new(DefragConfig {
                policy,
                ..DefragConfig::default()
            });
            let frags: Vec<_> = extents
                .iter()
                .zip(&payloads)
                .enumerate()
                .map(|(i, ((s, _), p))| (s * 8, i < 4, &p[..]))
                .collect();
            let (packet, events) = feed(&mut d, v6, &header, &frags);
            let packet = packet.unwrap_or_else(|| panic!("{} did not complete", policy.name()));
            let blocks: String = packet[header.len()..]
                .chunks(8)
                .map(|c| c[0] as char)
                .collect();
            assert_eq!(blocks, want, "policy {} (v6: {v6})", policy.name());
            // Every fragment after the first overlaps earlier data that differs.
            let overlap = DefragEvent::overlap(v6);
            assert_eq!(events[0], []);
            assert!(events[1..].iter().all(|e| e == &[overlap]), "{events:?}");
            assert_eq!(d.stats().overlaps, 4);
        }
    }
}

/// The per-byte rule the policies are documented by: fragments in arrival order, each byte
/// taken by a later fragment when the policy says so.
fn reference(policy: OverlapPolicy, frags: &[(u32, Vec<u8>)], len: usize) -> Option<Vec<u8>> {
    let mut owner: Vec<Option<usize>> = vec![None; len];
    for (i, (start, data)) in frags.iter().enumerate() {
        let end = *start as usize + data.len();
        for byte in (*start as usize..end).filter(|b| *b < len) {
            let wins = match owner[byte] {
                None => true,
                Some(o) => {
                    let (os, od) = &frags[o];
                    policy.new_wins((*start, end as u32), (*os, *os + od.len() as u32))
                }
            };
            if wins {
                owner[byte] = Some(i);
            }
        }
    }
    owner
        .iter()
        .enumerate()
        .map(|(b, o)| o.map(|i| frags[i].1[b - frags[i].0 as usize]))
        .collect()
}

fn policy_strategy() -> impl Strategy<Value = OverlapPolicy> {
    (0usize..7).prop_map(|i| OverlapPolicy::ALL[i])
}

proptest! {
    #[test]
    fn permutations_reassemble_the_original(
        len in 1usize..600,
        size_blocks in 1usize..10,
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
        v6 in any::<bool>(),
        policy in policy_strategy(),
    ) {
        let data = datagram(len);
        let header = if v6 { v6_header() } else { v4_header(false) };
        let mut frags = split(&data, size_blocks * 8);
        // A deterministic shuffle from the drawn seed.
        let mut seed = order;
        for i in (1..frags.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            frags.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut d = Defragmenter::new(DefragConfig { policy, ..DefragConfig::default() });
        let (packet, events) = feed(&mut d, v6, &header, &frags);
        let packet = packet.expect("complete");
        prop_assert_eq!(&packet[header.len()..], &data[..]);
        prop_assert!(events.iter().all(Vec::is_empty));
        prop_assert_eq!(d.stats().bytes_in_use, 0);
    }

    #[test]
    fn overlaps_follow_the_documented_rule(
        policy in policy_strategy(),
        pieces in prop::collection::vec((0u32..12, 1u32..6, any::<u8>()), 1..8),
    ) {
        // Fragments in 8-byte blocks; a final one makes the datagram 12 blocks long.
        let mut frags: Vec<(u32, Vec<u8>)> = pieces
            .iter()
            .map(|(s, l, b)| (s * 8, vec![*b; (l.min(&(12 - s)) * 8) as usize]))
            .collect();
        frags.insert(0, (0, vec![0xaa; 8]));
        frags.push((88, vec![0xbb; 8]));
        let header = v4_header(false);
        let mut d = Defragmenter::new(DefragConfig { policy, ..DefragConfig::default() });
        let mut got = None;
        for (i, (start, data)) in frags.iter().enumerate() {
            let last = i + 1 == frags.len();
            if let DefragOutcome::Complete { packet, .. } = d.insert(&frag(false, &header, *start, !last, data)) {
                prop_assert!(last, "completed early");
                got = Some(packet[20..].to_vec());
            }
        }
        let want = reference(policy, &frags, 96);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_fragments_never_panic(
        frags in prop::collection::vec(
            (any::<bool>(), 0u32..4, 0u32..70_000, any::<bool>(), 0usize..70, prop::collection::vec(any::<u8>(), 0..120), 0u64..3, 0u8..7),
            1..60,
        ),
        policy in policy_strategy(),
    ) {
        let cfg = DefragConfig {
            memcap_bytes: 2_000,
            max_trackers: 4,
            timeout: Duration::from_secs(5),
            max_fragments_per_datagram: 8,
            policy,
        };
        let mut d = Defragmenter::new(cfg);
        let header = [0x45u8; 80];
        for (i, (v6, id, offset, more, hlen, payload, ctx, version)) in frags.iter().enumerate() {
            let mut f = frag(*v6, &header[..*hlen], *offset, *more, payload);
            f.id = *id;
            f.context = *ctx;
            if *version < 2 { f.version = *version; }
            f.ts = Timestamp::new(i as i64, 0);
            let out = d.insert(&f);
            if let DefragOutcome::Complete { packet, .. } = out {
                prop_assert!(packet.len() >= 20 && packet.len() <= 65_535 + 40);
            }
            prop_assert!(d.stats().bytes_in_use <= cfg.memcap_bytes);
            prop_assert!(d.stats().trackers_in_use <= cfg.max_trackers);
            if i % 7 == 0 {
                d.expire(Timestamp::new(i as i64, 0));
            }
        }
        d.expire(Timestamp::new(1_000, 0));
        prop_assert_eq!(d.stats().trackers_in_use, 0);
        prop_assert_eq!(d.stats().bytes_in_use, 0);
    }
}
