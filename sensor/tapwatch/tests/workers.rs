//! Multi-worker replay equals single-worker replay: on the standard benchmark capture
//! (`shared-ether-merged.pcap`, built by `../shared/bench/make-bench-inputs.sh`) with all of
//! ET Open 2024, 1, 2 and 4 workers give the same alerts per signature, the same set of flow
//! records (flow ids aside), the same number of records of every type, flow ids unique across
//! workers, and one `stats` record with the same totals.
//!
//! One difference is allowed, and only where it is inherent: a rule whose `threshold` or
//! `detection_filter` tracks by source, destination, both or rule counts the matches of many
//! flows in one table shared by the workers. The order in which those matches reach the
//! table depends on how the workers interleave (as with Suricata's threads): such a rule may
//! alert on another flow of the same host (the `alerted` flag of those flows may move), and
//! where its matches span more than one counting window, the windows may start at another
//! match, so its count may differ slightly (at most 2 or 10 %). Everything else must be equal:
//! every other rule's alerts, per signature and per 5-tuple, and every flow record.
//!
//! The inputs are built into a temporary directory unless `$TAPWATCH_BENCH_INPUTS` names a
//! directory that has them (as `bench/detect.sh` leaves them in `/tmp/tapwatch-bench`).

#[path = "common/shared.rs"]
mod shared;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const PCAP: &str = "shared-ether-merged.pcap";
const RULES: &str = "et-open-2024-04-all.rules";

