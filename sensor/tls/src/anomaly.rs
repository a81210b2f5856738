//! Protocol anomalies, named as Suricata names its `tls` app-layer events.

/// A TLS protocol anomaly seen in a flow.
///
/// [`TlsAnomaly::name`] gives the event name Suricata uses (`INVALID_RECORD_TYPE`, ...), which
/// rules reference in lower case as `app-layer-event:tls.invalid_record_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsAnomaly {
    /// An SSLv2 record header that does not make sense.
    InvalidSslv2Header,
    /// A TLS record header that does not make sense.
    InvalidTlsHeader,
    /// A record whose protocol version is not SSL 3.0 to TLS 1.3.
    InvalidRecordVersion,
    /// A record of an unknown content type.
    InvalidRecordType,
    /// A handshake message of an unknown type.
    InvalidHandshakeMessage,
    /// A certificate that could not be decoded at all.
    InvalidCertificate,
    /// A Certificate message whose length fields disagree.
    CertificateInvalidLength,
    /// A fatal alert was sent.
    ErrorMessageEncountered,
    /// A record that cannot be TLS.
    InvalidSslRecord,
    /// A heartbeat record was seen.
    HeartbeatMessage,
    /// A heartbeat request claiming more payload than its record holds (Heartbleed).
    OverflowHeartbeatMessage,
    /// A malformed heartbeat message.
    InvalidHeartbeatMessage,
    /// Encrypted heartbeat request and response lengths differ.
    DataleakHeartbeatMismatch,
    /// A ClientHello with more than one server_name extension.
    MultipleSniExtensions,
    /// A server_name entry of a type other than host_name.
    InvalidSniType,
    /// A server_name extension whose lengths disagree.
    InvalidSniLength,
    /// A handshake message whose length fields disagree or exceed the configured limits.
    HandshakeInvalidLength,
    /// More than 255 records in one packet.
    TooManyRecordsInPacket,
    /// A certificate with an invalid version.
    CertificateInvalidVersion,
    /// A certificate with an invalid serial number.
    CertificateInvalidSerial,
    /// A certificate with an invalid algorithm identifier.
    CertificateInvalidAlgorithmIdentifier,
    /// A certificate with an invalid X.509 name.
    CertificateInvalidX509Name,
    /// A certificate with an invalid date.
    CertificateInvalidDate,
    /// A certificate with invalid extensions.
    CertificateInvalidExtensions,
    /// A certificate that is not valid DER.
    CertificateInvalidDer,
    /// A certificate with an invalid subject.
    CertificateInvalidSubject,
    /// A certificate with an invalid issuer.
    CertificateInvalidIssuer,
    /// A certificate with an invalid validity period.
    CertificateInvalidValidity,
    /// A malformed alert record.
    InvalidAlertMessage,
    /// A record longer than TLS allows (2^14 + 2048 bytes).
    InvalidRecordLength,
}

impl TlsAnomaly {
    /// Every anomaly, in declaration order.
    pub const ALL: [TlsAnomaly; 30] = [
        Self::InvalidSslv2Header,
        Self::InvalidTlsHeader,
        Self::InvalidRecordVersion,
        Self::InvalidRecordType,
        Self::InvalidHandshakeMessage,
        Self::InvalidCertificate,
        Self::CertificateInvalidLength,
        Self::ErrorMessageEncountered,
        Self::InvalidSslRecord,
        Self::HeartbeatMessage,
        Self::OverflowHeartbeatMessage,
        Self::InvalidHeartbeatMessage,
        Self::DataleakHeartbeatMismatch,
        Self::MultipleSniExtensions,
        Self::InvalidSniType,
        Self::InvalidSniLength,
        Self::HandshakeInvalidLength,
        Self::TooManyRecordsInPacket,
        Self::CertificateInvalidVersion,
        Self::CertificateInvalidSerial,
        Self::CertificateInvalidAlgorithmIdentifier,
        Self::CertificateInvalidX509Name,
        Self::CertificateInvalidDate,
        Self::CertificateInvalidExtensions,
        Self::CertificateInvalidDer,
        Self::CertificateInvalidSubject,
        Self::CertificateInvalidIssuer,
        Self::CertificateInvalidValidity,
        Self::InvalidAlertMessage,
        Self::InvalidRecordLength,
    ];

