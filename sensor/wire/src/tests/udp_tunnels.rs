//! Tunnels recognised by UDP destination port: GRE-in-UDP (4754), MPLS-in-UDP (6635) and
//! VXLAN-GPE (4790), each followed only when the payload looks like the tunnel.

use super::assert_events;
use super::builders::*;
use super::tunnels::{check_inner, inner_v4, label};
use crate::{
    decode, Decoded, LinkType, TunnelKind, GRE_IN_UDP_PORT, MPLS_IN_UDP_PORT, VXLAN_GPE_PORT,
};

fn over_udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    ipv4(17, &udp(40000, dport, payload))
}

/// Asserts that `packet` stays the outer UDP datagram to `dport`, without an event.
#[track_caller]
fn plain_udp(packet: &[u8], dport: u16) {
    let d: Decoded<'_> = decode(LinkType::Raw, packet);
    assert_events(&d, &[]);
    assert_eq!(d.tunnel.kind, TunnelKind::None);
    assert_eq!(d.transport.ports(), Some((40000, dport)));
}

#[test]
fn gre_in_udp_carries_ip_ethernet_and_mpls() {
    let port = GRE_IN_UDP_PORT;
    let inner = inner_v4();
    let p = over_udp(port, &cat(&[&[0, 0, 0x08, 0x00], &inner]));
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::Gre { key: None });
    // Key and sequence number.
    let gre = cat(&[&[0x30, 0, 0x08, 0x00], &[0, 0, 0, 9], &[0, 0, 0, 1], &inner]);
    check_inner(
        &decode(LinkType::Raw, &over_udp(port, &gre)),
        TunnelKind::Gre { key: Some(9) },
    );
    let gre = cat(&[&[0, 0, 0x65, 0x58], &eth(0x0800, &inner)]);
    check_inner(
        &decode(LinkType::Raw, &over_udp(port, &gre)),
        TunnelKind::Gre { key: None },
    );
    // MPLS inside GRE-in-UDP: the innermost tunnel is the MPLS one, two levels deep.
    let gre = cat(&[&[0, 0, 0x88, 0x47], &label(77, true), &inner]);
    let input = over_udp(port, &gre);
    let d = decode(LinkType::Raw, &input);
    assert_events(&d, &[]);
    assert_eq!(
        (d.tunnel.kind, d.tunnel.depth),
        (TunnelKind::Mpls { label: 77 }, 2)
    );
    assert_eq!(d.payload, b"in");
    let v6 = ipv6(17, &udp(7, 8, b"6"));
    let input = over_udp(port, &cat(&[&[0, 0, 0x86, 0xdd], &v6]));
    let d = decode(LinkType::Raw, &input);
    assert_eq!((d.ip.map(|ip| ip.version), d.payload), (Some(6), &b"6"[..]));
}

#[test]
fn gre_in_udp_lookalikes_stay_udp() {
    let port = GRE_IN_UDP_PORT;
    let inner = inner_v4();
    let cases: [Vec<u8>; 10] = [
        // Version 1, routing, recursion, reserved bits: not RFC 8086 GRE.
        cat(&[&[0x20, 0x01, 0x88, 0x0b], &[0; 8], &inner]),
        cat(&[&[0x40, 0, 0x08, 0x00], &[0; 4], &inner]),
        cat(&[&[0x01, 0, 0x08, 0x00], &inner]),
        cat(&[&[0, 0x40, 0x08, 0x00], &inner]),
        // Protocols that do not lead to IP, or an inner packet of the wrong version.
        cat(&[&[0, 0, 0x08, 0x06], &inner]),
        cat(&[&[0, 0, 0x86, 0xdd], &inner]),
        // An IPv4 header whose total length runs past the datagram, or under 20 bytes.
        cat(&[&[0, 0, 0x08, 0x00], &inner[..inner.len() - 1]]),
        cat(&[&[0, 0, 0x08, 0x00], &[0x45, 0, 0, 19], &[0; 16]]),
        // Header longer than the datagram; too short for a header.
        vec![0x30, 0, 0x08, 0x00, 0, 0],
        vec![0, 0, 8],
    ];
    for payload in &cases {
        plain_udp(&over_udp(port, payload), port);
    }
    // The source port alone does not make GRE-in-UDP.
    let p = ipv4(17, &udp(port, 5000, &cat(&[&[0, 0, 0x08, 0x00], &inner])));
    assert_eq!(decode(LinkType::Raw, &p).tunnel.kind, TunnelKind::None);
}

#[test]
fn mpls_in_udp() {
    let port = MPLS_IN_UDP_PORT;
    let inner = inner_v4();
    let p = over_udp(port, &cat(&[&label(100, false), &label(200, true), &inner]));
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(d.tunnel.kind, TunnelKind::Mpls { label: 200 });
    assert_eq!(d.tunnel.depth, 1);
    assert_eq!(d.transport.ports(), Some((1111, 2222)));
    let v6 = ipv6(59, &[]);
    let input = over_udp(port, &cat(&[&label(2, true), &v6]));
    let d = decode(LinkType::Raw, &input);
    assert_eq!(d.ip.map(|ip| ip.version), Some(6));
    let too_deep: Vec<u8> = (0..16).flat_map(|_| label(20, false)).collect();
    let cases: [Vec<u8>; 7] = [
        // No bottom of stack, a stack deeper than 16, no IP after it, IP headers that do not
        // fit (random payloads often have a bottom-of-stack bit and a 4 nibble).
        label(16, false).to_vec(),
        cat(&[&too_deep, &label(16, true), &inner]),
        cat(&[&label(16, true), &[0; 20]]),
        cat(&[&label(16, true), &inner[..inner.len() - 1]]),
        cat(&[&label(16, true), &[0x65; 60]]),
        label(16, true).to_vec(),
        vec![1, 2],
    ];
    for payload in &cases {
        plain_udp(&over_udp(port, payload), port);
    }
}

#[test]
fn vxlan_gpe() {
    let port = VXLAN_GPE_PORT;
    let gpe = |flags: u8, next: u8| [flags, 0, 0, next, 0, 0, 0x05, 0];
    let inner = inner_v4();
    for (next, payload) in [(1, inner.clone()), (3, eth(0x0800, &inner))] {
        let p = over_udp(port, &cat(&[&gpe(0x0c, next), &payload]));
        check_inner(&decode(LinkType::Raw, &p), TunnelKind::Vxlan { vni: 5 });
    }
    let v6 = ipv6(17, &udp(7, 8, b"6"));
    let input = over_udp(port, &cat(&[&gpe(0x0c, 2), &v6]));
    let d = decode(LinkType::Raw, &input);
    assert_eq!((d.ip.map(|ip| ip.version), d.payload), (Some(6), &b"6"[..]));
    let cases: [Vec<u8>; 7] = [
        // Plain VXLAN sent to 4790 (no P flag), no I flag, version 1.
        cat(&[&gpe(0x08, 0), &eth(0x0800, &inner)]),
        cat(&[&gpe(0x04, 1), &inner]),
        cat(&[&gpe(0x1c, 1), &inner]),
        // NSH, a wrong inner version, a truncated header.
        cat(&[&gpe(0x0c, 4), &inner]),
        cat(&[&gpe(0x0c, 2), &inner]),
        cat(&[&gpe(0x0c, 1), &[0x4f, 0, 0, 20], &[0; 16]]),
        vec![0x0c, 0, 0, 1],
    ];
    for payload in &cases {
        plain_udp(&over_udp(port, payload), port);
    }
}
