//! The per-worker detector: prefilter scans, candidate verification in signature order,
//! flow-variable actions, thresholds and alerts.

use std::net::IpAddr;
use std::sync::Arc;

use tapwatch_common::{Direction, IpProto};
use tapwatch_hyperscan::Scratch;
use tapwatch_rules::{
    Absent, Action, AppProtoMatch, Buffer, EventMatch, Protocol, XbitOp, XbitTrack,
};

use crate::engine::{
    class_of, dir_index, fixed_direction, CompiledSig, Engine, Group, StateOp, StreamMode,
};
use crate::flowvars::FlowDetect;
use crate::host::{HostState, XKey};
use crate::input::{AppState, PacketInput, TxInput};
use crate::report::EngineError;
use crate::threshold::{suppressed, RateKey, RateState};
use crate::verify::{packet_matches, MatchContext};

/// Where the data that matched came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertSource {
    /// The packet (payload, headers or events).
    Packet,
    /// Reassembled TCP data the packet completed.
    Stream,
    /// An application-layer transaction.
    Tx,
}

/// One alert: which rule matched, on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// The rule's engine index ([`Engine::sig`]).
    pub sig: u32,
    /// The transaction, for rules on application-layer buffers.
    pub tx_id: Option<u64>,
    /// What matched.
    pub source: AlertSource,
    /// The side of the transaction inspected (transaction alerts only).
    pub tx_direction: Option<Direction>,
}

/// Detection counters (Suricata's names in `stats.detect`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Alerts produced (`detect.alert`).
    pub alerts: u64,
    /// Matches that did not alert because of `threshold`, `detection_filter` or `suppress`
    /// (`detect.alerts_suppressed`).
    pub alerts_suppressed: u64,
    /// Full matches, `noalert` ones included.
    pub matches: u64,
    /// Candidate rules verified.
    pub candidates: u64,
    /// Threshold entries that could not be created (table full).
    pub threshold_table_full: u64,
    /// xbits that could not be stored (table full).
    pub xbits_table_full: u64,
    /// Flowbits or flowints that could not be stored (per-flow limit).
    pub flow_vars_full: u64,
    /// Prefilter scans that failed (the scan's candidates are then lost).
    pub scan_errors: u64,
    /// Alerts by the rule's priority (EVE `alert.severity`): index 0 for priority 1 (the
    /// most severe), 1 for 2, 2 for 3, and 3 for priority 4 or a larger number.
    pub alerts_by_priority: [u64; 4],
}

/// The slot of [`DetectStats::alerts_by_priority`] that counts an alert of `priority`.
pub fn priority_slot(priority: u8) -> usize {
    usize::from(priority.clamp(1, 4) - 1)
}

impl std::ops::AddAssign<&DetectStats> for DetectStats {
    /// Adds another table's counters (several workers' tables summed into one figure).
    fn add_assign(&mut self, other: &DetectStats) {
        self.alerts += other.alerts;
        self.alerts_suppressed += other.alerts_suppressed;
        self.matches += other.matches;
        self.candidates += other.candidates;
        self.threshold_table_full += other.threshold_table_full;
        self.xbits_table_full += other.xbits_table_full;
        self.flow_vars_full += other.flow_vars_full;
        self.scan_errors += other.scan_errors;
        for (sum, n) in self
            .alerts_by_priority
            .iter_mut()
            .zip(other.alerts_by_priority)
        {
            *sum += n;
        }
    }
}

