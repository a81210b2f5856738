//! Loading rule files: parse, lower, keep duplicates out, report every rejection.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crate::classification::Classifications;
use crate::lower::{lower_rule_cached, HeaderCache};
use crate::parse::{parse_rule, split_rules, Item};
use crate::signature::{Signature, SourceLocation};
use crate::vars::Vars;

/// What rules are resolved against.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Rule variables.
    pub vars: Vars,
    /// Classtypes.
    pub classifications: Classifications,
}

impl LoadOptions {
    /// Suricata's default variables and classtypes.
    pub fn suricata_defaults() -> Self {
        Self {
            vars: Vars::suricata_defaults(),
            classifications: Classifications::suricata_defaults(),
        }
    }
}

/// A rule that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The rule file.
    pub file: String,
    /// 1-based line (of the offending option where known, else of the rule).
    pub line: u32,
    /// The rule's sid, when it could be read.
    pub sid: Option<u32>,
    /// The keyword that could not be honoured, when one is to blame.
    pub keyword: Option<String>,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.file, self.line)?;
        if let Some(sid) = self.sid {
            write!(f, " sid {sid}:")?;
        }
        if let Some(k) = &self.keyword {
            write!(f, " {k}:")?;
        }
        write!(f, " {}", self.reason)
    }
}

impl std::error::Error for Rejection {}

/// The result of loading rules.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// The loaded signatures, in load order.
    pub signatures: Vec<Signature>,
    /// Every rule not loaded.
    pub rejections: Vec<Rejection>,
    /// Commented-out rules seen (`# alert ...`).
    pub disabled: usize,
    /// Files read.
    pub files: usize,
    /// (gid, sid) → index in `signatures`, kept between [`load_rules_text`] calls; rebuilt
    /// when `signatures` was changed by the caller.
    index: DupIndex,
}

/// The duplicate index of a [`LoadReport`], valid while `len` equals the signature count.
#[derive(Debug, Clone, Default)]
struct DupIndex {
    map: Index,
    len: usize,
}

/// Index of loaded signatures by (gid, sid).
type Index = HashMap<(u32, u32), usize>;

fn index_of(signatures: &[Signature]) -> Index {
    signatures
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.id.gid, s.id.sid), i))
        .collect()
}

/// Loads the rules of one file's text into `report`.
///
/// A rule whose gid:sid is already loaded replaces it only with a higher rev (Suricata keeps
/// the higher revision and, on a tie, the first one loaded); the one not kept is reported as
/// a rejection.
pub fn load_rules_text(file_name: &str, text: &str, opts: &LoadOptions, report: &mut LoadReport) {
    let mut index = std::mem::take(&mut report.index.map);
    let stale = report.index.len != report.signatures.len()
        || index.len() > report.signatures.len()
        || report
            .signatures
            .iter()
            .rev()
            .take(1)
            .any(|s| index.get(&(s.id.gid, s.id.sid)) != Some(&(report.signatures.len() - 1)));
    if stale {
        index = index_of(&report.signatures);
    }
    load_into(
        file_name,
        text,
        opts,
        report,
        &mut index,
        &mut HeaderCache::default(),
    );
    report.index = DupIndex {
        map: index,
        len: report.signatures.len(),
    };
}

fn load_into(
    file_name: &str,
    text: &str,
    opts: &LoadOptions,
    report: &mut LoadReport,
    index: &mut Index,
    cache: &mut HeaderCache,
) {
    report.files += 1;
    for item in split_rules(text) {
        let (rule_text, line) = match item {
            Item::Disabled { .. } => {
                report.disabled += 1;
                continue;
            }
            Item::Rule { text, line } => (text, line),
        };
        let rule = match parse_rule(rule_text) {
            Ok(r) => r,
            Err(e) => {
                report.rejections.push(Rejection {
                    file: file_name.to_string(),
                    line: line.saturating_add(e.pos.line.saturating_sub(1)),
                    sid: sid_of_text(rule_text),
                    keyword: None,
                    reason: format!("syntax error at column {}: {}", e.pos.column, e.message),
                });
                continue;
            }
        };
        let location = SourceLocation {
            file: file_name.to_string(),
            line,
        };
        match lower_rule_cached(&rule, opts, location, cache) {
            Ok(sig) => add(sig, report, index),
            Err(r) => report.rejections.push(r),
        }
    }
}

fn add(sig: Signature, report: &mut LoadReport, index: &mut Index) {
    let key = (sig.id.gid, sig.id.sid);
    let points_right =
        |at: usize, sigs: &[Signature]| sigs.get(at).is_some_and(|s| (s.id.gid, s.id.sid) == key);
    if index
        .get(&key)
        .is_some_and(|&at| !points_right(at, &report.signatures))
    {
        // The caller changed `signatures` between loads: start over.
        *index = index_of(&report.signatures);
    }
    let Some(&at) = index.get(&key) else {
        index.insert(key, report.signatures.len());
        report.signatures.push(sig);
        return;
    };
    let Some(old) = report.signatures.get_mut(at) else {
        return;
    };
    let (kept_at, kept_rev, dropped) = if sig.id.rev > old.id.rev {
        let dropped = std::mem::replace(old, sig);
        (old.location.clone(), old.id.rev, dropped)
    } else {
        (old.location.clone(), old.id.rev, sig)
    };
    report.rejections.push(Rejection {
        file: dropped.location.file.clone(),
        line: dropped.location.line,
        sid: Some(dropped.id.sid),
        keyword: Some("sid".into()),
        reason: format!(
            "duplicate signature {}:{} rev {}: rev {kept_rev} from {kept_at} is kept (the higher revision, or the first loaded)",
            dropped.id.gid, dropped.id.sid, dropped.id.rev
        ),
    });
}

/// The sid of a rule that failed to parse, read leniently for the report.
pub(crate) fn sid_of_text(text: &str) -> Option<u32> {
    let mut rest = text;
    while let Some(i) = rest.find("sid") {
        let before = rest.get(..i).and_then(|b| b.chars().last());
        let after = rest.get(i + 3..)?;
        rest = after;
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let after = after.trim_start();
        if let Some(v) = after.strip_prefix(':') {
            let digits: String = v
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
    }
    None
}

/// Loads rule files in order.
pub fn load_rule_files(
    paths: &[PathBuf],
    opts: &LoadOptions,
) -> Result<LoadReport, std::io::Error> {
    let mut report = LoadReport::default();
    let mut index = Index::new();
    let mut cache = HeaderCache::default();
    for p in paths {
        let bytes = std::fs::read(p)?;
        let text = String::from_utf8_lossy(&bytes);
        load_into(
            &p.display().to_string(),
            &text,
            opts,
            &mut report,
            &mut index,
            &mut cache,
        );
    }
    Ok(report)
}
