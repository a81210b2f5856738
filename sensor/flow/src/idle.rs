//! Idle lists: intrusive doubly linked lists over table slot indices.
//!
//! The table keeps one list per (protocol family, flow state). Every packet moves its flow to
//! the tail of its list, so each list is ordered by last activity, and since all flows of one
//! list share one timeout, also by deadline: expiry pops heads until a head is not due, and
//! eviction compares the heads only. Nothing here allocates except growing the link array
//! alongside the table's slots.

/// "No slot".
const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    /// The list this slot is on, or `None`.
    list: Option<u8>,
}

const UNLINKED: Link = Link {
    prev: NIL,
    next: NIL,
    list: None,
};

/// A fixed number of lists over slot indices `0..len`.
#[derive(Debug, Clone)]
pub(crate) struct IdleLists<const N: usize> {
    heads: [u32; N],
    tails: [u32; N],
    links: Vec<Link>,
}

impl<const N: usize> IdleLists<N> {
    pub(crate) fn new() -> Self {
        Self {
            heads: [NIL; N],
            tails: [NIL; N],
            links: Vec::new(),
        }
    }

    /// Makes room for slot indices below `len`.
    pub(crate) fn ensure_len(&mut self, len: usize) {
        if self.links.len() < len {
            self.links.resize(len, UNLINKED);
        }
    }

    /// The oldest slot of `list`.
    pub(crate) fn head(&self, list: usize) -> Option<u32> {
        self.heads.get(list).copied().filter(|&h| h != NIL)
    }

    /// Moves `slot` to the tail of `list` (unlinking it from wherever it was).
    pub(crate) fn push_back(&mut self, slot: u32, list: usize) {
        self.remove(slot);
        let (Some(tail), Ok(list_id)) = (self.tails.get(list).copied(), u8::try_from(list)) else {
            return;
        };
        let Some(link) = self.links.get_mut(slot as usize) else {
            return;
        };
        *link = Link {
            prev: tail,
            next: NIL,
            list: Some(list_id),
        };
        match self.links.get_mut(tail as usize) {
            Some(prev) => prev.next = slot,
            None => {
                if let Some(h) = self.heads.get_mut(list) {
                    *h = slot;
                }
            }
        }
        if let Some(t) = self.tails.get_mut(list) {
            *t = slot;
        }
    }

    /// Unlinks `slot` from its list, if on one.
    pub(crate) fn remove(&mut self, slot: u32) {
        let Some(link) = self.links.get(slot as usize).copied() else {
            return;
        };
        let Some(list) = link.list.map(usize::from) else {
            return;
        };
        match self.links.get_mut(link.prev as usize) {
            Some(p) => p.next = link.next,
            None => {
                if let Some(h) = self.heads.get_mut(list) {
                    *h = link.next;
                }
            }
        }
        match self.links.get_mut(link.next as usize) {
            Some(n) => n.prev = link.prev,
            None => {
                if let Some(t) = self.tails.get_mut(list) {
                    *t = link.prev;
                }
            }
        }
        if let Some(l) = self.links.get_mut(slot as usize) {
            *l = UNLINKED;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect<const N: usize>(l: &IdleLists<N>, list: usize) -> Vec<u32> {
        let mut out = Vec::new();
        let mut cur = l.head(list);
        while let Some(c) = cur {
            out.push(c);
            cur = l
                .links
                .get(c as usize)
                .map(|k| k.next)
                .filter(|&n| n != NIL);
        }
        out
    }

    #[test]
    fn push_move_remove() {
        let mut l = IdleLists::<2>::new();
        l.ensure_len(5);
        l.push_back(0, 0);
        l.push_back(1, 0);
        l.push_back(2, 0);
        l.push_back(3, 1);
        assert_eq!(collect(&l, 0), vec![0, 1, 2]);
        l.push_back(0, 0); // touch: to the tail
        assert_eq!(collect(&l, 0), vec![1, 2, 0]);
        l.push_back(2, 1); // move to another list
        assert_eq!(collect(&l, 0), vec![1, 0]);
        assert_eq!(collect(&l, 1), vec![3, 2]);
        l.remove(1);
        l.remove(1); // twice is harmless
        assert_eq!(collect(&l, 0), vec![0]);
        l.remove(0);
        assert_eq!(l.head(0), None);
        assert_eq!(l.head(1), Some(3));
        // Out-of-range slots and lists are ignored.
        l.push_back(99, 0);
        l.push_back(4, 7);
        assert_eq!(l.head(0), None);
    }
}
