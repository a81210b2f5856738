//! Scenario tests of the flow table and TCP tracking, with packets built in the test.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proptest::prelude::*;

use crate::packet::tcp_flags::{ACK, FIN, PSH, RST, SYN};
use crate::*;

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];
const CPORT: u16 = 40_000;
const SPORT: u16 = 80;
const CISN: u32 = 1_000;
const SISN: u32 = 5_000;

fn ip(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn udp(src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, secs: i64) -> PacketMeta {
    PacketMeta {
        ts: Timestamp::new(secs, 0),
        src: ip(src),
        dst: ip(dst),
        src_port: sp,
        dst_port: dp,
        protocol: IPPROTO_UDP,
        vlan: [0; 3],
        vlan_len: 0,
        tunnel_id: 0,
        wire_len: 100,
        payload_len: 58,
        tcp: None,
        icmp: None,
    }
}

/// A TCP conversation between CLIENT:CPORT and SERVER:SPORT.
struct Conv {
    table: FlowTable<u32>,
    ended: Vec<EndedFlow<u32>>,
    secs: i64,
}

impl Conv {
    fn new(cfg: FlowConfig) -> Self {
        Self {
            table: FlowTable::with_seed(cfg, 7),
            ended: Vec::new(),
            secs: 1_000,
        }
    }

    fn default_cfg() -> Self {
        Self::new(FlowConfig::default())
    }

    fn pkt(&self, from_client: bool, flags: u8, seq: u32, ack: u32, len: u32) -> PacketMeta {
        let (src, sp, dst, dp) = if from_client {
            (CLIENT, CPORT, SERVER, SPORT)
        } else {
            (SERVER, SPORT, CLIENT, CPORT)
        };
        PacketMeta {
            ts: Timestamp::new(self.secs, 0),
            src: ip(src),
            dst: ip(dst),
            src_port: sp,
            dst_port: dp,
            protocol: IPPROTO_TCP,
            vlan: [0; 3],
            vlan_len: 0,
            tunnel_id: 0,
            wire_len: 54 + len,
            payload_len: len,
            tcp: Some(TcpMeta {
                seq,
                ack,
                flags,
                window: 65_535,
                ..TcpMeta::default()
            }),
            icmp: None,
        }
    }

    fn send(&mut self, from_client: bool, flags: u8, seq: u32, ack: u32, len: u32) -> Tracked {
        let p = self.pkt(from_client, flags, seq, ack, len);
        self.track(&p)
    }

    fn track(&mut self, p: &PacketMeta) -> Tracked {
        match self.table.track(p, &mut self.ended) {
            Ok(t) => t,
            Err(e) => panic!("track failed: {e}"),
        }
    }

    fn flow(&self, t: Tracked) -> &Flow<u32> {
        match self.table.get(t.handle) {
            Some(f) => f,
            None => panic!("flow gone"),
        }
    }

    fn tcp_state(&self, t: Tracked) -> TcpState {
        self.flow(t)
            .tcp
            .as_ref()
            .map_or(TcpState::None, |s| s.state)
    }

    /// SYN, SYN/ACK, ACK; returns the last `Tracked`.
    fn handshake(&mut self) -> Tracked {
        let t = self.send(true, SYN, CISN, 0, 0);
        assert!(t.created && t.tcp_accept);
        assert_eq!(self.tcp_state(t), TcpState::SynSent);
        assert_eq!(self.flow(t).state, FlowState::New);
        let t = self.send(false, SYN | ACK, SISN, CISN + 1, 0);
        assert_eq!(t.direction, Direction::ToClient);
        assert!(t.tcp_accept && t.tcp_events.is_empty());
        assert_eq!(self.tcp_state(t), TcpState::SynRecv);
        let t = self.send(true, ACK, CISN + 1, SISN + 1, 0);
        assert!(t.tcp_accept && t.tcp_events.is_empty());
        assert_eq!(self.tcp_state(t), TcpState::Established);
        assert_eq!(self.flow(t).state, FlowState::Established);
        t
    }
}

#[test]
fn canonical_key_both_ways_and_counters_per_direction() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    let a = t.track(&udp(CLIENT, 5000, SERVER, 53, 1), &mut ended);
    let b = t.track(&udp(SERVER, 53, CLIENT, 5000, 2), &mut ended);
    let c = t.track(&udp(CLIENT, 5000, SERVER, 53, 3), &mut ended);
    let (Ok(a), Ok(b), Ok(c)) = (a, b, c) else {
        panic!("tracking failed");
    };
    assert_eq!(a.handle, b.handle);
    assert_eq!(a.handle, c.handle);
    assert!(a.created && !b.created && !c.created);
    assert_eq!(a.direction, Direction::ToServer);
    assert_eq!(b.direction, Direction::ToClient);
    assert!(!a.tcp_accept && a.tcp_events.is_empty());
    assert_eq!(t.len(), 1);
    let f = t
        .get(a.handle)
        .map(|f| (f.client, f.server, f.to_server, f.to_client, f.state));
    assert_eq!(
        f,
        Some((
            (ip(CLIENT), 5000),
            (ip(SERVER), 53),
            DirectionCounters {
                packets: 2,
                bytes: 200
            },
            DirectionCounters {
                packets: 1,
                bytes: 100
            },
            FlowState::Established
        ))
    );
    assert_eq!(
        t.get(a.handle).map(|f| (f.start, f.last)),
        Some((Timestamp::new(1, 0), Timestamp::new(3, 0)))
    );
    assert_eq!(t.stats().created, 1);
}

