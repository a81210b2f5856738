//! kill -9 of `tapwatch-center serve` in the middle of a stream of 100,000 alerts, driven by a
//! client that resends everything not acknowledged: after the restart every alert is stored
//! exactly once.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tapwatch_center::config::SqliteSync;
use tapwatch_center::store::sqlite::SqliteStore;
use tapwatch_center::store::{AlertFilter, Store as _};
use tapwatch_proto::v1::{center_message, sensor_message};

const BATCHES: u64 = 200;
const PER_BATCH: u64 = 500;

/// Delivers batches 1..=BATCHES, resending from the center's Ack after every reconnect. On the
/// first stream it holds back batches above BATCHES/2 until `go` is set.
async fn deliver(
    addr: std::net::SocketAddr,
    ca: Vec<u8>,
    id: (Vec<u8>, Vec<u8>),
    acked: Arc<AtomicU64>,
    go: Arc<AtomicBool>,
) -> u32 {
    let mut streams = 0;
    loop {
        let Ok(ch) = channel(addr, &ca, Some(&id)).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(mut link) = Link::open(ch).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let Ok(hc) = link.hello("sensor-a").await else {
            continue;
        };
        streams += 1;
        acked.store(hc, Ordering::SeqCst);
        if hc >= BATCHES {
            return streams;
        }
        let tx = link.tx.clone();
        let go2 = Arc::clone(&go);
        let first_stream = streams == 1;
        let sender = tokio::spawn(async move {
            for seq in hc + 1..=BATCHES {
                if first_stream && seq > BATCHES / 2 {
                    while !go2.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                let b = batch("sensor-a", seq, (seq - 1) * PER_BATCH, PER_BATCH);
                let m = tapwatch_proto::v1::SensorMessage {
                    msg: Some(sensor_message::Msg::AlertBatch(b)),
                };
                if tx.send(m).await.is_err() {
                    return;
                }
            }
        });
        loop {
            match link.next().await {
                Ok(Some(center_message::Msg::Ack(a))) => {
                    acked.store(a.highest_contiguous_seq, Ordering::SeqCst);
                    if a.highest_contiguous_seq >= BATCHES {
                        sender.abort();
                        return streams;
                    }
                }
                Ok(Some(other)) => panic!("unexpected {other:?}"),
                Ok(None) | Err(_) => break,
            }
        }
        sender.abort();
    }
}

#[test]
fn kill_9_mid_stream_loses_and_duplicates_nothing() {
    let pki = Pki::new();
    let dir = TempDir::new("kill9");
    let db = dir.path().join("center.db");
    let port = free_port();
    let cfg = write_config(
        dir.path(),
        &pki.pki(),
        port,
        &format!("path = \"{}\"", db.display()),
        "",
    );
    let mut center = Center::start(&cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let acked = Arc::new(AtomicU64::new(0));
    let go = Arc::new(AtomicBool::new(false));
    let client = rt.spawn(deliver(
        center.grpc,
        pki.ca_pem(),
        pki.sensor("sensor-a"),
        Arc::clone(&acked),
        Arc::clone(&go),
    ));

    let deadline = Instant::now() + Duration::from_secs(300);
    while acked.load(Ordering::SeqCst) < BATCHES / 4 {
        assert!(Instant::now() < deadline, "no progress before the kill");
        std::thread::sleep(Duration::from_millis(2));
    }
    center.kill();
    let at_kill = acked.load(Ordering::SeqCst);
    assert!(at_kill < BATCHES, "killed mid-stream (acked {at_kill})");
    go.store(true, Ordering::SeqCst);
    let center = Center::start(&cfg);
    let streams = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(300), client)
            .await
            .expect("delivery finished")
            .expect("client")
    });
    assert!(streams >= 2, "the client reconnected after the kill");
    assert_eq!(acked.load(Ordering::SeqCst), BATCHES);
    drop(center);

    let mut store = SqliteStore::open(&db, SqliteSync::Full).expect("open");
    let all = store.query_alerts(&AlertFilter::default()).expect("query");
    let total = BATCHES * PER_BATCH;
    assert_eq!(all.len() as u64, total, "0 lost, 0 duplicated");
    let mut seen = vec![false; total as usize];
    for a in &all {
        let i = a.alert.flow_id as usize;
        assert!(!seen[i], "alert {i} duplicated");
        seen[i] = true;
        assert_eq!(a.alert, alert(a.alert.flow_id), "stored field by field");
    }
    assert!(seen.iter().all(|s| *s), "an alert is missing");
    assert_eq!(
        store.highest_contiguous("sensor-a").expect("state"),
        BATCHES
    );
}
