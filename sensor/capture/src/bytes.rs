//! Bounds-checked integer reads in either byte order.

/// The byte order of the multi-byte fields in a capture file (or pcapng section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The `N` bytes at `at`, or `None` when they are not all inside `bytes`.
    fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
        let end = at.checked_add(N)?;
        bytes.get(at..end)?.try_into().ok()
    }

    /// The 16-bit integer at `at`, or `None` when out of bounds.
    pub(crate) fn u16(self, bytes: &[u8], at: usize) -> Option<u16> {
        let raw = Self::array::<2>(bytes, at)?;
        Some(match self {
            Self::Little => u16::from_le_bytes(raw),
            Self::Big => u16::from_be_bytes(raw),
        })
    }

    /// The 32-bit integer at `at`, or `None` when out of bounds.
    pub(crate) fn u32(self, bytes: &[u8], at: usize) -> Option<u32> {
        let raw = Self::array::<4>(bytes, at)?;
        Some(match self {
            Self::Little => u32::from_le_bytes(raw),
            Self::Big => u32::from_be_bytes(raw),
        })
    }

    /// The 64-bit signed integer at `at`, or `None` when out of bounds.
    pub(crate) fn i64(self, bytes: &[u8], at: usize) -> Option<i64> {
        let raw = Self::array::<8>(bytes, at)?;
        Some(match self {
            Self::Little => i64::from_le_bytes(raw),
            Self::Big => i64::from_be_bytes(raw),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders_and_refuses_out_of_bounds() {
        let b = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        assert_eq!(Endian::Little.u16(&b, 0), Some(0x0201));
        assert_eq!(Endian::Big.u16(&b, 0), Some(0x0102));
        assert_eq!(Endian::Little.u32(&b, 4), Some(0x0807_0605));
        assert_eq!(Endian::Big.u32(&b, 4), Some(0x0506_0708));
        assert_eq!(Endian::Big.i64(&b, 0), Some(0x0102_0304_0506_0708));
        assert_eq!(Endian::Little.u32(&b, 5), None);
        assert_eq!(Endian::Little.u16(&b, usize::MAX), None);
        assert_eq!(Endian::Little.i64(&b, 1), None);
    }
}
