//! Transport headers: TCP (with options), UDP (and the UDP tunnels it leads to), ICMPv4,
//! ICMPv6 and the SCTP common header with a chunk walk.

use etherparse::{TcpHeaderSlice, UdpHeaderSlice};

use crate::bytes::{be16, be32, head, rest, u8_at};
use crate::decoder::{Decoder, Next};
use crate::icmp;
use crate::ip::proto;
use crate::types::{SctpInfo, TcpFlags, TcpInfo, TcpOptions, Transport, UdpInfo};
use crate::udp_tunnel;
use tapwatch_common::DecodeEvent;

/// Decodes the transport header of `protocol`. `fragment` is true for a first fragment:
/// UDP tunnels are then not followed.
pub(crate) fn decode<'a>(
    d: &mut Decoder<'a, '_>,
    protocol: u8,
    data: &'a [u8],
    fragment: bool,
) -> Next<'a> {
    match protocol {
        proto::TCP => tcp(d, data),
        proto::UDP => udp(d, data, fragment),
        proto::ICMP => icmp::v4(d, data),
        proto::ICMPV6 => icmp::v6(d, data),
        proto::SCTP => sctp(d, data),
        other => {
            d.set_transport(Transport::Other(other), data);
            Next::Done
        }
    }
}

/// Length of the TCP header without options.
const TCP_MIN_LEN: usize = 20;

/// A TCP header.
fn tcp<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let Some(offset_byte) = u8_at(data, 12).filter(|_| data.len() >= TCP_MIN_LEN) else {
        d.event(DecodeEvent::TcpPktTooSmall);
        return Next::Done;
    };
    let header_len = usize::from(offset_byte >> 4) * 4;
    if header_len < TCP_MIN_LEN {
        d.event(DecodeEvent::TcpHlenTooSmall);
        return Next::Done;
    }
    let Ok(header) = TcpHeaderSlice::from_slice(data) else {
        d.event(DecodeEvent::TcpPktTooSmall);
        return Next::Done;
    };
    let options = tcp_options(d, header.options());
    let flags = be16(data, 12).map_or(0, |v| v & 0x01ff);
    let info = TcpInfo {
        src_port: header.source_port(),
        dst_port: header.destination_port(),
        seq: header.sequence_number(),
        ack: header.acknowledgment_number(),
        flags: TcpFlags(flags),
        window: header.window_size(),
        urgent: header.urgent_pointer(),
        header: header.slice(),
        options,
    };
    d.set_transport(Transport::Tcp(info), rest(data, header_len));
    Next::Done
}

/// TCP option kinds read by [`tcp_options`].
mod tcp_opt {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WSCALE: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
    pub const MD5: u8 = 19;
    pub const TFO: u8 = 34;
}

