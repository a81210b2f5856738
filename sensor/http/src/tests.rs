//! End-to-end tests: whole conversations through [`HttpParser`].

use std::io::Write;

use proptest::prelude::*;
use tapwatch_common::{Direction, Timestamp};

use crate::{HttpAnomaly, HttpConfig, HttpEvent, HttpParser, HttpTransaction};

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

fn ts() -> Timestamp {
    Timestamp::new(1_700_000_000, 5)
}

/// Feeds each segment whole, then finishes.
fn run_with(cfg: &HttpConfig, segments: &[(Direction, &[u8])]) -> Vec<HttpEvent> {
    let mut p = HttpParser::new(cfg);
    let mut out = Vec::new();
    for (dir, data) in segments {
        p.on_data(*dir, data, ts(), &mut out);
    }
    p.finish(ts(), &mut out);
    out
}

fn run(segments: &[(Direction, &[u8])]) -> Vec<HttpEvent> {
    run_with(&HttpConfig::default(), segments)
}

fn txs(events: &[HttpEvent]) -> Vec<HttpTransaction> {
    events
        .iter()
        .filter_map(|e| match e {
            HttpEvent::TransactionComplete(t) => Some((**t).clone()),
            _ => None,
        })
        .collect()
}

fn anomalies(events: &[HttpEvent]) -> Vec<(Option<u64>, &'static str)> {
    events
        .iter()
        .filter_map(|e| match e {
            HttpEvent::Anomaly { tx_id, event } => Some((*tx_id, event.name())),
            _ => None,
        })
        .collect()
}

fn json(tx: &HttpTransaction) -> String {
    serde_json::to_string(tx).unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn simple_exchange_fields_and_event_order() {
    let ev = run(&[
        (C, b"GET /a/./b%41?q=1 HTTP/1.1\r\nHost: Example.COM\r\nUser-Agent: t/1\r\nCookie: c=1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=x\r\nContent-Length: 5\r\n\r\nhello"),
    ]);
    assert_eq!(ev.len(), 4);
    assert_eq!(ev[0], HttpEvent::RequestHeaders(0));
    assert_eq!(ev[1], HttpEvent::RequestComplete(0));
    assert_eq!(ev[2], HttpEvent::ResponseHeaders(0));
    let t = txs(&ev).remove(0);
    assert!(!t.incomplete);
    let req = t.request.as_ref().unwrap();
    assert_eq!(req.method, b"GET");
    assert_eq!(req.uri_raw, b"/a/./b%41?q=1");
    assert_eq!(req.uri_normalized, b"/a/bA?q=1");
    assert_eq!(req.protocol, b"HTTP/1.1");
    assert_eq!(req.hostname.as_deref(), Some(&b"example.com"[..]));
    assert_eq!(req.cookie(), Some(&b"c=1"[..]));
    assert_eq!(req.ts, ts());
    let resp = t.response.as_ref().unwrap();
    assert_eq!(
        (resp.status, resp.reason.as_slice()),
        (Some(200), &b"OK"[..])
    );
    assert_eq!((resp.body.as_slice(), resp.body_len), (&b"hello"[..], 5));
    assert_eq!(
        json(&t),
        r#"{"hostname":"example.com","url":"/a/./b%41?q=1","http_user_agent":"t/1","http_content_type":"text/plain","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":5}"#
    );
}

/// A conversation exercising pipelining, chunking, gzip, 100-continue and HEAD.
fn sample_conversation() -> Vec<(Direction, Vec<u8>)> {
    let z = gzip(b"<html>compressed page</html>");
    let mut gz_resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        z.len()
    )
    .into_bytes();
    gz_resp.extend_from_slice(&z);
    vec![
        (C, b"GET /one HTTP/1.1\r\nHost: h\r\n\r\nHEAD /two HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()),
        (S, gz_resp),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec()),
        (C, b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec()),
        (S, b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()),
        (C, b"3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n".to_vec()),
        (
            S,
            b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nLocation: /up/1\r\n\r\n4\r\nok!!\r\n0\r\n\r\n".to_vec(),
        ),
        (C, b"GET /last HTTP/1.0\n\n".to_vec()),
        (S, b"HTTP/1.0 200 OK\nContent-Type: text/plain\n\nuntil close".to_vec()),
    ]
}

