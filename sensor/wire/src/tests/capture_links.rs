//! Link types beyond Ethernet: Cisco HDLC, Frame Relay, FDDI, NFLOG, PPI, 802.11 and
//! radiotap.

use super::assert_events;
use super::builders::*;
use crate::{decode, DecodeEvent as E, Decoded, LinkType};

fn v4_udp() -> Vec<u8> {
    ipv4(17, &udp(1000, 53, b"q"))
}

/// Asserts that `d` reached the UDP datagram of [`v4_udp`] without an event.
#[track_caller]
fn reached_v4_udp(d: &Decoded<'_>) {
    assert_events(d, &[]);
    assert_eq!(d.ip.map(|ip| ip.version), Some(4));
    assert_eq!(d.transport.ports(), Some((1000, 53)));
    assert_eq!(d.payload, b"q");
}

/// Asserts that `d` is not IP and raised no event.
#[track_caller]
fn not_ip(d: &Decoded<'_>) {
    assert_events(d, &[]);
    assert!(d.ip.is_none());
}

#[test]
fn cisco_hdlc_link_type() {
    for address in [0x0f, 0x8f] {
        let f = cat(&[&[address, 0x00, 0x08, 0x00], &v4_udp()]);
        reached_v4_udp(&decode(LinkType::Chdlc, &f));
    }
    let v6 = ipv6(17, &udp(1, 2, b"6"));
    let input = cat(&[&[0x0f, 0x00, 0x86, 0xdd], &v6]);
    let d = decode(LinkType::Chdlc, &input);
    assert_eq!((d.ip.map(|ip| ip.version), d.payload), (Some(6), &b"6"[..]));
    // nDPI's BGP_redist.pcap: MPLS (label 18) over Cisco HDLC.
    let mpls = cat(&[
        &[0x0f, 0x00, 0x88, 0x47],
        &[0x00, 0x01, 0x2d, 0xfe],
        &v4_udp(),
    ]);
    let d = decode(LinkType::Chdlc, &mpls);
    reached_v4_udp(&d);
    assert_eq!(d.tunnel.kind, crate::TunnelKind::Mpls { label: 18 });
    // SLARP keepalive: not IP, no event.
    let d = decode(LinkType::Chdlc, &[0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 2]);
    not_ip(&d);
    assert_eq!(d.ethertype, Some(0x8035));
    for short in [&[][..], &[0x0f], &[0x0f, 0x00, 0x08]] {
        assert_events(&decode(LinkType::Chdlc, short), &[E::ChdlcPktTooSmall]);
    }
}

#[test]
fn frame_relay_encapsulations() {
    let v4 = v4_udp();
    // Cisco encapsulation (Arkime's icmp-frame-relay.pcap): DLCI, then an ethertype.
    reached_v4_udp(&decode(
        LinkType::FrameRelay,
        &cat(&[&[0x18, 0x61, 0x08, 0x00], &v4]),
    ));
    // RFC 2427: UI control, NLPID IPv4, with and without the pad byte; 3-byte address.
    reached_v4_udp(&decode(
        LinkType::FrameRelay,
        &cat(&[&[0x18, 0x61, 0x03, 0xcc], &v4]),
    ));
    reached_v4_udp(&decode(
        LinkType::FrameRelay,
        &cat(&[&[0x18, 0x60, 0x01, 0x03, 0x00, 0xcc], &v4]),
    ));
    // SNAP with an ethertype.
    reached_v4_udp(&decode(
        LinkType::FrameRelay,
        &cat(&[&[0x18, 0x61, 0x03, 0x00, 0x80, 0, 0, 0, 0x08, 0x00], &v4]),
    ));
    let v6 = ipv6(17, &udp(1, 2, b"6"));
    let input = cat(&[&[0x18, 0x61, 0x03, 0x8e], &v6]);
    let d = decode(LinkType::FrameRelay, &input);
    assert_eq!(d.ip.map(|ip| ip.version), Some(6));
    // Q.933 signalling (NLPID 0x08), bridged 802.3 SNAP, an address without its end bit,
    // a one-byte address, truncated frames: not IP, no event.
    let others: [&[u8]; 7] = [
        &[0x00, 0x01, 0x03, 0x08, 0x00, 0x01],
        &[0x18, 0x61, 0x03, 0x00, 0x80, 0x00, 0x80, 0xc2, 0x00, 0x07],
        &[0x18, 0x60, 0x00, 0x00, 0x03, 0xcc, 0x45],
        &[0x19, 0x03, 0xcc, 0x45],
        &[0x18, 0x61, 0x08],
        &[0x18, 0x61, 0x03],
        &[],
    ];
    for frame in others {
        not_ip(&decode(LinkType::FrameRelay, frame));
    }
}

fn fddi(fc: u8, llc: &[u8]) -> Vec<u8> {
    cat(&[&[fc], &MAC_B, &MAC_A, llc])
}

