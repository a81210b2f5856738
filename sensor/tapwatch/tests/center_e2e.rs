//! The sensor → center path end to end, with the real binaries: `tapwatch replay --export`
//! over mutual TLS (certificates from `tapwatch-center ca`), `tapwatch-center serve` with
//! SQLite (and once PostgreSQL), alerts read back with `tapwatch-center alerts`.
//!
//! - The alerts the center stores equal, field by field (every field `Alert` carries), the
//!   alerts of the sensor's own EVE output: the bundled capture and rules always, corpus
//!   captures with ET Open 2024 when `../shared` is present, once into PostgreSQL.
//! - Faults over more than 100,000 alerts (a rule firing on every packet of the bundled
//!   capture given 3,900 times): the center killed (SIGKILL) mid-stream and restarted, the
//!   sensor killed with batches in its spool then `tapwatch export drain`, the center down for
//!   the whole replay, and a spool too small (the loss is counted, reported to the center, and
//!   the rest arrives). Every check: 0 lost, 0 duplicated (`pcap_cnt` is unique per packet).

mod center_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use center_support::*;

/// Longest wait for anything in these tests (never reached when things work).
const LIMIT: Duration = Duration::from_secs(180);

/// Fires on every IP packet (a packet keyword keeps it from being IP-only, which Suricata
/// checks once per flow).
const EVERY_PACKET: &str =
    "alert ip any any -> any any (msg:\"every packet\"; ttl:>0; sid:1; rev:1;)\n";

/// The replay produces alerts faster than a debug build's batcher converts them: a queue that
/// holds the whole burst, so that nothing is dropped (and counted) at the queue.
const BURST: &str = "queue_capacity = 262144";

/// Copies of the bundled capture per fault test: 26 alerts each.
const COPIES: usize = 3900;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sample_pcap() -> PathBuf {
    repo().join("samples/sample.pcap")
}

/// The every-packet rule file and the capture list for the fault tests.
fn fault_input(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let rules = dir.join("every.rules");
    std::fs::write(&rules, EVERY_PACKET).expect("rules");
    (vec![rules], vec![sample_pcap(); COPIES])
}

/// Alerts stored by the center equal those of the EVE file, exactly once each.
fn assert_delivered_once(center: &Center, eve: &Path) -> usize {
    let sent = eve_alerts(eve);
    let stored = center.alerts();
    let mut s = pcap_cnts(&sent);
    let mut c = pcap_cnts(&stored);
    s.sort_unstable();
    c.sort_unstable();
    let dups = c.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} alert(s) stored twice");
    assert_eq!(
        c.len(),
        s.len(),
        "{} alert(s) lost (stored {} of {})",
        s.len().saturating_sub(c.len()),
        c.len(),
        s.len()
    );
    assert_eq!(c, s, "the stored alerts are not the sensor's");
    sent.len()
}

fn bundled_rules() -> PathBuf {
    repo().join("rules/bundled/tapwatch-sample.rules")
}

#[test]
fn bundled_capture_alerts_reach_the_center_field_by_field() {
    let dir = TempDir::new("bundled");
    let pki = make_pki(dir.path(), &["sensor-bundled"]);
    let mut center = Center::configure(
        dir.path(),
        &pki,
        &format!("path = \"{}\"", dir.path().join("c.db").display()),
    );
    center.start();
    let cfg = sensor_config(dir.path(), &pki, "sensor-bundled", &center, "");
    let eve = dir.path().join("eve.json");
    let out = run_ok(&mut replay_cmd(
        &cfg,
        &[bundled_rules()],
        &eve,
        &[sample_pcap()],
    ));
    let s = summary(&out);
    assert_eq!(s["export"]["spool_backlog_batches"], 0, "{s}");
    let sent = eve_alerts(&eve);
    assert!(sent.len() >= 10, "the bundled rules alert: {}", sent.len());
    assert_same_alerts(&sent, &center.alerts(), "bundled capture");
    let sensors = center.sensors();
    let me = &sensors["sensors"][0];
    assert_eq!(me["sensor_id"], "sensor-bundled");
    assert_eq!(me["ruleset_id"], "tapwatch-sample.rules");
    assert_eq!(
        me["ruleset_sha256"].as_str().map(str::len),
        Some(64),
        "{me}"
    );
}

/// Corpus captures with many and varied alerts (SMB lateral movement, exploit kit HTTP,
/// RAT, mining, DNS) under ET Open 2024.
const CORPUS: &[&str] = &[
    "elcabezzonn/miscellaneous.pcap",
    "elcabezzonn/multiple_psexecs_with_cmds_netstat_ipconfig.pcap",
    "elcabezzonn/ultra_lab_03-14.pcap",
    "elcabezzonn/mmcexec.pcap",
    "chrissanders/ek_to_cryptowall4.pcapng",
    "chrissanders/ratinfected.pcapng",
    "ndpi/mining.pcapng",
];

