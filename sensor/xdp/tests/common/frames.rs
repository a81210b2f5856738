//! Building test frames and writing them to a classic pcap file.

use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

/// Destination MAC of every test frame (locally administered).
const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
/// Source MAC of every test frame.
const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

/// An Ethernet frame carrying UDP from `src:sport` to `dst:dport` (IPv4 or IPv6, both the
/// same family), optionally 802.1Q-tagged with `vlan`, with `payload_len` bytes of payload
/// derived from `seed`. Checksums are left 0: nothing on the path checks them.
pub fn udp(
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    vlan: Option<u16>,
    payload_len: usize,
    seed: u32,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload_len + 70);
    f.extend_from_slice(&DST_MAC);
    f.extend_from_slice(&SRC_MAC);
    if let Some(v) = vlan {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&(v & 0x0fff).to_be_bytes());
    }
    let udp_len = u16::try_from(8 + payload_len).expect("payload fits");
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&0x0800u16.to_be_bytes());
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&(udp_len + 20).to_be_bytes());
            f.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            f.extend_from_slice(&0x86ddu16.to_be_bytes());
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&udp_len.to_be_bytes());
            f.extend_from_slice(&[17, 64]);
            f.extend_from_slice(&s.octets());
            f.extend_from_slice(&d.octets());
        }
        _ => panic!("mixed address families"),
    }
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&udp_len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for _ in 0..payload_len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        f.push(x as u8);
    }
    f
}

/// An ARP request frame (non-IP).
pub fn arp() -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&SRC_MAC);
    f.extend_from_slice(&0x0806u16.to_be_bytes());
    f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&SRC_MAC);
    f.extend_from_slice(&[192, 0, 2, 11]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[192, 0, 2, 10]);
    f.resize(60, 0);
    f
}

/// Writes `frames` as a microsecond pcap (Ethernet link type).
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        let len = u32::try_from(f.len()).expect("frame fits");
        out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        out.extend_from_slice(&(u32::try_from(i).expect("index") % 1_000_000).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::File::create(path)?.write_all(&out)
}

/// The IPv6 UDP frame of [`udp`] with a hop-by-hop options header (8 bytes of PadN) inserted
/// before the UDP header.
pub fn udp6_hop_by_hop(
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    payload_len: usize,
    seed: u32,
) -> Vec<u8> {
    let mut f = udp(src, sport, dst, dport, None, payload_len, seed);
    assert_eq!(f[12..14], [0x86, 0xdd], "IPv6 frame");
    let payload_len_field = u16::from_be_bytes([f[18], f[19]]) + 8;
    f[18..20].copy_from_slice(&payload_len_field.to_be_bytes());
    f[20] = 0; // next header: hop-by-hop options
    let hbh = [17, 0, 1, 4, 0, 0, 0, 0]; // next UDP, length 8 bytes, PadN of 4
    f.splice(54..54, hbh);
    f
}

/// Marks the untagged IPv4 frame `f` as a fragment: `more` sets MF, `offset8` is the
/// fragment offset in 8-byte units.
pub fn ipv4_fragment(mut f: Vec<u8>, more: bool, offset8: u16) -> Vec<u8> {
    assert_eq!(f[12..14], [0x08, 0x00], "untagged IPv4 frame");
    let v = (offset8 & 0x1fff) | if more { 0x2000 } else { 0 };
    f[20..22].copy_from_slice(&v.to_be_bytes());
    f
}
