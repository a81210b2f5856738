//! `tapwatch check --config FILE`: would `tapwatch run` start with this configuration? (As
//! `suricata -T`.) The unit runs it before every start (`ExecStartPre`) and before every
//! reload (`ExecReload`, with `--reload`).
//!
//! In order: the file parses (unknown keys and bad values refused with their line); the
//! settings agree with each other and with the machine (interfaces listed once and present,
//! pinned CPUs available, the spool and EVE directories writable, certificates readable);
//! the rules load and compile (counts and rejections as `tapwatch rules check` gives them).
//! Every problem is listed, not only the first; exit 0 when the service could start, 1
//! otherwise. Rejected rules are warnings: the sensor starts with the rules that load.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::detect_setup;

use crate::export_link;
use crate::rules_cmd::counts_line;
use crate::CheckArgs;

/// What a reload (SIGUSR2, `systemctl reload tapwatch`) applies without a restart: the rule
/// set and what it is built from (`tapwatch_runtime::reload`). Everything else needs a
/// restart.
pub const RELOADABLE: &[&str] = &[
    "the contents of the rule files",
    "[detect] rule_files and rule_path",
    "[detect.vars] (rule variables)",
    "[detect] classification_file and threshold_file (and their contents)",
    "the rest of [detect] (cache, prefilter, limits, reload_min_percent) but not [detect.alert]",
    "[reputation] (its files are read again)",
];

/// What `check` found: problems stop the service from starting; warnings do not.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
}

/// `tapwatch check`.
pub fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            println!("error: {e:#}");
            println!(
                "{}: 1 problem: tapwatch run would not start",
                args.config.display()
            );
            return Ok(ExitCode::from(1));
        }
    };
    let config_dir = args.config.parent();
    let mut found = validate(&config, config_dir, args.eve.as_deref(), &Machine::this());

    let startup = detect_setup::start(
        &config,
        Some(&args.config),
        &detect_setup::DetectArgs {
            rules: Vec::new(),
            vars: Vec::new(),
            no_cache: false,
            eager: true,
        },
    );
    match startup {
        Ok(s) if s.files.is_empty() => found.warnings.push(
            "no rule files ([detect] rule_files): the sensor will log flows and protocols \
             but raise no alert"
                .to_owned(),
        ),
        Ok(s) => {
            let _ = writeln!(out, "rules: {}", counts_line(&s));
            for r in &s.rejections {
                found.warnings.push(format!("rule rejected: {r}"));
            }
            if let Some(w) = s.build.as_ref().and_then(|b| b.cache_warning.as_ref()) {
                found.warnings.push(format!("rule cache: {w}"));
            }
            if s.loaded == 0 {
                found
                    .warnings
                    .push("no rule could be loaded: nothing will alert".to_owned());
            }
        }
        Err(e) => found.problems.push(format!("rules: {e:#}")),
    }

    if args.reload || args.running.is_some() {
        let _ = writeln!(
            out,
            "a reload (systemctl reload tapwatch, or SIGUSR2) applies: {}; every other \
             setting needs a restart (systemctl restart tapwatch)",
            RELOADABLE.join(", ")
        );
    }
    if let Some(running) = &args.running {
        match Config::load(running) {
            Ok(old) => {
                let diff = reload_diff(&old, &config);
                for r in &diff.restart {
                    found.warnings.push(format!(
                        "needs restart: {r} (a reload keeps the running value)"
                    ));
                }
                for r in &diff.reload {
                    let _ = writeln!(out, "reload applies: {r}");
                }
                if diff.restart.is_empty() && diff.reload.is_empty() {
                    let _ = writeln!(
                        out,
                        "settings unchanged from {}; a reload re-reads the rule files",
                        running.display()
                    );
                }
            }
            // Not running (or started without the copy): nothing to compare with; the new
            // configuration itself was checked above.
            Err(e) if !running.exists() => found.warnings.push(format!(
                "--running {}: {e:#}: cannot say which changes need a restart",
                running.display()
            )),
            Err(e) => found
                .problems
                .push(format!("--running {}: {e:#}", running.display())),
        }
    }

    for w in &found.warnings {
        println!("warning: {w}");
    }
    for p in &found.problems {
        println!("error: {p}");
    }
    print!("{out}");
    let name = args.config.display();
    if found.problems.is_empty() {
        println!("{name}: configuration OK: tapwatch run can start");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "{name}: {} problem(s): tapwatch run would not start",
            found.problems.len()
        );
        Ok(ExitCode::from(1))
    }
}

