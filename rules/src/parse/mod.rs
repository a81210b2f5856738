//! The lexer and parser: rule files into logical rules, and one rule's text into an
//! [`ast::Rule`](crate::ast::Rule) with the position of every option.

mod header;
mod source;
pub mod strings;

use std::fmt;

use crate::ast::{Pos, Rule, RuleOption};
use crate::signature::Action;
use source::Source;
pub use source::{split_rules, Item};

/// A syntax error with its position in the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where the problem is (1-based line and column of the parsed text).
    pub pos: Pos,
    /// What was expected or what is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.pos.line, self.pos.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// A cursor over the joined rule text.
pub(crate) struct Cursor<'a> {
    src: &'a Source,
    bytes: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn new(src: &'a Source) -> Self {
        Self {
            src,
            bytes: src.text.as_bytes(),
            i: 0,
        }
    }

    pub(crate) fn pos_at(&self, i: usize) -> Pos {
        self.src.pos(i)
    }

    pub(crate) fn err(&self, i: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            pos: self.pos_at(i),
            message: message.into(),
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.i).copied()
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// A header token: up to white space, with `[...]` groups (which may hold spaces) kept
    /// whole.
    fn header_token(&mut self, what: &str) -> Result<(usize, &'a str), ParseError> {
        self.skip_ws();
        let start = self.i;
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'(' if depth == 0 => break,
                _ if b.is_ascii_whitespace() && depth == 0 => break,
                _ => {}
            }
            self.i += 1;
        }
        if start == self.i {
            let found = match self.peek() {
                None => "the end of the rule".to_string(),
                Some(b) => format!("'{}'", char::from(b)),
            };
            return Err(self.err(start, format!("expected {what}, found {found}")));
        }
        let text = self.src.text.get(start..self.i).unwrap_or("");
        Ok((start, text))
    }
}

/// Parses one rule (which may continue over several lines ending in `\`).
///
/// Positions in the result and in errors are relative to `text` (line 1, column 1 is its
/// first byte).
pub fn parse_rule(text: &str) -> Result<Rule, ParseError> {
    let src = Source::join(text);
    let mut c = Cursor::new(&src);
    c.skip_ws();
    let (at, action) = c.header_token("an action")?;
    let action = parse_action(action)
        .ok_or_else(|| c.err(at, format!("unknown action '{action}' (expected alert, pass, drop, reject, rejectsrc, rejectdst or rejectboth)")))?;
    let (at, protocol) = c.header_token("a protocol")?;
    let protocol_pos = c.pos_at(at);
    let protocol = protocol.to_ascii_lowercase();
    let (at, tok) = c.header_token("a source address")?;
    let src_addr = header::parse_addr(tok, &|o, m| c.err(at + o, m))?;
    let (at, tok) = c.header_token("a source port")?;
    let src_ports = header::parse_ports(tok, &|o, m| c.err(at + o, m))?;
    let (at, tok) = c.header_token("a direction ('->' or '<>')")?;
    let bidirectional = match tok {
        "->" => false,
        "<>" => true,
        "<-" => {
            return Err(c.err(
                at,
                "'<-' is not a valid direction: write the rule with '->' and swap the sides",
            ))
        }
        _ => return Err(c.err(at, format!("expected '->' or '<>', found '{tok}'"))),
    };
    let (at, tok) = c.header_token("a destination address")?;
    let dst = header::parse_addr(tok, &|o, m| c.err(at + o, m))?;
    let (at, tok) = c.header_token("a destination port")?;
    let dst_ports = header::parse_ports(tok, &|o, m| c.err(at + o, m))?;
    c.skip_ws();
    if c.peek() != Some(b'(') {
        return Err(c.err(c.i, "expected '(' to open the rule options"));
    }
    c.i += 1;
    let options = parse_options(&mut c)?;
    Ok(Rule {
        action,
        protocol,
        protocol_pos,
        src: src_addr,
        src_ports,
        bidirectional,
        dst,
        dst_ports,
        options,
        text: src.text.trim().to_string(),
    })
}

fn parse_action(s: &str) -> Option<Action> {
    Some(match s {
        "alert" => Action::Alert,
        "pass" => Action::Pass,
        "drop" => Action::Drop,
        "reject" => Action::Reject,
        "rejectsrc" => Action::RejectSrc,
        "rejectdst" => Action::RejectDst,
        "rejectboth" => Action::RejectBoth,
        _ => return None,
    })
}

/// Options up to and including the closing `)`; nothing but white space may follow.
fn parse_options(c: &mut Cursor<'_>) -> Result<Vec<RuleOption>, ParseError> {
    let mut options = Vec::with_capacity(16);
    loop {
        c.skip_ws();
        let start = c.i;
        match c.peek() {
            None => return Err(c.err(start, "expected ')' to close the rule options")),
            Some(b')') => {
                c.i += 1;
                c.skip_ws();
                if c.peek().is_some() {
                    return Err(c.err(c.i, "unexpected text after the closing ')'"));
                }
                return Ok(options);
            }
            Some(_) => {}
        }
        while c
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            c.i += 1;
        }
        let name = c.src.text.get(start..c.i).unwrap_or("");
        if name.is_empty() {
            return Err(c.err(start, "expected an option name"));
        }
        let pos = c.pos_at(start);
        let name = name.to_ascii_lowercase();
        c.skip_ws();
        let value = match c.peek() {
            Some(b';') => {
                c.i += 1;
                None
            }
            Some(b':') => {
                c.i += 1;
                let vstart = c.i;
                let mut escaped = false;
                loop {
                    match c.peek() {
                        None => {
                            return Err(c.err(
                                c.i,
                                format!("expected ';' after the value of option '{name}'"),
                            ))
                        }
                        Some(b'\\') => escaped = !escaped,
                        Some(b';') if !escaped => break,
                        Some(_) => escaped = false,
                    }
                    c.i += 1;
                }
                let v = c.src.text.get(vstart..c.i).unwrap_or("").trim();
                c.i += 1;
                Some(v.to_string())
            }
            _ => {
                return Err(c.err(
                    c.i,
                    format!("expected ':' or ';' after option name '{name}'"),
                ))
            }
        };
        options.push(RuleOption { name, value, pos });
    }
}

#[cfg(test)]
mod tests;

/// Parses a standalone address expression (a variable's value, a `threshold.config` `ip`).
pub(crate) fn parse_addr_text(text: &str) -> Result<crate::ast::AddrExpr, String> {
    let text = text.trim();
    header::parse_addr(text, &|o: usize, m: String| ParseError {
        pos: Pos {
            line: 1,
            column: u32::try_from(o + 1).unwrap_or(u32::MAX),
        },
        message: m,
    })
    .map_err(|e| format!("column {}: {}", e.pos.column, e.message))
}

/// Parses a standalone port expression.
pub(crate) fn parse_ports_text(text: &str) -> Result<crate::ast::PortExpr, String> {
    let text = text.trim();
    header::parse_ports(text, &|o: usize, m: String| ParseError {
        pos: Pos {
            line: 1,
            column: u32::try_from(o + 1).unwrap_or(u32::MAX),
        },
        message: m,
    })
    .map_err(|e| format!("column {}: {}", e.pos.column, e.message))
}

/// Whether `name` is a valid variable name (letters, digits, `_`, `-`).
pub(crate) fn valid_var_name(name: &str) -> bool {
    header::valid_var(name)
}
