//! STIX 2.1 export: alerts as a bundle of `indicator` and `sighting` objects, for sharing with
//! other CERTs.
//!
//! - one `identity` for the center (`created_by_ref` of everything) and one per sensor (a
//!   sighting's `where_sighted_refs`);
//! - one `indicator` per distinct signature (gid, sid, rev): `pattern_type: "suricata"` (STIX
//!   2.1's pattern-type vocabulary has `suricata`), `pattern` = the rule text when the sensor
//!   logged it (`alert.rule`), otherwise the rule's identity `sid:N; gid:G; rev:R; msg:"..."`
//!   so that the receiver can look the rule up in the same ruleset (ET Open). `name` is the
//!   signature message; the classification goes in `labels`;
//! - one `sighting` per (signature, sensor): `count`, `first_seen`, `last_seen`.
//!
//! Ids are UUIDv5 (RFC 4122 name-based, SHA-1) under a fixed tapwatch namespace, of a name made
//! from the object's content, so exporting the same alerts twice gives the same ids; timestamps
//! come from the alerts, never from the clock.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha1::{Digest as _, Sha1};
use tapwatch_proto::time::format_rfc3339_us;

use crate::store::StoredAlert;

/// The namespace of tapwatch's UUIDv5 ids: fixed forever, so ids stay stable across versions.
/// (`f0a1d3c2-5e7b-4c9a-8d2e-7a6b5c4d3e2f`.)
const NAMESPACE: [u8; 16] = [
    0xf0, 0xa1, 0xd3, 0xc2, 0x5e, 0x7b, 0x4c, 0x9a, 0x8d, 0x2e, 0x7a, 0x6b, 0x5c, 0x4d, 0x3e, 0x2f,
];

