//! Address and port set algebra over sorted inclusive ranges, and the resolution of header
//! expressions (with variables) into [`AddressSet`]s and [`PortSet`]s.
//!
//! A list `[a, b, !c, ...]` is the union of its positive members (every address when it has
//! none) minus the union of its negated members, as in Suricata; `!x` is the complement of
//! `x`. An expression that matches nothing (`!any`, `[1.2.3.4,!1.2.3.4]`) is an error.

use crate::ast::{AddrExpr, AddrRange, PortExpr};
use crate::signature::{AddressSet, PortSet};
use crate::vars::Vars;

/// Integer types ranges are made of.
pub(crate) trait Bound: Copy + Ord {
    const MIN: Self;
    const MAX: Self;
    fn succ(self) -> Option<Self>;
    fn pred(self) -> Option<Self>;
}

macro_rules! bound {
    ($t:ty) => {
        impl Bound for $t {
            const MIN: Self = <$t>::MIN;
            const MAX: Self = <$t>::MAX;
            fn succ(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn pred(self) -> Option<Self> {
                self.checked_sub(1)
            }
        }
    };
}
bound!(u16);
bound!(u32);
bound!(u128);

/// Sorts and merges overlapping or adjacent ranges.
pub(crate) fn normalize<T: Bound>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        if let Some(last) = out.last_mut() {
            if last.1.succ().is_none_or(|n| a <= n) {
                if b > last.1 {
                    last.1 = b;
                }
                continue;
            }
        }
        out.push((a, b));
    }
    out
}

/// The complement of normalised ranges.
pub(crate) fn complement<T: Bound>(v: &[(T, T)]) -> Vec<(T, T)> {
    let mut out = Vec::with_capacity(v.len() + 1);
    let mut next = Some(T::MIN);
    for &(a, b) in v {
        if let Some(n) = next {
            if a > n {
                if let Some(p) = a.pred() {
                    out.push((n, p));
                }
            }
        }
        next = b.succ();
    }
    if let Some(n) = next {
        out.push((n, T::MAX));
    }
    out
}

/// `a` minus `b` (both normalised).
pub(crate) fn difference<T: Bound>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let nb = complement(b);
    intersect(a, &nb)
}

fn intersect<T: Bound>(a: &[(T, T)], b: &[(T, T)]) -> Vec<(T, T)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while let (Some(&(a0, a1)), Some(&(b0, b1))) = (a.get(i), b.get(j)) {
        let lo = a0.max(b0);
        let hi = a1.min(b1);
        if lo <= hi {
            out.push((lo, hi));
        }
        if a1 < b1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Most nested variable expansions.
const MAX_VAR_DEPTH: usize = 16;

struct Resolver<'a> {
    vars: &'a Vars,
    stack: Vec<String>,
}

impl<'a> Resolver<'a> {
    fn enter(&mut self, name: &str) -> Result<&'a str, String> {
        if self.stack.iter().any(|n| n == name) {
            return Err(format!(
                "variable ${name} refers to itself (through {})",
                self.stack
                    .iter()
                    .map(|n| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ));
        }
        if self.stack.len() >= MAX_VAR_DEPTH {
            return Err(format!(
                "variable ${name} nested more than {MAX_VAR_DEPTH} levels deep"
            ));
        }
        let value = self
            .vars
            .get(name)
            .ok_or_else(|| format!("undefined variable ${name}"))?;
        self.stack.push(name.to_string());
        Ok(value)
    }

