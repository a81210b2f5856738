//! IP reputation (`iprep`): Suricata's categories file (`<id>,<short name>,<description>`)
//! and reputation files (`<ip or network>,<category id>,<score>`), looked up by address.
//!
//! # Lookup structure
//!
//! As in Suricata, a line whose address has no `/len` is a host, looked up first; a host
//! without a score in the category falls back to the networks (`/len` lines, `/32`
//! included).
//!
//! CIDR networks are either nested or disjoint, so the networks of all files flatten into
//! sorted, disjoint address ranges, each owned by the most specific network that covers it
//! (a host's `/32` inside a listed `/24` takes the `/32`'s scores, as a prefix trie's
//! longest match would). A lookup is one binary search over the ranges' starts: O(log n)
//! with no pointer chasing, 16 bytes per range start and one index; millions of entries
//! fit in tens of megabytes and a lookup touches about 20 cache lines at most. The table is
//! immutable once built and shared by every worker without locks; a rule reload builds a
//! new one from the files.
//!
//! Each network's scores are kept per category; the most specific network answers for
//! every category it lists, and a category it does not list has no score (Suricata's
//! radix tree answers with the best-matching node the same way).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::file::FileError;

/// Highest category id plus one (Suricata's `SREP_MAX_CATS`).
pub const MAX_CATEGORIES: u8 = 60;
/// Highest score (Suricata refuses larger values).
pub const MAX_SCORE: u8 = 127;

/// The categories file: short name → id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Categories {
    by_name: HashMap<String, u8>,
}

impl Categories {
    /// Reads a categories file.
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let mut c = Self::default();
        for_each_line(path, |n, text| {
            let mut parts = text.splitn(3, ',');
            let id = parts.next().unwrap_or("").trim();
            let name = parts.next().map(str::trim).unwrap_or("");
            let id: u8 = id
                .parse()
                .ok()
                .filter(|&i| i > 0 && i < MAX_CATEGORIES)
                .ok_or_else(|| format!("bad category id '{id}' (1 to {})", MAX_CATEGORIES - 1))?;
            if name.is_empty() {
                return Err("category without a short name".into());
            }
            let _ = n;
            c.by_name.insert(name.to_owned(), id);
            Ok(())
        })?;
        Ok(c)
    }

    /// Categories from (name, id) pairs (tests, and callers that build them otherwise).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, u8)>) -> Self {
        Self {
            by_name: pairs.into_iter().map(|(n, i)| (n.to_owned(), i)).collect(),
        }
    }

    /// The id of category `name`.
    pub fn id(&self, name: &str) -> Option<u8> {
        self.by_name.get(name).copied()
    }

    /// Whether the id is one the file defines.
    pub fn has_id(&self, id: u8) -> bool {
        self.by_name.values().any(|&i| i == id)
    }

    /// Number of categories.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// One network as read: family, first and last address (as 128-bit numbers), and whether
/// it was written as a host (no `/len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Net {
    v6: bool,
    start: u128,
    end: u128,
    host: bool,
}

/// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or network.
fn parse_net(text: &str) -> Result<Net, String> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| format!("bad address '{text}'"))?;
    let (v6, bits, value) = match addr {
        IpAddr::V4(a) => (false, 32u32, u128::from(u32::from(a))),
        IpAddr::V6(a) => (true, 128u32, u128::from(a)),
    };
    let mut len = match len {
        Some(l) => l
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|&l| l <= bits)
            .ok_or_else(|| format!("bad prefix length in '{text}'"))?,
        None => bits,
    };
    // An IPv4-mapped IPv6 address is the IPv4 address (lookups map it so too).
    let (v6, bits, value) = match addr {
        IpAddr::V6(a) if len >= 96 => match a.to_ipv4_mapped() {
            Some(v4) => {
                len -= 96;
                (false, 32, u128::from(u32::from(v4)))
            }
            None => (v6, bits, value),
        },
        _ => (v6, bits, value),
    };
    let host_bits = bits - len;
    let mask: u128 = if host_bits == 0 {
        0
    } else if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    // Suricata keys the network by its address with the host bits cleared.
    let start = value & !mask;
    Ok(Net {
        v6,
        start,
        end: start | mask,
        host: len_text_absent(text),
    })
}

fn len_text_absent(text: &str) -> bool {
    !text.contains('/')
}

