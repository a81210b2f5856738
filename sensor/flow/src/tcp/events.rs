//! TCP session events, named exactly as Suricata's `stream-event` keywords.
//!
//! Only session-tracking events live here; reassembly events (`reassembly_*`) belong to the
//! stream crate.

macro_rules! tcp_events {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A TCP session anomaly. [`TcpEvent::name`] is Suricata's `stream-event` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum TcpEvent {
            $($(#[$doc])* $variant,)*
        }

        impl TcpEvent {
            /// Every event, in bit order.
            pub const ALL: &'static [TcpEvent] = &[$(TcpEvent::$variant,)*];

            /// Suricata's event name (the `stream-event:` keyword value, without `stream.`).
            pub fn name(self) -> &'static str {
                match self {
                    $(TcpEvent::$variant => $name,)*
                }
            }
        }
    };
}

tcp_events! {
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
    /// More than [`MAX_SYN_RESETS`](crate::tcp::MAX_SYN_RESETS) SYNs with different ISNs.
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
}

impl TcpEvent {
    /// Number of events (size of per-event counter arrays).
    pub const COUNT: usize = Self::ALL.len();

    /// The event's bit index (`0..COUNT`).
    pub fn index(self) -> usize {
        self as usize
    }
}

// Every event needs a bit of `TcpEvents`.
const _: () = assert!(TcpEvent::COUNT <= 64);

/// A set of [`TcpEvent`]s raised by one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpEvents(u64);

impl TcpEvents {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// Adds `event`.
    pub fn insert(&mut self, event: TcpEvent) {
        self.0 |= 1 << event.index();
    }

    /// Whether `event` is in the set.
    pub fn contains(self, event: TcpEvent) -> bool {
        self.0 & (1 << event.index()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of events in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The events in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = TcpEvent> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(e) = TcpEvent::ALL.get(i) {
                    return Some(*e);
                }
            }
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn indices_match_order() {
        for (i, e) in TcpEvent::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
    }

    #[test]
    fn names_unique_and_in_suricata_form() {
        let names: HashSet<&str> = TcpEvent::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), TcpEvent::COUNT);
        assert_eq!(
            TcpEvent::ThreeWhsSynackWithWrongAck.name(),
            "3whs_synack_with_wrong_ack"
        );
        assert_eq!(TcpEvent::RstInvalidAck.name(), "rst_invalid_ack");
        assert_eq!(TcpEvent::PktRetransmission.name(), "pkt_retransmission");
        for n in names {
            assert!(n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        }
    }

    #[test]
    fn bitset_ops() {
        let mut s = TcpEvents::EMPTY;
        assert!(s.is_empty());
        s.insert(TcpEvent::FinSyn);
        s.insert(TcpEvent::ThreeWhsAckInWrongDir);
        s.insert(TcpEvent::FinSyn);
        assert_eq!(s.len(), 2);
        assert!(s.contains(TcpEvent::FinSyn));
        assert!(!s.contains(TcpEvent::EstInvalidAck));
        let v: Vec<TcpEvent> = s.iter().collect();
        assert_eq!(v, vec![TcpEvent::ThreeWhsAckInWrongDir, TcpEvent::FinSyn]);
    }
}
