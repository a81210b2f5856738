//! A sensor's identity from its client certificate.
//!
//! The identity is the subject's Common Name; a certificate without a CN falls back to its first
//! DNS name, then its first URI in subjectAltName. `tapwatch-center ca issue-sensor ID` puts ID
//! in both the CN and a DNS SAN.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer as _, X509Certificate};

/// Why no identity could be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    /// The client sent no certificate.
    #[error("no client certificate")]
    NoCertificate,
    /// The certificate does not parse.
    #[error("client certificate does not parse: {0}")]
    Unparsable(String),
    /// Neither CN nor DNS/URI SAN.
    #[error("client certificate has no CN and no DNS/URI subjectAltName")]
    NoName,
}

/// The identity in a DER certificate.
pub fn identity_from_der(der: &[u8]) -> Result<String, IdentityError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| IdentityError::Unparsable(e.to_string()))?;
    if let Some(cn) = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .filter(|s| !s.is_empty())
    {
        return Ok(cn.to_owned());
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        let names = &san.value.general_names;
        for want_dns in [true, false] {
            for n in names {
                match n {
                    GeneralName::DNSName(d) if want_dns && !d.is_empty() => {
                        return Ok((*d).to_owned())
                    }
                    GeneralName::URI(u) if !want_dns && !u.is_empty() => return Ok((*u).to_owned()),
                    _ => {}
                }
            }
        }
    }
    Err(IdentityError::NoName)
}

/// The identity of the first (leaf) certificate of a chain.
pub fn identity_from_chain<C: AsRef<[u8]>>(chain: Option<&[C]>) -> Result<String, IdentityError> {
    let leaf = chain
        .and_then(|c| c.first())
        .ok_or(IdentityError::NoCertificate)?;
    identity_from_der(leaf.as_ref())
}
