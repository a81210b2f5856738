//! The EVE `http` object, field for field as Suricata 8.0.6 writes it with its default
//! (extended) HTTP logging.
//!
//! Field order and presence, checked against Suricata's records: `hostname` (when known),
//! `http_port` (when the URI or `Host` header named a port), `url` (the raw request target,
//! when not empty; `/libhtp::request_uri_not_seen` for a response without request),
//! `http_user_agent`, `xff` (`X-Forwarded-For`), `http_content_type` (the response
//! `Content-Type` up to the first `;`), `content_range` (`raw`, and `start`/`end`/`size`
//! when it parses), `http_refer` (`Referer`), `http_method`, `protocol` (the request's,
//! when not empty), `status` (or `status_string` when the code is not a number),
//! `redirect` (`Location`), and always `length`. Repeated headers are joined with `", "`.
//! Bytes that are not UTF-8 are written as `\xNN` (lowercase hex); JSON escaping does
//! the rest.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::headers::combined_value;
use crate::{Header, HttpTransaction};

/// What Suricata logs as `url` when a response arrived with no request for it.
pub const URI_NOT_SEEN: &str = "/libhtp::request_uri_not_seen";

pub use tapwatch_common::text::escape_bytes;

/// A parsed `Content-Range` value; `None` fields were `*` or absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ContentRange {
    start: Option<u64>,
    end: Option<u64>,
    size: Option<u64>,
}

fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit()
            .then_some(())
            .and_then(|()| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
    })
}

/// Parses `[bytes ]start-end/size`, `*/size` and `start-end/*`.
fn parse_content_range(v: &[u8]) -> Option<ContentRange> {
    let v = crate::headers::trim(v);
    let v = v.strip_prefix(b"bytes").map_or(v, crate::headers::trim);
    let slash = v.iter().position(|&b| b == b'/')?;
    let (range, size) = (v.get(..slash)?, v.get(slash + 1..)?);
    let size = if size == b"*" {
        None
    } else {
        Some(parse_u64(size)?)
    };
    let (start, end) = if range == b"*" {
        (None, None)
    } else {
        let dash = range.iter().position(|&b| b == b'-')?;
        (
            Some(parse_u64(range.get(..dash)?)?),
            Some(parse_u64(range.get(dash + 1..)?)?),
        )
    };
    Some(ContentRange { start, end, size })
}

struct RangeObject<'a> {
    raw: &'a [u8],
}

impl Serialize for RangeObject<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("raw", &escape_bytes(self.raw))?;
        if let Some(cr) = parse_content_range(self.raw) {
            if let Some(v) = cr.start {
                m.serialize_entry("start", &v)?;
            }
            if let Some(v) = cr.end {
                m.serialize_entry("end", &v)?;
            }
            if let Some(v) = cr.size {
                m.serialize_entry("size", &v)?;
            }
        }
        m.end()
    }
}

fn entry<M: SerializeMap>(
    m: &mut M,
    key: &str,
    headers: Option<&[Header]>,
    name: &str,
) -> Result<(), M::Error> {
    if let Some(v) = headers.and_then(|h| combined_value(h, name)) {
        m.serialize_entry(key, &escape_bytes(&v))?;
    }
    Ok(())
}

impl Serialize for HttpTransaction {
    /// The object Suricata writes under `"http"` in an `event_type: http` record.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let req = self.request.as_ref();
        let resp = self.response.as_ref();
        let req_h = req.map(|r| r.headers.as_slice());
        let resp_h = resp.map(|r| r.headers.as_slice());
        let mut m = s.serialize_map(None)?;
        if let Some(h) = req.and_then(|r| r.hostname.as_deref()) {
            m.serialize_entry("hostname", &escape_bytes(h))?;
        }
        if let Some(p) = req.and_then(|r| r.port) {
            m.serialize_entry("http_port", &p)?;
        }
        match req {
            None => m.serialize_entry("url", URI_NOT_SEEN)?,
            Some(r) if !r.uri_raw.is_empty() => {
                m.serialize_entry("url", &escape_bytes(&r.uri_raw))?
            }
            Some(_) => {}
        }
        entry(&mut m, "http_user_agent", req_h, "user-agent")?;
        entry(&mut m, "xff", req_h, "x-forwarded-for")?;
        if let Some(ct) = resp_h.and_then(|h| combined_value(h, "content-type")) {
            let end = ct.iter().position(|&b| b == b';').unwrap_or(ct.len());
            m.serialize_entry(
                "http_content_type",
                &escape_bytes(ct.get(..end).unwrap_or_default()),
            )?;
        }
        if let Some(cr) = resp_h.and_then(|h| combined_value(h, "content-range")) {
            m.serialize_entry("content_range", &RangeObject { raw: &cr })?;
        }
        entry(&mut m, "http_refer", req_h, "referer")?;
        if let Some(r) = req.filter(|r| !r.method.is_empty()) {
            m.serialize_entry("http_method", &escape_bytes(&r.method))?;
        }
        if let Some(r) = req.filter(|r| !r.protocol.is_empty()) {
            m.serialize_entry("protocol", &escape_bytes(&r.protocol))?;
        }
        if let Some(r) = resp {
            match r.status {
                Some(code) => m.serialize_entry("status", &code)?,
                None if !r.status_raw.is_empty() => {
                    m.serialize_entry("status_string", &escape_bytes(&r.status_raw))?
                }
                None => {}
            }
        }
        entry(&mut m, "redirect", resp_h, "location")?;
        m.serialize_entry("length", &resp.map_or(0, |r| r.body_len))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_bytes(b"plain"), "plain");
        assert_eq!(escape_bytes("ÃÂ".as_bytes()), "ÃÂ");
        assert_eq!(escape_bytes(b"\xdd\x00\x00\x00"), "\\xdd\u{0}\u{0}\u{0}");
        assert_eq!(escape_bytes(b"a\xff\xfeb"), "a\\xff\\xfeb");
        assert_eq!(
            serde_json::to_string(&escape_bytes(b"\xdd\x00")).unwrap(),
            r#""\\xdd\u0000""#
        );
    }

    #[test]
    fn content_ranges() {
        let p = |s: &str| parse_content_range(s.as_bytes());
        assert_eq!(
            p("bytes 0-898/32468335"),
            Some(ContentRange {
                start: Some(0),
                end: Some(898),
                size: Some(32468335)
            })
        );
        assert_eq!(
            p("bytes */100"),
            Some(ContentRange {
                start: None,
                end: None,
                size: Some(100)
            })
        );
        assert_eq!(
            p("5-9/*"),
            Some(ContentRange {
                start: Some(5),
                end: Some(9),
                size: None
            })
        );
        assert_eq!(p("bytes 1-x/3"), None);
        assert_eq!(p("garbage"), None);
    }
}
