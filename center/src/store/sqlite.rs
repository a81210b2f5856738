//! The embedded SQLite store.
//!
//! WAL journal; `synchronous=FULL` by default, so a committed batch is on disk before its Ack
//! even across a power loss. With `NORMAL` (configurable) WAL still keeps every commit across a
//! crash of the process (kill -9): only an OS crash or power loss can lose the last commits.

use std::path::Path;

use prost::Message as _;
use rusqlite::{params, Connection, OptionalExtension as _};
use tapwatch_proto::v1::{Alert, Health, Hello};

use super::{
    advance_contiguous, bundle_version, from_i64, to_i64, total_drops, total_lost, AlertColumns,
    AlertFilter, BundleInfo, Inserted, NewBundle, Records, SensorInfo, SeqState, Store, StoreError,
    StoredAlert, Write,
};
use crate::config::SqliteSync;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sensors (
    sensor_id TEXT PRIMARY KEY,
    first_seen_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    software_version TEXT NOT NULL DEFAULT '',
    ruleset_id TEXT NOT NULL DEFAULT '',
    ruleset_sha256 TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    spool_backlog_bytes INTEGER NOT NULL DEFAULT 0,
    spool_backlog_batches INTEGER NOT NULL DEFAULT 0,
    capture_drops INTEGER NOT NULL DEFAULT 0,
    records_lost INTEGER NOT NULL DEFAULT 0,
    batches_dropped INTEGER NOT NULL DEFAULT 0,
    packets INTEGER NOT NULL DEFAULT 0,
    uptime_s INTEGER NOT NULL DEFAULT 0,
    health BLOB,
    highest_contiguous_seq INTEGER NOT NULL DEFAULT 0,
    highest_seen_seq INTEGER NOT NULL DEFAULT 0,
    alerts_stored INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (
    sensor_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    records INTEGER NOT NULL,
    received_us INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dropped (
    sensor_id TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    records INTEGER NOT NULL,
    reason INTEGER NOT NULL,
    received_us INTEGER NOT NULL,
    PRIMARY KEY (sensor_id, first_seq, last_seq)
);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    ts_us INTEGER NOT NULL,
    sid INTEGER NOT NULL,
    gid INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    severity INTEGER NOT NULL,
    signature TEXT NOT NULL,
    category TEXT NOT NULL,
    src_ip TEXT NOT NULL,
    dst_ip TEXT NOT NULL,
    src_port INTEGER NOT NULL,
    dst_port INTEGER NOT NULL,
    proto TEXT NOT NULL,
    app_proto TEXT NOT NULL,
    flow_id INTEGER NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts_us);
CREATE INDEX IF NOT EXISTS alerts_sensor_ts ON alerts (sensor_id, ts_us);
CREATE INDEX IF NOT EXISTS alerts_sid_ts ON alerts (sid, ts_us);
CREATE INDEX IF NOT EXISTS alerts_severity_ts ON alerts (severity, ts_us);
CREATE TABLE IF NOT EXISTS flows (
    id INTEGER PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    ts_us INTEGER NOT NULL,
    flow_id INTEGER NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS flows_ts ON flows (ts_us);
CREATE INDEX IF NOT EXISTS flows_sensor_ts ON flows (sensor_id, ts_us);
CREATE TABLE IF NOT EXISTS dictionaries (
    sensor_id TEXT NOT NULL,
    dictionary_id INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (sensor_id, dictionary_id)
);
CREATE TABLE IF NOT EXISTS bundles (
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_us INTEGER NOT NULL,
    published_us INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    key_ids TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (kind, channel, version)
);
";

/// Alerts inserted by one statement: one statement step, one opening of the table's and
/// indexes' cursors, for this many rows (a batch's remainder goes row by row).
const INSERT_ROWS: usize = 32;

/// Columns bound per alert row.
const ALERT_COLUMNS: usize = 18;

/// The statement inserting `rows` alerts. `OR FAIL`: a failing row ends the statement without
/// undoing the rows before it, so SQLite writes no statement journal for a multi-row insert
/// (the whole transaction is rolled back on any error anyway).
fn insert_alerts_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT OR FAIL INTO alerts (sensor_id, seq, idx, ts_us, sid, gid, rev, severity, signature,
            category, src_ip, dst_ip, src_port, dst_port, proto, app_proto, flow_id, record)
         VALUES ",
    );
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..ALERT_COLUMNS {
            if c > 0 {
                sql.push(',');
            }
            sql.push('?');
        }
        sql.push(')');
    }
    sql
}

