//! The per-flow TCP session and its state machine.
//!
//! One [`TcpSession`] exists for every TCP flow. [`TcpSession::process`] validates a segment
//! against what each side has sent and acknowledged, moves the state, raises events and says
//! whether the segment should go on to reassembly.
//!
//! Design decisions (all documented on the items below):
//! - Roles are fixed by the flow table before a session starts; a SYN or SYN/ACK arriving
//!   against the guessed roles swaps them while no session exists yet ([`TcpSession::needs_role_swap`]).
//! - Window checks are skipped for sessions picked up midstream or completed one-sided,
//!   because a window scale negotiated in an unseen handshake is unknown (Suricata assumes the
//!   largest scale there, which amounts to the same).
//! - Acknowledgment checks are skipped while the acknowledged side has not sent a packet
//!   (one-sided captures).
//! - An acknowledgment of data never seen is accepted when it stays within the window the
//!   acknowledging side advertises ([`TcpSession::check_ack`]), as Suricata does: capture
//!   loss (a SPAN port dropping a segment) must not make the sensor drop the rest of the
//!   session. Reassembly then declares the lost bytes a gap at that acknowledgment.

use tapwatch_common::Direction;

use super::events::{TcpEvent, TcpEvents};
use super::seq;
use super::state::TcpState;
use super::{MAX_SYN_RESETS, MAX_WINDOW, MAX_WSCALE};
use crate::packet::{tcp_flags, TcpMeta};

/// What one side of a TCP session has sent and had acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpPeer {
    /// OR of the flags of every packet this side sent.
    pub flags: u8,
    /// This side's initial sequence number, when its SYN (or SYN/ACK) was seen.
    pub isn: Option<u32>,
    /// The next sequence number expected from this side (after its highest byte/FIN seen).
    pub next_seq: u32,
    /// The highest acknowledgment the other side sent for this side's data.
    pub last_ack: u32,
    /// This side's advertised receive window in bytes (scaled once scaling is negotiated).
    pub window: u32,
    /// Window scale shift announced in this side's SYN (clamped to 14).
    pub wscale: Option<u8>,
    /// Whether this side's SYN carried SACK-permitted.
    pub sack_permitted: bool,
    /// The most recent TSval this side sent.
    pub last_tsval: Option<u32>,
    /// Sequence number of this side's FIN, once sent.
    pub fin_seq: Option<u32>,
    /// Simultaneous open: this side sent a valid SYN/ACK.
    synack_sent: bool,
}

impl TcpPeer {
    /// Resets this side from a SYN (or SYN/ACK) it sent.
    fn init_from_syn(&mut self, pkt: &TcpMeta, len: u32) {
        self.isn = Some(pkt.seq);
        self.next_seq = pkt.seq.wrapping_add(1).wrapping_add(len);
        self.last_ack = pkt.seq;
        // RFC 7323: the window field of a SYN is never scaled.
        self.window = u32::from(pkt.window);
        self.wscale = pkt.wscale.map(|w| w.min(MAX_WSCALE));
        self.sack_permitted = pkt.sack_permitted;
        self.last_tsval = pkt.timestamp.map(|t| t.0);
        self.fin_seq = None;
        self.synack_sent = false;
    }

    /// Whether `ack` acknowledges this side's FIN.
    fn fin_acked_by(&self, ack: u32) -> bool {
        self.fin_seq
            .is_some_and(|fin| seq::leq(fin.wrapping_add(1), ack))
    }
}

/// Session-tracking policy taken from the flow configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TcpPolicy {
    pub(crate) midstream: bool,
    pub(crate) async_oneside: bool,
}

/// What processing one segment produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Outcome {
    pub(crate) events: TcpEvents,
    pub(crate) accept: bool,
    pub(crate) session_started: bool,
    pub(crate) midstream_pickup: bool,
    pub(crate) rst_invalid: bool,
    /// The segment was accepted although its ACK acknowledges data never seen.
    pub(crate) ack_unseen_data: bool,
}

