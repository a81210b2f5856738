//! Choosing each rule's fast pattern: the content its prefilter looks for.
//!
//! `fast_pattern` is honoured (with `chop`). Otherwise, following Suricata's documented
//! choice: among the rule's non-negated contents, those in the highest-priority buffer
//! (application-layer buffers before the packet payload, `http.method` after it), then the
//! longest, then the most varied (most distinct bytes), then the first. Only contents that
//! must be present for the rule to match qualify: not in a buffer with `absent: or_else`,
//! not in `base64_data` (decoded at verification time).

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
                    let bytes = match fp.chop {
                        Some((off, len)) => {
                            let start = usize::from(off);
                            let end = start.saturating_add(usize::from(len));
                            c.pattern
                                .get(start..end.min(c.pattern.len()))
                                .unwrap_or(&[])
                        }
                        None => &c.pattern[..],
                    };
                    if !bytes.is_empty() {
                        return Some(FastPatternChoice {
                            buffer: fp.buffer,
                            bytes: bytes.to_vec(),
                            caseless: c.nocase,
                        });
                    }
                }
            }
        }
    }
    // (priority, length, strength, buffer index, bytes, nocase)
    type Best<'a> = (u8, usize, usize, usize, &'a [u8], bool);
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
                Some((bp, bl, bs, _, _, _)) => {
                    prio < bp || (prio == bp && (len > bl || (len == bl && st > bs)))
                }
            };
            if better {
                best = Some((prio, len, st, bi, &c.pattern, c.nocase));
            }
        }
    }
    best.map(|(_, _, _, buffer, bytes, caseless)| FastPatternChoice {
        buffer,
        bytes: bytes.to_vec(),
        caseless,
    })
}
