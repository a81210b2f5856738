//! Acceptance test of detection against the suricata-verify training set in
//! `../shared/corpus/verify-train/` (or `$TAPWATCH_SHARED/corpus/verify-train`), with a ratchet.
//!
//! Every test that Suricata 8.0.6 passes (`SURICATA-8.0.6-RESULTS.tsv`) is run through
//! `tapwatch replay` with its capture and rules, its `args` (or custom `command:`), `--set`
//! options and the documented subset of its own `suricata.yaml` mapped onto tapwatch's
//! configuration (`common/verify.rs`), and its `filter` checks judged on tapwatch's EVE output
//! with suricata-verify's semantics. A test ends in one of three states:
//!
//! - **pass**: every check that applies holds (a test without any check passes when tapwatch
//!   runs it without error, as the suite judges it);
//! - **fail**, with a reason category (rule rejected: keyword X, app-layer protocol not
//!   supported: X, EVE event type not written: X, Suricata setting not mapped: X, check
//!   differs, timeout, ...);
//! - **left out on purpose**: the test exercises something tapwatch does not do by design
//!   (IPS verdicts, pcap logging, Lua output scripts, Suricata's engine analysis, configuration
//!   test and unit-test modes), or none of its checks reads EVE (shell, file-compare and stats
//!   checks only).
//!
//! The ratchet: `tests/verify_train/ratchet.txt` lists the tests that pass; the test fails when
//! one of them no longer passes, and reports newly passing ones. `TAPWATCH_UPDATE_RATCHET=1`
//! rewrites it together with `failing.tsv` (every failing test and its reason) and
//! `left_out.tsv` (every test left out and why). `TAPWATCH_VERIFY_JOBS` sets the number of
//! tests run at once (default 2), `TAPWATCH_VERIFY_ONLY` a substring of the test paths to run
//! (the ratchet is then checked for those only), `TAPWATCH_VERIFY_VERBOSE=1` prints every
//! test's checks.
//!
//! Without the corpus the test prints a `skipped:` line and passes.

#[path = "common/shared.rs"]
mod shared;
#[path = "common/verify.rs"]
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;
use verify::{Run, Settings, Yaml};

/// How long one test may run before it counts as failed ("timeout").
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Record types tapwatch writes to EVE.
const TAPWATCH_EVENT_TYPES: &[&str] = &[
    "alert", "http", "dns", "mdns", "tls", "ssh", "mqtt", "flow", "anomaly", "stats",
];

/// Application-layer protocols tapwatch detects (`tapwatch-app`).
const TAPWATCH_PROTOCOLS: &[&str] = &[
    "http", "http1", "tls", "dns", "mdns", "ssh", "smb", "ftp", "smtp", "dcerpc", "mqtt",
];

fn ratchet_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/verify_train")
}

#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Pass,
    /// Reason category and detail.
    Fail(String, String),
    LeftOut(String),
}

struct Outcome {
    name: String,
    verdict: Verdict,
    lines: Vec<String>,
}

/// The capture a test reads: its `pcap:` (the upstream path, else the copy of that file in the
/// test's folder), else the folder's one capture.
fn find_pcap(dir: &Path, named: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = named {
        if p.is_file() {
            return Some(p.to_path_buf());
        }
        let base = p.file_name()?.to_string_lossy().into_owned();
        let entries = std::fs::read_dir(dir).ok()?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|f| {
                f.file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with(&base))
            })
            .collect();
        found.sort();
        return found.into_iter().next();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "pcap" || e == "pcapng" || e == "cap")
        })
        .collect();
    found.sort();
    found.into_iter().next()
}

/// Whether an IPS-mode test depends on verdicts: its rules (or its threshold file's
/// rate_filter) drop or reject, or its checks look at drops, verdicts or blocked actions.
fn needs_verdicts(checks: &[Yaml], rules: &[PathBuf], threshold: Option<&Path>) -> bool {
    let drops = rules.iter().any(|r| {
        std::fs::read_to_string(r)
            .unwrap_or_default()
            .lines()
            .any(|l| {
                let first = l.split_whitespace().next().unwrap_or("");
                matches!(
                    first,
                    "drop" | "reject" | "rejectsrc" | "rejectdst" | "rejectboth"
                )
            })
    });
    let rate_filter_drops = threshold.is_some_and(|t| {
        let text = std::fs::read_to_string(t).unwrap_or_default();
        text.contains("new_action drop") || text.contains("new_action reject")
    });
    drops || rate_filter_drops || checks.iter().any(mentions_verdicts)
}