/// Binds one alert's columns to parameters `first..first + ALERT_COLUMNS`.
fn bind_alert(
    q: &mut rusqlite::Statement<'_>,
    first: usize,
    sensor_id: &str,
    seq: i64,
    idx: usize,
    a: &AlertColumns<'_>,
) -> rusqlite::Result<()> {
    q.raw_bind_parameter(first, sensor_id)?;
    q.raw_bind_parameter(first + 1, seq)?;
    q.raw_bind_parameter(first + 2, i64::try_from(idx).unwrap_or(i64::MAX))?;
    q.raw_bind_parameter(first + 3, a.timestamp_us)?;
    q.raw_bind_parameter(first + 4, a.sid)?;
    q.raw_bind_parameter(first + 5, a.gid)?;
    q.raw_bind_parameter(first + 6, a.rev)?;
    q.raw_bind_parameter(first + 7, a.severity)?;
    q.raw_bind_parameter(first + 8, a.signature)?;
    q.raw_bind_parameter(first + 9, a.category)?;
    q.raw_bind_parameter(first + 10, a.src_ip)?;
    q.raw_bind_parameter(first + 11, a.dst_ip)?;
    q.raw_bind_parameter(first + 12, a.src_port)?;
    q.raw_bind_parameter(first + 13, a.dst_port)?;
    q.raw_bind_parameter(first + 14, a.proto)?;
    q.raw_bind_parameter(first + 15, a.app_proto)?;
    q.raw_bind_parameter(first + 16, to_i64(a.flow_id))?;
    q.raw_bind_parameter(first + 17, a.record)?;
    Ok(())
}

/// WAL pages between automatic checkpoints.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16_384;

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

