//! Port groups: a TCP or UDP packet group's prefilter databases split by flow direction and
//! by the port on the server's side, as Suricata's signature group heads do.
//!
//! A rule can only match a packet whose ports its header admits, and only in the flow
//! direction its `flow` keyword names. For each direction the key is the server's port: the
//! packet's destination port to the server (and for packets without a flow, which no rule
//! with a `flow` direction matches), its source port to the client. A rule belongs to the
//! ports its header admits on that side (both sides' ports for `<>` rules); rules admitting
//! every port belong to every group. Ports with the same rules share a group (typically all
//! the ports no rule names share one), and past [`MAX_PORT_GROUPS`] the two most similar
//! groups are merged, repeatedly. Every group holds a superset of the rules whose header can
//! match its ports, so its candidates, verified in full afterwards, give exactly the alerts
//! of one database of all the rules. One database per buffer and group: a packet is scanned
//! once.

use std::collections::HashMap;

use crate::engine::{CompiledSig, GroupDb};
use crate::fastpattern::FastPatternChoice;

/// Most port groups per packet group and direction (similar ones are merged beyond it).
///
/// Measured on ET Open 2024 with the benchmark capture (2-core machine). Once anchored fast
/// patterns left the databases (`anchored.rs`), three groups per direction (this value)
/// cost no more peak memory than one (279 MB cold, Hyperscan's compiler dominating) and cut
/// processing by ~5 % (0.563 -> 0.534 s, candidates 0.91 M -> 0.65 M), for 0.4 s more cold
/// start-up (1.1 -> 1.5 s); six were no faster and took 2.2 s to start cold. (Before the
/// anchored literals left, three groups had raised the cold peak from 283 to 382 MB.)
pub(crate) const MAX_PORT_GROUPS: usize = 3;

/// Number of ports.
const PORTS: usize = 1 << 16;

/// The split of one packet group's databases by port.
#[derive(Debug, Default)]
pub(crate) struct PortGroups {
    /// Per direction (0: to the server, keyed by destination port; 1: to the client, keyed
    /// by source port), the port group of every port; empty when the group is not split.
    map: [Vec<u16>; 2],
    /// Per port group: its databases, a range of the packet group's `dbs`.
    sets: Vec<(usize, usize)>,
    /// Per port group: a description for reports (`to_server 80,8080`).
    labels: Vec<String>,
}

impl PortGroups {
    /// Whether the group's databases are split by port.
    pub(crate) fn is_split(&self) -> bool {
        self.map.iter().any(|m| !m.is_empty())
    }

    /// The range of the group's databases to scan for a packet in direction `dir` (0: to
    /// the server or without a flow, 1: to the client) with the given ports.
    pub(crate) fn range(&self, dir: usize, src_port: u16, dst_port: u16) -> (usize, usize) {
        let port = if dir == 1 { src_port } else { dst_port };
        self.map
            .get(dir)
            .and_then(|m| m.get(usize::from(port)))
            .and_then(|&s| self.sets.get(usize::from(s)))
            .copied()
            .unwrap_or((0, 0))
    }

    /// The report label of the port group holding database `db`.
    pub(crate) fn label_of(&self, db: usize) -> Option<&str> {
        let pos = self.sets.iter().position(|&(a, b)| a <= db && db < b)?;
        self.labels.get(pos).map(String::as_str)
    }
}

/// A rule with a fast pattern waiting to be put in its port groups.
pub(crate) struct PendingRule {
    /// Engine index.
    pub idx: u32,
    /// The fast pattern.
    pub fp: FastPatternChoice,
}

/// Builds the port groups of one packet group: appends every port group's databases to
/// `dbs` (through `add`, which puts one rule in a list of databases) and returns the split.
pub(crate) fn build(
    sigs: &[CompiledSig],
    rules: &[PendingRule],
    dbs: &mut Vec<GroupDb>,
    add: impl Fn(&mut Vec<GroupDb>, u32, &CompiledSig, &FastPatternChoice),
) -> PortGroups {
    let mut out = PortGroups::default();
    if rules.is_empty() {
        return out;
    }
    for dir in 0..2 {
        let (any, map, sets) = assign(sigs, rules, dir);

        let mut port_of_set: Vec<Vec<(u16, u16)>> = vec![Vec::new(); sets.len()];
        let mut start = 0usize;
        while start < PORTS {
            let set = map.get(start).copied().unwrap_or(0);
            let mut end = start;
            while map.get(end + 1).is_some_and(|&s| s == set) {
                end += 1;
            }
            if let Some(list) = port_of_set.get_mut(usize::from(set)) {
                list.push((clamp_port(start), clamp_port(end)));
            }
            start = end + 1;
        }
        let base = out.sets.len();
        for (set, members) in sets.iter().enumerate() {
            let mut all = members.clone();
            all.extend_from_slice(&any);
            all.sort_unstable();
            out.sets.push(append_dbs(sigs, rules, &all, dbs, &add));
            let ports = port_of_set.get(set).map_or(&[][..], Vec::as_slice);
            out.labels.push(label(dir, ports));
        }
        if let Some(m) = out.map.get_mut(dir) {
            *m = map
                .iter()
                .map(|&s| u16::try_from(base + usize::from(s)).unwrap_or(u16::MAX))
                .collect();
        }
    }
    out
}

