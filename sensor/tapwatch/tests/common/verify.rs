//! What the suricata-verify harnesses share (`verify_sample.rs`, `verify_train.rs`): a reader
//! for the YAML subset of `test.yaml` and `suricata.yaml` fragments, suricata-verify's `filter`
//! check semantics, its `requires` gates with tapwatch following Suricata 8.0.6, and the
//! mapping of a test's Suricata arguments and configuration onto a tapwatch configuration.
//!
//! Read from the suite's documentation and test files only; no code of the suite is used.

#![allow(
    dead_code,
    reason = "each test binary that includes this module uses a different part of it"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The Suricata version whose behaviour tapwatch follows.
pub const SURICATA_VERSION: [u64; 3] = [8, 0, 6];

// ---------------------------------------------------------------------------------------------
// A small YAML reader for the subset suricata-verify's test.yaml files use: block mappings and
// sequences by indentation, plain and quoted scalars, `[a, b]` flow lists, comments.

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Map(Vec<(String, Yaml)>),
    List(Vec<Yaml>),
    Scalar(String),
    Null,
}

impl Yaml {
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Yaml::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Yaml] {
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

pub fn parse_yaml(text: &str) -> Yaml {
    let mut lines: Vec<Line> = text
        .lines()
        .map(strip_comment)
        .filter(|l| !l.trim().is_empty() && l.trim() != "---" && !l.starts_with('%'))
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
        let node = if matches!(value.as_str(), "|" | "|-" | ">" | ">-") {
            // A block scalar: the more-indented lines that follow, one per line.
            let mut text = Vec::new();
            while let Some(next) = lines.get(*i).filter(|l| l.indent > indent) {
                text.push(next.text.clone());
                *i += 1;
            }
            Yaml::Scalar(text.join("\n"))
        } else if !value.is_empty() {
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

/// The items of a flow collection's inside, split at the commas outside nested `[]`, `{}`
/// and quotes (`{topic: a, qos: 0}, {topic: b, qos: 1}`), trimmed.
fn split_flow(inner: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, ',') if depth == 0 => {
                items.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(inner[start..].trim());
    items
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
            split_flow(inner)
                .into_iter()
                .filter(|s| !s.is_empty())
                .map(scalar)
                .collect(),
        );
    }
    if let Some(inner) = t.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let mut entries = Vec::new();
        for item in split_flow(inner).into_iter().filter(|s| !s.is_empty()) {
            match item.split_once(':') {
                Some((k, v)) => entries.push((k.trim().to_owned(), scalar(v))),
                None => entries.push((item.to_owned(), Yaml::Null)),
            }
        }
        return Yaml::Map(entries);
    }
    match t {
        "" | "~" | "null" => Yaml::Null,
        _ => Yaml::Scalar(t.to_owned()),
    }
}

// ---------------------------------------------------------------------------------------------
// suricata-verify's filter semantics.

/// The value at a dotted path (`alert.signature_id`, `dns.answers[0].rrname`).
pub fn lookup<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
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
pub fn equals(actual: &Value, expected: &Yaml) -> bool {
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
        // A mapping equals an object with exactly its keys, each equal.
        (Value::Object(a), Yaml::Map(e)) => {
            a.len() == e.len()
                && e.iter()
                    .all(|(k, e)| a.get(k).is_some_and(|a| equals(a, e)))
        }
        _ => false,
    }
}

