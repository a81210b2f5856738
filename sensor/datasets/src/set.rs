//! One dataset: a hash set (with a reputation value per entry for `datarep`) shared by every
//! worker of a sensor.
//!
//! # Why sharded reader-writer locks
//!
//! Sets are read on every lookup a rule makes and written only by `dataset:set`/`unset`
//! (and by loading). Workers must see each other's writes at once: a value `set` on one
//! worker has to be `isset` on all (Suricata's threads share one table). The set is split
//! into [`SHARDS`] hash maps, each behind its own `RwLock`, the shard chosen by the value's
//! hash: a lookup takes one shard's read lock (one atomic operation, no waiting unless a
//! writer holds that very shard), a write takes one shard's write lock, so writers on
//! different values rarely meet and readers never block each other. A lock-free map
//! (read-copy-update of the whole set) would make every `set` copy millions of entries; a
//! single mutex would serialise every lookup of every worker. The maps hash with `std`'s
//! SipHash under a random key per set, so values chosen by an attacker cannot pile into one
//! bucket (Suricata's `dataset-hash-collisions` case).
//!
//! # Bounds
//!
//! Every entry is charged [`Key::cost`] against the set's memcap. An entry that would pass
//! it is not stored: [`Dataset::add`] says so and the set's `memcap_refused` counter
//! grows, so nothing is dropped silently. `hashsize` reserves room for that many entries up
//! front (bounded by what the memcap allows), so a set loaded with millions of entries is
//! not rehashed over and over.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::value::{DataType, Key};

/// Number of independently locked parts of a set.
pub const SHARDS: usize = 64;

/// What an entry holds besides its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// `datarep` value (0 for a plain dataset).
    rep: u16,
    /// Insertion order, so that a saved file lists values as they were added.
    seq: u64,
}

/// How [`Dataset::add`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The value was new and is now in the set.
    Added,
    /// The value was already there.
    Present,
    /// The value was new but the memcap left no room: not stored (counted).
    MemcapFull,
}

/// A set's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatasetStats {
    /// Entries held.
    pub entries: u64,
    /// Bytes charged against the memcap.
    pub memuse: u64,
    /// The memcap.
    pub memcap: u64,
    /// Values not stored because the memcap was reached.
    pub memcap_refused: u64,
}

/// Where a set's contents come from and go to, and its bounds, resolved (paths absolute or
/// relative to the working directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    /// The set's name (what rules and the configuration call it).
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// File read when the set is created.
    pub load: Option<PathBuf>,
    /// File written when the sensor stops.
    pub save: Option<PathBuf>,
    /// Memory bound, bytes.
    pub memcap: u64,
    /// Entries to make room for up front.
    pub hashsize: u64,
    /// Whether the set was defined in the configuration or keeps state (`state`/`save`):
    /// Suricata's "dynamic" sets, which a rule reload keeps; other sets (`load` only, from
    /// rules) are read again from their file on a reload.
    pub dynamic: bool,
}

/// One dataset. `Sync`: shared by every worker behind an `Arc`.
#[derive(Debug)]
pub struct Dataset {
    spec: SetSpec,
    /// Whether entries carry a reputation (`datarep`); fixed by the first file line or the
    /// first keyword that uses the set.
    rep: std::sync::OnceLock<bool>,
    hasher: RandomState,
    shards: Box<[RwLock<HashMap<Key, Entry>>]>,
    memuse: AtomicU64,
    memcap_refused: AtomicU64,
    seq: AtomicU64,
}

impl Dataset {
    /// An empty set for `spec`.
    pub fn new(spec: SetSpec) -> Self {
        let per_entry = crate::value::ENTRY_OVERHEAD.max(1);
        let room = spec.hashsize.min(spec.memcap / per_entry);
        let per_shard = usize::try_from(room.div_ceil(SHARDS as u64)).unwrap_or(0);
        let hasher = RandomState::new();
        let shards = (0..SHARDS)
            .map(|_| RwLock::new(HashMap::with_capacity(per_shard)))
            .collect();
        Self {
            spec,
            rep: std::sync::OnceLock::new(),
            hasher,
            shards,
            memuse: AtomicU64::new(0),
            memcap_refused: AtomicU64::new(0),
            seq: AtomicU64::new(0),
        }
    }

    /// The set's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The set's type.
    pub fn data_type(&self) -> DataType {
        self.spec.data_type
    }

    /// Where it comes from and goes to.
    pub fn spec(&self) -> &SetSpec {
        &self.spec
    }

    /// Marks the set as one with reputation values (`true`) or without; `false` when it was
    /// already marked the other way (Suricata refuses to mix the two).
    pub fn mark_reputation(&self, rep: bool) -> bool {
        *self.rep.get_or_init(|| rep) == rep
    }

    /// Whether the set carries reputation values (`None` until something said).
    pub fn has_reputation(&self) -> Option<bool> {
        self.rep.get().copied()
    }

    fn shard_of(&self, key: &Key) -> usize {
        (self.hasher.hash_one(key) as usize) % SHARDS
    }

