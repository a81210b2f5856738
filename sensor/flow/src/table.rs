//! The flow table: lookup, creation, TCP tracking, expiry and eviction.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use tapwatch_common::{Direction, Timestamp};

use crate::config::{FlowConfig, ProtoClass};
use crate::flow::{DirectionCounters, EndReason, EndedFlow, Flow, FlowHandle, FlowState};
use crate::hash::SeededState;
use crate::id::FlowIdGen;
use crate::idle::IdleLists;
use crate::key::{key_ports, FlowKey};
use crate::packet::{tcp_flags, PacketMeta, TcpMeta, IPPROTO_TCP};
use crate::stats::FlowStats;
use crate::tcp::{TcpEvents, TcpPolicy, TcpSession};

/// One idle list per (protocol family, flow state).
const LISTS: usize = ProtoClass::COUNT * FlowState::COUNT;

/// Largest number of slots a table can index (`u32::MAX` is the lists' "none").
const MAX_SLOTS: usize = (u32::MAX - 1) as usize;

/// The result of tracking one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// The packet's flow.
    pub handle: FlowHandle,
    /// The packet's direction within the flow.
    pub direction: Direction,
    /// Whether this packet created the flow.
    pub created: bool,
    /// TCP session events this packet raised (empty for other protocols).
    pub tcp_events: TcpEvents,
    /// Whether the packet should go to TCP reassembly: false for non-TCP packets, before a
    /// session exists (no handshake seen and no midstream pickup), for segments that failed
    /// sequence/ack/window/timestamp validation, for fully acknowledged retransmissions, and
    /// after the session closed.
    pub tcp_accept: bool,
}

/// Why a packet could not be tracked. Each case is also counted in [`FlowStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackError {
    /// The table is full and no flow could be evicted (only when `max_flows` is 0).
    TableFull,
    /// A TCP packet (protocol 6) came without [`TcpMeta`].
    MissingTcpHeader,
}

impl fmt::Display for TrackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TableFull => "flow table full and nothing to evict",
            Self::MissingTcpHeader => "TCP packet without TCP header facts",
        })
    }
}

impl std::error::Error for TrackError {}

#[derive(Debug)]
struct Entry<T> {
    key: FlowKey,
    /// Creation order, for `drain`.
    serial: u64,
    /// Boxed so that a slot stays small (the slab of slots grows to the peak number of live
    /// flows) and so that creating and ending a flow moves a pointer, not the flow's state.
    flow: Box<Flow<T>>,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    entry: Option<Entry<T>>,
}

/// A bounded table of flows with per-flow user state `T`.
///
/// Owned by one worker; nothing is shared. Lookups hash a canonical key with a per-table
/// seeded hasher; flows live in a slab of at most `max_flows` slots, reused after a flow ends.
/// Per-packet work allocates nothing once the slab and map reached their working size.
#[derive(Debug)]
pub struct FlowTable<T> {
    cfg: FlowConfig,
    max_flows: usize,
    map: HashMap<FlowKey, u32, SeededState>,
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    idle: IdleLists<LISTS>,
    ids: FlowIdGen,
    next_serial: u64,
    stats: FlowStats,
}

impl<T: Default> FlowTable<T> {
    /// An empty table.
    pub fn new(cfg: FlowConfig) -> Self {
        let hasher = SeededState::random();
        let id_key = cfg.ids.key.unwrap_or_else(|| {
            use std::hash::BuildHasher;
            hasher.hash_one(0x666c_6f77_u64)
        });
        Self::with_hasher(cfg, hasher, id_key)
    }

    fn with_hasher(cfg: FlowConfig, hasher: SeededState, id_key: u64) -> Self {
        let max_flows = cfg.max_flows.min(MAX_SLOTS);
        Self {
            map: HashMap::with_capacity_and_hasher(max_flows.min(4096), hasher),
            slots: Vec::new(),
            free: Vec::new(),
            idle: IdleLists::new(),
            ids: FlowIdGen::new(id_key, cfg.ids.index, cfg.ids.of),
            next_serial: 0,
            stats: FlowStats::default(),
            max_flows,
            cfg,
        }
    }

