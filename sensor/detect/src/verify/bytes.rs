//! `byte_test`, `byte_jump` and `byte_extract`.
//!
//! Common rules: the read starts at `offset` from the buffer start, or from the cursor with
//! `relative` (a negative offset may go back from it, never before the buffer); all `bytes`
//! must be inside the buffer. Binary reads take 1-8 bytes in the given byte order (`dce`:
//! the flow's DCERPC order, see [`super::MatchContext::set_dce_little_endian`]). `string`
//! reads digits like C's `strtoull` in the given base: leading white space and a sign are
//! accepted, the digits end at the first byte that is not one, at least one digit is needed
//! and an overflow fails. `bitmask` is applied first and the result shifted right by the
//! mask's trailing zeros.
//!
//! - `byte_test` compares `value OP operand` (`&` and `^` are true when non-zero) and leaves
//!   the cursor where it was.
//! - `byte_jump` multiplies, rounds up to 4 with `align`, adds `post_offset`, and moves the
//!   cursor that far from the end of the bytes read (or from the buffer start with
//!   `from_beginning`, from its end with `from_end`). A target before the buffer start
//!   becomes the start; one past the end fails; the very end is allowed.
//! - `byte_extract` multiplies, rounds up to `align`, stores the variable and moves the cursor
//!   to the end of the bytes read.

use tapwatch_rules::signature::{ByteExtract, ByteJump, ByteOp, ByteTest, Endian, NumBase, Value};

use super::MatchContext;

/// What to read and how.
#[derive(Debug, Clone, Copy)]
struct Read {
    bytes: u8,
    endian: Endian,
    string: Option<NumBase>,
    bitmask: Option<u64>,
}

impl Read {
    /// Reads at `pos`; `None` when out of bounds or not a number.
    fn at(&self, data: &[u8], pos: i128, ctx: &MatchContext) -> Option<u64> {
        if pos < 0 {
            return None;
        }
        let pos = usize::try_from(pos).ok()?;
        let field = data.get(pos..pos.checked_add(usize::from(self.bytes))?)?;
        let raw = match self.string {
            Some(base) => parse_digits(field, base)?,
            None => {
                if field.is_empty() || field.len() > 8 {
                    return None;
                }
                let little = match self.endian {
                    Endian::Big => false,
                    Endian::Little => true,
                    Endian::Dce => ctx.dce_le,
                };
                if little {
                    field
                        .iter()
                        .rev()
                        .fold(0u64, |a, &b| (a << 8) | u64::from(b))
                } else {
                    field.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
                }
            }
        };
        Some(apply_mask(raw, self.bitmask))
    }
}

fn apply_mask(v: u64, mask: Option<u64>) -> u64 {
    match mask {
        Some(m) if m != 0 => (v & m) >> m.trailing_zeros(),
        Some(_) => 0,
        None => v,
    }
}

/// `strtoull` on a fixed-width field.
fn parse_digits(field: &[u8], base: NumBase) -> Option<u64> {
    let radix: u32 = match base {
        NumBase::Hex => 16,
        NumBase::Dec => 10,
        NumBase::Oct => 8,
    };
    let mut i = 0;
    while field
        .get(i)
        .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
    {
        i += 1;
    }
    let mut negative = false;
    if let Some(&s @ (b'+' | b'-')) = field.get(i) {
        negative = s == b'-';
        i += 1;
    }
    if radix == 16
        && field.get(i) == Some(&b'0')
        && matches!(field.get(i + 1), Some(b'x' | b'X'))
        && field.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        i += 2;
    }
    let mut value: u64 = 0;
    let mut digits = 0;
    while let Some(d) = field.get(i).and_then(|&c| char::from(c).to_digit(radix)) {
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(d))?;
        digits += 1;
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn read_start(relative: bool, cursor: usize, offset: i64) -> i128 {
    let base = if relative { cursor as i128 } else { 0 };
    base + i128::from(offset)
}

/// A prepared `byte_test`.
#[derive(Debug)]
pub(super) struct CompiledByteTest {
    read: Read,
    negated: bool,
    op: ByteOp,
    value: Value,
    offset: Value,
    pub(super) relative: bool,
}

impl CompiledByteTest {
    pub(super) fn new(b: &ByteTest) -> Self {
        Self {
            read: Read {
                bytes: b.bytes,
                endian: b.endian,
                string: b.string,
                bitmask: b.bitmask,
            },
            negated: b.negated,
            op: b.op,
            value: b.value,
            offset: b.offset,
            relative: b.relative,
        }
    }

    pub(super) fn uses_vars(&self) -> bool {
        matches!(self.value, Value::Var(_)) || matches!(self.offset, Value::Var(_))
    }

