//! The packet decoder under every link type.

use tapwatch_common::LinkType;
use tapwatch_wire::{
    checksum_ok, decode, decode_ip, DecodeEvent, Decoded, Transport, MAX_TUNNEL_DEPTH,
    MAX_VLAN_TAGS,
};

/// Link types the first input byte chooses from.
pub(crate) const LINKS: [LinkType; 19] = {
    let mut links = [LinkType::Other(999); 19];
    let mut i = 0;
    while i < LinkType::NAMED.len() {
        links[i] = LinkType::NAMED[i];
        i += 1;
    }
    links
};

/// Decodes `data[1..]` under the link type `data[0]` picks, checks that every view lies inside
/// the frame, that the bounds hold and that event names round-trip; a raw IP frame must also
/// decode the same inside an Ethernet header and through `decode_ip`.
pub fn wire(data: &[u8]) {
    let Some((first, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS
        .get(usize::from(*first) % LINKS.len())
        .copied()
        .unwrap_or(LinkType::Ethernet);
    let decoded = decode(link, frame);
    check(&decoded, frame);
    let _ = checksum_ok(&decoded);

    if link == LinkType::Raw {
        let again = decode_ip(frame, &Decoded::default());
        assert_eq!(decoded, again, "decode(Raw) and decode_ip differ");
        ethernet_is_transparent(frame, &decoded);
    }
    // A reassembled datagram is decoded with the outer packet's context.
    if let Some(ip) = decoded.ip.as_ref() {
        let inner = decode_ip(ip.payload, &decoded);
        check(&inner, ip.payload);
    }
}

/// Checks the invariants of one decoded frame.
pub(crate) fn check(d: &Decoded<'_>, frame: &[u8]) {
    assert!(d.vlan.len() <= MAX_VLAN_TAGS);
    assert!(
        d.tunnel.depth <= MAX_TUNNEL_DEPTH + 1,
        "tunnel depth {}",
        d.tunnel.depth
    );
    assert!(inside(d.payload, frame), "payload outside the frame");
    if let Some(ip) = d.ip.as_ref() {
        assert!(matches!(ip.version, 4 | 6), "IP version {}", ip.version);
        assert!(inside(ip.header, frame), "IP header outside the frame");
        assert!(inside(ip.payload, frame), "IP payload outside the frame");
    }
    match &d.transport {
        Transport::Tcp(t) => assert!(inside(t.header, frame), "TCP header outside the frame"),
        Transport::Icmpv4(i) | Transport::Icmpv6(i) => {
            assert!(inside(i.header, frame), "ICMP header outside the frame")
        }
        _ => {}
    }
    let mut n = 0;
    for event in d.events.iter() {
        n += 1;
        assert_eq!(DecodeEvent::from_name(event.name()), Some(event));
        assert!(d.events.contains(event));
    }
    assert_eq!(n, d.events.len());
    assert_eq!(n == 0, d.events.is_empty());
}

/// Whether `part` lies within `whole` (an empty slice anywhere counts as inside).
pub(crate) fn inside(part: &[u8], whole: &[u8]) -> bool {
    if part.is_empty() {
        return true;
    }
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

/// The same IP packet inside an Ethernet header decodes to the same IP, transport and payload.
fn ethernet_is_transparent(frame: &[u8], raw: &Decoded<'_>) {
    let ethertype: u16 = match frame.first().map(|b| b >> 4) {
        Some(4) => 0x0800,
        Some(6) => 0x86dd,
        _ => return,
    };
    let mut eth = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    eth.extend_from_slice(&ethertype.to_be_bytes());
    eth.extend_from_slice(frame);
    let wrapped = decode(LinkType::Ethernet, &eth);
    check(&wrapped, &eth);
    let key = |d: &Decoded<'_>| d.ip.as_ref().map(|ip| (ip.src, ip.dst, ip.protocol));
    assert_eq!(key(raw), key(&wrapped), "Ethernet changed the IP layer");
    assert_eq!(raw.transport.ports(), wrapped.transport.ports());
    assert_eq!(raw.payload, wrapped.payload, "Ethernet changed the payload");
    assert_eq!(raw.events, wrapped.events, "Ethernet changed the events");
}

/// The selector byte that makes [`wire`] decode a frame of `link`, if it is one it covers.
pub fn link_selector(link: LinkType) -> Option<u8> {
    if matches!(link, LinkType::Other(_)) {
        return None;
    }
    LINKS.iter().position(|l| *l == link).map(|i| i as u8)
}
