//! `content` with its modifiers: the search window and the (case-folding) search.
//!
//! Window rules, as Suricata documents them:
//! - `offset` and `depth` are absolute; `depth` counts from `offset` (`offset:3; depth:3;`
//!   looks at bytes 3..6), and the whole pattern must fit.
//! - `distance` and `within` count from the cursor (the end of the previous match); the
//!   search starts at `cursor + distance` (clamped to the buffer start when a negative
//!   distance goes before it) and the match must end by `cursor + distance + within`.
//! - `startswith` is `depth` = pattern length at offset 0; `endswith` requires the match to
//!   end at the buffer's end.
//! - `nocase` folds ASCII letters only.

use memchr::memmem;
use tapwatch_rules::signature::{Content, Value};

use super::MatchContext;

/// A content prepared for searching.
#[derive(Debug)]
pub(super) struct CompiledContent {
    /// The pattern; lower-cased when `nocase`.
    pattern: Vec<u8>,
    finder: memmem::Finder<'static>,
    /// `nocase` and the pattern has letters (otherwise the exact finder is used).
    fold: bool,
    pub(super) negated: bool,
    offset: Option<Value>,
    depth: Option<Value>,
    distance: Option<Value>,
    within: Option<Value>,
    startswith: bool,
    endswith: bool,
}

impl CompiledContent {
    pub(super) fn new(c: &Content) -> Self {
        let fold = c.nocase && c.pattern.iter().any(u8::is_ascii_alphabetic);
        let pattern = if fold {
            c.pattern.to_ascii_lowercase()
        } else {
            c.pattern.clone()
        };
        let finder = memmem::Finder::new(&pattern).into_owned();
        Self {
            pattern,
            finder,
            fold,
            negated: c.negated,
            offset: c.offset,
            depth: c.depth,
            distance: c.distance,
            within: c.within,
            startswith: c.startswith,
            endswith: c.endswith,
        }
    }

    /// Pattern length.
    pub(super) fn len(&self) -> usize {
        self.pattern.len()
    }

    /// Whether the window depends on the cursor.
    pub(super) fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }

    /// A non-negated content relative by `distance` only (no `within`), without variables:
    /// its search runs from the cursor to an end that does not depend on the cursor.
    pub(super) fn is_distance_only(&self) -> bool {
        !self.negated && self.distance.is_some() && self.within.is_none() && !self.uses_vars()
    }

    /// Whether a modifier is a `byte_extract` variable.
    pub(super) fn uses_vars(&self) -> bool {
        [self.offset, self.depth, self.distance, self.within]
            .iter()
            .any(|v| matches!(v, Some(Value::Var(_))))
    }

    /// The window `[start, end)` the whole match must lie in, or `None` when the pattern
    /// cannot fit (or a variable is unset).
    pub(super) fn window(
        &self,
        len: usize,
        cursor: usize,
        ctx: &MatchContext,
    ) -> Option<(usize, usize)> {
        let len = len as i128;
        let cursor = cursor as i128;
        let mut start: i128 = 0;
        let mut end: i128 = len;
        let offset = match self.offset {
            Some(v) => i128::from(ctx.value(v)?),
            None => 0,
        };
        start = start.max(offset);
        if let Some(d) = self.depth {
            end = end.min(offset + i128::from(ctx.value(d)?));
        }
        if self.is_relative() {
            let distance = match self.distance {
                Some(v) => i128::from(ctx.value(v)?),
                None => 0,
            };
            start = start.max(cursor + distance);
            if let Some(w) = self.within {
                end = end.min(cursor + distance + i128::from(ctx.value(w)?));
            }
        }
        if self.startswith {
            end = end.min(self.pattern.len() as i128);
        }
        let start = start.max(0);
        if end - start < self.pattern.len() as i128 {
            return None;
        }
        // Both fit in usize: 0 <= start <= end <= len.
        Some((start as usize, end as usize))
    }

    /// The first match starting at or after `from` and ending by `end`.
    pub(super) fn find(&self, data: &[u8], from: usize, end: usize) -> Option<usize> {
        let plen = self.pattern.len();
        if end > data.len() || from > end || end - from < plen {
            return None;
        }
        if self.endswith {
            // Only one place can end at the buffer's end.
            let pos = data.len().checked_sub(plen)?;
            return (pos >= from && pos + plen <= end && self.is_at(data, pos)).then_some(pos);
        }
        let hay = &data[from..end];
        let found = if self.fold {
            find_folded(hay, &self.pattern)
        } else {
            self.finder.find(hay)
        };
        found.map(|p| from + p)
    }

    fn is_at(&self, data: &[u8], pos: usize) -> bool {
        let Some(window) = data.get(pos..pos + self.pattern.len()) else {
            return false;
        };
        if self.fold {
            window.eq_ignore_ascii_case(&self.pattern)
        } else {
            window == self.pattern.as_slice()
        }
    }
}

/// ASCII case-insensitive search for a lower-case `pattern` with at least one letter.
pub(crate) fn find_folded(hay: &[u8], pattern: &[u8]) -> Option<usize> {
    let plen = pattern.len();
    let (&first, rest) = pattern.split_first()?;
    let last_start = hay.len().checked_sub(plen)?;
    let candidates = &hay[..=last_start];
    let upper = first.to_ascii_uppercase();
    let mut at = 0;
    while at < candidates.len() {
        let p = at + memchr::memchr2(first, upper, &candidates[at..])?;
        if hay[p + 1..p + plen].eq_ignore_ascii_case(rest) {
            return Some(p);
        }
        at = p + 1;
    }
    None
}