/// Parses TCP options, raising `tcp.invalid_optlen` (length byte missing, below 2 or past
/// the header), `tcp.opt_invalid_len` (a known option of the wrong size) and
/// `tcp.opt_duplicate`.
///
/// Written here rather than with etherparse's option iterator because that iterator stops
/// at the first error and does not report duplicates.
fn tcp_options(d: &mut Decoder<'_, '_>, options: &[u8]) -> TcpOptions {
    let mut out = TcpOptions::default();
    let mut seen = [false; 9];
    let mut at = 0usize;
    while let Some(kind) = u8_at(options, at) {
        match kind {
            tcp_opt::EOL => break,
            tcp_opt::NOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let Some(len) = u8_at(options, at + 1).map(usize::from) else {
            d.event(DecodeEvent::TcpInvalidOptlen);
            break;
        };
        let Some(opt) = options.get(at..at + len).filter(|_| len >= 2) else {
            d.event(DecodeEvent::TcpInvalidOptlen);
            break;
        };
        if let Some(slot) = seen.get_mut(usize::from(kind)) {
            if *slot && kind != tcp_opt::SACK {
                d.event(DecodeEvent::TcpOptDuplicate);
            }
            *slot = true;
        }
        let valid_len = match kind {
            tcp_opt::MSS => len == 4,
            tcp_opt::WSCALE => len == 3,
            tcp_opt::SACK_PERM => len == 2,
            tcp_opt::SACK => len >= 10 && (len - 2) % 8 == 0,
            tcp_opt::TIMESTAMP => len == 10,
            tcp_opt::MD5 => len == 18,
            tcp_opt::TFO => len == 2 || (6..=18).contains(&len),
            _ => true,
        };
        if !valid_len {
            d.event(DecodeEvent::TcpOptInvalidLen);
        } else {
            match kind {
                tcp_opt::MSS => out.mss = be16(opt, 2),
                tcp_opt::WSCALE => out.wscale = u8_at(opt, 2),
                tcp_opt::SACK_PERM => out.sack_permitted = true,
                tcp_opt::SACK => {
                    let blocks = u8::try_from((len - 2) / 8).unwrap_or(u8::MAX);
                    out.sack_blocks = out.sack_blocks.saturating_add(blocks);
                }
                tcp_opt::TIMESTAMP => out.timestamp = be32(opt, 2).zip(be32(opt, 6)),
                _ => {}
            }
        }
        at += len;
    }
    out
}

/// UDP header length.
const UDP_LEN: usize = 8;

/// A UDP header; then VXLAN, Geneve or Teredo by port when not a fragment.
fn udp<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8], fragment: bool) -> Next<'a> {
    let Ok(header) = UdpHeaderSlice::from_slice(data) else {
        d.event(DecodeEvent::UdpPktTooSmall);
        return Next::Done;
    };
    let length = header.length();
    let len = usize::from(length);
    if len < UDP_LEN {
        d.event(DecodeEvent::UdpHlenTooSmall);
        return Next::Done;
    }
    // A first fragment holds only the start of the datagram the length field describes.
    if len > data.len() && !fragment {
        d.event(DecodeEvent::UdpLenInvalid);
        return Next::Done;
    }
    let info = UdpInfo {
        src_port: header.source_port(),
        dst_port: header.destination_port(),
        length,
    };
    let payload = rest(head(data, len), UDP_LEN);
    d.set_transport(Transport::Udp(info), payload);
    if fragment {
        return Next::Done;
    }
    udp_tunnel::decode(d, info, payload)
}

/// SCTP common header length.
const SCTP_LEN: usize = 12;
/// Most SCTP chunks walked per packet; more raise `sctp.too_many_chunks`.
pub const MAX_SCTP_CHUNKS: usize = 64;

/// The SCTP common header and a walk over its chunks.
fn sctp<'a>(d: &mut Decoder<'a, '_>, data: &'a [u8]) -> Next<'a> {
    let (Some(src_port), Some(dst_port), Some(vtag)) =
        (be16(data, 0), be16(data, 2), be32(data, 4))
    else {
        d.event(DecodeEvent::SctpPktTooSmall);
        return Next::Done;
    };
    if data.len() < SCTP_LEN {
        d.event(DecodeEvent::SctpPktTooSmall);
        return Next::Done;
    }
    let chunks = rest(data, SCTP_LEN);
    check_sctp_chunks(d, vtag, chunks);
    d.set_transport(
        Transport::Sctp(SctpInfo {
            src_port,
            dst_port,
            vtag,
        }),
        chunks,
    );
    Next::Done
}

/// Walks SCTP chunks (type, flags, length; padded to 4 bytes).
fn check_sctp_chunks(d: &mut Decoder<'_, '_>, vtag: u32, mut chunks: &[u8]) {
    const DATA: u8 = 0;
    const INIT: u8 = 1;
    let mut count = 0usize;
    let mut has_init = false;
    while !chunks.is_empty() {
        if count == MAX_SCTP_CHUNKS {
            d.event(DecodeEvent::SctpTooManyChunks);
            break;
        }
        count += 1;
        let (Some(kind), Some(len)) = (u8_at(chunks, 0), be16(chunks, 2)) else {
            d.event(DecodeEvent::SctpChunkTooSmall);
            break;
        };
        let len = usize::from(len);
        if len < 4 {
            d.event(DecodeEvent::SctpChunkLenInvalid);
            break;
        }
        if len > chunks.len() {
            d.event(DecodeEvent::SctpChunkTooSmall);
            break;
        }
        match kind {
            DATA if vtag == 0 => d.event(DecodeEvent::SctpDataWithZeroVtag),
            INIT => {
                has_init = true;
                if vtag != 0 {
                    d.event(DecodeEvent::SctpInitWithNonZeroVtag);
                }
            }
            _ => {}
        }
        let padded = len.saturating_add(3) & !3;
        chunks = rest(chunks, padded);
    }
    if has_init && count > 1 {
        d.event(DecodeEvent::SctpInitChunkBundled);
    }
}
