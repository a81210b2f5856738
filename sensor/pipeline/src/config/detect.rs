//! `[detect]`: signature detection settings.
//!
//! Rule files are named like Suricata's `default-rule-path` + `rule-files`: `rule_path` is the
//! directory relative names are resolved against, and each entry of `rule_files` may hold the
//! wildcards `*` and `?` in its file name. Variables (`[detect.vars]`) are merged over
//! Suricata's default address and port groups by the rule loader. Relative paths in
//! `classification_file`, `threshold_file` and `cache_dir` are resolved against the directory
//! of the configuration file.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use super::nz;

/// `[detect]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectSection {
    /// Directory that relative `rule_files` are resolved against (Suricata's
    /// `default-rule-path`). When unset, the directory of the configuration file.
    pub rule_path: Option<PathBuf>,
    /// Rule files to load, in order; `*` and `?` are allowed in the file name part.
    pub rule_files: Vec<String>,
    /// `classification.config` mapping classtypes to category text and priority; when unset,
    /// Suricata's standard table built into tapwatch.
    pub classification_file: Option<PathBuf>,
    /// `threshold.config` with suppress, threshold and rate_filter entries; none when unset.
    pub threshold_file: Option<PathBuf>,
    /// Keep compiled pattern databases on disk so that a restart with unchanged rules skips
    /// the compilation.
    pub cache: bool,
    /// Where the cache lives; when unset, `$TAPWATCH_CACHE_DIR`, else `$XDG_CACHE_HOME/tapwatch`,
    /// else `~/.cache/tapwatch`.
    pub cache_dir: Option<PathBuf>,
    /// The multi-pattern prefilter: `hyperscan`, or `reference` (pure Rust, every rule of a
    /// group is verified; slow, for cross-checking the engine).
    pub prefilter: PrefilterName,
    /// Address and port groups (`HOME_NET = "[10.0.0.0/8]"`, `HTTP_PORTS = "[80,8080]"`),
    /// merged over Suricata's defaults.
    pub vars: BTreeMap<VarName, String>,
    /// `[detect.alert]`: what alert records carry.
    pub alert: AlertSection,
    /// `[detect.limits]`: bounds on the detection state tables.
    pub limits: DetectLimitsSection,
    /// A live rule reload that would run fewer rules than this share of the running ones is
    /// refused (a truncated download, a lost include): the running rules stay. 0 turns the
    /// check off.
    pub reload_min_percent: Percent,
}

/// A whole percentage, 0 to 100.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percent(u8);

impl Percent {
    /// The percentage.
    pub fn get(self) -> u8 {
        self.0
    }

    /// `p` percent, when `p` is at most 100.
    pub fn new(p: u8) -> Option<Self> {
        (p <= 100).then_some(Self(p))
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(d)?;
        u8::try_from(n)
            .ok()
            .filter(|&p| p <= 100)
            .map(Percent)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{n} is not a percentage: give a whole number from 0 to 100"
                ))
            })
    }
}

impl Default for DetectSection {
    fn default() -> Self {
        Self {
            rule_path: None,
            rule_files: Vec::new(),
            classification_file: None,
            threshold_file: None,
            cache: true,
            cache_dir: None,
            prefilter: PrefilterName::Hyperscan,
            vars: BTreeMap::new(),
            alert: AlertSection::default(),
            limits: DetectLimitsSection::default(),
            reload_min_percent: Percent(50),
        }
    }
}

/// The prefilter that picks candidate rules before full verification.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PrefilterName {
    /// Hyperscan literal databases, one per inspection buffer.
    #[default]
    Hyperscan,
    /// No prefilter: the pure-Rust reference that verifies every rule of a group.
    Reference,
}

/// `[detect.alert]`: optional parts of EVE alert records. Suricata 8's defaults.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSection {
    /// `payload`: the triggering packet's payload (or stream segment), base64.
    pub payload: bool,
    /// `payload_printable`: the same payload, non-printable bytes shown as `.`.
    pub payload_printable: bool,
    /// `packet`: the whole triggering packet, base64.
    pub packet: bool,
    /// The rule's `metadata` and the flow's application-layer object (`http`, `dns`, `tls`...).
    pub metadata: bool,
}

impl Default for AlertSection {
    fn default() -> Self {
        Self {
            payload: false,
            payload_printable: false,
            packet: false,
            metadata: true,
        }
    }
}

