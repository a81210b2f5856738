//! Bodies of the records this crate knows: `flow`, the `tcp` part of flow records, `anomaly`.
//! Application-layer bodies (`http`, `dns`, `tls`) are serialised by their parser crates.

use serde::ser::{Serialize, SerializeMap, Serializer};
use tapwatch_common::Timestamp;

use crate::format::{hex_byte, push_json_str, push_u64, TimestampText};

/// The `flow` object of a `flow` record.
#[derive(Debug, Clone)]
pub struct FlowBody {
    /// Packets from client to server.
    pub pkts_toserver: u64,
    /// Packets from server to client.
    pub pkts_toclient: u64,
    /// Bytes (whole frames) from client to server.
    pub bytes_toserver: u64,
    /// Bytes from server to client.
    pub bytes_toclient: u64,
    /// First packet time.
    pub start: Timestamp,
    /// Last packet time.
    pub end: Timestamp,
    /// `new`, `established` or `closed`.
    pub state: &'static str,
    /// Why the flow ended: `timeout`, `forced` or `shutdown`.
    pub reason: &'static str,
    /// Whether an alert fired on the flow.
    pub alerted: bool,
}

impl Serialize for FlowBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry("pkts_toserver", &self.pkts_toserver)?;
        m.serialize_entry("pkts_toclient", &self.pkts_toclient)?;
        m.serialize_entry("bytes_toserver", &self.bytes_toserver)?;
        m.serialize_entry("bytes_toclient", &self.bytes_toclient)?;
        m.serialize_entry("start", TimestampText::of(self.start).as_str())?;
        m.serialize_entry("end", TimestampText::of(self.end).as_str())?;
        // Age in whole seconds, as Suricata computes it: end seconds minus start seconds.
        m.serialize_entry("age", &(self.end.secs - self.start.secs).max(0))?;
        m.serialize_entry("state", self.state)?;
        m.serialize_entry("reason", self.reason)?;
        m.serialize_entry("alerted", &self.alerted)?;
        m.end()
    }
}

/// Opens a flow object with its counters: `{"pkts_toserver":N,"pkts_toclient":N,
/// "bytes_toserver":N,"bytes_toclient":N` (`counters` in that order; the caller closes it).
pub(crate) fn push_flow_counters(out: &mut Vec<u8>, counters: [u64; 4]) {
    const KEYS: [&[u8]; 4] = [
        b"{\"pkts_toserver\":",
        b",\"pkts_toclient\":",
        b",\"bytes_toserver\":",
        b",\"bytes_toclient\":",
    ];
    for (key, n) in KEYS.iter().zip(counters) {
        out.extend_from_slice(key);
        push_u64(out, n);
    }
}

impl FlowBody {
    /// Appends the object as JSON, the same text its `Serialize` form gives through
    /// `serde_json` (the values are numbers, timestamps and names that need no escaping).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        push_flow_counters(
            out,
            [
                self.pkts_toserver,
                self.pkts_toclient,
                self.bytes_toserver,
                self.bytes_toclient,
            ],
        );
        out.extend_from_slice(b",\"start\":");
        push_json_str(out, TimestampText::of(self.start).as_str());
        out.extend_from_slice(b",\"end\":");
        push_json_str(out, TimestampText::of(self.end).as_str());
        out.extend_from_slice(b",\"age\":");
        // Whole seconds, end minus start, never negative (as the Serialize form).
        push_u64(
            out,
            self.end.secs.saturating_sub(self.start.secs).max(0) as u64,
        );
        out.extend_from_slice(b",\"state\":");
        push_json_str(out, self.state);
        out.extend_from_slice(b",\"reason\":");
        push_json_str(out, self.reason);
        out.extend_from_slice(if self.alerted {
            b",\"alerted\":true}"
        } else {
            b",\"alerted\":false}"
        });
    }
}

/// The `tcp` object of a TCP `flow` record.
#[derive(Debug, Clone, Copy)]
pub struct TcpFlagsBody {
    /// Flags seen from client to server, OR-ed (FIN=0x01 ... CWR=0x80).
    pub flags_ts: u8,
    /// Flags seen from server to client.
    pub flags_tc: u8,
    /// The TCP state name when the flow ended (`established`, `closed`, ...).
    pub state: Option<&'static str>,
}

impl Serialize for TcpFlagsBody {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let all = self.flags_ts | self.flags_tc;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("tcp_flags", &Hex(all))?;
        m.serialize_entry("tcp_flags_ts", &Hex(self.flags_ts))?;
        m.serialize_entry("tcp_flags_tc", &Hex(self.flags_tc))?;
        for (bit, name) in FLAG_NAMES {
            if all & bit != 0 {
                m.serialize_entry(name, &true)?;
            }
        }
        if let Some(state) = self.state {
            m.serialize_entry("state", state)?;
        }
        m.end()
    }
}

/// A byte as two lower-case hex digits, serialised as a string without allocating.
struct Hex(u8);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let digits = hex_byte(self.0);
        // Hex digits are ASCII.
        s.serialize_str(std::str::from_utf8(&digits).unwrap_or("00"))
    }
}

/// A string made of a prefix and a name, serialised without building it first.
struct Prefixed<'a>(&'static str, &'a str);

impl Serialize for Prefixed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}{}", self.0, self.1))
    }
}

impl TcpFlagsBody {
    /// Appends the object as JSON, the same text its `Serialize` form gives.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        let all = self.flags_ts | self.flags_tc;
        for (key, value) in [
            (&b"{\"tcp_flags\":\""[..], all),
            (b"\",\"tcp_flags_ts\":\"", self.flags_ts),
            (b"\",\"tcp_flags_tc\":\"", self.flags_tc),
        ] {
            out.extend_from_slice(key);
            out.extend_from_slice(&hex_byte(value));
        }
        out.push(b'"');
        for (bit, name) in FLAG_NAMES {
            if all & bit != 0 {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b"\":true");
            }
        }
        if let Some(state) = self.state {
            out.extend_from_slice(b",\"state\":");
            push_json_str(out, state);
        }
        out.push(b'}');
    }
}