    fn read(&self, i: usize) -> Option<RwLockReadGuard<'_, HashMap<Key, Entry>>> {
        // Every update is one map operation, so a panicking holder left the map consistent.
        self.shards
            .get(i)
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn write(&self, i: usize) -> Option<RwLockWriteGuard<'_, HashMap<Key, Entry>>> {
        self.shards
            .get(i)
            .map(|s| s.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `key` is in the set.
    pub fn contains(&self, key: &Key) -> bool {
        self.read(self.shard_of(key))
            .is_some_and(|m| m.contains_key(key))
    }

    /// The reputation value of `key`, when it is in the set.
    pub fn reputation(&self, key: &Key) -> Option<u16> {
        self.read(self.shard_of(key))
            .and_then(|m| m.get(key).map(|e| e.rep))
    }

    /// Adds `key` (with reputation `rep`) unless it is there. The memcap is checked before
    /// the value is stored.
    pub fn add(&self, key: Key, rep: u16) -> AddOutcome {
        let i = self.shard_of(&key);
        let Some(mut map) = self.write(i) else {
            return AddOutcome::MemcapFull;
        };
        if map.contains_key(&key) {
            return AddOutcome::Present;
        }
        let cost = key.cost();
        let reserved = self
            .memuse
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(cost).filter(|&n| n <= self.spec.memcap)
            });
        if reserved.is_err() {
            self.memcap_refused.fetch_add(1, Ordering::Relaxed);
            return AddOutcome::MemcapFull;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        map.insert(key, Entry { rep, seq });
        AddOutcome::Added
    }

    /// Removes `key`; whether it was there.
    pub fn remove(&self, key: &Key) -> bool {
        let i = self.shard_of(key);
        let Some(mut map) = self.write(i) else {
            return false;
        };
        let removed = map.remove_entry(key);
        if let Some((k, _)) = &removed {
            self.memuse.fetch_sub(k.cost(), Ordering::Relaxed);
        }
        removed.is_some()
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        (0..SHARDS)
            .filter_map(|i| self.read(i).map(|m| m.len()))
            .sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The set's counters.
    pub fn stats(&self) -> DatasetStats {
        DatasetStats {
            entries: self.len() as u64,
            memuse: self.memuse.load(Ordering::Relaxed),
            memcap: self.spec.memcap,
            memcap_refused: self.memcap_refused.load(Ordering::Relaxed),
        }
    }

    /// Every entry with its reputation, in the order they were added.
    pub fn entries(&self) -> Vec<(Key, u16)> {
        let mut all: Vec<(u64, Key, u16)> = Vec::with_capacity(self.len());
        for i in 0..SHARDS {
            if let Some(m) = self.read(i) {
                all.extend(m.iter().map(|(k, e)| (e.seq, k.clone(), e.rep)));
            }
        }
        all.sort_unstable_by_key(|(seq, _, _)| *seq);
        all.into_iter().map(|(_, k, r)| (k, r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn spec(memcap: u64) -> SetSpec {
        SetSpec {
            name: "t".into(),
            data_type: DataType::String,
            load: None,
            save: None,
            memcap,
            hashsize: 1024,
            dynamic: true,
        }
    }

    fn s(v: &str) -> Key {
        Key::Str(v.as_bytes().into())
    }

    #[test]
    fn add_contains_remove() {
        let d = Dataset::new(spec(1 << 20));
        assert_eq!(d.add(s("a"), 0), AddOutcome::Added);
        assert_eq!(d.add(s("a"), 0), AddOutcome::Present);
        assert!(d.contains(&s("a")) && !d.contains(&s("b")));
        assert!(d.remove(&s("a")));
        assert!(!d.remove(&s("a")));
        assert!(d.is_empty());
        assert_eq!(d.stats().memuse, 0);
    }

    #[test]
    fn memcap_refuses_and_counts() {
        let one = s("x").cost();
        let d = Dataset::new(spec(one * 2));
        assert_eq!(d.add(s("x"), 0), AddOutcome::Added);
        assert_eq!(d.add(s("y"), 0), AddOutcome::Added);
        assert_eq!(d.add(s("z"), 0), AddOutcome::MemcapFull);
        assert!(!d.contains(&s("z")));
        let st = d.stats();
        assert_eq!((st.entries, st.memcap_refused, st.memuse), (2, 1, one * 2));
        // Room freed by a removal is usable again.
        assert!(d.remove(&s("x")));
        assert_eq!(d.add(s("z"), 0), AddOutcome::Added);
    }

    #[test]
    fn entries_keep_insertion_order_and_reputation() {
        let d = Dataset::new(spec(1 << 20));
        for (i, v) in ["c", "a", "b"].iter().enumerate() {
            d.add(s(v), i as u16);
        }
        let e = d.entries();
        assert_eq!(e, vec![(s("c"), 0), (s("a"), 1), (s("b"), 2)]);
        assert_eq!(d.reputation(&s("b")), Some(2));
        assert!(d.mark_reputation(true) && !d.mark_reputation(false));
    }

    #[test]
    fn set_from_two_workers_is_seen_by_both() {
        let d = Arc::new(Dataset::new(spec(1 << 24)));
        let added: Vec<u64> = (0..2u64)
            .map(|w| {
                let d = Arc::clone(&d);
                std::thread::spawn(move || {
                    let mut n = 0;
                    // Both workers add the same 10,000 values: each is added exactly once.
                    for i in 0..10_000u32 {
                        let v = if w == 0 { i } else { 9_999 - i };
                        if d.add(Key::Str(v.to_be_bytes().into()), 0) == AddOutcome::Added {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        assert_eq!(added.iter().sum::<u64>(), 10_000);
        assert_eq!(d.len(), 10_000);
        assert!(d.contains(&Key::Str(5_000u32.to_be_bytes().into())));
    }
}
