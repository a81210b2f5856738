//! Decoding of resource record data by type.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::anomaly::AnomalySet;
use crate::config::DnsConfig;
use crate::error::DnsError;
use crate::message::{read_u16, read_u32, EdnsOption, RData, Soa, Srv};
use crate::name::parse_name;

/// Record type numbers decoded here.
pub(crate) mod rrtype {
    pub(crate) const A: u16 = 1;
    pub(crate) const NS: u16 = 2;
    pub(crate) const CNAME: u16 = 5;
    pub(crate) const SOA: u16 = 6;
    pub(crate) const NULL: u16 = 10;
    pub(crate) const PTR: u16 = 12;
    pub(crate) const MX: u16 = 15;
    pub(crate) const TXT: u16 = 16;
    pub(crate) const AAAA: u16 = 28;
    pub(crate) const SRV: u16 = 33;
    pub(crate) const OPT: u16 = 41;
    pub(crate) const SSHFP: u16 = 44;
}

/// Decodes `msg[start..end]` as the data of a record of type `rrtype`. Names inside may use
/// compression pointers into the whole message and may be followed by unused bytes.
///
/// Empty data decodes as an empty name for CNAME, NS and PTR, no strings for TXT, no
/// options for OPT, and [`RData::Other`] otherwise. Non-empty structured data that does not
/// decode (a bad name, a TXT string or EDNS option running past the end, a short SOA, SRV,
/// MX or SSHFP) is an error, as it makes Suricata reject the record's section. Addresses of
/// the wrong length and types without a decoder are kept as [`RData::Other`].
pub(crate) fn parse_rdata(
    msg: &[u8],
    start: usize,
    end: usize,
    rrtype: u16,
    cfg: &DnsConfig,
    anomalies: &mut AnomalySet,
) -> Result<RData, DnsError> {
    let raw = msg.get(start..end).unwrap_or_default();
    if raw.is_empty() {
        // Empty data is common in dynamic updates (RFC 2136 deletions); Suricata logs such
        // names as empty.
        return Ok(match rrtype {
            rrtype::CNAME => RData::Cname(Vec::new()),
            rrtype::NS => RData::Ns(Vec::new()),
            rrtype::PTR => RData::Ptr(Vec::new()),
            rrtype::TXT => RData::Txt(Vec::new()),
            rrtype::OPT => RData::Opt(Vec::new()),
            _ => RData::Other(Vec::new()),
        });
    }
    let bad = DnsError::BadRdata { offset: start };
    let decoded = match rrtype {
        rrtype::A => {
            return Ok(<[u8; 4]>::try_from(raw).map_or_else(
                |_| RData::Other(raw.to_vec()),
                |b| RData::A(Ipv4Addr::from(b)),
            ))
        }
        rrtype::AAAA => {
            return Ok(<[u8; 16]>::try_from(raw).map_or_else(
                |_| RData::Other(raw.to_vec()),
                |b| RData::Aaaa(Ipv6Addr::from(b)),
            ))
        }
        rrtype::CNAME => whole_name(msg, start, end, cfg, anomalies).map(RData::Cname),
        rrtype::NS => whole_name(msg, start, end, cfg, anomalies).map(RData::Ns),
        rrtype::PTR => whole_name(msg, start, end, cfg, anomalies).map(RData::Ptr),
        rrtype::MX => read_u16(raw, 0).ok().and_then(|preference| {
            whole_name(msg, start + 2, end, cfg, anomalies).map(|exchange| RData::Mx {
                preference,
                exchange,
            })
        }),
        rrtype::TXT => parse_txt(raw).map(RData::Txt),
        rrtype::NULL => Some(RData::Null(raw.to_vec())),
        rrtype::SOA => parse_soa(msg, start, end, cfg, anomalies).map(RData::Soa),
        rrtype::SRV => parse_srv(msg, start, end, cfg, anomalies).map(RData::Srv),
        rrtype::SSHFP => match raw {
            [algorithm, fp_type, fingerprint @ ..] => Some(RData::Sshfp {
                algorithm: *algorithm,
                fp_type: *fp_type,
                fingerprint: fingerprint.to_vec(),
            }),
            _ => None,
        },
        rrtype::OPT => parse_opt(raw).map(RData::Opt),
        _ => Some(RData::Other(raw.to_vec())),
    };
    decoded.ok_or(bad)
}

