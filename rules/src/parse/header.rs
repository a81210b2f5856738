//! Address and port expressions of the rule header.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ParseError;
use crate::ast::{AddrExpr, AddrRange, PortExpr};

/// Builds an error at a byte offset of the token.
pub(crate) type ErrAt<'a> = dyn Fn(usize, String) -> ParseError + 'a;

/// Most nesting of `[...]` and `!` accepted.
const MAX_DEPTH: usize = 32;

struct P<'a, 'e> {
    s: &'a str,
    i: usize,
    err: &'e ErrAt<'e>,
}

impl<'a> P<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }
    fn fail<T>(&self, at: usize, msg: impl Into<String>) -> Result<T, ParseError> {
        Err((self.err)(at, msg.into()))
    }
    /// An atom: up to `,` or `]` (or the end).
    fn atom(&mut self) -> (usize, &'a str) {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b != b',' && b != b']' && !b.is_ascii_whitespace())
        {
            self.i += 1;
        }
        (start, self.s.get(start..self.i).unwrap_or(""))
    }
}

/// What differs between the address and the port grammar: the atoms, how expressions are
/// built, and the words of the error messages. Lists (`[a,b]` and Suricata's bracket-less
/// `a,b` at the top), negation (`!`), variables (`$NAME`) and `any` are common to both.
trait Grammar {
    type Expr;
    /// `address` or `port`, in error messages.
    const NOUN: &'static str;
    /// What may stand where an empty atom was found, in its error message.
    const EXPECTED: &'static str;
    fn any() -> Self::Expr;
    fn not(inner: Self::Expr) -> Self::Expr;
    fn list(items: Vec<Self::Expr>) -> Self::Expr;
    fn var(name: String) -> Self::Expr;
    /// A literal atom (an address, a range...), or why it is not one.
    fn literal(atom: &str) -> Result<Self::Expr, String>;
}

struct Addresses;

impl Grammar for Addresses {
    type Expr = AddrExpr;
    const NOUN: &'static str = "address";
    const EXPECTED: &'static str = "expected an address, '$VARIABLE', 'any' or '['";
    fn any() -> AddrExpr {
        AddrExpr::Any
    }
    fn not(inner: AddrExpr) -> AddrExpr {
        AddrExpr::Not(Box::new(inner))
    }
    fn list(items: Vec<AddrExpr>) -> AddrExpr {
        AddrExpr::List(items)
    }
    fn var(name: String) -> AddrExpr {
        AddrExpr::Var(name)
    }
    fn literal(atom: &str) -> Result<AddrExpr, String> {
        parse_addr_range(atom)
            .map(AddrExpr::Range)
            .ok_or_else(|| format!("invalid address '{atom}'"))
    }
}

struct Ports;

impl Grammar for Ports {
    type Expr = PortExpr;
    const NOUN: &'static str = "port";
    const EXPECTED: &'static str = "expected a port, a range, '$VARIABLE', 'any' or '['";
    fn any() -> PortExpr {
        PortExpr::Any
    }
    fn not(inner: PortExpr) -> PortExpr {
        PortExpr::Not(Box::new(inner))
    }
    fn list(items: Vec<PortExpr>) -> PortExpr {
        PortExpr::List(items)
    }
    fn var(name: String) -> PortExpr {
        PortExpr::Var(name)
    }
    fn literal(atom: &str) -> Result<PortExpr, String> {
        parse_port_range(atom).map(|(lo, hi)| PortExpr::Range(lo, hi))
    }
}

/// Parses an address expression.
pub(crate) fn parse_addr(tok: &str, err: &ErrAt<'_>) -> Result<AddrExpr, ParseError> {
    parse_top::<Addresses>(tok, err)
}

/// Parses a port expression.
pub(crate) fn parse_ports(tok: &str, err: &ErrAt<'_>) -> Result<PortExpr, ParseError> {
    parse_top::<Ports>(tok, err)
}

/// A whole header field: one expression, or (as Suricata also takes) a list without brackets
/// such as `1.2.3.4,!5.6.7.8` or `!5800,!445`.
fn parse_top<G: Grammar>(tok: &str, err: &ErrAt<'_>) -> Result<G::Expr, ParseError> {
    let mut p = P { s: tok, i: 0, err };
    let mut items = vec![expr::<G>(&mut p, 0)?];
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.i += 1;
                items.push(expr::<G>(&mut p, 0)?);
            }
            Some(_) => {
                return p.fail(
                    p.i,
                    format!("unexpected text after the {} expression", G::NOUN),
                )
            }
        }
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap_or_else(G::any)
    } else {
        G::list(items)
    })
}

