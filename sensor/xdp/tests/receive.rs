//! Privileged: the XDP program redirects into an AF_XDP socket on a veth end inside a
//! throwaway namespace, and the socket receives exactly the frames sent from the other end,
//! byte for byte, in driver mode, SKB mode, through the ladder, and with jumbo frames.
//! Prints `skipped: ...` and passes when not root or the tools are missing.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{
    assert_frames_eq, collect, frames, in_netns, skip_unless_privileged, BridgeNetns, NetnsPair,
    IFACE_A,
};
use tapwatch_xdp::xsk::{BindMode, XskConfig, XskSocket};
use tapwatch_xdp::{open_capture, LadderStep, XdpMode, XdpProgram};

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

/// `n` UDP frames of varied lengths (60 to ~1460 bytes), IPv4 and IPv6 mixed.
fn varied(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = 18 + (i as usize * 97) % 1400;
            if i % 3 == 0 {
                frames::udp(
                    ip("fd00::2"),
                    4000 + (i % 5) as u16,
                    ip("fd00::1"),
                    53,
                    None,
                    len,
                    i,
                )
            } else {
                let vlan = (i % 7 == 1).then_some(100);
                frames::udp(
                    ip("192.0.2.2"),
                    5000 + (i % 9) as u16,
                    ip("192.0.2.1"),
                    53,
                    vlan,
                    len,
                    i,
                )
            }
        })
        .collect()
}

fn receives_exactly_what_was_sent(test: &str, mode: XdpMode) {
    if skip_unless_privileged(test) {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let sent = varied(300);
    let (got, counters, socket_counters) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, mode).expect("load and attach");
        let (mut socket, report) =
            XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        // veth has no zero-copy support: the ladder falls to copy mode and says why.
        assert_eq!(report.mode, BindMode::Copy);
        assert_eq!(
            report.zerocopy_refused.as_ref().and_then(|e| e.errno()),
            Some(libc::EOPNOTSUPP)
        );
        program.register_socket(0, &socket).expect("register");
        pair.send(&sent).expect("send");
        let got = collect(
            &mut socket,
            sent.len(),
            Duration::from_secs(5),
            Duration::from_millis(200),
        );
        (
            got,
            program.counters().expect("counters"),
            socket.counters(),
        )
    });
    assert_eq!(got.len(), sent.len(), "frames received");
    assert_frames_eq(&got, &sent, "received frames");
    assert_eq!(counters.seen, 300);
    assert_eq!(counters.redirected, 300);
    assert_eq!(
        counters.passed + counters.bypassed + counters.filtered + counters.parse_errors,
        0
    );
    assert_eq!(socket_counters.packets, 300);
    assert_eq!(
        socket_counters.bytes,
        sent.iter().map(|f| f.len() as u64).sum::<u64>()
    );
    assert_eq!(socket_counters.joined, 0);
}

#[test]
fn driver_mode_receives_exactly_the_frames_sent() {
    receives_exactly_what_was_sent(
        "driver_mode_receives_exactly_the_frames_sent",
        XdpMode::Driver,
    );
}

#[test]
fn skb_mode_receives_exactly_the_frames_sent() {
    receives_exactly_what_was_sent("skb_mode_receives_exactly_the_frames_sent", XdpMode::Skb);
}

#[test]
fn ladder_reports_refused_zero_copy_and_receives() {
    if skip_unless_privileged("ladder_reports_refused_zero_copy_and_receives") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let sent = varied(50);
    let (report, got) = pair.in_a(|| {
        let mut capture = open_capture(IFACE_A, &[0], &XskConfig::default()).expect("ladder");
        pair.send(&sent).expect("send");
        let socket = capture.sockets.first_mut().expect("one socket");
        let got = collect(
            socket,
            sent.len(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        );
        (capture.report.clone(), got)
    });
    println!("ladder on veth: {:?}", report.refusals);
    assert_eq!(report.xdp_mode, XdpMode::Driver);
    assert_eq!(report.bind_mode, BindMode::Copy);
    assert_eq!(report.refusals.len(), 1, "{:?}", report.refusals);
    assert_eq!(report.refusals[0].step, LadderStep::DriverZeroCopyBind);
    assert_eq!(report.refusals[0].errno, Some(libc::EOPNOTSUPP));
    assert_frames_eq(&got, &sent, "frames through the ladder");
}

#[test]
fn jumbo_frames_arrive_joined_and_identical() {
    if skip_unless_privileged("jumbo_frames_arrive_joined_and_identical") {
        return;
    }
    let pair = NetnsPair::new(9000).expect("namespaces");
    // 8000-byte frames need five 2048-byte UMEM frames each (1792 bytes usable in copy
    // mode); small frames between them must stay single.
    let sent: Vec<Vec<u8>> = (0..40u32)
        .map(|i| {
            let len = if i % 2 == 0 {
                8000 - 42
            } else {
                100 + i as usize
            };
            frames::udp(ip("192.0.2.2"), 7000, ip("192.0.2.1"), 9, None, len, i)
        })
        .collect();
    let (got, counters, stats) = pair.in_a(|| {
        let mut program =
            XdpProgram::load(IFACE_A, XdpMode::Driver).expect("driver attach with MTU 9000");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        program.register_socket(0, &socket).expect("register");
        pair.send(&sent).expect("send");
        let got = collect(
            &mut socket,
            sent.len(),
            Duration::from_secs(5),
            Duration::from_millis(200),
        );
        (
            got,
            socket.counters(),
            socket.statistics().expect("statistics"),
        )
    });
    assert_eq!(sent[0].len(), 8000);
    assert_eq!(
        got.len(),
        sent.len(),
        "frames received; kernel statistics {stats:?}"
    );
    assert_frames_eq(&got, &sent, "received frames");
    assert_eq!(counters.joined, 20);
    assert_eq!(counters.oversize, 0);
}

#[test]
fn oversize_packets_are_counted_and_dropped() {
    if skip_unless_privileged("oversize_packets_are_counted_and_dropped") {
        return;
    }
    let pair = NetnsPair::new(9000).expect("namespaces");
    let big = frames::udp(ip("192.0.2.2"), 7000, ip("192.0.2.1"), 9, None, 6000, 1);
    let small = frames::udp(ip("192.0.2.2"), 7000, ip("192.0.2.1"), 9, None, 200, 2);
    let sent = vec![big.clone(), small.clone(), big, small.clone()];
    let config = XskConfig {
        max_packet_size: 4000,
        ..XskConfig::default()
    };
    let (got, counters) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &config).expect("bind");
        program.register_socket(0, &socket).expect("register");
        pair.send(&sent).expect("send");
        let got = collect(
            &mut socket,
            2,
            Duration::from_secs(5),
            Duration::from_millis(300),
        );
        (got, socket.counters())
    });
    assert_frames_eq(&got, &[small.clone(), small], "only the small frames");
    assert_eq!(counters.oversize, 2);
}

