//! Rewriting the first fragment's header into the reassembled packet's header.

/// IPv6 extension headers that may precede a fragment header and share the
/// "next header, length in 8-octet units minus one" layout.
const CHAINED_EXT_HEADERS: [u8; 7] = [0, 43, 60, 135, 139, 140, 253];

/// Fixes an IPv4 header in place for a reassembled packet of `total_len` bytes: total
/// length, MF flag and fragment offset cleared (DF and the reserved bit kept), checksum
/// recomputed. `header` is at least 20 bytes.
pub(crate) fn fix_ipv4(header: &mut [u8], total_len: u16) {
    if let Some(len) = header.get_mut(2..4) {
        len.copy_from_slice(&total_len.to_be_bytes());
    }
    if let Some(flags) = header.get_mut(6..8) {
        // Keep the reserved ("evil") bit and DF; clear MF and the offset.
        flags[0] &= 0xc0;
        flags[1] = 0;
    }
    if let Some(sum) = header.get_mut(10..12) {
        sum.copy_from_slice(&[0, 0]);
    }
    let sum = checksum(header);
    if let Some(field) = header.get_mut(10..12) {
        field.copy_from_slice(&sum.to_be_bytes());
    }
}

/// The Internet checksum of `bytes` (an odd last byte padded with zero).
pub(crate) fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| {
            let hi = c.first().copied().unwrap_or(0);
            let lo = c.get(1).copied().unwrap_or(0);
            u32::from(u16::from_be_bytes([hi, lo]))
        })
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Fixes an IPv6 header chain in place for a reassembled packet: the next-header field
/// that pointed to the (removed) fragment header becomes `next_header`, and the payload
/// length becomes `payload_len`. `header` is at least 40 bytes.
pub(crate) fn fix_ipv6(header: &mut [u8], next_header: u8, payload_len: u16) {
    if let Some(len) = header.get_mut(4..6) {
        len.copy_from_slice(&payload_len.to_be_bytes());
    }
    // Walk the extension headers to the last next-header field of the chain.
    let mut field = 6;
    let mut at = 40;
    while let Some(&nh) = header.get(field) {
        if at >= header.len() || !CHAINED_EXT_HEADERS.contains(&nh) {
            break;
        }
        let Some(&units) = header.get(at + 1) else {
            break;
        };
        field = at;
        at += (usize::from(units) + 1) * 8;
    }
    if let Some(nh) = header.get_mut(field) {
        *nh = next_header;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_header() {
        // A classic example header whose checksum is 0xb861.
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&h), 0xb861);
        h[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_eq!(checksum(&h), 0);
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn ipv4_flags_offset_length_and_checksum() {
        let mut h = [0u8; 24];
        h[0] = 0x46;
        h[6..8].copy_from_slice(&(0x8000u16 | 0x4000 | 0x2000 | 0x00b9).to_be_bytes());
        h[10] = 0x12;
        fix_ipv4(&mut h, 1500);
        assert_eq!(&h[2..4], &1500u16.to_be_bytes());
        assert_eq!(&h[6..8], &0xc000u16.to_be_bytes());
        assert_eq!(checksum(&h), 0);
    }

    #[test]
    fn ipv6_patches_the_last_next_header_of_the_chain() {
        // Fixed header -> hop-by-hop (8 bytes) -> destination options (16 bytes) -> [frag].
        let mut h = vec![0u8; 40 + 8 + 16];
        h[0] = 0x60;
        h[6] = 0;
        h[40] = 60;
        h[41] = 0;
        h[48] = 44;
        h[49] = 1;
        fix_ipv6(&mut h, 17, 1234);
        assert_eq!(&h[4..6], &1234u16.to_be_bytes());
        assert_eq!((h[6], h[40], h[48]), (0, 60, 17));

        let mut bare = vec![0u8; 40];
        bare[6] = 44;
        fix_ipv6(&mut bare, 6, 8);
        assert_eq!(bare[6], 6);

        // A chain claiming more bytes than present: the last field found is patched.
        let mut short = vec![0u8; 44];
        short[6] = 43;
        short[40] = 44;
        short[41] = 9;
        fix_ipv6(&mut short, 58, 8);
        assert_eq!((short[6], short[40]), (43, 58));
    }
}