/// Whether a check's `match` names a drop, a verdict or a blocked action.
fn mentions_verdicts(check: &Yaml) -> bool {
    let Some(Yaml::Map(fields)) = check.get("filter").and_then(|f| f.get("match")) else {
        return false;
    };
    fields.iter().any(|(k, v)| {
        k.starts_with("verdict")
            || k.starts_with("drop")
            || k.contains(".drop")
            || matches!(v.as_str(), Some("drop" | "blocked" | "rejected"))
    })
}

/// The event type a filter check is about, when it names one.
fn check_event_type(check: &Yaml) -> Option<String> {
    check
        .get("filter")?
        .get("match")?
        .get("event_type")?
        .as_str()
        .map(str::to_owned)
}

/// The category of a rule rejection line from tapwatch's log.
fn rejection_category(line: &str) -> String {
    let text = line.split("rule rejected: ").nth(1).unwrap_or(line);
    if let Some(rest) = text.split("application protocol '").nth(1) {
        let proto = rest.split('\'').next().unwrap_or("?");
        return format!("app-layer protocol not supported: {proto}");
    }
    // file:line: [sid N:] [keyword:] reason
    let parts: Vec<&str> = text.splitn(4, ": ").collect();
    let after_sid = if parts.get(1).is_some_and(|p| p.starts_with("sid ")) {
        &parts[2..]
    } else {
        &parts[1..]
    };
    match after_sid {
        [k, _, ..] if !k.contains(' ') => format!("rule rejected: keyword {k}"),
        [reason, ..] => {
            let short: String = reason.chars().take(60).collect();
            format!("rule rejected: {short}")
        }
        [] => "rule rejected".into(),
    }
}

