//! Run counters: what the worker saw, for the end-of-run summary and the EVE `stats` record.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use tapwatch_common::{DecodeEvent, StreamEvent};
use tapwatch_defrag::Defragmenter;
use tapwatch_flow::{EndReason, Flow, FlowTable};
use tapwatch_stream::Reassembler;
use tapwatch_wire::{Decoded, Transport, TunnelKind};

use crate::worker::FlowState;

/// Counters of one worker. Updated per packet with plain additions; maps are touched only
/// when something rare (an event, a new flow) happens.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    /// Packets read.
    pub packets: u64,
    /// Bytes of captured frames read.
    pub bytes: u64,
    /// Largest frame seen.
    pub max_packet_size: u64,
    /// Packets with an IPv4 layer.
    pub ipv4: u64,
    /// Packets with an IPv6 layer.
    pub ipv6: u64,
    /// Packets with a TCP header.
    pub tcp: u64,
    /// Packets with a UDP header.
    pub udp: u64,
    /// Packets with an ICMPv4 header.
    pub icmpv4: u64,
    /// Packets with an ICMPv6 header.
    pub icmpv6: u64,
    /// Packets with an SCTP header.
    pub sctp: u64,
    /// Packets with at least one VLAN tag.
    pub vlan: u64,
    /// Packets with two VLAN tags.
    pub vlan_qinq: u64,
    /// Packets with three VLAN tags.
    pub vlan_qinqinq: u64,
    /// Packets that came out of a tunnel, by tunnel kind.
    pub tunnels: BTreeMap<&'static str, u64>,
    /// Packets that were not IP (ARP, LLDP, ...), or whose IP layer could not be read.
    pub not_ip: u64,
    /// Packets on which decoding raised at least one event.
    pub invalid: u64,
    /// Decode events raised by the decoder.
    pub decode_events: BTreeMap<DecodeEvent, u64>,
    /// IP fragments seen.
    pub fragments: u64,
    /// Decode events raised by defragmentation.
    pub defrag_events: BTreeMap<DecodeEvent, u64>,
    /// Packets dropped because the flow table was full and nothing could be evicted.
    pub flow_table_full: u64,
    /// Packets with a bad IPv4 header or transport checksum (only with checksum validation on).
    pub invalid_checksum: u64,
    /// TCP segments with a bad checksum (only with checksum validation on).
    pub tcp_invalid_checksum: u64,
    /// TCP session and reassembly events.
    pub stream_events: BTreeMap<StreamEvent, u64>,
    /// Flows whose application protocol was detected, by protocol.
    pub app_flows: BTreeMap<&'static str, u64>,
    /// Application-layer anomalies by name.
    pub app_events: BTreeMap<&'static str, u64>,
    /// HTTP transactions completed.
    pub http_tx: u64,
    /// Files that ended (HTTP bodies; one `fileinfo` record each when files are logged).
    pub files: u64,
    /// mDNS messages parsed.
    pub mdns_tx: u64,
    /// DNS messages parsed over UDP.
    pub dns_udp_tx: u64,
    /// DNS messages parsed over TCP.
    pub dns_tcp_tx: u64,
    /// TLS handshakes logged.
    pub tls_tx: u64,
    /// SSH sessions logged (not yet in the stats record, whose layout the golden test fixes).
    pub ssh_tx: u64,
    /// MQTT transactions (not yet in the stats record, whose layout the golden test fixes).
    pub mqtt_tx: u64,
    /// SMB tree connects and creates seen.
    pub smb_events: u64,
    /// File data bytes handed to inspection (SMB reads and writes).
    pub file_data_bytes: u64,
    /// Flows ended, by protocol name.
    pub flows_by_proto: BTreeMap<&'static str, u64>,
    /// Flows ended, by state at the end.
    pub flows_by_state: BTreeMap<&'static str, u64>,
    /// Flows ended by the flow table to make room.
    pub flows_evicted: u64,
    /// TCP flows whose application protocol detection failed.
    pub app_failed_tcp: u64,
}

