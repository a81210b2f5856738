//! Headers that capture tools put before (or instead of) the link layer: Linux NFLOG, PPI
//! and radiotap.
//!
//! Own views: etherparse has none of these.

use tapwatch_common::LinkType;

use crate::bytes::{be16, le16, le32, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::wlan;

/// NFLOG header length: address family, version, resource id.
const NFLOG_HEADER_LEN: usize = 4;
/// NFLOG TLV header length: length (including this header) and type.
const NFLOG_TLV_LEN: usize = 4;
/// The TLV that holds the logged packet.
const NFULA_PAYLOAD: u16 = 9;
/// Netlink attribute flag bits (nested, network byte order) kept out of the TLV type.
const NLA_TYPE_MASK: u16 = 0x3fff;
/// Linux address families.
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// A Linux NFLOG message: the packet of the `NFULA_PAYLOAD` TLV, as the header's address
/// family says (IPv4 or IPv6); other families, and messages without a readable payload TLV,
/// are not IP.
pub(crate) fn nflog<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let packet = u8_at(data, 0).zip(nflog_payload(data));
    match packet {
        Some((AF_INET, packet)) => Next::Ipv4(packet),
        Some((AF_INET6, packet)) => Next::Ipv6(packet),
        _ => {
            d.set_non_ip(None, rest(data, NFLOG_HEADER_LEN));
            Next::Done
        }
    }
}

/// The value of the first `NFULA_PAYLOAD` TLV. TLV lengths and types are in the capturing
/// host's byte order: it is taken as big-endian when the first TLV's type reads as a small
/// big-endian number and not as a little-endian one. Each TLV is padded to 4 bytes; a
/// length under 4 ends the walk. A payload cut by the snap length is returned as captured.
fn nflog_payload(data: &[u8]) -> Option<&[u8]> {
    let tlvs = rest(data, NFLOG_HEADER_LEN);
    let big_endian = matches!(tlvs, [_, _, hi, lo, ..] if hi & 0x3f == 0 && *lo != 0);
    let read = |at: usize| {
        if big_endian {
            be16(tlvs, at)
        } else {
            le16(tlvs, at)
        }
    };
    let mut at = 0usize;
    loop {
        let len = usize::from(read(at)?);
        let ty = read(at + 2)? & NLA_TYPE_MASK;
        if len < NFLOG_TLV_LEN {
            return None;
        }
        let value = rest(tlvs, at + NFLOG_TLV_LEN);
        if ty == NFULA_PAYLOAD {
            return Some(value.get(..len - NFLOG_TLV_LEN).unwrap_or(value));
        }
        at = at.checked_add(len.checked_next_multiple_of(4)?)?;
    }
}

/// PPI header: version, flags, length (little-endian), link type (little-endian).
const PPI_HEADER_LEN: usize = 8;

/// A Per-Packet Information header: the frame after it, of the link type it names. A PPI
/// header inside a PPI frame is not followed.
pub(crate) fn ppi<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(version), Some(len), Some(dlt)) = (u8_at(data, 0), le16(data, 2), le32(data, 4))
    else {
        d.set_non_ip(None, data);
        return Next::Done;
    };
    let len = usize::from(len);
    let link = LinkType::from_linktype(dlt);
    if version != 0 || len < PPI_HEADER_LEN || len > data.len() || link == LinkType::Ppi {
        d.set_non_ip(None, data);
        return Next::Done;
    }
    Next::Frame {
        link,
        data: rest(data, len),
    }
}

/// Radiotap fixed header: version, pad, length, first "present" bitmap.
const RADIOTAP_HEADER_LEN: usize = 8;
/// "Present" bits: more bitmaps follow; the TSFT field; the flags field.
const PRESENT_EXT: u32 = 1 << 31;
const PRESENT_TSFT: u32 = 1 << 0;
const PRESENT_FLAGS: u32 = 1 << 1;
/// TSFT field size and alignment.
const TSFT_LEN: usize = 8;
/// Radiotap flag: the frame ends with its 4-byte FCS.
const FLAG_FCS_AT_END: u8 = 0x10;
/// FCS length.
const FCS_LEN: usize = 4;

/// A radiotap header followed by an 802.11 frame (its FCS removed when the flags say it is
/// there).
pub(crate) fn radiotap<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(version), Some(len), Some(present)) = (u8_at(data, 0), le16(data, 2), le32(data, 4))
    else {
        d.set_non_ip(None, data);
        return Next::Done;
    };
    let len = usize::from(len);
    if version != 0 || len < RADIOTAP_HEADER_LEN || len > data.len() {
        d.set_non_ip(None, data);
        return Next::Done;
    }
    let header = data.get(..len).unwrap_or(data);
    let mut frame = rest(data, len);
    if radiotap_flags(header, present).is_some_and(|f| f & FLAG_FCS_AT_END != 0) {
        frame = frame
            .get(..frame.len().saturating_sub(FCS_LEN))
            .unwrap_or(frame);
    }
    wlan::ieee80211(d, frame)
}

/// The radiotap flags field, when present: it follows the TSFT field (if any), which comes
/// first after the last "present" bitmap, aligned to 8 bytes from the header's start.
fn radiotap_flags(header: &[u8], present: u32) -> Option<u8> {
    if present & PRESENT_FLAGS == 0 {
        return None;
    }
    let mut at = RADIOTAP_HEADER_LEN;
    let mut word = present;
    while word & PRESENT_EXT != 0 {
        word = le32(header, at)?;
        at += 4;
    }
    if present & PRESENT_TSFT != 0 {
        at = at.checked_next_multiple_of(TSFT_LEN)? + TSFT_LEN;
    }
    u8_at(header, at)
}
