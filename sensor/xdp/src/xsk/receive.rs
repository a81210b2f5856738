//! Turning rx descriptors into packets: single-descriptor packets are lent in place, packets
//! spread over several descriptors (`XDP_PKT_CONTD`, multi-buffer) are joined into a reusable
//! buffer bounded by the configured maximum packet size.

use std::ops::Range;

use super::{SocketCounters, XskConfig};
use crate::sys::{Frame, RawXsk, RxDesc, Umem};

/// Where a received packet's bytes are.
#[derive(Debug, Clone)]
pub(super) enum Slot {
    /// In place, in the UMEM frame of `held[i]`.
    Frame(usize),
    /// Copied into `join[range]`.
    Joined(Range<usize>),
}

/// Receive state of one socket; every buffer is reused from batch to batch.
#[derive(Debug)]
pub(super) struct Receiver {
    /// Descriptors of single-buffer packets lent in the current batch.
    pub(super) held: Vec<RxDesc>,
    /// The current batch's packets, in arrival order.
    pub(super) slots: Vec<Slot>,
    /// Bytes of the current batch's joined packets.
    pub(super) join: Vec<u8>,
    /// Descriptors of a multi-buffer packet whose last descriptor has not arrived yet.
    pending: Vec<RxDesc>,
    pending_len: usize,
    /// Dropping the rest of an over-long packet.
    discarding: bool,
    scratch: Vec<RxDesc>,
    max_packet: usize,
}

impl Receiver {
    pub(super) fn new(config: &XskConfig) -> Self {
        let ring = config.rx_ring_size as usize;
        Self {
            held: Vec::with_capacity(ring),
            slots: Vec::with_capacity(ring),
            join: Vec::new(),
            pending: Vec::new(),
            pending_len: 0,
            discarding: false,
            scratch: Vec::with_capacity(ring),
            max_packet: config.max_packet_size as usize,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Reads descriptors until `max` packets are in the batch or the rx ring is empty.
    pub(super) fn receive(
        &mut self,
        raw: &mut RawXsk,
        free: &mut Vec<Frame>,
        counters: &mut SocketCounters,
        max: usize,
    ) {
        let mut scratch = std::mem::take(&mut self.scratch);
        while self.slots.len() < max {
            scratch.clear();
            if raw.rx_read(max - self.slots.len(), &mut scratch) == 0 {
                break;
            }
            for desc in scratch.drain(..) {
                self.take(raw.umem(), desc, free, counters);
            }
        }
        self.scratch = scratch;
    }

    fn take(&mut self, umem: &Umem, desc: RxDesc, free: &mut Vec<Frame>, c: &mut SocketCounters) {
        let last = !desc.continues();
        if self.discarding {
            free.push(umem.recycle(desc));
            if last {
                self.discarding = false;
                c.oversize += 1;
            }
            return;
        }
        if self.pending.is_empty() && last {
            match umem.bytes(&desc) {
                Some(bytes) if bytes.len() <= self.max_packet => {
                    c.packets += 1;
                    c.bytes += bytes.len() as u64;
                    self.slots.push(Slot::Frame(self.held.len()));
                    self.held.push(desc);
                }
                Some(_) => {
                    c.oversize += 1;
                    free.push(umem.recycle(desc));
                }
                None => {
                    c.invalid_descs += 1;
                    free.push(umem.recycle(desc));
                }
            }
            return;
        }
        self.pending_len += desc.len() as usize;
        self.pending.push(desc);
        if self.pending_len > self.max_packet {
            for d in self.pending.drain(..) {
                free.push(umem.recycle(d));
            }
            self.pending_len = 0;
            if last {
                c.oversize += 1;
            } else {
                self.discarding = true;
            }
            return;
        }
        if last {
            self.join_pending(umem, free, c);
        }
    }

    /// Copies the complete multi-buffer packet in `pending` into `join`.
    fn join_pending(&mut self, umem: &Umem, free: &mut Vec<Frame>, c: &mut SocketCounters) {
        let start = self.join.len();
        let mut valid = true;
        for d in self.pending.drain(..) {
            match umem.bytes(&d) {
                Some(bytes) => self.join.extend_from_slice(bytes),
                None => valid = false,
            }
            free.push(umem.recycle(d));
        }
        self.pending_len = 0;
        if !valid {
            self.join.truncate(start);
            c.invalid_descs += 1;
            return;
        }
        let end = self.join.len();
        c.packets += 1;
        c.joined += 1;
        c.bytes += (end - start) as u64;
        self.slots.push(Slot::Joined(start..end));
    }

    /// The bytes of the batch's packet `i`.
    pub(super) fn packet<'a>(&'a self, umem: &'a Umem, i: usize) -> Option<&'a [u8]> {
        match self.slots.get(i)? {
            Slot::Frame(h) => umem.bytes(self.held.get(*h)?),
            Slot::Joined(r) => self.join.get(r.clone()),
        }
    }

    /// Ends the batch: lent frames go back to the free list.
    pub(super) fn release(&mut self, umem: &Umem, free: &mut Vec<Frame>) {
        for d in self.held.drain(..) {
            free.push(umem.recycle(d));
        }
        self.slots.clear();
        self.join.clear();
    }
}
