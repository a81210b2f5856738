//! TLS handshake metadata for tapwatch: SNI, versions, cipher suites, ALPN, JA3/JA3S/JA4
//! fingerprints and X.509 certificate details, from reassembled TCP stream bytes.
//!
//! The pipeline asks [`probe`] whether a stream is TLS, then feeds each flow's
//! [`TlsParser`] with in-order bytes per direction (split anywhere) and gap notices. The
//! parser emits [`TlsEvent`]s as it learns things and keeps what it learned in a
//! [`TlsInfo`], which serializes as Suricata's EVE `tls` object.
//!
//! Invariants:
//! - no input panics the parser; malformed traffic is reported as a [`TlsAnomaly`] and ends
//!   parsing of that direction (record layer) or of its handshake messages;
//! - at most `max_record_buffer` bytes are buffered per direction, and handshake messages
//!   are only parsed up to `max_handshake_bytes` per direction;
//! - application data is skipped by counting, never copied.
#![forbid(unsafe_code)]

mod anomaly;
mod cert;
mod config;
mod fingerprint;
mod hello;
mod info;
mod parser;
mod probe;
mod reader;
mod record;
mod version;

pub use anomaly::TlsAnomaly;
pub use cert::CertInfo;
pub use config::TlsConfig;
pub use fingerprint::Ja3;
pub use info::TlsInfo;
pub use parser::TlsParser;
pub use probe::probe;
pub use version::{is_grease, version_name};

/// Something the parser learned, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsEvent {
    /// A ClientHello was parsed: SNI, ciphers, JA3/JA4 are in [`TlsInfo`].
    ClientHello,
    /// A ServerHello was parsed: negotiated version and cipher, JA3S.
    ServerHello,
    /// A Certificate message was parsed (server's or client's chain).
    Certificates,
    /// The handshake is over (or the flow ended after the server spoke): log the record now.
    /// Sent at most once per flow.
    HandshakeDone,
    /// A protocol anomaly; each kind is reported at most once per flow.
    Anomaly(TlsAnomaly),
}

#[cfg(test)]
mod tests;