/// What `validate` asks of the machine; a test supplies its own.
pub(crate) struct Machine {
    /// CPUs this process may run on.
    pub cpus: Vec<usize>,
    /// Whether a network interface of that name exists.
    pub interface_exists: Box<dyn Fn(&str) -> bool>,
}

impl Machine {
    fn this() -> Self {
        Self {
            cpus: tapwatch_runtime::pool::available_cpus(),
            interface_exists: Box::new(|name| {
                !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
            }),
        }
    }
}

/// The cross-field and environment checks of `config` (its file in `config_dir`; `eve`:
/// the EVE file `run` would be given with `--eve`, which overrides `[eve] path`).
pub(crate) fn validate(
    config: &Config,
    config_dir: Option<&Path>,
    eve: Option<&Path>,
    machine: &Machine,
) -> Findings {
    let mut f = Findings::default();
    if !config.eve.files.force_hash.is_empty()
        && !config.eve.wants(tapwatch_pipeline::config::EveType::Files)
    {
        f.warnings.push(
            "[eve.files] force_hash is set but \"files\" is not among [eve] types: files are \
             hashed and no fileinfo record shows the hashes"
                .to_owned(),
        );
    }
    let interfaces = &config.capture.interfaces;
    if interfaces.is_empty() {
        f.warnings.push(
            "[capture] interfaces is empty: `tapwatch run` needs at least one (in the \
             configuration or with --interface)"
                .to_owned(),
        );
    }
    for (i, name) in interfaces.iter().enumerate() {
        let times = interfaces.iter().filter(|n| *n == name).count();
        if times > 1 && interfaces.iter().position(|n| n == name) == Some(i) {
            f.problems.push(format!(
                "[capture] interfaces: {name:?} is listed {times} times: each of its receive \
                 queues would be captured twice; list every interface once"
            ));
        }
        if !(machine.interface_exists)(name) {
            f.problems.push(format!(
                "[capture] interfaces: there is no interface {name:?} on this machine (`ip link` \
                 lists them)"
            ));
        }
    }
    if let Err(e) = config.runtime.check_cpus(&machine.cpus) {
        f.problems.push(format!("{e:#}"));
    }
    if config.export.enabled {
        let e = export_link::resolved(config, config_dir);
        if let Err(why) = writable_dir(&e.spool_dir) {
            f.problems.push(format!(
                "[export] spool_dir {}: {why}",
                e.spool_dir.display()
            ));
        }
        if e.sensor_id.is_empty() {
            f.problems
                .push("[export] sensor_id is empty: set this sensor's id".to_owned());
        }
        if e.insecure {
            f.warnings.push(
                "[export] insecure = true: plaintext to the center, no identity: lab use only"
                    .to_owned(),
            );
        } else {
            for (key, path) in [
                ("ca_cert", &e.ca_cert),
                ("client_cert", &e.client_cert),
                ("client_key", &e.client_key),
            ] {
                match path {
                    None => f.problems.push(format!(
                        "[export] {key} is not set (needed unless insecure = true)"
                    )),
                    Some(p) => {
                        if let Err(why) = std::fs::File::open(p) {
                            f.problems
                                .push(format!("[export] {key} {}: {why}", p.display()));
                        }
                    }
                }
            }
        }
        if let Some(p) = &e.dictionary_path {
            if let Err(why) = std::fs::File::open(p) {
                f.problems
                    .push(format!("[export] dictionary_path {}: {why}", p.display()));
            }
        }
    }
    // `--eve` as `run` would be given it, else `[eve] path`.
    let eve = eve
        .map(Path::to_path_buf)
        .or_else(|| config.eve.resolved_path(config_dir));
    if let Some(eve) = eve.as_deref().filter(|p| p.as_os_str() != "-") {
        let dir = match eve.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let existing_ok = !eve.exists()
            || std::fs::OpenOptions::new()
                .append(true)
                .open(eve)
                .map_err(|e| {
                    f.problems
                        .push(format!("EVE output {}: {e}", eve.display()))
                })
                .is_ok();
        if existing_ok {
            if let Err(why) = writable_dir(&dir) {
                f.problems
                    .push(format!("EVE output directory {}: {why}", dir.display()));
            }
        }
    }
    check_bundles(config, config_dir, &mut f);
    if config.detect.cache {
        if let Some(dir) = &config.detect.cache_dir {
            if let Err(why) = writable_dir(dir) {
                f.warnings.push(format!(
                    "[detect] cache_dir {}: {why}: rules will be compiled at every start",
                    dir.display()
                ));
            }
        }
    }
    f
}