#[test]
fn vlan_and_tunnel_separate_flows() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    let mut p = udp(CLIENT, 1, SERVER, 2, 1);
    p.vlan = [10, 0, 0];
    p.vlan_len = 1;
    let a = t.track(&p, &mut ended).map(|x| x.handle);
    p.vlan = [20, 0, 0];
    let b = t.track(&p, &mut ended).map(|x| x.handle);
    p.tunnel_id = 3;
    let c = t.track(&p, &mut ended).map(|x| x.handle);
    assert_ne!(a, b);
    assert_ne!(b, c);
    assert_eq!(t.len(), 3);
    let vl = b.ok().and_then(|h| t.get(h)).map(|f| (f.vlan, f.vlan_len));
    assert_eq!(vl, Some(([20, 0, 0], 1)));
}

#[test]
fn handshake_data_and_client_fin_close() {
    let mut c = Conv::default_cfg();
    c.handshake();
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1, 100);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    let t = c.send(false, ACK, SISN + 1, CISN + 101, 0);
    assert!(t.tcp_accept);
    let t = c.send(true, FIN | ACK, CISN + 101, SISN + 1, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::FinWait1);
    let t = c.send(false, ACK, SISN + 1, CISN + 102, 0);
    assert_eq!(c.tcp_state(t), TcpState::FinWait2);
    assert_eq!(c.flow(t).state, FlowState::Established);
    let t = c.send(false, FIN | ACK, SISN + 1, CISN + 102, 0);
    assert_eq!(c.tcp_state(t), TcpState::TimeWait);
    assert_eq!(c.flow(t).state, FlowState::Closed);
    let t = c.send(true, ACK, CISN + 102, SISN + 2, 0);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    assert_eq!(c.tcp_state(t), TcpState::Closed);
    // After the close nothing goes to reassembly.
    let t = c.send(true, ACK, CISN + 102, SISN + 2, 0);
    assert!(!t.tcp_accept);
    let s = c.flow(t).tcp.clone().unwrap_or_default();
    assert_eq!(s.client.flags, SYN | ACK | PSH | FIN);
    assert_eq!(s.server.flags, SYN | ACK | FIN);
    assert_eq!((s.client.isn, s.server.isn), (Some(CISN), Some(SISN)));
    assert!(s.syn_seen && s.synack_seen && !s.midstream);
    assert_eq!(c.table.stats().tcp.sessions, 1);
    assert_eq!(c.table.stats().tcp.events_total(), 0);
}

#[test]
fn server_close_first_and_simultaneous_close() {
    let mut c = Conv::default_cfg();
    c.handshake();
    let t = c.send(false, FIN | ACK, SISN + 1, CISN + 1, 0);
    assert_eq!(c.tcp_state(t), TcpState::CloseWait);
    let t = c.send(true, FIN | ACK, CISN + 1, SISN + 2, 0);
    assert_eq!(c.tcp_state(t), TcpState::LastAck);
    assert_eq!(c.flow(t).state, FlowState::Closed);
    let t = c.send(false, ACK, SISN + 2, CISN + 2, 0);
    assert_eq!(c.tcp_state(t), TcpState::Closed);

    let mut c = Conv::default_cfg();
    c.handshake();
    let t = c.send(true, FIN | ACK, CISN + 1, SISN + 1, 0);
    assert_eq!(c.tcp_state(t), TcpState::FinWait1);
    let t = c.send(false, FIN | ACK, SISN + 1, CISN + 1, 0);
    assert_eq!(c.tcp_state(t), TcpState::Closing);
    let t = c.send(false, ACK, SISN + 2, CISN + 2, 0);
    assert_eq!(c.tcp_state(t), TcpState::TimeWait);
    let t = c.send(true, ACK, CISN + 2, SISN + 2, 0);
    assert_eq!(c.tcp_state(t), TcpState::Closed);
}

#[test]
fn rst_in_and_out_of_window() {
    let mut c = Conv::default_cfg();
    c.handshake();
    let t = c.send(false, RST, SISN + 70_000, 0, 0);
    assert!(!t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::Established);
    assert_eq!(c.table.stats().tcp.rst_invalid, 1);
    // An ack beyond the client's window (65535) acknowledges data never sent.
    let t = c.send(false, RST | ACK, SISN + 1, CISN + 70_000, 0);
    assert!(!t.tcp_accept);
    assert!(t.tcp_events.contains(TcpEvent::RstInvalidAck));
    assert_eq!(c.table.stats().tcp.rst_invalid, 2);
    // One within it acknowledges data lost from the capture: the RST is valid.
    let t = c.send(false, RST | ACK, SISN + 100, CISN + 9_999, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 1);
    assert_eq!(c.tcp_state(t), TcpState::Closed);
    assert_eq!(c.flow(t).state, FlowState::Closed);
    assert!(c.flow(t).tcp.as_ref().is_some_and(|s| s.closed_by_rst));
    // Data after the RST: suspected injection.
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1, 10);
    assert!(!t.tcp_accept);
    assert!(t.tcp_events.contains(TcpEvent::SuspectedRstInject));
}

