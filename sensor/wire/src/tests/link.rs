//! Link layers: Ethernet, VLAN, tags, SLL, null/loop, raw, PPP, PPPoE.

use super::assert_events;
use super::builders::*;
use crate::{decode, DecodeEvent as E, LinkType, Transport};

fn v4_udp() -> Vec<u8> {
    ipv4(17, &udp(1000, 53, b"q"))
}

#[test]
fn ethernet_ipv4_udp() {
    let frame = eth(0x0800, &v4_udp());
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[]);
    assert_eq!(d.ip.map(|ip| ip.version), Some(4));
    assert_eq!(d.transport.ports(), Some((1000, 53)));
    assert_eq!(d.payload, b"q");
    assert_eq!(d.ethertype, None);
}

#[test]
fn ethernet_too_small() {
    let f = [0u8; 13];
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::EthernetPktTooSmall]);
    assert!(d.ip.is_none());
}

#[test]
fn ieee8023_length_frame_is_not_ip() {
    let frame = eth(0x0026, &[0x42, 0x42, 0x03, 1, 2, 3]);
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[]);
    assert_eq!(d.ethertype, None);
    assert!(d.ip.is_none());
    assert_eq!(d.payload, &[0x42, 0x42, 0x03, 1, 2, 3]);
}

#[test]
fn arp_and_unknown_ethertypes() {
    let f = eth(0x0806, &[1, 2]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert_eq!(d.ethertype, Some(0x0806));
    assert_eq!(d.payload, &[1, 2]);
    let f = eth(0x1234, &[]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::EthernetUnknownEthertype]);
    assert_eq!(d.ethertype, Some(0x1234));
    let frame = eth(0x8100, &cat(&[&vlan_tag(5, 0x1234)]));
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[E::VlanUnknownType]);
    assert_eq!(d.vlan.ids(), &[5]);
}

#[test]
fn vlan_stack_up_to_three() {
    let inner = v4_udp();
    let frame = eth(
        0x88a8,
        &cat(&[
            &vlan_tag(0x2064, 0x8100),
            &vlan_tag(200, 0x9100),
            &vlan_tag(300, 0x0800),
            &inner,
        ]),
    );
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[]);
    assert_eq!(d.vlan.ids(), &[100, 200, 300]);
    assert!(d.ip.is_some());

    let frame = eth(
        0x8100,
        &cat(&[
            &vlan_tag(1, 0x8100),
            &vlan_tag(2, 0x8100),
            &vlan_tag(3, 0x8100),
            &vlan_tag(4, 0x0800),
            &inner,
        ]),
    );
    let d = decode(LinkType::Ethernet, &frame);
    assert_events(&d, &[E::VlanTooManyLayers]);
    assert_eq!(d.vlan.ids(), &[1, 2, 3]);
    assert!(d.ip.is_none());

    let f = eth(0x8100, &[0, 1, 8]);

    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::VlanHeaderTooSmall]);
}

#[test]
fn vntag_etag_8021ah() {
    let inner = v4_udp();
    let f = eth(0x8926, &cat(&[&[0; 4], &[8, 0], &inner]));
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert!(d.ip.is_some());
    let f = eth(0x8926, &[0; 5]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::VntagHeaderTooSmall]);
    let f = eth(0x8926, &[0, 0, 0, 0, 0x12, 0x34]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::VntagUnknownType]);
    let f = eth(0x893f, &cat(&[&[0; 6], &[8, 0], &inner]));
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert!(d.ip.is_some());
    let f = eth(0x893f, &[0; 7]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::EtagHeaderTooSmall]);
    let f = eth(0x893f, &[0, 0, 0, 0, 0, 0, 0x12, 0x34]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::EtagUnknownType]);
    let f = eth(0x88e7, &cat(&[&[0; 4], &eth(0x0800, &inner)]));
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert!(d.ip.is_some());
    let f = eth(0x88e7, &[0; 17]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::Ieee8021ahHeaderTooSmall]);
}