/// `[bundles]`, when in use (a trusted key or a drop directory set): every key loads, the
/// directory of bundles in force is writable and what it holds reads, the drop directory is
/// a writable directory.
fn check_bundles(config: &Config, config_dir: Option<&Path>, f: &mut Findings) {
    use tapwatch_bundle::Kind;
    let b = &config.bundles;
    if !b.in_use() {
        return;
    }
    match b.keyring(config_dir) {
        Ok(k) if k.is_empty() => f.problems.push(
            "[bundles] trusted_keys is empty: every bundle would be refused (drop_dir is set)"
                .to_owned(),
        ),
        Ok(_) => {}
        Err(e) => f.problems.push(format!("[bundles] trusted_keys: {e}")),
    }
    let dir = b.resolved_dir(config_dir);
    if let Err(why) = writable_dir(&dir) {
        f.problems
            .push(format!("[bundles] dir {}: {why}", dir.display()));
    }
    let store = tapwatch_bundle::BundleDir::new(&dir);
    for kind in [Kind::Rules, Kind::Ioc] {
        let p = b.policy(kind);
        if let Err(e) = store.in_force(kind, &p.channel, &p.limits) {
            f.problems.push(format!(
                "[bundles] the {kind} bundle in force does not read: {e}"
            ));
        }
    }
    if let Some(drop) = b.resolved_drop_dir(config_dir) {
        if !drop.is_dir() {
            f.problems.push(format!(
                "[bundles] drop_dir {}: not a directory",
                drop.display()
            ));
        } else if let Err(why) = writable_dir(&drop) {
            f.problems
                .push(format!("[bundles] drop_dir {}: {why}", drop.display()));
        }
    }
}

/// Whether files can be created in `dir`, or in the directory that would be created as
/// `dir` (as the spool and the EVE file do): the nearest existing ancestor must let us
/// create it. Tested by creating and removing a file of a name no one else uses, so that a
/// read-only mount, permissions and `ProtectSystem=` sandboxes are all seen; nothing is
/// left behind.
pub(crate) fn writable_dir(dir: &Path) -> Result<(), String> {
    let mut existing = dir;
    while !existing.exists() {
        existing = existing
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
    }
    if !existing.is_dir() {
        return Err(format!("{} is not a directory", existing.display()));
    }
    let probe = existing.join(format!(".tapwatch-check.{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if existing == dir => Err(format!("cannot write there: {e}")),
        Err(e) => Err(format!(
            "cannot be created: {} is not writable: {e}",
            existing.display()
        )),
    }
}

/// What changed between the running configuration and a new one, by what applies it.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ReloadDiff {
    /// Changes a reload applies.
    pub reload: Vec<String>,
    /// Changes that need a restart.
    pub restart: Vec<String>,
}

