//! Crate-level tests: whole messages, flows and EVE output.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use tapwatch_common::{Direction, Timestamp};

use crate::test_util::{cat, name, tcp_frame, Msg};
use crate::*;

const A: u16 = 1;
const NS: u16 = 2;
const CNAME: u16 = 5;
const SOA: u16 = 6;
const NULL: u16 = 10;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const SRV: u16 = 33;
const OPT: u16 = 41;
/// A pointer to the first question name, right after the header.
const PTR_Q: &[u8] = b"\xc0\x0c";

fn ts() -> Timestamp {
    Timestamp::new(1_700_000_000, 5)
}

fn cfg() -> DnsConfig {
    DnsConfig::default()
}

fn one_udp(dir: Direction, payload: &[u8]) -> Vec<DnsEvent> {
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    flow.on_udp(dir, payload, ts(), &mut out);
    out
}

fn records(events: &[DnsEvent]) -> Vec<&DnsRecord> {
    events
        .iter()
        .filter_map(|e| match e {
            DnsEvent::Message(r) => Some(&**r),
            DnsEvent::Anomaly { .. } => None,
        })
        .collect()
}

fn anomalies(events: &[DnsEvent]) -> Vec<(Option<u64>, &'static str)> {
    events
        .iter()
        .filter_map(|e| match e {
            DnsEvent::Anomaly { tx_id, event } => Some((*tx_id, event.name())),
            DnsEvent::Message(_) => None,
        })
        .collect()
}

fn eve(tx_id: u64, wire: &[u8]) -> String {
    let message = parse_message(wire, &cfg()).expect("fixture parses");
    serde_json::to_string(&DnsRecord {
        tx_id,
        message,
        ts: ts(),
    })
    .unwrap()
}

/// A response with every section: CNAME + A answers, NS authority, A and OPT additionals.
fn full_response() -> Vec<u8> {
    Msg::new(0xbeef, 0x8180)
        .question("www.example.com", A)
        .record_raw(1, PTR_Q, CNAME, 1, 300, &cat(&[b"\x03web", PTR_Q]))
        .record(1, "web.www.example.com", A, 60, &[192, 0, 2, 7])
        .record(2, "example.com", NS, 3600, &name("ns1.example.com"))
        .record(3, "ns1.example.com", A, 3600, &[192, 0, 2, 53])
        .record_raw(3, b"\x00", OPT, 1232, 0, b"")
        .build()
}

// ---- messages ------------------------------------------------------------------------

#[test]
fn parses_every_section() {
    let m = parse_message(&full_response(), &cfg()).unwrap();
    assert_eq!(
        (m.id, m.flags, m.response, m.opcode, m.rcode),
        (0xbeef, 0x8180, true, 0, 0)
    );
    assert_eq!(
        m.queries,
        [Question {
            name: b"www.example.com".to_vec(),
            rrtype: A,
            rrclass: 1
        }]
    );
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.answers[0].name, b"www.example.com");
    assert_eq!(
        m.answers[0].data,
        RData::Cname(b"web.www.example.com".to_vec())
    );
    assert_eq!(m.answers[1].data, RData::A(Ipv4Addr::new(192, 0, 2, 7)));
    assert_eq!(
        m.authorities[0].data,
        RData::Ns(b"ns1.example.com".to_vec())
    );
    assert_eq!(m.additionals.len(), 2);
    assert_eq!(
        (m.additionals[1].rrclass, m.additionals[1].data.clone()),
        (1232, RData::Opt(vec![]))
    );
}

