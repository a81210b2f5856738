//! Limits of the TLS parser.

/// Per-flow limits of the TLS parser. Every buffer the parser keeps is bounded by one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// Most bytes buffered per direction to reassemble one handshake message that spans
    /// records or calls (default 64 KiB). A longer message is reported as
    /// [`TlsAnomaly::HandshakeInvalidLength`](crate::TlsAnomaly::HandshakeInvalidLength)
    /// and ends handshake parsing in that direction.
    pub max_record_buffer: usize,
    /// Most certificates decoded per chain (default 16); the rest are skipped.
    pub max_certificates: usize,
    /// Most handshake bytes inspected per direction (default 256 KiB); past it, that
    /// direction's handshake is no longer parsed.
    pub max_handshake_bytes: usize,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            max_record_buffer: 64 * 1024,
            max_certificates: 16,
            max_handshake_bytes: 256 * 1024,
        }
    }
}
