//! Stream events: TCP session tracking and reassembly anomalies, named exactly as Suricata's
//! `stream-event` keywords.

/// Declares [`StreamEvent`] with its names, in one place so the list and the names can never
/// disagree.
macro_rules! stream_events {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A TCP session or reassembly anomaly. [`StreamEvent::name`] is Suricata's
        /// `stream-event` name.
        ///
        /// Session tracking (`tapwatch-flow`) raises the handshake, state and window events;
        /// reassembly (`tapwatch-stream`) the `reassembly_*` ones; both raise
        /// [`StreamEvent::PktRetransmission`] and [`StreamEvent::SuspectedRstInject`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum StreamEvent {
            $($(#[$doc])* $variant,)*
        }

        impl StreamEvent {
            /// Every event, in declaration order (which is [`StreamEvent::index`] order).
            pub const ALL: &'static [StreamEvent] = &[$(StreamEvent::$variant,)*];

            /// Suricata's event name, as written after `stream-event:` in rules (without the
            /// `stream.` prefix), e.g. `"3whs_synack_with_wrong_ack"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(StreamEvent::$variant => $name,)*
                }
            }

            /// The name with its `stream.` prefix, as EVE `anomaly` records write it.
            pub const fn qualified_name(self) -> &'static str {
                match self {
                    $(StreamEvent::$variant => concat!("stream.", $name),)*
                }
            }
        }
    };
}

