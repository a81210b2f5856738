//! The alerts the worker hands the exporter equal, alert by alert and field by field, what
//! the center's EVE reader (`tapwatch_proto::eve::alert_from_eve`) makes of the EVE record
//! the worker writes for the same alert: the bundled capture and rules with every alert
//! option on (payload, packet, metadata), packet, stream, transaction and flowless alerts;
//! and corpus captures (HTTP, DNS, TLS, SMB) under ET Open 2024 when `../shared` is present.

#[path = "common/shared.rs"]
mod shared;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use prost::Message as _;
use tapwatch_capture::CaptureReader;
use tapwatch_pipeline::config::Config;
use tapwatch_pipeline::detect_setup::{self, DetectArgs};
use tapwatch_pipeline::export_alert::AlertSink;
use tapwatch_pipeline::worker::Worker;
use tapwatch_proto::v1::Alert;

/// A `Write` whose bytes the test reads after the worker is done.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Flow records come back formatted, as lines.
impl tapwatch_eve::RecordSink for SharedBuf {}

/// What the worker handed over: alerts with the timestamp given, and encoding failures.
#[derive(Clone, Default)]
struct Handed {
    alerts: Vec<(i64, Alert)>,
    failed: Vec<String>,
}

/// A sink collecting into a [`Handed`] the test reads afterwards.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Handed>>);

impl AlertSink for Collected {
    fn alert(&mut self, timestamp_us: i64, encoded: &[u8]) {
        let a = Alert::decode(encoded).expect("the worker's bytes decode as an Alert");
        self.0.lock().expect("lock").alerts.push((timestamp_us, a));
    }
    fn unencodable(&mut self, reason: String) {
        self.0.lock().expect("lock").failed.push(reason);
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Replays `pcaps` with `rules`, and checks every alert handed over against its EVE record;
/// returns how many alerts had an `http`, `dns`, `tls` object, metadata, a payload, a stream
/// payload, and no flow.
fn replay_and_compare(
    config: Config,
    rules: Vec<PathBuf>,
    pcaps: &[PathBuf],
) -> [(&'static str, usize); 7] {
    let args = DetectArgs {
        rules,
        vars: Vec::new(),
        no_cache: true,
        eager: false,
    };
    let mut startup = detect_setup::start(&config, None, &args).expect("rules load");
    let engine = Arc::new(startup.engine.take().expect("an engine"));
    let eve = SharedBuf::default();
    let collected = Collected::default();
    let mut worker = Worker::with_engine(config, Some(eve.clone()), engine).expect("worker");
    worker.send_alerts_to(Box::new(collected.clone()));
    let mut pcap_cnt = 0;
    for path in pcaps {
        let mut reader = CaptureReader::open(path).expect("capture opens");
        while let Some(p) = reader.next_packet() {
            pcap_cnt += 1;
            worker.process(pcap_cnt, &p);
        }
    }
    worker.finish().expect("EVE written");
    drop(worker);

    let text = eve.0.lock().expect("lock").clone();
    let from_eve: Vec<Alert> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).expect("EVE line parses"))
        .filter(|v| v["event_type"] == "alert")
        .map(|v| tapwatch_proto::eve::alert_from_eve(&v).expect("EVE alert converts"))
        .collect();
    let Handed {
        alerts: handed,
        failed,
    } = collected.0.lock().expect("lock").clone();
    assert!(failed.is_empty(), "alerts not encoded: {failed:?}");
    assert_eq!(
        handed.len(),
        from_eve.len(),
        "one alert handed over per EVE alert"
    );
    for (i, ((ts, direct), eve)) in handed.iter().zip(&from_eve).enumerate() {
        assert_eq!(
            *ts, direct.timestamp_us,
            "alert {i}: the timestamp given is the alert's"
        );
        assert_eq!(
            direct, eve,
            "alert {i} (sid {}) differs from its EVE record",
            eve.sid
        );
    }
    let has = |f: fn(&Alert) -> bool| from_eve.iter().filter(|a| f(a)).count();
    let kinds = [
        ("http", has(|a| a.http.is_some())),
        ("dns", has(|a| a.dns.is_some())),
        ("tls", has(|a| a.tls.is_some())),
        ("metadata", has(|a| !a.metadata.is_empty())),
        ("payload", has(|a| a.payload_excerpt.is_some())),
        ("stream", has(|a| a.stream == Some(1))),
        ("flowless", has(|a| a.flow.is_none())),
    ];
    println!("{} alerts, with: {kinds:?}", from_eve.len());
    kinds
}

/// Rules of every alert origin on the bundled capture, beside the bundled set: every packet
/// (packet alerts, with `pkt_src`), a stream match, and a header rule that also fires on the
/// capture's non-flow packets (ARP has no IP, so ICMP/IGMP-like traffic is what is left).
const EXTRA_RULES: &str = "\
alert ip any any -> any any (msg:\"every packet\"; ttl:>0; metadata:created_at 2024_01_01, tag one, tag two; sid:9000001; rev:2;)
alert tcp any any -> any any (msg:\"stream GET\"; flow:established,to_server; content:\"GET \"; classtype:trojan-activity; sid:9000002; rev:1;)
alert udp any any -> any any (msg:\"udp payload\"; dsize:>0; priority:1; sid:9000003; rev:1;)
";

#[test]
fn bundled_capture_alerts_equal_their_eve_records() {
    let dir = std::env::temp_dir().join(format!("tapwatch-export-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let extra = dir.join("extra.rules");
    std::fs::write(&extra, EXTRA_RULES).expect("rules");
    let mut config = Config::default();
    config.detect.alert.payload = true;
    config.detect.alert.payload_printable = true;
    config.detect.alert.packet = true;
    config.detect.alert.metadata = true;
    let kinds = replay_and_compare(
        config,
        vec![repo().join("rules/bundled/tapwatch-sample.rules"), extra],
        &[repo().join("samples/sample.pcap")],
    );
    let _ = std::fs::remove_dir_all(&dir);
    for (kind, n) in kinds {
        assert!(
            n > 0,
            "no alert with {kind} on the bundled capture: {kinds:?}"
        );
    }
}

fn shared_dir() -> Option<PathBuf> {
    shared::shared_dir("corpus")
}

#[test]
fn corpus_alerts_under_et_open_equal_their_eve_records() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared/corpus not found (set TAPWATCH_SHARED)");
        return;
    };
    let pcaps: Vec<PathBuf> = [
        "chrissanders/ek_to_cryptowall4.pcapng",
        "chrissanders/ratinfected.pcapng",
        "elcabezzonn/miscellaneous.pcap",
        "ndpi/mining.pcapng",
    ]
    .iter()
    .map(|p| shared.join("corpus/pcaps").join(p))
    .collect();
    let mut config = Config::default();
    config.detect.alert.payload = true;
    let kinds = replay_and_compare(
        config,
        vec![shared.join("corpus/rules/et-open-2024-04")],
        &pcaps,
    );
    assert!(
        kinds[0].1 >= 50,
        "ET Open HTTP alerts on the corpus: {kinds:?}"
    );
}
