//! IPv4 and IPv6 headers, options, extension headers, fragments, `decode_ip`, checksums.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::assert_events;
use super::builders::*;
use crate::{
    checksum_ok, decode, decode_ip, Checksum, DecodeEvent as E, FragmentInfo, LinkType, Transport,
    TunnelKind,
};

fn raw(packet: &[u8]) -> crate::Decoded<'_> {
    decode(LinkType::Raw, packet)
}

#[test]
fn ipv4_fields_and_padding() {
    let mut p = ipv4(17, &udp(5, 6, b"abcd"));
    let original_len = p.len();
    p.extend_from_slice(&[0; 6]); // Ethernet padding
    let d = raw(&p);
    assert_events(&d, &[]);
    let ip = d.ip.expect("ip");
    assert_eq!(ip.version, 4);
    assert_eq!(ip.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(ip.dst, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
    assert_eq!((ip.protocol, ip.ttl, ip.tos, ip.id), (17, 64, 0x28, 0x1234));
    assert!(ip.dont_fragment);
    assert_eq!(ip.fragment, None);
    assert_eq!(ip.header.len(), 20);
    assert_eq!(ip.total_len, original_len);
    assert_eq!(ip.payload.len(), 12);
    assert_eq!(d.payload, b"abcd");
}

#[test]
fn ipv4_header_events() {
    let good = ipv4(17, &udp(5, 6, b""));
    assert_events(&raw(&good[..19]), &[E::Ipv4PktTooSmall]);
    assert_events(&decode(LinkType::Ipv4, &[]), &[E::Ipv4PktTooSmall]);
    let mut p = good.clone();
    p[0] = 0x44;
    assert_events(&decode(LinkType::Ipv4, &p), &[E::Ipv4HlenTooSmall]);
    p[0] = 0x65;
    assert_events(&decode(LinkType::Ipv4, &p), &[E::Ipv4WrongIpVersion]);
    let mut p = good.clone();
    p[0] = 0x4f; // 60-byte header in a 28-byte packet
    assert_events(&raw(&p), &[E::Ipv4TruncPkt]);
    let mut p = good.clone();
    p[2..4].copy_from_slice(&16u16.to_be_bytes());
    let d = raw(&p);
    assert_events(&d, &[E::Ipv4IplenSmallerThanHlen]);
    assert!(d.ip.is_none());
    let mut p = good.clone();
    p[2..4].copy_from_slice(&100u16.to_be_bytes());
    let d = raw(&p);
    assert_events(&d, &[E::Ipv4TruncPkt]);
    assert!(d.ip.is_some());
    assert_eq!(d.transport, Transport::None);
}

#[test]
fn ipv4_options() {
    let cases: &[(&[u8], &[E])] = &[
        (&[1, 1, 1, 0], &[]),
        (&[7, 7, 4, 0, 0, 0, 0, 0], &[]),
        (&[148, 4, 0, 0], &[]),
        (&[148, 3, 0, 0], &[E::Ipv4OptInvalidLen]),
        (&[148, 4, 0, 0, 148, 4, 0, 0], &[E::Ipv4OptDuplicate]),
        (&[7, 7, 2, 0, 0, 0, 0, 0], &[E::Ipv4OptMalformed]),
        (&[7, 6, 4, 0, 0, 0, 0, 0], &[E::Ipv4OptInvalidLen]),
        (&[68, 8, 3, 0, 0, 0, 0, 0], &[E::Ipv4OptMalformed]),
        (&[99, 4, 0, 0], &[E::Ipv4OptUnknown]),
        (&[148, 1, 0, 0], &[E::Ipv4OptInvalidLen]),
        (&[148, 9, 0, 0], &[E::Ipv4OptMalformed]),
        (&[1, 1, 1, 148], &[E::Ipv4OptEolRequired]),
        (&[0, 99, 99, 99], &[]),
    ];
    for (options, events) in cases {
        let p = ipv4_opts(6, options, &tcp(1, 2, 0x02, &[], b""), 0);
        let d = raw(&p);
        assert_events(&d, events);
        assert_eq!(d.ip.map(|ip| ip.header.len()), Some(20 + options.len()));
        assert!(matches!(d.transport, Transport::Tcp(_)), "{options:?}");
    }
}

#[test]
fn ipv4_protocol_events() {
    let p = ipv4(58, &[128, 0, 0, 0, 0, 1, 0, 1]);
    let d = raw(&p);
    assert_events(&d, &[E::Ipv4Icmpv6]);
    let p = ipv4(200, b"xy");
    let d = raw(&p);
    assert_events(&d, &[E::Ipv4UnknownProtocol]);
    assert_eq!(d.transport, Transport::Other(200));
    assert_eq!(d.payload, b"xy");
}

#[test]
fn ipv4_fragments() {
    // First fragment: UDP header decoded, no event for the UDP length beyond the fragment,
    // no tunnel followed.
    let mut seg = udp(7, 8, &[1; 16]);
    seg[4..6].copy_from_slice(&1000u16.to_be_bytes());
    let p = ipv4_opts(17, &[], &seg, 0x2000);
    let d = raw(&p);
    assert_events(&d, &[]);
    assert_eq!(
        d.ip.and_then(|ip| ip.fragment),
        Some(FragmentInfo {
            offset: 0,
            more: true,
            id: 0x1234
        })
    );
    assert_eq!(d.transport.ports(), Some((7, 8)));
    assert_eq!(d.payload, &[1; 16]);
    let vxlan = cat(&[
        &[0x08, 0, 0, 0, 0, 0, 1, 0],
        &eth(0x0800, &ipv4(17, &udp(1, 2, b""))),
    ]);
    let p = ipv4_opts(17, &[], &udp(9, 4789, &vxlan), 0x2000);
    let d = raw(&p);
    assert_eq!(
        (d.tunnel.kind, d.transport.ports()),
        (TunnelKind::None, Some((9, 4789)))
    );
    let p = ipv4_opts(6, &[], &[0; 12], 0x2000);
    let d = raw(&p);
    assert_events(&d, &[]);
    assert_eq!(d.transport, Transport::None);
    // Non-first fragment: no transport, payload is the fragment data.
    let p = ipv4_opts(6, &[], &[9; 24], 0x0003);
    let d = raw(&p);
    assert_events(&d, &[]);
    assert_eq!(
        d.ip.and_then(|ip| ip.fragment),
        Some(FragmentInfo {
            offset: 24,
            more: false,
            id: 0x1234
        })
    );
    assert_eq!(d.transport, Transport::None);
    assert_eq!(d.payload, &[9; 24]);
}

fn v6_addr(b: [u8; 16]) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(b))
}