/// Appends the databases of `members` (positions in `rules`) to `dbs`; returns their range.
fn append_dbs(
    sigs: &[CompiledSig],
    rules: &[PendingRule],
    members: &[usize],
    dbs: &mut Vec<GroupDb>,
    add: &impl Fn(&mut Vec<GroupDb>, u32, &CompiledSig, &FastPatternChoice),
) -> (usize, usize) {
    let mut local = Vec::new();
    for &r in members {
        if let Some(p) = rules.get(r) {
            if let Some(cs) = sigs.get(p.idx as usize) {
                add(&mut local, p.idx, cs, &p.fp);
            }
        }
    }
    let first = dbs.len();
    dbs.extend(local);
    (first, dbs.len())
}

fn clamp_port(p: usize) -> u16 {
    u16::try_from(p).unwrap_or(u16::MAX)
}

/// The server-side ports at which rule `cs` can match in direction `dir`, merged and
/// sorted; `None` when its `flow` direction excludes `dir`.
fn key_ports(cs: &CompiledSig, dir: usize) -> Option<Vec<(u16, u16)>> {
    if let Some(d) = cs.sig.flow.direction {
        if crate::engine::dir_index(d) != dir {
            return None;
        }
    }
    let h = &cs.sig.header;
    let (own, other) = if dir == 0 {
        (&h.dst_ports, &h.src_ports)
    } else {
        (&h.src_ports, &h.dst_ports)
    };
    let mut ranges = own.ranges.clone();
    if h.bidirectional {
        ranges.extend_from_slice(&other.ranges);
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    Some(merged)
}

/// The rules of direction `dir` (positions in `rules`, in order) admitting every port; the
/// port group of every port; each group's other rules. At most [`MAX_PORT_GROUPS`] groups.
type Assignment = (Vec<usize>, Vec<u16>, Vec<Vec<usize>>);

fn assign(sigs: &[CompiledSig], rules: &[PendingRule], dir: usize) -> Assignment {
    let mut any = Vec::new();
    let mut keys: Vec<(usize, Vec<(u16, u16)>)> = Vec::new();
    let mut bounds: Vec<usize> = vec![0, PORTS];
    for (pos, p) in rules.iter().enumerate() {
        let Some(cs) = sigs.get(p.idx as usize) else {
            continue;
        };
        if let Some(ranges) = key_ports(cs, dir) {
            if ranges == [(0, u16::MAX)] {
                any.push(pos);
                continue;
            }
            for &(a, b) in &ranges {
                bounds.push(usize::from(a));
                bounds.push(usize::from(b) + 1);
            }
            keys.push((pos, ranges));
        }
    }
    bounds.sort_unstable();
    bounds.dedup();
    // Rules per elementary interval [bounds[i], bounds[i + 1]).
    let intervals = bounds.len().saturating_sub(1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); intervals];
    for (pos, ranges) in &keys {
        for &(a, b) in ranges {
            let first = bounds.partition_point(|&x| x < usize::from(a));
            let end = bounds.partition_point(|&x| x < usize::from(b) + 1);
            for list in members.get_mut(first..end).into_iter().flatten() {
                list.push(*pos);
            }
        }
    }
    // Identical rule lists share a group, numbered in port order.
    let mut ids: HashMap<Vec<usize>, usize> = HashMap::new();
    let mut sets: Vec<Vec<usize>> = Vec::new();
    let mut interval_set = Vec::with_capacity(intervals);
    for list in members {
        let next = sets.len();
        let id = *ids.entry(list.clone()).or_insert(next);
        if id == next {
            sets.push(list);
        }
        interval_set.push(id);
    }
    let remap = merge_similar(&sets, MAX_PORT_GROUPS);
    let mut merged: Vec<Vec<usize>> = Vec::new();
    for (set, list) in sets.iter().enumerate() {
        let target = remap.get(set).copied().unwrap_or(0);
        if merged.len() <= target {
            merged.resize(target + 1, Vec::new());
        }
        if let Some(m) = merged.get_mut(target) {
            m.extend_from_slice(list);
        }
    }
    for m in &mut merged {
        m.sort_unstable();
        m.dedup();
    }
    let mut map = vec![0u16; PORTS];
    for (i, w) in bounds.windows(2).enumerate() {
        let (Some(&a), Some(&b)) = (w.first(), w.get(1)) else {
            continue;
        };
        let set = interval_set
            .get(i)
            .and_then(|&s| remap.get(s))
            .copied()
            .unwrap_or(0);
        let set = u16::try_from(set).unwrap_or(0);
        for slot in map.get_mut(a..b).into_iter().flatten() {
            *slot = set;
        }
    }
    (any, map, merged)
}

