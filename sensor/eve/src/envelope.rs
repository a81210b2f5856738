//! The common part of every EVE record.

use std::net::IpAddr;

use tapwatch_common::Timestamp;

/// The `event_type` of a record, which is also the key of its own object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// An HTTP transaction (`http`).
    Http,
    /// A DNS message (`dns`).
    Dns,
    /// A multicast DNS message (`mdns`).
    Mdns,
    /// A TLS handshake (`tls`).
    Tls,
    /// An SSH session's identification strings (`ssh`).
    Ssh,
    /// An MQTT transaction (`mqtt`).
    Mqtt,
    /// A file a transaction carried (`fileinfo`).
    Fileinfo,
    /// A rule matched (`alert`).
    Alert,
    /// A flow that ended (`flow`).
    Flow,
    /// A protocol or decoding anomaly (`anomaly`).
    Anomaly,
    /// Engine statistics (`stats`).
    Stats,
}

impl EventType {
    /// The `event_type` value and object key.
    pub fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Dns => "dns",
            Self::Mdns => "mdns",
            Self::Tls => "tls",
            Self::Ssh => "ssh",
            Self::Mqtt => "mqtt",
            Self::Fileinfo => "fileinfo",
            Self::Alert => "alert",
            Self::Flow => "flow",
            Self::Anomaly => "anomaly",
            Self::Stats => "stats",
        }
    }
}

/// What caused a record to be written, shown as `pkt_src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketSource {
    /// A packet read from the wire or a capture file (`wire/pcap`).
    Wire,
    /// A reassembled IP datagram (`defrag`).
    Defrag,
    /// The end of a flow, when no packet triggered the record (`stream (flow timeout)`).
    FlowTimeout,
}

impl PacketSource {
    /// The `pkt_src` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Wire => "wire/pcap",
            Self::Defrag => "defrag",
            Self::FlowTimeout => "stream (flow timeout)",
        }
    }
}

/// An address and, for protocols with ports, a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    /// The IP address.
    pub ip: IpAddr,
    /// The port, for TCP, UDP and SCTP.
    pub port: Option<u16>,
}

/// The fields every record starts with, in Suricata's order.
#[derive(Debug, Clone, Copy)]
pub struct Envelope<'a> {
    /// Packet time of the event (the flow's start for `flow` records).
    pub timestamp: Timestamp,
    /// The flow's id, when the event belongs to a flow.
    pub flow_id: Option<u64>,
    /// The 1-based number of the packet in the capture that triggered the record.
    pub pcap_cnt: Option<u64>,
    /// The kind of record.
    pub event_type: EventType,
    /// VLAN ids, outermost first; omitted when empty.
    pub vlan: &'a [u16],
    /// Source and destination, when the event has them.
    pub endpoints: Option<(Endpoint, Endpoint)>,
    /// IP protocol number.
    pub proto: Option<u8>,
    /// What caused the record; omitted when `None` (flow and stats records).
    pub pkt_src: Option<PacketSource>,
    /// ICMP type and code, for ICMP flows.
    pub icmp: Option<(u8, u8)>,
    /// The transaction id within the flow, for app-layer records.
    pub tx_id: Option<u64>,
    /// The flow's application protocol (`flow` records and alerts).
    pub app_proto: Option<&'a str>,
}

impl<'a> Envelope<'a> {
    /// An envelope with only a timestamp and an event type.
    pub fn new(timestamp: Timestamp, event_type: EventType) -> Self {
        Self {
            timestamp,
            flow_id: None,
            pcap_cnt: None,
            event_type,
            vlan: &[],
            endpoints: None,
            proto: None,
            pkt_src: None,
            icmp: None,
            tx_id: None,
            app_proto: None,
        }
    }
}
