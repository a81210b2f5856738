//! pcapng interface description blocks: link type, snapshot length and timestamp scale.

use tapwatch_common::{LinkType, Timestamp};

use crate::bytes::Endian;

/// `if_tsresol` option code.
const OPT_TSRESOL: u16 = 9;
/// `if_tsoffset` option code.
const OPT_TSOFFSET: u16 = 14;
/// `opt_endofopt`.
const OPT_END: u16 = 0;

/// The unit of an interface's timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// 10^-n seconds.
    Decimal(u8),
    /// 2^-n seconds.
    Binary(u8),
}

impl Resolution {
    /// From the `if_tsresol` byte: most significant bit clear is a power of ten.
    fn from_option(byte: u8) -> Self {
        if byte & 0x80 == 0 {
            Self::Decimal(byte)
        } else {
            Self::Binary(byte & 0x7f)
        }
    }

    /// `units` of this resolution in whole nanoseconds (rounded down when finer).
    pub(crate) fn to_nanos(self, units: u64) -> i128 {
        let units = i128::from(units);
        match self {
            Self::Decimal(n) if n <= 9 => units * 10i128.pow(9 - u32::from(n)),
            Self::Decimal(n) => 10i128
                .checked_pow(u32::from(n) - 9)
                .map_or(0, |div| units / div),
            // units < 2^64, so units * 10^9 < 2^94 fits; n <= 127 keeps the shift valid.
            Self::Binary(n) => (units * 1_000_000_000)
                .checked_shr(u32::from(n))
                .unwrap_or(0),
        }
    }
}

/// What the reader keeps of one interface description block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interface {
    pub(crate) link: LinkType,
    /// Snapshot length; 0 means unlimited.
    pub(crate) snaplen: u32,
    resolution: Resolution,
    /// Seconds added to every timestamp (`if_tsoffset`).
    offset_secs: i64,
}

impl Interface {
    /// Parses an IDB body (the bytes between the block length fields), or `None` when it is
    /// too short for its fixed fields. Malformed options end option parsing.
    pub(crate) fn parse(endian: Endian, body: &[u8]) -> Option<Self> {
        let link = LinkType::from_linktype(u32::from(endian.u16(body, 0)?));
        let snaplen = endian.u32(body, 4)?;
        let mut iface = Self {
            link,
            snaplen,
            resolution: Resolution::Decimal(6),
            offset_secs: 0,
        };
        let mut at = 8;
        while let (Some(code), Some(len)) = (endian.u16(body, at), endian.u16(body, at + 2)) {
            let value_at = at + 4;
            let Some(value) = body.get(value_at..value_at + usize::from(len)) else {
                break;
            };
            match code {
                OPT_END => break,
                OPT_TSRESOL => {
                    if let Some(&b) = value.first() {
                        iface.resolution = Resolution::from_option(b);
                    }
                }
                OPT_TSOFFSET => {
                    if let Some(off) = endian.i64(value, 0) {
                        iface.offset_secs = off;
                    }
                }
                _ => {}
            }
            at = value_at + usize::from(len).next_multiple_of(4);
        }
        Some(iface)
    }

    /// The timestamp of a packet whose 64-bit timestamp field is `high:low`.
    pub(crate) fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let units = (u64::from(high) << 32) | u64::from(low);
        let offset = i128::from(self.offset_secs) * 1_000_000_000;
        Timestamp::from_nanos(offset + self.resolution.to_nanos(units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idb_body(linktype: u16, snaplen: u32, options: &[(u16, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&linktype.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&snaplen.to_le_bytes());
        for (code, value) in options {
            b.extend_from_slice(&code.to_le_bytes());
            b.extend_from_slice(&(value.len() as u16).to_le_bytes());
            b.extend_from_slice(value);
            b.resize(b.len().next_multiple_of(4), 0);
        }
        b
    }

    #[test]
    fn resolutions_convert_exactly() {
        assert_eq!(Resolution::Decimal(6).to_nanos(1_500_001), 1_500_001_000);
        assert_eq!(Resolution::Decimal(9).to_nanos(7), 7);
        assert_eq!(Resolution::Decimal(0).to_nanos(3), 3_000_000_000);
        assert_eq!(Resolution::Decimal(12).to_nanos(5_999), 5);
        assert_eq!(Resolution::Decimal(127).to_nanos(u64::MAX), 0);
        assert_eq!(Resolution::Binary(10).to_nanos(1024 + 512), 1_500_000_000);
        assert_eq!(Resolution::Binary(30).to_nanos(1), 0);
        assert_eq!(Resolution::Binary(0).to_nanos(2), 2_000_000_000);
        assert_eq!(Resolution::Binary(127).to_nanos(u64::MAX), 0);
        assert_eq!(Resolution::from_option(0x8a), Resolution::Binary(10));
        assert_eq!(Resolution::from_option(9), Resolution::Decimal(9));
    }

    #[test]
    fn parses_options_and_applies_offset() {
        let body = idb_body(
            101,
            9000,
            &[
                (2, b"eth0x"),
                (9, &[9]),
                (14, &100i64.to_le_bytes()),
                (0, &[]),
            ],
        );
        let i = Interface::parse(Endian::Little, &body).unwrap();
        assert_eq!(i.link, LinkType::Raw);
        assert_eq!(i.snaplen, 9000);
        assert_eq!(
            i.timestamp(1, 5),
            Timestamp::from_nanos(100_000_000_000 + (1 << 32) + 5)
        );
    }

    #[test]
    fn defaults_to_microseconds_and_survives_bad_options() {
        let mut body = idb_body(1, 0, &[]);
        body.extend_from_slice(&[9, 0, 200, 0, 1]); // option longer than the body
        let i = Interface::parse(Endian::Little, &body).unwrap();
        assert_eq!(i.timestamp(0, 2_000_001), Timestamp::new(2, 1_000));
        assert!(Interface::parse(Endian::Little, &[1, 0, 0]).is_none());
    }
}