fn run_case(name: &str, dir: &Path, out_root: &Path, cache_dir: &Path) -> Outcome {
    let mut lines = Vec::new();
    let done = |verdict, lines| Outcome {
        name: name.to_owned(),
        verdict,
        lines,
    };
    let spec =
        verify::parse_yaml(&std::fs::read_to_string(dir.join("test.yaml")).unwrap_or_default());
    if let Some(why) = verify::unmet_requirement(spec.get("requires")) {
        return done(Verdict::LeftOut(format!("not for 8.0.6: {why}")), lines);
    }
    let mut settings = Settings::new();
    if dir.join("suricata.yaml").is_file() {
        let text = std::fs::read_to_string(dir.join("suricata.yaml")).unwrap_or_default();
        settings.apply_suricata_yaml(&verify::parse_yaml(&text), dir);
    }
    if let Some(command) = spec.get("command").and_then(Yaml::as_str) {
        match verify::command_words(command) {
            Ok(words) => settings.apply_args(&words, dir),
            Err(e) => return done(Verdict::LeftOut(e), lines),
        }
    } else {
        settings.apply_args(&verify::test_args(&spec), dir);
    }
    if name.contains("ips") {
        // suricata-verify runs tests with "ips" in their name in IPS mode.
        settings.ips_mode = true;
    }
    let rules = if !settings.rule_files.is_empty() {
        settings.rule_files.clone()
    } else if dir.join("test.rules").is_file() {
        vec![dir.join("test.rules")]
    } else {
        verify::files_with_ext(dir, "rules")
    };
    let checks = spec.get("checks").map(Yaml::items).unwrap_or_default();
    if settings.left_out.is_none()
        && settings.ips_mode
        && needs_verdicts(checks, &rules, settings.threshold_file.as_deref())
    {
        settings.left_out = Some("IPS verdicts (drop/reject in inline mode)".into());
    }
    if let Some(why) = settings.left_out.clone() {
        return done(Verdict::LeftOut(why), lines);
    }
    let filters: Vec<&Yaml> = checks
        .iter()
        .filter(|c| c.get("filter").is_some())
        .collect();
    if !filters.is_empty()
        && filters
            .iter()
            .all(|c| check_event_type(c).as_deref() == Some("engine"))
    {
        return done(
            Verdict::LeftOut("Suricata's own log messages (event_type engine) only".into()),
            lines,
        );
    }
    let eve_checks = checks.iter().filter(|c| c.get("filter").is_some()).count();
    if !checks.is_empty() && eve_checks == 0 {
        return done(
            Verdict::LeftOut(
                "no check reads EVE (shell, file-compare or stats checks only)".into(),
            ),
            lines,
        );
    }
    let named = settings
        .pcap
        .clone()
        .or_else(|| spec.get("pcap").and_then(Yaml::as_str).map(|p| dir.join(p)));
    let Some(pcap) = find_pcap(dir, named.as_deref()) else {
        let no_pcap = spec
            .get("requires")
            .and_then(|r| r.get("pcap"))
            .and_then(Yaml::as_str)
            == Some("false");
        if no_pcap {
            return done(
                Verdict::LeftOut("no capture (Suricata run without packets)".into()),
                lines,
            );
        }
        return done(
            Verdict::Fail("capture not found".into(), String::new()),
            lines,
        );
    };
    let out = out_root.join(name.replace('/', "__"));
    // A fresh directory per run, as the suite's: a dataset's `state` file from an earlier run
    // would otherwise be loaded.
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create output directory");
    let config_path = out.join("tapwatch.toml");
    std::fs::write(&config_path, settings.config_toml(cache_dir)).expect("write config");
    let eve = out.join("eve.json");
    let stderr = match verify::replay(
        &config_path,
        &rules,
        &settings.vars,
        &pcap,
        &eve,
        TEST_TIMEOUT,
    ) {
        Run::Done { stderr } => stderr,
        Run::Timeout => return done(Verdict::Fail("timeout".into(), String::new()), lines),
        Run::Failed { status, stderr } => {
            let last = stderr.lines().last().unwrap_or("").trim().to_owned();
            let category = if last.contains("config") {
                "tapwatch refused the mapped configuration"
            } else {
                "tapwatch exited with an error"
            };
            return done(
                Verdict::Fail(category.into(), format!("{status}: {last}")),
                lines,
            );
        }
    };
    let rejections: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("rule rejected: "))
        .collect();
    for r in rejections.iter().take(5) {
        lines.push(format!("note: {}", r.trim()));
    }
    let records: Vec<Value> = verify::read_eve(&eve);
    let eve_names = if settings.eve_filenames.is_empty() {
        vec!["eve.json".to_owned()]
    } else {
        settings.eve_filenames.clone()
    };
    let mut failed: Vec<(Option<String>, String)> = Vec::new();
    for check in checks {
        match verify::judge_in(check, &records, &eve_names) {
            Ok(msg) => lines.push(format!("ok   {msg}")),
            Err(msg) => {
                lines.push(format!("FAIL {msg}"));
                failed.push((check_event_type(check), msg));
            }
        }
    }
    let Some((event_type, first)) = failed.first().cloned() else {
        return done(Verdict::Pass, lines);
    };
    let unsupported_proto = settings.unmapped.iter().find_map(|u| {
        let proto = u.strip_prefix("app-layer.protocols.")?.split('.').next()?;
        (!TAPWATCH_PROTOCOLS.contains(&proto)).then(|| proto.to_owned())
    });
    let category = if let Some(file) = first
        .strip_prefix("filter on ")
        .and_then(|f| f.split(':').next())
    {
        format!("check reads a file tapwatch does not write: {file}")
    } else if let Some(r) = rejections.first() {
        rejection_category(r)
    } else if let Some(t) = event_type
        .as_deref()
        .filter(|t| !TAPWATCH_EVENT_TYPES.contains(t))
    {
        format!("EVE event type not written: {t}")
    } else if let Some(p) = unsupported_proto {
        format!("app-layer protocol not supported: {p}")
    } else if let Some(s) = settings.unmapped.first() {
        let key = s.split('=').next().unwrap_or(s);
        format!("Suricata setting not mapped: {key}")
    } else if settings.ips_mode {
        "IPS-mode test run as IDS: check differs".into()
    } else {
        format!(
            "check differs: {}",
            event_type.unwrap_or_else(|| "any record".into())
        )
    };
    done(Verdict::Fail(category, first), lines)
}

fn read_list(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').next().unwrap_or(l).to_owned())
        .collect()
}

fn write_lists(outcomes: &[Outcome]) {
    let dir = ratchet_dir();
    std::fs::create_dir_all(&dir).expect("create tests/verify_train");
    let mut ratchet = String::from(
        "# suricata-verify training tests tapwatch passes (verify_train.rs). A listed test may not\n\
         # fail later. Rewritten by TAPWATCH_UPDATE_RATCHET=1.\n",
    );
    let mut failing = String::from(
        "# Training tests Suricata 8.0.6 passes and tapwatch fails: test, reason category, first\n\
         # failing check. Rewritten by TAPWATCH_UPDATE_RATCHET=1 (verify_train.rs).\n",
    );
    let mut left_out = String::from(
        "# Training tests of features tapwatch leaves out on purpose, or with no check on EVE:\n\
         # test, reason. Rewritten by TAPWATCH_UPDATE_RATCHET=1 (verify_train.rs).\n",
    );
    for o in outcomes {
        match &o.verdict {
            Verdict::Pass => ratchet.push_str(&format!("{}\n", o.name)),
            Verdict::Fail(cat, detail) => {
                let detail: String = detail
                    .replace(['\t', '\n'], " ")
                    .chars()
                    .take(160)
                    .collect();
                failing.push_str(&format!("{}\t{cat}\t{detail}\n", o.name));
            }
            Verdict::LeftOut(why) => left_out.push_str(&format!("{}\t{why}\n", o.name)),
        }
    }
    std::fs::write(dir.join("ratchet.txt"), ratchet).expect("write ratchet.txt");
    std::fs::write(dir.join("failing.tsv"), failing).expect("write failing.tsv");
    std::fs::write(dir.join("left_out.tsv"), left_out).expect("write left_out.tsv");
}

