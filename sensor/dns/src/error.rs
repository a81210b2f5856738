//! Errors of the DNS message parser.

/// Why a DNS message could not be parsed. Offsets are from the start of the message (after
/// the TCP length prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DnsError {
    /// The message ended inside a field that starts or continues at `offset`.
    #[error("DNS message truncated at byte {offset}")]
    Truncated {
        /// Where the missing bytes were expected.
        offset: usize,
    },
    /// A label length byte at `offset` uses the reserved 0x40 or 0x80 label types.
    #[error("DNS name has a reserved label type at byte {offset}")]
    BadLabelType {
        /// The offset of the label length byte.
        offset: usize,
    },
    /// A compression pointer at `offset` points past the end of the message.
    #[error("DNS compression pointer at byte {offset} points outside the message")]
    BadPointer {
        /// The offset of the pointer's first byte.
        offset: usize,
    },
    /// The data of the record whose data starts at `offset` does not decode as its type.
    #[error("DNS record data at byte {offset} does not decode as its type")]
    BadRdata {
        /// The offset of the record data.
        offset: usize,
    },
}

impl DnsError {
    /// The byte offset the error refers to.
    pub fn offset(self) -> usize {
        match self {
            Self::Truncated { offset }
            | Self::BadLabelType { offset }
            | Self::BadPointer { offset }
            | Self::BadRdata { offset } => offset,
        }
    }
}
