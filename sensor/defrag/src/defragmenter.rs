//! The defragmenter: a bounded table of datagrams being reassembled.

use std::collections::{BTreeMap, HashMap};

use tapwatch_common::Timestamp;

use crate::config::DefragConfig;
use crate::event::{DefragEvent, DefragEvents};
use crate::fragment::{Fragment, TrackerKey};
use crate::stats::DefragStats;
use crate::tracker::{Segment, Tracker, TRACKER_OVERHEAD};

/// The largest IPv4 total length / IPv6 payload length.
const MAX_LENGTH_FIELD: u64 = 65_535;

/// Why a fragment was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Version 4/6 mismatching the addresses, or a header too short (IPv4: not 20..=60
    /// bytes; IPv6: under 40).
    Malformed,
    /// A non-final fragment with no data, or a non-final IPv6 fragment whose length is not a
    /// multiple of 8.
    InvalidLength,
    /// The datagram would exceed 65,535 bytes; it was dropped whole.
    TooLarge,
    /// The datagram already has the most fragments allowed; this one was not stored.
    TooManyFragments,
    /// Not even evicting every other datagram makes room under the memcap; the datagram was
    /// dropped whole.
    Memcap,
}

/// What inserting a fragment led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefragOutcome<'d> {
    /// The fragment was kept; its datagram is not complete yet.
    Pending {
        /// Events this fragment raised.
        events: DefragEvents,
    },
    /// The fragment completed its datagram.
    Complete {
        /// The whole IP packet, lent from the defragmenter's reusable buffer until its next
        /// call: the header of the first offset-0 fragment with its length fixed (IPv4: MF and
        /// offset cleared, checksum recomputed; IPv6: fragment header removed, the next-header
        /// field before it and the payload length fixed), then the payload.
        packet: &'d [u8],
        /// Events this fragment raised.
        events: DefragEvents,
    },
    /// The fragment was not kept.
    Dropped {
        /// Why.
        reason: DropReason,
        /// Events this fragment raised.
        events: DefragEvents,
    },
}

impl DefragOutcome<'_> {
    /// The events the fragment raised, whatever the outcome.
    pub fn events(&self) -> DefragEvents {
        match *self {
            Self::Pending { events }
            | Self::Complete { events, .. }
            | Self::Dropped { events, .. } => events,
        }
    }
}

/// Reassembles IPv4 and IPv6 fragments.
///
/// Fragments are grouped by (source, destination, IPv4 protocol, identification, version,
/// context). Memory is bounded: at most [`DefragConfig::max_trackers`] datagrams and
/// [`DefragConfig::memcap_bytes`] buffered bytes, the least recently updated datagram being
/// evicted first when either is reached. Completed packets are assembled into one reusable
/// buffer; storing fragments allocates (within the memcap), returning packets does not.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    trackers: HashMap<TrackerKey, Tracker>,
    /// Datagrams by last update, oldest first.
    lru: BTreeMap<u64, TrackerKey>,
    next_lru: u64,
    stats: DefragStats,
    out: Vec<u8>,
    scratch: Vec<Segment>,
}

