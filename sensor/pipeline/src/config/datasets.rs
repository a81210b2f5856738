//! `[datasets]` and `[reputation]`: Suricata's `datasets:` and `reputation-*` settings.

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use tapwatch_datasets::{DataType, DatasetDef, DatasetsConfig, ReputationConfig};

/// `[datasets]`: where rules' `save`/`state` files go, the defaults of every set, what rules
/// may write, and the sets defined here (`[datasets.NAME]`, Suricata's `datasets.NAME`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct DatasetsSection {
    /// Directory of rules' `save` and `state` files (Suricata's data directory, `--data-dir`).
    /// Relative: against the configuration file's directory. When unset, that directory
    /// (the working directory without a configuration file).
    pub data_dir: Option<PathBuf>,
    /// `[datasets.defaults]`
    pub defaults: DatasetDefaults,
    /// `[datasets.rules]`
    pub rules: DatasetRules,
    /// `[datasets.NAME]`: sets defined here, by name.
    #[serde(flatten)]
    pub sets: BTreeMap<String, DatasetEntry>,
}

/// `[datasets.defaults]`: bounds of the sets that do not give their own.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetDefaults {
    /// Memory bound of one set, bytes (entries and their data). A value the set has no room
    /// for is not stored, and counted.
    pub memcap_bytes: NonZeroU64,
    /// Entries a set makes room for when created (Suricata's `hashsize`).
    pub hashsize: NonZeroU64,
}

impl Default for DatasetDefaults {
    fn default() -> Self {
        Self {
            memcap_bytes: NonZeroU64::new(tapwatch_datasets::registry::DEFAULT_MEMCAP)
                .unwrap_or(NonZeroU64::MIN),
            hashsize: NonZeroU64::new(tapwatch_datasets::registry::DEFAULT_HASHSIZE)
                .unwrap_or(NonZeroU64::MIN),
        }
    }
}

/// `[datasets.rules]`: what rules' `save` and `state` may do (Suricata's
/// `datasets.rules`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatasetRules {
    /// Allow absolute file names and `..` in rules' `save`/`state` (any file the sensor can
    /// write); refused by default.
    pub allow_absolute_filenames: bool,
    /// Allow rules to write files at all (`save`, `state`); when false such rules are refused.
    pub allow_write: bool,
}

impl Default for DatasetRules {
    fn default() -> Self {
        Self {
            allow_absolute_filenames: false,
            allow_write: true,
        }
    }
}

/// The type of a set, as Suricata names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetTypeName(pub DataType);

impl<'de> Deserialize<'de> for DatasetTypeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DataType::from_name(&s).map(DatasetTypeName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown dataset type {s:?}: expected string, md5, sha256, ipv4, ip or ipv6"
            ))
        })
    }
}

/// `[datasets.NAME]`: one set defined in the configuration. Such sets are dynamic: a rule
/// reload keeps their contents.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// `string`, `md5`, `sha256`, `ipv4`, `ip` (or `ipv6`).
    #[serde(rename = "type")]
    pub data_type: DatasetTypeName,
    /// File read at start (relative: against the data directory).
    pub load: Option<PathBuf>,
    /// File written when the sensor stops.
    pub save: Option<PathBuf>,
    /// File read at start and written at stop (not with `load` or `save`).
    pub state: Option<PathBuf>,
    /// Memory bound, bytes.
    pub memcap_bytes: Option<NonZeroU64>,
    /// Entries to make room for.
    pub hashsize: Option<NonZeroU64>,
}

/// `[reputation]`: IP reputation for `iprep` (Suricata's `reputation-categories-file`,
/// `default-reputation-path`, `reputation-files`). Read again on a rule reload.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ReputationSection {
    /// The categories file (`id,short name,description` lines). Without it, rules using
    /// `iprep` are refused.
    pub categories_file: Option<PathBuf>,
    /// Directory of relative `files` (when unset, the configuration file's directory).
    pub path: Option<PathBuf>,
    /// Reputation files (`ip[/len],category,score` lines).
    pub files: Vec<PathBuf>,
}

fn resolve(base: Option<&Path>, p: &Path) -> PathBuf {
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_owned(),
    }
}

