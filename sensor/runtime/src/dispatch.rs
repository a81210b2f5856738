//! Flow-affine dispatch: which worker processes a packet, and the queues that take packets
//! to the workers.
//!
//! Every piece of state a packet touches (its flow, its TCP streams, its fragments' tracker,
//! its parsers) is owned by one worker, so every packet of a flow must reach the same worker:
//! both directions, every IP fragment and the datagram they reassemble into, and the inner
//! flows of a tunnel. [`Affinity`] picks the worker from a symmetric hash of the innermost IP
//! address pair; [`crate::route::Router`] sends the fragments of a tunnel's outer datagram to
//! the worker of the inner flow they carry.
//!
//! Ports, VLAN ids and tunnel identifiers are left out of the hash on purpose: a non-first
//! fragment has no ports, and the flow table keys the inner flows of tunnels without the
//! outer addresses (as Suricata), so the same inner flow may arrive through two tunnel
//! endpoints. With the pair alone, all of them meet on one worker with no hand-over between
//! workers. The price is balance: all flows between two hosts share one worker. On an ISP or
//! ministry link the host pairs number in the hundreds of thousands, so the load spreads
//! (`bench/RESULTS.md`).
//!
//! Packets without an IP layer (ARP, LLDP, undecodable frames) belong to no flow; they are
//! spread by their number in the capture.

use std::net::IpAddr;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tapwatch_capture::{BatchLimits, PacketBatch, RawPacket};
use tapwatch_common::Timestamp;
use tapwatch_wire::Decoded;

use crate::route::{FragmentLimits, HeldPacket, Routed, Router, RouterStats};

/// Chooses the worker of each packet.
#[derive(Debug, Clone, Copy)]
pub struct Affinity {
    workers: u64,
    seed: u64,
}

impl Affinity {
    /// Spreads over `workers` workers (at least 1), with a random seed, so that the spread
    /// cannot be aimed at by whoever sends the traffic.
    pub fn new(workers: usize) -> Self {
        use std::hash::BuildHasher;
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x6166_6669_u64);
        Self::with_seed(workers, seed)
    }

    /// Likewise with a given seed (deterministic, for tests).
    pub fn with_seed(workers: usize, seed: u64) -> Self {
        Self {
            workers: workers.max(1) as u64,
            seed,
        }
    }

    /// The number of workers spread over.
    pub fn workers(&self) -> usize {
        self.workers as usize
    }

    /// The worker (`0..workers`) of a packet already decoded into `decoded`; `number` (the
    /// packet's number in the capture) spreads packets without an IP layer.
    pub fn worker_of_decoded(&self, decoded: &Decoded<'_>, number: u64) -> usize {
        if self.workers == 1 {
            return 0;
        }
        match decoded.ip.as_ref() {
            Some(ip) => self.worker_of_pair(ip.src, ip.dst),
            None => (number % self.workers) as usize,
        }
    }

    /// The worker of the flows between `src` and `dst` (either order).
    pub fn worker_of_pair(&self, src: IpAddr, dst: IpAddr) -> usize {
        (self.pair_hash(src, dst) % self.workers) as usize
    }

    /// The worker (`0..workers`) of `packet`, decoding it.
    pub fn worker_of(&self, packet: &RawPacket<'_>, number: u64) -> usize {
        if self.workers == 1 {
            return 0;
        }
        let mut decoded = Decoded::default();
        tapwatch_wire::decode_into(&mut decoded, packet.link, packet.data);
        self.worker_of_decoded(&decoded, number)
    }

    /// A hash of the address pair, in either order.
    fn pair_hash(&self, src: IpAddr, dst: IpAddr) -> u64 {
        let (a, b) = (addr_bits(src), addr_bits(dst));
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = self.seed;
        for word in [lo as u64, (lo >> 64) as u64, hi as u64, (hi >> 64) as u64] {
            h = mix(h ^ word);
        }
        h
    }
}

/// An address as 128 bits, IPv4 tagged so that it differs from the IPv6 address with the
/// same low bits.
fn addr_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)) | 1 << 64,
        IpAddr::V6(a) => u128::from(a),
    }
}

