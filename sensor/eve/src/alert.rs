//! The `alert` object of `event_type: alert` records, as Suricata 8 writes it.

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::format::{push_ip, push_json_str, push_timestamp, push_u64};

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
    /// The classtype's description; written empty when the rule has no classtype (as
    /// Suricata 8 does).
    pub category: Option<&'a str>,
    /// The rule's priority.
    pub severity: u8,
    /// `metadata` grouped by key, values in rule order; omitted when `None` or empty.
    pub metadata: Option<&'a [(String, Vec<String>)]>,
}

impl AlertBody<'_> {
    /// Appends the `alert` object as JSON: the same text as its `Serialize` form, written
    /// without serde (one is written per alert).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"action\":");
        push_json_str(out, self.action);
        out.extend_from_slice(b",\"gid\":");
        push_u64(out, u64::from(self.gid));
        out.extend_from_slice(b",\"signature_id\":");
        push_u64(out, u64::from(self.signature_id));
        out.extend_from_slice(b",\"rev\":");
        push_u64(out, u64::from(self.rev));
        out.extend_from_slice(b",\"signature\":");
        push_json_str(out, self.signature);
        // Suricata writes the category always, empty for a rule without a classtype.
        out.extend_from_slice(b",\"category\":");
        push_json_str(out, self.category.unwrap_or(""));
        out.extend_from_slice(b",\"severity\":");
        push_u64(out, u64::from(self.severity));
        if let Some(m) = self.metadata.filter(|m| !m.is_empty()) {
            out.extend_from_slice(b",\"metadata\":{");
            for (i, (k, values)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, k);
                out.extend_from_slice(b":[");
                for (j, v) in values.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    push_json_str(out, v);
                }
                out.push(b']');
            }
            out.push(b'}');
        }
        out.push(b'}');
    }
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
        let len = 7 + usize::from(metadata.is_some());
        let mut s = serializer.serialize_struct("alert", len)?;
        s.serialize_field("action", self.action)?;
        s.serialize_field("gid", &self.gid)?;
        s.serialize_field("signature_id", &self.signature_id)?;
        s.serialize_field("rev", &self.rev)?;
        s.serialize_field("signature", self.signature)?;
        s.serialize_field("category", self.category.unwrap_or(""))?;
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

impl AlertFlow {
    /// Appends the `flow` object as JSON: the same text as its `Serialize` form, written
    /// without serde (one is written per alert).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        crate::records::push_flow_counters(
            out,
            [
                self.pkts_toserver,
                self.pkts_toclient,
                self.bytes_toserver,
                self.bytes_toclient,
            ],
        );
        out.extend_from_slice(b",\"start\":\"");
        push_timestamp(out, self.start);
        out.extend_from_slice(b"\",\"src_ip\":\"");
        push_ip(out, self.src_ip);
        out.extend_from_slice(b"\",\"dest_ip\":\"");
        push_ip(out, self.dest_ip);
        out.push(b'"');
        if let Some(p) = self.src_port {
            out.extend_from_slice(b",\"src_port\":");
            push_u64(out, u64::from(p));
        }
        if let Some(p) = self.dest_port {
            out.extend_from_slice(b",\"dest_port\":");
            push_u64(out, u64::from(p));
        }
        out.push(b'}');
    }
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
    fn hand_written_json_equals_serde() {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
        let meta = [
            ("created_at".to_owned(), vec!["2024_01_01".to_owned()]),
            (
                "tag".to_owned(),
                vec!["a \"q\"".to_owned(), "b\\\n".to_owned()],
            ),
        ];
        for (category, metadata, signature) in [
            (None, None, "plain"),
            (
                Some("Misc \"activity\""),
                Some(&meta[..]),
                "ET \u{1} ctl \u{e9}",
            ),
            (Some("c"), Some(&[][..]), ""),
        ] {
            let body = AlertBody {
                action: "allowed",
                gid: 1,
                signature_id: u32::MAX,
                rev: 0,
                signature,
                category,
                severity: 255,
                metadata,
            };
            let mut fast = Vec::new();
            body.write_json(&mut fast);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                serde_json::to_string(&body).unwrap()
            );
        }
        for (src, dst, ports, start) in [
            (
                IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                IpAddr::V4(Ipv4Addr::BROADCAST),
                (Some(0), Some(65535)),
                tapwatch_common::Timestamp::new(1_700_000_000, 999_999_999),
            ),
            (
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x1)),
                (None, None),
                tapwatch_common::Timestamp::new(-1, 0),
            ),
        ] {
            let flow = AlertFlow {
                pkts_toserver: 1,
                pkts_toclient: 0,
                bytes_toserver: u64::MAX,
                bytes_toclient: 7,
                start,
                src_ip: src,
                dest_ip: dst,
                src_port: ports.0,
                dest_port: ports.1,
            };
            let mut fast = Vec::new();
            flow.write_json(&mut fast);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                serde_json::to_string(&flow).unwrap()
            );
        }
    }

    #[test]
    fn alert_body_writes_an_empty_category_without_classtype_and_groups_metadata() {
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
            r#"{"action":"allowed","gid":1,"signature_id":7,"rev":2,"signature":"x","category":"","severity":3,"metadata":{"created_at":["2024_01_01"]}}"#
        );
        let mut written = Vec::new();
        body.write_json(&mut written);
        assert_eq!(String::from_utf8(written).unwrap(), json);
        assert_eq!(printable(b"a\x00b"), "a.b");
    }
}
