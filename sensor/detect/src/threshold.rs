//! `threshold`, `detection_filter` and `threshold.config` suppression, as Suricata documents
//! them. Counting windows start at the first match and last `seconds`; a match after the
//! window starts a new one.
//!
//! - `limit`: the first `count` matches of a window alert.
//! - `threshold`: every `count`-th match of a window alerts.
//! - `both`: the `count`-th match of a window alerts, once.
//! - `detection_filter`: matches after the `count`-th of a window alert.

use std::collections::HashMap;
use std::net::IpAddr;

use tapwatch_rules::{DetectionFilter, Threshold, ThresholdKind, Track};

use crate::config::SuppressTrack;

/// Counting state of one rule for one tracked entity.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RateState {
    window_start: u64,
    count: u32,
    /// `both`: already alerted in this window.
    done: bool,
}

impl RateState {
    fn new(now: u64) -> Self {
        Self {
            window_start: now,
            count: 0,
            done: false,
        }
    }

    /// Counts a match at `now`; returns whether it alerts.
    pub(crate) fn threshold(&mut self, t: &Threshold, now: u64) -> bool {
        if now >= self.window_start.saturating_add(u64::from(t.seconds)) {
            *self = Self::new(now);
        }
        self.count = self.count.saturating_add(1);
        match t.kind {
            ThresholdKind::Limit => self.count <= t.count,
            ThresholdKind::Threshold => {
                if self.count >= t.count {
                    self.count = 0;
                    true
                } else {
                    false
                }
            }
            ThresholdKind::Both => {
                if self.count >= t.count && !self.done {
                    self.done = true;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Counts a match against a detection filter; returns whether it alerts.
    pub(crate) fn filter(&mut self, f: &DetectionFilter, now: u64) -> bool {
        if now >= self.window_start.saturating_add(u64::from(f.seconds)) {
            *self = Self::new(now);
        }
        self.count = self.count.saturating_add(1);
        self.count > f.count
    }

    fn expired(&self, now: u64, seconds: u32) -> bool {
        now >= self.window_start.saturating_add(u64::from(seconds))
    }
}

/// What a threshold entry is tracked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Entity {
    Rule,
    Addr(IpAddr),
    Pair(IpAddr, IpAddr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    rate: RateKey,
    entity: Entity,
}

/// Which counting state of a rule: its `threshold` or its `detection_filter`, by the rule's
/// gid:sid (not the engine's index of the rule), so that counts survive a rule reload that
/// keeps the rule, as Suricata's do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RateKey {
    pub(crate) gid: u32,
    pub(crate) sid: u32,
    /// The `detection_filter` (not the `threshold`).
    pub(crate) filter: bool,
}

impl RateKey {
    /// The `threshold` (`filter` false) or `detection_filter` state of rule `id`.
    pub(crate) fn of(id: tapwatch_rules::SignatureId, filter: bool) -> Self {
        Self {
            gid: id.gid,
            sid: id.sid,
            filter,
        }
    }
}

/// Threshold tables of the hosts, host pairs and rules (everything but `by_flow`, which
/// lives in the flow). Shared by all workers through [`crate::HostState`].
#[derive(Debug, Default)]
pub(crate) struct Thresholds {
    table: HashMap<Key, (RateState, u32)>,
}

/// A threshold entry could not be created: the table is full even after dropping expired
/// entries. The caller counts it and lets the match alert rather than lose a detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableFull;

impl Thresholds {
    fn entity(track: Track, src: IpAddr, dst: IpAddr) -> Entity {
        match track {
            Track::BySrc => Entity::Addr(src),
            Track::ByDst => Entity::Addr(dst),
            Track::ByBoth => Entity::Pair(src, dst),
            Track::ByRule | Track::ByFlow => Entity::Rule,
        }
    }

    /// The state for (`rate`, track), created if needed; `None` when the table is full even
    /// after dropping expired entries.
    #[allow(clippy::too_many_arguments)]
    fn state(
        &mut self,
        rate: RateKey,
        track: Track,
        seconds: u32,
        src: IpAddr,
        dst: IpAddr,
        now: u64,
        max: usize,
    ) -> Result<&mut RateState, TableFull> {
        let key = Key {
            rate,
            entity: Self::entity(track, src, dst),
        };
        if !self.table.contains_key(&key) && self.table.len() >= max {
            self.table.retain(|_, (s, secs)| !s.expired(now, *secs));
            if self.table.len() >= max {
                return Err(TableFull);
            }
        }
        Ok(&mut self
            .table
            .entry(key)
            .or_insert_with(|| (RateState::new(now), seconds))
            .0)
    }

    /// Whether a rule's threshold lets this match alert.
    pub(crate) fn threshold(
        &mut self,
        rule: tapwatch_rules::SignatureId,
        t: &Threshold,
        src: IpAddr,
        dst: IpAddr,
        now: u64,
        max: usize,
    ) -> Result<bool, TableFull> {
        self.state(
            RateKey::of(rule, false),
            t.track,
            t.seconds,
            src,
            dst,
            now,
            max,
        )
        .map(|s| s.threshold(t, now))
    }

    /// Whether a rule's detection filter lets this match alert.
    pub(crate) fn filter(
        &mut self,
        rule: tapwatch_rules::SignatureId,
        f: &DetectionFilter,
        src: IpAddr,
        dst: IpAddr,
        now: u64,
        max: usize,
    ) -> Result<bool, TableFull> {
        self.state(
            RateKey::of(rule, true),
            f.track,
            f.seconds,
            src,
            dst,
            now,
            max,
        )
        .map(|s| s.filter(f, now))
    }

    /// Number of entries held.
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

/// Whether a `suppress` entry hides an alert from `src` to `dst`.
pub(crate) fn suppressed(tracks: &[SuppressTrack], src: IpAddr, dst: IpAddr) -> bool {
    tracks.iter().any(|t| match t {
        SuppressTrack::All => true,
        SuppressTrack::BySrc(set) => set.contains(src),
        SuppressTrack::ByDst(set) => set.contains(dst),
        SuppressTrack::ByEither(set) => set.contains(src) || set.contains(dst),
    })
}
