//! EVE output against Suricata 8.0.6's EVE JSON schema: one record of every [`RData`] kind
//! in every section, serialized as `dns` and as `mdns`, must validate against the schema's
//! `dns` and `mdns` definitions.
//!
//! The schema lives in the shared corpus (`$TAPWATCH_SHARED` or `../shared` next to the
//! repository); without it the tests print a `skipped:` line and pass.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use serde_json::Value;
use tapwatch_common::Timestamp;

use crate::*;

/// Suricata's name limit: names this long are flagged as truncated.
const LONG: usize = 1025;

fn schema_path() -> Option<PathBuf> {
    let shared = std::env::var_os("TAPWATCH_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = shared.join("corpus/eve-schema/suricata-8.0.6-eve-schema.json");
    path.is_file().then_some(path)
}

/// The schema of the object under `key` (`dns`, `mdns`), with the root's `$defs` so that
/// its references resolve.
fn sub_schema(key: &str) -> Option<Value> {
    let Some(path) = schema_path() else {
        println!("skipped: corpus/eve-schema/suricata-8.0.6-eve-schema.json not found (set TAPWATCH_SHARED)");
        return None;
    };
    let text = std::fs::read_to_string(path).expect("read schema");
    let root: Value = serde_json::from_str(&text).expect("schema is JSON");
    let mut sub = root["properties"][key].clone();
    assert!(sub.is_object(), "schema has no properties.{key}");
    sub["$defs"] = root["$defs"].clone();
    Some(sub)
}

/// Schema errors of `value`, except the one difference Suricata's own output shows:
/// `rdata_truncated` and `opt` in DNS `answers` entries (seen in `corpus/suricata-eve`),
/// which its schema lists only for other sections.
fn errors(schema: &Value, value: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    validator
        .iter_errors(value)
        .filter(|e| {
            let path = e.instance_path().to_string();
            let gap = path.starts_with("/answers/")
                && matches!(
                    e.kind(),
                    jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }
                        if unexpected.iter().all(|n| n == "rdata_truncated" || n == "opt")
                );
            !gap
        })
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn rr(name: Vec<u8>, rrtype: u16, data: RData) -> ResourceRecord {
    ResourceRecord {
        name,
        rrtype,
        rrclass: 1,
        ttl: 120,
        data,
    }
}

/// One record of every data kind, some with names cut at the limit.
fn every_kind() -> Vec<ResourceRecord> {
    let long = vec![b'x'; LONG];
    let n = |s: &str| s.as_bytes().to_vec();
    vec![
        rr(n("a.example"), 1, RData::A(Ipv4Addr::new(192, 0, 2, 1))),
        rr(n("a.example"), 28, RData::Aaaa(Ipv6Addr::LOCALHOST)),
        // An address of the wrong length.
        rr(n("a.example"), 1, RData::Other(vec![1, 2, 3])),
        rr(n("c.example"), 5, RData::Cname(long.clone())),
        rr(long.clone(), 2, RData::Ns(n("ns.example"))),
        rr(n("p.example"), 12, RData::Ptr(n("host.example"))),
        rr(
            n("m.example"),
            15,
            RData::Mx {
                preference: 10,
                exchange: n("mx.example"),
            },
        ),
        rr(n("t.example"), 16, RData::Txt(vec![n("k=v"), vec![0xff]])),
        rr(n("t.example"), 16, RData::Txt(vec![])),
        rr(n("z.example"), 10, RData::Null(vec![0, 0xc5])),
        rr(
            n("example"),
            6,
            RData::Soa(Soa {
                mname: long.clone(),
                rname: n("hostmaster.example"),
                serial: 1,
                refresh: 2,
                retry: 3,
                expire: 4,
                minimum: 5,
            }),
        ),
        rr(
            n("_ldap._tcp.example"),
            33,
            RData::Srv(Srv {
                priority: 0,
                weight: 100,
                port: 389,
                target: n("dc.example"),
            }),
        ),
        rr(
            n("s.example"),
            44,
            RData::Sshfp {
                algorithm: 1,
                fp_type: 2,
                fingerprint: vec![0xde, 0xad],
            },
        ),
        rr(
            Vec::new(),
            41,
            RData::Opt(vec![EdnsOption {
                code: 10,
                data: vec![1, 2],
            }]),
        ),
        rr(Vec::new(), 41, RData::Opt(vec![])),
        rr(n("sig.example"), 46, RData::Other(vec![9, 9])),
    ]
}

/// A response holding [`every_kind`] in each section, with every flag set.
fn every_kind_record(opcode: u8, rcode: u8) -> DnsRecord {
    let records = every_kind();
    DnsRecord {
        tx_id: 3,
        message: DnsMessage {
            id: 77,
            flags: 0xfff0 | u16::from(rcode & 0x0f),
            response: true,
            opcode,
            rcode,
            queries: vec![
                Question {
                    name: b"q.example".to_vec(),
                    rrtype: 255,
                    rrclass: 0x8001,
                },
                Question {
                    name: vec![b'q'; LONG],
                    rrtype: 4242,
                    rrclass: 1,
                },
            ],
            answers: records.clone(),
            authorities: records.clone(),
            additionals: records,
        },
        ts: Timestamp::new(1_700_000_000, 0),
    }
}

#[test]
fn every_dns_record_shape_validates_against_the_schema() {
    let Some(schema) = sub_schema("dns") else {
        return;
    };
    for (opcode, rcode) in [(0, 0), (5, 3), (15, 11)] {
        let value = serde_json::to_value(every_kind_record(opcode, rcode)).unwrap();
        let errs = errors(&schema, &value);
        assert!(errs.is_empty(), "{}\n{value}", errs.join("\n"));
    }
    // The filter above is not what makes this pass: an unknown field is still an error.
    let mut broken = serde_json::to_value(every_kind_record(0, 0)).unwrap();
    broken["additionals"][0]["srv"] = serde_json::json!({"port": 1});
    assert!(!errors(&schema, &broken).is_empty());
}

#[test]
fn every_mdns_record_shape_validates_against_the_schema() {
    let Some(schema) = sub_schema("mdns") else {
        return;
    };
    for (opcode, rcode) in [(0, 0), (5, 3)] {
        let mut record = every_kind_record(opcode, rcode);
        let value = serde_json::to_value(MdnsRecord(record.clone())).unwrap();
        let errs = errors(&schema, &value);
        assert!(errs.is_empty(), "{}\n{value}", errs.join("\n"));
        record.message.response = false;
        let value = serde_json::to_value(MdnsRecord(record)).unwrap();
        assert!(errors(&schema, &value).is_empty(), "{value}");
    }
    // The schema does reject what the DNS layout would write here.
    let dns = serde_json::to_value(every_kind_record(0, 0)).unwrap();
    assert!(!errors(&schema, &dns).is_empty());
}

#[test]
fn sections_carry_only_the_fields_suricata_writes_there() {
    let v = serde_json::to_value(every_kind_record(0, 0)).unwrap();
    let keys = |section: &str, rrtype: &str| -> Vec<String> {
        v[section]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["rrtype"] == rrtype)
            .flat_map(|e| e.as_object().unwrap().keys().cloned())
            .collect()
    };
    // SOA: answers and authorities only.
    assert!(keys("answers", "SOA").contains(&"soa".to_string()));
    assert!(keys("authorities", "SOA").contains(&"soa".to_string()));
    assert!(!keys("additionals", "SOA").contains(&"soa".to_string()));
    // SRV and SSHFP: answers only.
    for (t, k) in [("SRV", "srv"), ("SSHFP", "sshfp")] {
        assert!(keys("answers", t).contains(&k.to_string()));
        assert!(!keys("authorities", t).contains(&k.to_string()));
        assert!(!keys("additionals", t).contains(&k.to_string()));
    }
    // OPT with options: answers and additionals.
    assert!(keys("answers", "OPT").contains(&"opt".to_string()));
    assert!(keys("additionals", "OPT").contains(&"opt".to_string()));
    assert!(!keys("authorities", "OPT").contains(&"opt".to_string()));
    // Truncation flags: rrname_truncated in authorities, rdata_truncated not in additionals.
    assert!(keys("authorities", "NS").contains(&"rrname_truncated".to_string()));
    assert!(!keys("answers", "NS").contains(&"rrname_truncated".to_string()));
    assert!(keys("answers", "CNAME").contains(&"rdata_truncated".to_string()));
    assert!(keys("authorities", "CNAME").contains(&"rdata_truncated".to_string()));
    assert!(!keys("additionals", "CNAME").contains(&"rdata_truncated".to_string()));
    // Every section still lists every record (TXT: one entry per string; empty OPT left out).
    for section in ["answers", "authorities", "additionals"] {
        assert_eq!(v[section].as_array().unwrap().len(), 16, "{section}");
    }
    // A TXT record without strings adds no empty group.
    assert_eq!(v["grouped"]["TXT"], serde_json::json!(["k=v", "\\xff"]));
}
