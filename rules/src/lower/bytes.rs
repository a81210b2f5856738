//! `byte_test`, `byte_jump`, `byte_extract`, `isdataat` and `base64_decode`.

use super::num::{int, uint, value};
use super::Ctx;
use crate::signature::*;

/// Largest offset accepted.
const MAX_OFF: i64 = 65535;

/// Applies `name` when it is one of these keywords.
pub(super) fn apply(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    let (m, follows_content) = match name {
        "byte_test" => {
            let b = byte_test(ctx, need(name, v)?)?;
            let r = b.relative;
            (Matcher::ByteTest(b), r)
        }
        "byte_jump" => {
            let b = byte_jump(ctx, need(name, v)?)?;
            let r = b.relative;
            (Matcher::ByteJump(b), r)
        }
        "byte_extract" => {
            let b = byte_extract(ctx, need(name, v)?)?;
            ctx.byte_vars.push(b.name.clone());
            let r = b.relative;
            (Matcher::ByteExtract(b), r)
        }
        "isdataat" => {
            let d = isdataat(ctx, need(name, v)?)?;
            let r = d.relative;
            (Matcher::IsDataAt(d), r)
        }
        "base64_decode" => {
            ctx.base64_decode_seen = true;
            (Matcher::Base64Decode(base64_decode(v)?), true)
        }
        _ => return Ok(false),
    };
    match follows_content.then(|| legacy_content_slot(ctx)).flatten() {
        Some(s) => {
            ctx.push_to(s, m);
        }
        None => {
            ctx.push_matcher(m);
        }
    }
    Ok(true)
}

/// Without a sticky buffer, a relative keyword (and `base64_decode`, relative or not) goes to
/// the buffer of the preceding content, as in Suricata: after `content:"a"; http_uri;` it
/// inspects http.uri, not the payload. `None` when the payload (or a sticky buffer) applies.
fn legacy_content_slot(ctx: &Ctx<'_>) -> Option<usize> {
    if !matches!(ctx.cursor, super::Cursor::Payload) {
        return None;
    }
    let (s, _) = ctx.last_content?;
    let slot = ctx.slots.get(s)?;
    (slot.buffer != Buffer::Payload && slot.transforms.is_empty()).then_some(s)
}

fn need<'v>(name: &str, v: Option<&'v str>) -> Result<&'v str, String> {
    v.filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("'{name}' needs a value"))
}

/// Options shared by the byte keywords.
#[derive(Default)]
struct Common {
    relative: bool,
    endian: Option<Endian>,
    string: Option<NumBase>,
    string_flag: bool,
    bitmask: Option<u64>,
    multiplier: Option<u32>,
}

