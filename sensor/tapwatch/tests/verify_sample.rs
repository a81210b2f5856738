//! Acceptance test of detection: the suricata-verify sample in
//! `../shared/corpus/verify-sample/` (or `$TAPWATCH_SHARED/corpus/verify-sample`).
//!
//! For each test directory: `tapwatch replay` runs on its capture with its rules file (as named
//! by `INDEX.yaml`, else the directory's `*.rules`), honouring `args` (`-k none`: checksum
//! validation off, `--set stream.midstream=true`), and every `filter` check of its `test.yaml`
//! is judged on tapwatch's EVE output with suricata-verify's own semantics: the number of
//! records whose dotted fields all equal the expected values must equal `count` (and be below
//! `lt` / above `gt` when given). `shell` and other check kinds are skipped with a note; tests
//! whose `requires` asks for a Suricata version newer than the one tapwatch follows (8.0.6) are
//! skipped. One tapwatch process per test, two at a time. The YAML reader, the filter
//! semantics and the mapping of arguments are shared with `verify_train.rs`
//! (`common/verify.rs`).
//!
//! Without the corpus the test prints a `skipped:` line and passes. Run with `--nocapture` to
//! see the per-test report.

#[path = "common/shared.rs"]
mod shared;
#[path = "common/verify.rs"]
mod verify;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;
use verify::{judge, lookup, parse_yaml, unmet_requirement, Settings, Yaml};

/// Tests allowed to fail while detection is being completed, each with the reason. A listed test
/// that passes is reported so that it can be taken off the list.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir("corpus/verify-sample/INDEX.yaml")
}

// ---------------------------------------------------------------------------------------------

struct Case {
    name: String,
    dir: PathBuf,
    rules: Vec<PathBuf>,
    pcap: PathBuf,
    spec: Yaml,
}

fn cases(root: &Path) -> Vec<Case> {
    let index = parse_yaml(&std::fs::read_to_string(root.join("INDEX.yaml")).expect("INDEX.yaml"));
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("list verify-sample")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("test.yaml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let entry = index
            .get("tests")
            .map(Yaml::items)
            .unwrap_or_default()
            .iter()
            .find(|t| t.get("name").and_then(Yaml::as_str) == Some(name.as_str()));
        let spec = parse_yaml(&std::fs::read_to_string(dir.join("test.yaml")).expect("test.yaml"));
        let rules = match entry
            .and_then(|e| e.get("rules_file"))
            .and_then(Yaml::as_str)
        {
            Some(f) => vec![dir.join(f)],
            None => verify::files_with_ext(&dir, "rules"),
        };
        let pcap = spec
            .get("pcap")
            .or_else(|| entry.and_then(|e| e.get("pcap")))
            .and_then(Yaml::as_str)
            .map(|p| dir.join(p))
            .or_else(|| verify::files_with_ext(&dir, "pcap").into_iter().next())
            .unwrap_or_else(|| dir.join("input.pcap"));
        out.push(Case {
            name,
            dir,
            rules,
            pcap,
            spec,
        });
    }
    out
}

/// The tapwatch configuration matching the test's Suricata command-line arguments
/// (`common/verify.rs`); the sample's tests have no `suricata.yaml` of their own.
fn config_for(case: &Case, cache_dir: &Path) -> Result<String, String> {
    let mut settings = Settings::new();
    settings.apply_args(&verify::test_args(&case.spec), &case.dir);
    if case.dir.join("suricata.yaml").is_file() {
        return Err("per-test suricata.yaml is not translated".into());
    }
    if let Some(u) = settings.unmapped.first() {
        return Err(format!("unsupported argument {u}"));
    }
    Ok(settings.config_toml(cache_dir))
}

struct Outcome {
    name: String,
    passed: bool,
    lines: Vec<String>,
}

fn run_case(case: &Case, out_dir: &Path) -> Outcome {
    let mut lines = Vec::new();
    let fail = |name: &str, lines: Vec<String>| Outcome {
        name: name.to_owned(),
        passed: false,
        lines,
    };
    if let Some(why) = unmet_requirement(case.spec.get("requires")) {
        return Outcome {
            name: case.name.clone(),
            passed: true,
            lines: vec![format!("skipped: {why}")],
        };
    }
    let config = match config_for(case, &out_dir.join("cache")) {
        Ok(c) => c,
        Err(e) => return fail(&case.name, vec![format!("cannot run: {e}")]),
    };
    let dir = out_dir.join(&case.name);
    std::fs::create_dir_all(&dir).expect("create output directory");
    let config_path = dir.join("tapwatch.toml");
    std::fs::write(&config_path, config).expect("write config");
    let eve = dir.join("eve.json");
    let stderr = match verify::replay(
        &config_path,
        &case.rules,
        &[],
        &case.pcap,
        &eve,
        std::time::Duration::from_secs(60),
    ) {
        verify::Run::Done { stderr } => stderr,
        verify::Run::Timeout => return fail(&case.name, vec!["timeout".into()]),
        verify::Run::Failed { status, stderr } => {
            return fail(
                &case.name,
                vec![format!("tapwatch exited with {status}: {}", stderr.trim())],
            )
        }
    };
    for l in stderr.lines().filter(|l| l.contains("reject")).take(5) {
        lines.push(format!("note: {}", l.trim()));
    }
    let records: Vec<Value> = verify::read_eve(&eve);
    let mut passed = true;
    for check in case.spec.get("checks").map(Yaml::items).unwrap_or_default() {
        match judge(check, &records) {
            Ok(msg) => lines.push(format!("ok   {msg}")),
            Err(msg) => {
                passed = false;
                lines.push(format!("FAIL {msg}"));
            }
        }
    }
    if !passed {
        let mut sids: Vec<String> = records
            .iter()
            .filter_map(|r| lookup(r, "alert.signature_id"))
            .map(|v| v.to_string())
            .collect();
        sids.sort();
        lines.push(format!("alerts seen (sids): [{}]", sids.join(", ")));
    }
    Outcome {
        name: case.name.clone(),
        passed,
        lines,
    }
}

