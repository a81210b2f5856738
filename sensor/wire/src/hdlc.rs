//! Serial (WAN) link layers: Cisco HDLC, under its own link type and written by routers
//! under the PPP link types, and Frame Relay.
//!
//! Own views: etherparse has neither.

use crate::bytes::{be16, rest, u8_at};
use crate::decoder::{Decoder, EtherSource, Next};
use crate::llc;
use tapwatch_common::DecodeEvent;

/// Cisco HDLC addresses: unicast and broadcast.
const CHDLC_ADDRESSES: [u8; 2] = [0x0f, 0x8f];
/// Cisco HDLC control byte.
const CHDLC_CONTROL: u8 = 0x00;
/// Cisco HDLC header length: address, control, ethertype.
const CHDLC_LEN: usize = 4;

/// Whether `data` starts like a Cisco HDLC frame (address `0f` or `8f`, control `00`).
///
/// Neither address can start a PPP frame (`ff 03`) nor a compressed PPP protocol field in
/// use, so a frame of the PPP link types that starts so is Cisco HDLC (libpcap and
/// Wireshark read such frames the same way).
pub(crate) fn looks_chdlc(data: &[u8]) -> bool {
    matches!(data, [address, CHDLC_CONTROL, ..] if CHDLC_ADDRESSES.contains(address))
}

/// A Cisco HDLC frame: address and control bytes (not checked: the link type says what the
/// frame is), then an ethertype. `too_small` is the event of a frame shorter than the header.
pub(crate) fn chdlc<'a>(
    d: &mut Decoder<'a, '_>,
    data: &'a [u8],
    too_small: DecodeEvent,
) -> Next<'a> {
    let Some(ty) = be16(data, 2) else {
        d.event(too_small);
        return Next::Done;
    };
    Next::EtherType {
        ethertype: ty,
        data: rest(data, CHDLC_LEN),
        from: EtherSource::Other,
    }
}

/// Most bytes of a Q.922 address (RFC 2427 allows 2, 3 or 4).
const FR_MAX_ADDRESS_LEN: usize = 4;
/// Q.922 "unnumbered information" control byte of the RFC 2427 encapsulation.
const FR_CONTROL_UI: u8 = 0x03;
/// RFC 2427 padding before an NLPID.
const FR_PAD: u8 = 0x00;

/// Network layer protocol ids (ISO/IEC TR 9577) used by RFC 2427.
mod nlpid {
    /// IPv4.
    pub const IPV4: u8 = 0xcc;
    /// IPv6.
    pub const IPV6: u8 = 0x8e;
    /// An 802.1a SNAP header follows (OUI, protocol id).
    pub const SNAP: u8 = 0x80;
}

/// A Frame Relay frame: a Q.922 address (the last byte has the EA bit set), then either the
/// RFC 2427 multiprotocol encapsulation (control `03`, optional pad, NLPID) or Cisco's
/// (an ethertype, which never starts with `03`). Anything else is not IP.
pub(crate) fn frame_relay<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let address_len = (0..FR_MAX_ADDRESS_LEN)
        .find(|&i| u8_at(data, i).is_some_and(|b| b & 1 == 1))
        .map(|i| i + 1);
    let Some(address_len) = address_len.filter(|&n| n >= 2) else {
        d.set_non_ip(None, data);
        return Next::Done;
    };
    let body = rest(data, address_len);
    if u8_at(body, 0) != Some(FR_CONTROL_UI) {
        return match be16(body, 0) {
            Some(ty) => Next::EtherType {
                ethertype: ty,
                data: rest(body, 2),
                from: EtherSource::Other,
            },
            None => {
                d.set_non_ip(None, body);
                Next::Done
            }
        };
    }
    let mut at = 1;
    if u8_at(body, at) == Some(FR_PAD) {
        at += 1;
    }
    let payload = rest(body, at + 1);
    match u8_at(body, at) {
        Some(nlpid::IPV4) => Next::Ipv4(payload),
        Some(nlpid::IPV6) => Next::Ipv6(payload),
        Some(nlpid::SNAP) => llc::snap(d, payload),
        _ => {
            d.set_non_ip(None, payload);
            Next::Done
        }
    }
}
