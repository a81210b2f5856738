//! Privileged: an idle receiver sleeps in `poll` instead of spinning, and busy polling can be
//! turned on. Prints `skipped: ...` and passes when not root or tools are missing.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{assert_frames_eq, collect, frames, skip_unless_privileged, NetnsPair, IFACE_A};
use tapwatch_xdp::xsk::{BusyPoll, XskConfig, XskSocket};
use tapwatch_xdp::{XdpMode, XdpProgram};

/// CPU time (user + system) of the calling thread, from `/proc/thread-self/stat`, in clock
/// ticks (10 ms each on this kernel's USER_HZ of 100).
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("thread stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn an_idle_receiver_sleeps_in_poll() {
    if skip_unless_privileged("an_idle_receiver_sleeps_in_poll") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let (wall, cpu_ticks, empty) = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &XskConfig::default()).expect("bind");
        program.register_socket(0, &socket).expect("register");
        let start = Instant::now();
        let cpu = thread_cpu_ticks();
        let mut empty = true;
        for _ in 0..6 {
            empty &= socket
                .rx_batch(64, Duration::from_millis(100))
                .expect("rx")
                .is_empty();
        }
        (start.elapsed(), thread_cpu_ticks() - cpu, empty)
    });
    assert!(empty, "nothing was sent");
    assert!(
        wall >= Duration::from_millis(590),
        "each call waited its timeout: {wall:?}"
    );
    assert!(
        cpu_ticks <= 5,
        "600 ms idle cost {cpu_ticks} ticks of CPU: spinning?"
    );
}

#[test]
fn busy_poll_socket_receives() {
    if skip_unless_privileged("busy_poll_socket_receives") {
        return;
    }
    let pair = NetnsPair::new(1500).expect("namespaces");
    let ip = |s: &str| -> IpAddr { s.parse().expect("address") };
    let sent: Vec<Vec<u8>> = (0..100u32)
        .map(|i| {
            frames::udp(
                ip("192.0.2.2"),
                9000,
                ip("192.0.2.1"),
                9,
                None,
                64 + i as usize,
                i,
            )
        })
        .collect();
    let config = XskConfig {
        busy_poll: Some(BusyPoll {
            usecs: 20,
            budget: 64,
        }),
        ..XskConfig::default()
    };
    let got = pair.in_a(|| {
        let mut program = XdpProgram::load(IFACE_A, XdpMode::Driver).expect("attach");
        let (mut socket, _) = XskSocket::bind(IFACE_A, 0, &config).expect("bind with busy poll");
        program.register_socket(0, &socket).expect("register");
        pair.send(&sent).expect("send");
        collect(
            &mut socket,
            sent.len(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        )
    });
    assert_frames_eq(&got, &sent, "frames with busy polling on");
}
