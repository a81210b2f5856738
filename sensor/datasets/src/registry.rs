//! The sensor's datasets by name: the sets the configuration defines and those rules create,
//! each made and loaded once and shared by every rule and every worker.
//!
//! Sets are keyed by the name the rule author or operator wrote, never by an engine index:
//! an engine built on a rule reload asks the same [`Datasets`] for its sets and gets the
//! running sets, contents and all. As in Suricata, a set is *dynamic* when the configuration
//! defines it or a rule gives it `state` or `save`, and a reload keeps it; a set a rule only
//! `load`s is *static*, and a reload reads its file again ([`Datasets::begin_reload`]).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::file::{self, FileError};
use crate::set::{Dataset, DatasetStats, SetSpec};
use crate::value::DataType;

/// Suricata's memcap of a set when neither the rule nor the configuration gives one.
pub const DEFAULT_MEMCAP: u64 = 64 << 20;
/// Entries a set makes room for when neither the rule nor the configuration says.
pub const DEFAULT_HASHSIZE: u64 = 4096;

/// A set the configuration defines (`[datasets.NAME]`), paths resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetDef {
    /// The name rules use.
    pub name: String,
    /// Its type.
    pub data_type: DataType,
    /// File read at start.
    pub load: Option<PathBuf>,
    /// File written at stop.
    pub save: Option<PathBuf>,
    /// Memory bound (the default when `None`).
    pub memcap: Option<u64>,
    /// Entries to make room for (the default when `None`).
    pub hashsize: Option<u64>,
}

/// The datasets' configuration (`[datasets]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetsConfig {
    /// Where rules' `save` and `state` files go (Suricata's data directory).
    pub data_dir: PathBuf,
    /// Memcap of sets that do not give one.
    pub default_memcap: u64,
    /// Hash size of sets that do not give one.
    pub default_hashsize: u64,
    /// Allow rules' `save`/`state` files outside the data directory (absolute or with `..`).
    pub allow_absolute_filenames: bool,
    /// Allow rules to write files at all (`save`, `state`).
    pub allow_write: bool,
    /// Sets the configuration defines.
    pub sets: Vec<DatasetDef>,
}

impl Default for DatasetsConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("."),
            default_memcap: DEFAULT_MEMCAP,
            default_hashsize: DEFAULT_HASHSIZE,
            allow_absolute_filenames: false,
            allow_write: true,
            sets: Vec::new(),
        }
    }
}

/// What a `dataset`/`datarep` keyword asks of a set, as the rule wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request<'a> {
    /// The set's name.
    pub name: &'a str,
    /// `type`
    pub data_type: Option<DataType>,
    /// `load` (relative to the rule file's directory)
    pub load: Option<&'a str>,
    /// `save` (relative to the data directory)
    pub save: Option<&'a str>,
    /// `state` (load and save, relative to the data directory)
    pub state: Option<&'a str>,
    /// `memcap`
    pub memcap: Option<u64>,
    /// `hashsize`
    pub hashsize: Option<u64>,
    /// The keyword is `datarep` (the set holds reputation values).
    pub reputation: bool,
}

/// Why a set could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatasetError {
    /// The rule or configuration is inconsistent with itself or with an existing set.
    #[error("dataset {name}: {reason}")]
    Invalid {
        /// The set.
        name: String,
        /// Why.
        reason: String,
    },
    /// Its file could not be read or written.
    #[error("dataset {name}: {source}")]
    File {
        /// The set.
        name: String,
        /// The file's problem.
        source: FileError,
    },
}

/// Every dataset of a sensor. `Sync`: shared by the engine builds and the workers.
#[derive(Debug, Default)]
pub struct Datasets {
    config: DatasetsConfig,
    sets: Mutex<HashMap<String, Arc<Dataset>>>,
}

impl Datasets {
    /// The configured sets, made and loaded.
    pub fn new(config: DatasetsConfig) -> Result<Self, DatasetError> {
        let mut sets = HashMap::new();
        for def in &config.sets {
            let spec = SetSpec {
                name: def.name.clone(),
                data_type: def.data_type,
                load: def.load.clone(),
                save: def.save.clone(),
                memcap: def.memcap.unwrap_or(config.default_memcap),
                hashsize: def.hashsize.unwrap_or(config.default_hashsize),
                dynamic: true,
            };
            let set = make(spec, true)?;
            sets.insert(def.name.clone(), Arc::new(set));
        }
        Ok(Self {
            config,
            sets: Mutex::new(sets),
        })
    }

