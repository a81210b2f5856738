//! Suricata EVE output: the object under `"dns"` in `event_type: dns` records (EVE DNS
//! version 3, Suricata 8 default settings).
//!
//! Shape, as Suricata 8.0.6 writes it: `version`, `type` (`request`/`response` from the QR
//! bit), `tx_id`, `id`, `flags` (lowercase hex without leading zeros), the flag booleans
//! `qr aa tc rd ra z` only when set, `opcode`, `rcode` (a name, or the number as a string),
//! then `queries`, `answers`, `grouped`, `authorities`, `additionals`, each only when not
//! empty (`grouped` comes with `answers`, possibly as `{}`). Names are shown with labels
//! joined by `.` and the root as `""`; bytes that are not valid UTF-8 are written as
//! `\xNN` for every non-ASCII byte. Names cut at the 1025-byte limit carry
//! `rrname_truncated` / `rdata_truncated: true`. A TXT record gives one entry per string;
//! A/AAAA data of the wrong length shows as `"rdata":""`; OPT records without options
//! are left out (a section left empty is omitted).
//! Suricata fills `grouped` from a hash map, so its key order varies; here it follows the
//! first appearance of each type in the answers.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use crate::flow::DnsRecord;
use crate::message::{EdnsOption, Question, RData, ResourceRecord, Soa, Srv};

/// The EVE DNS format version written.
const EVE_DNS_VERSION: u8 = 3;
/// Names this long were (most likely) cut by the parser: Suricata's name limit.
const TRUNCATED_NAME_LEN: usize = 1025;

impl Serialize for DnsRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = &self.message;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("version", &EVE_DNS_VERSION)?;
        map.serialize_entry("type", if m.response { "response" } else { "request" })?;
        map.serialize_entry("tx_id", &self.tx_id)?;
        map.serialize_entry("id", &m.id)?;
        map.serialize_entry("flags", &format_args!("{:x}", m.flags))?;
        for (key, bit) in [
            ("qr", 0x8000u16),
            ("aa", 0x0400),
            ("tc", 0x0200),
            ("rd", 0x0100),
            ("ra", 0x0080),
            ("z", 0x0040),
        ] {
            if m.flags & bit != 0 {
                map.serialize_entry(key, &true)?;
            }
        }
        map.serialize_entry("opcode", &m.opcode)?;
        map.serialize_entry("rcode", &rcode_name(m.rcode))?;
        if !m.queries.is_empty() {
            map.serialize_entry("queries", &Queries(&m.queries))?;
        }
        if m.answers.iter().any(shown) {
            map.serialize_entry("answers", &Records(&m.answers, Section::Answers))?;
            map.serialize_entry("grouped", &Grouped(&m.answers))?;
        }
        if m.authorities.iter().any(shown) {
            map.serialize_entry(
                "authorities",
                &Records(&m.authorities, Section::Authorities),
            )?;
        }
        if m.additionals.iter().any(shown) {
            map.serialize_entry(
                "additionals",
                &Records(&m.additionals, Section::Additionals),
            )?;
        }
        map.end()
    }
}

/// Suricata's name of a response code; unnamed codes as their number.
pub fn rcode_name(rcode: u8) -> Cow<'static, str> {
    let name = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        other => return Cow::Owned(other.to_string()),
    };
    Cow::Borrowed(name)
}

/// Suricata's name of a record type; unnamed types as their number.
pub fn rrtype_name(rrtype: u16) -> Cow<'static, str> {
    let name = match rrtype {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDNSKEY",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        other => return Cow::Owned(other.to_string()),
    };
    Cow::Borrowed(name)
}

/// Bytes as Suricata shows them: unchanged if valid UTF-8, else every non-ASCII byte as
/// `\xNN` (lowercase hex) and ASCII bytes as they are.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        if b.is_ascii() {
            s.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    Cow::Owned(s)
}

/// Lowercase hex without separators.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Lowercase hex with `:` between bytes (SSHFP fingerprints).
fn hex_colons(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// An IPv6 address as Suricata writes it: eight groups of four hex digits.
fn ipv6_full(addr: &std::net::Ipv6Addr) -> String {
    let mut s = String::with_capacity(39);
    for (i, seg) in addr.segments().iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{seg:04x}");
    }
    s
}

pub(crate) fn is_truncated(name: &[u8]) -> bool {
    name.len() >= TRUNCATED_NAME_LEN
}

struct Queries<'a>(&'a [Question]);

impl Serialize for Queries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for q in self.0 {
            seq.serialize_element(&QueryEntry(q))?;
        }
        seq.end()
    }
}

struct QueryEntry<'a>(&'a Question);

