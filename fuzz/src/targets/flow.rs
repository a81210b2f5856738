//! The flow table over a sequence of packets decoded from the input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tapwatch_common::Timestamp;
use tapwatch_flow::{
    EndedFlow, FlowConfig, FlowTable, FlowTimeouts, IcmpMeta, PacketMeta, StateTimeouts, TcpMeta,
    TrackError,
};

use crate::input::Input;

/// Most operations run per input.
const MAX_OPS: usize = 4096;
/// Protocols a packet is given.
const PROTOCOLS: [u8; 8] = [6, 6, 6, 17, 17, 1, 58, 47];

/// Tracks packets and expires flows; the table never holds more than `max_flows` flows, a
/// packet's handle finds its flow, and every packet tracked is counted in exactly one flow
/// once the table is drained.
pub fn flow(data: &[u8]) {
    let mut input = Input::new(data);
    let cfgbyte = input.u8();
    let secs = |n: u8| Duration::from_secs(u64::from(n));
    let short = StateTimeouts {
        new: secs(input.u8() % 8),
        established: secs(input.u8() % 16),
        closed: secs(input.u8() % 4),
    };
    let cfg = FlowConfig {
        max_flows: usize::from(input.u8() % 12),
        timeouts: FlowTimeouts {
            tcp: short,
            udp: short,
            icmp: short,
            other: short,
        },
        tcp_midstream: cfgbyte & 1 == 1,
        tcp_async_oneside: cfgbyte & 2 == 2,
        ids: tapwatch_flow::FlowIdSpace::default(),
    };
    let mut table: FlowTable<u32> = FlowTable::new(cfg.clone());
    let mut ended: Vec<EndedFlow<u32>> = Vec::new();
    let mut tracked_packets = 0u64;
    let mut ended_packets = 0u64;
    let mut now = 1_000_000i64;
    for _ in 0..MAX_OPS {
        if input.is_empty() {
            break;
        }
        let op = input.u8();
        now += i64::from(op >> 5);
        let ts = Timestamp::new(now, 0);
        if op & 0x1f == 0x1f {
            table.expire(ts, &mut ended);
        } else {
            let pkt = packet(&mut input, ts, op);
            match table.track(&pkt, &mut ended) {
                Ok(t) => {
                    tracked_packets += 1;
                    let flow = table.get_mut(t.handle);
                    assert!(flow.is_some(), "handle of a tracked packet finds no flow");
                    if let Some(flow) = flow {
                        flow.user += 1;
                        assert_eq!(flow.protocol, pkt.protocol);
                    }
                }
                Err(TrackError::TableFull) => assert_eq!(cfg.max_flows, 0),
                Err(TrackError::MissingTcpHeader) => assert!(pkt.tcp.is_none()),
            }
        }
        assert!(table.len() <= cfg.max_flows, "{} flows", table.len());
        ended_packets += count(&mut ended);
    }
    table.drain(&mut ended);
    ended_packets += count(&mut ended);
    assert!(table.is_empty());
    assert_eq!(
        tracked_packets, ended_packets,
        "packets lost or counted twice"
    );
}

/// Packets counted in the ended flows, which are removed; their user state counted the same.
fn count(ended: &mut Vec<EndedFlow<u32>>) -> u64 {
    let mut n = 0;
    for e in ended.drain(..) {
        let f = &e.flow;
        let packets = f.to_server.packets + f.to_client.packets;
        assert_eq!(
            packets,
            u64::from(f.user),
            "flow counters disagree with its packets"
        );
        n += packets;
    }
    n
}

fn packet(input: &mut Input<'_>, ts: Timestamp, op: u8) -> PacketMeta {
    let v6 = op & 1 == 1;
    let pair = input.u8();
    let (mut src, mut dst) = addresses(v6, pair & 3);
    let ports = input.u8();
    let (mut src_port, mut dst_port) = (
        [80u16, 443, 53, 40_000][usize::from(ports & 3)],
        [80u16, 443, 53, 40_000][usize::from((ports >> 2) & 3)],
    );
    if pair & 4 == 4 {
        std::mem::swap(&mut src, &mut dst);
        std::mem::swap(&mut src_port, &mut dst_port);
    }
    let protocol = PROTOCOLS
        .get(usize::from(ports >> 4) % PROTOCOLS.len())
        .copied()
        .unwrap_or(6);
    let vlan_len = (pair >> 3) % 4;
    let flagsel = input.u8();
    let tcp = (protocol == 6 && flagsel != 0xff).then(|| TcpMeta {
        seq: u32::from(input.u8()) << 8,
        ack: u32::from(input.u8()) << 8,
        flags: flagsel,
        window: input.u16(),
        wscale: (flagsel & 0x40 != 0).then(|| input.u8() % 16),
        sack_permitted: flagsel & 0x80 != 0,
        timestamp: (pair & 0x80 != 0).then(|| (u32::from(input.u8()), u32::from(input.u8()))),
    });
    let icmp = matches!(protocol, 1 | 58).then(|| IcmpMeta {
        icmp_type: input.u8() % 12,
        code: 0,
        id: u16::from(flagsel & 3),
    });
    PacketMeta {
        ts,
        src,
        dst,
        src_port,
        dst_port,
        protocol,
        vlan: [1, 2, 3],
        vlan_len,
        tunnel_id: u64::from(pair >> 6 & 1),
        wire_len: 60 + u32::from(input.u8()),
        payload_len: u32::from(input.u8() % 64),
        tcp,
        icmp,
    }
}

fn addresses(v6: bool, pair: u8) -> (IpAddr, IpAddr) {
    if v6 {
        (
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(pair))),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100)),
        )
    } else {
        (
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, pair)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200)),
        )
    }
}