/// The reputation table. `Sync`, immutable: shared by every worker.
#[derive(Debug, Default)]
pub struct Reputation {
    /// Hosts (lines without `/len`): (is IPv6, address) → (first score, number of scores).
    hosts: HashMap<(bool, u128), (u32, u32)>,
    v4: Ranges,
    v6: Ranges,
    /// Scores of each network, flattened: (category, score) pairs.
    scores: Vec<(u8, u8)>,
    /// Networks read (after merging lines of the same network).
    networks: usize,
}

#[derive(Debug, Default)]
struct Ranges {
    starts: Vec<u128>,
    /// (end, first score, number of scores) per range.
    info: Vec<(u128, u32, u32)>,
}

impl Ranges {
    fn lookup(&self, x: u128) -> Option<(u32, u32)> {
        let i = self.starts.partition_point(|&s| s <= x).checked_sub(1)?;
        let &(end, off, len) = self.info.get(i)?;
        (x <= end).then_some((off, len))
    }
}

/// Collects reputation lines before [`ReputationBuilder::build`].
#[derive(Debug, Default)]
pub struct ReputationBuilder {
    nets: HashMap<Net, Vec<(u8, u8)>>,
}

impl ReputationBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one reputation file; its categories must be in `categories`.
    pub fn load(&mut self, path: &Path, categories: &Categories) -> Result<(), FileError> {
        for_each_line(path, |_, text| self.add_line(text, categories))
    }

    /// Adds one `ip,category,score` line.
    pub fn add_line(&mut self, text: &str, categories: &Categories) -> Result<(), String> {
        let mut parts = text.split(',');
        let (Some(ip), Some(cat), Some(score), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("expected 'ip,category,score', got '{text}'"));
        };
        let net = parse_net(ip.trim())?;
        let cat: u8 = cat
            .trim()
            .parse()
            .ok()
            .filter(|&c| c < MAX_CATEGORIES && categories.has_id(c))
            .ok_or_else(|| format!("category '{}' is not in the categories file", cat.trim()))?;
        let score: u8 = score
            .trim()
            .parse()
            .ok()
            .filter(|&s| s <= MAX_SCORE)
            .ok_or_else(|| format!("bad score '{}' (0 to {MAX_SCORE})", score.trim()))?;
        let list = self.nets.entry(net).or_default();
        match list.iter_mut().find(|(c, _)| *c == cat) {
            Some(e) => e.1 = score,
            None => list.push((cat, score)),
        }
        Ok(())
    }

    /// The lookup table.
    pub fn build(self) -> Reputation {
        let mut rep = Reputation {
            networks: self.nets.len(),
            ..Reputation::default()
        };
        let mut nets: Vec<(Net, Vec<(u8, u8)>)> = self.nets.into_iter().collect();
        // By start, then widest first, so an enclosing network comes before those inside it.
        nets.sort_by(|a, b| {
            (a.0.v6, a.0.start, std::cmp::Reverse(a.0.end)).cmp(&(
                b.0.v6,
                b.0.start,
                std::cmp::Reverse(b.0.end),
            ))
        });
        let mut offsets = Vec::with_capacity(nets.len());
        for (n, s) in &nets {
            let o = (rep.scores.len() as u32, s.len() as u32);
            offsets.push(o);
            rep.scores.extend_from_slice(s);
            if n.host {
                rep.hosts.insert((n.v6, n.start), o);
            }
        }
        for v6 in [false, true] {
            let items: Vec<(Net, (u32, u32))> = nets
                .iter()
                .zip(&offsets)
                .filter(|((n, _), _)| n.v6 == v6 && !n.host)
                .map(|((n, _), o)| (*n, *o))
                .collect();
            let ranges = flatten(&items);
            let target = if v6 { &mut rep.v6 } else { &mut rep.v4 };
            for (start, end, off) in ranges {
                target.starts.push(start);
                target.info.push((end, off.0, off.1));
            }
        }
        rep
    }
}

