//! `content` and its modifiers, legacy `http_*` modifiers, `uricontent`, `pcre`, `bsize`,
//! `urilen` and `absent`.

use super::num::{num_cmp, value};
use super::{buffers, Ctx, Cursor};
use crate::parse::strings::{decode_content, unquote_negatable};
use crate::signature::*;

/// Largest offset/depth/distance/within accepted (Suricata's limit).
const MAX_POS: i64 = 65535;

/// Applies `name` when it is one of these keywords.
pub(super) fn apply(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    match name {
        "content" => {
            let c = parse_content(v)?;
            ctx.push_matcher(Matcher::Content(c));
        }
        "uricontent" => {
            let c = parse_content(v)?;
            let s = ctx.slot_for(Buffer::HttpUri, &[]);
            ctx.push_to(s, Matcher::Content(c));
        }
        "nocase" | "depth" | "offset" | "distance" | "within" | "startswith" | "endswith"
        | "rawbytes" | "fast_pattern" => modifier(ctx, name, v)?,
        "pcre" => pcre(ctx, v)?,
        "bsize" => {
            let cmp = num_cmp(v.ok_or("'bsize' needs a value")?, u64::from(u32::MAX))?;
            if matches!(ctx.cursor, Cursor::Payload) {
                return Err("'bsize' needs a sticky buffer before it".into());
            }
            ctx.push_matcher(Matcher::Bsize(cmp));
        }
        "urilen" => {
            let v = v.ok_or("'urilen' needs a value")?;
            let (cmp, kind) = match v.split_once(',') {
                Some((c, k)) => (c, k.trim()),
                None => (v, "norm"),
            };
            let buffer = match kind {
                "norm" => Buffer::HttpUri,
                "raw" => Buffer::HttpUriRaw,
                k => {
                    return Err(format!(
                        "invalid urilen option '{k}' (expected norm or raw)"
                    ))
                }
            };
            let cmp = num_cmp(cmp, u64::from(u16::MAX))?;
            let s = ctx.slot_for(buffer, &[]);
            ctx.push_to(s, Matcher::Bsize(cmp));
        }
        "absent" => {
            let kind = match v.map(str::trim) {
                None => Absent::Only,
                Some("or_else") => Absent::OrElse,
                Some(o) => return Err(format!("invalid absent option '{o}' (expected or_else)")),
            };
            if matches!(ctx.cursor, Cursor::Payload) {
                return Err("'absent' needs a sticky buffer before it".into());
            }
            let s = ctx.current_slot();
            if let Some(slot) = ctx.slots.get_mut(s) {
                if slot.absent.is_some() {
                    return Err("'absent' given twice for the same buffer".into());
                }
                slot.absent = Some(kind);
            }
        }
        _ => {
            let Some(buffer) = buffers::legacy_modifier(name) else {
                return Ok(false);
            };
            if v.is_some() {
                return Err(format!("'{name}' takes no value"));
            }
            move_last_content(ctx, name, buffer?)?;
        }
    }
    Ok(true)
}

fn parse_content(v: Option<&str>) -> Result<Content, String> {
    let v = v.ok_or("'content' needs a value")?;
    let (negated, body) = unquote_negatable(v)?;
    if !v
        .trim_start()
        .trim_start_matches('!')
        .trim_start()
        .starts_with('"')
    {
        return Err("content must be quoted".into());
    }
    let pattern = decode_content(body)?;
    Ok(Content {
        pattern,
        negated,
        nocase: false,
        offset: None,
        depth: None,
        distance: None,
        within: None,
        startswith: false,
        endswith: false,
        rawbytes: false,
    })
}

