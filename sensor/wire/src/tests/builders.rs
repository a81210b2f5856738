//! Small packet builders for fixtures (headers with correct lengths and checksums).

use etherparse::checksum::Sum16BitWords;

pub(crate) const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
pub(crate) const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
pub(crate) const V4_A: [u8; 4] = [10, 0, 0, 1];
pub(crate) const V4_B: [u8; 4] = [10, 0, 0, 2];
pub(crate) const V6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub(crate) const V6_B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

pub(crate) fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    cat(&[&MAC_B, &MAC_A, &ethertype.to_be_bytes(), payload])
}

pub(crate) fn vlan_tag(id: u16, ethertype: u16) -> Vec<u8> {
    cat(&[&id.to_be_bytes(), &ethertype.to_be_bytes()])
}

fn csum(data: &[u8]) -> [u8; 2] {
    Sum16BitWords::new()
        .add_slice(data)
        .ones_complement()
        .to_ne_bytes()
}

/// An IPv4 header with `options` (padded by the caller to 4 bytes) and a correct checksum.
pub(crate) fn ipv4_opts(protocol: u8, options: &[u8], payload: &[u8], frag: u16) -> Vec<u8> {
    let hlen = 20 + options.len();
    let total = (hlen + payload.len()) as u16;
    let mut h = cat(&[
        &[0x40 | (hlen / 4) as u8, 0x28],
        &total.to_be_bytes(),
        &[0x12, 0x34],
        &frag.to_be_bytes(),
        &[64, protocol, 0, 0],
        &V4_A,
        &V4_B,
        options,
    ]);
    let c = csum(&h);
    h[10] = c[0];
    h[11] = c[1];
    h.extend_from_slice(payload);
    h
}

pub(crate) fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_opts(protocol, &[], payload, 0x4000)
}

/// An IPv6 header; `payload` includes any extension headers.
pub(crate) fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &[0x60, 0x00, 0x00, 0x01],
        &(payload.len() as u16).to_be_bytes(),
        &[next, 64],
        &V6_A,
        &V6_B,
        payload,
    ])
}

/// A generic 8-byte-unit extension header (`body` padded to a multiple of 8 minus 2).
pub(crate) fn ext(next: u8, body: &[u8]) -> Vec<u8> {
    assert_eq!((body.len() + 2) % 8, 0);
    cat(&[&[next, ((body.len() + 2) / 8 - 1) as u8], body])
}

pub(crate) fn frag6(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    cat(&[
        &[next, 0],
        &(offset | u16::from(more)).to_be_bytes(),
        &id.to_be_bytes(),
    ])
}

pub(crate) fn tcp(sport: u16, dport: u16, flags: u8, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let hlen = 20 + options.len();
    cat(&[
        &sport.to_be_bytes(),
        &dport.to_be_bytes(),
        &1000u32.to_be_bytes(),
        &2000u32.to_be_bytes(),
        &[((hlen / 4) as u8) << 4, flags],
        &[0xff, 0xff, 0, 0, 0, 0],
        options,
        payload,
    ])
}

pub(crate) fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    cat(&[
        &sport.to_be_bytes(),
        &dport.to_be_bytes(),
        &((8 + payload.len()) as u16).to_be_bytes(),
        &[0, 0],
        payload,
    ])
}

/// An ICMP message with a correct ICMPv4 checksum (no pseudo header).
pub(crate) fn icmp(t: u8, code: u8, rest: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut m = cat(&[&[t, code, 0, 0], &rest, payload]);
    let c = csum(&m);
    m[2] = c[0];
    m[3] = c[1];
    m
}

/// Fills in the transport checksum of an IPv4 or IPv6 `packet` built by these helpers
/// (no options or extension headers) at byte `at` of the segment.
pub(crate) fn fix_l4_checksum(packet: &mut [u8], at: usize) {
    let v6 = packet[0] >> 4 == 6;
    let (hlen, proto) = if v6 { (40, packet[6]) } else { (20, packet[9]) };
    let seg_len = packet.len() - hlen;
    let mut sum = Sum16BitWords::new();
    sum = if v6 {
        sum.add_slice(&packet[8..40])
            .add_slice(&(seg_len as u32).to_be_bytes())
            .add_slice(&[0, 0, 0, proto])
    } else {
        sum.add_slice(&packet[12..20])
            .add_slice(&[0, proto])
            .add_slice(&(seg_len as u16).to_be_bytes())
    };
    packet[hlen + at] = 0;
    packet[hlen + at + 1] = 0;
    let c = sum
        .add_slice(&packet[hlen..])
        .ones_complement()
        .to_ne_bytes();
    packet[hlen + at] = c[0];
    packet[hlen + at + 1] = c[1];
}
