//! IOC entries: the indicator, where it comes from, how far to trust it and for how long.
//!
//! Inside a bundle an IOC set is one file of JSON lines, one entry per line, keys in this
//! order (`expires` absent: never expires):
//!
//! ```text
//! {"type":"domain","value":"evil.example","source":"vncert","confidence":90,"first_seen":"2026-11-30T00:00:00Z","expires":"2027-03-01T00:00:00Z"}
//! ```
//!
//! `tapwatch-center bundle build --kind ioc` reads the same JSON lines, or CSV with the header
//! `type,value,source,confidence,first_seen,expires` (RFC 4180 quoting; an empty `expires`
//! never expires; `#` lines are comments).
//!
//! | type | value (normalised on input) |
//! |---|---|
//! | `ip` | an IPv4 or IPv6 address, or a network in CIDR form with no host bits set |
//! | `domain` | a DNS name, lowercased, trailing dot removed; matches the name and its subdomains |
//! | `url` | an absolute URL (`scheme://...`), no spaces or control characters, scheme and host lowercased |
//! | `md5`, `sha1`, `sha256` | a file hash, lowercase hex |
//! | `ja3`, `ja3s` | a JA3/JA3S fingerprint (MD5, lowercase hex) |
//! | `ja4` | a JA4 fingerprint (`t13d1516h2_8daaf6152771_b186095e22b6`) |

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IocType {
    /// An address or a network.
    Ip,
    /// A domain and its subdomains.
    Domain,
    /// A URL.
    Url,
    /// MD5 of a file.
    Md5,
    /// SHA-1 of a file.
    Sha1,
    /// SHA-256 of a file.
    Sha256,
    /// JA3 client fingerprint.
    Ja3,
    /// JA3S server fingerprint.
    Ja3s,
    /// JA4 client fingerprint.
    Ja4,
}

impl IocType {
    /// Every type.
    pub const ALL: [IocType; 9] = [
        IocType::Ip,
        IocType::Domain,
        IocType::Url,
        IocType::Md5,
        IocType::Sha1,
        IocType::Sha256,
        IocType::Ja3,
        IocType::Ja3s,
        IocType::Ja4,
    ];

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            IocType::Ip => "ip",
            IocType::Domain => "domain",
            IocType::Url => "url",
            IocType::Md5 => "md5",
            IocType::Sha1 => "sha1",
            IocType::Sha256 => "sha256",
            IocType::Ja3 => "ja3",
            IocType::Ja3s => "ja3s",
            IocType::Ja4 => "ja4",
        }
    }

    /// The type called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for IocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IocEntry {
    /// What it is.
    #[serde(rename = "type")]
    pub ioc_type: IocType,
    /// The indicator, normalised ([`normalize_value`]).
    pub value: String,
    /// Who reported it (a feed, a CERT, an analyst): 1 to 128 printable characters.
    pub source: String,
    /// How far to trust it, 0 to 100.
    pub confidence: u8,
    /// When it was first seen.
    pub first_seen: Timestamp,
    /// When it stops being valid; `None`: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Timestamp>,
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn valid_domain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The normal form of `value` as an indicator of type `t`, or why it is not one.
pub fn normalize_value(t: IocType, value: &str) -> Result<String, String> {
    let v = value.trim();
    match t {
        IocType::Ip => {
            let (addr, prefix) = match v.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (v, None),
            };
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("{v:?} is not an IP address or network"))?;
            let bits: u8 = if addr.is_ipv4() { 32 } else { 128 };
            let Some(p) = prefix else {
                return Ok(addr.to_string());
            };
            let p: u8 = p
                .parse()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{v:?}: prefix length must be 0 to {bits}"))?;
            let host_bits_set = match addr {
                IpAddr::V4(a) => u32::from(a).checked_shl(u32::from(p)).unwrap_or(0) != 0,
                IpAddr::V6(a) => u128::from(a).checked_shl(u32::from(p)).unwrap_or(0) != 0,
            };
            if host_bits_set {
                return Err(format!("{v:?}: host bits set after the /{p} prefix"));
            }
            Ok(format!("{addr}/{p}"))
        }
        IocType::Domain => {
            let d = v.strip_suffix('.').unwrap_or(v).to_ascii_lowercase();
            if valid_domain(&d) {
                Ok(d)
            } else {
                Err(format!("{v:?} is not a domain name"))
            }
        }
        IocType::Url => {
            let (scheme, rest) = v
                .split_once("://")
                .ok_or_else(|| format!("{v:?} is not an absolute URL (scheme://...)"))?;
            let scheme_ok = scheme
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphabetic)
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'));
            if !scheme_ok || rest.is_empty() || v.len() > 4096 {
                return Err(format!(
                    "{v:?} is not an absolute URL of at most 4096 bytes"
                ));
            }
            if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("{v:?}: spaces or control characters in a URL"));
            }
            let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            Ok(format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                rest[..host_end].to_ascii_lowercase(),
                &rest[host_end..]
            ))
        }
        IocType::Md5 | IocType::Ja3 | IocType::Ja3s | IocType::Sha1 | IocType::Sha256 => {
            let len = match t {
                IocType::Sha1 => 40,
                IocType::Sha256 => 64,
                _ => 32,
            };
            if is_hex(v, len) {
                Ok(v.to_ascii_lowercase())
            } else {
                Err(format!("{v:?} is not {len} hex digits"))
            }
        }
        IocType::Ja4 => {
            let l = v.to_ascii_lowercase();
            let parts: Vec<&str> = l.split('_').collect();
            match parts.as_slice() {
                [a, b, c]
                    if a.len() == 10
                        && a.bytes().all(|x| x.is_ascii_alphanumeric())
                        && is_hex(b, 12)
                        && is_hex(c, 12) =>
                {
                    Ok(l)
                }
                _ => Err(format!(
                    "{v:?} is not a JA4 fingerprint (such as t13d1516h2_8daaf6152771_b186095e22b6)"
                )),
            }
        }
    }
}

