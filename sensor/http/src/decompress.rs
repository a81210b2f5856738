//! Bounded gzip/deflate decoding of response bodies, layered as `Content-Encoding` asks
//! and as forgiving as libhtp (and so Suricata, and browsers) are.
//!
//! The gzip member header is parsed here (flate2's pure-Rust backend has no streaming
//! gzip mode at the `Decompress` level); the deflate data then goes through
//! `flate2::Decompress` into a fixed stack buffer, so output is produced in small steps
//! and decoding stops as soon as a bound is reached: no zip bomb can make it run on.
//!
//! libhtp's rules, which evasions probe (noxxi.de's HTTP Evader) and which are kept here:
//! - `Content-Encoding` names up to `decompress_layer_limit` codings; each layer undoes one,
//!   the last named first (`codings`).
//! - A layer whose data fails to decode before it produced anything tries the next codec
//!   of the cycle gzip, raw deflate, zlib (three tries) on the same piece of the body; when
//!   all fail, it and the layers after it pass the body through as sent. A layer that
//!   fails after producing output stops there.

use std::borrow::Cow;

use flate2::{Decompress, FlushDecompress, Status};

use crate::{HttpAnomaly, HttpConfig};

/// Output is checked against the ratio bound only past this many bytes.
const RATIO_CHECK_MIN_OUTPUT: u64 = 64 * 1024;
/// Step size of the output buffer.
const STEP: usize = 4096;
/// Codecs a failing layer tries after its first, as libhtp does.
const MAX_RESTARTS: u8 = 3;

/// A content coding the parser can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    Gzip,
    /// Raw deflate (RFC 1951), what `deflate` is read as first.
    Deflate,
    /// Deflate in a zlib wrapper (RFC 1950), tried when raw deflate fails.
    Zlib,
}

impl Codec {
    /// The codec libhtp tries after this one fails.
    fn next(self) -> Codec {
        match self {
            Codec::Gzip => Codec::Deflate,
            Codec::Deflate => Codec::Zlib,
            Codec::Zlib => Codec::Gzip,
        }
    }
}

/// The codings a `Content-Encoding` value (repeated headers joined with `", "`) asks to
/// undo, in the order to undo them (the last named first), as libhtp reads the value:
/// a value that is, ignoring case and NUL bytes, `gzip`/`x-gzip` or `deflate`/`x-deflate`
/// is that one coding; otherwise the value is split at commas and spaces, each non-empty
/// part counts as a layer up to `layer_limit` (0: no limit), a part containing `gzip`
/// is gzip, one containing `deflate` is deflate, and any other (`identity`, `br`, ...) is
/// left as it is.
pub(crate) fn codings(value: &[u8], layer_limit: usize) -> Vec<Codec> {
    let bare: Vec<u8> = value
        .iter()
        .filter(|&&b| b != 0)
        .map(u8::to_ascii_lowercase)
        .collect();
    match bare.as_slice() {
        b"gzip" | b"x-gzip" => return vec![Codec::Gzip],
        b"deflate" | b"x-deflate" => return vec![Codec::Deflate],
        b"lzma" | b"inflate" | b"none" => return Vec::new(),
        _ => {}
    }
    let mut out = Vec::new();
    let parts = value
        .split(|&b| b == b',' || b == b' ')
        .filter(|p| !p.is_empty());
    for (n, part) in parts.enumerate() {
        if layer_limit != 0 && n >= layer_limit {
            break;
        }
        let lower = part.to_ascii_lowercase();
        if lower.windows(4).any(|w| w == b"gzip") {
            out.push(Codec::Gzip);
        } else if lower.windows(7).any(|w| w == b"deflate") {
            out.push(Codec::Deflate);
        }
    }
    out.reverse();
    out
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
    Inflate(Box<Decompress>),
    /// The coded data ended (later bytes, like a gzip trailer, are ignored) or decoding
    /// stopped at a bound or after a failure: nothing more comes out.
    Idle,
    /// Every codec failed: the data is passed on as sent.
    Passthrough,
}