    /// Finds or creates the packet's flow, updates counters and TCP state. Flows pushed out
    /// to make room (reason [`EndReason::Evicted`]) or replaced by TCP port reuse
    /// ([`EndReason::TcpReuse`]) are appended to `ended`.
    ///
    /// Roles in a new flow: the sender of the first packet is the client, except
    /// - TCP whose first packet is a SYN/ACK: its sender is the server;
    /// - with `tcp_midstream`, TCP whose first packet has ACK set and SYN and RST clear
    ///   (PSH, FIN, URG, ECE, CWR allowed) and goes from a port below 1024 to a port of 1024
    ///   or above: its sender is the server.
    ///
    /// While a TCP flow has no session, a later SYN from the server side or SYN/ACK from the
    /// client side swaps the roles (counters move with them).
    pub fn track(
        &mut self,
        pkt: &PacketMeta,
        ended: &mut Vec<EndedFlow<T>>,
    ) -> Result<Tracked, TrackError> {
        let tcp_meta = match (pkt.protocol, pkt.tcp) {
            (IPPROTO_TCP, None) => {
                self.stats.missing_tcp_header += 1;
                return Err(TrackError::MissingTcpHeader);
            }
            (IPPROTO_TCP, Some(t)) => Some(t),
            _ => None,
        };
        let (key, _) = FlowKey::from_packet(pkt);
        let (src_port, _) = key_ports(pkt);
        let mut created = false;
        let index = match self.map.get(&key).copied() {
            Some(index) if self.is_port_reuse(index, pkt, src_port, tcp_meta.as_ref()) => {
                self.end_slot(index, EndReason::TcpReuse, ended);
                created = true;
                self.create(key, pkt, ended)?
            }
            // Timed out but not yet swept: the packet starts a new flow, as if the sweep had
            // run just before it (Suricata, too, checks the timeout when a lookup finds a
            // flow). So a flow's life does not depend on when sweeps happen to run.
            Some(index) if self.timed_out_at(index, pkt.ts) => {
                self.end_slot(index, EndReason::Timeout, ended);
                created = true;
                self.create(key, pkt, ended)?
            }
            Some(index) => index,
            None => {
                created = true;
                self.create(key, pkt, ended)?
            }
        };
        let policy = TcpPolicy {
            midstream: self.cfg.tcp_midstream,
            async_oneside: self.cfg.tcp_async_oneside,
        };
        let Some(slot) = self.slots.get_mut(index as usize) else {
            // Unreachable: the map only holds indices of live slots.
            return Err(TrackError::TableFull);
        };
        let generation = slot.generation;
        let Some(entry) = slot.entry.as_mut() else {
            return Err(TrackError::TableFull);
        };
        let flow = &mut entry.flow;
        let mut direction = flow.direction_from(pkt.src, src_port);
        flow.last = flow.last.max(pkt.ts);

        let mut tcp_events = TcpEvents::EMPTY;
        let mut tcp_accept = false;
        if let Some(meta) = tcp_meta.as_ref() {
            if flow
                .tcp
                .as_ref()
                .is_some_and(|s| s.needs_role_swap(meta, direction))
            {
                flow.swap_roles();
                direction = direction.reverse();
            }
            if let Some(session) = flow.tcp.as_mut() {
                let out = session.process(meta, pkt.payload_len, direction, policy);
                tcp_events = out.events;
                tcp_accept = out.accept;
                let s = &mut self.stats.tcp;
                s.sessions += u64::from(out.session_started);
                s.midstream_pickups += u64::from(out.midstream_pickup);
                s.rst_invalid += u64::from(out.rst_invalid);
                s.ack_unseen_data += u64::from(out.ack_unseen_data);
                s.refused += u64::from(!out.accept);
                for e in out.events.iter() {
                    s.count_event(e);
                }
            }
        }
        let counters = flow.counters_mut(direction);
        counters.packets += 1;
        counters.bytes += u64::from(pkt.wire_len);
        flow.state = flow.derived_state();
        let list = list_of(flow.protocol, flow.state);
        self.idle.push_back(index, list);

        Ok(Tracked {
            handle: FlowHandle { index, generation },
            direction,
            created,
            tcp_events,
            tcp_accept,
        })
    }

