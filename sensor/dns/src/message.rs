//! DNS message types and the message parser (RFC 1035 section 4).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::anomaly::{AnomalySet, DnsAnomaly};
use crate::config::DnsConfig;
use crate::error::DnsError;
use crate::name::parse_name;
use crate::rdata::parse_rdata;

/// Size of the fixed DNS header.
pub(crate) const HEADER_LEN: usize = 12;
/// The QR bit: set in responses.
pub(crate) const FLAG_QR: u16 = 0x8000;
/// The reserved Z bit.
pub(crate) const FLAG_Z: u16 = 0x0040;
/// Highest assigned opcode (6, DSO); higher ones raise [`DnsAnomaly::InvalidOpcode`].
const MAX_VALID_OPCODE: u8 = 6;

/// A parsed DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMessage {
    /// The transaction identifier from the header.
    pub id: u16,
    /// The header's flags word as on the wire (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Whether the QR bit is set.
    pub response: bool,
    /// The header opcode (bits 11-14 of the flags).
    pub opcode: u8,
    /// The header response code (low 4 bits of the flags).
    pub rcode: u8,
    /// The question section (at most `max_answers` kept).
    pub queries: Vec<Question>,
    /// The answer section (at most `max_answers` kept).
    pub answers: Vec<ResourceRecord>,
    /// The authority section (at most `max_answers` kept); empty if it did not parse.
    pub authorities: Vec<ResourceRecord>,
    /// The additional section (at most `max_answers` kept); empty if it did not parse.
    pub additionals: Vec<ResourceRecord>,
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The decoded name (labels joined by `.`, empty for the root).
    pub name: Vec<u8>,
    /// The query type (QTYPE).
    pub rrtype: u16,
    /// The query class (QCLASS; mDNS puts the unicast-response bit in its top bit).
    pub rrclass: u16,
}

/// One resource record of the answer, authority or additional section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRecord {
    /// The owner name (labels joined by `.`, empty for the root).
    pub name: Vec<u8>,
    /// The record type.
    pub rrtype: u16,
    /// The record class (the UDP payload size for OPT).
    pub rrclass: u16,
    /// The time to live (extended rcode, version and flags for OPT).
    pub ttl: u32,
    /// The decoded record data.
    pub data: RData,
}

/// Decoded record data. Types without a decoder, and data that does not decode as its type
/// says, are kept as raw bytes in [`RData::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// Type A: an IPv4 address.
    A(Ipv4Addr),
    /// Type AAAA: an IPv6 address.
    Aaaa(Ipv6Addr),
    /// Type CNAME: the canonical name.
    Cname(Vec<u8>),
    /// Type NS: a name server.
    Ns(Vec<u8>),
    /// Type PTR: the pointed-to name.
    Ptr(Vec<u8>),
    /// Type MX: preference and mail exchanger.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The mail exchanger's name.
        exchange: Vec<u8>,
    },
    /// Type TXT: the character strings, in order.
    Txt(Vec<Vec<u8>>),
    /// Type NULL: opaque bytes.
    Null(Vec<u8>),
    /// Type SOA: start of authority.
    Soa(Soa),
    /// Type SRV: service location.
    Srv(Srv),
    /// Type SSHFP: an SSH key fingerprint.
    Sshfp {
        /// Key algorithm number.
        algorithm: u8,
        /// Fingerprint type number.
        fp_type: u8,
        /// The fingerprint bytes.
        fingerprint: Vec<u8>,
    },
    /// Type OPT (EDNS): the options, in order.
    Opt(Vec<EdnsOption>),
    /// Any other type, or data that did not decode: the raw record data.
    Other(Vec<u8>),
}

/// The data of an SOA record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// The primary name server.
    pub mname: Vec<u8>,
    /// The responsible mailbox, as a name.
    pub rname: Vec<u8>,
    /// Zone serial number.
    pub serial: u32,
    /// Refresh interval, seconds.
    pub refresh: u32,
    /// Retry interval, seconds.
    pub retry: u32,
    /// Expiry, seconds.
    pub expire: u32,
    /// Negative-caching TTL, seconds.
    pub minimum: u32,
}

/// The data of an SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower is preferred.
    pub priority: u16,
    /// Relative weight among equal priorities.
    pub weight: u16,
    /// The service port.
    pub port: u16,
    /// The target host.
    pub target: Vec<u8>,
}

/// One EDNS option of an OPT record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdnsOption {
    /// The option code.
    pub code: u16,
    /// The option data.
    pub data: Vec<u8>,
}

/// Parses a whole DNS message (without a TCP length prefix).
///
/// A bad header, question or answer section is an error. A bad authority or additional
/// section is dropped (with its following sections) and the rest is returned; names that are
/// too long, have too many labels or loop are cut. [`crate::DnsFlow`] reports those cases as
/// anomalies.
pub fn parse_message(data: &[u8], cfg: &DnsConfig) -> Result<DnsMessage, DnsError> {
    let mut anomalies = AnomalySet::default();
    parse_message_with_anomalies(data, cfg, &mut anomalies)
}

/// The fixed header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) id: u16,
    pub(crate) flags: u16,
    pub(crate) qdcount: u16,
    pub(crate) ancount: u16,
    pub(crate) nscount: u16,
    pub(crate) arcount: u16,
}

