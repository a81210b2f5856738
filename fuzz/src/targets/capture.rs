//! The capture-file reader over arbitrary bytes.

use std::io::{Cursor, Read};

use tapwatch_capture::{CaptureReader, ReaderLimits};
use tapwatch_common::{LinkType, Timestamp};

/// Most packets read from one input: a gzip bomb of the largest input decompresses to far
/// fewer records, so reaching it means the reader does not make progress.
const MAX_PACKETS: u64 = 1 << 20;

/// What one packet looked like, kept to compare two readings of the same bytes.
type Seen = (Timestamp, LinkType, Vec<u8>, u32, u32);

/// Reads `data` as a capture file, once in one piece and once through a source that returns
/// a few bytes per read, and checks that both readings agree and stay within the limits.
pub fn capture(data: &[u8]) {
    // The last byte picks the limits: the defaults, or small ones that make the resync and
    // record-length paths reachable with small inputs.
    let limits = if data.last().is_some_and(|b| b & 1 == 0) {
        ReaderLimits::default()
    } else {
        ReaderLimits {
            max_record_len: 512,
            resync_window: 2048,
            max_problems: 8,
            max_interfaces: 4,
            max_skipped_block_len: 4096,
        }
    };
    let whole = read_all(Box::new(Cursor::new(data.to_vec())), limits, data.len());
    let pieces = read_all(
        Box::new(Trickle {
            data: data.to_vec(),
            at: 0,
            step: 0,
        }),
        limits,
        data.len(),
    );
    // How much a corrupt deflate stream yields before its error depends on the read sizes
    // (flate2's behaviour), so gzip input is compared only when both readings succeed.
    let gzip = data.starts_with(&[0x1f, 0x8b]);
    if !gzip || (whole.is_ok() && pieces.is_ok()) {
        assert_eq!(whole, pieces, "reading in small pieces changed the result");
    }
}

/// The packets and problems of one reading, or the error that refused the input.
fn read_all(
    source: Box<dyn Read + Send>,
    limits: ReaderLimits,
    input_len: usize,
) -> Result<(Vec<Seen>, Vec<String>, u64), String> {
    let mut reader =
        CaptureReader::from_reader_with_limits(source, limits).map_err(|e| e.to_string())?;
    let gzip = matches!(
        reader.format(),
        tapwatch_capture::CaptureFormat::Pcap { gzip: true, .. }
            | tapwatch_capture::CaptureFormat::PcapNg { gzip: true }
    );
    // pcapng packets are bounded by their block (max_record_len plus 64 KiB of block
    // overhead), not by max_record_len itself: see fuzz/README.md, open findings.
    let max_len = limits.max_record_len.clamp(64, 16 << 20) as usize + 64 * 1024;
    let mut seen = Vec::new();
    let mut count = 0u64;
    while let Some(p) = reader.next_packet() {
        count += 1;
        assert!(count <= MAX_PACKETS, "reader does not make progress");
        assert!(
            p.data.len() <= max_len,
            "packet of {} bytes over max_record_len {max_len}",
            p.data.len()
        );
        // Keep a bounded sample for the comparison; counts cover the rest.
        if seen.len() < 4096 {
            seen.push((p.ts, p.link, p.data.to_vec(), p.orig_len, p.interface));
        }
    }
    assert!(reader.next_packet().is_none(), "packets after the end");
    assert!(reader.problems().len() <= limits.max_problems);
    assert_eq!(reader.packets_read(), count);
    if !gzip {
        // Every record or block has a header of at least 12 bytes.
        assert!(reader.bytes_consumed() <= input_len as u64);
        assert!(
            count <= input_len as u64 / 12 + 1,
            "{count} packets from {input_len} bytes"
        );
    }
    let problems = reader.problems().iter().map(ToString::to_string).collect();
    Ok((seen, problems, count))
}

/// A source that returns 1 to 7 bytes per read.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    step: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.step = self.step % 7 + 1;
        let rest = self.data.get(self.at..).unwrap_or(&[]);
        let n = rest.len().min(buf.len()).min(self.step);
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.at += n;
        Ok(n)
    }
}
