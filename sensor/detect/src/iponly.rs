//! IP-only rules: rules that look at nothing but addresses and the protocol (Suricata's
//! "IP-only" signatures, typically reputation lists of hundreds of addresses). As in
//! Suricata, they are checked on the first packet of each direction of a flow (every packet
//! without a flow), and found through an address index instead of being tried one by one.

use std::collections::BTreeSet;
use std::net::IpAddr;

use tapwatch_rules::AddressSet;

/// Rules indexed by the addresses of one side (source or destination).
#[derive(Debug, Default)]
pub(crate) struct AddrIndex {
    /// (start, end, offset into `lists`, length), sorted, disjoint; IPv4.
    v4: Vec<(u128, u128, u32, u32)>,
    /// Likewise for IPv6.
    v6: Vec<(u128, u128, u32, u32)>,
    /// The segments' starts alone, for the search (a lookup runs on the first packet of
    /// every flow direction; ET Open's address lists make tens of thousands of segments,
    /// and a search through the 48-byte segments missed the cache at nearly every step).
    v4_starts: Vec<u32>,
    v6_starts: Vec<u128>,
    lists: Vec<u32>,
    /// Rules and ranges collected before [`AddrIndex::finish`].
    pending: Vec<(bool, u128, u128, u32)>,
}

fn key(addr: IpAddr) -> (bool, u128) {
    match addr {
        IpAddr::V4(a) => (false, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, u128::from(a)),
    }
}

impl AddrIndex {
    /// Adds rule `rule` for every address of `set`.
    pub(crate) fn add(&mut self, set: &AddressSet, rule: u32) {
        for &(a, b) in &set.v4 {
            self.pending
                .push((false, u128::from(a), u128::from(b), rule));
        }
        for &(a, b) in &set.v6 {
            self.pending.push((true, a, b, rule));
        }
    }

    /// Builds the segments.
    pub(crate) fn finish(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for v6 in [false, true] {
            // (position, is_start, rule): ends are exclusive (end + 1), absent at the top.
            let mut events: Vec<(u128, bool, u32)> = Vec::new();
            for &(fam, a, b, rule) in &pending {
                if fam != v6 {
                    continue;
                }
                events.push((a, true, rule));
                let top = if v6 { u128::MAX } else { u128::from(u32::MAX) };
                if b < top {
                    events.push((b + 1, false, rule));
                }
            }
            events.sort_unstable();
            let mut active: BTreeSet<u32> = BTreeSet::new();
            let mut segs = Vec::new();
            let mut i = 0;
            while i < events.len() {
                let pos = events.get(i).map_or(0, |e| e.0);
                while let Some(&(p, start, rule)) = events.get(i) {
                    if p != pos {
                        break;
                    }
                    if start {
                        active.insert(rule);
                    } else {
                        active.remove(&rule);
                    }
                    i += 1;
                }
                if active.is_empty() {
                    continue;
                }
                let end = match events.get(i) {
                    Some(&(next, _, _)) => next - 1,
                    None if v6 => u128::MAX,
                    None => u128::from(u32::MAX),
                };
                let off = self.lists.len() as u32;
                self.lists.extend(active.iter().copied());
                segs.push((pos, end, off, active.len() as u32));
            }
            if v6 {
                self.v6_starts = segs.iter().map(|s| s.0).collect();
                self.v6 = segs;
            } else {
                // IPv4 keys fit in 32 bits.
                self.v4_starts = segs
                    .iter()
                    .map(|s| u32::try_from(s.0).unwrap_or(u32::MAX))
                    .collect();
                self.v4 = segs;
            }
        }
    }

    /// Appends the rules whose indexed side holds `addr`.
    pub(crate) fn lookup(&self, addr: IpAddr, out: &mut Vec<u32>) {
        let k = key(addr).1;
        let (segs, idx) = match addr {
            IpAddr::V4(a) => {
                let k4 = u32::from(a);
                (&self.v4, self.v4_starts.partition_point(|&s| s <= k4))
            }
            IpAddr::V6(_) => (&self.v6, self.v6_starts.partition_point(|&s| s <= k)),
        };
        let Some(&(start, end, off, len)) = idx.checked_sub(1).and_then(|i| segs.get(i)) else {
            return;
        };
        if start <= k && k <= end {
            let off = off as usize;
            if let Some(list) = self.lists.get(off..off + len as usize) {
                out.extend_from_slice(list);
            }
        }
    }

    /// Whether no rule is indexed.
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty() && self.pending.is_empty()
    }
}

/// Number of addresses in a set (saturating).
fn size(set: &AddressSet) -> u128 {
    let v4: u128 = set
        .v4
        .iter()
        .map(|&(a, b)| u128::from(b - a) + 1)
        .fold(0u128, u128::saturating_add);
    set.v6
        .iter()
        .map(|&(a, b)| (b - a).saturating_add(1))
        .fold(v4, u128::saturating_add)
}

/// The IP-only rules of one group.
#[derive(Debug, Default)]
pub(crate) struct IpOnly {
    pub by_src: AddrIndex,
    pub by_dst: AddrIndex,
    /// Both sides `any`-like, or bidirectional: always candidates.
    pub unindexed: Vec<u32>,
}

impl IpOnly {
    /// Adds a rule by the smaller of its two address sets.
    pub(crate) fn add(
        &mut self,
        src: &AddressSet,
        dst: &AddressSet,
        bidirectional: bool,
        rule: u32,
    ) {
        if bidirectional || (src.is_any() && dst.is_any()) {
            self.unindexed.push(rule);
        } else if size(src) <= size(dst) {
            self.by_src.add(src, rule);
        } else {
            self.by_dst.add(dst, rule);
        }
    }

    pub(crate) fn finish(&mut self) {
        self.by_src.finish();
        self.by_dst.finish();
    }

    /// Appends the rules that may apply to a packet from `src` to `dst`.
    pub(crate) fn candidates(&self, src: IpAddr, dst: IpAddr, out: &mut Vec<u32>) {
        out.extend_from_slice(&self.unindexed);
        if !self.by_src.is_empty() {
            self.by_src.lookup(src, out);
        }
        if !self.by_dst.is_empty() {
            self.by_dst.lookup(dst, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_ranges_find_every_rule() {
        let a = AddressSet {
            v4: vec![(10, 20)],
            v6: vec![],
        };
        let b = AddressSet {
            v4: vec![(15, 30), (u32::MAX - 1, u32::MAX)],
            v6: vec![(5, u128::MAX)],
        };
        let mut idx = AddrIndex::default();
        idx.add(&a, 1);
        idx.add(&b, 2);
        idx.finish();
        let look = |addr: IpAddr| {
            let mut out = Vec::new();
            idx.lookup(addr, &mut out);
            out
        };
        let v4 = |n: u32| IpAddr::V4(n.into());
        assert_eq!(look(v4(9)), Vec::<u32>::new());
        assert_eq!(look(v4(10)), vec![1]);
        assert_eq!(look(v4(15)), vec![1, 2]);
        assert_eq!(look(v4(20)), vec![1, 2]);
        assert_eq!(look(v4(21)), vec![2]);
        assert_eq!(look(v4(31)), Vec::<u32>::new());
        assert_eq!(look(v4(u32::MAX)), vec![2]);
        assert_eq!(look(IpAddr::V6(4u128.into())), Vec::<u32>::new());
        assert_eq!(look(IpAddr::V6(u128::MAX.into())), vec![2]);
    }
}