    /// No sets, default configuration (tests, and sensors whose rules use none).
    pub fn empty() -> Self {
        Self {
            config: DatasetsConfig::default(),
            sets: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DatasetsConfig {
        &self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Dataset>>> {
        // Every update is one map insertion or removal.
        self.sets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The set `req` names, made (and loaded) if new. `rule_file` is the file the rule was
    /// read from (its directory resolves a relative `load`).
    pub fn resolve(
        &self,
        req: &Request<'_>,
        rule_file: Option<&Path>,
    ) -> Result<Arc<Dataset>, DatasetError> {
        let invalid = |reason: String| DatasetError::Invalid {
            name: req.name.to_owned(),
            reason,
        };
        let save_text = req.state.or(req.save);
        if save_text.is_some() && !self.config.allow_write {
            return Err(invalid(
                "Rules containing save/state datasets have been disabled".into(),
            ));
        }
        let save = save_text
            .map(|s| self.writable_path(s).map_err(&invalid))
            .transpose()?;
        let load = match (req.state, req.load) {
            (Some(_), _) => save.clone(),
            (None, Some(l)) => Some(match rule_file.and_then(Path::parent) {
                Some(dir) if Path::new(l).is_relative() => dir.join(l),
                _ => PathBuf::from(l),
            }),
            (None, None) => None,
        };
        let mut sets = self.lock();
        if let Some(set) = sets.get(req.name) {
            let spec = set.spec();
            if let Some(t) = req.data_type {
                if t != spec.data_type {
                    return Err(invalid(format!(
                        "already exists with type {}, not {}",
                        spec.data_type.name(),
                        t.name()
                    )));
                }
            }
            if load.is_some() && spec.load.is_some() && load != spec.load {
                return Err(invalid("already exists and loads another file".into()));
            }
            if save.is_some() && spec.save.is_some() && save != spec.save {
                return Err(invalid("already exists and saves to another file".into()));
            }
            if !set.mark_reputation(req.reputation) {
                return Err(invalid(format!(
                    "Cannot mix dataset and datarep values for set {}",
                    req.name
                )));
            }
            return Ok(Arc::clone(set));
        }
        let Some(data_type) = req.data_type else {
            return Err(invalid(
                "the set is not defined and the rule gives no 'type'".into(),
            ));
        };
        let spec = SetSpec {
            name: req.name.to_owned(),
            data_type,
            dynamic: save.is_some(),
            load,
            save,
            memcap: req.memcap.unwrap_or(self.config.default_memcap),
            hashsize: req.hashsize.unwrap_or(self.config.default_hashsize),
        };
        let state = req.state.is_some();
        let set = make(spec, state)?;
        if !set.mark_reputation(req.reputation) {
            return Err(invalid(format!(
                "Cannot mix dataset and datarep values for set {}",
                req.name
            )));
        }
        let set = Arc::new(set);
        sets.insert(req.name.to_owned(), Arc::clone(&set));
        Ok(set)
    }

    /// A rule's `save`/`state` file: in the data directory unless the configuration allows
    /// absolute paths and parent-directory components.
    fn writable_path(&self, text: &str) -> Result<PathBuf, String> {
        let p = Path::new(text);
        let absolute = p.is_absolute() || text.starts_with('\\') || text.get(1..3) == Some(":\\");
        let parent = p.components().any(|c| c == Component::ParentDir)
            || text.split(['/', '\\']).any(|c| c == "..");
        if !self.config.allow_absolute_filenames {
            if absolute {
                return Err(format!("Absolute paths not allowed: {text}"));
            }
            if parent {
                return Err(format!("Directory traversals not allowed: {text}"));
            }
        }
        Ok(if absolute {
            p.to_owned()
        } else {
            self.config.data_dir.join(p)
        })
    }

    /// Before an engine is built for a rule reload: static sets (a rule's `load` only) are
    /// forgotten, so the new engine reads their files again. The running engine keeps the
    /// sets it holds until it is dropped. Dynamic sets are kept, contents and all.
    pub fn begin_reload(&self) {
        self.lock().retain(|_, s| s.spec().dynamic);
    }

    /// Writes every set that has a `save` (or `state`) file. Returns the failures (the
    /// other sets are still written).
    pub fn save_all(&self) -> Vec<DatasetError> {
        let sets: Vec<Arc<Dataset>> = self.lock().values().cloned().collect();
        let mut errors = Vec::new();
        for set in sets {
            if let Some(path) = &set.spec().save {
                if let Err(source) = file::save(&set, path) {
                    errors.push(DatasetError::File {
                        name: set.name().to_owned(),
                        source,
                    });
                }
            }
        }
        errors
    }

    /// Every set's counters, by name (sorted).
    pub fn stats(&self) -> Vec<(String, DatasetStats)> {
        let mut v: Vec<(String, DatasetStats)> = self
            .lock()
            .iter()
            .map(|(n, s)| (n.clone(), s.stats()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The set named `name`, if one exists.
    pub fn get(&self, name: &str) -> Option<Arc<Dataset>> {
        self.lock().get(name).cloned()
    }
}

/// A set made from `spec` and filled from its `load` file. For `state` sets a missing file
/// is an empty set (the first run creates it).
fn make(spec: SetSpec, missing_ok: bool) -> Result<Dataset, DatasetError> {
    let load = spec.load.clone();
    let set = Dataset::new(spec);
    if let Some(path) = load {
        if missing_ok && !path.exists() {
            return Ok(set);
        }
        file::load(&set, &path).map_err(|source| DatasetError::File {
            name: set.name().to_owned(),
            source,
        })?;
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Key;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tw-ds-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn req<'a>(name: &'a str, ty: DataType) -> Request<'a> {
        Request {
            name,
            data_type: Some(ty),
            ..Request::default()
        }
    }

    #[test]
    fn same_name_same_set_and_type_conflicts_refused() {
        let ds = Datasets::empty();
        let a = ds.resolve(&req("ua", DataType::String), None).unwrap();
        let b = ds
            .resolve(
                &Request {
                    name: "ua",
                    ..Request::default()
                },
                None,
            )
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(ds.resolve(&req("ua", DataType::Md5), None).is_err());
        assert!(ds
            .resolve(
                &Request {
                    name: "nope",
                    ..Request::default()
                },
                None
            )
            .is_err());
        let rep = Request {
            reputation: true,
            ..req("ua", DataType::String)
        };
        assert!(ds
            .resolve(&rep, None)
            .unwrap_err()
            .to_string()
            .contains("Cannot mix"));
    }

    #[test]
    fn writable_paths_stay_in_the_data_directory() {
        let dir = tmpdir("paths");
        let ds = Datasets::new(DatasetsConfig {
            data_dir: dir.clone(),
            ..DatasetsConfig::default()
        })
        .unwrap();
        for (state, msg) in [
            ("/dns-seen.txt", "Absolute paths not allowed: /dns-seen.txt"),
            (
                "../dns-seen.txt",
                "Directory traversals not allowed: ../dns-seen.txt",
            ),
            ("namespace/../x.txt", "Directory traversals not allowed"),
            ("C:\\Windows\\Temp\\x.txt", "Absolute paths not allowed"),
        ] {
            let r = Request {
                state: Some(state),
                ..req("s", DataType::String)
            };
            let e = ds.resolve(&r, None).unwrap_err().to_string();
            assert!(e.contains(msg), "{e}");
        }
        let r = Request {
            state: Some("ok.csv"),
            ..req("s", DataType::String)
        };
        let s = ds.resolve(&r, None).unwrap();
        assert_eq!(s.spec().save.as_deref(), Some(dir.join("ok.csv").as_path()));
        let no_write = Datasets::new(DatasetsConfig {
            allow_write: false,
            ..DatasetsConfig::default()
        })
        .unwrap();
        let e = no_write.resolve(&r, None).unwrap_err().to_string();
        assert!(e.contains("save/state datasets have been disabled"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_is_relative_to_the_rule_file_and_state_survives_reload() {
        let dir = tmpdir("load");
        std::fs::write(dir.join("ua.csv"), "Y3VybC83LjQzLjA=\n").unwrap();
        let ds = Datasets::new(DatasetsConfig {
            data_dir: dir.clone(),
            ..DatasetsConfig::default()
        })
        .unwrap();
        let rule_file = dir.join("test.rules");
        let r = Request {
            load: Some("ua.csv"),
            ..req("ua", DataType::String)
        };
        let s = ds.resolve(&r, Some(&rule_file)).unwrap();
        assert!(s.contains(&Key::Str(b"curl/7.43.0".as_slice().into())));
        let st = Request {
            state: Some("st.csv"),
            ..req("st", DataType::String)
        };
        let dynamic = ds.resolve(&st, None).unwrap();
        dynamic.add(Key::Str(b"x".as_slice().into()), 0);
        ds.begin_reload();
        // The dynamic set is the same object; the static one is read again.
        assert!(Arc::ptr_eq(&dynamic, &ds.resolve(&st, None).unwrap()));
        assert!(!Arc::ptr_eq(&s, &ds.resolve(&r, Some(&rule_file)).unwrap()));
        assert!(ds.save_all().is_empty());
        assert_eq!(
            std::fs::read_to_string(dir.join("st.csv")).unwrap(),
            "eA==\n"
        );
        let missing = Request {
            load: Some("none.csv"),
            ..req("m", DataType::String)
        };
        assert!(ds.resolve(&missing, Some(&rule_file)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