#[test]
fn fddi_llc_snap() {
    let snap = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    // Zeek's llc.pcap: asynchronous LLC frames, priority 0.
    reached_v4_udp(&decode(
        LinkType::Fddi,
        &fddi(0x50, &cat(&[&snap, &v4_udp()])),
    ));
    let input = fddi(0x50, &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06]);
    let d = decode(LinkType::Fddi, &input);
    not_ip(&d);
    assert_eq!(d.ethertype, Some(0x0806));
    // A MAC or SMT frame, LLC without SNAP (spanning tree), an unknown OUI, truncations.
    let others = [
        fddi(0x41, &cat(&[&snap, &v4_udp()])),
        fddi(0x50, &[0x42, 0x42, 0x03, 0, 0]),
        fddi(
            0x50,
            &cat(&[&[0xaa, 0xaa, 0x03, 0x00, 0x80, 0xc2, 0x08, 0x00], &v4_udp()]),
        ),
        fddi(0x50, &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08]),
        vec![0x50; 12],
        vec![],
    ];
    for frame in &others {
        not_ip(&decode(LinkType::Fddi, frame));
    }
}

/// An NFLOG message as Linux writes it on a little-endian host (the TLVs before the
/// payload are those of Arkime's nflog.pcap), with `packet` in its payload TLV.
fn nflog_le(family: u8, packet: &[u8]) -> Vec<u8> {
    let payload_len = (4 + packet.len()) as u16;
    cat(&[
        &[family, 0x00, 0x00, 0x28],
        &[0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00],
        &[0x05, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00],
        &[0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x02],
        &payload_len.to_le_bytes(),
        &[0x09, 0x00],
        packet,
    ])
}

#[test]
fn nflog_payload_tlv() {
    reached_v4_udp(&decode(LinkType::Nflog, &nflog_le(2, &v4_udp())));
    let v6 = ipv6(17, &udp(1, 2, b"6"));
    let input = nflog_le(10, &v6);
    let d = decode(LinkType::Nflog, &input);
    assert_eq!((d.ip.map(|ip| ip.version), d.payload), (Some(6), &b"6"[..]));
    // A big-endian host, with the netlink byte-order flag on a TLV type.
    let packet = v4_udp();
    let be = cat(&[
        &[2, 0, 0, 1],
        &[0x00, 0x06, 0x40, 0x0a, b'x', b'y', 0, 0],
        &(4 + packet.len() as u16).to_be_bytes(),
        &[0x00, 0x09],
        &packet,
    ]);
    reached_v4_udp(&decode(LinkType::Nflog, &be));
    // A payload cut by the snap length is decoded as captured.
    let mut cut = nflog_le(2, &v4_udp());
    cut.truncate(cut.len() - 2);
    assert_events(&decode(LinkType::Nflog, &cut), &[E::Ipv4TruncPkt]);
}

#[test]
fn nflog_without_a_readable_payload_is_not_ip() {
    let cases: [Vec<u8>; 6] = [
        // Zeek's nflog-bad-tlv-len.pcap: a TLV length of 1.
        vec![2, 0, 0, 0, 1, 0, 0, 0],
        // A zero length (must not loop), no payload TLV, a TLV past the end.
        vec![2, 0, 0, 0, 0, 0, 9, 0, 0x45],
        vec![2, 0, 0, 0, 8, 0, 1, 0, 8, 0, 3, 0],
        vec![2, 0, 0, 0, 0xff, 0xff, 1, 0],
        // Families other than IPv4 and IPv6 (here AF_BRIDGE), an empty message.
        nflog_le(7, &v4_udp()),
        vec![],
    ];
    for frame in &cases {
        not_ip(&decode(LinkType::Nflog, frame));
    }
}

fn ppi(len: u16, dlt: u32, frame: &[u8]) -> Vec<u8> {
    let mut header = cat(&[&[0, 0], &len.to_le_bytes(), &dlt.to_le_bytes()]);
    header.resize(usize::from(len).max(8), 0);
    cat(&[&header, frame])
}

#[test]
fn ppi_names_the_inner_link_type() {
    let frame = eth(0x0800, &v4_udp());
    // nDPI's someip_sd_sample.pcap: a 16-byte PPI header (one field) before Ethernet.
    reached_v4_udp(&decode(LinkType::Ppi, &ppi(16, 1, &frame)));
    reached_v4_udp(&decode(LinkType::Ppi, &ppi(8, 101, &v4_udp())));
    let others = [
        ppi(8, 192, &ppi(8, 1, &frame)),
        ppi(4, 1, &frame),
        ppi(8, 147, &frame),
        cat(&[&[1, 0, 8, 0, 1, 0, 0, 0], &frame]),
        vec![0, 0, 0x40, 0, 1, 0, 0, 0, 0],
        vec![0, 0, 8],
    ];
    for f in &others {
        not_ip(&decode(LinkType::Ppi, f));
    }
}

const LLC_SNAP_IPV4: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

