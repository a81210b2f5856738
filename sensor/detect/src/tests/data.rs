//! Datasets (`dataset`, `datarep`) and IP reputation (`iprep`) through the engine, under
//! both prefilters.

use std::sync::Arc;

use tapwatch_common::Direction;
use tapwatch_datasets::{Categories, IpReputation, Key, ReputationBuilder};
use tapwatch_rules::Buffer;

use super::{engine, sigs, tcp, TS};
use crate::input::{Buffers, TxInput};
use crate::{Detector, Engine, EngineConfig, FlowDetect, Prefilter};

const PREFILTERS: [Prefilter; 2] = [Prefilter::Hyperscan, Prefilter::Reference];

/// One transaction to the server with a User-Agent and URI, inspected by `det`; the sids.
fn ua_tx(engine: &Engine, det: &mut Detector, ua: &str, uri: &str) -> Vec<u32> {
    let mut b = Buffers::new();
    b.push(Buffer::HttpUserAgent, TS, ua.as_bytes());
    b.push(Buffer::HttpUri, TS, uri.as_bytes());
    let tx = TxInput {
        tx_id: 0,
        direction: TS,
        buffers: &b,
    };
    let pkt = tcp(b"", b"", TS, 1);
    let mut flow = FlowDetect::default();
    let mut alerts = Vec::new();
    det.inspect_tx(engine, &pkt, &tx, &mut flow, &mut alerts);
    alerts
        .iter()
        .map(|a| engine.sig(a.sig).unwrap().signature.id.sid)
        .collect()
}

#[test]
fn set_isset_unset_follow_the_buffer() {
    let rules = r#"alert http any any -> any any (http.uri; content:"/toto"; http.user_agent; dataset:set,ua-seen,type string; sid:1;)
alert http any any -> any any (http.uri; content:"/tata"; http.user_agent; dataset:unset,ua-seen; sid:2;)
alert http any any -> any any (http.user_agent; dataset:isset,ua-seen; sid:3;)
alert http any any -> any any (http.user_agent; to_md5; dataset:isnotset,ua-md5,type md5; dataset:set,ua-md5; sid:4;)"#;
    for p in PREFILTERS {
        let e = engine(rules, p);
        let mut det = Detector::new(&e).unwrap();
        // New: set matches (and isset after it, in rule order); the md5 set learns it too.
        assert_eq!(
            ua_tx(&e, &mut det, "agent1", "/toto"),
            vec![1, 3, 4],
            "{p:?}"
        );
        // Known: set does not match again; isset does; the md5 is no longer new.
        assert_eq!(ua_tx(&e, &mut det, "agent1", "/toto"), vec![3], "{p:?}");
        // Removed (unset matches), then gone.
        assert_eq!(ua_tx(&e, &mut det, "agent1", "/tata"), vec![2], "{p:?}");
        assert_eq!(
            ua_tx(&e, &mut det, "agent1", "/tata"),
            Vec::<u32>::new(),
            "{p:?}"
        );
        // An empty buffer never matches, not even isnotset; its MD5 is a value like another.
        assert_eq!(ua_tx(&e, &mut det, "", "/toto"), vec![4], "{p:?}");
        let set = e.datasets().get("ua-md5").unwrap();
        assert_eq!(set.len(), 2);
    }
}

#[test]
fn a_set_from_one_worker_is_seen_by_another() {
    let rules = r#"alert http any any -> any any (http.uri; content:"/learn"; http.user_agent; dataset:set,ua,type string; sid:1;)
alert http any any -> any any (http.uri; content:"/check"; http.user_agent; dataset:isset,ua; sid:2;)"#;
    for p in PREFILTERS {
        let e = engine(rules, p);
        let mut w0 = Detector::new(&e).unwrap();
        let mut w1 = Detector::new(&e).unwrap();
        assert_eq!(ua_tx(&e, &mut w1, "x", "/check"), Vec::<u32>::new());
        assert_eq!(ua_tx(&e, &mut w0, "x", "/learn"), vec![1]);
        assert_eq!(ua_tx(&e, &mut w1, "x", "/check"), vec![2]);
        // The other worker cannot add it a second time either.
        assert_eq!(ua_tx(&e, &mut w1, "x", "/learn"), Vec::<u32>::new());
    }
}