/// A legacy content modifier: moves the preceding content from the payload to `buffer`.
fn move_last_content(ctx: &mut Ctx<'_>, name: &str, buffer: Buffer) -> Result<(), String> {
    if let Cursor::Sticky { keyword, .. } = &ctx.cursor {
        return Err(format!(
            "'{name}' seen while sticky buffer '{keyword}' is set: reset it with pkt_data or use the sticky buffer '{}'",
            buffer.name()
        ));
    }
    let (s, i) = ctx
        .last_content
        .ok_or_else(|| format!("'{name}' needs a preceding content"))?;
    let from_payload = ctx
        .slots
        .get(s)
        .is_some_and(|sl| sl.buffer == Buffer::Payload && sl.transforms.is_empty());
    if !from_payload {
        return Err(format!(
            "'{name}' follows a content that is not in the payload (already in {})",
            ctx.slots.get(s).map_or("?", |sl| sl.buffer.name())
        ));
    }
    let Some(item) = ctx.slots.get_mut(s).map(|sl| sl.items.remove(i)) else {
        return Err(format!("'{name}' needs a preceding content"));
    };
    if let Matcher::Content(c) = &item.m {
        if c.rawbytes {
            return Err(format!("'rawbytes' cannot be used with '{name}'"));
        }
    }
    // Items after the moved one in the payload list shift down; only contents are tracked.
    let target = ctx.slot_for(buffer, &[]);
    if let Some(sl) = ctx.slots.get_mut(target) {
        sl.items.push(item);
        ctx.last_content = Some((target, sl.items.len() - 1));
    }
    Ok(())
}

fn last_content<'c>(ctx: &'c mut Ctx<'_>, name: &str) -> Result<&'c mut super::Item, String> {
    let (s, i) = ctx
        .last_content
        .ok_or_else(|| format!("'{name}' needs a preceding content"))?;
    // With a sticky buffer active, the content must be in that buffer.
    if let Cursor::Sticky { slot, keyword, .. } = &ctx.cursor {
        if *slot != Some(s) {
            return Err(format!(
                "'{name}' needs a preceding content in sticky buffer '{keyword}'"
            ));
        }
    } else if ctx
        .slots
        .get(s)
        .is_some_and(|sl| sl.buffer != Buffer::Payload && !is_legacy_target(sl))
    {
        return Err(format!("'{name}' needs a preceding content in the payload"));
    }
    ctx.slots
        .get_mut(s)
        .and_then(|sl| sl.items.get_mut(i))
        .ok_or_else(|| format!("'{name}' needs a preceding content"))
}

/// Contents moved by legacy modifiers (or `uricontent`) stay modifiable without a sticky
/// buffer: `content:"a"; http_uri; nocase;`.
fn is_legacy_target(sl: &super::Slot) -> bool {
    sl.transforms.is_empty()
}