    /// Suricata's event name, e.g. `INVALID_RECORD_TYPE`.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvalidSslv2Header => "INVALID_SSLV2_HEADER",
            Self::InvalidTlsHeader => "INVALID_TLS_HEADER",
            Self::InvalidRecordVersion => "INVALID_RECORD_VERSION",
            Self::InvalidRecordType => "INVALID_RECORD_TYPE",
            Self::InvalidHandshakeMessage => "INVALID_HANDSHAKE_MESSAGE",
            Self::InvalidCertificate => "INVALID_CERTIFICATE",
            Self::CertificateInvalidLength => "CERTIFICATE_INVALID_LENGTH",
            Self::ErrorMessageEncountered => "ERROR_MESSAGE_ENCOUNTERED",
            Self::InvalidSslRecord => "INVALID_SSL_RECORD",
            Self::HeartbeatMessage => "HEARTBEAT_MESSAGE",
            Self::OverflowHeartbeatMessage => "OVERFLOW_HEARTBEAT_MESSAGE",
            Self::InvalidHeartbeatMessage => "INVALID_HEARTBEAT_MESSAGE",
            Self::DataleakHeartbeatMismatch => "DATALEAK_HEARTBEAT_MISMATCH",
            Self::MultipleSniExtensions => "MULTIPLE_SNI_EXTENSIONS",
            Self::InvalidSniType => "INVALID_SNI_TYPE",
            Self::InvalidSniLength => "INVALID_SNI_LENGTH",
            Self::HandshakeInvalidLength => "HANDSHAKE_INVALID_LENGTH",
            Self::TooManyRecordsInPacket => "TOO_MANY_RECORDS_IN_PACKET",
            Self::CertificateInvalidVersion => "CERTIFICATE_INVALID_VERSION",
            Self::CertificateInvalidSerial => "CERTIFICATE_INVALID_SERIAL",
            Self::CertificateInvalidAlgorithmIdentifier => {
                "CERTIFICATE_INVALID_ALGORITHMIDENTIFIER"
            }
            Self::CertificateInvalidX509Name => "CERTIFICATE_INVALID_X509NAME",
            Self::CertificateInvalidDate => "CERTIFICATE_INVALID_DATE",
            Self::CertificateInvalidExtensions => "CERTIFICATE_INVALID_EXTENSIONS",
            Self::CertificateInvalidDer => "CERTIFICATE_INVALID_DER",
            Self::CertificateInvalidSubject => "CERTIFICATE_INVALID_SUBJECT",
            Self::CertificateInvalidIssuer => "CERTIFICATE_INVALID_ISSUER",
            Self::CertificateInvalidValidity => "CERTIFICATE_INVALID_VALIDITY",
            Self::InvalidAlertMessage => "INVALID_ALERT_MESSAGE",
            Self::InvalidRecordLength => "INVALID_RECORD_LENGTH",
        }
    }

    /// The anomaly with this event name, compared without regard to case
    /// (`invalid_record_type` as written in rules works too).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    /// A distinct bit per anomaly, for "seen once" sets.
    pub(crate) fn bit(self) -> u32 {
        let idx = Self::ALL.iter().position(|&a| a == self).unwrap_or(0);
        1u32 << idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bits_are_distinct() {
        let mut bits = 0u32;
        for a in TlsAnomaly::ALL {
            assert_eq!(TlsAnomaly::from_name(a.name()), Some(a));
            assert_eq!(bits & a.bit(), 0);
            bits |= a.bit();
        }
        assert_eq!(
            TlsAnomaly::from_name("invalid_record_type"),
            Some(TlsAnomaly::InvalidRecordType)
        );
        assert_eq!(TlsAnomaly::from_name("nope"), None);
        assert_eq!(
            TlsAnomaly::CertificateInvalidAlgorithmIdentifier.name(),
            "CERTIFICATE_INVALID_ALGORITHMIDENTIFIER"
        );
    }
}
