//! TCP, UDP, ICMPv4, ICMPv6 and SCTP.

use super::assert_events;
use super::builders::*;
use crate::{
    decode, DecodeEvent as E, IcmpInfo, LinkType, SctpInfo, TcpFlags, TcpOptions, Transport,
};

fn v4(protocol: u8, segment: &[u8]) -> Vec<u8> {
    ipv4(protocol, segment)
}

#[test]
fn tcp_fields_and_options() {
    let options = [
        2, 4, 0x05, 0xb4, // MSS 1460
        1, 3, 3, 7, // NOP, window scale 7
        4, 2, // SACK permitted
        8, 10, 0, 0, 0, 1, 0, 0, 0, 2, // timestamps
        5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, // two SACK blocks
        1, 0, // NOP, EOL
    ];
    let p = v4(6, &tcp(1234, 80, 0x12, &options, b"payload"));
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    let Transport::Tcp(t) = d.transport else {
        panic!("not tcp: {:?}", d.transport)
    };
    assert_eq!(
        (t.src_port, t.dst_port, t.seq, t.ack, t.window, t.urgent),
        (1234, 80, 1000, 2000, 0xffff, 0)
    );
    assert_eq!(t.flags, TcpFlags(TcpFlags::SYN | TcpFlags::ACK));
    assert_eq!(t.header.len(), 20 + options.len());
    assert_eq!(
        t.options,
        TcpOptions {
            mss: Some(1460),
            wscale: Some(7),
            sack_permitted: true,
            timestamp: Some((1, 2)),
            sack_blocks: 2
        }
    );
    assert_eq!(d.payload, b"payload");
}

#[test]
fn tcp_events() {
    let good = tcp(1, 2, 0x02, &[], b"");
    assert_events(
        &decode(LinkType::Raw, &v4(6, &good[..19])),
        &[E::TcpPktTooSmall],
    );
    let mut p = good.clone();
    p[12] = 0x40;
    assert_events(&decode(LinkType::Raw, &v4(6, &p)), &[E::TcpHlenTooSmall]);
    let mut p = good.clone();
    p[12] = 0x60;
    let p = v4(6, &p);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[E::TcpPktTooSmall]);
    let cases: &[(&[u8], &[E])] = &[
        (&[2, 1, 0, 0], &[E::TcpInvalidOptlen]),
        (&[1, 1, 1, 2], &[E::TcpInvalidOptlen]),
        (&[2, 8, 0, 0], &[E::TcpInvalidOptlen]),
        (&[2, 3, 0, 0], &[E::TcpOptInvalidLen]),
        (&[3, 3, 1, 3, 3, 1, 0, 0], &[E::TcpOptDuplicate]),
        (&[4, 2, 8, 6, 0, 0, 0, 0], &[E::TcpOptInvalidLen]),
    ];
    for (options, events) in cases {
        let p = v4(6, &tcp(1, 2, 0x02, options, b""));
        let d = decode(LinkType::Raw, &p);
        assert_events(&d, events);
        assert!(matches!(d.transport, Transport::Tcp(_)));
    }
}

#[test]
fn udp_fields_and_events() {
    let mut seg = udp(53, 5353, b"abc");
    seg.extend_from_slice(b"trailer");
    let p = v4(17, &seg);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(
        d.transport,
        Transport::Udp(crate::UdpInfo {
            src_port: 53,
            dst_port: 5353,
            length: 11
        })
    );
    assert_eq!(d.payload, b"abc");
    assert_events(
        &decode(LinkType::Raw, &v4(17, &[0; 7])),
        &[E::UdpPktTooSmall],
    );
    assert_events(
        &decode(LinkType::Raw, &v4(17, &[0, 1, 0, 2, 0, 7, 0, 0])),
        &[E::UdpHlenTooSmall],
    );
    let p = v4(17, &[0, 1, 0, 2, 0, 9, 0, 0]);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[E::UdpLenInvalid]);
    assert_eq!(d.transport, Transport::None);
}

#[test]
fn icmpv4() {
    let p = v4(1, &icmp(8, 0, [0x12, 0x34, 0, 7], b"ping"));
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    let Transport::Icmpv4(IcmpInfo {
        icmp_type: 8,
        code: 0,
        id: Some(0x1234),
        seq: Some(7),
        header,
    }) = d.transport
    else {
        panic!("{:?}", d.transport)
    };
    assert_eq!(header.len(), 8);
    assert_eq!(d.payload, b"ping");
    let embedded = ipv4(17, &udp(1, 2, b""));
    let cases: Vec<(Vec<u8>, Vec<E>)> = vec![
        (icmp(3, 3, [0; 4], &embedded), vec![]),
        (
            icmp(3, 3, [0; 4], &embedded[..19]),
            vec![E::Icmpv4Ipv4TruncPkt],
        ),
        (
            icmp(11, 0, [0; 4], &[0x60; 20]),
            vec![E::Icmpv4Ipv4UnknownVer],
        ),
        (icmp(3, 16, [0; 4], &embedded), vec![E::Icmpv4UnknownCode]),
        (icmp(9, 16, [0; 4], b""), vec![]),
        (icmp(77, 0, [0; 4], b""), vec![E::Icmpv4UnknownType]),
        (vec![8, 0, 0, 0, 0, 0, 0], vec![E::Icmpv4PktTooSmall]),
    ];
    for (msg, events) in &cases {
        let p = v4(1, msg);
        let d = decode(LinkType::Raw, &p);
        assert_events(&d, events);
        if events.first() != Some(&E::Icmpv4PktTooSmall) {
            assert!(matches!(
                d.transport,
                Transport::Icmpv4(IcmpInfo {
                    id: None,
                    seq: None,
                    ..
                })
            ));
        }
    }
}