impl IocEntry {
    /// Checks the entry and normalises its value.
    pub fn normalize(mut self) -> Result<Self, String> {
        self.value = normalize_value(self.ioc_type, &self.value)?;
        if self.source.is_empty()
            || self.source.chars().count() > 128
            || self.source.chars().any(char::is_control)
        {
            return Err(format!(
                "source {:?}: expected 1 to 128 characters, no control characters",
                self.source
            ));
        }
        if self.confidence > 100 {
            return Err(format!("confidence {} is over 100", self.confidence));
        }
        if let Some(e) = self.expires {
            if e < self.first_seen {
                return Err(format!("expires {e} before first_seen {}", self.first_seen));
            }
        }
        Ok(self)
    }

    /// Whether it has expired at `now`.
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// A line of IOC input that is not an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct IocLineError {
    /// 1-based line number.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Input formats for IOC sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IocInputFormat {
    /// One JSON object a line, as inside a bundle.
    JsonLines,
    /// CSV with the header `type,value,source,confidence,first_seen,expires`.
    Csv,
}

/// Reads IOC input; every entry is checked and normalised, blank lines and `#` lines skipped.
pub fn parse_input(text: &str, format: IocInputFormat) -> Result<Vec<IocEntry>, IocLineError> {
    match format {
        IocInputFormat::JsonLines => parse_json_lines(text),
        IocInputFormat::Csv => parse_csv(text),
    }
}

/// Reads JSON lines of entries (the form inside a bundle).
pub fn parse_json_lines(text: &str) -> Result<Vec<IocEntry>, IocLineError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let err = |reason: String| IocLineError {
            line: i + 1,
            reason,
        };
        let e: IocEntry = serde_json::from_str(l).map_err(|e| err(e.to_string()))?;
        out.push(e.normalize().map_err(err)?);
    }
    Ok(out)
}

const CSV_HEADER: [&str; 6] = [
    "type",
    "value",
    "source",
    "confidence",
    "first_seen",
    "expires",
];

/// Splits one CSV line (RFC 4180 quoting within the line).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (false, '"') if at_start => {
                quoted = true;
                at_start = false;
            }
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => {
                quoted = false;
                if !matches!(chars.peek(), None | Some(',')) {
                    return Err("text after a closing quote".into());
                }
            }
            (false, ',') => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
            }
            (_, c) => {
                cur.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    fields.push(cur);
    Ok(fields)
}

/// Reads CSV input.
pub fn parse_csv(text: &str) -> Result<Vec<IocEntry>, IocLineError> {
    let mut out = Vec::new();
    let mut header_seen = false;
    for (i, line) in text.lines().enumerate() {
        let err = |reason: String| IocLineError {
            line: i + 1,
            reason,
        };
        let l = line.trim_end_matches('\r');
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let fields = csv_fields(l).map_err(err)?;
        if !header_seen {
            let names: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
            if names != CSV_HEADER {
                return Err(err(format!(
                    "expected the header \"{}\"",
                    CSV_HEADER.join(",")
                )));
            }
            header_seen = true;
            continue;
        }
        let [t, value, source, conf, first, expires] = <[String; 6]>::try_from(fields)
            .map_err(|f| err(format!("{} fields, expected 6", f.len())))?;
        let ioc_type = IocType::from_name(t.trim()).ok_or_else(|| {
            err(format!(
                "unknown type {t:?} (ip, domain, url, md5, sha1, sha256, ja3, ja3s, ja4)"
            ))
        })?;
        let confidence: u8 = conf
            .trim()
            .parse()
            .map_err(|_| err(format!("confidence {conf:?} is not 0 to 100")))?;
        let time = |s: &str| {
            Timestamp::parse(s.trim())
                .ok_or_else(|| err(format!("{s:?} is not an RFC 3339 UTC time")))
        };
        let e = IocEntry {
            ioc_type,
            value,
            source: source.trim().to_owned(),
            confidence,
            first_seen: time(&first)?,
            expires: if expires.trim().is_empty() {
                None
            } else {
                Some(time(&expires)?)
            },
        };
        out.push(e.normalize().map_err(err)?);
    }
    Ok(out)
}
