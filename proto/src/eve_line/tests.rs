//! The fast path against the `Value` path: same `Alert` or both refuse, on a full record and
//! on every field removed, nulled or given the wrong type.

use serde_json::{json, Value};

use super::alert_from_eve_line;
use crate::eve::{alert_from_eve, EveError};

fn full() -> Value {
    json!({
        "timestamp": "2023-11-14T22:13:20.125000+0000",
        "flow_id": 1_234_567_890_123_u64,
        "pcap_cnt": 9,
        "in_iface": "eth0",
        "vlan": [10, 20],
        "event_type": "alert",
        "src_ip": "192.0.2.10",
        "src_port": 41000,
        "dest_ip": "2001:db8::1",
        "dest_port": 80,
        "proto": "TCP",
        "ip_v": 6,
        "pkt_src": "wire/pcap",
        "community_id": "1:abc=",
        "tunnel": {"src_ip": "10.0.0.1", "dest_ip": "10.0.0.2", "src_port": 1, "dest_port": 4789,
                   "proto": "UDP", "depth": 1, "pcap_cnt": 9, "pkt_src": "wire/pcap"},
        "tx_id": 0,
        "direction": "to_server",
        "alert": {
            "action": "allowed", "gid": 1, "signature_id": 2_019_401, "rev": 3,
            "signature": "ET POLICY \"curl\" User-Agent \u{e9}\\", "category": "Attempted Information Leak",
            "severity": 2,
            "source": {"ip": "192.0.2.10", "port": 41000},
            "target": {"ip": "2001:db8::1", "port": 80},
            "xff": "203.0.113.1",
            "references": ["url,example.com"],
            "metadata": {"created_at": ["2014_01_01"], "n": [1, true], "s": "x", "o": {"a": 1}},
            "rule": "alert http any any -> any any (msg:\"x\"; sid:1;)"
        },
        "app_proto": "http",
        "http": {"hostname": "www.example.com", "http_port": 8080, "url": "/index.html",
                 "http_user_agent": "curl/8", "http_content_type": "text/html",
                 "http_refer": "http://a/", "http_method": "GET", "protocol": "HTTP/1.1",
                 "status": 200, "redirect": "/x", "length": 57},
        "dns": {"version": 3, "type": "request", "id": 4660, "rcode": "NOERROR",
                "queries": [{"rrname": "www.example.com", "rrtype": "A"}]},
        "tls": {"subject": "CN=a", "issuerdn": "CN=b", "serial": "01", "fingerprint": "aa:bb",
                "sni": "a.example", "version": "TLS 1.2", "notbefore": "2024-01-01T00:00:00",
                "notafter": "2025-01-01T00:00:00", "ja3": {"hash": "h", "string": "s"},
                "ja3s": {"hash": "h2", "string": "s2"}, "ja4": "t12d",
                "client_alpns": ["h2"], "server_alpns": ["h2"]},
        "flow": {"pkts_toserver": 5, "pkts_toclient": 4, "bytes_toserver": 406,
                 "bytes_toclient": 361, "start": "2023-11-14T22:13:20.100000+0000",
                 "src_ip": "192.0.2.10", "dest_ip": "2001:db8::1", "src_port": 41000, "dest_port": 80},
        "payload": "R0VUIC8gSFRUUC8xLjENCg==",
        "payload_printable": "GET / HTTP/1.1..",
        "stream": 1,
        "host": "sensor-a",
        "unknown": {"deep": [1, 2, {"x": null}]}
    })
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