#[test]
fn truncation_at_every_byte_never_panics_and_fails_or_drops_sections() {
    let full = full_response();
    let m = parse_message(&full, &cfg()).unwrap();
    // Where the authority section starts: header + question + two answers.
    let q_len = name("www.example.com").len() + 4;
    let ans_len = (2 + 10 + 6) + (name("web.www.example.com").len() + 10 + 4);
    let auth_start = 12 + q_len + ans_len;
    for cut in 0..full.len() {
        let mut an = crate::anomaly::AnomalySet::default();
        let r = crate::message::parse_message_with_anomalies(&full[..cut], &cfg(), &mut an);
        if cut < auth_start {
            let err = r.expect_err("cut in header, questions or answers");
            assert!(err.offset() <= cut, "cut {cut}: {err:?}");
            assert!(
                matches!(err, DnsError::Truncated { .. }),
                "cut {cut}: {err:?}"
            );
        } else {
            let got = r.expect("later sections are dropped, not fatal");
            assert_eq!(got.answers, m.answers, "cut {cut}");
            assert!(got.additionals.is_empty(), "cut {cut}");
            assert!(
                an.contains(DnsAnomaly::InvalidAuthorities)
                    || an.contains(DnsAnomaly::InvalidAdditionals)
            );
        }
    }
    assert_eq!(
        parse_message(&full[..11], &cfg()),
        Err(DnsError::Truncated { offset: 10 })
    );
}

#[test]
fn invalid_additionals_are_dropped_and_reported() {
    // An OPT option claiming 3 bytes followed by 8 that do not form an option.
    let msg = Msg::new(42040, 0x0010)
        .question("fg2.weberlab.de", AAAA)
        .record_raw(
            3,
            b"\x00",
            OPT,
            4096,
            0x8000,
            &hex("0008000300023800200104701f0b16"),
        )
        .build();
    let events = one_udp(Direction::ToServer, &msg);
    assert_eq!(anomalies(&events), [(Some(0), "invalid_additionals")]);
    assert_eq!(
        serde_json::to_string(records(&events)[0]).unwrap(),
        r#"{"version":3,"type":"request","tx_id":0,"id":42040,"flags":"10","opcode":0,"rcode":"NOERROR","queries":[{"rrname":"fg2.weberlab.de","rrtype":"AAAA"}]}"#
    );
}

#[test]
fn invalid_authorities_drop_additionals_too() {
    let msg = Msg::new(1, 0x8180)
        .question("a", A)
        .record(2, "a", NS, 1, b"\x05short")
        .record(3, "a", A, 1, &[1, 2, 3, 4])
        .build();
    let events = one_udp(Direction::ToClient, &msg);
    assert_eq!(anomalies(&events), [(Some(0), "invalid_authorities")]);
    let m = &records(&events)[0].message;
    assert!(m.authorities.is_empty() && m.additionals.is_empty());
}

#[test]
fn bad_answer_data_is_malformed() {
    let msg = Msg::new(1, 0x8180)
        .question("a", A)
        .record(1, "a", CNAME, 1, b"\x05short")
        .build();
    assert_eq!(
        parse_message(&msg, &cfg()),
        Err(DnsError::BadRdata { offset: 32 })
    );
    assert_eq!(
        anomalies(&one_udp(Direction::ToClient, &msg)),
        [(Some(0), "malformed_data")]
    );
}

