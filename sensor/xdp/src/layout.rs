//! The Rust twins of `firmware/tapwatch_xdp.h`: map keys, values, indices and names.
//!
//! `tests/layout.rs` compiles a host program including the header and checks every size and
//! offset below against it. Keep the two files in step.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Names of the maps and of the program in `firmware/xdp.c`.
pub(crate) mod names {
    pub const PROGRAM: &str = "tapwatch_xdp";
    pub const CONFIG: &str = "tw_config";
    pub const COUNTERS: &str = "tw_counters";
    pub const BYPASS: &str = "tw_bypass";
    pub const PREFIX_V4: &str = "tw_prefix_v4";
    pub const PREFIX_V6: &str = "tw_prefix_v6";
    pub const XSKS: &str = "tw_xsks";
}

/// Index of the filter switch in the config array (`TW_CFG_FILTER_ENABLED`).
pub const CFG_FILTER_ENABLED: u32 = 0;
/// Entries of the config array (`TW_CFG_MAX`).
pub const CFG_MAX: u32 = 4;

/// Capacity of the bypass map (`TW_BYPASS_MAX_ENTRIES`).
pub const BYPASS_MAX_ENTRIES: u32 = 65536;
/// Capacity of each monitored-prefix trie (`TW_PREFIX_MAX_ENTRIES`).
pub const PREFIX_MAX_ENTRIES: u32 = 4096;
/// Capacity of the socket map, i.e. the highest queue index + 1 (`TW_XSKS_MAX_ENTRIES`).
pub const XSKS_MAX_ENTRIES: u32 = 64;

/// Indices of the per-CPU counters (`TW_CNT_*`); see [`XdpCounters`](crate::XdpCounters)
/// for their meaning.
pub mod counter {
    /// `TW_CNT_SEEN`.
    pub const SEEN: u32 = 0;
    /// `TW_CNT_REDIRECTED`.
    pub const REDIRECTED: u32 = 1;
    /// `TW_CNT_BYPASSED`.
    pub const BYPASSED: u32 = 2;
    /// `TW_CNT_FILTERED`.
    pub const FILTERED: u32 = 3;
    /// `TW_CNT_PASSED`.
    pub const PASSED: u32 = 4;
    /// `TW_CNT_PARSE_ERRORS`.
    pub const PARSE_ERRORS: u32 = 5;
    /// `TW_CNT_NON_IP`.
    pub const NON_IP: u32 = 6;
    /// `TW_CNT_FRAGMENTS`.
    pub const FRAGMENTS: u32 = 7;
    /// `TW_CNT_MAX`: number of counters.
    pub const COUNT: u32 = 8;
}

/// Which way a packet travels relative to a [`FlowKey`]'s canonical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyDirection {
    /// The packet's source is the key's `lo` endpoint (`TW_DIR_LO_TO_HI`).
    LoToHi = 0,
    /// The packet's source is the key's `hi` endpoint (`TW_DIR_HI_TO_LO`).
    HiToLo = 1,
}

/// The canonical flow key of the bypass map (`struct tw_flow_key`).
///
/// Both directions of a flow give the same key: the endpoint whose 16 address bytes compare
/// lower (network byte order, IPv4 mapped to `::ffff:a.b.c.d`) is `lo`; on equal addresses the
/// lower port is `lo`. Ports and VLAN ids are in host order; fragments and protocols other
/// than TCP, UDP and SCTP have ports 0 (the program does not read them).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowKey {
    /// 4 or 6.
    pub ip_version: u8,
    /// IP protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// 12-bit id of the first VLAN tag, 0 when untagged.
    pub vlan_outer: u16,
    /// 12-bit id of the second VLAN tag, 0 when there is none.
    pub vlan_inner: u16,
    /// Explicit padding: always 0 (the kernel hashes every byte of the key).
    pub pad: u16,
    /// Port of the `lo` endpoint.
    pub port_lo: u16,
    /// Port of the `hi` endpoint.
    pub port_hi: u16,
    /// Address of the `lo` endpoint (IPv4 mapped), network order.
    pub addr_lo: [u8; 16],
    /// Address of the `hi` endpoint (IPv4 mapped), network order.
    pub addr_hi: [u8; 16],
}

/// One endpoint of a flow: an address and a port (0 when the protocol has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The address.
    pub addr: IpAddr,
    /// The port, host order.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint.
    pub fn new(addr: IpAddr, port: u16) -> Self {
        Self { addr, port }
    }
}

