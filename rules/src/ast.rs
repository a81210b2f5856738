//! The syntax tree of one rule, as written: nothing is resolved yet (variables, buffers and
//! modifiers are lowered into a [`crate::Signature`] by [`crate::lower_rule`]).

use crate::signature::Action;

/// A position in the parsed text: 1-based line and column (columns count bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// An address or port range literal in a header expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrRange {
    /// Inclusive IPv4 range (host byte order).
    V4(u32, u32),
    /// Inclusive IPv6 range.
    V6(u128, u128),
}

/// An address expression of the rule header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddrExpr {
    /// `any`
    Any,
    /// `$NAME`
    Var(String),
    /// An address, CIDR block, netmask block or `a-b` range.
    Range(AddrRange),
    /// `[a, b, ...]`
    List(Vec<AddrExpr>),
    /// `!x`
    Not(Box<AddrExpr>),
}

/// A port expression of the rule header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PortExpr {
    /// `any`
    Any,
    /// `$NAME`
    Var(String),
    /// `80`, `80:90`, `1024:`, `:1023` (inclusive).
    Range(u16, u16),
    /// `[a, b, ...]`
    List(Vec<PortExpr>),
    /// `!x`
    Not(Box<PortExpr>),
}

/// One `name[:value];` option, in rule order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOption {
    /// The keyword, as written.
    pub name: String,
    /// The value after `:`, trimmed, with its escapes as written (`None` for `name;`).
    pub value: Option<String>,
    /// Where the keyword starts.
    pub pos: Pos,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// The protocol keyword, lower-cased.
    pub protocol: String,
    /// Where the protocol starts.
    pub protocol_pos: Pos,
    /// Source addresses.
    pub src: AddrExpr,
    /// Source ports.
    pub src_ports: PortExpr,
    /// `<>` rather than `->`.
    pub bidirectional: bool,
    /// Destination addresses.
    pub dst: AddrExpr,
    /// Destination ports.
    pub dst_ports: PortExpr,
    /// The options, in order.
    pub options: Vec<RuleOption>,
    /// The rule text on one line (continuations joined, surrounding white space removed).
    pub text: String,
}

impl Rule {
    /// The first value of option `name`, if present.
    pub fn option(&self, name: &str) -> Option<&RuleOption> {
        self.options.iter().find(|o| o.name == name)
    }
}
