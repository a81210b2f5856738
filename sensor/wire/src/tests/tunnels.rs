//! Tunnels: IP-in-IP, GRE v0/v1, ERSPAN, VXLAN, Geneve, Teredo, MPLS, depth bound.

use core::net::{IpAddr, Ipv4Addr};

use super::assert_events;
use super::builders::*;
use crate::{decode, DecodeEvent as E, LinkType, Transport, TunnelKind, MAX_TUNNEL_DEPTH};

pub(super) fn inner_v4() -> Vec<u8> {
    let mut p = ipv4(17, &udp(1111, 2222, b"in"));
    p[12..16].copy_from_slice(&[192, 168, 0, 1]);
    p
}

fn outer_endpoints() -> Option<(IpAddr, IpAddr)> {
    Some((Ipv4Addr::from(V4_A).into(), Ipv4Addr::from(V4_B).into()))
}

pub(super) fn check_inner(d: &crate::Decoded<'_>, kind: TunnelKind) {
    assert_events(d, &[]);
    assert_eq!(d.tunnel.kind, kind);
    assert_eq!(d.tunnel.depth, 1);
    assert_eq!(d.tunnel.outer, outer_endpoints());
    assert_eq!(
        d.ip.map(|ip| ip.src),
        Some(IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)))
    );
    assert_eq!(d.transport.ports(), Some((1111, 2222)));
    assert_eq!(d.payload, b"in");
}

#[test]
fn ip_in_ip_all_combinations() {
    let p = ipv4(4, &inner_v4());
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::IpInIp);
    let v6_inner = ipv6(17, &udp(1, 2, b""));
    let p = ipv4(41, &v6_inner);
    let d = decode(LinkType::Raw, &p);
    assert_eq!(d.ip.map(|ip| ip.version), Some(6));
    assert_eq!(d.tunnel.kind, TunnelKind::IpInIp);
    let p = ipv6(41, &v6_inner);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!((d.ip.map(|ip| ip.version), d.tunnel.depth), (Some(6), 1));
    let p = ipv6(4, &inner_v4());
    let d = decode(LinkType::Raw, &p);
    assert_eq!(d.ip.map(|ip| ip.version), Some(4));
    assert_events(
        &decode(LinkType::Raw, &ipv6(4, &[0x45; 19])),
        &[E::Ipv6Ipv4InIpv6TooSmall],
    );
    assert_events(
        &decode(LinkType::Raw, &ipv6(4, &[0x65; 20])),
        &[E::Ipv6Ipv4InIpv6WrongVersion],
    );
    assert_events(
        &decode(LinkType::Raw, &ipv6(41, &[0x60; 39])),
        &[E::Ipv6Ipv6InIpv6TooSmall],
    );
    assert_events(
        &decode(LinkType::Raw, &ipv6(41, &[0x40; 40])),
        &[E::Ipv6Ipv6InIpv6WrongVersion],
    );
}

#[test]
fn bad_inner_packet_reports_the_outer_packet() {
    let frame = eth(
        0x8100,
        &cat(&[
            &vlan_tag(9, 0x0800),
            &ipv4(
                47,
                &cat(&[
                    &[0, 0, 0x65, 0x58],
                    &eth(0x8100, &cat(&[&vlan_tag(10, 0x0800), &[0x45; 10]])),
                ]),
            ),
        ]),
    );
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[E::Ipv4PktTooSmall]);
    assert_eq!(d.tunnel.kind, TunnelKind::None);
    assert_eq!(d.vlan.ids(), &[9]);
    assert_eq!(d.ip.map(|ip| ip.protocol), Some(47));
    assert_eq!(d.transport, Transport::Other(47));
}

#[test]
fn tunnel_depth_is_bounded() {
    let mut p = inner_v4();
    for _ in 0..MAX_TUNNEL_DEPTH {
        p = ipv4(4, &p);
    }
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(d.tunnel.depth, MAX_TUNNEL_DEPTH);
    assert_eq!(d.payload, b"in");
    let p = ipv4(4, &p);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[E::TooManyLayers]);
    assert_eq!(d.tunnel.depth, MAX_TUNNEL_DEPTH);
}

