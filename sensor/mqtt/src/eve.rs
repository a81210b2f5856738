//! The EVE `mqtt` object of a transaction, in Suricata 8's layout: one object per packet,
//! keyed by its type (`connect`, `connack`, `publish`, `puback`, ...), each starting with the
//! fixed header's `qos`, `retain` and `dup`.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::message::{connect_flags, Body, MqttMessage, MsgType, Property};
use crate::parser::MqttTransaction;

/// Suricata's default `string-log-limit` of its `mqtt` EVE output.
pub const DEFAULT_STRING_LOG_LIMIT: usize = 1024;

/// A transaction as EVE writes it, with strings longer than `limit` bytes cut there and
/// marked `[truncated N additional bytes]` (Suricata's `string-log-limit`).
#[derive(Debug, Clone, Copy)]
pub struct MqttEve<'a> {
    /// The transaction.
    pub tx: &'a MqttTransaction,
    /// The longest string written whole, in bytes.
    pub limit: usize,
}

/// Bytes as EVE text: valid UTF-8 as it is, otherwise printable ASCII as it is and every
/// other byte as `\xNN`.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    Cow::Owned(s)
}

/// A wire string cut at `limit` bytes.
struct Limited<'a>(&'a [u8], usize);

impl Serialize for Limited<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Limited(bytes, limit) = *self;
        match bytes.get(..limit) {
            Some(head) if bytes.len() > limit => {
                let mut t = text(head).into_owned();
                let _ = write!(t, "[truncated {} additional bytes]", bytes.len() - limit);
                s.serialize_str(&t)
            }
            _ => s.serialize_str(&text(bytes)),
        }
    }
}

/// MQTT 5 properties as an object (`name: value`; user properties as their own names).
struct Props<'a>(&'a [Property], usize);

impl Serialize for Props<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for p in self.0 {
            match p {
                Property::Int(name, v) => m.serialize_entry(name, v)?,
                Property::Bytes(name, v) => m.serialize_entry(name, &Limited(v, self.1))?,
                Property::User(k, v) => m.serialize_entry(&text(k), &Limited(v, self.1))?,
            }
        }
        m.end()
    }
}

struct Flags(u8);

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("username", &(f & connect_flags::USERNAME != 0))?;
        m.serialize_entry("password", &(f & connect_flags::PASSWORD != 0))?;
        m.serialize_entry("will_retain", &(f & connect_flags::WILL_RETAIN != 0))?;
        m.serialize_entry("will", &(f & connect_flags::WILL != 0))?;
        m.serialize_entry("clean_session", &(f & connect_flags::CLEAN_SESSION != 0))?;
        m.end()
    }
}

struct Will<'a>(&'a crate::message::Connect, usize);

impl Serialize for Will<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Will(c, limit) = *self;
        let mut m = s.serialize_map(None)?;
        if let Some(t) = &c.will_topic {
            m.serialize_entry("topic", &Limited(t, limit))?;
        }
        if let Some(t) = &c.will_message {
            m.serialize_entry("message", &Limited(t, limit))?;
        }
        if !c.will_properties.is_empty() {
            m.serialize_entry("properties", &Props(&c.will_properties, limit))?;
        }
        m.end()
    }
}

struct Topics<'a>(&'a [(Vec<u8>, u8)], usize);

impl Serialize for Topics<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (topic, qos) in self.0 {
            seq.serialize_element(&Topic(topic, *qos, self.1))?;
        }
        seq.end()
    }
}

struct Topic<'a>(&'a [u8], u8, usize);

impl Serialize for Topic<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("topic", &Limited(self.0, self.2))?;
        m.serialize_entry("qos", &self.1)?;
        m.end()
    }
}

struct Strings<'a>(&'a [Vec<u8>], usize);

impl Serialize for Strings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for t in self.0 {
            seq.serialize_element(&Limited(t, self.1))?;
        }
        seq.end()
    }
}

