//! Batches of packets that own their bytes, so that reading (on one thread) and processing
//! (on another) can overlap.

use tapwatch_common::{LinkType, Timestamp};

use crate::packet::RawPacket;
use crate::reader::CaptureReader;

/// How much one [`PacketBatch`] may hold before [`CaptureReader::read_batch`] hands it over.
///
/// A batch stops growing at whichever bound it reaches first; its data buffer may exceed
/// `max_bytes` by at most one packet (at most the reader's `max_record_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most packets in one batch (at least 1).
    pub max_packets: usize,
    /// Packet bytes after which a batch is full.
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    /// 1,024 packets or 1 MiB: large enough that handing a batch over costs nothing per
    /// packet, small enough to stay in cache.
    fn default() -> Self {
        Self {
            max_packets: 1_024,
            max_bytes: 1 << 20,
        }
    }
}

/// Where one packet of a batch lies, with its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    ts: Timestamp,
    link: LinkType,
    start: usize,
    len: usize,
    orig_len: u32,
    interface: u32,
}

/// Packets copied out of a [`CaptureReader`], in order, owning their bytes.
///
/// A batch is meant to be reused: [`CaptureReader::read_batch`] clears it and fills it again,
/// keeping its allocations, so a reader and a worker passing a few batches back and forth
/// allocate nothing per packet once the batches have grown to their working size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketBatch {
    data: Vec<u8>,
    entries: Vec<Entry>,
    /// The reader's [`CaptureReader::bytes_consumed`] after the last packet of the batch.
    consumed: u64,
}

impl PacketBatch {
    /// An empty batch with room for `limits` reserved up front.
    pub fn with_limits(limits: BatchLimits) -> Self {
        Self {
            data: Vec::with_capacity(limits.max_bytes),
            entries: Vec::with_capacity(limits.max_packets.max(1)),
            consumed: 0,
        }
    }

    /// Removes every packet, keeping the allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.entries.clear();
        self.consumed = 0;
    }

    /// Appends a copy of `packet`.
    pub fn push(&mut self, packet: &RawPacket<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(packet.data);
        self.entries.push(Entry {
            ts: packet.ts,
            link: packet.link,
            start,
            len: packet.data.len(),
            orig_len: packet.orig_len,
            interface: packet.interface,
        });
    }

    /// Packets in the batch.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch holds no packet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Packet bytes held.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    /// Bytes of (uncompressed) input the reader had consumed once this batch was filled.
    pub fn bytes_consumed(&self) -> u64 {
        self.consumed
    }

    /// The capture time of the batch's last packet.
    pub fn last_ts(&self) -> Option<Timestamp> {
        self.entries.last().map(|e| e.ts)
    }

    /// The packets, in capture order, borrowed from the batch.
    pub fn iter(&self) -> impl Iterator<Item = RawPacket<'_>> + '_ {
        self.entries.iter().map(|e| RawPacket {
            ts: e.ts,
            link: e.link,
            data: e
                .start
                .checked_add(e.len)
                .and_then(|end| self.data.get(e.start..end))
                .unwrap_or(&[]),
            orig_len: e.orig_len,
            interface: e.interface,
        })
    }
}

impl CaptureReader {
    /// Clears `batch` and fills it with the next packets, up to `limits`; returns how many
    /// were read, 0 at the end of the input (as [`CaptureReader::next_packet`] returning
    /// `None`). Problems met are recorded as with `next_packet`.
    pub fn read_batch(&mut self, batch: &mut PacketBatch, limits: BatchLimits) -> usize {
        batch.clear();
        let max_packets = limits.max_packets;
        while batch.is_empty() || (batch.len() < max_packets && batch.data_len() < limits.max_bytes)
        {
            match self.next_packet() {
                Some(p) => batch.push(&p),
                None => break,
            }
        }
        batch.consumed = self.bytes_consumed();
        batch.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{reader, row, rows, Pcap};

    fn file(n: u32) -> Vec<u8> {
        let mut f = Pcap::new(false, false, 65535, 1);
        for i in 0..n {
            let len = (i % 7) as usize * 10;
            f.record(1_000 + i, i, &vec![i as u8; len], len as u32 + 4);
        }
        f.bytes
    }

    #[test]
    fn batches_give_the_same_packets_in_order() {
        let bytes = file(100);
        let want = rows(&mut reader(&bytes));
        let mut r = reader(&bytes);
        let limits = BatchLimits {
            max_packets: 7,
            max_bytes: 1 << 20,
        };
        let mut batch = PacketBatch::with_limits(limits);
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        loop {
            let n = r.read_batch(&mut batch, limits);
            if n == 0 {
                break;
            }
            sizes.push(n);
            assert!(batch.bytes_consumed() <= bytes.len() as u64);
            got.extend(batch.iter().map(|p| row(&p)));
        }
        assert!(batch.is_empty());
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        assert!(sizes.iter().all(|&n| n <= 7));
        assert_eq!(got, want);
        assert_eq!(r.packets_read(), 100);
    }

    #[test]
    fn byte_bound_stops_a_batch_after_one_more_packet() {
        let bytes = file(30);
        let mut r = reader(&bytes);
        let limits = BatchLimits {
            max_packets: 1_000,
            max_bytes: 25,
        };
        let mut batch = PacketBatch::default();
        let mut total = 0;
        loop {
            let n = r.read_batch(&mut batch, limits);
            if n == 0 {
                break;
            }
            total += n;
            // Stops as soon as 25 bytes are reached: at most one packet (<= 60 bytes) beyond.
            assert!(batch.data_len() < 25 + 60, "{}", batch.data_len());
        }
        assert_eq!(total, 30);
        // A zero packet bound still makes progress.
        let mut r = reader(&bytes);
        let n = r.read_batch(
            &mut batch,
            BatchLimits {
                max_packets: 0,
                max_bytes: 0,
            },
        );
        assert_eq!(n, 1);
    }
}
