//! Link layers: Ethernet II / 802.3, VLAN tags, VN-Tag, E-Tag, 802.1ah, Linux SLL/SLL2,
//! BSD null/loop, PPP and PPPoE. Cisco HDLC and Frame Relay are in `hdlc`, LLC/SNAP and
//! FDDI in `llc`, 802.11 in `wlan`, capture pseudo-headers (NFLOG, PPI, radiotap) in
//! `pseudo`.

use etherparse::{Ethernet2HeaderSlice, SingleVlanHeaderSlice};

use crate::bytes::{be16, be32, head, le32, rest, u8_at};
use crate::decoder::{Decoder, EtherSource, Next};
use crate::hdlc;
use tapwatch_common::DecodeEvent;

/// Ethertypes this crate follows.
pub(crate) mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ tag.
    pub const QINQ_OLD: u16 = 0x9100;
    /// MPLS unicast.
    pub const MPLS_UC: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MC: u16 = 0x8848;
    /// PPPoE discovery.
    pub const PPPOE_DISC: u16 = 0x8863;
    /// PPPoE session.
    pub const PPPOE_SESS: u16 = 0x8864;
    /// Transparent Ethernet bridging (GRE, Geneve).
    pub const TEB: u16 = 0x6558;
    /// 802.1ah provider backbone bridging I-tag.
    pub const IEEE8021AH: u16 = 0x88e7;
    /// Cisco VN-Tag.
    pub const VNTAG: u16 = 0x8926;
    /// 802.1BR E-Tag.
    pub const ETAG: u16 = 0x893f;
    /// ERSPAN type II (GRE protocol).
    pub const ERSPAN_II: u16 = 0x88be;
    /// ERSPAN type III (GRE protocol).
    pub const ERSPAN_III: u16 = 0x22eb;
    /// PPP (GRE v1 protocol).
    pub const PPP: u16 = 0x880b;
}

/// Non-IP ethertypes that are common and expected: no `unknown_ethertype` event.
const KNOWN_NON_IP: &[u16] = &[
    0x0806, // ARP
    0x8035, // RARP
    0x0842, // Wake-on-LAN
    0x22f0, // AVTP
    0x22f3, // TRILL
    0x6002, // DEC MOP
    0x8137, // IPX
    0x809b, // AppleTalk
    0x80f3, // AARP
    0x8808, // Ethernet flow control
    0x8809, // slow protocols (LACP)
    0x8819, // CobraNet
    0x884c, 0x8892, // PROFINET
    0x888e, // EAPOL
    0x8899, // Realtek
    0x88a4, // EtherCAT
    0x88b8, 0x88b9, 0x88ba, // GOOSE, GSE, SV
    0x88cc, // LLDP
    0x88e1, // HomePlug
    0x88e3, // MRP
    0x88e5, // MACsec
    0x88f7, // PTP
    0x88fb, // PRP
    0x8902, // CFM
    0x8906, 0x8914, // FCoE
    0x8915, // RoCE
    0x892f, // HSR
    0x9000, // loopback
];

/// Smallest ethertype value; smaller values are 802.3 length fields.
const MIN_ETHERTYPE: u16 = 0x0600;

/// An Ethernet II (or 802.3) header.
pub(crate) fn ethernet<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    match Ethernet2HeaderSlice::from_slice(data) {
        Ok(eth) => Next::EtherType {
            ethertype: eth.ether_type().0,
            data: rest(data, eth.slice().len()),
            from: EtherSource::Ethernet,
        },
        Err(_) => {
            d.event(DecodeEvent::EthernetPktTooSmall);
            Next::Done
        }
    }
}

/// Dispatches on an ethertype.
pub(crate) fn ethertype<'a>(
    d: &mut Decoder<'a, '_>,
    ty: u16,
    data: &'a [u8],
    from: EtherSource,
) -> Next<'a> {
    if ty < MIN_ETHERTYPE {
        // An 802.3 length field: LLC/SNAP and friends are not decoded.
        d.set_non_ip(None, data);
        return Next::Done;
    }
    d.last_ethertype = Some(ty);
    match ty {
        ethertype::IPV4 => Next::Ipv4(data),
        ethertype::IPV6 => Next::Ipv6(data),
        ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => vlan(d, data),
        ethertype::MPLS_UC | ethertype::MPLS_MC => Next::Mpls(data),
        ethertype::PPPOE_SESS => pppoe_session(d, data),
        ethertype::PPPOE_DISC => pppoe_discovery(d, data),
        ethertype::TEB => Next::Ethernet(data),
        ethertype::IEEE8021AH => ieee8021ah(d, data),
        ethertype::VNTAG => tagged(
            d,
            data,
            4,
            DecodeEvent::VntagHeaderTooSmall,
            EtherSource::Vntag,
        ),
        ethertype::ETAG => tagged(
            d,
            data,
            6,
            DecodeEvent::EtagHeaderTooSmall,
            EtherSource::Etag,
        ),
        _ => {
            if !KNOWN_NON_IP.contains(&ty) {
                let event = match from {
                    EtherSource::Ethernet => Some(DecodeEvent::EthernetUnknownEthertype),
                    EtherSource::Vlan => Some(DecodeEvent::VlanUnknownType),
                    EtherSource::Vntag => Some(DecodeEvent::VntagUnknownType),
                    EtherSource::Etag => Some(DecodeEvent::EtagUnknownType),
                    EtherSource::Other => None,
                };
                if let Some(event) = event {
                    d.event(event);
                }
            }
            d.set_non_ip(Some(ty), data);
            Next::Done
        }
    }
}

