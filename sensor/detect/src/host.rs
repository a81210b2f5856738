//! Detection state kept per host, host pair or rule rather than per flow: thresholds tracked
//! `by_src`, `by_dst`, `by_both` and `by_rule`, and xbits tracked by `ip_src`, `ip_dst` and
//! `ip_pair`. One [`HostState`] is shared by every worker of a sensor, as Suricata's host and
//! IP-pair tables are: a host's flows are spread over the workers, and a threshold counted or
//! an xbit set on one worker must hold on the others.
//!
//! The tables are behind one mutex. It is taken only when a rule that uses them has matched
//! (or, for xbit conditions, is being verified), never per packet: with ET Open that is a few
//! thousand times in a capture of millions of packets, so it is not contended.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::threshold::Thresholds;

/// What an xbit is stored with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum XKey {
    Ip(IpAddr),
    Pair(IpAddr, IpAddr),
}

/// The tables behind the lock.
#[derive(Debug, Default)]
pub(crate) struct HostTables {
    pub(crate) thresholds: Thresholds,
    /// Expiry time (packet seconds) of each set xbit, by interned name and key.
    pub(crate) xbits: HashMap<(u32, XKey), i64>,
}

impl HostTables {
    /// Whether xbit `name` is set for `key` at `now`.
    pub(crate) fn xbit_set(&self, name: u32, key: XKey, now: i64) -> bool {
        self.xbits.get(&(name, key)).is_some_and(|&exp| exp > now)
    }
}

/// Host and host-pair detection state shared by the workers of one sensor. Create one and
/// give it to every [`crate::Detector`] built with [`crate::Detector::with_host_state`]; a
/// detector built with [`crate::Detector::new`] has one of its own.
#[derive(Debug, Default)]
pub struct HostState {
    tables: Mutex<HostTables>,
}

impl HostState {
    /// Empty tables.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tables, locked. A worker that panicked while holding the lock left them in a
    /// consistent state (every update is a single map operation), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, HostTables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Threshold entries and xbits held now.
    pub fn sizes(&self) -> (usize, usize) {
        let t = self.lock();
        (t.thresholds.len(), t.xbits.len())
    }
}