fn expr<G: Grammar>(p: &mut P<'_, '_>, depth: usize) -> Result<G::Expr, ParseError> {
    if depth > MAX_DEPTH {
        return p.fail(p.i, format!("{} expression nested too deeply", G::NOUN));
    }
    p.skip_ws();
    match p.peek() {
        Some(b'!') => {
            p.i += 1;
            Ok(G::not(expr::<G>(p, depth + 1)?))
        }
        Some(b'[') => {
            let open = p.i;
            p.i += 1;
            let mut items = Vec::new();
            loop {
                p.skip_ws();
                if p.peek() == Some(b']') && items.is_empty() {
                    return p.fail(p.i, format!("empty {} list", G::NOUN));
                }
                items.push(expr::<G>(p, depth + 1)?);
                p.skip_ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b']') => {
                        p.i += 1;
                        return Ok(G::list(items));
                    }
                    None => return p.fail(open, format!("unclosed '[' in {} list", G::NOUN)),
                    Some(_) => {
                        return p.fail(p.i, format!("expected ',' or ']' in {} list", G::NOUN))
                    }
                }
            }
        }
        Some(b'$') => {
            let (at, name) = p.atom();
            let name = name.get(1..).unwrap_or("");
            if !valid_var(name) {
                return p.fail(at, format!("invalid variable name '${name}'"));
            }
            Ok(G::var(name.to_string()))
        }
        _ => {
            let (at, atom) = p.atom();
            if atom.is_empty() {
                return p.fail(at, G::EXPECTED);
            }
            if atom.eq_ignore_ascii_case("any") {
                return Ok(G::any());
            }
            G::literal(atom).or_else(|m| p.fail(at, m))
        }
    }
}

pub(crate) fn valid_var(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `a.b.c.d`, `a.b.c.d/N`, `a.b.c.d/m.m.m.m`, `a.b.c.d-e.f.g.h`, and the IPv6 forms.
pub(crate) fn parse_addr_range(s: &str) -> Option<AddrRange> {
    if let Some((a, b)) = s.split_once('-') {
        return match (parse_ip(a)?, parse_ip(b)?) {
            (AddrRange::V4(x, _), AddrRange::V4(y, _)) if x <= y => Some(AddrRange::V4(x, y)),
            (AddrRange::V6(x, _), AddrRange::V6(y, _)) if x <= y => Some(AddrRange::V6(x, y)),
            _ => None,
        };
    }
    if let Some((a, m)) = s.split_once('/') {
        return match parse_ip(a)? {
            AddrRange::V4(x, _) => {
                let bits: u32 = if let Ok(n) = m.parse::<u32>() {
                    if n > 32 {
                        return None;
                    }
                    n
                } else {
                    let mask = u32::from(m.parse::<Ipv4Addr>().ok()?);
                    let n = mask.leading_ones();
                    if mask.checked_shl(n).unwrap_or(0) != 0 {
                        return None;
                    }
                    n
                };
                let host = u32::MAX.checked_shr(bits).unwrap_or(0);
                Some(AddrRange::V4(x & !host, x | host))
            }
            AddrRange::V6(x, _) => {
                let n: u32 = m.parse().ok()?;
                if n > 128 {
                    return None;
                }
                let host = u128::MAX.checked_shr(n).unwrap_or(0);
                Some(AddrRange::V6(x & !host, x | host))
            }
        };
    }
    parse_ip(s)
}

fn parse_ip(s: &str) -> Option<AddrRange> {
    if let Ok(a) = s.parse::<Ipv4Addr>() {
        let v = u32::from(a);
        return Some(AddrRange::V4(v, v));
    }
    let a = s.parse::<Ipv6Addr>().ok()?;
    let v = u128::from(a);
    Some(AddrRange::V6(v, v))
}

/// `N`, `A:B`, `A:`, `:B`.
pub(crate) fn parse_port_range(s: &str) -> Result<(u16, u16), String> {
    let num = |t: &str| {
        t.trim()
            .parse::<u16>()
            .map_err(|_| format!("invalid port '{t}' (expected 0 to 65535)"))
    };
    match s.split_once(':') {
        None => {
            let n = num(s)?;
            Ok((n, n))
        }
        Some((a, b)) => {
            if a.is_empty() && b.is_empty() {
                return Err("invalid port range ':'".into());
            }
            let lo = if a.is_empty() { 0 } else { num(a)? };
            let hi = if b.is_empty() { u16::MAX } else { num(b)? };
            if lo > hi {
                return Err(format!("invalid port range '{s}': start is after end"));
            }
            Ok((lo, hi))
        }
    }
}