impl Stage {
    fn start(codec: Codec) -> Stage {
        match codec {
            Codec::Gzip => Stage::Gzip(GzHeader {
                step: GzStep::Fixed(0),
                flags: 0,
            }),
            Codec::Deflate => Stage::Inflate(Box::new(Decompress::new(false))),
            Codec::Zlib => Stage::Inflate(Box::new(Decompress::new(true))),
        }
    }
}

/// Appends as much of `bytes` as fits under `limit`.
pub(crate) fn append_bounded(body: &mut Vec<u8>, bytes: &[u8], limit: usize) {
    let room = limit.saturating_sub(body.len());
    body.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
}

/// What one layer did with a piece of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerOutcome {
    Decoded,
    /// Decoding failed after output: the layer stopped.
    Stopped,
    /// Every codec failed: this layer and those after it pass the body through.
    GaveUp,
}

/// Input a layer keeps while it has produced nothing, to give it again to the next codec
/// it tries. libhtp gives the next codec only the piece on which the last one failed; the
/// two agree when the start of the coded data comes in one piece, as it does unless the
/// sender splits it into tiny segments, which this keeps from becoming an evasion.
const REPLAY_LIMIT: usize = 4096;

/// One coding being undone.
#[derive(Debug)]
struct Layer {
    codec: Codec,
    stage: Stage,
    restarts: u8,
    /// Whether the current codec produced output.
    produced: bool,
    /// The current codec's input while it has produced nothing (`None` past the limit).
    replay: Option<Vec<u8>>,
}

impl Layer {
    fn new(codec: Codec) -> Self {
        Self {
            codec,
            stage: Stage::start(codec),
            restarts: 0,
            produced: false,
            replay: Some(Vec::new()),
        }
    }

    /// Decodes `piece`, appending at most up to `cap` bytes of `out`.
    fn write(&mut self, piece: &[u8], out: &mut Vec<u8>, cap: usize) -> LayerOutcome {
        let mut input = Cow::Borrowed(piece);
        loop {
            let before = out.len();
            match self.decode(&input, out, cap) {
                Ok(()) => {
                    self.produced |= out.len() > before;
                    self.keep_for_replay(piece);
                    return LayerOutcome::Decoded;
                }
                Err(()) if self.restarts == 0 && (self.produced || out.len() > before) => {
                    self.stage = Stage::Idle;
                    return LayerOutcome::Stopped;
                }
                Err(()) => {
                    out.truncate(before);
                    if self.restarts >= MAX_RESTARTS {
                        self.stage = Stage::Passthrough;
                        out.extend_from_slice(piece);
                        return LayerOutcome::GaveUp;
                    }
                    self.restarts += 1;
                    self.codec = self.codec.next();
                    self.stage = Stage::start(self.codec);
                    let earlier = if self.produced {
                        None
                    } else {
                        self.replay.take()
                    };
                    self.produced = false;
                    self.replay = Some(Vec::new());
                    input = match earlier {
                        Some(mut bytes) if !bytes.is_empty() => {
                            bytes.extend_from_slice(piece);
                            Cow::Owned(bytes)
                        }
                        _ => Cow::Borrowed(piece),
                    };
                }
            }
        }
    }

    fn keep_for_replay(&mut self, piece: &[u8]) {
        if self.produced {
            self.replay = None;
            return;
        }
        if let Some(r) = self.replay.as_mut() {
            if r.len().saturating_add(piece.len()) <= REPLAY_LIMIT {
                r.extend_from_slice(piece);
            } else {
                self.replay = None;
            }
        }
    }

    fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<(), ()> {
        let mut buf = [0u8; STEP];
        loop {
            match &mut self.stage {
                Stage::Idle => return Ok(()),
                Stage::Passthrough => {
                    out.extend_from_slice(input);
                    return Ok(());
                }
                Stage::Gzip(h) => {
                    let n = h.feed(input)?;
                    input = input.get(n..).unwrap_or_default();
                    if h.step != GzStep::Done {
                        return Ok(());
                    }
                    self.stage = Stage::Inflate(Box::new(Decompress::new(false)));
                }
                Stage::Inflate(d) => {
                    if out.len() >= cap {
                        self.stage = Stage::Idle;
                        return Ok(());
                    }
                    let (in0, out0) = (d.total_in(), d.total_out());
                    let res = d.decompress(input, &mut buf, FlushDecompress::None);
                    let used = usize::try_from(d.total_in().saturating_sub(in0))
                        .unwrap_or(input.len())
                        .min(input.len());
                    let made = usize::try_from(d.total_out().saturating_sub(out0))
                        .unwrap_or(buf.len())
                        .min(buf.len());
                    input = input.get(used..).unwrap_or_default();
                    out.extend_from_slice(buf.get(..made).unwrap_or_default());
                    match res {
                        Err(_) => return Err(()),
                        Ok(Status::StreamEnd) => {
                            self.stage = Stage::Idle;
                            return Ok(());
                        }
                        Ok(Status::Ok | Status::BufError) => {}
                    }
                    if made < buf.len() && (input.is_empty() || used == 0) {
                        return Ok(());
                    }
                }
            }
        }
    }
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

/// Decodes one response body through its layers into a [`Decoded`] output (the kept body
/// and the file).
#[derive(Debug)]
pub(crate) struct Decompressor {
    /// In the order the data goes through them.
    layers: Vec<Layer>,
    stopped: bool,
    /// A layer failed (kept for tests and debugging; no anomaly is raised).
    failed: bool,
    consumed: u64,
    produced: u64,
}

impl Decompressor {
    /// A decoder for `codings` (from [`codings`]: the first is undone first); `None` when
    /// there is nothing to undo.
    pub(crate) fn new(codings: &[Codec]) -> Option<Self> {
        (!codings.is_empty()).then(|| Self {
            layers: codings.iter().map(|&c| Layer::new(c)).collect(),
            stopped: false,
            failed: false,
            consumed: 0,
            produced: 0,
        })
    }

    /// Decodes `input` into `body`; decoding stops once `body` is full.
    /// Returns `COMPRESSION_BOMB` when a bound stopped decoding. A coding that fails to
    /// decode raises nothing, as in Suricata 8 (its libhtp logs no
    /// `GZIP_DECOMPRESSION_FAILED`): the layer stops or passes the body through.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        body: &mut impl Decoded,
        cfg: &HttpConfig,
    ) -> Option<HttpAnomaly> {
        if self.stopped || input.is_empty() {
            return None;
        }
        if body.full() {
            self.stopped = true;
            return None;
        }
        self.consumed = self.consumed.saturating_add(input.len() as u64);
        // Each layer may produce at most what is left under both bounds (and a step more,
        // to see that one is passed).
        let budget = cfg.max_decompressed_bytes as u64;
        let by_ratio = self
            .consumed
            .saturating_mul(cfg.max_decompression_ratio)
            .max(RATIO_CHECK_MIN_OUTPUT);
        let cap = usize::try_from(budget.min(by_ratio).saturating_sub(self.produced))
            .unwrap_or(usize::MAX)
            .saturating_add(STEP);
        let mut piece: Cow<'_, [u8]> = Cow::Borrowed(input);
        let mut i = 0;
        while let Some(layer) = self.layers.get_mut(i) {
            let mut out = Vec::new();
            match layer.write(&piece, &mut out, cap) {
                LayerOutcome::Decoded => {}
                LayerOutcome::Stopped => self.failed = true,
                LayerOutcome::GaveUp => {
                    self.failed = true;
                    for later in self.layers.iter_mut().skip(i + 1) {
                        later.stage = Stage::Passthrough;
                    }
                }
            }
            piece = Cow::Owned(out);
            i += 1;
        }
        self.produced = self.produced.saturating_add(piece.len() as u64);
        body.push(&piece);
        let over_size = self.produced > budget;
        let over_ratio = self.produced > RATIO_CHECK_MIN_OUTPUT
            && self.produced > self.consumed.saturating_mul(cfg.max_decompression_ratio);
        if over_size || over_ratio {
            self.stopped = true;
            return Some(HttpAnomaly::CompressionBomb);
        }
        None
    }

    /// True once a layer failed to decode (it stopped, or passes its input through). No
    /// anomaly says so: Suricata 8's libhtp raises none.
    #[cfg(test)]
    fn failed(&self) -> bool {
        self.failed
    }

    /// Stops decoding (after a gap in the compressed data); later input is ignored.
    pub(crate) fn stop(&mut self) {
        self.stopped = true;
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
        decode_layers(&[codec], input, piece, limit)
    }

