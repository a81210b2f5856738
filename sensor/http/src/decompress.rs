//! Bounded gzip/deflate decoding of response bodies.
//!
//! The gzip member header is parsed here (flate2's pure-Rust backend has no streaming
//! gzip mode at the `Decompress` level); the deflate data then goes through
//! `flate2::Decompress` into a fixed stack buffer, so output is produced in small steps
//! and decoding stops as soon as a bound is reached: no zip bomb can make it run on.

use flate2::{Decompress, FlushDecompress, Status};

use crate::headers::trim;
use crate::{HttpAnomaly, HttpConfig};

/// Output is checked against the ratio bound only past this many bytes.
const RATIO_CHECK_MIN_OUTPUT: u64 = 64 * 1024;
/// Step size of the output buffer.
const STEP: usize = 4096;

/// A content coding the parser can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    Deflate,
}

impl Codec {
    /// The codec named by a `Content-Encoding` value (`gzip`, `x-gzip`, `deflate`,
    /// `x-deflate`, ASCII case-insensitive); `None` for anything else, layered codings
    /// included.
    pub(crate) fn from_content_encoding(value: &[u8]) -> Option<Codec> {
        let v = trim(value);
        if v.eq_ignore_ascii_case(b"gzip") || v.eq_ignore_ascii_case(b"x-gzip") {
            Some(Codec::Gzip)
        } else if v.eq_ignore_ascii_case(b"deflate") || v.eq_ignore_ascii_case(b"x-deflate") {
            Some(Codec::Deflate)
        } else {
            None
        }
    }
}

/// Streaming parser of a gzip member header (RFC 1952 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GzStep {
    Fixed(u8),
    ExtraLen { seen: u8, low: u8 },
    Extra(u16),
    Name,
    Comment,
    Crc(u8),
    Done,
}

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

#[derive(Debug, Clone, Copy)]
struct GzHeader {
    step: GzStep,
    flags: u8,
}

impl GzHeader {
    /// The first optional field at or after position `from` of RFC 1952's order (extra,
    /// name, comment, header CRC) that the flags announce; `Done` when none is left.
    fn next_from(&self, from: usize) -> GzStep {
        let order = [
            (FEXTRA, GzStep::ExtraLen { seen: 0, low: 0 }),
            (FNAME, GzStep::Name),
            (FCOMMENT, GzStep::Comment),
            (FHCRC, GzStep::Crc(0)),
        ];
        order
            .iter()
            .skip(from)
            .find(|(f, _)| self.flags & f != 0)
            .map_or(GzStep::Done, |(_, s)| *s)
    }

    /// Consumes header bytes; `Err` when this is not a gzip member.
    fn feed(&mut self, data: &[u8]) -> Result<usize, ()> {
        let mut used = 0;
        for &b in data {
            if self.step == GzStep::Done {
                break;
            }
            used += 1;
            self.step = match self.step {
                GzStep::Fixed(i) => {
                    match (i, b) {
                        (0, 0x1f) | (1, 0x8b) | (2, 8) => {}
                        (0..=2, _) => return Err(()),
                        (3, f) => self.flags = f,
                        _ => {}
                    }
                    if i == 9 {
                        self.next_from(0)
                    } else {
                        GzStep::Fixed(i + 1)
                    }
                }
                GzStep::ExtraLen { seen: 0, .. } => GzStep::ExtraLen { seen: 1, low: b },
                GzStep::ExtraLen { low, .. } => {
                    let len = u16::from(low) | (u16::from(b) << 8);
                    if len == 0 {
                        self.next_from(1)
                    } else {
                        GzStep::Extra(len)
                    }
                }
                GzStep::Extra(n) => {
                    if n <= 1 {
                        self.next_from(1)
                    } else {
                        GzStep::Extra(n - 1)
                    }
                }
                GzStep::Name => {
                    if b == 0 {
                        self.next_from(2)
                    } else {
                        GzStep::Name
                    }
                }
                GzStep::Comment => {
                    if b == 0 {
                        self.next_from(3)
                    } else {
                        GzStep::Comment
                    }
                }
                GzStep::Crc(0) => GzStep::Crc(1),
                GzStep::Crc(_) => GzStep::Done,
                GzStep::Done => GzStep::Done,
            };
        }
        Ok(used)
    }
}