stream_events! {
    /// Handshake: the completing ACK came from the server.
    ThreeWhsAckInWrongDir = "3whs_ack_in_wrong_dir",
    /// Async one-side handshake: the client's ACK has the wrong sequence number.
    ThreeWhsAsyncWrongSeq = "3whs_async_wrong_seq",
    /// Handshake: the client's ACK has the right sequence number but acknowledges the wrong
    /// server sequence number.
    ThreeWhsRightSeqWrongAckEvasion = "3whs_right_seq_wrong_ack_evasion",
    /// A SYN/ACK was sent by the client while waiting for the server's.
    ThreeWhsSynackInWrongDirection = "3whs_synack_in_wrong_direction",
    /// A resent SYN/ACK acknowledges a different client sequence number.
    ThreeWhsSynackResendWithDifferentAck = "3whs_synack_resend_with_different_ack",
    /// A resent SYN/ACK has a different server initial sequence number.
    ThreeWhsSynackResendWithDiffSeq = "3whs_synack_resend_with_diff_seq",
    /// In syn_recv, a SYN/ACK came from the client.
    ThreeWhsSynackToserverOnSynRecv = "3whs_synack_toserver_on_syn_recv",
    /// The SYN/ACK does not acknowledge the client's SYN.
    ThreeWhsSynackWithWrongAck = "3whs_synack_with_wrong_ack",
    /// More than the allowed number of SYNs with different ISNs.
    ThreeWhsSynFlood = "3whs_syn_flood",
    /// In syn_recv, the client resent its SYN with a different ISN.
    ThreeWhsSynResendDiffSeqOnSynRecv = "3whs_syn_resend_diff_seq_on_syn_recv",
    /// In syn_recv, a SYN came from the server.
    ThreeWhsSynToclientOnSynRecv = "3whs_syn_toclient_on_syn_recv",
    /// Handshake: the client's ACK has both a wrong sequence and a wrong ack number.
    ThreeWhsWrongSeqWrongAck = "3whs_wrong_seq_wrong_ack",
    /// Simultaneous open: a SYN/ACK acknowledges the wrong ISN.
    FourWhsSynackWithWrongAck = "4whs_synack_with_wrong_ack",
    /// Simultaneous open: a SYN/ACK's sequence number is not its sender's ISN.
    FourWhsSynackWithWrongSyn = "4whs_synack_with_wrong_syn",
    /// Simultaneous open: the completing ACK has the wrong sequence number.
    FourWhsWrongSeq = "4whs_wrong_seq",
    /// Simultaneous open: the completing ACK acknowledges the wrong sequence number.
    FourWhsInvalidAck = "4whs_invalid_ack",
    /// close_wait: a packet without FIN is outside the receiver's window.
    ClosewaitAckOutOfWindow = "closewait_ack_out_of_window",
    /// close_wait: a FIN is outside the receiver's window.
    ClosewaitFinOutOfWindow = "closewait_fin_out_of_window",
    /// close_wait: the ACK acknowledges data never sent.
    ClosewaitInvalidAck = "closewait_invalid_ack",
    /// close_wait: the segment's data was all acknowledged already.
    ClosewaitPktBeforeLastAck = "closewait_pkt_before_last_ack",
    /// closing: a packet's sequence number is not the expected one.
    ClosingAckWrongSeq = "closing_ack_wrong_seq",
    /// closing: the ACK acknowledges data never sent.
    ClosingInvalidAck = "closing_invalid_ack",
    /// established: the segment lies beyond the receiver's window.
    EstPacketOutOfWindow = "est_packet_out_of_window",
    /// established: the segment's data was all acknowledged already (retransmission).
    EstPktBeforeLastAck = "est_pkt_before_last_ack",
    /// established: the server resent its SYN/ACK unchanged.
    EstSynackResend = "est_synack_resend",
    /// established: a resent SYN/ACK acknowledges a different client ISN.
    EstSynackResendWithDifferentAck = "est_synack_resend_with_different_ack",
    /// established: a resent SYN/ACK has a different server ISN.
    EstSynackResendWithDiffSeq = "est_synack_resend_with_diff_seq",
    /// established: a SYN/ACK came from the client.
    EstSynackToserver = "est_synack_toserver",
    /// established: the client resent its SYN unchanged.
    EstSynResend = "est_syn_resend",
    /// established: the client sent a SYN with a different ISN.
    EstSynResendDiffSeq = "est_syn_resend_diff_seq",
    /// established: a SYN came from the server.
    EstSynToclient = "est_syn_toclient",
    /// established: the ACK acknowledges data never sent.
    EstInvalidAck = "est_invalid_ack",
    /// established: a FIN's ACK acknowledges data never sent.
    FinInvalidAck = "fin_invalid_ack",
    /// fin_wait1: a packet's sequence number is not the expected one.
    Fin1AckWrongSeq = "fin1_ack_wrong_seq",
    /// fin_wait1: a FIN's sequence number is not the expected one.
    Fin1FinWrongSeq = "fin1_fin_wrong_seq",
    /// fin_wait1: the ACK acknowledges data never sent.
    Fin1InvalidAck = "fin1_invalid_ack",
    /// fin_wait2: a packet's sequence number is not the expected one.
    Fin2AckWrongSeq = "fin2_ack_wrong_seq",
    /// fin_wait2: a FIN's sequence number is not the expected one.
    Fin2FinWrongSeq = "fin2_fin_wrong_seq",
    /// fin_wait2: the ACK acknowledges data never sent.
    Fin2InvalidAck = "fin2_invalid_ack",
    /// A FIN on a flow without a session (refused pickup).
    FinButNoSession = "fin_but_no_session",
    /// established: a FIN lies beyond the receiver's window.
    FinOutOfWindow = "fin_out_of_window",
    /// last_ack: a packet's sequence number is not the expected one.
    LastackAckWrongSeq = "lastack_ack_wrong_seq",
    /// last_ack: the ACK acknowledges data never sent.
    LastackInvalidAck = "lastack_invalid_ack",
    /// A RST on a flow without a session.
    RstButNoSession = "rst_but_no_session",
    /// time_wait: a packet's sequence number is not the expected one.
    TimewaitAckWrongSeq = "timewait_ack_wrong_seq",
    /// time_wait: the ACK acknowledges data never sent.
    TimewaitInvalidAck = "timewait_invalid_ack",
    /// The TCP timestamp went backwards (PAWS, RFC 7323) on a session that negotiated it.
    PktInvalidTimestamp = "pkt_invalid_timestamp",
    /// The ack field is non-zero while the ACK flag is clear.
    PktBrokenAck = "pkt_broken_ack",
    /// A RST whose ACK acknowledges data never sent.
    RstInvalidAck = "rst_invalid_ack",
    /// A SYN during the close (fin_wait1, fin_wait2, closing, close_wait, last_ack).
    ShutdownSynResend = "shutdown_syn_resend",
    /// Data after the session was closed by a RST: the RST was probably injected.
    SuspectedRstInject = "suspected_rst_inject",
    /// The segment's data was seen before (retransmission of unacknowledged data).
    PktRetransmission = "pkt_retransmission",
    /// SYN and FIN set together.
    FinSyn = "fin_syn",
    /// Reassembly: a hole in the sequence space was declared and skipped.
    ReassemblySeqGap = "reassembly_seq_gap",
    /// Reassembly: a segment overlapped delivered or buffered data and at least one byte
    /// differed.
    ReassemblyOverlapDifferentData = "reassembly_overlap_different_data",
    /// Reassembly: the direction reached the configured reassembly depth; raised once per
    /// direction.
    ReassemblyDepthReached = "reassembly_depth_reached",
    /// Reassembly: a retransmitted segment covers data older than what is kept for
    /// comparison, so it could not be checked against what was delivered.
    ReassemblySegmentBeforeBaseSeq = "reassembly_segment_before_base_seq",
    /// Reassembly: an out-of-order segment was dropped because buffering it would exceed the
    /// memcap.
    ReassemblyInsertMemcap = "reassembly_insert_memcap",
    /// Reassembly: a per-direction buffer or segment limit was hit and a hole was skipped to
    /// make room.
    ReassemblyInsertLimit = "reassembly_insert_limit",
    /// Reassembly: a segment carried data beyond the FIN of its direction; the data was
    /// ignored. Suricata has no event with exactly this meaning; the name is tapwatch's own.
    DataAfterFin = "reassembly_data_after_fin",
}

