//! Decoder events: anomalies found while decoding a packet or reassembling its fragments,
//! named as Suricata names them.

/// Declares [`DecodeEvent`] with its Suricata names, in one place so the list and the names
/// can never disagree.
macro_rules! decode_events {
    ($($variant:ident => $name:literal,)*) => {
        /// One decoder anomaly, as named by Suricata's `decode-event:` rule keyword.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum DecodeEvent {
            $(
                #[doc = concat!("`decode-event:", $name, "`")]
                $variant,
            )*
        }

        impl DecodeEvent {
            /// Every event, in declaration order (the order of Suricata's bundled rules).
            pub const ALL: &'static [DecodeEvent] = &[$(DecodeEvent::$variant,)*];

            /// Suricata's exact event name without the `decoder.` prefix, as written after
            /// `decode-event:` in rules (e.g. `"ipv4.trunc_pkt"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(DecodeEvent::$variant => $name,)*
                }
            }

            /// The name with its `decoder.` prefix, as EVE `anomaly` records write it
            /// (e.g. `"decoder.ipv4.trunc_pkt"`).
            pub const fn qualified_name(self) -> &'static str {
                match self {
                    $(DecodeEvent::$variant => concat!("decoder.", $name),)*
                }
            }
        }
    };
}

decode_events! {
    Ipv4PktTooSmall => "ipv4.pkt_too_small",
    Ipv4HlenTooSmall => "ipv4.hlen_too_small",
    Ipv4IplenSmallerThanHlen => "ipv4.iplen_smaller_than_hlen",
    Ipv4TruncPkt => "ipv4.trunc_pkt",
    Ipv4OptInvalid => "ipv4.opt_invalid",
    Ipv4OptInvalidLen => "ipv4.opt_invalid_len",
    Ipv4OptMalformed => "ipv4.opt_malformed",
    Ipv4OptPadRequired => "ipv4.opt_pad_required",
    Ipv4Icmpv6 => "ipv4.icmpv6",
    Ipv4OptEolRequired => "ipv4.opt_eol_required",
    Ipv4OptDuplicate => "ipv4.opt_duplicate",
    Ipv4OptUnknown => "ipv4.opt_unknown",
    Ipv4WrongIpVersion => "ipv4.wrong_ip_version",
    Ipv6PktTooSmall => "ipv6.pkt_too_small",
    Ipv6TruncPkt => "ipv6.trunc_pkt",
    Ipv6TruncExthdr => "ipv6.trunc_exthdr",
    Ipv6ExthdrDuplFh => "ipv6.exthdr_dupl_fh",
    Ipv6ExthdrUselessFh => "ipv6.exthdr_useless_fh",
    Ipv6ExthdrDuplRh => "ipv6.exthdr_dupl_rh",
    Ipv6ExthdrDuplHh => "ipv6.exthdr_dupl_hh",
    Ipv6ExthdrDuplDh => "ipv6.exthdr_dupl_dh",
    Ipv6ExthdrDuplAh => "ipv6.exthdr_dupl_ah",
    Ipv6ExthdrDuplEh => "ipv6.exthdr_dupl_eh",
    Ipv6ExthdrInvalidOptlen => "ipv6.exthdr_invalid_optlen",
    Ipv6WrongIpVersion => "ipv6.wrong_ip_version",
    Ipv6ExthdrAhResNotNull => "ipv6.exthdr_ah_res_not_null",
    Ipv6HopoptsUnknownOpt => "ipv6.hopopts_unknown_opt",
    Ipv6HopoptsOnlyPadding => "ipv6.hopopts_only_padding",
    Ipv6DstoptsUnknownOpt => "ipv6.dstopts_unknown_opt",
    Ipv6DstoptsOnlyPadding => "ipv6.dstopts_only_padding",
    Ipv6RhType0 => "ipv6.rh_type_0",
    Ipv6ZeroLenPadn => "ipv6.zero_len_padn",
    Ipv6FhNonZeroReservedField => "ipv6.fh_non_zero_reserved_field",
    Ipv6DataAfterNoneHeader => "ipv6.data_after_none_header",
    Ipv6UnknownNextHeader => "ipv6.unknown_next_header",
    Ipv6Icmpv4 => "ipv6.icmpv4",
    Icmpv4PktTooSmall => "icmpv4.pkt_too_small",
    Icmpv4UnknownType => "icmpv4.unknown_type",
    Icmpv4UnknownCode => "icmpv4.unknown_code",
    Icmpv4Ipv4TruncPkt => "icmpv4.ipv4_trunc_pkt",
    Icmpv4Ipv4UnknownVer => "icmpv4.ipv4_unknown_ver",
    Icmpv6PktTooSmall => "icmpv6.pkt_too_small",
    Icmpv6UnknownType => "icmpv6.unknown_type",
    Icmpv6UnknownCode => "icmpv6.unknown_code",
    Icmpv6Ipv6TruncPkt => "icmpv6.ipv6_trunc_pkt",
    Icmpv6Ipv6UnknownVersion => "icmpv6.ipv6_unknown_version",
    Icmpv6MldMessageWithInvalidHl => "icmpv6.mld_message_with_invalid_hl",
    Icmpv6UnassignedType => "icmpv6.unassigned_type",
    Icmpv6ExperimentationType => "icmpv6.experimentation_type",
    TcpPktTooSmall => "tcp.pkt_too_small",
    TcpHlenTooSmall => "tcp.hlen_too_small",
    TcpInvalidOptlen => "tcp.invalid_optlen",
    TcpOptInvalidLen => "tcp.opt_invalid_len",
    TcpOptDuplicate => "tcp.opt_duplicate",
    UdpPktTooSmall => "udp.pkt_too_small",
    UdpHlenTooSmall => "udp.hlen_too_small",
    UdpLenInvalid => "udp.len_invalid",
    SllPktTooSmall => "sll.pkt_too_small",
    EthernetPktTooSmall => "ethernet.pkt_too_small",
    EthernetUnknownEthertype => "ethernet.unknown_ethertype",
    PppPktTooSmall => "ppp.pkt_too_small",
    PppVjuPktTooSmall => "ppp.vju_pkt_too_small",
    PppIp4PktTooSmall => "ppp.ip4_pkt_too_small",
    PppIp6PktTooSmall => "ppp.ip6_pkt_too_small",
    PppWrongType => "ppp.wrong_type",
    PppUnsupProto => "ppp.unsup_proto",
    PppoePktTooSmall => "pppoe.pkt_too_small",
    PppoeWrongCode => "pppoe.wrong_code",
    PppoeMalformedTags => "pppoe.malformed_tags",
    GrePktTooSmall => "gre.pkt_too_small",
    GreWrongVersion => "gre.wrong_version",
    GreVersion0Recur => "gre.version0_recur",
    GreVersion0Flags => "gre.version0_flags",
    GreVersion0HdrTooBig => "gre.version0_hdr_too_big",
    GreVersion1Chksum => "gre.version1_chksum",
    GreVersion1Route => "gre.version1_route",
    GreVersion1Ssr => "gre.version1_ssr",
    GreVersion1Recur => "gre.version1_recur",
    GreVersion1Flags => "gre.version1_flags",
    GreVersion1NoKey => "gre.version1_no_key",
    GreVersion1WrongProtocol => "gre.version1_wrong_protocol",
    GreVersion1MalformedSreHdr => "gre.version1_malformed_sre_hdr",
    GreVersion1HdrTooBig => "gre.version1_hdr_too_big",
    VlanHeaderTooSmall => "vlan.header_too_small",
    VlanUnknownType => "vlan.unknown_type",
    VlanTooManyLayers => "vlan.too_many_layers",
    VntagHeaderTooSmall => "vntag.header_too_small",
    VntagUnknownType => "vntag.unknown_type",
    Ieee8021ahHeaderTooSmall => "ieee8021ah.header_too_small",
    EtagHeaderTooSmall => "etag.header_too_small",
    EtagUnknownType => "etag.unknown_type",
    IprawInvalidIpVersion => "ipraw.invalid_ip_version",
    Ipv4FragPktTooLarge => "ipv4.frag_pkt_too_large",
    Ipv4FragOverlap => "ipv4.frag_overlap",
    Ipv4FragIgnored => "ipv4.frag_ignored",
    Ipv6FragPktTooLarge => "ipv6.frag_pkt_too_large",
    Ipv6FragOverlap => "ipv6.frag_overlap",
    Ipv6FragIgnored => "ipv6.frag_ignored",
    Ipv6FragInvalidLength => "ipv6.frag_invalid_length",
    Ipv6Ipv4InIpv6TooSmall => "ipv6.ipv4_in_ipv6_too_small",
    Ipv6Ipv4InIpv6WrongVersion => "ipv6.ipv4_in_ipv6_wrong_version",
    Ipv6Ipv6InIpv6TooSmall => "ipv6.ipv6_in_ipv6_too_small",
    Ipv6Ipv6InIpv6WrongVersion => "ipv6.ipv6_in_ipv6_wrong_version",
    MplsHeaderTooSmall => "mpls.header_too_small",
    MplsPktTooSmall => "mpls.pkt_too_small",
    MplsBadLabelRouterAlert => "mpls.bad_label_router_alert",
    MplsBadLabelImplicitNull => "mpls.bad_label_implicit_null",
    MplsBadLabelReserved => "mpls.bad_label_reserved",
    MplsUnknownPayloadType => "mpls.unknown_payload_type",
    LtnullPktTooSmall => "ltnull.pkt_too_small",
    LtnullUnsupportedType => "ltnull.unsupported_type",
    ErspanHeaderTooSmall => "erspan.header_too_small",
    ErspanUnsupportedVersion => "erspan.unsupported_version",
    ErspanTooManyVlanLayers => "erspan.too_many_vlan_layers",
    DcePktTooSmall => "dce.pkt_too_small",
    ChdlcPktTooSmall => "chdlc.pkt_too_small",
    TooManyLayers => "too_many_layers",
    AfpacketTruncPkt => "afpacket.trunc_pkt",
    IgmpPktTooSmall => "igmp.pkt_too_small",
    IgmpV3PktTooSmall => "igmp.v3_pkt_too_small",
    IgmpMalformed => "igmp.malformed",
    Ipv4UnknownProtocol => "ipv4.unknown_protocol",
    SctpPktTooSmall => "sctp.pkt_too_small",
    SctpChunkTooSmall => "sctp.chunk_too_small",
    SctpChunkLenInvalid => "sctp.chunk_len_invalid",
    SctpInitChunkBundled => "sctp.init_chunk_bundled",
    SctpInitWithNonZeroVtag => "sctp.init_with_non_zero_vtag",
    SctpDataWithZeroVtag => "sctp.data_with_zero_vtag",
    SctpTooManyChunks => "sctp.too_many_chunks",
    SctpTooManyDataChunks => "sctp.too_many_data_chunks",
}

