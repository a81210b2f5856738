//! Center ingest rate through the `Store` trait: `cargo run -p tapwatch-center --example ingest
//! -- sqlite /tmp/bench.db [alerts] [per-batch]` or `... -- postgres "host=... dbname=..."`.
//! Prints alerts per second for one writer committing batch after batch (each commit durable).

use std::time::Instant;

use tapwatch_center::config::SqliteSync;
use tapwatch_center::store::postgres::PgStore;
use tapwatch_center::store::sqlite::SqliteStore;
use tapwatch_center::store::{Records, Store};
use tapwatch_proto::v1::Alert;

fn alert(n: u64) -> Alert {
    Alert {
        timestamp_us: 1_700_000_000_000_000 + n as i64,
        flow_id: n,
        gid: 1,
        sid: 2_000_000 + (n % 97) as u32,
        rev: 3,
        action: "allowed".into(),
        severity: 1 + (n % 3) as u32,
        category: "A Network Trojan was detected".into(),
        signature: format!("ET MALWARE test signature {}", n % 97),
        src_ip: vec![10, 0, (n >> 8) as u8, n as u8],
        dst_ip: vec![192, 0, 2, 1],
        src_port: 40_000 + (n % 1000) as u32,
        dst_port: 80,
        ip_protocol: 6,
        proto: "TCP".into(),
        direction: 1,
        app_proto: "http".into(),
        ip_version: 4,
        ..Alert::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (kind, target) = match (args.get(1), args.get(2)) {
        (Some(k), Some(t)) => (k.as_str(), t.as_str()),
        _ => return Err("usage: ingest sqlite|postgres PATH|URL [alerts] [per-batch]".into()),
    };
    let total: u64 = args.get(3).map_or(Ok(200_000), |s| s.parse())?;
    let per: u64 = args.get(4).map_or(Ok(1000), |s| s.parse())?;
    let mut store: Box<dyn Store> = match kind {
        "sqlite" => Box::new(SqliteStore::open(
            std::path::Path::new(target),
            SqliteSync::Full,
        )?),
        "postgres" => Box::new(PgStore::connect(target)?),
        other => return Err(format!("unknown store {other}").into()),
    };
    let batches: Vec<Vec<Alert>> = (0..total / per)
        .map(|b| (b * per..(b + 1) * per).map(alert).collect())
        .collect();
    let start = Instant::now();
    for (i, b) in batches.into_iter().enumerate() {
        store.insert_batch("bench", i as u64 + 1, Records::Alerts(b))?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{kind}: {} alerts in batches of {per}: {secs:.2} s, {:.0} alerts/s",
        total / per * per,
        (total / per * per) as f64 / secs
    );
    Ok(())
}
