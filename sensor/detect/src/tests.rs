//! Engine tests: every case runs under both prefilters (Hyperscan and the pure-Rust
//! reference) and the two must agree.

use std::net::IpAddr;

use tapwatch_common::{AppProto, Direction, Timestamp};
use tapwatch_rules::{load_rules_text, Buffer, LoadOptions, LoadReport, Signature};

use crate::input::{AppState, Buffers, FlowFacts, PacketInput, TxInput};
use crate::verify::{PacketFacts, TcpFacts};
use crate::{
    Alert, AlertSource, CacheOutcome, Detector, Engine, EngineConfig, FlowDetect, Prefilter,
};

fn sigs(text: &str) -> Vec<Signature> {
    let mut report = LoadReport::default();
    load_rules_text(
        "test.rules",
        text,
        &LoadOptions::suricata_defaults(),
        &mut report,
    );
    assert!(report.rejections.is_empty(), "{:?}", report.rejections);
    report.signatures
}

fn engine(text: &str, prefilter: Prefilter) -> Engine {
    let config = EngineConfig {
        prefilter,
        ..EngineConfig::default()
    };
    let (engine, report) = Engine::build(sigs(text), &config).expect("build");
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    engine
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TCP packet of an established flow, client to server (or back).
fn tcp<'a>(payload: &'a [u8], stream: &'a [u8], dir: Direction, secs: i64) -> PacketInput<'a> {
    let (c, s) = ((ip("10.0.0.1"), 40000), (ip("192.0.2.9"), 80));
    let (src, dst) = match dir {
        Direction::ToServer => (c, s),
        Direction::ToClient => (s, c),
    };
    PacketInput {
        ts: Timestamp::new(secs, 0),
        src: Some(src),
        dst: Some(dst),
        ip_proto: Some(6),
        facts: PacketFacts {
            ttl: 64,
            ip_proto: 6,
            dsize: payload.len(),
            tcp: Some(TcpFacts {
                flags: 0x18,
                ..TcpFacts::default()
            }),
            ..PacketFacts::default()
        },
        payload,
        stream,
        flow: Some(FlowFacts {
            direction: dir,
            established: true,
            app: AppState::Detected(AppProto::Http),
            payload_off: false,
        }),
        ..PacketInput::undecoded(Timestamp::new(secs, 0), &[])
    }
}

/// Runs `packets` through a fresh detector and flow; returns the sids that alerted, in
/// order, with their sources.
fn run(engine: &Engine, packets: &[PacketInput<'_>]) -> Vec<(u32, AlertSource)> {
    let mut det = Detector::new(engine).unwrap();
    let mut flow = FlowDetect::default();
    let mut alerts: Vec<Alert> = Vec::new();
    for p in packets {
        det.inspect_packet(engine, p, Some(&mut flow), &mut alerts);
    }
    alerts
        .iter()
        .map(|a| (engine.sig(a.sig).unwrap().signature.id.sid, a.source))
        .collect()
}

/// Runs the case under both prefilters (Hyperscan with and without the direct search of
/// small databases), checks they agree, returns the sids.
fn both(rules: &str, packets: &[PacketInput<'_>]) -> Vec<u32> {
    let hs = run(&engine(rules, Prefilter::Hyperscan), packets);
    let config = EngineConfig {
        always_hyperscan: true,
        ..EngineConfig::default()
    };
    let (only_hs, _) = Engine::build(sigs(rules), &config).expect("build");
    let reference = run(&engine(rules, Prefilter::Reference), packets);
    assert_eq!(hs, reference, "hyperscan and reference engines disagree");
    assert_eq!(
        run(&only_hs, packets),
        reference,
        "hyperscan alone and reference engines disagree"
    );
    hs.into_iter().map(|(sid, _)| sid).collect()
}

/// Inspects transaction 0 with `buffers`, to the server then to the client, through a fresh
/// detector and flow; returns the sids that alerted with the side inspected.
fn tx_sids(rules: &str, prefilter: Prefilter, buffers: &Buffers) -> Vec<(u32, Direction)> {
    tx_sids_of(AppProto::Http, rules, prefilter, buffers)
}

/// [`tx_sids`] on a flow of application protocol `app`.
fn tx_sids_of(
    app: AppProto,
    rules: &str,
    prefilter: Prefilter,
    buffers: &Buffers,
) -> Vec<(u32, Direction)> {
    let engine = engine(rules, prefilter);
    let mut det = Detector::new(&engine).unwrap();
    let mut flow = FlowDetect::default();
    let mut sids = Vec::new();
    for side in [Direction::ToServer, Direction::ToClient] {
        let mut alerts = Vec::new();
        let tx = TxInput {
            tx_id: 0,
            direction: side,
            buffers,
        };
        let mut pkt = tcp(b"", b"", side, 1);
        if let Some(f) = pkt.flow.as_mut() {
            f.app = AppState::Detected(app);
        }
        det.inspect_tx(&engine, &pkt, &tx, &mut flow, &mut alerts);
        sids.extend(alerts.iter().map(|a| {
            assert_eq!(a.tx_id, Some(0));
            (engine.sig(a.sig).unwrap().signature.id.sid, side)
        }));
    }
    sids
}

const TS: Direction = Direction::ToServer;
const TC: Direction = Direction::ToClient;

#[test]
fn content_rules_alert_on_matching_payload_only() {
    let rules = r#"alert tcp any any -> any any (msg:"a"; content:"EVIL"; sid:1;)
alert tcp any any -> any any (msg:"b"; content:"evil"; nocase; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"GOOD"; sid:3;)"#;
    assert_eq!(both(rules, &[tcp(b"xxEVILxx", b"", TS, 1)]), vec![1, 2]);
    assert_eq!(
        both(rules, &[tcp(b"nothing", b"", TS, 1)]),
        Vec::<u32>::new()
    );
}

#[test]
fn header_ports_and_flow_direction_are_checked() {
    let rules = r#"alert tcp any any -> any 80 (msg:"a"; flow:established,to_server; content:"X"; sid:1;)
alert tcp any 80 -> any any (msg:"b"; flow:to_client; content:"X"; sid:2;)
alert tcp any any -> any 81 (msg:"c"; content:"X"; sid:3;)
alert tcp any any <> any 80 (msg:"d"; content:"X"; sid:4;)"#;
    assert_eq!(both(rules, &[tcp(b"X", b"", TS, 1)]), vec![1, 4]);
    assert_eq!(both(rules, &[tcp(b"X", b"", TC, 1)]), vec![2, 4]);
}

#[test]
fn rules_without_content_are_checked_on_every_packet() {
    let rules = r#"alert tcp any any -> any any (msg:"a"; dsize:>3; sid:1;)
alert tcp any any -> any any (msg:"b"; content:!"zzz"; sid:2;)"#;
    assert_eq!(both(rules, &[tcp(b"abcd", b"", TS, 1)]), vec![1, 2]);
    assert_eq!(both(rules, &[tcp(b"abc", b"", TS, 1)]), vec![2]);
    assert_eq!(both(rules, &[tcp(b"zzzz", b"", TS, 1)]), vec![1]);
}

#[test]
fn stream_and_packet_are_inspected_without_duplicates() {
    let rules = r#"alert tcp any any -> any any (msg:"both"; content:"EVIL"; sid:1;)
alert tcp-stream any any -> any any (msg:"stream"; content:"EVIL"; sid:2;)
alert tcp-pkt any any -> any any (msg:"pkt"; content:"EVIL"; sid:3;)"#;
    // In order: the packet's data is also the stream data; each rule alerts once.
    let in_order = run(
        &engine(rules, Prefilter::Hyperscan),
        &[tcp(b"EVIL", b"EVIL", TS, 1)],
    );
    assert_eq!(
        in_order,
        vec![
            (1, AlertSource::Stream),
            (2, AlertSource::Stream),
            (3, AlertSource::Packet)
        ]
    );
    // A match only across segments is seen by stream rules alone.
    assert_eq!(both(rules, &[tcp(b"IL", b"EVIL", TS, 1)]), vec![1, 2]);
    // A packet with no stream data (out of order): packet rules and `tcp` rules.
    assert_eq!(both(rules, &[tcp(b"EVIL", b"", TS, 1)]), vec![1, 3]);
}

#[test]
fn anchored_payload_rules_alert_on_packet_and_stream_start() {
    // Suricata's "packet-stream" rules (payload content with depth/startswith, no dsize)
    // inspect the packet and the stream, each able to alert; unanchored ones alert once.
    let rules = r#"alert tcp any any -> any any (msg:"depth"; content:"GNUT"; depth:4; sid:1;)
alert tcp any any -> any any (msg:"startswith"; content:"GNUT"; startswith; sid:2;)
alert tcp any any -> any any (msg:"plain"; content:"GNUT"; sid:3;)
alert tcp any any -> any any (msg:"dsize"; dsize:>2; content:"GNUT"; depth:4; sid:4;)
alert tcp-pkt any any -> any any (msg:"pkt"; content:"GNUT"; depth:4; sid:5;)"#;
    let first = run(
        &engine(rules, Prefilter::Hyperscan),
        &[tcp(b"GNUTELLA", b"GNUTELLA", TS, 1)],
    );
    assert_eq!(
        first,
        vec![
            (1, AlertSource::Packet),
            (1, AlertSource::Stream),
            (2, AlertSource::Packet),
            (2, AlertSource::Stream),
            (3, AlertSource::Stream),
            (4, AlertSource::Stream),
            (5, AlertSource::Packet),
        ]
    );
    assert_eq!(
        both(rules, &[tcp(b"GNUTELLA", b"GNUTELLA", TS, 1)]),
        vec![1, 1, 2, 2, 3, 4, 5]
    );
    // A negated anchored content makes a packet-stream rule too.
    let negated = r#"alert tcp any any -> any any (msg:"neg"; content:!"EHLO"; startswith; content:"GNUT"; sid:7;)"#;
    assert_eq!(
        both(negated, &[tcp(b"GNUTELLA", b"GNUTELLA", TS, 1)]),
        vec![7, 7]
    );
    // Later in the stream only the packet is inspected for the anchored rules.
    assert_eq!(
        both(
            rules,
            &[
                tcp(b"hello", b"hello", TS, 1),
                tcp(b"GNUTELLA", b"GNUTELLA", TS, 2)
            ]
        ),
        vec![1, 2, 3, 4, 5]
    );
    // The other direction starts its own stream.
    assert_eq!(
        both(
            rules,
            &[
                tcp(b"hello", b"hello", TS, 1),
                tcp(b"GNUTELLA", b"GNUTELLA", TC, 2)
            ]
        ),
        vec![1, 1, 2, 2, 3, 4, 5]
    );
}

#[test]
fn flowbits_setters_run_before_checkers_and_or_forms_work() {
    // The checker comes first in the file: Suricata still runs the setter first.
    let rules = r#"alert tcp any any -> any any (msg:"check"; flowbits:isset,a|b; content:"X"; sid:2;)
alert tcp any any -> any any (msg:"set"; content:"X"; flowbits:set,b; flowbits:noalert; sid:1;)
alert tcp any any -> any any (msg:"not"; flowbits:isnotset,b; content:"Y"; sid:3;)"#;
    assert_eq!(both(rules, &[tcp(b"X", b"", TS, 1)]), vec![2]);
    assert_eq!(
        both(
            rules,
            &[
                tcp(b"Y", b"", TS, 1),
                tcp(b"X", b"", TS, 2),
                tcp(b"Y", b"", TS, 3)
            ]
        ),
        vec![3, 2]
    );
}

#[test]
fn flowint_counts_matches() {
    let rules = r#"alert tcp any any -> any any (msg:"count"; content:"X"; flowint:n,+,1; noalert; sid:1;)
alert tcp any any -> any any (msg:"third"; content:"X"; flowint:n,==,3; sid:2;)"#;
    let p = |s| tcp(b"X", b"", TS, s);
    assert_eq!(both(rules, &[p(1), p(2), p(3), p(4)]), vec![2]);
}

#[test]
fn thresholds_limit_threshold_both_and_detection_filter() {
    let rules = r#"alert tcp any any -> any any (msg:"limit"; content:"X"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)
alert tcp any any -> any any (msg:"threshold"; content:"X"; threshold:type threshold, track by_dst, count 2, seconds 60; sid:2;)
alert tcp any any -> any any (msg:"both"; content:"X"; threshold:type both, track by_rule, count 3, seconds 60; sid:3;)
alert tcp any any -> any any (msg:"filter"; content:"X"; detection_filter:track by_src, count 3, seconds 60; sid:4;)
alert tcp any any -> any any (msg:"flow"; content:"X"; threshold:type limit, track by_flow, count 1, seconds 60; sid:5;)"#;
    let p = |s| tcp(b"X", b"", TS, s);
    let sids = both(rules, &[p(1), p(2), p(3), p(4), p(5)]);
    let count = |sid| sids.iter().filter(|&&s| s == sid).count();
    assert_eq!(count(1), 2, "limit 2");
    assert_eq!(count(2), 2, "every 2nd of 5");
    assert_eq!(count(3), 1, "once at the 3rd");
    assert_eq!(count(4), 2, "4th and 5th");
    assert_eq!(count(5), 1, "by flow");
    // A new window after `seconds`.
    let sids = both(rules, &[p(1), p(2), p(3), p(100)]);
    assert_eq!(sids.iter().filter(|&&s| s == 1).count(), 3);
}

#[test]
fn pass_rules_stop_inspection_of_the_flow() {
    let rules = r#"pass tcp any any -> any any (msg:"pass"; content:"OK"; sid:1;)
alert tcp any any -> any any (msg:"a"; content:"X"; sid:2;)"#;
    assert_eq!(
        both(
            rules,
            &[
                tcp(b"X", b"", TS, 1),
                tcp(b"OK X", b"", TS, 2),
                tcp(b"X", b"", TS, 3)
            ]
        ),
        vec![2]
    );
}

#[test]
fn transaction_rules_inspect_their_buffers_once_per_side() {
    let rules = r#"alert http any any -> any any (msg:"uri"; http.uri; content:"/evil"; sid:1;)
alert http any any -> any any (msg:"stat"; flow:to_client; http.stat_code; content:"404"; sid:2;)
alert http any any -> any any (msg:"hdr"; http.header; content:"Server|3a|"; sid:3;)
alert http any any -> any any (msg:"uri+stat"; http.uri; content:"/evil"; http.stat_code; content:"404"; sid:4;)
alert http any any -> any any (msg:"absent"; http.referer; absent; sid:5;)"#;
    let mut buffers = Buffers::new();
    buffers.push(Buffer::HttpUri, TS, b"/evil.php");
    buffers.push(Buffer::HttpHeader, TS, b"Host: a\r\n");
    buffers.push(Buffer::HttpStatCode, TC, b"404");
    buffers.push(Buffer::HttpHeader, TC, b"Server: x\r\n");
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        assert_eq!(
            tx_sids(rules, prefilter, &buffers),
            vec![(1, TS), (5, TS), (2, TC), (3, TC), (4, TC)],
            "{prefilter:?}"
        );
    }
}

/// A flow whose payload is off (encrypted TLS under `encryption-handling: default`): rules
/// that inspect the payload or the stream, negated contents included, do not match; header
/// and flow rules do.
#[test]
fn rules_on_the_payload_do_not_match_once_it_is_off() {
    let rules = r#"alert tcp any any -> any any (msg:"content"; content:"EVIL"; sid:1;)
alert tcp any any -> any any (msg:"negated"; content:!"zzz"; sid:2;)
alert tcp any any -> any any (msg:"stream"; flow:only_stream; content:"EVIL"; sid:3;)
alert tcp any any -> any 80 (msg:"header"; flow:established,to_server; dsize:>3; sid:4;)"#;
    let on = tcp(b"xxEVILxx", b"xxEVILxx", TS, 1);
    assert_eq!(both(rules, &[on]), vec![1, 2, 3, 4]);
    let mut off = on;
    if let Some(f) = off.flow.as_mut() {
        f.payload_off = true;
    }
    assert_eq!(both(rules, &[off]), vec![4]);
}

/// HTTP's `file.data` fast patterns are scanned with the body buffer of their direction
/// (one scan for both names of one copy); a `file.data` instance that is not the body is
/// scanned too, and each rule still sees only its own buffer.
#[test]
fn http_file_data_shares_the_body_prefilter_and_keeps_its_own_buffer() {
    let rules = r#"alert http any any -> any any (msg:"fd"; flow:to_client; file.data; content:"MZ-payload"; sid:1;)
alert http any any -> any any (msg:"body"; flow:to_client; http.response_body; content:"MZ-payload"; sid:2;)
alert http any any -> any any (msg:"req"; flow:to_server; file.data; content:"upload-x"; sid:3;)
alert http any any -> any any (msg:"fd only"; flow:to_client; file.data; content:"only-fd"; sid:4;)"#;
    let mut buffers = Buffers::new();
    buffers.push(Buffer::HttpRequestBody, TS, b"..upload-x..");
    buffers.push_same(Buffer::FileData, TS);
    buffers.push(Buffer::HttpResponseBody, TC, b"..MZ-payload..");
    buffers.push_same(Buffer::FileData, TC);
    // A `file.data` instance of its own (not the body's bytes).
    buffers.push(Buffer::FileData, TC, b"only-fd");
    let hs = engine(rules, Prefilter::Hyperscan);
    let mut dbs: Vec<&str> = hs
        .groups()
        .flat_map(|g| g.dbs.iter())
        .map(|d| d.buffer.name())
        .collect();
    dbs.sort_unstable();
    assert_eq!(dbs, vec!["http.request_body", "http.response_body"]);
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        let mut sids: Vec<u32> = tx_sids(rules, prefilter, &buffers)
            .into_iter()
            .map(|(sid, _)| sid)
            .collect();
        sids.sort_unstable();
        assert_eq!(sids, vec![1, 2, 3, 4], "{prefilter:?}");
    }
}

#[test]
fn cache_is_missed_then_hit_and_a_damaged_entry_is_rebuilt() {
    let dir = std::env::temp_dir().join(format!("tapwatch-detect-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rules = r#"alert tcp any any -> any any (msg:"a"; content:"EVIL"; sid:1;)
alert udp any any -> any any (msg:"b"; content:"bad"; nocase; sid:2;)"#;
    let config = EngineConfig {
        cache_dir: Some(dir.clone()),
        ..EngineConfig::default()
    };
    let (_, first) = Engine::build(sigs(rules), &config).unwrap();
    assert_eq!(first.cache, CacheOutcome::Miss);
    let (engine, second) = Engine::build(sigs(rules), &config).unwrap();
    assert_eq!(second.cache, CacheOutcome::Hit);
    assert_eq!(
        run(&engine, &[tcp(b"EVIL", b"", TS, 1)]).len(),
        1,
        "cached database works"
    );
    // Damage every entry: the next build must notice and rebuild.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let (_, third) = Engine::build(sigs(rules), &config).unwrap();
    assert!(
        matches!(third.cache, CacheOutcome::Rebuilt { .. }),
        "{:?}",
        third.cache
    );
    let (_, fourth) = Engine::build(sigs(rules), &config).unwrap();
    assert_eq!(fourth.cache, CacheOutcome::Hit);
    // Different rules: a miss.
    let (_, other) = Engine::build(
        sigs("alert tcp any any -> any any (msg:\"c\"; content:\"x\"; sid:3;)"),
        &config,
    )
    .unwrap();
    assert_eq!(other.cache, CacheOutcome::Miss);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_counts_databases_and_rules_without_pattern() {
    let rules = r#"alert tcp any any -> any any (msg:"a"; content:"EVIL"; sid:1;)
alert tcp any any -> any any (msg:"b"; content:"EVIL"; sid:2;)
alert tcp any any -> any any (msg:"c"; flags:S; sid:3;)"#;
    let (_, report) = Engine::build(sigs(rules), &EngineConfig::default()).unwrap();
    assert_eq!(report.loaded, 3);
    assert_eq!(report.rules_without_pattern, 1);
    // TCP payload databases are split by flow direction (and port group: one here).
    let tcp_dbs: Vec<_> = report
        .databases
        .iter()
        .filter(|d| d.buffer.starts_with("tcp/pkt_data"))
        .collect();
    let names: Vec<&str> = tcp_dbs.iter().map(|d| d.buffer.as_str()).collect();
    assert_eq!(
        names,
        [
            "tcp/pkt_data [to_server any]",
            "tcp/pkt_data [to_client any]"
        ]
    );
    for db in tcp_dbs {
        assert_eq!(
            (db.rules, db.patterns),
            (2, 1),
            "literal shared by two rules"
        );
    }
    let per_buffer = report
        .rules_per_buffer
        .iter()
        .find(|(b, _)| b == "pkt_data");
    assert_eq!(
        per_buffer,
        Some(&("pkt_data".to_owned(), 2)),
        "rules counted once"
    );
}

/// Fast patterns with a fixed place near the start (`offset`/`depth`, `startswith`) are
/// checked there instead of searched for; the candidates must be the same wherever
/// verification looks: the packet, the new stream data and the window with earlier bytes.
#[test]
fn anchored_fast_patterns_are_found_at_their_places_only() {
    let rules = r#"alert tcp any any -> any any (msg:"smb"; content:"|ff|SMB"; offset:4; depth:4; sid:1;)
alert tcp any any -> any any (msg:"nocase"; content:"smb"; nocase; offset:5; depth:5; sid:2;)
alert tcp any any -> any any (msg:"chop"; content:"HEADERXY"; depth:8; fast_pattern:6,2; sid:3;)
alert tcp any any -> any any (msg:"range"; content:"GET"; depth:5; content:"/x"; distance:0; sid:4;)"#;
    let (_, report) = Engine::build(sigs(rules), &EngineConfig::default()).unwrap();
    let db = report
        .databases
        .iter()
        .find(|d| d.buffer == "tcp/pkt_data [to_server any]")
        .unwrap();
    assert_eq!((db.rules, db.patterns, db.anchored), (4, 0, 4));
    // Packets only (no stream data): at their places, not elsewhere.
    let pkt = |p: &'static [u8]| tcp(p, b"", TS, 1);
    assert_eq!(both(rules, &[pkt(b"\0\0\0\x20\xffSMBr")]), vec![1, 2]);
    assert_eq!(both(rules, &[pkt(b"\0\0\0\x20\0\xffSMBr")]), vec![2]);
    assert_eq!(both(rules, &[pkt(b"\xffSMB\0\0\0")]), Vec::<u32>::new());
    assert_eq!(both(rules, &[pkt(b"HEADERXY")]), vec![3]);
    assert_eq!(both(rules, &[pkt(b"xHEADERXY")]), Vec::<u32>::new());
    assert_eq!(both(rules, &[pkt(b"  GET /x")]), vec![4]);
    assert_eq!(both(rules, &[pkt(b"   GET /x")]), Vec::<u32>::new());
    // In order: the same places at the start of the stream.
    assert_eq!(
        both(
            rules,
            &[tcp(b"\0\0\0\x20\xffSMB", b"\0\0\0\x20\xffSMB", TS, 1)]
        ),
        vec![1, 1, 2, 2]
    );
    // Across segments: the window with the earlier bytes holds the literal at its place
    // ("HEADER" then "XY"; " G" then "ET /x").
    let stream_rules = r#"alert tcp-stream any any -> any any (msg:"chop"; content:"HEADERXY"; depth:8; fast_pattern:6,2; sid:3;)
alert tcp-stream any any -> any any (msg:"range"; content:"GET"; depth:5; content:"/x"; distance:0; sid:4;)"#;
    assert_eq!(
        both(
            stream_rules,
            &[tcp(b"HEADER", b"HEADER", TS, 1), tcp(b"XY", b"XY", TS, 2)]
        ),
        vec![3]
    );
    assert_eq!(
        both(
            stream_rules,
            &[tcp(b" G", b" G", TS, 1), tcp(b"ET /x", b"ET /x", TS, 2)]
        ),
        vec![4]
    );
}

#[test]
fn stream_matches_span_segments_without_realerting_on_earlier_data() {
    let rules = r#"alert tcp any any -> any any (msg:"both"; content:"EVIL"; sid:1;)
alert tcp-stream any any -> any any (msg:"stream"; content:"EVIL"; sid:2;)
alert tcp-pkt any any -> any any (msg:"pkt"; content:"EVIL"; sid:3;)"#;
    // "EV" then "IL": only the stream sees the pattern, on the second segment.
    assert_eq!(
        both(
            rules,
            &[tcp(b"xxEV", b"xxEV", TS, 1), tcp(b"IL", b"IL", TS, 2)]
        ),
        vec![1, 2]
    );
    // The match in the first segment is not reported again by the next segment.
    assert_eq!(
        both(
            rules,
            &[tcp(b"EVIL", b"EVIL", TS, 1), tcp(b"more", b"more", TS, 2)]
        ),
        vec![1, 2, 3]
    );
    // The other direction has its own window.
    assert_eq!(
        both(rules, &[tcp(b"EV", b"EV", TS, 1), tcp(b"IL", b"IL", TC, 2)]),
        Vec::<u32>::new()
    );
}

/// Prints the literals shared by most rules in each database (`cargo test -p
/// tapwatch-detect -- --ignored --nocapture et_literal_fanout`, with
/// `TAPWATCH_ET_RULES` naming a rules file): a tuning aid, asserts nothing.
#[test]
#[ignore]
fn et_literal_fanout() {
    let Ok(path) = std::env::var("TAPWATCH_ET_RULES") else {
        println!("skipped: TAPWATCH_ET_RULES not set");
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    let mut report = LoadReport::default();
    load_rules_text(
        "et.rules",
        &text,
        &LoadOptions::suricata_defaults(),
        &mut report,
    );
    let config = EngineConfig {
        prefilter: Prefilter::Reference,
        ..EngineConfig::default()
    };
    let (engine, _) = Engine::build(report.signatures, &config).unwrap();
    for (gi, group) in engine.groups().enumerate() {
        println!(
            "group {gi}: always {} dst-indexed {} src-indexed {}",
            group.always.len(),
            group.always_dst.len(),
            group.always_src.len()
        );
        for &i in group.always.iter().step_by(100) {
            let s = engine.sig(i).unwrap().signature;
            println!("    e.g. {}", s.text.chars().take(160).collect::<String>());
        }
        for db in &group.dbs {
            let mut fan: Vec<(usize, String)> = db
                .lit_sigs
                .iter()
                .zip(&db.literals)
                .map(|(s, (b, _))| (s.len(), String::from_utf8_lossy(b).into_owned()))
                .collect();
            let mut lens = [0usize; 9];
            for (b, _) in &db.literals {
                if let Some(n) = lens.get_mut(b.len().min(8)) {
                    *n += 1;
                }
            }
            println!("  {:?} literals by length (0..=8+): {lens:?}", db.buffer);
            fan.sort_by_key(|f| std::cmp::Reverse(f.0));
            fan.truncate(5);
            println!(
                "  {:?} {} literals: {:?}",
                db.buffer,
                db.literals.len(),
                fan
            );
        }
    }
}

#[test]
fn ip_only_rules_match_once_per_flow_direction() {
    let rules = r#"alert tcp 10.0.0.0/8 any -> any any (msg:"from net"; sid:1;)
alert ip any any -> [192.0.2.9,198.51.100.1] any (msg:"to host"; sid:2;)
alert tcp 172.16.0.0/12 any -> any any (msg:"other net"; sid:3;)
alert tcp any any -> any any (msg:"with content"; content:"X"; sid:4;)"#;
    let sids = both(
        rules,
        &[
            tcp(b"X", b"", TS, 1),
            tcp(b"X", b"", TS, 2),
            tcp(b"X", b"", TC, 3),
        ],
    );
    assert_eq!(sids, vec![1, 2, 4, 4, 4]);
}

/// `pkt` with its ports replaced (addresses kept).
fn with_ports(mut pkt: PacketInput<'_>, sp: u16, dp: u16) -> PacketInput<'_> {
    pkt.src = pkt.src.map(|(a, _)| (a, sp));
    pkt.dst = pkt.dst.map(|(a, _)| (a, dp));
    pkt
}

#[test]
fn port_groups_keep_every_rule_whose_header_can_match() {
    // More distinct port sets than port groups, so that groups are merged; ranges,
    // negations, bidirectional rules, flow directions and rules on every port.
    let rules = r#"alert tcp any any -> any 80 (msg:"a"; content:"X"; sid:1;)
alert tcp any any -> any 81 (msg:"b"; content:"X"; sid:2;)
alert tcp any any -> any 1000:2000 (msg:"c"; content:"X"; sid:3;)
alert tcp any any -> any !1500 (msg:"d"; content:"X"; sid:4;)
alert tcp any 445 -> any any (msg:"e"; flow:to_client; content:"X"; sid:5;)
alert tcp any 139 -> any any (msg:"f"; content:"X"; sid:6;)
alert tcp any 7000 <> any 8000 (msg:"g"; content:"X"; sid:7;)
alert tcp any any -> any any (msg:"h"; content:"X"; sid:8;)
alert tcp any any -> any 9000 (msg:"i"; flow:to_server; content:"X"; sid:9;)
alert tcp any [1,2,3,60000:] -> any [4,5,6] (msg:"j"; content:"X"; sid:10;)"#;
    let hs = engine(rules, Prefilter::Hyperscan);
    let tcp_group = hs.packet.first().expect("tcp group");
    assert!(tcp_group.ports.is_split());
    let ports = [
        0u16, 1, 3, 4, 6, 80, 81, 139, 445, 999, 1000, 1500, 2000, 2001, 7000, 8000, 9000, 60000,
        65535,
    ];
    let mut alerted = 0;
    for &sp in &ports {
        for &dp in &ports {
            for dir in [TS, TC] {
                let pkt = with_ports(tcp(b"X", b"", dir, 1), sp, dp);
                alerted += both(rules, &[pkt]).len();
                let mut no_flow = pkt;
                no_flow.flow = None;
                alerted += both(rules, &[no_flow]).len();
            }
        }
    }
    assert!(alerted > 0);
    // A few exact expectations.
    let to = |sp, dp, dir| both(rules, &[with_ports(tcp(b"X", b"", dir, 1), sp, dp)]);
    assert_eq!(to(40000, 80, TS), vec![1, 4, 8]);
    assert_eq!(to(445, 40000, TC), vec![4, 5, 8]);
    assert_eq!(to(445, 40000, TS), vec![4, 8]);
    assert_eq!(to(8000, 7000, TC), vec![4, 7, 8]);
    assert_eq!(to(2, 5, TS), vec![4, 8, 10]);
    assert_eq!(to(40000, 1500, TS), vec![3, 8]);
}

#[test]
fn ip_proto_rules_are_candidates_only_for_their_protocol() {
    let rules = r#"alert ip any any -> any any (msg:"6in4"; ip_proto:41; sid:1;)
alert ip any any -> any any (msg:"tcp"; ip_proto:6; sid:2;)
alert ip any any -> any any (msg:"not udp"; ip_proto:!17; sid:3;)"#;
    let hs = engine(rules, Prefilter::Hyperscan);
    let tcp_group = hs.packet.first().expect("tcp group");
    // Only the rules that can match a TCP packet are tried on one.
    let expected: Vec<u32> = [2, 3].iter().map(|&s| sid_index(&hs, s)).collect();
    assert_eq!(tcp_group.always, expected);
    assert_eq!(both(rules, &[tcp(b"", b"", TS, 1)]), vec![2, 3]);
    let mut tunnel = tcp(b"", b"", TS, 1);
    tunnel.ip_proto = Some(41);
    tunnel.facts.ip_proto = 41;
    tunnel.flow = None;
    assert_eq!(both(rules, &[tunnel]), vec![1, 3]);
}

/// The engine index of the rule with `sid`.
fn sid_index(engine: &Engine, sid: u32) -> u32 {
    (0..engine.len() as u32)
        .find(|&i| engine.sig(i).is_some_and(|s| s.signature.id.sid == sid))
        .expect("sid loaded")
}

/// Event and protocol conditions compare the typed values the rule loader resolved: a decode
/// event, a stream event from either session tracking or reassembly, and the flow's
/// application protocol (`http1` is `http`).
#[test]
fn typed_events_and_protocols_match() {
    use tapwatch_common::{DecodeEvent, StreamEvent};
    let rules = "alert pkthdr any any -> any any (msg:\"d\"; decode-event:ipv4.trunc_pkt; sid:1;)\n\
                 alert tcp any any -> any any (msg:\"s\"; stream-event:stream.pkt_retransmission; sid:2;)\n\
                 alert tcp any any -> any any (msg:\"a\"; app-layer-protocol:http1; sid:3;)\n\
                 alert tcp any any -> any any (msg:\"n\"; app-layer-protocol:!tls; sid:4;)\n\
                 alert tcp any any -> any any (msg:\"t\"; app-layer-protocol:tls; sid:5;)\n";
    let decode = [DecodeEvent::Ipv4TruncPkt];
    let stream = [StreamEvent::PktRetransmission];
    let mut p = tcp(b"", b"", Direction::ToServer, 1);
    p.decode_events = &decode;
    p.stream_events = &stream;
    let mut sids = both(rules, &[p]);
    sids.sort_unstable();
    assert_eq!(sids, [1, 2, 3, 4]);
    let other = [DecodeEvent::Ipv4TruncPkt, DecodeEvent::Ipv6TruncPkt];
    let mut q = tcp(b"", b"", Direction::ToServer, 1);
    q.decode_events = &other[1..];
    let mut sids = both(rules, &[q]);
    sids.sort_unstable();
    assert_eq!(sids, [3, 4]);
}

/// Runs `packets` through `det` on `engine` with `flow`; returns the sids that alerted.
fn run_on(
    engine: &Engine,
    det: &mut Detector,
    flow: &mut FlowDetect,
    packets: &[PacketInput<'_>],
) -> Vec<u32> {
    let mut alerts: Vec<Alert> = Vec::new();
    for p in packets {
        det.inspect_packet(engine, p, Some(flow), &mut alerts);
    }
    alerts
        .iter()
        .map(|a| engine.sig(a.sig).unwrap().signature.id.sid)
        .collect()
}

#[test]
fn flow_and_host_state_keep_their_meaning_across_a_reload() {
    // The running rules set flowbit `b`, count flowint `n`, set xbit `x` by source and
    // count thresholds by source and by flow.
    let before = r#"alert tcp any any -> any any (msg:"set"; content:"S"; flowbits:set,b; flowint:n,+,1; xbits:set,x,track ip_src; noalert; sid:1;)
alert tcp any any -> any any (msg:"every 3rd"; content:"T"; threshold:type threshold, track by_src, count 3, seconds 60; sid:10;)
alert tcp any any -> any any (msg:"flow limit"; content:"T"; threshold:type limit, track by_flow, count 1, seconds 60; sid:11;)"#;
    // The new rules name other variables first (so the engine's own numbering would give
    // `b`, `n` and `x` other numbers) and reorder the thresholded rules.
    let after = r#"alert tcp any any -> any any (msg:"other"; content:"O"; flowbits:set,zz; flowint:m,+,1; xbits:set,y,track ip_src; sid:5;)
alert tcp any any -> any any (msg:"new"; content:"N"; flowbits:isset,b; flowint:n,==,1; xbits:isset,x,track ip_src; sid:2;)
alert tcp any any -> any any (msg:"flow limit"; content:"T"; threshold:type limit, track by_flow, count 1, seconds 60; sid:11;)
alert tcp any any -> any any (msg:"every 3rd"; content:"T"; threshold:type threshold, track by_src, count 3, seconds 60; sid:10;)"#;
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        let old = engine(before, prefilter);
        let config = EngineConfig {
            prefilter,
            ..EngineConfig::default()
        };
        let host = std::sync::Arc::new(crate::HostState::new());
        let mut det = Detector::with_host_state(&old, std::sync::Arc::clone(&host)).unwrap();
        let mut flow = FlowDetect::default();
        let p = |payload, s| tcp(payload, b"", TS, s);
        let alerted = run_on(
            &old,
            &mut det,
            &mut flow,
            &[p(b"S", 1), p(b"T", 2), p(b"T", 3)],
        );
        assert_eq!(
            alerted,
            vec![11],
            "{prefilter:?}: the by-flow limit alerts once"
        );

        let (new, report) =
            Engine::build_after(sigs(after), &config, old.state_names()).expect("build");
        assert!(report.rejected.is_empty());
        let mut next = Detector::with_host_state(&new, host).unwrap();
        next.continue_counts_of(&det);
        // The flowbit, flowint and xbit set before the swap hold after it; the threshold
        // counted 2 matches by source before it, so the next match is the 3rd; the by-flow
        // limit was reached before it.
        let alerted = run_on(&new, &mut next, &mut flow, &[p(b"N", 4), p(b"T", 5)]);
        assert_eq!(alerted, vec![2, 10], "{prefilter:?}");
        assert_eq!(next.stats().alerts, 3, "{prefilter:?}: counts go on");
        // Built without the running engine's names, the same rules do not see the state.
        let (fresh, _) = Engine::build(sigs(after), &config).expect("build");
        let mut other = Detector::new(&fresh).unwrap();
        let alerted = run_on(&fresh, &mut other, &mut flow, &[p(b"N", 6)]);
        assert!(alerted.is_empty(), "{prefilter:?}: {alerted:?}");
    }
}

#[test]
fn alerts_are_counted_by_priority() {
    let rules = r#"alert tcp any any -> any any (msg:"a"; content:"X"; priority:1; sid:1;)
alert tcp any any -> any any (msg:"b"; content:"X"; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"X"; priority:4; sid:3;)
alert tcp any any -> any any (msg:"d"; content:"X"; priority:9; sid:4;)
alert tcp any any -> any any (msg:"e"; content:"Y"; priority:2; sid:5;)"#;
    let engine = engine(rules, Prefilter::Hyperscan);
    let mut det = Detector::new(&engine).unwrap();
    let mut flow = FlowDetect::default();
    let mut alerts = Vec::new();
    det.inspect_packet(
        &engine,
        &tcp(b"xXx", b"", TS, 1),
        Some(&mut flow),
        &mut alerts,
    );
    let stats = det.stats();
    assert_eq!(stats.alerts, 4);
    // Priority 3 is the default; 9 counts with 4 (the least severe slot).
    assert_eq!(stats.alerts_by_priority, [1, 0, 1, 2]);
    let mut sum = stats;
    sum += &stats;
    assert_eq!(sum.alerts_by_priority, [2, 0, 2, 4]);
    assert_eq!(crate::priority_slot(0), 0);
}

/// The DNS record-name multi-buffers: each name is inspected on its own (a pattern spanning
/// two names does not match), in requests and responses alike (`flow` narrows them), while
/// `dns.query` stays request-only.
#[test]
fn dns_rrname_buffers_inspect_each_name_in_both_directions() {
    let rules = r#"alert dns any any -> any any (msg:"q"; dns.queries.rrname; content:"evil.example"; sid:1;)
alert dns any any -> any any (msg:"an"; dns.answers.rrname; content:"cdn.example"; endswith; sid:2;)
alert dns any any -> any any (msg:"ns"; dns.authorities.rrname; content:"example"; startswith; sid:3;)
alert dns any any -> any any (msg:"ar"; flow:to_client; dns.additionals.rrname; content:"ns1."; startswith; sid:4;)
alert dns any any -> any any (msg:"span"; dns.queries.rrname; content:"exampleb"; sid:5;)
alert dns any any -> any any (msg:"dq"; dns.query; content:"evil.example"; sid:6;)
alert dns any any -> any any (msg:"q-ts"; flow:to_server; dns.queries.rrname; content:"evil"; sid:7;)"#;
    let mut buffers = Buffers::new();
    for (b, dir, name) in [
        (Buffer::DnsQuery, TS, &b"a.evil.example"[..]),
        (Buffer::DnsQueriesName, TS, b"a.evil.example"),
        (Buffer::DnsQuery, TS, b"b.other"),
        (Buffer::DnsQueriesName, TS, b"b.other"),
        (Buffer::DnsQueriesName, TC, b"a.evil.example"),
        (Buffer::DnsAnswerName, TC, b"a.evil.example"),
        (Buffer::DnsAnswerName, TC, b"x.cdn.example"),
        (Buffer::DnsAuthorityName, TC, b"example"),
        (Buffer::DnsAdditionalName, TC, b"ns1.example"),
        (Buffer::DnsAdditionalName, TS, b"ns1.example"),
    ] {
        buffers.push(b, dir, name);
    }
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        assert_eq!(
            tx_sids_of(AppProto::Dns, rules, prefilter, &buffers),
            vec![
                (1, TS),
                (6, TS),
                (7, TS),
                (1, TC),
                (2, TC),
                (3, TC),
                (4, TC)
            ],
            "{prefilter:?}"
        );
    }
    // One name per instance: a content at the end of one name and the start of the next
    // never matches, and a name that is only in answers is not a query name.
    let mut only = Buffers::new();
    only.push(Buffer::DnsAnswerName, TS, b"cdn.example");
    only.push(Buffer::DnsQueriesName, TS, b"example");
    only.push(Buffer::DnsQueriesName, TS, b"b.example");
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        assert_eq!(
            tx_sids_of(AppProto::Dns, rules, prefilter, &only),
            vec![(2, TS)],
            "{prefilter:?}"
        );
    }
}

/// `dns.opcode` and `dns.rcode` compare the header field of the side inspected (requests and
/// responses alike), with Suricata's integer forms at their boundaries.
#[test]
fn dns_opcode_and_rcode_compare_the_header_of_each_side() {
    let rules = r#"alert dns any any -> any any (msg:"op4"; dns.opcode:4; sid:1;)
alert dns any any -> any any (msg:"op!0"; dns.opcode:!0; sid:2;)
alert dns any any -> any any (msg:"op in"; dns.opcode:3-5; sid:3;)
alert dns any any -> any any (msg:"op out"; dns.opcode:!3-5; sid:4;)
alert dns any any -> any any (msg:"nx"; flow:to_client; dns.rcode:3; sid:5;)
alert dns any any -> any any (msg:"rc>=3"; dns.rcode:>=3; sid:6;)
alert dns any any -> any any (msg:"rc+q"; dns.rcode:<1; dns.query; content:"evil"; sid:7;)"#;
    let case = |op_ts: u8, op_tc: u8, rc_tc: u8| {
        let mut b = Buffers::new();
        b.push(Buffer::DnsQuery, TS, b"evil.example");
        b.push(Buffer::DnsOpcode, TS, &[op_ts]);
        b.push(Buffer::DnsRcode, TS, &[0]);
        b.push(Buffer::DnsOpcode, TC, &[op_tc]);
        b.push(Buffer::DnsRcode, TC, &[rc_tc]);
        let hs = tx_sids_of(AppProto::Dns, rules, Prefilter::Hyperscan, &b);
        let reference = tx_sids_of(AppProto::Dns, rules, Prefilter::Reference, &b);
        assert_eq!(hs, reference, "hyperscan and reference engines disagree");
        hs
    };
    // Opcode 4 both ways, NXDOMAIN answer.
    assert_eq!(
        case(4, 4, 3),
        vec![
            (1, TS),
            (2, TS),
            (3, TS),
            (7, TS),
            (1, TC),
            (2, TC),
            (3, TC),
            (5, TC),
            (6, TC)
        ]
    );
    // The range is exclusive: 3 and 5 are outside it; rcode 2 is below 3.
    assert_eq!(
        case(3, 5, 2),
        vec![(2, TS), (4, TS), (7, TS), (2, TC), (4, TC)]
    );
    // Opcode 0 with rcode 0 (the usual query) matches only the negations' complements.
    assert_eq!(case(0, 0, 0), vec![(4, TS), (7, TS), (4, TC)]);
}

/// Legacy `tls.fingerprint:[!]"..."`: the whole fingerprint, case-sensitive; a prefix, a
/// longer value or other case do not match; the negation matches another certificate, and
/// neither form matches a handshake without a certificate.
#[test]
fn tls_fingerprint_compares_the_whole_value_and_needs_a_certificate() {
    let fp = "ff:15:52:d1:df:5c:d0:0e:c5:69:00:31:9e:9f:24:80:4a:e6:0c:63";
    let rules = format!(
        r#"alert tls any any -> any any (msg:"eq"; tls.fingerprint:"{fp}"; sid:1;)
alert tls any any -> any any (msg:"ne"; tls.fingerprint:!"{fp}"; sid:2;)
alert tls any any -> any any (msg:"prefix"; tls.fingerprint:"ff:15:52"; sid:3;)"#
    );
    let run = |value: Option<&[u8]>| {
        let mut b = Buffers::new();
        b.push(Buffer::TlsSni, TS, b"example.com");
        if let Some(v) = value {
            b.push(Buffer::TlsCertFingerprint, TC, v);
        }
        let hs = tx_sids_of(AppProto::Tls, &rules, Prefilter::Hyperscan, &b);
        let reference = tx_sids_of(AppProto::Tls, &rules, Prefilter::Reference, &b);
        assert_eq!(hs, reference, "hyperscan and reference engines disagree");
        hs.into_iter().map(|(sid, _)| sid).collect::<Vec<u32>>()
    };
    assert_eq!(run(Some(fp.as_bytes())), vec![1]);
    assert_eq!(run(Some(fp.to_uppercase().as_bytes())), vec![2]);
    assert_eq!(run(Some(format!("{fp}:00").as_bytes())), vec![2]);
    assert_eq!(run(Some(b"ff:15:52")), vec![2, 3]);
    assert_eq!(run(None), Vec::<u32>::new());
}

/// `tls.alpn` (both directions: the client's offers, the server's choice) and
/// `tls.subjectaltname` (to the client) inspect each name on its own.
#[test]
fn tls_alpn_and_subjectaltname_inspect_each_name() {
    let rules = r#"alert tls any any -> any any (msg:"h2"; tls.alpn; content:"h2"; startswith; endswith; sid:1;)
alert tls any any -> any any (msg:"srv"; flow:to_client; tls.alpn; content:"http/1.1"; sid:2;)
alert tls any any -> any any (msg:"span"; tls.alpn; content:"h2http"; sid:3;)
alert tls any any -> any any (msg:"san"; tls.subjectaltname; content:".example.com"; endswith; sid:4;)
alert tls any any -> any any (msg:"san span"; tls.subjectaltname; content:"comwww"; sid:5;)"#;
    let mut b = Buffers::new();
    b.push(Buffer::TlsAlpn, TS, b"h2");
    b.push(Buffer::TlsAlpn, TS, b"http/1.1");
    b.push(Buffer::TlsAlpn, TC, b"http/1.1");
    b.push(Buffer::TlsSubjectAltName, TC, b"example.com");
    b.push(Buffer::TlsSubjectAltName, TC, b"www.example.com");
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        assert_eq!(
            tx_sids_of(AppProto::Tls, rules, prefilter, &b),
            vec![(1, TS), (2, TC), (4, TC)],
            "{prefilter:?}"
        );
    }
}

/// `tls.cert_chain_len` compares the server chain's length (a 4-byte value buffer) with
/// Suricata's integer forms; no match before a Certificate message was seen.
#[test]
fn tls_cert_chain_len_compares_the_server_chain_length() {
    let rules = r#"alert tls any any -> any any (msg:"eq1"; tls.cert_chain_len:1; sid:1;)
alert tls any any -> any any (msg:"lt2"; tls.cert_chain_len:<2; sid:2;)
alert tls any any -> any any (msg:"gt0"; tls.cert_chain_len:>0; sid:3;)
alert tls any any -> any any (msg:"in"; tls.cert_chain_len:0<>2; sid:4;)
alert tls any any -> any any (msg:"ne2"; tls.cert_chain_len:!2; sid:5;)"#;
    let run = |len: Option<u32>| {
        let mut b = Buffers::new();
        b.push(Buffer::TlsSni, TS, b"example.com");
        if let Some(n) = len {
            b.push(Buffer::TlsCertChainLen, TC, &n.to_be_bytes());
        }
        let hs = tx_sids_of(AppProto::Tls, rules, Prefilter::Hyperscan, &b);
        let reference = tx_sids_of(AppProto::Tls, rules, Prefilter::Reference, &b);
        assert_eq!(hs, reference, "hyperscan and reference engines disagree");
        hs.into_iter()
            .map(|(sid, dir)| {
                assert_eq!(dir, TC);
                sid
            })
            .collect::<Vec<u32>>()
    };
    assert_eq!(run(Some(0)), vec![2, 5]);
    assert_eq!(run(Some(1)), vec![1, 2, 3, 4, 5]);
    assert_eq!(run(Some(2)), vec![3]);
    assert_eq!(run(Some(70_000)), vec![3, 5]);
    assert_eq!(run(None), Vec::<u32>::new());
}

/// `tls.random*`: the client's random on the request side, the server's on the response
/// side; `startswith`/`endswith` at the parts' edges.
#[test]
fn tls_random_parts_are_inspected_per_side() {
    let rules = r#"alert tls any any -> any any (msg:"time"; tls.random_time; content:"|01 02 03 04|"; startswith; endswith; sid:1;)
alert tls any any -> any any (msg:"bytes"; tls.random_bytes; content:"|05 06|"; startswith; sid:2;)
alert tls any any -> any any (msg:"whole"; tls.random; content:"|04 05|"; sid:3;)
alert tls any any -> any any (msg:"srv"; flow:to_client; tls.random; content:"|aa aa|"; sid:4;)
alert tls any any -> any any (msg:"bytes-no-time"; tls.random_bytes; content:"|01 02|"; sid:5;)"#;
    let client: Vec<u8> = (1..=32).collect();
    let server = [0xaau8; 32];
    let mut b = Buffers::new();
    for (r, dir) in [(&client[..], TS), (&server[..], TC)] {
        b.push(Buffer::TlsRandom, dir, r);
        b.push(Buffer::TlsRandomTime, dir, &r[..4]);
        b.push(Buffer::TlsRandomBytes, dir, &r[4..]);
    }
    for prefilter in [Prefilter::Hyperscan, Prefilter::Reference] {
        assert_eq!(
            tx_sids_of(AppProto::Tls, rules, prefilter, &b),
            vec![(1, TS), (2, TS), (3, TS), (4, TC)],
            "{prefilter:?}"
        );
    }
}

mod data;