fn run_segments(
    segments: &[(Direction, Vec<u8>)],
    split: Option<(usize, usize)>,
) -> Vec<HttpEvent> {
    let mut p = HttpParser::new(&HttpConfig::default());
    let mut out = Vec::new();
    for (i, (dir, data)) in segments.iter().enumerate() {
        match split {
            Some((seg, at)) if seg == i => {
                let (a, b) = data.split_at(at);
                p.on_data(*dir, a, ts(), &mut out);
                p.on_data(*dir, b, ts(), &mut out);
            }
            Some((usize::MAX, _)) => {
                for byte in data.chunks(1) {
                    p.on_data(*dir, byte, ts(), &mut out);
                }
            }
            _ => p.on_data(*dir, data, ts(), &mut out),
        }
    }
    p.finish(ts(), &mut out);
    out
}

#[test]
fn sample_conversation_transactions() {
    let ev = run_segments(&sample_conversation(), None);
    let t = txs(&ev);
    assert_eq!(t.len(), 4);
    assert!(t.iter().all(|t| !t.incomplete));
    assert_eq!(
        t[0].response.as_ref().unwrap().body,
        b"<html>compressed page</html>"
    );
    assert_eq!(t[1].request.as_ref().unwrap().method, b"HEAD");
    assert_eq!(t[1].response.as_ref().unwrap().body_len, 0);
    let post = &t[2];
    let req = post.request.as_ref().unwrap();
    assert_eq!((req.body.as_slice(), req.body_len), (&b"abcde"[..], 5));
    assert_eq!(req.header("t"), Some(&b"v"[..]));
    let resp = post.response.as_ref().unwrap();
    assert_eq!(
        (resp.status, resp.body.as_slice(), resp.body_len),
        (Some(201), &b"ok!!"[..], 12)
    );
    assert_eq!(
        json(post),
        r#"{"hostname":"h","url":"/up","http_method":"POST","protocol":"HTTP/1.1","status":201,"redirect":"/up/1","length":12}"#
    );
    let last = t[3].response.as_ref().unwrap();
    assert_eq!(
        (last.body.as_slice(), last.body_len),
        (&b"until close"[..], 11)
    );
    assert_eq!(anomalies(&ev), vec![(Some(2), "REQUEST_CHUNK_EXTENSION")]);
}

#[test]
fn every_chunking_gives_identical_events() {
    let conv = sample_conversation();
    let reference = run_segments(&conv, None);
    for (i, (_, data)) in conv.iter().enumerate() {
        for at in 0..=data.len() {
            assert_eq!(
                run_segments(&conv, Some((i, at))),
                reference,
                "segment {i} split at {at}"
            );
        }
    }
    assert_eq!(
        run_segments(&conv, Some((usize::MAX, 0))),
        reference,
        "byte at a time"
    );
}

