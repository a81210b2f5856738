//! `[capture]`: live capture by `tapwatch run`.

use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;

use serde::Deserialize;

/// `[capture]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CaptureSection {
    /// Interfaces to capture from; `--interface` replaces this list.
    pub interfaces: Vec<String>,
    /// How to capture; `--capture` overrides it.
    pub mode: CaptureMode,
    /// Receive queues captured per interface (AF_XDP: one socket and capture thread per
    /// queue): `"all"` or a number (queues `0..n`). The socket fallback takes one AF_PACKET
    /// socket per interface whatever this says.
    pub queues: Queues,
    /// Bytes per UMEM frame (2048 or 4096).
    pub umem_frame_size: u32,
    /// UMEM frames per socket; must exceed `fill_ring_size`.
    pub umem_frame_count: u32,
    /// Fill ring entries per socket (power of two).
    pub fill_ring_size: u32,
    /// Rx ring entries per socket (power of two).
    pub rx_ring_size: u32,
    /// Largest packet delivered; longer (multi-buffer) packets are dropped and counted.
    /// Also the snapshot length of the socket fallback.
    pub max_packet_bytes: u32,
    /// `SO_BUSY_POLL` microseconds; 0 = off (the capture thread sleeps in `poll` when idle).
    pub busy_poll_usecs: u32,
    /// `SO_BUSY_POLL_BUDGET`: packets per busy-poll round (with `busy_poll_usecs`).
    pub busy_poll_budget: u16,
    /// Packets taken from a socket per receive call.
    pub rx_batch_packets: NonZeroU32,
    /// Kernel buffer of the socket fallback (AF_PACKET ring), bytes.
    pub socket_buffer_bytes: NonZeroU32,
    /// Batches that may wait in each worker's queue (each up to 1,024 packets or 1 MiB).
    /// A full queue drops the capture's batch, counted per worker: capture never waits.
    pub worker_queue_batches: NonZeroU32,
    /// Only packets with a source or destination in one of these prefixes are inspected
    /// (`["10.0.0.0/8", "2001:db8::/32"]`); the rest go to the host's stack (XDP) or are
    /// skipped (socket fallback), counted. Empty: everything is inspected.
    pub monitored_prefixes: Vec<NetworkPrefix>,
    /// Stop inspecting flows the sensor no longer needs: TLS flows once encrypted (with
    /// `[app.tls] encryption_handling = "default"`) and TCP flows past `[stream] depth_bytes`
    /// both ways. With XDP their packets are dropped in the kernel; with the socket
    /// fallback, skipped before dispatch. Counted either way. Off by default: header-only
    /// rules can still match a bypassed flow's later packets, which are then not seen.
    pub bypass: bool,
    /// A bypassed flow without packets for this long is forgotten (its later packets are
    /// inspected again).
    pub bypass_idle_timeout_secs: u64,
}

impl Default for CaptureSection {
    fn default() -> Self {
        Self {
            interfaces: Vec::new(),
            mode: CaptureMode::Auto,
            queues: Queues::All,
            umem_frame_size: 2048,
            umem_frame_count: 4096,
            fill_ring_size: 2048,
            rx_ring_size: 2048,
            max_packet_bytes: 10240,
            busy_poll_usecs: 0,
            busy_poll_budget: 64,
            rx_batch_packets: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
            socket_buffer_bytes: NonZeroU32::new(16 << 20).unwrap_or(NonZeroU32::MIN),
            worker_queue_batches: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
            monitored_prefixes: Vec::new(),
            bypass: false,
            bypass_idle_timeout_secs: 60,
        }
    }
}

/// How packets are captured.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum CaptureMode {
    /// The best that works: AF_XDP zero-copy in driver mode, then copy mode in driver mode,
    /// then generic (SKB) mode, then the AF_PACKET socket.
    #[default]
    Auto,
    /// AF_XDP zero-copy, program in driver mode, nothing else.
    XdpZc,
    /// AF_XDP, program in driver mode (zero-copy if the driver offers it, else copy).
    XdpDrv,
    /// AF_XDP in copy mode, program in generic (SKB) mode.
    XdpSkb,
    /// AF_PACKET (TPACKET_V3 through libpcap), no XDP program.
    Socket,
}

