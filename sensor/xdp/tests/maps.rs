//! Privileged: the program's maps at work on a veth end inside a throwaway namespace: flow
//! bypass (drop in the kernel, count per direction, sweep idle entries) and the
//! monitored-prefix filter. Prints `skipped: ...` and passes when not root or tools are missing.

mod common;

use std::net::IpAddr;
use std::thread::sleep;
use std::time::Duration;

use common::{assert_frames_eq, collect, frames, skip_unless_privileged, NetnsPair, IFACE_A};
use tapwatch_xdp::xsk::{XskConfig, XskSocket};
use tapwatch_xdp::{Endpoint, FlowKey, KeyDirection, Prefix, XdpMode, XdpProgram};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn ep(s: &str, port: u16) -> Endpoint {
    Endpoint::new(ip(s), port)
}

fn total(frames: &[&Vec<u8>]) -> u64 {
    frames.iter().map(|f| f.len() as u64).sum()
}

#[test]
fn bypassed_flows_are_dropped_in_the_kernel_counted_and_swept() {
    if skip_unless_privileged("bypassed_flows_are_dropped_in_the_kernel_counted_and_swept") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let udp = frames::udp;
    // Flow X (bypassed, both directions), flow Y (inspected), flow X on VLAN 100 (another
    // flow: inspected), an IPv6 flow behind a hop-by-hop header (bypassed), and IPv4
    // fragments between two hosts (bypassed under ports 0) next to an unfragmented datagram.
    let mut sent = Vec::new();
    let (mut x_fwd, mut x_rev, mut expected) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..60u32 {
        let x = if i % 2 == 0 {
            udp(
                ip("192.0.2.2"),
                5000,
                ip("192.0.2.1"),
                53,
                None,
                40 + i as usize,
                i,
            )
        } else {
            udp(
                ip("192.0.2.1"),
                53,
                ip("192.0.2.2"),
                5000,
                None,
                300 + i as usize,
                i,
            )
        };
        if i % 2 == 0 {
            x_fwd.push(x.clone())
        } else {
            x_rev.push(x.clone())
        }
        sent.push(x);
        let y = udp(ip("192.0.2.3"), 6000, ip("192.0.2.1"), 53, None, 80, i);
        expected.push(y.clone());
        sent.push(y);
        if i % 10 == 0 {
            let z = udp(ip("192.0.2.2"), 5000, ip("192.0.2.1"), 53, Some(100), 50, i);
            expected.push(z.clone());
            sent.push(z);
        }
        if i % 20 == 0 {
            sent.push(frames::udp6_hop_by_hop(
                ip("fd00::2"),
                7000,
                ip("fd00::1"),
                80,
                64,
                i,
            ));
            let frag = udp(ip("192.0.2.7"), 1111, ip("192.0.2.8"), 2222, None, 120, i);
            sent.push(frames::ipv4_fragment(frag.clone(), true, 0));
            sent.push(frames::ipv4_fragment(frag.clone(), false, 16));
            expected.push(frag.clone()); // unfragmented: ports known, not bypassed
            sent.push(frag);
        }
    }
    // Inserted from the reply's point of view: the canonical key is the same.
    let (x_key, x_dir) = FlowKey::new([0, 0], 17, ep("192.0.2.1", 53), ep("192.0.2.2", 5000));
    assert_eq!(x_dir, KeyDirection::LoToHi);
    let (v6_key, _) = FlowKey::new([0, 0], 17, ep("fd00::2", 7000), ep("fd00::1", 80));
    let (frag_key, _) = FlowKey::new([0, 0], 17, ep("192.0.2.7", 0), ep("192.0.2.8", 0));
    let after_sweep = vec![udp(
        ip("192.0.2.2"),
        5000,
        ip("192.0.2.1"),
        53,
        None,
        40,
        999,
    )];

    let outcome = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        program.register_socket(0, &socket).expect("register");
        for key in [&x_key, &v6_key, &frag_key] {
            assert!(program.bypass_insert(key).expect("insert"));
        }
        assert!(
            !program.bypass_insert(&x_key).expect("insert again"),
            "already bypassed"
        );
        pair.send(&sent).expect("send");
        let got = collect(
            &mut socket,
            expected.len(),
            Duration::from_secs(5),
            Duration::from_millis(200),
        );
        let counters = program.counters().expect("counters");
        let x_value = program
            .bypass_get(&x_key)
            .expect("get")
            .expect("X still bypassed");
        let v6_value = program
            .bypass_get(&v6_key)
            .expect("get")
            .expect("v6 still bypassed");
        let frag_value = program
            .bypass_get(&frag_key)
            .expect("get")
            .expect("frag still bypassed");
        let kept = program
            .bypass_sweep(Duration::from_secs(30))
            .expect("sweep");
        sleep(Duration::from_millis(400));
        let mut removed = Vec::new();
        let swept = program
            .bypass_sweep_with(Duration::from_millis(200), |k, v| removed.push((k, v)))
            .expect("sweep");
        let left = program.bypass_len().expect("len");
        pair.send(&after_sweep).expect("send");
        let got_after = collect(
            &mut socket,
            1,
            Duration::from_secs(5),
            Duration::from_millis(100),
        );
        (
            got, counters, x_value, v6_value, frag_value, kept, swept, removed, left, got_after,
        )
    });
    let (got, counters, x_value, v6_value, frag_value, kept, swept, removed, left, got_after) =
        outcome;

    assert_eq!(got.len(), expected.len(), "frames received");
    assert_frames_eq(
        &got,
        &expected,
        "only the flows not bypassed arrive, unchanged",
    );
    let x_fwd_refs: Vec<&Vec<u8>> = x_fwd.iter().collect();
    let x_rev_refs: Vec<&Vec<u8>> = x_rev.iter().collect();
    // The key's lo endpoint is 192.0.2.1:53, so the replies (from it) are LoToHi.
    assert_eq!(x_value.packets, [30, 30]);
    assert_eq!(
        x_value.bytes,
        [total(&x_rev_refs), total(&x_fwd_refs)],
        "bytes per direction"
    );
    assert_eq!(v6_value.packets.iter().sum::<u64>(), 3);
    assert_eq!(frag_value.packets.iter().sum::<u64>(), 6);
    assert_eq!(counters.bypassed, 60 + 3 + 6);
    assert_eq!(counters.fragments, 6);
    assert_eq!(counters.redirected, expected.len() as u64);
    assert_eq!(counters.seen, sent.len() as u64);

    assert_eq!(kept, 0, "nothing idle for 30 s");
    assert_eq!(swept, 3, "all three idle for 200 ms");
    assert_eq!(removed.len(), 3);
    assert!(removed
        .iter()
        .any(|(k, v)| *k == x_key && v.packets == [30, 30]));
    assert_eq!(left, 0);
    assert_frames_eq(&got_after, &after_sweep, "a swept flow is inspected again");
}

