//! Certificate messages and the X.509 details Suricata logs from them.

use std::fmt::Write as _;

use serde::Serialize;
use sha1::{Digest as _, Sha1};
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::reader::Reader;
use crate::TlsAnomaly;

/// What is logged of one X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject DN, e.g. `C=US, O=Example, CN=www.example.org`.
    pub subject: String,
    /// Issuer DN, same format.
    pub issuer: String,
    /// Serial number bytes as upper-case hex pairs joined by `:` (`03:C5:6F`).
    pub serial: String,
    /// SHA-1 of the DER encoding as lower-case hex pairs joined by `:`.
    pub fingerprint_sha1: String,
    /// Start of validity, UTC, `YYYY-MM-DDTHH:MM:SS`.
    pub not_before: String,
    /// End of validity, UTC, `YYYY-MM-DDTHH:MM:SS`.
    pub not_after: String,
    /// Subject alternative names as Suricata logs them: DNS names, URIs and e-mail addresses
    /// as plain text, IP addresses as byte lists (`[10, 0, 0, 1]`), other kinds as
    /// `Kind(value)` (`DirectoryName(C=US, CN=x)`).
    pub sans: Vec<String>,
    /// Length of the DER encoding in bytes.
    pub der_len: usize,
    /// The DER encoding itself (what the engine inspects as `tls.certs`). Bounded: every
    /// certificate comes from one handshake message of at most `max_record_buffer` bytes,
    /// and at most `max_certificates` are kept. Not logged.
    #[serde(skip)]
    pub der: Vec<u8>,
}

/// The certificates of a Certificate message, at most `max` of them decoded.
///
/// `tls13` selects the TLS 1.3 layout (request context, per-entry extensions).
/// Certificates that fail to decode are skipped and reported.
pub(crate) fn parse_certificate_message(
    body: &[u8],
    tls13: bool,
    max: usize,
    anomalies: &mut Vec<TlsAnomaly>,
) -> Result<(Vec<CertInfo>, u32), TlsAnomaly> {
    const LEN: TlsAnomaly = TlsAnomaly::CertificateInvalidLength;
    let mut r = Reader::new(body);
    if tls13 {
        r.vec8().ok_or(LEN)?;
    }
    let mut list = Reader::new(r.vec24().ok_or(LEN)?);
    let mut certs = Vec::new();
    // Every certificate of the message, kept or not (`tls.cert_chain_len`).
    let mut count = 0u32;
    while !list.is_empty() {
        let der = list.vec24().ok_or(LEN)?;
        if tls13 {
            list.vec16().ok_or(LEN)?;
        }
        count = count.saturating_add(1);
        if certs.len() >= max {
            continue;
        }
        match cert_info(der) {
            Ok(c) => certs.push(c),
            Err(a) => {
                if !anomalies.contains(&a) {
                    anomalies.push(a);
                }
            }
        }
    }
    Ok((certs, count))
}

/// Decodes one DER certificate.
pub(crate) fn cert_info(der: &[u8]) -> Result<CertInfo, TlsAnomaly> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| match e {
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => map_error(&e),
        x509_parser::nom::Err::Incomplete(_) => TlsAnomaly::CertificateInvalidDer,
    })?;
    let validity = cert.validity();
    let sans = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext.value.general_names.iter().map(san_text).collect(),
        Ok(None) => Vec::new(),
        Err(_) => return Err(TlsAnomaly::CertificateInvalidExtensions),
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        serial: hex_colon(cert.raw_serial(), true),
        fingerprint_sha1: hex_colon(&Sha1::digest(der), false),
        not_before: format_utc(validity.not_before.timestamp()),
        not_after: format_utc(validity.not_after.timestamp()),
        sans,
        der_len: der.len(),
        der: der.to_vec(),
    })
}

fn san_text(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(s) | GeneralName::URI(s) | GeneralName::RFC822Name(s) => {
            (*s).to_string()
        }
        // Suricata prints the address bytes as a list: `[10, 0, 0, 1]`.
        GeneralName::IPAddress(bytes) => format!("{bytes:?}"),
        other => other.to_string(),
    }
}