#[test]
fn rst_answering_syn() {
    let mut c = Conv::default_cfg();
    let t = c.send(true, SYN, CISN, 0, 0);
    let bad = c.send(false, RST | ACK, 0, CISN + 7, 0);
    assert!(!bad.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::SynSent);
    let ok = c.send(false, RST | ACK, 0, CISN + 1, 0);
    assert!(ok.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::Closed);
}

#[test]
fn midstream_off_refuses_and_on_picks_up() {
    let mut c = Conv::default_cfg();
    let t = c.send(false, ACK | PSH, SISN, CISN, 100);
    assert!(t.created && !t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::None);
    assert_eq!(c.flow(t).state, FlowState::New);
    // Without midstream the first sender is the client, whatever the ports.
    assert_eq!(c.flow(t).client, (ip(SERVER), SPORT));
    assert_eq!(c.table.stats().tcp.refused, 1);
    let t = c.send(true, FIN | ACK, CISN, SISN, 0);
    assert!(t.tcp_events.contains(TcpEvent::FinButNoSession));
    let t = c.send(true, RST, CISN, 0, 0);
    assert!(t.tcp_events.contains(TcpEvent::RstButNoSession));

    let mut c = Conv::new(FlowConfig {
        tcp_midstream: true,
        ..FlowConfig::default()
    });
    let t = c.send(false, ACK | PSH, SISN, CISN, 100);
    assert!(t.created && t.tcp_accept);
    assert_eq!(t.direction, Direction::ToClient);
    assert_eq!(c.flow(t).client, (ip(CLIENT), CPORT));
    assert_eq!(c.tcp_state(t), TcpState::Established);
    assert_eq!(c.flow(t).state, FlowState::Established);
    assert!(c.flow(t).tcp.as_ref().is_some_and(|s| s.midstream));
    let t = c.send(true, ACK, CISN, SISN + 100, 0);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    assert_eq!(c.table.stats().tcp.midstream_pickups, 1);
    assert_eq!(c.table.stats().tcp.sessions, 1);
}

#[test]
fn midstream_port_heuristic_needs_low_to_high_ports() {
    let mut c = Conv::new(FlowConfig {
        tcp_midstream: true,
        ..FlowConfig::default()
    });
    // From 40000 to 80: the sender stays the client.
    let t = c.send(true, ACK, CISN, SISN, 0);
    assert_eq!(t.direction, Direction::ToServer);
    assert_eq!(c.flow(t).client, (ip(CLIENT), CPORT));
}

#[test]
fn synack_first() {
    let mut c = Conv::default_cfg();
    let t = c.send(false, SYN | ACK, SISN, CISN + 1, 0);
    assert!(t.created && !t.tcp_accept);
    assert_eq!(t.direction, Direction::ToClient);
    assert_eq!(c.flow(t).client, (ip(CLIENT), CPORT));
    assert_eq!(c.tcp_state(t), TcpState::None);

    let mut c = Conv::new(FlowConfig {
        tcp_midstream: true,
        ..FlowConfig::default()
    });
    let t = c.send(false, SYN | ACK, SISN, CISN + 1, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::SynRecv);
    let t = c.send(true, ACK, CISN + 1, SISN + 1, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::Established);
    assert_eq!(c.table.stats().tcp.midstream_pickups, 1);
}

#[test]
fn late_syn_swaps_roles() {
    let mut c = Conv::default_cfg();
    // First seen: the server's ACK (midstream off): the server is taken as client.
    let t = c.send(false, ACK, SISN, CISN, 0);
    assert_eq!(c.flow(t).client, (ip(SERVER), SPORT));
    // Then the real client's SYN: roles swap, counters move with them.
    let t = c.send(true, SYN, CISN, 0, 0);
    assert_eq!(t.direction, Direction::ToServer);
    assert_eq!(c.flow(t).client, (ip(CLIENT), CPORT));
    assert_eq!(c.flow(t).to_client.packets, 1);
    assert_eq!(c.flow(t).to_server.packets, 1);
    assert_eq!(c.tcp_state(t), TcpState::SynSent);
}

#[test]
fn port_reuse_ends_old_flow() {
    let mut c = Conv::default_cfg();
    let first = c.handshake();
    let old_id = c.flow(first).id;
    c.send(true, RST, CISN + 1, 0, 0);
    // Retransmitted original SYN: no reuse.
    let t = c.send(true, SYN, CISN, 0, 0);
    assert!(!t.created && !t.tcp_accept);
    assert!(c.ended.is_empty());
    let t = c.send(true, SYN, 90_000, 0, 0);
    assert!(t.created && t.tcp_accept);
    assert_eq!(c.ended.len(), 1);
    assert_eq!(
        c.ended.first().map(|e| (e.flow.id, e.reason)),
        Some((old_id, EndReason::TcpReuse))
    );
    assert_ne!(c.flow(t).id, old_id);
    assert_eq!(c.tcp_state(t), TcpState::SynSent);
    assert!(c.table.get(first.handle).is_none());
    assert_eq!(c.table.len(), 1);
    assert_eq!(c.table.stats().ended_tcp_reuse, 1);
}