/// The 16 bytes the program stores for an address (IPv4 mapped).
fn mapped(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

impl FlowKey {
    /// The canonical key of a packet from `src` to `dst`, and the packet's direction in it.
    ///
    /// `vlan` holds the outer and inner VLAN ids (0 when absent). The IP version is 4 when
    /// both addresses are IPv4, 6 otherwise (a packet never mixes them).
    pub fn new(
        vlan: [u16; 2],
        protocol: u8,
        src: Endpoint,
        dst: Endpoint,
    ) -> (FlowKey, KeyDirection) {
        let ip_version = if src.addr.is_ipv4() && dst.addr.is_ipv4() {
            4
        } else {
            6
        };
        let (s, d) = (mapped(src.addr), mapped(dst.addr));
        let src_is_lo = (s, src.port) <= (d, dst.port);
        let (lo, hi, dir) = if src_is_lo {
            ((s, src.port), (d, dst.port), KeyDirection::LoToHi)
        } else {
            ((d, dst.port), (s, src.port), KeyDirection::HiToLo)
        };
        let key = FlowKey {
            ip_version,
            protocol,
            vlan_outer: vlan[0] & 0x0fff,
            vlan_inner: vlan[1] & 0x0fff,
            pad: 0,
            port_lo: lo.1,
            port_hi: hi.1,
            addr_lo: lo.0,
            addr_hi: hi.0,
        };
        (key, dir)
    }

    /// The two endpoints, `lo` first, as the program sees them (IPv4 unmapped for version 4).
    pub fn endpoints(&self) -> (Endpoint, Endpoint) {
        let addr = |bytes: [u8; 16]| -> IpAddr {
            let v6 = Ipv6Addr::from(bytes);
            match (self.ip_version, v6.to_ipv4_mapped()) {
                (4, Some(v4)) => IpAddr::V4(v4),
                (4, None) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                _ => IpAddr::V6(v6),
            }
        };
        (
            Endpoint::new(addr(self.addr_lo), self.port_lo),
            Endpoint::new(addr(self.addr_hi), self.port_hi),
        )
    }
}

/// What the bypass map holds per flow (`struct tw_flow_value`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowValue {
    /// `CLOCK_MONOTONIC` nanoseconds (`bpf_ktime_get_ns`) of the last bypassed packet, or of
    /// the insertion.
    pub last_seen_ns: u64,
    /// Packets dropped in the kernel, indexed by [`KeyDirection`].
    pub packets: [u64; 2],
    /// Bytes (whole frames) dropped in the kernel, indexed by [`KeyDirection`].
    pub bytes: [u64; 2],
}

/// A key of the IPv4 monitored-prefix trie (`struct tw_lpm_v4`); only the layout test uses
/// it, the loader goes through aya's `lpm_trie::Key<[u8; 4]>`, which has the same layout.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LpmV4 {
    /// Prefix length in bits.
    pub prefixlen: u32,
    /// Network-order address.
    pub addr: [u8; 4],
}

/// A key of the IPv6 monitored-prefix trie (`struct tw_lpm_v6`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct LpmV6 {
    /// Prefix length in bits.
    pub prefixlen: u32,
    /// Network-order address.
    pub addr: [u8; 16],
}

const _: () = assert!(std::mem::size_of::<FlowKey>() == 44);
const _: () = assert!(std::mem::size_of::<FlowValue>() == 40);
const _: () = assert!(std::mem::size_of::<LpmV4>() == 8);
const _: () = assert!(std::mem::size_of::<LpmV6>() == 20);
const _: () = assert!(std::mem::size_of::<aya::maps::lpm_trie::Key<[u8; 4]>>() == 8);
const _: () = assert!(std::mem::size_of::<aya::maps::lpm_trie::Key<[u8; 16]>>() == 20);

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str, port: u16) -> Endpoint {
        Endpoint::new(s.parse().expect("test address"), port)
    }

    #[test]
    fn both_directions_give_one_key() {
        let a = ep("192.0.2.1", 40000);
        let b = ep("192.0.2.9", 80);
        let (k1, d1) = FlowKey::new([5, 0], 6, a, b);
        let (k2, d2) = FlowKey::new([5, 0], 6, b, a);
        assert_eq!(k1, k2);
        assert_eq!(d1, KeyDirection::LoToHi);
        assert_eq!(d2, KeyDirection::HiToLo);
        assert_eq!(k1.ip_version, 4);
        assert_eq!(k1.addr_lo[10..12], [0xff, 0xff]);
        assert_eq!(k1.addr_lo[12..], [192, 0, 2, 1]);
        assert_eq!((k1.port_lo, k1.port_hi), (40000, 80));
        assert_eq!(k1.endpoints(), (a, b));
    }

    #[test]
    fn equal_addresses_order_by_port() {
        let a = ep("fd00::1", 9000);
        let b = ep("fd00::1", 53);
        let (k, d) = FlowKey::new([0, 0], 17, a, b);
        assert_eq!((k.port_lo, k.port_hi), (53, 9000));
        assert_eq!(d, KeyDirection::HiToLo);
        assert_eq!(k.ip_version, 6);
    }

    #[test]
    fn vlan_ids_keep_twelve_bits() {
        let (k, _) = FlowKey::new([0xf123, 0x1fff], 6, ep("10.0.0.1", 1), ep("10.0.0.2", 2));
        assert_eq!((k.vlan_outer, k.vlan_inner), (0x123, 0xfff));
    }
}
