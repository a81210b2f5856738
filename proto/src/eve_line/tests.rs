//! The fast path against the `Value` path: same `Alert` or both refuse, on a full record and
//! on every field removed, nulled or given the wrong type.

use serde_json::{json, Value};

use super::alert_from_eve_line;
use crate::eve::{alert_from_eve, EveError};

fn full() -> Value {
    let mut v = crate::eve::sample_alert_record();
    // Escapes and non-ASCII in strings, metadata of every JSON type, an unknown nested field.
    v["alert"]["signature"] = json!("ET POLICY \"curl\" User-Agent \u{e9}\\");
    v["alert"]["metadata"] =
        json!({"created_at": ["2014_01_01"], "n": [1, true], "s": "x", "o": {"a": 1}});
    v["unknown"] = json!({"deep": [1, 2, {"x": null}]});
    v
}

/// Both paths on `line`: equal alerts, or both errors. Returns the fast path's result.
fn agree(line: &[u8]) -> Result<crate::v1::Alert, EveError> {
    let fast = alert_from_eve_line(line);
    let slow = serde_json::from_slice::<Value>(line)
        .map_err(|e| EveError::Json(e.to_string()))
        .and_then(|v| alert_from_eve(&v));
    match (&fast, &slow) {
        (Ok(f), Ok(s)) => assert_eq!(f, s, "{}", String::from_utf8_lossy(line)),
        (Err(_), Err(_)) => {}
        _ => panic!(
            "paths disagree on {}: fast {fast:?}, slow {slow:?}",
            String::from_utf8_lossy(line)
        ),
    }
    fast
}

fn line(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialises")
}

#[test]
fn full_record_is_read_like_the_value_path() {
    let a = agree(&line(&full())).expect("converts");
    assert_eq!(a.sid, 2_019_401);
    assert_eq!(a.signature, "ET POLICY \"curl\" User-Agent \u{e9}\\");
    assert_eq!(a.metadata.len(), 4);
    assert!(a.http.is_some() && a.dns.is_some() && a.tls.is_some() && a.tunnel.is_some());
    let mut padded = b"  ".to_vec();
    padded.extend(line(&full()));
    padded.extend(b"\n");
    agree(&padded).expect("whitespace around the record");
}

/// Every field at every level (top, `alert`, `flow`, `alert.source`) removed, null, and given
/// each wrong type: the two paths agree.
#[test]
fn every_field_variant_agrees() {
    let wrong = [
        Value::Null,
        json!("x"),
        json!(""),
        json!(7),
        json!(-1),
        json!(1.5),
        json!(5_000_000_000_u64),
        json!(true),
        json!([]),
        json!(["a"]),
        json!({}),
    ];
    let paths: [&[&str]; 4] = [&[], &["alert"], &["flow"], &["alert", "source"]];
    let mut checked = 0;
    for path in paths {
        let keys: Vec<String> = {
            let mut o = &full();
            for p in path {
                o = &o[*p];
            }
            o.as_object().expect("object").keys().cloned().collect()
        };
        for key in keys {
            let mut variants = vec![None];
            variants.extend(wrong.iter().cloned().map(Some));
            for variant in variants {
                let mut v = full();
                let mut o = &mut v;
                for p in path {
                    o = &mut o[*p];
                }
                let o = o.as_object_mut().expect("object");
                match variant {
                    None => {
                        o.remove(&key);
                    }
                    Some(w) => {
                        o.insert(key.clone(), w);
                    }
                }
                let _ = agree(&line(&v));
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked}");
}

#[test]
fn payload_null_and_missing_differ_as_in_the_value_path() {
    let mut v = full();
    v["payload"] = Value::Null;
    let a = agree(&line(&v)).expect("null payload");
    assert_eq!(a.payload_excerpt, Some(Vec::new()));
    v.as_object_mut().expect("object").remove("payload");
    let a = agree(&line(&v)).expect("no payload");
    assert_eq!(a.payload_excerpt, None);
}

#[test]
fn non_objects_and_broken_json_are_refused() {
    for bad in [
        &b"[1,2]"[..],
        b"42",
        b"\"alert\"",
        b"null",
        b"",
        b"{",
        b"{\"event_type\":\"alert\"} x",
        b"\xff\xfe",
    ] {
        assert!(agree(bad).is_err(), "{}", String::from_utf8_lossy(bad));
    }
    assert_eq!(alert_from_eve_line(b" [1]"), Err(EveError::NotAnObject));
    let mut v = full();
    v["event_type"] = json!("flow");
    assert_eq!(
        alert_from_eve_line(&line(&v)),
        Err(EveError::NotAnAlert("flow".into()))
    );
}
