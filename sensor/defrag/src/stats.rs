//! Defragmentation counters.

/// Counters of a [`crate::Defragmenter`] (names follow Suricata's `defrag` stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DefragStats {
    /// IPv4 fragments given to [`crate::Defragmenter::insert`].
    pub ipv4_fragments: u64,
    /// IPv4 datagrams reassembled.
    pub ipv4_reassembled: u64,
    /// IPv4 datagrams dropped incomplete because their timeout passed.
    pub ipv4_timeouts: u64,
    /// IPv6 fragments given to [`crate::Defragmenter::insert`].
    pub ipv6_fragments: u64,
    /// IPv6 datagrams reassembled.
    pub ipv6_reassembled: u64,
    /// IPv6 datagrams dropped incomplete because their timeout passed.
    pub ipv6_timeouts: u64,
    /// Fragments that overlapped earlier ones with different data.
    pub overlaps: u64,
    /// Datagrams dropped because they would exceed 65,535 bytes.
    pub too_large: u64,
    /// Incomplete datagrams dropped to keep buffered bytes under the memcap (the least
    /// recently updated first), plus datagrams dropped because even that was not enough.
    pub memcap_drops: u64,
    /// Incomplete datagrams dropped because the tracker table was full (the least recently
    /// updated first).
    pub max_trackers_reached: u64,
    /// Fragments not stored because their datagram already had the most fragments allowed.
    pub max_frags_reached: u64,
    /// Fragments refused as malformed (version/address mismatch, bad header or length).
    pub invalid: u64,
    /// Datagrams being reassembled now.
    pub trackers_in_use: usize,
    /// Bytes buffered now, as counted against the memcap.
    pub bytes_in_use: usize,
}

impl DefragStats {
    /// Counts a fragment of IPv6 (`v6`) or IPv4.
    pub(crate) fn fragment(&mut self, v6: bool) {
        *if v6 {
            &mut self.ipv6_fragments
        } else {
            &mut self.ipv4_fragments
        } += 1;
    }

    /// Counts a reassembled datagram.
    pub(crate) fn reassembled(&mut self, v6: bool) {
        *if v6 {
            &mut self.ipv6_reassembled
        } else {
            &mut self.ipv4_reassembled
        } += 1;
    }

    /// Counts a datagram that timed out.
    pub(crate) fn timeout(&mut self, v6: bool) {
        *if v6 {
            &mut self.ipv6_timeouts
        } else {
            &mut self.ipv4_timeouts
        } += 1;
    }
}

impl std::ops::AddAssign<&DefragStats> for DefragStats {
    /// Adds another table's counters (several workers' tables summed into one figure).
    fn add_assign(&mut self, other: &DefragStats) {
        self.ipv4_fragments += other.ipv4_fragments;
        self.ipv4_reassembled += other.ipv4_reassembled;
        self.ipv4_timeouts += other.ipv4_timeouts;
        self.ipv6_fragments += other.ipv6_fragments;
        self.ipv6_reassembled += other.ipv6_reassembled;
        self.ipv6_timeouts += other.ipv6_timeouts;
        self.overlaps += other.overlaps;
        self.too_large += other.too_large;
        self.memcap_drops += other.memcap_drops;
        self.max_trackers_reached += other.max_trackers_reached;
        self.max_frags_reached += other.max_frags_reached;
        self.invalid += other.invalid;
        self.trackers_in_use += other.trackers_in_use;
        self.bytes_in_use += other.bytes_in_use;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_family() {
        let mut s = DefragStats::default();
        s.fragment(true);
        s.fragment(false);
        s.fragment(false);
        s.reassembled(true);
        s.timeout(false);
        assert_eq!((s.ipv4_fragments, s.ipv6_fragments), (2, 1));
        assert_eq!((s.ipv4_reassembled, s.ipv6_reassembled), (0, 1));
        assert_eq!((s.ipv4_timeouts, s.ipv6_timeouts), (1, 0));
    }
}