    fn addr(&mut self, e: &AddrExpr) -> Result<AddressSet, String> {
        Ok(match e {
            AddrExpr::Any => AddressSet::any(),
            AddrExpr::Range(AddrRange::V4(a, b)) => AddressSet {
                v4: vec![(*a, *b)],
                v6: Vec::new(),
            },
            AddrExpr::Range(AddrRange::V6(a, b)) => AddressSet {
                v4: Vec::new(),
                v6: vec![(*a, *b)],
            },
            AddrExpr::Not(inner) => {
                let s = self.addr(inner)?;
                AddressSet {
                    v4: complement(&s.v4),
                    v6: complement(&s.v6),
                }
            }
            AddrExpr::List(items) => {
                let (mut pos4, mut pos6, mut neg4, mut neg6) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut any_pos = false;
                for it in items {
                    if let AddrExpr::Not(inner) = it {
                        let s = self.addr(inner)?;
                        neg4.extend(s.v4);
                        neg6.extend(s.v6);
                    } else {
                        any_pos = true;
                        let s = self.addr(it)?;
                        pos4.extend(s.v4);
                        pos6.extend(s.v6);
                    }
                }
                if !any_pos {
                    pos4.push((0, u32::MAX));
                    pos6.push((0, u128::MAX));
                }
                AddressSet {
                    v4: difference(&normalize(pos4), &normalize(neg4)),
                    v6: difference(&normalize(pos6), &normalize(neg6)),
                }
            }
            AddrExpr::Var(name) => {
                let value = self.enter(name)?;
                let parsed = crate::parse::parse_addr_text(value)
                    .map_err(|m| format!("variable ${name}: {m}"))?;
                let s = self.addr(&parsed)?;
                self.stack.pop();
                s
            }
        })
    }

    fn ports(&mut self, e: &PortExpr) -> Result<Vec<(u16, u16)>, String> {
        Ok(match e {
            PortExpr::Any => vec![(0, u16::MAX)],
            PortExpr::Range(a, b) => vec![(*a, *b)],
            PortExpr::Not(inner) => complement(&self.ports(inner)?),
            PortExpr::List(items) => {
                let (mut pos, mut neg) = (Vec::new(), Vec::new());
                let mut any_pos = false;
                for it in items {
                    if let PortExpr::Not(inner) = it {
                        neg.extend(self.ports(inner)?);
                    } else {
                        any_pos = true;
                        pos.extend(self.ports(it)?);
                    }
                }
                if !any_pos {
                    pos.push((0, u16::MAX));
                }
                difference(&normalize(pos), &normalize(neg))
            }
            PortExpr::Var(name) => {
                let value = self.enter(name)?;
                let parsed = crate::parse::parse_ports_text(value)
                    .map_err(|m| format!("variable ${name}: {m}"))?;
                let s = self.ports(&parsed)?;
                self.stack.pop();
                s
            }
        })
    }
}

/// Resolves an address expression. Errors name the problem (undefined or looping variable,
/// empty set).
pub fn resolve_addr(e: &AddrExpr, vars: &Vars) -> Result<AddressSet, String> {
    if let AddrExpr::Not(inner) = e {
        if **inner == AddrExpr::Any {
            return Err("'!any' matches no address".into());
        }
    }
    let mut r = Resolver {
        vars,
        stack: Vec::new(),
    };
    let s = r.addr(e)?;
    let s = AddressSet {
        v4: normalize(s.v4),
        v6: normalize(s.v6),
    };
    if s.v4.is_empty() && s.v6.is_empty() {
        return Err("the address expression matches no address".into());
    }
    Ok(s)
}

