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

/// Parses an address expression.
pub(crate) fn parse_addr(tok: &str, err: &ErrAt<'_>) -> Result<AddrExpr, ParseError> {
    let mut p = P { s: tok, i: 0, err };
    let mut items = vec![addr_expr(&mut p, 0)?];
    // Suricata also takes a list without brackets: `1.2.3.4,!5.6.7.8`.
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.i += 1;
                items.push(addr_expr(&mut p, 0)?);
            }
            Some(_) => return p.fail(p.i, "unexpected text after the address expression"),
        }
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap_or(AddrExpr::Any)
    } else {
        AddrExpr::List(items)
    })
}

fn addr_expr(p: &mut P<'_, '_>, depth: usize) -> Result<AddrExpr, ParseError> {
    if depth > MAX_DEPTH {
        return p.fail(p.i, "address expression nested too deeply");
    }
    p.skip_ws();
    match p.peek() {
        Some(b'!') => {
            p.i += 1;
            Ok(AddrExpr::Not(Box::new(addr_expr(p, depth + 1)?)))
        }
        Some(b'[') => {
            let open = p.i;
            p.i += 1;
            let mut items = Vec::new();
            loop {
                p.skip_ws();
                if p.peek() == Some(b']') && items.is_empty() {
                    return p.fail(p.i, "empty address list");
                }
                items.push(addr_expr(p, depth + 1)?);
                p.skip_ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b']') => {
                        p.i += 1;
                        return Ok(AddrExpr::List(items));
                    }
                    None => return p.fail(open, "unclosed '[' in address list"),
                    Some(_) => return p.fail(p.i, "expected ',' or ']' in address list"),
                }
            }
        }
        Some(b'$') => {
            let (at, name) = p.atom();
            let name = name.get(1..).unwrap_or("");
            if !valid_var(name) {
                return p.fail(at, format!("invalid variable name '${name}'"));
            }
            Ok(AddrExpr::Var(name.to_string()))
        }
        _ => {
            let (at, atom) = p.atom();
            if atom.is_empty() {
                return p.fail(at, "expected an address, '$VARIABLE', 'any' or '['");
            }
            if atom.eq_ignore_ascii_case("any") {
                return Ok(AddrExpr::Any);
            }
            match parse_addr_range(atom) {
                Some(r) => Ok(AddrExpr::Range(r)),
                None => p.fail(at, format!("invalid address '{atom}'")),
            }
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

/// Parses a port expression.
pub(crate) fn parse_ports(tok: &str, err: &ErrAt<'_>) -> Result<PortExpr, ParseError> {
    let mut p = P { s: tok, i: 0, err };
    let mut items = vec![port_expr(&mut p, 0)?];
    // Suricata also takes a list without brackets: `!5800,!445`.
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b',') => {
                p.i += 1;
                items.push(port_expr(&mut p, 0)?);
            }
            Some(_) => return p.fail(p.i, "unexpected text after the port expression"),
        }
    }
    Ok(if items.len() == 1 {
        items.pop().unwrap_or(PortExpr::Any)
    } else {
        PortExpr::List(items)
    })
}

fn port_expr(p: &mut P<'_, '_>, depth: usize) -> Result<PortExpr, ParseError> {
    if depth > MAX_DEPTH {
        return p.fail(p.i, "port expression nested too deeply");
    }
    p.skip_ws();
    match p.peek() {
        Some(b'!') => {
            p.i += 1;
            Ok(PortExpr::Not(Box::new(port_expr(p, depth + 1)?)))
        }
        Some(b'[') => {
            let open = p.i;
            p.i += 1;
            let mut items = Vec::new();
            loop {
                p.skip_ws();
                if p.peek() == Some(b']') && items.is_empty() {
                    return p.fail(p.i, "empty port list");
                }
                items.push(port_expr(p, depth + 1)?);
                p.skip_ws();
                match p.peek() {
                    Some(b',') => p.i += 1,
                    Some(b']') => {
                        p.i += 1;
                        return Ok(PortExpr::List(items));
                    }
                    None => return p.fail(open, "unclosed '[' in port list"),
                    Some(_) => return p.fail(p.i, "expected ',' or ']' in port list"),
                }
            }
        }
        Some(b'$') => {
            let (at, name) = p.atom();
            let name = name.get(1..).unwrap_or("");
            if !valid_var(name) {
                return p.fail(at, format!("invalid variable name '${name}'"));
            }
            Ok(PortExpr::Var(name.to_string()))
        }
        _ => {
            let (at, atom) = p.atom();
            if atom.is_empty() {
                return p.fail(at, "expected a port, a range, '$VARIABLE', 'any' or '['");
            }
            if atom.eq_ignore_ascii_case("any") {
                return Ok(PortExpr::Any);
            }
            match parse_port_range(atom) {
                Ok((a, b)) => Ok(PortExpr::Range(a, b)),
                Err(m) => p.fail(at, m),
            }
        }
    }
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
