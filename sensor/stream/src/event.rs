//! Events raised by the reassembler, named as Suricata names its stream events.

/// A notable condition seen while reassembling one direction of a TCP connection.
///
/// Every variant except [`StreamEvent::DataAfterFin`] corresponds to one of Suricata's
/// `stream-event:` keywords (see `stream-events.rules`); [`StreamEvent::name`] gives that exact
/// name so that rules and EVE output can refer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamEvent {
    /// A hole in the sequence space was declared and skipped (`sink.gap` was called).
    ReassemblySeqGap,
    /// A segment overlapped delivered or buffered data and at least one byte differed.
    ReassemblyOverlapDifferentData,
    /// The direction reached the configured reassembly depth; raised once per direction.
    ReassemblyDepthReached,
    /// A retransmitted segment covers data older than what is kept for comparison, so it
    /// could not be checked against what was delivered.
    ReassemblySegmentBeforeBaseSeq,
    /// An out-of-order segment was dropped because buffering it would exceed the memcap.
    ReassemblyInsertMemcap,
    /// A per-direction buffer or segment limit was hit and a hole was skipped to make room.
    ReassemblyInsertLimit,
    /// A segment carried only data that had already been delivered (a retransmission).
    PktRetransmission,
    /// A segment carried data after the connection was reset: the receiver may have ignored
    /// the RST, which suggests an injected one.
    SuspectedRstInject,
    /// A segment carried data beyond the FIN of its direction; the data was ignored.
    ///
    /// Suricata has no event with exactly this meaning; the name is tapwatch's own.
    DataAfterFin,
}

impl StreamEvent {
    /// Every event, in declaration order.
    pub const ALL: [StreamEvent; 9] = [
        Self::ReassemblySeqGap,
        Self::ReassemblyOverlapDifferentData,
        Self::ReassemblyDepthReached,
        Self::ReassemblySegmentBeforeBaseSeq,
        Self::ReassemblyInsertMemcap,
        Self::ReassemblyInsertLimit,
        Self::PktRetransmission,
        Self::SuspectedRstInject,
        Self::DataAfterFin,
    ];

    /// The event's name as used by `stream-event:` in rules (without the `stream.` prefix
    /// Suricata puts in front of it in EVE `anomaly` records).
    pub fn name(self) -> &'static str {
        match self {
            Self::ReassemblySeqGap => "reassembly_seq_gap",
            Self::ReassemblyOverlapDifferentData => "reassembly_overlap_different_data",
            Self::ReassemblyDepthReached => "reassembly_depth_reached",
            Self::ReassemblySegmentBeforeBaseSeq => "reassembly_segment_before_base_seq",
            Self::ReassemblyInsertMemcap => "reassembly_insert_memcap",
            Self::ReassemblyInsertLimit => "reassembly_insert_limit",
            Self::PktRetransmission => "pkt_retransmission",
            Self::SuspectedRstInject => "suspected_rst_inject",
            Self::DataAfterFin => "reassembly_data_after_fin",
        }
    }

    /// Whether Suricata 8 knows this event by [`StreamEvent::name`].
    pub fn is_suricata_event(self) -> bool {
        !matches!(self, Self::DataAfterFin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_suricata_names() {
        assert_eq!(
            StreamEvent::ReassemblyOverlapDifferentData.name(),
            "reassembly_overlap_different_data"
        );
        assert_eq!(StreamEvent::ReassemblySeqGap.name(), "reassembly_seq_gap");
        assert_eq!(
            StreamEvent::ReassemblyDepthReached.name(),
            "reassembly_depth_reached"
        );
        let suricata = StreamEvent::ALL
            .iter()
            .filter(|e| e.is_suricata_event())
            .count();
        assert_eq!(suricata, 8);
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in StreamEvent::ALL.iter().enumerate() {
            for b in StreamEvent::ALL.iter().skip(i + 1) {
                assert_ne!(a.name(), b.name());
            }
        }
    }
}
