//! The TLS parser over a two-way stream split into chunks by length prefixes.

use tapwatch_common::Timestamp;
use tapwatch_tls::{TlsConfig, TlsEvent, TlsParser};

use super::chunks::{coalesce, split, Piece};
use crate::input::Input;

/// Feeds the chunks the input describes (control byte, length byte, bytes); checks that
/// `HandshakeDone` and each anomaly come at most once, that certificate chains respect the
/// limit, that the session info serializes to JSON, and that what was learned does not
/// depend on how each direction's bytes were split.
pub fn tls(data: &[u8]) {
    let mut input = Input::new(data);
    let c = input.u8();
    let cfg = if c & 1 == 0 {
        TlsConfig::default()
    } else {
        TlsConfig {
            max_record_buffer: 16 + usize::from(input.u16()) % 4096,
            max_certificates: usize::from(input.u8() % 4),
            max_handshake_bytes: 16 + usize::from(input.u16()),
        }
    };
    let ts = Timestamp::new(1_700_000_000, 0);
    let pieces = split(&mut input);

    let mut p = TlsParser::new(&cfg);
    let mut events = Vec::new();
    for piece in &pieces {
        match *piece {
            Piece::Data(dir, bytes) => p.on_data(dir, bytes, ts, &mut events),
            Piece::Gap(dir, len) => p.on_gap(dir, len, &mut events),
        }
    }
    p.finish(ts, &mut events);
    let done = events
        .iter()
        .filter(|e| matches!(e, TlsEvent::HandshakeDone))
        .count();
    assert!(done <= 1, "HandshakeDone {done} times");
    let mut anomalies: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            TlsEvent::Anomaly(a) => Some(format!("{a:?}")),
            _ => None,
        })
        .collect();
    let n = anomalies.len();
    anomalies.sort();
    anomalies.dedup();
    assert_eq!(n, anomalies.len(), "an anomaly reported twice");
    let info = p.info();
    assert!(info.certificates.len() <= cfg.max_certificates);
    assert!(info.client_certificates.len() <= cfg.max_certificates);
    let json = serde_json::to_vec(info);
    assert!(json.is_ok(), "info does not serialize");
    if let Ok(json) = json {
        assert!(serde_json::from_slice::<serde_json::Value>(&json).is_ok());
    }

    let mut q = TlsParser::new(&cfg);
    let mut joined = Vec::new();
    for (dir, bytes, gap) in coalesce(&pieces) {
        match bytes {
            Some(b) => q.on_data(dir, &b, ts, &mut joined),
            None => q.on_gap(dir, gap, &mut joined),
        }
    }
    q.finish(ts, &mut joined);
    assert_eq!(
        p.info(),
        q.info(),
        "session info depends on how the stream was split"
    );
}
