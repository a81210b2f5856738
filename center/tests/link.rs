//! The center over real gRPC, real mutual TLS and a real SQLite file, driven by a real tonic
//! client: identity, refusals, dedup, and the CLI and HTTP API over what was stored.

mod common;

use common::*;
use tapwatch_proto::batch::{compress, encode_batch};
use tapwatch_proto::v1::{
    center_message, sensor_message, Alert, Compression, ErrorCode, Health, QueueDrops,
};

fn start(pki: &Pki, dir: &TempDir, extra: &str) -> Center {
    let cfg = write_config(
        dir.path(),
        &pki.pki(),
        0,
        &format!("path = \"{}\"", dir.path().join("center.db").display()),
        extra,
    );
    Center::start(&cfg)
}

fn expect_error(
    m: Result<Option<center_message::Msg>, tonic::Status>,
    code: ErrorCode,
) -> tapwatch_proto::v1::Error {
    match m {
        Ok(Some(center_message::Msg::Error(e))) => {
            assert_eq!(e.code(), code, "{e:?}");
            e
        }
        other => panic!("expected Error {code:?}, got {other:?}"),
    }
}

async fn expect_ack(link: &mut Link) -> u64 {
    match link.next().await {
        Ok(Some(center_message::Msg::Ack(a))) => a.highest_contiguous_seq,
        other => panic!("expected Ack, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_identity_and_refusals() {
    let pki = Pki::new();
    let dir = TempDir::new("sec");
    let center = start(
        &pki,
        &dir,
        "max_message_bytes = 1048576\nmax_decompressed_bytes = 4194304",
    );
    let ca = pki.ca_pem();
    let a = pki.sensor("sensor-a");
    let b = pki.sensor("sensor-b");

    // Sensor A stores a batch first: nothing later may lose it.
    let mut la = Link::open(channel(center.grpc, &ca, Some(&a)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(la.hello("sensor-a").await, Ok(0));
    la.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 1, 0, 100,
    )))
    .await;
    assert_eq!(expect_ack(&mut la).await, 1);

    // No client certificate: refused (the handshake or the first RPC fails).
    let refused = match channel(center.grpc, &ca, None).await {
        Err(_) => true,
        Ok(ch) => match Link::open(ch).await {
            Err(_) => true,
            Ok(mut l) => {
                l.send(sensor_message::Msg::Hello(hello("sensor-a"))).await;
                l.next().await.is_err()
            }
        },
    };
    assert!(refused, "a client without a certificate was served");

    // A certificate from another CA: refused.
    let rogue = pki.sensor_in("other", "sensor-a");
    let refused = match channel(center.grpc, &ca, Some(&rogue)).await {
        Err(_) => true,
        Ok(ch) => match Link::open(ch).await {
            Err(_) => true,
            Ok(mut l) => {
                l.send(sensor_message::Msg::Hello(hello("sensor-a"))).await;
                l.next().await.is_err()
            }
        },
    };
    assert!(refused, "a certificate from another CA was served");

    // Sensor B's certificate claiming to be A: Error, then the stream ends.
    let mut lb = Link::open(channel(center.grpc, &ca, Some(&b)).await.expect("connect"))
        .await
        .expect("link");
    lb.send(sensor_message::Msg::Hello(hello("sensor-a"))).await;
    let e = expect_error(lb.next().await, ErrorCode::IdentityMismatch);
    assert!(e.fatal);
    assert!(matches!(lb.next().await, Ok(None) | Err(_)));

    // B as itself, then a batch claiming A: refused, stream closed.
    let mut lb = Link::open(channel(center.grpc, &ca, Some(&b)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(lb.hello("sensor-b").await, Ok(0));
    lb.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 2, 100, 10,
    )))
    .await;
    expect_error(lb.next().await, ErrorCode::IdentityMismatch);

    // A batch before Hello.
    let mut lb = Link::open(channel(center.grpc, &ca, Some(&b)).await.expect("connect"))
        .await
        .expect("link");
    lb.send(sensor_message::Msg::AlertBatch(batch("sensor-b", 1, 0, 1)))
        .await;
    expect_error(lb.next().await, ErrorCode::HelloRequired);

    // Malformed records, corrupt zstd, count mismatch, a zstd bomb: each refused, stream open.
    let mut lb = Link::open(channel(center.grpc, &ca, Some(&b)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(lb.hello("sensor-b").await, Ok(0));
    let mut bad = batch("sensor-b", 1, 0, 5);
    bad.compression = Compression::None as i32;
    bad.payload = vec![0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2];
    lb.send(sensor_message::Msg::AlertBatch(bad)).await;
    let e = expect_error(lb.next().await, ErrorCode::Malformed);
    assert_eq!(e.seq, 1);
    assert!(!e.fatal);

    let mut bad = batch("sensor-b", 1, 0, 50);
    let mid = bad.payload.len() / 2;
    bad.payload[mid] ^= 0x5a;
    bad.payload.truncate(bad.payload.len() - 4);
    lb.send(sensor_message::Msg::AlertBatch(bad)).await;
    expect_error(lb.next().await, ErrorCode::Decompression);

    let mut bad = batch("sensor-b", 1, 0, 5);
    bad.count = 6;
    lb.send(sensor_message::Msg::AlertBatch(bad)).await;
    expect_error(lb.next().await, ErrorCode::CountMismatch);

    let mut bomb = batch("sensor-b", 1, 0, 1);
    bomb.payload = compress(&vec![0u8; 64 << 20], 19, None).expect("bomb");
    assert!(bomb.payload.len() < 1 << 20);
    lb.send(sensor_message::Msg::AlertBatch(bomb)).await;
    expect_error(lb.next().await, ErrorCode::TooLarge);

    let mut nodict = batch("sensor-b", 1, 0, 1);
    nodict.dictionary_id = 7;
    lb.send(sensor_message::Msg::AlertBatch(nodict)).await;
    expect_error(lb.next().await, ErrorCode::UnknownDictionary);

    // The stream still works: a good batch is stored.
    lb.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-b", 1, 1000, 10,
    )))
    .await;
    assert_eq!(expect_ack(&mut lb).await, 1);

    // An oversized message (over max_message_bytes): a clear error, the stream ends.
    let mut big = batch("sensor-b", 2, 0, 1);
    big.compression = Compression::None as i32;
    big.payload = vec![0u8; 2 << 20];
    lb.send(sensor_message::Msg::AlertBatch(big)).await;
    match lb.next().await {
        Ok(Some(center_message::Msg::Error(e))) => {
            assert_eq!(e.code(), ErrorCode::TooLarge, "{e:?}")
        }
        Err(s) => assert!(
            s.code() == tonic::Code::ResourceExhausted
                || s.code() == tonic::Code::OutOfRange
                || s.message().contains("too large"),
            "{s:?}"
        ),
        other => panic!("oversized message: {other:?}"),
    }

    // Sensor A is still served and its data is intact.
    la.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 2, 100, 100,
    )))
    .await;
    assert_eq!(expect_ack(&mut la).await, 2);
    let out = cli(&[
        "alerts",
        "--config",
        center.config.to_str().unwrap_or(""),
        "--sensor",
        "sensor-a",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["count"], 200);
    let out = cli(&[
        "alerts",
        "--config",
        center.config.to_str().unwrap_or(""),
        "--sensor",
        "sensor-b",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["count"], 10);
    let log = center.drain_log().join("\n");
    assert!(
        log.contains("IdentityMismatch"),
        "refusals are logged:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_out_of_order_dictionary_health_cli_and_api() {
    let pki = Pki::new();
    let dir = TempDir::new("dedup");
    let center = start(&pki, &dir, "");
    let ca = pki.ca_pem();
    let a = pki.sensor("sensor-a");
    let mut l = Link::open(channel(center.grpc, &ca, Some(&a)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(l.hello("sensor-a").await, Ok(0));
    l.send(sensor_message::Msg::AlertBatch(batch("sensor-a", 1, 0, 10)))
        .await;
    assert_eq!(expect_ack(&mut l).await, 1);
    // Resend of seq 1: acked, stored once.
    l.send(sensor_message::Msg::AlertBatch(batch("sensor-a", 1, 0, 10)))
        .await;
    assert_eq!(expect_ack(&mut l).await, 1);
    // Out of order: 3 before 2.
    l.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 3, 20, 10,
    )))
    .await;
    assert_eq!(expect_ack(&mut l).await, 1);
    l.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 2, 10, 10,
    )))
    .await;
    assert_eq!(expect_ack(&mut l).await, 3);
    // A dictionary, then a batch that uses it.
    let sample: Vec<Alert> = (0..50).map(alert).collect();
    let dict = encode_batch(&sample, Compression::None, 0, None).expect("plain");
    l.send(sensor_message::Msg::Dictionary(
        tapwatch_proto::v1::Dictionary {
            dictionary_id: 1,
            data: dict.clone(),
        },
    ))
    .await;
    assert_eq!(expect_ack(&mut l).await, 3);
    let alerts: Vec<Alert> = (30..40).map(alert).collect();
    let mut b = batch("sensor-a", 4, 30, 10);
    b.dictionary_id = 1;
    b.payload = encode_batch(&alerts, Compression::Zstd, 3, Some(&dict)).expect("dict");
    l.send(sensor_message::Msg::AlertBatch(b)).await;
    assert_eq!(expect_ack(&mut l).await, 4);
    // Batches 5..=6 dropped by the sensor, then 7: contiguous moves past the loss.
    l.send(sensor_message::Msg::BatchesDropped(
        tapwatch_proto::v1::BatchesDropped {
            sensor_id: "sensor-a".into(),
            first_seq: 5,
            last_seq: 6,
            kind: 1,
            records: 20,
            reason: 2,
        },
    ))
    .await;
    assert_eq!(expect_ack(&mut l).await, 6);
    l.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 7, 40, 10,
    )))
    .await;
    assert_eq!(expect_ack(&mut l).await, 7);
    l.send(sensor_message::Msg::Health(Health {
        sensor_id: "sensor-a".into(),
        uptime_s: 42,
        packets: 1000,
        capture_drops: vec![
            QueueDrops {
                queue: 0,
                dropped: 3,
            },
            QueueDrops {
                queue: 1,
                dropped: 4,
            },
        ],
        spool_backlog_bytes: 1234,
        spool_backlog_batches: 2,
        ruleset_id: "et-open-2".into(),
        ruleset_sha256: "ab".repeat(32),
        ..Health::default()
    }))
    .await;
    // A resend answered by an Ack: the Health before it has been stored.
    l.send(sensor_message::Msg::AlertBatch(batch(
        "sensor-a", 7, 40, 10,
    )))
    .await;
    assert_eq!(expect_ack(&mut l).await, 7);
    // The Health's rule set hash replaced the Hello's (a live reload changes it).
    let cfg = center.config.to_str().unwrap_or("").to_owned();
    let out = cli(&["sensors", "--config", &cfg, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["sensors"][0]["ruleset_sha256"], "ab".repeat(32), "{v}");
    // A new stream learns where the center stands.
    drop(l);
    let mut l = Link::open(channel(center.grpc, &ca, Some(&a)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(l.hello("sensor-a").await, Ok(7));
    drop(l);

    let cfg = center.config.to_str().unwrap_or("").to_owned();
    let out = cli(&["alerts", "--config", &cfg, "--format", "eve"]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("eve line"))
        .collect();
    assert_eq!(lines.len(), 50, "stored once each");
    let mut flows: Vec<u64> = lines.iter().filter_map(|v| v["flow_id"].as_u64()).collect();
    flows.sort_unstable();
    assert_eq!(flows, (0..50).collect::<Vec<_>>());
    // Field by field: the stored alert is the sent alert.
    let want = tapwatch_proto::eve::alert_to_eve(&alert(7), "sensor-a");
    assert!(lines.contains(&want));
    let out = cli(&[
        "alerts", "--config", &cfg, "--sid", "2000001", "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["count"], 4); // flows 1, 14, 27, 40
    let out = cli(&[
        "alerts",
        "--config",
        &cfg,
        "--since",
        "2023-11-14T22:13:20.000010Z",
        "--until",
        "2023-11-14T22:13:20.000020Z",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["count"], 10);
    let out = cli(&[
        "alerts",
        "--config",
        &cfg,
        "--severity",
        "1",
        "--format",
        "table",
    ]);
    assert!(out.contains("(17 alerts)"), "{out}");
    let out = cli(&["sensors", "--config", &cfg, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let s = &v["sensors"][0];
    assert_eq!(s["sensor_id"], "sensor-a");
    assert_eq!(s["capture_drops"], 7);
    assert_eq!(s["spool_backlog_bytes"], 1234);
    assert_eq!(s["batches_dropped"], 2);
    // The ruleset of the latest Hello (sent after the Health).
    assert_eq!(s["ruleset_id"], "et-open-test");
    assert_eq!(s["ruleset_sha256"], "00".repeat(32), "{s}");
    assert_eq!(s["alerts_stored"], 50);
    let stix1 = cli(&["export", "stix", "--config", &cfg]);
    let stix2 = cli(&["export", "stix", "--config", &cfg]);
    assert_eq!(stix1, stix2, "deterministic");
    let v: serde_json::Value = serde_json::from_str(&stix1).expect("stix");
    let objs = v["objects"].as_array().cloned().unwrap_or_default();
    assert_eq!(objs.iter().filter(|o| o["type"] == "indicator").count(), 13);
    let sightings: u64 = objs
        .iter()
        .filter(|o| o["type"] == "sighting")
        .filter_map(|o| o["count"].as_u64())
        .sum();
    assert_eq!(sightings, 50);

    // The HTTP API answers the same queries.
    let api = center.api.expect("api address");
    let (st, body) = http_get(api, "/api/v1/alerts?sensor=sensor-a&sid=2000001");
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["count"], 4);
    let (st, body) = http_get(api, "/api/v1/alerts.eve?limit=5");
    assert_eq!(st, 200);
    assert_eq!(body.lines().count(), 5);
    let (st, body) = http_get(api, "/api/v1/sensors");
    assert_eq!(st, 200);
    assert!(body.contains("\"sensor-a\""));
    let (st, body) = http_get(api, "/api/v1/stix");
    assert_eq!(st, 200);
    assert!(body.contains("\"bundle\""));
    let (st, body) = http_get(api, "/api/v1/alerts?bogus=1");
    assert_eq!(st, 400, "{body}");
    let (st, _) = http_get(api, "/api/v1/alerts?since=yesterday");
    assert_eq!(st, 400);
}

#[test]
fn config_default_and_bad_config() {
    let text = cli(&["config", "default"]);
    assert!(text.contains("[server]") && text.contains("insecure = false"));
    let dir = TempDir::new("cfg");
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[storage]\nkind = \"sqlite\"\npth = \"x\"\n").expect("write");
    let out = std::process::Command::new(bin())
        .args(["config", "check", "--config"])
        .arg(&p)
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("pth") && err.contains("path"),
        "{err}"
    );
}

/// A message whose field 1 (`hello`, length-delimited) arrives as a fixed64: not a valid
/// `SensorMessage`.
#[derive(Clone, PartialEq, prost::Message)]
struct Bogus {
    #[prost(fixed64, tag = "1")]
    x: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protobuf_is_refused_and_the_center_keeps_serving() {
    let pki = Pki::new();
    let dir = TempDir::new("malformed");
    let center = start(&pki, &dir, "");
    let ca = pki.ca_pem();
    let a = pki.sensor("sensor-a");
    let ch = channel(center.grpc, &ca, Some(&a)).await.expect("connect");
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.expect("ready");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(Bogus { x: 42 }).await.expect("queue");
    let codec = tonic_prost::ProstCodec::<Bogus, tapwatch_proto::v1::CenterMessage>::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/tapwatch.v1.SensorLink/Link");
    let resp = grpc
        .streaming(
            tonic::Request::new(tokio_stream::wrappers::ReceiverStream::new(rx)),
            path,
            codec,
        )
        .await
        .expect("stream opens");
    let mut inbound = resp.into_inner();
    let first = inbound.message().await;
    match first {
        Ok(Some(m)) => match m.msg {
            Some(center_message::Msg::Error(e)) => {
                assert_eq!(e.code(), ErrorCode::Malformed, "{e:?}");
                assert!(e.fatal);
            }
            other => panic!("expected Error, got {other:?}"),
        },
        other => panic!("expected Error, got {other:?}"),
    }
    drop(tx);
    // The center still serves.
    let mut l = Link::open(channel(center.grpc, &ca, Some(&a)).await.expect("connect"))
        .await
        .expect("link");
    assert_eq!(l.hello("sensor-a").await, Ok(0));
    l.send(sensor_message::Msg::AlertBatch(batch("sensor-a", 1, 0, 3)))
        .await;
    assert_eq!(expect_ack(&mut l).await, 1);
}
