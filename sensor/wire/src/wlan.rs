//! IEEE 802.11 data frames carrying LLC/SNAP-encapsulated packets.
//!
//! Only what a passive sensor can read without keys or reassembly is followed: unprotected
//! data and QoS data frames that are not fragments or A-MSDUs. Management, control,
//! protected, null-data and fragmented frames are reported as not IP. Suricata does not
//! decode 802.11 at all.
//!
//! Own view: etherparse has no 802.11 support.

use crate::bytes::{rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::llc;

/// Header length of a data frame with three addresses.
const HEADER_LEN: usize = 24;
/// The fourth address of frames relayed between access points (to-DS and from-DS set).
const ADDR4_LEN: usize = 6;
/// QoS control field of QoS data subtypes.
const QOS_LEN: usize = 2;
/// HT control field, present in QoS frames with the order flag.
const HT_CONTROL_LEN: usize = 4;
/// Offset of the sequence control field, whose low 4 bits are the fragment number.
const SEQUENCE_CONTROL_AT: usize = 22;

// First frame control byte: protocol version (bits 0-1), type (bits 2-3), subtype (4-7).
const VERSION_MASK: u8 = 0x03;
const TYPE_MASK: u8 = 0x0c;
const TYPE_DATA: u8 = 0x08;
const SUBTYPE_QOS: u8 = 0x80;
const SUBTYPE_NO_DATA: u8 = 0x40;
// Second frame control byte: flags.
const FLAG_TO_DS: u8 = 0x01;
const FLAG_FROM_DS: u8 = 0x02;
const FLAG_MORE_FRAGMENTS: u8 = 0x04;
const FLAG_PROTECTED: u8 = 0x40;
const FLAG_ORDER: u8 = 0x80;
/// QoS control bit saying the body is an A-MSDU (several subframes).
const QOS_AMSDU: u8 = 0x80;

/// An 802.11 frame (without FCS handling: trailing bytes after the IP packet are ignored by
/// the IP decoders, as Ethernet padding is).
pub(crate) fn ieee80211<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    match data_body(data) {
        Some(body) => llc::llc(d, body),
        None => {
            d.set_non_ip(None, data);
            Next::Done
        }
    }
}

/// The LLC body of an unprotected, unfragmented data frame, or `None` for any other frame.
fn data_body(data: &[u8]) -> Option<&[u8]> {
    let (fc0, fc1) = (u8_at(data, 0)?, u8_at(data, 1)?);
    let plain_data = fc0 & VERSION_MASK == 0
        && fc0 & TYPE_MASK == TYPE_DATA
        && fc0 & SUBTYPE_NO_DATA == 0
        && fc1 & (FLAG_PROTECTED | FLAG_MORE_FRAGMENTS) == 0;
    let fragment_number = u8_at(data, SEQUENCE_CONTROL_AT)? & 0x0f;
    if !plain_data || fragment_number != 0 {
        return None;
    }
    let mut len = HEADER_LEN;
    if fc1 & (FLAG_TO_DS | FLAG_FROM_DS) == FLAG_TO_DS | FLAG_FROM_DS {
        len += ADDR4_LEN;
    }
    if fc0 & SUBTYPE_QOS != 0 {
        if u8_at(data, len)? & QOS_AMSDU != 0 {
            return None;
        }
        len += QOS_LEN;
        if fc1 & FLAG_ORDER != 0 {
            len += HT_CONTROL_LEN;
        }
    }
    (data.len() >= len).then(|| rest(data, len))
}