/// Current time, µs since the epoch.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SqliteStore {
    /// Opens (creating when needed) the database at `path`.
    pub fn open(path: &Path, sync: SqliteSync) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(
            None,
            "synchronous",
            match sync {
                SqliteSync::Full => "FULL",
                SqliteSync::Normal => "NORMAL",
            },
        )?;
        // Checkpoints (WAL pages copied back into the database file, then synced) run on the
        // committing thread; every 16,384 pages (64 MiB) instead of SQLite's 1,000, a hot index
        // page is copied back once for many commits. The WAL is cut back to 64 MiB after each.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        conn.pragma_update(None, "journal_size_limit", 64 << 20)?;
        // Index pages of the alerts table stay cached between commits (SQLite's default is
        // 2 MiB): a negative size is in KiB.
        conn.pragma_update(None, "cache_size", -(64 << 10))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    fn ensure_sensor(
        tx: &rusqlite::Transaction<'_>,
        sensor_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        tx.prepare_cached(
            "INSERT INTO sensors (sensor_id, first_seen_us, last_seen_us) VALUES (?1, ?2, ?2)
             ON CONFLICT (sensor_id) DO UPDATE SET last_seen_us = excluded.last_seen_us",
        )?
        .execute(params![sensor_id, now])?;
        Ok(())
    }

    fn state_tx(tx: &rusqlite::Transaction<'_>, sensor_id: &str) -> Result<SeqState, StoreError> {
        let r = tx
            .prepare_cached(
                "SELECT highest_contiguous_seq, highest_seen_seq FROM sensors WHERE sensor_id = ?1",
            )?
            .query_row(params![sensor_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()?;
        Ok(r.map(|(c, s)| SeqState {
            highest_contiguous: from_i64(c),
            highest_seen: from_i64(s),
        })
        .unwrap_or_default())
    }

    fn update_state(
        tx: &rusqlite::Transaction<'_>,
        sensor_id: &str,
        seen: u64,
    ) -> Result<SeqState, StoreError> {
        let st = Self::state_tx(tx, sensor_id)?;
        let hc = to_i64(st.highest_contiguous);
        let stored: Vec<u64> = {
            let mut q = tx.prepare_cached(
                "SELECT seq FROM batches WHERE sensor_id = ?1 AND seq > ?2 ORDER BY seq LIMIT 100000",
            )?;
            let rows = q.query_map(params![sensor_id, hc], |r| r.get::<_, i64>(0))?;
            rows.map(|r| r.map(from_i64)).collect::<Result<_, _>>()?
        };
        let dropped: Vec<(u64, u64)> = {
            let mut q = tx.prepare_cached(
                "SELECT first_seq, last_seq FROM dropped WHERE sensor_id = ?1 AND last_seq > ?2",
            )?;
            let rows = q.query_map(params![sensor_id, hc], |r| {
                Ok((from_i64(r.get(0)?), from_i64(r.get(1)?)))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let new = SeqState {
            highest_contiguous: advance_contiguous(st.highest_contiguous, &stored, &dropped),
            highest_seen: st.highest_seen.max(seen),
        };
        tx.prepare_cached(
            "UPDATE sensors SET highest_contiguous_seq = ?2, highest_seen_seq = ?3 WHERE sensor_id = ?1",
        )?
        .execute(params![sensor_id, to_i64(new.highest_contiguous), to_i64(new.highest_seen)])?;
        Ok(new)
    }

    fn insert_records(
        tx: &rusqlite::Transaction<'_>,
        sensor_id: &str,
        seq: u64,
        records: &Records,
    ) -> Result<(), StoreError> {
        let seq_i = to_i64(seq);
        match records {
            Records::Alerts(_) | Records::EncodedAlerts(_) => {
                let n = records.len();
                let full = n - n % INSERT_ROWS;
                let mut many = tx.prepare_cached(&insert_alerts_sql(INSERT_ROWS))?;
                let mut one = tx.prepare_cached(&insert_alerts_sql(1))?;
                records.for_each_alert(|i, a| {
                    if i < full {
                        let slot = i % INSERT_ROWS;
                        bind_alert(&mut many, slot * ALERT_COLUMNS + 1, sensor_id, seq_i, i, a)?;
                        if slot == INSERT_ROWS - 1 {
                            many.raw_execute()?;
                        }
                    } else {
                        bind_alert(&mut one, 1, sensor_id, seq_i, i, a)?;
                        one.raw_execute()?;
                    }
                    Ok::<_, rusqlite::Error>(())
                })?;
                tx.prepare_cached(
                    "UPDATE sensors SET alerts_stored = alerts_stored + ?2 WHERE sensor_id = ?1",
                )?
                .execute(params![sensor_id, n as i64])?;
            }
            Records::Flows(flows) => {
                let mut q = tx.prepare_cached(
                    "INSERT INTO flows (sensor_id, seq, idx, ts_us, flow_id, record)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for (i, f) in flows.iter().enumerate() {
                    q.execute(params![
                        sensor_id,
                        seq_i,
                        i as i64,
                        f.timestamp_us,
                        to_i64(f.flow_id),
                        f.encode_to_vec()
                    ])?;
                }
            }
        }
        Ok(())
    }

    fn apply_one(
        tx: &rusqlite::Transaction<'_>,
        w: &Write,
        now: i64,
    ) -> Result<Inserted, StoreError> {
        Self::ensure_sensor(tx, w.sensor_id(), now)?;
        match w {
            Write::Batch {
                sensor_id,
                seq,
                records,
            } => {
                let n = tx
                    .prepare_cached(
                        "INSERT INTO batches (sensor_id, seq, kind, records, received_us)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![
                        sensor_id,
                        to_i64(*seq),
                        records.kind(),
                        records.len() as i64,
                        now
                    ])?;
                if n == 1 {
                    Self::insert_records(tx, sensor_id, *seq, records)?;
                }
                let st = Self::update_state(tx, sensor_id, *seq)?;
                Ok(Inserted {
                    new: n == 1,
                    records: if n == 1 { records.len() } else { 0 },
                    highest_contiguous: st.highest_contiguous,
                    highest_seen: st.highest_seen,
                })
            }
            Write::Dropped {
                sensor_id,
                first_seq,
                last_seq,
                kind,
                records,
                reason,
            } => {
                let n = tx.execute(
                    "INSERT INTO dropped (sensor_id, first_seq, last_seq, kind, records, reason, received_us)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                    params![
                        sensor_id,
                        to_i64(*first_seq),
                        to_i64(*last_seq),
                        kind,
                        to_i64(*records),
                        reason,
                        now
                    ],
                )?;
                if n == 1 {
                    tx.execute(
                        "UPDATE sensors SET batches_dropped = batches_dropped + ?2 WHERE sensor_id = ?1",
                        params![sensor_id, to_i64(last_seq.saturating_sub(*first_seq).saturating_add(1))],
                    )?;
                }
                let st = Self::update_state(tx, sensor_id, 0)?;
                Ok(Inserted {
                    new: n == 1,
                    records: 0,
                    highest_contiguous: st.highest_contiguous,
                    highest_seen: st.highest_seen,
                })
            }
        }
    }
}

impl Store for SqliteStore {
    fn apply(&mut self, writes: &[Write]) -> Result<Vec<Inserted>, StoreError> {
        let now = now_us();
        let tx = self.conn.transaction()?;
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            out.push(Self::apply_one(&tx, w, now)?);
        }
        tx.commit()?;
        Ok(out)
    }

    fn seq_state(&mut self, sensor_id: &str) -> Result<SeqState, StoreError> {
        let tx = self.conn.transaction()?;
        let st = Self::state_tx(&tx, sensor_id)?;
        tx.commit()?;
        Ok(st)
    }

    fn upsert_hello(&mut self, h: &Hello, now_us: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sensors (sensor_id, first_seen_us, last_seen_us, software_version, ruleset_id,
                ruleset_sha256, capabilities, hostname)
             VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (sensor_id) DO UPDATE SET last_seen_us = excluded.last_seen_us,
                software_version = excluded.software_version, ruleset_id = excluded.ruleset_id,
                ruleset_sha256 = excluded.ruleset_sha256, capabilities = excluded.capabilities,
                hostname = excluded.hostname",
            params![
                h.sensor_id,
                now_us,
                h.software_version,
                h.ruleset_id,
                h.ruleset_sha256,
                h.capabilities.join(","),
                h.hostname
            ],
        )?;
        Ok(())
    }

    fn upsert_health(
        &mut self,
        sensor_id: &str,
        h: &Health,
        now_us: i64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO sensors (sensor_id, first_seen_us, last_seen_us) VALUES (?1, ?2, ?2)
             ON CONFLICT (sensor_id) DO UPDATE SET last_seen_us = excluded.last_seen_us",
            params![sensor_id, now_us],
        )?;
        self.conn.execute(
            "UPDATE sensors SET spool_backlog_bytes = ?2, spool_backlog_batches = ?3,
                capture_drops = ?4, records_lost = ?5, packets = ?6, uptime_s = ?7, health = ?8,
                ruleset_id = CASE WHEN ?9 = '' THEN ruleset_id ELSE ?9 END,
                ruleset_sha256 = CASE WHEN ?10 = '' THEN ruleset_sha256 ELSE ?10 END
             WHERE sensor_id = ?1",
            params![
                sensor_id,
                to_i64(h.spool_backlog_bytes),
                to_i64(h.spool_backlog_batches),
                to_i64(total_drops(h)),
                to_i64(total_lost(h)),
                to_i64(h.packets),
                to_i64(h.uptime_s),
                h.encode_to_vec(),
                h.ruleset_id,
                h.ruleset_sha256
            ],
        )?;
        Ok(())
    }

    fn put_dictionary(&mut self, sensor_id: &str, id: u32, data: &[u8]) -> Result<(), StoreError> {
        if let Some(old) = self.dictionary(sensor_id, id)? {
            return if old == data {
                Ok(())
            } else {
                Err(StoreError::DictionaryConflict(id))
            };
        }
        self.conn.execute(
            "INSERT INTO dictionaries (sensor_id, dictionary_id, data) VALUES (?1, ?2, ?3)",
            params![sensor_id, id, data],
        )?;
        Ok(())
    }

    fn publish_bundle(&mut self, b: &NewBundle<'_>, now_us: i64) -> Result<(), StoreError> {
        let version = bundle_version(b)?;
        // IMMEDIATE: the write lock is taken before the check, so no other publisher can
        // insert between the check and the insert.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let latest: Option<i64> = tx.query_row(
            "SELECT MAX(version) FROM bundles WHERE kind = ?1 AND channel = ?2",
            params![b.kind, b.channel],
            |r| r.get(0),
        )?;
        if let Some(latest) = latest.filter(|l| *l >= version) {
            return Err(StoreError::BundleNotNewer {
                kind: b.kind.to_owned(),
                channel: b.channel.to_owned(),
                version: b.version,
                latest: from_i64(latest),
            });
        }
        tx.execute(
            "INSERT INTO bundles (kind, channel, version, created_us, published_us, entries,
                manifest_sha256, key_ids, size_bytes, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                b.kind,
                b.channel,
                version,
                b.created_us,
                now_us,
                to_i64(b.entries),
                b.manifest_sha256,
                b.key_ids,
                to_i64(b.data.len() as u64),
                b.data
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn bundles(
        &mut self,
        kind: Option<&str>,
        channel: Option<&str>,
    ) -> Result<Vec<BundleInfo>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT kind, channel, version, created_us, published_us, entries, manifest_sha256,
                key_ids, size_bytes FROM bundles
             WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR channel = ?2)
             ORDER BY kind, channel, version",
        )?;
        let rows = stmt.query_map(params![kind, channel], |r| {
            Ok(BundleInfo {
                kind: r.get(0)?,
                channel: r.get(1)?,
                version: from_i64(r.get(2)?),
                created_us: r.get(3)?,
                published_us: r.get(4)?,
                entries: from_i64(r.get(5)?),
                manifest_sha256: r.get(6)?,
                key_ids: r.get(7)?,
                size_bytes: from_i64(r.get(8)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn bundle_data(
        &mut self,
        kind: &str,
        channel: &str,
        version: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT data FROM bundles WHERE kind = ?1 AND channel = ?2 AND version = ?3",
                params![kind, channel, to_i64(version)],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn dictionary(&mut self, sensor_id: &str, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT data FROM dictionaries WHERE sensor_id = ?1 AND dictionary_id = ?2",
                params![sensor_id, id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn query_alerts(&mut self, f: &AlertFilter) -> Result<Vec<StoredAlert>, StoreError> {
        let mut sql = String::from("SELECT sensor_id, seq, record FROM alerts WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(s) = &f.sensor {
            args.push(s.clone().into());
            sql.push_str(&format!(" AND sensor_id = ?{}", args.len()));
        }
        if let Some(t) = f.since_us {
            args.push(t.into());
            sql.push_str(&format!(" AND ts_us >= ?{}", args.len()));
        }
        if let Some(t) = f.until_us {
            args.push(t.into());
            sql.push_str(&format!(" AND ts_us < ?{}", args.len()));
        }
        if let Some(s) = f.sid {
            args.push(i64::from(s).into());
            sql.push_str(&format!(" AND sid = ?{}", args.len()));
        }
        if let Some(s) = f.severity {
            args.push(i64::from(s).into());
            sql.push_str(&format!(" AND severity = ?{}", args.len()));
        }
        sql.push_str(" ORDER BY ts_us, id");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {}", i64::try_from(l).unwrap_or(i64::MAX)));
        }
        let mut q = self.conn.prepare(&sql)?;
        let rows = q.query_map(rusqlite::params_from_iter(args), |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sensor_id, seq, blob) = row?;
            let alert =
                Alert::decode(blob.as_slice()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push(StoredAlert {
                sensor_id,
                seq: from_i64(seq),
                alert,
            });
        }
        Ok(out)
    }

    fn sensors(&mut self) -> Result<Vec<SensorInfo>, StoreError> {
        let mut q = self.conn.prepare(
            "SELECT sensor_id, first_seen_us, last_seen_us, software_version, ruleset_id, ruleset_sha256,
                spool_backlog_bytes, spool_backlog_batches, capture_drops, records_lost, batches_dropped,
                packets, uptime_s, highest_contiguous_seq, alerts_stored
             FROM sensors ORDER BY sensor_id",
        )?;
        let rows = q.query_map([], |r| {
            Ok(SensorInfo {
                sensor_id: r.get(0)?,
                first_seen_us: r.get(1)?,
                last_seen_us: r.get(2)?,
                software_version: r.get(3)?,
                ruleset_id: r.get(4)?,
                ruleset_sha256: r.get(5)?,
                spool_backlog_bytes: from_i64(r.get(6)?),
                spool_backlog_batches: from_i64(r.get(7)?),
                capture_drops: from_i64(r.get(8)?),
                records_lost: from_i64(r.get(9)?),
                batches_dropped: from_i64(r.get(10)?),
                packets: from_i64(r.get(11)?),
                uptime_s: from_i64(r.get(12)?),
                highest_contiguous_seq: from_i64(r.get(13)?),
                alerts_stored: from_i64(r.get(14)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EncodedAlerts;

    fn alert(n: u32) -> Alert {
        Alert {
            timestamp_us: 1_700_000_000_000_000 + i64::from(n),
            flow_id: u64::from(n) << 40,
            gid: 1,
            sid: 2_000_000 + n % 5,
            rev: 2,
            severity: 1 + n % 3,
            category: "Misc activity".into(),
            signature: format!("ET TEST {}", n % 5),
            src_ip: vec![10, 0, 0, n as u8],
            dst_ip: if n.is_multiple_of(2) {
                vec![192, 0, 2, 1]
            } else {
                vec![0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
            },
            src_port: 40_000 + n,
            dst_port: 80,
            proto: "TCP".into(),
            app_proto: "http".into(),
            ..Alert::default()
        }
    }

    fn encoded(alerts: &[Alert]) -> Records {
        let mut plain = Vec::new();
        for a in alerts {
            a.encode_length_delimited(&mut plain).expect("encode");
        }
        Records::EncodedAlerts(EncodedAlerts::decode(plain, alerts.len()).expect("decode"))
    }

    /// Every column of every alert row, in insertion order.
    fn rows(s: &SqliteStore) -> Vec<Vec<rusqlite::types::Value>> {
        let mut q = s
            .conn
            .prepare("SELECT * FROM alerts ORDER BY id")
            .expect("prepare");
        let n = q.column_count();
        q.query_map([], |r| (1..n).map(|i| r.get(i)).collect())
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn multi_row_inserts_store_every_column_of_every_alert() {
        let dir = tapwatch_testkit::TempDir::new("sqlite-rows");
        let mut s = SqliteStore::open(&dir.path().join("a.db"), SqliteSync::Normal).expect("open");
        // Sizes around the statement's row count: remainders, exact multiples, one row.
        let sizes = [INSERT_ROWS * 2 + 6, INSERT_ROWS, 1, INSERT_ROWS + 1];
        let mut all = Vec::new();
        let mut seq = 0;
        for (k, &n) in sizes.iter().enumerate() {
            let alerts: Vec<Alert> = (0..n as u32).map(|i| alert(all.len() as u32 + i)).collect();
            all.extend(alerts.iter().cloned());
            seq += 1;
            // The same alerts stored by both paths must give the same rows.
            let records = if k.is_multiple_of(2) {
                Records::Alerts(alerts)
            } else {
                encoded(&alerts)
            };
            let r = s.insert_batch("s1", seq, records).expect("insert");
            assert!(r.new);
            assert_eq!(r.records, n);
        }
        let got = s.query_alerts(&AlertFilter::default()).expect("query");
        assert_eq!(got.len(), all.len());
        for (g, a) in got.iter().zip(&all) {
            assert_eq!(&g.alert, a);
            assert_eq!(g.sensor_id, "s1");
        }
        let by_sid = s
            .query_alerts(&AlertFilter {
                sid: Some(2_000_003),
                ..AlertFilter::default()
            })
            .expect("query");
        assert_eq!(
            by_sid.len(),
            all.iter().filter(|a| a.sid == 2_000_003).count()
        );
        let table = rows(&s);
        let mut twin =
            SqliteStore::open(&dir.path().join("b.db"), SqliteSync::Normal).expect("open");
        seq = 0;
        let mut at = 0;
        for (k, &n) in sizes.iter().enumerate() {
            seq += 1;
            let alerts = all[at..at + n].to_vec();
            at += n;
            let records = if k.is_multiple_of(2) {
                encoded(&alerts)
            } else {
                Records::Alerts(alerts)
            };
            twin.insert_batch("s1", seq, records).expect("insert");
        }
        assert_eq!(rows(&twin), table);
        use rusqlite::types::Value;
        let first = &table[0];
        assert_eq!(
            first[..4],
            [
                Value::Text("s1".into()),
                Value::Integer(1),
                Value::Integer(0),
                Value::Integer(all[0].timestamp_us)
            ]
        );
        assert_eq!(
            first[10..12],
            [
                Value::Text("10.0.0.0".into()),
                Value::Text("192.0.2.1".into())
            ]
        );
        assert_eq!(table[1][11], Value::Text("2001:db8::1".into()));
        assert_eq!(
            table[INSERT_ROWS * 2 + 5][2],
            Value::Integer(INSERT_ROWS as i64 * 2 + 5)
        );
        let sensors = s.sensors().expect("sensors");
        assert_eq!(sensors[0].alerts_stored, all.len() as u64);
        assert_eq!(sensors[0].highest_contiguous_seq, sizes.len() as u64);
    }
}
