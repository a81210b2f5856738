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
//! skipped. One tapwatch process per test, two at a time.
//!
//! Without the corpus the test prints a `skipped:` line and passes. Run with `--nocapture` to
//! see the per-test report.

#[path = "common/shared.rs"]
mod shared;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// Tests allowed to fail while detection is being completed, each with the reason. A listed test
/// that passes is reported so that it can be taken off the list.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// The Suricata version whose behaviour tapwatch follows.
const SURICATA_VERSION: [u64; 3] = [8, 0, 6];

fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir("corpus/verify-sample/INDEX.yaml")
}

// ---------------------------------------------------------------------------------------------
// A small YAML reader for the subset suricata-verify's test.yaml files use: block mappings and
// sequences by indentation, plain and quoted scalars, `[a, b]` flow lists, comments.

#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
    Scalar(String),
    Null,
}

impl Yaml {
    fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) => Some(s),
            _ => None,
        }
    }

    fn items(&self) -> &[Yaml] {
        match self {
            Yaml::List(items) => items,
            _ => &[],
        }
    }
}

struct Line {
    indent: usize,
    text: String,
}

fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'#') if i == 0 || bytes[i - 1] == b' ' => return &line[..i],
            _ => {}
        }
    }
    line
}

fn parse_yaml(text: &str) -> Yaml {
    let mut lines: Vec<Line> = text
        .lines()
        .map(strip_comment)
        .filter(|l| !l.trim().is_empty() && l.trim() != "---")
        .map(|l| Line {
            indent: l.len() - l.trim_start().len(),
            text: l.trim().to_owned(),
        })
        .collect();
    let mut i = 0;
    parse_node(&mut lines, &mut i, 0)
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

fn parse_node(lines: &mut [Line], i: &mut usize, min_indent: usize) -> Yaml {
    let Some(first) = lines.get(*i) else {
        return Yaml::Null;
    };
    if first.indent < min_indent {
        return Yaml::Null;
    }
    let indent = first.indent;
    if is_item(&first.text) {
        parse_list(lines, i, indent)
    } else if split_key(&first.text).is_some() {
        parse_map(lines, i, indent)
    } else {
        *i += 1;
        scalar(&lines[*i - 1].text)
    }
}

fn parse_list(lines: &mut [Line], i: &mut usize, indent: usize) -> Yaml {
    let mut items = Vec::new();
    while let Some(line) = lines.get(*i) {
        if line.indent != indent || !is_item(&line.text) {
            break;
        }
        let rest = line.text[1..].trim_start().to_owned();
        if rest.is_empty() {
            *i += 1;
            items.push(parse_node(lines, i, indent + 1));
        } else if split_key(&rest).is_some() {
            // "- key: value" opens a mapping whose keys sit where "key" is.
            let offset = line.text.len() - rest.len();
            lines[*i] = Line {
                indent: indent + offset,
                text: rest,
            };
            items.push(parse_map(lines, i, indent + offset));
        } else {
            *i += 1;
            items.push(scalar(&rest));
        }
    }
    Yaml::List(items)
}

fn parse_map(lines: &mut [Line], i: &mut usize, indent: usize) -> Yaml {
    let mut entries = Vec::new();
    while let Some(line) = lines.get(*i) {
        if line.indent != indent || is_item(&line.text) {
            break;
        }
        let Some((key, value)) = split_key(&line.text) else {
            break;
        };
        let (key, value) = (key.to_owned(), value.to_owned());
        *i += 1;
        let node = if !value.is_empty() {
            scalar(&value)
        } else {
            match lines.get(*i) {
                Some(next) if next.indent > indent => parse_node(lines, i, indent + 1),
                // A sequence may sit at its key's own indentation.
                Some(next) if next.indent == indent && is_item(&next.text) => {
                    parse_list(lines, i, indent)
                }
                _ => Yaml::Null,
            }
        };
        entries.push((key, node));
    }
    Yaml::Map(entries)
}

/// `key: value` or `key:`; quoted keys are unquoted.
fn split_key(text: &str) -> Option<(&str, &str)> {
    if text.starts_with('"') || text.starts_with('\'') {
        let q = &text[..1];
        let end = text[1..].find(q)? + 1;
        let rest = text[end + 1..].strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        return Some((&text[1..end], rest.trim()));
    }
    if let Some(k) = text.strip_suffix(':') {
        return (!k.contains(": ")).then_some((k.trim(), ""));
    }
    let (k, v) = text.split_once(": ")?;
    Some((k.trim(), v.trim()))
}

fn scalar(text: &str) -> Yaml {
    let t = text.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        return Yaml::Scalar(t[1..t.len() - 1].to_owned());
    }
    if let Some(inner) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        return Yaml::List(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(scalar)
                .collect(),
        );
    }
    match t {
        "" | "~" | "null" => Yaml::Null,
        _ => Yaml::Scalar(t.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// suricata-verify's filter semantics.

/// The value at a dotted path (`alert.signature_id`, `dns.answers[0].rrname`).
fn lookup<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = record;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (
                n,
                rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
            ),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// Whether `actual` equals the YAML scalar `expected`, with YAML's typing of plain scalars.
fn equals(actual: &Value, expected: &Yaml) -> bool {
    match (actual, expected) {
        (Value::Null, Yaml::Null) => true,
        (Value::Number(n), Yaml::Scalar(s)) => match (n.as_f64(), s.parse::<f64>()) {
            (Some(a), Ok(e)) => a == e,
            _ => false,
        },
        (Value::Bool(b), Yaml::Scalar(s)) => s == if *b { "true" } else { "false" },
        (Value::String(a), Yaml::Scalar(s)) => a == s,
        (Value::Array(a), Yaml::List(e)) => {
            a.len() == e.len() && a.iter().zip(e).all(|(a, e)| equals(a, e))
        }
        _ => false,
    }
}

/// Whether `record` satisfies one `match` entry, including suricata-verify's `__len`,
/// `__find`, `__startswith` and `__endswith` suffixes.
fn matches_field(record: &Value, key: &str, expected: &Yaml) -> bool {
    for (suffix, op) in [
        ("__len", 0u8),
        ("__find", 1),
        ("__startswith", 2),
        ("__endswith", 3),
    ] {
        if let Some(path) = key.strip_suffix(suffix) {
            let Some(v) = lookup(record, path) else {
                return false;
            };
            let e = expected.as_str().unwrap_or("");
            return match op {
                0 => {
                    let len = match v {
                        Value::Array(a) => a.len(),
                        Value::Object(o) => o.len(),
                        Value::String(s) => s.len(),
                        _ => return false,
                    };
                    e.parse::<usize>().map(|n| n == len).unwrap_or(false)
                }
                _ => {
                    let Value::String(s) = v else { return false };
                    match op {
                        1 => s.contains(e),
                        2 => s.starts_with(e),
                        _ => s.ends_with(e),
                    }
                }
            };
        }
    }
    lookup(record, key).is_some_and(|v| equals(v, expected))
}

fn version(text: &str) -> [u64; 3] {
    let mut v = [0u64; 3];
    for (slot, part) in v.iter_mut().zip(text.split('.')) {
        *slot = part.trim().parse().unwrap_or(0);
    }
    v
}

/// Why the `requires` block rules the test (or a check) out, if it does.
fn unmet_requirement(requires: Option<&Yaml>) -> Option<String> {
    let requires = requires?;
    if let Some(v) = requires.get("min-version").and_then(Yaml::as_str) {
        if version(v) > SURICATA_VERSION {
            return Some(format!("requires min-version {v}"));
        }
    }
    if let Some(v) = requires.get("lt-version").and_then(Yaml::as_str) {
        if SURICATA_VERSION >= version(v) {
            return Some(format!("requires lt-version {v}"));
        }
    }
    if let Some(v) = requires.get("gt-version").and_then(Yaml::as_str) {
        if SURICATA_VERSION <= version(v) {
            return Some(format!("requires gt-version {v}"));
        }
    }
    None
}

/// The verdict on one check: `Err` holds the failure's description.
fn judge(check: &Yaml, records: &[Value]) -> Result<String, String> {
    let Some(filter) = check.get("filter") else {
        let kind = match check {
            Yaml::Map(e) => e.first().map(|(k, _)| k.clone()).unwrap_or_default(),
            _ => "?".into(),
        };
        return Ok(format!("{kind} check skipped (not a filter)"));
    };
    if let Some(why) = unmet_requirement(filter.get("requires")) {
        return Ok(format!("filter skipped: {why}"));
    }
    let fields: &[(String, Yaml)] = match filter.get("match") {
        Some(Yaml::Map(e)) => e,
        _ => &[],
    };
    let count = records
        .iter()
        .filter(|r| fields.iter().all(|(k, v)| matches_field(r, k, v)))
        .count();
    let describe = || {
        fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let num = |key: &str| {
        filter
            .get(key)
            .and_then(Yaml::as_str)
            .and_then(|s| s.parse::<usize>().ok())
    };
    if let Some(want) = num("count") {
        if count != want {
            return Err(format!(
                "{{{}}}: expected count {want}, got {count}",
                describe()
            ));
        }
    }
    if let Some(lt) = num("lt") {
        if count >= lt {
            return Err(format!(
                "{{{}}}: expected fewer than {lt}, got {count}",
                describe()
            ));
        }
    }
    if let Some(gt) = num("gt") {
        if count <= gt {
            return Err(format!(
                "{{{}}}: expected more than {gt}, got {count}",
                describe()
            ));
        }
    }
    Ok(format!("{{{}}}: {count}", describe()))
}

// ---------------------------------------------------------------------------------------------

struct Case {
    name: String,
    dir: PathBuf,
    rules: Vec<PathBuf>,
    pcap: PathBuf,
    spec: Yaml,
}

fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
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
            None => files_with_ext(&dir, "rules"),
        };
        let pcap = spec
            .get("pcap")
            .or_else(|| entry.and_then(|e| e.get("pcap")))
            .and_then(Yaml::as_str)
            .map(|p| dir.join(p))
            .or_else(|| files_with_ext(&dir, "pcap").into_iter().next())
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

/// The tapwatch configuration matching the test's Suricata command-line arguments.
fn config_for(case: &Case) -> Result<String, String> {
    let args: Vec<String> = case
        .spec
        .get("args")
        .map(Yaml::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Yaml::as_str)
        .flat_map(|a| a.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    // Suricata's default checksum mode (auto) gives up checking on captures with offloaded
    // checksums; tapwatch's default (off) behaves the same on these captures.
    let mut checksums = false;
    let mut midstream = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-k" => match it.next().map(String::as_str) {
                Some("none") => checksums = false,
                Some("all") => checksums = true,
                other => return Err(format!("unsupported -k {other:?}")),
            },
            "--set" => match it.next().map(String::as_str) {
                Some("stream.midstream=true") => midstream = true,
                other => return Err(format!("unsupported --set {other:?}")),
            },
            other => return Err(format!("unsupported argument {other:?}")),
        }
    }
    let mut cfg = format!(
        "[decode]\nchecksum_validation = {checksums}\n[flow]\ntcp_midstream = {midstream}\n"
    );
    if case.dir.join("suricata.yaml").is_file() {
        return Err("per-test suricata.yaml is not translated".into());
    }
    cfg.push_str("[detect]\ncache = false\n");
    Ok(cfg)
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
    let config = match config_for(case) {
        Ok(c) => c,
        Err(e) => return fail(&case.name, vec![format!("cannot run: {e}")]),
    };
    let dir = out_dir.join(&case.name);
    std::fs::create_dir_all(&dir).expect("create output directory");
    let config_path = dir.join("tapwatch.toml");
    std::fs::write(&config_path, config).expect("write config");
    let eve = dir.join("eve.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapwatch"));
    cmd.args(["replay", "--progress", "never", "--config"])
        .arg(&config_path)
        .arg("--eve")
        .arg(&eve);
    for r in &case.rules {
        cmd.arg("--rules").arg(r);
    }
    let output = cmd.arg(&case.pcap).output().expect("run tapwatch");
    if !output.status.success() {
        return fail(
            &case.name,
            vec![format!(
                "tapwatch exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )],
        );
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    for l in stderr.lines().filter(|l| l.contains("reject")).take(5) {
        lines.push(format!("note: {}", l.trim()));
    }
    let records: Vec<Value> = std::fs::read_to_string(&eve)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
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
