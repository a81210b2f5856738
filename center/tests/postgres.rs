//! The center against a real, throwaway PostgreSQL server: the store directly, and the
//! `serve` binary over mutual TLS writing into it.

mod common;

use common::*;
use tapwatch_center::store::postgres::PgStore;
use tapwatch_center::store::{AlertFilter, Records, Store as _};
use tapwatch_proto::v1::{center_message, sensor_message};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_and_server() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url.clone();
    // The store directly (sync client: off the async threads).
    tokio::task::spawn_blocking(move || {
        let mut s = PgStore::connect(&url).expect("connect");
        s.upsert_hello(&hello("direct"), 1).expect("hello");
        let r = s
            .insert_batch("direct", 2, Records::Alerts((0..5).map(alert).collect()))
            .expect("insert");
        assert!(r.new);
        assert_eq!(r.highest_contiguous, 0);
        let r = s
            .insert_batch("direct", 1, Records::Alerts((5..10).map(alert).collect()))
            .expect("insert");
        assert_eq!(r.highest_contiguous, 2);
        let r = s
            .insert_batch("direct", 1, Records::Alerts((5..10).map(alert).collect()))
            .expect("resend");
        assert!(!r.new, "a resend stores nothing");
        let got = s
            .query_alerts(&AlertFilter {
                sensor: Some("direct".into()),
                ..AlertFilter::default()
            })
            .expect("query");
        assert_eq!(got.len(), 10);
        assert_eq!(got[0].alert, alert(0));
        let got = s
            .query_alerts(&AlertFilter {
                sid: Some(2_000_001),
                ..AlertFilter::default()
            })
            .expect("query");
        assert_eq!(got.len(), 1);
        s.put_dictionary("direct", 3, b"abc").expect("dict");
        s.put_dictionary("direct", 3, b"abc")
            .expect("same dict again");
        assert!(s.put_dictionary("direct", 3, b"abd").is_err());
    })
    .await
    .expect("direct");

    // The server binary writing into PostgreSQL.
    let pki = Pki::new();
    let dir = TempDir::new("pgsrv");
    let cfg = write_config(
        dir.path(),
        &pki.pki(),
        0,
        &format!("kind = \"postgres\"\nurl = \"{}\"", pg.url),
        "",
    );
    let center = Center::start(&cfg);
    let ca = pki.ca_pem();
    let a = pki.sensor("sensor-a");
    let mut l = Link::open(channel(center.grpc, &ca, Some(&a)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(l.hello("sensor-a").await, Ok(0));
    for seq in 1..=20u64 {
        l.send(sensor_message::Msg::AlertBatch(batch(
            "sensor-a",
            seq,
            (seq - 1) * 100,
            100,
        )))
        .await;
    }
    l.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 5, 400, 100,
    )))
    .await;
    let mut hc = 0;
    let mut acks = 0;
    while acks < 21 {
        match l.next().await {
            Ok(Some(center_message::Msg::Ack(a))) => {
                hc = a.highest_contiguous_seq;
                acks += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(hc, 20);
    let out = cli(&[
        "alerts",
        "--config",
        cfg.to_str().unwrap_or(""),
        "--sensor",
        "sensor-a",
        "--format",
        "eve",
    ]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("eve"))
        .collect();
    assert_eq!(lines.len(), 2000);
    let mut ids: Vec<u64> = lines.iter().filter_map(|v| v["flow_id"].as_u64()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2000, "stored once each");
    assert!(lines.contains(&tapwatch_proto::eve::alert_to_eve(&alert(1234), "sensor-a")));
    let out = cli(&["sensors", "--config", cfg.to_str().unwrap_or("")]);
    assert!(out.contains("sensor-a") && out.contains("direct"), "{out}");
}