/// TCP flag bits and their names in a flow record's `tcp` object, in Suricata's order.
const FLAG_NAMES: [(u8, &str); 8] = [
    (0x01, "fin"),
    (0x02, "syn"),
    (0x04, "rst"),
    (0x08, "psh"),
    (0x10, "ack"),
    (0x20, "urg"),
    (0x40, "ecn"),
    (0x80, "cwr"),
];

/// The layer an anomaly was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnomalyType {
    /// Packet decoding (`decode`); the event is logged as `decoder.<name>`.
    Decode,
    /// TCP session tracking and reassembly (`stream`); logged as `stream.<name>`.
    Stream,
    /// An application-layer parser (`applayer`, layer `proto_parser`).
    AppLayerParser,
    /// Application-layer protocol detection (`applayer`, layer `proto_detect`).
    AppLayerDetect,
}

/// The `anomaly` object.
#[derive(Debug, Clone, Copy)]
pub struct AnomalyBody<'a> {
    /// Where the anomaly was found.
    pub kind: AnomalyType,
    /// The event's name without its layer prefix (`ipv4.trunc_pkt`, `RESPONSE_HEADER_REPETITION`).
    pub event: &'a str,
    /// The flow's application protocol, for application-layer anomalies.
    pub app_proto: Option<&'a str>,
}

impl Serialize for AnomalyBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(app) = self.app_proto {
            m.serialize_entry("app_proto", app)?;
        }
        match self.kind {
            AnomalyType::Decode => {
                m.serialize_entry("type", "decode")?;
                m.serialize_entry("event", &Prefixed("decoder.", self.event))?;
            }
            AnomalyType::Stream => {
                m.serialize_entry("type", "stream")?;
                m.serialize_entry("event", &Prefixed("stream.", self.event))?;
            }
            AnomalyType::AppLayerParser | AnomalyType::AppLayerDetect => {
                m.serialize_entry("type", "applayer")?;
                m.serialize_entry("event", self.event)?;
                let layer = if self.kind == AnomalyType::AppLayerParser {
                    "proto_parser"
                } else {
                    "proto_detect"
                };
                m.serialize_entry("layer", layer)?;
            }
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_body_fields() {
        let body = FlowBody {
            pkts_toserver: 3,
            pkts_toclient: 2,
            bytes_toserver: 300,
            bytes_toclient: 200,
            start: Timestamp::new(100, 500_000_000),
            end: Timestamp::new(102, 100_000_000),
            state: "closed",
            reason: "timeout",
            alerted: false,
        };
        let v = serde_json::to_value(&body).unwrap();
        assert_eq!(v["age"], 2);
        assert_eq!(v["start"], "1970-01-01T00:01:40.500000+0000");
        assert_eq!(v["state"], "closed");
    }

    #[test]
    fn tcp_flags_lists_only_seen_flags() {
        let v = serde_json::to_value(TcpFlagsBody {
            flags_ts: 0x1b,
            flags_tc: 0x12,
            state: Some("closed"),
        })
        .unwrap();
        assert_eq!(v["tcp_flags"], "1b");
        assert_eq!(v["tcp_flags_tc"], "12");
        assert_eq!(v["syn"], true);
        assert!(v.get("rst").is_none());
    }

    #[test]
    fn direct_json_matches_serde() {
        let bodies = [
            FlowBody {
                pkts_toserver: 3,
                pkts_toclient: 0,
                bytes_toserver: u64::MAX,
                bytes_toclient: 200,
                start: Timestamp::new(1_668_775_143, 298_992_000),
                end: Timestamp::new(1_668_775_200, 999_999_999),
                state: "established",
                reason: "timeout",
                alerted: false,
            },
            FlowBody {
                pkts_toserver: 0,
                pkts_toclient: 0,
                bytes_toserver: 0,
                bytes_toclient: 0,
                // End before start: age stays 0.
                start: Timestamp::new(100, 0),
                end: Timestamp::new(-5, 0),
                state: "new",
                reason: "odd\"name",
                alerted: true,
            },
        ];
        for body in &bodies {
            let mut direct = Vec::new();
            body.write_json(&mut direct);
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                serde_json::to_string(body).unwrap()
            );
        }
        for (ts, tc, state) in [
            (0x1b, 0x12, Some("closed")),
            (0, 0, None),
            (0xff, 0x80, Some("x")),
        ] {
            let body = TcpFlagsBody {
                flags_ts: ts,
                flags_tc: tc,
                state,
            };
            let mut direct = Vec::new();
            body.write_json(&mut direct);
            assert_eq!(
                String::from_utf8(direct).unwrap(),
                serde_json::to_string(&body).unwrap()
            );
        }
    }

    #[test]
    fn anomaly_shapes() {
        let v = serde_json::to_value(AnomalyBody {
            kind: AnomalyType::AppLayerParser,
            event: "RESPONSE_HEADER_REPETITION",
            app_proto: Some("http"),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"app_proto":"http","type":"applayer","event":"RESPONSE_HEADER_REPETITION","layer":"proto_parser"})
        );
        let v = serde_json::to_value(AnomalyBody {
            kind: AnomalyType::Decode,
            event: "ipv4.trunc_pkt",
            app_proto: None,
        })
        .unwrap();
        assert_eq!(v["event"], "decoder.ipv4.trunc_pkt");
    }
}
