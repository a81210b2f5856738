//! Which worker a packet goes to, fragments of tunnels included.
//!
//! Every packet goes to the worker its innermost IP address pair hashes to ([`Affinity`]):
//! both directions of a flow, and every flow of a tunnel by its own inner addresses. IP
//! fragments need more care, since the flow their datagram belongs to is only known once the
//! datagram is reassembled (on a worker):
//!
//! - a fragment of an ordinary datagram carries the datagram's own addresses: it goes where
//!   the datagram's flow goes, by its pair;
//! - a fragment of a tunnel's outer datagram (IP-in-IP, GRE, or UDP that may carry VXLAN,
//!   Geneve, Teredo) shows only the outer addresses, while the reassembled datagram holds an
//!   inner flow whose unfragmented packets go by the inner pair. The first fragment (offset 0)
//!   holds the inner headers: the router decodes them from it, decides the datagram's worker
//!   by the inner pair, and sends every fragment of that datagram there. Fragments that arrive
//!   before their first fragment are held (copied) until it comes, then delivered ahead of it,
//!   in their order, so the worker's defragmenter sees them as one worker would.
//!
//! Held fragments are bounded ([`FragmentLimits`]). A datagram whose first fragment does not
//! come within the timeout, or held fragments pushed out by the bounds, go to the worker of
//! the outer pair (the defragmenter there times them out or reassembles them as they are),
//! counted in [`RouterStats::unplaced`]; nothing is dropped here.
//!
//! IPv6 outer datagrams are routed by their outer pair (their first fragment is not decoded
//! further): a fragmented IPv6 tunnel's inner flow may then meet its fragments on another
//! worker. Nested tunnels are decoded as far as the wire decoder goes.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use tapwatch_capture::RawPacket;
use tapwatch_common::{LinkType, Timestamp};
use tapwatch_wire::Decoded;

use crate::dispatch::Affinity;

/// IP protocols whose fragments may belong to a tunnel's outer datagram.
const CARRIERS: [u8; 4] = [4, 41, 47, 17];

/// Bounds of the router's fragment tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentLimits {
    /// Packet time after which a datagram's routing decision and held fragments are given up
    /// (the defragmenter's timeout).
    pub timeout: Duration,
    /// Fragmented datagrams whose routing is remembered at most.
    pub max_datagrams: usize,
    /// Bytes of fragments held at most while their first fragment is awaited.
    pub max_held_bytes: usize,
}

impl Default for FragmentLimits {
    /// Suricata's defrag defaults: 60 s, 65,535 trackers; 16 MiB held.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            max_datagrams: 65_535,
            max_held_bytes: 16 << 20,
        }
    }
}

/// The router's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Fragments held until their datagram's first fragment came.
    pub held: u64,
    /// Fragments sent to their outer pair's worker because their first fragment did not come
    /// in time or the held bytes reached their bound.
    pub unplaced: u64,
    /// Fragmented tunnel datagrams routed by their inner flow.
    pub tunnel_datagrams: u64,
}

/// A packet copied out of its source while it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPacket {
    /// Its number in the capture.
    pub number: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Link type of `data`.
    pub link: LinkType,
    /// The frame.
    pub data: Vec<u8>,
    /// Length on the wire.
    pub orig_len: u32,
    /// Capture interface.
    pub interface: u32,
}

impl HeldPacket {
    fn of(number: u64, p: &RawPacket<'_>) -> Self {
        Self {
            number,
            ts: p.ts,
            link: p.link,
            data: p.data.to_vec(),
            orig_len: p.orig_len,
            interface: p.interface,
        }
    }

    /// The packet as the workers take it.
    pub fn as_raw(&self) -> RawPacket<'_> {
        RawPacket {
            ts: self.ts,
            link: self.link,
            data: &self.data,
            orig_len: self.orig_len,
            interface: self.interface,
        }
    }
}

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routed {
    /// To this worker, now.
    To(usize),
    /// Held: it is delivered later, through `released`.
    Held,
}

/// Identity of a fragmented datagram, as the defragmenter keys it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DatagramKey {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
    context: u64,
}

#[derive(Debug)]
struct Datagram {
    /// The decided worker, once the first fragment was seen.
    worker: Option<usize>,
    /// The worker of the outer pair (where unplaced fragments go).
    outer_worker: usize,
    /// Fragments waiting for the decision, in arrival order.
    held: Vec<HeldPacket>,
    /// Packet time the entry was created.
    since: Timestamp,
}