fn gre(f0: u8, f1: u8, protocol: u16, extra: &[u8], payload: &[u8]) -> Vec<u8> {
    ipv4(
        47,
        &cat(&[&[f0, f1], &protocol.to_be_bytes(), extra, payload]),
    )
}

#[test]
fn gre_version0() {
    let inner = inner_v4();
    check_inner(
        &decode(LinkType::Raw, &gre(0, 0, 0x0800, &[], &inner)),
        TunnelKind::Gre { key: None },
    );
    // Checksum, key and sequence.
    let p = gre(
        0xb0,
        0,
        0x0800,
        &[0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 1],
        &inner,
    );
    check_inner(
        &decode(LinkType::Raw, &p),
        TunnelKind::Gre { key: Some(42) },
    );
    // Transparent Ethernet bridging.
    let p = gre(0, 0, 0x6558, &[], &eth(0x0800, &inner));
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::Gre { key: None });
    // Routing with one source route entry and the null entry.
    let p = gre(
        0x40,
        0,
        0x0800,
        &cat(&[&[0; 4], &[0, 1, 0, 4, 1, 2, 3, 4], &[0; 4]]),
        &inner,
    );
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::Gre { key: None });
    let p = gre(0x40, 0, 0x0800, &[0, 0, 0, 0, 0, 1, 0, 9, 1], &[]);
    assert_events(&decode(LinkType::Raw, &p), &[E::GreVersion1MalformedSreHdr]);
    // Unknown payload protocol: not IP, the GRE tunnel is the context.
    let p = gre(0, 0, 0x0806, &[], &[1, 2]);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(
        (d.ethertype, d.tunnel.kind),
        (Some(0x0806), TunnelKind::Gre { key: None })
    );
    assert!(d.ip.is_none());

    assert_events(
        &decode(LinkType::Raw, &ipv4(47, &[0, 0, 8])),
        &[E::GrePktTooSmall],
    );
    assert_events(
        &decode(LinkType::Raw, &gre(0, 2, 0x0800, &[], &inner)),
        &[E::GreWrongVersion],
    );
    assert_events(
        &decode(LinkType::Raw, &gre(1, 0, 0x0800, &[], &inner)),
        &[E::GreVersion0Recur],
    );
    assert_events(
        &decode(LinkType::Raw, &gre(0, 0x08, 0x0800, &[], &inner)),
        &[E::GreVersion0Flags],
    );
    assert_events(
        &decode(LinkType::Raw, &gre(0x20, 0, 0x0800, &[0, 0], &[])),
        &[E::GreVersion0HdrTooBig],
    );
}

#[test]
fn gre_version1_pptp() {
    let ppp = cat(&[&[0xff, 0x03, 0x00, 0x21], &inner_v4()]);
    let key = [0, ppp.len() as u8, 0x12, 0x34];
    let p = gre(
        0x30,
        0x81,
        0x880b,
        &cat(&[&key, &[0, 0, 0, 1], &[0, 0, 0, 2]]),
        &ppp,
    );
    check_inner(
        &decode(LinkType::Raw, &p),
        TunnelKind::Pptp { call_id: 0x1234 },
    );
    // Acknowledgment only: the outer packet.
    let p = gre(0x20, 0x81, 0x880b, &cat(&[&key, &[0, 0, 0, 2]]), &[]);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(
        (d.tunnel.kind, d.transport),
        (TunnelKind::None, Transport::Other(47))
    );
    let cases = [
        (0xa0, 0x01, 0x880b, E::GreVersion1Chksum),
        (0x60, 0x01, 0x880b, E::GreVersion1Route),
        (0x28, 0x01, 0x880b, E::GreVersion1Ssr),
        (0x21, 0x01, 0x880b, E::GreVersion1Recur),
        (0x20, 0x09, 0x880b, E::GreVersion1Flags),
        (0x00, 0x01, 0x880b, E::GreVersion1NoKey),
        (0x20, 0x01, 0x0800, E::GreVersion1WrongProtocol),
        (0x30, 0x01, 0x880b, E::GreVersion1HdrTooBig),
    ];
    for (f0, f1, protocol, event) in cases {
        assert_events(
            &decode(LinkType::Raw, &gre(f0, f1, protocol, &key, &[])),
            &[event],
        );
    }
}

