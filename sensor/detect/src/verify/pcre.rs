//! `pcre`: compiled with PCRE2 (JIT when available), with Suricata's flags and limits.
//!
//! The safe `pcre2` API exposes `i m s x` as compile options; the others are written into
//! the pattern: PCRE2's start-of-pattern settings `(*LIMIT_MATCH=N)(*LIMIT_DEPTH=N)` for the
//! limits, `(?U)` for `G` (ungreedy), `\G(?:...)` for `A` (anchored at the start of the
//! inspected data: the buffer start, or the cursor with `R`), and `$` → `\z` outside
//! character classes for `E` (ignored with `m`, as PCRE2 does). A relative (`R`) expression
//! is run on the data from the cursor on, so `^` anchors there and the expression cannot
//! look behind the cursor.

use pcre2::bytes::{Regex, RegexBuilder};
use tapwatch_rules::signature::Pcre;

use super::CompileError;

/// PCRE2 match limit (Suricata's default `pcre.match-limit`).
pub const MATCH_LIMIT: u32 = 3_500;
/// PCRE2 depth limit (Suricata's default `pcre.match-limit-recursion`; the JIT ignores it).
pub const DEPTH_LIMIT: u32 = 1_500;

/// A compiled `pcre`.
#[derive(Debug)]
pub(super) struct CompiledPcre {
    regex: Regex,
    pub(super) negated: bool,
    pub(super) relative: bool,
    pub(super) anchored: bool,
}

impl CompiledPcre {
    pub(super) fn compile(p: &Pcre) -> Result<Self, CompileError> {
        let flags = Flags {
            caseless: p.caseless,
            multiline: p.multiline,
            dotall: p.dotall,
            extended: p.extended,
            anchored: p.anchored,
            dollar_endonly: p.dollar_endonly,
            ungreedy: p.ungreedy,
        };
        let regex = build(&p.pattern, flags).map_err(|reason| CompileError {
            keyword: "pcre",
            reason,
        })?;
        Ok(Self {
            regex,
            negated: p.negated,
            relative: p.relative,
            anchored: p.anchored,
        })
    }

    /// The first match starting at or after `from`, as `(start, end)`. A PCRE2 error
    /// (limit reached) counts as no match.
    pub(super) fn find_at(&self, subject: &[u8], from: usize) -> Option<(usize, usize)> {
        if from > subject.len() {
            return None;
        }
        match self.regex.find_at(subject, from) {
            Ok(Some(m)) => Some((m.start(), m.end())),
            _ => None,
        }
    }
}

/// The PCRE flags of a `pcre` (Suricata's own `R` and buffer flags are not PCRE's).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flags {
    /// `i`
    pub(super) caseless: bool,
    /// `m`
    pub(super) multiline: bool,
    /// `s`
    pub(super) dotall: bool,
    /// `x`
    pub(super) extended: bool,
    /// `A`
    pub(super) anchored: bool,
    /// `E`
    pub(super) dollar_endonly: bool,
    /// `G`
    pub(super) ungreedy: bool,
}

/// Compiles `pattern` with Suricata's flags and limits. Also used by `pcrexform`.
pub(super) fn build(pattern: &str, f: Flags) -> Result<Regex, String> {
    let text = rewrite(
        pattern,
        f.extended,
        f.anchored,
        f.dollar_endonly && !f.multiline,
        f.ungreedy,
    );
    RegexBuilder::new()
        .caseless(f.caseless)
        .multi_line(f.multiline)
        .dotall(f.dotall)
        .extended(f.extended)
        .jit_if_available(true)
        .build(&text)
        .map_err(|e| e.to_string())
}

/// The pattern text with the limits and the flags the builder lacks written in.
fn rewrite(
    pattern: &str,
    extended: bool,
    anchored: bool,
    dollar_endonly: bool,
    ungreedy: bool,
) -> String {
    // The pattern's own start-of-pattern settings `(*...)` must stay first.
    let mut verbs_end = 0;
    while pattern[verbs_end..].starts_with("(*") {
        match pattern[verbs_end..].find(')') {
            Some(close) => verbs_end += close + 1,
            None => break,
        }
    }
    let (verbs, body) = pattern.split_at(verbs_end);
    let body = if dollar_endonly {
        dollar_to_end(body)
    } else {
        body.to_owned()
    };
    let mut out = format!("(*LIMIT_MATCH={MATCH_LIMIT})(*LIMIT_DEPTH={DEPTH_LIMIT}){verbs}");
    if ungreedy {
        out.push_str("(?U)");
    }
    if anchored {
        out.push_str("\\G(?:");
        out.push_str(&body);
        // In extended mode a trailing `#` comment would swallow the closing parenthesis.
        out.push_str(if extended { "\n)" } else { ")" });
    } else {
        out.push_str(&body);
    }
    out
}

/// Replaces every `$` metacharacter (outside classes, escapes and `\Q..\E`) with `\z`.
fn dollar_to_end(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4);
    let mut chars = body.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            out.push(c);
            if c == '\\' && chars.peek() == Some(&'E') {
                out.push('E');
                chars.next();
                quoted = false;
            }
            continue;
        }
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                    if n == 'Q' {
                        quoted = true;
                    }
                }
                class_start = false;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                continue;
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // POSIX class `[:alpha:]` inside a class.
                out.push(c);
                for n in chars.by_ref() {
                    out.push(n);
                    if n == ']' {
                        break;
                    }
                }
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(c);
            }
            '$' if !in_class => out.push_str("\\z"),
            _ => out.push(c),
        }
        class_start = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollar_is_rewritten_only_as_a_metacharacter() {
        assert_eq!(dollar_to_end("a$"), "a\\z");
        assert_eq!(dollar_to_end("a\\$[$]"), "a\\$[$]");
        assert_eq!(dollar_to_end("[]$]$"), "[]$]\\z");
        assert_eq!(dollar_to_end("\\Q$\\E$"), "\\Q$\\E\\z");
        assert_eq!(dollar_to_end("[[:alpha:]$]$"), "[[:alpha:]$]\\z");
    }

    #[test]
    fn leading_settings_stay_first() {
        let r = rewrite("(*UCP)ab", false, true, false, true);
        assert_eq!(
            r,
            "(*LIMIT_MATCH=3500)(*LIMIT_DEPTH=1500)(*UCP)(?U)\\G(?:ab)"
        );
    }
}
