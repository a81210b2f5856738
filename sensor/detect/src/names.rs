//! The numbers the engine gives the names of flowbits, flowints and xbits, kept from one
//! engine to the next.
//!
//! Flows and hosts store their variables by number (a flow's set bits are a short list of
//! `u32`s, compared without hashing a string). The numbers are given by name, in the order
//! the names are first seen, and a rule reload builds the new engine from the running one's
//! [`StateNames`]: a name keeps its number, new names get new ones, and a flowbit set before
//! the swap means the same to the rules after it. Names that no rule uses any more keep their
//! numbers too (so that a later reload that brings them back finds the flows' bits); the
//! list grows only by the distinct names rule sets have used, a few thousand with ET Open.

use std::collections::HashMap;

/// One kind of variable's names and their numbers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The number of `name`, given now if the name is new.
    pub(crate) fn id(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(name.to_owned(), id);
        self.names.push(name.to_owned());
        id
    }

    /// The names, by number.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }
}

/// The numbers of the flowbit, flowint and xbit names of an engine and of every engine it was
/// built after ([`Engine::state_names`](crate::Engine::state_names),
/// [`Engine::build_after`](crate::Engine::build_after)).
#[derive(Debug, Clone, Default)]
pub struct StateNames {
    pub(crate) bits: Interner,
    pub(crate) ints: Interner,
    pub(crate) xbits: Interner,
}

impl StateNames {
    /// Names known (flowbits, flowints, xbits).
    pub fn len(&self) -> (usize, usize, usize) {
        (
            self.bits.names.len(),
            self.ints.names.len(),
            self.xbits.names.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_keeps_its_number_and_new_names_come_after() {
        let mut first = Interner::default();
        assert_eq!((first.id("a"), first.id("b"), first.id("a")), (0, 1, 0));
        let mut next = first.clone();
        assert_eq!((next.id("c"), next.id("b"), next.id("a")), (2, 1, 0));
        assert_eq!(next.names(), ["a", "b", "c"]);
    }
}