/// Resolves a port expression.
pub fn resolve_ports(e: &PortExpr, vars: &Vars) -> Result<PortSet, String> {
    if let PortExpr::Not(inner) = e {
        if **inner == PortExpr::Any {
            return Err("'!any' matches no port".into());
        }
    }
    let mut r = Resolver {
        vars,
        stack: Vec::new(),
    };
    let ranges = normalize(r.ports(e)?);
    if ranges.is_empty() {
        return Err("the port expression matches no port".into());
    }
    Ok(PortSet { ranges })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(s: &str) -> Result<Vec<(u16, u16)>, String> {
        let e = crate::parse::parse_ports_text(s)?;
        resolve_ports(&e, &Vars::suricata_defaults()).map(|p| p.ranges)
    }

    fn addrs(s: &str, vars: &Vars) -> Result<AddressSet, String> {
        let e = crate::parse::parse_addr_text(s)?;
        resolve_addr(&e, vars)
    }

    fn ip4(s: &str) -> u32 {
        u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
    }

    #[test]
    fn port_algebra() {
        assert_eq!(ports("[1:80,!53]").unwrap(), vec![(1, 52), (54, 80)]);
        assert_eq!(ports("!80").unwrap(), vec![(0, 79), (81, 65535)]);
        assert_eq!(ports("1024:").unwrap(), vec![(1024, 65535)]);
        assert_eq!(ports(":1023").unwrap(), vec![(0, 1023)]);
        assert_eq!(ports("[80,81,82:90]").unwrap(), vec![(80, 90)]);
        assert_eq!(
            ports("[!80,!443]").unwrap(),
            vec![(0, 79), (81, 442), (444, 65535)]
        );
        assert_eq!(
            ports("$FILE_DATA_PORTS").unwrap(),
            vec![(80, 80), (110, 110), (143, 143)]
        );
        assert_eq!(
            ports("$SHELLCODE_PORTS").unwrap(),
            vec![(0, 79), (81, 65535)]
        );
        assert!(ports("!any").is_err());
        assert!(ports("[80,!80]").is_err());
        assert!(ports("$NOPE")
            .unwrap_err()
            .contains("undefined variable $NOPE"));
        assert_eq!(
            ports("[1:10,![2:9,!5]]").unwrap(),
            vec![(1, 1), (5, 5), (10, 10)]
        );
    }

    #[test]
    fn address_algebra() {
        let v = Vars::suricata_defaults();
        let home = addrs("$HOME_NET", &v).unwrap();
        assert_eq!(
            home.v4,
            vec![
                (ip4("10.0.0.0"), ip4("10.255.255.255")),
                (ip4("172.16.0.0"), ip4("172.31.255.255")),
                (ip4("192.168.0.0"), ip4("192.168.255.255"))
            ]
        );
        assert!(home.v6.is_empty());
        let ext = addrs("$EXTERNAL_NET", &v).unwrap();
        assert!(ext.contains("8.8.8.8".parse().unwrap()));
        assert!(!ext.contains("10.1.1.1".parse().unwrap()));
        assert!(ext.contains("::1".parse().unwrap()));
        let s = addrs("[10.0.0.0/8,!10.1.0.0/16]", &v).unwrap();
        assert!(
            s.contains("10.2.0.1".parse().unwrap()) && !s.contains("10.1.0.1".parse().unwrap())
        );
        let s = addrs("[1.0.0.0/8,![1.2.0.0/16,!1.2.3.0/24]]", &v).unwrap();
        assert!(s.contains("1.2.3.4".parse().unwrap()));
        assert!(!s.contains("1.2.4.4".parse().unwrap()));
        assert!(s.contains("1.3.0.0".parse().unwrap()));
        let s = addrs("1.2.3.0/255.255.255.0", &v).unwrap();
        assert_eq!(s.v4, vec![(ip4("1.2.3.0"), ip4("1.2.3.255"))]);
        let s = addrs("2001:db8::/32", &v).unwrap();
        assert!(s.contains("2001:db8::1".parse().unwrap()) && s.v4.is_empty());
        assert!(addrs("!any", &v).is_err());
        assert!(addrs("[1.2.3.4,!1.2.3.4]", &v).is_err());
        assert!(addrs("any", &v).unwrap().is_any());
    }

    #[test]
    fn variables_loop_and_depth() {
        let mut v = Vars::default();
        v.set("A", "$B");
        v.set("B", "[1.2.3.4,$A]");
        assert!(addrs("$A", &v).unwrap_err().contains("refers to itself"));
        let mut v = Vars::default();
        for i in 0..20 {
            v.set(&format!("V{i}"), &format!("$V{}", i + 1));
        }
        v.set("V20", "1.2.3.4");
        assert!(addrs("$V0", &v).unwrap_err().contains("levels deep"));
        assert!(addrs("$V10", &v).is_ok());
        v.set("BAD", "[1.2.3.4");
        assert!(addrs("$BAD", &v).unwrap_err().contains("variable $BAD"));
    }
}