/// The benchmark inputs: a directory holding `PCAP` and `RULES`, built when needed.
fn bench_inputs(shared: &Path, scratch: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("TAPWATCH_BENCH_INPUTS").map(PathBuf::from) {
        if dir.join(PCAP).is_file() && dir.join(RULES).is_file() {
            return dir;
        }
    }
    let out = scratch.join("inputs");
    let status = Command::new("bash")
        .arg(shared.join("bench/make-bench-inputs.sh"))
        .arg(&out)
        .env("CORPUS", shared.join("corpus"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run make-bench-inputs.sh");
    assert!(status.success(), "make-bench-inputs.sh failed");
    out
}

/// What one replay wrote, reduced to what must not depend on the number of workers.
#[derive(Debug, Default)]
struct Outcome {
    /// Alerts per signature id, for the rules without shared threshold state.
    alerts_by_sid: BTreeMap<u64, u64>,
    /// Alerts per signature id of the rules with shared threshold state.
    loose_by_sid: BTreeMap<u64, u64>,
    /// Alerts as (sid, 5-tuple), for the rules without shared threshold state.
    alert_tuples: BTreeMap<(u64, String), u64>,
    /// Flow records without their id, by the flow's 5-tuple (either order).
    flows: Vec<(String, Value)>,
    /// 5-tuples of the flows that thresholded rules alerted on.
    loose: HashSet<String>,
    /// Records per event type (alerts counted above).
    types: BTreeMap<String, u64>,
    /// The one `stats` record's figures that do not depend on the workers (alerts are
    /// compared per signature above).
    stats: Option<Value>,
    duplicate_flow_ids: usize,
}

fn tuple(r: &Value) -> String {
    format!(
        "{} {}:{} > {}:{}",
        r["proto"], r["src_ip"], r["src_port"], r["dest_ip"], r["dest_port"]
    )
}

fn flow_tuple(r: &Value) -> String {
    // A flow record names the client as source; alerts may name either side first.
    let a = format!("{}:{}", r["src_ip"], r["src_port"]);
    let b = format!("{}:{}", r["dest_ip"], r["dest_port"]);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("{} {lo} {hi}", r["proto"])
}

fn read_outcome(eve: &Path, shared_state_sids: &HashSet<u64>) -> Outcome {
    let text = std::fs::read_to_string(eve).expect("EVE file");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("EVE line is JSON"))
        .collect();
    let mut out = Outcome::default();
    for r in &records {
        if r["event_type"] != "alert" {
            *out.types
                .entry(r["event_type"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        if r["event_type"] == "alert" {
            let sid = r["alert"]["signature_id"].as_u64().expect("sid");
            if shared_state_sids.contains(&sid) {
                *out.loose_by_sid.entry(sid).or_default() += 1;
                out.loose.insert(flow_tuple(r));
            } else {
                *out.alerts_by_sid.entry(sid).or_default() += 1;
                *out.alert_tuples.entry((sid, tuple(r))).or_default() += 1;
            }
        }
    }
    let mut ids = HashSet::new();
    for r in &records {
        match r["event_type"].as_str() {
            Some("flow") => {
                if !ids.insert(r["flow_id"].as_u64().expect("flow_id")) {
                    out.duplicate_flow_ids += 1;
                }
                let record = serde_json::json!({
                    "tuple": tuple(r),
                    "app_proto": r["app_proto"],
                    "flow": r["flow"],
                });
                out.flows.push((flow_tuple(r), record));
            }
            Some("stats") => {
                let s = &r["stats"];
                out.stats = Some(serde_json::json!({
                    "decoder": s["decoder"],
                    "flow_total": s["flow"]["total"],
                    "flow_end": s["flow"]["end"],
                    "tcp_sessions": s["tcp"]["sessions"],
                    "app_layer": s["app_layer"],
                }));
            }
            _ => {}
        }
    }
    out
}

/// Signature ids of the rules whose `threshold` or `detection_filter` keeps its state by host,
/// host pair or rule (not by flow): the rules allowed to alert on another flow of the host.
fn shared_state_sids(rules: &Path) -> HashSet<u64> {
    let text = std::fs::read_to_string(rules).expect("rules file");
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter(|l| {
            (l.contains("threshold:") || l.contains("detection_filter:")) && !l.contains("by_flow")
        })
        .filter_map(|l| {
            let at = l.find("sid:")? + 4;
            let digits: String = l[at..]
                .chars()
                .skip_while(|c| c.is_whitespace())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

/// The flow records as a multiset, the `alerted` flag left out for the flows in `loose`
/// (the flows thresholded rules alerted on in either run: see the module's doc).
fn flow_set(flows: &[(String, Value)], loose: &HashSet<String>) -> BTreeMap<String, u64> {
    let mut set = BTreeMap::new();
    for (tuple, record) in flows {
        let mut record = record.clone();
        if loose.contains(tuple) {
            if let Some(f) = record["flow"].as_object_mut() {
                f.remove("alerted");
            }
        }
        *set.entry(record.to_string()).or_default() += 1;
    }
    set
}

fn replay(workers: usize, inputs: &Path, scratch: &Path) -> (PathBuf, Value) {
    let eve = scratch.join(format!("eve-{workers}.json"));
    let output = Command::new(env!("CARGO_BIN_EXE_tapwatch"))
        .env("TAPWATCH_CACHE_DIR", scratch.join("cache"))
        .args([
            "replay",
            "--progress",
            "never",
            "--summary-json",
            "--workers",
        ])
        .arg(workers.to_string())
        .arg("--rules")
        .arg(inputs.join(RULES))
        .arg("--eve")
        .arg(&eve)
        .arg(inputs.join(PCAP))
        .output()
        .expect("run tapwatch");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{workers} workers: {stderr}");
    let summary = stderr
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .expect("summary JSON on stderr");
    (eve, summary)
}

#[test]
fn one_two_and_four_workers_give_the_same_alerts_and_flows() {
    let Some(shared) = shared::shared_dir("bench/make-bench-inputs.sh") else {
        println!("skipped: ../shared/bench/make-bench-inputs.sh not found (set TAPWATCH_SHARED)");
        return;
    };
    if !shared.join("corpus/pcaps/MANIFEST.tsv").is_file() {
        println!("skipped: ../shared/corpus/pcaps not found (set TAPWATCH_SHARED)");
        return;
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    // `TAPWATCH_TEST_OUT=DIR` keeps the EVE files there, to look at a failure.
    let kept = std::env::var_os("TAPWATCH_TEST_OUT").map(PathBuf::from);
    let scratch_path = kept.as_deref().unwrap_or(scratch.path());
    let inputs = bench_inputs(&shared, scratch_path);
    let loose = shared_state_sids(&inputs.join(RULES));
    assert!(!loose.is_empty(), "ET Open has thresholded rules");

    let (eve, summary) = replay(1, &inputs, scratch_path);
    let single = read_outcome(&eve, &loose);
    assert!(
        single.alerts_by_sid.values().sum::<u64>() > 1_000 && !single.loose_by_sid.is_empty(),
        "the benchmark alerts ({:?})",
        single.types
    );
    assert_eq!(single.duplicate_flow_ids, 0);
    assert_eq!(single.types.get("stats"), Some(&1));
    let packets = summary["packets"].as_u64().expect("packets");

    for workers in [2, 4] {
        let (eve, summary) = replay(workers, &inputs, scratch_path);
        let multi = read_outcome(&eve, &loose);
        assert_eq!(summary["packets"].as_u64(), Some(packets));
        let shares = summary["workers"].as_array().expect("per-worker shares");
        assert_eq!(shares.len(), workers);
        let sum: u64 = shares.iter().filter_map(|w| w["packets"].as_u64()).sum();
        assert_eq!(sum, packets, "every packet processed by exactly one worker");
        assert!(
            shares
                .iter()
                .all(|w| w["packets"].as_u64().unwrap_or(0) > packets / (4 * workers as u64)),
            "{workers} workers share the load: {shares:?}"
        );
        assert_eq!(
            multi.duplicate_flow_ids, 0,
            "{workers} workers: flow ids unique"
        );
        assert_eq!(
            multi.alerts_by_sid, single.alerts_by_sid,
            "{workers} workers: alerts per signature"
        );
        let sids: BTreeSet<&u64> = single
            .loose_by_sid
            .keys()
            .chain(multi.loose_by_sid.keys())
            .collect();
        for sid in sids {
            let a = single.loose_by_sid.get(sid).copied().unwrap_or(0);
            let b = multi.loose_by_sid.get(sid).copied().unwrap_or(0);
            assert!(
                a.abs_diff(b) <= 2.max(a / 10),
                "{workers} workers: sid {sid} (shared threshold state) alerted {b} times, 1 worker {a}"
            );
        }
        assert_eq!(
            multi.alert_tuples, single.alert_tuples,
            "{workers} workers: alerts of rules without shared thresholds, by 5-tuple"
        );
        assert_eq!(
            multi.types, single.types,
            "{workers} workers: records per type"
        );
        let loose: HashSet<String> = single.loose.union(&multi.loose).cloned().collect();
        let (single_flows, multi_flows) = (
            flow_set(&single.flows, &loose),
            flow_set(&multi.flows, &loose),
        );
        assert_eq!(
            single_flows.values().sum::<u64>(),
            single.flows.len() as u64
        );
        if multi_flows != single_flows {
            let a: BTreeSet<_> = single_flows.iter().collect();
            let b: BTreeSet<_> = multi_flows.iter().collect();
            let only_single: Vec<_> = a.difference(&b).take(3).collect();
            let only_multi: Vec<_> = b.difference(&a).take(3).collect();
            panic!(
                "{workers} workers: flow records differ\n  only with 1: {only_single:?}\n  only with {workers}: {only_multi:?}"
            );
        }
        assert_eq!(multi.stats, single.stats, "{workers} workers: stats totals");
    }
}