#[derive(Debug)]
enum Stage {
    Gzip(GzHeader),
    Sniff {
        buf: [u8; 2],
        len: usize,
    },
    Inflate(Box<Decompress>),
    /// Finished, stopped at a bound, or failed after producing output: nothing more.
    Idle,
    /// Failed before producing anything: the rest of the body is kept as sent.
    Passthrough,
}

/// Appends as much of `bytes` as fits under `limit`.
pub(crate) fn append_bounded(body: &mut Vec<u8>, bytes: &[u8], limit: usize) {
    let room = limit.saturating_sub(body.len());
    body.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
}

/// True when a two-byte prefix is a valid zlib (RFC 1950) header.
fn is_zlib_header(a: u8, b: u8) -> bool {
    a & 0x0f == 8 && a >> 4 <= 7 && ((u16::from(a) << 8) | u16::from(b)) % 31 == 0
}

/// Where decoded bytes go: the kept body and the file being received.
pub(crate) trait Decoded {
    /// The next decoded bytes.
    fn push(&mut self, bytes: &[u8]);
    /// True when nobody wants more output: decoding may stop.
    fn full(&self) -> bool;
}

/// A body bounded by a limit, as a [`Decoded`] output.
#[cfg(test)]
#[derive(Debug)]
pub(crate) struct Bounded<'a> {
    pub(crate) body: &'a mut Vec<u8>,
    pub(crate) limit: usize,
}

#[cfg(test)]
impl Decoded for Bounded<'_> {
    fn push(&mut self, bytes: &[u8]) {
        append_bounded(self.body, bytes, self.limit);
    }

    fn full(&self) -> bool {
        self.body.len() >= self.limit
    }
}

/// Decodes one response body into a [`Decoded`] output.
#[derive(Debug)]
pub(crate) struct Decompressor {
    stage: Stage,
    consumed: u64,
    produced: u64,
}

impl Decompressor {
    /// A decoder for `codec`. `deflate` bodies are zlib-wrapped by the standard, but raw
    /// deflate is common: the first two bytes decide.
    pub(crate) fn new(codec: Codec) -> Self {
        let stage = match codec {
            Codec::Gzip => Stage::Gzip(GzHeader {
                step: GzStep::Fixed(0),
                flags: 0,
            }),
            Codec::Deflate => Stage::Sniff {
                buf: [0; 2],
                len: 0,
            },
        };
        Self {
            stage,
            consumed: 0,
            produced: 0,
        }
    }