/// Decides each packet's worker; see the module documentation.
#[derive(Debug)]
pub struct Router {
    affinity: Affinity,
    limits: FragmentLimits,
    datagrams: HashMap<DatagramKey, Datagram>,
    /// Keys in creation order, for expiry and eviction (stale keys are skipped).
    order: VecDeque<(Timestamp, DatagramKey)>,
    held_bytes: usize,
    /// A first fragment rebuilt as an unfragmented datagram, to decode its inner headers.
    scratch: Vec<u8>,
    stats: RouterStats,
}

impl Router {
    /// A router over `affinity`'s workers.
    pub fn new(affinity: Affinity, limits: FragmentLimits) -> Self {
        Self {
            affinity,
            limits,
            datagrams: HashMap::new(),
            order: VecDeque::new(),
            held_bytes: 0,
            scratch: Vec::new(),
            stats: RouterStats::default(),
        }
    }

    /// The workers routed over.
    pub fn workers(&self) -> usize {
        self.affinity.workers()
    }

    /// The affinity packets are routed by.
    pub fn affinity(&self) -> &Affinity {
        &self.affinity
    }

    /// Counters so far.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// Routes packet number `number`. Packets that must go before it (held fragments now
    /// placed, or given up) are appended to `released` with their workers, in order.
    pub fn route(
        &mut self,
        number: u64,
        packet: &RawPacket<'_>,
        released: &mut Vec<(usize, HeldPacket)>,
    ) -> Routed {
        if self.affinity.workers() == 1 {
            return Routed::To(0);
        }
        let mut decoded = Decoded::default();
        tapwatch_wire::decode_into(&mut decoded, packet.link, packet.data);
        self.route_decoded(number, packet, &decoded, released)
    }

    /// Like [`Router::route`], for a packet the caller has decoded into `decoded` already.
    pub fn route_decoded(
        &mut self,
        number: u64,
        packet: &RawPacket<'_>,
        decoded: &Decoded<'_>,
        released: &mut Vec<(usize, HeldPacket)>,
    ) -> Routed {
        if self.affinity.workers() == 1 {
            return Routed::To(0);
        }
        self.expire(packet.ts, released);
        let Some(ip) = decoded.ip.as_ref() else {
            return Routed::To(self.affinity.worker_of_decoded(decoded, number));
        };
        let pair_worker = self.affinity.worker_of_pair(ip.src, ip.dst);
        let Some(frag) = ip.fragment else {
            return Routed::To(pair_worker);
        };
        if !CARRIERS.contains(&ip.protocol) {
            return Routed::To(pair_worker);
        }
        let key = DatagramKey {
            src: ip.src,
            dst: ip.dst,
            id: frag.id,
            protocol: ip.protocol,
            context: context_of(decoded),
        };
        if frag.offset == 0 {
            let worker = match self.inner_pair(decoded) {
                Some((src, dst)) => {
                    self.stats.tunnel_datagrams += 1;
                    self.affinity.worker_of_pair(src, dst)
                }
                None => pair_worker,
            };
            let entry = self.entry(key, packet.ts, pair_worker, released);
            entry.worker = Some(worker);
            let held = std::mem::take(&mut entry.held);
            self.held_bytes -= held.iter().map(|h| h.data.len()).sum::<usize>();
            released.extend(held.into_iter().map(|h| (worker, h)));
            return Routed::To(worker);
        }
        if let Some(worker) = self.datagrams.get(&key).and_then(|d| d.worker) {
            return Routed::To(worker);
        }
        if self.held_bytes + packet.data.len() > self.limits.max_held_bytes {
            self.stats.unplaced += 1;
            return Routed::To(pair_worker);
        }
        let held = HeldPacket::of(number, packet);
        self.held_bytes += held.data.len();
        self.stats.held += 1;
        self.entry(key, packet.ts, pair_worker, released)
            .held
            .push(held);
        Routed::Held
    }

    /// Gives up every datagram still waiting: its held fragments go to their outer pair's
    /// worker (end of input).
    pub fn release_all(&mut self, released: &mut Vec<(usize, HeldPacket)>) {
        let mut keys: Vec<(Timestamp, DatagramKey)> = self.order.drain(..).collect();
        keys.dedup();
        for (_, key) in keys {
            self.give_up(&key, released);
        }
        self.datagrams.clear();
        self.held_bytes = 0;
    }

    /// The entry of `key`, created (and the oldest evicted past the bound) when new.
    fn entry(
        &mut self,
        key: DatagramKey,
        now: Timestamp,
        outer_worker: usize,
        released: &mut Vec<(usize, HeldPacket)>,
    ) -> &mut Datagram {
        if !self.datagrams.contains_key(&key) {
            while self.datagrams.len() >= self.limits.max_datagrams.max(1) {
                let Some((_, oldest)) = self.order.pop_front() else {
                    break;
                };
                self.give_up(&oldest, released);
            }
            self.order.push_back((now, key));
        }
        self.datagrams.entry(key).or_insert_with(|| Datagram {
            worker: None,
            outer_worker,
            held: Vec::new(),
            since: now,
        })
    }

