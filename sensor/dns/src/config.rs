//! Limits of the DNS parser and per-flow state.

/// Limits applied while parsing DNS messages and tracking a flow.
///
/// Every buffer and list the crate keeps is bounded by one of these values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsConfig {
    /// Resource records kept per section (answers, authorities, additionals) and questions
    /// kept per message; records past this are parsed for validity and then dropped.
    pub max_answers: usize,
    /// Longest decoded name kept, in bytes, dots included; longer names are cut to this
    /// length and raise [`crate::DnsAnomaly::NameTooLong`]. Suricata uses 1025.
    pub max_name_len: usize,
    /// Requests remembered per flow while they wait for their response (oldest dropped).
    pub max_pending_tx: usize,
    /// Largest TCP frame (2-byte length prefix included) buffered per direction; larger
    /// frames are skipped and raise [`crate::DnsAnomaly::MalformedData`].
    pub max_tcp_message: usize,
}

impl Default for DnsConfig {
    /// Suricata's limits: 256 records, 1025-byte names, 256 pending requests and any
    /// message a 16-bit length prefix can describe.
    fn default() -> Self {
        Self {
            max_answers: 256,
            max_name_len: 1025,
            max_pending_tx: 256,
            max_tcp_message: 65_535 + 2,
        }
    }
}
