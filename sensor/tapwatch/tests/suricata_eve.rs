//! Differential test against Suricata 8.0.6's own EVE output.
//!
//! For every capture of the shared corpus that has a `corpus/suricata-eve/<path>.eve.json`
//! (Suricata 8.0.6, default configuration, `-k none`, no rules), the capture is replayed with
//! tapwatch's default configuration and the `http`, `dns`, `tls` and application-layer
//! `anomaly` records of both are compared **field by field**.
//!
//! - Records are matched per capture by a key: the flow (both endpoints, in either order, and
//!   the transport) with the event type, plus `tx_id` for `http`, `tx_id` and `dns.type` for
//!   `dns`, nothing more for `tls` (one record per flow), and the event name and `app_proto` for
//!   `anomaly`. Records sharing a key are paired in file order.
//! - Every field of the event object is compared, and the top-level `src_ip`, `src_port`,
//!   `dest_ip`, `dest_port`, `proto` and `tx_id`.
//! - `flow_id` is ignored (each sensor hashes flows its own way), and so are `timestamp`,
//!   `pcap_cnt` and `pkt_src`: Suricata feeds TCP data to its parsers when the receiver
//!   acknowledges it, tapwatch as soon as it is in order, so the packet that completes a record
//!   differs while the record does not.
//! - Only anomalies of protocols tapwatch parses (`http`, `dns`, `tls`) are compared.
//!
//! Every remaining difference must be covered by an entry of [`ALLOWED`], which says why it
//! exists and how many such differences there may be at most. The test fails on a difference
//! no entry covers (a regression), on an entry exceeded, and on an agreement rate (records of
//! Suricata matched exactly) below [`MIN_AGREEMENT`].
//!
//! The corpus lives in `../shared/corpus` (or `$TAPWATCH_SHARED/corpus`); without it the test
//! prints a `skipped:` line and passes. Run with `--nocapture` to see the full report.

#[path = "common/shared.rs"]
mod shared;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// The event types compared, in report order.
const EVENT_TYPES: [&str; 4] = ["http", "dns", "tls", "anomaly"];

/// The least share of Suricata's records of each type that tapwatch must reproduce exactly.
const MIN_AGREEMENT: [(&str, f64); 3] = [("http", 0.97), ("dns", 0.99), ("tls", 0.97)];

/// Application protocols whose anomalies are compared.
const PARSED_PROTOS: [&str; 3] = ["http", "dns", "tls"];

/// Top-level fields compared besides the event object.
const TOP_FIELDS: [&str; 6] = [
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "proto",
    "tx_id",
];

/// What differs between the two outputs for one record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Suricata logged a record tapwatch did not.
    SuricataOnly,
    /// tapwatch logged a record Suricata did not.
    TapwatchOnly,
    /// Both logged the record; this field (dotted path) differs.
    Field(String),
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SuricataOnly => f.write_str("in Suricata only"),
            Self::TapwatchOnly => f.write_str("in tapwatch only"),
            Self::Field(name) => write!(f, "field {name}"),
        }
    }
}

/// One difference, with what an allow-list entry may look at.
#[derive(Debug, Clone)]
struct Diff {
    capture: String,
    event_type: &'static str,
    kind: Kind,
    /// The record (Suricata's when it has one, else tapwatch's).
    record: Value,
    suricata: Option<Value>,
    tapwatch: Option<Value>,
}

impl Diff {
    fn ports(&self) -> [u64; 2] {
        [
            self.record["src_port"].as_u64().unwrap_or(0),
            self.record["dest_port"].as_u64().unwrap_or(0),
        ]
    }

    fn anomaly_event(&self) -> &str {
        self.record["anomaly"]["event"].as_str().unwrap_or("")
    }

    fn transport(&self) -> &str {
        self.record["proto"].as_str().unwrap_or("")
    }
}

