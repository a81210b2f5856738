//! A bounded ring of the most recently delivered bytes of one direction, kept to compare
//! retransmissions with what was delivered.

/// What a comparison with the window found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Comparison {
    /// Bytes of the compared range that the window still holds.
    pub(crate) known: usize,
    /// Whether any of those bytes differ.
    pub(crate) differs: bool,
}

/// The last `cap` bytes delivered, as a ring. Memory grows with the data up to `cap` and is
/// given back by [`RecentWindow::release`].
#[derive(Debug, Default)]
pub(crate) struct RecentWindow {
    /// Ring storage; grows by appending until it holds `cap` bytes.
    buf: Vec<u8>,
    /// Ring index of the oldest valid byte.
    head: usize,
    /// Valid bytes in the ring.
    len: usize,
    /// Stream offset just past the newest valid byte.
    end: u64,
}

impl RecentWindow {
    /// Records `data`, delivered at stream offset `off`, keeping at most `cap` bytes.
    /// A discontinuity (`off` not where the previous data ended) forgets older bytes.
    pub(crate) fn push(&mut self, cap: usize, off: u64, data: &[u8]) {
        if cap == 0 {
            return;
        }
        if off != self.end || self.len > cap {
            self.head = 0;
            self.len = 0;
            self.buf.clear();
        }
        self.end = off.saturating_add(data.len() as u64);
        let keep = data.len().saturating_sub(cap);
        let mut rest = data.get(keep..).unwrap_or_default();
        // Growth phase: append while the storage is smaller than the bound.
        if self.buf.len() < cap && self.head == 0 && self.len == self.buf.len() {
            let n = rest.len().min(cap - self.buf.len());
            let (now, later) = rest.split_at(n);
            self.buf.extend_from_slice(now);
            self.len += n;
            rest = later;
        }
        // Ring phase: overwrite from the write position, at most two copies.
        while !rest.is_empty() {
            let size = self.buf.len();
            if size == 0 {
                return;
            }
            let write = (self.head + self.len) % size;
            let n = rest.len().min(size - write);
            let (now, later) = rest.split_at(n);
            if let Some(dst) = self.buf.get_mut(write..write + n) {
                dst.copy_from_slice(now);
            }
            let total = self.len + n;
            if total > size {
                self.head = (self.head + (total - size)) % size;
                self.len = size;
            } else {
                self.len = total;
            }
            rest = later;
        }
    }

    /// Compares `data`, claimed to lie at stream offset `off`, with the bytes kept.
    pub(crate) fn compare(&self, off: u64, data: &[u8]) -> Comparison {
        let mut cmp = Comparison::default();
        let start = self.end.saturating_sub(self.len as u64);
        let data_end = off.saturating_add(data.len() as u64);
        let from = off.max(start);
        let to = data_end.min(self.end);
        if from >= to || self.buf.is_empty() {
            return cmp;
        }
        let size = self.buf.len();
        for (i, want) in (from..to).enumerate() {
            let in_window = usize::try_from(want - start).unwrap_or(0);
            let idx = (self.head + in_window) % size;
            let got = data.get(usize::try_from(want - off).unwrap_or(usize::MAX));
            if self.buf.get(idx) != got {
                cmp.differs = true;
            }
            cmp.known = i + 1;
        }
        cmp
    }

    /// Forgets every byte and gives the memory back.
    pub(crate) fn release(&mut self) {
        self.buf = Vec::new();
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_last_bytes_across_wrap() {
        let mut w = RecentWindow::default();
        w.push(4, 0, b"ab");
        w.push(4, 2, b"cde");
        // Holds "bcde" at offsets 1..5.
        assert_eq!(
            w.compare(1, b"bcde"),
            Comparison {
                known: 4,
                differs: false
            }
        );
        assert_eq!(
            w.compare(0, b"abc"),
            Comparison {
                known: 2,
                differs: false
            }
        );
        assert_eq!(
            w.compare(3, b"dX"),
            Comparison {
                known: 2,
                differs: true
            }
        );
        w.push(4, 5, b"fghijk");
        assert_eq!(
            w.compare(7, b"hijk"),
            Comparison {
                known: 4,
                differs: false
            }
        );
        assert_eq!(w.compare(6, b"g"), Comparison::default());
        w.push(4, 11, b"l");
        assert_eq!(
            w.compare(8, b"ijkl"),
            Comparison {
                known: 4,
                differs: false
            }
        );
        assert_eq!(
            w.compare(8, b"ijkm"),
            Comparison {
                known: 4,
                differs: true
            }
        );
    }

    #[test]
    fn discontinuity_forgets() {
        let mut w = RecentWindow::default();
        w.push(8, 0, b"abcd");
        w.push(8, 10, b"xy");
        assert_eq!(w.compare(0, b"abcd").known, 0);
        assert_eq!(
            w.compare(10, b"xy"),
            Comparison {
                known: 2,
                differs: false
            }
        );
        // Beyond the newest byte: unknown.
        assert_eq!(w.compare(12, b"zz"), Comparison::default());
    }

    #[test]
    fn zero_capacity_and_release() {
        let mut w = RecentWindow::default();
        w.push(0, 0, b"abc");
        assert_eq!(w.compare(0, b"abc"), Comparison::default());
        w.push(3, 0, b"abc");
        w.release();
        assert_eq!(w.compare(0, b"abc").known, 0);
    }
}
