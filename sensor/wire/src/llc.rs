//! IEEE 802.2 LLC with SNAP (how FDDI, 802.11 and Frame Relay carry ethertypes), and FDDI.
//!
//! Own views: etherparse has no LLC, SNAP or FDDI support.

use crate::bytes::{be16, rest, u8_at};
use crate::decoder::{Decoder, EtherSource, Next};

/// LLC header of a SNAP frame: DSAP `aa`, SSAP `aa`, control `03` (unnumbered information).
const LLC_SNAP: [u8; 3] = [0xaa, 0xaa, 0x03];
/// SNAP header length: OUI (3) and protocol id (2).
const SNAP_LEN: usize = 5;
/// SNAP organisation codes whose protocol id is an ethertype: RFC 1042 encapsulation and
/// 802.1H bridge tunnelling.
const ETHERTYPE_OUIS: [[u8; 3]; 2] = [[0x00, 0x00, 0x00], [0x00, 0x00, 0xf8]];

/// An 802.2 LLC header: SNAP leads on to its ethertype, any other LLC payload is not IP.
pub(crate) fn llc<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    match data.strip_prefix(&LLC_SNAP) {
        Some(snap_header) => snap(d, snap_header),
        None => {
            d.set_non_ip(None, data);
            Next::Done
        }
    }
}

/// A SNAP header (OUI, protocol id): an ethertype for the RFC 1042 and 802.1H organisation
/// codes; anything else is not IP.
pub(crate) fn snap<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let oui = data.get(..3);
    match (oui, be16(data, 3)) {
        (Some(oui), Some(ty)) if ETHERTYPE_OUIS.iter().any(|o| o == oui) => Next::EtherType {
            ethertype: ty,
            data: rest(data, SNAP_LEN),
            from: EtherSource::Other,
        },
        _ => {
            d.set_non_ip(None, data);
            Next::Done
        }
    }
}

/// FDDI MAC header length: frame control, destination and source addresses.
const FDDI_LEN: usize = 13;
/// Frame control bits that give the frame class (`CLFF` of `CLFFZZZZ`, without the
/// address-length bit).
const FDDI_FC_FORMAT: u8 = 0x30;
/// Frame control format of LLC frames.
const FDDI_FC_LLC: u8 = 0x10;

/// An FDDI frame: LLC frames are followed into their LLC header; MAC and SMT frames are not
/// IP.
pub(crate) fn fddi<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let is_llc = u8_at(data, 0).is_some_and(|fc| fc & FDDI_FC_FORMAT == FDDI_FC_LLC);
    if !is_llc || data.len() < FDDI_LEN {
        d.set_non_ip(None, data);
        return Next::Done;
    }
    llc(d, rest(data, FDDI_LEN))
}