impl Header {
    /// Reads the header from the first 12 bytes of `data`.
    pub(crate) fn parse(data: &[u8]) -> Result<Header, DnsError> {
        let word = |i: usize| read_u16(data, i);
        Ok(Header {
            id: word(0)?,
            flags: word(2)?,
            qdcount: word(4)?,
            ancount: word(6)?,
            nscount: word(8)?,
            arcount: word(10)?,
        })
    }

    /// The opcode field.
    pub(crate) fn opcode(self) -> u8 {
        // Four bits: always fits.
        ((self.flags >> 11) & 0x0F) as u8
    }
}

/// [`parse_message`], also collecting the anomalies seen.
pub(crate) fn parse_message_with_anomalies(
    data: &[u8],
    cfg: &DnsConfig,
    anomalies: &mut AnomalySet,
) -> Result<DnsMessage, DnsError> {
    let header = Header::parse(data)?;
    let opcode = header.opcode();
    if header.flags & FLAG_Z != 0 {
        anomalies.insert(DnsAnomaly::ZFlagSet);
    }
    if opcode > MAX_VALID_OPCODE {
        anomalies.insert(DnsAnomaly::InvalidOpcode);
    }
    let mut msg = DnsMessage {
        id: header.id,
        flags: header.flags,
        response: header.flags & FLAG_QR != 0,
        opcode,
        rcode: (header.flags & 0x000F) as u8,
        queries: Vec::new(),
        answers: Vec::new(),
        authorities: Vec::new(),
        additionals: Vec::new(),
    };
    let mut pos = HEADER_LEN;
    let mut scratch = Vec::new();
    for _ in 0..header.qdcount {
        let (q, next) = parse_question(data, pos, cfg, &mut scratch, anomalies)?;
        if msg.queries.len() < cfg.max_answers {
            msg.queries.push(q);
        }
        pos = next;
    }
    pos = parse_section(data, pos, header.ancount, cfg, &mut msg.answers, anomalies)?;
    match parse_section(
        data,
        pos,
        header.nscount,
        cfg,
        &mut msg.authorities,
        anomalies,
    ) {
        Ok(next) => pos = next,
        Err(_) => {
            msg.authorities.clear();
            anomalies.insert(DnsAnomaly::InvalidAuthorities);
            return Ok(msg);
        }
    }
    if parse_section(
        data,
        pos,
        header.arcount,
        cfg,
        &mut msg.additionals,
        anomalies,
    )
    .is_err()
    {
        msg.additionals.clear();
        anomalies.insert(DnsAnomaly::InvalidAdditionals);
    }
    Ok(msg)
}

/// Parses one question at `pos`; returns it and the offset after it.
pub(crate) fn parse_question(
    data: &[u8],
    pos: usize,
    cfg: &DnsConfig,
    scratch: &mut Vec<u8>,
    anomalies: &mut AnomalySet,
) -> Result<(Question, usize), DnsError> {
    let after_name = parse_name(data, pos, cfg.max_name_len, scratch, anomalies)?;
    let rrtype = read_u16(data, after_name)?;
    let rrclass = read_u16(data, after_name + 2)?;
    let q = Question {
        name: scratch.clone(),
        rrtype,
        rrclass,
    };
    Ok((q, after_name + 4))
}

/// Parses `count` resource records from `pos`, keeping up to `max_answers` in `out`.
fn parse_section(
    data: &[u8],
    mut pos: usize,
    count: u16,
    cfg: &DnsConfig,
    out: &mut Vec<ResourceRecord>,
    anomalies: &mut AnomalySet,
) -> Result<usize, DnsError> {
    let mut scratch = Vec::new();
    for _ in 0..count {
        let keep = out.len() < cfg.max_answers;
        let (rr, next) = parse_record(data, pos, cfg, keep, &mut scratch, anomalies)?;
        if let Some(rr) = rr {
            out.push(rr);
        }
        pos = next;
    }
    Ok(pos)
}

/// Parses one resource record at `pos`; returns it (if `keep`) and the offset after it.
pub(crate) fn parse_record(
    data: &[u8],
    pos: usize,
    cfg: &DnsConfig,
    keep: bool,
    scratch: &mut Vec<u8>,
    anomalies: &mut AnomalySet,
) -> Result<(Option<ResourceRecord>, usize), DnsError> {
    let after_name = parse_name(data, pos, cfg.max_name_len, scratch, anomalies)?;
    let rrtype = read_u16(data, after_name)?;
    let rrclass = read_u16(data, after_name + 2)?;
    let ttl = read_u32(data, after_name + 4)?;
    let rdlen = usize::from(read_u16(data, after_name + 8)?);
    let rdata_start = after_name + 10;
    let rdata_end = rdata_start + rdlen;
    if rdata_end > data.len() {
        return Err(DnsError::Truncated { offset: data.len() });
    }
    if !keep {
        return Ok((None, rdata_end));
    }
    let rr = ResourceRecord {
        name: scratch.clone(),
        rrtype,
        rrclass,
        ttl,
        data: parse_rdata(data, rdata_start, rdata_end, rrtype, cfg, anomalies)?,
    };
    Ok((Some(rr), rdata_end))
}

/// Reads a big-endian u16 at `at`.
pub(crate) fn read_u16(data: &[u8], at: usize) -> Result<u16, DnsError> {
    match data.get(at..at + 2) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(DnsError::Truncated { offset: at }),
    }
}

/// Reads a big-endian u32 at `at`.
pub(crate) fn read_u32(data: &[u8], at: usize) -> Result<u32, DnsError> {
    match data.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(DnsError::Truncated { offset: at }),
    }
}