#[test]
fn handshake_events() {
    let mut c = Conv::default_cfg();
    c.send(true, SYN, CISN, 0, 0);
    let t = c.send(false, SYN | ACK, SISN, CISN + 5, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::ThreeWhsSynackWithWrongAck));
    let t = c.send(true, SYN | ACK, CISN, SISN, 0);
    assert!(t
        .tcp_events
        .contains(TcpEvent::ThreeWhsSynackInWrongDirection));
    c.send(false, SYN | ACK, SISN, CISN + 1, 0);
    let t = c.send(false, SYN | ACK, SISN + 3, CISN + 1, 0);
    assert!(t
        .tcp_events
        .contains(TcpEvent::ThreeWhsSynackResendWithDiffSeq));
    let t = c.send(false, SYN | ACK, SISN, CISN + 2, 0);
    assert!(t
        .tcp_events
        .contains(TcpEvent::ThreeWhsSynackResendWithDifferentAck));
    let t = c.send(false, ACK, SISN + 1, CISN + 1, 0);
    assert!(t.tcp_events.contains(TcpEvent::ThreeWhsAckInWrongDir));
    let t = c.send(true, ACK, CISN + 1, SISN + 9, 0);
    assert!(t
        .tcp_events
        .contains(TcpEvent::ThreeWhsRightSeqWrongAckEvasion));
    let t = c.send(true, ACK, CISN + 300_000, SISN + 9, 0);
    assert!(t.tcp_events.contains(TcpEvent::ThreeWhsWrongSeqWrongAck));
    let t = c.send(true, SYN, CISN + 4, 0, 0);
    assert!(t
        .tcp_events
        .contains(TcpEvent::ThreeWhsSynResendDiffSeqOnSynRecv));
    let t = c.send(true, SYN | FIN, CISN, 0, 0);
    assert_eq!(
        t.tcp_events.iter().collect::<Vec<_>>(),
        vec![TcpEvent::FinSyn]
    );
    assert_eq!(c.tcp_state(t), TcpState::SynRecv);
    assert_eq!(c.table.stats().tcp.event_count(TcpEvent::FinSyn), 1);
}

#[test]
fn syn_with_new_isn_restarts_attempt() {
    let mut c = Conv::default_cfg();
    c.send(true, SYN, CISN, 0, 0);
    let t = c.send(true, SYN, 777, 0, 0);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    let t = c.send(false, SYN | ACK, SISN, 778, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::SynRecv);
}

#[test]
fn established_events() {
    let mut c = Conv::default_cfg();
    c.handshake();
    let t = c.send(true, SYN, CISN, 0, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstSynResend));
    let t = c.send(false, SYN | ACK, SISN, CISN + 1, 0);
    assert!(t.tcp_events.contains(TcpEvent::EstSynackResend));
    // Beyond the window the client advertises (65535), the ack is invalid.
    let t = c.send(true, ACK, CISN + 1, SISN + 70_000, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstInvalidAck));
    let t = c.send(true, ACK | PSH, CISN + 200_000, SISN + 1, 10);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstPacketOutOfWindow));
    // Data, then its retransmission before the ack, then after the ack.
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1, 10);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1, 10);
    assert!(t.tcp_accept && t.tcp_events.contains(TcpEvent::PktRetransmission));
    c.send(false, ACK, SISN + 1, CISN + 11, 0);
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1, 10);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstPktBeforeLastAck));
    let t = c.send(true, ACK, CISN + 11, SISN + 1, 0);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    // A FIN whose ack covers data beyond the window.
    let t = c.send(true, FIN | ACK, CISN + 11, SISN + 70_000, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::FinInvalidAck));
    assert_eq!(c.tcp_state(t), TcpState::Established);
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 0);
}

#[test]
fn ack_of_unseen_data_within_window_is_accepted() {
    let mut c = Conv::default_cfg();
    c.handshake();
    // The server's next byte is SISN + 1 and the client's window 65535: the server may have
    // sent up to SISN + 1 + 65535 without a capture showing it.
    let t = c.send(true, ACK, CISN + 1, SISN + 1 + 65_536, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstInvalidAck));
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 0);
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1 + 65_535, 10);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 1);
    // The acknowledged bytes were sent: the server's sequence space moves past them, so
    // its next segments are in order and the bound moves on with them.
    let server = c.flow(t).tcp.as_ref().map(|s| s.server);
    assert_eq!(server.map(|p| p.next_seq), Some(SISN + 1 + 65_535));
    let t = c.send(false, ACK | PSH, SISN + 1 + 65_535, CISN + 11, 100);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    let t = c.send(true, ACK, CISN + 11, SISN + 1 + 65_635 + 65_535, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 2);
    // Acknowledging what was seen is not counted.
    c.send(false, ACK | PSH, SISN + 1 + 65_635 + 65_535, CISN + 11, 0);
    let t = c.send(true, ACK, CISN + 11, SISN + 1 + 65_635 + 65_535, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 2);
}

#[test]
fn ack_of_unseen_data_uses_the_scaled_window() {
    let mut c = Conv::default_cfg();
    let mut syn = c.pkt(true, SYN, CISN, 0, 0);
    let mut synack = c.pkt(false, SYN | ACK, SISN, CISN + 1, 0);
    let mut ack = c.pkt(true, ACK, CISN + 1, SISN + 1, 0);
    for (p, ws) in [(&mut syn, 7), (&mut synack, 2)] {
        if let Some(t) = p.tcp.as_mut() {
            t.wscale = Some(ws);
        }
    }
    if let Some(t) = ack.tcp.as_mut() {
        t.window = 1_000;
    }
    c.track(&syn);
    c.track(&synack);
    let t = c.track(&ack);
    assert_eq!(c.tcp_state(t), TcpState::Established);
    // The client's window is 1000 << 7 = 128000 bytes.
    let mut p = c.pkt(true, ACK, CISN + 1, SISN + 1 + 128_001, 0);
    if let Some(t) = p.tcp.as_mut() {
        t.window = 1_000;
    }
    let t = c.track(&p);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstInvalidAck));
    if let Some(t) = p.tcp.as_mut() {
        t.ack = SISN + 1 + 128_000;
    }
    let t = c.track(&p);
    assert!(t.tcp_accept);
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 1);
}