/// An accepted, explained difference.
struct Allowed {
    /// The event type it concerns.
    event_type: &'static str,
    /// The kind of difference: `"suricata-only"`, `"tapwatch-only"` or a field path.
    kind: &'static str,
    /// For `anomaly` records present on one side only: the event name; empty: any.
    anomaly: &'static str,
    /// Captures it applies to (path without extension); empty: any.
    captures: &'static [&'static str],
    /// Further condition on the record; `None`: none.
    when: Option<fn(&Diff) -> bool>,
    /// The most differences of this entry the corpus may show.
    max: usize,
    /// Why the outputs differ.
    reason: &'static str,
}

impl Allowed {
    fn covers(&self, d: &Diff) -> bool {
        let kind_ok = match &d.kind {
            Kind::SuricataOnly => self.kind == "suricata-only",
            Kind::TapwatchOnly => self.kind == "tapwatch-only",
            Kind::Field(f) => self.kind == f,
        };
        kind_ok
            && self.event_type == d.event_type
            && (self.anomaly.is_empty() || self.anomaly == d.anomaly_event())
            && (self.captures.is_empty() || self.captures.contains(&d.capture.as_str()))
            && self.when.is_none_or(|w| w(d))
    }
}

#[path = "common/suricata_allowed.rs"]
mod allowed;
use allowed::ALLOWED;

fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir("corpus/suricata-eve")
}

/// Captures with a Suricata EVE file: (capture path, path without its extension).
fn captures(shared: &Path) -> Vec<(String, String)> {
    let manifest = std::fs::read_to_string(shared.join("corpus/pcaps/MANIFEST.tsv"))
        .expect("read MANIFEST.tsv");
    let mut out = Vec::new();
    for line in manifest.lines().skip(1) {
        let Some(path) = line.split('\t').next().filter(|p| !p.is_empty()) else {
            continue;
        };
        let stem = match path.rsplit_once('.') {
            Some((stem, ext)) if !ext.contains('/') => stem,
            _ => path,
        };
        let eve = shared.join(format!("corpus/suricata-eve/{stem}.eve.json"));
        if eve.is_file() {
            out.push((path.to_string(), stem.to_string()));
        }
    }
    out
}

/// Replays each capture with tapwatch, two at a time; returns the EVE file of each stem.
fn replay_all(shared: &Path, captures: &[(String, String)]) -> HashMap<String, PathBuf> {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("suricata-diff");
    let next = AtomicUsize::new(0);
    let results = Mutex::new(HashMap::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((path, stem)) = captures.get(i) else {
                    break;
                };
                let eve = out_dir.join(format!("{stem}.eve.json"));
                std::fs::create_dir_all(eve.parent().expect("parent")).expect("mkdir");
                let status = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
                    .args(["replay", "--progress", "never", "--eve"])
                    .arg(&eve)
                    .arg(shared.join("corpus/pcaps").join(path))
                    .stderr(std::process::Stdio::null())
                    .status()
                    .expect("run tapwatch");
                assert!(status.success(), "tapwatch failed on {path}: {status}");
                results.lock().expect("lock").insert(stem.clone(), eve);
            });
        }
    });
    results.into_inner().expect("lock")
}

/// The compared records of one EVE file.
fn load(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| match r["event_type"].as_str() {
            Some("http" | "dns" | "tls") => true,
            Some("anomaly") => {
                r["anomaly"]["type"] == "applayer"
                    && r["anomaly"]["app_proto"]
                        .as_str()
                        .is_some_and(|p| PARSED_PROTOS.contains(&p))
            }
            _ => false,
        })
        .collect()
}

/// The matching key of a record.
fn key(r: &Value) -> String {
    let a = format!("{}:{}", r["src_ip"], r["src_port"]);
    let b = format!("{}:{}", r["dest_ip"], r["dest_port"]);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let flow = format!("{lo} {hi} {}", r["proto"]);
    let et = r["event_type"].as_str().unwrap_or("");
    match et {
        "http" => format!("http {flow} {}", r["tx_id"]),
        "dns" => format!("dns {flow} {} {}", r["dns"]["tx_id"], r["dns"]["type"]),
        "tls" => format!("tls {flow}"),
        _ => format!(
            "anomaly {flow} {} {}",
            r["anomaly"]["event"], r["anomaly"]["app_proto"]
        ),
    }
}

