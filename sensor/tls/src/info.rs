//! What the parser has learned about a TLS session, and its EVE form.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::cert::CertInfo;
use crate::fingerprint::{self, Ja3};
use crate::version::version_name;

/// Everything known so far about one TLS session.
///
/// Fields fill in as messages are parsed: the client side after the ClientHello
/// ([`TlsEvent::ClientHello`](crate::TlsEvent::ClientHello)), the negotiated values after the
/// ServerHello, certificates after the Certificate message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// Whether a ClientHello was parsed.
    pub client_hello_seen: bool,
    /// Whether a ServerHello (not a HelloRetryRequest) was parsed.
    pub server_hello_seen: bool,
    /// The server_name host name, as sent.
    pub sni: Option<Vec<u8>>,
    /// The legacy version field of the ClientHello (or of an SSLv2 CLIENT-HELLO); 0 if unseen.
    pub client_version: u16,
    /// The client's supported_versions list, GREASE included.
    pub client_supported_versions: Vec<u16>,
    /// The negotiated version: supported_versions' choice in the ServerHello, else its
    /// legacy version field.
    pub version: Option<u16>,
    /// The version of the first record header the server sent, whatever it held.
    pub server_record_version: Option<u16>,
    /// The client's cipher suites in order, GREASE included.
    pub ciphers: Vec<u16>,
    /// The client's extension types in order, GREASE included.
    pub extensions: Vec<u16>,
    /// The client's supported groups (elliptic curves), GREASE included.
    pub groups: Vec<u16>,
    /// The client's EC point formats.
    pub ec_point_formats: Vec<u8>,
    /// The client's signature algorithms in order.
    pub sig_algs: Vec<u16>,
    /// The client's ALPN protocol names in order.
    pub client_alpns: Vec<Vec<u8>>,
    /// The server's ALPN choice (TLS 1.2 and below; encrypted in TLS 1.3).
    pub server_alpns: Vec<Vec<u8>>,
    /// The server's extension types in order.
    pub server_extensions: Vec<u16>,
    /// The cipher suite the server chose.
    pub cipher_suite: Option<u16>,
    /// JA3 of the ClientHello.
    pub ja3: Option<Ja3>,
    /// JA3S of the ServerHello.
    pub ja3s: Option<Ja3>,
    /// JA4 of the ClientHello.
    pub ja4: Option<String>,
    /// The server's certificate chain, leaf first (at most `max_certificates`).
    pub certificates: Vec<CertInfo>,
    /// The client's certificate chain, leaf first (at most `max_certificates`).
    pub client_certificates: Vec<CertInfo>,
    /// How many certificates the server's first Certificate message carried (all of them,
    /// beyond `max_certificates` and undecodable ones included: `tls.cert_chain_len`);
    /// `None` until one was parsed. Not logged.
    pub server_chain_len: Option<u32>,
    /// The ClientHello's 32-byte random (`tls.random` to the server). Not logged.
    pub client_random: Option<[u8; 32]>,
    /// The ServerHello's 32-byte random (`tls.random` to the client). Not logged.
    pub server_random: Option<[u8; 32]>,
    /// Whether the session was resumed (TLS 1.2 and below).
    pub session_resumed: bool,
    /// The protocol that upgraded to TLS (`"smtp"`, `"ldap"`, ...), set by the caller for
    /// STARTTLS sessions; logged as `from_proto`.
    pub from_proto: Option<&'static str>,
}

/// Serializes as the object Suricata 8.0.6 writes under `"tls"` in `event_type: tls`
/// records with its default configuration (JA4 on, JA3 off, no chain or PEM certificate):
/// `subject`, `issuerdn`, `subjectaltname`, `session_resumed`, `serial`, `fingerprint`,
/// `sni`, `version`, `notbefore`, `notafter`, `ja4`, `client_alpns`, `server_alpns`,
/// `client`, `from_proto`, each only when known, in that order.
impl Serialize for TlsInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        let leaf = self.certificates.first();
        if let Some(c) = leaf {
            map.serialize_entry("subject", &c.subject)?;
            map.serialize_entry("issuerdn", &c.issuer)?;
            if !c.sans.is_empty() {
                map.serialize_entry("subjectaltname", &c.sans)?;
            }
        }
        if self.session_resumed {
            map.serialize_entry("session_resumed", &true)?;
        }
        if let Some(c) = leaf {
            map.serialize_entry("serial", &c.serial)?;
            map.serialize_entry("fingerprint", &c.fingerprint_sha1)?;
        }
        if let Some(sni) = &self.sni {
            map.serialize_entry("sni", &String::from_utf8_lossy(sni))?;
        }
        // Without anything from the server, Suricata reports the ClientHello's version.
        let version = self
            .version
            .or(self.server_record_version)
            .unwrap_or(self.client_version);
        map.serialize_entry("version", &version_name(version))?;
        if let Some(c) = leaf {
            map.serialize_entry("notbefore", &c.not_before)?;
            map.serialize_entry("notafter", &c.not_after)?;
        }
        match &self.ja4 {
            Some(j) => map.serialize_entry("ja4", j)?,
            None => map.serialize_entry("ja4", &fingerprint::ja4(None))?,
        }
        if !self.client_alpns.is_empty() {
            map.serialize_entry("client_alpns", &Lossy(&self.client_alpns))?;
        }
        if !self.server_alpns.is_empty() {
            map.serialize_entry("server_alpns", &Lossy(&self.server_alpns))?;
        }
        if let Some(c) = self.client_certificates.first() {
            map.serialize_entry("client", &ClientCert(c))?;
        }
        if let Some(p) = self.from_proto {
            map.serialize_entry("from_proto", p)?;
        }
        map.end()
    }
}

/// Byte strings serialized as a list of (lossy UTF-8) strings.
struct Lossy<'a>(&'a [Vec<u8>]);

impl Serialize for Lossy<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|v| String::from_utf8_lossy(v)))
    }
}

/// The `client` object: the client's leaf certificate.
struct ClientCert<'a>(&'a CertInfo);

impl Serialize for ClientCert<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("subject", &c.subject)?;
        map.serialize_entry("issuerdn", &c.issuer)?;
        if !c.sans.is_empty() {
            map.serialize_entry("subjectaltname", &c.sans)?;
        }
        map.serialize_entry("fingerprint", &c.fingerprint_sha1)?;
        map.serialize_entry("serial", &c.serial)?;
        map.serialize_entry("notbefore", &c.not_before)?;
        map.serialize_entry("notafter", &c.not_after)?;
        map.end()
    }
}
