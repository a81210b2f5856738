//! Flow table and TCP session tracking for the tapwatch sensor.
//!
//! The pipeline decodes a packet, fills a [`PacketMeta`] and calls [`FlowTable::track`],
//! which finds or creates the packet's flow, counts it, runs the TCP state machine and says
//! whether the segment should go to reassembly. [`FlowTable::expire`] ends idle flows by
//! packet time; [`FlowTable::drain`] ends everything at shutdown.
//!
//! Invariants:
//! - the table never holds more than `max_flows` flows: a full table evicts the flow idle
//!   longest;
//! - nothing on the packet path panics or allocates beyond growing the table to its bound;
//! - flow ids are unique per table, non-zero and below 2^53;
//! - TCP event names are Suricata's `stream-event` names.
#![forbid(unsafe_code)]

mod config;
mod flow;
mod hash;
mod id;
mod idle;
mod key;
mod packet;
mod stats;
mod table;
pub mod tcp;

pub use config::{FlowConfig, FlowIdSpace, FlowTimeouts, StateTimeouts};
pub use flow::{DirectionCounters, EndReason, EndedFlow, Flow, FlowHandle, FlowState};
pub use packet::{
    tcp_flags, IcmpMeta, PacketMeta, TcpMeta, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP,
    IPPROTO_TCP, IPPROTO_UDP,
};
pub use stats::{FlowStats, TcpStats};
pub use table::{FlowTable, TrackError, Tracked};
pub use tapwatch_common::{Direction, Timestamp};
pub use tcp::{TcpEvent, TcpEvents, TcpPeer, TcpSession, TcpState};

#[cfg(test)]
mod tests;
