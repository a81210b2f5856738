//! Checked little-endian reads and SMB strings.

/// The `u16` at `at`, if the bytes are there.
pub(crate) fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

/// The `u32` at `at`, if the bytes are there.
pub(crate) fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The `u64` at `at`, if the bytes are there.
pub(crate) fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// The longest name kept, in bytes.
const MAX_NAME: usize = 1024;

/// A UTF-16LE string (up to a NUL) turned into UTF-8, bounded.
pub(crate) fn utf16(b: &[u8]) -> Vec<u8> {
    let units = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0);
    let s: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .take(MAX_NAME)
        .collect();
    s.into_bytes()
}

/// An 8-bit string up to a NUL, bounded.
pub(crate) fn ascii(b: &[u8]) -> Vec<u8> {
    b.iter()
        .take_while(|&&c| c != 0)
        .take(MAX_NAME)
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_strings() {
        assert_eq!(u16le(&[1, 2], 0), Some(0x0201));
        assert_eq!(u16le(&[1, 2], 1), None);
        assert_eq!(u32le(&[1, 0, 0, 0], 0), Some(1));
        assert_eq!(u64le(&[0; 7], 0), None);
        assert_eq!(u16le(&[], usize::MAX), None);
        assert_eq!(utf16(b"I\0P\0C\0$\0\0\0x\0"), b"IPC$");
        assert_eq!(utf16(b"a\0\xd8"), b"a");
        assert_eq!(ascii(b"IPC\0A:"), b"IPC");
    }
}