/// One packet's object.
struct Message<'a>(&'a MqttMessage, usize);

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Message(msg, limit) = *self;
        let h = &msg.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("qos", &h.qos)?;
        m.serialize_entry("retain", &h.retain)?;
        m.serialize_entry("dup", &h.dup)?;
        match &msg.body {
            Body::Truncated { skipped_length } => {
                m.serialize_entry("truncated", &true)?;
                m.serialize_entry("skipped_length", skipped_length)?;
            }
            Body::Connect(c) => {
                m.serialize_entry("protocol_string", &Limited(&c.protocol_string, limit))?;
                m.serialize_entry("protocol_version", &c.protocol_version)?;
                m.serialize_entry("client_id", &Limited(&c.client_id, limit))?;
                m.serialize_entry("flags", &Flags(c.flags))?;
                if let Some(u) = &c.username {
                    m.serialize_entry("username", &Limited(u, limit))?;
                }
                if let Some(p) = &c.password {
                    m.serialize_entry("password", &Limited(p, limit))?;
                }
                if c.will_topic.is_some() || c.will_message.is_some() {
                    m.serialize_entry("will", &Will(c, limit))?;
                }
                if !c.properties.is_empty() {
                    m.serialize_entry("properties", &Props(&c.properties, limit))?;
                }
            }
            Body::Connack(c) => {
                m.serialize_entry("session_present", &c.session_present)?;
                m.serialize_entry("return_code", &c.return_code)?;
                if !c.properties.is_empty() {
                    m.serialize_entry("properties", &Props(&c.properties, limit))?;
                }
            }
            Body::Publish(p) => {
                m.serialize_entry("topic", &Limited(&p.topic, limit))?;
                if let Some(id) = p.message_id {
                    m.serialize_entry("message_id", &id)?;
                }
                m.serialize_entry("message", &Limited(&p.message, limit))?;
                if !p.properties.is_empty() {
                    m.serialize_entry("properties", &Props(&p.properties, limit))?;
                }
            }
            Body::Ack(a) => {
                m.serialize_entry("message_id", &a.message_id)?;
                if let Some(r) = a.reason_code {
                    m.serialize_entry("reason_code", &r)?;
                }
            }
            Body::Subscribe(sub) => {
                m.serialize_entry("message_id", &sub.message_id)?;
                if !sub.topics.is_empty() {
                    m.serialize_entry("topics", &Topics(&sub.topics, limit))?;
                }
            }
            Body::Suback(sub) => {
                m.serialize_entry("message_id", &sub.message_id)?;
                if !sub.qos_granted.is_empty() {
                    m.serialize_entry("qos_granted", &sub.qos_granted)?;
                }
            }
            Body::Unsubscribe(u) => {
                m.serialize_entry("message_id", &u.message_id)?;
                if !u.topics.is_empty() {
                    m.serialize_entry("topics", &Strings(&u.topics, limit))?;
                }
            }
            Body::Unsuback(u) => {
                m.serialize_entry("message_id", &u.message_id)?;
                if let Some(codes) = u.reason_codes.as_ref().filter(|c| !c.is_empty()) {
                    m.serialize_entry("reason_codes", codes)?;
                }
            }
            Body::Reason(r) => {
                if let Some(code) = r.reason_code {
                    m.serialize_entry("reason_code", &code)?;
                }
                if !r.properties.is_empty() {
                    m.serialize_entry("properties", &Props(&r.properties, limit))?;
                }
            }
            Body::Empty | Body::Unassigned => {}
        }
        m.end()
    }
}

/// Whether Suricata logs a packet of this type (it has no EVE object for AUTH or type 0).
fn logged(msg: &MqttMessage) -> bool {
    !matches!(msg.header.kind, MsgType::Auth | MsgType::Unassigned)
}

impl Serialize for MqttEve<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for msg in self.tx.messages.iter().filter(|m| logged(m)) {
            m.serialize_entry(msg.header.kind.name(), &Message(msg, self.limit))?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::tests::{connect, packet};
    use crate::{MqttConfig, MqttEvent, MqttParser};
    use tapwatch_common::Direction;

    fn records(chunks: &[(Direction, Vec<u8>)], limit: usize) -> Vec<String> {
        let mut p = MqttParser::new(&MqttConfig::default());
        let mut out = Vec::new();
        for (d, c) in chunks {
            p.on_data(*d, c, &mut out);
        }
        p.finish(&mut out);
        out.iter()
            .filter_map(|e| match e {
                MqttEvent::Transaction(tx) => {
                    Some(serde_json::to_string(&MqttEve { tx, limit }).unwrap())
                }
                MqttEvent::Anomaly { .. } => None,
            })
            .collect()
    }

    #[test]
    fn suricatas_layout() {
        let s = Direction::ToServer;
        let c = Direction::ToClient;
        let r = records(
            &[
                (s, connect(4)),
                (c, packet(0x20, b"\x00\x00")),
                (s, packet(0x32, b"\x00\x03a/b\x00\x01hello")),
                (c, packet(0x40, b"\x00\x01")),
                (s, packet(0x82, b"\x00\x02\x00\x01x\x01")),
                (c, packet(0x90, b"\x00\x02\x01")),
                (s, packet(0xa2, b"\x00\x03\x00\x01x")),
                (c, packet(0xb0, b"\x00\x03")),
            ],
            DEFAULT_STRING_LOG_LIMIT,
        );
        let q0 = r#""qos":0,"retain":false,"dup":false"#;
        let q1 = r#""qos":1,"retain":false,"dup":false"#;
        let want = [
            format!(
                r#"{{"connect":{{{q0},"protocol_string":"MQTT","protocol_version":4,"client_id":"id","flags":{{"username":false,"password":false,"will_retain":false,"will":false,"clean_session":true}}}},"connack":{{{q0},"session_present":false,"return_code":0}}}}"#
            ),
            format!(
                r#"{{"publish":{{{q1},"topic":"a/b","message_id":1,"message":"hello"}},"puback":{{{q0},"message_id":1}}}}"#
            ),
            format!(
                r#"{{"subscribe":{{{q1},"message_id":2,"topics":[{{"topic":"x","qos":1}}]}},"suback":{{{q0},"message_id":2,"qos_granted":[1]}}}}"#
            ),
            format!(
                r#"{{"unsubscribe":{{{q1},"message_id":3,"topics":["x"]}},"unsuback":{{{q0},"message_id":3}}}}"#
            ),
        ];
        assert_eq!(r, want);
    }

    #[test]
    fn strings_are_cut_at_the_limit() {
        let s = Direction::ToServer;
        let mut body = b"\x00\x01t".to_vec();
        body.extend(std::iter::repeat_n(b'Z', 100));
        let r = records(
            &[
                (s, connect(4)),
                (Direction::ToClient, packet(0x20, b"\x00\x00")),
                (s, packet(0x30, &body)),
            ],
            10,
        );
        let v: serde_json::Value = serde_json::from_str(&r[1]).unwrap();
        assert_eq!(
            v["publish"]["message"],
            "ZZZZZZZZZZ[truncated 90 additional bytes]"
        );
        assert_eq!(text(b"a\xff\x00b"), "a\\xff\\x00b");
    }
}
