//! ClientHello and ServerHello bodies (RFC 5246 §7.4.1, RFC 8446 §4.1).

use crate::reader::{u16_list, Reader};
use crate::TlsAnomaly;

/// Extension numbers this module decodes.
pub(crate) mod ext {
    /// server_name (RFC 6066).
    pub const SERVER_NAME: u16 = 0x0000;
    /// supported_groups, formerly elliptic_curves (RFC 8422).
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    /// ec_point_formats (RFC 8422).
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    /// signature_algorithms (RFC 8446).
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    /// application_layer_protocol_negotiation (RFC 7301).
    pub const ALPN: u16 = 0x0010;
    /// supported_versions (RFC 8446).
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
}

/// The random value of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// What a ClientHello tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ClientHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub ciphers: Vec<u16>,
    pub extensions: Vec<u16>,
    pub sni: Option<Vec<u8>>,
    pub groups: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    pub sig_algs: Vec<u16>,
    pub alpns: Vec<Vec<u8>>,
    pub supported_versions: Vec<u16>,
}

/// What a ServerHello tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ServerHello {
    pub version: u16,
    pub random: [u8; 32],
    pub session_id: Vec<u8>,
    pub cipher: u16,
    pub extensions: Vec<u16>,
    pub alpns: Vec<Vec<u8>>,
    /// The version chosen through supported_versions, if the extension was present.
    pub selected_version: Option<u16>,
    /// Whether this is a HelloRetryRequest rather than a real ServerHello.
    pub is_hrr: bool,
}

impl ServerHello {
    /// The negotiated version: supported_versions' choice, else the legacy field.
    pub(crate) fn negotiated(&self) -> u16 {
        self.selected_version.unwrap_or(self.version)
    }
}

/// A hello that was decoded, with the anomalies seen in its extensions on the way.
#[derive(Debug)]
pub(crate) struct Parsed<T> {
    pub hello: T,
    /// Anomalies that did not stop decoding (SNI oddities); at most three.
    pub anomalies: Vec<TlsAnomaly>,
}

const LEN: TlsAnomaly = TlsAnomaly::HandshakeInvalidLength;

/// Decodes a ClientHello body (the bytes after the 4-byte handshake header).
pub(crate) fn parse_client_hello(body: &[u8]) -> Result<Parsed<ClientHello>, TlsAnomaly> {
    let mut r = Reader::new(body);
    let mut h = ClientHello {
        version: r.u16().ok_or(LEN)?,
        ..ClientHello::default()
    };
    let random = r.bytes(32).ok_or(LEN)?;
    h.random.copy_from_slice(random);
    h.session_id = r.vec8().ok_or(LEN)?.to_vec();
    h.ciphers = u16_list(r.vec16().ok_or(LEN)?).ok_or(LEN)?;
    r.vec8().ok_or(LEN)?; // compression methods
    let mut anomalies = Vec::new();
    if r.is_empty() {
        return Ok(Parsed {
            hello: h,
            anomalies,
        });
    }
    let mut exts = Reader::new(r.vec16().ok_or(LEN)?);
    while !exts.is_empty() {
        let ty = exts.u16().ok_or(LEN)?;
        let data = exts.vec16().ok_or(LEN)?;
        h.extensions.push(ty);
        match ty {
            ext::SERVER_NAME => {
                if h.sni.is_some() {
                    push_once(&mut anomalies, TlsAnomaly::MultipleSniExtensions);
                    continue;
                }
                match parse_sni(data) {
                    Ok(name) => h.sni = name,
                    Err(a) => push_once(&mut anomalies, a),
                }
            }
            ext::SUPPORTED_GROUPS => {
                h.groups = u16_list(Reader::new(data).vec16().ok_or(LEN)?).ok_or(LEN)?
            }
            ext::EC_POINT_FORMATS => {
                h.ec_point_formats = Reader::new(data).vec8().ok_or(LEN)?.to_vec()
            }
            ext::SIGNATURE_ALGORITHMS => {
                h.sig_algs = u16_list(Reader::new(data).vec16().ok_or(LEN)?).ok_or(LEN)?
            }
            ext::ALPN => h.alpns = parse_alpn(data)?,
            ext::SUPPORTED_VERSIONS => {
                h.supported_versions = u16_list(Reader::new(data).vec8().ok_or(LEN)?).ok_or(LEN)?
            }
            _ => {}
        }
    }
    Ok(Parsed {
        hello: h,
        anomalies,
    })
}