/// The compared fields of a record, by dotted path (arrays are compared whole).
fn fields(r: &Value, event_type: &str) -> BTreeMap<String, Value> {
    fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    flatten(&format!("{prefix}.{k}"), v, out);
                }
            }
            _ => {
                out.insert(prefix.to_string(), v.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    for f in TOP_FIELDS {
        if let Some(v) = r.get(f) {
            out.insert(f.to_string(), v.clone());
        }
    }
    flatten(event_type, &r[event_type], &mut out);
    out
}

fn event_type_of(r: &Value) -> &'static str {
    let et = r["event_type"].as_str().unwrap_or("");
    EVENT_TYPES
        .into_iter()
        .find(|t| *t == et)
        .unwrap_or("anomaly")
}

/// Per event type: Suricata's records, those matched exactly.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    suricata: usize,
    tapwatch: usize,
    exact: usize,
    suricata_only: usize,
    tapwatch_only: usize,
    mismatched: usize,
}

fn compare(
    capture: &str,
    suricata: Vec<Value>,
    tapwatch: Vec<Value>,
    tally: &mut HashMap<&'static str, Tally>,
    diffs: &mut Vec<Diff>,
) {
    let mut groups: BTreeMap<String, (Vec<Value>, Vec<Value>)> = BTreeMap::new();
    for r in suricata {
        tally.entry(event_type_of(&r)).or_default().suricata += 1;
        groups.entry(key(&r)).or_default().0.push(r);
    }
    for r in tapwatch {
        tally.entry(event_type_of(&r)).or_default().tapwatch += 1;
        groups.entry(key(&r)).or_default().1.push(r);
    }
    for (_, (s, t)) in groups {
        let paired = s.len().min(t.len());
        for r in &s[paired..] {
            let et = event_type_of(r);
            tally.entry(et).or_default().suricata_only += 1;
            diffs.push(Diff {
                capture: capture.to_string(),
                event_type: et,
                kind: Kind::SuricataOnly,
                record: r.clone(),
                suricata: Some(r.clone()),
                tapwatch: None,
            });
        }
        for r in &t[paired..] {
            let et = event_type_of(r);
            tally.entry(et).or_default().tapwatch_only += 1;
            diffs.push(Diff {
                capture: capture.to_string(),
                event_type: et,
                kind: Kind::TapwatchOnly,
                record: r.clone(),
                suricata: None,
                tapwatch: Some(r.clone()),
            });
        }
        for (rs, rt) in s.iter().zip(&t) {
            let et = event_type_of(rs);
            let fs = fields(rs, et);
            let ft = fields(rt, et);
            let mut names: Vec<&String> = fs.keys().chain(ft.keys()).collect();
            names.sort();
            names.dedup();
            let mut same = true;
            for name in names {
                let (vs, vt) = (fs.get(name), ft.get(name));
                if vs != vt {
                    same = false;
                    diffs.push(Diff {
                        capture: capture.to_string(),
                        event_type: et,
                        kind: Kind::Field(name.clone()),
                        record: rs.clone(),
                        suricata: vs.cloned(),
                        tapwatch: vt.cloned(),
                    });
                }
            }
            let entry = tally.entry(et).or_default();
            if same {
                entry.exact += 1;
            } else {
                entry.mismatched += 1;
            }
        }
    }
}