impl Outcome {
    fn event(&mut self, e: TcpEvent) {
        self.events.insert(e);
    }
}

/// The TCP session of one flow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TcpSession {
    /// Current state.
    pub state: TcpState,
    /// The client's side.
    pub client: TcpPeer,
    /// The server's side.
    pub server: TcpPeer,
    /// A SYN from the client was seen.
    pub syn_seen: bool,
    /// A SYN/ACK from the server was seen.
    pub synack_seen: bool,
    /// The session was picked up without (all of) its handshake.
    pub midstream: bool,
    /// The handshake completed with only the client's side seen.
    pub async_oneside: bool,
    /// Both sides sent a SYN (simultaneous open, "4-way handshake").
    pub simultaneous_open: bool,
    /// Both SYNs carried the window scale option, so windows are scaled.
    pub wscale_negotiated: bool,
    /// Both SYNs carried the timestamp option, so PAWS applies.
    pub timestamps_negotiated: bool,
    /// The session was closed by a valid RST.
    pub closed_by_rst: bool,
    syn_resets: u8,
}

/// How a segment's acknowledgment number compares with what the acknowledged side sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckCheck {
    /// No ACK, nothing to check against, or it acknowledges only data seen.
    Seen,
    /// It acknowledges data never seen (lost from the capture) within the window.
    Unseen,
    /// It acknowledges data that cannot have been sent.
    Invalid,
}

/// The packet's flag bits, decoded once.
#[derive(Debug, Clone, Copy)]
struct Flags {
    syn: bool,
    ack: bool,
    rst: bool,
    fin: bool,
}

impl Flags {
    fn of(pkt: &TcpMeta) -> Self {
        Self {
            syn: pkt.has(tcp_flags::SYN),
            ack: pkt.has(tcp_flags::ACK),
            rst: pkt.has(tcp_flags::RST),
            fin: pkt.has(tcp_flags::FIN),
        }
    }
}

impl TcpSession {
    /// A session with no packets seen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the flow table must swap client and server before this packet: a session that
    /// has not started sees a SYN from the "server" or a SYN/ACK from the "client".
    pub(crate) fn needs_role_swap(&self, pkt: &TcpMeta, dir: Direction) -> bool {
        if self.state != TcpState::None {
            return false;
        }
        let f = Flags::of(pkt);
        if f.rst || f.fin || !f.syn {
            return false;
        }
        (!f.ack && dir == Direction::ToClient) || (f.ack && dir == Direction::ToServer)
    }

    /// Swaps the client and server sides.
    pub(crate) fn swap_roles(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
    }

    /// Whether this SYN starts a new connection on a finished session (TCP port reuse): the
    /// session is in time_wait or closed and the packet is a SYN without ACK that is not a
    /// retransmission of the client's original SYN.
    pub(crate) fn is_port_reuse(&self, pkt: &TcpMeta, dir: Direction) -> bool {
        let f = Flags::of(pkt);
        if !matches!(self.state, TcpState::TimeWait | TcpState::Closed)
            || !f.syn
            || f.ack
            || f.rst
            || f.fin
        {
            return false;
        }
        !(dir == Direction::ToServer && self.client.isn == Some(pkt.seq))
    }