    /// Whether the test holds.
    pub(super) fn test(&self, data: &[u8], cursor: usize, ctx: &MatchContext) -> bool {
        let (Some(offset), Some(operand)) = (ctx.value(self.offset), ctx.value(self.value)) else {
            return false;
        };
        let Some(v) = self
            .read
            .at(data, read_start(self.relative, cursor, offset), ctx)
        else {
            return false;
        };
        let operand = operand as u64;
        let result = match self.op {
            ByteOp::Lt => v < operand,
            ByteOp::Gt => v > operand,
            ByteOp::Eq => v == operand,
            ByteOp::Le => v <= operand,
            ByteOp::Ge => v >= operand,
            ByteOp::And => v & operand != 0,
            ByteOp::Xor => v ^ operand != 0,
        };
        result != self.negated
    }
}

/// A prepared `byte_jump`.
#[derive(Debug)]
pub(super) struct CompiledByteJump {
    read: Read,
    offset: Value,
    pub(super) relative: bool,
    multiplier: u32,
    align: bool,
    from_beginning: bool,
    from_end: bool,
    post_offset: i64,
}

impl CompiledByteJump {
    pub(super) fn new(b: &ByteJump) -> Self {
        Self {
            read: Read {
                bytes: b.bytes,
                endian: b.endian,
                string: b.string,
                bitmask: b.bitmask,
            },
            offset: b.offset,
            relative: b.relative,
            multiplier: b.multiplier,
            align: b.align,
            from_beginning: b.from_beginning,
            from_end: b.from_end,
            post_offset: b.post_offset,
        }
    }

    pub(super) fn uses_vars(&self) -> bool {
        matches!(self.offset, Value::Var(_))
    }

    /// The new cursor, or `None` when the read or the jump fails.
    pub(super) fn jump(&self, data: &[u8], cursor: usize, ctx: &MatchContext) -> Option<usize> {
        let start = read_start(self.relative, cursor, ctx.value(self.offset)?);
        let value = if self.read.bytes == 0 {
            // Only with `from_end`: jump by post_offset from the end.
            if start < 0 || start > data.len() as i128 {
                return None;
            }
            0
        } else {
            self.read.at(data, start, ctx)?
        };
        let mut jump = i128::from(value) * i128::from(self.multiplier.max(1));
        if self.align && jump % 4 != 0 {
            jump += 4 - jump % 4;
        }
        jump += i128::from(self.post_offset);
        let base = if self.from_beginning {
            0
        } else if self.from_end {
            data.len() as i128
        } else {
            start + i128::from(self.read.bytes)
        };
        let target = (base + jump).max(0);
        if target > data.len() as i128 {
            return None;
        }
        usize::try_from(target).ok()
    }
}

/// A prepared `byte_extract`.
#[derive(Debug)]
pub(super) struct CompiledByteExtract {
    read: Read,
    offset: i64,
    var: u8,
    pub(super) relative: bool,
    multiplier: u32,
    align: Option<u8>,
}

impl CompiledByteExtract {
    pub(super) fn new(b: &ByteExtract) -> Self {
        Self {
            read: Read {
                bytes: b.bytes,
                endian: b.endian,
                string: b.string,
                bitmask: b.bitmask,
            },
            offset: b.offset,
            var: b.var,
            relative: b.relative,
            multiplier: b.multiplier,
            align: b.align,
        }
    }

    /// Stores the variable; returns the new cursor (end of the bytes read).
    pub(super) fn extract(
        &self,
        data: &[u8],
        cursor: usize,
        ctx: &mut MatchContext,
    ) -> Option<usize> {
        let start = read_start(self.relative, cursor, self.offset);
        let mut v = self
            .read
            .at(data, start, ctx)?
            .wrapping_mul(u64::from(self.multiplier.max(1)));
        if let Some(a) = self.align.filter(|&a| a > 1) {
            let a = u64::from(a);
            if v % a != 0 {
                v = v.wrapping_add(a - v % a);
            }
        }
        ctx.set_var(self.var, v);
        usize::try_from(start)
            .ok()?
            .checked_add(usize::from(self.read.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoull_like_parsing() {
        assert_eq!(parse_digits(b"123", NumBase::Dec), Some(123));
        assert_eq!(parse_digits(b" 12a", NumBase::Dec), Some(12));
        assert_eq!(parse_digits(b"0x1F", NumBase::Hex), Some(31));
        assert_eq!(parse_digits(b"1F", NumBase::Hex), Some(31));
        assert_eq!(parse_digits(b"17", NumBase::Oct), Some(15));
        assert_eq!(parse_digits(b"8", NumBase::Oct), None);
        assert_eq!(parse_digits(b"abc", NumBase::Dec), None);
        assert_eq!(parse_digits(b"", NumBase::Dec), None);
        assert_eq!(parse_digits(b"99999999999999999999999", NumBase::Dec), None);
        assert_eq!(parse_digits(b"-1", NumBase::Dec), Some(u64::MAX));
    }

    #[test]
    fn bitmask_shifts_by_trailing_zeros() {
        assert_eq!(apply_mask(0xABCD, Some(0x0FF0)), 0xBC);
        assert_eq!(apply_mask(0xABCD, None), 0xABCD);
        assert_eq!(apply_mask(0xABCD, Some(0)), 0);
    }
}
