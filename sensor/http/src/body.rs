//! Message-body framing: Content-Length, chunked (with extensions and trailers) and
//! read-until-close, fed with arbitrarily split input.

use crate::headers::{strip_eol, Framing, LineBuf, Side};
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

/// The bytes libhtp skips around a chunk-size line: CR, LF, SP, HT, VT and FF.
fn is_chunk_ctl(b: u8) -> bool {
    matches!(b, b'\r' | b'\n' | b' ' | b'\t' | 0x0b | 0x0c)
}

/// What a complete chunk-size line (terminator included) says, read as libhtp reads it:
/// leading control bytes are skipped, the hex digits that follow are the size, and
/// anything after them is tolerated (a `;` there marks an extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkLine {
    /// Only control bytes: skipped, the size is still to come.
    Blank,
    /// A size, and whether an extension follows it.
    Size(u64, bool),
    /// A size past `i32::MAX`: libhtp ignores the line and reads the next one as the size.
    Ignored,
    /// No hex digit where the size belongs, or more than 64 bits of it.
    Invalid,
}

fn parse_chunk_line(line: &[u8]) -> ChunkLine {
    let start = line
        .iter()
        .position(|&b| !is_chunk_ctl(b))
        .unwrap_or(line.len());
    let rest = line.get(start..).unwrap_or_default();
    if rest.is_empty() {
        return ChunkLine::Blank;
    }
    let digits = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return ChunkLine::Invalid;
    }
    let hex = rest.get(..digits).unwrap_or_default();
    let size = hex.iter().try_fold(0u64, |acc, &b| {
        let d = u64::from((b as char).to_digit(16)?);
        acc.checked_mul(16)?.checked_add(d)
    });
    let ext = rest.get(digits..).unwrap_or_default().contains(&b';');
    match size {
        None => ChunkLine::Invalid,
        Some(n) if n > i32::MAX as u64 => ChunkLine::Ignored,
        Some(n) => ChunkLine::Size(n, ext),
    }
}

/// True when bytes that start a chunk-size line (no LF yet) can still become one: after
/// the control bytes comes nothing yet or a hex digit. libhtp gives up on the chunked
/// framing at once otherwise.
fn may_start_chunk_line(data: &[u8]) -> bool {
    data.iter()
        .find(|&&b| !is_chunk_ctl(b))
        .is_none_or(|b| b.is_ascii_hexdigit())
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
                State::ChunkSize
                    if self.side == Side::Response
                        && self.line.is_empty()
                        && !rest.contains(&b'\n')
                        && !may_start_chunk_line(rest) =>
                {
                    // Not a chunk size: libhtp reads the rest of the response as its body.
                    sink.anomaly(self.side.chunk_len());
                    self.state = State::UntilClose;
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
            State::ChunkSize if truncated => {
                sink.anomaly(self.side.chunk_len());
                self.state = State::Broken;
            }
            State::ChunkSize => match parse_chunk_line(self.line.raw()) {
                ChunkLine::Blank | ChunkLine::Ignored => {}
                ChunkLine::Size(size, ext) => {
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
                ChunkLine::Invalid => {
                    sink.anomaly(self.side.chunk_len());
                    if self.side == Side::Response {
                        // libhtp reads a response whose chunk size is not one as a body
                        // that runs until the connection closes, this line included.
                        sink.data(self.line.raw());
                        self.state = State::UntilClose;
                    } else {
                        self.state = State::Broken;
                    }
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
        assert_eq!(parse_chunk_line(b"1a\r\n"), ChunkLine::Size(26, false));
        assert_eq!(
            parse_chunk_line(b" 0001A ;name=v\r\n"),
            ChunkLine::Size(26, true)
        );
        assert_eq!(parse_chunk_line(b"\r\n"), ChunkLine::Blank);
        assert_eq!(parse_chunk_line(b" \t\x0b\x0c\r\r\n"), ChunkLine::Blank);
        assert_eq!(
            parse_chunk_line(b"0000000000000000000000ff\n"),
            ChunkLine::Size(255, false)
        );
        assert_eq!(parse_chunk_line(b"10000000000000000\n"), ChunkLine::Invalid);
        assert_eq!(parse_chunk_line(b"80000000\n"), ChunkLine::Ignored);
        assert_eq!(
            parse_chunk_line(b"7fffffff\n"),
            ChunkLine::Size(0x7fff_ffff, false)
        );
        assert_eq!(parse_chunk_line(b"zz\n"), ChunkLine::Invalid);
        assert_eq!(parse_chunk_line(b"-5\n"), ChunkLine::Invalid);
        // What follows the digits is tolerated, as libhtp tolerates it.
        assert_eq!(parse_chunk_line(b"5 x\n"), ChunkLine::Size(5, false));
        assert_eq!(parse_chunk_line(b"fx\r\n"), ChunkLine::Size(15, false));
        assert_eq!(parse_chunk_line(b"f\0\r\n"), ChunkLine::Size(15, false));
        assert_eq!(parse_chunk_line(b"f\r\r\n"), ChunkLine::Size(15, false));
        assert_eq!(parse_chunk_line(b"\rf\r\n"), ChunkLine::Size(15, false));
        assert!(may_start_chunk_line(b"\r\n 1"));
        assert!(may_start_chunk_line(b" "));
        assert!(!may_start_chunk_line(b" x1"));
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
    fn bad_chunk_length_breaks_a_request() {
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
    fn bad_chunk_length_makes_the_rest_of_a_response_its_body() {
        // A complete line that is not a size: the line and all after it are body.
        let mut d = BodyDecoder::new(Framing::Chunked, Side::Response, 64);
        let mut rec = Rec::default();
        let input = b"3\r\nabc\r\nxyz\r\nmore";
        assert_eq!(d.feed(input, &mut rec), input.len());
        assert!(d.until_close());
        assert_eq!(rec.data, b"abcxyz\r\nmore");
        assert_eq!(rec.anomalies, vec![HttpAnomaly::InvalidResponseChunkLen]);
        // The start of a line that cannot become a size: the same, without waiting.
        let mut d = BodyDecoder::new(Framing::Chunked, Side::Response, 64);
        let mut rec = Rec::default();
        assert_eq!(d.feed(b"\r\nX5O!", &mut rec), 6);
        assert!(d.until_close());
        assert_eq!(rec.data, b"X5O!");
    }

    #[test]
    fn chunk_sizes_with_odd_line_ends() {
        let input = b"\r\n\n5\r\r\nhello\r\n\x0b6 junk\nworld!\n80000000\n0\n\n";
        for split in 0..=input.len() {
            let (rec, used, done) = decode_split(Framing::Chunked, input, split);
            assert_eq!(rec.data, b"helloworld!", "split {split}");
            assert!(rec.anomalies.is_empty(), "split {split}");
            assert_eq!(used, input.len(), "split {split}");
            assert!(done, "split {split}");
        }
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