#[test]
fn ack_of_unseen_data_midstream_assumes_the_largest_window() {
    let mut c = Conv::new(FlowConfig {
        tcp_midstream: true,
        ..FlowConfig::default()
    });
    c.send(true, ACK | PSH, CISN, SISN, 10);
    c.send(false, ACK | PSH, SISN, CISN + 10, 10);
    // The scale is unknown: any ack within 65535 << 14 bytes may be real.
    let t = c.send(true, ACK, CISN + 10, SISN + 10 + 5_000_000, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 1);
    let t = c.send(true, ACK, CISN + 10, SISN + 5_000_000 + (1 << 30), 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::EstInvalidAck));
}

#[test]
fn closing_state_events() {
    let mut c = Conv::default_cfg();
    c.handshake();
    c.send(true, FIN | ACK, CISN + 1, SISN + 1, 0);
    let t = c.send(true, ACK, CISN + 50, SISN + 1, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::Fin1AckWrongSeq));
    // Nothing follows the client's FIN: acknowledging beyond it is invalid even within the
    // window.
    let t = c.send(false, ACK, SISN + 1, CISN + 900, 0);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::Fin1InvalidAck));
    // The client acknowledging server data lost from the capture is accepted.
    let t = c.send(true, ACK, CISN + 2, SISN + 300, 0);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    assert_eq!(c.table.stats().tcp.ack_unseen_data, 1);
    // The server's next segment starts after those bytes, as the exact-sequence check of
    // the closing states expects.
    let t = c.send(false, FIN | ACK, SISN + 300, CISN + 2, 0);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
    assert_eq!(c.tcp_state(t), TcpState::TimeWait);
    let t = c.send(true, SYN, CISN, 0, 0);
    assert!(t.tcp_events.contains(TcpEvent::ShutdownSynResend));
}

#[test]
fn simultaneous_open() {
    let mut c = Conv::default_cfg();
    c.send(true, SYN, CISN, 0, 0);
    let t = c.send(false, SYN, SISN, 0, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::SynRecv);
    let t = c.send(true, SYN | ACK, CISN, SISN + 3, 0);
    assert!(t.tcp_events.contains(TcpEvent::FourWhsSynackWithWrongAck));
    let t = c.send(true, SYN | ACK, CISN, SISN + 1, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::SynRecv);
    let t = c.send(false, SYN | ACK, SISN, CISN + 1, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::Established);
    assert!(c.flow(t).tcp.as_ref().is_some_and(|s| s.simultaneous_open));
}

#[test]
fn async_oneside() {
    let mut c = Conv::default_cfg();
    c.send(true, SYN, CISN, 0, 0);
    let t = c.send(true, ACK, CISN + 1, SISN + 1, 0);
    assert!(!t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::SynSent);

    let mut c = Conv::new(FlowConfig {
        tcp_async_oneside: true,
        ..FlowConfig::default()
    });
    c.send(true, SYN, CISN, 0, 0);
    let t = c.send(true, ACK, CISN + 9, SISN + 1, 0);
    assert!(t.tcp_events.contains(TcpEvent::ThreeWhsAsyncWrongSeq));
    let t = c.send(true, ACK, CISN + 1, SISN + 1, 0);
    assert!(t.tcp_accept);
    assert_eq!(c.tcp_state(t), TcpState::Established);
    let t = c.send(true, ACK | PSH, CISN + 1, SISN + 1, 500);
    assert!(t.tcp_accept && t.tcp_events.is_empty());
}

#[test]
fn paws_rejects_old_timestamp() {
    let mut c = Conv::default_cfg();
    let mut p = c.pkt(true, SYN, CISN, 0, 0);
    let ts = |p: &mut PacketMeta, v: u32| {
        if let Some(t) = p.tcp.as_mut() {
            t.timestamp = Some((v, 0));
        }
    };
    ts(&mut p, 100);
    c.track(&p);
    let mut p = c.pkt(false, SYN | ACK, SISN, CISN + 1, 0);
    ts(&mut p, 900);
    c.track(&p);
    let mut p = c.pkt(true, ACK, CISN + 1, SISN + 1, 0);
    ts(&mut p, 101);
    let t = c.track(&p);
    assert!(c
        .flow(t)
        .tcp
        .as_ref()
        .is_some_and(|s| s.timestamps_negotiated));
    let mut p = c.pkt(true, ACK | PSH, CISN + 1, SISN + 1, 5);
    ts(&mut p, 50);
    let t = c.track(&p);
    assert!(!t.tcp_accept && t.tcp_events.contains(TcpEvent::PktInvalidTimestamp));
}

