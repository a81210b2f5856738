//! The MQTT parser over a two-way stream split into chunks by length prefixes.

use tapwatch_mqtt::{Body, MqttConfig, MqttEve, MqttEvent, MqttParser};

use super::chunks::{coalesce, split, Piece};
use crate::input::Input;

/// Feeds the chunks the input describes (control byte, length byte, bytes) under the default
/// or small limits; checks that open transactions stay within `max_tx`, that no kept packet
/// is longer than `max_msg_len`, that transaction ids are unique, that every transaction's
/// EVE object is valid JSON, and that the events do not depend on how each direction's
/// bytes were split.
pub fn mqtt(data: &[u8]) {
    let mut input = Input::new(data);
    let c = input.u8();
    let cfg = if c & 1 == 0 {
        MqttConfig::default()
    } else {
        MqttConfig {
            max_msg_len: usize::from(input.u8()),
            max_tx: 1 + usize::from(c >> 4),
        }
    };
    let limit = usize::from(c >> 1 & 7) * 4;
    let pieces = split(&mut input);

    let mut p = MqttParser::new(&cfg);
    let mut events = Vec::new();
    for piece in &pieces {
        match *piece {
            Piece::Data(dir, bytes) => p.on_data(dir, bytes, &mut events),
            Piece::Gap(dir, _) => p.on_gap(dir),
        }
        assert!(p.open_transactions() <= cfg.max_tx, "too many open");
    }
    p.finish(&mut events);
    assert_eq!(p.open_transactions(), 0);
    let mut ids = Vec::new();
    for e in &events {
        let MqttEvent::Transaction(tx) = e else {
            continue;
        };
        ids.push(tx.tx_id);
        assert!(!tx.messages.is_empty());
        for m in &tx.messages {
            if !matches!(m.body, Body::Truncated { .. }) {
                assert!(m.header.remaining_length as usize <= cfg.max_msg_len);
            }
        }
        let json = serde_json::to_vec(&MqttEve { tx, limit });
        assert!(json.is_ok(), "transaction does not serialize");
        if let Ok(json) = json {
            assert!(serde_json::from_slice::<serde_json::Value>(&json).is_ok());
        }
    }
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(n, ids.len(), "a transaction handed out twice");

    let mut q = MqttParser::new(&cfg);
    let mut joined = Vec::new();
    for (dir, bytes, _) in coalesce(&pieces) {
        match bytes {
            Some(b) => q.on_data(dir, &b, &mut joined),
            None => q.on_gap(dir),
        }
    }
    q.finish(&mut joined);
    assert_eq!(events, joined, "events depend on how the stream was split");
}
