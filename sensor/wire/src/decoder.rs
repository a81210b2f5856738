//! The layer loop: each layer decoder returns the next layer to decode, so nesting never
//! recurses and the number of layers and tunnels is bounded.

use core::net::IpAddr;

use crate::types::{Decoded, IpInfo, Transport, TunnelContext, TunnelKind, VlanStack};
use crate::{hdlc, ip, ipv4, ipv6, link, llc, mpls, pseudo, wlan, LinkType};
use tapwatch_common::DecodeEvent;

/// Most tunnels one packet may be nested in; one more raises `too_many_layers`.
pub const MAX_TUNNEL_DEPTH: u8 = 8;

/// Most layers (headers) decoded per packet; one more raises `too_many_layers`.
pub const MAX_LAYERS: u8 = 32;

/// Where an ethertype was read, for the "unknown type" event of that layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EtherSource {
    /// An Ethernet header.
    Ethernet,
    /// An 802.1Q/802.1ad tag.
    Vlan,
    /// A VN-Tag.
    Vntag,
    /// An 802.1BR E-Tag.
    Etag,
    /// Anything else (SLL, GRE...): no event for unknown types.
    Other,
}

/// The next layer to decode.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Next<'a> {
    /// Nothing more to decode.
    Done,
    /// An Ethernet II / 802.3 header.
    Ethernet(&'a [u8]),
    /// Data of the given ethertype.
    EtherType {
        ethertype: u16,
        data: &'a [u8],
        from: EtherSource,
    },
    /// An IPv4 header.
    Ipv4(&'a [u8]),
    /// An IPv6 header.
    Ipv6(&'a [u8]),
    /// An IP header of the version its first nibble says (raw links).
    IpRaw(&'a [u8]),
    /// An MPLS label stack.
    Mpls(&'a [u8]),
    /// A PPP protocol field (optionally after HDLC address and control bytes).
    Ppp(&'a [u8]),
    /// A frame of a link type named inside the packet (PPI).
    Frame { link: LinkType, data: &'a [u8] },
}

/// A tunnel entered whose inner packet has not been reached yet.
#[derive(Debug, Clone, Copy)]
struct Pending {
    tunnel: TunnelContext,
    vlan_before: VlanStack,
}

/// Decoding state of one packet.
#[derive(Debug)]
pub(crate) struct Decoder<'a, 'o> {
    /// What has been committed so far (the caller's, written in place).
    pub(crate) out: &'o mut Decoded<'a>,
    pending: Option<Pending>,
    /// The last ethertype seen, reported for non-IP payloads.
    pub(crate) last_ethertype: Option<u16>,
}

impl<'a, 'o> Decoder<'a, 'o> {
    /// A decoder that resets `out` and starts from the given VLAN and tunnel context.
    pub(crate) fn new(out: &'o mut Decoded<'a>, vlan: VlanStack, tunnel: TunnelContext) -> Self {
        *out = Decoded {
            vlan,
            tunnel,
            ..Decoded::default()
        };
        Decoder {
            out,
            pending: None,
            last_ethertype: None,
        }
    }

    /// Records an event.
    pub(crate) fn event(&mut self, event: DecodeEvent) {
        self.out.events.insert(event);
    }

    /// The endpoints of the current IP layer, for a tunnel's `outer` field.
    pub(crate) fn endpoints(&self) -> Option<(IpAddr, IpAddr)> {
        self.out.ip.map(|ip| (ip.src, ip.dst))
    }

    /// The version of the current IP layer, if any.
    pub(crate) fn ip_version(&self) -> Option<u8> {
        self.out.ip.map(|ip| ip.version)
    }

    /// Enters a tunnel of `kind`; returns `false` (and raises `too_many_layers`) when the
    /// depth bound is reached, in which case decoding must stop.
    pub(crate) fn enter_tunnel(&mut self, kind: TunnelKind) -> bool {
        let (depth, vlan_before) = match self.pending {
            Some(p) => (p.tunnel.depth, p.vlan_before),
            None => (self.out.tunnel.depth, self.out.vlan),
        };
        if depth >= MAX_TUNNEL_DEPTH {
            self.event(DecodeEvent::TooManyLayers);
            return false;
        }
        self.pending = Some(Pending {
            tunnel: TunnelContext {
                kind,
                depth: depth + 1,
                outer: self.endpoints(),
            },
            vlan_before,
        });
        true
    }

    fn commit(&mut self) {
        if let Some(p) = self.pending.take() {
            self.out.tunnel = p.tunnel;
        }
    }

    /// Makes `info` the innermost IP layer (committing a pending tunnel).
    pub(crate) fn set_ip(&mut self, info: IpInfo<'a>) {
        self.commit();
        self.out.ip = Some(info);
        self.out.transport = Transport::None;
        self.out.payload = info.payload;
        self.out.ethertype = None;
    }

    /// Records that the innermost packet is not IP (committing a pending tunnel).
    pub(crate) fn set_non_ip(&mut self, ethertype: Option<u16>, payload: &'a [u8]) {
        self.commit();
        self.out.ip = None;
        self.out.transport = Transport::None;
        self.out.payload = payload;
        self.out.ethertype = ethertype;
    }

    /// Sets the transport layer and its payload.
    pub(crate) fn set_transport(&mut self, transport: Transport<'a>, payload: &'a [u8]) {
        self.out.transport = transport;
        self.out.payload = payload;
    }

    /// Decodes from `first` until no layer is left; the result is in `out`.
    pub(crate) fn run(mut self, first: Next<'a>) {
        let mut next = first;
        let mut layers: u8 = 0;
        loop {
            if matches!(next, Next::Done) {
                break;
            }
            if layers >= MAX_LAYERS {
                self.event(DecodeEvent::TooManyLayers);
                break;
            }
            layers += 1;
            next = match next {
                Next::Done => Next::Done,
                Next::Ethernet(data) => link::ethernet(&mut self, data),
                Next::EtherType {
                    ethertype,
                    data,
                    from,
                } => link::ethertype(&mut self, ethertype, data, from),
                Next::Ipv4(data) => ipv4::decode(&mut self, data),
                Next::Ipv6(data) => ipv6::decode(&mut self, data),
                Next::IpRaw(data) => ip::raw(&mut self, data),
                Next::Mpls(data) => mpls::decode(&mut self, data),
                Next::Ppp(data) => link::ppp(&mut self, data),
                Next::Frame { link, data } => start(&mut self, link, data),
            };
        }
        if let Some(p) = self.pending.take() {
            // The tunnel's inner packet was never reached: report the outer packet.
            self.out.vlan = p.vlan_before;
        }
    }
}

/// Decodes a captured frame of link type `link`.
///
/// Never panics and never allocates: anomalies are recorded in [`Decoded::events`] and
/// decoding stops at the layer that could not be read. Frames of [`LinkType::Other`] are
/// returned undecoded (no IP, the whole frame as payload).
pub fn decode(link: LinkType, frame: &[u8]) -> Decoded<'_> {
    let mut out = Decoded::default();
    decode_into(&mut out, link, frame);
    out
}

/// [`decode`] into `out`, overwriting all of it: the same result without moving a
/// [`Decoded`] (a few hundred bytes) on every packet.
pub fn decode_into<'a>(out: &mut Decoded<'a>, link: LinkType, frame: &'a [u8]) {
    let mut decoder = Decoder::new(out, VlanStack::new(), TunnelContext::default());
    let first = start(&mut decoder, link, frame);
    decoder.run(first);
}

/// The first layer of a frame of link type `link`.
fn start<'a>(d: &mut Decoder<'a, '_>, link: LinkType, frame: &'a [u8]) -> Next<'a> {
    match link {
        LinkType::Ethernet => Next::Ethernet(frame),
        LinkType::Null | LinkType::Loop => link::null(d, frame),
        LinkType::Raw => Next::IpRaw(frame),
        LinkType::Ipv4 => Next::Ipv4(frame),
        LinkType::Ipv6 => Next::Ipv6(frame),
        LinkType::LinuxSll => link::sll(d, frame),
        LinkType::LinuxSll2 => link::sll2(d, frame),
        LinkType::Ppp | LinkType::PppHdlc => link::ppp_link(d, frame),
        LinkType::PppEther => link::pppoe_session(d, frame),
        LinkType::Chdlc => hdlc::chdlc(d, frame, DecodeEvent::ChdlcPktTooSmall),
        LinkType::FrameRelay => hdlc::frame_relay(d, frame),
        LinkType::Fddi => llc::fddi(d, frame),
        LinkType::Nflog => pseudo::nflog(d, frame),
        LinkType::Ppi => pseudo::ppi(d, frame),
        LinkType::Radiotap => pseudo::radiotap(d, frame),
        LinkType::Ieee80211 => wlan::ieee80211(d, frame),
        LinkType::Other(_) => {
            d.set_non_ip(None, frame);
            Next::Done
        }
    }
}

/// Decodes a packet that starts at its IP header (a reassembled datagram), keeping the VLAN
/// ids and tunnel context of `outer` (the packet it came from). Events of `outer` are not
/// copied: the result holds only those of `packet`. Tunnels inside `packet` count on top of
/// `outer`'s tunnel depth.
pub fn decode_ip<'a>(packet: &'a [u8], outer: &Decoded<'_>) -> Decoded<'a> {
    let mut out = Decoded::default();
    Decoder::new(&mut out, outer.vlan, outer.tunnel).run(Next::IpRaw(packet));
    out
}