#[test]
fn erspan_types() {
    let frame = eth(0x0800, &inner_v4());
    // Type I: no sequence number, no header.
    let p = gre(0, 0, 0x88be, &[], &frame);
    check_inner(
        &decode(LinkType::Raw, &p),
        TunnelKind::Erspan { session: 0 },
    );
    // Type II with VLAN 100 and session 5.
    let hdr2 = [0x10, 100, 0x00, 0x05, 0, 0, 0, 0];
    let p = gre(0x10, 0, 0x88be, &[0, 0, 0, 1], &cat(&[&hdr2, &frame]));
    let d = decode(LinkType::Raw, &p);
    check_inner(&d, TunnelKind::Erspan { session: 5 });
    assert_eq!(d.vlan.ids(), &[100]);
    // Type III with the platform sub-header.
    let hdr3 = [0x20, 0, 0x03, 0xff, 0, 0, 0, 0, 0, 0, 0, 1];
    let p = gre(0, 0, 0x22eb, &[], &cat(&[&hdr3, &[0; 8], &frame]));
    check_inner(
        &decode(LinkType::Raw, &p),
        TunnelKind::Erspan { session: 0x3ff },
    );
    // Type III carrying IP (frame type 2).
    let hdr3_ip = [0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x08, 0];
    let p = gre(0, 0, 0x22eb, &[], &cat(&[&hdr3_ip, &inner_v4()]));
    check_inner(
        &decode(LinkType::Raw, &p),
        TunnelKind::Erspan { session: 1 },
    );

    let p = gre(0x10, 0, 0x88be, &[0, 0, 0, 1], &hdr2[..7]);
    assert_events(&decode(LinkType::Raw, &p), &[E::ErspanHeaderTooSmall]);
    let p = gre(0, 0, 0x22eb, &[], &hdr3[..12]);
    assert_events(&decode(LinkType::Raw, &p), &[E::ErspanHeaderTooSmall]);
    let p = gre(
        0x10,
        0,
        0x88be,
        &[0, 0, 0, 1],
        &cat(&[&[0x20, 0, 0, 5, 0, 0, 0, 0], &frame]),
    );
    assert_events(&decode(LinkType::Raw, &p), &[E::ErspanUnsupportedVersion]);
    let tagged = eth(
        0x8100,
        &cat(&[&vlan_tag(2, 0x8100), &vlan_tag(3, 0x0800), &inner_v4()]),
    );
    let outer = eth(
        0x8100,
        &cat(&[
            &vlan_tag(1, 0x0800),
            &gre(0x10, 0, 0x88be, &[0, 0, 0, 1], &cat(&[&hdr2, &tagged])),
        ]),
    );
    let d = decode(LinkType::Ethernet, &outer);
    assert_events(&d, &[E::VlanTooManyLayers]);
    assert_eq!(
        d.vlan.ids(),
        &[1],
        "inner VLANs are dropped with the undecoded tunnel"
    );
    let outer = eth(
        0x8100,
        &cat(&[
            &vlan_tag(1, 0x8100),
            &vlan_tag(2, 0x8100),
            &vlan_tag(3, 0x0800),
            &gre(0x10, 0, 0x88be, &[0, 0, 0, 1], &cat(&[&hdr2, &frame])),
        ]),
    );
    assert_events(
        &decode(LinkType::Ethernet, &outer),
        &[E::ErspanTooManyVlanLayers],
    );
}