impl std::ops::AddAssign<&Counters> for Counters {
    /// Adds another worker's counters: the run's totals are the sum over its workers (the
    /// largest frame is the largest of theirs).
    fn add_assign(&mut self, other: &Counters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.max_packet_size = self.max_packet_size.max(other.max_packet_size);
        self.ipv4 += other.ipv4;
        self.ipv6 += other.ipv6;
        self.tcp += other.tcp;
        self.udp += other.udp;
        self.icmpv4 += other.icmpv4;
        self.icmpv6 += other.icmpv6;
        self.sctp += other.sctp;
        self.vlan += other.vlan;
        self.vlan_qinq += other.vlan_qinq;
        self.vlan_qinqinq += other.vlan_qinqinq;
        add_map(&mut self.tunnels, &other.tunnels);
        self.not_ip += other.not_ip;
        self.invalid += other.invalid;
        add_map(&mut self.decode_events, &other.decode_events);
        self.fragments += other.fragments;
        add_map(&mut self.defrag_events, &other.defrag_events);
        self.flow_table_full += other.flow_table_full;
        self.invalid_checksum += other.invalid_checksum;
        self.tcp_invalid_checksum += other.tcp_invalid_checksum;
        add_map(&mut self.stream_events, &other.stream_events);
        add_map(&mut self.app_flows, &other.app_flows);
        add_map(&mut self.app_events, &other.app_events);
        self.http_tx += other.http_tx;
        self.files += other.files;
        self.mdns_tx += other.mdns_tx;
        self.dns_udp_tx += other.dns_udp_tx;
        self.dns_tcp_tx += other.dns_tcp_tx;
        self.tls_tx += other.tls_tx;
        self.ssh_tx += other.ssh_tx;
        self.mqtt_tx += other.mqtt_tx;
        self.smb_events += other.smb_events;
        self.file_data_bytes += other.file_data_bytes;
        add_map(&mut self.flows_by_proto, &other.flows_by_proto);
        add_map(&mut self.flows_by_state, &other.flows_by_state);
        self.flows_evicted += other.flows_evicted;
        self.app_failed_tcp += other.app_failed_tcp;
    }
}

fn add_map<K: Ord + Copy>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
    for (k, v) in from {
        *into.entry(*k).or_insert(0) += v;
    }
}

/// Typed counters by their names, for reports (never on the packet path).
fn by_name<K: Copy>(
    map: &BTreeMap<K, u64>,
    name: impl Fn(K) -> &'static str,
) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    for (k, v) in map {
        *out.entry(name(*k)).or_insert(0) += v;
    }
    out
}

/// What the `stats` record reads from a worker's tables besides its [`Counters`], as plain
/// values that add up over workers.
#[derive(Debug, Clone, Default)]
pub struct TableStats {
    /// The flow table's counters.
    pub flows: tapwatch_flow::FlowStats,
    /// Flows in the table now.
    pub active_flows: usize,
    /// TCP reassembly counters.
    pub stream: tapwatch_stream::StreamStats,
    /// Defragmentation counters.
    pub defrag: tapwatch_defrag::DefragStats,
}

impl TableStats {
    /// The figures of one worker's tables now.
    pub fn of(
        flows: &FlowTable<FlowState>,
        reassembler: &Reassembler,
        defrag: &Defragmenter,
    ) -> Self {
        Self {
            flows: flows.stats().clone(),
            active_flows: flows.len(),
            stream: reassembler.stats().clone(),
            defrag: *defrag.stats(),
        }
    }
}

impl std::ops::AddAssign<&TableStats> for TableStats {
    fn add_assign(&mut self, other: &TableStats) {
        self.flows += &other.flows;
        self.active_flows += other.active_flows;
        self.stream += &other.stream;
        self.defrag += &other.defrag;
    }
}

fn bump<K: Ord>(map: &mut BTreeMap<K, u64>, key: K) {
    *map.entry(key).or_insert(0) += 1;
}

impl Counters {
    /// Counts a decoded packet's layers and events.
    pub fn count_decoded(&mut self, d: &Decoded<'_>) {
        match d.ip.as_ref().map(|ip| ip.version) {
            Some(4) => self.ipv4 += 1,
            Some(6) => self.ipv6 += 1,
            _ => self.not_ip += 1,
        }
        match d.transport {
            Transport::Tcp(_) => self.tcp += 1,
            Transport::Udp(_) => self.udp += 1,
            Transport::Icmpv4(_) => self.icmpv4 += 1,
            Transport::Icmpv6(_) => self.icmpv6 += 1,
            Transport::Sctp(_) => self.sctp += 1,
            Transport::None | Transport::Other(_) => {}
        }
        match d.vlan.ids().len() {
            0 => {}
            1 => self.vlan += 1,
            2 => {
                self.vlan += 1;
                self.vlan_qinq += 1;
            }
            _ => {
                self.vlan += 1;
                self.vlan_qinqinq += 1;
            }
        }
        if let Some(name) = tunnel_stat_name(d) {
            bump(&mut self.tunnels, name);
        }
        if !d.events.is_empty() {
            self.invalid += 1;
            for e in d.events.iter() {
                bump(&mut self.decode_events, e);
            }
        }
    }