/// `[detect.limits]`
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DetectLimitsSection {
    /// Threshold and detection_filter trackers (one per rule and tracked address) held at
    /// most per worker; past this, new trackers are refused and counted.
    pub threshold_entries: NonZeroUsize,
    /// xbits (per host, host pair or IP pair) held at most per worker; past this, new ones
    /// are refused and counted.
    pub xbits_entries: NonZeroUsize,
}

impl Default for DetectLimitsSection {
    fn default() -> Self {
        Self {
            threshold_entries: nz(65_536),
            xbits_entries: nz(65_536),
        }
    }
}

/// A rule variable's name: letters, digits and `_`, not starting with a digit (`HOME_NET`).
/// Written without the `$` that rules put in front of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VarName(String);

impl VarName {
    /// Checks `name`; the error says what is wrong.
    pub fn new(name: &str) -> Result<Self, String> {
        let name = name.strip_prefix('$').unwrap_or(name);
        let mut chars = name.chars();
        let valid = match chars.next() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            }
            _ => false,
        };
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "invalid variable name {name:?}: expected letters, digits and '_', \
                 not starting with a digit (for example HOME_NET)"
            ))
        }
    }

    /// The name, without `$`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VarName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VarName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        VarName::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Parses a command-line `NAME=VALUE` variable assignment.
pub fn parse_var_assignment(s: &str) -> Result<(VarName, String), String> {
    let (name, value) = s.split_once('=').ok_or_else(|| {
        format!("expected NAME=VALUE (for example HOME_NET=[10.0.0.0/8]), got {s:?}")
    })?;
    let name = VarName::new(name.trim())?;
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("variable {name} has an empty value"));
    }
    Ok((name, value.to_owned()))
}

/// Why rule file names could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleFileError {
    /// A wildcard outside the last path component.
    WildcardInDirectory(String),
    /// A pattern that matches no file.
    NoMatch(String),
    /// The directory of a pattern, or a directory given as a rule path, cannot be listed.
    Unreadable {
        /// The directory.
        dir: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WildcardInDirectory(p) => write!(
                f,
                "rule file pattern {p:?}: wildcards are allowed only in the file name, not in directories"
            ),
            Self::NoMatch(p) => write!(f, "rule file pattern {p:?} matches no file"),
            Self::Unreadable { dir, reason } => {
                write!(f, "cannot list rule directory {}: {reason}", dir.display())
            }
        }
    }
}

impl std::error::Error for RuleFileError {}

impl DetectSection {
    /// The rule files named by `rule_files`, resolved against `rule_path` (or `config_dir`, the
    /// configuration file's directory, when `rule_path` is unset) with wildcards expanded
    /// (matches sorted by name). Files that do not exist are kept: the loader reports them.
    pub fn rule_file_paths(
        &self,
        config_dir: Option<&Path>,
    ) -> Result<Vec<PathBuf>, RuleFileError> {
        let base = self.rule_path.as_deref().or(config_dir);
        let mut out = Vec::new();
        for entry in &self.rule_files {
            let path = Path::new(entry);
            let path = match base {
                Some(b) if path.is_relative() => b.join(path),
                _ => path.to_path_buf(),
            };
            out.extend(expand_rule_path(&path)?);
        }
        Ok(out)
    }
}

