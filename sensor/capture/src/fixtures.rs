//! Test helpers that serialise pcap and pcapng files byte by byte.

use std::io::{Cursor, Write};

use crate::{CaptureReader, ReaderLimits};

/// A classic pcap file being built.
pub(crate) struct Pcap {
    big: bool,
    pub(crate) bytes: Vec<u8>,
}

impl Pcap {
    /// A file header: byte order, resolution, snapshot length and link type.
    pub(crate) fn new(big: bool, nanos: bool, snaplen: u32, linktype: u32) -> Self {
        let mut p = Self {
            big,
            bytes: Vec::new(),
        };
        p.u32(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        p.u16(2);
        p.u16(4);
        p.u32(0);
        p.u32(0);
        p.u32(snaplen);
        p.u32(linktype);
        p
    }

    pub(crate) fn u16(&mut self, v: u16) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    pub(crate) fn u32(&mut self, v: u32) {
        let b = if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&b);
    }

    /// A record; returns its offset.
    pub(crate) fn record(&mut self, secs: u32, frac: u32, data: &[u8], orig_len: u32) -> usize {
        let at = self.bytes.len();
        self.u32(secs);
        self.u32(frac);
        self.u32(data.len() as u32);
        self.u32(orig_len);
        self.bytes.extend_from_slice(data);
        at
    }
}

/// A pcapng file being built.
pub(crate) struct Ng {
    big: bool,
    pub(crate) bytes: Vec<u8>,
}

impl Ng {
    /// A file starting with a section header in the given byte order.
    pub(crate) fn new(big: bool) -> Self {
        let mut n = Self {
            big,
            bytes: Vec::new(),
        };
        n.section(big);
        n
    }

    fn u16s(&self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32s(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// A new section header in byte order `big` (later blocks use it).
    pub(crate) fn section(&mut self, big: bool) {
        self.big = big;
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32s(0x1a2b_3c4d));
        body.extend_from_slice(&self.u16s(1));
        body.extend_from_slice(&self.u16s(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(0x0a0d_0d0a, &body);
    }

    /// A block of any type around `body` (padded to 32 bits); returns its offset.
    pub(crate) fn block(&mut self, block_type: u32, body: &[u8]) -> usize {
        let at = self.bytes.len();
        let padded = body.len().next_multiple_of(4);
        let total = (12 + padded) as u32;
        let t = self.u32s(block_type);
        let l = self.u32s(total);
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(body);
        self.bytes.resize(at + 8 + padded, 0);
        self.bytes.extend_from_slice(&l);
        at
    }

    fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        body.extend_from_slice(&self.u16s(code));
        body.extend_from_slice(&self.u16s(value.len() as u16));
        body.extend_from_slice(value);
        body.resize(body.len().next_multiple_of(4), 0);
    }

    /// An interface description block.
    pub(crate) fn idb(
        &mut self,
        linktype: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16s(linktype));
        body.extend_from_slice(&[0, 0]);
        body.extend_from_slice(&self.u32s(snaplen));
        self.option(&mut body, 2, b"if0");
        if let Some(r) = tsresol {
            self.option(&mut body, 9, &[r]);
        }
        if let Some(o) = tsoffset {
            let b = if self.big {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut body, 14, &b);
        }
        self.option(&mut body, 0, &[]);
        self.block(1, &body);
    }

    fn packet_fields(&self, body: &mut Vec<u8>, ts: u64, data: &[u8], orig_len: u32) {
        body.extend_from_slice(&self.u32s((ts >> 32) as u32));
        body.extend_from_slice(&self.u32s(ts as u32));
        body.extend_from_slice(&self.u32s(data.len() as u32));
        body.extend_from_slice(&self.u32s(orig_len));
        body.extend_from_slice(data);
    }

    /// An enhanced packet block (with a comment option); returns its offset.
    pub(crate) fn epb(&mut self, iface: u32, ts: u64, data: &[u8], orig_len: u32) -> usize {
        let mut body = self.u32s(iface).to_vec();
        self.packet_fields(&mut body, ts, data, orig_len);
        body.resize(body.len().next_multiple_of(4), 0);
        self.option(&mut body, 1, b"hello");
        self.option(&mut body, 0, &[]);
        self.block(6, &body)
    }

    /// An obsolete packet block.
    pub(crate) fn pb(&mut self, iface: u16, ts: u64, data: &[u8], orig_len: u32) {
        let mut body = self.u16s(iface).to_vec();
        body.extend_from_slice(&self.u16s(0));
        self.packet_fields(&mut body, ts, data, orig_len);
        self.block(2, &body);
    }

    /// A simple packet block.
    pub(crate) fn spb(&mut self, data: &[u8], orig_len: u32) {
        let mut body = self.u32s(orig_len).to_vec();
        body.extend_from_slice(data);
        self.block(3, &body);
    }
}

/// A reader over `bytes` with default limits.
pub(crate) fn reader(bytes: &[u8]) -> CaptureReader {
    reader_with(bytes, ReaderLimits::default())
}

/// A reader over `bytes` with the given limits.
pub(crate) fn reader_with(bytes: &[u8], limits: ReaderLimits) -> CaptureReader {
    CaptureReader::from_reader_with_limits(Box::new(Cursor::new(bytes.to_vec())), limits).unwrap()
}

/// `bytes` gzip-compressed as one member.
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Every packet as (seconds, nanoseconds, link number, data, original length, interface).
pub(crate) type Row = (i64, u32, u32, Vec<u8>, u32, u32);

/// One packet as a [`Row`].
pub(crate) fn row(p: &crate::packet::RawPacket<'_>) -> Row {
    (
        p.ts.secs,
        p.ts.nanos,
        p.link.linktype(),
        p.data.to_vec(),
        p.orig_len,
        p.interface,
    )
}

/// Reads all packets of `r`.
pub(crate) fn rows(r: &mut CaptureReader) -> Vec<Row> {
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(row(&p));
    }
    out
}
