//! Flow records for the center, converted from the typed record the sensor's EVE output
//! writes (on the batcher thread, off the packet path).

use std::net::IpAddr;

use tapwatch_common::Timestamp;
use tapwatch_eve::{protocol_name, FlowRecord};
use tapwatch_proto::v1;

/// The protobuf record of `r`: the fields its EVE `flow` line carries.
pub fn flow_record(r: &FlowRecord) -> v1::FlowRecord {
    let (client, server) = r.endpoints;
    let body = &r.body;
    let tcp = r.tcp.as_ref().map(|t| v1::TcpFlags {
        tcp_flags: hex(t.flags_ts | t.flags_tc),
        tcp_flags_ts: hex(t.flags_ts),
        tcp_flags_tc: hex(t.flags_tc),
        state: t.state.unwrap_or("").to_string(),
    });
    v1::FlowRecord {
        timestamp_us: micros(r.start),
        flow_id: r.flow_id,
        src_ip: ip_bytes(client.ip),
        dst_ip: ip_bytes(server.ip),
        src_port: client.port.map_or(0, u32::from),
        dst_port: server.port.map_or(0, u32::from),
        ip_protocol: u32::from(r.proto),
        proto: protocol_name(r.proto).into_owned(),
        ip_version: if client.ip.is_ipv4() { 4 } else { 6 },
        app_proto: r.app_proto.unwrap_or("").to_string(),
        vlan: r.vlan.iter().map(|v| u32::from(*v)).collect(),
        tunnel: None,
        in_iface: String::new(),
        pkts_toserver: body.pkts_toserver,
        pkts_toclient: body.pkts_toclient,
        bytes_toserver: body.bytes_toserver,
        bytes_toclient: body.bytes_toclient,
        start_us: micros(body.start),
        end_us: micros(body.end),
        // As the EVE record writes it: end seconds minus start seconds.
        age: u64::try_from(body.end.secs - body.start.secs).unwrap_or(0),
        state: body.state.to_string(),
        reason: body.reason.to_string(),
        alerted: body.alerted,
        tcp,
        community_id: String::new(),
        icmp_type: r.icmp.map(|(t, _)| u32::from(t)),
        icmp_code: r.icmp.map(|(_, c)| u32::from(c)),
        response_icmp_type: None,
        response_icmp_code: None,
        app_proto_ts: String::new(),
        app_proto_tc: String::new(),
    }
}

/// Microseconds since the epoch, as the EVE timestamp's six digits give them.
fn micros(ts: Timestamp) -> i64 {
    ts.secs
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(ts.micros()))
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// A byte as two lower-case hex digits, as the EVE `tcp` object writes flags.
fn hex(b: u8) -> String {
    format!("{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_eve::{Endpoint, EveWriter, FlowBody, TcpFlagsBody};

    pub(crate) fn record(v6: bool, tcp: bool) -> FlowRecord {
        let at = Timestamp::new(1_700_000_000, 123_456_789);
        let end = Timestamp::new(1_700_000_042, 5_000);
        let (a, b): (IpAddr, IpAddr) = if v6 {
            (
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            )
        } else {
            ("10.0.0.1".parse().unwrap(), "192.0.2.9".parse().unwrap())
        };
        FlowRecord {
            start: at,
            flow_id: 77,
            vlan: vec![10, 20],
            endpoints: (
                Endpoint {
                    ip: a,
                    port: tcp.then_some(40000),
                },
                Endpoint {
                    ip: b,
                    port: tcp.then_some(443),
                },
            ),
            proto: if tcp { 6 } else { 1 },
            icmp: (!tcp).then_some((8, 0)),
            app_proto: tcp.then_some("tls"),
            body: FlowBody {
                pkts_toserver: 5,
                pkts_toclient: 4,
                bytes_toserver: 700,
                bytes_toclient: 9000,
                start: at,
                end,
                state: "closed",
                reason: "timeout",
                alerted: true,
            },
            tcp: tcp.then_some(TcpFlagsBody {
                flags_ts: 0x1b,
                flags_tc: 0x13,
                state: Some("closed"),
            }),
        }
    }

    /// The record the center stores equals what its EVE reader makes of the EVE line written
    /// from the same value.
    #[test]
    fn the_exported_record_is_what_the_center_reads_from_the_eve_line() {
        for (v6, tcp) in [(false, true), (true, true), (false, false), (true, false)] {
            let r = record(v6, tcp);
            let mut line = EveWriter::new(Vec::new());
            r.write_to(&mut line).unwrap();
            let v: serde_json::Value = serde_json::from_slice(line.get_ref()).unwrap();
            let from_eve = tapwatch_proto::eve::flow_record_from_eve(&v).unwrap();
            assert_eq!(flow_record(&r), from_eve, "v6 {v6}, tcp {tcp}");
        }
    }
}
