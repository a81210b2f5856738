//! Physical lines into logical rules: comments, blank lines, CRLF and `\` continuations.

use crate::ast::Pos;

/// The text of one rule with continuations joined, and where each piece came from.
pub(crate) struct Source {
    /// The joined text.
    pub text: String,
    /// (offset in `text`, line, column of that byte in the original).
    segs: Vec<(usize, u32, u32)>,
}

impl Source {
    /// Joins lines ending in `\` (the backslash and line break are dropped).
    pub fn join(input: &str) -> Self {
        let mut text = String::with_capacity(input.len());
        let mut segs = Vec::with_capacity(1);
        let mut line = 1u32;
        let mut rest = input;
        let mut col = 1u32;
        loop {
            let (phys, next) = match rest.find('\n') {
                Some(n) => (&rest[..n], Some(&rest[n + 1..])),
                None => (rest, None),
            };
            let phys = phys.strip_suffix('\r').unwrap_or(phys);
            segs.push((text.len(), line, col));
            match phys.strip_suffix('\\') {
                Some(body) if next.is_some() => text.push_str(body),
                _ => {
                    text.push_str(phys);
                    // A line break that is not a continuation ends the rule text; what
                    // follows is kept (as white space and text) so the parser can complain.
                    if let Some(n) = next {
                        if !n.is_empty() {
                            text.push(' ');
                        }
                    }
                }
            }
            match next {
                Some(n) => {
                    rest = n;
                    line = line.saturating_add(1);
                    col = 1;
                }
                None => break,
            }
        }
        Self { text, segs }
    }

    /// The original position of byte `offset` of the joined text.
    pub fn pos(&self, offset: usize) -> Pos {
        let idx = self
            .segs
            .partition_point(|&(start, _, _)| start <= offset)
            .saturating_sub(1);
        let (start, line, col) = self.segs.get(idx).copied().unwrap_or((0, 1, 1));
        let delta = u32::try_from(offset.saturating_sub(start)).unwrap_or(u32::MAX);
        Pos {
            line,
            column: col.saturating_add(delta),
        }
    }
}

/// One item of a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A rule: its text (continuation lines included) and its first line (1-based).
    Rule {
        /// The text from the start of the rule's first line to the end of its last line.
        text: &'a str,
        /// First line.
        line: u32,
    },
    /// A commented-out rule (`# alert ...`) at this line.
    Disabled {
        /// Line.
        line: u32,
    },
}

const ACTIONS: [&str; 7] = [
    "alert",
    "pass",
    "drop",
    "reject",
    "rejectsrc",
    "rejectdst",
    "rejectboth",
];

fn is_disabled_rule(comment: &str) -> bool {
    let body = comment.trim_start_matches('#').trim_start();
    ACTIONS.iter().any(|a| {
        body.strip_prefix(a)
            .is_some_and(|r| r.starts_with([' ', '\t']) && r.contains('('))
    })
}

/// Splits a rule file into rules and commented-out rules; blank lines and other comments are
/// skipped.
pub fn split_rules(text: &str) -> impl Iterator<Item = Item<'_>> + '_ {
    let mut offset = 0usize;
    let mut line = 0u32;
    std::iter::from_fn(move || loop {
        if offset >= text.len() {
            return None;
        }
        let rest = text.get(offset..)?;
        let (phys_len, adv) = match rest.find('\n') {
            Some(n) => (n, n + 1),
            None => (rest.len(), rest.len()),
        };
        let phys = rest.get(..phys_len)?;
        line = line.saturating_add(1);
        let start_line = line;
        let trimmed = phys.trim();
        if trimmed.is_empty() {
            offset += adv;
            continue;
        }
        if trimmed.starts_with('#') {
            offset += adv;
            if is_disabled_rule(trimmed) {
                return Some(Item::Disabled { line: start_line });
            }
            continue;
        }
        // A rule: extend over continuation lines. Its text starts at the line's start so that
        // columns in errors are the file's columns.
        let start = offset;
        let mut end = offset + phys_len;
        let mut cur = phys;
        offset += adv;
        while cur.trim_end_matches('\r').ends_with('\\') && offset < text.len() {
            let rest = text.get(offset..)?;
            let (len, adv) = match rest.find('\n') {
                Some(n) => (n, n + 1),
                None => (rest.len(), rest.len()),
            };
            cur = rest.get(..len)?;
            line = line.saturating_add(1);
            end = offset + len;
            offset += adv;
        }
        let body = text.get(start..end)?;
        return Some(Item::Rule {
            text: body.trim_end(),
            line: start_line,
        });
    })
}
