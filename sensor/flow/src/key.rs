//! Canonical flow keys: both directions of a flow map to the same key.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use crate::packet::{
    PacketMeta, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
};

/// The identity of a flow, independent of packet direction.
///
/// Endpoints are stored ordered (`lo <= hi`), so a packet and its reply produce equal keys.
/// The key includes the VLAN ids and the tunnel id, so the same 5-tuple seen in two VLANs or
/// two tunnels is two flows. Ports are zero for protocols without ports; for ICMP echo
/// request/reply the identifier is part of the key, other ICMP messages (errors) share one
/// flow per address pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    protocol: u8,
    /// `Some(identifier)` for ICMP echo request/reply, `None` otherwise.
    icmp_echo: Option<u16>,
    vlan_len: u8,
    vlan: [u16; 3],
    tunnel_id: u64,
}

impl FlowKey {
    /// The key of `pkt`'s flow, and whether the packet's source is the key's `lo` endpoint.
    pub(crate) fn from_packet(pkt: &PacketMeta) -> (Self, bool) {
        let (src_port, dst_port) = key_ports(pkt);
        let src = (pkt.src, src_port);
        let dst = (pkt.dst, dst_port);
        let src_is_lo = src <= dst;
        let (lo, hi) = if src_is_lo { (src, dst) } else { (dst, src) };
        let icmp_echo = match (pkt.protocol, pkt.icmp) {
            (IPPROTO_ICMP | IPPROTO_ICMPV6, Some(icmp)) if icmp.is_echo(pkt.protocol) => {
                Some(icmp.id)
            }
            _ => None,
        };
        let vlan_len = pkt.vlan_len.min(3);
        let mut vlan = [0u16; 3];
        for (i, (dst, src)) in vlan.iter_mut().zip(pkt.vlan).enumerate() {
            if i < usize::from(vlan_len) {
                *dst = src;
            }
        }
        let key = Self {
            lo,
            hi,
            protocol: pkt.protocol,
            icmp_echo,
            vlan_len,
            vlan,
            tunnel_id: pkt.tunnel_id,
        };
        (key, src_is_lo)
    }
}

impl Hash for FlowKey {
    /// Hashes the key as a few packed machine words (five for IPv4), not field by field: the
    /// key is hashed once or twice per packet. Equal keys write equal words; keys that differ
    /// only in ways the packing folds together (an IPv4 address against an IPv6 address with
    /// the same low bits) merely share a hash, and `Eq` still tells them apart.
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_addr(state, self.lo.0);
        hash_addr(state, self.hi.0);
        let (echo_flag, echo_id) = match self.icmp_echo {
            Some(id) => (1u64, u64::from(id)),
            None => (0, 0),
        };
        state.write_u64(
            u64::from(self.lo.1)
                | u64::from(self.hi.1) << 16
                | u64::from(self.protocol) << 32
                | u64::from(self.vlan_len) << 40
                | echo_flag << 48,
        );
        let [v0, v1, v2] = self.vlan;
        state.write_u64(u64::from(v0) | u64::from(v1) << 16 | u64::from(v2) << 32 | echo_id << 48);
        state.write_u64(self.tunnel_id);
    }
}

/// An address as one word (IPv4, tagged above its 32 bits) or two (IPv6).
#[inline]
fn hash_addr<H: Hasher>(state: &mut H, addr: IpAddr) {
    match addr {
        IpAddr::V4(a) => state.write_u64(u64::from(u32::from(a)) | 1 << 32),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            state.write_u64(v as u64);
            state.write_u64((v >> 64) as u64);
        }
    }
}