impl Serialize for QueryEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let q = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("rrname", &escape_bytes(&q.name))?;
        map.serialize_entry("rrtype", &rrtype_name(q.rrtype))?;
        if is_truncated(&q.name) {
            map.serialize_entry("rrname_truncated", &true)?;
        }
        map.end()
    }
}

/// The section a record is shown in. Suricata 8.0.6's schema lets each section carry
/// different fields; where its own output differs from the schema (`rdata_truncated` and
/// `opt` in answers, seen in its EVE files), its output is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// `answers`: `rdata`, `rdata_truncated`, `soa`, `srv`, `sshfp`, `opt`.
    Answers,
    /// `authorities`: `rdata`, `rdata_truncated`, `rrname_truncated`, `soa`.
    Authorities,
    /// `additionals`: `rdata`, `opt`.
    Additionals,
}

impl Section {
    /// Whether entries of this section may carry `rrname_truncated`.
    fn rrname_truncated(self) -> bool {
        self == Self::Authorities
    }

    /// Whether entries of this section may carry `rdata_truncated`.
    fn rdata_truncated(self) -> bool {
        self != Self::Additionals
    }

    /// Whether entries of this section may carry `soa`.
    fn soa(self) -> bool {
        self != Self::Additionals
    }

    /// Whether entries of this section may carry `srv` and `sshfp`.
    fn srv_sshfp(self) -> bool {
        self == Self::Answers
    }

    /// Whether entries of this section may carry `opt`.
    fn opt(self) -> bool {
        self != Self::Authorities
    }
}

/// A section: one entry per record, except TXT records, which give one entry per string.
struct Records<'a>(&'a [ResourceRecord], Section);

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let section = self.1;
        for rr in self.0.iter().filter(|rr| shown(rr)) {
            match &rr.data {
                RData::Txt(strings) if !strings.is_empty() => {
                    for text in strings {
                        seq.serialize_element(&RecordEntry {
                            rr,
                            section,
                            text: Some(text),
                        })?;
                    }
                }
                _ => seq.serialize_element(&RecordEntry {
                    rr,
                    section,
                    text: None,
                })?,
            }
        }
        seq.end()
    }
}

struct RecordEntry<'a> {
    rr: &'a ResourceRecord,
    section: Section,
    /// The TXT string this entry shows.
    text: Option<&'a [u8]>,
}

impl Serialize for RecordEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rr = self.rr;
        let section = self.section;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("rrname", &escape_bytes(&rr.name))?;
        map.serialize_entry("rrtype", &rrtype_name(rr.rrtype))?;
        if section.rrname_truncated() && is_truncated(&rr.name) {
            map.serialize_entry("rrname_truncated", &true)?;
        }
        map.serialize_entry("ttl", &rr.ttl)?;
        match &rr.data {
            RData::A(a) => map.serialize_entry("rdata", &format_args!("{a}"))?,
            RData::Aaaa(a) => map.serialize_entry("rdata", &ipv6_full(a))?,
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) | RData::Mx { exchange: n, .. } => {
                map.serialize_entry("rdata", &escape_bytes(n))?;
                if section.rdata_truncated() && is_truncated(n) {
                    map.serialize_entry("rdata_truncated", &true)?;
                }
            }
            RData::Txt(_) => {
                if let Some(text) = self.text {
                    map.serialize_entry("rdata", &escape_bytes(text))?;
                }
            }
            RData::Null(bytes) => map.serialize_entry("rdata", &escape_bytes(bytes))?,
            RData::Soa(soa) if section.soa() => map.serialize_entry("soa", &SoaView(soa))?,
            RData::Srv(srv) if section.srv_sshfp() => {
                map.serialize_entry("srv", &SrvView(srv))?;
            }
            RData::Sshfp {
                algorithm,
                fp_type,
                fingerprint,
            } if section.srv_sshfp() => map.serialize_entry(
                "sshfp",
                &SshfpView {
                    algorithm: *algorithm,
                    fp_type: *fp_type,
                    fingerprint,
                },
            )?,
            RData::Opt(options) if section.opt() => {
                map.serialize_entry("opt", &OptView(options))?;
            }
            RData::Other(_) if is_address_type(rr.rrtype) => map.serialize_entry("rdata", "")?,
            RData::Soa(_)
            | RData::Srv(_)
            | RData::Sshfp { .. }
            | RData::Opt(_)
            | RData::Other(_) => {}
        }
        map.end()
    }
}

struct SoaView<'a>(&'a Soa);