#[test]
fn missing_tcp_header_is_an_error() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut p = udp(CLIENT, 1, SERVER, 2, 1);
    p.protocol = IPPROTO_TCP;
    assert_eq!(
        t.track(&p, &mut Vec::new()).err(),
        Some(TrackError::MissingTcpHeader)
    );
    assert_eq!(t.stats().missing_tcp_header, 1);
    assert_eq!(t.len(), 0);
}

#[test]
fn icmp_echo_pairs_and_errors_apart() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    let mut req = udp(CLIENT, 0, SERVER, 0, 1);
    req.protocol = IPPROTO_ICMP;
    req.icmp = Some(IcmpMeta {
        icmp_type: 8,
        code: 0,
        id: 9,
    });
    let mut rep = udp(SERVER, 0, CLIENT, 0, 1);
    rep.protocol = IPPROTO_ICMP;
    rep.icmp = Some(IcmpMeta {
        icmp_type: 0,
        code: 0,
        id: 9,
    });
    let mut err = rep.clone();
    err.icmp = Some(IcmpMeta {
        icmp_type: 3,
        code: 3,
        id: 0,
    });
    let a = t.track(&req, &mut ended).map(|x| x.handle);
    let b = t.track(&rep, &mut ended).map(|x| (x.handle, x.direction));
    let c = t.track(&err, &mut ended).map(|x| x.handle);
    assert_eq!(b.map(|x| x.0), a);
    assert_eq!(b.map(|x| x.1), Ok(Direction::ToClient));
    assert_ne!(c, a);
    assert_eq!(t.len(), 2);
}

#[test]
fn timeouts_per_state() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    // UDP new (one side): 30 s.
    let _ = t.track(&udp(CLIENT, 1, SERVER, 2, 100), &mut ended);
    // UDP established (both sides): 300 s.
    let _ = t.track(&udp(CLIENT, 3, SERVER, 4, 100), &mut ended);
    let _ = t.track(&udp(SERVER, 4, CLIENT, 3, 100), &mut ended);
    t.expire(Timestamp::new(129, 999_999_999), &mut ended);
    assert!(ended.is_empty());
    t.expire(Timestamp::new(130, 0), &mut ended);
    assert_eq!(
        ended
            .iter()
            .map(|e| (e.flow.client.1, e.reason))
            .collect::<Vec<_>>(),
        vec![(1, EndReason::Timeout)]
    );
    t.expire(Timestamp::new(399, 0), &mut ended);
    assert_eq!(ended.len(), 1);
    t.expire(Timestamp::new(400, 0), &mut ended);
    assert_eq!(ended.len(), 2);
    assert_eq!(t.len(), 0);
    assert_eq!(t.stats().ended_timeout, 2);

    // TCP: new 60 s, established 600 s, closed 60 s.
    let mut c = Conv::default_cfg();
    c.send(true, SYN, CISN, 0, 0);
    c.table.expire(Timestamp::new(c.secs + 59, 0), &mut c.ended);
    assert!(c.ended.is_empty());
    c.table.expire(Timestamp::new(c.secs + 60, 0), &mut c.ended);
    assert_eq!(c.ended.len(), 1);

    let mut c = Conv::default_cfg();
    let h = c.handshake();
    c.table
        .expire(Timestamp::new(c.secs + 599, 0), &mut c.ended);
    assert!(c.table.get(h.handle).is_some());
    c.table
        .expire(Timestamp::new(c.secs + 600, 0), &mut c.ended);
    assert!(c.table.get(h.handle).is_none());

    let mut c = Conv::default_cfg();
    let h = c.handshake();
    c.send(true, RST, CISN + 1, 0, 0);
    c.table.expire(Timestamp::new(c.secs + 59, 0), &mut c.ended);
    assert!(c.table.get(h.handle).is_some());
    c.table.expire(Timestamp::new(c.secs + 60, 0), &mut c.ended);
    assert_eq!(
        c.ended.first().map(|e| (e.flow.state, e.reason)),
        Some((FlowState::Closed, EndReason::Timeout))
    );
}

#[test]
fn a_packet_past_its_flows_timeout_starts_a_new_flow_without_a_sweep() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    // UDP new: 30 s. 29.9 s later the flow goes on; 30 s after its last packet it is over,
    // whether or not a sweep ran in between.
    let first = t
        .track(&udp(CLIENT, 1, SERVER, 2, 100), &mut ended)
        .unwrap();
    let mut late = udp(CLIENT, 1, SERVER, 2, 129);
    late.ts = Timestamp::new(129, 900_000_000);
    let same = t.track(&late, &mut ended).unwrap();
    assert!(!same.created);
    assert_eq!(same.handle, first.handle);
    let mut next = udp(SERVER, 2, CLIENT, 1, 159);
    next.ts = Timestamp::new(159, 900_000_000);
    let new = t.track(&next, &mut ended).unwrap();
    assert!(new.created);
    assert_eq!(
        ended.iter().map(|e| e.reason).collect::<Vec<_>>(),
        vec![EndReason::Timeout]
    );
    assert_eq!(
        ended
            .first()
            .map(|e| e.flow.counters(Direction::ToServer).packets),
        Some(2)
    );
    // The new flow's client is the sender of its first packet.
    assert_eq!(t.get(new.handle).map(|f| f.client.1), Some(2));
    assert_eq!(t.stats().created, 2);
}