fn corpus_round(storage: &str, tag: &str, shared: &Path) {
    let dir = TempDir::new(tag);
    let sensor = format!("sensor-{tag}");
    let pki = make_pki(dir.path(), &[&sensor]);
    let mut center = Center::configure(dir.path(), &pki, storage);
    center.start();
    let cfg = sensor_config(dir.path(), &pki, &sensor, &center, "");
    let rules = vec![shared.join("corpus/rules/et-open-2024-04")];
    let pcaps: Vec<PathBuf> = CORPUS
        .iter()
        .map(|p| shared.join("corpus/pcaps").join(p))
        .collect();
    let eve = dir.path().join("eve.json");
    let out = run_ok(&mut replay_cmd(&cfg, &rules, &eve, &pcaps));
    let s = summary(&out);
    assert_eq!(s["export"]["spool_backlog_batches"], 0, "{s}");
    let sent = eve_alerts(&eve);
    assert!(
        sent.len() >= 150,
        "ET Open alerts on the corpus: {}",
        sent.len()
    );
    let stored = center.alerts();
    println!(
        "{tag}: {} alerts in the sensor's EVE, {} stored by the center",
        sent.len(),
        stored.len()
    );
    assert_same_alerts(&sent, &stored, tag);
}

#[test]
fn corpus_alerts_reach_the_center_sqlite_and_postgres() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared/corpus not found (set TAPWATCH_SHARED)");
        return;
    };
    let db = std::env::temp_dir().join(format!("tapwatch-e2e-{}.db", std::process::id()));
    corpus_round(&format!("path = \"{}\"", db.display()), "sqlite", &shared);
    let _ = std::fs::remove_file(&db);
    if let Some(pg) = Postgres::start() {
        corpus_round(
            &format!("kind = \"postgres\"\nurl = \"{}\"", pg.url),
            "postgres",
            &shared,
        );
    }
}

fn sqlite(dir: &Path) -> String {
    format!("path = \"{}\"", dir.join("center.db").display())
}

#[test]
fn fault_center_killed_mid_stream_and_restarted() {
    let dir = TempDir::new("kill-center");
    let pki = make_pki(dir.path(), &["sensor-a"]);
    let mut center = Center::configure(dir.path(), &pki, &sqlite(dir.path()));
    center.start();
    // Small batches: the stream lasts long enough to be cut in the middle.
    let cfg = sensor_config(
        dir.path(),
        &pki,
        "sensor-a",
        &center,
        &format!("max_batch_records = 200\nwindow_batches = 4\n{BURST}"),
    );
    let (rules, pcaps) = fault_input(dir.path());
    let eve = dir.path().join("eve.json");
    let mut cmd = replay_cmd(&cfg, &rules, &eve, &pcaps);
    cmd.args(["--export-wait", "170"]);
    let sensor = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sensor");
    wait_for(LIMIT, "the first alerts at the center", || {
        center.sensors()["sensors"][0]["alerts_stored"]
            .as_u64()
            .is_some_and(|n| n > 0)
    });
    center.kill9();
    center.start();
    let out = sensor.wait_with_output().expect("sensor");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = summary(&out);
    assert_eq!(s["export"]["dropped_queue_full"][0], 0, "{s}");
    assert_eq!(s["export"]["spool_backlog_batches"], 0, "{s}");
    let n = assert_delivered_once(&center, &eve);
    assert!(n >= 100_000, "{n} alerts");
}