/// Where a rule's `pkt_data` comes from in this evaluation, and its other buffers.
#[derive(Clone, Copy)]
enum Source<'a, 'b> {
    Packet(&'a [u8], AlertSource),
    Tx(&'b TxInput<'b>),
}

/// Per-worker detection state: one per worker thread. Only the host and host-pair tables
/// ([`HostState`]) are shared with the other workers.
#[derive(Debug)]
pub struct Detector {
    scratch: Scratch,
    ctx: MatchContext,
    host: Arc<HostState>,
    cands: Vec<u32>,
    transformed: Vec<u8>,
    scan_buf: Vec<u8>,
    b64: Vec<u8>,
    /// Earlier stream data followed by the current packet's.
    window: Vec<u8>,
    /// Length of the earlier part of `window` in the current evaluation (0: none).
    stream_tail: usize,
    /// The current packet's stream data is the first of its direction (the stream starts).
    stream_first: bool,
    stats: DetectStats,
}

/// Whether every `iprep` condition holds for the packet's addresses, with Suricata's
/// semantics: a comparison needs the host to have a score in the category; `both` needs
/// source and destination to satisfy the condition, `any` one of them.
fn iprep_matches(
    conds: &[(tapwatch_rules::IpRepSide, u8, tapwatch_rules::IpRepCond)],
    rep: &tapwatch_datasets::IpReputation,
    pkt: &PacketInput<'_>,
) -> bool {
    use tapwatch_rules::{IpRepCond, IpRepSide};
    conds.iter().all(|&(side, cat, cond)| {
        let holds = |addr: Option<(IpAddr, u16)>| {
            let score = addr.and_then(|(a, _)| rep.table.score(a, cat));
            match cond {
                IpRepCond::IsSet => score.is_some(),
                IpRepCond::IsNotSet => score.is_none(),
                IpRepCond::Cmp(c) => score.is_some_and(|s| c.matches(u64::from(s))),
            }
        };
        match side {
            IpRepSide::Src => holds(pkt.src),
            IpRepSide::Dst => holds(pkt.dst),
            IpRepSide::Both => holds(pkt.src) && holds(pkt.dst),
            IpRepSide::Any => holds(pkt.src) || holds(pkt.dst),
        }
    })
}

/// A flow state for rules evaluated without a flow.
static NO_FLOW: std::sync::OnceLock<FlowDetect> = std::sync::OnceLock::new();

impl Detector {
    /// A detector for `engine`, with Hyperscan scratch reserved for all its databases, and
    /// host tables of its own.
    pub fn new(engine: &Engine) -> Result<Self, EngineError> {
        Self::with_host_state(engine, Arc::new(HostState::new()))
    }