    /// Processes one segment of `len` payload bytes travelling in `dir`.
    pub(crate) fn process(
        &mut self,
        pkt: &TcpMeta,
        len: u32,
        dir: Direction,
        policy: TcpPolicy,
    ) -> Outcome {
        let mut out = Outcome::default();
        let f = Flags::of(pkt);
        self.sender_mut(dir).flags |= pkt.flags;
        if !f.ack && pkt.ack != 0 {
            out.event(TcpEvent::PktBrokenAck);
        }
        if f.syn && f.fin {
            out.event(TcpEvent::FinSyn);
            return out;
        }
        match self.state {
            TcpState::None => self.on_none(pkt, len, dir, f, policy, &mut out),
            TcpState::SynSent => self.on_syn_sent(pkt, len, dir, f, policy, &mut out),
            TcpState::SynRecv if self.simultaneous_open => {
                self.on_simultaneous(pkt, len, dir, f, &mut out)
            }
            TcpState::SynRecv => self.on_syn_recv(pkt, len, dir, f, &mut out),
            TcpState::Closed => {
                if self.closed_by_rst && len > 0 {
                    out.event(TcpEvent::SuspectedRstInject);
                }
            }
            _ => self.on_synchronised(pkt, len, dir, f, &mut out),
        }
        out
    }

    fn sender_mut(&mut self, dir: Direction) -> &mut TcpPeer {
        match dir {
            Direction::ToServer => &mut self.client,
            Direction::ToClient => &mut self.server,
        }
    }

    /// (sender, receiver) of a packet travelling in `dir`.
    fn peers(&mut self, dir: Direction) -> (&mut TcpPeer, &mut TcpPeer) {
        match dir {
            Direction::ToServer => (&mut self.client, &mut self.server),
            Direction::ToClient => (&mut self.server, &mut self.client),
        }
    }

    fn negotiate_options(&mut self) {
        self.wscale_negotiated = self.client.wscale.is_some() && self.server.wscale.is_some();
        self.timestamps_negotiated =
            self.client.last_tsval.is_some() && self.server.last_tsval.is_some();
    }

    /// Whether window checks apply (the window scale is known).
    fn windows_known(&self) -> bool {
        !self.midstream && !self.async_oneside
    }

    /// `window` as the sender means it, scaled once scaling is negotiated.
    fn scaled_window(&self, sender: &TcpPeer, window: u16) -> u32 {
        let shift = if self.wscale_negotiated {
            sender.wscale.unwrap_or(0)
        } else {
            0
        };
        u32::from(window) << shift
    }

    /// No session yet: start one on a SYN, or pick up midstream when allowed.
    fn on_none(
        &mut self,
        pkt: &TcpMeta,
        len: u32,
        dir: Direction,
        f: Flags,
        policy: TcpPolicy,
        out: &mut Outcome,
    ) {
        if f.rst {
            out.event(TcpEvent::RstButNoSession);
            return;
        }
        if f.syn && !f.ack {
            // The table swapped roles if needed: the sender is the client.
            self.sender_mut(dir).init_from_syn(pkt, len);
            self.syn_resets = 0;
            self.syn_seen = true;
            self.state = TcpState::SynSent;
            out.session_started = true;
            out.accept = true;
            return;
        }
        if !policy.midstream {
            if f.fin {
                out.event(TcpEvent::FinButNoSession);
            }
            return;
        }
        if f.syn {
            // SYN/ACK first: the sender is the server, the client's SYN was missed.
            let (server, client) = self.peers(dir);
            server.init_from_syn(pkt, len);
            client.next_seq = pkt.ack;
            client.last_ack = pkt.ack;
            self.synack_seen = true;
            self.midstream = true;
            self.state = TcpState::SynRecv;
        } else if f.ack {
            let (sender, receiver) = self.peers(dir);
            sender.next_seq = pkt.seq.wrapping_add(len);
            sender.last_ack = pkt.seq;
            sender.window = u32::from(pkt.window);
            sender.last_tsval = pkt.timestamp.map(|t| t.0);
            receiver.next_seq = pkt.ack;
            receiver.last_ack = pkt.ack;
            self.midstream = true;
            self.state = TcpState::Established;
            if f.fin {
                self.apply_fin(pkt, len, dir);
                self.advance_close(pkt, dir, f);
            }
        } else {
            if f.fin {
                out.event(TcpEvent::FinButNoSession);
            }
            return;
        }
        out.session_started = true;
        out.midstream_pickup = true;
        out.accept = true;
    }

