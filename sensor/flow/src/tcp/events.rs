//! The set of TCP session events one packet raises.
//!
//! The events themselves are [`tapwatch_common::StreamEvent`] (named [`TcpEvent`] here, as
//! session tracking raises only the handshake, state and window ones), shared with
//! reassembly, counters, EVE and rules.

pub use tapwatch_common::StreamEvent as TcpEvent;

// Every event needs a bit of `TcpEvents`.
const _: () = assert!(TcpEvent::COUNT <= 64);

/// A set of [`TcpEvent`]s raised by one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpEvents(u64);

impl TcpEvents {
    /// The empty set.
    pub const EMPTY: Self = Self(0);

    /// Adds `event`.
    pub fn insert(&mut self, event: TcpEvent) {
        self.0 |= 1 << event.index();
    }

    /// Whether `event` is in the set.
    pub fn contains(self, event: TcpEvent) -> bool {
        self.0 & (1 << event.index()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of events in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The events in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = TcpEvent> {
        let mut bits = self.0;
        std::iter::from_fn(move || {
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if let Some(e) = TcpEvent::ALL.get(i) {
                    return Some(*e);
                }
            }
            None
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitset_ops() {
        let mut s = TcpEvents::EMPTY;
        assert!(s.is_empty());
        s.insert(TcpEvent::FinSyn);
        s.insert(TcpEvent::ThreeWhsAckInWrongDir);
        s.insert(TcpEvent::FinSyn);
        assert_eq!(s.len(), 2);
        assert!(s.contains(TcpEvent::FinSyn));
        assert!(!s.contains(TcpEvent::EstInvalidAck));
        let v: Vec<TcpEvent> = s.iter().collect();
        assert_eq!(v, vec![TcpEvent::ThreeWhsAckInWrongDir, TcpEvent::FinSyn]);
    }
}