/// RFC 4122 UUIDv5 of `name` in `ns`.
pub fn uuid_v5(ns: &[u8; 16], name: &str) -> String {
    let mut h = Sha1::new();
    h.update(ns);
    h.update(name.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

struct Sig {
    gid: u32,
    sid: u32,
    rev: u32,
    msg: String,
    category: String,
    rule: String,
    first: i64,
    last: i64,
    per_sensor: BTreeMap<String, (u64, i64, i64)>,
}

/// Builds the bundle. `center_name` names the center's identity.
pub fn bundle(alerts: &[StoredAlert], center_name: &str) -> Value {
    let ns = NAMESPACE;
    let mut sigs: BTreeMap<(u32, u32, u32), Sig> = BTreeMap::new();
    for s in alerts {
        let a = &s.alert;
        let e = sigs.entry((a.gid, a.sid, a.rev)).or_insert_with(|| Sig {
            gid: a.gid,
            sid: a.sid,
            rev: a.rev,
            msg: a.signature.clone(),
            category: a.category.clone(),
            rule: a.rule.clone(),
            first: a.timestamp_us,
            last: a.timestamp_us,
            per_sensor: BTreeMap::new(),
        });
        e.first = e.first.min(a.timestamp_us);
        e.last = e.last.max(a.timestamp_us);
        let p =
            e.per_sensor
                .entry(s.sensor_id.clone())
                .or_insert((0, a.timestamp_us, a.timestamp_us));
        p.0 += 1;
        p.1 = p.1.min(a.timestamp_us);
        p.2 = p.2.max(a.timestamp_us);
    }
    let epoch = sigs.values().map(|s| s.first).min().unwrap_or(0);
    let center_id = format!(
        "identity--{}",
        uuid_v5(&ns, &format!("center:{center_name}"))
    );
    let mut objects = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": center_id,
        "created": format_rfc3339_us(epoch),
        "modified": format_rfc3339_us(epoch),
        "name": center_name,
        "identity_class": "organization",
    })];
    let mut sensors: BTreeMap<String, i64> = BTreeMap::new();
    for s in sigs.values() {
        for (sensor, (_, first, _)) in &s.per_sensor {
            let e = sensors.entry(sensor.clone()).or_insert(*first);
            *e = (*e).min(*first);
        }
    }
    for (sensor, first) in &sensors {
        objects.push(json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": format!("identity--{}", uuid_v5(&ns, &format!("sensor:{sensor}"))),
            "created_by_ref": center_id,
            "created": format_rfc3339_us(*first),
            "modified": format_rfc3339_us(*first),
            "name": sensor,
            "identity_class": "system",
        }));
    }
    for s in sigs.values() {
        let pattern = if s.rule.is_empty() {
            format!(
                "sid:{}; gid:{}; rev:{}; msg:\"{}\";",
                s.sid,
                s.gid,
                s.rev,
                s.msg.replace('"', "\\\"")
            )
        } else {
            s.rule.clone()
        };
        let ind_id = format!(
            "indicator--{}",
            uuid_v5(&ns, &format!("sig:{}:{}:{}", s.gid, s.sid, s.rev))
        );
        let mut ind = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": ind_id,
            "created_by_ref": center_id,
            "created": format_rfc3339_us(s.first),
            "modified": format_rfc3339_us(s.first),
            "name": s.msg,
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "suricata",
            "valid_from": format_rfc3339_us(s.first),
            "external_references": [{
                "source_name": "suricata-signature",
                "external_id": format!("{}:{}:{}", s.gid, s.sid, s.rev),
            }],
        });
        if !s.category.is_empty() {
            ind["labels"] = json!([s.category]);
        }
        objects.push(ind);
        for (sensor, (count, first, last)) in &s.per_sensor {
            objects.push(json!({
                "type": "sighting",
                "spec_version": "2.1",
                "id": format!("sighting--{}", uuid_v5(&ns, &format!("sighting:{}:{}:{}:{sensor}:{first}", s.gid, s.sid, s.rev))),
                "created_by_ref": center_id,
                "created": format_rfc3339_us(*last),
                "modified": format_rfc3339_us(*last),
                "first_seen": format_rfc3339_us(*first),
                "last_seen": format_rfc3339_us(*last),
                "count": (*count).min(999_999_999),
                "sighting_of_ref": ind_id,
                "where_sighted_refs": [format!("identity--{}", uuid_v5(&ns, &format!("sensor:{sensor}")))],
            }));
        }
    }
    let bundle_name: String = objects
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "type": "bundle",
        "id": format!("bundle--{}", uuid_v5(&ns, &format!("bundle:{bundle_name}:{}", alerts.len()))),
        "objects": objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_proto::v1::Alert;

    #[test]
    fn uuid_v5_matches_rfc_example() {
        // RFC 4122 DNS namespace, name "python.org" -> 886313e1-3b8a-5372-9b90-0c9aee199e5d
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5(&dns, "python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn bundle_is_deterministic_and_counts() {
        let mk = |sensor: &str, ts: i64, sid: u32| StoredAlert {
            sensor_id: sensor.into(),
            seq: 1,
            alert: Alert {
                timestamp_us: ts,
                sid,
                gid: 1,
                rev: 2,
                signature: format!("sig {sid}"),
                category: "Misc activity".into(),
                ..Alert::default()
            },
        };
        let alerts = vec![
            mk("a", 10, 1),
            mk("a", 30, 1),
            mk("b", 20, 1),
            mk("a", 5, 2),
        ];
        let b1 = bundle(&alerts, "CERT");
        let b2 = bundle(&alerts, "CERT");
        assert_eq!(b1, b2);
        let objs = b1["objects"].as_array().cloned().unwrap_or_default();
        let count = |t: &str| objs.iter().filter(|o| o["type"] == t).count();
        assert_eq!(count("identity"), 3);
        assert_eq!(count("indicator"), 2);
        assert_eq!(count("sighting"), 3);
        let s = objs
            .iter()
            .find(|o| o["type"] == "sighting" && o["count"] == 2)
            .cloned()
            .unwrap_or_default();
        assert_eq!(s["first_seen"], "1970-01-01T00:00:00.000010Z");
        assert_eq!(s["last_seen"], "1970-01-01T00:00:00.000030Z");
        assert!(objs.iter().all(|o| o["spec_version"] == "2.1"));
    }
}
