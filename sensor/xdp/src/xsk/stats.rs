//! Counters of a socket: the kernel's (`XDP_STATISTICS`) and the socket's own.

/// The kernel's counters for one AF_XDP socket (`struct xdp_statistics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct XskStatistics {
    /// Packets dropped for reasons other than invalid descriptors (e.g. no fill-ring entry
    /// in copy mode, or a multi-buffer packet the socket did not accept).
    pub rx_dropped: u64,
    /// Invalid descriptors the kernel found in the fill ring.
    pub rx_invalid_descs: u64,
    /// Invalid descriptors in the transmit ring (unused: receive-only socket).
    pub tx_invalid_descs: u64,
    /// Packets dropped because the rx ring was full.
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the transmit ring was empty (unused).
    pub tx_ring_empty_descs: u64,
}

impl From<libc::xdp_statistics> for XskStatistics {
    fn from(s: libc::xdp_statistics) -> Self {
        Self {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
        }
    }
}

/// What the socket itself counted since it was bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketCounters {
    /// Packets delivered in batches.
    pub packets: u64,
    /// Bytes of those packets.
    pub bytes: u64,
    /// Delivered packets joined from several descriptors (multi-buffer).
    pub joined: u64,
    /// Packets dropped because they exceeded the maximum packet size.
    pub oversize: u64,
    /// Descriptors pointing outside their UMEM frame, dropped.
    pub invalid_descs: u64,
    /// Wakeups sent because the kernel asked (`XDP_RING_NEED_WAKEUP` on the fill ring).
    pub wakeups: u64,
    /// Wakeups that failed when a batch was released (the next receive retries).
    pub wakeup_errors: u64,
}