/// Decodes a ServerHello body (the bytes after the 4-byte handshake header).
pub(crate) fn parse_server_hello(body: &[u8]) -> Result<ServerHello, TlsAnomaly> {
    let mut r = Reader::new(body);
    let mut h = ServerHello {
        version: r.u16().ok_or(LEN)?,
        ..ServerHello::default()
    };
    let random = r.bytes(32).ok_or(LEN)?;
    h.random.copy_from_slice(random);
    h.is_hrr = h.random == HRR_RANDOM;
    // TLS 1.3 drafts before 22 dropped the session id.
    let legacy_session_id = !(h.version >> 8 == 0x7f && h.version < 0x7f16);
    if legacy_session_id {
        h.session_id = r.vec8().ok_or(LEN)?.to_vec();
    }
    h.cipher = r.u16().ok_or(LEN)?;
    if legacy_session_id {
        r.u8().ok_or(LEN)?; // compression method
    }
    if r.is_empty() {
        return Ok(h);
    }
    let mut exts = Reader::new(r.vec16().ok_or(LEN)?);
    while !exts.is_empty() {
        let ty = exts.u16().ok_or(LEN)?;
        let data = exts.vec16().ok_or(LEN)?;
        h.extensions.push(ty);
        match ty {
            ext::ALPN => h.alpns = parse_alpn(data)?,
            ext::SUPPORTED_VERSIONS => {
                h.selected_version = Some(Reader::new(data).u16().ok_or(LEN)?)
            }
            _ => {}
        }
    }
    Ok(h)
}

fn push_once(list: &mut Vec<TlsAnomaly>, a: TlsAnomaly) {
    if !list.contains(&a) {
        list.push(a);
    }
}

/// The first host_name of a server_name extension; `None` for an empty list.
fn parse_sni(data: &[u8]) -> Result<Option<Vec<u8>>, TlsAnomaly> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.vec16().ok_or(TlsAnomaly::InvalidSniLength)?);
    if list.is_empty() {
        return Ok(None);
    }
    let name_type = list.u8().ok_or(TlsAnomaly::InvalidSniLength)?;
    if name_type != 0 {
        return Err(TlsAnomaly::InvalidSniType);
    }
    let name = list.vec16().ok_or(TlsAnomaly::InvalidSniLength)?;
    Ok(Some(name.to_vec()))
}