#[test]
fn verify_train_ratchet_holds() {
    let Some(shared) = shared::shared_dir("corpus/verify-train/SURICATA-8.0.6-RESULTS.tsv") else {
        println!("skipped: ../shared/corpus/verify-train not found (set TAPWATCH_SHARED)");
        return;
    };
    let root = shared.join("corpus/verify-train");
    let results = std::fs::read_to_string(root.join("SURICATA-8.0.6-RESULTS.tsv"))
        .expect("read SURICATA-8.0.6-RESULTS.tsv");
    let only = std::env::var("TAPWATCH_VERIFY_ONLY").ok();
    let names: Vec<String> = results
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            let path = cols.next()?;
            (cols.next()? == "pass").then(|| path.to_owned())
        })
        .filter(|n| only.as_deref().is_none_or(|o| n.contains(o)))
        .collect();
    assert!(!names.is_empty(), "no passing tests in the results table");
    let jobs: usize = std::env::var("TAPWATCH_VERIFY_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(2)
        .max(1);
    let out_root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-train");
    let cache_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-train-cache");
    std::fs::create_dir_all(&cache_dir).expect("create cache dir");
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(name) = names.get(i) else { break };
                let o = run_case(name, &root.join("tests").join(name), &out_root, &cache_dir);
                outcomes.lock().expect("lock").push(o);
            });
        }
    });
    let elapsed = started.elapsed();
    let mut outcomes = outcomes.into_inner().expect("lock");
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));

    let verbose = std::env::var_os("TAPWATCH_VERIFY_VERBOSE").is_some();
    let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
    let mut left_out: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &outcomes {
        match &o.verdict {
            Verdict::Fail(cat, _) => *categories.entry(cat).or_default() += 1,
            Verdict::LeftOut(why) => *left_out.entry(why).or_default() += 1,
            Verdict::Pass => {}
        }
        if verbose {
            println!("{:?}: {}", o.verdict, o.name);
            for l in &o.lines {
                println!("    {l}");
            }
        }
    }
    let pass = outcomes
        .iter()
        .filter(|o| o.verdict == Verdict::Pass)
        .count();
    let left = outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::LeftOut(_)))
        .count();
    let fail = outcomes.len() - pass - left;
    let rest = outcomes.len() - left;
    let pct = if rest == 0 {
        0.0
    } else {
        100.0 * pass as f64 / rest as f64
    };
    let mut by_count: Vec<(&str, usize)> = categories.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    println!("failure reasons:");
    for (cat, n) in by_count.iter().take(25) {
        println!("  {n:5}  {cat}");
    }
    println!("left out on purpose:");
    for (why, n) in &left_out {
        println!("  {n:5}  {why}");
    }
    println!(
        "verify-train: {pass} pass / {fail} fail / {left} left out on purpose, of {} tests \
         Suricata 8.0.6 passes; {pct:.1}% of the other {rest} pass ({:.1} s, {jobs} at a time)",
        outcomes.len(),
        elapsed.as_secs_f64()
    );

    if std::env::var_os("TAPWATCH_UPDATE_RATCHET").is_some() {
        assert!(
            only.is_none(),
            "TAPWATCH_UPDATE_RATCHET needs the whole set: unset TAPWATCH_VERIFY_ONLY"
        );
        write_lists(&outcomes);
        println!("rewrote {}", ratchet_dir().display());
        return;
    }
    let ratchet = read_list(&ratchet_dir().join("ratchet.txt"));
    let mut regressed = Vec::new();
    let mut newly = Vec::new();
    for o in &outcomes {
        match (&o.verdict, ratchet.contains(&o.name)) {
            (Verdict::Pass, false) => newly.push(o.name.as_str()),
            (Verdict::Pass, true) => {}
            (v, true) => {
                let why = match v {
                    Verdict::Fail(cat, detail) => format!("{cat}: {detail}"),
                    Verdict::LeftOut(why) => format!("now left out: {why}"),
                    Verdict::Pass => unreachable!("handled above"),
                };
                println!("REGRESSED: {}: {why}", o.name);
                for l in &o.lines {
                    println!("    {l}");
                }
                regressed.push(format!("{} ({why})", o.name));
            }
            (_, false) => {}
        }
    }
    if only.is_none() {
        let ran: BTreeSet<&str> = outcomes.iter().map(|o| o.name.as_str()).collect();
        for gone in ratchet.iter().filter(|n| !ran.contains(n.as_str())) {
            regressed.push(format!("{gone} (in ratchet.txt, not among the tests run)"));
        }
    }
    if !newly.is_empty() {
        println!(
            "{} test(s) pass that ratchet.txt does not list: add them with \
             TAPWATCH_UPDATE_RATCHET=1 cargo test -p tapwatch --test verify_train: {newly:?}",
            newly.len()
        );
    }
    assert!(
        regressed.is_empty(),
        "{} verify-train test(s) listed in tests/verify_train/ratchet.txt no longer pass: {regressed:#?}",
        regressed.len()
    );
}