#[test]
fn vxlan_and_geneve() {
    let frame = eth(0x0800, &inner_v4());
    let p = ipv4(
        17,
        &udp(
            50000,
            4789,
            &cat(&[&[0x08, 0, 0, 0, 0, 0x01, 0x02, 0], &frame]),
        ),
    );
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::Vxlan { vni: 0x102 });
    // Without the I flag: plain UDP.
    let p = ipv4(
        17,
        &udp(
            50000,
            4789,
            &cat(&[&[0, 0, 0, 0, 0, 0x01, 0x02, 0], &frame]),
        ),
    );
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(
        (d.tunnel.kind, d.transport.ports()),
        (TunnelKind::None, Some((50000, 4789)))
    );

    let geneve = cat(&[&[0x01, 0, 0x65, 0x58, 0, 0, 0x07, 0], &[0, 1, 2, 0], &frame]);
    let p = ipv4(17, &udp(50000, 6081, &geneve));
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::Geneve { vni: 7 });
    let geneve_ip = cat(&[&[0, 0, 0x08, 0x00, 0, 0, 0x09, 0], &inner_v4()]);
    let p = ipv4(17, &udp(50000, 6081, &geneve_ip));
    check_inner(&decode(LinkType::Raw, &p), TunnelKind::Geneve { vni: 9 });
    let p = ipv4(17, &udp(50000, 6081, &[0x40, 0, 0x65, 0x58, 0, 0, 0, 0]));
    assert_eq!(decode(LinkType::Raw, &p).tunnel.kind, TunnelKind::None);
}

#[test]
fn teredo() {
    let inner = ipv6(17, &udp(1, 2, b"t"));
    let origin = [0, 0, 0x12, 0x34, 1, 2, 3, 4];
    let p = ipv4(17, &udp(3544, 40000, &cat(&[&origin, &inner])));
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(
        (d.tunnel.kind, d.ip.map(|ip| ip.version)),
        (TunnelKind::Teredo, Some(6))
    );
    assert_eq!(d.payload, b"t");
    let mut bad = inner.clone();
    bad.push(0);
    let p = ipv4(17, &udp(3544, 40000, &bad));
    assert_eq!(decode(LinkType::Raw, &p).tunnel.kind, TunnelKind::None);
}

pub(super) fn label(value: u32, bottom: bool) -> [u8; 4] {
    ((value << 12) | (u32::from(bottom) << 8) | 64).to_be_bytes()
}

#[test]
fn mpls_stacks() {
    let inner = inner_v4();
    let frame = eth(
        0x8847,
        &cat(&[&label(100, false), &label(200, true), &inner]),
    );
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[]);
    assert_eq!(
        (d.tunnel.kind, d.tunnel.depth, d.tunnel.outer),
        (TunnelKind::Mpls { label: 200 }, 1, None)
    );
    assert_eq!(d.transport.ports(), Some((1111, 2222)));
    let v6 = ipv6(59, &[]);
    let frame = eth(0x8848, &cat(&[&label(2, true), &v6]));
    assert_eq!(
        decode(LinkType::Ethernet, &frame).ip.map(|ip| ip.version),
        Some(6)
    );
    // Ethernet pseudowire behind a control word.
    let frame = eth(
        0x8847,
        &cat(&[&label(300, true), &[0; 4], &eth(0x0800, &inner)]),
    );
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[]);
    assert_eq!(d.payload, b"in");
    let cases: Vec<(Vec<u8>, Vec<E>)> = vec![
        (
            cat(&[&label(1, true), &inner]),
            vec![E::MplsBadLabelRouterAlert],
        ),
        (cat(&[&label(1, false), &label(16, true), &inner]), vec![]),
        (
            cat(&[&label(3, true), &inner]),
            vec![E::MplsBadLabelImplicitNull],
        ),
        (
            cat(&[&label(7, true), &inner]),
            vec![E::MplsBadLabelReserved],
        ),
        (label(16, false).to_vec(), vec![E::MplsHeaderTooSmall]),
        (vec![0, 0, 1], vec![E::MplsHeaderTooSmall]),
        (label(16, true).to_vec(), vec![E::MplsPktTooSmall]),
        (cat(&[&label(16, true), &[0; 10]]), vec![E::MplsPktTooSmall]),
        (
            cat(&[&label(16, true), &[0x90; 10]]),
            vec![E::MplsUnknownPayloadType],
        ),
    ];
    for (stack, events) in &cases {
        assert_events(&decode(LinkType::Ethernet, &eth(0x8847, stack)), events);
    }
}
