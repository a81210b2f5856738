//! Capture formats and their magic numbers.

/// The format of an opened capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Nanosecond timestamps (magic a1b23c4d) rather than microseconds (a1b2c3d4).
        nanos: bool,
        /// The file was gzip-compressed.
        gzip: bool,
    },
    /// pcapng.
    PcapNg {
        /// The file was gzip-compressed.
        gzip: bool,
    },
}

impl CaptureFormat {
    /// Whether the file was gzip-compressed.
    pub fn is_gzip(self) -> bool {
        match self {
            Self::Pcap { gzip, .. } | Self::PcapNg { gzip } => gzip,
        }
    }

    /// A short name: "pcap", "pcap-ns" or "pcapng".
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcap { nanos: false, .. } => "pcap",
            Self::Pcap { nanos: true, .. } => "pcap-ns",
            Self::PcapNg { .. } => "pcapng",
        }
    }
}

/// The gzip member magic.
pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The pcapng section header block type (the same in either byte order).
pub(crate) const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_gzip() {
        let f = CaptureFormat::Pcap {
            nanos: true,
            gzip: true,
        };
        assert!(f.is_gzip());
        assert_eq!(f.name(), "pcap-ns");
        assert!(!CaptureFormat::PcapNg { gzip: false }.is_gzip());
        assert_eq!(CaptureFormat::PcapNg { gzip: false }.name(), "pcapng");
    }
}