    /// Counts defragmentation events.
    pub fn count_defrag_events(&mut self, events: impl Iterator<Item = DecodeEvent>) {
        for e in events {
            bump(&mut self.defrag_events, e);
        }
    }

    /// Counts a TCP session or reassembly event.
    pub fn count_stream_event(&mut self, event: StreamEvent) {
        bump(&mut self.stream_events, event);
    }

    /// Decoder events by Suricata's name (without `decoder.`), for reports.
    pub fn decode_events_by_name(&self) -> BTreeMap<&'static str, u64> {
        by_name(&self.decode_events, DecodeEvent::name)
    }

    /// Defragmentation events by Suricata's name (without `decoder.`), for reports.
    pub fn defrag_events_by_name(&self) -> BTreeMap<&'static str, u64> {
        by_name(&self.defrag_events, DecodeEvent::name)
    }

    /// Stream events by Suricata's name (without `stream.`), for reports.
    pub fn stream_events_by_name(&self) -> BTreeMap<&'static str, u64> {
        by_name(&self.stream_events, StreamEvent::name)
    }

    /// Counts a flow whose protocol was detected.
    pub fn count_app_flow(&mut self, proto: &'static str) {
        bump(&mut self.app_flows, proto);
    }

    /// Counts an application-layer anomaly.
    pub fn count_app_event(&mut self, name: &'static str) {
        bump(&mut self.app_events, name);
    }

    /// Counts a flow that ended.
    pub fn count_flow_end(&mut self, flow: &Flow<FlowState>, reason: EndReason) {
        bump(&mut self.flows_by_proto, proto_key(flow.protocol));
        bump(&mut self.flows_by_state, flow.state.name());
        if matches!(reason, EndReason::Evicted) {
            self.flows_evicted += 1;
        }
        if flow.protocol == 6 && flow.user.app_failed() {
            self.app_failed_tcp += 1;
        }
    }

    /// Decode events of every kind, total.
    pub fn decode_event_total(&self) -> u64 {
        self.decode_events.values().sum::<u64>() + self.defrag_events.values().sum::<u64>()
    }

    /// Flows ended, total.
    pub fn flows_total(&self) -> u64 {
        self.flows_by_proto.values().sum()
    }

    /// The `stats` object of the EVE `stats` record, with Suricata's names and nesting.
    pub fn stats_record(&self, tables: &TableStats) -> Value {
        let mut decoder = Map::new();
        decoder.insert("pkts".into(), json!(self.packets));
        decoder.insert("bytes".into(), json!(self.bytes));
        decoder.insert("invalid".into(), json!(self.invalid));
        decoder.insert("ipv4".into(), json!(self.ipv4));
        decoder.insert("ipv6".into(), json!(self.ipv6));
        decoder.insert("tcp".into(), json!(self.tcp));
        decoder.insert("udp".into(), json!(self.udp));
        decoder.insert("sctp".into(), json!(self.sctp));
        decoder.insert("icmpv4".into(), json!(self.icmpv4));
        decoder.insert("icmpv6".into(), json!(self.icmpv6));
        decoder.insert("vlan".into(), json!(self.vlan));
        decoder.insert("vlan_qinq".into(), json!(self.vlan_qinq));
        decoder.insert("vlan_qinqinq".into(), json!(self.vlan_qinqinq));
        for (kind, n) in &self.tunnels {
            decoder.insert((*kind).into(), json!(n));
        }
        let avg = self.bytes.checked_div(self.packets).unwrap_or(0);
        decoder.insert("avg_pkt_size".into(), json!(avg));
        decoder.insert("max_pkt_size".into(), json!(self.max_packet_size));
        // decoder.event.<layer>.<name>, as Suricata nests its decoder event counters; events
        // without a layer (`too_many_layers`) are counters of the decoder itself.
        let mut events = Map::new();
        for (e, n) in self.decode_events.iter().chain(self.defrag_events.iter()) {
            let name = e.name();
            let Some((layer, event)) = name.split_once('.') else {
                decoder.insert(name.into(), json!(n));
                continue;
            };
            let layer = events
                .entry(layer)
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = layer {
                m.insert(event.into(), json!(n));
            }
        }
        decoder.insert("event".into(), Value::Object(events));

        let fs = &tables.flows;
        let flow = json!({
            "total": self.flows_total(),
            "tcp": self.flows_by_proto.get("tcp").copied().unwrap_or(0),
            "udp": self.flows_by_proto.get("udp").copied().unwrap_or(0),
            "icmpv4": self.flows_by_proto.get("icmpv4").copied().unwrap_or(0),
            "icmpv6": self.flows_by_proto.get("icmpv6").copied().unwrap_or(0),
            "active": tables.active_flows,
            "end": {
                "state": {
                    "new": self.flows_by_state.get("new").copied().unwrap_or(0),
                    "established": self.flows_by_state.get("established").copied().unwrap_or(0),
                    "closed": self.flows_by_state.get("closed").copied().unwrap_or(0),
                }
            },
        });
        let ss = &tables.stream;
        let tcp = json!({
            "sessions": fs.tcp.sessions,
            "ack_unseen_data": fs.tcp.ack_unseen_data,
            "invalid_checksum": self.tcp_invalid_checksum,
            "midstream_pickups": fs.tcp.midstream_pickups,
            "reassembly_gap": ss.gaps,
            "overlap": ss.overlaps,
            "overlap_diff_data": ss.overlaps_different_data,
            "stream_depth_reached": ss.depth_reached,
            "segment_memcap_drop": ss.memcap_drops,
            "reassembly_memuse": ss.in_use_bytes,
        });
        let ds = &tables.defrag;
        let defrag = json!({
            "ipv4": { "fragments": ds.ipv4_fragments, "reassembled": ds.ipv4_reassembled, "timeouts": ds.ipv4_timeouts },
            "ipv6": { "fragments": ds.ipv6_fragments, "reassembled": ds.ipv6_reassembled, "timeouts": ds.ipv6_timeouts },
            "max_trackers_reached": ds.max_trackers_reached,
            "max_frags_reached": ds.max_frags_reached,
            // Incomplete datagrams dropped to stay under the memcap: Suricata's name for a
            // tracker force-closed before completion.
            "tracker_hard_reuse": ds.memcap_drops,
            "memuse": ds.bytes_in_use,
        });
        let mut app_flow = Map::new();
        for (proto, n) in &self.app_flows {
            app_flow.insert((*proto).into(), json!(n));
        }
        app_flow.insert("failed_tcp".into(), json!(self.app_failed_tcp));
        let app_layer = json!({
            "flow": app_flow,
            "tx": {
                "http": self.http_tx,
                "dns_udp": self.dns_udp_tx,
                "dns_tcp": self.dns_tcp_tx,
                "mdns": self.mdns_tx,
                "tls": self.tls_tx,
            },
        });
        json!({
            "decoder": decoder,
            "flow": flow,
            "tcp": tcp,
            "defrag": defrag,
            "app_layer": app_layer,
        })
    }
}