impl Serialize for SoaView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let soa = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("mname", &escape_bytes(&soa.mname))?;
        if is_truncated(&soa.mname) {
            map.serialize_entry("mname_truncated", &true)?;
        }
        map.serialize_entry("rname", &escape_bytes(&soa.rname))?;
        map.serialize_entry("serial", &soa.serial)?;
        map.serialize_entry("refresh", &soa.refresh)?;
        map.serialize_entry("retry", &soa.retry)?;
        map.serialize_entry("expire", &soa.expire)?;
        map.serialize_entry("minimum", &soa.minimum)?;
        map.end()
    }
}

struct SrvView<'a>(&'a Srv);

impl Serialize for SrvView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let srv = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("priority", &srv.priority)?;
        map.serialize_entry("weight", &srv.weight)?;
        map.serialize_entry("port", &srv.port)?;
        map.serialize_entry("name", &escape_bytes(&srv.target))?;
        map.end()
    }
}

struct SshfpView<'a> {
    algorithm: u8,
    fp_type: u8,
    fingerprint: &'a [u8],
}

impl Serialize for SshfpView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("algo", &self.algorithm)?;
        map.serialize_entry("type", &self.fp_type)?;
        map.serialize_entry("fingerprint", &hex_colons(self.fingerprint))?;
        map.end()
    }
}

struct OptView<'a>(&'a [EdnsOption]);

impl Serialize for OptView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for o in self.0 {
            seq.serialize_element(&OptEntry(o))?;
        }
        seq.end()
    }
}

struct OptEntry<'a>(&'a EdnsOption);

impl Serialize for OptEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("code", &self.0.code)?;
        map.serialize_entry("data", &hex(&self.0.data))?;
        map.end()
    }
}

/// Whether a section lists the record: Suricata leaves out OPT records without options.
fn shown(rr: &ResourceRecord) -> bool {
    !matches!(&rr.data, RData::Opt(options) if options.is_empty())
}

/// A and AAAA: data of the wrong length is shown as an empty `rdata`.
fn is_address_type(rrtype: u16) -> bool {
    rrtype == 1 || rrtype == 28
}

/// The record types `grouped` lists.
fn groupable(rr: &ResourceRecord) -> bool {
    if is_address_type(rr.rrtype) {
        return true;
    }
    if let RData::Txt(strings) = &rr.data {
        // A group must not be empty: a TXT record without strings adds nothing.
        return !strings.is_empty();
    }
    matches!(
        rr.data,
        RData::A(_)
            | RData::Aaaa(_)
            | RData::Cname(_)
            | RData::Ns(_)
            | RData::Ptr(_)
            | RData::Mx { .. }
            | RData::Null(_)
            | RData::Soa(_)
            | RData::Srv(_)
            | RData::Sshfp { .. }
    )
}

/// Answers grouped by type: `{"A": ["1.2.3.4"], "CNAME": [...], "SOA": [{...}]}`.
struct Grouped<'a>(&'a [ResourceRecord]);

impl Serialize for Grouped<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (i, rr) in self.0.iter().enumerate() {
            let first_of_type = !self
                .0
                .iter()
                .take(i)
                .any(|prev| prev.rrtype == rr.rrtype && groupable(prev));
            if groupable(rr) && first_of_type {
                map.serialize_entry(
                    &rrtype_name(rr.rrtype),
                    &Group {
                        answers: self.0,
                        rrtype: rr.rrtype,
                    },
                )?;
            }
        }
        map.end()
    }
}

struct Group<'a> {
    answers: &'a [ResourceRecord],
    rrtype: u16,
}

impl Serialize for Group<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for rr in self
            .answers
            .iter()
            .filter(|rr| rr.rrtype == self.rrtype && groupable(rr))
        {
            match &rr.data {
                RData::A(a) => seq.serialize_element(&format_args!("{a}"))?,
                RData::Aaaa(a) => seq.serialize_element(&ipv6_full(a))?,
                RData::Cname(n)
                | RData::Ns(n)
                | RData::Ptr(n)
                | RData::Mx { exchange: n, .. }
                | RData::Null(n) => seq.serialize_element(&escape_bytes(n))?,
                RData::Txt(strings) => {
                    for text in strings {
                        seq.serialize_element(&escape_bytes(text))?;
                    }
                }
                RData::Soa(soa) => seq.serialize_element(&SoaView(soa))?,
                RData::Srv(srv) => seq.serialize_element(&SrvView(srv))?,
                RData::Sshfp {
                    algorithm,
                    fp_type,
                    fingerprint,
                } => seq.serialize_element(&SshfpView {
                    algorithm: *algorithm,
                    fp_type: *fp_type,
                    fingerprint,
                })?,
                RData::Other(_) if is_address_type(rr.rrtype) => seq.serialize_element("")?,
                RData::Opt(_) | RData::Other(_) => {}
            }
        }
        seq.end()
    }
}
