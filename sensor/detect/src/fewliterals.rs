//! Databases of very few literals, searched without Hyperscan.
//!
//! An HTTP transaction is prefiltered against some twenty databases, one per buffer; many
//! hold one to four literals (`http.accept_enc`, `http.header.raw`, `http.content_type`,
//! `http.stat_code`, ...) and their buffers are a few dozen bytes. A Hyperscan call costs
//! ~150 ns there, mostly fixed (scratch, a cold database); a direct search for so few
//! literals costs a fraction of it. The result is the same: each literal found anywhere in
//! the buffer reports its id once, as a Hyperscan database compiled with `SINGLEMATCH`.

use memchr::memmem;

use crate::verify::find_folded;

/// Databases of at most this many literals are searched directly.
pub(crate) const MAX_LITERALS: usize = 4;

#[derive(Debug)]
enum Finder {
    /// Exact bytes.
    Exact(Box<memmem::Finder<'static>>),
    /// ASCII case-insensitive: the literal lower-cased, with at least one letter.
    Folded(Vec<u8>),
}

/// The literals of one small database, each with its id.
#[derive(Debug)]
pub(crate) struct FewLiterals {
    finders: Vec<(Finder, u32)>,
}

impl FewLiterals {
    /// The searcher for `literals` (bytes, caseless) with ids `0..`, or `None` when there are
    /// more than [`MAX_LITERALS`] (or none, or an empty one).
    pub(crate) fn new(literals: &[(Vec<u8>, bool)]) -> Option<Self> {
        if literals.is_empty() || literals.len() > MAX_LITERALS {
            return None;
        }
        let finders = literals
            .iter()
            .enumerate()
            .map(|(id, (bytes, caseless))| {
                if bytes.is_empty() {
                    return None;
                }
                let finder = if *caseless && bytes.iter().any(u8::is_ascii_alphabetic) {
                    Finder::Folded(bytes.to_ascii_lowercase())
                } else {
                    Finder::Exact(Box::new(memmem::Finder::new(bytes).into_owned()))
                };
                Some((finder, u32::try_from(id).ok()?))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { finders })
    }

    /// Calls `on_match(id)` once for every literal found in `data`.
    pub(crate) fn scan(&self, data: &[u8], mut on_match: impl FnMut(u32)) {
        for (finder, id) in &self.finders {
            let found = match finder {
                Finder::Exact(f) => f.find(data).is_some(),
                Finder::Folded(lit) => find_folded(data, lit).is_some(),
            };
            if found {
                on_match(*id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(f: &FewLiterals, data: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        f.scan(data, |id| out.push(id));
        out
    }

    #[test]
    fn only_small_sets_of_non_empty_literals() {
        assert!(FewLiterals::new(&[]).is_none());
        assert!(FewLiterals::new(&[(Vec::new(), false)]).is_none());
        let five: Vec<(Vec<u8>, bool)> = (0..5).map(|i| (vec![b'a' + i], false)).collect();
        assert!(FewLiterals::new(&five).is_none());
        assert!(FewLiterals::new(&five[..4]).is_some());
    }

    #[test]
    fn each_literal_found_anywhere_reports_once() {
        let f = FewLiterals::new(&[
            (b"gzip".to_vec(), false),
            (b"Deflate".to_vec(), true),
            (b"\x00\x01".to_vec(), true),
        ])
        .unwrap();
        assert_eq!(ids(&f, b"gzip, gzip, deflate"), vec![0, 1]);
        assert_eq!(ids(&f, b"GZIP, DEFLATE"), vec![1], "gzip is case-sensitive");
        assert_eq!(ids(&f, b"x\x00\x01"), vec![2]);
        assert_eq!(ids(&f, b"deflat"), Vec::<u32>::new());
        assert_eq!(ids(&f, b""), Vec::<u32>::new());
        // A folded match must not run past the end.
        assert_eq!(ids(&f, b"xxxxxDEFLAT"), Vec::<u32>::new());
        assert_eq!(ids(&f, b"xxxxxDEFLATe"), vec![1]);
    }
}