/// A 64-bit finaliser (every output bit depends on every input bit).
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Packets on their way to one worker, with their numbers in the capture.
#[derive(Debug, Default)]
pub struct WorkBatch {
    /// The packets, in capture order.
    pub packets: PacketBatch,
    /// Each packet's number in the capture (1-based: EVE's `pcap_cnt`).
    pub numbers: Vec<u64>,
    /// A clock tick after the packets: the capture's time (its latest packet's) when the
    /// dispatcher flushed. Every worker gets the same ticks at the same points of the packet
    /// stream, whatever their share of it, and sweeps its flow timeouts there only. Batches
    /// sent early because they were full carry none.
    pub tick: Option<Timestamp>,
}

impl WorkBatch {
    fn with_limits(limits: BatchLimits) -> Self {
        Self {
            packets: PacketBatch::with_limits(limits),
            numbers: Vec::with_capacity(limits.max_packets),
            tick: None,
        }
    }

    /// Removes every packet, keeping the allocations.
    pub fn clear(&mut self) {
        self.packets.clear();
        self.numbers.clear();
    }

    /// The packets with their numbers.
    pub fn iter(&self) -> impl Iterator<Item = (u64, RawPacket<'_>)> + '_ {
        self.numbers.iter().copied().zip(self.packets.iter())
    }
}

/// What the dispatcher does when a worker's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backpressure {
    /// Wait for room: nothing is lost (offline replay; the reader slows down).
    Wait,
    /// Drop the batch and count its packets (live capture: the capture never waits on a
    /// worker; the kernel's ring would overflow instead, out of sight).
    Drop,
}

/// Every worker's queue is closed: the workers have stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the worker threads have stopped")]
pub struct WorkersGone;

/// The end of the queues that feeds the workers: packets are copied into one batch per
/// worker, and a batch goes to its worker when it is full or at [`Dispatcher::flush`].
#[derive(Debug)]
pub struct Dispatcher {
    router: Router,
    /// Held packets the router released, waiting to be queued (reused).
    released: Vec<(usize, HeldPacket)>,
    limits: BatchLimits,
    policy: Backpressure,
    pending: Vec<WorkBatch>,
    queues: Vec<Sender<WorkBatch>>,
    recycled: Receiver<WorkBatch>,
    clock: Timestamp,
    /// Packets dropped per worker because its queue was full (policy `Drop` only).
    dropped: Vec<u64>,
    /// Packets dispatched per worker.
    dispatched: Vec<u64>,
}

/// Batches that may wait in one worker's queue. With [`BatchLimits::default`] that is at
/// most 4 MiB of packets per worker, plus the batch being processed.
pub const QUEUE_BATCHES: usize = 4;

/// A worker's end of its queue.
#[derive(Debug)]
pub struct WorkerQueue {
    /// Batches to process, in order.
    pub batches: Receiver<WorkBatch>,
    /// Where processed batches go back for reuse (never waited on).
    pub recycle: Sender<WorkBatch>,
}

impl Dispatcher {
    /// A dispatcher over `affinity.workers()` queues, and the workers' ends of them;
    /// fragments of tunnels are routed within `fragments`' bounds.
    pub fn new(
        affinity: Affinity,
        policy: Backpressure,
        fragments: FragmentLimits,
    ) -> (Self, Vec<WorkerQueue>) {
        let (queues, recycled, ends) = Self::queues(affinity.workers(), QUEUE_BATCHES, 1);
        (
            Self::producer(affinity, policy, fragments, queues, recycled),
            ends,
        )
    }

    /// `producers` dispatchers (at least 1) feeding the same `affinity.workers()` queues of
    /// `queue_batches` batches each (at least 1), and the workers' ends of them: for live
    /// capture, one dispatcher per capture thread. Each dispatcher keeps its own pending
    /// batches and counters; a worker's queue closes when every dispatcher is closed or
    /// dropped. Packets from one producer reach a worker in order; packets of different
    /// producers interleave by batch.
    pub fn shared(
        affinity: Affinity,
        policy: Backpressure,
        fragments: FragmentLimits,
        producers: usize,
        queue_batches: usize,
    ) -> (Vec<Self>, Vec<WorkerQueue>) {
        let producers = producers.max(1);
        let (queues, recycled, ends) =
            Self::queues(affinity.workers(), queue_batches.max(1), producers);
        let dispatchers = (0..producers)
            .map(|_| {
                Self::producer(
                    affinity,
                    policy,
                    fragments,
                    queues.clone(),
                    recycled.clone(),
                )
            })
            .collect();
        (dispatchers, ends)
    }

