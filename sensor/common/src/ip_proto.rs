//! IP protocol numbers (the IPv4 protocol field, IPv6's last next-header).

use std::fmt;

/// An IP protocol number, with named constants for the ones tapwatch decodes or names.
///
/// A newtype rather than an enum: every value 0 to 255 can appear on the wire, and a flow
/// or rule may carry any of them (`ip_proto:N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IpProto(pub u8);

impl IpProto {
    /// ICMP for IPv4 (1).
    pub const ICMP: IpProto = IpProto(1);
    /// IGMP (2).
    pub const IGMP: IpProto = IpProto(2);
    /// IPv4 encapsulated in IP (4).
    pub const IPIP: IpProto = IpProto(4);
    /// TCP (6).
    pub const TCP: IpProto = IpProto(6);
    /// UDP (17).
    pub const UDP: IpProto = IpProto(17);
    /// IPv6 encapsulated in IP (41).
    pub const IPV6: IpProto = IpProto(41);
    /// GRE (47).
    pub const GRE: IpProto = IpProto(47);
    /// ESP (50).
    pub const ESP: IpProto = IpProto(50);
    /// AH (51).
    pub const AH: IpProto = IpProto(51);
    /// ICMPv6 (58).
    pub const ICMPV6: IpProto = IpProto(58);
    /// OSPF (89).
    pub const OSPF: IpProto = IpProto(89);
    /// PIM (103).
    pub const PIM: IpProto = IpProto(103);
    /// VRRP (112).
    pub const VRRP: IpProto = IpProto(112);
    /// SCTP (132).
    pub const SCTP: IpProto = IpProto(132);

    /// The protocol number.
    pub const fn number(self) -> u8 {
        self.0
    }

    /// The name EVE writes in `proto` (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`, `SCTP`, ...), as
    /// Suricata takes it from the system's protocol table; `None` for numbers without one,
    /// which EVE writes as the decimal number ([`fmt::Display`] does both).
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "ICMP",
            2 => "IGMP",
            4 => "IPIP",
            6 => "TCP",
            17 => "UDP",
            41 => "IPV6",
            47 => "GRE",
            50 => "ESP",
            51 => "AH",
            58 => "IPv6-ICMP",
            89 => "OSPF",
            103 => "PIM",
            112 => "VRRP",
            132 => "SCTP",
            _ => return None,
        })
    }

    /// The protocol EVE names `name` ([`IpProto::name`]), or a decimal number.
    pub fn from_name(name: &str) -> Option<IpProto> {
        if let Ok(n) = name.parse::<u8>() {
            return Some(IpProto(n));
        }
        (0..=u8::MAX).map(IpProto).find(|p| p.name() == Some(name))
    }
}

impl From<u8> for IpProto {
    fn from(n: u8) -> Self {
        IpProto(n)
    }
}

impl From<IpProto> for u8 {
    fn from(p: IpProto) -> Self {
        p.0
    }
}

impl fmt::Display for IpProto {
    /// EVE's form: the name, else the decimal number.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips() {
        for n in 0..=u8::MAX {
            let p = IpProto(n);
            assert_eq!(IpProto::from_name(&p.to_string()), Some(p));
            if let Some(name) = p.name() {
                assert_eq!(IpProto::from_name(name), Some(p));
            }
        }
    }

    #[test]
    fn eve_names() {
        assert_eq!(IpProto::TCP.to_string(), "TCP");
        assert_eq!(IpProto::UDP.to_string(), "UDP");
        assert_eq!(IpProto::ICMP.to_string(), "ICMP");
        assert_eq!(IpProto::ICMPV6.to_string(), "IPv6-ICMP");
        assert_eq!(IpProto::SCTP.to_string(), "SCTP");
        assert_eq!(IpProto(253).to_string(), "253");
        assert_eq!(IpProto(253).name(), None);
        assert_eq!(IpProto::from_name("tcp"), None);
    }
}