#[test]
fn ipv6_fields_and_extension_chain() {
    let seg = tcp(80, 443, 0x10, &[], b"hi");
    let body = cat(&[
        &ext(60, &[1, 4, 0, 0, 0, 0]), // hop-by-hop: only a PadN
        &ext(43, &[4, 1, 0, 1, 1, 0]), // dst opts: tunnel limit + PadN
        &ext(6, &[4, 0, 0, 0, 0, 0]),  // routing type 4
        &seg,
    ]);
    let p = ipv6(0, &body);
    let d = raw(&p);
    assert_events(&d, &[E::Ipv6HopoptsOnlyPadding]);
    let ip = d.ip.expect("ip");
    assert_eq!(
        (ip.version, ip.protocol, ip.ttl, ip.tos, ip.id),
        (6, 6, 64, 0, 0)
    );
    assert_eq!((ip.src, ip.dst), (v6_addr(V6_A), v6_addr(V6_B)));
    assert_eq!(ip.header.len(), 64);
    assert_eq!(ip.total_len, p.len());
    assert_eq!(ip.payload, &seg[..]);
    assert_eq!(d.transport.ports(), Some((80, 443)));
    assert_eq!(d.payload, b"hi");
}

#[test]
fn ipv6_extension_events() {
    let t = tcp(1, 2, 0x02, &[], b"");
    let hop_ok = |next| ext(next, &[5, 2, 0, 0, 1, 0]); // router alert + PadN(0)
    let cases: Vec<(Vec<u8>, u8, Vec<E>)> = vec![
        (cat(&[&hop_ok(6), &t]), 0, vec![E::Ipv6ZeroLenPadn]),
        (
            cat(&[&ext(0, &[5, 2, 0, 0, 0, 0]), &hop_ok(6), &t]),
            0,
            vec![E::Ipv6ExthdrDuplHh, E::Ipv6ZeroLenPadn],
        ),
        (
            cat(&[&ext(6, &[0x3a, 4, 0, 0, 0, 0]), &t]),
            0,
            vec![E::Ipv6HopoptsUnknownOpt],
        ),
        (
            cat(&[&ext(6, &[0x3a, 4, 0, 0, 0, 0]), &t]),
            60,
            vec![E::Ipv6DstoptsUnknownOpt],
        ),
        (
            cat(&[&ext(6, &[1, 4, 0, 0, 0, 0]), &t]),
            60,
            vec![E::Ipv6DstoptsOnlyPadding],
        ),
        (
            cat(&[&ext(6, &[5, 9, 0, 0, 0, 0]), &t]),
            0,
            vec![E::Ipv6ExthdrInvalidOptlen],
        ),
        (
            cat(&[&ext(6, &[5, 3, 0, 0, 0, 0]), &t]),
            0,
            vec![E::Ipv6ExthdrInvalidOptlen],
        ),
        (
            cat(&[
                &ext(60, &[4, 1, 0, 1, 1, 0]),
                &ext(6, &[4, 1, 0, 1, 1, 0]),
                &t,
            ]),
            60,
            vec![E::Ipv6ExthdrDuplDh],
        ),
        (
            cat(&[
                &ext(43, &[4, 1, 0, 1, 1, 0]),
                &ext(60, &[4, 0, 0, 0, 0, 0]),
                &ext(6, &[4, 1, 0, 1, 1, 0]),
                &t,
            ]),
            60,
            vec![],
        ),
        (
            cat(&[&ext(6, &[0, 0, 0, 0, 0, 0]), &t]),
            43,
            vec![E::Ipv6RhType0],
        ),
        (
            cat(&[
                &ext(43, &[4, 0, 0, 0, 0, 0]),
                &ext(6, &[4, 0, 0, 0, 0, 0]),
                &t,
            ]),
            43,
            vec![E::Ipv6ExthdrDuplRh],
        ),
        (
            cat(&[&[6, 1, 0, 1], &[0; 8], &t]),
            51,
            vec![E::Ipv6ExthdrAhResNotNull],
        ),
        (
            cat(&[&[51, 1, 0, 0], &[0; 8], &[6, 1, 0, 0], &[0; 8], &t]),
            51,
            vec![E::Ipv6ExthdrDuplAh],
        ),
        (
            cat(&[&frag6(6, 0, false, 1), &t]),
            44,
            vec![E::Ipv6ExthdrUselessFh],
        ),
        (
            cat(&[&[6, 1, 0, 0, 0, 0, 0, 1], &t]),
            44,
            vec![E::Ipv6FhNonZeroReservedField, E::Ipv6ExthdrUselessFh],
        ),
        (
            cat(&[&frag6(44, 0, false, 1), &frag6(6, 0, false, 1), &t]),
            44,
            vec![E::Ipv6ExthdrDuplFh, E::Ipv6ExthdrUselessFh],
        ),
        (cat(&[&t]), 1, vec![E::Ipv6Icmpv4, E::Icmpv4UnknownCode]),
        (b"zz".to_vec(), 200, vec![E::Ipv6UnknownNextHeader]),
        (b"zz".to_vec(), 59, vec![E::Ipv6DataAfterNoneHeader]),
        (vec![6, 4, 0, 0], 0, vec![E::Ipv6TruncExthdr]),
    ];
    for (body, next, events) in &cases {
        let p = ipv6(*next, body);
        let d = raw(&p);
        assert_events(&d, events);
        assert!(d.ip.is_some());
    }
}