    /// The client's SYN was seen.
    fn on_syn_sent(
        &mut self,
        pkt: &TcpMeta,
        len: u32,
        dir: Direction,
        f: Flags,
        policy: TcpPolicy,
        out: &mut Outcome,
    ) {
        if f.rst {
            self.on_rst(pkt, dir, f, out);
            return;
        }
        match (f.syn, f.ack, dir) {
            (true, false, Direction::ToServer) => {
                if self.client.isn != Some(pkt.seq) {
                    // A SYN with a new ISN restarts the attempt.
                    self.syn_resets = self.syn_resets.saturating_add(1);
                    if self.syn_resets > MAX_SYN_RESETS {
                        out.event(TcpEvent::ThreeWhsSynFlood);
                    }
                    self.client.init_from_syn(pkt, len);
                }
                out.accept = true;
            }
            (true, false, Direction::ToClient) => {
                // Simultaneous open: the server sent its own SYN.
                self.server.init_from_syn(pkt, len);
                self.simultaneous_open = true;
                self.negotiate_options();
                self.state = TcpState::SynRecv;
                out.accept = true;
            }
            (true, true, Direction::ToClient) => {
                let isn = self
                    .client
                    .isn
                    .unwrap_or(self.client.next_seq.wrapping_sub(1));
                let syn_acked = pkt.ack == isn.wrapping_add(1);
                if !syn_acked && pkt.ack != self.client.next_seq {
                    out.event(TcpEvent::ThreeWhsSynackWithWrongAck);
                    return;
                }
                // The SYN/ACK may acknowledge only the SYN and not TFO data; the client
                // then sends that data again.
                self.client.next_seq = pkt.ack;
                self.client.last_ack = pkt.ack;
                self.server.init_from_syn(pkt, len);
                self.synack_seen = true;
                self.negotiate_options();
                self.state = TcpState::SynRecv;
                out.accept = true;
            }
            (true, true, Direction::ToServer) => {
                out.event(TcpEvent::ThreeWhsSynackInWrongDirection);
            }
            (false, true, Direction::ToServer) if policy.async_oneside => {
                if pkt.seq != self.client.next_seq {
                    out.event(TcpEvent::ThreeWhsAsyncWrongSeq);
                    return;
                }
                self.server.next_seq = pkt.ack;
                self.server.last_ack = pkt.ack;
                self.server.isn = Some(pkt.ack.wrapping_sub(1));
                self.async_oneside = true;
                self.establish(pkt, len, dir, f);
                out.accept = true;
            }
            _ => {}
        }
    }

    /// The server's SYN/ACK was seen (normal three-way handshake).
    fn on_syn_recv(
        &mut self,
        pkt: &TcpMeta,
        len: u32,
        dir: Direction,
        f: Flags,
        out: &mut Outcome,
    ) {
        if f.rst {
            self.on_rst(pkt, dir, f, out);
            return;
        }
        match (f.syn, f.ack, dir) {
            (true, true, Direction::ToClient) => {
                if self.server.isn != Some(pkt.seq) {
                    out.event(TcpEvent::ThreeWhsSynackResendWithDiffSeq);
                } else if pkt.ack != self.client.last_ack {
                    out.event(TcpEvent::ThreeWhsSynackResendWithDifferentAck);
                } else {
                    out.accept = true;
                }
            }
            (true, true, Direction::ToServer) => {
                out.event(TcpEvent::ThreeWhsSynackToserverOnSynRecv);
            }
            (true, false, Direction::ToServer) => {
                if self.client.isn == Some(pkt.seq) {
                    out.accept = true;
                } else {
                    out.event(TcpEvent::ThreeWhsSynResendDiffSeqOnSynRecv);
                }
            }
            (true, false, Direction::ToClient) => {
                out.event(TcpEvent::ThreeWhsSynToclientOnSynRecv);
            }
            (false, true, Direction::ToServer) => {
                let seq_ok = pkt.seq == self.client.next_seq;
                let ack_ok = pkt.ack == self.server.next_seq;
                match (seq_ok, ack_ok) {
                    (true, true) => {}
                    (true, false) => {
                        out.event(TcpEvent::ThreeWhsRightSeqWrongAckEvasion);
                        return;
                    }
                    (false, false) => {
                        out.event(TcpEvent::ThreeWhsWrongSeqWrongAck);
                        return;
                    }
                    (false, true) => {
                        // The right ack with a later seq: the first data segment was lost.
                        let limit = self.client.next_seq.wrapping_add(self.server.window.max(1));
                        if !(seq::gt(pkt.seq, self.client.next_seq) && seq::leq(pkt.seq, limit)) {
                            return;
                        }
                    }
                }
                self.establish(pkt, len, dir, f);
                out.accept = true;
            }
            (false, true, Direction::ToClient) => {
                out.event(TcpEvent::ThreeWhsAckInWrongDir);
            }
            _ => {}
        }
    }

