//! Start-up of detection: which rule files, with which variables, classtypes and
//! `threshold.config`, loaded and compiled into an engine, with every rejection kept for the
//! operator and the time each step took.
//!
//! Shared by `tapwatch replay` and `tapwatch rules check|stats`, so that what `check`
//! accepts is exactly what a sensor would run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tapwatch_datasets::{Datasets, IpReputation};

use anyhow::Context as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tapwatch_detect::cache::DiskCache;
use tapwatch_detect::{
    BuildReport, DetectLimits, Engine, EngineConfig, Prefilter, StateNames, SuppressTrack,
    ThresholdOverride,
};
use tapwatch_rules::{
    load_rules_text, Classifications, LoadOptions, LoadReport, Rejection, ThresholdConfig,
    ThresholdEntry, Vars,
};

use crate::config::{expand_rule_path, Config, PrefilterName, VarName};

/// Detection settings given on the command line, on top of the configuration file.
#[derive(Debug, Clone, Default)]
pub struct DetectArgs {
    /// Rule files, directories (every `*.rules` in them) or patterns, after the configuration's.
    pub rules: Vec<PathBuf>,
    /// `--var NAME=VALUE`, overriding the configuration's `[detect.vars]`.
    pub vars: Vec<(VarName, String)>,
    /// `--no-cache`: compile, and neither read nor write the cache.
    pub no_cache: bool,
    /// Compile everything now (pcre JIT included) so that every problem is reported.
    pub eager: bool,
}

/// What start-up produced.
#[derive(Debug)]
pub struct Startup {
    /// The engine, when any rule file was named.
    pub engine: Option<Engine>,
    /// Rule files read.
    pub files: Vec<PathBuf>,
    /// Lower-case hex SHA-256 over the rule files' contents as read, in load order (empty
    /// when no rule file was named): the rule set's version as `Hello`, `Health` and the
    /// metrics give it.
    pub ruleset_sha256: String,
    /// Signatures the engine runs.
    pub loaded: usize,
    /// Commented-out rules seen.
    pub disabled: usize,
    /// Every rule not loaded: by the rule loader (syntax, unsupported keyword, duplicate) or
    /// by the engine (a pcre PCRE2 refuses, ...), in file order.
    pub rejections: Vec<Rejection>,
    /// `rate_filter` entries of `threshold.config` (recorded; no effect on a passive sensor).
    pub rate_filters: usize,
    /// The engine's build report.
    pub build: Option<BuildReport>,
    /// Reading and parsing rule and configuration files.
    pub load_time: Duration,
    /// Building the engine (compiling or loading the prefilter databases).
    pub build_time: Duration,
}

impl Startup {
    /// Rules named but not loaded.
    pub fn rejected(&self) -> usize {
        self.rejections.len()
    }

    /// Rejections counted by keyword (`(none)` for syntax errors and duplicates).
    pub fn rejected_by_keyword(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for r in &self.rejections {
            let k = r.keyword.clone().unwrap_or_else(|| "(none)".to_owned());
            *m.entry(k).or_insert(0) += 1;
        }
        m
    }

    /// Total start-up time.
    pub fn total_time(&self) -> Duration {
        self.load_time + self.build_time
    }

    /// The start-up figures as JSON (rejections listed in full).
    pub fn json(&self) -> Value {
        let build = self.build.as_ref();
        json!({
            "rule_files": self.files.len(),
            "loaded": self.loaded,
            "rejected": self.rejected(),
            "disabled": self.disabled,
            "rejected_by_keyword": self.rejected_by_keyword(),
            "rejections": self.rejections.iter().map(rejection_json).collect::<Vec<_>>(),
            "rules_without_pattern": build.map(|b| b.rules_without_pattern),
            "rate_filters_ignored": self.rate_filters,
            "load_secs": self.load_time.as_secs_f64(),
            "compile_secs": self.build_time.as_secs_f64(),
            "startup_secs": self.total_time().as_secs_f64(),
            "cache": build.map(|b| b.cache.name()),
            "cache_detail": build.and_then(|b| match &b.cache {
                tapwatch_detect::CacheOutcome::Rebuilt { reason } => Some(reason.clone()),
                _ => None,
            }),
            "cache_warning": build.and_then(|b| b.cache_warning.clone()),
        })
    }
}

/// One rejection as JSON: `{file, line, sid, keyword, reason}`.
pub fn rejection_json(r: &Rejection) -> Value {
    json!({
        "file": r.file,
        "line": r.line,
        "sid": r.sid,
        "keyword": r.keyword,
        "reason": r.reason,
    })
}