    /// Forgets datagrams older than the timeout at packet time `now`.
    fn expire(&mut self, now: Timestamp, released: &mut Vec<(usize, HeldPacket)>) {
        while let Some(&(since, key)) = self.order.front() {
            if now.saturating_since(since) < self.limits.timeout {
                break;
            }
            self.order.pop_front();
            if self.datagrams.get(&key).is_some_and(|d| d.since == since) {
                self.give_up(&key, released);
            }
        }
    }

    fn give_up(&mut self, key: &DatagramKey, released: &mut Vec<(usize, HeldPacket)>) {
        let Some(d) = self.datagrams.remove(key) else {
            return;
        };
        let worker = d.worker.unwrap_or(d.outer_worker);
        for h in d.held {
            self.held_bytes -= h.data.len();
            self.stats.unplaced += 1;
            released.push((worker, h));
        }
    }

    /// The innermost address pair of the datagram a first IPv4 fragment starts, when it is a
    /// tunnel's outer datagram whose inner IP header is in the fragment.
    fn inner_pair(&mut self, decoded: &Decoded<'_>) -> Option<(IpAddr, IpAddr)> {
        let ip = decoded.ip.as_ref()?;
        if ip.version != 4 {
            return None;
        }
        // The fragment as an unfragmented datagram of its own length: its header with the
        // "more fragments" flag cleared, then its payload. The decoder then follows the
        // tunnel into the (truncated) inner packet.
        self.scratch.clear();
        self.scratch.extend_from_slice(ip.header);
        if let Some(flags) = self.scratch.get_mut(6) {
            *flags &= !0x20;
        }
        self.scratch.extend_from_slice(ip.payload);
        let inner = tapwatch_wire::decode_ip(&self.scratch, decoded);
        let inner_ip = inner.ip.as_ref()?;
        (inner.tunnel.outer.is_some() && inner.tunnel.depth > decoded.tunnel.depth)
            .then_some((inner_ip.src, inner_ip.dst))
    }
}