fn map_error(e: &X509Error) -> TlsAnomaly {
    match e {
        X509Error::InvalidVersion => TlsAnomaly::CertificateInvalidVersion,
        X509Error::InvalidSerial => TlsAnomaly::CertificateInvalidSerial,
        X509Error::InvalidAlgorithmIdentifier => TlsAnomaly::CertificateInvalidAlgorithmIdentifier,
        X509Error::InvalidX509Name => TlsAnomaly::CertificateInvalidX509Name,
        X509Error::InvalidDate => TlsAnomaly::CertificateInvalidDate,
        X509Error::InvalidExtensions | X509Error::DuplicateExtensions => {
            TlsAnomaly::CertificateInvalidExtensions
        }
        X509Error::Der(_) | X509Error::NomError(_) => TlsAnomaly::CertificateInvalidDer,
        _ => TlsAnomaly::InvalidCertificate,
    }
}

/// Bytes as two-digit hex joined by `:`.
pub(crate) fn hex_colon(bytes: &[u8], upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = if upper {
            write!(s, "{b:02X}")
        } else {
            write!(s, "{b:02x}")
        };
    }
    s
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC, proleptic Gregorian).
pub(crate) fn format_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = tapwatch_common::civil::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed P-256 certificate made with `openssl req -x509` for these tests.
    pub(crate) const TEST_CERT_DER: &[u8] = &[
        0x30, 0x82, 0x02, 0x04, 0x30, 0x82, 0x01, 0xaa, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x03,
        0x03, 0xc5, 0x6f, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
        0x30, 0x5c, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, 0x55, 0x53,
        0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x0d, 0x54, 0x61, 0x70, 0x77,
        0x61, 0x74, 0x63, 0x68, 0x20, 0x54, 0x65, 0x73, 0x74, 0x31, 0x15, 0x30, 0x13, 0x06, 0x03,
        0x55, 0x04, 0x03, 0x0c, 0x0c, 0x74, 0x65, 0x73, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70,
        0x6c, 0x65, 0x31, 0x1e, 0x30, 0x1c, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
        0x09, 0x01, 0x16, 0x0f, 0x6f, 0x70, 0x73, 0x40, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
        0x2e, 0x6f, 0x72, 0x67, 0x30, 0x1e, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x34, 0x31,
        0x31, 0x31, 0x33, 0x34, 0x37, 0x5a, 0x17, 0x0d, 0x33, 0x36, 0x31, 0x31, 0x32, 0x31, 0x31,
        0x31, 0x31, 0x33, 0x34, 0x37, 0x5a, 0x30, 0x5c, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55,
        0x04, 0x06, 0x13, 0x02, 0x55, 0x53, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x0a,
        0x0c, 0x0d, 0x54, 0x61, 0x70, 0x77, 0x61, 0x74, 0x63, 0x68, 0x20, 0x54, 0x65, 0x73, 0x74,
        0x31, 0x15, 0x30, 0x13, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0c, 0x74, 0x65, 0x73, 0x74,
        0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x31, 0x1e, 0x30, 0x1c, 0x06, 0x09, 0x2a,
        0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01, 0x16, 0x0f, 0x6f, 0x70, 0x73, 0x40, 0x65,
        0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x30, 0x59, 0x30, 0x13, 0x06,
        0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04, 0x7f, 0x0c, 0x23, 0x20, 0x75, 0x97, 0xf5, 0xda,
        0x0d, 0x17, 0x7a, 0xec, 0x3c, 0x6b, 0x31, 0x15, 0xc6, 0x88, 0x07, 0xec, 0x7d, 0xdc, 0x10,
        0x63, 0x40, 0xdb, 0x95, 0x4a, 0x9f, 0xca, 0xaa, 0x41, 0xe8, 0x46, 0xd5, 0x0e, 0x49, 0x35,
        0xa2, 0x74, 0xe6, 0x37, 0x50, 0xf5, 0xdb, 0xc2, 0x23, 0x20, 0x7c, 0xa8, 0x04, 0xda, 0x61,
        0x89, 0xa9, 0xaf, 0xa2, 0x8d, 0x11, 0xff, 0xc2, 0x17, 0xc1, 0xf2, 0xa3, 0x5b, 0x30, 0x59,
        0x30, 0x38, 0x06, 0x03, 0x55, 0x1d, 0x11, 0x04, 0x31, 0x30, 0x2f, 0x82, 0x0c, 0x74, 0x65,
        0x73, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x82, 0x0e, 0x2a, 0x2e, 0x74,
        0x65, 0x73, 0x74, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x86, 0x09, 0x75, 0x72,
        0x6e, 0x3a, 0x74, 0x61, 0x70, 0x3a, 0x31, 0x87, 0x04, 0x7f, 0x00, 0x00, 0x01, 0x30, 0x1d,
        0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x75, 0x81, 0x06, 0x9b, 0x97, 0x72,
        0x47, 0x92, 0xd3, 0x0f, 0xfd, 0x65, 0x80, 0x60, 0x33, 0x0f, 0x38, 0x3f, 0x30, 0x95, 0x30,
        0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x03, 0x48, 0x00, 0x30,
        0x45, 0x02, 0x20, 0x32, 0xfa, 0x60, 0x1f, 0x89, 0x54, 0x77, 0x3b, 0x5e, 0x86, 0x6e, 0xe1,
        0x91, 0x5a, 0x56, 0x02, 0x82, 0x52, 0x69, 0xb1, 0x52, 0x8f, 0x7d, 0x80, 0xd0, 0x94, 0x50,
        0xb4, 0xdd, 0xf9, 0xb1, 0xd7, 0x02, 0x21, 0x00, 0x91, 0xbc, 0x52, 0x36, 0x56, 0xcf, 0x7f,
        0x90, 0x19, 0x10, 0xcb, 0xbd, 0x4a, 0x24, 0x4c, 0xa8, 0xab, 0x04, 0xb3, 0xfb, 0xe2, 0x82,
        0x11, 0x24, 0x6b, 0xf8, 0x79, 0xc7, 0xf1, 0x6b, 0x65, 0xc7,
    ];

    #[test]
    fn decodes_openssl_certificate() {
        let c = cert_info(TEST_CERT_DER).unwrap();
        assert_eq!(
            c.subject,
            "C=US, O=Tapwatch Test, CN=test.example, Email=ops@example.org"
        );
        assert_eq!(c.issuer, c.subject);
        assert_eq!(c.serial, "03:C5:6F");
        assert_eq!(
            c.fingerprint_sha1,
            "df:91:ae:15:c0:3a:de:51:21:c2:a7:31:14:c9:2c:f4:62:fc:62:be"
        );
        assert_eq!(c.not_before, "2026-11-24T11:13:47");
        assert_eq!(c.not_after, "2036-11-21T11:13:47");
        assert_eq!(
            c.sans,
            vec![
                "test.example",
                "*.test.example",
                "urn:tap:1",
                "[127, 0, 0, 1]"
            ]
        );
        assert_eq!(c.der_len, 520);
    }

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00");
        assert_eq!(format_utc(1_576_545_448), "2019-12-17T01:17:28");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59");
        assert_eq!(format_utc(3_167_674_593), "2070-05-18T21:36:33");
    }

    #[test]
    fn hex_formats() {
        assert_eq!(hex_colon(&[0x03, 0xc5, 0x6f], true), "03:C5:6F");
        assert_eq!(hex_colon(&[0xdb, 0xa7], false), "db:a7");
        assert_eq!(hex_colon(&[], true), "");
    }

    #[test]
    fn garbage_certificate_is_reported() {
        assert_eq!(
            cert_info(&[0x30, 0x03, 1, 2, 3]).err(),
            Some(TlsAnomaly::CertificateInvalidDer)
        );
        let mut anomalies = Vec::new();
        // One 3-byte "certificate" of junk inside a well-formed list.
        let msg = [0, 0, 6, 0, 0, 3, 0xde, 0xad, 0xbe];
        let (certs, count) = parse_certificate_message(&msg, false, 16, &mut anomalies).unwrap();
        assert!(certs.is_empty());
        // A certificate that does not decode still counts in the chain's length.
        assert_eq!(count, 1);
        assert_eq!(anomalies, vec![TlsAnomaly::CertificateInvalidDer]);
        assert_eq!(
            parse_certificate_message(&msg[..8], false, 16, &mut anomalies),
            Err(TlsAnomaly::CertificateInvalidLength)
        );
    }
}