    /// Both sides sent a SYN: each must send a SYN/ACK (or the completing ACK).
    fn on_simultaneous(
        &mut self,
        pkt: &TcpMeta,
        len: u32,
        dir: Direction,
        f: Flags,
        out: &mut Outcome,
    ) {
        if f.rst {
            self.on_rst(pkt, dir, f, out);
            return;
        }
        let (sender, receiver) = self.peers(dir);
        let receiver_syn_end = receiver.isn.map(|i| i.wrapping_add(1));
        match (f.syn, f.ack) {
            (true, true) => {
                if sender.isn != Some(pkt.seq) {
                    out.event(TcpEvent::FourWhsSynackWithWrongSyn);
                } else if receiver_syn_end != Some(pkt.ack) {
                    out.event(TcpEvent::FourWhsSynackWithWrongAck);
                } else {
                    sender.synack_sent = true;
                    receiver.last_ack = pkt.ack;
                    self.synack_seen = true;
                    if self.client.synack_sent && self.server.synack_sent {
                        self.establish(pkt, len, dir, f);
                    }
                    out.accept = true;
                }
            }
            (true, false) => {
                out.accept = sender.isn == Some(pkt.seq);
            }
            (false, true) => {
                if pkt.seq != sender.next_seq {
                    out.event(TcpEvent::FourWhsWrongSeq);
                } else if pkt.ack != receiver.next_seq {
                    out.event(TcpEvent::FourWhsInvalidAck);
                } else {
                    self.establish(pkt, len, dir, f);
                    out.accept = true;
                }
            }
            _ => {}
        }
    }

    /// Completes the handshake with the accepted packet `pkt`.
    fn establish(&mut self, pkt: &TcpMeta, len: u32, dir: Direction, f: Flags) {
        self.state = TcpState::Established;
        self.note_accepted(pkt, len, dir, f);
        if f.fin {
            self.apply_fin(pkt, len, dir);
            self.advance_close(pkt, dir, f);
        }
    }

    /// Updates sequence, ack, window and timestamp of an accepted segment.
    fn note_accepted(&mut self, pkt: &TcpMeta, len: u32, dir: Direction, f: Flags) {
        let end = pkt.seq.wrapping_add(len).wrapping_add(u32::from(f.fin));
        let window = {
            let sender = match dir {
                Direction::ToServer => &self.client,
                Direction::ToClient => &self.server,
            };
            self.scaled_window(sender, pkt.window)
        };
        let (sender, receiver) = self.peers(dir);
        sender.next_seq = seq::max(sender.next_seq, end);
        sender.window = window;
        if let Some((tsval, _)) = pkt.timestamp {
            sender.last_tsval = Some(sender.last_tsval.map_or(tsval, |t| seq::max(t, tsval)));
        }
        if f.ack {
            receiver.last_ack = seq::max(receiver.last_ack, pkt.ack);
        }
    }