/// One 802.1Q / 802.1ad tag.
fn vlan<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let Ok(tag) = SingleVlanHeaderSlice::from_slice(data) else {
        d.event(DecodeEvent::VlanHeaderTooSmall);
        return Next::Done;
    };
    if !d.out.vlan.push(tag.vlan_identifier().value()) {
        d.event(DecodeEvent::VlanTooManyLayers);
        return Next::Done;
    }
    Next::EtherType {
        ethertype: tag.ether_type().0,
        data: rest(data, tag.slice().len()),
        from: EtherSource::Vlan,
    }
}

/// A tag of `tag_len` bytes followed by an ethertype (VN-Tag, E-Tag).
fn tagged<'a>(
    d: &mut Decoder<'a, '_>,
    data: &'a [u8],
    tag_len: usize,
    too_small: DecodeEvent,
    from: EtherSource,
) -> Next<'a> {
    let Some(ty) = be16(data, tag_len) else {
        d.event(too_small);
        return Next::Done;
    };
    Next::EtherType {
        ethertype: ty,
        data: rest(data, tag_len + 2),
        from,
    }
}

/// An 802.1ah I-tag (4 bytes) followed by the customer's Ethernet header.
fn ieee8021ah<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    const ITAG_LEN: usize = 4;
    const MIN_LEN: usize = ITAG_LEN + 14;
    if data.len() < MIN_LEN {
        d.event(DecodeEvent::Ieee8021ahHeaderTooSmall);
        return Next::Done;
    }
    Next::Ethernet(rest(data, ITAG_LEN))
}

/// Linux "cooked" capture v1 header (16 bytes).
pub(crate) fn sll<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    const LEN: usize = 16;
    let (Some(arphrd), Some(protocol)) = (be16(data, 2), be16(data, 14)) else {
        d.event(DecodeEvent::SllPktTooSmall);
        return Next::Done;
    };
    sll_payload(d, arphrd, protocol, rest(data, LEN))
}

/// Linux "cooked" capture v2 header (20 bytes).
pub(crate) fn sll2<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    const LEN: usize = 20;
    if data.len() < LEN {
        d.event(DecodeEvent::SllPktTooSmall);
        return Next::Done;
    }
    let (Some(protocol), Some(arphrd)) = (be16(data, 0), be16(data, 8)) else {
        d.event(DecodeEvent::SllPktTooSmall);
        return Next::Done;
    };
    sll_payload(d, arphrd, protocol, rest(data, LEN))
}

fn sll_payload<'a>(
    d: &mut Decoder<'a, '_>,
    arphrd: u16,
    protocol: u16,
    data: &'a [u8],
) -> Next<'a> {
    /// ARPHRD_NETLINK: the protocol field is a netlink family, not an ethertype.
    const ARPHRD_NETLINK: u16 = 824;
    if arphrd == ARPHRD_NETLINK {
        d.set_non_ip(None, data);
        return Next::Done;
    }
    Next::EtherType {
        ethertype: protocol,
        data,
        from: EtherSource::Other,
    }
}

/// BSD null / OpenBSD loop header: a 4-byte address family in either byte order.
pub(crate) fn null<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    const LEN: usize = 4;
    let (Some(le), Some(be)) = (le32(data, 0), be32(data, 0)) else {
        d.event(DecodeEvent::LtnullPktTooSmall);
        return Next::Done;
    };
    let payload = rest(data, LEN);
    let is = |family: u32| le == family || be == family;
    if is(2) {
        Next::Ipv4(payload)
    } else if is(24) || is(28) || is(30) {
        Next::Ipv6(payload)
    } else {
        d.event(DecodeEvent::LtnullUnsupportedType);
        d.set_non_ip(None, payload);
        Next::Done
    }
}

/// PPP protocol numbers.
mod ppp_proto {
    pub const IPV4: u16 = 0x0021;
    pub const IPV6: u16 = 0x0057;
    pub const VJ_UNCOMPRESSED: u16 = 0x002f;
    pub const MPLS_UC: u16 = 0x0281;
    pub const MPLS_MC: u16 = 0x0283;
    /// Network-layer protocols Suricata knows but does not decode (`ppp.unsup_proto`): VJ
    /// compressed, IPX, OSI, Xerox NS, DECnet, AppleTalk, bridging, multilink, compression.
    pub const UNSUPPORTED: &[u16] = &[
        0x002d, 0x002b, 0x0023, 0x0025, 0x0027, 0x0029, 0x0031, 0x003d, 0x00fd, 0x00fb,
    ];

