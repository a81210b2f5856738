//! A batch of received packets, lent by the socket until the batch is dropped.

use std::time::SystemTime;

use super::XskSocket;

/// Packets received by one [`XskSocket::rx_batch`] call.
///
/// The frames are views into the socket's UMEM (or its join buffer for multi-buffer packets);
/// they return to the kernel's fill ring when the batch is dropped, so the socket cannot be
/// used meanwhile.
#[derive(Debug)]
pub struct Batch<'a> {
    socket: &'a mut XskSocket,
    timestamp: SystemTime,
}

impl<'a> Batch<'a> {
    pub(super) fn new(socket: &'a mut XskSocket, timestamp: SystemTime) -> Self {
        Self { socket, timestamp }
    }

    /// Number of packets.
    pub fn len(&self) -> usize {
        self.socket.rx.slots.len()
    }

    /// True when the wait timed out with nothing received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `CLOCK_REALTIME` read once when the batch was made: the receive time of all its packets.
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// The bytes of packet `i` (the whole frame from the Ethernet header on).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        self.socket.rx.packet(self.socket.raw.umem(), i)
    }

    /// The packets in arrival order.
    pub fn iter(&self) -> Frames<'_> {
        Frames {
            batch: self,
            next: 0,
        }
    }

    /// Gives the frames back now (the same as dropping the batch).
    pub fn release(self) {}
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.socket.end_batch();
    }
}

/// Iterator over a [`Batch`]'s packets.
#[derive(Debug)]
pub struct Frames<'b> {
    batch: &'b Batch<'b>,
    next: usize,
}

impl<'b> Iterator for Frames<'b> {
    type Item = &'b [u8];

    fn next(&mut self) -> Option<Self::Item> {
        while self.next < self.batch.len() {
            let i = self.next;
            self.next += 1;
            if let Some(bytes) = self.batch.get(i) {
                return Some(bytes);
            }
        }
        None
    }
}

impl<'b> IntoIterator for &'b Batch<'b> {
    type Item = &'b [u8];
    type IntoIter = Frames<'b>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
