//! Choosing each rule's fast pattern: the content its prefilter looks for.
//!
//! `fast_pattern` is honoured (with `chop`). Otherwise, following Suricata's documented
//! choice: among the rule's non-negated contents, those in the highest-priority buffer
//! (application-layer buffers before the packet payload, `http.method` after it), then the
//! longest, then the most varied (most distinct bytes), then the first. Only contents that
//! must be present for the rule to match qualify: not in a buffer with `absent: or_else`,
//! not in `base64_data` (decoded at verification time).

use tapwatch_rules::signature::{Content, Value};
use tapwatch_rules::{Absent, Buffer, Matcher, Signature};

/// A rule's fast pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FastPatternChoice {
    /// Index into the signature's buffers.
    pub buffer: usize,
    /// The literal bytes (after `chop`).
    pub bytes: Vec<u8>,
    /// `nocase`.
    pub caseless: bool,
    /// Where the literal can start in its buffer, when the content's `offset` and `depth`
    /// (or `startswith`) fix that to a range (inclusive): the content's window is absolute
    /// even when it is also relative (`distance`/`within` only narrow it).
    pub starts: Option<(usize, usize)>,
}

/// The inclusive range of start positions of the slice `[lit_off, ..)` of content `c`, when
/// its absolute window is bounded; `None` when unbounded, set by a variable, or empty.
fn literal_starts(c: &Content, lit_off: usize) -> Option<(usize, usize)> {
    let offset = match c.offset {
        None => 0,
        Some(Value::Lit(v)) => usize::try_from(v).ok()?,
        Some(Value::Var(_)) => return None,
    };
    let end = match (c.depth, c.startswith) {
        (_, true) => c.pattern.len(),
        (Some(Value::Lit(d)), false) => offset.checked_add(usize::try_from(d).ok()?)?,
        _ => return None,
    };
    let last = end.checked_sub(c.pattern.len())?;
    if last < offset {
        return None;
    }
    Some((offset.checked_add(lit_off)?, last.checked_add(lit_off)?))
}

/// Lower is preferred.
fn buffer_priority(buffer: Buffer) -> u8 {
    match buffer {
        Buffer::HttpMethod => 4,
        Buffer::Payload
        | Buffer::Ipv4Hdr
        | Buffer::Ipv6Hdr
        | Buffer::TcpHdr
        | Buffer::UdpHdr
        | Buffer::Icmpv4Hdr
        | Buffer::Icmpv6Hdr => 3,
        _ => 2,
    }
}

/// Whether a content in buffer `index` of `sig` is required for a match.
fn qualifies(sig: &Signature, index: usize) -> bool {
    sig.buffers.get(index).is_some_and(|bm| {
        bm.absent != Some(Absent::OrElse)
            && bm.absent != Some(Absent::Only)
            && bm.buffer != Buffer::Base64Data
    })
}

fn strength(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    for &b in bytes {
        if let Some(s) = seen.get_mut(usize::from(b)) {
            *s = true;
        }
    }
    seen.iter().filter(|&&s| s).count()
}

/// The rule's fast pattern, or `None` when it has no usable content (the rule is then
/// checked on every packet or transaction of its group).
pub(crate) fn choose(sig: &Signature) -> Option<FastPatternChoice> {
    if let Some(fp) = sig.fast_pattern {
        if qualifies(sig, fp.buffer) {
            let bm = sig.buffers.get(fp.buffer)?;
            if let Some(Matcher::Content(c)) = bm.matchers.get(fp.matcher) {
                if !c.negated && !c.pattern.is_empty() {
                    let (bytes, lit_off) = match fp.chop {
                        Some((off, len)) => {
                            let start = usize::from(off);
                            let end = start.saturating_add(usize::from(len));
                            let bytes = c
                                .pattern
                                .get(start..end.min(c.pattern.len()))
                                .unwrap_or(&[]);
                            (bytes, start)
                        }
                        None => (&c.pattern[..], 0),
                    };
                    if !bytes.is_empty() {
                        return Some(FastPatternChoice {
                            buffer: fp.buffer,
                            bytes: bytes.to_vec(),
                            caseless: c.nocase,
                            starts: literal_starts(c, lit_off),
                        });
                    }
                }
            }
        }
    }
    // (priority, length, strength, buffer index, content)
    type Best<'a> = (u8, usize, usize, usize, &'a Content);
    let mut best: Option<Best<'_>> = None;
    for (bi, bm) in sig.buffers.iter().enumerate() {
        if !qualifies(sig, bi) {
            continue;
        }
        let prio = buffer_priority(bm.buffer);
        for m in &bm.matchers {
            let Matcher::Content(c) = m else { continue };
            if c.negated || c.pattern.is_empty() {
                continue;
            }
            let len = c.pattern.len();
            let st = strength(&c.pattern);
            let better = match best {
                None => true,
                Some((bp, bl, bs, _, _)) => {
                    prio < bp || (prio == bp && (len > bl || (len == bl && st > bs)))
                }
            };
            if better {
                best = Some((prio, len, st, bi, c));
            }
        }
    }
    best.map(|(_, _, _, buffer, c)| FastPatternChoice {
        buffer,
        bytes: c.pattern.clone(),
        caseless: c.nocase,
        starts: literal_starts(c, 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_rules::{load_rules_text, LoadOptions, LoadReport};

    fn starts_of(options: &str) -> Option<(usize, usize)> {
        let text = format!("alert tcp any any -> any any (msg:\"t\"; {options} sid:1;)");
        let mut report = LoadReport::default();
        load_rules_text(
            "t.rules",
            &text,
            &LoadOptions::suricata_defaults(),
            &mut report,
        );
        let sig = report
            .signatures
            .first()
            .unwrap_or_else(|| panic!("{options}: {:?}", report.rejections));
        choose(sig).expect("a fast pattern").starts
    }

    #[test]
    fn a_fast_patterns_start_range_follows_offset_depth_and_chop() {
        assert_eq!(starts_of(r#"content:"ABCD";"#), None, "anywhere");
        assert_eq!(starts_of(r#"content:"ABCD"; offset:3;"#), None, "no end");
        assert_eq!(starts_of(r#"content:"ABCD"; depth:4;"#), Some((0, 0)));
        assert_eq!(
            starts_of(r#"content:"ABCD"; offset:3; depth:6;"#),
            Some((3, 5))
        );
        assert_eq!(starts_of(r#"content:"ABCD"; startswith;"#), Some((0, 0)));
        assert_eq!(
            starts_of(r#"content:"HEADERXY"; offset:1; depth:9; fast_pattern:6,2;"#),
            Some((7, 8)),
            "the chopped slice starts 6 bytes into the content"
        );
        assert_eq!(
            starts_of(r#"byte_extract:1,0,n; content:"ABCD"; depth:n;"#),
            None,
            "set by a variable"
        );
    }
}