#[test]
fn linux_sll_and_sll2() {
    let inner = v4_udp();
    let sll = cat(&[&[0, 0, 0, 1, 0, 6], &[0; 8], &[8, 0], &inner]);
    let d = decode(LinkType::LinuxSll, &sll);
    assert_events(&d, &[]);
    assert_eq!(d.transport.ports(), Some((1000, 53)));
    assert_events(
        &decode(LinkType::LinuxSll, &sll[..15]),
        &[E::SllPktTooSmall],
    );
    // Netlink: not IP.
    let netlink = cat(&[&[0, 4, 0x03, 0x38, 0, 0], &[0; 8], &[0, 0], &[9, 9]]);
    let d = decode(LinkType::LinuxSll, &netlink);
    assert_events(&d, &[]);
    assert!(d.ip.is_none());
    assert_eq!(d.payload, &[9, 9]);

    let sll2 = cat(&[&[8, 0, 0, 0], &[0, 0, 0, 2], &[0, 1, 0, 6], &[0; 8], &inner]);
    let d = decode(LinkType::LinuxSll2, &sll2);
    assert_events(&d, &[]);
    assert_eq!(d.transport.ports(), Some((1000, 53)));
    assert_events(
        &decode(LinkType::LinuxSll2, &sll2[..19]),
        &[E::SllPktTooSmall],
    );
}

#[test]
fn null_and_loop_families() {
    let v4 = v4_udp();
    let v6 = ipv6(17, &udp(1, 2, b""));
    for (header, v) in [
        ([2, 0, 0, 0], 4),
        ([0, 0, 0, 2], 4),
        ([24, 0, 0, 0], 6),
        ([0, 0, 0, 28], 6),
        ([30, 0, 0, 0], 6),
    ] {
        let body = if v == 4 { &v4 } else { &v6 };
        for link in [LinkType::Null, LinkType::Loop] {
            let f = cat(&[&header, body]);
            let d = decode(link, &f);
            assert_events(&d, &[]);
            assert_eq!(d.ip.map(|ip| ip.version), Some(v));
        }
    }
    assert_events(&decode(LinkType::Null, &[2, 0, 0]), &[E::LtnullPktTooSmall]);
    assert_events(
        &decode(LinkType::Loop, &[7, 0, 0, 0, 1]),
        &[E::LtnullUnsupportedType],
    );
}

#[test]
fn raw_ip_by_nibble() {
    let f = v4_udp();
    let d = decode(LinkType::Raw, &f);
    assert_eq!(d.ip.map(|ip| ip.version), Some(4));
    let v6 = ipv6(59, &[]);
    let d = decode(LinkType::Raw, &v6);
    assert_eq!(d.ip.map(|ip| ip.version), Some(6));
    assert_events(&d, &[]);
    assert_events(
        &decode(LinkType::Raw, &[0x50; 30]),
        &[E::IprawInvalidIpVersion],
    );
    assert_events(&decode(LinkType::Raw, &[]), &[E::IprawInvalidIpVersion]);
    assert_eq!(
        decode(LinkType::Ipv4, &v4_udp()).ip.map(|ip| ip.version),
        Some(4)
    );
    assert_eq!(decode(LinkType::Ipv6, &v6).ip.map(|ip| ip.version), Some(6));
    let d = decode(LinkType::Other(147), &[1, 2, 3]);
    assert_events(&d, &[]);
    assert_eq!(d.payload, &[1, 2, 3]);
}

#[test]
fn ppp_framings() {
    let v4 = v4_udp();
    for framed in [
        cat(&[&[0xff, 0x03, 0x00, 0x21], &v4]),
        cat(&[&[0x00, 0x21], &v4]),
        cat(&[&[0x21], &v4]),
    ] {
        for link in [LinkType::Ppp, LinkType::PppHdlc] {
            let d = decode(link, &framed);
            assert_events(&d, &[]);
            assert_eq!(d.transport.ports(), Some((1000, 53)));
        }
    }
    let v6 = ipv6(59, &[]);
    assert!(decode(LinkType::Ppp, &cat(&[&[0, 0x57], &v6])).ip.is_some());
    assert_events(&decode(LinkType::Ppp, &[0xff, 0x03]), &[E::PppPktTooSmall]);
    assert_events(&decode(LinkType::Ppp, &[0x00]), &[E::PppPktTooSmall]);
    assert_events(
        &decode(LinkType::Ppp, &[0, 0x21, 0x45, 0]),
        &[E::PppIp4PktTooSmall],
    );
    assert_events(
        &decode(LinkType::Ppp, &[0, 0x57, 0x60, 0]),
        &[E::PppIp6PktTooSmall],
    );
    assert_events(
        &decode(LinkType::Ppp, &[0, 0x2f, 0x45, 0]),
        &[E::PppVjuPktTooSmall],
    );
    // LCP: a control protocol, not decoded and not an anomaly (Suricata >= 7.0.12).
    let f = [0xc0, 0x21, 1, 1, 0, 4];
    let d = decode(LinkType::Ppp, &f);
    assert_events(&d, &[]);
    assert!(d.ip.is_none());
    // IPX (0x002b): a network protocol Suricata knows and does not decode.
    assert_events(
        &decode(LinkType::Ppp, &[0, 0x2b, 0xff, 0xff]),
        &[E::PppUnsupProto],
    );
    assert_events(&decode(LinkType::Ppp, &[0x12, 0x34]), &[E::PppWrongType]);
}

