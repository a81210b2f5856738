//! Message-body framing: Content-Length, chunked (with extensions and trailers) and
//! read-until-close, fed with arbitrarily split input.

use crate::headers::{is_ws, strip_eol, trim, Framing, LineBuf, Side};
use crate::HttpAnomaly;

/// Receives what a [`BodyDecoder`] decodes.
pub(crate) trait BodySink {
    /// Decoded body bytes.
    fn data(&mut self, bytes: &[u8]);
    /// One trailer line of a chunked body (terminator included), and whether the line
    /// buffer overflowed.
    fn trailer(&mut self, raw: &[u8], truncated: bool);
    /// An anomaly in the framing.
    fn anomaly(&mut self, a: HttpAnomaly);
    /// `n` bytes of the body as sent on the wire: chunk-size lines, chunk data and the
    /// CRLF after it, up to and including the last-chunk line; not the trailer section.
    fn wire(&mut self, n: usize);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    UntilClose,
    Done,
    /// A chunk-size line that is not a length: the framing is lost.
    Broken,
}

/// Decodes one message body.
#[derive(Debug)]
pub(crate) struct BodyDecoder {
    state: State,
    line: LineBuf,
    side: Side,
    ext_seen: bool,
}

/// Parses a chunk-size line: `Ok(Some((size, has_extension)))`, `Ok(None)` for an empty
/// line, `Err(())` when it is not a length.
fn parse_chunk_size(line: &[u8]) -> Result<Option<(u64, bool)>, ()> {
    let line = trim(line);
    if line.is_empty() {
        return Ok(None);
    }
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(());
    }
    let hex = line.get(..digits).unwrap_or_default();
    let significant = hex.iter().skip_while(|&&b| b == b'0').count();
    if significant > 16 {
        return Err(());
    }
    let size = hex.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(16).ok_or(())?;
        acc.checked_mul(16)
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(())
    })?;
    let rest = line.get(digits..).unwrap_or_default();
    let rest = rest
        .get(rest.iter().take_while(|&&b| is_ws(b)).count()..)
        .unwrap_or_default();
    match rest.first() {
        None => Ok(Some((size, false))),
        Some(b';') => Ok(Some((size, true))),
        Some(_) => Err(()),
    }
}