#[test]
fn ipv6_header_events() {
    let p = ipv6(59, &[]);
    assert_events(&raw(&p[..39]), &[E::Ipv6PktTooSmall]);
    let mut bad = p.clone();
    bad[0] = 0x40;
    assert_events(&decode(LinkType::Ipv6, &bad), &[E::Ipv6WrongIpVersion]);
    let mut long = p.clone();
    long[5] = 10;
    let d = raw(&long);
    assert_events(&d, &[E::Ipv6TruncPkt]);
    assert!(d.ip.is_some());
    // ESP ends the chain without a transport.
    let p = ipv6(50, &[0, 0, 0, 1, 0, 0, 0, 1]);
    let d = raw(&p);
    assert_events(&d, &[]);
    assert_eq!(d.ip.map(|ip| ip.protocol), Some(50));
    assert_eq!(d.transport, Transport::Other(50));
    assert_eq!(d.payload.len(), 8);
}

#[test]
fn ipv6_fragments() {
    let t = udp(9, 10, &[1; 8]);
    let p = ipv6(44, &cat(&[&frag6(17, 0, true, 0xdead_beef), &t]));
    let d = raw(&p);
    assert_events(&d, &[]);
    let ip = d.ip.expect("ip");
    assert_eq!(
        ip.fragment,
        Some(FragmentInfo {
            offset: 0,
            more: true,
            id: 0xdead_beef
        })
    );
    assert_eq!((ip.id, ip.protocol, ip.header.len()), (0xdead_beef, 17, 40));
    assert_eq!(ip.payload, &t[..]);
    assert_eq!(d.transport.ports(), Some((9, 10)));

    let p = ipv6(44, &cat(&[&frag6(6, 16, false, 7), &[3; 5]]));
    let d = raw(&p);
    assert_events(&d, &[]);
    assert_eq!(
        d.ip.and_then(|ip| ip.fragment),
        Some(FragmentInfo {
            offset: 16,
            more: false,
            id: 7
        })
    );
    assert_eq!(d.transport, Transport::None);
    assert_eq!(d.payload, &[3; 5]);

    let p = ipv6(44, &cat(&[&frag6(6, 16, true, 7), &[3; 5]]));
    assert_events(&raw(&p), &[E::Ipv6FragInvalidLength]);
}