    /// The worker queues, the recycling channel's receiving end, and the workers' ends.
    #[allow(
        clippy::type_complexity,
        reason = "private helper of the two constructors"
    )]
    fn queues(
        workers: usize,
        queue_batches: usize,
        producers: usize,
    ) -> (
        Vec<Sender<WorkBatch>>,
        Receiver<WorkBatch>,
        Vec<WorkerQueue>,
    ) {
        let (recycle, recycled) =
            crossbeam_channel::bounded(workers * (queue_batches + 1) + producers * workers);
        let mut queues = Vec::with_capacity(workers);
        let mut ends = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (tx, rx) = crossbeam_channel::bounded(queue_batches);
            queues.push(tx);
            ends.push(WorkerQueue {
                batches: rx,
                recycle: recycle.clone(),
            });
        }
        (queues, recycled, ends)
    }

    fn producer(
        affinity: Affinity,
        policy: Backpressure,
        fragments: FragmentLimits,
        queues: Vec<Sender<WorkBatch>>,
        recycled: Receiver<WorkBatch>,
    ) -> Self {
        let n = affinity.workers();
        let limits = BatchLimits::default();
        Self {
            router: Router::new(affinity, fragments),
            released: Vec::new(),
            limits,
            policy,
            pending: (0..n).map(|_| WorkBatch::with_limits(limits)).collect(),
            queues,
            recycled,
            clock: Timestamp::default(),
            dropped: vec![0; n],
            dispatched: vec![0; n],
        }
    }

    /// The affinity packets are routed by.
    pub fn affinity(&self) -> &Affinity {
        self.router.affinity()
    }

    /// The router's counters (fragments held and placed).
    pub fn router_stats(&self) -> RouterStats {
        self.router.stats()
    }

    /// Routes packet number `number`, already decoded into `decoded` by the caller (who
    /// needed it anyway), to its worker, without decoding it again.
    pub fn push_decoded(
        &mut self,
        number: u64,
        packet: &RawPacket<'_>,
        decoded: &Decoded<'_>,
    ) -> Result<(), WorkersGone> {
        self.clock = packet.ts;
        let mut released = std::mem::take(&mut self.released);
        let routed = self
            .router
            .route_decoded(number, packet, decoded, &mut released);
        self.deliver(number, packet, routed, released)
    }

    /// Sets the capture's clock to `now` when it is later (a live capture's wall clock while
    /// no packet comes), for the next [`Dispatcher::flush`]'s tick.
    pub fn advance_clock(&mut self, now: Timestamp) {
        if now > self.clock {
            self.clock = now;
        }
    }

    /// Whether any packet waits in a pending batch.
    pub fn has_pending(&self) -> bool {
        self.pending.iter().any(|b| !b.numbers.is_empty())
    }

    /// Routes packet number `number` to its worker. Fails only when the workers are gone.
    pub fn push(&mut self, number: u64, packet: &RawPacket<'_>) -> Result<(), WorkersGone> {
        self.clock = packet.ts;
        let mut released = std::mem::take(&mut self.released);
        let routed = self.router.route(number, packet, &mut released);
        self.deliver(number, packet, routed, released)
    }

    /// Queues the packets the router released (before this one), then this one where it
    /// was routed.
    fn deliver(
        &mut self,
        number: u64,
        packet: &RawPacket<'_>,
        routed: Routed,
        mut released: Vec<(usize, HeldPacket)>,
    ) -> Result<(), WorkersGone> {
        let queued = self.queue_released(&mut released);
        self.released = released;
        queued?;
        match routed {
            Routed::To(worker) => self.enqueue(worker, number, packet),
            Routed::Held => Ok(()),
        }
    }

    /// Queues packets the router released, in order.
    fn queue_released(
        &mut self,
        released: &mut Vec<(usize, HeldPacket)>,
    ) -> Result<(), WorkersGone> {
        for (worker, held) in released.drain(..) {
            self.enqueue(worker, held.number, &held.as_raw())?;
        }
        Ok(())
    }

    fn enqueue(
        &mut self,
        worker: usize,
        number: u64,
        packet: &RawPacket<'_>,
    ) -> Result<(), WorkersGone> {
        let Some(batch) = self.pending.get_mut(worker) else {
            return Ok(());
        };
        batch.packets.push(packet);
        batch.numbers.push(number);
        if let Some(n) = self.dispatched.get_mut(worker) {
            *n += 1;
        }
        if batch.numbers.len() >= self.limits.max_packets
            || batch.packets.data_len() >= self.limits.max_bytes
        {
            self.send(worker, None)?;
        }
        Ok(())
    }

    /// Routes a whole batch whose first packet is number `first`, then flushes. With one
    /// worker the batch goes over as it is, without a copy. Returns a packet batch the source
    /// may reuse, when one is free.
    pub fn push_batch(
        &mut self,
        first: u64,
        batch: PacketBatch,
    ) -> Result<Option<PacketBatch>, WorkersGone> {
        if self.router.workers() > 1 {
            for (number, packet) in (first..).zip(batch.iter()) {
                self.push(number, &packet)?;
            }
            self.flush()?;
            return Ok(Some(batch));
        }
        let mut whole = self.recycled.try_recv().unwrap_or_else(|_| {
            WorkBatch::with_limits(BatchLimits {
                max_packets: 0,
                max_bytes: 0,
            })
        });
        let spare = std::mem::replace(&mut whole.packets, batch);
        whole.numbers.clear();
        whole
            .numbers
            .extend(first..first + whole.packets.len() as u64);
        if let Some(last) = whole.packets.last_ts() {
            self.clock = last;
        }
        whole.tick = Some(self.clock);
        if let Some(n) = self.dispatched.get_mut(0) {
            *n += whole.numbers.len() as u64;
        }
        let queue = self.queues.first().ok_or(WorkersGone)?;
        match self.policy {
            Backpressure::Wait => queue.send(whole).map_err(|_| WorkersGone)?,
            Backpressure::Drop => match queue.try_send(whole) {
                Ok(()) => {}
                Err(TrySendError::Full(whole)) => {
                    if let Some(d) = self.dropped.get_mut(0) {
                        *d += whole.numbers.len() as u64;
                    }
                }
                Err(TrySendError::Disconnected(_)) => return Err(WorkersGone),
            },
        }
        Ok(Some(spare))
    }

    /// Sends its pending packets, with a clock tick, to each worker whose queue is empty
    /// (it has caught up: low latency); a worker that is behind gets nothing now, and its
    /// pending batch grows until it is full or the next [`Dispatcher::flush`], so a slow
    /// worker's queue holds a few big batches rather than many small ones (live capture
    /// receives small batches; sending each would fill the queue's slots, not its bytes).
    pub fn flush_pending(&mut self) -> Result<(), WorkersGone> {
        for worker in 0..self.pending.len() {
            let waiting = self
                .pending
                .get(worker)
                .is_some_and(|b| !b.numbers.is_empty());
            let idle = self.queues.get(worker).is_some_and(Sender::is_empty);
            if waiting && idle {
                self.send(worker, Some(self.clock))?;
            }
        }
        Ok(())
    }

    /// Sends every worker its pending packets and a clock tick (an empty batch is a tick
    /// alone). Called after each batch read from the source.
    pub fn flush(&mut self) -> Result<(), WorkersGone> {
        for worker in 0..self.pending.len() {
            self.send(worker, Some(self.clock))?;
        }
        Ok(())
    }

    fn send(&mut self, worker: usize, tick: Option<Timestamp>) -> Result<(), WorkersGone> {
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| WorkBatch::with_limits(self.limits));
        let (Some(slot), Some(queue)) = (self.pending.get_mut(worker), self.queues.get(worker))
        else {
            return Ok(());
        };
        let mut batch = std::mem::replace(slot, fresh);
        batch.tick = tick;
        match self.policy {
            Backpressure::Wait => queue.send(batch).map_err(|_| WorkersGone),
            Backpressure::Drop => match queue.try_send(batch) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(batch)) => {
                    if let Some(d) = self.dropped.get_mut(worker) {
                        *d += batch.numbers.len() as u64;
                    }
                    Ok(())
                }
                Err(TrySendError::Disconnected(_)) => Err(WorkersGone),
            },
        }
    }

    /// Packets dropped per worker because its queue was full.
    pub fn dropped(&self) -> &[u64] {
        &self.dropped
    }

    /// Packets routed per worker so far.
    pub fn dispatched(&self) -> &[u64] {
        &self.dispatched
    }

    /// Sends what is pending (fragments still held included) and closes the queues: each
    /// worker finishes its queue and ends (once every dispatcher feeding it is closed).
    pub fn close(mut self) -> Result<(), WorkersGone> {
        let mut released = std::mem::take(&mut self.released);
        self.router.release_all(&mut released);
        self.queue_released(&mut released)?;
        let sent = self.flush();
        self.queues.clear();
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{frame, packet};

    #[test]
    fn both_directions_and_all_fragments_go_to_one_worker() {
        for seed in 0..50u64 {
            let a = Affinity::with_seed(4, seed);
            let a_ip = [10, 0, 0, seed as u8];
            let b_ip = [192, 0, 2, 7];
            let forward = frame(a_ip, b_ip, 40000, 53, None, None);
            let reply = frame(b_ip, a_ip, 53, 40000, None, None);
            let first = frame(a_ip, b_ip, 40000, 53, None, Some((0, true)));
            let later = frame(a_ip, b_ip, 0, 0, None, Some((2, false)));
            let w = a.worker_of(&packet(&forward), 1);
            assert_eq!(a.worker_of(&packet(&reply), 2), w, "seed {seed}: reply");
            assert_eq!(
                a.worker_of(&packet(&first), 3),
                w,
                "seed {seed}: first fragment"
            );
            assert_eq!(
                a.worker_of(&packet(&later), 4),
                w,
                "seed {seed}: later fragment"
            );
        }
    }

    #[test]
    fn host_pairs_spread_evenly_and_vlans_do_not_matter() {
        let a = Affinity::with_seed(2, 7);
        let mut by_pair = [0usize; 2];
        for i in 0..2_000u16 {
            let [hi, lo] = i.to_be_bytes();
            let plain = frame([10, 1, hi, lo], [192, 0, 2, 1], 1, 2, None, None);
            let w = a.worker_of(&packet(&plain), 1);
            by_pair[w] += 1;
            let tagged = frame([10, 1, hi, lo], [192, 0, 2, 1], 1, 2, Some(i), None);
            assert_eq!(a.worker_of(&packet(&tagged), 1), w);
        }
        assert!(by_pair.iter().all(|&n| n > 850), "even spread: {by_pair:?}");
    }

    #[test]
    fn one_worker_takes_everything() {
        let a = Affinity::with_seed(1, 99);
        let f = frame([10, 0, 0, 1], [192, 0, 2, 1], 1, 2, None, None);
        assert_eq!(a.worker_of(&packet(&f), 5), 0);
        assert_eq!(a.worker_of(&packet(b"junk"), 6), 0);
    }

    #[test]
    fn dispatch_keeps_order_and_numbers_and_ticks_idle_workers() {
        let (mut d, ends) = Dispatcher::new(
            Affinity::with_seed(3, 1),
            Backpressure::Wait,
            FragmentLimits::default(),
        );
        let frames: Vec<Vec<u8>> = (0..300u16)
            .map(|i| {
                let [hi, lo] = (i % 40).to_be_bytes();
                frame([10, 2, hi, lo], [192, 0, 2, 1], 1000 + i, 80, None, None)
            })
            .collect();
        let expected: Vec<usize> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| Affinity::with_seed(3, 1).worker_of(&packet(f), i as u64 + 1))
            .collect();
        let consumers: Vec<_> = ends
            .into_iter()
            .map(|end| {
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut ticks = 0;
                    for batch in end.batches.iter() {
                        ticks += 1;
                        seen.extend(batch.numbers.iter().copied());
                    }
                    (seen, ticks)
                })
            })
            .collect();
        for (i, f) in frames.iter().enumerate() {
            d.push(i as u64 + 1, &packet(f)).unwrap();
        }
        assert_eq!(d.dispatched().iter().sum::<u64>(), 300);
        d.close().unwrap();
        let mut all = Vec::new();
        for (w, c) in consumers.into_iter().enumerate() {
            let (seen, ticks) = c.join().unwrap();
            assert!(ticks >= 1, "every worker hears the clock at close");
            assert!(seen.windows(2).all(|p| p[0] < p[1]), "worker {w} in order");
            for n in &seen {
                assert_eq!(expected[(*n - 1) as usize], w, "packet {n} on its worker");
            }
            all.extend(seen);
        }
        all.sort_unstable();
        assert_eq!(all, (1..=300).collect::<Vec<u64>>());
    }

    #[test]
    fn several_producers_feed_the_same_workers_until_all_close() {
        let (dispatchers, ends) = Dispatcher::shared(
            Affinity::with_seed(2, 5),
            Backpressure::Wait,
            FragmentLimits::default(),
            3,
            2,
        );
        assert_eq!(dispatchers.len(), 3);
        let consumers: Vec<_> = ends
            .into_iter()
            .map(|end| {
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut last_tick = None;
                    for batch in end.batches.iter() {
                        seen.extend(batch.numbers.iter().copied());
                        last_tick = batch.tick.or(last_tick);
                        let mut batch = batch;
                        batch.clear();
                        let _ = end.recycle.try_send(batch);
                    }
                    (seen, last_tick)
                })
            })
            .collect();
        let mut expected = [Vec::new(), Vec::new()];
        let mut producers = Vec::new();
        for (p, mut d) in dispatchers.into_iter().enumerate() {
            let mut mine = [Vec::new(), Vec::new()];
            for i in 0..100u64 {
                let number = p as u64 * 1000 + i + 1;
                let [hi, lo] = (i as u16).to_be_bytes();
                let f = frame([10, p as u8, hi, lo], [192, 0, 2, 1], 1, 2, None, None);
                mine[d.affinity().worker_of(&packet(&f), number)].push(number);
            }
            for (w, m) in mine.into_iter().enumerate() {
                expected[w].extend(m);
            }
            producers.push(std::thread::spawn(move || {
                for i in 0..100u64 {
                    let number = p as u64 * 1000 + i + 1;
                    let [hi, lo] = (i as u16).to_be_bytes();
                    let f = frame([10, p as u8, hi, lo], [192, 0, 2, 1], 1, 2, None, None);
                    d.push(number, &packet(&f)).unwrap();
                    if i % 10 == 9 {
                        d.flush().unwrap();
                    }
                }
                d.advance_clock(Timestamp::new(1_800_000_000, 0));
                // Closing one dispatcher leaves the queues open for the others.
                d.close().unwrap();
            }));
        }
        for p in producers {
            p.join().unwrap();
        }
        for (w, c) in consumers.into_iter().enumerate() {
            let (mut seen, tick) = c.join().unwrap();
            // Each producer's packets arrive in its order; producers interleave.
            for p in 0..3u64 {
                let own: Vec<u64> = seen.iter().copied().filter(|n| n / 1000 == p).collect();
                assert!(
                    own.windows(2).all(|x| x[0] < x[1]),
                    "worker {w} producer {p}"
                );
            }
            seen.sort_unstable();
            expected[w].sort_unstable();
            assert_eq!(seen, expected[w], "worker {w} got exactly its packets");
            assert_eq!(
                tick,
                Some(Timestamp::new(1_800_000_000, 0)),
                "idle clock ticks"
            );
        }
    }

    #[test]
    fn pending_packets_wait_while_their_worker_is_behind() {
        let (mut d, ends) = Dispatcher::new(
            Affinity::with_seed(1, 1),
            Backpressure::Drop,
            FragmentLimits::default(),
        );
        let f = frame([10, 0, 0, 1], [192, 0, 2, 1], 1, 2, None, None);
        d.push(1, &packet(&f)).unwrap();
        d.flush_pending().unwrap();
        assert!(!d.has_pending(), "an idle worker gets its packets at once");
        for n in 2..=5 {
            d.push(n, &packet(&f)).unwrap();
            d.flush_pending().unwrap();
        }
        assert!(
            d.has_pending(),
            "a worker behind gets nothing new meanwhile"
        );
        let first = ends[0].batches.try_recv().unwrap();
        assert_eq!(first.numbers, [1]);
        d.flush_pending().unwrap();
        let second = ends[0].batches.try_recv().unwrap();
        assert_eq!(second.numbers, [2, 3, 4, 5], "one batch of what waited");
        assert_eq!(d.dropped(), &[0]);
    }

    #[test]
    fn drop_policy_counts_what_a_full_queue_refuses() {
        let (mut d, ends) = Dispatcher::new(
            Affinity::with_seed(1, 1),
            Backpressure::Drop,
            FragmentLimits::default(),
        );
        let f = frame([10, 0, 0, 1], [192, 0, 2, 1], 1, 2, None, None);
        // Nobody consumes: the queue holds QUEUE_BATCHES batches, the rest are dropped.
        for i in 0..(QUEUE_BATCHES as u64 + 3) {
            d.push(i + 1, &packet(&f)).unwrap();
            d.flush().unwrap();
        }
        assert_eq!(d.dropped(), &[3]);
        drop(ends);
    }
}