impl DatasetsSection {
    /// Problems with the section that parsing cannot see, all of them.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, e) in &self.sets {
            if name.is_empty() || name.len() > 63 || name.contains(char::is_whitespace) {
                out.push(format!(
                    "[datasets.{name}]: a set's name has 1 to 63 characters and no spaces"
                ));
            }
            if e.state.is_some() && (e.load.is_some() || e.save.is_some()) {
                out.push(format!(
                    "[datasets.{name}]: 'state' cannot be given with 'load' or 'save'"
                ));
            }
        }
        out
    }

    /// The datasets' configuration, paths resolved against `config_dir`.
    pub fn resolved(&self, config_dir: Option<&Path>) -> DatasetsConfig {
        let data_dir = match (&self.data_dir, config_dir) {
            (Some(d), _) => resolve(config_dir, d),
            (None, Some(c)) => c.to_owned(),
            (None, None) => PathBuf::from("."),
        };
        let file = |p: &Option<PathBuf>| p.as_deref().map(|p| resolve(Some(&data_dir), p));
        let sets = self
            .sets
            .iter()
            .map(|(name, e)| DatasetDef {
                name: name.clone(),
                data_type: e.data_type.0,
                load: file(&e.state).or_else(|| file(&e.load)),
                save: file(&e.state).or_else(|| file(&e.save)),
                memcap: e.memcap_bytes.map(NonZeroU64::get),
                hashsize: e.hashsize.map(NonZeroU64::get),
            })
            .collect();
        DatasetsConfig {
            default_memcap: self.defaults.memcap_bytes.get(),
            default_hashsize: self.defaults.hashsize.get(),
            allow_absolute_filenames: self.rules.allow_absolute_filenames,
            allow_write: self.rules.allow_write,
            sets,
            data_dir,
        }
    }
}

impl ReputationSection {
    /// The reputation files, paths resolved against `config_dir`.
    pub fn resolved(&self, config_dir: Option<&Path>) -> ReputationConfig {
        let base = self
            .path
            .as_deref()
            .map(|p| resolve(config_dir, p))
            .or_else(|| config_dir.map(Path::to_owned));
        ReputationConfig {
            categories_file: self
                .categories_file
                .as_deref()
                .map(|p| resolve(config_dir, p)),
            files: self
                .files
                .iter()
                .map(|f| resolve(base.as_deref(), f))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn sets_defaults_and_rules_parse() {
        let c = Config::parse(
            r#"
[datasets]
data_dir = "data"
[datasets.defaults]
memcap_bytes = 1048576
[datasets.rules]
allow_write = false
[datasets.ua-seen]
type = "string"
state = "ua-seen.lst"
[datasets.bad-ips]
type = "ipv6"
load = "/etc/tapwatch/bad.lst"
hashsize = 1000000
[reputation]
categories_file = "categories.txt"
files = ["a.list", "/x/b.list"]
"#,
            "t",
        )
        .unwrap();
        let d = c.datasets.resolved(Some(std::path::Path::new("/etc/tw")));
        assert_eq!(d.data_dir, std::path::Path::new("/etc/tw/data"));
        assert_eq!(d.default_memcap, 1 << 20);
        assert!(!d.allow_write);
        let ua = d.sets.iter().find(|s| s.name == "ua-seen").unwrap();
        assert_eq!(ua.load, ua.save);
        assert_eq!(
            ua.save.as_deref(),
            Some(std::path::Path::new("/etc/tw/data/ua-seen.lst"))
        );
        let ips = d.sets.iter().find(|s| s.name == "bad-ips").unwrap();
        assert_eq!(ips.data_type, tapwatch_datasets::DataType::Ip);
        assert_eq!(ips.hashsize, Some(1_000_000));
        let r = c.reputation.resolved(Some(std::path::Path::new("/etc/tw")));
        assert_eq!(
            r.files,
            vec![
                std::path::PathBuf::from("/etc/tw/a.list"),
                std::path::PathBuf::from("/x/b.list")
            ]
        );
        assert!(c.datasets.problems().is_empty());
    }

    #[test]
    fn bad_sets_are_refused() {
        let e = Config::parse("[datasets.x]\ntype = \"sha1\"\n", "t").unwrap_err();
        assert!(format!("{e:#}").contains("unknown dataset type"), "{e:#}");
        let e = Config::parse("[datasets.x]\ntype = \"md5\"\nfile = \"a\"\n", "t").unwrap_err();
        assert!(format!("{e:#}").contains("unknown field"), "{e:#}");
        let c = Config::parse(
            "[datasets.x]\ntype = \"md5\"\nstate = \"a\"\nload = \"b\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.datasets.problems().len(), 1);
    }
}