/// Words of [`DecodeEvents`]: one bit per event.
const WORDS: usize = DecodeEvent::ALL.len().div_ceil(64);

// Events are numbered by `as u8`.
const _: () = assert!(DecodeEvent::ALL.len() <= 256);

impl DecodeEvent {
    /// Number of events.
    pub const COUNT: usize = DecodeEvent::ALL.len();

    /// The event with this Suricata name (without the `decoder.` prefix), if there is one.
    pub fn from_name(name: &str) -> Option<DecodeEvent> {
        DecodeEvent::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// The event's index in [`DecodeEvent::ALL`] (`0..COUNT`), for per-event arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    fn word_bit(self) -> (usize, u64) {
        (self.index() / 64, 1u64 << (self.index() % 64))
    }
}

impl core::fmt::Display for DecodeEvent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`DecodeEvent`]s raised while decoding one packet (`Copy`, no allocation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DecodeEvents([u64; WORDS]);

impl DecodeEvents {
    /// The empty set.
    pub const fn new() -> Self {
        DecodeEvents([0; WORDS])
    }

    /// Adds `event` to the set.
    pub fn insert(&mut self, event: DecodeEvent) {
        let (w, b) = event.word_bit();
        if let Some(word) = self.0.get_mut(w) {
            *word |= b;
        }
    }

    /// Whether `event` is in the set.
    pub fn contains(self, event: DecodeEvent) -> bool {
        let (w, b) = event.word_bit();
        self.0.get(w).is_some_and(|word| word & b != 0)
    }

    /// Whether no event was raised.
    pub fn is_empty(self) -> bool {
        self.0.iter().all(|&w| w == 0)
    }

    /// How many distinct events are in the set.
    pub fn len(self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Adds every event of `other` to the set.
    pub fn extend(&mut self, other: DecodeEvents) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }

    /// The events in the set, in [`DecodeEvent::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = DecodeEvent> {
        DecodeEvent::ALL
            .iter()
            .copied()
            .filter(move |e| self.contains(*e))
    }
}

