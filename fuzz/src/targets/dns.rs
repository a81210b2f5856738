//! DNS message parsing and the per-flow state over UDP and TCP.

use tapwatch_common::{Direction, Timestamp};
use tapwatch_dns::{parse_message, DnsConfig, DnsEvent, DnsFlow, DnsMessage};

use crate::input::Input;

/// Parses `data[1..]` as one message (default and small limits) and checks the limits; feeds it
/// to a flow as a UDP datagram (the message must be the one `parse_message` returns) and as a
/// length-prefixed TCP frame in pieces and whole (same events); finally feeds the raw bytes as
/// a TCP stream, in pieces and whole.
pub fn dns(data: &[u8]) {
    let mut input = Input::new(data);
    let c = input.u8();
    let small = DnsConfig {
        max_answers: usize::from(c % 4),
        max_name_len: 8 + usize::from(c >> 4),
        max_pending_tx: 1 + usize::from(c >> 6),
        max_tcp_message: 14 + usize::from(c),
    };
    let msg = input.rest();
    for cfg in [DnsConfig::default(), small] {
        let parsed = parse_message(msg, &cfg);
        if let Ok(m) = parsed.as_ref() {
            check_message(m, &cfg);
        }
        if let Err(e) = parsed.as_ref() {
            assert!(e.offset() <= msg.len(), "error offset past the message");
        }

        // UDP: the flow sees the same message.
        let mut flow = DnsFlow::new(&cfg);
        let mut out = Vec::new();
        let dir = if c & 8 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let ts = Timestamp::new(1, 0);
        flow.on_udp(dir, msg, ts, &mut out);
        let from_flow = out.iter().find_map(|e| match e {
            DnsEvent::Message(r) => Some(&r.message),
            DnsEvent::Anomaly { .. } => None,
        });
        if let Ok(m) = parsed.as_ref() {
            assert_eq!(from_flow, Some(m), "UDP flow parsed a different message");
        }
        check_events(&out, &cfg);
        assert!(flow.unanswered_requests() <= cfg.max_pending_tx);

        // TCP: one frame, in pieces and whole.
        let mut frame = Vec::with_capacity(msg.len() + 2);
        frame.extend_from_slice(&(msg.len().min(0xffff) as u16).to_be_bytes());
        frame.extend_from_slice(msg);
        tcp_split_invariance(&cfg, &frame, c);
        // The raw bytes as a TCP stream.
        tcp_split_invariance(&cfg, msg, c);
    }
}

fn tcp_split_invariance(cfg: &DnsConfig, stream: &[u8], c: u8) {
    let ts = Timestamp::new(2, 0);
    let mut whole = DnsFlow::new(cfg);
    let mut a = Vec::new();
    whole.on_tcp_data(Direction::ToServer, stream, ts, &mut a);
    let mut pieces = DnsFlow::new(cfg);
    let mut b = Vec::new();
    let step = 1 + usize::from(c % 5);
    for piece in stream.chunks(step) {
        pieces.on_tcp_data(Direction::ToServer, piece, ts, &mut b);
    }
    assert_eq!(a, b, "TCP events depend on how the stream was split");
    check_events(&a, cfg);
    assert!(whole.unanswered_requests() <= cfg.max_pending_tx);
}

fn check_events(events: &[DnsEvent], cfg: &DnsConfig) {
    for e in events {
        if let DnsEvent::Message(r) = e {
            check_message(&r.message, cfg);
            let json = serde_json::to_vec(&**r);
            assert!(json.is_ok(), "record does not serialize");
            if let Ok(json) = json {
                assert!(serde_json::from_slice::<serde_json::Value>(&json).is_ok());
            }
        }
    }
}

fn check_message(m: &DnsMessage, cfg: &DnsConfig) {
    assert!(m.queries.len() <= cfg.max_answers);
    assert!(m.answers.len() <= cfg.max_answers);
    assert!(m.authorities.len() <= cfg.max_answers);
    assert!(m.additionals.len() <= cfg.max_answers);
    for q in &m.queries {
        assert!(
            q.name.len() <= cfg.max_name_len,
            "name of {} bytes",
            q.name.len()
        );
    }
    for rr in m.answers.iter().chain(&m.authorities).chain(&m.additionals) {
        assert!(
            rr.name.len() <= cfg.max_name_len,
            "name of {} bytes",
            rr.name.len()
        );
    }
}
