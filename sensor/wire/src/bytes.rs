//! Checked big-endian reads over untrusted bytes: every read returns `None` past the end.

/// The byte at `at`.
pub(crate) fn u8_at(data: &[u8], at: usize) -> Option<u8> {
    data.get(at).copied()
}

/// The big-endian `u16` at `at`.
pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
}

/// The big-endian `u32` at `at`.
pub(crate) fn be32(data: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// The little-endian `u16` at `at`.
pub(crate) fn le16(data: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_le_bytes(bytes))
}

/// The little-endian `u32` at `at`.
pub(crate) fn le32(data: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// The bytes from `at` to the end (empty when `at` is past the end).
pub(crate) fn rest(data: &[u8], at: usize) -> &[u8] {
    data.get(at..).unwrap_or(&[])
}

/// The first `len` bytes, or all of them when there are fewer.
pub(crate) fn head(data: &[u8], len: usize) -> &[u8] {
    data.get(..len).unwrap_or(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let d = [1u8, 2, 3, 4, 5];
        assert_eq!(u8_at(&d, 4), Some(5));
        assert_eq!(u8_at(&d, 5), None);
        assert_eq!(be16(&d, 3), Some(0x0405));
        assert_eq!(be16(&d, 4), None);
        assert_eq!(be16(&d, usize::MAX), None);
        assert_eq!(be32(&d, 1), Some(0x0203_0405));
        assert_eq!(be32(&d, 2), None);
        assert_eq!(le32(&d, 0), Some(0x0403_0201));
        assert_eq!(le16(&d, 3), Some(0x0504));
        assert_eq!(le16(&d, 4), None);
        assert_eq!(le16(&d, usize::MAX), None);
        assert_eq!(rest(&d, 3), &[4, 5]);
        assert_eq!(rest(&d, 9), &[] as &[u8]);
        assert_eq!(head(&d, 2), &[1, 2]);
        assert_eq!(head(&d, 9), &d);
    }
}
