//! The fragment handed to the defragmenter, and the key that groups fragments.

use std::net::IpAddr;

use tapwatch_common::Timestamp;

/// One IP fragment, as decoded by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    /// When the fragment was captured.
    pub ts: Timestamp,
    /// IP version: 4 or 6.
    pub version: u8,
    /// Source address (of the version's family).
    pub src: IpAddr,
    /// Destination address (of the version's family).
    pub dst: IpAddr,
    /// IPv4 protocol, or the IPv6 next header found in the fragment header.
    pub protocol: u8,
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of `payload` in the original datagram, in bytes.
    pub offset: u32,
    /// More fragments follow (MF flag / M flag).
    pub more: bool,
    /// IPv4: this fragment's whole header, options included. IPv6: the fixed header and the
    /// extension headers before the fragment header.
    pub header: &'a [u8],
    /// The fragment's data after the header(s).
    pub payload: &'a [u8],
    /// VLAN/tunnel context: fragments combine only within one context.
    pub context: u64,
}

/// What identifies one datagram being reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TrackerKey {
    src: IpAddr,
    dst: IpAddr,
    /// The IPv4 protocol; 0 for IPv6, where it is not part of the identity.
    protocol: u8,
    id: u32,
    context: u64,
}

/// Smallest IPv4 header.
pub(crate) const IPV4_MIN_HEADER: usize = 20;
/// Largest IPv4 header.
pub(crate) const IPV4_MAX_HEADER: usize = 60;
/// The fixed IPv6 header.
pub(crate) const IPV6_HEADER: usize = 40;

/// Why a fragment is malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Version other than 4/6, or addresses of the other family.
    Version,
    /// Header shorter (or, for IPv4, longer) than the version allows.
    Header,
}

impl Fragment<'_> {
    /// Whether this is an IPv6 fragment (after [`Fragment::check`]).
    pub(crate) fn is_v6(&self) -> bool {
        self.version == 6
    }

    /// Checks version, address family and header length.
    pub(crate) fn check(&self) -> Result<(), Malformed> {
        let family_ok = matches!(
            (self.version, self.src, self.dst),
            (4, IpAddr::V4(_), IpAddr::V4(_)) | (6, IpAddr::V6(_), IpAddr::V6(_))
        );
        if !family_ok {
            return Err(Malformed::Version);
        }
        let header_ok = if self.is_v6() {
            self.header.len() >= IPV6_HEADER
        } else {
            (IPV4_MIN_HEADER..=IPV4_MAX_HEADER).contains(&self.header.len())
        };
        if header_ok {
            Ok(())
        } else {
            Err(Malformed::Header)
        }
    }

    /// The datagram this fragment belongs to.
    pub(crate) fn key(&self) -> TrackerKey {
        TrackerKey {
            src: self.src,
            dst: self.dst,
            protocol: if self.is_v6() { 0 } else { self.protocol },
            id: self.id,
            context: self.context,
        }
    }

    /// End of the payload in the datagram, in bytes.
    pub(crate) fn end(&self) -> u64 {
        u64::from(self.offset) + self.payload.len() as u64
    }

    /// The length field the reassembled packet would need if it ended at `end`: IPv4 total
    /// length, or IPv6 payload length (which excludes the fixed header).
    pub(crate) fn length_field_for(&self, header_len: usize, end: u64) -> u64 {
        let fixed = if self.is_v6() { IPV6_HEADER } else { 0 };
        (header_len - fixed.min(header_len)) as u64 + end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn frag<'a>(version: u8, src: IpAddr, header: &'a [u8]) -> Fragment<'a> {
        Fragment {
            ts: Timestamp::default(),
            version,
            src,
            dst: src,
            protocol: 17,
            id: 7,
            offset: 8,
            more: true,
            header,
            payload: &[0; 16],
            context: 3,
        }
    }

    #[test]
    fn checks_family_and_header() {
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(frag(4, v4, &[0; 20]).check(), Ok(()));
        assert_eq!(frag(4, v4, &[0; 19]).check(), Err(Malformed::Header));
        assert_eq!(frag(4, v4, &[0; 64]).check(), Err(Malformed::Header));
        assert_eq!(frag(6, v4, &[0; 40]).check(), Err(Malformed::Version));
        assert_eq!(frag(5, v4, &[0; 40]).check(), Err(Malformed::Version));
        assert_eq!(frag(6, v6, &[0; 39]).check(), Err(Malformed::Header));
        assert_eq!(frag(6, v6, &[0; 48]).check(), Ok(()));
        let f = frag(6, v6, &[0; 48]);
        assert_eq!(f.end(), 24);
        assert_eq!(f.length_field_for(48, 24), 32);
        assert_eq!(frag(4, v4, &[0; 24]).length_field_for(24, 24), 48);
    }

    #[test]
    fn protocol_keys_only_ipv4() {
        let v4 = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let (a, mut b) = (frag(4, v4, &[0; 20]), frag(4, v4, &[0; 20]));
        b.protocol = 6;
        assert_ne!(a.key(), b.key());
        let (c, mut d) = (frag(6, v6, &[0; 40]), frag(6, v6, &[0; 40]));
        d.protocol = 6;
        assert_eq!(c.key(), d.key());
        d.context = 4;
        assert_ne!(c.key(), d.key());
    }
}
