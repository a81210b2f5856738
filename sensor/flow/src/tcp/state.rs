//! TCP session states.

/// The state of a tracked TCP session, as one value for the whole connection (Suricata's
/// model): `FinWait1`, `FinWait2`, `Closing` and `TimeWait` follow a close started by the
/// client, `CloseWait` and `LastAck` a close started by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TcpState {
    /// No session: no SYN seen yet (or a pickup was refused).
    #[default]
    None,
    /// The client's SYN was seen.
    SynSent,
    /// The server's SYN/ACK was seen (or, in a simultaneous open, both SYNs).
    SynRecv,
    /// Handshake complete (or session picked up midstream).
    Established,
    /// The client sent FIN; not yet acknowledged.
    FinWait1,
    /// The server acknowledged the client's FIN.
    FinWait2,
    /// Both sides sent FIN and the client's FIN is acknowledged; waiting for the client's
    /// last ACK.
    TimeWait,
    /// The server sent FIN first.
    CloseWait,
    /// After `CloseWait`, the client sent FIN too; waiting for the server's ACK.
    LastAck,
    /// Both sides sent FIN before either FIN was acknowledged (client close first).
    Closing,
    /// Closed by a valid RST or by the end of the FIN exchange.
    Closed,
}

impl TcpState {
    /// Suricata's lowercase name of the state, as in EVE's `tcp.state`.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SynSent => "syn_sent",
            Self::SynRecv => "syn_recv",
            Self::Established => "established",
            Self::FinWait1 => "fin_wait1",
            Self::FinWait2 => "fin_wait2",
            Self::TimeWait => "time_wait",
            Self::CloseWait => "close_wait",
            Self::LastAck => "last_ack",
            Self::Closing => "closing",
            Self::Closed => "closed",
        }
    }

    /// Whether the three-way handshake (or a pickup) completed and the session is past it.
    pub fn is_synchronised(self) -> bool {
        !matches!(self, Self::None | Self::SynSent | Self::SynRecv)
    }

    /// Whether the session counts as closed for flow timeouts (last-ack, time-wait, closed).
    pub fn is_closed_for_timeout(self) -> bool {
        matches!(self, Self::LastAck | Self::TimeWait | Self::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(TcpState::None.name(), "none");
        assert_eq!(TcpState::SynSent.name(), "syn_sent");
        assert_eq!(TcpState::SynRecv.name(), "syn_recv");
        assert_eq!(TcpState::Established.name(), "established");
        assert_eq!(TcpState::FinWait1.name(), "fin_wait1");
        assert_eq!(TcpState::FinWait2.name(), "fin_wait2");
        assert_eq!(TcpState::TimeWait.name(), "time_wait");
        assert_eq!(TcpState::CloseWait.name(), "close_wait");
        assert_eq!(TcpState::LastAck.name(), "last_ack");
        assert_eq!(TcpState::Closing.name(), "closing");
        assert_eq!(TcpState::Closed.name(), "closed");
    }

    #[test]
    fn classes() {
        assert!(!TcpState::SynRecv.is_synchronised());
        assert!(TcpState::Closing.is_synchronised());
        assert!(TcpState::LastAck.is_closed_for_timeout());
        assert!(!TcpState::FinWait2.is_closed_for_timeout());
    }
}