#[test]
fn statistics_account_for_every_frame_the_rings_refused() {
    if skip_unless_privileged("statistics_account_for_every_frame_the_rings_refused") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let sent = varied(200);
    // Tiny rings, and nobody receives while the frames arrive: the kernel must drop and count.
    let config = XskConfig {
        frame_count: 32,
        fill_ring_size: 16,
        rx_ring_size: 16,
        completion_ring_size: 16,
        ..XskConfig::default()
    };
    let (got, stats, counters) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &config).expect("bind");
        program.register_socket(0, &socket).expect("register");
        pair.send(&sent).expect("send");
        let stats = socket.statistics().expect("statistics");
        let got = collect(
            &mut socket,
            sent.len(),
            Duration::from_millis(300),
            Duration::ZERO,
        );
        (got, stats, program.counters().expect("counters"))
    });
    assert_eq!(counters.redirected, 200);
    assert_eq!(got.len(), 16, "the rx ring's worth; statistics {stats:?}");
    assert_frames_eq(&got, &sent[..16], "the first ring-full");
    assert_eq!(
        got.len() as u64 + stats.rx_dropped + stats.rx_ring_full,
        200,
        "every frame received or counted: {stats:?}"
    );
    assert_eq!(stats.rx_invalid_descs, 0);
}

#[test]
fn without_a_socket_frames_go_to_the_stack_counted_passed() {
    if skip_unless_privileged("without_a_socket_frames_go_to_the_stack_counted_passed") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let first = varied(20);
    let second = varied(30);
    let (got, before, after) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        program.register_socket(0, &socket).expect("register");
        pair.send(&first).expect("send");
        let got = collect(
            &mut socket,
            first.len(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        );
        let before = program.counters().expect("counters");
        // Closing the socket removes it from the socket map: its queue goes to the stack.
        drop(socket);
        pair.send(&second).expect("send");
        std::thread::sleep(Duration::from_millis(200));
        (got, before, program.counters().expect("counters"))
    });
    assert_frames_eq(&got, &first, "frames while the socket lived");
    assert_eq!((before.redirected, before.passed), (20, 0));
    assert_eq!((after.redirected, after.passed), (20, 30));
}

#[test]
fn truncated_headers_are_counted_and_still_inspected() {
    if skip_unless_privileged("truncated_headers_are_counted_and_still_inspected") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let whole = frames::udp(ip("192.0.2.2"), 1234, ip("192.0.2.1"), 53, None, 32, 1);
    let sent = vec![
        whole[..14 + 12].to_vec(),     // IPv4 header cut: addresses unknown
        whole[..14 + 20 + 2].to_vec(), // UDP header cut: ports unknown
        whole.clone(),
    ];
    let (got, counters) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        program.register_socket(0, &socket).expect("register");
        pair.send(&sent).expect("send");
        let got = collect(
            &mut socket,
            sent.len(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        );
        (got, program.counters().expect("counters"))
    });
    assert_frames_eq(&got, &sent, "malformed frames reach the sensor");
    assert_eq!(counters.parse_errors, 2);
    assert_eq!(counters.redirected, 3);
}

#[test]
fn ladder_falls_back_to_generic_mode_without_native_xdp() {
    if skip_unless_privileged("ladder_falls_back_to_generic_mode_without_native_xdp") {
        return;
    }
    // A bridge has no native XDP: driver attach is refused, SKB mode with a copy
    // socket is what remains.
    let ns = BridgeNetns::new("twxd").expect("namespace");
    let report = in_netns(&ns.name, || {
        let capture = open_capture("twxd", &[0], &XskConfig::default()).expect("ladder");
        assert_eq!(capture.program.mode(), XdpMode::Skb);
        capture.report
    });
    println!("ladder on a bridge: {:?}", report.refusals);
    assert_eq!(report.xdp_mode, XdpMode::Skb);
    assert_eq!(report.bind_mode, BindMode::Copy);
    let steps: Vec<LadderStep> = report.refusals.iter().map(|r| r.step).collect();
    assert_eq!(
        steps,
        vec![LadderStep::DriverAttach],
        "{:?}",
        report.refusals
    );
    assert!(report.refusals[0].errno.is_some(), "{:?}", report.refusals);
}