/// The VLAN and tunnel context a datagram is reassembled within.
fn context_of(decoded: &Decoded<'_>) -> u64 {
    let mut id = decoded.tunnel.id();
    for vlan in decoded.vlan.ids() {
        id = id.rotate_left(13) ^ u64::from(*vlan);
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{frame, ipip, packet};

    const OUTER: ([u8; 4], [u8; 4]) = ([198, 51, 100, 1], [203, 0, 113, 9]);

    /// An inner UDP datagram (without Ethernet) from `src` to `dst`.
    fn inner(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        frame(src, dst, 40000, 80, None, None)[14..].to_vec()
    }

    fn route_one(r: &mut Router, number: u64, data: &[u8]) -> (Routed, Vec<(usize, HeldPacket)>) {
        let mut released = Vec::new();
        let routed = r.route(number, &packet(data), &mut released);
        (routed, released)
    }

    /// A seed for which the outer pair and the inner pair hash to different workers of 4, so
    /// that routing by the outer pair would be visible.
    fn seed_separating(inner_src: [u8; 4], inner_dst: [u8; 4]) -> u64 {
        (0..1000)
            .find(|&seed| {
                let a = Affinity::with_seed(4, seed);
                let outer = a.worker_of_pair(OUTER.0.into(), OUTER.1.into());
                outer != a.worker_of_pair(inner_src.into(), inner_dst.into())
            })
            .expect("some seed separates the pairs")
    }

    #[test]
    fn an_outer_fragmented_tunnel_goes_to_its_inner_flows_worker() {
        let (isrc, idst) = ([10, 9, 0, 1], [10, 8, 0, 1]);
        let seed = seed_separating(isrc, idst);
        let a = Affinity::with_seed(4, seed);
        let want = a.worker_of_pair(isrc.into(), idst.into());
        let mut r = Router::new(a, FragmentLimits::default());
        let datagram = inner(isrc, idst);
        // The inner flow's unfragmented packets, through the tunnel, and in the clear.
        let whole = ipip(OUTER.0, OUTER.1, &datagram, None);
        assert_eq!(route_one(&mut r, 1, &whole).0, Routed::To(want));
        // The outer datagram in two fragments, in order.
        let first = ipip(
            OUTER.0,
            OUTER.1,
            datagram.get(..24).unwrap(),
            Some((0, true)),
        );
        let last = ipip(
            OUTER.0,
            OUTER.1,
            datagram.get(24..).unwrap(),
            Some((3, false)),
        );
        assert_eq!(route_one(&mut r, 2, &first).0, Routed::To(want));
        assert_eq!(route_one(&mut r, 3, &last).0, Routed::To(want));
        assert_eq!(r.stats().tunnel_datagrams, 1);
        assert_eq!(r.stats().held, 0);
    }

    #[test]
    fn fragments_before_their_first_are_held_then_delivered_ahead_of_it() {
        let (isrc, idst) = ([10, 7, 0, 3], [10, 6, 0, 4]);
        let seed = seed_separating(isrc, idst);
        let a = Affinity::with_seed(4, seed);
        let want = a.worker_of_pair(isrc.into(), idst.into());
        let mut r = Router::new(a, FragmentLimits::default());
        let datagram = inner(isrc, idst);
        let first = ipip(
            OUTER.0,
            OUTER.1,
            datagram.get(..24).unwrap(),
            Some((0, true)),
        );
        let last = ipip(
            OUTER.0,
            OUTER.1,
            datagram.get(24..).unwrap(),
            Some((3, false)),
        );
        let (routed, released) = route_one(&mut r, 7, &last);
        assert_eq!(routed, Routed::Held);
        assert!(released.is_empty());
        let (routed, released) = route_one(&mut r, 8, &first);
        assert_eq!(routed, Routed::To(want));
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].0, want);
        assert_eq!(released[0].1.number, 7);
        assert_eq!(released[0].1.data, last);
        assert_eq!((r.stats().held, r.stats().unplaced), (1, 0));
    }

    #[test]
    fn a_fragment_whose_first_never_comes_is_given_up_after_the_timeout() {
        let a = Affinity::with_seed(4, 3);
        let outer_worker = a.worker_of_pair(OUTER.0.into(), OUTER.1.into());
        let mut r = Router::new(a, FragmentLimits::default());
        let last = ipip(OUTER.0, OUTER.1, &[0u8; 24], Some((3, false)));
        assert_eq!(route_one(&mut r, 1, &last).0, Routed::Held);
        // 61 s later any packet releases it to the outer pair's worker.
        let other = frame([10, 0, 0, 1], [10, 0, 0, 2], 1, 2, None, None);
        let mut later = packet(&other);
        later.ts = Timestamp::new(1_700_000_061, 0);
        let mut released = Vec::new();
        let _ = r.route(2, &later, &mut released);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].0, outer_worker);
        assert_eq!(r.stats().unplaced, 1);
    }

    #[test]
    fn held_bytes_are_bounded_and_the_rest_is_released_at_the_end() {
        let a = Affinity::with_seed(4, 3);
        let limits = FragmentLimits {
            max_held_bytes: 200,
            ..FragmentLimits::default()
        };
        let mut r = Router::new(a, limits);
        let mut held = 0;
        let mut sent_now = 0;
        for id in 0..10u8 {
            let mut f = ipip(OUTER.0, OUTER.1, &[0u8; 24], Some((3, false)));
            f[14 + 5] = id; // a datagram of its own
            match route_one(&mut r, u64::from(id), &f).0 {
                Routed::Held => held += 1,
                Routed::To(_) => sent_now += 1,
            }
        }
        assert!(held >= 1 && sent_now >= 1, "held {held}, sent {sent_now}");
        let mut released = Vec::new();
        r.release_all(&mut released);
        assert_eq!(released.len(), held);
        assert_eq!(r.stats().unplaced as usize, held + sent_now);
    }

    #[test]
    fn ordinary_fragments_and_packets_go_by_their_pair_with_no_holding() {
        let a = Affinity::with_seed(4, 11);
        let mut r = Router::new(a, FragmentLimits::default());
        let (src, dst) = ([10, 1, 2, 3], [192, 0, 2, 5]);
        let want = a.worker_of_pair(src.into(), dst.into());
        // A UDP fragment whose first fragment comes later is held (it might be VXLAN)...
        let later = frame(src, dst, 0, 0, None, Some((2, false)));
        assert_eq!(route_one(&mut r, 1, &later).0, Routed::Held);
        // ...and placed with its first fragment, by the pair, since it carries no tunnel.
        let first = frame(src, dst, 5353, 53, None, Some((0, true)));
        let (routed, released) = route_one(&mut r, 2, &first);
        assert_eq!(routed, Routed::To(want));
        assert_eq!(
            released.iter().map(|(w, _)| *w).collect::<Vec<_>>(),
            vec![want]
        );
        let whole = frame(dst, src, 53, 5353, None, None);
        assert_eq!(route_one(&mut r, 3, &whole).0, Routed::To(want));
        assert_eq!(r.stats().tunnel_datagrams, 0);
    }
}