/// A name that starts at `start` and ends within `end` (unused bytes may follow).
fn whole_name(
    msg: &[u8],
    start: usize,
    end: usize,
    cfg: &DnsConfig,
    anomalies: &mut AnomalySet,
) -> Option<Vec<u8>> {
    name_at(msg, start, end, cfg, anomalies).map(|(name, _)| name)
}

/// A name that starts at `start` and ends within `end`; returns it and its end.
fn name_at(
    msg: &[u8],
    start: usize,
    end: usize,
    cfg: &DnsConfig,
    anomalies: &mut AnomalySet,
) -> Option<(Vec<u8>, usize)> {
    if start >= end {
        return None;
    }
    let mut out = Vec::new();
    let after = parse_name(msg, start, cfg.max_name_len, &mut out, anomalies).ok()?;
    (after <= end).then_some((out, after))
}

/// TXT data: a sequence of length-prefixed character strings.
fn parse_txt(mut raw: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut strings = Vec::new();
    while let Some((&len, rest)) = raw.split_first() {
        let len = usize::from(len);
        strings.push(rest.get(..len)?.to_vec());
        raw = rest.get(len..)?;
    }
    Some(strings)
}

fn parse_soa(
    msg: &[u8],
    start: usize,
    end: usize,
    cfg: &DnsConfig,
    anomalies: &mut AnomalySet,
) -> Option<Soa> {
    let (mname, p) = name_at(msg, start, end, cfg, anomalies)?;
    let (rname, p) = name_at(msg, p, end, cfg, anomalies)?;
    let fixed = msg.get(p..end).filter(|f| f.len() == 20)?;
    let n = |i: usize| read_u32(fixed, i).ok();
    Some(Soa {
        mname,
        rname,
        serial: n(0)?,
        refresh: n(4)?,
        retry: n(8)?,
        expire: n(12)?,
        minimum: n(16)?,
    })
}

fn parse_srv(
    msg: &[u8],
    start: usize,
    end: usize,
    cfg: &DnsConfig,
    anomalies: &mut AnomalySet,
) -> Option<Srv> {
    let fixed = msg.get(start..end)?;
    let priority = read_u16(fixed, 0).ok()?;
    let weight = read_u16(fixed, 2).ok()?;
    let port = read_u16(fixed, 4).ok()?;
    let target = whole_name(msg, start + 6, end, cfg, anomalies)?;
    Some(Srv {
        priority,
        weight,
        port,
        target,
    })
}