impl BodyDecoder {
    /// A decoder for `framing`; chunk-size and trailer lines are bounded by `line_limit`.
    pub(crate) fn new(framing: Framing, side: Side, line_limit: usize) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Self {
            state,
            line: LineBuf::new(line_limit),
            side,
            ext_seen: false,
        }
    }

    /// True once the body has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// True when a bad chunk-size line made the framing unusable.
    pub(crate) fn is_broken(&self) -> bool {
        self.state == State::Broken
    }

    /// True when the body ends only with the connection.
    pub(crate) fn until_close(&self) -> bool {
        self.state == State::UntilClose
    }

    /// Decodes from `data` until the body ends, breaks, or `data` runs out; returns the
    /// bytes consumed (the rest belongs to whatever follows the body).
    pub(crate) fn feed(&mut self, data: &[u8], sink: &mut impl BodySink) -> usize {
        let mut pos = 0;
        while let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) {
            match self.state {
                State::Done | State::Broken => break,
                State::UntilClose => {
                    sink.wire(rest.len());
                    sink.data(rest);
                    pos = data.len();
                }
                State::Length(n) | State::ChunkData(n) => {
                    let take = usize::try_from(n).unwrap_or(usize::MAX).min(rest.len());
                    sink.wire(take);
                    sink.data(rest.get(..take).unwrap_or_default());
                    pos += take;
                    let left = n - take as u64;
                    self.state = match (self.state, left) {
                        (State::Length(_), 0) => State::Done,
                        (State::Length(_), l) => State::Length(l),
                        (_, 0) => State::ChunkDataEnd,
                        (_, l) => State::ChunkData(l),
                    };
                }
                State::ChunkSize | State::ChunkDataEnd | State::Trailers => {
                    let (n, complete) = self.line.feed(rest);
                    pos += n;
                    if self.state != State::Trailers {
                        sink.wire(n);
                    }
                    if complete {
                        self.line_complete(sink);
                    }
                }
            }
        }
        pos
    }

    fn line_complete(&mut self, sink: &mut impl BodySink) {
        let truncated = self.line.overflowed();
        match self.state {
            State::ChunkSize => match parse_chunk_size(strip_eol(self.line.raw())) {
                _ if truncated => {
                    sink.anomaly(self.side.chunk_len());
                    self.state = State::Broken;
                }
                Ok(None) => {}
                Ok(Some((size, ext))) => {
                    if ext && !self.ext_seen {
                        self.ext_seen = true;
                        sink.anomaly(self.side.chunk_ext());
                    }
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                Err(()) => {
                    sink.anomaly(self.side.chunk_len());
                    self.state = State::Broken;
                }
            },
            State::ChunkDataEnd => self.state = State::ChunkSize,
            State::Trailers => {
                if strip_eol(self.line.raw()).is_empty() {
                    self.state = State::Done;
                } else {
                    sink.trailer(self.line.raw(), truncated);
                }
            }
            _ => {}
        }
        self.line.clear();
    }

    /// How many of `len` missing bytes fall inside body data (the rest would be framing or
    /// what follows the body).
    pub(crate) fn gap_in_data(&self, len: u64) -> u64 {
        match self.state {
            State::UntilClose => len,
            State::Length(n) | State::ChunkData(n) => len.min(n),
            _ => 0,
        }
    }

    /// Skips `len` missing bytes. Returns true when they fell inside body data and
    /// decoding can go on; false when the framing is lost (the body is then over).
    pub(crate) fn gap(&mut self, len: u64) -> bool {
        match self.state {
            State::UntilClose => true,
            State::Length(n) if len <= n => {
                self.state = if len == n {
                    State::Done
                } else {
                    State::Length(n - len)
                };
                true
            }
            State::ChunkData(n) if len <= n => {
                self.state = if len == n {
                    State::ChunkDataEnd
                } else {
                    State::ChunkData(n - len)
                };
                true
            }
            _ => {
                self.state = State::Broken;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Default)]
    struct Rec {
        data: Vec<u8>,
        wire: usize,
        trailers: Vec<Vec<u8>>,
        anomalies: Vec<HttpAnomaly>,
    }

    impl BodySink for Rec {
        fn data(&mut self, bytes: &[u8]) {
            self.data.extend_from_slice(bytes);
        }
        fn trailer(&mut self, raw: &[u8], _truncated: bool) {
            self.trailers.push(raw.to_vec());
        }
        fn anomaly(&mut self, a: HttpAnomaly) {
            self.anomalies.push(a);
        }
        fn wire(&mut self, n: usize) {
            self.wire += n;
        }
    }

    fn decode_split(framing: Framing, input: &[u8], split: usize) -> (Rec, usize, bool) {
        let mut d = BodyDecoder::new(framing, Side::Response, 64);
        let mut rec = Rec::default();
        let (a, b) = input.split_at(split);
        let mut used = d.feed(a, &mut rec);
        if used == a.len() {
            used += d.feed(b, &mut rec);
        }
        (rec, used, d.is_done())
    }

    #[test]
    fn chunk_size_lines() {
        assert_eq!(parse_chunk_size(b"1a"), Ok(Some((26, false))));
        assert_eq!(parse_chunk_size(b" 0001A ;name=v"), Ok(Some((26, true))));
        assert_eq!(parse_chunk_size(b""), Ok(None));
        assert_eq!(
            parse_chunk_size(b"0000000000000000000000ff"),
            Ok(Some((255, false)))
        );
        assert_eq!(parse_chunk_size(b"10000000000000000"), Err(()));
        assert_eq!(
            parse_chunk_size(b"ffffffffffffffff"),
            Ok(Some((u64::MAX, false)))
        );
        assert_eq!(parse_chunk_size(b"zz"), Err(()));
        assert_eq!(parse_chunk_size(b"5 x"), Err(()));
        assert_eq!(parse_chunk_size(b"-5"), Err(()));
    }

    #[test]
    fn chunked_with_extensions_and_trailers_at_every_split() {
        let input = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
        for split in 0..=input.len() {
            let (rec, used, done) = decode_split(Framing::Chunked, input, split);
            assert_eq!(rec.data, b"hello world", "split {split}");
            assert_eq!(rec.trailers, vec![b"X-Trailer: t\r\n".to_vec()]);
            assert_eq!(rec.anomalies, vec![HttpAnomaly::ResponseChunkExtension]);
            // Everything up to and including "0\r\n", as Suricata counts `length`.
            assert_eq!(rec.wire, 30, "split {split}");
            assert_eq!(used, input.len() - 4);
            assert!(done);
        }
    }

    #[test]
    fn content_length_stops_at_the_end() {
        let (rec, used, done) = decode_split(Framing::Length(3), b"abcdef", 2);
        assert_eq!((rec.data.as_slice(), used, done), (&b"abc"[..], 3, true));
        let (rec, used, done) = decode_split(Framing::Length(u64::MAX), b"abcdef", 2);
        assert_eq!(
            (rec.data.as_slice(), used, done),
            (&b"abcdef"[..], 6, false)
        );
        let (rec, used, done) = decode_split(Framing::None, b"abc", 0);
        assert_eq!((rec.data.len(), used, done), (0, 0, true));
    }

    #[test]
    fn bad_chunk_length_breaks() {
        let mut d = BodyDecoder::new(Framing::Chunked, Side::Request, 64);
        let mut rec = Rec::default();
        let used = d.feed(b"xyz\r\nmore", &mut rec);
        assert_eq!(used, 5);
        assert!(d.is_broken());
        assert_eq!(rec.anomalies, vec![HttpAnomaly::InvalidRequestChunkLen]);
        let mut d = BodyDecoder::new(Framing::Chunked, Side::Request, 4);
        d.feed(b"00000001\r\n", &mut rec);
        assert!(d.is_broken());
    }

    #[test]
    fn gaps() {
        let mut rec = Rec::default();
        let mut d = BodyDecoder::new(Framing::Length(10), Side::Response, 64);
        assert!(d.gap(4));
        assert_eq!(d.feed(b"0123456789", &mut rec), 6);
        assert!(d.is_done());
        let mut d = BodyDecoder::new(Framing::Length(10), Side::Response, 64);
        assert!(!d.gap(11));
        let mut d = BodyDecoder::new(Framing::Chunked, Side::Response, 64);
        d.feed(b"4\r\n", &mut rec);
        assert!(d.gap(4));
        assert_eq!(d.feed(b"\r\n0\r\n\r\n", &mut rec), 7);
        assert!(d.is_done());
        let mut d = BodyDecoder::new(Framing::Chunked, Side::Response, 64);
        assert!(!d.gap(1));
        let mut d = BodyDecoder::new(Framing::UntilClose, Side::Response, 64);
        assert!(d.gap(1 << 40));
        assert!(d.until_close());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256), cut in 0usize..256) {
            let mut rec = Rec::default();
            let mut d = BodyDecoder::new(Framing::Chunked, Side::Response, 32);
            let cut = cut.min(data.len());
            let (a, b) = data.split_at(cut);
            let used = d.feed(a, &mut rec);
            prop_assert!(used <= a.len());
            if used == a.len() {
                prop_assert!(d.feed(b, &mut rec) <= b.len());
            }
            prop_assert!(rec.data.len() <= data.len());
        }
    }
}