/// An 802.11 data frame of subtype `subtype` with flags `fc1` and 3 (or, to and from the
/// distribution system, 4) addresses, then `extra` (QoS, HT control) and `body`.
fn wlan(subtype: u8, fc1: u8, sequence: u16, extra: &[u8], body: &[u8]) -> Vec<u8> {
    let addr4: &[u8] = if fc1 & 3 == 3 { &MAC_A } else { &[] };
    cat(&[
        &[0x08 | (subtype << 4), fc1, 0x2c, 0x00],
        &MAC_A,
        &MAC_B,
        &MAC_A,
        &sequence.to_le_bytes(),
        addr4,
        extra,
        body,
    ])
}

#[test]
fn ieee80211_data_frames() {
    let body = cat(&[&LLC_SNAP_IPV4, &v4_udp()]);
    // Data from an access point (Zeek's wlanmon.pcap), to one, between two; QoS data, with
    // an HT control field when the order flag is set.
    for fc1 in [0x02, 0x01, 0x03] {
        reached_v4_udp(&decode(
            LinkType::Ieee80211,
            &wlan(0, fc1, 0x10, &[], &body),
        ));
    }
    reached_v4_udp(&decode(
        LinkType::Ieee80211,
        &wlan(8, 0x01, 0x10, &[0x06, 0], &body),
    ));
    reached_v4_udp(&decode(
        LinkType::Ieee80211,
        &wlan(8, 0x81, 0x10, &[0, 0, 1, 2, 3, 4], &body),
    ));
    // Trailing FCS bytes after the IP packet are ignored.
    let with_fcs = cat(&[&wlan(0, 0x02, 0x10, &[], &body), &[1, 2, 3, 4]]);
    reached_v4_udp(&decode(LinkType::Ieee80211, &with_fcs));
    let arp = wlan(
        0,
        0x02,
        0x10,
        &[],
        &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x06, 0, 1],
    );
    let d = decode(LinkType::Ieee80211, &arp);
    not_ip(&d);
    assert_eq!(d.ethertype, Some(0x0806));
}

#[test]
fn ieee80211_frames_without_readable_ip() {
    let body = cat(&[&LLC_SNAP_IPV4, &v4_udp()]);
    let mut beacon = wlan(0, 0, 0x10, &[], &body);
    beacon[0] = 0x80;
    let mut control = wlan(0, 0, 0x10, &[], &body);
    control[0] = 0xd4;
    let mut version1 = wlan(0, 0x02, 0x10, &[], &body);
    version1[0] |= 1;
    let cases = [
        beacon,
        control,
        version1,
        // Protected (WEP/WPA), null data, QoS null, a fragment, more fragments, an A-MSDU.
        wlan(0, 0x42, 0x10, &[], &body),
        wlan(4, 0x01, 0x10, &[], &[]),
        wlan(12, 0x01, 0x10, &[0, 0], &[]),
        wlan(0, 0x02, 0x11, &[], &body),
        wlan(0, 0x06, 0x10, &[], &body),
        wlan(8, 0x01, 0x10, &[0x80, 0], &body),
        // Truncated headers.
        wlan(8, 0x81, 0x10, &[0, 0, 1], &[]),
        vec![0x08, 0x02, 0x2c],
        vec![],
    ];
    for frame in &cases {
        not_ip(&decode(LinkType::Ieee80211, frame));
    }
}

#[test]
fn radiotap_then_80211() {
    let frame = wlan(0, 0x02, 0x10, &[], &cat(&[&LLC_SNAP_IPV4, &v4_udp()]));
    // Flags only: no FCS.
    let header = [0, 0, 9, 0, 0x02, 0, 0, 0, 0x00];
    reached_v4_udp(&decode(LinkType::Radiotap, &cat(&[&header, &frame])));
    // TSFT (8-byte aligned), then flags with "FCS at end": the FCS is removed.
    let header = cat(&[&[0, 0, 17, 0, 0x03, 0, 0, 0], &[9; 8], &[0x10]]);
    let fcs = [0xde, 0xad, 0xbe, 0xef];
    let input = cat(&[&header, &frame, &fcs]);
    let d = decode(LinkType::Radiotap, &input);
    reached_v4_udp(&d);
    // An extended bitmap before the fields (Zeek's radiotap.pcap has two), so TSFT needs
    // 4 bytes of alignment padding.
    let header = cat(&[
        &[0, 0, 32, 0, 0x03, 0, 0, 0x80],
        &[0, 0, 0, 0],
        &[0; 4],
        &[9; 8],
        &[0x10],
        &[0; 7],
    ]);
    reached_v4_udp(&decode(LinkType::Radiotap, &cat(&[&header, &frame, &fcs])));
    let others = [
        cat(&[&[1, 0, 8, 0, 0, 0, 0, 0], &frame]),
        cat(&[&[0, 0, 4, 0, 0, 0, 0, 0], &frame]),
        vec![0, 0, 0x20, 0, 0x02, 0, 0, 0, 0],
        vec![0, 0, 8],
        vec![0, 0, 8, 0, 0, 0, 0, 0],
    ];
    for f in &others {
        not_ip(&decode(LinkType::Radiotap, f));
    }
}
