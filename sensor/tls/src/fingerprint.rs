//! JA3, JA3S and JA4 client/server fingerprints.
//!
//! JA3 (Salesforce): `version,ciphers,extensions,groups,point_formats` in decimal, lists joined
//! by `-`, GREASE values removed; the hash is its MD5. JA3S: `version,cipher,extensions`.
//! JA4 (FoxIO, TLS client): `t<ver><d|i><nn ciphers><nn exts><alpn>_<sha256[..12] of sorted
//! ciphers>_<sha256[..12] of sorted extensions without SNI/ALPN, "_", signature algorithms>`.
//! As in Suricata, an empty list still hashes (SHA-256 of the empty string).

use std::fmt::Write as _;

use md5::{Digest as _, Md5};
use serde::Serialize;
use sha2::Sha256;

use crate::hello::{ext, ClientHello, ServerHello};
use crate::version::is_grease;

/// A JA3 or JA3S fingerprint: the canonical string and its MD5 in lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ja3 {
    /// The hash, 32 lower-case hex digits.
    pub hash: String,
    /// The string that was hashed.
    pub string: String,
}

impl Ja3 {
    fn from_string(string: String) -> Self {
        let digest = Md5::digest(string.as_bytes());
        Self {
            hash: hex_lower(&digest),
            string,
        }
    }
}

/// The JA3 of a ClientHello.
pub(crate) fn ja3(h: &ClientHello) -> Ja3 {
    let mut s = String::with_capacity(128);
    let _ = write!(s, "{},", h.version);
    join_decimal(&mut s, h.ciphers.iter().copied());
    s.push(',');
    join_decimal(&mut s, h.extensions.iter().copied());
    s.push(',');
    join_decimal(&mut s, h.groups.iter().copied());
    s.push(',');
    join_decimal(&mut s, h.ec_point_formats.iter().map(|&p| u16::from(p)));
    Ja3::from_string(s)
}

/// The JA3S of a ServerHello.
pub(crate) fn ja3s(h: &ServerHello) -> Ja3 {
    let mut s = format!("{},{},", h.version, h.cipher);
    join_decimal(&mut s, h.extensions.iter().copied());
    Ja3::from_string(s)
}

/// The JA4 of a ClientHello; `None` gives the value Suricata logs when no ClientHello was seen.
pub(crate) fn ja4(h: Option<&ClientHello>) -> String {
    let empty = ClientHello::default();
    let h = h.unwrap_or(&empty);
    let mut out = String::with_capacity(36);
    out.push('t');
    out.push_str(ja4_version(h));
    out.push(if h.extensions.contains(&ext::SERVER_NAME) {
        'd'
    } else {
        'i'
    });
    let ciphers: Vec<u16> = h
        .ciphers
        .iter()
        .copied()
        .filter(|&c| !is_grease(c))
        .collect();
    let exts: Vec<u16> = h
        .extensions
        .iter()
        .copied()
        .filter(|&e| !is_grease(e))
        .collect();
    let _ = write!(out, "{:02}{:02}", ciphers.len().min(99), exts.len().min(99));
    out.push_str(&ja4_alpn(h.alpns.first().map(Vec::as_slice)));
    out.push('_');
    out.push_str(&sha256_12(&ja4_cipher_string(&ciphers)));
    out.push('_');
    out.push_str(&sha256_12(&ja4_extension_string(&exts, &h.sig_algs)));
    out
}

/// JA4's two-character version: the first non-GREASE supported_versions entry, else the
/// legacy hello version. (Suricata takes the first entry, not the highest: a list led by a
/// TLS 1.3 draft gives `00`, which the corpus confirms.)
pub(crate) fn ja4_version(h: &ClientHello) -> &'static str {
    let v = h
        .supported_versions
        .iter()
        .copied()
        .find(|&v| !is_grease(v))
        .unwrap_or(h.version);
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// JA4's ALPN part: first and last character of the first ALPN value, or `00`. A value
/// whose first or last byte is not ASCII alphanumeric gives the first and last hex digit of
/// the value instead.
pub(crate) fn ja4_alpn(first: Option<&[u8]>) -> String {
    let Some((&a, rest)) = first.and_then(<[u8]>::split_first) else {
        return "00".to_string();
    };
    let b = rest.last().copied().unwrap_or(a);
    if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() {
        [char::from(a), char::from(b)].iter().collect()
    } else {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hi = HEX.get(usize::from(a >> 4)).copied().unwrap_or(b'0');
        let lo = HEX.get(usize::from(b & 0x0f)).copied().unwrap_or(b'0');
        [char::from(hi), char::from(lo)].iter().collect()
    }
}

/// The sorted, comma-joined 4-digit hex cipher list JA4 hashes.
pub(crate) fn ja4_cipher_string(ciphers: &[u16]) -> String {
    let mut sorted = ciphers.to_vec();
    sorted.sort_unstable();
    join_hex4(&sorted)
}