#[test]
fn pipelined_requests_pair_in_order() {
    let ev = run(&[
        (C, b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nAHTTP/1.1 404 NF\r\nContent-Length: 1\r\n\r\nB"),
    ]);
    let t = txs(&ev);
    let summary: Vec<_> = t
        .iter()
        .map(|t| {
            (
                t.tx_id,
                t.request.as_ref().unwrap().uri_raw.clone(),
                t.response.as_ref().map(|r| r.body.clone()),
                t.incomplete,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, b"/1".to_vec(), Some(b"A".to_vec()), false),
            (1, b"/2".to_vec(), Some(b"B".to_vec()), false),
            (2, b"/3".to_vec(), None, true),
        ]
    );
}

#[test]
fn no_body_statuses() {
    let ev = run(&[
        (C, b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 9\r\n\r\n123456789HTTP/1.1 304 Not Modified\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
    ]);
    let t = txs(&ev);
    assert_eq!(t.len(), 3);
    assert!(t.iter().all(|t| !t.incomplete));
    // A body announced on a 204 is read, as libhtp and browsers read it.
    assert_eq!(t[0].response.as_ref().unwrap().body, b"123456789");
    assert_eq!(t[1].response.as_ref().unwrap().body, b"");
    assert_eq!(t[2].response.as_ref().unwrap().body, b"ok");
}

#[test]
fn second_100_continue_is_reported() {
    let ev = run(&[
        (C, b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nZ"),
        (S, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    assert_eq!(anomalies(&ev), vec![(Some(0), "100_CONTINUE_ALREADY_SEEN")]);
    assert_eq!(txs(&ev)[0].response.as_ref().unwrap().status, Some(200));
}

#[test]
fn connect_tunnel_stops_parsing() {
    let ev = run(&[
        (
            C,
            b"CONNECT apache.org:443 HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:92.0) Gecko/20100101 Firefox/92.0\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\nHost: apache.org:443\r\n\r\n",
        ),
        (C, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.0 200 Connection Established\r\nProxy-agent: Apache/2.4.41 (Ubuntu)\r\n\r\n"),
        (S, b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03"),
    ]);
    let t = txs(&ev);
    assert_eq!(t.len(), 1);
    assert!(!t[0].incomplete);
    assert!(anomalies(&ev).is_empty());
    // Reconstructed from Suricata 8.0.6's record for this exchange.
    assert_eq!(
        json(&t[0]),
        r#"{"hostname":"apache.org","http_port":443,"url":"apache.org:443","http_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:92.0) Gecko/20100101 Firefox/92.0","http_method":"CONNECT","protocol":"HTTP/1.1","status":200,"length":0}"#
    );
}

#[test]
fn refused_connect_resumes_http() {
    let ev = run(&[
        (C, b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
        (S, b"HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let t = txs(&ev);
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].request.as_ref().unwrap().uri_raw, b"/next");
    assert_eq!(t[1].response.as_ref().unwrap().status, Some(200));
}

#[test]
fn switching_protocols_is_a_tunnel() {
    let ev = run(&[
        (
            C,
            b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
        ),
        (
            S,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi",
        ),
    ]);
    let t = txs(&ev);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].response.as_ref().unwrap().status, Some(101));
    assert!(anomalies(&ev).is_empty());
}

#[test]
fn http09_simple_request_and_response() {
    let ev = run(&[(C, b"GET /old\r\n"), (S, b"<html>0.9</html>")]);
    let t = txs(&ev);
    assert_eq!(t.len(), 1);
    let req = t[0].request.as_ref().unwrap();
    assert_eq!((req.protocol.as_slice(), req.headers.len()), (&b""[..], 0));
    let resp = t[0].response.as_ref().unwrap();
    assert_eq!(
        (resp.status, resp.body.as_slice()),
        (None, &b"<html>0.9</html>"[..])
    );
    assert_eq!(
        anomalies(&ev),
        vec![(Some(0), "REQUEST_LINE_MISSING_PROTOCOL")]
    );
    assert_eq!(
        json(&t[0]),
        r#"{"url":"/old","http_method":"GET","length":16}"#
    );
}

#[test]
fn folding_bare_lf_and_repetition() {
    let ev = run(&[
        (C, b"GET / HTTP/1.1\nHost: a\nX-A: one\n  two\n\n"),
        (
            S,
            b"HTTP/1.1 200 OK\nSet-Cookie: a=1\nSet-Cookie: b=2\nContent-Length: 0\n\n",
        ),
    ]);
    let t = txs(&ev);
    assert_eq!(
        t[0].request.as_ref().unwrap().header("x-a"),
        Some(&b"one two"[..])
    );
    assert_eq!(
        anomalies(&ev),
        vec![(Some(0), "RESPONSE_HEADER_REPETITION")]
    );
}

#[test]
fn absurd_lengths_stay_bounded() {
    let cfg = HttpConfig {
        response_body_limit: 16,
        request_body_limit: 8,
        ..HttpConfig::default()
    };
    let ev = run_with(
        &cfg,
        &[
            (C, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n0123456789abcdef"),
            (S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\n0123456789abcdefXYZ"),
        ],
    );
    let t = txs(&ev);
    let req = t[0].request.as_ref().unwrap();
    assert_eq!((req.body.as_slice(), req.body_len), (&b"01234567"[..], 16));
    let resp = t[0].response.as_ref().unwrap();
    assert_eq!(resp.body, b"0123456789abcdef");
    assert!(t[0].incomplete);
    let ev = run(&[(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\nbody",
    )]);
    assert_eq!(
        anomalies(&ev),
        vec![
            (Some(0), "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST"),
            (Some(0), "INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE")
        ]
    );
    assert_eq!(txs(&ev)[0].response.as_ref().unwrap().body, b"body");
}

#[test]
fn invalid_chunk_length() {
    let ev = run(&[
        (C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nrest of it",
        ),
    ]);
    assert_eq!(
        anomalies(&ev),
        vec![(Some(0), "INVALID_RESPONSE_CHUNK_LEN")]
    );
    // libhtp reads the rest of the response, the bad line included, as its body.
    assert_eq!(
        txs(&ev)[0].response.as_ref().unwrap().body,
        b"zz\r\nrest of it"
    );
}

#[test]
fn gap_in_body_is_skipped() {
    let mut p = HttpParser::new(&HttpConfig::default());
    let mut out = Vec::new();
    p.on_data(
        C,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        ts(),
        &mut out,
    );
    p.on_data(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n012",
        ts(),
        &mut out,
    );
    p.on_gap(S, 4, &mut out);
    p.on_data(S, b"789HTTP/1.1 204 No\r\n\r\n", ts(), &mut out);
    p.finish(ts(), &mut out);
    let t = txs(&out);
    assert_eq!(t.len(), 2);
    let r0 = t[0].response.as_ref().unwrap();
    assert_eq!(
        (r0.body.as_slice(), t[0].incomplete),
        (&b"012789"[..], true)
    );
    assert_eq!(
        (t[1].response.as_ref().unwrap().status, t[1].incomplete),
        (Some(204), false)
    );
    // The skipped bytes count in `length`, as Suricata counts them.
    assert_eq!(r0.body_len, 10);
    assert!(anomalies(&out).is_empty());
}

#[test]
fn body_declared_on_204_and_304_is_unexpected_but_not_on_head() {
    let ev = run(&[
        (
            C,
            b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n\
HEAD /c HTTP/1.1\r\nHost: a\r\n\r\nGET /d HTTP/1.1\r\nHost: a\r\n\r\n",
        ),
        (
            S,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n\
HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 23603\r\n\r\n\
HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n",
        ),
    ]);
    assert_eq!(txs(&ev).len(), 4);
    assert_eq!(
        anomalies(&ev),
        vec![
            (Some(0), "RESPONSE_BODY_UNEXPECTED"),
            (Some(1), "RESPONSE_BODY_UNEXPECTED")
        ]
    );
}

#[test]
fn unrecognized_authorization_schemes() {
    let ev = run(&[(
        C,
        b"GET /1 HTTP/1.1\r\nHost: a\r\nAuthorization: NTLM TlRMTVNTUAABAAAA\r\n\r\n\
GET /2 HTTP/1.1\r\nHost: a\r\nAuthorization: Negotiate YIIGbQ==\r\n\r\n\
GET /3 HTTP/1.1\r\nHost: a\r\nAuthorization:  basic dTpw\r\n\r\n\
GET /4 HTTP/1.1\r\nHost: a\r\nAuthorization: Digest username=\"u\"\r\n\r\n\
GET /5 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer t0k3n\r\n\r\n",
    )]);
    assert_eq!(
        anomalies(&ev),
        vec![
            (Some(0), "REQUEST_AUTH_UNRECOGNIZED"),
            (Some(1), "REQUEST_AUTH_UNRECOGNIZED")
        ]
    );
}

#[test]
fn multipart_request_bodies_are_checked_once_per_request() {
    let winrm_body: &[u8] = b"--Encrypted Boundary\r\n\
Content-Type: application/HTTP-SPNEGO-session-encrypted\r\n\
OriginalContent: type=application/soap+xml;charset=UTF-8;Length=4\r\n\
--Encrypted Boundary\r\n\
Content-Type: application/octet-stream\r\n\
\x04\x00\x00\x00abcd--Encrypted Boundary--\r\n";
    let mut conv = format!(
        "POST /wsman HTTP/1.1\r\nHost: h:5985\r\n\
Content-Type: multipart/encrypted;protocol=\"application/HTTP-SPNEGO-session-encrypted\";\
boundary=\"Encrypted Boundary\"\r\nContent-Length: {}\r\n\r\n",
        winrm_body.len()
    )
    .into_bytes();
    conv.extend_from_slice(winrm_body);
    let form: &[u8] =
        b"--b1\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx: y\r\n--b1--\r\n";
    conv.extend_from_slice(
        format!(
            "POST /up HTTP/1.1\r\nHost: h\r\nContent-Type: multipart/form-data; boundary=b1\r\n\
Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            form.len()
        )
        .as_bytes(),
    );
    conv.extend_from_slice(form);
    conv.extend_from_slice(b"\r\n0\r\n\r\n");
    // The same invalid part headers, but not a multipart body: nothing is checked.
    conv.extend_from_slice(
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n--b\r\nbad\r\n\r\n",
    );
    for split in [1, 7, 64, conv.len()] {
        let segments: Vec<(Direction, &[u8])> = conv.chunks(split).map(|c| (C, c)).collect();
        let ev = run(&segments);
        assert_eq!(txs(&ev).len(), 3, "split {split}");
        assert_eq!(
            anomalies(&ev),
            vec![(Some(0), "MULTIPART_INVALID_HEADER")],
            "split {split}"
        );
    }
}

#[test]
fn gap_in_headers_resyncs() {
    let mut p = HttpParser::new(&HttpConfig::default());
    let mut out = Vec::new();
    p.on_data(C, b"GET /1 HTTP/1.1\r\nHost: a\r\nX-Lo", ts(), &mut out);
    p.on_gap(C, 100, &mut out);
    p.on_data(
        C,
        b"st: header tail\r\n\r\nGARBAGE /x\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
        ts(),
        &mut out,
    );
    p.on_data(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ts(),
        &mut out,
    );
    p.finish(ts(), &mut out);
    let t = txs(&out);
    assert_eq!(t.len(), 2);
    assert!(t[0].incomplete);
    assert_eq!(t[0].request.as_ref().unwrap().headers.len(), 1);
    assert_eq!(
        (
            t[1].request.as_ref().unwrap().uri_raw.as_slice(),
            t[1].incomplete
        ),
        (&b"/2"[..], false)
    );
    assert_eq!(anomalies(&out), vec![(Some(0), "INVALID_GAP")]);
}

#[test]
fn response_without_request() {
    let ev = run(&[(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
    )]);
    let t = txs(&ev);
    assert_eq!(t.len(), 1);
    assert_eq!(
        json(&t[0]),
        r#"{"url":"/libhtp::request_uri_not_seen","http_content_type":"text/plain","status":200,"length":2}"#
    );
}

#[test]
fn response_before_request_is_held_then_paired() {
    let ev = run(&[
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        (C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    ]);
    let t = txs(&ev);
    assert_eq!(t.len(), 1);
    assert!(t[0].request.is_some());
    assert_eq!(t[0].response.as_ref().unwrap().body, b"hi");
    assert!(anomalies(&ev).is_empty());
}

#[test]
fn pending_transactions_are_bounded() {
    let cfg = HttpConfig {
        max_pending_transactions: 2,
        ..HttpConfig::default()
    };
    let mut p = HttpParser::new(&cfg);
    let mut out = Vec::new();
    for _ in 0..5 {
        p.on_data(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", ts(), &mut out);
        assert!(p.open_transactions() <= 2);
    }
    assert_eq!(
        txs(&out).iter().map(|t| t.tx_id).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(p.transaction(4).is_some());
    p.finish(ts(), &mut out);
    assert_eq!(txs(&out).len(), 5);
}

#[test]
fn suricata_record_chunked_gzip_with_xff() {
    // Reconstructed from a Suricata 8.0.6 record: a chunked, gzip-encoded 403 whose
    // `length` counts the chunk framing (4 + 185 + 2 + 3 + 10 + 2 + 3 = 209 bytes).
    let mut resp = b"HTTP/1.1 403 Forbidden\r\nDate: Wed, 03 Feb 2016 15:27:08 GMT\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nContent-Encoding: gzip\r\n\r\nb9\r\n".to_vec();
    resp.extend_from_slice(&[0x41; 0xb9]);
    resp.extend_from_slice(b"\r\na\r\n0123456789\r\n0\r\n\r\n");
    let ev = run(&[
        (
            C,
            b"GET /xx/xxxxx?xx=xxxxxxxxxxxx HTTP/1.1\r\nAccept-Encoding: gzip\r\nX-Forwarded-For: 10.000.000.03\r\nConnection: close\r\nUser-Agent: Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/44.0.2403.125 Safari/537.36\r\nHost: www.xxxxxxxxx.xx\r\nReferer: http://www.xxxxx.xxx/xxxx/xxxxxxxxxxxx\r\n\r\n",
        ),
        (S, &resp),
    ]);
    let t = txs(&ev);
    assert_eq!(
        json(&t[0]),
        r#"{"hostname":"www.xxxxxxxxx.xx","url":"/xx/xxxxx?xx=xxxxxxxxxxxx","http_user_agent":"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/44.0.2403.125 Safari/537.36","xff":"10.000.000.03","http_content_type":"text/html","http_refer":"http://www.xxxxx.xxx/xxxx/xxxxxxxxxxxx","http_method":"GET","protocol":"HTTP/1.1","status":403,"length":209}"#
    );
    // The body was not gzip after all: kept as sent. Suricata 8's libhtp raises no
    // GZIP_DECOMPRESSION_FAILED (none in its records of the whole corpus).
    assert_eq!(anomalies(&ev), vec![]);
    assert_eq!(t[0].response.as_ref().unwrap().body.len(), 0xb9 + 10);
}

#[test]
fn suricata_record_content_range_and_port() {
    let ev = run(&[
        (C, b"GET /?o=AQEf&v=3 HTTP/1.1\r\nHost: 23.246.3.140:8080\r\nUser-Agent: AppleCoreMedia/1.0.0.14C92 (iPhone; U; CPU OS 10_2 like Mac OS X; en_us)\r\nRange: bytes=0-898\r\n\r\n"),
        (S, b"HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-898/32468335\r\nContent-Length: 899\r\n\r\n"),
        (S, &[0u8; 899]),
    ]);
    assert_eq!(
        json(&txs(&ev)[0]),
        r#"{"hostname":"23.246.3.140","http_port":8080,"url":"/?o=AQEf&v=3","http_user_agent":"AppleCoreMedia/1.0.0.14C92 (iPhone; U; CPU OS 10_2 like Mac OS X; en_us)","http_content_type":"application/octet-stream","content_range":{"raw":"bytes 0-898/32468335","start":0,"end":898,"size":32468335},"http_method":"GET","protocol":"HTTP/1.1","status":206,"length":899}"#
    );
}

#[test]
fn suricata_record_redirect_and_non_utf8_method() {
    let ev = run(&[
        (C, b"GET / HTTP/1.1\r\nHost: www.espn.com\r\nUser-Agent: Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.1.8) Gecko/20100214 Ubuntu/9.10 (karmic) Firefox/3.5.8\r\n\r\n"),
        (S, b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://espn.go.com/\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Length: 227\r\n\r\n"),
        (S, &[b'x'; 227]),
        (C, b"\xdd\x00\x00\x00 GET /txt HTTP/1.1\r\nUser-Agent: Microsoft NCSI\r\nHost: www.msftncsi.com\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nMicrosoft NCSI"),
    ]);
    let t = txs(&ev);
    assert_eq!(
        json(&t[0]),
        r#"{"hostname":"www.espn.com","url":"/","http_user_agent":"Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.1.8) Gecko/20100214 Ubuntu/9.10 (karmic) Firefox/3.5.8","http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":301,"redirect":"http://espn.go.com/","length":227}"#
    );
    assert_eq!(
        json(&t[1]),
        r#"{"hostname":"www.msftncsi.com","url":"GET /txt","http_user_agent":"Microsoft NCSI","http_content_type":"text/plain","http_method":"\\xdd\u0000\u0000\u0000","protocol":"HTTP/1.1","status":200,"length":14}"#
    );
}

#[test]
fn finish_parses_a_request_line_without_line_end() {
    let ev = run(&[(C, b"GET /no-crlf HTTP/1.1")]);
    let t = txs(&ev);
    assert_eq!(t[0].request.as_ref().unwrap().uri_raw, b"/no-crlf");
    assert!(t[0].incomplete);
}

#[test]
fn overlong_header_line_is_truncated_and_reported() {
    let cfg = HttpConfig {
        max_header_bytes: 64,
        ..HttpConfig::default()
    };
    let mut req = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
    req.extend_from_slice(&[b'a'; 500]);
    req.extend_from_slice(b"\r\nHost: a\r\n\r\n");
    let ev = run_with(&cfg, &[(C, &req)]);
    assert!(anomalies(&ev).contains(&(Some(0), "REQUEST_FIELD_TOO_LONG")));
    let t = txs(&ev);
    let r = t[0].request.as_ref().unwrap();
    assert_eq!(r.headers.len(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_in_arbitrary_chunks_never_panic(
        pieces in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..200), 0u64..3), 0..24),
        prefix in any::<bool>(),
    ) {
        let cfg = HttpConfig { max_header_bytes: 256, max_headers: 8, request_body_limit: 64, response_body_limit: 64, max_pending_transactions: 4, ..HttpConfig::default() };
        let mut p = HttpParser::new(&cfg);
        let mut out = Vec::new();
        if prefix {
            p.on_data(C, b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", ts(), &mut out);
            p.on_data(S, b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n", ts(), &mut out);
        }
        for (to_server, data, gap) in &pieces {
            let dir = if *to_server { C } else { S };
            if *gap == 2 {
                p.on_gap(dir, data.len() as u64 + 1, &mut out);
            } else {
                p.on_data(dir, data, ts(), &mut out);
            }
            prop_assert!(p.open_transactions() <= 4);
            prop_assert!(p.req.held.len() <= 256 && p.resp.held.len() <= 256);
            prop_assert!(p.req.line.raw().len() <= 256 && p.resp.line.raw().len() <= 256);
        }
        p.finish(ts(), &mut out);
        for t in txs(&out) {
            if let Some(r) = &t.request {
                prop_assert!(r.body.len() <= 64 && r.headers.len() <= 8);
            }
            if let Some(r) = &t.response {
                prop_assert!(r.body.len() <= 64 && r.headers.len() <= 8);
            }
            let _ = json(&t);
        }
        prop_assert_eq!(p.open_transactions(), 0);
    }

    #[test]
    fn http_like_input_never_panics(
        pieces in proptest::collection::vec((any::<bool>(), proptest::sample::select(vec![
            &b"GET / HTTP/1.1\r\n"[..], b"HTTP/1.1 200 OK\r\n", b"HTTP/1.1 100 Continue\r\n", b"Content-Length: 3\r\n",
            b"Transfer-Encoding: chunked\r\n", b"\r\n", b"3\r\nabc\r\n", b"0\r\n", b" folded\r\n", b"CONNECT a:1 HTTP/1.1\r\n",
            b"HEAD / HTTP/1.0\n", b"Content-Encoding: gzip\r\n", b"\x1f\x8b\x08\x00", b"HTTP/1.1 101 S\r\n", b"xyz", b"\n",
        ]), any::<u8>()), 0..60),
    ) {
        let mut p = HttpParser::new(&HttpConfig { max_pending_transactions: 3, ..HttpConfig::default() });
        let mut out = Vec::new();
        for (to_server, data, cut) in &pieces {
            let dir = if *to_server { C } else { S };
            let cut = usize::from(*cut) % (data.len() + 1);
            p.on_data(dir, &data[..cut], ts(), &mut out);
            p.on_data(dir, &data[cut..], ts(), &mut out);
            prop_assert!(p.open_transactions() <= 3);
        }
        p.finish(ts(), &mut out);
        prop_assert_eq!(p.open_transactions(), 0);
    }
}

#[test]
fn anomaly_names_are_exposed() {
    assert_eq!(HttpAnomaly::MissingHostHeader.name(), "MISSING_HOST_HEADER");
}

/// Found by the `http` fuzz target: a response held while no request waits lost a line-end
/// byte that started the next call, so the body length depended on the split.
#[test]
fn held_response_keeps_line_ends_across_calls() {
    use Direction::ToClient;
    let joined = run(&[(ToClient, b"not a status line\r\nmore")]);
    let split = run(&[(ToClient, b"not a status line\r"), (ToClient, b"\nmore")]);
    assert_eq!(joined, split);
    let tx = txs(&split);
    assert_eq!(
        tx.first()
            .and_then(|t| t.response.as_ref())
            .map(|r| r.body_len),
        Some(23)
    );
}

#[test]
fn raw_header_block_is_kept_as_received_and_bounded() {
    let ev = run(&[
        (C, b"GET / HTTP/1.1\r\nHost:   a  \r\nX: 1\n folded\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 100 Continue\r\nA: b\r\n\r\nHTTP/1.1 200 OK\r\nServer:       Yx(\r\nContent-Length: 0\r\n\r\n",
        ),
    ]);
    let t = txs(&ev).remove(0);
    let req = t.request.as_ref().unwrap();
    assert_eq!(req.headers_raw, b"Host:   a  \r\nX: 1\n folded\r\n\r\n");
    assert_eq!(req.header("host"), Some(&b"a"[..]));
    // The interim response's block is not kept with the final one.
    let resp = t.response.as_ref().unwrap();
    assert_eq!(
        resp.headers_raw,
        b"Server:       Yx(\r\nContent-Length: 0\r\n\r\n"
    );
    // Bounded by max_header_bytes.
    let cfg = HttpConfig {
        max_header_bytes: 16,
        ..HttpConfig::default()
    };
    let ev = run_with(
        &cfg,
        &[(C, b"GET / HTTP/1.1\r\nA: 0123456789abcdef\r\n\r\n")],
    );
    let t = txs(&ev).remove(0);
    assert!(t.request.as_ref().unwrap().headers_raw.len() <= 16);
}

#[test]
fn response_line_ends_as_libhtp_reads_them() {
    // A lone CR ends a header line; "\n\r" is one line end.
    let ev = run(&[
        (C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 200 OK\r\nX-A: 1\rContent-Length: 3\n\rX-B: 2\r\n\r\nabc",
        ),
    ]);
    let t = txs(&ev);
    let resp = t[0].response.as_ref().unwrap();
    let names: Vec<&[u8]> = resp.headers.iter().map(|h| h.name.as_slice()).collect();
    assert_eq!(names, vec![&b"X-A"[..], b"Content-Length", b"X-B"]);
    assert_eq!(resp.body, b"abc");
    // A fold line of only whitespace ended by a bare LF ends the headers; the body may
    // start in the same LF-ended line as the last header (CR-only line ends).
    for (head, body) in [
        (
            &b"HTTP/1.1 200 OK\nContent-Type: text/plain\n\t\n"[..],
            &b"body\n"[..],
        ),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\rX-B: 2\r\r", b"body\n"),
        (b"HTTP/1.1 200 OK\r\nX-A: 1\n\r\r\n", b"body\n"),
    ] {
        let mut resp_bytes = head.to_vec();
        resp_bytes.extend_from_slice(body);
        let ev = run(&[(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), (S, &resp_bytes)]);
        let t = txs(&ev);
        let r = t[0].response.as_ref().unwrap();
        assert_eq!(r.body, body, "{:?}", String::from_utf8_lossy(head));
        assert!(r.headers.iter().all(|h| !h.name.is_empty()));
    }
}

#[test]
fn status_line_ended_by_a_lone_cr() {
    for (resp, body) in [
        (
            &b"HTTP/1.1 200 ok\rTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"[..],
            &b"abc"[..],
        ),
        (b"HTTP/1.1 200 ok\rContent-Length: 3\r\rabc", b"abc"),
        (b"\0HTTP/1.1 200 ok\r\nContent-Length: 2\r\n\r\nok", b"ok"),
        (
            b" \r\nHTTP/1.1 200 ok\r\nContent-Length: 2\r\n\r\nok",
            b"ok",
        ),
        (
            b"foobar\r\nHTTP/1.1 200 ok\r\nContent-Length: 2\r\n\r\nok",
            b"ok",
        ),
    ] {
        let ev = run(&[(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), (S, resp)]);
        let t = txs(&ev);
        let r = t[0].response.as_ref().unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (Some(200), body),
            "{:?}",
            String::from_utf8_lossy(resp)
        );
    }
    // A line that is not a status line, with no 'H' line after it, is the body.
    let ev = run(&[
        (C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        (S, b"SIP/2.0 200 ok\r\nsomething else\r\n"),
    ]);
    let t = txs(&ev);
    let r = t[0].response.as_ref().unwrap();
    assert_eq!(r.status, None);
    assert_eq!(r.body, b"SIP/2.0 200 ok\r\nsomething else\r\n");
}

#[test]
fn deformed_line_ends_around_the_end_of_the_head() {
    for (resp, body) in [
        // A CR run after a CRLF is part of that line end when a header follows.
        (
            &b"HTTP/1.1 200 ok\r\nConnection: close\r\n\r\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"[..],
            &b"abc"[..],
        ),
        // `\n\r\r\n` then a line end: both end the head.
        (b"HTTP/1.1 200 ok\r\nContent-Length: 3\n\r\r\n\r\nabc", b"abc"),
        // `\n\r\r\n` then the body.
        (b"HTTP/1.1 200 ok\r\nContent-Length: 3\n\r\r\nabc", b"abc"),
        // An empty fold ended by a bare LF, and the bare LF after it.
        (b"HTTP/1.1 200 ok\r\nContent-Length: 3\n \n\nabc", b"abc"),
        (b"HTTP/1.1 200 ok\r\nContent-Length: 3\n\t\nabc", b"abc"),
        // After a CRLF, a line starting with a lone CR ends the head at that CR.
        (b"HTTP/1.1 200 ok\r\nContent-Length: 3\r\n\rabc\r\n", b"abc"),
    ] {
        let ev = run(&[(C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), (S, resp)]);
        let t = txs(&ev);
        let r = t[0].response.as_ref().unwrap();
        assert_eq!(r.body, body, "{:?}", String::from_utf8_lossy(resp));
    }
}

#[test]
fn switching_protocols_with_a_body_is_an_ordinary_response() {
    let ev = run(&[
        (C, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
        (
            S,
            b"HTTP/1.1 101 ok\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        ),
    ]);
    let t = txs(&ev);
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].response.as_ref().unwrap().body, b"abc");
    assert_eq!(t[1].response.as_ref().unwrap().body, b"ok");
}