    /// Whether `protocol` is a link or network control protocol (LCP, PAP, CHAP, LQR, IPCP,
    /// IPv6CP, CCP, MPLSCP...: the 0x8000-0xffff half of the number space). Since 7.0.12
    /// Suricata takes these as ordinary non-IP frames and raises no event for them.
    pub fn is_control(protocol: u16) -> bool {
        protocol >= 0x8000
    }
}

/// A frame of the PPP link types. Routers also write Cisco HDLC frames under these link
/// types (see [`hdlc::looks_chdlc`]); they are recognised before PPP.
pub(crate) fn ppp_link<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    if hdlc::looks_chdlc(data) {
        return hdlc::chdlc(d, data, DecodeEvent::PppPktTooSmall);
    }
    ppp(d, data)
}

/// A PPP frame from its protocol field, optionally preceded by HDLC address/control bytes
/// (`ff 03`); the protocol field may be compressed to one byte (odd first byte).
pub(crate) fn ppp<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let data = match data {
        [0xff, 0x03, tail @ ..] => tail,
        _ => data,
    };
    let Some(first) = u8_at(data, 0) else {
        d.event(DecodeEvent::PppPktTooSmall);
        return Next::Done;
    };
    let (protocol, payload) = if first & 1 == 1 {
        (u16::from(first), rest(data, 1))
    } else {
        match be16(data, 0) {
            Some(p) => (p, rest(data, 2)),
            None => {
                d.event(DecodeEvent::PppPktTooSmall);
                return Next::Done;
            }
        }
    };
    match protocol {
        ppp_proto::IPV4 => {
            if payload.len() < 20 {
                d.event(DecodeEvent::PppIp4PktTooSmall);
                return Next::Done;
            }
            Next::Ipv4(payload)
        }
        ppp_proto::IPV6 => {
            if payload.len() < 40 {
                d.event(DecodeEvent::PppIp6PktTooSmall);
                return Next::Done;
            }
            Next::Ipv6(payload)
        }
        ppp_proto::MPLS_UC | ppp_proto::MPLS_MC => Next::Mpls(payload),
        ppp_proto::VJ_UNCOMPRESSED => {
            // The IPv4 protocol byte holds a VJ slot number: the header is not decodable
            // as IPv4, so only its size is checked.
            if payload.len() < 20 {
                d.event(DecodeEvent::PppVjuPktTooSmall);
            }
            d.set_non_ip(d.last_ethertype, payload);
            Next::Done
        }
        p => {
            if ppp_proto::is_control(p) {
                // Session set-up and teardown: nothing to decode, nothing anomalous.
            } else if ppp_proto::UNSUPPORTED.contains(&p) {
                d.event(DecodeEvent::PppUnsupProto);
            } else {
                d.event(DecodeEvent::PppWrongType);
            }
            d.set_non_ip(d.last_ethertype, payload);
            Next::Done
        }
    }
}

/// PPPoE header length (version/type, code, session id, length).
const PPPOE_LEN: usize = 6;

/// A PPPoE session-stage header followed by PPP.
pub(crate) fn pppoe_session<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(code), Some(len)) = (u8_at(data, 1), be16(data, 4)) else {
        d.event(DecodeEvent::PppoePktTooSmall);
        return Next::Done;
    };
    if code != 0 {
        d.event(DecodeEvent::PppoeWrongCode);
        return Next::Done;
    }
    let body = rest(data, PPPOE_LEN);
    let len = usize::from(len);
    if len > body.len() || len < 2 {
        d.event(DecodeEvent::PppoePktTooSmall);
        return Next::Done;
    }
    // The PPP protocol field is never HDLC-framed or compressed inside PPPoE (RFC 2516),
    // so the frame goes straight to the protocol dispatch.
    Next::Ppp(head(body, len))
}

/// PPPoE discovery codes: PADI, PADO, PADR, PADS, PADT.
const PPPOE_DISCOVERY_CODES: [u8; 5] = [0x09, 0x07, 0x19, 0x65, 0xa7];

/// A PPPoE discovery packet: not IP; checked for a valid code and well-formed tags.
pub(crate) fn pppoe_discovery<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(code), Some(len)) = (u8_at(data, 1), be16(data, 4)) else {
        d.event(DecodeEvent::PppoePktTooSmall);
        d.set_non_ip(Some(crate::link::ethertype::PPPOE_DISC), data);
        return Next::Done;
    };
    if !PPPOE_DISCOVERY_CODES.contains(&code) {
        d.event(DecodeEvent::PppoeWrongCode);
    }
    let body = rest(data, PPPOE_LEN);
    let tags = head(body, usize::from(len));
    if usize::from(len) > body.len() || !tags_well_formed(tags) {
        d.event(DecodeEvent::PppoeMalformedTags);
    }
    d.set_non_ip(Some(crate::link::ethertype::PPPOE_DISC), body);
    Next::Done
}

/// Whether PPPoE tags (type, length, value) exactly fill `tags`.
fn tags_well_formed(mut tags: &[u8]) -> bool {
    while !tags.is_empty() {
        let Some(len) = be16(tags, 2) else {
            return false;
        };
        let end = 4 + usize::from(len);
        if end > tags.len() {
            return false;
        }
        tags = rest(tags, end);
    }
    true
}