#[test]
fn verify_sample_checks_hold() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared/corpus/verify-sample not found (set TAPWATCH_SHARED)");
        return;
    };
    let cases = cases(&shared.join("corpus/verify-sample"));
    assert!(!cases.is_empty(), "no test directories found");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-sample");
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let o = run_case(case, &out_dir);
                outcomes.lock().expect("lock").push(o);
            });
        }
    });
    let mut outcomes = outcomes.into_inner().expect("lock");
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    let mut unexpected = Vec::new();
    let mut now_passing = Vec::new();
    for o in &outcomes {
        let expected = EXPECTED_FAILURES.iter().find(|(n, _)| *n == o.name);
        let tag = match (o.passed, expected) {
            (true, None) => "pass",
            (true, Some(_)) => "PASS (listed as expected failure)",
            (false, Some(_)) => "fail (expected)",
            (false, None) => "FAIL",
        };
        println!("{tag}: {}", o.name);
        if let (false, Some((_, why))) = (o.passed, expected) {
            println!("    known: {why}");
        }
        for l in &o.lines {
            println!("    {l}");
        }
        match (o.passed, expected) {
            (false, None) => unexpected.push(o.name.clone()),
            (true, Some(_)) => now_passing.push(o.name.clone()),
            _ => {}
        }
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    println!("verify-sample: {passed}/{} tests pass", outcomes.len());
    if !now_passing.is_empty() {
        println!("now passing, remove from EXPECTED_FAILURES: {now_passing:?}");
    }
    assert!(
        unexpected.is_empty(),
        "verify-sample tests failing: {unexpected:?} (run with --nocapture for the failing checks)"
    );
}

#[cfg(test)]
mod yaml_tests {
    use super::*;

    #[test]
    fn reads_the_test_yaml_subset() {
        let y = parse_yaml(
            "requires:\n  min-version: 6\n\n# comment\nargs:\n- -k none\n\nchecks:\n  - filter:\n      \
             count: 1\n      match:\n        event_type: alert\n        src_ip: \"1.2.3.4\" # c\n  \
             - shell:\n      args: x\nempty: []\n",
        );
        assert_eq!(
            y.get("requires").and_then(|r| r.get("min-version")),
            Some(&Yaml::Scalar("6".into()))
        );
        assert_eq!(y.get("args").map(|a| a.items().len()), Some(1));
        let checks = y.get("checks").map(Yaml::items).unwrap_or_default();
        assert_eq!(checks.len(), 2);
        let m = checks[0]
            .get("filter")
            .and_then(|f| f.get("match"))
            .unwrap();
        assert_eq!(m.get("src_ip"), Some(&Yaml::Scalar("1.2.3.4".into())));
        assert_eq!(y.get("empty"), Some(&Yaml::List(vec![])));
    }

    #[test]
    fn judges_counts_with_dotted_fields() {
        let records: Vec<Value> = [
            r#"{"event_type":"alert","alert":{"signature_id":1,"signature":"a b"}}"#,
            r#"{"event_type":"alert","alert":{"signature_id":2,"signature":"a"}}"#,
            r#"{"event_type":"flow"}"#,
        ]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
        let check = |t: &str| judge(parse_yaml(t).items().first().unwrap(), &records);
        assert!(
            check("- filter:\n    count: 1\n    match:\n      alert.signature_id: 1\n").is_ok()
        );
        assert!(
            check("- filter:\n    count: 2\n    match:\n      alert.signature_id: 1\n").is_err()
        );
        assert!(check("- filter:\n    count: 1\n    match:\n      alert.signature: a b\n").is_ok());
        assert!(check("- filter:\n    count: 2\n    match:\n      event_type: alert\n").is_ok());
        assert!(check("- filter:\n    gt: 2\n    match:\n      event_type: alert\n").is_err());
        assert!(check("- filter:\n    lt: 3\n    match:\n      event_type: alert\n").is_ok());
        assert!(check("- shell:\n    args: true\n").is_ok());
    }

    #[test]
    fn versions() {
        assert!(unmet_requirement(Some(&parse_yaml("min-version: 9\n"))).is_some());
        assert!(unmet_requirement(Some(&parse_yaml("min-version: 8.0.0\n"))).is_none());
        assert!(unmet_requirement(Some(&parse_yaml("gt-version: 6.0.11\n"))).is_none());
    }
}