    /// Records the sender's FIN.
    fn apply_fin(&mut self, pkt: &TcpMeta, len: u32, dir: Direction) {
        let sender = self.sender_mut(dir);
        let fin = pkt.seq.wrapping_add(len);
        if sender.fin_seq.is_none() {
            sender.fin_seq = Some(fin);
        }
        sender.next_seq = seq::max(sender.next_seq, fin.wrapping_add(1));
    }

    /// A RST: close the session when it is acceptable, count it otherwise.
    fn on_rst(&mut self, pkt: &TcpMeta, dir: Direction, f: Flags, out: &mut Outcome) {
        let windows_known = self.windows_known();
        let state = self.state;
        // During the handshake the acknowledgment must be exact; once synchronised, one
        // past data lost from the capture is as valid as for any other segment.
        let synchronised = !matches!(
            state,
            TcpState::None | TcpState::SynSent | TcpState::SynRecv
        );
        match self.check_ack(pkt, dir, f) {
            AckCheck::Seen => {}
            AckCheck::Unseen if synchronised => out.ack_unseen_data = true,
            AckCheck::Unseen | AckCheck::Invalid => {
                out.event(TcpEvent::RstInvalidAck);
                out.rst_invalid = true;
                return;
            }
        }
        let (sender, receiver) = self.peers(dir);
        // Only in syn_sent is the server's sequence space still unknown.
        let sender_known = !(state == TcpState::SynSent && dir == Direction::ToClient);
        let seq_ok = if !sender_known {
            // RFC 793 SYN-SENT: a RST is acceptable if it acknowledges the SYN.
            f.ack && pkt.ack == receiver.next_seq
        } else {
            let low = sender.last_ack;
            let high = low.wrapping_add(receiver.window.max(1));
            pkt.seq == sender.next_seq
                || !windows_known
                || (seq::leq(low, pkt.seq) && seq::leq(pkt.seq, high))
        };
        if !seq_ok {
            out.rst_invalid = true;
            return;
        }
        if out.ack_unseen_data {
            self.note_unseen_ack(pkt.ack, dir);
        }
        self.state = TcpState::Closed;
        self.closed_by_rst = true;
        out.accept = true;
    }

    /// Whether `pkt`'s acknowledgment (travelling in `dir`) acknowledges only data seen,
    /// data never seen but possibly sent, or data that cannot have been sent.
    ///
    /// The acknowledged side may have sent at most a window beyond what it had sent (or had
    /// acknowledged) when last seen: the bound is the later of its next sequence number and
    /// its last acknowledgment, plus the larger of the window the acknowledging side last
    /// advertised and the one in this packet. Suricata's bound (`next_win`, the last
    /// acknowledgment plus the window) is never larger. Where the window scale is unknown
    /// (midstream, one-sided), the largest window possible is assumed, as Suricata assumes
    /// the largest scale. Once the acknowledged side sent a FIN nothing follows it, so no
    /// acknowledgment past the FIN can be valid.
    fn check_ack(&self, pkt: &TcpMeta, dir: Direction, f: Flags) -> AckCheck {
        let (acker, acked) = match dir {
            Direction::ToServer => (&self.client, &self.server),
            Direction::ToClient => (&self.server, &self.client),
        };
        // Nothing to check against while the acknowledged side has not been seen.
        if !f.ack || acked.flags == 0 || seq::leq(pkt.ack, acked.next_seq) {
            return AckCheck::Seen;
        }
        if acked.fin_seq.is_some() {
            return AckCheck::Invalid;
        }
        let window = if self.windows_known() {
            acker
                .window
                .max(self.scaled_window(acker, pkt.window))
                .max(1)
        } else {
            MAX_WINDOW
        };
        let bound = seq::max(acked.next_seq, acked.last_ack).wrapping_add(window);
        if seq::leq(pkt.ack, bound) {
            AckCheck::Unseen
        } else {
            AckCheck::Invalid
        }
    }

