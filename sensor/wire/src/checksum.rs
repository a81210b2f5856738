//! Checksum verification, done on request only (never while decoding).

use core::net::IpAddr;

use etherparse::checksum::Sum16BitWords;

use crate::bytes::{be16, head};
use crate::ip::proto;
use crate::types::{Decoded, IpInfo, Transport};

/// The result of verifying one checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Checksum {
    /// Not verified: no such layer, a fragment, a truncated capture, or a protocol whose
    /// checksum is not computed here (SCTP's CRC32c).
    #[default]
    NotApplicable,
    /// The checksum is correct (or, for UDP over IPv4, absent: zero).
    Valid,
    /// The checksum is wrong.
    Invalid,
}

/// Checksums of the innermost IP layer and its transport, matching Suricata's
/// `ipv4-csum`, `tcpv4-csum`, `udpv4-csum`, `icmpv4-csum`, `tcpv6-csum`, `udpv6-csum` and
/// `icmpv6-csum` keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChecksumStatus {
    /// The IPv4 header checksum (`NotApplicable` for IPv6).
    pub ip: Checksum,
    /// The TCP, UDP, ICMPv4 or ICMPv6 checksum.
    pub transport: Checksum,
}

/// Verifies the IPv4 header checksum and the TCP/UDP/ICMP checksum of `decoded`'s innermost
/// layers. Transport checksums need the whole segment: fragments and truncated packets give
/// [`Checksum::NotApplicable`].
pub fn checksum_ok(decoded: &Decoded<'_>) -> ChecksumStatus {
    let Some(ip) = decoded.ip else {
        return ChecksumStatus::default();
    };
    let ip_check = if ip.version == 4 {
        verdict(Sum16BitWords::new().add_slice(ip.header))
    } else {
        Checksum::NotApplicable
    };
    ChecksumStatus {
        ip: ip_check,
        transport: transport_checksum(&ip, &decoded.transport),
    }
}

fn verdict(sum: Sum16BitWords) -> Checksum {
    if sum.ones_complement() == 0 {
        Checksum::Valid
    } else {
        Checksum::Invalid
    }
}

fn transport_checksum(ip: &IpInfo<'_>, transport: &Transport<'_>) -> Checksum {
    let complete = ip.total_len.checked_sub(ip.header.len()) == Some(ip.payload.len());
    if ip.fragment.is_some() || !complete {
        return Checksum::NotApplicable;
    }
    let segment = ip.payload;
    match transport {
        Transport::Tcp(_) => with_pseudo_header(ip, proto::TCP, segment),
        Transport::Udp(udp) => {
            let segment = head(segment, usize::from(udp.length));
            let zero = be16(segment, 6) == Some(0);
            if zero && ip.version == 4 {
                Checksum::Valid
            } else if zero {
                Checksum::Invalid
            } else {
                with_pseudo_header(ip, proto::UDP, segment)
            }
        }
        Transport::Icmpv4(_) => verdict(Sum16BitWords::new().add_slice(segment)),
        Transport::Icmpv6(_) => with_pseudo_header(ip, proto::ICMPV6, segment),
        _ => Checksum::NotApplicable,
    }
}

/// Verifies a checksum computed over the IPv4 or IPv6 pseudo header and `segment`.
fn with_pseudo_header(ip: &IpInfo<'_>, protocol: u8, segment: &[u8]) -> Checksum {
    let Ok(len) = u32::try_from(segment.len()) else {
        return Checksum::NotApplicable;
    };
    let sum = match (ip.src, ip.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let Ok(len) = u16::try_from(len) else {
                return Checksum::NotApplicable;
            };
            Sum16BitWords::new()
                .add_slice(&src.octets())
                .add_slice(&dst.octets())
                .add_slice(&[0, protocol])
                .add_slice(&len.to_be_bytes())
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => Sum16BitWords::new()
            .add_slice(&src.octets())
            .add_slice(&dst.octets())
            .add_slice(&len.to_be_bytes())
            .add_slice(&[0, 0, 0, protocol]),
        _ => return Checksum::NotApplicable,
    };
    verdict(sum.add_slice(segment))
}