    /// The flow of `handle`, if it is still live.
    pub fn get_mut(&mut self, handle: FlowHandle) -> Option<&mut Flow<T>> {
        self.slots
            .get_mut(handle.index as usize)
            .filter(|s| s.generation == handle.generation)
            .and_then(|s| s.entry.as_mut())
            .map(|e| &mut *e.flow)
    }

    /// The flow of `handle`, if it is still live.
    pub fn get(&self, handle: FlowHandle) -> Option<&Flow<T>> {
        self.slots
            .get(handle.index as usize)
            .filter(|s| s.generation == handle.generation)
            .and_then(|s| s.entry.as_ref())
            .map(|e| &*e.flow)
    }

    /// Ends flows whose timeout passed at packet time `now` (idle for at least the timeout
    /// of their protocol and state), appending them to `ended` with [`EndReason::Timeout`].
    ///
    /// Cost: one look at the head of each of the 12 idle lists plus the flows ended. A flow
    /// whose packets arrived with timestamps out of order may end late by at most that
    /// disorder.
    pub fn expire(&mut self, now: Timestamp, ended: &mut Vec<EndedFlow<T>>) {
        for list in 0..LISTS {
            while let Some(index) = self.idle.head(list) {
                let Some(flow) = self.flow_at(index) else {
                    // Unreachable: only live slots are linked. Unlink defensively.
                    self.idle.remove(index);
                    continue;
                };
                let timeout = self.timeout_of(flow);
                if now.saturating_since(flow.last) < timeout {
                    break;
                }
                self.end_slot(index, EndReason::Timeout, ended);
            }
        }
    }

