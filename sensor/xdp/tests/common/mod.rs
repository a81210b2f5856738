//! Test support: throwaway network namespaces joined by a veth pair, frames written to a pcap
//! and sent with tcpreplay from namespace B, and receiving from an AF_XDP socket in A.
//!
//! Nothing here touches an interface or address outside the namespaces a test creates.
#![allow(dead_code, reason = "each test binary uses a different part")]

pub mod frames;
mod netns;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU32, Ordering};

use tapwatch_testkit::netns as veth;
use tapwatch_xdp::xsk::XskSocket;

/// Interface name of the veth end in namespace A (where the capture runs).
pub const IFACE_A: &str = "twxa";
/// Interface name of the veth end in namespace B (where frames are sent from).
pub const IFACE_B: &str = "twxb";

/// Prints the skip line and returns true when the test cannot run here.
pub fn skip_unless_privileged(test: &str) -> bool {
    veth::skip_unless_privileged(test, &["ip", "tcpreplay"])
}

/// Runs `ip` with `args`.
pub fn ip(args: &[&str]) -> Result<(), String> {
    veth::ip(args).map(|_| ())
}

/// Two namespaces `twx-<pid>-<n>-a` and `-b`, a veth pair between them, both deleted on drop.
#[derive(Debug)]
pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pcap: PathBuf,
    _pair: veth::VethPair,
}

impl NetnsPair {
    /// Creates the namespaces and the pair, with `mtu` on both ends, links up, IPv6 off (so
    /// the kernel sends nothing of its own over the pair).
    pub fn new(mtu: u32) -> Result<Self, String> {
        let pair = veth::VethPair::new("twx", (IFACE_A, IFACE_B), 1, Some(mtu))?;
        Ok(Self {
            a: pair.a.clone(),
            b: pair.b.clone(),
            pcap: std::env::temp_dir().join(format!("{}.pcap", pair.a)),
            _pair: pair,
        })
    }

    /// Runs `body` in a thread whose network namespace is A; returns its result.
    pub fn in_a<R: Send>(&self, body: impl FnOnce() -> R + Send) -> R {
        in_netns(&self.a, body)
    }

    /// Sends `frames` from B's veth end with tcpreplay (about 20,000 frames per second).
    pub fn send(&self, frames: &[Vec<u8>]) -> Result<(), String> {
        frames::write_pcap(&self.pcap, frames).map_err(|e| format!("writing pcap: {e}"))?;
        veth::run(
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.b,
                    "tcpreplay",
                    "-q",
                    "--pps=20000",
                    "-i",
                    IFACE_B,
                ])
                .arg(&self.pcap),
        )
        .map(|_| ())
    }
}

impl Drop for NetnsPair {
    /// Removes the pcap; the namespaces go with the `VethPair`.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pcap);
    }
}

/// Runs `body` in a thread whose network namespace is `name`; returns its result.
pub fn in_netns<R: Send>(name: &str, body: impl FnOnce() -> R + Send) -> R {
    let path = format!("/var/run/netns/{name}");
    std::thread::scope(|s| {
        s.spawn(|| {
            netns::enter(&path).expect("enter namespace");
            body()
        })
        .join()
        .expect("namespace thread panicked")
    })
}

/// One namespace `twx-<pid>-<n>-d` holding a bridge interface (no native XDP; this kernel has no `dummy` module), deleted on
/// drop.
#[derive(Debug)]
pub struct BridgeNetns {
    pub name: String,
}

impl BridgeNetns {
    /// Creates the namespace and an up bridge interface named `iface` in it.
    pub fn new(iface: &str) -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let ns = Self {
            name: format!("twx-{}-{n}-d", std::process::id()),
        };
        ip(&["netns", "add", &ns.name])?;
        ip(&["-n", &ns.name, "link", "add", iface, "type", "bridge"])?;
        ip(&["-n", &ns.name, "link", "set", iface, "up"])?;
        Ok(ns)
    }
}

impl Drop for BridgeNetns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Receives until `expected` frames came or `deadline` passed, then keeps listening for
/// `linger` to catch frames beyond the expected ones.
pub fn collect(
    socket: &mut XskSocket,
    expected: usize,
    deadline: Duration,
    linger: Duration,
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let start = Instant::now();
    while out.len() < expected && start.elapsed() < deadline {
        let batch = socket
            .rx_batch(64, Duration::from_millis(50))
            .expect("rx_batch");
        out.extend(batch.iter().map(<[u8]>::to_vec));
    }
    let end = Instant::now();
    while end.elapsed() < linger {
        let batch = socket
            .rx_batch(64, Duration::from_millis(20))
            .expect("rx_batch");
        out.extend(batch.iter().map(<[u8]>::to_vec));
    }
    out
}

/// Asserts two frame lists are equal, reporting counts and the first difference (not the
/// bytes of every frame).
#[track_caller]
pub fn assert_frames_eq(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!(
            "{what}: frame {i} differs (got {} bytes, want {} bytes; {} got, {} wanted)",
            got[i].len(),
            want[i].len(),
            got.len(),
            want.len()
        );
    }
    assert_eq!(got.len(), want.len(), "{what}: frame count");
}