#[test]
fn activity_postpones_timeout() {
    let mut t = FlowTable::<()>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    let _ = t.track(&udp(CLIENT, 1, SERVER, 2, 100), &mut ended);
    let _ = t.track(&udp(CLIENT, 5, SERVER, 6, 110), &mut ended);
    let _ = t.track(&udp(CLIENT, 1, SERVER, 2, 120), &mut ended);
    t.expire(Timestamp::new(145, 0), &mut ended);
    assert_eq!(
        ended.iter().map(|e| e.flow.client.1).collect::<Vec<_>>(),
        vec![5]
    );
    t.expire(Timestamp::new(150, 0), &mut ended);
    assert_eq!(
        ended.iter().map(|e| e.flow.client.1).collect::<Vec<_>>(),
        vec![5, 1]
    );
}

#[test]
fn full_table_evicts_oldest_idle() {
    let cfg = FlowConfig {
        max_flows: 3,
        ..FlowConfig::default()
    };
    let mut t = FlowTable::<()>::with_seed(cfg, 1);
    let mut ended = Vec::new();
    for (port, secs) in [(1, 1), (2, 2), (3, 3), (1, 4)] {
        let _ = t.track(&udp(CLIENT, port, SERVER, 9, secs), &mut ended);
    }
    assert!(ended.is_empty());
    let d = t.track(&udp(CLIENT, 4, SERVER, 9, 5), &mut ended);
    assert!(d.is_ok_and(|x| x.created));
    assert_eq!(t.len(), 3);
    assert_eq!(
        ended
            .iter()
            .map(|e| (e.flow.client.1, e.reason))
            .collect::<Vec<_>>(),
        vec![(2, EndReason::Evicted)]
    );
    let _ = t.track(&udp(CLIENT, 5, SERVER, 9, 6), &mut ended);
    assert_eq!(ended.last().map(|e| e.flow.client.1), Some(3));
    assert_eq!(t.stats().ended_evicted, 2);

    let mut z = FlowTable::<()>::with_seed(
        FlowConfig {
            max_flows: 0,
            ..FlowConfig::default()
        },
        1,
    );
    assert_eq!(
        z.track(&udp(CLIENT, 1, SERVER, 2, 1), &mut ended).err(),
        Some(TrackError::TableFull)
    );
    assert_eq!(z.stats().table_full, 1);
}

#[test]
fn drain_in_start_order_and_stale_handles() {
    let mut t = FlowTable::<u8>::with_seed(FlowConfig::default(), 1);
    let mut ended = Vec::new();
    let mut handles = Vec::new();
    for port in [30, 10, 20] {
        if let Ok(x) = t.track(&udp(CLIENT, port, SERVER, 9, 1), &mut ended) {
            handles.push(x.handle);
        }
    }
    // Touch in reverse, and set user state.
    for port in [20, 10, 30] {
        let _ = t.track(&udp(CLIENT, port, SERVER, 9, 2), &mut ended);
    }
    if let Some(f) = handles.first().and_then(|h| t.get_mut(*h)) {
        f.user = 42;
    }
    t.drain(&mut ended);
    assert_eq!(
        ended
            .iter()
            .map(|e| (e.flow.client.1, e.reason, e.flow.user))
            .collect::<Vec<_>>(),
        vec![
            (30, EndReason::Shutdown, 42),
            (10, EndReason::Shutdown, 0),
            (20, EndReason::Shutdown, 0)
        ]
    );
    assert!(t.is_empty());
    assert!(handles.iter().all(|h| t.get(*h).is_none()));
    // A new flow reusing a slot is not reachable through an old handle.
    let _ = t.track(&udp(CLIENT, 99, SERVER, 9, 3), &mut ended);
    assert!(handles.iter().all(|h| t.get(*h).is_none()));
    assert_eq!(t.stats().ended_shutdown, 3);
}

#[test]
fn flow_ids_unique_over_1e5_flows() {
    let cfg = FlowConfig {
        max_flows: 1_000,
        ..FlowConfig::default()
    };
    let mut t = FlowTable::<()>::new(cfg);
    let mut ended = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for i in 0u32..100_000 {
        let a = Ipv4Addr::from(0x0a00_0000 + i).octets();
        let p = udp(a, 1, SERVER, 2, i64::from(i));
        let h = t.track(&p, &mut ended).map(|x| x.handle);
        let id = h.ok().and_then(|h| t.get(h)).map_or(0, |f| f.id);
        assert!(id != 0 && id < (1 << 53));
        assert!(ids.insert(id));
        assert!(t.len() <= 1_000);
    }
    assert_eq!(t.stats().created, 100_000);
    assert_eq!(t.stats().ended_evicted, 99_000);
}

#[test]
fn duration_defaults_used_by_table() {
    let t = FlowTable::<()>::new(FlowConfig::default());
    assert_eq!(
        t.config().timeouts.tcp.established,
        Duration::from_secs(600)
    );
}