    /// Ends every flow (end of input / shutdown), in start (creation) order, with
    /// [`EndReason::Shutdown`].
    pub fn drain(&mut self, ended: &mut Vec<EndedFlow<T>>) {
        let mut live: Vec<(u64, u32)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let serial = s.entry.as_ref()?.serial;
                Some((serial, u32::try_from(i).ok()?))
            })
            .collect();
        live.sort_unstable();
        ended.reserve(live.len());
        for (_, index) in live {
            self.end_slot(index, EndReason::Shutdown, ended);
        }
    }

    /// Number of live flows.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no flow is live.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The table's counters.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// The configuration the table runs with.
    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    fn flow_at(&self, index: u32) -> Option<&Flow<T>> {
        self.slots
            .get(index as usize)
            .and_then(|s| s.entry.as_ref())
            .map(|e| &*e.flow)
    }

    /// Whether the flow at `index` has been idle for its timeout at `now`. A timeout of 0
    /// ends flows only at sweeps (a packet in the same instant still belongs to its flow).
    fn timed_out_at(&self, index: u32, now: Timestamp) -> bool {
        self.flow_at(index).is_some_and(|flow| {
            let timeout = self.timeout_of(flow);
            !timeout.is_zero() && now.saturating_since(flow.last) >= timeout
        })
    }

    fn timeout_of(&self, flow: &Flow<T>) -> Duration {
        let t = self.cfg.timeouts.for_protocol(flow.protocol);
        match flow.state {
            FlowState::New => t.new,
            FlowState::Established => t.established,
            FlowState::Closed => t.closed,
        }
    }

    fn is_port_reuse(
        &self,
        index: u32,
        pkt: &PacketMeta,
        src_port: u16,
        tcp: Option<&TcpMeta>,
    ) -> bool {
        let (Some(meta), Some(flow)) = (tcp, self.flow_at(index)) else {
            return false;
        };
        let dir = flow.direction_from(pkt.src, src_port);
        flow.tcp
            .as_ref()
            .is_some_and(|s| s.is_port_reuse(meta, dir))
    }

    /// Creates a flow for `pkt`, evicting the longest-idle flow when the table is full.
    fn create(
        &mut self,
        key: FlowKey,
        pkt: &PacketMeta,
        ended: &mut Vec<EndedFlow<T>>,
    ) -> Result<u32, TrackError> {
        if self.map.len() >= self.max_flows {
            match self.oldest_idle() {
                Some(victim) => self.end_slot(victim, EndReason::Evicted, ended),
                None => {
                    self.stats.table_full += 1;
                    return Err(TrackError::TableFull);
                }
            }
        }
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len()).map_err(|_| TrackError::TableFull)?;
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                self.idle.ensure_len(self.slots.len());
                i
            }
        };
        let flow = Box::new(self.new_flow(pkt));
        let serial = self.next_serial;
        self.next_serial += 1;
        if let Some(slot) = self.slots.get_mut(index as usize) {
            slot.entry = Some(Entry { key, serial, flow });
        }
        self.map.insert(key, index);
        self.stats.created += 1;
        Ok(index)
    }

    fn new_flow(&mut self, pkt: &PacketMeta) -> Flow<T> {
        let (src_port, dst_port) = key_ports(pkt);
        let src = (pkt.src, src_port);
        let dst = (pkt.dst, dst_port);
        let sender_is_server = pkt
            .tcp
            .filter(|_| pkt.protocol == IPPROTO_TCP)
            .is_some_and(|t| self.first_sender_is_server(&t, src_port, dst_port));
        let (client, server) = if sender_is_server {
            (dst, src)
        } else {
            (src, dst)
        };
        let vlan_len = pkt.vlan_len.min(3);
        let mut vlan = [0u16; 3];
        for (i, (d, s)) in vlan.iter_mut().zip(pkt.vlan).enumerate() {
            if i < usize::from(vlan_len) {
                *d = s;
            }
        }
        Flow {
            id: self.ids.next_id(),
            client,
            server,
            protocol: pkt.protocol,
            vlan,
            vlan_len,
            tunnel_id: pkt.tunnel_id,
            start: pkt.ts,
            last: pkt.ts,
            to_server: DirectionCounters::default(),
            to_client: DirectionCounters::default(),
            tcp: (pkt.protocol == IPPROTO_TCP).then(TcpSession::new),
            state: FlowState::New,
            user: T::default(),
        }
    }

    fn first_sender_is_server(&self, t: &TcpMeta, src_port: u16, dst_port: u16) -> bool {
        if t.has(tcp_flags::SYN | tcp_flags::ACK) && !t.has(tcp_flags::RST) {
            return true;
        }
        self.cfg.tcp_midstream
            && t.has(tcp_flags::ACK)
            && t.flags & (tcp_flags::SYN | tcp_flags::RST) == 0
            && src_port < 1024
            && dst_port >= 1024
    }

    /// The live flow idle longest: the least recent of the idle lists' heads.
    fn oldest_idle(&self) -> Option<u32> {
        (0..LISTS)
            .filter_map(|l| self.idle.head(l))
            .filter_map(|i| {
                let e = self.slots.get(i as usize)?.entry.as_ref()?;
                Some((e.flow.last, e.serial, i))
            })
            .min()
            .map(|(_, _, i)| i)
    }

    /// Removes the flow in slot `index` and appends it to `ended`.
    fn end_slot(&mut self, index: u32, reason: EndReason, ended: &mut Vec<EndedFlow<T>>) {
        self.idle.remove(index);
        let Some(slot) = self.slots.get_mut(index as usize) else {
            return;
        };
        let Some(entry) = slot.entry.take() else {
            return;
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.map.remove(&entry.key);
        self.free.push(index);
        self.stats.count_end(reason);
        ended.push(EndedFlow {
            flow: entry.flow,
            reason,
        });
    }
}

/// The idle list of flows of `protocol` in `state`.
fn list_of(protocol: u8, state: FlowState) -> usize {
    ProtoClass::of(protocol).index() * FlowState::COUNT + state.index()
}

#[cfg(test)]
impl<T: Default> FlowTable<T> {
    /// A table with deterministic hashing and ids.
    pub(crate) fn with_seed(cfg: FlowConfig, seed: u64) -> Self {
        Self::with_hasher(cfg, SeededState::with_seed(seed), seed)
    }
}