    fn decode_layers(
        codecs: &[Codec],
        input: &[u8],
        piece: usize,
        limit: usize,
    ) -> (Vec<u8>, Vec<HttpAnomaly>) {
        let cfg = HttpConfig::default();
        let mut d = Decompressor::new(codecs).unwrap();
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
        use Codec::{Deflate, Gzip};
        assert_eq!(codings(b"GZIP", 2), vec![Gzip]);
        assert_eq!(codings(b"x-gzip", 2), vec![Gzip]);
        assert_eq!(codings(b"gz\0ip", 2), vec![Gzip]);
        assert_eq!(codings(b"Deflate", 2), vec![Deflate]);
        assert_eq!(codings(b"br", 2), vec![]);
        assert_eq!(codings(b"identity", 2), vec![]);
        // Layers: the last named is undone first, up to the limit.
        assert_eq!(codings(b"deflate, gzip", 2), vec![Gzip, Deflate]);
        assert_eq!(codings(b"gzip,gzip,deflate", 2), vec![Gzip, Gzip]);
        assert_eq!(codings(b"gzip,gzip,deflate", 0), vec![Deflate, Gzip, Gzip]);
        // Unknown parts count as layers but undo nothing; parts are found inside words.
        assert_eq!(codings(b"identity, x_gzip_y", 2), vec![Gzip]);
        assert_eq!(codings(b"identity,identity,gzip", 2), vec![]);
        assert_eq!(codings(b",deflate", 2), vec![Deflate]);
        assert_eq!(codings(b"\x0bgzip", 2), vec![Gzip]);
        assert_eq!(codings(b"gzip\x0c", 2), vec![Gzip]);
    }

    #[test]
    fn layers_are_undone_in_turn() {
        let text = b"layered text layered text layered text";
        let mut d = DeflateEncoder::new(Vec::new(), Compression::default());
        d.write_all(&gzip(text)).unwrap();
        let both = d.finish().unwrap();
        for piece in [1, 3, 1000] {
            let (body, an) = decode_layers(&[Codec::Deflate, Codec::Gzip], &both, piece, 1000);
            assert_eq!(body, text, "piece {piece}");
            assert!(an.is_empty());
        }
    }

    #[test]
    fn a_wrong_codec_falls_back_as_libhtp_does() {
        let text = b"the body is deflated, the header says gzip";
        let mut r = DeflateEncoder::new(Vec::new(), Compression::default());
        r.write_all(text).unwrap();
        let raw = r.finish().unwrap();
        assert_eq!(decode_in_pieces(Codec::Gzip, &raw, 1000, 1000).0, text);
        assert_eq!(
            decode_in_pieces(Codec::Deflate, &gzip(text), 1000, 1000).0,
            text
        );
        // Two layers named, one applied: the extra layer gives up and passes its input on.
        let (body, _) = decode_layers(&[Codec::Deflate, Codec::Gzip], &gzip(text), 1000, 1000);
        assert_eq!(body, text);
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
        let mut d = Decompressor::new(&[Codec::Gzip]).unwrap();
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
        let mut d = Decompressor::new(&[Codec::Gzip]).unwrap();
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
        assert!(body.len() as u64 <= z.len() as u64 * 100 + 2 * STEP as u64);
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
        let plain = b"<html>plain</html>";
        let mut d = Decompressor::new(&[Codec::Gzip]).unwrap();
        let mut body = Vec::new();
        assert_eq!(
            d.feed(
                plain,
                &mut Bounded {
                    body: &mut body,
                    limit: 1000
                },
                &HttpConfig::default()
            ),
            None
        );
        assert!(d.failed());
        assert_eq!(body, plain);
        // In pieces, the piece on which the last codec failed and those after it pass.
        let (body, an) = decode_in_pieces(Codec::Gzip, plain, 4, 1000);
        assert!(an.is_empty());
        assert!(plain.ends_with(&body) && !body.is_empty());
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
            let codecs = if gz { vec![Codec::Gzip, Codec::Deflate] } else { vec![Codec::Deflate] };
            let (body, _) = decode_layers(&codecs, &data, piece, 300);
            prop_assert!(body.len() <= 300);
        }
    }
}
