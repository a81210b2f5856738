//! Capture-file reading for tapwatch, in pure Rust (no libpcap).
//!
//! [`CaptureReader`] reads classic pcap (micro- and nanosecond magics, either byte order),
//! pcapng (any number of sections in either byte order, any number of interfaces with their
//! own link types and timestamp resolutions; enhanced, simple and obsolete packet blocks;
//! other blocks skipped), and gzip-compressed files of either, detected by their magic.
//!
//! Packets are lent from one reusable buffer: the reader allocates when it is created and
//! when a pcapng section describes an interface, never per packet. Malformed input never
//! panics: a truncated last record ends reading with a recorded problem; a corrupt record
//! or block is recorded and the reader scans a bounded window for a plausible next one.
//!
//! ```
//! use tapwatch_capture::{CaptureFormat, CaptureReader};
//!
//! // A little-endian microsecond pcap header (Ethernet) and one 2-byte packet.
//! let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
//! file.extend_from_slice(&[0; 8]);
//! file.extend_from_slice(&65535u32.to_le_bytes());
//! file.extend_from_slice(&1u32.to_le_bytes());
//! for field in [1_700_000_000u32, 250_000, 2, 60] {
//!     file.extend_from_slice(&field.to_le_bytes());
//! }
//! file.extend_from_slice(&[0xab, 0xcd]);
//!
//! let mut reader = CaptureReader::from_reader(Box::new(std::io::Cursor::new(file))).unwrap();
//! assert_eq!(reader.format(), CaptureFormat::Pcap { nanos: false, gzip: false });
//! let p = reader.next_packet().unwrap();
//! assert_eq!((p.data, p.orig_len, p.ts.nanos), (&[0xab, 0xcd][..], 60, 250_000_000));
//! assert!(reader.next_packet().is_none());
//! assert!(reader.problems().is_empty());
//! ```

mod batch;
mod bytes;
mod error;
mod format;
mod input;
mod limits;
mod packet;
mod pcap;
mod pcapng;
mod problem;
mod reader;

#[cfg(test)]
mod fixtures;

pub use batch::{BatchLimits, PacketBatch};
pub use error::CaptureError;
pub use format::CaptureFormat;
pub use limits::ReaderLimits;
pub use packet::RawPacket;
pub use problem::{CaptureProblem, CaptureProblemKind};
pub use reader::CaptureReader;