/// Maps each group to its final group. While there are more than `max` (at least one), the
/// two groups whose rule lists differ least (fewest rules in one but not the other: the
/// candidates a merge adds) are merged. Final groups are numbered in order of first
/// appearance.
fn merge_similar(sets: &[Vec<usize>], max: usize) -> Vec<usize> {
    if max <= 1 {
        return vec![0; sets.len()];
    }
    // Current groups: (original groups, rules).
    let mut groups: Vec<(Vec<usize>, Vec<usize>)> = sets
        .iter()
        .enumerate()
        .map(|(i, list)| (vec![i], list.clone()))
        .collect();
    while groups.len() > max.max(1) {
        let mut best: Option<(usize, usize, usize)> = None;
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate().skip(i + 1) {
                let cost = symmetric_difference(&a.1, &b.1);
                if best.is_none_or(|(c, _, _)| cost < c) {
                    best = Some((cost, i, j));
                }
            }
        }
        let Some((_, i, j)) = best else { break };
        let (members, rules) = groups.remove(j);
        if let Some(g) = groups.get_mut(i) {
            g.0.extend(members);
            g.1.extend(rules);
            g.1.sort_unstable();
            g.1.dedup();
        }
    }
    let mut remap = vec![0usize; sets.len()];
    let mut order: Vec<(usize, usize)> = groups
        .iter()
        .enumerate()
        .map(|(g, (members, _))| (members.iter().copied().min().unwrap_or(0), g))
        .collect();
    order.sort_unstable();
    for (final_id, (_, g)) in order.into_iter().enumerate() {
        for &m in groups.get(g).map_or(&[][..], |x| x.0.as_slice()) {
            if let Some(slot) = remap.get_mut(m) {
                *slot = final_id;
            }
        }
    }
    remap
}

/// Size of the symmetric difference of two sorted lists.
fn symmetric_difference(a: &[usize], b: &[usize]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while let (Some(x), Some(y)) = (a.get(i), b.get(j)) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => {
                n += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                n += 1;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    n + (a.len() - i.min(a.len())) + (b.len() - j.min(b.len()))
}

/// `to_server 80,8080-8081,…` (at most a few ranges).
fn label(dir: usize, ports: &[(u16, u16)]) -> String {
    const SHOWN: usize = 4;
    let mut s = String::from(if dir == 0 { "to_server " } else { "to_client " });
    let all: usize = ports
        .iter()
        .map(|&(a, b)| usize::from(b) - usize::from(a) + 1)
        .sum();
    if all == PORTS {
        s.push_str("any");
        return s;
    }
    for (i, &(a, b)) in ports.iter().take(SHOWN).enumerate() {
        if i > 0 {
            s.push(',');
        }
        if a == b {
            s.push_str(&a.to_string());
        } else {
            s.push_str(&format!("{a}-{b}"));
        }
    }
    if ports.len() > SHOWN {
        s.push_str(&format!(",… ({all} ports)"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_difference_counts_elements_in_one_list_only() {
        assert_eq!(symmetric_difference(&[], &[]), 0);
        assert_eq!(symmetric_difference(&[1, 2, 3], &[2, 3, 4]), 2);
        assert_eq!(symmetric_difference(&[1, 2], &[]), 2);
        assert_eq!(symmetric_difference(&[5], &[1, 2, 3]), 4);
    }

    #[test]
    fn the_most_similar_groups_are_merged_first() {
        // Five groups; three may stay: the empty group and {7} merge first (one rule
        // apart, first pair found), then {1,2} and {1,2,3}.
        let sets = vec![
            vec![],
            vec![1, 2],
            vec![1, 2, 3],
            vec![4, 5, 6, 8, 9],
            vec![7],
        ];
        let remap = merge_similar(&sets, 3);
        assert_eq!(remap.len(), 5);
        let distinct: std::collections::BTreeSet<usize> = remap.iter().copied().collect();
        assert_eq!(distinct.len(), 3);
        assert_eq!(merge_similar(&sets, 1), vec![0; 5]);
        assert_eq!(merge_similar(&sets, 5), vec![0, 1, 2, 3, 4]);
        assert_eq!(remap.get(1), remap.get(2));
        assert_eq!(remap.first(), remap.get(4));
        assert_ne!(remap.get(3), remap.get(1));
    }

    #[test]
    fn labels_name_the_ports() {
        assert_eq!(label(0, &[(0, u16::MAX)]), "to_server any");
        assert_eq!(
            label(1, &[(80, 80), (8000, 8010)]),
            "to_client 80,8000-8010"
        );
        let many: Vec<(u16, u16)> = (1..=6).map(|p| (p * 10, p * 10)).collect();
        assert_eq!(label(0, &many), "to_server 10,20,30,40,… (6 ports)");
    }
}