#[test]
fn record_limits_keep_the_first_records() {
    let mut b = Msg::new(1, 0x8180).question("a", A);
    for i in 0..5u8 {
        b = b.record(1, "a", A, 1, &[10, 0, 0, i]);
    }
    let small = DnsConfig {
        max_answers: 2,
        ..cfg()
    };
    let m = parse_message(&b.build(), &small).unwrap();
    assert_eq!(m.answers.len(), 2);
    assert_eq!(m.answers[1].data, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
}

#[test]
fn forward_pointer_and_loop_in_question() {
    // The question name is a forward pointer to offset 30, the answer's data ("x").
    let fwd = cat(&[
        b"\x00\x01\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00",
        b"\xc0\x1e\x00\x10\x00\x01", // 12: question
        b"\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x01\x00\x04", // 18: TXT answer
        b"\x01x\x00\x00",            // 30: its data
    ]);
    let m = parse_message(&fwd, &cfg()).unwrap();
    assert_eq!(m.queries[0].name, b"x");
    assert_eq!(m.answers[0].name, b"x");
    assert_eq!(
        m.answers[0].data,
        RData::Txt(vec![b"x".to_vec(), vec![], vec![]])
    );
    // A question whose name points at itself: cut, reported, message still parsed.
    let looped = cat(&[
        b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00",
        b"\xc0\x0c\x00\x01\x00\x01",
    ]);
    let events = one_udp(Direction::ToServer, &looped);
    assert_eq!(anomalies(&events), [(Some(0), "infinite_loop")]);
    assert_eq!(records(&events)[0].message.queries[0].name, b"");
}

#[test]
fn overlong_name_is_cut_and_flagged_in_eve() {
    // A label of 63 bytes followed by a pointer back to itself.
    let mut q = vec![63u8];
    q.extend_from_slice(&[b'a'; 63]);
    q.extend_from_slice(b"\xc0\x0c");
    let msg = Msg::new(7, 0x0100).question_raw(&q, A).build();
    let events = one_udp(Direction::ToServer, &msg);
    assert_eq!(
        anomalies(&events),
        [(Some(0), "name_too_long"), (Some(0), "infinite_loop")]
    );
    let rec = records(&events)[0];
    assert_eq!(rec.message.queries[0].name.len(), 1025);
    let v: serde_json::Value = serde_json::to_value(rec).unwrap();
    assert_eq!(v["queries"][0]["rrname_truncated"], true);
}

// ---- flows ---------------------------------------------------------------------------

fn query(id: u16) -> Vec<u8> {
    Msg::new(id, 0x0100).question("example.org", A).build()
}

fn answer(id: u16) -> Vec<u8> {
    Msg::new(id, 0x8180)
        .question("example.org", A)
        .record_raw(1, PTR_Q, A, 1, 60, &[198, 51, 100, 1])
        .build()
}

#[test]
fn udp_transactions_are_numbered_per_message() {
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    flow.on_udp(Direction::ToServer, &query(10), ts(), &mut out);
    flow.on_udp(Direction::ToServer, &query(11), ts(), &mut out);
    assert_eq!(flow.unanswered_requests(), 2);
    flow.on_udp(Direction::ToClient, &answer(11), ts(), &mut out);
    assert_eq!(flow.unanswered_requests(), 1);
    flow.on_udp(Direction::ToClient, &answer(10), ts(), &mut out);
    assert_eq!(flow.unanswered_requests(), 0);
    let got: Vec<(u64, u16, bool)> = records(&out)
        .iter()
        .map(|r| (r.tx_id, r.message.id, r.message.response))
        .collect();
    assert_eq!(
        got,
        [(0, 10, false), (1, 11, false), (2, 11, true), (3, 10, true)]
    );
    assert!(anomalies(&out).is_empty());
    assert_eq!(flow.next_tx_id(), 4);
}

#[test]
fn pending_requests_are_bounded() {
    let mut flow = DnsFlow::new(&DnsConfig {
        max_pending_tx: 2,
        ..cfg()
    });
    let mut out = Vec::new();
    for id in 0..5 {
        flow.on_udp(Direction::ToServer, &query(id), ts(), &mut out);
    }
    assert_eq!(flow.unanswered_requests(), 2);
    flow.on_udp(Direction::ToClient, &answer(0), ts(), &mut out); // forgotten: no match
    assert_eq!(flow.unanswered_requests(), 2);
    flow.on_udp(Direction::ToClient, &answer(4), ts(), &mut out);
    assert_eq!(flow.unanswered_requests(), 1);
}

#[test]
fn direction_and_header_anomalies() {
    let events = one_udp(Direction::ToServer, &answer(1));
    assert_eq!(anomalies(&events), [(Some(0), "not_request")]);
    let events = one_udp(Direction::ToClient, &query(1));
    assert_eq!(anomalies(&events), [(Some(0), "not_response")]);
    let z_and_opcode = Msg::new(1, 0x4940).question("x", A).build();
    let events = one_udp(Direction::ToServer, &z_and_opcode);
    assert_eq!(
        anomalies(&events),
        [(Some(0), "z_flag_set"), (Some(0), "invalid_opcode")]
    );
    assert_eq!(records(&events)[0].message.opcode, 9);
}

#[test]
fn malformed_message_uses_a_transaction() {
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    flow.on_udp(
        Direction::ToServer,
        b"\x00\x01\x01\x00\x00\x01",
        ts(),
        &mut out,
    );
    flow.on_udp(Direction::ToServer, &query(2), ts(), &mut out);
    assert_eq!(anomalies(&out), [(Some(0), "malformed_data")]);
    assert_eq!(records(&out)[0].tx_id, 1);
}

fn two_frames() -> Vec<u8> {
    cat(&[&tcp_frame(&query(1)), &tcp_frame(&query(2))])
}

fn tcp_ids(out: &[DnsEvent]) -> Vec<(u64, u16)> {
    records(out)
        .iter()
        .map(|r| (r.tx_id, r.message.id))
        .collect()
}

#[test]
fn tcp_two_messages_in_one_segment() {
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    flow.on_tcp_data(Direction::ToServer, &two_frames(), ts(), &mut out);
    assert_eq!(tcp_ids(&out), [(0, 1), (1, 2)]);
    assert!(anomalies(&out).is_empty());
}

#[test]
fn tcp_split_at_every_byte() {
    let data = two_frames();
    for split in 0..=data.len() {
        let mut flow = DnsFlow::new(&cfg());
        let mut out = Vec::new();
        flow.on_tcp_data(Direction::ToServer, &data[..split], ts(), &mut out);
        flow.on_tcp_data(Direction::ToServer, &data[split..], ts(), &mut out);
        assert_eq!(tcp_ids(&out), [(0, 1), (1, 2)], "split {split}");
    }
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    for b in &data {
        flow.on_tcp_data(Direction::ToServer, std::slice::from_ref(b), ts(), &mut out);
    }
    assert_eq!(tcp_ids(&out), [(0, 1), (1, 2)]);
}

#[test]
fn tcp_directions_are_framed_separately() {
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    let q = tcp_frame(&query(5));
    let a = tcp_frame(&answer(5));
    flow.on_tcp_data(Direction::ToServer, &q[..3], ts(), &mut out);
    flow.on_tcp_data(Direction::ToClient, &a[..7], ts(), &mut out);
    flow.on_tcp_data(Direction::ToServer, &q[3..], ts(), &mut out);
    flow.on_tcp_data(Direction::ToClient, &a[7..], ts(), &mut out);
    let got: Vec<(u64, bool)> = records(&out)
        .iter()
        .map(|r| (r.tx_id, r.message.response))
        .collect();
    assert_eq!(got, [(0, false), (1, true)]);
}

#[test]
fn tcp_gap_inside_a_frame_keeps_framing() {
    let data = two_frames();
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    flow.on_tcp_data(Direction::ToServer, &data[..5], ts(), &mut out);
    flow.on_tcp_gap(Direction::ToServer, 10, &mut out);
    flow.on_tcp_data(Direction::ToServer, &data[15..], ts(), &mut out);
    assert_eq!(tcp_ids(&out), [(0, 2)]);
}

#[test]
fn tcp_gap_at_a_boundary_resyncs_on_dns() {
    let mut flow = DnsFlow::new(&cfg());
    let mut out = Vec::new();
    flow.on_tcp_gap(Direction::ToServer, 30, &mut out);
    flow.on_tcp_data(
        Direction::ToServer,
        b"\x00garbage that is not a frame",
        ts(),
        &mut out,
    );
    assert!(out.is_empty());
    flow.on_tcp_data(Direction::ToServer, &two_frames(), ts(), &mut out);
    assert_eq!(tcp_ids(&out), [(0, 1), (1, 2)]);
}

#[test]
fn tcp_oversized_frame_is_skipped() {
    let small = DnsConfig {
        max_tcp_message: 20,
        ..cfg()
    };
    let mut flow = DnsFlow::new(&small);
    let mut out = Vec::new();
    let big = tcp_frame(&[0u8; 40]);
    let ok = tcp_frame(b"\x00\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00");
    let data = cat(&[&big, &ok]);
    flow.on_tcp_data(Direction::ToServer, &data[..1], ts(), &mut out);
    flow.on_tcp_data(Direction::ToServer, &data[1..30], ts(), &mut out);
    flow.on_tcp_data(Direction::ToServer, &data[30..], ts(), &mut out);
    assert_eq!(anomalies(&out), [(None, "malformed_data")]);
    assert_eq!(tcp_ids(&out), [(0, 9)]);
}

// ---- EVE output against real Suricata 8.0.6 records -----------------------------------

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn soa_rdata(mname: &str, rname: &str, nums: [u32; 5]) -> Vec<u8> {
    let mut v = cat(&[&name(mname), &name(rname)]);
    for n in nums {
        v.extend_from_slice(&n.to_be_bytes());
    }
    v
}

#[test]
fn eve_request() {
    let wire = Msg::new(35636, 0x0100)
        .question("www.nostarch.com", A)
        .build();
    assert_eq!(
        eve(0, &wire),
        r#"{"version":3,"type":"request","tx_id":0,"id":35636,"flags":"100","rd":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"www.nostarch.com","rrtype":"A"}]}"#
    );
}

#[test]
fn eve_cname_chain() {
    let wire = Msg::new(15687, 0x8180)
        .question("log.go.com", A)
        .record_raw(
            1,
            PTR_Q,
            CNAME,
            1,
            362,
            &cat(&[b"\x03log\x03wip", b"\xc0\x10"]),
        )
        .record_raw(1, &hex("c028"), A, 1, 30, &[68, 71, 209, 72])
        .build();
    assert_eq!(
        eve(1, &wire),
        r#"{"version":3,"type":"response","tx_id":1,"id":15687,"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"log.go.com","rrtype":"A"}],"answers":[{"rrname":"log.go.com","rrtype":"CNAME","ttl":362,"rdata":"log.wip.go.com"},{"rrname":"log.wip.go.com","rrtype":"A","ttl":30,"rdata":"68.71.209.72"}],"grouped":{"CNAME":["log.wip.go.com"],"A":["68.71.209.72"]}}"#
    );
}

#[test]
fn eve_nxdomain_with_soa_authority() {
    let wire = Msg::new(62015, 0x8183)
        .question("12498283719301382971974.net", A)
        .record_raw(
            2,
            b"\xc0\x24",
            SOA,
            1,
            899,
            &soa_rdata(
                "a.gtld-servers.net",
                "nstld.verisign-grs.com",
                [1490970238, 1800, 900, 604800, 86400],
            ),
        )
        .build();
    assert_eq!(
        eve(1, &wire),
        r#"{"version":3,"type":"response","tx_id":1,"id":62015,"flags":"8183","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NXDOMAIN","queries":[{"rrname":"12498283719301382971974.net","rrtype":"A"}],"authorities":[{"rrname":"net","rrtype":"SOA","ttl":899,"soa":{"mname":"a.gtld-servers.net","rname":"nstld.verisign-grs.com","serial":1490970238,"refresh":1800,"retry":900,"expire":604800,"minimum":86400}}]}"#
    );
}

#[test]
fn eve_srv_with_additional() {
    let target = name("snicklefritz.picklesworth.local");
    let wire = Msg::new(47385, 0x8580)
        .question("_ldap._tcp.pdc._msdcs.picklesworth.local", SRV)
        .record_raw(
            1,
            PTR_Q,
            SRV,
            1,
            600,
            &cat(&[&[0, 0, 0, 100, 1, 133], &target]),
        )
        .record(
            3,
            "snicklefritz.picklesworth.local",
            A,
            3600,
            &[192, 168, 1, 62],
        )
        .build();
    assert_eq!(
        eve(1, &wire),
        r#"{"version":3,"type":"response","tx_id":1,"id":47385,"flags":"8580","qr":true,"aa":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"_ldap._tcp.pdc._msdcs.picklesworth.local","rrtype":"SRV"}],"answers":[{"rrname":"_ldap._tcp.pdc._msdcs.picklesworth.local","rrtype":"SRV","ttl":600,"srv":{"priority":0,"weight":100,"port":389,"name":"snicklefritz.picklesworth.local"}}],"grouped":{"SRV":[{"priority":0,"weight":100,"port":389,"name":"snicklefritz.picklesworth.local"}]},"additionals":[{"rrname":"snicklefritz.picklesworth.local","rrtype":"A","ttl":3600,"rdata":"192.168.1.62"}]}"#
    );
}

#[test]
fn eve_null_with_non_utf8_bytes() {
    let wire = Msg::new(4784, 0x8400)
        .question("vaaaakardli.pirate.sea", NULL)
        .record_raw(1, PTR_Q, NULL, 1, 0, b"VACKD\x03\xc5\xe9\x01")
        .build();
    assert_eq!(
        eve(1, &wire),
        r#"{"version":3,"type":"response","tx_id":1,"id":4784,"flags":"8400","qr":true,"aa":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"vaaaakardli.pirate.sea","rrtype":"NULL"}],"answers":[{"rrname":"vaaaakardli.pirate.sea","rrtype":"NULL","ttl":0,"rdata":"VACKD\u0003\\xc5\\xe9\u0001"}],"grouped":{"NULL":["VACKD\u0003\\xc5\\xe9\u0001"]}}"#
    );
}

#[test]
fn eve_aaaa() {
    let wire = Msg::new(36076, 0x8180)
        .question("erfpop.de", AAAA)
        .record_raw(
            1,
            PTR_Q,
            AAAA,
            1,
            300,
            &hex("26064700003000000000000068186291"),
        )
        .record_raw(
            1,
            PTR_Q,
            AAAA,
            1,
            300,
            &hex("26064700003000000000000068186391"),
        )
        .build();
    assert_eq!(
        eve(1, &wire),
        r#"{"version":3,"type":"response","tx_id":1,"id":36076,"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"erfpop.de","rrtype":"AAAA"}],"answers":[{"rrname":"erfpop.de","rrtype":"AAAA","ttl":300,"rdata":"2606:4700:0030:0000:0000:0000:6818:6291"},{"rrname":"erfpop.de","rrtype":"AAAA","ttl":300,"rdata":"2606:4700:0030:0000:0000:0000:6818:6391"}],"grouped":{"AAAA":["2606:4700:0030:0000:0000:0000:6818:6291","2606:4700:0030:0000:0000:0000:6818:6391"]}}"#
    );
}

#[test]
fn eve_edns_request() {
    let wire = Msg::new(42561, 0x0000)
        .question("ns1.weberdns.de", A)
        .record_raw(
            3,
            b"\x00",
            OPT,
            4096,
            0x8000,
            &hex("0008000700012000d53d1d"),
        )
        .build();
    assert_eq!(
        eve(0, &wire),
        r#"{"version":3,"type":"request","tx_id":0,"id":42561,"flags":"0","opcode":0,"rcode":"NOERROR","queries":[{"rrname":"ns1.weberdns.de","rrtype":"A"}],"additionals":[{"rrname":"","rrtype":"OPT","ttl":32768,"opt":[{"code":8,"data":"00012000d53d1d"}]}]}"#
    );
}

#[test]
fn eve_z_flag_request_with_anomaly() {
    let wire = Msg::new(0, 0x0040)
        .question("nessus.example.com", TXT)
        .build();
    let events = one_udp(Direction::ToServer, &wire);
    assert_eq!(anomalies(&events), [(Some(0), "z_flag_set")]);
    assert_eq!(
        serde_json::to_string(records(&events)[0]).unwrap(),
        r#"{"version":3,"type":"request","tx_id":0,"id":0,"flags":"40","z":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"nessus.example.com","rrtype":"TXT"}]}"#
    );
}

#[test]
fn eve_unnamed_rcode_and_rrtype_and_multi_string_txt() {
    let wire = Msg::new(0, 0x800f)
        .question("", 257)
        .record_raw(1, b"\x00", TXT, 1, 5, b"\x02ab\x01c")
        .record_raw(1, b"\x00", 46, 1, 5, b"\x01\x02")
        .build();
    assert_eq!(
        eve(3, &wire),
        r#"{"version":3,"type":"response","tx_id":3,"id":0,"flags":"800f","qr":true,"opcode":0,"rcode":"15","queries":[{"rrname":"","rrtype":"257"}],"answers":[{"rrname":"","rrtype":"TXT","ttl":5,"rdata":"ab"},{"rrname":"","rrtype":"TXT","ttl":5,"rdata":"c"},{"rrname":"","rrtype":"RRSIG","ttl":5}],"grouped":{"TXT":["ab","c"]}}"#
    );
}

#[test]
fn eve_dynamic_update_with_empty_rdata() {
    let owner = name("Chip_Douglas-PC.picklesworth.local");
    let wire = Msg::new(46095, 0x2800)
        .question("picklesworth.local", SOA)
        .record_raw(1, &owner, CNAME, 254, 0, b"")
        .record_raw(2, &owner, AAAA, 255, 0, b"")
        .record_raw(2, &owner, A, 255, 0, b"")
        .record_raw(2, &owner, A, 1, 1200, &[192, 168, 1, 46])
        .record_raw(3, b"\x00", OPT, 512, 0, b"")
        .build();
    assert_eq!(
        eve(0, &wire),
        r#"{"version":3,"type":"request","tx_id":0,"id":46095,"flags":"2800","opcode":5,"rcode":"NOERROR","queries":[{"rrname":"picklesworth.local","rrtype":"SOA"}],"answers":[{"rrname":"Chip_Douglas-PC.picklesworth.local","rrtype":"CNAME","ttl":0,"rdata":""}],"grouped":{"CNAME":[""]},"authorities":[{"rrname":"Chip_Douglas-PC.picklesworth.local","rrtype":"AAAA","ttl":0,"rdata":""},{"rrname":"Chip_Douglas-PC.picklesworth.local","rrtype":"A","ttl":0,"rdata":""},{"rrname":"Chip_Douglas-PC.picklesworth.local","rrtype":"A","ttl":1200,"rdata":"192.168.1.46"}]}"#
    );
}

// ---- robustness ----------------------------------------------------------------------

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let c = cfg();
        if let Ok(m) = parse_message(&data, &c) {
            let _ = serde_json::to_string(&DnsRecord { tx_id: 0, message: m, ts: ts() }).unwrap();
        }
        let _ = probe_udp(Direction::ToServer, &data);
        let _ = probe_tcp(Direction::ToClient, &data);
        let mut flow = DnsFlow::new(&c);
        let mut out = Vec::new();
        flow.on_udp(Direction::ToClient, &data, ts(), &mut out);
    }

    #[test]
    fn arbitrary_tcp_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..12),
        gaps in proptest::collection::vec(0u64..100, 0..12),
        limit in 0usize..200,
    ) {
        let c = DnsConfig { max_tcp_message: limit, max_answers: 3, max_name_len: 40, max_pending_tx: 2 };
        let mut flow = DnsFlow::new(&c);
        let mut out = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let dir = if i % 3 == 0 { Direction::ToClient } else { Direction::ToServer };
            flow.on_tcp_data(dir, chunk, ts(), &mut out);
            if let Some(&g) = gaps.get(i) {
                if g % 4 == 0 {
                    flow.on_tcp_gap(dir, g, &mut out);
                }
            }
        }
        prop_assert!(flow.unanswered_requests() <= 2);
        for e in &out {
            if let DnsEvent::Message(r) = e {
                prop_assert!(r.message.answers.len() <= 3);
                prop_assert!(r.message.queries.iter().all(|q| q.name.len() <= 40));
                let _ = serde_json::to_string(&**r).unwrap();
            }
        }
    }

    #[test]
    fn mutated_valid_messages_never_panic(pos in 0usize..120, byte in any::<u8>()) {
        let mut msg = full_response();
        let at = pos % msg.len();
        if let Some(b) = msg.get_mut(at) {
            *b = byte;
        }
        if let Ok(m) = parse_message(&msg, &cfg()) {
            let _ = serde_json::to_string(&DnsRecord { tx_id: 0, message: m, ts: ts() }).unwrap();
        }
    }
}

