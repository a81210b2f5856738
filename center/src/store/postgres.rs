//! The PostgreSQL store, for national scale (`[storage] kind = "postgres"`).
//!
//! Same schema as SQLite (BIGINT for integers, BYTEA for records). A batch is acknowledged
//! only after its transaction's COMMIT has returned, which with PostgreSQL's default
//! `synchronous_commit = on` means the WAL is flushed.

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls, Transaction};
use prost::Message as _;
use tapwatch_proto::v1::{Alert, Health, Hello};

use super::sqlite::now_us;
use super::{
    advance_contiguous, bundle_version, from_i64, to_i64, total_drops, total_lost, AlertFilter,
    BundleInfo, Inserted, NewBundle, Records, SensorInfo, SeqState, Store, StoreError, StoredAlert,
    Write,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sensors (
    sensor_id TEXT PRIMARY KEY,
    first_seen_us BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL,
    software_version TEXT NOT NULL DEFAULT '',
    ruleset_id TEXT NOT NULL DEFAULT '',
    ruleset_sha256 TEXT NOT NULL DEFAULT '',
    capabilities TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    spool_backlog_bytes BIGINT NOT NULL DEFAULT 0,
    spool_backlog_batches BIGINT NOT NULL DEFAULT 0,
    capture_drops BIGINT NOT NULL DEFAULT 0,
    records_lost BIGINT NOT NULL DEFAULT 0,
    batches_dropped BIGINT NOT NULL DEFAULT 0,
    packets BIGINT NOT NULL DEFAULT 0,
    uptime_s BIGINT NOT NULL DEFAULT 0,
    health BYTEA,
    highest_contiguous_seq BIGINT NOT NULL DEFAULT 0,
    highest_seen_seq BIGINT NOT NULL DEFAULT 0,
    alerts_stored BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS batches (
    sensor_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    records BIGINT NOT NULL,
    received_us BIGINT NOT NULL,
    PRIMARY KEY (sensor_id, seq)
);
CREATE TABLE IF NOT EXISTS dropped (
    sensor_id TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    kind INTEGER NOT NULL,
    records BIGINT NOT NULL,
    reason INTEGER NOT NULL,
    received_us BIGINT NOT NULL,
    PRIMARY KEY (sensor_id, first_seq, last_seq)
);
CREATE TABLE IF NOT EXISTS alerts (
    id BIGSERIAL PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    ts_us BIGINT NOT NULL,
    sid BIGINT NOT NULL,
    gid BIGINT NOT NULL,
    rev BIGINT NOT NULL,
    severity INTEGER NOT NULL,
    signature TEXT NOT NULL,
    category TEXT NOT NULL,
    src_ip TEXT NOT NULL,
    dst_ip TEXT NOT NULL,
    src_port INTEGER NOT NULL,
    dst_port INTEGER NOT NULL,
    proto TEXT NOT NULL,
    app_proto TEXT NOT NULL,
    flow_id BIGINT NOT NULL,
    record BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_ts ON alerts (ts_us);
CREATE INDEX IF NOT EXISTS alerts_sensor_ts ON alerts (sensor_id, ts_us);
CREATE INDEX IF NOT EXISTS alerts_sid_ts ON alerts (sid, ts_us);
CREATE INDEX IF NOT EXISTS alerts_severity_ts ON alerts (severity, ts_us);
CREATE TABLE IF NOT EXISTS flows (
    id BIGSERIAL PRIMARY KEY,
    sensor_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    idx INTEGER NOT NULL,
    ts_us BIGINT NOT NULL,
    flow_id BIGINT NOT NULL,
    record BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS flows_ts ON flows (ts_us);
CREATE INDEX IF NOT EXISTS flows_sensor_ts ON flows (sensor_id, ts_us);
CREATE TABLE IF NOT EXISTS dictionaries (
    sensor_id TEXT NOT NULL,
    dictionary_id BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (sensor_id, dictionary_id)
);
CREATE TABLE IF NOT EXISTS bundles (
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_us BIGINT NOT NULL,
    published_us BIGINT NOT NULL,
    entries BIGINT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    key_ids TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (kind, channel, version)
);
";

/// A connection to PostgreSQL.
pub struct PgStore {
    client: Client,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

fn usize_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgStore {
    /// Connects (no TLS: use a local socket or a trusted network) and creates the schema.
    /// Must not be called from inside an async task (the client runs its own runtime): call it
    /// from a plain thread or `spawn_blocking`.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute("SET client_min_messages = warning")?;
        client.batch_execute(SCHEMA)?;
        Ok(Self { client })
    }

    fn ensure_sensor(
        tx: &mut Transaction<'_>,
        sensor_id: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO sensors (sensor_id, first_seen_us, last_seen_us) VALUES ($1, $2, $2)
             ON CONFLICT (sensor_id) DO UPDATE SET last_seen_us = excluded.last_seen_us",
            &[&sensor_id, &now],
        )?;
        Ok(())
    }

    fn state_tx(tx: &mut Transaction<'_>, sensor_id: &str) -> Result<SeqState, StoreError> {
        let row = tx.query_opt(
            "SELECT highest_contiguous_seq, highest_seen_seq FROM sensors WHERE sensor_id = $1",
            &[&sensor_id],
        )?;
        let Some(r) = row else {
            return Ok(SeqState::default());
        };
        Ok(SeqState {
            highest_contiguous: from_i64(r.try_get(0)?),
            highest_seen: from_i64(r.try_get(1)?),
        })
    }

    fn update_state(
        tx: &mut Transaction<'_>,
        sensor_id: &str,
        seen: u64,
    ) -> Result<SeqState, StoreError> {
        let st = Self::state_tx(tx, sensor_id)?;
        let hc = to_i64(st.highest_contiguous);
        let stored: Vec<u64> = tx
            .query(
                "SELECT seq FROM batches WHERE sensor_id = $1 AND seq > $2 ORDER BY seq LIMIT 100000",
                &[&sensor_id, &hc],
            )?
            .iter()
            .map(|r| r.try_get(0).map(from_i64))
            .collect::<Result<_, _>>()?;
        let dropped: Vec<(u64, u64)> = tx
            .query(
                "SELECT first_seq, last_seq FROM dropped WHERE sensor_id = $1 AND last_seq > $2",
                &[&sensor_id, &hc],
            )?
            .iter()
            .map(|r| Ok((from_i64(r.try_get(0)?), from_i64(r.try_get(1)?))))
            .collect::<Result<_, postgres::Error>>()?;
        let new = SeqState {
            highest_contiguous: advance_contiguous(st.highest_contiguous, &stored, &dropped),
            highest_seen: st.highest_seen.max(seen),
        };
        tx.execute(
            "UPDATE sensors SET highest_contiguous_seq = $2, highest_seen_seq = $3 WHERE sensor_id = $1",
            &[&sensor_id, &to_i64(new.highest_contiguous), &to_i64(new.highest_seen)],
        )?;
        Ok(new)
    }

    fn insert_records(
        tx: &mut Transaction<'_>,
        sensor_id: &str,
        seq: u64,
        records: &Records,
    ) -> Result<(), StoreError> {
        let seq_i = to_i64(seq);
        match records {
            Records::Alerts(_) | Records::EncodedAlerts(_) => {
                // COPY ... BINARY: several times faster than row-by-row INSERTs.
                let sink = tx.copy_in(
                    "COPY alerts (sensor_id, seq, idx, ts_us, sid, gid, rev, severity, signature,
                        category, src_ip, dst_ip, src_port, dst_port, proto, app_proto, flow_id, record)
                     FROM STDIN BINARY",
                )?;
                let types = [
                    Type::TEXT,
                    Type::INT8,
                    Type::INT4,
                    Type::INT8,
                    Type::INT8,
                    Type::INT8,
                    Type::INT8,
                    Type::INT4,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::INT4,
                    Type::INT4,
                    Type::TEXT,
                    Type::TEXT,
                    Type::INT8,
                    Type::BYTEA,
                ];
                let mut w = BinaryCopyInWriter::new(sink, &types);
                records.for_each_alert(|i, a| {
                    let idx = i32::try_from(i).unwrap_or(i32::MAX);
                    let severity = i32::try_from(a.severity).unwrap_or(i32::MAX);
                    let sp = i32::try_from(a.src_port).unwrap_or(i32::MAX);
                    let dp = i32::try_from(a.dst_port).unwrap_or(i32::MAX);
                    w.write(&[
                        &sensor_id,
                        &seq_i,
                        &idx,
                        &a.timestamp_us,
                        &i64::from(a.sid),
                        &i64::from(a.gid),
                        &i64::from(a.rev),
                        &severity,
                        &a.signature,
                        &a.category,
                        &a.src_ip,
                        &a.dst_ip,
                        &sp,
                        &dp,
                        &a.proto,
                        &a.app_proto,
                        &to_i64(a.flow_id),
                        &a.record,
                    ])
                })?;
                w.finish()?;
                tx.execute(
                    "UPDATE sensors SET alerts_stored = alerts_stored + $2 WHERE sensor_id = $1",
                    &[&sensor_id, &usize_i64(records.len())],
                )?;
            }
            Records::Flows(flows) => {
                let stmt = tx.prepare(
                    "INSERT INTO flows (sensor_id, seq, idx, ts_us, flow_id, record)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )?;
                for (i, f) in flows.iter().enumerate() {
                    let idx = i32::try_from(i).unwrap_or(i32::MAX);
                    tx.execute(
                        &stmt,
                        &[
                            &sensor_id,
                            &seq_i,
                            &idx,
                            &f.timestamp_us,
                            &to_i64(f.flow_id),
                            &f.encode_to_vec(),
                        ],
                    )?;
                }
            }
        }
        Ok(())
    }

    fn apply_one(tx: &mut Transaction<'_>, w: &Write, now: i64) -> Result<Inserted, StoreError> {
        Self::ensure_sensor(tx, w.sensor_id(), now)?;
        match w {
            Write::Batch {
                sensor_id,
                seq,
                records,
            } => {
                let n = tx.execute(
                    "INSERT INTO batches (sensor_id, seq, kind, records, received_us)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[
                        sensor_id,
                        &to_i64(*seq),
                        &records.kind(),
                        &usize_i64(records.len()),
                        &now,
                    ],
                )?;
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
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[
                        sensor_id,
                        &to_i64(*first_seq),
                        &to_i64(*last_seq),
                        kind,
                        &to_i64(*records),
                        reason,
                        &now,
                    ],
                )?;
                if n == 1 {
                    tx.execute(
                        "UPDATE sensors SET batches_dropped = batches_dropped + $2 WHERE sensor_id = $1",
                        &[sensor_id, &to_i64(last_seq.saturating_sub(*first_seq).saturating_add(1))],
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

impl Store for PgStore {
    fn apply(&mut self, writes: &[Write]) -> Result<Vec<Inserted>, StoreError> {
        let now = now_us();
        let mut tx = self.client.transaction()?;
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            out.push(Self::apply_one(&mut tx, w, now)?);
        }
        tx.commit()?;
        Ok(out)
    }

    fn seq_state(&mut self, sensor_id: &str) -> Result<SeqState, StoreError> {
        let mut tx = self.client.transaction()?;
        let st = Self::state_tx(&mut tx, sensor_id)?;
        tx.commit()?;
        Ok(st)
    }

    fn upsert_hello(&mut self, h: &Hello, now_us: i64) -> Result<(), StoreError> {
        self.client.execute(
            "INSERT INTO sensors (sensor_id, first_seen_us, last_seen_us, software_version, ruleset_id,
                ruleset_sha256, capabilities, hostname)
             VALUES ($1, $2, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (sensor_id) DO UPDATE SET last_seen_us = excluded.last_seen_us,
                software_version = excluded.software_version, ruleset_id = excluded.ruleset_id,
                ruleset_sha256 = excluded.ruleset_sha256, capabilities = excluded.capabilities,
                hostname = excluded.hostname",
            &[
                &h.sensor_id,
                &now_us,
                &h.software_version,
                &h.ruleset_id,
                &h.ruleset_sha256,
                &h.capabilities.join(","),
                &h.hostname,
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
        self.client.execute(
            "INSERT INTO sensors (sensor_id, first_seen_us, last_seen_us) VALUES ($1, $2, $2)
             ON CONFLICT (sensor_id) DO UPDATE SET last_seen_us = excluded.last_seen_us",
            &[&sensor_id, &now_us],
        )?;
        self.client.execute(
            "UPDATE sensors SET spool_backlog_bytes = $2, spool_backlog_batches = $3,
                capture_drops = $4, records_lost = $5, packets = $6, uptime_s = $7, health = $8,
                ruleset_id = CASE WHEN $9 = '' THEN ruleset_id ELSE $9 END,
                ruleset_sha256 = CASE WHEN $10 = '' THEN ruleset_sha256 ELSE $10 END
             WHERE sensor_id = $1",
            &[
                &sensor_id,
                &to_i64(h.spool_backlog_bytes),
                &to_i64(h.spool_backlog_batches),
                &to_i64(total_drops(h)),
                &to_i64(total_lost(h)),
                &to_i64(h.packets),
                &to_i64(h.uptime_s),
                &h.encode_to_vec(),
                &h.ruleset_id,
                &h.ruleset_sha256,
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
        self.client.execute(
            "INSERT INTO dictionaries (sensor_id, dictionary_id, data) VALUES ($1, $2, $3)",
            &[&sensor_id, &i64::from(id), &data],
        )?;
        Ok(())
    }

    fn publish_bundle(&mut self, b: &NewBundle<'_>, now_us: i64) -> Result<(), StoreError> {
        let version = bundle_version(b)?;
        let mut tx = self.client.transaction()?;
        // Excludes concurrent publishers (and itself conflicts with nothing but writers of
        // this table) so that the check and the insert see the same latest version.
        tx.batch_execute("LOCK TABLE bundles IN SHARE ROW EXCLUSIVE MODE")?;
        let latest: Option<i64> = tx
            .query_one(
                "SELECT MAX(version) FROM bundles WHERE kind = $1 AND channel = $2",
                &[&b.kind, &b.channel],
            )?
            .try_get(0)?;
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &b.kind,
                &b.channel,
                &version,
                &b.created_us,
                &now_us,
                &to_i64(b.entries),
                &b.manifest_sha256,
                &b.key_ids,
                &to_i64(b.data.len() as u64),
                &b.data,
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
        let rows = self.client.query(
            "SELECT kind, channel, version, created_us, published_us, entries, manifest_sha256,
                key_ids, size_bytes FROM bundles
             WHERE ($1::TEXT IS NULL OR kind = $1) AND ($2::TEXT IS NULL OR channel = $2)
             ORDER BY kind, channel, version",
            &[&kind, &channel],
        )?;
        rows.iter()
            .map(|r| {
                Ok(BundleInfo {
                    kind: r.try_get(0)?,
                    channel: r.try_get(1)?,
                    version: from_i64(r.try_get(2)?),
                    created_us: r.try_get(3)?,
                    published_us: r.try_get(4)?,
                    entries: from_i64(r.try_get(5)?),
                    manifest_sha256: r.try_get(6)?,
                    key_ids: r.try_get(7)?,
                    size_bytes: from_i64(r.try_get(8)?),
                })
            })
            .collect()
    }

    fn bundle_data(
        &mut self,
        kind: &str,
        channel: &str,
        version: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .client
            .query_opt(
                "SELECT data FROM bundles WHERE kind = $1 AND channel = $2 AND version = $3",
                &[&kind, &channel, &to_i64(version)],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn dictionary(&mut self, sensor_id: &str, id: u32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .client
            .query_opt(
                "SELECT data FROM dictionaries WHERE sensor_id = $1 AND dictionary_id = $2",
                &[&sensor_id, &i64::from(id)],
            )?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    fn query_alerts(&mut self, f: &AlertFilter) -> Result<Vec<StoredAlert>, StoreError> {
        let mut sql = String::from("SELECT sensor_id, seq, record FROM alerts WHERE 1 = 1");
        let sensor = f.sensor.clone();
        let sid = f.sid.map(i64::from);
        let severity = f.severity.map(|s| i32::try_from(s).unwrap_or(i32::MAX));
        let mut args: Vec<&(dyn postgres::types::ToSql + Sync)> = Vec::new();
        if let Some(s) = &sensor {
            args.push(s);
            sql.push_str(&format!(" AND sensor_id = ${}", args.len()));
        }
        if let Some(t) = &f.since_us {
            args.push(t);
            sql.push_str(&format!(" AND ts_us >= ${}", args.len()));
        }
        if let Some(t) = &f.until_us {
            args.push(t);
            sql.push_str(&format!(" AND ts_us < ${}", args.len()));
        }
        if let Some(s) = &sid {
            args.push(s);
            sql.push_str(&format!(" AND sid = ${}", args.len()));
        }
        if let Some(s) = &severity {
            args.push(s);
            sql.push_str(&format!(" AND severity = ${}", args.len()));
        }
        sql.push_str(" ORDER BY ts_us, id");
        if let Some(l) = f.limit {
            sql.push_str(&format!(" LIMIT {}", usize_i64(l)));
        }
        let rows = self.client.query(sql.as_str(), &args)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let blob: Vec<u8> = r.try_get(2)?;
            let alert =
                Alert::decode(blob.as_slice()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.push(StoredAlert {
                sensor_id: r.try_get(0)?,
                seq: from_i64(r.try_get(1)?),
                alert,
            });
        }
        Ok(out)
    }

    fn sensors(&mut self) -> Result<Vec<SensorInfo>, StoreError> {
        let rows = self.client.query(
            "SELECT sensor_id, first_seen_us, last_seen_us, software_version, ruleset_id, ruleset_sha256,
                spool_backlog_bytes, spool_backlog_batches, capture_drops, records_lost, batches_dropped,
                packets, uptime_s, highest_contiguous_seq, alerts_stored
             FROM sensors ORDER BY sensor_id",
            &[],
        )?;
        let infos = rows
            .iter()
            .map(|r| {
                Ok(SensorInfo {
                    sensor_id: r.try_get(0)?,
                    first_seen_us: r.try_get(1)?,
                    last_seen_us: r.try_get(2)?,
                    software_version: r.try_get(3)?,
                    ruleset_id: r.try_get(4)?,
                    ruleset_sha256: r.try_get(5)?,
                    spool_backlog_bytes: from_i64(r.try_get(6)?),
                    spool_backlog_batches: from_i64(r.try_get(7)?),
                    capture_drops: from_i64(r.try_get(8)?),
                    records_lost: from_i64(r.try_get(9)?),
                    batches_dropped: from_i64(r.try_get(10)?),
                    packets: from_i64(r.try_get(11)?),
                    uptime_s: from_i64(r.try_get(12)?),
                    highest_contiguous_seq: from_i64(r.try_get(13)?),
                    alerts_stored: from_i64(r.try_get(14)?),
                })
            })
            .collect::<Result<_, postgres::Error>>()?;
        Ok(infos)
    }
}
