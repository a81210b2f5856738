//! A bounds-checked cursor over untrusted bytes: every read returns `None` past the end.

/// Reads big-endian integers and length-prefixed slices without ever panicking.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`, positioned at its start.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next `n` bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.data.len() {
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&first, tail) = self.data.split_first()?;
        self.data = tail;
        Some(first)
    }

    /// A big-endian 16-bit integer.
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    /// A big-endian 24-bit integer.
    pub(crate) fn u24(&mut self) -> Option<usize> {
        let b = self.bytes(3)?;
        Some(
            usize::from(*b.first()?) << 16 | usize::from(*b.get(1)?) << 8 | usize::from(*b.get(2)?),
        )
    }

    /// A slice preceded by a one-byte length.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }

    /// A slice preceded by a two-byte length.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }

    /// A slice preceded by a three-byte length.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.bytes(n)
    }
}

/// Splits `data` into big-endian 16-bit values; `None` if its length is odd.
pub(crate) fn u16_list(data: &[u8]) -> Option<Vec<u16>> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    Some(
        data.chunks_exact(2)
            .map(|c| match c {
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0, // unreachable: chunks_exact(2) yields pairs only
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_stops_at_end() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 3, 2, 9, 9, 7]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(2));
        assert_eq!(r.u24(), Some(3));
        assert_eq!(r.bytes(5), None);
        assert_eq!(r.bytes(3), Some(&[2, 9, 9][..]));
        assert_eq!(r.vec8(), None, "length 7 but nothing follows");
        assert!(r.is_empty());
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), None);
    }

    #[test]
    fn length_prefixed() {
        let mut r = Reader::new(&[0, 2, 0xaa, 0xbb, 0, 0, 1, 0xcc, 1]);
        assert_eq!(r.vec16(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(r.vec24(), Some(&[0xcc][..]));
        assert_eq!(r.vec8(), None);
        assert_eq!(u16_list(&[0, 1, 0xff, 0xfe]), Some(vec![1, 0xfffe]));
        assert_eq!(u16_list(&[0]), None);
    }
}