/// Stream event names Suricata 8 knows that tapwatch never raises: a rule naming one could
/// never match, and is rejected with that reason rather than as an unknown name.
pub const SURICATA_ONLY_STREAM_EVENTS: &[&str] = &[
    "3whs_ack_data_inject",
    "3whs_synack_flood",
    "3whs_synack_tfo_data_ignored",
    "pkt_bad_window_update",
    "pkt_invalid_ack",
    "pkt_spurious_retransmission",
    "reassembly_urgent_oob_limit_reached",
    "wrong_thread",
];

impl StreamEvent {
    /// Number of events (size of per-event counter arrays).
    pub const COUNT: usize = StreamEvent::ALL.len();

    /// The event's index in [`StreamEvent::ALL`] (`0..COUNT`).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The event with this name (without the `stream.` prefix), if tapwatch raises it.
    pub fn from_name(name: &str) -> Option<StreamEvent> {
        StreamEvent::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// Whether Suricata 8 knows this event by [`StreamEvent::name`] (all but tapwatch's own
    /// [`StreamEvent::DataAfterFin`]).
    pub const fn is_suricata_event(self) -> bool {
        !matches!(self, StreamEvent::DataAfterFin)
    }
}

// Session tracking keeps the events of one packet in a 64-bit set.
const _: () = assert!(StreamEvent::COUNT <= 64);

impl core::fmt::Display for StreamEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips_and_is_unique() {
        for (i, e) in StreamEvent::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(StreamEvent::from_name(e.name()), Some(*e));
            assert_eq!(e.qualified_name(), format!("stream.{}", e.name()));
            assert!(e
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
            for b in &StreamEvent::ALL[i + 1..] {
                assert_ne!(e.name(), b.name());
            }
        }
        for n in SURICATA_ONLY_STREAM_EVENTS {
            assert_eq!(StreamEvent::from_name(n), None, "{n}");
        }
    }

    #[test]
    fn known_names() {
        assert_eq!(
            StreamEvent::ThreeWhsSynackWithWrongAck.name(),
            "3whs_synack_with_wrong_ack"
        );
        assert_eq!(
            StreamEvent::ReassemblyOverlapDifferentData.name(),
            "reassembly_overlap_different_data"
        );
        assert_eq!(StreamEvent::from_name("stream.fin_syn"), None);
        let suricata = StreamEvent::ALL
            .iter()
            .filter(|e| e.is_suricata_event())
            .count();
        assert_eq!(suricata, StreamEvent::COUNT - 1);
    }
}
