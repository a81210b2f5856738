//! Frames built by the tests.

use tapwatch_capture::RawPacket;
use tapwatch_common::{LinkType, Timestamp};

/// An Ethernet frame with an optional VLAN tag, IPv4 and UDP (or a fragment of it).
pub(crate) fn frame(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    vlan: Option<u16>,
    frag: Option<(u16, bool)>,
) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    if let Some(id) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&id.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x00]);
    let payload_len = 8 + 8;
    let (offset_words, more) = frag.unwrap_or((0, false));
    let flags_off = (u16::from(more) << 13) | offset_words;
    let total = (20 + payload_len) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x12, 0x34]);
    ip.extend_from_slice(&flags_off.to_be_bytes());
    ip.extend_from_slice(&[64, 17, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    f.extend_from_slice(&ip);
    if offset_words == 0 {
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&16u16.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    } else {
        f.extend_from_slice(&[0xaa; 8]);
    }
    f.extend_from_slice(&[0x55; 8]);
    f
}

pub(crate) fn packet(data: &[u8]) -> RawPacket<'_> {
    RawPacket {
        ts: Timestamp::new(1_700_000_000, 0),
        link: LinkType::Ethernet,
        data,
        orig_len: data.len() as u32,
        interface: 0,
    }
}

/// An IP-in-IP packet: outer IPv4 (protocol 4) carrying `inner` (an IPv4 datagram), or
/// a fragment of that outer datagram.
pub(crate) fn ipip(
    outer_src: [u8; 4],
    outer_dst: [u8; 4],
    inner: &[u8],
    frag: Option<(u16, bool)>,
) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    let (offset_words, more) = frag.unwrap_or((0, false));
    let total = (20 + inner.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x56, 0x78]);
    ip.extend_from_slice(&((u16::from(more) << 13) | offset_words).to_be_bytes());
    ip.extend_from_slice(&[64, 4, 0, 0]);
    ip.extend_from_slice(&outer_src);
    ip.extend_from_slice(&outer_dst);
    f.extend_from_slice(&ip);
    f.extend_from_slice(inner);
    f
}
