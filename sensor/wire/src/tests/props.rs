//! Property tests: etherparse-built packets decode to exactly their fields; arbitrary
//! bytes never panic under any link type.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    DoubleVlanHeader, EtherType, IpHeaders, Ipv4Extensions, Ipv4Header, Ipv6Extensions, Ipv6Header,
    PacketBuilder, SingleVlanHeader, TcpHeader, VlanHeader, VlanId,
};
use proptest::prelude::*;

use super::builders::{cat, eth, ipv4};
use crate::{checksum_ok, decode, decode_ip, Checksum, LinkType, TcpFlags, Transport};

const ALL_LINKS: [LinkType; 19] = {
    let mut links = [LinkType::Other(999); 19];
    let mut i = 0;
    while i < LinkType::NAMED.len() {
        links[i] = LinkType::NAMED[i];
        i += 1;
    }
    links
};

#[derive(Debug, Clone)]
struct Ip {
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    ttl: u8,
    id: u16,
    df: bool,
    tclass: u8,
}

fn ip_strategy() -> impl Strategy<Value = Ip> {
    (
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u8>(),
        any::<u16>(),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(v6, src, dst, ttl, id, df, tclass)| Ip {
            v6,
            src,
            dst,
            ttl,
            id,
            df,
            tclass,
        })
}

fn v4(b: &[u8; 16]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

fn ip_headers(ip: &Ip) -> IpHeaders {
    if ip.v6 {
        IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: ip.tclass,
                hop_limit: ip.ttl,
                source: ip.src,
                destination: ip.dst,
                ..Default::default()
            },
            Ipv6Extensions::default(),
        )
    } else {
        IpHeaders::Ipv4(
            Ipv4Header {
                time_to_live: ip.ttl,
                identification: ip.id,
                dont_fragment: ip.df,
                source: v4(&ip.src),
                destination: v4(&ip.dst),
                ..Default::default()
            },
            Ipv4Extensions::default(),
        )
    }
}