/// The ports that take part in the key: real ports for TCP, UDP and SCTP, zeros otherwise.
pub(crate) fn key_ports(pkt: &PacketMeta) -> (u16, u16) {
    match pkt.protocol {
        IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP => (pkt.src_port, pkt.dst_port),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::IcmpMeta;
    use std::net::Ipv4Addr;
    use tapwatch_common::Timestamp;

    fn pkt(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, proto: u8) -> PacketMeta {
        PacketMeta {
            ts: Timestamp::new(0, 0),
            src: IpAddr::V4(Ipv4Addr::from(src)),
            dst: IpAddr::V4(Ipv4Addr::from(dst)),
            src_port: sp,
            dst_port: dp,
            protocol: proto,
            vlan: [0; 3],
            vlan_len: 0,
            tunnel_id: 0,
            wire_len: 60,
            payload_len: 0,
            tcp: None,
            icmp: None,
        }
    }

    #[test]
    fn canonical_both_ways() {
        let a = pkt([10, 0, 0, 2], 40000, [10, 0, 0, 1], 80, 6);
        let b = pkt([10, 0, 0, 1], 80, [10, 0, 0, 2], 40000, 6);
        let (ka, a_lo) = FlowKey::from_packet(&a);
        let (kb, b_lo) = FlowKey::from_packet(&b);
        assert_eq!(ka, kb);
        assert!(!a_lo);
        assert!(b_lo);
    }

    #[test]
    fn both_directions_hash_alike_and_fields_change_the_hash() {
        use crate::hash::SeededState;
        use std::hash::BuildHasher;
        let s = SeededState::with_seed(11);
        let a = pkt([10, 0, 0, 2], 40000, [10, 0, 0, 1], 80, 6);
        let b = pkt([10, 0, 0, 1], 80, [10, 0, 0, 2], 40000, 6);
        let ka = FlowKey::from_packet(&a).0;
        assert_eq!(s.hash_one(ka), s.hash_one(FlowKey::from_packet(&b).0));
        let mut vlan = a.clone();
        vlan.vlan = [5, 0, 0];
        vlan.vlan_len = 1;
        let mut tunnel = a.clone();
        tunnel.tunnel_id = 3;
        let port = pkt([10, 0, 0, 2], 40001, [10, 0, 0, 1], 80, 6);
        for other in [vlan, tunnel, port] {
            assert_ne!(s.hash_one(ka), s.hash_one(FlowKey::from_packet(&other).0));
        }
    }

    #[test]
    fn vlan_tunnel_and_protocol_separate() {
        let a = pkt([1, 1, 1, 1], 1, [2, 2, 2, 2], 2, 17);
        let mut b = a.clone();
        b.vlan = [100, 0, 0];
        b.vlan_len = 1;
        let mut c = a.clone();
        c.tunnel_id = 9;
        let mut d = a.clone();
        d.protocol = 6;
        let ka = FlowKey::from_packet(&a).0;
        assert_ne!(ka, FlowKey::from_packet(&b).0);
        assert_ne!(ka, FlowKey::from_packet(&c).0);
        assert_ne!(ka, FlowKey::from_packet(&d).0);
        // Unused VLAN slots are ignored.
        let mut e = a.clone();
        e.vlan = [0, 7, 7];
        assert_eq!(ka, FlowKey::from_packet(&e).0);
    }

    #[test]
    fn ports_ignored_for_portless_protocols_and_icmp_echo_id_kept() {
        let a = pkt([1, 1, 1, 1], 5, [2, 2, 2, 2], 6, 47);
        let b = pkt([1, 1, 1, 1], 7, [2, 2, 2, 2], 8, 47);
        assert_eq!(FlowKey::from_packet(&a).0, FlowKey::from_packet(&b).0);

        let mut req = pkt([1, 1, 1, 1], 0, [2, 2, 2, 2], 0, 1);
        req.icmp = Some(IcmpMeta {
            icmp_type: 8,
            code: 0,
            id: 77,
        });
        let mut rep = pkt([2, 2, 2, 2], 0, [1, 1, 1, 1], 0, 1);
        rep.icmp = Some(IcmpMeta {
            icmp_type: 0,
            code: 0,
            id: 77,
        });
        let mut other_id = req.clone();
        other_id.icmp = Some(IcmpMeta {
            icmp_type: 8,
            code: 0,
            id: 78,
        });
        let mut unreach = req.clone();
        unreach.icmp = Some(IcmpMeta {
            icmp_type: 3,
            code: 1,
            id: 77,
        });
        let k = FlowKey::from_packet(&req).0;
        let mut zero_id = req.clone();
        zero_id.icmp = Some(IcmpMeta {
            icmp_type: 8,
            code: 0,
            id: 0,
        });
        let mut unreach0 = req.clone();
        unreach0.icmp = Some(IcmpMeta {
            icmp_type: 3,
            code: 1,
            id: 0,
        });
        assert_ne!(
            FlowKey::from_packet(&zero_id).0,
            FlowKey::from_packet(&unreach0).0
        );
        assert_eq!(k, FlowKey::from_packet(&rep).0);
        assert_ne!(k, FlowKey::from_packet(&other_id).0);
        assert_ne!(k, FlowKey::from_packet(&unreach).0);
    }
}