/// The protocol names of an ALPN extension, in order.
fn parse_alpn(data: &[u8]) -> Result<Vec<Vec<u8>>, TlsAnomaly> {
    let mut list = Reader::new(Reader::new(data).vec16().ok_or(LEN)?);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.vec8().ok_or(LEN)?.to_vec());
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds an extension: type, length, data.
    pub(crate) fn ext_bytes(ty: u16, data: &[u8]) -> Vec<u8> {
        let mut v = ty.to_be_bytes().to_vec();
        v.extend_from_slice(&(data.len() as u16).to_be_bytes());
        v.extend_from_slice(data);
        v
    }

    /// Builds a ClientHello body.
    pub(crate) fn client_hello_body(version: u16, ciphers: &[u16], exts: &[Vec<u8>]) -> Vec<u8> {
        let mut v = version.to_be_bytes().to_vec();
        v.extend_from_slice(&[0x11; 32]);
        v.push(0);
        v.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            v.extend_from_slice(&c.to_be_bytes());
        }
        v.extend_from_slice(&[1, 0]);
        let all: Vec<u8> = exts.concat();
        v.extend_from_slice(&(all.len() as u16).to_be_bytes());
        v.extend_from_slice(&all);
        v
    }

    pub(crate) fn sni_ext(name: &[u8]) -> Vec<u8> {
        let mut d = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name);
        ext_bytes(ext::SERVER_NAME, &d)
    }

    pub(crate) fn alpn_ext(names: &[&[u8]]) -> Vec<u8> {
        let mut list = Vec::new();
        for n in names {
            list.push(n.len() as u8);
            list.extend_from_slice(n);
        }
        let mut d = (list.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&list);
        ext_bytes(ext::ALPN, &d)
    }

    pub(crate) fn u16_vec_ext(ty: u16, values: &[u16], one_byte_len: bool) -> Vec<u8> {
        let mut d = Vec::new();
        if one_byte_len {
            d.push((values.len() * 2) as u8);
        } else {
            d.extend_from_slice(&((values.len() * 2) as u16).to_be_bytes());
        }
        for v in values {
            d.extend_from_slice(&v.to_be_bytes());
        }
        ext_bytes(ty, &d)
    }

    #[test]
    fn client_hello_fields() {
        let body = client_hello_body(
            0x0303,
            &[0x0a0a, 0x1301, 0xc02f],
            &[
                sni_ext(b"example.org"),
                u16_vec_ext(ext::SUPPORTED_GROUPS, &[0x001d, 0x0017], false),
                ext_bytes(ext::EC_POINT_FORMATS, &[1, 0]),
                u16_vec_ext(ext::SIGNATURE_ALGORITHMS, &[0x0403, 0x0804], false),
                alpn_ext(&[b"h2", b"http/1.1"]),
                u16_vec_ext(ext::SUPPORTED_VERSIONS, &[0x0304, 0x0303], true),
            ],
        );
        let p = parse_client_hello(&body).unwrap();
        let h = p.hello;
        assert!(p.anomalies.is_empty());
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.ciphers, vec![0x0a0a, 0x1301, 0xc02f]);
        assert_eq!(h.extensions, vec![0, 10, 11, 13, 16, 43]);
        assert_eq!(h.sni.as_deref(), Some(&b"example.org"[..]));
        assert_eq!(h.groups, vec![0x1d, 0x17]);
        assert_eq!(h.ec_point_formats, vec![0]);
        assert_eq!(h.sig_algs, vec![0x0403, 0x0804]);
        assert_eq!(h.alpns, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert_eq!(h.supported_versions, vec![0x0304, 0x0303]);
    }

    #[test]
    fn sni_anomalies() {
        let body = client_hello_body(0x0303, &[1], &[sni_ext(b"a"), sni_ext(b"b")]);
        let p = parse_client_hello(&body).unwrap();
        assert_eq!(p.hello.sni.as_deref(), Some(&b"a"[..]));
        assert_eq!(p.anomalies, vec![TlsAnomaly::MultipleSniExtensions]);

        let bad_type = ext_bytes(ext::SERVER_NAME, &[0, 4, 1, 0, 1, b'x']);
        let p = parse_client_hello(&client_hello_body(0x0303, &[1], &[bad_type])).unwrap();
        assert_eq!(p.anomalies, vec![TlsAnomaly::InvalidSniType]);
        assert_eq!(p.hello.sni, None);

        let bad_len = ext_bytes(ext::SERVER_NAME, &[0, 4, 0, 0, 9, b'x']);
        let p = parse_client_hello(&client_hello_body(0x0303, &[1], &[bad_len])).unwrap();
        assert_eq!(p.anomalies, vec![TlsAnomaly::InvalidSniLength]);
    }

    #[test]
    fn truncated_client_hello_is_length_error() {
        let body = client_hello_body(0x0303, &[1, 2], &[sni_ext(b"abc")]);
        for cut in 0..body.len() {
            let r = parse_client_hello(&body[..cut]);
            // Cutting exactly before the extensions block leaves a valid extension-less hello.
            if cut == 2 + 32 + 1 + 2 + 4 + 2 {
                assert!(r.is_ok());
            } else {
                assert_eq!(
                    r.err(),
                    Some(TlsAnomaly::HandshakeInvalidLength),
                    "cut {cut}"
                );
            }
        }
    }

    #[test]
    fn server_hello_fields() {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&HRR_RANDOM);
        body.extend_from_slice(&[2, 0xaa, 0xbb, 0x13, 0x01, 0x00]);
        let exts = [
            ext_bytes(ext::SUPPORTED_VERSIONS, &[0x03, 0x04]),
            alpn_ext(&[b"h2"]),
        ]
        .concat();
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let h = parse_server_hello(&body).unwrap();
        assert!(h.is_hrr);
        assert_eq!(h.session_id, vec![0xaa, 0xbb]);
        assert_eq!(h.cipher, 0x1301);
        assert_eq!(h.extensions, vec![43, 16]);
        assert_eq!(h.alpns, vec![b"h2".to_vec()]);
        assert_eq!(h.negotiated(), 0x0304);
        assert!(parse_server_hello(&body[..40]).is_ok());
        assert_eq!(parse_server_hello(&body[..39]), Err(LEN));
        assert_eq!(parse_server_hello(&body[..body.len() - 1]), Err(LEN));
    }

    #[test]
    fn draft_server_hello_has_no_session_id() {
        let mut body = vec![0x7f, 0x12];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0x13, 0x02]);
        let h = parse_server_hello(&body).unwrap();
        assert_eq!(h.cipher, 0x1302);
        assert_eq!(h.negotiated(), 0x7f12);
        assert!(!h.is_hrr);
    }
}