impl Defragmenter {
    /// A defragmenter with the given limits (zero limits are raised to 1).
    pub fn new(cfg: DefragConfig) -> Self {
        let cfg = DefragConfig {
            max_trackers: cfg.max_trackers.max(1),
            max_fragments_per_datagram: cfg.max_fragments_per_datagram.clamp(1, 65_535),
            ..cfg
        };
        Self {
            cfg,
            trackers: HashMap::new(),
            lru: BTreeMap::new(),
            next_lru: 0,
            stats: DefragStats::default(),
            out: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Adds one fragment.
    pub fn insert(&mut self, frag: &Fragment<'_>) -> DefragOutcome<'_> {
        let mut events = DefragEvents::NONE;
        if frag.check().is_err() {
            self.stats.invalid += 1;
            return dropped(DropReason::Malformed, events);
        }
        let v6 = frag.is_v6();
        self.stats.fragment(v6);
        if frag.more && (frag.payload.is_empty() || (v6 && !frag.payload.len().is_multiple_of(8))) {
            if v6 {
                events.insert(DefragEvent::Ipv6FragInvalidLength);
            }
            self.stats.invalid += 1;
            return dropped(DropReason::InvalidLength, events);
        }
        let key = frag.key();
        if let Some(t) = self.trackers.get(&key) {
            if self.is_expired(t, frag.ts) {
                self.remove(&key);
                self.stats.timeout(v6);
            }
        }
        let header_len = self
            .trackers
            .get(&key)
            .map_or(frag.header.len(), |t| t.header_len_or(frag.header.len()));
        if frag.length_field_for(header_len, frag.end()) > MAX_LENGTH_FIELD {
            return self.too_large(&key, v6, events);
        }
        if !self.trackers.contains_key(&key) {
            if self.trackers.len() >= self.cfg.max_trackers {
                self.evict_oldest(&key);
                self.stats.max_trackers_reached += 1;
            }
            let lru = self.bump_lru();
            self.trackers.insert(key, Tracker::new(v6, frag.ts, lru));
            self.lru.insert(lru, key);
            self.stats.bytes_in_use += TRACKER_OVERHEAD;
        }
        let (count, cost) = match self.trackers.get(&key) {
            Some(t) => (t.fragment_count(), t.cost_of(frag)),
            None => (0, 0),
        };
        if count >= self.cfg.max_fragments_per_datagram {
            self.stats.max_frags_reached += 1;
            events.insert(DefragEvent::ignored(v6));
            self.sync_counts();
            return dropped(DropReason::TooManyFragments, events);
        }
        while self.stats.bytes_in_use + cost > self.cfg.memcap_bytes {
            if !self.evict_oldest(&key) {
                self.remove(&key);
                self.stats.memcap_drops += 1;
                events.insert(DefragEvent::ignored(v6));
                self.sync_counts();
                return dropped(DropReason::Memcap, events);
            }
            self.stats.memcap_drops += 1;
        }
        let lru = self.bump_lru();
        let Some(t) = self.trackers.get_mut(&key) else {
            return dropped(DropReason::Memcap, events);
        };
        self.lru.remove(&t.lru);
        t.lru = lru;
        self.lru.insert(lru, key);
        let inserted = t.insert(self.cfg.policy, frag, &mut self.scratch);
        self.stats.bytes_in_use += inserted.added;
        if inserted.overlap {
            events.insert(DefragEvent::overlap(v6));
            self.stats.overlaps += 1;
        }
        let complete = t.complete_len();
        let header_len = t.header_len_or(frag.header.len());
        let Some(end) = complete else {
            self.sync_counts();
            return DefragOutcome::Pending { events };
        };
        if frag.length_field_for(header_len, u64::from(end)) > MAX_LENGTH_FIELD {
            return self.too_large(&key, v6, events);
        }
        if let Some(t) = self.remove(&key) {
            t.assemble(end, &mut self.out);
            self.stats.reassembled(v6);
        }
        DefragOutcome::Complete {
            packet: &self.out,
            events,
        }
    }

    /// Drops every datagram with no new fragment for longer than the timeout before `now`,
    /// oldest first (counted as timeouts). Datagrams are checked in update order, so with
    /// timestamps that go backwards an expired one may wait for the next call.
    pub fn expire(&mut self, now: Timestamp) {
        while let Some((_, key)) = self.lru.first_key_value() {
            let key = *key;
            let Some(t) = self.trackers.get(&key) else {
                self.lru.pop_first();
                continue;
            };
            if !self.is_expired(t, now) {
                break;
            }
            let v6 = t.v6;
            self.remove(&key);
            self.stats.timeout(v6);
        }
        self.sync_counts();
    }

    fn is_expired(&self, t: &Tracker, now: Timestamp) -> bool {
        now.saturating_since(t.last_seen) > self.cfg.timeout
    }

    fn bump_lru(&mut self) -> u64 {
        self.next_lru += 1;
        self.next_lru
    }

    /// Drops the datagram of `key` for being too large.
    fn too_large(
        &mut self,
        key: &TrackerKey,
        v6: bool,
        mut events: DefragEvents,
    ) -> DefragOutcome<'_> {
        events.insert(DefragEvent::too_large(v6));
        self.stats.too_large += 1;
        self.remove(key);
        self.sync_counts();
        dropped(DropReason::TooLarge, events)
    }

    /// Removes the least recently updated datagram other than `keep`; false if there is none.
    fn evict_oldest(&mut self, keep: &TrackerKey) -> bool {
        let victim = self.lru.values().find(|k| *k != keep).copied();
        match victim {
            Some(k) => {
                self.remove(&k);
                true
            }
            None => false,
        }
    }

    /// Removes a datagram and releases its bytes.
    fn remove(&mut self, key: &TrackerKey) -> Option<Tracker> {
        let t = self.trackers.remove(key)?;
        self.lru.remove(&t.lru);
        self.stats.bytes_in_use = self.stats.bytes_in_use.saturating_sub(t.bytes);
        self.sync_counts();
        Some(t)
    }

    fn sync_counts(&mut self) {
        self.stats.trackers_in_use = self.trackers.len();
    }
}

fn dropped(reason: DropReason, events: DefragEvents) -> DefragOutcome<'static> {
    DefragOutcome::Dropped { reason, events }
}
