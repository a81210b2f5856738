//! Alert queries shared by the CLI and the HTTP API: time arguments and output formats.

use std::fmt::Write as _;

use serde_json::{json, Value};
use tapwatch_proto::eve::{alert_to_eve, ip_from_bytes};
use tapwatch_proto::time::{format_rfc3339_us, parse_timestamp_us};

use crate::store::{SensorInfo, StoredAlert};

/// Parses a time argument: RFC 3339 (`2026-11-24T10:00:00Z`), or a duration before `now_us`
/// (`90s`, `15m`, `1h`, `7d`, `2w`).
pub fn parse_time(s: &str, now_us: i64) -> Result<i64, String> {
    if let Some(t) = parse_timestamp_us(s) {
        return Ok(t);
    }
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| {
        format!("{s:?}: expected RFC 3339 (2026-11-24T10:00:00Z) or a duration like 1h, 30m, 7d")
    })?;
    let unit_s: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use s, m, h, d or w)"
            ))
        }
    };
    n.checked_mul(unit_s)
        .and_then(|x| x.checked_mul(1_000_000))
        .and_then(|d| now_us.checked_sub(d))
        .ok_or_else(|| format!("{s:?}: out of range"))
}

/// One alert as EVE JSON, with `host` = the sensor.
pub fn eve_line(a: &StoredAlert) -> Value {
    alert_to_eve(&a.alert, &a.sensor_id)
}

/// Alerts as EVE JSON lines.
pub fn eve_lines(alerts: &[StoredAlert]) -> String {
    let mut out = String::new();
    for a in alerts {
        out.push_str(&eve_line(a).to_string());
        out.push('\n');
    }
    out
}

/// Alerts as one JSON document: `{"count": n, "alerts": [{"sensor_id", "seq", "eve"}...]}`.
pub fn json_doc(alerts: &[StoredAlert]) -> Value {
    json!({
        "count": alerts.len(),
        "alerts": alerts.iter().map(|a| json!({
            "sensor_id": a.sensor_id,
            "seq": a.seq,
            "eve": eve_line(a),
        })).collect::<Vec<_>>(),
    })
}

fn ip(b: &[u8]) -> String {
    ip_from_bytes(b)
        .map(|a| a.to_string())
        .unwrap_or_else(|| "-".into())
}

/// Alerts as a text table.
pub fn table(alerts: &[StoredAlert]) -> String {
    let mut out = String::from("TIME                         SENSOR           SID         SEV  SOURCE -> DESTINATION                       SIGNATURE\n");
    for s in alerts {
        let a = &s.alert;
        let flow = format!(
            "{}:{} -> {}:{} {}",
            ip(&a.src_ip),
            a.src_port,
            ip(&a.dst_ip),
            a.dst_port,
            a.proto
        );
        let _ = writeln!(
            out,
            "{:<28} {:<16} {:<11} {:<4} {:<43} {}",
            format_rfc3339_us(a.timestamp_us),
            s.sensor_id,
            format!("{}:{}:{}", a.gid, a.sid, a.rev),
            a.severity,
            flow,
            a.signature
        );
    }
    let _ = writeln!(out, "({} alerts)", alerts.len());
    out
}

/// Sensors as a text table.
pub fn sensors_table(sensors: &[SensorInfo]) -> String {
    let mut out = String::from(
        "SENSOR           LAST SEEN                    VERSION          RULESET          BACKLOG(B/BATCHES)  DROPS(CAPTURE/LOST/BATCHES)  ALERTS\n",
    );
    for s in sensors {
        let _ = writeln!(
            out,
            "{:<16} {:<28} {:<16} {:<16} {:<19} {:<28} {}",
            s.sensor_id,
            format_rfc3339_us(s.last_seen_us),
            s.software_version,
            s.ruleset_id,
            format!("{}/{}", s.spool_backlog_bytes, s.spool_backlog_batches),
            format!(
                "{}/{}/{}",
                s.capture_drops, s.records_lost, s.batches_dropped
            ),
            s.alerts_stored
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let now = 1_700_000_000_000_000;
        assert_eq!(parse_time("1h", now), Ok(now - 3_600_000_000));
        assert_eq!(parse_time("2d", now), Ok(now - 2 * 86_400_000_000));
        assert_eq!(parse_time("2023-11-14T22:13:20Z", now), Ok(now));
        assert!(parse_time("1y", now).is_err());
        assert!(parse_time("soon", now).is_err());
        assert!(parse_time("99999999999999999w", now).is_err());
    }
}