/// Regression (tshark differential test, nDPI's `BGP_Cisco_hdlc_slarp.pcap`): Cisco HDLC
/// frames under the PPP link type were reported as `ppp.wrong_type` and lost.
#[test]
fn cisco_hdlc_under_ppp_link_type() {
    let v4 = v4_udp();
    for address in [0x0f, 0x8f] {
        let f = cat(&[&[address, 0x00, 0x08, 0x00], &v4]);
        for link in [LinkType::Ppp, LinkType::PppHdlc] {
            let d = decode(link, &f);
            assert_events(&d, &[]);
            assert_eq!(d.transport.ports(), Some((1000, 53)));
        }
    }
    // SLARP keepalives (ethertype 0x8035 is RARP's; Cisco uses it) are not IP, no event.
    let d = decode(LinkType::Ppp, &[0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 2]);
    assert!(d.ip.is_none());
    assert_eq!(d.ethertype, Some(0x8035));
    assert_events(
        &decode(LinkType::Ppp, &[0x0f, 0x00, 0x08]),
        &[E::PppPktTooSmall],
    );
    // Inside PPPoE the same bytes stay PPP (a wrong protocol), never Cisco HDLC.
    let f = eth(
        0x8864,
        &pppoe_session(0, &cat(&[&[0x0f, 0x00, 0x08, 0x00], &v4])),
    );
    assert!(decode(LinkType::Ethernet, &f).ip.is_none());
}

fn pppoe_session(code: u8, ppp: &[u8]) -> Vec<u8> {
    cat(&[
        &[0x11, code, 0x00, 0x07],
        &(ppp.len() as u16).to_be_bytes(),
        ppp,
    ])
}

#[test]
fn pppoe_session_stage() {
    let ppp = cat(&[&[0x00, 0x21], &v4_udp()]);
    let f = eth(0x8864, &pppoe_session(0, &ppp));
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert_eq!(d.transport.ports(), Some((1000, 53)));
    let f = pppoe_session(0, &ppp);
    let d = decode(LinkType::PppEther, &f);
    assert_events(&d, &[]);
    assert!(d.ip.is_some());
    let f = eth(0x8864, &pppoe_session(7, &ppp));
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::PppoeWrongCode]);
    assert_events(
        &decode(LinkType::PppEther, &[0x11, 0, 0, 1, 0]),
        &[E::PppoePktTooSmall],
    );
    let mut short = pppoe_session(0, &ppp);
    short.truncate(30);
    assert_events(&decode(LinkType::PppEther, &short), &[E::PppoePktTooSmall]);
    // LCP inside PPPoE: not IP and no event, innermost ethertype is PPPoE session.
    let f = eth(0x8864, &pppoe_session(0, &[0xc0, 0x21, 1, 1]));
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert_eq!(d.ethertype, Some(0x8864));
}

#[test]
fn pppoe_discovery_stage() {
    let tags = [0x01, 0x01, 0x00, 0x00, 0x01, 0x03, 0x00, 0x02, 0xab, 0xcd];
    let padi = cat(&[
        &[0x11, 0x09, 0, 0],
        &(tags.len() as u16).to_be_bytes(),
        &tags,
    ]);
    let f = eth(0x8863, &padi);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[]);
    assert_eq!(d.ethertype, Some(0x8863));
    assert!(d.ip.is_none());
    assert_eq!(d.payload, &tags);
    let mut bad = padi.clone();
    bad[1] = 0x42;
    assert_events(
        &decode(LinkType::Ethernet, &eth(0x8863, &bad)),
        &[E::PppoeWrongCode],
    );
    let mut bad = padi.clone();
    bad[13] = 9; // second tag's length runs past the end
    assert_events(
        &decode(LinkType::Ethernet, &eth(0x8863, &bad)),
        &[E::PppoeMalformedTags],
    );
    let f = eth(0x8863, &[0x11, 0x09]);
    let d = decode(LinkType::Ethernet, &f);
    assert_events(&d, &[E::PppoePktTooSmall]);
    assert_eq!(d.ethertype, Some(0x8863));
}

#[test]
fn non_ip_payload_has_no_transport() {
    let f = eth(0x88cc, &[1, 2, 3]);
    let d = decode(LinkType::Ethernet, &f);
    assert_eq!(d.transport, Transport::None);
    assert_events(&d, &[]);
}
