//! Suricata EVE output for multicast DNS: the object under `"mdns"` in `event_type: mdns`
//! records.
//!
//! mDNS (RFC 6762, UDP port 5353) uses DNS's wire format, but Suricata 8 logs it as its own
//! protocol with a different layout, which this module follows as Suricata 8.0.6's EVE schema
//! (`properties.mdns`) describes it:
//!
//! - `type` (`request`/`response`), `id`, `flags` (the set flags as names among
//!   `aa tc rd ra z ad cd`, omitted when none is set), `opcode` and `rcode` as numbers, written
//!   only when not zero (RFC 6762 requires both to be zero, so a value is worth seeing);
//! - `queries`: `rrname`, `rrtype` as a lowercase name (`"ptr"`, `"any"`, or the number);
//! - `answers` and `additionals`: `rrname`, and the data of the two types the schema has a
//!   field for: `ptr` (a name) and `txt` (the record's strings, as one array);
//! - `authorities`: `rrname` only;
//! - `rrname_truncated: true` on names cut at the 1025-byte limit.
//!
//! The schema has no field for other record data (addresses, SRV targets), so records of
//! other types show their name only, and OPT records (EDNS, no owner name) are left out. No
//! `tx_id` is written inside the object: the caller puts [`MdnsRecord::tx_id`] in the
//! record's top-level `tx_id`. A section left empty is omitted.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use crate::eve::{escape_bytes, is_truncated, rrtype_name};
use crate::flow::DnsRecord;
use crate::message::{Question, RData, ResourceRecord};

/// The flag bits shown in `flags`, with their names, in the schema's order.
const FLAGS: [(&str, u16); 7] = [
    ("aa", 0x0400),
    ("tc", 0x0200),
    ("rd", 0x0100),
    ("ra", 0x0080),
    ("z", 0x0040),
    ("ad", 0x0020),
    ("cd", 0x0010),
];

/// A DNS message seen on an mDNS flow. Its `Serialize` output is the object Suricata 8
/// writes under `"mdns"` in an EVE `mdns` record (see the module notes for the shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdnsRecord(pub DnsRecord);

impl MdnsRecord {
    /// The transaction id within the flow (for the record's top-level `tx_id`).
    pub fn tx_id(&self) -> u64 {
        self.0.tx_id
    }

    /// Whether the message is a response (QR bit set).
    pub fn is_response(&self) -> bool {
        self.0.message.response
    }
}

impl Serialize for MdnsRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = &self.0.message;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", if m.response { "response" } else { "request" })?;
        map.serialize_entry("id", &m.id)?;
        if FLAGS.iter().any(|(_, bit)| m.flags & bit != 0) {
            map.serialize_entry("flags", &Flags(m.flags))?;
        }
        if m.opcode != 0 {
            map.serialize_entry("opcode", &m.opcode)?;
        }
        if m.rcode != 0 {
            map.serialize_entry("rcode", &m.rcode)?;
        }
        if !m.queries.is_empty() {
            map.serialize_entry("queries", &Queries(&m.queries))?;
        }
        for (key, section, data) in [
            ("answers", &m.answers, true),
            ("authorities", &m.authorities, false),
            ("additionals", &m.additionals, true),
        ] {
            if section.iter().any(shown) {
                map.serialize_entry(key, &Records { section, data })?;
            }
        }
        map.end()
    }
}

/// The set flags as an array of names.
struct Flags(u16);

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for (name, bit) in FLAGS {
            if self.0 & bit != 0 {
                seq.serialize_element(name)?;
            }
        }
        seq.end()
    }
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
        if is_truncated(&q.name) {
            map.serialize_entry("rrname_truncated", &true)?;
        }
        map.serialize_entry("rrtype", &rrtype_name(q.rrtype).to_ascii_lowercase())?;
        map.end()
    }
}

/// One section; `data` tells whether PTR and TXT data are shown (answers, additionals).
struct Records<'a> {
    section: &'a [ResourceRecord],
    data: bool,
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for rr in self.section.iter().filter(|rr| shown(rr)) {
            seq.serialize_element(&RecordEntry {
                rr,
                data: self.data,
            })?;
        }
        seq.end()
    }
}

struct RecordEntry<'a> {
    rr: &'a ResourceRecord,
    data: bool,
}

impl Serialize for RecordEntry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rr = self.rr;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("rrname", &escape_bytes(&rr.name))?;
        if is_truncated(&rr.name) {
            map.serialize_entry("rrname_truncated", &true)?;
        }
        if self.data {
            match &rr.data {
                RData::Ptr(name) => map.serialize_entry("ptr", &escape_bytes(name))?,
                RData::Txt(strings) if !strings.is_empty() => {
                    map.serialize_entry("txt", &Texts(strings))?;
                }
                _ => {}
            }
        }
        map.end()
    }
}

struct Texts<'a>(&'a [Vec<u8>]);

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for text in self.0 {
            seq.serialize_element(&escape_bytes(text))?;
        }
        seq.end()
    }
}

/// Whether a section lists the record: OPT records (EDNS pseudo-records) are left out.
fn shown(rr: &ResourceRecord) -> bool {
    !matches!(rr.data, RData::Opt(_))
}
