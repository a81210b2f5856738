//! The `alert` object of `event_type: alert` records, as Suricata 8 writes it.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

/// `alert`: which rule matched. Field order and names follow Suricata 8
/// (`action`, `gid`, `signature_id`, `rev`, `signature`, `category`, `severity`,
/// `metadata`).
#[derive(Debug, Clone, Copy)]
pub struct AlertBody<'a> {
    /// `allowed` for a passive sensor (Suricata logs `blocked` only when it dropped the
    /// packet inline).
    pub action: &'a str,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub signature_id: u32,
    /// Revision.
    pub rev: u32,
    /// The rule's `msg`.
    pub signature: &'a str,
    /// The classtype's description; omitted when the rule has no classtype.
    pub category: Option<&'a str>,
    /// The rule's priority.
    pub severity: u8,
    /// `metadata` grouped by key, values in rule order; omitted when `None` or empty.
    pub metadata: Option<&'a [(String, Vec<String>)]>,
}

struct Metadata<'a>(&'a [(String, Vec<String>)]);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Serialize for AlertBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let metadata = self.metadata.filter(|m| !m.is_empty());
        let len = 6 + usize::from(self.category.is_some()) + usize::from(metadata.is_some());
        let mut s = serializer.serialize_struct("alert", len)?;
        s.serialize_field("action", self.action)?;
        s.serialize_field("gid", &self.gid)?;
        s.serialize_field("signature_id", &self.signature_id)?;
        s.serialize_field("rev", &self.rev)?;
        s.serialize_field("signature", self.signature)?;
        if let Some(c) = self.category {
            s.serialize_field("category", c)?;
        }
        s.serialize_field("severity", &self.severity)?;
        if let Some(m) = metadata {
            s.serialize_field("metadata", &Metadata(m))?;
        }
        s.end()
    }
}

/// The `flow` object of an alert record: counters so far and the flow's endpoints as the
/// flow sees them (client first).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AlertFlow {
    /// Packets from the client so far.
    pub pkts_toserver: u64,
    /// Packets from the server so far.
    pub pkts_toclient: u64,
    /// Bytes from the client so far.
    pub bytes_toserver: u64,
    /// Bytes from the server so far.
    pub bytes_toclient: u64,
    /// Flow start, in EVE's timestamp format.
    #[serde(serialize_with = "serialize_timestamp")]
    pub start: tapwatch_common::Timestamp,
    /// The client's address.
    #[serde(serialize_with = "serialize_ip")]
    pub src_ip: std::net::IpAddr,
    /// The server's address.
    #[serde(serialize_with = "serialize_ip")]
    pub dest_ip: std::net::IpAddr,
    /// The client's port (protocols with ports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// The server's port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
}

fn serialize_timestamp<S: Serializer>(
    ts: &tapwatch_common::Timestamp,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut out = String::new();
    crate::format::format_timestamp(*ts, &mut out);
    s.serialize_str(&out)
}

fn serialize_ip<S: Serializer>(ip: &std::net::IpAddr, s: S) -> Result<S::Ok, S::Error> {
    let mut out = String::new();
    crate::format::format_ip(*ip, &mut out);
    s.serialize_str(&out)
}

/// The base64 text of `data` (standard alphabet, padded), as EVE `payload` and `packet`.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 0x3f) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `payload_printable`: printable ASCII kept, every other byte written as `.`, as Suricata
/// does.
pub fn printable(data: &[u8]) -> String {
    data.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' || b == b'\n' || b == b'\r' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn alert_body_omits_missing_category_and_groups_metadata() {
        let meta = vec![("created_at".to_owned(), vec!["2024_01_01".to_owned()])];
        let body = AlertBody {
            action: "allowed",
            gid: 1,
            signature_id: 7,
            rev: 2,
            signature: "x",
            category: None,
            severity: 3,
            metadata: Some(&meta),
        };
        let json = serde_json::to_string(&body).unwrap();
        assert_eq!(
            json,
            r#"{"action":"allowed","gid":1,"signature_id":7,"rev":2,"signature":"x","severity":3,"metadata":{"created_at":["2024_01_01"]}}"#
        );
        assert_eq!(printable(b"a\x00b"), "a.b");
    }
}
