//! Bytes from the wire as EVE text.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `bytes` as a string: valid UTF-8 kept, every byte of an invalid sequence written as
/// `\xNN` (as Suricata writes HTTP fields and file names).
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_sequences_become_hex() {
        assert_eq!(escape_bytes(b"plain"), "plain");
        assert!(matches!(escape_bytes(b"plain"), Cow::Borrowed(_)));
        assert_eq!(escape_bytes("ÃÂ".as_bytes()), "ÃÂ");
        assert_eq!(escape_bytes(b"\xdd\x00\x00\x00"), "\\xdd\u{0}\u{0}\u{0}");
        assert_eq!(escape_bytes(b"a\xff\xfeb"), "a\\xff\\xfeb");
    }
}
