//! IPv4: header checks, option validation and fragment fields.

use core::net::IpAddr;

use etherparse::Ipv4HeaderSlice;

use crate::bytes::{head, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::ip::{self, proto};
use crate::types::{FragmentInfo, IpInfo};
use tapwatch_common::DecodeEvent;

/// Length of the IPv4 header without options.
const MIN_HEADER_LEN: usize = 20;

/// An IPv4 header and what it carries.
pub(crate) fn decode<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let Some(first) = u8_at(data, 0) else {
        d.event(DecodeEvent::Ipv4PktTooSmall);
        return Next::Done;
    };
    if data.len() < MIN_HEADER_LEN {
        d.event(DecodeEvent::Ipv4PktTooSmall);
        return Next::Done;
    }
    if first >> 4 != 4 {
        d.event(DecodeEvent::Ipv4WrongIpVersion);
        return Next::Done;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    if header_len < MIN_HEADER_LEN {
        d.event(DecodeEvent::Ipv4HlenTooSmall);
        return Next::Done;
    }
    let Ok(header) = Ipv4HeaderSlice::from_slice(data) else {
        // The options do not fit in the captured bytes.
        d.event(DecodeEvent::Ipv4TruncPkt);
        return Next::Done;
    };
    let total_len = usize::from(header.total_len());
    if total_len < header_len {
        d.event(DecodeEvent::Ipv4IplenSmallerThanHlen);
        return Next::Done;
    }
    check_options(d, header.options());

    let truncated = total_len > data.len();
    // Bytes past the total length are link-layer padding.
    let payload = rest(head(data, total_len), header_len);
    let offset = u32::from(header.fragments_offset().value()) * 8;
    let more = header.more_fragments();
    let id = u32::from(header.identification());
    let fragment = (offset != 0 || more).then_some(FragmentInfo { offset, more, id });
    let protocol = header.protocol().0;
    let tos = u8_at(data, 1).unwrap_or(0);
    d.set_ip(IpInfo {
        version: 4,
        src: IpAddr::V4(header.source_addr()),
        dst: IpAddr::V4(header.destination_addr()),
        protocol,
        ttl: header.ttl(),
        tos,
        id,
        dont_fragment: header.dont_fragment(),
        fragment,
        header: header.slice(),
        total_len,
        payload,
    });
    if truncated {
        d.event(DecodeEvent::Ipv4TruncPkt);
        return Next::Done;
    }
    if protocol == proto::ICMPV6 {
        d.event(DecodeEvent::Ipv4Icmpv6);
    }
    if ip::unassigned_protocol(protocol) {
        d.event(DecodeEvent::Ipv4UnknownProtocol);
    }
    match fragment {
        Some(f) if f.offset != 0 => Next::Done,
        Some(_) => ip::upper(d, protocol, payload, true),
        None => ip::upper(d, protocol, payload, false),
    }
}

/// IPv4 option types.
mod opt {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const RR: u8 = 7;
    pub const QS: u8 = 25;
    pub const TS: u8 = 68;
    pub const TR: u8 = 82;
    pub const SEC: u8 = 130;
    pub const LSRR: u8 = 131;
    pub const ESEC: u8 = 133;
    pub const CIPSO: u8 = 134;
    pub const SID: u8 = 136;
    pub const SSRR: u8 = 137;
    pub const RTRALT: u8 = 148;
    /// Other assigned option types (IANA "IP Option Numbers"), accepted without checks.
    pub const OTHER_KNOWN: &[u8] = &[
        10, 11, 12, 15, 30, 94, 142, 144, 145, 147, 149, 150, 151, 152, 158, 205, 222,
    ];
}

/// Validates IPv4 options, raising the `ipv4.opt_*` events.
fn check_options(d: &mut Decoder<'_, '_>, options: &[u8]) {
    let mut seen = [false; 256];
    let mut at = 0usize;
    while let Some(kind) = u8_at(options, at) {
        match kind {
            opt::EOL => return,
            opt::NOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let Some(len) = u8_at(options, at + 1).map(usize::from) else {
            // A multi-byte option without room for its length byte.
            d.event(DecodeEvent::Ipv4OptEolRequired);
            return;
        };
        if len < 2 {
            d.event(DecodeEvent::Ipv4OptInvalidLen);
            return;
        }
        let Some(body) = options.get(at..at + len) else {
            d.event(DecodeEvent::Ipv4OptMalformed);
            return;
        };
        if let Some(slot) = seen.get_mut(usize::from(kind)) {
            if *slot {
                d.event(DecodeEvent::Ipv4OptDuplicate);
            }
            *slot = true;
        }
        if let Some(event) = check_option(kind, body) {
            d.event(event);
        }
        at += len;
    }
}

/// Checks one option (`body` includes the type and length bytes).
fn check_option(kind: u8, body: &[u8]) -> Option<DecodeEvent> {
    let len = body.len();
    let pointer = u8_at(body, 2).map(usize::from);
    match kind {
        opt::RR | opt::LSRR | opt::SSRR => {
            if len < 3 || !(len - 3).is_multiple_of(4) {
                Some(DecodeEvent::Ipv4OptInvalidLen)
            } else if pointer.is_some_and(|p| p < 4) {
                Some(DecodeEvent::Ipv4OptMalformed)
            } else {
                None
            }
        }
        opt::TS => {
            if len < 4 {
                Some(DecodeEvent::Ipv4OptInvalidLen)
            } else if pointer.is_some_and(|p| p < 5) {
                Some(DecodeEvent::Ipv4OptMalformed)
            } else {
                None
            }
        }
        opt::SEC | opt::ESEC => (len < 3).then_some(DecodeEvent::Ipv4OptInvalidLen),
        opt::CIPSO => (len < 6).then_some(DecodeEvent::Ipv4OptInvalidLen),
        opt::SID | opt::RTRALT => (len != 4).then_some(DecodeEvent::Ipv4OptInvalidLen),
        opt::QS => (len != 8).then_some(DecodeEvent::Ipv4OptInvalidLen),
        opt::TR => (len != 12).then_some(DecodeEvent::Ipv4OptInvalidLen),
        k if opt::OTHER_KNOWN.contains(&k) => None,
        _ => Some(DecodeEvent::Ipv4OptUnknown),
    }
}