/// Whether `record` satisfies one `match` entry, including suricata-verify's `__len`,
/// `__find`, `__startswith` and `__endswith` suffixes.
pub fn matches_field(record: &Value, key: &str, expected: &Yaml) -> bool {
    // `has-key: path` / `not-has-key: path`: whether the record has the field at all.
    // `has-key: path` / `not-has-key: path` (or a list of paths): whether the record has the
    // fields at all.
    if key == "has-key" || key == "not-has-key" {
        let paths: Vec<&str> = match expected {
            Yaml::Scalar(p) => vec![p.as_str()],
            Yaml::List(items) => items.iter().filter_map(Yaml::as_str).collect(),
            _ => Vec::new(),
        };
        let want = key == "has-key";
        return !paths.is_empty() && paths.iter().all(|p| lookup(record, p).is_some() == want);
    }
    if let Some(path) = key.strip_suffix("__contains") {
        // A list holding the value, or a string holding the text.
        return match lookup(record, path) {
            Some(Value::Array(a)) => a.iter().any(|v| equals(v, expected)),
            Some(Value::String(s)) => expected.as_str().is_some_and(|e| s.contains(e)),
            _ => false,
        };
    }
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

pub fn version(text: &str) -> [u64; 3] {
    let mut v = [0u64; 3];
    for (slot, part) in v.iter_mut().zip(text.split('.')) {
        let digits: String = part
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        *slot = digits.parse().unwrap_or(0);
    }
    v
}

/// Why the `requires` block rules the test (or a check) out, if it does: its version gates
/// (`min-version`, `lt-version`, `gt-version`) with tapwatch following Suricata 8.0.6. Its
/// `features` are taken as present: the tests run are those the 8.0.6 build used for the
/// outcomes (with Hyperscan, JA3/JA4, Lua) passed, so that build had them; a feature tapwatch
/// lacks shows as a rejected rule or a missing record instead.
pub fn unmet_requirement(requires: Option<&Yaml>) -> Option<String> {
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
pub fn judge(check: &Yaml, records: &[Value]) -> Result<String, String> {
    judge_in(check, records, &["eve.json".to_owned()])
}

/// `judge`, with the records of the EVE file Suricata would have written under one of
/// `eve_names` (a test's eve-log `filename`).
pub fn judge_in(check: &Yaml, records: &[Value], eve_names: &[String]) -> Result<String, String> {
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
    if let Some(file) = filter.get("filename").and_then(Yaml::as_str) {
        if !eve_names.iter().any(|n| n == file) {
            return Err(format!("filter on {file}: not an EVE file tapwatch writes"));
        }
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
// A test's Suricata arguments and configuration, mapped onto tapwatch's.

/// What a test asks of the sensor, in tapwatch's terms, and what could not be said in them.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    /// `-k none` / `-k all`; Suricata's default (auto) gives up checking on captures with
    /// offloaded checksums, and tapwatch's default (off) behaves the same on these captures.
    pub checksums: bool,
    pub midstream: bool,
    /// `stream.reassembly.depth` in bytes; `Some(0)`: unlimited, as Suricata.
    pub stream_depth: Option<u64>,
    /// libhtp's `request-body-limit` and `response-body-limit` in bytes; `Some(0)`:
    /// unlimited, as Suricata.
    pub http_body_limits: (Option<u64>, Option<u64>),
    /// The eve-log `types` of a test's own `suricata.yaml` that tapwatch writes; `None`: defaults.
    pub eve_types: Option<Vec<String>>,
    /// Anomaly kinds of the eve-log `anomaly` type (`decode`, `stream`, `applayer`).
    pub anomaly_types: Option<Vec<String>>,
    /// The eve-log `files` type's `force-hash` list (`md5`, `sha1`, `sha256`).
    pub force_hash: Vec<String>,
    pub alert_payload: bool,
    pub alert_payload_printable: bool,
    pub alert_packet: bool,
    pub alert_metadata: bool,
    /// Address and port groups (`vars:`), passed as `--var NAME=VALUE`.
    pub vars: Vec<(String, String)>,
    pub threshold_file: Option<PathBuf>,
    pub classification_file: Option<PathBuf>,
    /// Rule files named on the command line (`-S`, `-s`), relative to the test directory.
    pub rule_files: Vec<PathBuf>,
    pub tls_encryption_full: bool,
    /// `[app.http] decompress_layer_limit`, when the test sets Suricata's.
    pub http_decompress_layers: Option<u64>,
    /// `app-layer.protocols.mqtt.max-msg-length` in bytes.
    pub mqtt_max_msg_len: Option<u64>,
    /// The eve-log `mqtt` type's `string-log-limit` in bytes.
    pub mqtt_string_log_limit: Option<u64>,
    /// Settings tapwatch has no counterpart for; a failing test names them as its reason.
    pub unmapped: Vec<String>,
    /// Set when the test exercises a feature tapwatch leaves out on purpose: the reason.
    pub left_out: Option<String>,
    /// Suricata runs in IPS mode (`--simulate-ips`, `stream.inline`); tapwatch runs it as an
    /// IDS unless the test depends on verdicts (then `left_out` is set by the caller).
    pub ips_mode: bool,
    /// The capture named on a custom command line (`-r`).
    pub pcap: Option<PathBuf>,
    /// The `filename` of the test's eve-log outputs (`eve.json` when it has none of its own).
    pub eve_filenames: Vec<String>,
    /// `reputation-categories-file`
    pub reputation_categories: Option<PathBuf>,
    /// `reputation-files` (each once), resolved in the test directory (the suite's
    /// `default-reputation-path` is always the test directory).
    pub reputation_files: Vec<PathBuf>,
    /// `datasets.rules.*` and `datasets.defaults.*` as `[datasets.rules]`/`[datasets.defaults]`
    /// lines (`key = value`), by table.
    pub dataset_settings: Vec<(&'static str, String)>,
    /// `datasets.NAME.KEY` settings: (name, key, value).
    pub dataset_defs: Vec<(String, String, String)>,
}

/// Suricata settings that change nothing tapwatch's EVE output could show (logging, stats
/// counters, run modes, thread layout, the order of randomised hash seeds), or whose value is
/// what tapwatch does anyway.
const NO_EFFECT_SETTINGS: &[&str] = &[
    "stats.",
    "logging.",
    "runmode",
    "max-pending-packets",
    "threading.",
    "profiling.",
    "pcap-file.",
    "unix-command.",
    "run-as.",
    "default-log-dir",
    "default-rule-path",
    "engine-analysis.",
    "plugins",
    "app-layer.protocols.http.enabled",
    "app-layer.protocols.tls.enabled",
    "app-layer.protocols.dns.enabled",
    "app-layer.protocols.dns.tcp.enabled",
    "app-layer.protocols.dns.udp.enabled",
    "app-layer.protocols.ssh.enabled",
    "app-layer.protocols.smb.enabled",
    "app-layer.protocols.mqtt.enabled",
    "exception-policy",
    "stream.async-oneside",
];

impl Settings {
    pub fn new() -> Settings {
        Settings {
            alert_metadata: true,
            ..Settings::default()
        }
    }

    /// Applies one `name=value` setting (`--set`, or a flattened `suricata.yaml` leaf).
    pub fn set(&mut self, name: &str, value: &str, test_dir: &Path) {
        let truthy = matches!(value, "yes" | "true" | "on" | "1");
        match name {
            "stream.midstream" => self.midstream = truthy,
            "stream.inline" => {
                if truthy {
                    self.ips_mode = true;
                }
            }
            "app-layer.protocols.http.libhtp.default-config.request-body-limit" => {
                match size(value) {
                    Some(n) => self.http_body_limits.0 = Some(n),
                    None => self.unmapped.push(format!("{name}={value}")),
                }
            }
            "app-layer.protocols.http.libhtp.default-config.response-body-limit" => {
                match size(value) {
                    Some(n) => self.http_body_limits.1 = Some(n),
                    None => self.unmapped.push(format!("{name}={value}")),
                }
            }
            "stream.reassembly.depth" => match size(value) {
                Some(n) => self.stream_depth = Some(n),
                None => self.unmapped.push(format!("{name}={value}")),
            },
            // Suricata's own files from its source tree: tapwatch's built-in defaults are the same.
            "classification-file" | "reference-config-file" if value.starts_with("${SRCDIR}") => {}
            "reference-config-file" => {}
            "threshold-file" => self.threshold_file = Some(test_path(test_dir, value)),
            "classification-file" => self.classification_file = Some(test_path(test_dir, value)),
            "app-layer.protocols.tls.encryption-handling" => {
                self.tls_encryption_full = value == "full"
            }
            "app-layer.protocols.http.libhtp.default-config.response-body-decompress-layer-limit" => {
                match value.trim().parse() {
                    Ok(n) => self.http_decompress_layers = Some(n),
                    Err(_) => self.unmapped.push(format!("{name}={value}")),
                }
            }
            "reputation-categories-file" => {
                self.reputation_categories = Some(test_path(test_dir, value))
            }
            // Reputation files resolve against it; the suite always names the test directory,
            // where `test_path` resolves them.
            "default-reputation-path" if test_path(test_dir, value) == test_dir => {}
            _ if name == "reputation-files" || name.starts_with("reputation-files.") => {
                let f = test_path(test_dir, value);
                if !self.reputation_files.contains(&f) {
                    self.reputation_files.push(f);
                }
            }
            "datasets.rules.allow-absolute-filenames" => self
                .dataset_settings
                .push(("rules", format!("allow_absolute_filenames = {truthy}"))),
            "datasets.rules.allow-write" => self
                .dataset_settings
                .push(("rules", format!("allow_write = {truthy}"))),
            "datasets.defaults.memcap" => match size(value) {
                Some(n) => self
                    .dataset_settings
                    .push(("defaults", format!("memcap_bytes = {n}"))),
                None => self.unmapped.push(format!("{name}={value}")),
            },
            "datasets.defaults.hashsize" => self
                .dataset_settings
                .push(("defaults", format!("hashsize = {value}"))),
            // Not a setting Suricata 8.0.6 reads (datasets are always on); the suite passes it.
            "datasets.enabled" => {}
            _ if name.starts_with("datasets.") && !name.starts_with("datasets.limits.") => {
                let rest = &name["datasets.".len()..];
                match rest.split_once('.') {
                    // Suricata runs in the test directory: a `load` file is there.
                    Some((set, "load")) => self.dataset_defs.push((
                        set.to_owned(),
                        "load".to_owned(),
                        test_path(test_dir, value).display().to_string(),
                    )),
                    Some((set, key @ ("type" | "save" | "state" | "memcap" | "hashsize"))) => self
                        .dataset_defs
                        .push((set.to_owned(), key.to_owned(), value.to_owned())),
                    _ => self.unmapped.push(format!("{name}={value}")),
                }
            }
            "app-layer.protocols.mqtt.max-msg-length" => match size(value) {
                Some(n) if n > 0 => self.mqtt_max_msg_len = Some(n),
                _ => self.unmapped.push(format!("{name}={value}")),
            },
            _ if name.starts_with("vars.address-groups.")
                || name.starts_with("vars.port-groups.") =>
            {
                let var = name.rsplit('.').next().unwrap_or(name);
                self.vars.push((var.to_owned(), value.to_owned()));
            }
            _ if NO_EFFECT_SETTINGS.iter().any(|p| name.starts_with(p)) => {}
            _ => self.unmapped.push(format!("{name}={value}")),
        }
    }

    /// Applies the test's `args` (Suricata's command line as the suite passes it).
    pub fn apply_args(&mut self, args: &[String], test_dir: &Path) {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "-k" => match it.next().map(String::as_str) {
                    Some("none") => self.checksums = false,
                    Some("all") => self.checksums = true,
                    other => self.unmapped.push(format!("-k {}", other.unwrap_or(""))),
                },
                "--set" => {
                    let kv = it.next().map(String::as_str).unwrap_or("");
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    self.set(k, v, test_dir);
                }
                "-S" | "-s" => {
                    if let Some(f) = it.next() {
                        self.rule_files.push(test_path(test_dir, f));
                    }
                }
                "--simulate-ips" => self.ips_mode = true,
                "-r" => self.pcap = it.next().map(|f| test_path(test_dir, f)),
                "-l" => {
                    it.next();
                }
                "-c" => {
                    let f = it.next().map(String::as_str).unwrap_or("");
                    if f.starts_with("${SRCDIR}") {
                        // Suricata's default configuration: tapwatch's defaults follow it.
                    } else {
                        let path = test_path(test_dir, f);
                        match std::fs::read_to_string(&path) {
                            Ok(text) => self.apply_suricata_yaml(&parse_yaml(&text), test_dir),
                            Err(_) => self.unmapped.push(format!("-c {f}")),
                        }
                    }
                }
                "--init-errors-fatal" | "--strict-rule-keywords" => {}
                "--engine-analysis" => {
                    self.left_out = Some("Suricata's engine analysis (rule analysis files)".into())
                }
                "-T" => self.left_out = Some("Suricata's configuration test mode (-T)".into()),
                "-u"
                | "-U"
                | "--unittest-filter"
                | "--list-keywords"
                | "--list-app-layer-protos" => {
                    self.left_out = Some(format!("Suricata's own unit-test or listing mode ({a})"))
                }
                "--pcap-file-continuous" | "--pcap-file-recursive" | "--pcap-file-delete" => {
                    self.unmapped.push(a.clone())
                }
                "--runmode" | "-v" | "-vv" | "-vvv" | "--no-random" => {
                    if a == "--runmode" {
                        it.next();
                    }
                }
                _ if a.starts_with("--runmode=") || a.starts_with("--data-dir") => {}
                _ => self.unmapped.push(a.clone()),
            }
        }
    }

    /// Applies a test's own `suricata.yaml` (a documented subset: eve-log types and alert
    /// options, `vars`, stream depth and midstream, checksum validation, TLS encryption
    /// handling, threshold and classification files); every other setting is flattened and
    /// judged by `set`, and the features left out on purpose (pcap-log, Lua output scripts)
    /// mark the test.
    pub fn apply_suricata_yaml(&mut self, yaml: &Yaml, test_dir: &Path) {
        let Yaml::Map(top) = yaml else { return };
        for (key, value) in top {
            match key.as_str() {
                "outputs" => self.apply_outputs(value),
                "include" => self
                    .unmapped
                    .push("include (another Suricata configuration)".into()),
                "action-order" => {}
                "rule-files" => {
                    for f in value.items().iter().filter_map(Yaml::as_str) {
                        self.rule_files.push(test_path(test_dir, f));
                    }
                }
                _ => {
                    let mut leaves = Vec::new();
                    flatten(key, value, &mut leaves);
                    for (k, v) in leaves {
                        match k.as_str() {
                            "stream.checksum-validation" => {
                                self.checksums = matches!(v.as_str(), "yes" | "true")
                            }
                            _ => self.set(&k, &v, test_dir),
                        }
                    }
                }
            }
        }
    }

    fn apply_outputs(&mut self, outputs: &Yaml) {
        for output in outputs.items() {
            let Yaml::Map(entries) = output else { continue };
            for (kind, body) in entries {
                let enabled = body
                    .get("enabled")
                    .and_then(Yaml::as_str)
                    .is_none_or(|e| matches!(e, "yes" | "true"));
                match kind.as_str() {
                    "eve-log" if enabled => self.apply_eve_log(body),
                    "pcap-log" if enabled => {
                        self.left_out = Some("pcap logging (pcap-log output)".into())
                    }
                    "lua" if enabled => {
                        self.left_out = Some("Lua output scripts (lua output)".into())
                    }
                    "file-store" | "tls-store" if enabled => {
                        self.unmapped.push(format!("outputs.{kind}"))
                    }
                    _ => {}
                }
            }
        }
    }

    fn apply_eve_log(&mut self, eve: &Yaml) {
        let name = eve
            .get("filename")
            .and_then(Yaml::as_str)
            .unwrap_or("eve.json");
        if !self.eve_filenames.is_empty() {
            // tapwatch writes one EVE file; the types of every output go to it.
            self.unmapped.push("outputs: several eve-log files".into());
        }
        self.eve_filenames.push(name.to_owned());
        if let Some(f) = eve.get("filetype").and_then(Yaml::as_str) {
            if f != "regular" {
                self.unmapped.push(format!("eve-log filetype {f}"));
            }
        }
        let Some(types) = eve.get("types") else {
            return;
        };
        let mut list = Vec::new();
        for t in types.items() {
            let (name, options) = match t {
                Yaml::Scalar(s) => (s.as_str(), None),
                Yaml::Map(e) => match e.first() {
                    Some((k, v)) => (k.as_str(), Some(v)),
                    None => continue,
                },
                _ => continue,
            };
            let enabled = options
                .and_then(|o| o.get("enabled"))
                .and_then(Yaml::as_str)
                .is_none_or(|e| matches!(e, "yes" | "true"));
            if !enabled {
                continue;
            }
            match name {
                "alert" => {
                    if let Some(o) = options {
                        let flag = |k: &str| {
                            o.get(k)
                                .and_then(Yaml::as_str)
                                .map(|v| matches!(v, "yes" | "true"))
                        };
                        self.alert_payload = flag("payload").unwrap_or(false);
                        self.alert_payload_printable = flag("payload-printable").unwrap_or(false);
                        self.alert_packet = flag("packet").unwrap_or(false);
                        self.alert_metadata = flag("metadata").unwrap_or(true);
                    }
                }
                "anomaly" => {
                    list.push("anomaly".to_owned());
                    let mut kinds = vec!["applayer".to_owned()];
                    if let Some(t) = options.and_then(|o| o.get("types")) {
                        kinds.clear();
                        for k in ["decode", "stream", "applayer"] {
                            let on = t
                                .get(k)
                                .and_then(Yaml::as_str)
                                .is_some_and(|v| matches!(v, "yes" | "true"));
                            if on {
                                kinds.push(k.to_owned());
                            }
                        }
                    }
                    self.anomaly_types = Some(kinds);
                }
                "mqtt" => {
                    list.push(name.to_owned());
                    if let Some(l) = options
                        .and_then(|o| o.get("string-log-limit"))
                        .and_then(Yaml::as_str)
                    {
                        match size(l) {
                            Some(n) => self.mqtt_string_log_limit = Some(n),
                            None => self.unmapped.push(format!("mqtt string-log-limit={l}")),
                        }
                    }
                }
                "files" => {
                    list.push(name.to_owned());
                    if let Some(o) = options {
                        // A block list, or a flow list (`[md5, sha256]`) read as one scalar.
                        let hashes: Vec<String> = match o.get("force-hash") {
                            Some(Yaml::Scalar(v)) => v
                                .trim_matches(|c| c == '[' || c == ']')
                                .split(',')
                                .map(|h| h.trim().to_owned())
                                .filter(|h| !h.is_empty())
                                .collect(),
                            Some(list) => list
                                .items()
                                .iter()
                                .filter_map(Yaml::as_str)
                                .map(str::to_owned)
                                .collect(),
                            None => Vec::new(),
                        };
                        self.force_hash.extend(hashes);
                        let magic = o
                            .get("force-magic")
                            .and_then(Yaml::as_str)
                            .is_some_and(|v| matches!(v, "yes" | "true"));
                        if magic {
                            self.unmapped.push("eve-log files force-magic".into());
                        }
                    }
                }
                "http" | "dns" | "mdns" | "tls" | "ssh" | "flow" | "stats" => {
                    list.push(name.to_owned())
                }
                // Types tapwatch does not write; a check on them fails and names them.
                _ => {}
            }
        }
        let mut all = self.eve_types.take().unwrap_or_default();
        all.extend(list);
        all.sort();
        all.dedup();
        self.eve_types = Some(all);
    }

    /// The tapwatch configuration file for these settings.
    pub fn config_toml(&self, cache_dir: &Path) -> String {
        let mut c = format!(
            "[decode]\nchecksum_validation = {}\n[flow]\ntcp_midstream = {}\n",
            self.checksums, self.midstream
        );
        if let Some(d) = self.stream_depth {
            // Suricata's 0 is unlimited.
            let d = if d == 0 { u64::from(u32::MAX) } else { d };
            c.push_str(&format!("[stream]\ndepth_bytes = {d}\n"));
        }
        if self.http_body_limits != (None, None) {
            // Suricata's 0 is unlimited.
            let bytes = |n: u64| if n == 0 { u64::from(u32::MAX) } else { n };
            c.push_str("[app.http]\n");
            if let Some(n) = self.http_body_limits.0 {
                c.push_str(&format!("request_body_limit_bytes = {}\n", bytes(n)));
            }
            if let Some(n) = self.http_body_limits.1 {
                c.push_str(&format!("response_body_limit_bytes = {}\n", bytes(n)));
            }
        }
        if self.tls_encryption_full {
            c.push_str("[app.tls]\nencryption_handling = \"full\"\n");
        }
        if let Some(n) = self.http_decompress_layers {
            c.push_str(&format!("[app.http]\ndecompress_layer_limit = {n}\n"));
        }
        if let Some(n) = self.mqtt_max_msg_len {
            c.push_str(&format!("[app.mqtt]\nmax_msg_length_bytes = {n}\n"));
        }
        if self.eve_types.is_some()
            || self.anomaly_types.is_some()
            || self.mqtt_string_log_limit.is_some()
        {
            c.push_str("[eve]\n");
            if let Some(n) = self.mqtt_string_log_limit {
                c.push_str(&format!("mqtt_string_log_limit_bytes = {n}\n"));
            }
            if let Some(t) = &self.eve_types {
                c.push_str(&format!("types = {t:?}\n"));
            }
            if let Some(t) = &self.anomaly_types {
                c.push_str(&format!("anomaly_types = {t:?}\n"));
            }
        }
        if !self.force_hash.is_empty() {
            c.push_str(&format!(
                "[eve.files]\nforce_hash = {:?}\n",
                self.force_hash
            ));
        }
        c.push_str(&format!(
            "[detect]\ncache = true\ncache_dir = {:?}\n",
            cache_dir
        ));
        if let Some(f) = &self.threshold_file {
            c.push_str(&format!("threshold_file = {f:?}\n"));
        }
        if let Some(f) = &self.classification_file {
            c.push_str(&format!("classification_file = {f:?}\n"));
        }
        c.push_str(&format!(
            "[detect.alert]\npayload = {}\npayload_printable = {}\npacket = {}\nmetadata = {}\n",
            self.alert_payload,
            self.alert_payload_printable,
            self.alert_packet,
            self.alert_metadata
        ));
        if self.reputation_categories.is_some() || !self.reputation_files.is_empty() {
            c.push_str("[reputation]\n");
            if let Some(f) = &self.reputation_categories {
                c.push_str(&format!("categories_file = {f:?}\n"));
            }
            c.push_str(&format!("files = {:?}\n", self.reputation_files));
        }
        // The datasets' data directory is the configuration's (the test's output directory),
        // as the suite's `--data-dir`.
        for table in ["defaults", "rules"] {
            let lines: Vec<&String> = self
                .dataset_settings
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, l)| l)
                .collect();
            if !lines.is_empty() {
                c.push_str(&format!("[datasets.{table}]\n"));
                for l in lines {
                    c.push_str(l);
                    c.push('\n');
                }
            }
        }
        let mut names: Vec<&String> = self.dataset_defs.iter().map(|(n, _, _)| n).collect();
        names.dedup();
        for name in names {
            c.push_str(&format!("[datasets.{name:?}]\n"));
            for (_, key, value) in self.dataset_defs.iter().filter(|(n, _, _)| n == name) {
                match key.as_str() {
                    "memcap" => {
                        if let Some(n) = size(value) {
                            c.push_str(&format!("memcap_bytes = {n}\n"));
                        }
                    }
                    "hashsize" => c.push_str(&format!("hashsize = {value}\n")),
                    _ => c.push_str(&format!("{key} = {value:?}\n")),
                }
            }
        }
        c
    }
}