    /// A detector for `engine` whose thresholds and xbits by host, host pair and rule are kept
    /// in `host`, shared with the other workers' detectors.
    pub fn with_host_state(engine: &Engine, host: Arc<HostState>) -> Result<Self, EngineError> {
        let mut scratch = Scratch::new();
        for group in engine.groups() {
            for db in &group.dbs {
                if let Some(d) = &db.db {
                    scratch
                        .reserve_for(d)
                        .map_err(|source| EngineError::Hyperscan {
                            buffer: db.buffer.name().to_owned(),
                            source,
                        })?;
                }
            }
        }
        Ok(Self {
            scratch,
            ctx: MatchContext::new(),
            host,
            cands: Vec::new(),
            transformed: Vec::new(),
            scan_buf: Vec::new(),
            b64: Vec::new(),
            window: Vec::new(),
            stream_tail: 0,
            stream_first: false,
            stats: DetectStats::default(),
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> DetectStats {
        self.stats
    }

    /// Takes over the counters of `previous`, the detector this one replaces on a rule
    /// reload: a worker's counts go on across the swap.
    pub fn continue_counts_of(&mut self, previous: &Detector) {
        self.stats = previous.stats;
    }

    /// Threshold entries and xbits held now (in the tables shared with other workers).
    pub fn table_sizes(&self) -> (usize, usize) {
        self.host.sizes()
    }

    /// Inspects one packet (its headers, events, payload and the stream data it completed)
    /// with the packet and event rules, appending alerts to `alerts`.
    ///
    /// Stream data is inspected together with the last
    /// [`DetectLimits::stream_window`](crate::DetectLimits) bytes of the same direction
    /// inspected before, so that a match may span segments; a rule whose match lies wholly
    /// in that earlier part does not alert again.
    pub fn inspect_packet(
        &mut self,
        engine: &Engine,
        pkt: &PacketInput<'_>,
        mut flow: Option<&mut FlowDetect>,
        alerts: &mut Vec<Alert>,
    ) {
        if flow.as_ref().is_some_and(|f| f.passed) {
            return;
        }
        if pkt.flow.is_some_and(|f| f.payload_off) {
            // Neither payload nor stream is scanned or kept (`evaluate` turns away the rules
            // that inspect them).
            let mut bare = *pkt;
            bare.payload = &[];
            bare.stream = &[];
            self.inspect_packet_data(engine, &bare, flow, alerts);
            return;
        }
        let limit = engine.limits.stream_window;
        let side = pkt.flow.map(|f| dir_index(f.direction));
        self.stream_first = false;
        if let (false, Some(f), Some(side)) = (pkt.stream.is_empty(), flow.as_deref_mut(), side) {
            if let Some(started) = f.stream_started.get_mut(side) {
                self.stream_first = !*started;
                *started = true;
            }
        }
        if let (false, Some(f), Some(side), true) =
            (pkt.stream.is_empty(), flow.as_deref_mut(), side, limit > 0)
        {
            let mut window = std::mem::take(&mut self.window);
            window.clear();
            let tail = f.tails.get(side).map_or(&[][..], Vec::as_slice);
            window.extend_from_slice(tail);
            window.extend_from_slice(pkt.stream);
            self.stream_tail = tail.len();
            let mut with_window = *pkt;
            with_window.stream = &window;
            self.inspect_packet_data(engine, &with_window, flow.as_deref_mut(), alerts);
            self.stream_tail = 0;
            if let Some(t) = f_tail(flow, side) {
                let keep = window.len().min(limit);
                t.clear();
                t.extend_from_slice(window.get(window.len() - keep..).unwrap_or(&[]));
            }
            self.window = window;
            return;
        }
        self.inspect_packet_data(engine, pkt, flow, alerts);
    }

    fn inspect_packet_data(
        &mut self,
        engine: &Engine,
        pkt: &PacketInput<'_>,
        mut flow: Option<&mut FlowDetect>,
        alerts: &mut Vec<Alert>,
    ) {
        let has_events = !pkt.decode_events.is_empty()
            || !pkt.stream_events.is_empty()
            || !pkt.app_events.is_empty();
        if !engine.events.is_empty() && (has_events || engine.events_every_packet) {
            for &i in &engine.events {
                let src = Source::Packet(pkt.payload, AlertSource::Packet);
                if self.evaluate(engine, i, pkt, src, flow.as_deref_mut(), alerts) {
                    break;
                }
            }
        }
        let Some(proto) = pkt.ip_proto else { return };
        let Some(group) = engine.packet.get(class_of(proto)) else {
            return;
        };
        self.candidates(engine, group, pkt, |buffer| match buffer {
            Buffer::Payload => (pkt.payload, pkt.stream),
            Buffer::Ipv4Hdr => (pkt.headers.ipv4, &[]),
            Buffer::Ipv6Hdr => (pkt.headers.ipv6, &[]),
            Buffer::TcpHdr => (pkt.headers.tcp, &[]),
            Buffer::UdpHdr => (pkt.headers.udp, &[]),
            Buffer::Icmpv4Hdr => (pkt.headers.icmpv4, &[]),
            Buffer::Icmpv6Hdr => (pkt.headers.icmpv6, &[]),
            _ => (&[], &[]),
        });
        // IP-only rules: on the first packet of each direction of a flow.
        let first = match (flow.as_deref_mut(), pkt.flow) {
            (Some(f), Some(facts)) => match f.iponly_done.get_mut(dir_index(facts.direction)) {
                Some(d) if !*d => {
                    *d = true;
                    true
                }
                _ => false,
            },
            _ => true,
        };
        if engine.reference {
            if !first {
                self.cands
                    .retain(|&i| engine.sigs.get(i as usize).is_some_and(|c| !c.iponly));
            }
        } else if let (true, Some((s, _)), Some((d, _))) = (first, pkt.src, pkt.dst) {
            let before = self.cands.len();
            group.iponly.candidates(s, d, &mut self.cands);
            if self.cands.len() > before {
                self.cands.sort_unstable();
                self.cands.dedup();
            }
        }
        let cands = std::mem::take(&mut self.cands);
        // The stream data this packet completed, without the earlier bytes in front.
        let new_stream = pkt.stream.get(self.stream_tail..).unwrap_or(&[]);
        for &i in &cands {
            let Some(cs) = engine.sigs.get(i as usize) else {
                continue;
            };
            let payload = match cs.stream {
                _ if proto != 6 => Source::Packet(pkt.payload, AlertSource::Packet),
                StreamMode::Packet => Source::Packet(pkt.payload, AlertSource::Packet),
                StreamMode::Stream => {
                    if pkt.stream.is_empty() && has_payload_buffer(cs) {
                        continue;
                    }
                    Source::Packet(new_stream, AlertSource::Stream)
                }
                StreamMode::Both if !pkt.stream.is_empty() => {
                    Source::Packet(new_stream, AlertSource::Stream)
                }
                StreamMode::Both => Source::Packet(pkt.payload, AlertSource::Packet),
                StreamMode::PacketAndStream => {
                    // The packet, then (where the stream starts) the stream: each may alert.
                    if !pkt.payload.is_empty() {
                        let src = Source::Packet(pkt.payload, AlertSource::Packet);
                        if self.evaluate(engine, i, pkt, src, flow.as_deref_mut(), alerts) {
                            break;
                        }
                    }
                    if !self.stream_first || new_stream.is_empty() {
                        continue;
                    }
                    Source::Packet(new_stream, AlertSource::Stream)
                }
            };
            if self.evaluate(engine, i, pkt, payload, flow.as_deref_mut(), alerts) {
                break;
            }
        }
        self.cands = cands;
    }

    /// Inspects one side of an application-layer transaction of the flow's protocol.
    /// `pkt` is the packet that completed it (addresses are taken in the transaction side's
    /// direction).
    pub fn inspect_tx(
        &mut self,
        engine: &Engine,
        pkt: &PacketInput<'_>,
        tx: &TxInput<'_>,
        flow: &mut FlowDetect,
        alerts: &mut Vec<Alert>,
    ) {
        if flow.passed {
            return;
        }
        let Some(facts) = pkt.flow else { return };
        let AppState::Detected(proto) = facts.app else {
            return;
        };
        let Some(group) = engine.tx_group(proto, tx.direction) else {
            return;
        };
        // The transaction side's view: addresses and direction as if the packet travelled
        // in `tx.direction`.
        let mut view = *pkt;
        if facts.direction != tx.direction {
            std::mem::swap(&mut view.src, &mut view.dst);
        }
        view.flow = Some(crate::input::FlowFacts {
            direction: tx.direction,
            ..facts
        });
        self.candidates_tx(engine, group, &view, tx);
        let cands = std::mem::take(&mut self.cands);
        for &i in &cands {
            if self.evaluate(engine, i, &view, Source::Tx(tx), Some(flow), alerts) {
                break;
            }
        }
        self.cands = cands;
    }

    /// Fills `self.cands` with the group's candidates for a packet, sorted, without
    /// duplicates. `data` gives the bytes of a packet-level buffer (payload: packet and
    /// stream).
    fn candidates<'p>(
        &mut self,
        engine: &Engine,
        group: &Group,
        pkt: &PacketInput<'_>,
        data: impl Fn(Buffer) -> (&'p [u8], &'p [u8]),
    ) {
        self.cands.clear();
        if engine.reference {
            self.cands.extend_from_slice(&group.all);
            return;
        }
        self.always(group, pkt);
        let dir = pkt.flow.map_or(0, |f| dir_index(f.direction));
        let ports = pkt.src.zip(pkt.dst).map(|(s, d)| (s.1, d.1));
        for db in group.dbs_for(dir, ports) {
            let (packet, stream) = data(db.buffer);
            if db.buffer == Buffer::Payload && !stream.is_empty() && db.transforms.is_empty() {
                let new = stream.get(self.stream_tail..).unwrap_or(&[]);
                // In order, the packet's payload is the new stream data: scan it once.
                if new != packet && !packet.is_empty() {
                    self.scan_one(engine, db, packet);
                }
                // Of the earlier bytes, only those a literal could start in are rescanned.
                let from = self
                    .stream_tail
                    .saturating_sub(db.max_literal.saturating_sub(1));
                if let Some(window) = stream.get(from..).filter(|w| !w.is_empty()) {
                    self.search(db, window);
                }
                // Anchored literals where verification looks: at the start of the new data
                // and (from `from` on, as searched) of the window with the earlier bytes.
                self.find_anchored(db, new, 0);
                if self.stream_tail > 0 {
                    self.find_anchored(db, stream, from);
                }
                continue;
            }
            for d in [packet, stream] {
                if !d.is_empty() {
                    self.scan_one(engine, db, d);
                }
            }
        }
        self.cands.sort_unstable();
        self.cands.dedup();
    }

    fn candidates_tx(
        &mut self,
        engine: &Engine,
        group: &Group,
        pkt: &PacketInput<'_>,
        tx: &TxInput<'_>,
    ) {
        self.cands.clear();
        if engine.reference {
            self.cands.extend_from_slice(&group.all);
            return;
        }
        self.always(group, pkt);
        for db in &group.dbs {
            if db.buffer == Buffer::Payload {
                if !pkt.payload.is_empty() {
                    self.scan_one(engine, db, pkt.payload);
                }
                continue;
            }
            let dir = fixed_direction(db.buffer).unwrap_or(tx.direction);
            for d in tx.buffers.get(db.buffer, dir) {
                if !d.is_empty() {
                    self.scan_one(engine, db, d);
                }
            }
            if let Some(also) = db.also {
                let dir = fixed_direction(also).unwrap_or(tx.direction);
                for d in tx.buffers.get_except(also, db.buffer, dir) {
                    if !d.is_empty() {
                        self.scan_one(engine, db, d);
                    }
                }
            }
        }
        self.cands.sort_unstable();
        self.cands.dedup();
    }

    /// The group's rules without a fast pattern that may apply to `pkt`'s ports.
    fn always(&mut self, group: &Group, pkt: &PacketInput<'_>) {
        self.cands.extend_from_slice(&group.always);
        if let Some((_, port)) = pkt.dst {
            if let Some(list) = group.always_dst.get(&port) {
                self.cands.extend_from_slice(list);
            }
        }
        if let Some((_, port)) = pkt.src {
            if let Some(list) = group.always_src.get(&port) {
                self.cands.extend_from_slice(list);
            }
        }
    }

    /// Prefilters one buffer instance: its anchored literals, then the database's search
    /// (after the database's transforms).
    fn scan_one(&mut self, engine: &Engine, db: &crate::engine::GroupDb, data: &[u8]) {
        if db.transformer.is_none() {
            self.find_anchored(db, data, 0);
            self.search(db, data);
            return;
        }
        let mut out = std::mem::take(&mut self.scan_buf);
        let data = match db.transformer {
            Some((sig, bi)) => {
                match engine
                    .sigs
                    .get(sig as usize)
                    .and_then(|s| s.buffers.get(bi))
                {
                    Some(cb) => cb.transform(data, &mut out),
                    None => data,
                }
            }
            None => data,
        };
        self.find_anchored(db, data, 0);
        self.search(db, data);
        self.scan_buf = out;
    }

    /// Adds the rules of `db`'s anchored literals found at their places in `data`
    /// (starting at or after `min_start`).
    fn find_anchored(&mut self, db: &crate::engine::GroupDb, data: &[u8], min_start: usize) {
        if db.anchored.is_empty() {
            return;
        }
        let cands = &mut self.cands;
        db.anchored
            .find(data, min_start, |sigs| cands.extend_from_slice(sigs));
    }

    /// Adds the rules of `db`'s literals found anywhere in `data` (Hyperscan, or a direct
    /// search when they are very few).
    fn search(&mut self, db: &crate::engine::GroupDb, data: &[u8]) {
        let Some(hs) = &db.db else { return };
        let cands = &mut self.cands;
        let lit_sigs = &db.lit_sigs;
        if let Some(few) = &db.few {
            few.scan(data, |id| {
                if let Some(list) = lit_sigs.get(id as usize) {
                    cands.extend_from_slice(list);
                }
            });
            return;
        }
        let result = hs.scan(&mut self.scratch, data, |id| {
            if let Some(list) = lit_sigs.get(id as usize) {
                cands.extend_from_slice(list);
            }
        });
        if result.is_err() {
            self.stats.scan_errors += 1;
        }
    }

    /// Verifies rule `i` fully and acts on a match. Returns true when a `pass` rule matched
    /// (inspection of the packet stops).
    fn evaluate(
        &mut self,
        engine: &Engine,
        i: u32,
        pkt: &PacketInput<'_>,
        source: Source<'_, '_>,
        mut flow: Option<&mut FlowDetect>,
        alerts: &mut Vec<Alert>,
    ) -> bool {
        let Some(cs) = engine.sigs.get(i as usize) else {
            return false;
        };
        self.stats.candidates += 1;
        if pkt.flow.is_some_and(|f| f.payload_off) && has_payload_buffer(cs) {
            return false;
        }
        // Reputation first: a pure lookup, and it must hold before a `dataset:set` of the
        // rule's buffers changes a set.
        if !cs.iprep.is_empty() && !iprep_matches(&cs.iprep, &engine.reputation, pkt) {
            return false;
        }
        if !self.matches(cs, pkt, source, flow.as_deref()) {
            // Stream data: try again with the earlier bytes in front, so that a match may
            // span segments; one lying wholly in the earlier bytes was seen before.
            let Source::Packet(_, AlertSource::Stream) = source else {
                return false;
            };
            if self.stream_tail == 0 {
                return false;
            }
            let window = Source::Packet(pkt.stream, AlertSource::Stream);
            if !self.matches(cs, pkt, window, flow.as_deref()) {
                return false;
            }
            let earlier = pkt.stream.get(..self.stream_tail).unwrap_or(&[]);
            let seen = Source::Packet(earlier, AlertSource::Stream);
            if self.matches(cs, pkt, seen, flow.as_deref()) {
                return false;
            }
        }
        self.stats.matches += 1;
        let (src, dst) = match (pkt.src, pkt.dst) {
            (Some(s), Some(d)) => (s.0, d.0),
            _ => (unspecified(), unspecified()),
        };
        let now = pkt.ts.secs;
        if let Some(f) = flow.as_deref_mut() {
            self.stats.flow_vars_full += f.apply(&cs.state, engine.limits.max_flow_vars);
        }
        self.apply_xbits(engine, cs, src, dst, now);
        let pass = cs.sig.action == Action::Pass;
        if pass {
            if let Some(f) = flow.as_deref_mut() {
                f.passed = true;
            }
        }
        if cs.sig.noalert {
            return pass;
        }
        if !self.rate_allows(engine, cs, src, dst, now, flow.as_deref_mut()) {
            self.stats.alerts_suppressed += 1;
            return pass;
        }
        if pass {
            return true;
        }
        self.stats.alerts += 1;
        if let Some(n) = self
            .stats
            .alerts_by_priority
            .get_mut(priority_slot(cs.sig.priority))
        {
            *n += 1;
        }
        if let Some(f) = flow {
            f.set_alerted();
        }
        let (source, tx_id, tx_direction) = match source {
            Source::Packet(_, s) => (s, None, None),
            Source::Tx(tx) => (AlertSource::Tx, Some(tx.tx_id), Some(tx.direction)),
        };
        alerts.push(Alert {
            sig: i,
            tx_id,
            source,
            tx_direction,
        });
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn rate_allows(
        &mut self,
        engine: &Engine,
        cs: &CompiledSig,
        src: IpAddr,
        dst: IpAddr,
        now: i64,
        flow: Option<&mut FlowDetect>,
    ) -> bool {
        if suppressed(&cs.suppress, src, dst) {
            return false;
        }
        let now = u64::try_from(now).unwrap_or(0);
        let max = engine.limits.max_threshold_entries;
        let mut flow = flow;
        if let Some(f) = &cs.sig.detection_filter {
            let ok = if f.track == tapwatch_rules::Track::ByFlow {
                match flow.as_deref_mut() {
                    Some(fl) => flow_rate(
                        fl,
                        RateKey::of(cs.sig.id, true),
                        engine.limits.max_flow_vars,
                    )
                    .is_none_or(|s| s.filter(f, now)),
                    None => true,
                }
            } else {
                let verdict = self
                    .host
                    .lock()
                    .thresholds
                    .filter(cs.sig.id, f, src, dst, now, max);
                verdict.unwrap_or_else(|_| {
                    // Table full: alert rather than lose a detection; counted.
                    self.stats.threshold_table_full += 1;
                    true
                })
            };
            if !ok {
                return false;
            }
        }
        if let Some(t) = &cs.threshold {
            let ok = if t.track == tapwatch_rules::Track::ByFlow {
                match flow {
                    Some(fl) => flow_rate(
                        fl,
                        RateKey::of(cs.sig.id, false),
                        engine.limits.max_flow_vars,
                    )
                    .is_none_or(|s| s.threshold(t, now)),
                    None => true,
                }
            } else {
                let verdict = self
                    .host
                    .lock()
                    .thresholds
                    .threshold(cs.sig.id, t, src, dst, now, max);
                verdict.unwrap_or_else(|_| {
                    self.stats.threshold_table_full += 1;
                    true
                })
            };
            if !ok {
                return false;
            }
        }
        true
    }

    fn xkey(track: XbitTrack, src: IpAddr, dst: IpAddr) -> XKey {
        match track {
            XbitTrack::IpSrc => XKey::Ip(src),
            XbitTrack::IpDst => XKey::Ip(dst),
            XbitTrack::IpPair => XKey::Pair(src.min(dst), src.max(dst)),
        }
    }

    fn xbit_set(&self, name: u32, key: XKey, now: i64) -> bool {
        self.host.lock().xbit_set(name, key, now)
    }

    fn apply_xbits(
        &mut self,
        engine: &Engine,
        cs: &CompiledSig,
        src: IpAddr,
        dst: IpAddr,
        now: i64,
    ) {
        let mut ops = cs.state.iter().filter_map(|op| match op {
            StateOp::Xbit {
                op,
                name,
                track,
                expire,
            } => Some((*op, (*name, Self::xkey(*track, src, dst)), *expire)),
            _ => None,
        });
        let Some(first) = ops.next() else {
            return;
        };
        let max = engine.limits.max_xbits;
        let mut tables = self.host.lock();
        for (op, key, expire) in std::iter::once(first).chain(ops) {
            let mut set = |xbits: &mut std::collections::HashMap<(u32, XKey), i64>| {
                if !xbits.contains_key(&key) && xbits.len() >= max {
                    xbits.retain(|_, exp| *exp > now);
                    if xbits.len() >= max {
                        self.stats.xbits_table_full += 1;
                        return;
                    }
                }
                xbits.insert(key, now.saturating_add(i64::from(expire)));
            };
            match op {
                XbitOp::Set => set(&mut tables.xbits),
                XbitOp::Unset => {
                    tables.xbits.remove(&key);
                }
                XbitOp::Toggle => {
                    if tables.xbit_set(key.0, key.1, now) {
                        tables.xbits.remove(&key);
                    } else {
                        set(&mut tables.xbits);
                    }
                }
                XbitOp::IsSet | XbitOp::IsNotSet => {}
            }
        }
    }

    /// Whether rule `cs` matches, without side effects on flow state.
    fn matches(
        &mut self,
        cs: &CompiledSig,
        pkt: &PacketInput<'_>,
        source: Source<'_, '_>,
        flow: Option<&FlowDetect>,
    ) -> bool {
        let sig = &cs.sig;
        // Header.
        if sig.header.protocol != Protocol::PktHdr || pkt.src.is_some() {
            let (Some(src), Some(dst)) = (pkt.src, pkt.dst) else {
                return false;
            };
            if !header_matches(cs, src, dst) {
                return false;
            }
            match sig.header.protocol {
                Protocol::Ipv4 if !src.0.is_ipv4() => return false,
                Protocol::Ipv6 if !src.0.is_ipv6() => return false,
                Protocol::Sctp if pkt.ip_proto != Some(IpProto::SCTP.number()) => return false,
                _ => {}
            }
        }
        // Flow.
        let facts = pkt.flow;
        let fm = &sig.flow;
        if let Some(est) = fm.established {
            let is = facts.is_some_and(|f| f.established);
            if est != is {
                return false;
            }
        }
        if let Some(d) = fm.direction {
            if facts.is_none_or(|f| f.direction != d) {
                return false;
            }
        }
        if let Some(frag) = fm.frag {
            if frag != pkt.defragmented {
                return false;
            }
        }
        if let Some(app) = cs.app {
            if facts.map(|f| f.app) != Some(AppState::Detected(app)) {
                return false;
            }
        }
        if let Some(alp) = &sig.app_layer_protocol {
            let app = facts.map(|f| f.app).unwrap_or_default();
            let is = match (alp.proto, app) {
                (AppProtoMatch::Failed, AppState::Failed) => true,
                (AppProtoMatch::Unknown, AppState::Unknown) => true,
                (AppProtoMatch::Proto(p), AppState::Detected(d)) => p == d,
                _ => false,
            };
            if is == alp.negated {
                return false;
            }
        }
        if !packet_matches(&sig.packet, &pkt.facts) {
            return false;
        }

        for ev in &sig.events {
            let ok = match ev {
                EventMatch::Decode(e) => pkt.decode_events.contains(e),
                EventMatch::Stream(e) => pkt.stream_events.contains(e),
                EventMatch::AppLayer(n) => pkt.app_events.iter().any(|e| e.eq_ignore_ascii_case(n)),
            };
            if !ok {
                return false;
            }
        }
        // Flow variables.
        let flow_state = flow.unwrap_or_else(|| NO_FLOW.get_or_init(FlowDetect::default));
        if !flow_state.conditions_hold(&cs.state) {
            return false;
        }
        if !self.xbit_conditions(cs, pkt) {
            return false;
        }
        // Buffers.
        self.ctx.reset();
        for cb in &cs.buffers {
            let buffer = cb.buffer();
            let ok = match (buffer, source) {
                (Buffer::Base64Data, _) => {
                    self.b64.clear();
                    if let Some(d) = self.ctx.base64_data() {
                        self.b64.extend_from_slice(d);
                        let data = std::mem::take(&mut self.b64);
                        let ok = self.run_buffer(cb, Some(&data));
                        self.b64 = data;
                        ok
                    } else {
                        self.run_buffer(cb, None)
                    }
                }
                (Buffer::Payload, Source::Packet(d, _)) => self.run_buffer(cb, Some(d)),
                (Buffer::Payload, Source::Tx(_)) => self.run_buffer(cb, Some(pkt.payload)),
                (b, _) if b.is_packet_level() => {
                    let d = match b {
                        Buffer::Ipv4Hdr => pkt.headers.ipv4,
                        Buffer::Ipv6Hdr => pkt.headers.ipv6,
                        Buffer::TcpHdr => pkt.headers.tcp,
                        Buffer::UdpHdr => pkt.headers.udp,
                        Buffer::Icmpv4Hdr => pkt.headers.icmpv4,
                        _ => pkt.headers.icmpv6,
                    };
                    self.run_buffer(cb, (!d.is_empty()).then_some(d))
                }
                (b, Source::Tx(tx)) => {
                    let dir = fixed_direction(b).unwrap_or(tx.direction);
                    let mut any = false;
                    let mut seen = false;
                    for d in tx.buffers.get(b, dir) {
                        seen = true;
                        if self.run_buffer(cb, Some(d)) {
                            any = true;
                            break;
                        }
                    }
                    if seen {
                        any
                    } else {
                        self.run_buffer(cb, None)
                    }
                }
                // An app-layer buffer on a packet: not available.
                _ => self.run_buffer(cb, None),
            };
            if !ok {
                return false;
            }
        }
        true
    }

    /// Runs one buffer's list on `data` (`None`: the buffer does not exist).
    fn run_buffer(&mut self, cb: &crate::verify::CompiledBuffer, data: Option<&[u8]>) -> bool {
        match (data, cb.absent()) {
            (None, Some(_)) => true,
            (None, None) => false,
            (Some(_), Some(Absent::Only)) => false,
            (Some(d), _) => {
                if cb.has_transforms() {
                    let mut out = std::mem::take(&mut self.transformed);
                    let ok = {
                        let t = cb.transform(d, &mut out);
                        cb.matches(t, &mut self.ctx)
                    };
                    self.transformed = out;
                    ok
                } else {
                    cb.matches(d, &mut self.ctx)
                }
            }
        }
    }

    fn xbit_conditions(&self, cs: &CompiledSig, pkt: &PacketInput<'_>) -> bool {
        let (src, dst) = match (pkt.src, pkt.dst) {
            (Some(s), Some(d)) => (s.0, d.0),
            _ => (unspecified(), unspecified()),
        };
        cs.state.iter().all(|op| match op {
            StateOp::Xbit {
                op: XbitOp::IsSet,
                name,
                track,
                ..
            } => self.xbit_set(*name, Self::xkey(*track, src, dst), pkt.ts.secs),
            StateOp::Xbit {
                op: XbitOp::IsNotSet,
                name,
                track,
                ..
            } => !self.xbit_set(*name, Self::xkey(*track, src, dst), pkt.ts.secs),
            _ => true,
        })
    }
}

fn f_tail(flow: Option<&mut FlowDetect>, side: usize) -> Option<&mut Vec<u8>> {
    flow.and_then(|f| f.tails.get_mut(side))
}

fn flow_rate(flow: &mut FlowDetect, key: RateKey, limit: usize) -> Option<&mut RateState> {
    let pos = match flow.rates.iter().position(|(k, _)| *k == key) {
        Some(p) => p,
        None => {
            if flow.rates.len() >= limit {
                return None;
            }
            flow.rates.push((key, RateState::default()));
            flow.rates.len() - 1
        }
    };
    flow.rates.get_mut(pos).map(|(_, s)| s)
}

fn unspecified() -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
}

fn has_payload_buffer(cs: &CompiledSig) -> bool {
    cs.sig.buffers.iter().any(|b| b.buffer == Buffer::Payload)
}

fn header_matches(cs: &CompiledSig, src: (IpAddr, u16), dst: (IpAddr, u16)) -> bool {
    let h = &cs.sig.header;
    // Ports first: a short range list, where addresses may be long lists of networks.
    let fwd = h.src_ports.contains(src.1)
        && h.dst_ports.contains(dst.1)
        && h.src.contains(src.0)
        && h.dst.contains(dst.0);
    fwd || (h.bidirectional
        && h.src_ports.contains(dst.1)
        && h.dst_ports.contains(src.1)
        && h.src.contains(dst.0)
        && h.dst.contains(src.0))
}
