//! Flow table counters.

use crate::flow::EndReason;
use crate::tcp::TcpEvent;

/// Counters of a [`FlowTable`](crate::FlowTable); they only grow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended by idle timeout.
    pub ended_timeout: u64,
    /// Flows evicted from a full table.
    pub ended_evicted: u64,
    /// Flows ended by `drain`.
    pub ended_shutdown: u64,
    /// Flows ended by TCP port reuse.
    pub ended_tcp_reuse: u64,
    /// Packets refused because the table was full and nothing could be evicted.
    pub table_full: u64,
    /// TCP packets (protocol 6) that came without `TcpMeta`.
    pub missing_tcp_header: u64,
    /// TCP session counters.
    pub tcp: TcpStats,
}

impl FlowStats {
    /// Flows ended for `reason`.
    pub fn ended(&self, reason: EndReason) -> u64 {
        match reason {
            EndReason::Timeout => self.ended_timeout,
            EndReason::Evicted => self.ended_evicted,
            EndReason::Shutdown => self.ended_shutdown,
            EndReason::TcpReuse => self.ended_tcp_reuse,
        }
    }

    pub(crate) fn count_end(&mut self, reason: EndReason) {
        let c = match reason {
            EndReason::Timeout => &mut self.ended_timeout,
            EndReason::Evicted => &mut self.ended_evicted,
            EndReason::Shutdown => &mut self.ended_shutdown,
            EndReason::TcpReuse => &mut self.ended_tcp_reuse,
        };
        *c += 1;
    }
}

/// TCP session counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpStats {
    /// Sessions started (a SYN seen, or a midstream pickup).
    pub sessions: u64,
    /// Sessions picked up without a full handshake.
    pub midstream_pickups: u64,
    /// TCP packets not accepted for reassembly (no session, invalid, after close).
    pub refused: u64,
    /// RST packets refused (sequence outside the window, or invalid ack).
    pub rst_invalid: u64,
    /// Packets accepted whose ACK acknowledges data never seen (lost from the capture),
    /// within the window; Suricata's `tcp.ack_unseen_data`.
    pub ack_unseen_data: u64,
    events: [u64; TcpEvent::COUNT],
}

impl Default for TcpStats {
    fn default() -> Self {
        Self {
            sessions: 0,
            midstream_pickups: 0,
            refused: 0,
            rst_invalid: 0,
            ack_unseen_data: 0,
            events: [0; TcpEvent::COUNT],
        }
    }
}

impl TcpStats {
    /// How many packets raised `event`.
    pub fn event_count(&self, event: TcpEvent) -> u64 {
        self.events.get(event.index()).copied().unwrap_or(0)
    }

    /// Every event with its count, in event order.
    pub fn event_counts(&self) -> impl Iterator<Item = (TcpEvent, u64)> + '_ {
        TcpEvent::ALL.iter().map(|e| (*e, self.event_count(*e)))
    }

    /// Total of all event counts.
    pub fn events_total(&self) -> u64 {
        self.events.iter().sum()
    }

    pub(crate) fn count_event(&mut self, event: TcpEvent) {
        if let Some(c) = self.events.get_mut(event.index()) {
            *c += 1;
        }
    }
}

impl std::ops::AddAssign<&FlowStats> for FlowStats {
    /// Adds another table's counters (several workers' tables summed into one figure).
    fn add_assign(&mut self, other: &FlowStats) {
        self.created += other.created;
        self.ended_timeout += other.ended_timeout;
        self.ended_evicted += other.ended_evicted;
        self.ended_shutdown += other.ended_shutdown;
        self.ended_tcp_reuse += other.ended_tcp_reuse;
        self.table_full += other.table_full;
        self.missing_tcp_header += other.missing_tcp_header;
        self.tcp += &other.tcp;
    }
}

impl std::ops::AddAssign<&TcpStats> for TcpStats {
    /// Adds another table's counters (several workers' tables summed into one figure).
    fn add_assign(&mut self, other: &TcpStats) {
        self.sessions += other.sessions;
        self.midstream_pickups += other.midstream_pickups;
        self.refused += other.refused;
        self.rst_invalid += other.rst_invalid;
        self.ack_unseen_data += other.ack_unseen_data;
        for (a, b) in self.events.iter_mut().zip(other.events.iter()) {
            *a += *b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        let mut s = FlowStats::default();
        s.count_end(EndReason::TcpReuse);
        s.count_end(EndReason::Timeout);
        s.count_end(EndReason::Timeout);
        assert_eq!(s.ended(EndReason::Timeout), 2);
        assert_eq!(s.ended(EndReason::TcpReuse), 1);
        assert_eq!(s.ended(EndReason::Evicted), 0);
        s.tcp.count_event(TcpEvent::FinSyn);
        assert_eq!(s.tcp.event_count(TcpEvent::FinSyn), 1);
        assert_eq!(s.tcp.event_counts().map(|(_, c)| c).sum::<u64>(), 1);
    }
}