    /// An accepted acknowledgment of unseen data: the acknowledged side sent at least up to
    /// `ack`, so its next sequence number moves there (later exact-sequence checks of the
    /// closing states then hold for its next segments).
    fn note_unseen_ack(&mut self, ack: u32, dir: Direction) {
        let (_, acked) = self.peers(dir);
        acked.next_seq = seq::max(acked.next_seq, ack);
    }

    /// Established and the closing states.
    fn on_synchronised(
        &mut self,
        pkt: &TcpMeta,
        len: u32,
        dir: Direction,
        f: Flags,
        out: &mut Outcome,
    ) {
        let state = self.state;
        if f.syn {
            out.event(self.syn_event(pkt, dir, f));
            return;
        }
        if f.rst {
            self.on_rst(pkt, dir, f, out);
            return;
        }
        let paws = self.timestamps_negotiated;
        let windows_known = self.windows_known();
        let ack_check = self.check_ack(pkt, dir, f);
        let (sender, receiver) = self.peers(dir);
        if let (true, Some((tsval, _)), Some(last)) = (paws, pkt.timestamp, sender.last_tsval) {
            if seq::lt(tsval, last) {
                out.event(TcpEvent::PktInvalidTimestamp);
                return;
            }
        }
        if ack_check == AckCheck::Invalid {
            out.event(invalid_ack_event(state, f.fin));
            return;
        }
        let data_end = pkt.seq.wrapping_add(len);
        let end = data_end.wrapping_add(u32::from(f.fin));
        let exact_seq_state = matches!(
            state,
            TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::Closing
                | TcpState::LastAck
                | TcpState::TimeWait
        );
        if len == 0 && exact_seq_state {
            let ok = pkt.seq == sender.next_seq
                || pkt.seq.wrapping_add(1) == sender.next_seq
                || (f.fin && sender.fin_seq == Some(pkt.seq));
            if !ok {
                out.event(wrong_seq_event(state, f.fin));
                return;
            }
        } else {
            if len > 0 && seq::leq(data_end, sender.last_ack) {
                out.event(match state {
                    TcpState::Established => TcpEvent::EstPktBeforeLastAck,
                    TcpState::CloseWait => TcpEvent::ClosewaitPktBeforeLastAck,
                    _ => TcpEvent::PktRetransmission,
                });
                return;
            }
            if len > 0 && seq::leq(data_end, sender.next_seq) {
                // Seen but not yet acknowledged: reassembly checks the bytes for overlaps.
                out.event(TcpEvent::PktRetransmission);
            }
            if windows_known {
                let win = receiver.window.max(1);
                let high = sender.last_ack.wrapping_add(win);
                let low = sender.last_ack.wrapping_sub(win);
                if seq::gt(end, high) || seq::lt(pkt.seq, low) {
                    out.event(out_of_window_event(state, f.fin));
                    return;
                }
            }
        }
        if ack_check == AckCheck::Unseen {
            out.ack_unseen_data = true;
            self.note_unseen_ack(pkt.ack, dir);
        }
        self.note_accepted(pkt, len, dir, f);
        if f.fin {
            self.apply_fin(pkt, len, dir);
        }
        self.advance_close(pkt, dir, f);
        out.accept = true;
    }