#[cfg(test)]
mod classification_tests {
    use super::*;

    #[test]
    fn rejection_categories() {
        assert_eq!(
            rejection_category("WARN rule rejected: r.rules:1: sid 1: entropy: unknown or unsupported keyword 'entropy'"),
            "rule rejected: keyword entropy"
        );
        assert_eq!(
            rejection_category("WARN rule rejected: r.rules:3: sid 3: application protocol 'http2' is not detected by tapwatch, so the rule could never match"),
            "app-layer protocol not supported: http2"
        );
    }

    #[test]
    fn command_lines() {
        let w = verify::command_words(
            "${SRCDIR}/src/suricata --set x=\"a b\" \\\n -r ${TEST_DIR}/input.pcap",
        )
        .unwrap();
        assert_eq!(w, ["--set", "x=a b", "-r", "${TEST_DIR}/input.pcap"]);
        assert!(verify::command_words("cat x | ${SRCDIR}/src/suricata").is_err());
    }

    #[test]
    fn suricata_yaml_subset() {
        let y = verify::parse_yaml(
            "%YAML 1.1\n---\noutputs:\n  - eve-log:\n      enabled: yes\n      types:\n        - alert:\n            metadata: no\n        - http\n        - smtp\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8]\"\npacket-alert-max: 3\n",
        );
        let mut s = Settings::new();
        s.apply_suricata_yaml(&y, Path::new("/t"));
        assert_eq!(s.eve_types, Some(vec!["http".to_owned()]));
        assert!(!s.alert_metadata);
        assert_eq!(s.vars, [("HOME_NET".to_owned(), "[10.0.0.0/8]".to_owned())]);
        assert_eq!(s.unmapped, ["packet-alert-max=3"]);
    }

    #[test]
    fn reputation_and_datasets_settings() {
        let y = verify::parse_yaml(
            "%YAML 1.1\n---\nreputation-files:\n  - rep.list\ndatasets:\n  rules:\n    allow-absolute-filenames: true\n  ua-seen:\n    type: string\n    load: ua.lst\n",
        );
        let mut s = Settings::new();
        s.apply_args(
            &[
                "--set".into(),
                "reputation-categories-file=${TEST_DIR}/cats.txt".into(),
                "--set".into(),
                "default-reputation-path=${TEST_DIR}".into(),
                "--set".into(),
                "reputation-files=${TEST_DIR}/rep.list".into(),
                "--set".into(),
                "datasets.enabled=yes".into(),
            ],
            Path::new("/t"),
        );
        s.apply_suricata_yaml(&y, Path::new("/t"));
        assert!(s.unmapped.is_empty(), "{:?}", s.unmapped);
        assert_eq!(s.reputation_files, [Path::new("/t/rep.list")]);
        let toml = s.config_toml(Path::new("/c"));
        assert!(
            toml.contains(
                "[reputation]\ncategories_file = \"/t/cats.txt\"\nfiles = [\"/t/rep.list\"]"
            ),
            "{toml}"
        );
        assert!(
            toml.contains("[datasets.rules]\nallow_absolute_filenames = true"),
            "{toml}"
        );
        assert!(
            toml.contains("[datasets.\"ua-seen\"]\ntype = \"string\"\nload = \"/t/ua.lst\""),
            "{toml}"
        );
    }
}