/// `1mb`, `4kb`, `100` as bytes.
fn size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("gb") {
        (n, 1 << 30)
    } else if let Some(n) = t.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("kb") {
        (n, 1 << 10)
    } else {
        (t.as_str(), 1)
    };
    num.trim().parse::<u64>().ok().map(|n| n * mult)
}

/// A path from a test's settings: `${TEST_DIR}` and relative paths resolve in the test directory.
fn test_path(test_dir: &Path, value: &str) -> PathBuf {
    let v = value.replace("${TEST_DIR}", &test_dir.to_string_lossy());
    test_dir.join(v)
}

/// The leaves of a YAML tree as dotted `name=value` pairs (list items by index).
fn flatten(prefix: &str, node: &Yaml, out: &mut Vec<(String, String)>) {
    match node {
        Yaml::Map(entries) => {
            for (k, v) in entries {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Yaml::List(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, out);
            }
        }
        Yaml::Scalar(s) => out.push((prefix.to_owned(), s.clone())),
        Yaml::Null => {}
    }
}

/// The test's `args`, split into words.
pub fn test_args(spec: &Yaml) -> Vec<String> {
    let args = match spec.get("args") {
        Some(Yaml::Scalar(s)) => vec![Yaml::Scalar(s.clone())],
        Some(a) => a.items().to_vec(),
        None => Vec::new(),
    };
    args.iter()
        .filter_map(Yaml::as_str)
        .flat_map(|a| a.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running tapwatch.

/// How one `tapwatch replay` ended.
pub enum Run {
    /// Exited with success; its standard error.
    Done { stderr: String },
    /// Exited with failure.
    Failed { status: String, stderr: String },
    /// Still running at the deadline, and killed.
    Timeout,
}

/// `tapwatch replay` of `pcap` with `rules` under `config`, EVE to `eve`, killed after `limit`.
pub fn replay(
    config: &Path,
    rules: &[PathBuf],
    vars: &[(String, String)],
    pcap: &Path,
    eve: &Path,
    limit: Duration,
) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tapwatch"));
    cmd.args(["replay", "--progress", "never", "--config"])
        .arg(config)
        .arg("--eve")
        .arg(eve);
    for r in rules {
        cmd.arg("--rules").arg(r);
    }
    for (k, v) in vars {
        cmd.arg("--var").arg(format!("{k}={v}"));
    }
    let err_path = eve.with_extension("stderr");
    let err_file = std::fs::File::create(&err_path).expect("create stderr file");
    let mut child = cmd
        .arg(pcap)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .expect("run tapwatch");
    let start = Instant::now();
    let status = loop {
        match child.try_wait().expect("wait for tapwatch") {
            Some(s) => break s,
            None if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Run::Timeout;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    if status.success() {
        Run::Done { stderr }
    } else {
        Run::Failed {
            status: status.to_string(),
            stderr,
        }
    }
}

/// The EVE records of a file (unreadable lines left out).
pub fn read_eve(eve: &Path) -> Vec<Value> {
    std::fs::read_to_string(eve)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The words of a test's custom `command:` after Suricata's binary, with `${TEST_DIR}` and
/// line continuations resolved; `Err` when the command runs more than Suricata on a capture.
pub fn command_words(command: &str) -> Result<Vec<String>, String> {
    let text = command.replace("\\\n", " ").replace('\\', " ");
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    match words.first().map(String::as_str) {
        Some("${SRCDIR}/src/suricata") => {}
        other => {
            return Err(format!(
                "custom command runs {}",
                other.unwrap_or("nothing")
            ))
        }
    }
    if words
        .iter()
        .any(|w| matches!(w.as_str(), "|" | ";" | "&&" | "||" | ">" | "<"))
    {
        return Err("custom command is a shell pipeline".into());
    }
    Ok(words.split_off(1))
}

/// The files of `dir` whose extension is `ext`, sorted (none when it cannot be read).
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
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
