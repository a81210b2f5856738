//! The exporter against a real tonic `SensorLink` server over loopback with mutual TLS.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use tapwatch_export::{Exporter, NoHealth, SensorInfo};

const LIMIT: Duration = Duration::from_secs(120);

fn start(cfg: &tapwatch_export::ExportConfig) -> Exporter {
    Exporter::start(cfg, SensorInfo::default(), Arc::new(NoHealth)).expect("exporter")
}

/// Sends alerts `from..to`, retrying a full queue (the test wants them all through).
fn send(ex: &Exporter, from: u64, to: u64) {
    let h = ex.handle();
    for i in from..to {
        while !h.try_send_alert(synthetic_alert(i)) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// What most tests start from: a temp dir, a PKI for `sensor-test-01`, a center on a free
/// loopback port with its in-memory store, and an exporter configuration pointing at it.
/// Tests bind every field (`_name` when unused): a field left to `..` would be dropped at
/// once, deleting the directory or stopping the center.
struct Setup {
    dir: tempfile::TempDir,
    pki: Pki,
    store: Shared,
    center: TestCenter,
    cfg: tapwatch_export::ExportConfig,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = make_pki(dir.path(), "sensor-test-01");
    let store = new_store();
    let center = TestCenter::start(
        "127.0.0.1:0".parse().expect("addr"),
        Some(&pki),
        store.clone(),
    );
    let cfg = config(&dir.path().join("spool"), center.addr, &pki);
    Setup {
        dir,
        pki,
        store,
        center,
        cfg,
    }
}

#[test]
fn everything_arrives_in_order() {
    let Setup {
        dir: _dir,
        pki: _pki,
        store,
        center: _center,
        cfg,
    } = setup();
    let ex = start(&cfg);
    send(&ex, 0, 5000);
    let stats = ex.shutdown(LIMIT);
    assert_all_once(&store, 5000);
    let s = store.lock().expect("store");
    // In order: seq order is send order.
    let ids: Vec<u64> = s.all_alerts().iter().map(|a| a.flow_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(s.hellos[0].sensor_id, "sensor-test-01");
    assert_eq!(s.hellos[0].protocol_version, 1);
    assert_eq!(stats.batches_acked, stats.batches_spooled);
    assert_eq!(stats.spool_backlog_batches, 0);
    assert_eq!(stats.queued[0], 5000);
    assert!(stats.bytes_sent > 0);
}

/// An exporter whose center is not up (yet) at a free loopback address, with 3000 alerts sent
/// and spooled: the temp dir, the PKI, the address and the exporter.
fn spooled_with_center_down() -> (tempfile::TempDir, Pki, std::net::SocketAddr, Exporter) {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = make_pki(dir.path(), "sensor-test-01");
    let addr = free_addr();
    let cfg = config(&dir.path().join("spool"), addr, &pki);
    let ex = start(&cfg);
    send(&ex, 0, 3000);
    wait_until(LIMIT, "everything spooled", || {
        ex.stats().records_spooled[0] == 3000
    });
    (dir, pki, addr, ex)
}

#[test]
fn server_down_at_start_then_up() {
    let (_dir, pki, addr, ex) = spooled_with_center_down();
    wait_until(LIMIT, "a failed connection", || ex.stats().reconnects >= 2);
    assert!(ex.stats().spool_backlog_batches > 0);
    let store = new_store();
    let _center = TestCenter::start(addr, Some(&pki), store.clone());
    let stats = ex.shutdown(LIMIT);
    assert_all_once(&store, 3000);
    assert_eq!(stats.spool_backlog_batches, 0);
}

/// A center that stored batches whose acks were lost with the stream acknowledges them in its
/// answer to the next `Hello`: the sensor's counters must follow (they once kept the stale
/// backlog, which `Health` and the shutdown report would then show).
#[test]
fn batches_acknowledged_on_reconnect_leave_no_stale_backlog() {
    let (_dir, pki, addr, ex) = spooled_with_center_down();
    let spooled = ex.stats().batches_spooled;
    assert_eq!(ex.stats().spool_backlog_batches, spooled);
    // The center already holds every batch (stored before a crash, the acks never sent).
    let store = new_store();
    store.lock().expect("store").done.extend(1..=spooled);
    let _center = TestCenter::start(addr, Some(&pki), store.clone());
    let stats = ex.shutdown(LIMIT);
    assert_eq!(store.lock().expect("store").resent_batches, 0);
    assert_eq!(stats.batches_acked, spooled);
    assert_eq!(stats.spool_backlog_batches, 0, "{stats:?}");
}

#[test]
fn server_restarted_mid_stream_loses_and_duplicates_nothing() {
    let Setup {
        dir: _dir,
        pki,
        store,
        center,
        cfg,
    } = setup();
    let addr = center.addr;
    let ex = start(&cfg);
    let mut center = Some(center);
    for round in 0..4u64 {
        send(&ex, round * 5000, round * 5000 + 5000);
        // Kill the center while batches are in flight, then bring it back.
        wait_until(LIMIT, "some batches acknowledged", || {
            store.lock().expect("store").done.len() as u64 > round * 50 + 10
        });
        if let Some(c) = center.take() {
            c.kill();
        }
        center = Some(TestCenter::start(addr, Some(&pki), store.clone()));
    }
    let stats = ex.shutdown(LIMIT);
    let resent = assert_all_once(&store, 20_000);
    // A kill that lands while the exporter is between streams is not seen as a broken
    // stream, so only "at least one" is certain; what matters is the exactly-once check above.
    assert!(stats.reconnects >= 1, "the kills were seen: {stats:?}");
    assert_eq!(stats.spool_backlog_batches, 0);
    eprintln!("resent batches deduplicated by the center: {resent}");
}

#[test]
fn sensor_crash_recovers_from_the_spool() {
    let Setup {
        dir: _dir,
        pki,
        store,
        center,
        cfg,
    } = setup();
    let addr = center.addr;
    let ex = start(&cfg);
    send(&ex, 0, 2000);
    wait_until(LIMIT, "first part spooled", || {
        ex.stats().records_spooled[0] == 2000
    });
    // The center goes away, more alerts are spooled, then the sensor "crashes".
    center.kill();
    send(&ex, 2000, 6000);
    wait_until(LIMIT, "everything spooled", || {
        ex.stats().records_spooled[0] == 6000
    });
    drop(ex);
    let center = TestCenter::start(addr, Some(&pki), store.clone());
    let ex = start(&cfg);
    assert!(ex.open_report().recovered_batches > 0);
    let stats = ex.shutdown(LIMIT);
    assert_all_once(&store, 6000);
    assert_eq!(stats.spool_backlog_batches, 0);
    drop(center);
}

#[test]
fn spool_too_small_drops_oldest_reports_and_delivers_the_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    let pki = make_pki(dir.path(), "sensor-test-01");
    let addr = free_addr();
    let mut cfg = config(&dir.path().join("spool"), addr, &pki);
    cfg.segment_bytes = 8 << 10;
    cfg.max_bytes = 32 << 10;
    let ex = start(&cfg);
    send(&ex, 0, 5000);
    wait_until(LIMIT, "everything spooled", || {
        ex.stats().records_spooled[0] == 5000
    });
    let before = ex.stats();
    assert!(before.dropped_spool_full[0] > 0, "{before:?}");
    let store = new_store();
    let _center = TestCenter::start(addr, Some(&pki), store.clone());
    let stats = ex.shutdown(LIMIT);
    let s = store.lock().expect("store");
    let kept: u64 = s.alerts.values().map(|v| v.len() as u64).sum();
    assert_eq!(kept + stats.dropped_spool_full[0], 5000);
    // The loss was reported as a seq range, and the Ack passed it.
    let reported: u64 = s.dropped.iter().map(|d| d.records).sum();
    assert_eq!(reported, stats.dropped_spool_full[0]);
    assert_eq!(s.contiguous(), stats.batches_spooled);
    // The alerts kept are the newest ones, each once.
    let ids: Vec<u64> = s.all_alerts().iter().map(|a| a.flow_id).collect();
    assert_eq!(ids, (5000 - kept..5000).collect::<Vec<_>>());
}

#[test]
fn health_reports_queue_loss() {
    let Setup {
        dir: _dir,
        pki: _pki,
        store,
        center: _center,
        mut cfg,
    } = setup();
    cfg.queue_capacity = 10;
    let ex = start(&cfg);
    let h = ex.handle();
    let mut refused = 0;
    for i in 0..10_000 {
        if !h.try_send_alert(synthetic_alert(i)) {
            refused += 1;
        }
    }
    assert!(refused > 0);
    assert_eq!(ex.stats().dropped_queue_full[0], refused);
    wait_until(LIMIT, "a health report with the loss", || {
        store.lock().expect("store").healths.iter().any(|h| {
            h.data_loss.iter().any(|d| {
                d.reason == tapwatch_proto::v1::LossReason::QueueFull as i32 && d.count == refused
            })
        })
    });
    drop(ex);
}

#[test]
fn a_center_from_another_ca_is_refused() {
    let Setup {
        dir,
        pki: _pki,
        store,
        center: _center,
        mut cfg,
    } = setup();
    cfg.ca_cert = Some(other_ca(dir.path()));
    let ex = start(&cfg);
    send(&ex, 0, 100);
    wait_until(LIMIT, "failed attempts", || ex.stats().reconnects >= 3);
    let stats = ex.shutdown(Duration::from_millis(10));
    assert!(store.lock().expect("store").hellos.is_empty());
    assert_eq!(stats.batches_acked, 0);
    assert!(stats.last_error.is_some());
    // What was not delivered stays in the spool.
    assert_eq!(stats.spool_backlog_batches, 1);
}

#[test]
fn a_waiting_handle_loses_nothing_to_a_tiny_queue() {
    let Setup {
        dir: _dir,
        pki: _pki,
        store,
        center: _center,
        mut cfg,
    } = setup();
    cfg.queue_capacity = 4;
    let mut ex = start(&cfg);
    ex.wait_when_full();
    let h = ex.handle();
    for i in 0..3000 {
        assert!(h.try_send_alert(synthetic_alert(i)), "alert {i} refused");
    }
    let stats = ex.shutdown(LIMIT);
    assert_eq!(stats.dropped_queue_full[0], 0);
    assert_eq!(stats.queued[0], 3000);
    assert_all_once(&store, 3000);
}

#[test]
fn a_last_health_is_sent_while_draining() {
    let Setup {
        dir: _dir,
        pki: _pki,
        store,
        center: _center,
        mut cfg,
    } = setup();
    // No periodic Health during this test: only the one sent on shutdown.
    cfg.health_interval_secs = 3600;
    let ex = start(&cfg);
    send(&ex, 0, 100);
    // Once they are stored the session runs, and its interval's immediate first tick is past.
    wait_until(LIMIT, "the alerts stored", || {
        store.lock().expect("store").all_alerts().len() == 100
    });
    let before = store.lock().expect("store").healths.len();
    let _ = ex.shutdown(LIMIT);
    assert_all_once(&store, 100);
    wait_until(LIMIT, "the last health report", || {
        store.lock().expect("store").healths.len() > before
    });
}