#[test]
fn datarep_compares_the_loaded_reputation() {
    let dir = std::env::temp_dir().join(format!("tw-detect-datarep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // "curl/7.43.0" at 300, "blah" at 10.
    std::fs::write(dir.join("ua.rep"), "Y3VybC83LjQzLjA=,300\nYmxhaA==,10\n").unwrap();
    let rule_file = dir.join("test.rules");
    let text = r#"alert http any any -> any any (http.user_agent; datarep:ua_rep,>,200,load ua.rep,type string; sid:1;)
alert http any any -> any any (http.user_agent; datarep:ua_rep,<,200; sid:2;)
alert http any any -> any any (http.user_agent; datarep:ua_rep,==,10; sid:3;)"#;
    for p in PREFILTERS {
        let mut report = tapwatch_rules::LoadReport::default();
        tapwatch_rules::load_rules_text(
            &rule_file.display().to_string(),
            text,
            &tapwatch_rules::LoadOptions::suricata_defaults(),
            &mut report,
        );
        let config = EngineConfig {
            prefilter: p,
            ..EngineConfig::default()
        };
        let (e, rep) = Engine::build(report.signatures, &config).unwrap();
        assert!(rep.rejected.is_empty(), "{:?}", rep.rejected);
        let mut det = Detector::new(&e).unwrap();
        assert_eq!(ua_tx(&e, &mut det, "curl/7.43.0", "/"), vec![1]);
        assert_eq!(ua_tx(&e, &mut det, "blah", "/"), vec![2, 3]);
        assert_eq!(ua_tx(&e, &mut det, "other", "/"), Vec::<u32>::new());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_dataset_files_reject_the_rule_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("tw-detect-badset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.csv"), "Y3VybC83LjQzLjA=\nnot base64!\n").unwrap();
    let rule_file = dir.join("x.rules");
    let mut report = tapwatch_rules::LoadReport::default();
    tapwatch_rules::load_rules_text(
        &rule_file.display().to_string(),
        "alert http any any -> any any (http.user_agent; dataset:isset,bad,type string,load bad.csv; sid:1;)",
        &tapwatch_rules::LoadOptions::suricata_defaults(),
        &mut report,
    );
    let (e, rep) = Engine::build(report.signatures, &EngineConfig::default()).unwrap();
    assert!(e.is_empty());
    let r = &rep.rejected[0];
    assert_eq!(r.keyword, "dataset");
    assert!(
        r.reason.contains("bad.csv:2: bad base64 encoding bad"),
        "{}",
        r.reason
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sets_keep_their_contents_across_a_reload() {
    let first = r#"alert http any any -> any any (http.user_agent; dataset:set,ua,type string,state ua.csv; sid:1;)"#;
    let second = r#"alert http any any -> any any (http.uri; content:"/"; sid:9;)
alert http any any -> any any (http.user_agent; dataset:isset,ua,type string,state ua.csv; sid:2;)"#;
    let config = EngineConfig::default();
    let (old, _) = Engine::build(sigs(first), &config).unwrap();
    let mut det = Detector::new(&old).unwrap();
    assert_eq!(ua_tx(&old, &mut det, "agent", "/"), vec![1]);
    // The reload builds with the running engine's sets; rule indexes all change.
    config.datasets.begin_reload();
    let (new, _) = Engine::build_after(sigs(second), &config, old.state_names()).unwrap();
    let mut det = Detector::new(&new).unwrap();
    assert_eq!(ua_tx(&new, &mut det, "agent", "/"), vec![9, 2]);
    assert!(Arc::ptr_eq(
        &old.datasets().get("ua").unwrap(),
        &new.datasets().get("ua").unwrap()
    ));
}

fn reputation() -> Arc<IpReputation> {
    let categories = Categories::from_pairs([("test", 1), ("BadHosts", 2)]);
    let mut b = ReputationBuilder::new();
    for l in ["10.0.0.0/8,1,0", "192.0.2.9,2,50", "192.0.2.0/24,1,7"] {
        b.add_line(l, &categories).unwrap();
    }
    Arc::new(IpReputation {
        categories,
        table: b.build(),
    })
}

#[test]
fn iprep_sides_and_comparisons() {
    // Client 10.0.0.1 (test 0), server 192.0.2.9 (test 7, BadHosts 50).
    let rules = r#"alert tcp any any -> any any (iprep:src,test,=,0; content:"X"; sid:1;)
alert tcp any any -> any any (iprep:dst,test,<,10; content:"X"; sid:2;)
alert tcp any any -> any any (iprep:both,test,!=,1; content:"X"; sid:3;)
alert tcp any any -> any any (iprep:any,BadHosts,>,30; content:"X"; sid:4;)
alert tcp any any -> any any (iprep:both,BadHosts,>,30; content:"X"; sid:5;)
alert tcp any any -> any any (iprep:src,BadHosts,isnotset; content:"X"; sid:6;)
alert tcp any any -> any any (iprep:src,BadHosts,isset; content:"X"; sid:7;)
alert tcp any any -> any any (iprep:dst,test,>,7; content:"X"; sid:8;)"#;
    for p in PREFILTERS {
        let config = EngineConfig {
            prefilter: p,
            reputation: reputation(),
            ..EngineConfig::default()
        };
        let (e, rep) = Engine::build(sigs(rules), &config).unwrap();
        assert!(rep.rejected.is_empty(), "{:?}", rep.rejected);
        let mut det = Detector::new(&e).unwrap();
        let mut flow = FlowDetect::default();
        let mut alerts = Vec::new();
        det.inspect_packet(&e, &tcp(b"X", b"", TS, 1), Some(&mut flow), &mut alerts);
        let sids: Vec<u32> = alerts
            .iter()
            .map(|a| e.sig(a.sig).unwrap().signature.id.sid)
            .collect();
        assert_eq!(sids, vec![1, 2, 3, 4, 6], "{p:?}");
        // The other direction: source and destination swap.
        let mut alerts = Vec::new();
        det.inspect_packet(
            &e,
            &tcp(b"X", b"", Direction::ToClient, 2),
            Some(&mut flow),
            &mut alerts,
        );
        let sids: Vec<u32> = alerts
            .iter()
            .map(|a| e.sig(a.sig).unwrap().signature.id.sid)
            .collect();
        assert_eq!(sids, vec![2, 3, 4, 7], "{p:?}");
    }
}

#[test]
fn iprep_rules_are_ip_only_and_unknown_categories_refused() {
    let config = EngineConfig {
        reputation: reputation(),
        ..EngineConfig::default()
    };
    let (e, rep) = Engine::build(
        sigs("alert ip any any -> any any (iprep:dst,BadHosts,isset; sid:1;)\nalert ip any any -> any any (iprep:dst,nope,isset; sid:2;)"),
        &config,
    )
    .unwrap();
    assert_eq!(rep.rejected.len(), 1);
    assert!(rep.rejected[0].reason.contains("unknown category 'nope'"));
    assert!(e.sigs[0].iponly);
    // IP-only: once per flow direction.
    let mut det = Detector::new(&e).unwrap();
    let mut flow = FlowDetect::default();
    let mut alerts = Vec::new();
    for s in 1..4 {
        det.inspect_packet(&e, &tcp(b"", b"", TS, s), Some(&mut flow), &mut alerts);
    }
    assert_eq!(alerts.len(), 1);
    let none = Engine::build(
        sigs("alert ip any any -> any any (iprep:dst,BadHosts,isset; sid:1;)"),
        &EngineConfig::default(),
    )
    .unwrap()
    .1;
    assert!(none.rejected[0]
        .reason
        .contains("no reputation categories file"));
    let _ = Key::Ipv4([0; 4]);
}