/// The directory relative paths in a configuration file are resolved against.
pub fn config_dir(config_path: Option<&Path>) -> Option<PathBuf> {
    let parent = config_path?.parent()?;
    Some(if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent.to_path_buf()
    })
}

/// The rule files to load: the configuration's `rule_files`, then the command line's.
pub fn rule_files(
    config: &Config,
    config_dir: Option<&Path>,
    args: &DetectArgs,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = config.detect.rule_file_paths(config_dir)?;
    for p in &args.rules {
        files.extend(expand_rule_path(p)?);
    }
    Ok(files)
}

/// Variables: Suricata's defaults, then `[detect.vars]`, then `--var`.
pub fn vars(config: &Config, args: &DetectArgs) -> Vars {
    let mut vars = Vars::suricata_defaults();
    for (name, value) in config
        .detect
        .vars
        .iter()
        .chain(args.vars.iter().map(|(n, v)| (n, v)))
    {
        vars.set(name.as_str(), value);
    }
    vars
}

fn resolve(config_dir: Option<&Path>, p: &Path) -> PathBuf {
    match config_dir {
        Some(d) if p.is_relative() => d.join(p),
        _ => p.to_path_buf(),
    }
}

fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// The classtypes: the configured `classification_file`, or Suricata's standard table.
pub fn classifications(
    config: &Config,
    config_dir: Option<&Path>,
) -> anyhow::Result<Classifications> {
    let Some(file) = &config.detect.classification_file else {
        return Ok(Classifications::suricata_defaults());
    };
    let path = resolve(config_dir, file);
    let text = read(&path, "classification file")?;
    Classifications::parse(&path.display().to_string(), &text).map_err(|errors| {
        anyhow::anyhow!(
            "invalid classification file:\n{}",
            errors
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// `threshold.config` as engine overrides, and the number of `rate_filter` entries (which a
/// passive sensor records but does not apply).
pub fn threshold_overrides(
    config: &Config,
    config_dir: Option<&Path>,
    vars: &Vars,
) -> anyhow::Result<(Vec<ThresholdOverride>, usize)> {
    let Some(file) = &config.detect.threshold_file else {
        return Ok((Vec::new(), 0));
    };
    let path = resolve(config_dir, file);
    let text = read(&path, "threshold file")?;
    let parsed =
        ThresholdConfig::parse(&path.display().to_string(), &text, vars).map_err(|errors| {
            anyhow::anyhow!(
                "invalid threshold file:\n{}",
                errors
                    .iter()
                    .map(|e| format!("  {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })?;
    let mut overrides = Vec::new();
    let mut rate_filters = 0usize;
    for entry in parsed.entries {
        match entry {
            ThresholdEntry::Suppress {
                gen_id,
                sig_id,
                track,
                ip,
                ..
            } => {
                use tapwatch_rules::threshold_config::SuppressTrack as T;
                let track = match (track, ip) {
                    (Some(T::BySrc), Some(ip)) => SuppressTrack::BySrc(ip),
                    (Some(T::ByDst), Some(ip)) => SuppressTrack::ByDst(ip),
                    (Some(T::ByEither), Some(ip)) => SuppressTrack::ByEither(ip),
                    _ => SuppressTrack::All,
                };
                overrides.push(ThresholdOverride::Suppress {
                    gid: gen_id,
                    sid: sig_id,
                    track,
                });
            }
            ThresholdEntry::Threshold {
                gen_id,
                sig_id,
                threshold,
                ..
            } => overrides.push(ThresholdOverride::Threshold {
                gid: gen_id,
                sid: sig_id,
                threshold,
            }),
            ThresholdEntry::RateFilter { .. } => rate_filters += 1,
        }
    }
    Ok((overrides, rate_filters))
}

/// The configured datasets, made and loaded (a set's bad file stops start-up, as in
/// Suricata).
pub fn datasets_of(config: &Config, config_dir: Option<&Path>) -> anyhow::Result<Datasets> {
    let problems = config.datasets.problems();
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("; "));
    }
    Datasets::new(config.datasets.resolved(config_dir)).context("cannot load the datasets")
}

/// The configured IP reputation, loaded.
pub fn reputation_of(config: &Config, config_dir: Option<&Path>) -> anyhow::Result<IpReputation> {
    let r = config.reputation.resolved(config_dir);
    if r.categories_file.is_none() && !r.files.is_empty() {
        anyhow::bail!("[reputation] files need a categories_file");
    }
    IpReputation::load(&r).context("cannot load the IP reputation files")
}

/// The engine's build options from the configuration and command line; a relative
/// `cache_dir` is resolved against `config_dir`, the configuration file's directory.
pub fn engine_config(
    config: &Config,
    config_dir: Option<&Path>,
    args: &DetectArgs,
    overrides: Vec<ThresholdOverride>,
) -> EngineConfig {
    let d = &config.detect;
    let prefilter = match d.prefilter {
        PrefilterName::Hyperscan => Prefilter::Hyperscan,
        PrefilterName::Reference => Prefilter::Reference,
    };
    let cache_dir = (d.cache && !args.no_cache && prefilter == Prefilter::Hyperscan).then(|| {
        match &d.cache_dir {
            Some(p) => resolve(config_dir, p),
            None => DiskCache::default_dir(),
        }
    });
    EngineConfig {
        prefilter,
        eager: args.eager,
        cache_dir,
        limits: DetectLimits {
            max_threshold_entries: d.limits.threshold_entries.get(),
            max_xbits: d.limits.xbits_entries.get(),
            ..DetectLimits::default()
        },
        overrides,
        always_hyperscan: false,
        ..EngineConfig::default()
    }
}

/// Loads the rules named by the configuration and `args` and builds the engine. With no rule
/// file named anywhere, no engine is built (and nothing is inspected). Errors are problems
/// that stop start-up: unreadable files, bad configuration files.
pub fn start(
    config: &Config,
    config_path: Option<&Path>,
    args: &DetectArgs,
) -> anyhow::Result<Startup> {
    start_after(config, config_path, args, StateNames::default(), None)
}

/// Like [`start`], for a live rule reload: the engine numbers flowbits, flowints and xbits
/// as `names` (the running engine's [`Engine::state_names`]) does, and uses `datasets` (the
/// running engine's [`Engine::datasets`]) so that sets keep their contents. Without
/// `datasets`, the configured sets are made and loaded. Reputation files are read again.
pub fn start_after(
    config: &Config,
    config_path: Option<&Path>,
    args: &DetectArgs,
    names: StateNames,
    datasets: Option<Arc<Datasets>>,
) -> anyhow::Result<Startup> {
    let started = Instant::now();
    let dir = config_dir(config_path);
    let files = rule_files(config, dir.as_deref(), args)?;
    let mut startup = Startup {
        engine: None,
        files,
        ruleset_sha256: String::new(),
        loaded: 0,
        disabled: 0,
        rejections: Vec::new(),
        rate_filters: 0,
        build: None,
        load_time: Duration::ZERO,
        build_time: Duration::ZERO,
    };
    if startup.files.is_empty() {
        return Ok(startup);
    }
    let vars = vars(config, args);
    let opts = LoadOptions {
        classifications: classifications(config, dir.as_deref())?,
        vars: vars.clone(),
    };
    let (overrides, rate_filters) = threshold_overrides(config, dir.as_deref(), &vars)?;
    let mut report = LoadReport::default();
    let mut sha = Sha256::new();
    for path in &startup.files {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read rule file {}", path.display()))?;
        sha.update(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        load_rules_text(&path.display().to_string(), &text, &opts, &mut report);
    }
    let LoadReport {
        signatures,
        rejections,
        disabled,
        ..
    } = report;
    startup.ruleset_sha256 = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    startup.rejections = rejections;
    startup.disabled = disabled;
    startup.rate_filters = rate_filters;
    startup.load_time = started.elapsed();

    let building = Instant::now();
    let mut engine_config = engine_config(config, dir.as_deref(), args, overrides);
    engine_config.datasets = match datasets {
        Some(d) => {
            d.begin_reload();
            d
        }
        None => Arc::new(datasets_of(config, dir.as_deref())?),
    };
    engine_config.reputation = Arc::new(reputation_of(config, dir.as_deref())?);
    let (engine, build) = Engine::build_after(signatures, &engine_config, names)
        .context("cannot build the detection engine")?;
    startup.build_time = building.elapsed();
    startup.loaded = build.loaded;
    startup
        .rejections
        .extend(build.rejected.iter().map(|b| Rejection {
            file: b.location.file.clone(),
            line: b.location.line,
            sid: Some(b.id.sid),
            keyword: Some(b.keyword.clone()),
            reason: b.reason.clone(),
        }));
    startup
        .rejections
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    startup.engine = Some(engine);
    startup.build = Some(build);
    Ok(startup)
}
