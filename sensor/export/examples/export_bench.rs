//! Throughput and wire size of the export path: batch + compress + spool (fsync) + send over
//! loopback gRPC with mutual TLS to a real tonic server that decodes and acknowledges.
//!
//! `cargo run -p tapwatch-export --release --example export_bench -- [ALERTS]`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use prost::Message;
use tapwatch_export::{train_dictionary, Exporter, NoHealth, SensorInfo};

fn run(n: u64, alerts: &[tapwatch_proto::v1::Alert], dict: Option<&[u8]>, batch: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = make_pki(dir.path(), "sensor-bench");
    let store = new_store();
    let center = TestCenter::start(
        "127.0.0.1:0".parse().expect("addr"),
        Some(&pki),
        store.clone(),
    );
    let mut cfg = config(&dir.path().join("spool"), center.addr, &pki);
    cfg.sensor_id = "sensor-bench".into();
    cfg.fsync = std::env::var_os("NO_FSYNC").is_none();
    cfg.max_batch_records = batch;
    cfg.max_batch_delay_ms = 100;
    cfg.segment_bytes = 16 << 20;
    cfg.max_bytes = 1 << 30;
    cfg.queue_capacity = 65_536;
    cfg.health_interval_secs = 30;
    if let Some(d) = dict {
        let p = dir.path().join("alerts.dict");
        std::fs::write(&p, d).expect("dict");
        cfg.dictionary_path = Some(p);
    }
    let ex = Exporter::start(&cfg, SensorInfo::default(), Arc::new(NoHealth)).expect("exporter");
    let h = ex.handle();
    let t0 = Instant::now();
    // The handle drops on a full queue (as a worker must); the bench wants every alert, so it
    // retries with a fresh clone (the clone is part of the measured time).
    for a in alerts.iter().take(n as usize) {
        while !h.try_send_alert(a.clone()) {
            std::thread::yield_now();
        }
    }
    let stats = ex.shutdown(Duration::from_secs(600));
    let secs = t0.elapsed().as_secs_f64();
    let stored: usize = store
        .lock()
        .expect("store")
        .alerts
        .values()
        .map(Vec::len)
        .sum();
    assert_eq!(stored as u64, n, "all stored");
    let dict_bytes = dict.map_or(0, |d| d.len() as u64 + 16);
    println!(
        "batch {batch:>5} dict {:>5}: {n} alerts in {secs:.2} s = {:>8.0} alerts/s; \
         {:.1} bytes/alert on the wire (protobuf messages, dictionary excluded; {} batches)",
        if dict.is_some() { "yes" } else { "no" },
        n as f64 / secs,
        (stats.bytes_sent - dict_bytes) as f64 / n as f64,
        stats.batches_sent,
    );
    drop(center);
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(300_000);
    let alerts: Vec<_> = (0..n).map(synthetic_alert).collect();
    let eve: u64 = alerts
        .iter()
        .take(10_000)
        .map(|a| {
            serde_json::to_string(&tapwatch_proto::eve::alert_to_eve(a, "sensor-bench"))
                .map_or(0, |s| s.len() as u64 + 1)
        })
        .sum();
    let proto: u64 = alerts
        .iter()
        .take(10_000)
        .map(|a| a.encoded_len() as u64)
        .sum();
    let k = alerts.len().min(10_000) as f64;
    println!(
        "alert as EVE JSON line: {:.0} bytes; as protobuf: {:.0} bytes",
        eve as f64 / k,
        proto as f64 / k
    );
    // Train on alerts the bench does not send.
    let dict =
        train_dictionary((10_000_000..10_020_000).map(synthetic_alert), 16 << 10).expect("train");
    // Per-record compression with the dictionary (the ideal for very small batches).
    let mut c = zstd::bulk::Compressor::with_dictionary(3, &dict).expect("zstd");
    let single: u64 = alerts
        .iter()
        .take(10_000)
        .map(|a| c.compress(&a.encode_to_vec()).map_or(0, |v| v.len() as u64))
        .sum();
    println!(
        "one alert compressed alone with a 16 KiB dictionary: {:.1} bytes",
        single as f64 / k
    );
    for batch in [100, 1000] {
        run(n, &alerts, None, batch);
        run(n, &alerts, Some(&dict), batch);
    }
}