fn arb_packet() -> impl Strategy<Value = PacketMeta> {
    (
        (
            0u8..4,
            0u8..4,
            0u16..3,
            0u16..3,
            prop::sample::select(vec![1u8, 6, 17, 47, 58]),
        ),
        (
            0i64..400,
            any::<u32>(),
            0u8..3,
            any::<u64>().prop_map(|x| x % 2),
        ),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            0u32..3000,
        ),
        (
            prop::option::of(0u8..20),
            prop::option::of((any::<u32>(), any::<u32>())),
            any::<bool>(),
        ),
        (any::<u8>(), any::<u16>()),
    )
        .prop_map(|(addr, time, tcp, opts, icmp)| {
            let (s, d, sp, dp, proto) = addr;
            let (secs, nanos, vlan_len, tunnel) = time;
            let (seq, ack, flags, window, len) = tcp;
            let (wscale, timestamp, sack) = opts;
            PacketMeta {
                ts: Timestamp::new(secs, nanos),
                src: ip([10, 0, 0, s]),
                dst: ip([10, 0, 0, d]),
                src_port: [80, 1023, 40_000][usize::from(sp)],
                dst_port: [80, 1024, 40_000][usize::from(dp)],
                protocol: proto,
                vlan: [1, 2, 3],
                vlan_len,
                tunnel_id: tunnel,
                wire_len: len + 40,
                payload_len: len,
                // Sometimes drop the TCP header to exercise the error path.
                tcp: (flags != 0xff).then_some(TcpMeta {
                    seq,
                    ack,
                    flags,
                    window,
                    wscale,
                    sack_permitted: sack,
                    timestamp,
                }),
                icmp: Some(IcmpMeta {
                    icmp_type: icmp.0 % 10,
                    code: 0,
                    id: icmp.1 % 3,
                }),
            }
        })
}

/// Packets of one TCP conversation with small sequence deltas, so that the state machine
/// gets deep instead of refusing everything.
fn arb_conversation() -> impl Strategy<Value = Vec<(bool, u8, u32, u32, u32)>> {
    prop::collection::vec(
        (any::<bool>(), any::<u8>(), 0u32..4, 0u32..4, 0u32..3),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_packets_never_panic_and_stay_bounded(
        pkts in prop::collection::vec(arb_packet(), 0..120),
        max_flows in 0usize..6,
        midstream in any::<bool>(),
        async_oneside in any::<bool>(),
        expire_every in 1usize..30,
    ) {
        let cfg = FlowConfig { max_flows, tcp_midstream: midstream, tcp_async_oneside: async_oneside, ..FlowConfig::default() };
        let mut t = FlowTable::<u8>::new(cfg);
        let mut ended = Vec::new();
        for (i, p) in pkts.iter().enumerate() {
            if let Ok(x) = t.track(p, &mut ended) {
                prop_assert!(t.get(x.handle).is_some());
            }
            prop_assert!(t.len() <= max_flows);
            if i % expire_every == 0 {
                t.expire(p.ts, &mut ended);
            }
        }
        t.drain(&mut ended);
        prop_assert_eq!(t.len(), 0);
        prop_assert_eq!(ended.len() as u64, t.stats().created);
    }

    #[test]
    fn tcp_conversations_never_panic(
        steps in arb_conversation(),
        midstream in any::<bool>(),
        async_oneside in any::<bool>(),
    ) {
        let mut c = Conv::new(FlowConfig { tcp_midstream: midstream, tcp_async_oneside: async_oneside, ..FlowConfig::default() });
        let (mut cseq, mut sseq) = (CISN, SISN);
        for (from_client, flags, dseq, dack, len_sel) in steps {
            let len = [0, 1, 100][len_sel as usize];
            let (seq, ack) = if from_client { (cseq, sseq) } else { (sseq, cseq) };
            let seq = seq.wrapping_add(dseq);
            let ack = ack.wrapping_add(dack);
            let t = c.send(from_client, flags, seq, ack, len);
            if t.tcp_accept {
                let adv = len + u32::from(flags & (SYN | FIN) != 0);
                if from_client { cseq = cseq.wrapping_add(adv) } else { sseq = sseq.wrapping_add(adv) }
            }
            prop_assert!(c.table.len() <= 1);
            c.secs += 1;
        }
    }
}

#[test]
fn reversing_a_udp_flow_swaps_roles_and_counters_and_later_directions() {
    let mut table: FlowTable<u32> = FlowTable::with_seed(FlowConfig::default(), 3);
    let mut ended = Vec::new();
    // A DNS response seen first: its sender became the client.
    let first = table
        .track(&udp(SERVER, 53, CLIENT, 33_000, 10), &mut ended)
        .unwrap();
    assert_eq!(first.direction, Direction::ToServer);
    let flow = table.get_mut(first.handle).unwrap();
    assert!(flow.reverse());
    assert_eq!(flow.client, (ip(CLIENT), 33_000));
    assert_eq!(flow.server, (ip(SERVER), 53));
    assert_eq!((flow.to_server.packets, flow.to_client.packets), (0, 1));
    // The next query from the real client now travels to the server.
    let next = table
        .track(&udp(CLIENT, 33_000, SERVER, 53, 11), &mut ended)
        .unwrap();
    assert_eq!(next.handle, first.handle);
    assert_eq!(next.direction, Direction::ToServer);
    let flow = table.get(first.handle).unwrap();
    assert_eq!((flow.to_server.packets, flow.to_client.packets), (1, 1));
}

#[test]
fn tcp_flows_are_never_reversed() {
    let mut conv = Conv::default_cfg();
    let syn = conv.pkt(true, SYN, CISN, 0, 0);
    let tracked = conv.table.track(&syn, &mut conv.ended).unwrap();
    let flow = conv.table.get_mut(tracked.handle).unwrap();
    assert!(!flow.reverse());
    assert_eq!(flow.client, (ip(CLIENT), CPORT));
}