/// Expands one rule path as given on the command line or in `rule_files`: a directory means
/// every `*.rules` file in it; a name with `*` or `?` is matched against its directory's
/// entries; anything else is returned as is.
pub fn expand_rule_path(path: &Path) -> Result<Vec<PathBuf>, RuleFileError> {
    let text = path.to_string_lossy();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let has_wild = |s: &str| s.contains(['*', '?']);
    if let Some(d) = dir {
        if has_wild(&d.to_string_lossy()) {
            return Err(RuleFileError::WildcardInDirectory(text.into_owned()));
        }
    }
    let (dir, pattern) = match name {
        Some(n) if has_wild(&n) => (dir.unwrap_or(Path::new(".")).to_path_buf(), n),
        _ if path.is_dir() => (path.to_path_buf(), "*.rules".to_owned()),
        _ => return Ok(vec![path.to_path_buf()]),
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| RuleFileError::Unreadable {
        dir: dir.clone(),
        reason: e.to_string(),
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
        .filter(|e| {
            wildcard_match(
                pattern.as_bytes(),
                e.file_name().to_string_lossy().as_bytes(),
            )
        })
        .map(|e| e.path())
        .collect();
    if found.is_empty() {
        return Err(RuleFileError::NoMatch(text.into_owned()));
    }
    found.sort();
    Ok(found)
}

/// Whether `name` matches `pattern`, where `*` is any run of bytes and `?` any one byte.
fn wildcard_match(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative matcher with one backtrack point: linear in practice, never recursive.
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn wildcards() {
        assert!(wildcard_match(b"*.rules", b"emerging-dns.rules"));
        assert!(!wildcard_match(b"*.rules", b"emerging-dns.rules.bak"));
        assert!(wildcard_match(b"emerging-?ns.rules", b"emerging-dns.rules"));
        assert!(wildcard_match(b"*", b""));
        assert!(!wildcard_match(b"a*b", b"acbd"));
        assert!(wildcard_match(b"a*b*", b"acbd"));
    }

    #[test]
    fn detect_section_is_read() {
        let c = Config::parse(
            "[detect]\nrule_files = [\"a.rules\"]\nprefilter = \"reference\"\ncache = false\n\
             [detect.vars]\nHOME_NET = \"[10.0.0.0/8]\"\n[detect.alert]\npayload = true\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.detect.rule_files, vec!["a.rules".to_owned()]);
        assert_eq!(c.detect.prefilter, PrefilterName::Reference);
        assert!(!c.detect.cache);
        assert!(c.detect.alert.payload && c.detect.alert.metadata);
        let home = VarName::new("HOME_NET").unwrap();
        assert_eq!(
            c.detect.vars.get(&home).map(String::as_str),
            Some("[10.0.0.0/8]")
        );
    }

    #[test]
    fn bad_detect_values_are_located() {
        let msg = format!(
            "{:#}",
            Config::parse("[detect]\nprefilter = \"fast\"\n", "s.toml").unwrap_err()
        );
        assert!(msg.contains("line 2") && msg.contains("hyperscan"), "{msg}");
        let msg = format!(
            "{:#}",
            Config::parse("[detect.vars]\n\"HOME-NET\" = \"any\"\n", "s.toml").unwrap_err()
        );
        assert!(
            msg.contains("line 2") && msg.contains("invalid variable name"),
            "{msg}"
        );
        let msg = format!(
            "{:#}",
            Config::parse("[detect.alert]\npayloads = true\n", "s.toml").unwrap_err()
        );
        assert!(
            msg.contains("line 2") && msg.contains("payload_printable"),
            "{msg}"
        );
    }

    #[test]
    fn var_assignments() {
        let (n, v) = parse_var_assignment("HOME_NET=[10.0.0.0/8, 192.168.0.0/16]").unwrap();
        assert_eq!(
            (n.as_str(), v.as_str()),
            ("HOME_NET", "[10.0.0.0/8, 192.168.0.0/16]")
        );
        assert_eq!(
            parse_var_assignment("$HTTP_PORTS=8080").unwrap().0.as_str(),
            "HTTP_PORTS"
        );
        assert!(parse_var_assignment("HOME_NET").is_err());
        assert!(parse_var_assignment("HOME_NET=").is_err());
        assert!(parse_var_assignment("1X=any").is_err());
    }

    #[test]
    fn rule_paths_resolve_and_expand() {
        let dir = std::env::temp_dir().join(format!("tapwatch-rulepaths-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for f in ["b.rules", "a.rules", "c.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let section = DetectSection {
            rule_path: Some(dir.clone()),
            rule_files: vec!["*.rules".into(), "/abs/x.rules".into(), "c.txt".into()],
            ..DetectSection::default()
        };
        let got = section.rule_file_paths(None).unwrap();
        assert_eq!(
            got,
            vec![
                dir.join("a.rules"),
                dir.join("b.rules"),
                PathBuf::from("/abs/x.rules"),
                dir.join("c.txt")
            ]
        );
        assert_eq!(
            expand_rule_path(&dir).unwrap(),
            vec![dir.join("a.rules"), dir.join("b.rules")]
        );
        assert!(matches!(
            expand_rule_path(&dir.join("*.none")),
            Err(RuleFileError::NoMatch(_))
        ));
        assert!(matches!(
            expand_rule_path(Path::new("/x*/a.rules")),
            Err(RuleFileError::WildcardInDirectory(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