    /// The event for a SYN on a synchronised session.
    fn syn_event(&self, pkt: &TcpMeta, dir: Direction, f: Flags) -> TcpEvent {
        if self.state != TcpState::Established {
            return TcpEvent::ShutdownSynResend;
        }
        match (f.ack, dir) {
            (false, Direction::ToServer) if self.client.isn == Some(pkt.seq) => {
                TcpEvent::EstSynResend
            }
            (false, Direction::ToServer) => TcpEvent::EstSynResendDiffSeq,
            (false, Direction::ToClient) => TcpEvent::EstSynToclient,
            (true, Direction::ToServer) => TcpEvent::EstSynackToserver,
            (true, Direction::ToClient) => {
                let syn_ack = self.client.isn.map(|i| i.wrapping_add(1));
                if self.server.isn != Some(pkt.seq) {
                    TcpEvent::EstSynackResendWithDiffSeq
                } else if syn_ack.is_some() && syn_ack != Some(pkt.ack) {
                    TcpEvent::EstSynackResendWithDifferentAck
                } else {
                    TcpEvent::EstSynackResend
                }
            }
        }
    }

    /// Moves through the close states after an accepted packet.
    fn advance_close(&mut self, pkt: &TcpMeta, dir: Direction, f: Flags) {
        let from_client = dir == Direction::ToServer;
        let acks = |peer: &TcpPeer| f.ack && peer.fin_acked_by(pkt.ack);
        self.state = match self.state {
            TcpState::Established if f.fin && from_client => TcpState::FinWait1,
            TcpState::Established if f.fin => TcpState::CloseWait,
            TcpState::FinWait1 if !from_client => match (f.fin, acks(&self.client)) {
                (true, true) => TcpState::TimeWait,
                (true, false) => TcpState::Closing,
                (false, true) => TcpState::FinWait2,
                (false, false) => TcpState::FinWait1,
            },
            TcpState::FinWait2 if !from_client && f.fin => TcpState::TimeWait,
            TcpState::Closing if !from_client && acks(&self.client) => {
                if self.server.fin_acked_by(self.server.last_ack) {
                    TcpState::Closed
                } else {
                    TcpState::TimeWait
                }
            }
            TcpState::TimeWait if from_client && acks(&self.server) => TcpState::Closed,
            TcpState::CloseWait if from_client && f.fin => TcpState::LastAck,
            TcpState::LastAck if !from_client && acks(&self.client) => TcpState::Closed,
            s => s,
        };
    }
}

fn invalid_ack_event(state: TcpState, fin: bool) -> TcpEvent {
    match state {
        TcpState::FinWait1 => TcpEvent::Fin1InvalidAck,
        TcpState::FinWait2 => TcpEvent::Fin2InvalidAck,
        TcpState::Closing => TcpEvent::ClosingInvalidAck,
        TcpState::CloseWait => TcpEvent::ClosewaitInvalidAck,
        TcpState::LastAck => TcpEvent::LastackInvalidAck,
        TcpState::TimeWait => TcpEvent::TimewaitInvalidAck,
        _ if fin => TcpEvent::FinInvalidAck,
        _ => TcpEvent::EstInvalidAck,
    }
}

fn wrong_seq_event(state: TcpState, fin: bool) -> TcpEvent {
    match (state, fin) {
        (TcpState::FinWait1, true) => TcpEvent::Fin1FinWrongSeq,
        (TcpState::FinWait1, false) => TcpEvent::Fin1AckWrongSeq,
        (TcpState::FinWait2, true) => TcpEvent::Fin2FinWrongSeq,
        (TcpState::FinWait2, false) => TcpEvent::Fin2AckWrongSeq,
        (TcpState::Closing, _) => TcpEvent::ClosingAckWrongSeq,
        (TcpState::LastAck, _) => TcpEvent::LastackAckWrongSeq,
        _ => TcpEvent::TimewaitAckWrongSeq,
    }
}

fn out_of_window_event(state: TcpState, fin: bool) -> TcpEvent {
    match (state, fin) {
        (TcpState::CloseWait, true) => TcpEvent::ClosewaitFinOutOfWindow,
        (TcpState::CloseWait, false) => TcpEvent::ClosewaitAckOutOfWindow,
        (_, true) => TcpEvent::FinOutOfWindow,
        (_, false) => TcpEvent::EstPacketOutOfWindow,
    }
}