fn modifier(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<(), String> {
    let fp_seen = ctx.fast_pattern_seen;
    let vars = ctx.byte_vars.clone();
    let buf = ctx
        .last_content
        .and_then(|(s, _)| ctx.slots.get(s))
        .map(|s| s.buffer);
    let item = last_content(ctx, name)?;
    let Matcher::Content(c) = &mut item.m else {
        return Err(format!("'{name}' needs a preceding content"));
    };
    let len = i64::try_from(c.pattern.len()).unwrap_or(i64::MAX);
    let no_value = |v: Option<&str>| {
        if v.is_some() {
            Err(format!("'{name}' takes no value"))
        } else {
            Ok(())
        }
    };
    let relative = c.distance.is_some() || c.within.is_some();
    let absolute = c.depth.is_some() || c.offset.is_some();
    match name {
        "nocase" => {
            no_value(v)?;
            if c.nocase {
                return Err("'nocase' given twice for the same content".into());
            }
            c.nocase = true;
        }
        "rawbytes" => {
            no_value(v)?;
            if buf != Some(Buffer::Payload) {
                return Err("'rawbytes' is only valid on packet payload contents".into());
            }
            c.rawbytes = true;
        }
        "startswith" => {
            no_value(v)?;
            if c.startswith {
                return Err("'startswith' given twice for the same content".into());
            }
            if relative || absolute {
                return Err(
                    "'startswith' cannot be mixed with depth, offset, distance or within".into(),
                );
            }
            c.startswith = true;
        }
        "endswith" => {
            no_value(v)?;
            if c.endswith {
                return Err("'endswith' given twice for the same content".into());
            }
            c.endswith = true;
        }
        "depth" | "offset" => {
            let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
            if c.startswith {
                return Err(format!("'{name}' cannot be mixed with 'startswith'"));
            }
            if relative {
                return Err(format!(
                    "'{name}' cannot be mixed with the relative keywords 'distance'/'within' on the same content"
                ));
            }
            if name == "depth" {
                if c.depth.is_some() {
                    return Err("'depth' given twice for the same content".into());
                }
                let d = value(v, &vars, 0, MAX_POS)?;
                if let Value::Lit(n) = d {
                    if n == 0 {
                        return Err("'depth' must be at least 1".into());
                    }
                    if n < len {
                        return Err(format!(
                            "depth {n} is smaller than the content's length {len}"
                        ));
                    }
                }
                c.depth = Some(d);
            } else {
                if c.offset.is_some() {
                    return Err("'offset' given twice for the same content".into());
                }
                c.offset = Some(value(v, &vars, 0, MAX_POS)?);
            }
        }
        "distance" | "within" => {
            let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
            if c.startswith {
                return Err(format!("'{name}' cannot be mixed with 'startswith'"));
            }
            if absolute {
                return Err(format!(
                    "'{name}' cannot be mixed with the absolute keywords 'depth'/'offset' on the same content"
                ));
            }
            if name == "distance" {
                if c.distance.is_some() {
                    return Err("'distance' given twice for the same content".into());
                }
                c.distance = Some(value(v, &vars, -MAX_POS, MAX_POS)?);
            } else {
                if c.within.is_some() {
                    return Err("'within' given twice for the same content".into());
                }
                let w = value(v, &vars, -MAX_POS, MAX_POS)?;
                if let Value::Lit(n) = w {
                    if n < len {
                        return Err(format!(
                            "within {n} is shorter than the content's length {len}"
                        ));
                    }
                }
                c.within = Some(w);
            }
        }
        "fast_pattern" => {
            if fp_seen {
                return Err("only one content of a rule can have 'fast_pattern'".into());
            }
            if item.fp.is_some() {
                return Err("'fast_pattern' given twice for the same content".into());
            }
            let fp = match v.map(str::trim) {
                None => (false, None),
                Some("only") => (true, None),
                Some(s) => {
                    let (o, l) = s
                        .split_once(',')
                        .ok_or_else(|| format!("invalid fast_pattern option '{s}'"))?;
                    let o = super::num::uint(o, u64::from(u16::MAX))?;
                    let l = super::num::uint(l, u64::from(u16::MAX))?;
                    let (o, l) = (
                        u16::try_from(o).unwrap_or(u16::MAX),
                        u16::try_from(l).unwrap_or(u16::MAX),
                    );
                    if l == 0 || usize::from(o) + usize::from(l) > c.pattern.len() {
                        return Err(format!(
                            "fast_pattern:{o},{l} lies outside the content (length {len})"
                        ));
                    }
                    (false, Some((o, l)))
                }
            };
            item.fp = Some(fp);
            ctx.fast_pattern_seen = true;
        }
        _ => return Err(format!("unknown content modifier '{name}'")),
    }
    Ok(())
}

/// Checks a `fast_pattern` once its content is complete.
pub(super) fn check_fast_pattern(
    c: &Content,
    only: bool,
    _chop: Option<(u16, u16)>,
) -> Result<(), String> {
    let positional = c.is_relative() || c.offset.is_some() || c.depth.is_some();
    if c.negated && positional {
        return Err(
            "'fast_pattern' cannot be used on a negated content with distance, within, offset or depth"
                .into(),
        );
    }
    if only && positional {
        return Err(
            "'fast_pattern:only' cannot be used with distance, within, offset or depth".into(),
        );
    }
    Ok(())
}

/// Rejects a `bsize` no buffer could satisfy given the contents that must be in it.
pub(super) fn check_bsize(buffer: Buffer, matchers: &[Matcher]) -> Result<(), String> {
    let longest = matchers
        .iter()
        .filter_map(|m| match m {
            Matcher::Content(c) if !c.negated => Some(c.pattern.len() as u64),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    for m in matchers {
        if let Matcher::Bsize(cmp) = m {
            let max = match *cmp {
                NumCmp::Eq(n) | NumCmp::Le(n) => Some(n),
                NumCmp::Lt(n) => Some(n.saturating_sub(1)),
                NumCmp::Between(_, b) => Some(b.saturating_sub(1)),
                _ => None,
            };
            if let Some(max) = max {
                if longest > max {
                    return Err(format!(
                        "bsize on {} can never match: a content of {longest} bytes must be in a buffer of at most {max}",
                        buffer.name()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn pcre(ctx: &mut Ctx<'_>, v: Option<&str>) -> Result<(), String> {
    let v = v.ok_or("'pcre' needs a value")?;
    let (negated, body) = unquote_negatable(v)?;
    let body = body.trim();
    let rest = body
        .strip_prefix('/')
        .ok_or("pcre must be of the form \"/regex/flags\"")?;
    let end = rest
        .rfind('/')
        .ok_or("pcre must be of the form \"/regex/flags\" (missing closing '/')")?;
    let (pattern, flags) = (
        rest.get(..end).unwrap_or(""),
        rest.get(end + 1..).unwrap_or(""),
    );
    if pattern.is_empty() {
        return Err("empty pcre".into());
    }
    let mut p = Pcre {
        pattern: unescape_pcre(pattern),
        negated,
        caseless: false,
        multiline: false,
        dotall: false,
        extended: false,
        anchored: false,
        dollar_endonly: false,
        ungreedy: false,
        relative: false,
        override_limits: false,
    };
    let mut buffer: Option<(Buffer, char)> = None;
    for f in flags.chars() {
        let b = match f {
            'i' => set(&mut p.caseless, f)?,
            'm' => set(&mut p.multiline, f)?,
            's' => set(&mut p.dotall, f)?,
            'x' => set(&mut p.extended, f)?,
            'A' => set(&mut p.anchored, f)?,
            'E' => set(&mut p.dollar_endonly, f)?,
            'G' => set(&mut p.ungreedy, f)?,
            'R' => set(&mut p.relative, f)?,
            'O' => set(&mut p.override_limits, f)?,
            'B' => None,
            'U' => Some(Buffer::HttpUri),
            'I' => Some(Buffer::HttpUriRaw),
            'H' => Some(Buffer::HttpHeader),
            'D' => Some(Buffer::HttpHeaderRaw),
            'M' => Some(Buffer::HttpMethod),
            'C' => Some(Buffer::HttpCookie),
            'P' => Some(Buffer::HttpRequestBody),
            'Q' => Some(Buffer::FileData),
            'S' => Some(Buffer::HttpStatCode),
            'Y' => Some(Buffer::HttpStatMsg),
            'V' => Some(Buffer::HttpUserAgent),
            'W' => Some(Buffer::HttpHost),
            'Z' => Some(Buffer::HttpHostRaw),
            'K' => {
                return Err(
                    "buffer not supported: pcre flag 'K' (raw cookie) has no tapwatch buffer"
                        .into(),
                )
            }
            _ => return Err(format!("unknown pcre flag '{f}'")),
        };
        if let Some(b) = b {
            if let Some((prev, pf)) = buffer {
                if prev != b {
                    return Err(format!(
                        "pcre flags '{pf}' and '{f}' select different buffers"
                    ));
                }
            }
            buffer = Some((b, f));
        }
    }
    let m = Matcher::Pcre(p);
    match buffer {
        None => {
            ctx.push_matcher(m);
        }
        Some((b, f)) => {
            if let Cursor::Sticky {
                buffer: sb,
                keyword,
                transforms,
                ..
            } = &ctx.cursor
            {
                // In HTTP, file.data is the response body: `/Q` fits http.response_body too.
                let same = *sb == b || (b == Buffer::FileData && *sb == Buffer::HttpResponseBody);
                if !same || !transforms.is_empty() {
                    return Err(format!(
                        "pcre flag '{f}' ({}) used while sticky buffer '{keyword}' is set",
                        b.name()
                    ));
                }
                ctx.push_matcher(m);
            } else {
                let s = ctx.slot_for(b, &[]);
                ctx.push_to(s, m);
            }
        }
    }
    Ok(())
}

fn set(flag: &mut bool, f: char) -> Result<Option<Buffer>, String> {
    if *flag {
        return Err(format!("pcre flag '{f}' given twice"));
    }
    *flag = true;
    Ok(None)
}

/// Resolves `\;` and `\"` (the rule language's escapes) and keeps every other escape for PCRE.
fn unescape_pcre(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some(&n @ (';' | '"')) => {
                    out.push(n);
                    chars.next();
                }
                Some(&n) => {
                    out.push('\\');
                    out.push(n);
                    chars.next();
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}
