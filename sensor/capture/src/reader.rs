//! The capture reader: format detection, gzip, and the packet loop.

use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::CaptureError;
use crate::format::{CaptureFormat, GZIP_MAGIC, PCAPNG_SHB};
use crate::input::Input;
use crate::limits::ReaderLimits;
use crate::packet::{RawPacket, Step};
use crate::pcap::{self, PcapEngine};
use crate::pcapng::{NgEngine, MIN_SHB_LEN};
use crate::problem::{CaptureProblem, ProblemLog};

/// The format-specific part of a reader.
#[derive(Debug)]
enum Engine {
    Pcap(PcapEngine),
    PcapNg(NgEngine),
}

/// Reads packets from a pcap, pcapng, or gzip-compressed pcap/pcapng file or stream.
///
/// The reader owns one input buffer, sized from [`ReaderLimits`] when it is created and
/// never grown; packets are lent out of it, so reading allocates nothing per packet. It
/// never panics on malformed input: problems are recorded (see [`CaptureReader::problems`])
/// and reading goes on where it can, or ends.
#[derive(Debug)]
pub struct CaptureReader {
    input: Input,
    engine: Engine,
    log: ProblemLog,
    format: CaptureFormat,
    done: bool,
}

impl CaptureReader {
    /// Opens a capture file with the default [`ReaderLimits`].
    ///
    /// The file is read through the reader's own buffer (over 1 MiB), in large reads.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        Self::open_with_limits(path, ReaderLimits::default())
    }

    /// Opens a capture file with the given limits.
    pub fn open_with_limits(path: &Path, limits: ReaderLimits) -> Result<Self, CaptureError> {
        let file = File::open(path).map_err(|source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader_with_limits(Box::new(file), limits).map_err(|e| e.with_path(path))
    }

    /// Reads a capture from any byte stream with the default [`ReaderLimits`].
    ///
    /// The stream is buffered by the reader; wrapping it in a `BufReader` is not needed.
    pub fn from_reader(r: Box<dyn Read + Send>) -> Result<Self, CaptureError> {
        Self::from_reader_with_limits(r, ReaderLimits::default())
    }

    /// Reads a capture from any byte stream with the given limits. Gzip-compressed input
    /// (magic 1f 8b, one or more members) is decompressed transparently.
    pub fn from_reader_with_limits(
        mut r: Box<dyn Read + Send>,
        limits: ReaderLimits,
    ) -> Result<Self, CaptureError> {
        let limits = limits.clamped();
        let mut prefix = [0u8; 2];
        let got =
            read_prefix(&mut r, &mut prefix).map_err(|source| CaptureError::Read { source })?;
        let gzip = got == prefix.len() && prefix == GZIP_MAGIC;
        let replayed = Cursor::new(prefix).take(got as u64).chain(r);
        let source: Box<dyn Read + Send> = if gzip {
            Box::new(MultiGzDecoder::new(replayed))
        } else {
            Box::new(replayed)
        };
        let mut input = Input::new(source, limits.buffer_len());
        input
            .fill(MIN_SHB_LEN.max(pcap::FILE_HEADER_LEN))
            .map_err(|source| CaptureError::Read { source })?;
        let head = input.data();
        if head.is_empty() {
            return Err(CaptureError::Empty { gzip });
        }
        let mut magic = [0u8; 4];
        for (m, b) in magic.iter_mut().zip(head) {
            *m = *b;
        }
        let (engine, format) = if magic == PCAPNG_SHB {
            let engine = NgEngine::start(&input, limits)?;
            (Engine::PcapNg(engine), CaptureFormat::PcapNg { gzip })
        } else if pcap::magic(magic).is_some() {
            let engine = PcapEngine::start(&mut input, limits)?;
            let nanos = engine.nanos();
            (Engine::Pcap(engine), CaptureFormat::Pcap { nanos, gzip })
        } else {
            return Err(CaptureError::NotACapture { magic });
        };
        Ok(Self {
            input,
            engine,
            log: ProblemLog::new(limits.max_problems),
            format,
            done: false,
        })
    }

    /// The next packet, borrowed until the next call; `None` at the end of the input or
    /// after a problem that ends reading (see [`CaptureReader::problems`]).
    pub fn next_packet(&mut self) -> Option<RawPacket<'_>> {
        if self.done {
            return None;
        }
        let step = match &mut self.engine {
            Engine::Pcap(e) => e.next(&mut self.input, &mut self.log),
            Engine::PcapNg(e) => e.next(&mut self.input, &mut self.log),
        };
        match step {
            Step::End => {
                self.done = true;
                None
            }
            Step::Packet(meta) => {
                self.log.packets += 1;
                Some(RawPacket {
                    ts: meta.ts,
                    link: meta.link,
                    data: self.input.slice(meta.at, meta.len),
                    orig_len: meta.orig_len,
                    interface: meta.interface,
                })
            }
        }
    }

    /// Problems met so far (truncated last packet, corrupt records or blocks, bad lengths,
    /// I/O errors), in order; at most [`ReaderLimits::max_problems`] of them.
    pub fn problems(&self) -> &[CaptureProblem] {
        self.log.kept()
    }

    /// Problems met beyond [`ReaderLimits::max_problems`], counted but not kept.
    pub fn problems_suppressed(&self) -> u64 {
        self.log.suppressed()
    }

    /// The format of the capture.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Bytes of (uncompressed) input parsed so far, headers included.
    pub fn bytes_consumed(&self) -> u64 {
        self.input.offset()
    }

    /// Packets returned so far.
    pub fn packets_read(&self) -> u64 {
        self.log.packets
    }
}

