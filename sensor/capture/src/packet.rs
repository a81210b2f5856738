//! Packets as returned to the caller, and as located by the format engines.

use tapwatch_common::{LinkType, Timestamp};

/// One captured packet, borrowed from the reader until its next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// When the packet was captured.
    pub ts: Timestamp,
    /// The link-layer type `data` starts with.
    pub link: LinkType,
    /// The captured bytes (possibly fewer than `orig_len`; possibly none).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
    /// The pcapng interface id (always 0 for classic pcap).
    pub interface: u32,
}

/// A packet located by a format engine: its data lies in the input buffer at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketMeta {
    pub(crate) ts: Timestamp,
    pub(crate) link: LinkType,
    /// Buffer index of the data (see [`crate::input::Input::slice`]).
    pub(crate) at: usize,
    pub(crate) len: usize,
    pub(crate) orig_len: u32,
    pub(crate) interface: u32,
}

/// What a format engine found next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// A packet.
    Packet(PacketMeta),
    /// The end of the input, or a problem after which reading cannot go on.
    End,
}
