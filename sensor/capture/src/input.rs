//! The reader's single input buffer: filled from the byte source in large chunks, never
//! reallocated, and lent out so that packets need no copy.

use std::io::{self, Read};

/// Below this much free space at the tail, the buffer is compacted before the next read, so
/// that reads stay large.
const MIN_READ: usize = 64 * 1024;

/// A fixed-capacity read-ahead buffer over a byte stream.
///
/// Bytes before `start` have been consumed but stay in place until the next [`Input::fill`],
/// so a slice handed out for the current packet stays valid until the reader is asked for the
/// next one.
pub(crate) struct Input {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`: bytes consumed so far.
    offset: u64,
    eof: bool,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("capacity", &self.buf.len())
            .field("buffered", &(self.end - self.start))
            .field("offset", &self.offset)
            .field("eof", &self.eof)
            .finish()
    }
}

impl Input {
    /// A buffer of `capacity` bytes (allocated once, here) over `inner`.
    pub(crate) fn new(inner: Box<dyn Read + Send>, capacity: usize) -> Self {
        Self {
            inner,
            buf: vec![0; capacity.max(MIN_READ)].into_boxed_slice(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// The most bytes that can be buffered at once.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Stream offset of the first unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the source has reported its end.
    pub(crate) fn at_eof(&self) -> bool {
        self.eof
    }

    /// The buffered, unconsumed bytes.
    pub(crate) fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// `len` bytes at buffer index `at` (as returned by [`Input::consume`]), empty when out
    /// of bounds.
    pub(crate) fn slice(&self, at: usize, len: usize) -> &[u8] {
        at.checked_add(len)
            .and_then(|end| self.buf.get(at..end))
            .unwrap_or(&[])
    }

    /// Buffers at least `want` bytes (at most the capacity). `Ok(false)` when the source
    /// ended first; whatever it gave is then in [`Input::data`].
    pub(crate) fn fill(&mut self, want: usize) -> io::Result<bool> {
        let want = want.min(self.buf.len());
        if self.end - self.start >= want {
            return Ok(true);
        }
        if self.start + want > self.buf.len() || self.buf.len() - self.end < MIN_READ {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < want && !self.eof {
            let Some(free) = self.buf.get_mut(self.end..) else {
                break;
            };
            match self.inner.read(free) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = (self.end + n).min(self.buf.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start >= want)
    }

    /// Marks `n` buffered bytes (at most all of them) consumed and returns the buffer index
    /// where they start, for [`Input::slice`].
    pub(crate) fn consume(&mut self, n: usize) -> usize {
        let n = n.min(self.end - self.start);
        let at = self.start;
        self.start += n;
        self.offset += n as u64;
        at
    }

    /// Consumes `n` bytes, reading and discarding through the buffer where they are not yet
    /// buffered. `Ok(false)` when the source ended first (everything it gave is consumed).
    pub(crate) fn skip(&mut self, mut n: u64) -> io::Result<bool> {
        loop {
            let have = (self.end - self.start) as u64;
            let take = have.min(n);
            // `take` is at most `have`, a usize.
            self.consume(usize::try_from(take).unwrap_or(0));
            n -= take;
            if n == 0 {
                return Ok(true);
            }
            if !self.fill(1)? {
                return Ok(false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most 3 bytes per call and fails after a limit if asked.
    struct Dribble {
        data: Vec<u8>,
        pos: usize,
        fail_at: Option<usize>,
    }

    impl Read for Dribble {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.fail_at.is_some_and(|f| self.pos >= f) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bad"));
            }
            let rest = self.data.get(self.pos..).unwrap_or(&[]);
            let n = rest.len().min(out.len()).min(3);
            out[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn input(data: Vec<u8>, fail_at: Option<usize>) -> Input {
        let src = Dribble {
            data,
            pos: 0,
            fail_at,
        };
        Input::new(Box::new(src), 0)
    }

    #[test]
    fn fills_across_short_reads_and_tracks_offsets() {
        let data: Vec<u8> = (0..=255u8).collect();
        let mut inp = input(data, None);
        assert!(inp.fill(10).unwrap());
        assert_eq!(&inp.data()[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let at = inp.consume(4);
        assert_eq!(inp.slice(at, 4), &[0, 1, 2, 3]);
        assert_eq!(inp.offset(), 4);
        assert!(inp.skip(100).unwrap());
        assert_eq!(inp.offset(), 104);
        assert!(inp.fill(1).unwrap());
        assert_eq!(inp.data()[0], 104);
        assert!(!inp.fill(1000).unwrap());
        assert!(inp.at_eof());
        assert_eq!(inp.data().len(), 152);
        assert!(!inp.skip(200).unwrap());
        assert_eq!(inp.offset(), 256);
        assert_eq!(inp.slice(usize::MAX, 2), &[] as &[u8]);
    }

    #[test]
    fn compacts_instead_of_growing() {
        let data = vec![7u8; 3 * MIN_READ];
        let mut inp = input(data, None);
        let cap = inp.capacity();
        assert_eq!(cap, MIN_READ);
        for _ in 0..(3 * MIN_READ / 1000) {
            assert!(inp.fill(1000).unwrap());
            inp.consume(1000);
        }
        assert_eq!(inp.capacity(), cap);
        assert_eq!(inp.offset(), (3 * MIN_READ / 1000 * 1000) as u64);
    }

    #[test]
    fn reports_io_errors() {
        let mut inp = input(vec![1; 20], Some(6));
        assert!(inp.fill(6).unwrap());
        assert_eq!(inp.fill(7).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