impl FromIterator<DecodeEvent> for DecodeEvents {
    fn from_iter<I: IntoIterator<Item = DecodeEvent>>(iter: I) -> Self {
        let mut set = DecodeEvents::new();
        for event in iter {
            set.insert(event);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prefixless() {
        for (i, a) in DecodeEvent::ALL.iter().enumerate() {
            assert!(!a.name().starts_with("decoder."));
            assert_eq!(a.qualified_name(), format!("decoder.{}", a.name()));
            assert_eq!(a.index(), i);
            assert_eq!(DecodeEvent::from_name(a.name()), Some(*a));
            for b in &DecodeEvent::ALL[i + 1..] {
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn known_names() {
        assert_eq!(DecodeEvent::Ipv4TruncPkt.name(), "ipv4.trunc_pkt");
        assert_eq!(DecodeEvent::TcpHlenTooSmall.name(), "tcp.hlen_too_small");
        assert_eq!(
            DecodeEvent::VlanTooManyLayers.name(),
            "vlan.too_many_layers"
        );
        assert_eq!(DecodeEvent::Ipv6ExthdrDuplFh.name(), "ipv6.exthdr_dupl_fh");
        assert_eq!(DecodeEvent::TooManyLayers.name(), "too_many_layers");
        assert_eq!(DecodeEvent::SctpPktTooSmall.name(), "sctp.pkt_too_small");
        assert_eq!(DecodeEvent::ALL.len(), 130);
        assert_eq!(DecodeEvent::Ipv6FragIgnored.name(), "ipv6.frag_ignored");
        assert_eq!(DecodeEvent::from_name("nope"), None);
    }

    #[test]
    fn set_operations() {
        let mut set = DecodeEvents::new();
        assert!(set.is_empty());
        set.insert(DecodeEvent::SctpTooManyDataChunks);
        set.insert(DecodeEvent::Ipv4PktTooSmall);
        set.insert(DecodeEvent::Ipv4PktTooSmall);
        assert!(set.contains(DecodeEvent::SctpTooManyDataChunks));
        assert!(!set.contains(DecodeEvent::Ipv4TruncPkt));
        assert_eq!(set.len(), 2);
        let all: Vec<_> = set.iter().collect();
        assert_eq!(
            all,
            vec![
                DecodeEvent::Ipv4PktTooSmall,
                DecodeEvent::SctpTooManyDataChunks
            ]
        );
        let mut other: DecodeEvents = [DecodeEvent::GreWrongVersion].into_iter().collect();
        other.extend(set);
        assert_eq!(other.len(), 3);
    }
}