    /// Decodes `input` into `body`; decoding stops once `body` is full.
    /// Returns the anomaly decoding raised, if any (decoding then stops, or passes the
    /// body through unchanged when the data was never compressed).
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        body: &mut impl Decoded,
        cfg: &HttpConfig,
    ) -> Option<HttpAnomaly> {
        let mut input = input;
        loop {
            match &mut self.stage {
                Stage::Idle => return None,
                Stage::Passthrough => {
                    body.push(input);
                    return None;
                }
                Stage::Gzip(h) => match h.feed(input) {
                    Ok(n) => {
                        input = input.get(n..).unwrap_or_default();
                        if h.step != GzStep::Done {
                            return None;
                        }
                        self.stage = Stage::Inflate(Box::new(Decompress::new(false)));
                    }
                    Err(()) => return Some(self.fail(input, body)),
                },
                Stage::Sniff { buf, len } => {
                    while *len < 2 {
                        let (&b, rest) = input.split_first()?;
                        if let Some(slot) = buf.get_mut(*len) {
                            *slot = b;
                        }
                        *len += 1;
                        input = rest;
                    }
                    let head = *buf;
                    self.stage =
                        Stage::Inflate(Box::new(Decompress::new(is_zlib_header(head[0], head[1]))));
                    if let Some(a) = self.inflate(&head, body, cfg) {
                        return Some(a);
                    }
                }
                Stage::Inflate(_) => return self.inflate(input, body, cfg),
            }
        }
    }

    fn inflate(
        &mut self,
        mut input: &[u8],
        body: &mut impl Decoded,
        cfg: &HttpConfig,
    ) -> Option<HttpAnomaly> {
        let mut out = [0u8; STEP];
        loop {
            if body.full() {
                self.stage = Stage::Idle;
                return None;
            }
            let Stage::Inflate(d) = &mut self.stage else {
                return None;
            };
            let (in0, out0) = (d.total_in(), d.total_out());
            let res = d.decompress(input, &mut out, FlushDecompress::None);
            let used = d.total_in().saturating_sub(in0);
            let made = d.total_out().saturating_sub(out0);
            let used_n = usize::try_from(used)
                .unwrap_or(input.len())
                .min(input.len());
            let made_n = usize::try_from(made).unwrap_or(out.len()).min(out.len());
            input = input.get(used_n..).unwrap_or_default();
            self.consumed = self.consumed.saturating_add(used);
            self.produced = self.produced.saturating_add(made);
            body.push(out.get(..made_n).unwrap_or_default());
            match res {
                Err(_) => return Some(self.fail(input, body)),
                Ok(Status::StreamEnd) => {
                    self.stage = Stage::Idle;
                    return None;
                }
                Ok(Status::Ok | Status::BufError) => {}
            }
            let over_size = self.produced > cfg.max_decompressed_bytes as u64;
            let over_ratio = self.produced > RATIO_CHECK_MIN_OUTPUT
                && self.produced > self.consumed.saturating_mul(cfg.max_decompression_ratio);
            if over_size || over_ratio {
                self.stage = Stage::Idle;
                return Some(HttpAnomaly::CompressionBomb);
            }
            if made_n < out.len() && (input.is_empty() || (used_n == 0 && made_n == 0)) {
                return None;
            }
        }
    }

    /// Stops decoding (after a gap in the compressed data); later input is ignored.
    pub(crate) fn stop(&mut self) {
        self.stage = Stage::Idle;
    }

    fn fail(&mut self, rest: &[u8], body: &mut impl Decoded) -> HttpAnomaly {
        if self.produced == 0 {
            self.stage = Stage::Passthrough;
            body.push(rest);
        } else {
            self.stage = Stage::Idle;
        }
        HttpAnomaly::GzipDecompressionFailed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::{Compression, GzBuilder};
    use proptest::prelude::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode_in_pieces(
        codec: Codec,
        input: &[u8],
        piece: usize,
        limit: usize,
    ) -> (Vec<u8>, Vec<HttpAnomaly>) {
        let cfg = HttpConfig::default();
        let mut d = Decompressor::new(codec);
        let mut body = Vec::new();
        let mut an = Vec::new();
        for p in input.chunks(piece.max(1)) {
            if let Some(a) = d.feed(
                p,
                &mut Bounded {
                    body: &mut body,
                    limit,
                },
                &cfg,
            ) {
                an.push(a);
            }
        }
        (body, an)
    }

    #[test]
    fn codecs_by_name() {
        assert_eq!(Codec::from_content_encoding(b" GZIP "), Some(Codec::Gzip));
        assert_eq!(Codec::from_content_encoding(b"x-gzip"), Some(Codec::Gzip));
        assert_eq!(
            Codec::from_content_encoding(b"Deflate"),
            Some(Codec::Deflate)
        );
        assert_eq!(Codec::from_content_encoding(b"gzip, gzip"), None);
        assert_eq!(Codec::from_content_encoding(b"br"), None);
    }

    #[test]
    fn gzip_in_any_piece_size() {
        let text = b"hello hello hello gzip world".repeat(20);
        let z = gzip(&text);
        for piece in [1, 2, 3, 7, 10, 11, 64, 4096] {
            let (body, an) = decode_in_pieces(Codec::Gzip, &z, piece, usize::MAX);
            assert_eq!(body, text, "piece {piece}");
            assert!(an.is_empty());
        }
    }

    #[test]
    fn gzip_header_with_all_optional_fields() {
        let mut e = GzBuilder::new()
            .filename("f.txt")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4])
            .write(Vec::new(), Compression::fast());
        e.write_all(b"payload").unwrap();
        let mut z = e.finish().unwrap();
        // Set FHCRC and insert a (unchecked) header CRC after the comment's NUL.
        let header_end = 10 + 2 + 4 + "f.txt".len() + 1 + "a comment".len() + 1;
        z[3] |= FHCRC;
        z.splice(header_end..header_end, [0xaa, 0xbb]);
        for piece in [1, 5, 100] {
            let (body, an) = decode_in_pieces(Codec::Gzip, &z, piece, usize::MAX);
            assert_eq!(body, b"payload");
            assert!(an.is_empty());
        }
    }

    #[test]
    fn deflate_zlib_and_raw() {
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(b"zlib wrapped").unwrap();
        let z = z.finish().unwrap();
        let mut r = DeflateEncoder::new(Vec::new(), Compression::default());
        r.write_all(b"raw deflate").unwrap();
        let r = r.finish().unwrap();
        for piece in [1, 2, 3, 100] {
            assert_eq!(
                decode_in_pieces(Codec::Deflate, &z, piece, 1000).0,
                b"zlib wrapped"
            );
            assert_eq!(
                decode_in_pieces(Codec::Deflate, &r, piece, 1000).0,
                b"raw deflate"
            );
        }
    }

    #[test]
    fn output_stops_at_the_limit() {
        let z = gzip(&[b'a'; 50_000]);
        let (body, an) = decode_in_pieces(Codec::Gzip, &z, 10, 1000);
        assert_eq!(body, vec![b'a'; 1000]);
        assert!(an.is_empty());
    }

    #[test]
    fn bombs_are_stopped() {
        let z = gzip(&vec![0u8; 4 * 1024 * 1024]);
        let cfg = HttpConfig {
            max_decompression_ratio: 1_000_000,
            ..HttpConfig::default()
        };
        let mut d = Decompressor::new(Codec::Gzip);
        let mut body = Vec::new();
        assert_eq!(
            d.feed(
                &z,
                &mut Bounded {
                    body: &mut body,
                    limit: usize::MAX
                },
                &cfg
            ),
            Some(HttpAnomaly::CompressionBomb)
        );
        assert!(d.produced <= cfg.max_decompressed_bytes as u64 + STEP as u64);
        let cfg = HttpConfig {
            max_decompression_ratio: 100,
            ..HttpConfig::default()
        };
        let mut d = Decompressor::new(Codec::Gzip);
        let mut body = Vec::new();
        assert_eq!(
            d.feed(
                &z,
                &mut Bounded {
                    body: &mut body,
                    limit: usize::MAX
                },
                &cfg
            ),
            Some(HttpAnomaly::CompressionBomb)
        );
        assert!(body.len() <= 64 * 1024 + STEP);
        // Further input is ignored once stopped.
        assert_eq!(
            d.feed(
                &z,
                &mut Bounded {
                    body: &mut body,
                    limit: usize::MAX
                },
                &cfg
            ),
            None
        );
    }

    #[test]
    fn not_compressed_passes_through() {
        let (body, an) = decode_in_pieces(Codec::Gzip, b"<html>plain</html>", 4, 1000);
        assert_eq!(an, vec![HttpAnomaly::GzipDecompressionFailed]);
        assert_eq!(body, b"<html>plain</html>");
        let mut z = gzip(b"some text that compresses somewhat somewhat somewhat");
        let n = z.len();
        z.truncate(n - 8);
        z.extend_from_slice(&[0xff; 40]);
        let (_, an) = decode_in_pieces(Codec::Gzip, &z, 1000, 1000);
        assert!(an.len() <= 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512), piece in 1usize..64, gz in any::<bool>()) {
            let codec = if gz { Codec::Gzip } else { Codec::Deflate };
            let (body, _) = decode_in_pieces(codec, &data, piece, 300);
            prop_assert!(body.len() <= 300);
        }
    }
}