/// Disjoint (start, end, owner) ranges from sorted nested-or-disjoint networks, each range
/// owned by the innermost network covering it.
fn flatten(nets: &[(Net, (u32, u32))]) -> Vec<(u128, u128, (u32, u32))> {
    let mut out = Vec::with_capacity(nets.len());
    let mut stack: Vec<(u128, (u32, u32))> = Vec::new();
    // Next address not yet given to a range; None once the top of the space was given.
    let mut cursor: Option<u128> = Some(0);
    let mut emit = |cursor: &mut Option<u128>, end: u128, owner: (u32, u32)| {
        if let Some(c) = *cursor {
            if c <= end {
                out.push((c, end, owner));
            }
        }
        *cursor = end.checked_add(1);
    };
    for &(net, owner) in nets {
        while let Some(&(end, o)) = stack.last() {
            if end >= net.start {
                break;
            }
            emit(&mut cursor, end, o);
            stack.pop();
        }
        if let Some(&(_, o)) = stack.last() {
            if let Some(before) = net.start.checked_sub(1) {
                emit(&mut cursor, before, o);
            }
        }
        cursor = Some(net.start);
        stack.push((net.end, owner));
    }
    while let Some((end, o)) = stack.pop() {
        emit(&mut cursor, end, o);
    }
    out
}

impl Reputation {
    /// The score `addr` has in category `cat`, if any.
    pub fn score(&self, addr: IpAddr, cat: u8) -> Option<u8> {
        let (v6, x) = match addr {
            IpAddr::V4(a) => (false, u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (false, u128::from(u32::from(v4))),
                None => (true, u128::from(a)),
            },
        };
        if let Some(s) = self.hosts.get(&(v6, x)).and_then(|&o| self.find(o, cat)) {
            return Some(s);
        }
        let ranges = if v6 { &self.v6 } else { &self.v4 };
        ranges.lookup(x).and_then(|o| self.find(o, cat))
    }

    fn find(&self, (off, len): (u32, u32), cat: u8) -> Option<u8> {
        let list = self
            .scores
            .get(off as usize..(off as usize).saturating_add(len as usize))?;
        list.iter().find(|(c, _)| *c == cat).map(|(_, s)| *s)
    }

    /// Networks listed (lines of the same network merged).
    pub fn networks(&self) -> usize {
        self.networks
    }
}

/// The reputation configuration, resolved: the categories file and the reputation files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReputationConfig {
    /// `reputation-categories-file`
    pub categories_file: Option<PathBuf>,
    /// `reputation-files`, paths resolved.
    pub files: Vec<PathBuf>,
}

/// Categories and table, loaded together.
#[derive(Debug, Default)]
pub struct IpReputation {
    /// The categories.
    pub categories: Categories,
    /// The table.
    pub table: Reputation,
}

impl IpReputation {
    /// Loads `config`'s files. Without a categories file there is no reputation (and rules
    /// using `iprep` are refused for it).
    pub fn load(config: &ReputationConfig) -> Result<Self, FileError> {
        let Some(cats) = &config.categories_file else {
            return Ok(Self::default());
        };
        let categories = Categories::load(cats)?;
        let mut b = ReputationBuilder::new();
        for f in &config.files {
            b.load(f, &categories)?;
        }
        Ok(Self {
            categories,
            table: b.build(),
        })
    }
}