#[test]
fn fault_sensor_killed_then_spool_drained() {
    let dir = TempDir::new("kill-sensor");
    let pki = make_pki(dir.path(), &["sensor-b"]);
    let mut center = Center::configure(dir.path(), &pki, &sqlite(dir.path()));
    let cfg = sensor_config(dir.path(), &pki, "sensor-b", &center, BURST);
    let (rules, pcaps) = fault_input(dir.path());
    let eve = dir.path().join("eve.json");
    // The center is down: everything waits in the spool until the sensor is killed.
    let mut cmd = replay_cmd(&cfg, &rules, &eve, &pcaps);
    cmd.args(["--export-wait", "600"]);
    let mut sensor = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sensor");
    let spool = dir.path().join("spool-sensor-b");
    let spool_bytes = || -> u64 {
        std::fs::read_dir(&spool)
            .map(|d| {
                d.filter_map(|e| e.ok()?.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    // The EVE file is complete (flushed at the end of the replay), and the spool has stopped
    // growing: the exporter is waiting for a center.
    let alerts_expected = 26 * COPIES;
    wait_for(LIMIT, "the replay's end", || {
        std::fs::read(&eve)
            .map(|b| b.iter().filter(|&&c| c == b'\n').count() >= alerts_expected)
            .unwrap_or(false)
    });
    let mut last = 0;
    wait_for(LIMIT, "the spool to settle", || {
        std::thread::sleep(Duration::from_millis(1500));
        let now = spool_bytes();
        let settled = now > 0 && now == last;
        last = now;
        settled
    });
    let _ = sensor.kill();
    let _ = sensor.wait();
    center.start();
    let out = run_ok(
        Command::new(sensor_bin())
            .args([
                "export",
                "drain",
                "--summary-json",
                "--wait",
                "170",
                "--config",
            ])
            .arg(&cfg),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let recovered: u64 = err
        .split(" unacknowledged batch(es) recovered")
        .next()
        .and_then(|h| h.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no recovery line: {err}"));
    // Every spooled batch arrived, once: the stored alerts are exactly the first ones the
    // sensor produced (batches are spooled in order), as many as the recovered batches hold
    // (at most 1000 per batch, at least one). Alerts still in the queue when the
    // sensor was killed were never durable.
    let sent = pcap_cnts(&eve_alerts(&eve));
    let mut stored = pcap_cnts(&center.alerts());
    stored.sort_unstable();
    let dups = stored.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} alert(s) stored twice");
    let k = stored.len() as u64;
    assert!(
        recovered > 0 && k >= recovered && k <= recovered * 1000,
        "{recovered} batches recovered from the spool, {k} alerts stored"
    );
    let mut first: Vec<u64> = sent.iter().copied().take(stored.len()).collect();
    first.sort_unstable();
    assert_eq!(
        stored, first,
        "the stored alerts are the first ones produced"
    );
    println!(
        "sensor killed: {recovered} batches recovered, {k} of {} alerts delivered once",
        sent.len()
    );
}

#[test]
fn fault_center_down_for_the_whole_replay() {
    let dir = TempDir::new("center-down");
    let pki = make_pki(dir.path(), &["sensor-c"]);
    let mut center = Center::configure(dir.path(), &pki, &sqlite(dir.path()));
    let cfg = sensor_config(dir.path(), &pki, "sensor-c", &center, BURST);
    let (rules, pcaps) = fault_input(dir.path());
    let eve = dir.path().join("eve.json");
    // The replay ends with the center down and nothing acknowledged: all spooled.
    let out = run_ok(replay_cmd(&cfg, &rules, &eve, &pcaps).args(["--export-wait", "0"]));
    let s = summary(&out);
    assert_eq!(s["export"]["dropped_queue_full"][0], 0, "{s}");
    assert_eq!(s["export"]["batches_acked"], 0, "{s}");
    assert!(
        s["export"]["spool_backlog_batches"].as_u64() > Some(0),
        "{s}"
    );
    // The center comes up; the next start of the sensor delivers (here: drain).
    center.start();
    run_ok(
        Command::new(sensor_bin())
            .args(["export", "drain", "--wait", "170", "--config"])
            .arg(&cfg),
    );
    let n = assert_delivered_once(&center, &eve);
    assert!(n >= 100_000, "{n} alerts");
}

#[test]
fn fault_spool_too_small_counts_and_reports_the_loss() {
    let dir = TempDir::new("small-spool");
    let pki = make_pki(dir.path(), &["sensor-d"]);
    let mut center = Center::configure(dir.path(), &pki, &sqlite(dir.path()));
    let cfg = sensor_config(
        dir.path(),
        &pki,
        "sensor-d",
        &center,
        &format!("segment_bytes = 65536\nmax_bytes = 262144\n{BURST}"),
    );
    let (rules, pcaps) = fault_input(dir.path());
    let eve = dir.path().join("eve.json");
    let out = run_ok(replay_cmd(&cfg, &rules, &eve, &pcaps).args(["--export-wait", "0"]));
    let s = summary(&out);
    assert_eq!(s["export"]["dropped_queue_full"][0], 0, "{s}");
    let lost = s["export"]["dropped_spool_full"][0].as_u64().unwrap_or(0);
    assert!(lost > 0, "a 256 KiB spool cannot hold 100,000 alerts: {s}");
    center.start();
    run_ok(
        Command::new(sensor_bin())
            .args(["export", "drain", "--wait", "170", "--config"])
            .arg(&cfg),
    );
    let sent = eve_alerts(&eve);
    let stored = center.alerts();
    let mut c = pcap_cnts(&stored);
    c.sort_unstable();
    let dups = c.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(dups, 0, "{dups} alert(s) stored twice");
    assert_eq!(
        c.len() as u64 + lost,
        sent.len() as u64,
        "kept + counted as lost = produced"
    );
    // What was kept is the newest part (the oldest is dropped first), and arrived whole.
    let mut s_cnts = pcap_cnts(&sent);
    s_cnts.sort_unstable();
    assert_eq!(c.as_slice(), &s_cnts[s_cnts.len() - c.len()..]);
    // The center knows.
    let sensors = center.sensors();
    let me = &sensors["sensors"][0];
    assert!(
        me["records_lost"].as_u64() >= Some(lost) || me["batches_dropped"].as_u64() > Some(0),
        "the loss is reported to the center: {me}"
    );
    println!(
        "spool too small: {lost} alerts dropped and reported, {} kept and delivered",
        c.len()
    );
}