fn show(v: Option<&Value>) -> String {
    let s = v.map_or_else(|| "(absent)".to_string(), Value::to_string);
    if s.len() > 160 {
        let cut = (0..=160)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

#[test]
fn tapwatch_agrees_with_suricata_eve() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared/corpus/suricata-eve not found (set TAPWATCH_SHARED)");
        return;
    };
    let captures = captures(&shared);
    assert!(!captures.is_empty(), "no capture has a Suricata EVE file");
    let eves = replay_all(&shared, &captures);

    let mut tally: HashMap<&'static str, Tally> = HashMap::new();
    let mut diffs = Vec::new();
    for (_, stem) in &captures {
        let suricata = load(&shared.join(format!("corpus/suricata-eve/{stem}.eve.json")));
        let tapwatch = load(&eves[stem]);
        compare(stem, suricata, tapwatch, &mut tally, &mut diffs);
    }

    // The report: totals, then each kind of difference with a few examples.
    let mut report = format!("{} captures compared with Suricata 8.0.6\n", captures.len());
    for et in EVENT_TYPES {
        let t = tally.get(et).copied().unwrap_or_default();
        let rate = t.exact as f64 / t.suricata.max(1) as f64;
        let _ = writeln!(
            report,
            "{et:8} suricata {:5} tapwatch {:5} exact {:5} ({:5.1}%) suricata-only {:4} tapwatch-only {:4} mismatched {:4}",
            t.suricata, t.tapwatch, t.exact, rate * 100.0, t.suricata_only, t.tapwatch_only, t.mismatched
        );
    }
    let mut by_kind: BTreeMap<(&str, &Kind), Vec<&Diff>> = BTreeMap::new();
    for d in &diffs {
        by_kind.entry((d.event_type, &d.kind)).or_default().push(d);
    }
    let mut kinds: Vec<_> = by_kind.iter().collect();
    kinds.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for ((et, kind), list) in kinds {
        let _ = writeln!(report, "\n{et} {kind}: {}", list.len());
        for d in list.iter().take(3) {
            let _ = writeln!(
                report,
                "  {}: {} {}:{} -> {}:{}  suricata {}  tapwatch {}",
                d.capture,
                d.transport(),
                d.record["src_ip"],
                d.record["src_port"],
                d.record["dest_ip"],
                d.record["dest_port"],
                show(d.suricata.as_ref()),
                show(d.tapwatch.as_ref()),
            );
        }
    }
    println!("{report}");

    // The verdict: every difference explained, no entry exceeded, agreement kept.
    let mut used = vec![0usize; ALLOWED.len()];
    let mut unexplained = Vec::new();
    for d in &diffs {
        match ALLOWED.iter().position(|a| a.covers(d)) {
            Some(i) => used[i] += 1,
            None => unexplained.push(d),
        }
    }
    // Entries the corpus no longer fills: their `max` can be lowered to the count shown.
    for (a, n) in ALLOWED.iter().zip(&used) {
        if *n < a.max {
            println!(
                "allow-list entry {} {} {} {:?} covers {n} of its {}: lower its max",
                a.event_type, a.kind, a.anomaly, a.captures, a.max
            );
        }
    }
    let mut problems = Vec::new();
    if !unexplained.is_empty() {
        let mut s = format!(
            "{} differences no allow-list entry explains:",
            unexplained.len()
        );
        for d in unexplained.iter().take(30) {
            let _ = write!(
                s,
                "\n  {} {} {} ({}:{}): suricata {} tapwatch {}",
                d.capture,
                d.event_type,
                d.kind,
                d.ports()[0],
                d.ports()[1],
                show(d.suricata.as_ref()),
                show(d.tapwatch.as_ref())
            );
        }
        problems.push(s);
    }
    for (a, n) in ALLOWED.iter().zip(&used) {
        if *n > a.max {
            problems.push(format!(
                "allow-list entry {} {} {:?} covers {n} differences, more than its {}: {}",
                a.event_type, a.kind, a.captures, a.max, a.reason
            ));
        }
    }
    for (et, min) in MIN_AGREEMENT {
        let t = tally.get(et).copied().unwrap_or_default();
        let rate = t.exact as f64 / t.suricata.max(1) as f64;
        if rate < min {
            problems.push(format!(
                "{et}: {:.2}% of Suricata's records matched exactly, below {:.2}%",
                rate * 100.0,
                min * 100.0
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