/// Calls `f` with each line of `path` that is not empty or a `#` comment (1-based number).
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(u64, &str) -> Result<(), String>,
) -> Result<(), FileError> {
    let io = |e: std::io::Error| FileError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let n = i as u64 + 1;
        f(n, text).map_err(|reason| FileError::Line {
            path: path.to_owned(),
            line: n,
            reason,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Categories {
        Categories::from_pairs([("test", 1), ("other", 2)])
    }

    fn table(lines: &[&str]) -> Reputation {
        let c = cats();
        let mut b = ReputationBuilder::new();
        for l in lines {
            b.add_line(l, &c).unwrap();
        }
        b.build()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn hosts_and_networks() {
        let t = table(&["192.168.0.13/24,1,0", "4.4.4.4,1,100", "10.0.0.0/8,2,5"]);
        assert_eq!(t.score(ip("192.168.0.1"), 1), Some(0));
        assert_eq!(t.score(ip("192.168.0.255"), 1), Some(0));
        assert_eq!(t.score(ip("192.168.1.0"), 1), None);
        assert_eq!(t.score(ip("192.167.255.255"), 1), None);
        assert_eq!(t.score(ip("4.4.4.4"), 1), Some(100));
        assert_eq!(t.score(ip("4.4.4.5"), 1), None);
        assert_eq!(t.score(ip("4.4.4.4"), 2), None);
        assert_eq!(t.score(ip("10.255.255.255"), 2), Some(5));
        assert_eq!(t.score(ip("::ffff:4.4.4.4"), 1), Some(100));
        let t = table(&["::ffff:5.5.5.5,1,3", "::ffff:6.6.0.0/112,1,4"]);
        assert_eq!(t.score(ip("5.5.5.5"), 1), Some(3));
        assert_eq!(t.score(ip("6.6.1.1"), 1), Some(4));
    }

    #[test]
    fn the_innermost_network_answers() {
        let t = table(&[
            "10.0.0.0/8,1,1",
            "10.1.0.0/16,1,2",
            "10.1.2.3,1,3",
            "10.1.2.3,2,9",
            "10.200.0.0/16,1,4",
        ]);
        assert_eq!(t.score(ip("10.0.0.0"), 1), Some(1));
        assert_eq!(t.score(ip("10.0.255.255"), 1), Some(1));
        assert_eq!(t.score(ip("10.1.0.0"), 1), Some(2));
        assert_eq!(t.score(ip("10.1.2.2"), 1), Some(2));
        assert_eq!(t.score(ip("10.1.2.3"), 1), Some(3));
        assert_eq!(t.score(ip("10.1.2.3"), 2), Some(9));
        assert_eq!(t.score(ip("10.1.2.4"), 1), Some(2));
        assert_eq!(t.score(ip("10.2.0.0"), 1), Some(1));
        assert_eq!(t.score(ip("10.200.1.1"), 1), Some(4));
        assert_eq!(t.score(ip("10.255.255.255"), 1), Some(1));
        assert_eq!(t.score(ip("11.0.0.0"), 1), None);
        // A host without a score in the category falls back to its networks.
        let t = table(&["192.0.2.9,2,50", "192.0.2.0/24,1,7", "192.0.2.8/32,1,9"]);
        assert_eq!(t.score(ip("192.0.2.9"), 1), Some(7));
        assert_eq!(t.score(ip("192.0.2.9"), 2), Some(50));
        assert_eq!(t.score(ip("192.0.2.8"), 1), Some(9));
        assert_eq!(t.score(ip("192.0.2.8"), 2), None);
    }

    #[test]
    fn address_space_edges() {
        let t = table(&[
            "0.0.0.0/0,2,7",
            "255.255.255.255,1,1",
            "::/0,1,3",
            "2001:db8::/32,1,4",
        ]);
        assert_eq!(t.score(ip("0.0.0.0"), 2), Some(7));
        assert_eq!(t.score(ip("255.255.255.254"), 2), Some(7));
        assert_eq!(t.score(ip("255.255.255.255"), 1), Some(1));
        // The host has no score in category 2: its networks answer.
        assert_eq!(t.score(ip("255.255.255.255"), 2), Some(7));
        assert_eq!(
            t.score(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1),
            Some(3)
        );
        assert_eq!(t.score(ip("2001:db8:ffff::1"), 1), Some(4));
        assert_eq!(t.score(ip("2001:db9::"), 1), Some(3));
        assert_eq!(t.score(ip("::"), 1), Some(3));
    }

    #[test]
    fn bad_lines_refused() {
        let c = cats();
        let mut b = ReputationBuilder::new();
        assert!(b
            .add_line("1.2.3.4,7,1", &c)
            .unwrap_err()
            .contains("not in the categories"));
        assert!(b
            .add_line("1.2.3.4,1,128", &c)
            .unwrap_err()
            .contains("bad score"));
        assert!(b
            .add_line("1.2.3.4/33,1,1", &c)
            .unwrap_err()
            .contains("prefix"));
        assert!(b
            .add_line("1.2.3,1,1", &c)
            .unwrap_err()
            .contains("bad address"));
        assert!(b.add_line("1.2.3.4,1", &c).is_err());
        // A later line for the same network and category replaces the score.
        b.add_line("1.2.3.4,1,5", &c).unwrap();
        b.add_line("1.2.3.4,1,6", &c).unwrap();
        assert_eq!(b.build().score(ip("1.2.3.4"), 1), Some(6));
    }

    #[test]
    fn many_entries_stay_ordered() {
        let c = cats();
        let mut b = ReputationBuilder::new();
        for i in 0..100_000u32 {
            let a = std::net::Ipv4Addr::from(i * 7 + 1);
            b.add_line(&format!("{a},1,{}", i % 128), &c).unwrap();
        }
        let t = b.build();
        assert_eq!(t.networks(), 100_000);
        for i in (0..100_000u32).step_by(997) {
            assert_eq!(
                t.score(IpAddr::V4((i * 7 + 1).into()), 1),
                Some((i % 128) as u8)
            );
            assert_eq!(t.score(IpAddr::V4((i * 7 + 2).into()), 1), None);
        }
    }
}