#[test]
fn decode_ip_keeps_outer_context() {
    let inner = ipv4(17, &udp(1, 2, b"x"));
    let frame = eth(0x8100, &cat(&[&vlan_tag(42, 0x0800), &ipv4(4, &inner)]));
    let outer = decode(LinkType::Ethernet, &frame);
    assert_eq!(outer.tunnel.kind, TunnelKind::IpInIp);
    let d = decode_ip(&inner, &outer);
    assert_events(&d, &[]);
    assert_eq!(d.vlan.ids(), &[42]);
    assert_eq!(d.tunnel, outer.tunnel);
    assert_eq!(d.payload, b"x");
    assert_events(&decode_ip(&[0x12], &outer), &[E::IprawInvalidIpVersion]);
}

#[test]
fn checksums() {
    let mut p = ipv4(6, &tcp(1, 2, 0x18, &[], b"data"));
    fix_l4_checksum(&mut p, 16);
    let d = raw(&p);
    assert_eq!(checksum_ok(&d).ip, Checksum::Valid);
    assert_eq!(checksum_ok(&d).transport, Checksum::Valid);
    let mut bad = p.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    bad[10] ^= 1;
    let d = raw(&bad);
    assert_eq!(
        (checksum_ok(&d).ip, checksum_ok(&d).transport),
        (Checksum::Invalid, Checksum::Invalid)
    );

    let p = ipv4(17, &udp(1, 2, b"abc"));
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::Valid); // zero: not computed
    let mut p = ipv4(17, &udp(1, 2, b"abc"));
    fix_l4_checksum(&mut p, 6);
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::Valid);
    p[29] ^= 0x40;
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::Invalid);

    let mut p = ipv6(17, &udp(1, 2, b"abc"));
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::Invalid); // zero is invalid on IPv6
    fix_l4_checksum(&mut p, 6);
    let status = checksum_ok(&raw(&p));
    assert_eq!(
        (status.ip, status.transport),
        (Checksum::NotApplicable, Checksum::Valid)
    );

    let mut p = ipv6(58, &[128, 0, 0, 0, 0, 1, 0, 1]);
    fix_l4_checksum(&mut p, 2);
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::Valid);
    let p = ipv4(1, &icmp(8, 0, [0, 1, 0, 2], b"ping"));
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::Valid);

    let p = ipv4_opts(17, &[], &udp(7, 8, &[1; 16]), 0x2000);
    assert_eq!(checksum_ok(&raw(&p)).transport, Checksum::NotApplicable);
    assert_eq!(
        checksum_ok(&decode(LinkType::Ethernet, &[])),
        Default::default()
    );
}
