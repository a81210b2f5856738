//! DNS protocol anomalies, named as Suricata's `dns` app-layer events.

/// A protocol anomaly seen in a DNS message. [`DnsAnomaly::name`] gives the event name that
/// Suricata's `app-layer-event:dns.<name>` rules and EVE `anomaly` records use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsAnomaly {
    /// The message could not be parsed (bad header, questions or answers, or a bad TCP frame).
    MalformedData,
    /// A message with the QR (response) bit set travelled to the server.
    NotRequest,
    /// A message without the QR bit travelled to the client.
    NotResponse,
    /// The reserved Z bit of the header is set.
    ZFlagSet,
    /// The header's opcode is not one of the assigned opcodes (0 to 6).
    InvalidOpcode,
    /// A decoded name was longer than the configured limit and was cut.
    NameTooLong,
    /// Compression pointers formed a loop (too many pointers in one name).
    InfiniteLoop,
    /// A name had more labels than the parser follows.
    TooManyLabels,
    /// The additional section could not be parsed and was dropped.
    InvalidAdditionals,
    /// The authority section could not be parsed and was dropped with the additionals.
    InvalidAuthorities,
}

impl DnsAnomaly {
    /// Every anomaly, in the order they are reported for one message.
    pub const ALL: [DnsAnomaly; 10] = [
        Self::MalformedData,
        Self::NameTooLong,
        Self::InfiniteLoop,
        Self::TooManyLabels,
        Self::InvalidAuthorities,
        Self::InvalidAdditionals,
        Self::NotRequest,
        Self::NotResponse,
        Self::ZFlagSet,
        Self::InvalidOpcode,
    ];

    /// Suricata's event name, e.g. `"z_flag_set"`.
    pub fn name(self) -> &'static str {
        match self {
            Self::MalformedData => "malformed_data",
            Self::NotRequest => "not_request",
            Self::NotResponse => "not_response",
            Self::ZFlagSet => "z_flag_set",
            Self::InvalidOpcode => "invalid_opcode",
            Self::NameTooLong => "name_too_long",
            Self::InfiniteLoop => "infinite_loop",
            Self::TooManyLabels => "too_many_labels",
            Self::InvalidAdditionals => "invalid_additionals",
            Self::InvalidAuthorities => "invalid_authorities",
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of anomalies seen in one message; each is reported once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AnomalySet(u16);

impl AnomalySet {
    /// Adds `a` to the set.
    pub(crate) fn insert(&mut self, a: DnsAnomaly) {
        self.0 |= a.bit();
    }

    /// Whether `a` is in the set.
    pub(crate) fn contains(self, a: DnsAnomaly) -> bool {
        self.0 & a.bit() != 0
    }

    /// The anomalies in the set, in [`DnsAnomaly::ALL`] order.
    pub(crate) fn iter(self) -> impl Iterator<Item = DnsAnomaly> {
        DnsAnomaly::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_suricata_rules() {
        let names: Vec<&str> = DnsAnomaly::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(
            names,
            [
                "malformed_data",
                "name_too_long",
                "infinite_loop",
                "too_many_labels",
                "invalid_authorities",
                "invalid_additionals",
                "not_request",
                "not_response",
                "z_flag_set",
                "invalid_opcode"
            ]
        );
    }

    #[test]
    fn set_dedups_and_orders() {
        let mut s = AnomalySet::default();
        s.insert(DnsAnomaly::ZFlagSet);
        s.insert(DnsAnomaly::NameTooLong);
        s.insert(DnsAnomaly::ZFlagSet);
        assert!(s.contains(DnsAnomaly::NameTooLong));
        assert!(!s.contains(DnsAnomaly::MalformedData));
        let v: Vec<DnsAnomaly> = s.iter().collect();
        assert_eq!(v, [DnsAnomaly::NameTooLong, DnsAnomaly::ZFlagSet]);
    }
}