/// Reads into `buf` until it is full or the stream ends; returns the bytes read.
fn read_prefix(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|rest| !rest.is_empty()) {
        match r.read(rest) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{gzip, reader, rows, Ng, Pcap};
    use crate::CaptureProblemKind;

    fn open_bytes(bytes: Vec<u8>) -> Result<CaptureReader, CaptureError> {
        CaptureReader::from_reader(Box::new(Cursor::new(bytes)))
    }

    fn sample_pcap() -> Pcap {
        let mut f = Pcap::new(false, true, 65535, 1);
        for i in 0..50u32 {
            f.record(1_000 + i, i, &[i as u8; 33], 33);
        }
        f
    }

    #[test]
    fn reader_is_send() {
        fn assert_send<T: Send>() {}
        assert_send::<CaptureReader>();
    }

    #[test]
    fn gzip_is_transparent() {
        let plain = sample_pcap().bytes;
        let want = rows(&mut reader(&plain));
        let mut r = open_bytes(gzip(&plain)).unwrap();
        assert_eq!(
            r.format(),
            CaptureFormat::Pcap {
                nanos: true,
                gzip: true
            }
        );
        assert_eq!(rows(&mut r), want);
        assert_eq!(r.bytes_consumed(), plain.len() as u64);

        // Two gzip members, split inside a record, and pcapng inside.
        let mut n = Ng::new(true);
        n.idb(1, 0, None, None);
        n.epb(0, 5, &[1, 2], 2);
        n.epb(0, 6, &[3, 4], 2);
        let split = n.bytes.len() - 7;
        let mut two = gzip(&n.bytes[..split]);
        two.extend_from_slice(&gzip(&n.bytes[split..]));
        let mut r = open_bytes(two).unwrap();
        assert_eq!(r.format(), CaptureFormat::PcapNg { gzip: true });
        assert_eq!(rows(&mut r).len(), 2);
        assert!(r.problems().is_empty());
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let mut z = gzip(&sample_pcap().bytes);
        let len = z.len();
        z.truncate(len / 2);
        let mut r = open_bytes(z).unwrap();
        let n = rows(&mut r).len();
        assert!(n < 50);
        let last = r.problems().last().unwrap().kind;
        assert!(
            matches!(
                last,
                CaptureProblemKind::Io(_) | CaptureProblemKind::Truncated { .. }
            ),
            "{last:?}"
        );
        assert!(matches!(
            open_bytes(vec![0x1f, 0x8b, 8, 0, 1]),
            Err(CaptureError::Read { .. })
        ));
    }

    #[test]
    fn refuses_what_is_not_a_capture() {
        assert!(matches!(
            open_bytes(Vec::new()),
            Err(CaptureError::Empty { gzip: false })
        ));
        assert!(matches!(
            open_bytes(gzip(&[])),
            Err(CaptureError::Empty { gzip: true })
        ));
        match open_bytes(b"GET / HTTP/1.1\r\n\r\n".repeat(3)) {
            Err(CaptureError::NotACapture { magic }) => assert_eq!(&magic, b"GET "),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            open_bytes(vec![0x7f]),
            Err(CaptureError::NotACapture {
                magic: [0x7f, 0, 0, 0]
            })
        ));
        let head = Pcap::new(false, false, 65535, 1).bytes;
        assert!(matches!(
            open_bytes(head[..20].to_vec()),
            Err(CaptureError::TooShort {
                len: 20,
                needed: 24,
                format: "pcap"
            })
        ));
        let mut v3 = head.clone();
        v3[4] = 3;
        assert!(matches!(
            open_bytes(v3),
            Err(CaptureError::UnsupportedPcapVersion { major: 3, minor: 4 })
        ));
        let ng = Ng::new(false).bytes;
        assert!(matches!(
            open_bytes(ng[..27].to_vec()),
            Err(CaptureError::TooShort {
                len: 27,
                needed: 28,
                format: "pcapng"
            })
        ));
        let mut bad_bom = ng.clone();
        bad_bom[8] = 0;
        assert!(matches!(
            open_bytes(bad_bom),
            Err(CaptureError::BadSectionHeader { .. })
        ));
    }

    #[test]
    fn open_reports_the_path() {
        let missing = Path::new("/nonexistent/tapwatch/capture.pcap");
        let e = CaptureReader::open(missing).unwrap_err();
        assert!(matches!(&e, CaptureError::Io { path, .. } if path == missing));
        assert!(e.to_string().contains("/nonexistent/tapwatch/capture.pcap"));
    }

    /// A stream that fails after a number of bytes.
    struct FailAfter(Cursor<Vec<u8>>, u64);

    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.position() >= self.1 {
                return Err(io::Error::other("disk on fire"));
            }
            let room = (self.1 - self.0.position()) as usize;
            let n = buf.len().min(room);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn io_error_mid_stream_is_a_problem() {
        let bytes = sample_pcap().bytes;
        let r = FailAfter(Cursor::new(bytes), 24 + 49 * 2 + 10);
        let mut r = CaptureReader::from_reader(Box::new(r)).unwrap();
        assert_eq!(rows(&mut r).len(), 2);
        assert_eq!(
            r.problems()[0].kind,
            CaptureProblemKind::Io(io::ErrorKind::Other)
        );
        assert_eq!(r.problems()[0].offset, 24 + 49 * 2);
    }

    fn valid_files() -> Vec<Vec<u8>> {
        let mut n = Ng::new(false);
        n.idb(1, 0, None, None);
        n.idb(101, 64, Some(0x85), Some(3));
        n.epb(0, 1, &[1; 40], 40);
        n.block(4, &[0; 8]);
        n.epb(1, 2, &[2; 70], 70);
        n.spb(&[3; 9], 9);
        n.pb(1, 3, &[4; 5], 5);
        n.section(true);
        n.idb(113, 0, Some(9), None);
        n.epb(0, 4, &[5; 30], 30);
        let mut f = Pcap::new(true, false, 128, 1);
        for i in 0..6u32 {
            f.record(7_000 + i, i, &[i as u8; 25], 25);
        }
        vec![n.bytes, f.bytes]
    }

    /// Reads everything, checking that reading ends and stays within the input.
    fn drain(bytes: Vec<u8>, small: bool) {
        let limits = if small {
            ReaderLimits {
                max_record_len: 64,
                resync_window: 100,
                max_problems: 4,
                max_interfaces: 2,
                max_skipped_block_len: 1 << 16,
            }
        } else {
            ReaderLimits::default()
        };
        let len = bytes.len() as u64;
        let Ok(mut r) =
            CaptureReader::from_reader_with_limits(Box::new(Cursor::new(bytes)), limits)
        else {
            return;
        };
        let mut n = 0u64;
        while let Some(p) = r.next_packet() {
            n += 1;
            assert!(p.data.len() as u64 <= len);
            // Every packet consumes at least a 12-byte header.
            assert!(n <= len / 12 + 1, "reading does not end");
        }
        assert!(r.next_packet().is_none());
        assert_eq!(r.packets_read(), n);
        if !r.format().is_gzip() {
            assert!(r.bytes_consumed() <= len);
        }
        assert!(r.problems().len() <= limits.max_problems);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            prefix in 0usize..6,
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..1500),
            zip in proptest::bool::ANY,
            small in proptest::bool::ANY,
        ) {
            let mut bytes = match prefix {
                0 => Pcap::new(false, false, 100, 1).bytes,
                1 => Pcap::new(true, true, 0, 1).bytes,
                2 => Ng::new(false).bytes,
                3 => { let mut n = Ng::new(true); n.idb(1, 0, None, None); n.bytes }
                _ => Vec::new(),
            };
            bytes.extend_from_slice(&tail);
            if zip {
                bytes = gzip(&bytes);
            }
            drain(bytes, small);
        }

        #[test]
        fn mutated_files_never_panic(
            which in 0usize..2,
            edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 1..8),
            cut in proptest::option::of(proptest::num::usize::ANY),
            small in proptest::bool::ANY,
        ) {
            let mut bytes = valid_files().swap_remove(which);
            let len = bytes.len();
            for (at, b) in edits {
                bytes[at % len] = b;
            }
            if let Some(c) = cut {
                bytes.truncate(c % len);
            }
            drain(bytes, small);
        }
    }

    #[test]
    fn valid_fixture_files_read_without_problems() {
        for (i, bytes) in valid_files().into_iter().enumerate() {
            let mut r = reader(&bytes);
            assert_eq!(rows(&mut r).len(), [5, 6][i]);
            assert!(r.problems().is_empty(), "{:?}", r.problems());
        }
    }
}
