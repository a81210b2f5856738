//! Errors that stop a capture from being opened at all.

use std::io;
use std::path::PathBuf;

/// Why a capture file or stream could not be opened.
///
/// Problems met after a successful open (corrupt records, a truncated end) are not errors:
/// they are recorded as [`crate::CaptureProblem`]s and reading goes on where it can.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read capture file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system (or the gzip decoder) reported.
        source: io::Error,
    },
    /// A stream passed to [`crate::CaptureReader::from_reader`] failed while its header was read.
    #[error("cannot read capture stream: {source}")]
    Read {
        /// What the stream (or the gzip decoder) reported.
        source: io::Error,
    },
    /// The input holds no bytes at all.
    #[error("capture is empty (0 bytes{})", if *.gzip { " after gzip decompression" } else { "" })]
    Empty {
        /// Whether the bytes were gzip-compressed (and decompressed to nothing).
        gzip: bool,
    },
    /// The first bytes are no known capture format.
    #[error(
        "not a capture file: it starts with {:02x} {:02x} {:02x} {:02x}, which is neither \
         pcap (a1b2c3d4 / a1b23c4d, either byte order), pcapng (0a0d0d0a) nor gzip (1f8b)",
        magic[0], magic[1], magic[2], magic[3]
    )]
    NotACapture {
        /// The first four bytes (zero-padded when the input is shorter).
        magic: [u8; 4],
    },
    /// The input ends inside the file header.
    #[error("capture is cut short: {len} bytes, but a {format} file header needs {needed}")]
    TooShort {
        /// Bytes present.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
        /// "pcap" or "pcapng".
        format: &'static str,
    },
    /// A classic pcap file of a version this reader does not know.
    #[error("unsupported pcap version {major}.{minor}: only version 2.x is defined")]
    UnsupportedPcapVersion {
        /// Major version from the header.
        major: u16,
        /// Minor version from the header.
        minor: u16,
    },
    /// The first pcapng section header block is malformed.
    #[error("invalid pcapng section header: {reason}")]
    BadSectionHeader {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl CaptureError {
    /// The same error with the file it came from, where it is about reading.
    pub(crate) fn with_path(self, path: &std::path::Path) -> Self {
        match self {
            Self::Read { source } => Self::Io {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_tell_what_is_wrong() {
        let e = CaptureError::NotACapture {
            magic: [0x50, 0x4b, 0x03, 0x04],
        };
        assert!(e
            .to_string()
            .starts_with("not a capture file: it starts with 50 4b 03 04"));
        assert_eq!(
            CaptureError::Empty { gzip: true }.to_string(),
            "capture is empty (0 bytes after gzip decompression)"
        );
        let e = CaptureError::Read {
            source: io::Error::new(io::ErrorKind::InvalidData, "corrupt deflate stream"),
        }
        .with_path(std::path::Path::new("/tmp/x.pcap.gz"));
        assert_eq!(
            e.to_string(),
            "cannot read capture file /tmp/x.pcap.gz: corrupt deflate stream"
        );
    }
}
