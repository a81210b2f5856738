//! Counters of one worker's reassembler.

/// Counters of one [`crate::Reassembler`], over every connection it has handled.
///
/// All counters only grow, except `in_use_bytes`, which is the current out-of-order memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Segments passed to [`crate::Reassembler::segment`].
    pub segments: u64,
    /// Bytes handed to [`crate::StreamSink::data`].
    pub bytes_delivered: u64,
    /// Segments (or parts of them) buffered because they arrived before a hole was filled.
    pub out_of_order: u64,
    /// Segments carrying only data that had already been delivered.
    pub retransmitted: u64,
    /// Segments that overlapped delivered or buffered data.
    pub overlaps: u64,
    /// Segments that overlapped delivered or buffered data with at least one differing byte.
    pub overlaps_different_data: u64,
    /// Holes declared and skipped.
    pub gaps: u64,
    /// Bytes skipped by declared holes.
    pub gap_bytes: u64,
    /// Directions that reached the reassembly depth.
    pub depth_reached: u64,
    /// Out-of-order segments dropped because the memcap would have been exceeded.
    pub memcap_drops: u64,
    /// Holes declared because a per-direction buffer or segment limit was hit.
    pub limit_gaps: u64,
    /// Segments carrying data beyond the FIN of their direction.
    pub data_after_fin: u64,
    /// Segments carrying data after the connection was reset.
    pub data_after_rst: u64,
    /// Segments starting implausibly far (over 1 GiB) ahead of the stream, ignored.
    pub out_of_window: u64,
    /// TCP keep-alive probes (0 or 1 byte at the sequence number before the next), ignored.
    pub keepalives: u64,
    /// Bytes currently buffered out of order across all streams (bounded by the memcap).
    pub in_use_bytes: usize,
}

impl std::ops::AddAssign<&StreamStats> for StreamStats {
    /// Adds another table's counters (several workers' tables summed into one figure).
    fn add_assign(&mut self, other: &StreamStats) {
        self.segments += other.segments;
        self.bytes_delivered += other.bytes_delivered;
        self.out_of_order += other.out_of_order;
        self.retransmitted += other.retransmitted;
        self.overlaps += other.overlaps;
        self.overlaps_different_data += other.overlaps_different_data;
        self.gaps += other.gaps;
        self.gap_bytes += other.gap_bytes;
        self.depth_reached += other.depth_reached;
        self.memcap_drops += other.memcap_drops;
        self.limit_gaps += other.limit_gaps;
        self.data_after_fin += other.data_after_fin;
        self.data_after_rst += other.data_after_rst;
        self.out_of_window += other.out_of_window;
        self.keepalives += other.keepalives;
        self.in_use_bytes += other.in_use_bytes;
    }
}