// ---- mDNS ----------------------------------------------------------------------------

const PTR: u16 = 12;

fn mdns_eve(wire: &[u8]) -> String {
    let mut flow = DnsFlow::new_mdns(&cfg());
    let mut out = Vec::new();
    flow.on_udp(Direction::ToServer, wire, ts(), &mut out);
    let rec = records(&out)[0].clone();
    serde_json::to_string(&MdnsRecord(rec)).unwrap()
}

#[test]
fn mdns_ptr_queries() {
    // Three PTR questions, as macOS sends them (suricata-verify's `mdns` case shows the same).
    let wire = Msg::new(0, 0)
        .question("_apple-mobdev._tcp.local", PTR)
        .question_raw(&name("92e80812._sub._apple-mobdev2._tcp.local"), PTR)
        .question("_apple-pairable._tcp.local", PTR)
        .build();
    assert_eq!(
        mdns_eve(&wire),
        r#"{"type":"request","id":0,"queries":[{"rrname":"_apple-mobdev._tcp.local","rrtype":"ptr"},{"rrname":"92e80812._sub._apple-mobdev2._tcp.local","rrtype":"ptr"},{"rrname":"_apple-pairable._tcp.local","rrtype":"ptr"}]}"#
    );
}

#[test]
fn mdns_dns_sd_response() {
    let instance = "John\u{2019}s iMac._device-info._tcp.local";
    let target = name("host.local");
    let wire = Msg::new(0, 0x8400)
        .record(1, instance, TXT, 4500, b"\x0emodel=iMac17,1\x0aosxvers=17")
        .record(
            1,
            "_companion-link._tcp.local",
            PTR,
            4500,
            &name("John\u{2019}s iMac._companion-link._tcp.local"),
        )
        .record(2, "host.local", A, 120, &[10, 0, 0, 9])
        .record(
            3,
            "x._tcp.local",
            SRV,
            120,
            &cat(&[&[0, 0, 0, 0, 0x1b, 0x58], &target]),
        )
        .record(3, "host.local", A, 120, &[10, 0, 0, 9])
        .record_raw(3, b"\x00", OPT, 1440, 0, b"\x00\x04\x00\x02\xaa\xbb")
        .build();
    assert_eq!(
        mdns_eve(&wire),
        concat!(
            r#"{"type":"response","id":0,"flags":["aa"],"#,
            r#""answers":[{"rrname":"John’s iMac._device-info._tcp.local","txt":["model=iMac17,1","osxvers=17"]},"#,
            r#"{"rrname":"_companion-link._tcp.local","ptr":"John’s iMac._companion-link._tcp.local"}],"#,
            r#""authorities":[{"rrname":"host.local"}],"#,
            r#""additionals":[{"rrname":"x._tcp.local"},{"rrname":"host.local"}]}"#
        )
    );
}

#[test]
fn mdns_header_fields_and_no_direction_anomalies() {
    // Opcode 2, rcode 5 and the AD/CD bits; a response travelling to port 5353.
    let wire = Msg::new(9, 0x8000 | (2 << 11) | 0x0030 | 5)
        .question("a.local", 255)
        .build();
    assert_eq!(
        mdns_eve(&wire),
        r#"{"type":"response","id":9,"flags":["ad","cd"],"opcode":2,"rcode":5,"queries":[{"rrname":"a.local","rrtype":"any"}]}"#
    );
    let mut flow = DnsFlow::new_mdns(&cfg());
    let mut out = Vec::new();
    flow.on_udp(Direction::ToServer, &answer(1), ts(), &mut out);
    flow.on_udp(Direction::ToClient, &query(2), ts(), &mut out);
    assert!(anomalies(&out).is_empty(), "{out:?}");
    assert_eq!(records(&out).len(), 2);
    // The same messages on a unicast DNS flow are anomalies.
    assert_eq!(
        anomalies(&one_udp(Direction::ToServer, &answer(1))),
        [(Some(0), "not_request")]
    );
}
