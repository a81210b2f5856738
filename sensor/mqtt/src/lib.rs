//! MQTT 3.1, 3.1.1 and 5.0 over TCP, both directions: every control packet type with MQTT 5
//! properties ([`message`]), Suricata's transactions and app-layer events ([`parser`]) and
//! its EVE `mqtt` object ([`eve`]).
//!
//! Memory is bounded by [`MqttConfig`]: a packet is held only up to
//! [`MqttConfig::max_msg_len`] bytes (a longer one is logged with its header and skipped, as
//! Suricata's `app-layer.protocols.mqtt.max-msg-length`), and at most
//! [`MqttConfig::max_tx`] exchanges are left open waiting for their answer.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod eve;
pub mod message;
pub mod parser;

pub use eve::{MqttEve, DEFAULT_STRING_LOG_LIMIT};
pub use message::{Body, FixedHeader, MqttMessage, MsgType};
pub use parser::{MqttAnomaly, MqttEvent, MqttParser, MqttTransaction};

use message::{read_fixed_header, HeaderRead};
use tapwatch_common::{Direction, Probe};

/// Suricata's default detection port (`app-layer.protocols.mqtt.detection-ports: dp: 1883`).
pub const DEFAULT_PORT: u16 = 1883;

/// Limits of the MQTT parser (one per worker, shared by its flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttConfig {
    /// The longest packet body (remaining length) parsed, in bytes; a longer packet is logged
    /// as truncated and skipped (Suricata's `max-msg-length`, 1 MiB by default).
    pub max_msg_len: usize,
    /// The most exchanges left open per flow (Suricata's `max-tx`, 4096 by default); past it
    /// the open ones are closed and `too_many_transactions` is raised.
    pub max_tx: usize,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            max_msg_len: 1 << 20,
            max_tx: 4096,
        }
    }
}

/// Whether the first bytes of a stream are an MQTT CONNECT: type 1 with no flags, then the
/// protocol name `MQTT` (3.1.1, 5.0) or `MQIsdp` (3.1) and a protocol level of 3 to 5. A
/// client's CONNECT is what identifies MQTT anywhere; see [`probe_on_port`] for the port.
pub fn probe(dir: Direction, data: &[u8]) -> Probe {
    if dir == Direction::ToClient {
        return Probe::NoMatch;
    }
    let h = match read_fixed_header(data) {
        HeaderRead::Header(h) => h,
        HeaderRead::Incomplete if data.first().is_none_or(|&b| b == 0x10) => {
            return Probe::NeedMore
        }
        _ => return Probe::NoMatch,
    };
    if data.first() != Some(&0x10) {
        return Probe::NoMatch;
    }
    let rest = data.get(usize::from(h.header_length)..).unwrap_or_default();
    let mut need_more = false;
    for name in [&b"\x00\x04MQTT"[..], b"\x00\x06MQIsdp"] {
        let n = rest.len().min(name.len());
        if rest.get(..n) != name.get(..n) {
            continue;
        }
        match rest.get(name.len()) {
            None => need_more = true,
            Some(3..=5) if h.remaining_length as usize > name.len() => return Probe::Match,
            Some(_) => {}
        }
    }
    if need_more {
        Probe::NeedMore
    } else {
        Probe::NoMatch
    }
}

/// The probe on MQTT's detection ports, where Suricata takes any well-formed packet (a
/// session seen from its middle): a fixed header of a known type with the flags that type
/// requires (PUBLISH with a QoS below 3), and a remaining length that type can have.
pub fn probe_on_port(dir: Direction, data: &[u8]) -> Probe {
    match probe(dir, data) {
        Probe::NoMatch => {}
        other => return other,
    }
    let h = match read_fixed_header(data) {
        HeaderRead::Header(h) => h,
        HeaderRead::Incomplete => return Probe::NeedMore,
        HeaderRead::Invalid => return Probe::NoMatch,
    };
    let flags = data.first().map_or(0, |b| b & 0x0f);
    let len = h.remaining_length;
    let ok = match h.kind {
        MsgType::Unassigned => false,
        MsgType::Connect => len >= 10,
        MsgType::Publish => h.qos < 3 && len >= 2,
        MsgType::Pubrel | MsgType::Subscribe | MsgType::Unsubscribe => flags == 0x02 && len >= 2,
        MsgType::Pingreq | MsgType::Pingresp => flags == 0 && len == 0,
        MsgType::Disconnect | MsgType::Auth => flags == 0,
        _ => flags == 0 && len >= 2,
    };
    if ok {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Direction = Direction::ToServer;

    #[test]
    fn connect_is_mqtt_anywhere() {
        let c = parser::tests::connect(4);
        assert_eq!(probe(S, &c), Probe::Match);
        for n in 0..9 {
            assert_eq!(probe(S, &c[..n]), Probe::NeedMore, "{n}");
        }
        let mut old = b"\x10\x16\x00\x06MQIsdp\x03\x02\x00\x3c".to_vec();
        old.extend(b"\x00\x02id");
        assert_eq!(probe(S, &old), Probe::Match);
        assert_eq!(probe(S, b"\x10\x10\x00\x04MQTX\x04"), Probe::NoMatch);
        assert_eq!(probe(S, b"\x10\x10\x00\x04MQTT\x09"), Probe::NoMatch);
        assert_eq!(probe(S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(Direction::ToClient, &c), Probe::NoMatch);
    }

    #[test]
    fn on_its_port_any_packet() {
        assert_eq!(probe_on_port(S, b"\xc0\x00"), Probe::Match);
        assert_eq!(
            probe_on_port(Direction::ToClient, b"\x20\x02\x00\x00"),
            Probe::Match
        );
        assert_eq!(probe_on_port(S, b"\x82\x06\x00\x01"), Probe::Match);
        assert_eq!(probe_on_port(S, b"\x80\x06\x00\x01"), Probe::NoMatch);
        assert_eq!(probe_on_port(S, b"\xc0\x01"), Probe::NoMatch);
        assert_eq!(probe_on_port(S, b"\x36\x05"), Probe::NoMatch);
        assert_eq!(probe_on_port(S, b"\x30"), Probe::NeedMore);
        assert_eq!(probe_on_port(S, b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe_on_port(S, b"\x16\x03\x01\x00"), Probe::NoMatch);
    }
}