pub(crate) fn reload_diff(old: &Config, new: &Config) -> ReloadDiff {
    // What the reload itself reports as left unapplied (one list for both), with
    // [capture] told apart, and [logging], which only a start reads.
    let mut d = ReloadDiff::default();
    for section in tapwatch_runtime::reload::restart_needed(old, new) {
        if section != "[capture]" {
            d.restart.push(format!("{section} changed"));
        }
    }
    let mut restart = |changed: bool, what: &str| {
        if changed {
            d.restart.push(format!("{what} changed"));
        }
    };
    let (oc, nc) = (&old.capture, &new.capture);
    restart(oc.interfaces != nc.interfaces, "[capture] interfaces");
    restart(oc.mode != nc.mode, "[capture] mode");
    restart(oc.queues != nc.queues, "[capture] queues");
    restart(
        oc.monitored_prefixes != nc.monitored_prefixes,
        "[capture] monitored_prefixes",
    );
    let rest = |c: &tapwatch_pipeline::config::CaptureSection| {
        let mut c = c.clone();
        c.interfaces.clear();
        c.mode = Default::default();
        c.queues = Default::default();
        c.monitored_prefixes.clear();
        c
    };
    restart(rest(oc) != rest(nc), "[capture] (other settings)");
    restart(old.logging != new.logging, "[logging]");
    let (od, nd) = (&old.detect, &new.detect);
    let mut reload = |changed: bool, what: &str| {
        if changed {
            d.reload.push(format!("{what} changed"));
        }
    };
    reload(
        od.rule_files != nd.rule_files || od.rule_path != nd.rule_path,
        "[detect] rule_files",
    );
    reload(od.vars != nd.vars, "[detect.vars]");
    reload(
        od.classification_file != nd.classification_file,
        "[detect] classification_file",
    );
    reload(
        od.threshold_file != nd.threshold_file,
        "[detect] threshold_file",
    );
    let rest = |d: &tapwatch_pipeline::config::DetectSection| {
        let mut d = d.clone();
        d.rule_files.clear();
        d.rule_path = None;
        d.vars.clear();
        d.classification_file = None;
        d.threshold_file = None;
        d.alert = Default::default();
        d
    };
    reload(rest(od) != rest(nd), "[detect] (other settings)");
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            cpus: vec![0, 1],
            interface_exists: Box::new(|n| n.starts_with("eth")),
        }
    }

    fn parse(text: &str) -> Config {
        Config::parse(text, "t").unwrap()
    }

    #[test]
    fn a_sound_configuration_has_no_problem() {
        let f = validate(
            &parse("[capture]\ninterfaces = [\"eth1\", \"eth2\"]\n[runtime]\nworker_cpus = [1]\n"),
            None,
            None,
            &machine(),
        );
        assert!(f.problems.is_empty(), "{:?}", f.problems);
    }

    #[test]
    fn forced_hashes_without_fileinfo_records_are_a_warning() {
        let text = "[eve]\ntypes = [\"http\"]\n[eve.files]\nforce_hash = [\"md5\"]\n";
        let f = validate(&parse(text), None, None, &machine());
        assert!(
            f.warnings.iter().any(|w| w.contains("force_hash")),
            "{:?}",
            f.warnings
        );
        let text = "[eve.files]\nforce_hash = [\"md5\", \"sha256\"]\n";
        let f = validate(&parse(text), None, None, &machine());
        assert!(
            !f.warnings.iter().any(|w| w.contains("force_hash")),
            "{:?}",
            f.warnings
        );
    }

    #[test]
    fn every_problem_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "[capture]\ninterfaces = [\"eth1\", \"wlan9\", \"eth1\"]\n\
             [runtime]\nworker_cpus = [0, 7]\n\
             [export]\nenabled = true\nsensor_id = \"s1\"\nspool_dir = \"/proc/tapwatch-spool\"\n\
             client_cert = \"{0}/missing.pem\"\nclient_key = \"{0}/missing.key\"\n",
            dir.path().display()
        );
        let f = validate(&parse(&text), Some(dir.path()), None, &machine());
        let all = f.problems.join("\n");
        assert!(all.contains("\"eth1\" is listed 2 times"), "{all}");
        assert!(all.contains("no interface \"wlan9\""), "{all}");
        assert!(all.contains("CPU 7 is not available"), "{all}");
        assert!(all.contains("spool_dir /proc/tapwatch-spool"), "{all}");
        assert!(all.contains("ca_cert is not set"), "{all}");
        assert!(
            all.contains("client_cert") && all.contains("missing.pem"),
            "{all}"
        );
        assert!(all.contains("client_key"), "{all}");
        assert_eq!(f.problems.len(), 7, "{all}");
    }

    #[test]
    fn no_interface_is_a_warning() {
        let f = validate(&Config::default(), None, None, &machine());
        assert!(f.problems.is_empty());
        assert!(f.warnings[0].contains("interfaces is empty"));
    }

    #[test]
    fn writability_is_tested_without_leaving_files() {
        let dir = tempfile::tempdir().unwrap();
        writable_dir(dir.path()).unwrap();
        // Not there yet, but creatable: fine, and not created by the check.
        let deeper = dir.path().join("a/b/spool");
        writable_dir(&deeper).unwrap();
        assert!(!dir.path().join("a").exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A file in the way.
        std::fs::write(dir.path().join("f"), b"").unwrap();
        let err = writable_dir(&dir.path().join("f/spool")).unwrap_err();
        assert!(err.contains("not a directory"), "{err}");
        // A read-only file system (root ignores permission bits, not this).
        let err = writable_dir(Path::new("/proc/tapwatch/spool")).unwrap_err();
        assert!(err.contains("not writable"), "{err}");
    }

    #[test]
    fn eve_directory_is_checked() {
        let f = validate(
            &parse("[capture]\ninterfaces = [\"eth0\"]\n"),
            None,
            Some(Path::new("/proc/eve/eve.json")),
            &machine(),
        );
        assert!(
            f.problems[0].contains("EVE output directory /proc/eve"),
            "{f:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = validate(
            &parse("[capture]\ninterfaces = [\"eth0\"]\n"),
            None,
            Some(&dir.path().join("eve.json")),
            &machine(),
        );
        assert!(f.problems.is_empty(), "{f:?}");
    }

    #[test]
    fn eve_path_of_the_configuration_is_checked() {
        let f = validate(
            &parse("[capture]\ninterfaces = [\"eth0\"]\n[eve]\npath = \"/proc/eve/eve.json\"\n"),
            None,
            None,
            &machine(),
        );
        assert!(
            f.problems[0].contains("EVE output directory /proc/eve"),
            "{f:?}"
        );
    }

    #[test]
    fn reload_diff_separates_rules_from_restart() {
        let old = parse("[capture]\ninterfaces = [\"eth1\"]\n");
        let new = parse(
            "[capture]\ninterfaces = [\"eth2\"]\nrx_batch_packets = 32\n[detect]\nrule_files = [\"a.rules\"]\n\
             [detect.vars]\nHOME_NET = \"[10.0.0.0/8]\"\n[logging]\nlevel = \"debug\"\n",
        );
        let d = reload_diff(&old, &new);
        assert_eq!(
            d.restart,
            [
                "[capture] interfaces changed",
                "[capture] (other settings) changed",
                "[logging] changed"
            ]
        );
        assert_eq!(
            d.reload,
            ["[detect] rule_files changed", "[detect.vars] changed"]
        );
        assert_eq!(reload_diff(&old, &old), ReloadDiff::default());
    }
}