impl Common {
    /// Takes one shared option; `Ok(false)` when `opt` is not one.
    fn take(&mut self, opt: &str) -> Result<bool, String> {
        let set_endian = |e: &mut Option<Endian>, v: Endian| {
            if e.is_some() {
                return Err("byte order given twice".to_string());
            }
            *e = Some(v);
            Ok(true)
        };
        match opt {
            "relative" => self.relative = true,
            "big" => return set_endian(&mut self.endian, Endian::Big),
            "little" => return set_endian(&mut self.endian, Endian::Little),
            "dce" => return set_endian(&mut self.endian, Endian::Dce),
            "string" => self.string_flag = true,
            "hex" => self.string = Some(NumBase::Hex),
            "dec" => self.string = Some(NumBase::Dec),
            "oct" => self.string = Some(NumBase::Oct),
            _ => {
                if let Some(m) = opt.strip_prefix("bitmask") {
                    let m = m.trim();
                    let v =
                        if let Some(h) = m.strip_prefix("0x").or_else(|| m.strip_prefix("0X")) {
                            u64::from_str_radix(h, 16)
                        } else {
                            m.parse()
                        }
                        .map_err(|_| format!("invalid bitmask '{m}'"))?;
                    if v == 0 {
                        return Err("bitmask must not be 0".into());
                    }
                    self.bitmask = Some(v);
                } else if let Some(m) = opt.strip_prefix("multiplier") {
                    let n = uint(m, 65535)?;
                    if n == 0 {
                        return Err("multiplier must be at least 1".into());
                    }
                    self.multiplier = u32::try_from(n).ok();
                } else {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// The number base: `string` with an optional base (decimal by default); a base without
    /// `string` is an error.
    fn base(&self) -> Result<Option<NumBase>, String> {
        match (self.string_flag, self.string) {
            (true, b) => Ok(Some(b.unwrap_or(NumBase::Dec))),
            (false, None) => Ok(None),
            (false, Some(_)) => Err("a number base (hex, dec, oct) needs 'string'".into()),
        }
    }

    /// `allow_zero`: 0 bytes is valid (byte_jump `from_end`; byte_test with `string`, which
    /// then reads the digits up to the end of the buffer, as Suricata documents).
    fn check_bytes(&self, bytes: u64, allow_zero: bool) -> Result<u8, String> {
        let max = if self.string_flag { 23 } else { 8 };
        if (bytes == 0 && !allow_zero) || bytes > max {
            return Err(format!(
                "number of bytes {bytes} out of range (1 to {max}{})",
                if self.string_flag { " with string" } else { "" }
            ));
        }
        Ok(u8::try_from(bytes).unwrap_or(u8::MAX))
    }
}

fn split(v: &str) -> Vec<&str> {
    v.split(',').map(str::trim).collect()
}

fn byte_test(ctx: &Ctx<'_>, v: &str) -> Result<ByteTest, String> {
    let parts = split(v);
    let [bytes, op, val, off, rest @ ..] = parts.as_slice() else {
        return Err("byte_test needs bytes, operator, value and offset".into());
    };
    let mut c = Common::default();
    for o in rest {
        if !c.take(o)? {
            return Err(format!("invalid byte_test option '{o}'"));
        }
    }
    let bytes = uint(bytes, 255)?;
    let (negated, op) = match op.strip_prefix('!') {
        Some(r) => (true, r.trim()),
        None => (false, *op),
    };
    let op = match op {
        "<" => ByteOp::Lt,
        ">" => ByteOp::Gt,
        "=" => ByteOp::Eq,
        "" if negated => ByteOp::Eq,
        "<=" => ByteOp::Le,
        ">=" => ByteOp::Ge,
        "&" => ByteOp::And,
        "^" => ByteOp::Xor,
        o => return Err(format!("invalid byte_test operator '{o}'")),
    };
    let bytes = c.check_bytes(bytes, c.string_flag)?;
    Ok(ByteTest {
        bytes,
        negated,
        op,
        value: value(val, &ctx.byte_vars, 0, i64::MAX)?,
        offset: value(off, &ctx.byte_vars, -MAX_OFF, MAX_OFF)?,
        relative: c.relative,
        endian: c.endian.unwrap_or_default(),
        string: c.base()?,
        bitmask: c.bitmask,
    })
}

fn byte_jump(ctx: &Ctx<'_>, v: &str) -> Result<ByteJump, String> {
    let parts = split(v);
    let [bytes, off, rest @ ..] = parts.as_slice() else {
        return Err("byte_jump needs bytes and offset".into());
    };
    let mut c = Common::default();
    let (mut align, mut from_beginning, mut from_end, mut post_offset) = (false, false, false, 0);
    for o in rest {
        if c.take(o)? {
            continue;
        }
        match *o {
            "align" => align = true,
            "from_beginning" => from_beginning = true,
            "from_end" => from_end = true,
            _ => match o.strip_prefix("post_offset") {
                Some(p) => post_offset = int(p)?,
                None => return Err(format!("invalid byte_jump option '{o}'")),
            },
        }
    }
    if from_beginning && from_end {
        return Err("'from_beginning' and 'from_end' exclude each other".into());
    }
    let bytes = c.check_bytes(uint(bytes, 255)?, from_end)?;
    Ok(ByteJump {
        bytes,
        offset: value(off, &ctx.byte_vars, -MAX_OFF, MAX_OFF)?,
        relative: c.relative,
        multiplier: c.multiplier.unwrap_or(1),
        endian: c.endian.unwrap_or_default(),
        string: c.base()?,
        align,
        from_beginning,
        from_end,
        post_offset,
        bitmask: c.bitmask,
    })
}

fn byte_extract(ctx: &Ctx<'_>, v: &str) -> Result<ByteExtract, String> {
    let parts = split(v);
    let [bytes, off, name, rest @ ..] = parts.as_slice() else {
        return Err("byte_extract needs bytes, offset and a variable name".into());
    };
    if name.is_empty()
        || name.as_bytes().first().is_some_and(u8::is_ascii_digit)
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
    {
        return Err(format!("invalid byte_extract variable name '{name}'"));
    }
    if ctx.byte_vars.iter().any(|n| n == name) {
        return Err(format!("byte_extract variable '{name}' defined twice"));
    }
    if ctx.byte_vars.len() >= usize::from(u8::MAX) {
        return Err("too many byte_extract variables".into());
    }
    let mut c = Common::default();
    let mut align = None;
    for o in rest {
        if c.take(o)? {
            continue;
        }
        match o.strip_prefix("align") {
            Some(a) => {
                align = Some(match a.trim() {
                    "2" => 2,
                    "4" => 4,
                    x => return Err(format!("invalid byte_extract align '{x}' (2 or 4)")),
                })
            }
            None => return Err(format!("invalid byte_extract option '{o}'")),
        }
    }
    let bytes = c.check_bytes(uint(bytes, 255)?, false)?;
    let offset = int(off)?;
    if !(-MAX_OFF..=MAX_OFF).contains(&offset) || (offset < 0 && !c.relative) {
        return Err(format!("byte_extract offset {offset} out of range"));
    }
    Ok(ByteExtract {
        bytes,
        offset,
        var: u8::try_from(ctx.byte_vars.len()).unwrap_or(u8::MAX),
        name: (*name).to_string(),
        relative: c.relative,
        multiplier: c.multiplier.unwrap_or(1),
        endian: c.endian.unwrap_or_default(),
        string: c.base()?,
        align,
        bitmask: c.bitmask,
    })
}

fn isdataat(ctx: &Ctx<'_>, v: &str) -> Result<IsDataAt, String> {
    let parts = split(v);
    let (first, rest) = parts.split_first().ok_or("'isdataat' needs a value")?;
    let (negated, pos) = match first.strip_prefix('!') {
        Some(p) => (true, p.trim()),
        None => (false, *first),
    };
    let mut relative = false;
    for o in rest {
        match *o {
            "relative" => relative = true,
            "rawbytes" => {}
            _ => return Err(format!("invalid isdataat option '{o}'")),
        }
    }
    let pos = value(pos, &ctx.byte_vars, 0, MAX_OFF)?;
    Ok(IsDataAt {
        pos,
        relative,
        negated,
    })
}

fn base64_decode(v: Option<&str>) -> Result<Base64Decode, String> {
    let mut d = Base64Decode {
        bytes: None,
        offset: 0,
        relative: false,
    };
    for o in v.map(split).unwrap_or_default() {
        if o.is_empty() {
            continue;
        }
        if o == "relative" {
            d.relative = true;
        } else if let Some(n) = o.strip_prefix("bytes") {
            let n = uint(n, u64::from(u32::MAX))?;
            if n == 0 {
                return Err("base64_decode 'bytes' must be at least 1".into());
            }
            d.bytes = u32::try_from(n).ok();
        } else if let Some(n) = o.strip_prefix("offset") {
            d.offset = u32::try_from(uint(n, u64::from(u32::MAX))?).unwrap_or(0);
        } else {
            return Err(format!("invalid base64_decode option '{o}'"));
        }
    }
    Ok(d)
}