#[test]
fn icmpv6() {
    let p = ipv6(58, &[129, 0, 0, 0, 0, 5, 0, 6, 1]);
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert!(matches!(
        d.transport,
        Transport::Icmpv6(IcmpInfo {
            icmp_type: 129,
            id: Some(5),
            seq: Some(6),
            ..
        })
    ));
    assert_eq!(d.payload, &[1]);
    let embedded = ipv6(59, &[]);
    let cases: Vec<(Vec<u8>, Vec<E>)> = vec![
        (cat(&[&[1, 4, 0, 0, 0, 0, 0, 0], &embedded]), vec![]),
        (
            cat(&[&[1, 9, 0, 0, 0, 0, 0, 0], &embedded]),
            vec![E::Icmpv6UnknownCode],
        ),
        (
            cat(&[&[2, 0, 0, 0, 0, 0, 0, 0], &embedded[..39]]),
            vec![E::Icmpv6Ipv6TruncPkt],
        ),
        (
            cat(&[&[3, 0, 0, 0, 0, 0, 0, 0], &[0x40; 40]]),
            vec![E::Icmpv6Ipv6UnknownVersion],
        ),
        (
            vec![100, 0, 0, 0, 0, 0, 0, 0],
            vec![E::Icmpv6ExperimentationType],
        ),
        (vec![50, 0, 0, 0, 0, 0, 0, 0], vec![E::Icmpv6UnassignedType]),
        (
            vec![130, 0, 0, 0, 0, 0, 0, 0],
            vec![E::Icmpv6MldMessageWithInvalidHl],
        ),
        (vec![138, 2, 0, 0, 0, 0, 0, 0], vec![E::Icmpv6UnknownCode]),
        (vec![128, 0, 0, 0, 0, 0, 0], vec![E::Icmpv6PktTooSmall]),
    ];
    for (msg, events) in &cases {
        let p = ipv6(58, msg);
        assert_events(&decode(LinkType::Raw, &p), events);
    }
}

fn sctp(vtag: u32, chunks: &[u8]) -> Vec<u8> {
    cat(&[
        &[0x0b, 0x59, 0x0b, 0x5a],
        &vtag.to_be_bytes(),
        &[0; 4],
        chunks,
    ])
}

#[test]
fn sctp_header_and_chunks() {
    let data_chunk = [0, 3, 0, 5, 9, 0, 0, 0];
    let p = v4(132, &sctp(7, &data_chunk));
    let d = decode(LinkType::Raw, &p);
    assert_events(&d, &[]);
    assert_eq!(
        d.transport,
        Transport::Sctp(SctpInfo {
            src_port: 2905,
            dst_port: 2906,
            vtag: 7
        })
    );
    assert_eq!(d.payload, &data_chunk);
    let init = [1, 0, 0, 4];
    let cases: Vec<(Vec<u8>, Vec<E>)> = vec![
        (sctp(0, &init), vec![]),
        (sctp(1, &init), vec![E::SctpInitWithNonZeroVtag]),
        (
            sctp(0, &cat(&[&init, &init])),
            vec![E::SctpInitChunkBundled],
        ),
        (sctp(0, &data_chunk), vec![E::SctpDataWithZeroVtag]),
        (sctp(1, &[0, 0, 0, 3]), vec![E::SctpChunkLenInvalid]),
        (sctp(1, &[0, 0, 0, 9, 1]), vec![E::SctpChunkTooSmall]),
        (sctp(1, &[0, 0, 0]), vec![E::SctpChunkTooSmall]),
        (
            sctp(1, &[3, 0, 0, 4].repeat(crate::MAX_SCTP_CHUNKS + 1)),
            vec![E::SctpTooManyChunks],
        ),
        (
            sctp(1, &[3, 0, 0, 4].repeat(crate::MAX_SCTP_CHUNKS)),
            vec![],
        ),
        (vec![0; 11], vec![E::SctpPktTooSmall]),
    ];
    for (seg, events) in &cases {
        let p = v4(132, seg);
        assert_events(&decode(LinkType::Raw, &p), events);
    }
}
