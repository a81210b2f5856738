//! Flow records: what the table knows about one flow, and why a flow ended.

use std::net::IpAddr;

use tapwatch_common::{Direction, Timestamp};

use crate::tcp::TcpSession;

/// Refers to a live flow in a [`FlowTable`](crate::FlowTable).
///
/// A handle stays valid until its flow ends; afterwards lookups with it return `None`, even
/// when the table reuses the slot for another flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowHandle {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// Packet and byte counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DirectionCounters {
    /// Packets seen.
    pub packets: u64,
    /// Bytes on the wire (sum of `PacketMeta::wire_len`).
    pub bytes: u64,
}

/// The lifecycle state of a flow, which selects its idle timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowState {
    /// TCP: handshake not complete. Others: only one side has sent packets.
    New,
    /// TCP: handshake complete or picked up. Others: both sides sent packets.
    Established,
    /// TCP only: last_ack, time_wait or closed.
    Closed,
}

impl FlowState {
    /// Number of states (size of per-state arrays).
    pub(crate) const COUNT: usize = 3;

    /// Suricata's name of the state, as in EVE's `flow.state`.
    pub fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Established => "established",
            Self::Closed => "closed",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::New => 0,
            Self::Established => 1,
            Self::Closed => 2,
        }
    }
}

/// One tracked flow.
#[derive(Debug, Clone)]
pub struct Flow<T> {
    /// Unique, stable, non-zero and below 2^53 (exact as a JSON number).
    pub id: u64,
    /// The client: the sender of the first packet, except as described on
    /// [`FlowTable::track`](crate::FlowTable::track). Ports are zero for protocols other than
    /// TCP, UDP and SCTP.
    pub client: (IpAddr, u16),
    /// The server.
    pub server: (IpAddr, u16),
    /// IP protocol number.
    pub protocol: u8,
    /// VLAN ids, outermost first; `vlan_len` are valid, the rest are zero.
    pub vlan: [u16; 3],
    /// Number of valid VLAN ids.
    pub vlan_len: u8,
    /// Tunnel identifier from the packets (0: not tunnelled).
    pub tunnel_id: u64,
    /// Time of the first packet.
    pub start: Timestamp,
    /// Latest packet time seen (never moves backwards).
    pub last: Timestamp,
    /// Client-to-server counters.
    pub to_server: DirectionCounters,
    /// Server-to-client counters.
    pub to_client: DirectionCounters,
    /// The TCP session, for TCP flows.
    pub tcp: Option<TcpSession>,
    /// Lifecycle state.
    pub state: FlowState,
    /// The pipeline's per-flow state.
    pub user: T,
}

impl<T> Flow<T> {
    /// The direction of a packet sent from `src`/`src_port` (key ports: zero for portless
    /// protocols). A packet whose source is not the client travels to the client.
    pub fn direction_from(&self, src: IpAddr, src_port: u16) -> Direction {
        if (src, src_port) == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// The counters of `dir`.
    pub fn counters(&self, dir: Direction) -> &DirectionCounters {
        match dir {
            Direction::ToServer => &self.to_server,
            Direction::ToClient => &self.to_client,
        }
    }

    pub(crate) fn counters_mut(&mut self, dir: Direction) -> &mut DirectionCounters {
        match dir {
            Direction::ToServer => &mut self.to_server,
            Direction::ToClient => &mut self.to_client,
        }
    }

    /// Makes the server the client and the client the server, with their counters, for when
    /// the application layer learns that the flow's first packet was a reply (a DNS response
    /// seen before its query, say), as Suricata turns such flows round. TCP flows keep the
    /// roles their handshake gave them: for them this does nothing and returns false.
    pub fn reverse(&mut self) -> bool {
        if self.tcp.is_some() {
            return false;
        }
        self.swap_roles();
        true
    }

    /// Exchanges client and server (and their counters and TCP sides).
    pub(crate) fn swap_roles(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        std::mem::swap(&mut self.to_server, &mut self.to_client);
        if let Some(tcp) = self.tcp.as_mut() {
            tcp.swap_roles();
        }
    }

    /// The state this flow is in after its latest packet.
    pub(crate) fn derived_state(&self) -> FlowState {
        match &self.tcp {
            Some(tcp) if tcp.state.is_closed_for_timeout() => FlowState::Closed,
            Some(tcp) if tcp.state.is_synchronised() => FlowState::Established,
            Some(_) => FlowState::New,
            None if self.to_server.packets > 0 && self.to_client.packets > 0 => {
                FlowState::Established
            }
            None => FlowState::New,
        }
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// Idle past its state's timeout.
    Timeout,
    /// Pushed out of a full table to make room (oldest idle first).
    Evicted,
    /// Ended by [`FlowTable::drain`](crate::FlowTable::drain).
    Shutdown,
    /// A TCP flow in time_wait or closed saw a new SYN on the same 5-tuple: the old flow ends
    /// with this reason and the SYN starts a new flow (new id).
    TcpReuse,
}

impl EndReason {
    /// Suricata's EVE `flow.reason` for this reason: "timeout", "forced" (eviction is
    /// Suricata's forced end), "shutdown", "tcp_reuse".
    pub fn name(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Evicted => "forced",
            Self::Shutdown => "shutdown",
            Self::TcpReuse => "tcp_reuse",
        }
    }
}

/// A flow that left the table, with the reason.
#[derive(Debug, Clone)]
pub struct EndedFlow<T> {
    /// The flow as it was when it ended. Boxed: flows live in their own allocation in the
    /// table, so ending one moves a pointer, not the flow and its user state.
    pub flow: Box<Flow<T>>,
    /// Why it ended.
    pub reason: EndReason,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn flow() -> Flow<()> {
        Flow {
            id: 1,
            client: (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 1000),
            server: (IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80),
            protocol: 17,
            vlan: [0; 3],
            vlan_len: 0,
            tunnel_id: 0,
            start: Timestamp::new(1, 0),
            last: Timestamp::new(1, 0),
            to_server: DirectionCounters {
                packets: 1,
                bytes: 10,
            },
            to_client: DirectionCounters::default(),
            tcp: None,
            state: FlowState::New,
            user: (),
        }
    }

    #[test]
    fn direction_and_swap() {
        let mut f = flow();
        let c = f.client;
        assert_eq!(f.direction_from(c.0, c.1), Direction::ToServer);
        assert_eq!(f.direction_from(f.server.0, 80), Direction::ToClient);
        assert_eq!(f.derived_state(), FlowState::New);
        f.swap_roles();
        assert_eq!(f.server, c);
        assert_eq!(f.to_client.bytes, 10);
        assert_eq!(f.counters(Direction::ToServer).packets, 0);
        f.to_server.packets = 1;
        assert_eq!(f.derived_state(), FlowState::Established);
    }

    #[test]
    fn names() {
        assert_eq!(FlowState::Established.name(), "established");
        assert_eq!(EndReason::Evicted.name(), "forced");
        assert_eq!(EndReason::TcpReuse.name(), "tcp_reuse");
        assert_eq!(EndReason::Timeout.name(), "timeout");
        assert_eq!(EndReason::Shutdown.name(), "shutdown");
    }
}
