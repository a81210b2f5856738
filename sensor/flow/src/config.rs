//! Flow table configuration: size bound, per-protocol timeouts and TCP pickup policy.

use std::time::Duration;

/// Configuration of a [`FlowTable`](crate::FlowTable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// Hard bound on the number of live flows. When the table is full the flow that has been
    /// idle longest is evicted to make room. `0` refuses every packet with
    /// [`TrackError::TableFull`](crate::TrackError::TableFull). Values above `u32::MAX - 1`
    /// are clamped to it. Default 65,536.
    pub max_flows: usize,
    /// Idle timeouts per protocol and flow state.
    pub timeouts: FlowTimeouts,
    /// Pick up TCP sessions whose handshake was not seen (Suricata's `stream.midstream`).
    /// Default `false`.
    pub tcp_midstream: bool,
    /// Let a TCP handshake complete when only one side of it is seen (Suricata's
    /// `stream.async-oneside`). Default `false`.
    pub tcp_async_oneside: bool,
    /// Which share of the flow-id space this table draws from, when several tables (one per
    /// worker) must give ids that never collide. Default: the whole space, a random key.
    pub ids: FlowIdSpace,
}

/// A table's share of the 53-bit flow-id space.
///
/// Tables that share `key` and `of` and differ in `index` never give the same id: each id is
/// a keyed bijection of a counter, and table `index` only uses counters `c` with
/// `c % of == index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowIdSpace {
    /// The permutation's key; `None` draws a random one per table.
    pub key: Option<u64>,
    /// This table's share, `0..of`.
    pub index: u32,
    /// Number of shares (at least 1).
    pub of: u32,
}

impl Default for FlowIdSpace {
    fn default() -> Self {
        Self {
            key: None,
            index: 0,
            of: 1,
        }
    }
}

impl FlowIdSpace {
    /// Share `index` of `of`, all keyed with one random key drawn now: give each worker's
    /// table [`FlowIdSpace::share`] of the value this returns for `index` 0.
    pub fn random_shared(of: u32) -> Self {
        use std::hash::BuildHasher;
        let key = std::collections::hash_map::RandomState::new().hash_one(0x6964_7370_u64);
        Self {
            key: Some(key),
            index: 0,
            of: of.max(1),
        }
    }

    /// The same space, share `index`.
    pub fn share(self, index: u32) -> Self {
        Self { index, ..self }
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            max_flows: 65_536,
            timeouts: FlowTimeouts::default(),
            tcp_midstream: false,
            tcp_async_oneside: false,
            ids: FlowIdSpace::default(),
        }
    }
}

/// Idle timeouts per protocol family.
///
/// The defaults are Suricata 8's `flow-timeouts` defaults from its shipped `suricata.yaml`:
///
/// | family | new | established | closed |
/// |---|---|---|---|
/// | TCP | 60 s | 600 s | 60 s |
/// | UDP | 30 s | 300 s | 0 s |
/// | ICMP / ICMPv6 | 30 s | 300 s | 0 s |
/// | other IP protocols | 30 s | 300 s | 0 s |
///
/// (UDP, ICMP and the others inherit `closed: 0` from Suricata's `default` section; only TCP
/// flows ever reach the closed state here.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowTimeouts {
    /// Protocol 6.
    pub tcp: StateTimeouts,
    /// Protocol 17.
    pub udp: StateTimeouts,
    /// Protocols 1 (ICMP) and 58 (ICMPv6).
    pub icmp: StateTimeouts,
    /// Every other IP protocol.
    pub other: StateTimeouts,
}

impl Default for FlowTimeouts {
    fn default() -> Self {
        let secs = Duration::from_secs;
        let short = StateTimeouts {
            new: secs(30),
            established: secs(300),
            closed: secs(0),
        };
        Self {
            tcp: StateTimeouts {
                new: secs(60),
                established: secs(600),
                closed: secs(60),
            },
            udp: short,
            icmp: short,
            other: short,
        }
    }
}

impl FlowTimeouts {
    /// The timeouts that apply to flows of IP protocol `protocol`.
    pub fn for_protocol(&self, protocol: u8) -> &StateTimeouts {
        match ProtoClass::of(protocol) {
            ProtoClass::Tcp => &self.tcp,
            ProtoClass::Udp => &self.udp,
            ProtoClass::Icmp => &self.icmp,
            ProtoClass::Other => &self.other,
        }
    }
}

/// Idle timeouts of one protocol family, per flow state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTimeouts {
    /// Before the flow is established (TCP: handshake not complete; others: one side spoke).
    pub new: Duration,
    /// Once established (TCP: handshake done; others: both sides spoke).
    pub established: Duration,
    /// After a TCP close (FIN exchange reached last-ack/time-wait/closed, or a valid RST).
    pub closed: Duration,
}

/// The protocol families that have their own timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProtoClass {
    Tcp,
    Udp,
    Icmp,
    Other,
}

impl ProtoClass {
    /// Number of classes (size of per-class arrays).
    pub(crate) const COUNT: usize = 4;

    pub(crate) fn of(protocol: u8) -> Self {
        match protocol {
            crate::packet::IPPROTO_TCP => Self::Tcp,
            crate::packet::IPPROTO_UDP => Self::Udp,
            crate::packet::IPPROTO_ICMP | crate::packet::IPPROTO_ICMPV6 => Self::Icmp,
            _ => Self::Other,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Self::Tcp => 0,
            Self::Udp => 1,
            Self::Icmp => 2,
            Self::Other => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_suricata() {
        let c = FlowConfig::default();
        assert_eq!(c.max_flows, 65_536);
        assert!(!c.tcp_midstream);
        assert!(!c.tcp_async_oneside);
        assert_eq!(c.timeouts.tcp.new, Duration::from_secs(60));
        assert_eq!(c.timeouts.tcp.established, Duration::from_secs(600));
        assert_eq!(c.timeouts.tcp.closed, Duration::from_secs(60));
        assert_eq!(c.timeouts.udp.new, Duration::from_secs(30));
        assert_eq!(c.timeouts.udp.established, Duration::from_secs(300));
        assert_eq!(
            c.timeouts.for_protocol(58).established,
            Duration::from_secs(300)
        );
        assert_eq!(c.timeouts.for_protocol(6).new, Duration::from_secs(60));
        assert_eq!(c.timeouts.for_protocol(47).closed, Duration::ZERO);
    }

    #[test]
    fn proto_classes() {
        assert_eq!(ProtoClass::of(6), ProtoClass::Tcp);
        assert_eq!(ProtoClass::of(17), ProtoClass::Udp);
        assert_eq!(ProtoClass::of(1), ProtoClass::Icmp);
        assert_eq!(ProtoClass::of(58), ProtoClass::Icmp);
        assert_eq!(ProtoClass::of(132), ProtoClass::Other);
        assert_eq!(ProtoClass::Other.index(), ProtoClass::COUNT - 1);
    }
}