#[test]
fn monitored_prefix_filter_passes_everything_else_to_the_stack() {
    if skip_unless_privileged("monitored_prefix_filter_passes_everything_else_to_the_stack") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let f = |s: &str, d: &str, i: u32| frames::udp(ip(s), 1000, ip(d), 2000, None, 64, i);
    let mut sent = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5 {
        let inside = [
            f("192.0.2.2", "198.51.100.1", i), // source monitored
            f("198.51.100.1", "192.0.2.5", i), // destination monitored
            f("fd00:0:0:1::1", "fd00:0:0:2::1", i),
        ];
        let outside = [
            f("198.51.100.1", "203.0.113.9", i),
            f("192.0.2.100", "198.51.100.1", i), // beyond the /28
            f("fd00:0:0:2::1", "fd00:0:0:3::1", i),
            frames::arp(),
        ];
        expected.extend(inside.iter().cloned());
        sent.extend(inside);
        sent.extend(outside);
    }
    let unfiltered = vec![f("198.51.100.1", "203.0.113.9", 9), frames::arp()];
    let prefixes: Vec<Prefix> = ["192.0.2.0/28", "fd00:0:0:1::/64"]
        .iter()
        .map(|p| p.parse().expect("prefix"))
        .collect();

    let (got, counters, got_off, counters_off) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        program.register_socket(0, &socket).expect("register");
        program.set_monitored_prefixes(&prefixes).expect("prefixes");
        pair.send(&sent).expect("send");
        let got = collect(
            &mut socket,
            expected.len(),
            Duration::from_secs(5),
            Duration::from_millis(200),
        );
        let counters = program.counters().expect("counters");
        program.set_monitored_prefixes(&[]).expect("filter off");
        pair.send(&unfiltered).expect("send");
        let got_off = collect(
            &mut socket,
            unfiltered.len(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        );
        (
            got,
            counters,
            got_off,
            program.counters().expect("counters"),
        )
    });
    assert_frames_eq(
        &got,
        &expected,
        "only frames touching a monitored prefix arrive",
    );
    assert_eq!(counters.filtered, 20);
    assert_eq!(counters.non_ip, 5);
    assert_eq!(counters.redirected, 15);
    assert_frames_eq(
        &got_off,
        &unfiltered,
        "with no prefix the filter is off, ARP included",
    );
    assert_eq!(counters_off.filtered, 20);
    assert_eq!(counters_off.redirected, 17);
}