impl CaptureMode {
    /// The name used on the command line and in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            CaptureMode::Auto => "auto",
            CaptureMode::XdpZc => "xdp-zc",
            CaptureMode::XdpDrv => "xdp-drv",
            CaptureMode::XdpSkb => "xdp-skb",
            CaptureMode::Socket => "socket",
        }
    }
}

/// Which receive queues of an interface are captured.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(try_from = "QueuesRepr")]
pub enum Queues {
    /// Every receive queue the interface has.
    #[default]
    All,
    /// Queues `0..n`.
    First(NonZeroU32),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum QueuesRepr {
    Count(u32),
    Word(String),
}

impl TryFrom<QueuesRepr> for Queues {
    type Error = String;

    fn try_from(r: QueuesRepr) -> Result<Self, String> {
        match r {
            QueuesRepr::Word(w) if w == "all" => Ok(Queues::All),
            QueuesRepr::Word(w) => Err(format!("queues: expected \"all\" or a number, not {w:?}")),
            QueuesRepr::Count(n) => NonZeroU32::new(n)
                .map(Queues::First)
                .ok_or_else(|| "queues: at least 1".to_owned()),
        }
    }
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`; a bare address is /32 or
/// /128). Host bits must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct NetworkPrefix {
    /// The network address.
    pub addr: IpAddr,
    /// The prefix length in bits.
    pub len: u8,
}

impl NetworkPrefix {
    /// Whether `addr` lies in the network (never across address families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.addr, addr) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(a) & mask == u32::from(n)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(a) & mask == u128::from(n)
            }
            _ => false,
        }
    }
}

impl FromStr for NetworkPrefix {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: not an IP address or network"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => width,
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|l| *l <= width)
                .ok_or_else(|| {
                    format!("{s:?}: prefix length must be 0-32 for IPv4, 0-128 for IPv6")
                })?,
        };
        let p = NetworkPrefix { addr, len };
        if !p.contains(addr) {
            return Err(format!("{s:?}: host bits set beyond the prefix length"));
        }
        Ok(p)
    }
}

impl TryFrom<String> for NetworkPrefix {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl fmt::Display for NetworkPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn prefixes_parse_and_match() {
        let p: NetworkPrefix = "10.0.0.0/8".parse().unwrap();
        assert!(p.contains("10.200.0.1".parse().unwrap()));
        assert!(!p.contains("11.0.0.1".parse().unwrap()));
        assert!(!p.contains("::ffff:10.0.0.1".parse().unwrap()));
        let all: NetworkPrefix = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()));
        let host: NetworkPrefix = "2001:db8::1".parse().unwrap();
        assert_eq!(host.len, 128);
        assert!(host.contains("2001:db8::1".parse().unwrap()));
        assert!("10.0.0.1/8".parse::<NetworkPrefix>().is_err(), "host bits");
        assert!("10.0.0.0/33".parse::<NetworkPrefix>().is_err());
        assert!("ten/8".parse::<NetworkPrefix>().is_err());
    }

    #[test]
    fn capture_section_is_read_and_checked() {
        let c = Config::parse(
            "[capture]\ninterfaces = [\"eth1\"]\nmode = \"xdp-skb\"\nqueues = 2\n\
             monitored_prefixes = [\"192.0.2.0/24\"]\nbypass = true\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.capture.mode, CaptureMode::XdpSkb);
        assert_eq!(c.capture.queues, Queues::First(NonZeroU32::new(2).unwrap()));
        assert_eq!(c.capture.monitored_prefixes.len(), 1);
        assert!(c.capture.bypass);
        let c = Config::parse("[capture]\nqueues = \"all\"\n", "t").unwrap();
        assert_eq!(c.capture.queues, Queues::All);
        for bad in [
            "[capture]\nqueues = \"some\"\n",
            "[capture]\nqueues = 0\n",
            "[capture]\nmode = \"xdp\"\n",
            "[capture]\nmonitored_prefixes = [\"10.0.0.1/8\"]\n",
            "[capture]\nbypas = true\n",
        ] {
            let msg = format!("{:#}", Config::parse(bad, "t").unwrap_err());
            assert!(msg.contains("line 2"), "{bad}: {msg}");
        }
    }
}