/// The string JA4 hashes for extensions: sorted extensions without SNI and ALPN, `_`, and
/// the signature algorithms in their original order.
pub(crate) fn ja4_extension_string(exts: &[u16], sig_algs: &[u16]) -> String {
    let mut sorted: Vec<u16> = exts
        .iter()
        .copied()
        .filter(|&e| e != ext::SERVER_NAME && e != ext::ALPN)
        .collect();
    sorted.sort_unstable();
    let mut s = join_hex4(&sorted);
    s.push('_');
    s.push_str(&join_hex4(sig_algs));
    s
}

fn sha256_12(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut hex = hex_lower(&digest);
    hex.truncate(12);
    hex
}

fn join_decimal(s: &mut String, values: impl Iterator<Item = u16>) {
    let mut first = true;
    for v in values.filter(|&v| !is_grease(v)) {
        if !first {
            s.push('-');
        }
        first = false;
        let _ = write!(s, "{v}");
    }
}

fn join_hex4(values: &[u16]) -> String {
    let mut s = String::with_capacity(values.len() * 5);
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{v:04x}");
    }
    s
}

/// Lower-case hex without separators.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> ClientHello {
        ClientHello {
            version: 0x0303,
            ciphers: vec![0x1a1a, 0x1301, 0x1302, 0xc02b],
            extensions: vec![
                0x2a2a, 0x0000, 0x0017, 0x0010, 0x000a, 0x000b, 0x000d, 0x002b,
            ],
            groups: vec![0x3a3a, 0x001d, 0x0017],
            ec_point_formats: vec![0],
            sig_algs: vec![0x0403, 0x0804, 0x0401],
            alpns: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            supported_versions: vec![0x4a4a, 0x0304, 0x0303],
            ..ClientHello::default()
        }
    }

    #[test]
    fn ja3_string_and_hash() {
        let j = ja3(&hello());
        assert_eq!(j.string, "771,4865-4866-49195,0-23-16-10-11-13-43,29-23,0");
        assert_eq!(j.hash, hex_lower(&Md5::digest(j.string.as_bytes())));
        assert_eq!(j.hash.len(), 32);
        // MD5 of a known string, to pin the hash function itself.
        assert_eq!(
            Ja3::from_string("769,47-53,0,,".to_string()).hash,
            hex_lower(&Md5::digest(b"769,47-53,0,,"))
        );
        assert_eq!(
            hex_lower(&Md5::digest(b"")),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        let empty = ja3(&ClientHello {
            version: 769,
            ciphers: vec![47, 53],
            ..ClientHello::default()
        });
        assert_eq!(empty.string, "769,47-53,,,");
    }

    #[test]
    fn ja3s_string() {
        let s = ServerHello {
            version: 0x0303,
            cipher: 0xc02f,
            extensions: vec![0xff01, 0x000b, 0x0023],
            ..ServerHello::default()
        };
        assert_eq!(ja3s(&s).string, "771,49199,65281-11-35");
    }

    #[test]
    fn ja4_parts() {
        let h = hello();
        assert_eq!(ja4_version(&h), "13");
        let drafts = ClientHello {
            supported_versions: vec![0x7f1c, 0x0304, 0x0303],
            ..ClientHello::default()
        };
        assert_eq!(ja4_version(&drafts), "00");
        assert_eq!(ja4_version(&ClientHello::default()), "00");
        assert_eq!(ja4_alpn(Some(b"h2")), "h2");
        assert_eq!(ja4_alpn(Some(b"http/1.1")), "h1");
        assert_eq!(ja4_alpn(Some(b"x")), "xx");
        assert_eq!(ja4_alpn(Some(&[0xab, 0x01, 0xcd])), "ad");
        assert_eq!(ja4_alpn(Some(b"")), "00");
        assert_eq!(ja4_alpn(None), "00");
        assert_eq!(
            ja4_cipher_string(&[0xc02b, 0x1302, 0x1301]),
            "1301,1302,c02b"
        );
        assert_eq!(
            ja4_extension_string(&[0x0000, 0x0017, 0x0010, 0x000d, 0x000a], &[0x0403, 0x0401]),
            "000a,000d,0017_0403,0401"
        );
        assert_eq!(ja4_extension_string(&[], &[]), "_");
    }

    #[test]
    fn ja4_whole() {
        let j = ja4(Some(&hello()));
        let expect = format!(
            "t13d0307h2_{}_{}",
            &hex_lower(&Sha256::digest(b"1301,1302,c02b"))[..12],
            &hex_lower(&Sha256::digest(b"000a,000b,000d,0017,002b_0403,0804,0401"))[..12]
        );
        assert_eq!(j, expect);
    }

    #[test]
    fn ja4_without_client_hello_matches_suricata() {
        // Suricata logs this value for flows whose ClientHello it did not see.
        assert_eq!(ja4(None), "t00i000000_e3b0c44298fc_d2e2adf7177b");
    }

    #[test]
    fn ja4_counts_cap_at_99() {
        let h = ClientHello {
            version: 0x0301,
            ciphers: (1..=120).collect(),
            ..ClientHello::default()
        };
        assert!(ja4(Some(&h)).starts_with("t10i990000_"));
    }
}
