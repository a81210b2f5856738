//! What a bundle's files must hold, and what their entries count.
//!
//! Rule sets count enabled rules: logical lines of the rule files (a line ending in `\`
//! continues on the next) that are neither blank nor `#` comments. IOC sets count entries,
//! each line of the IOC file parsed and checked. The acceptance policy compares these counts
//! (empty, drastically smaller); the sensor's rule loader and IOC matcher judge the rest.

use std::collections::BTreeMap;

use crate::format::{BundleFile, FormatError};
use crate::manifest::{Kind, Role};

/// Enabled rules in a rule file's text.
pub fn count_rules(text: &str) -> u64 {
    let mut n = 0;
    let mut continued = false;
    for line in text.lines() {
        let l = line.trim();
        let starts_rule = !continued && !l.is_empty() && !l.starts_with('#');
        if starts_rule {
            n += 1;
        }
        continued = (continued || starts_rule) && l.ends_with('\\');
    }
    n
}

/// Whether `name` is a rule variable name.
fn valid_var_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Checks a variables file: `NAME=VALUE` lines, `#` comments.
pub fn check_vars(text: &str) -> Result<(), String> {
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match l.split_once('=') {
            Some((n, v)) if valid_var_name(n.trim()) && !v.trim().is_empty() => {}
            _ => return Err(format!("line {}: expected NAME=VALUE", i + 1)),
        }
    }
    Ok(())
}

fn text(f: &BundleFile) -> Result<&str, FormatError> {
    std::str::from_utf8(&f.data).map_err(|e| FormatError::BadContent {
        name: f.entry.name.clone(),
        reason: format!("not UTF-8 text ({e})"),
    })
}

/// The entries of `files` and their counts by rule file or by IOC type.
pub fn counts(
    kind: Kind,
    files: &[BundleFile],
) -> Result<(u64, BTreeMap<String, u64>), FormatError> {
    let mut by = BTreeMap::new();
    let mut total = 0u64;
    for f in files {
        let bad = |reason: String| FormatError::BadContent {
            name: f.entry.name.clone(),
            reason,
        };
        if f.entry.role.kind() != kind {
            return Err(bad(format!(
                "role {} in a {kind} bundle",
                f.entry.role.as_str()
            )));
        }
        match f.entry.role {
            Role::Rules => {
                let n = count_rules(text(f)?);
                by.insert(f.entry.name.clone(), n);
                total += n;
            }
            Role::Classification | Role::Threshold => {
                text(f)?;
            }
            Role::Vars => check_vars(text(f)?).map_err(bad)?,
            Role::Ioc => {
                let entries =
                    crate::ioc::parse_json_lines(text(f)?).map_err(|e| bad(e.to_string()))?;
                for e in &entries {
                    *by.entry(e.ioc_type.as_str().to_owned()).or_insert(0) += 1;
                }
                total += entries.len() as u64;
            }
        }
    }
    Ok((total, by))
}

/// The entries of `files` (rules or IOC entries).
pub fn count_entries(kind: Kind, files: &[BundleFile]) -> Result<u64, FormatError> {
    counts(kind, files).map(|(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_counted_by_logical_line() {
        let t = "# comment\n\nalert tcp any any -> any any (sid:1;)\n\
                 # alert tcp any any -> any any (sid:2;)\n\
                 alert udp any any -> any any (msg:\"x\"; \\\n  sid:3;)\n  \n";
        assert_eq!(count_rules(t), 2);
        assert_eq!(count_rules(""), 0);
    }

    #[test]
    fn vars_are_checked() {
        assert!(check_vars("# c\nHOME_NET=[10.0.0.0/8]\n EXTERNAL_NET = !$HOME_NET\n").is_ok());
        assert!(check_vars("HOME NET=x\n").is_err());
        assert!(check_vars("HOME_NET=\n").is_err());
        assert!(check_vars("1X=y\n").is_err());
    }
}