fn vlan_header(ids: &[u16]) -> Option<VlanHeader> {
    let tag = |id: u16, ether_type| SingleVlanHeader {
        pcp: Default::default(),
        drop_eligible_indicator: false,
        vlan_id: VlanId::try_new(id).unwrap_or_default(),
        ether_type,
    };
    match ids {
        [a] => Some(VlanHeader::Single(tag(*a, EtherType::IPV4))),
        [a, b] => Some(VlanHeader::Double(DoubleVlanHeader {
            outer: tag(*a, EtherType::VLAN_TAGGED_FRAME),
            inner: tag(*b, EtherType::IPV4),
        })),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn built_packets_round_trip(
        ip in ip_strategy(),
        vlans in proptest::collection::vec(0u16..4096, 0..=2),
        tcp in any::<bool>(),
        ports in any::<(u16, u16)>(),
        seq_ack in any::<(u32, u32)>(),
        window in any::<u16>(),
        flag_bits in 0u16..0x200,
        mss in any::<u16>(),
        wscale in 0u8..15,
        payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let step = match vlan_header(&vlans) {
            Some(v) => builder.vlan(v).ip(ip_headers(&ip)),
            None => builder.ip(ip_headers(&ip)),
        };
        let mut frame = Vec::new();
        if tcp {
            let mut h = TcpHeader::new(ports.0, ports.1, seq_ack.0, window);
            h.acknowledgment_number = seq_ack.1;
            let bit = |b: u16| flag_bits & b != 0;
            (h.fin, h.syn, h.rst, h.psh, h.ack, h.urg, h.ece, h.cwr, h.ns) = (
                bit(TcpFlags::FIN), bit(TcpFlags::SYN), bit(TcpFlags::RST), bit(TcpFlags::PSH),
                bit(TcpFlags::ACK), bit(TcpFlags::URG), bit(TcpFlags::ECE), bit(TcpFlags::CWR),
                bit(TcpFlags::NS),
            );
            let [hi, lo] = mss.to_be_bytes();
            h.set_options_raw(&[2, 4, hi, lo, 1, 3, 3, wscale]).expect("options fit");
            step.tcp_header(h).write(&mut frame, &payload).expect("write");
        } else {
            step.udp(ports.0, ports.1).write(&mut frame, &payload).expect("write");
        }

        let d = decode(LinkType::Ethernet, &frame);
        prop_assert!(d.events.is_empty(), "events {:?}", d.events);
        prop_assert_eq!(d.vlan.ids(), &vlans[..]);
        let got = d.ip.expect("ip");
        let (src, dst): (IpAddr, IpAddr) = if ip.v6 {
            (Ipv6Addr::from(ip.src).into(), Ipv6Addr::from(ip.dst).into())
        } else {
            (Ipv4Addr::from(v4(&ip.src)).into(), Ipv4Addr::from(v4(&ip.dst)).into())
        };
        prop_assert_eq!((got.src, got.dst, got.ttl), (src, dst, ip.ttl));
        if ip.v6 {
            prop_assert_eq!((got.version, got.tos, got.id), (6, ip.tclass, 0));
        } else {
            prop_assert_eq!((got.version, got.id, got.dont_fragment), (4, u32::from(ip.id), ip.df));
        }
        prop_assert_eq!(got.fragment, None);
        prop_assert_eq!(got.protocol, if tcp { 6 } else { 17 });
        prop_assert_eq!(d.payload, &payload[..]);
        prop_assert_eq!(d.transport.ports(), Some(ports));
        if let Transport::Tcp(t) = d.transport {
            prop_assert_eq!((t.seq, t.ack, t.window), seq_ack_window(seq_ack, window));
            prop_assert_eq!(t.flags, TcpFlags(flag_bits));
            prop_assert_eq!((t.options.mss, t.options.wscale), (Some(mss), Some(wscale)));
        } else {
            prop_assert!(!tcp);
        }
        let status = checksum_ok(&d);
        prop_assert_eq!(status.transport, Checksum::Valid);
        prop_assert_eq!(status.ip, if ip.v6 { Checksum::NotApplicable } else { Checksum::Valid });
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for link in ALL_LINKS {
            let d = decode(link, &bytes);
            let _ = checksum_ok(&d);
            let _ = decode_ip(&bytes, &d);
        }
    }

    #[test]
    fn arbitrary_bytes_behind_valid_headers_never_panic(
        ethertype in prop::sample::select(vec![0x0800u16, 0x86dd, 0x8100, 0x88a8, 0x8847, 0x8863, 0x8864, 0x88e7, 0x8926, 0x893f]),
        protocol in prop::sample::select(vec![1u8, 4, 6, 17, 41, 47, 58, 132, 0, 43, 44, 50, 51, 59, 60]),
        port in prop::sample::select(vec![4789u16, 6081, 3544, 53]),
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let f = eth(ethertype, &bytes);
        let d = decode(LinkType::Ethernet, &f);
        let _ = checksum_ok(&d);
        let f = ipv4(protocol, &bytes);
        let d = decode(LinkType::Raw, &f);
        let _ = checksum_ok(&d);
        let udp = cat(&[&[0, 1], &port.to_be_bytes(), &((bytes.len() + 8) as u16).to_be_bytes(), &[0, 0], &bytes]);
        let f = ipv4(17, &udp);
        let d = decode(LinkType::Raw, &f);
        // Either the outer packet, or a committed tunnel whose inner frame is not IP.
        prop_assert!(d.ip.is_some() || d.tunnel.depth == 1);
        let gre = cat(&[bytes.get(..2).unwrap_or(&[0, 0]), &[0x65, 0x58], &bytes]);
        let f = ipv4(47, &gre);
        let d = decode(LinkType::Raw, &f);
        // Either the outer packet, or a committed tunnel whose inner frame is not IP.
        prop_assert!(d.ip.is_some() || d.tunnel.depth == 1);
    }
}

fn seq_ack_window(seq_ack: (u32, u32), window: u16) -> (u32, u32, u16) {
    (seq_ack.0, seq_ack.1, window)
}
