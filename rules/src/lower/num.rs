//! Numbers in option values: integers (decimal or `0x` hex), comparisons, variable references.

use crate::signature::{NumCmp, Value};

/// An integer, decimal or `0x` hex, optionally negative.
pub(crate) fn int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r.trim_start()),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16)
    } else {
        body.parse::<i64>()
    }
    .map_err(|_| format!("invalid number '{t}'"))?;
    Ok(if neg { -v } else { v })
}

/// An unsigned integer no greater than `max`.
pub(crate) fn uint(s: &str, max: u64) -> Result<u64, String> {
    let v = int(s)?;
    u64::try_from(v)
        .ok()
        .filter(|v| *v <= max)
        .ok_or_else(|| format!("'{}' is out of range (0 to {max})", s.trim()))
}

/// A literal or the name of a `byte_extract` variable of the rule.
pub(crate) fn value(s: &str, vars: &[String], min: i64, max: i64) -> Result<Value, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("missing value".into());
    }
    let first = t.as_bytes().first().copied().unwrap_or(b'0');
    if first.is_ascii_digit() || first == b'-' || first == b'+' {
        let v = int(t)?;
        if v < min || v > max {
            return Err(format!("{v} is out of range ({min} to {max})"));
        }
        return Ok(Value::Lit(v));
    }
    match vars.iter().position(|n| n == t) {
        Some(i) => Ok(Value::Var(u8::try_from(i).unwrap_or(u8::MAX))),
        None => Err(format!(
            "undefined variable '{t}' (no byte_extract defines it)"
        )),
    }
}

/// Suricata's unsigned comparison forms: `N`, `=N`, `!N`, `!=N`, `<N`, `<=N`, `>N`, `>=N`,
/// `A<>B` and `A-B` (both strictly between).
pub(crate) fn num_cmp(s: &str, max: u64) -> Result<NumCmp, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("missing comparison".into());
    }
    let n = |x: &str| uint(x, max);
    if let Some((a, b)) = t.split_once("<>") {
        return between(n(a)?, n(b)?, t);
    }
    if let Some(r) = t.strip_prefix("<=") {
        return Ok(NumCmp::Le(n(r)?));
    }
    if let Some(r) = t.strip_prefix(">=") {
        return Ok(NumCmp::Ge(n(r)?));
    }
    if let Some(r) = t.strip_prefix("!=") {
        return Ok(NumCmp::Ne(n(r)?));
    }
    if let Some(r) = t.strip_prefix('<') {
        return Ok(NumCmp::Lt(n(r)?));
    }
    if let Some(r) = t.strip_prefix('>') {
        return Ok(NumCmp::Gt(n(r)?));
    }
    if let Some(r) = t.strip_prefix('!') {
        return Ok(NumCmp::Ne(n(r)?));
    }
    if let Some(r) = t.strip_prefix('=') {
        return Ok(NumCmp::Eq(n(r)?));
    }
    if let Some((a, b)) = t.split_once('-') {
        return between(n(a)?, n(b)?, t);
    }
    Ok(NumCmp::Eq(n(t)?))
}

/// Suricata's integer-keyword forms (`dns.opcode`, `dns.rcode`, ...): those of [`num_cmp`]
/// and the negated range `!A-B`. Bit-mask forms (`&`, `^`) are refused with their reason.
pub(crate) fn uint_cmp(s: &str, max: u64) -> Result<NumCmp, String> {
    let t = s.trim();
    if t.contains('&') || t.contains('^') {
        return Err(format!("bit-mask form '{t}' is not supported"));
    }
    if let Some(r) = t.strip_prefix('!').filter(|r| !r.starts_with('=')) {
        if let Some((a, b)) = r.split_once('-') {
            return match between(uint(a, max)?, uint(b, max)?, t)? {
                NumCmp::Between(a, b) => Ok(NumCmp::NotBetween(a, b)),
                c => Ok(c),
            };
        }
    }
    num_cmp(t, max)
}

fn between(a: u64, b: u64, t: &str) -> Result<NumCmp, String> {
    if b <= a.saturating_add(1) {
        return Err(format!("empty range '{t}': nothing lies strictly between"));
    }
    Ok(NumCmp::Between(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert_eq!(num_cmp("5", 255), Ok(NumCmp::Eq(5)));
        assert_eq!(num_cmp(" > 80", 65535), Ok(NumCmp::Gt(80)));
        assert_eq!(num_cmp("<=3", 255), Ok(NumCmp::Le(3)));
        assert_eq!(num_cmp(">=3", 255), Ok(NumCmp::Ge(3)));
        assert_eq!(num_cmp("!3", 255), Ok(NumCmp::Ne(3)));
        assert_eq!(num_cmp("10<>20", 255), Ok(NumCmp::Between(10, 20)));
        assert_eq!(num_cmp("10-20", 255), Ok(NumCmp::Between(10, 20)));
        assert!(num_cmp("10<>11", 255).is_err());
        assert!(num_cmp("20<>10", 255).is_err());
        assert!(num_cmp("256", 255).is_err());
        assert!(num_cmp("x", 255).is_err());
        assert!(num_cmp("", 255).is_err());
        assert_eq!(uint_cmp("!7-15", 255), Ok(NumCmp::NotBetween(7, 15)));
        assert_eq!(uint_cmp("7-15", 255), Ok(NumCmp::Between(7, 15)));
        assert_eq!(uint_cmp("!0", 255), Ok(NumCmp::Ne(0)));
        assert_eq!(uint_cmp(">=4", 255), Ok(NumCmp::Ge(4)));
        assert!(uint_cmp("!7-8", 255).is_err());
        assert!(uint_cmp("256", 255).is_err());
        assert!(uint_cmp("!256-300", 255).is_err());
        assert!(uint_cmp("&0x0f=4", 255).unwrap_err().contains("bit-mask"));
        assert_eq!(int("0x10"), Ok(16));
        assert_eq!(int("-5"), Ok(-5));
    }
}