/// OPT data: a sequence of (code, length, data) options.
fn parse_opt(mut raw: &[u8]) -> Option<Vec<EdnsOption>> {
    let mut options = Vec::new();
    while !raw.is_empty() {
        let code = read_u16(raw, 0).ok()?;
        let len = usize::from(read_u16(raw, 2).ok()?);
        let data = raw.get(4..4 + len)?.to_vec();
        options.push(EdnsOption { code, data });
        raw = raw.get(4 + len..)?;
    }
    Some(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd(msg: &[u8], start: usize, t: u16) -> RData {
        try_rd(msg, start, t).expect("rdata decodes")
    }

    fn try_rd(msg: &[u8], start: usize, t: u16) -> Result<RData, DnsError> {
        let mut an = AnomalySet::default();
        parse_rdata(msg, start, msg.len(), t, &DnsConfig::default(), &mut an)
    }

    #[test]
    fn addresses() {
        assert_eq!(
            rd(&[10, 0, 0, 1], 0, rrtype::A),
            RData::A(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(rd(&[10, 0, 0], 0, rrtype::A), RData::Other(vec![10, 0, 0]));
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[15] = 1;
        assert_eq!(
            rd(&v6, 0, rrtype::AAAA),
            RData::Aaaa("2000::1".parse().unwrap())
        );
    }

    #[test]
    fn names_with_compression() {
        // 0: "ex.com", 8: CNAME data pointing at 0.
        let msg = b"\x02ex\x03com\x00\x03www\xc0\x00";
        assert_eq!(
            rd(msg, 8, rrtype::CNAME),
            RData::Cname(b"www.ex.com".to_vec())
        );
        assert_eq!(rd(msg, 8, rrtype::PTR), RData::Ptr(b"www.ex.com".to_vec()));
        assert_eq!(rd(msg, 8, rrtype::NS), RData::Ns(b"www.ex.com".to_vec()));
        // Unused bytes after the name are ignored; a name running past the data is an error.
        assert_eq!(
            rd(b"\x01a\x00\xff", 0, rrtype::CNAME),
            RData::Cname(b"a".to_vec())
        );
        assert_eq!(
            try_rd(b"\x01a", 0, rrtype::CNAME),
            Err(DnsError::BadRdata { offset: 0 })
        );
        assert_eq!(rd(b"", 0, rrtype::PTR), RData::Ptr(Vec::new()));
        assert_eq!(rd(b"", 0, rrtype::SOA), RData::Other(Vec::new()));
        assert_eq!(rd(b"", 0, rrtype::TXT), RData::Txt(Vec::new()));
    }

    #[test]
    fn mx_srv_soa() {
        assert_eq!(
            rd(b"\x00\x0a\x02mx\x00", 0, rrtype::MX),
            RData::Mx {
                preference: 10,
                exchange: b"mx".to_vec()
            }
        );
        assert_eq!(
            rd(b"\x00\x01\x00\x02\x01\xbb\x01h\x00", 0, rrtype::SRV),
            RData::Srv(Srv {
                priority: 1,
                weight: 2,
                port: 443,
                target: b"h".to_vec()
            })
        );
        let mut soa = b"\x02ns\x00\x02hm\x00".to_vec();
        for v in [1u32, 2, 3, 4, 5] {
            soa.extend_from_slice(&v.to_be_bytes());
        }
        assert_eq!(
            rd(&soa, 0, rrtype::SOA),
            RData::Soa(Soa {
                mname: b"ns".to_vec(),
                rname: b"hm".to_vec(),
                serial: 1,
                refresh: 2,
                retry: 3,
                expire: 4,
                minimum: 5
            })
        );
        soa.pop();
        assert_eq!(
            try_rd(&soa, 0, rrtype::SOA),
            Err(DnsError::BadRdata { offset: 0 })
        );
        assert_eq!(
            try_rd(b"\x00\x01\x00", 0, rrtype::SRV),
            Err(DnsError::BadRdata { offset: 0 })
        );
        assert_eq!(
            try_rd(b"\x00", 0, rrtype::MX),
            Err(DnsError::BadRdata { offset: 0 })
        );
    }

    #[test]
    fn txt_opt_sshfp_null_other() {
        assert_eq!(
            rd(b"\x02ab\x00\x01c", 0, rrtype::TXT),
            RData::Txt(vec![b"ab".to_vec(), vec![], b"c".to_vec()])
        );
        assert_eq!(
            try_rd(b"\x03ab", 0, rrtype::TXT),
            Err(DnsError::BadRdata { offset: 0 })
        );
        assert_eq!(
            rd(b"\x00\x08\x00\x02\xaa\xbb\x00\x0a\x00\x00", 0, rrtype::OPT),
            RData::Opt(vec![
                EdnsOption {
                    code: 8,
                    data: vec![0xaa, 0xbb]
                },
                EdnsOption {
                    code: 10,
                    data: vec![]
                }
            ])
        );
        assert_eq!(
            try_rd(b"\x00\x08\x00\x03\x00", 0, rrtype::OPT),
            Err(DnsError::BadRdata { offset: 0 })
        );
        assert_eq!(
            try_rd(b"\x01", 0, rrtype::SSHFP),
            Err(DnsError::BadRdata { offset: 0 })
        );
        assert_eq!(rd(b"", 0, rrtype::OPT), RData::Opt(vec![]));
        assert_eq!(
            rd(b"\x01\x02\xde\xad", 0, rrtype::SSHFP),
            RData::Sshfp {
                algorithm: 1,
                fp_type: 2,
                fingerprint: vec![0xde, 0xad]
            }
        );
        assert_eq!(rd(b"\x00\xff", 0, rrtype::NULL), RData::Null(vec![0, 0xff]));
        assert_eq!(rd(b"\x00\xff", 0, 46), RData::Other(vec![0, 0xff]));
    }
}
