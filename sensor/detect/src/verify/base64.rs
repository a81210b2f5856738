//! Base64 decoding for `base64_decode` and the `from_base64` transform.
//!
//! Suricata documents RFC 4648 behaviour by default: the first character outside the
//! alphabet (padding `=` included) ends the data. `rfc2045` skips characters outside the
//! alphabet instead; `strict` yields nothing when one is found. A final group of 2 or 3
//! characters yields its 1 or 2 whole bytes; a lone final character yields nothing.

/// Most bytes one decoding writes (Suricata limits `base64_decode` to 64 KiB).
pub const MAX_DECODED: usize = 65_536;

/// How characters outside the alphabet are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Stop at the first one.
    Rfc4648,
    /// Skip them.
    Rfc2045,
    /// Fail: decode nothing.
    Strict,
}

fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Appends the decoding of `input` to `out` (at most [`MAX_DECODED`] bytes).
pub(super) fn decode_into(input: &[u8], mode: Mode, out: &mut Vec<u8>) {
    let start = out.len();
    let mut acc: u32 = 0;
    let mut n = 0u8;
    for &c in input {
        let Some(v) = sextet(c) else {
            match mode {
                Mode::Rfc4648 => break,
                Mode::Rfc2045 => continue,
                Mode::Strict => {
                    // Padding ends strict data too; anything else is an error.
                    if c == b'=' {
                        break;
                    }
                    out.truncate(start);
                    return;
                }
            }
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            if out.len() - start + 3 > MAX_DECODED {
                return;
            }
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    let tail: &[u8] = match n {
        2 => &[(acc >> 4) as u8],
        3 => &[(acc >> 10) as u8, (acc >> 2) as u8],
        _ => &[],
    };
    if out.len() - start + tail.len() <= MAX_DECODED {
        out.extend_from_slice(tail);
    }
}

/// Decodes `buf[offset..offset + bytes]` in place: `buf` becomes the decoded bytes.
pub(super) fn decode_in_place(buf: &mut Vec<u8>, offset: usize, bytes: Option<usize>, mode: Mode) {
    let end = match bytes {
        Some(b) => buf.len().min(offset.saturating_add(b)),
        None => buf.len(),
    };
    if offset >= end {
        buf.clear();
        return;
    }
    // Decoding writes 3 bytes for every 4 read, so the write index stays behind the read
    // index and one buffer suffices.
    let mut w = 0;
    let mut acc: u32 = 0;
    let mut n = 0u8;
    let mut r = offset;
    let mut failed = false;
    while r < end {
        let c = buf[r];
        r += 1;
        let Some(v) = sextet(c) else {
            match mode {
                Mode::Rfc4648 => break,
                Mode::Rfc2045 => continue,
                Mode::Strict => {
                    failed = c != b'=';
                    break;
                }
            }
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            buf[w] = (acc >> 16) as u8;
            buf[w + 1] = (acc >> 8) as u8;
            buf[w + 2] = acc as u8;
            w += 3;
            acc = 0;
            n = 0;
        }
    }
    if failed {
        buf.clear();
        return;
    }
    match n {
        2 => {
            buf[w] = (acc >> 4) as u8;
            w += 1;
        }
        3 => {
            buf[w] = (acc >> 10) as u8;
            buf[w + 1] = (acc >> 2) as u8;
            w += 2;
        }
        _ => {}
    }
    buf.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str, mode: Mode) -> Vec<u8> {
        let mut out = Vec::new();
        decode_into(s.as_bytes(), mode, &mut out);
        let mut inplace = s.as_bytes().to_vec();
        decode_in_place(&mut inplace, 0, None, mode);
        assert_eq!(out, inplace, "both decoders agree on {s:?}");
        out
    }

    #[test]
    fn rfc4648_stops_at_first_invalid_character() {
        assert_eq!(dec("dGVzdA==", Mode::Rfc4648), b"test");
        assert_eq!(dec("dGVzdA", Mode::Rfc4648), b"test");
        assert_eq!(dec("dGVz dA==", Mode::Rfc4648), b"tes");
        assert_eq!(dec("dGVzd", Mode::Rfc4648), b"tes");
    }

    #[test]
    fn rfc2045_skips_and_strict_refuses() {
        assert_eq!(dec("dGVz dA==", Mode::Rfc2045), b"test");
        assert_eq!(dec("dGVz dA==", Mode::Strict), b"");
        assert_eq!(dec("dGVzdA==", Mode::Strict), b"test");
    }

    #[test]
    fn in_place_honours_offset_and_length() {
        let mut b = b"xxdGVzdA==".to_vec();
        decode_in_place(&mut b, 2, Some(4), Mode::Rfc4648);
        assert_eq!(b, b"tes");
        let mut b = b"ab".to_vec();
        decode_in_place(&mut b, 5, None, Mode::Rfc4648);
        assert!(b.is_empty());
    }
}