/// Suricata's decoder counter name for the tunnel a packet came out of.
fn tunnel_stat_name(d: &Decoded<'_>) -> Option<&'static str> {
    Some(match d.tunnel.kind {
        TunnelKind::None => return None,
        TunnelKind::Gre { .. } | TunnelKind::Pptp { .. } => "gre",
        TunnelKind::Vxlan { .. } => "vxlan",
        TunnelKind::Geneve { .. } => "geneve",
        TunnelKind::Erspan { .. } => "erspan",
        TunnelKind::Teredo => "teredo",
        TunnelKind::Mpls { .. } => "mpls",
        TunnelKind::IpInIp => {
            let outer_v4 = d.tunnel.outer.is_some_and(|(src, _)| src.is_ipv4());
            let inner_v4 = d.ip.as_ref().is_some_and(|ip| ip.version == 4);
            match (outer_v4, inner_v4) {
                (true, true) => "ipv4_in_ipv4",
                (true, false) => "ipv6_in_ipv4",
                (false, true) => "ipv4_in_ipv6",
                (false, false) => "ipv6_in_ipv6",
            }
        }
    })
}

fn proto_key(proto: u8) -> &'static str {
    match proto {
        6 => "tcp",
        17 => "udp",
        1 => "icmpv4",
        58 => "icmpv6",
        132 => "sctp",
        _ => "other",
    }
}
