//! Per-keyword lowering tests: valid forms, every rejection reason, modifier boundaries.

use crate::load::{LoadOptions, Rejection};
use crate::signature::*;
use crate::{lower_rule, parse_rule};
use tapwatch_common::{AppProto, DecodeEvent, Direction, StreamEvent};

fn lower_text(text: &str) -> Result<Signature, Rejection> {
    let rule = parse_rule(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let loc = SourceLocation {
        file: "t.rules".into(),
        line: 10,
    };
    lower_rule(&rule, &LoadOptions::suricata_defaults(), loc)
}

fn with_header(header: &str, opts: &str) -> Result<Signature, Rejection> {
    lower_text(&format!("{header} ({opts} sid:7;)"))
}

fn ok(opts: &str) -> Signature {
    with_header("alert http any any -> any any", opts).unwrap_or_else(|r| panic!("{opts}: {r}"))
}

fn rej(opts: &str) -> Rejection {
    match with_header("alert http any any -> any any", opts) {
        Ok(s) => panic!("{opts}: accepted as {s:?}"),
        Err(r) => r,
    }
}

fn rej_has(opts: &str, keyword: &str, text: &str) {
    let r = rej(opts);
    assert_eq!(r.keyword.as_deref(), Some(keyword), "{opts}: {r}");
    assert!(
        r.reason.contains(text),
        "{opts}: reason '{}' lacks '{text}'",
        r.reason
    );
    assert_eq!(r.sid, Some(7));
    assert_eq!(r.file, "t.rules");
}

fn content(s: &Signature, b: usize, m: usize) -> &Content {
    match &s.buffers[b].matchers[m] {
        Matcher::Content(c) => c,
        other => panic!("not a content: {other:?}"),
    }
}

#[test]
fn metadata_keywords() {
    let s = ok(
        r#"msg:"a \"quoted\" \; msg"; classtype:trojan-activity; rev:3; gid:2; metadata:created_at 2024_01_01, former_category MALWARE, flag; reference:url,example.com; reference:cve,2024-1; target:dest_ip;"#,
    );
    assert_eq!(s.msg, r#"a "quoted" ; msg"#);
    assert_eq!(
        s.id,
        SignatureId {
            gid: 2,
            sid: 7,
            rev: 3
        }
    );
    assert_eq!(s.classtype.as_deref(), Some("trojan-activity"));
    assert_eq!(s.category.as_deref(), Some("A Network Trojan was detected"));
    assert_eq!(s.priority, 1);
    assert_eq!(
        s.metadata,
        vec![
            ("created_at".into(), "2024_01_01".into()),
            ("former_category".into(), "MALWARE".into()),
            ("flag".into(), String::new())
        ]
    );
    assert_eq!(s.references, vec!["url,example.com", "cve,2024-1"]);
    assert_eq!(s.target, Some(Target::DestIp));
    assert_eq!(s.location.line, 10);
    let d = ok("");
    assert_eq!((d.id.gid, d.id.rev, d.priority), (1, 0, 3));
    assert_eq!(ok("classtype:misc-activity; priority:1;").priority, 1);
    assert_eq!(ok("priority:2; classtype:trojan-activity;").priority, 2);
    rej_has("classtype:nope;", "classtype", "unknown classtype");
    rej_has("priority:0;", "priority", "1 to 255");
    rej_has("priority:256;", "priority", "out of range");
    rej_has("target:both;", "target", "invalid target");
    rej_has("rev:1; rev:2;", "rev", "more than once");
    assert_eq!(
        lower_text("alert tcp any any -> any any (msg:\"x\";)")
            .unwrap_err()
            .reason,
        "the rule has no sid"
    );
    assert!(ok("noalert;").noalert);
    assert!(ok("flowbits:noalert;").noalert);
}

#[test]
fn content_and_modifiers() {
    let s = ok(r#"content:"A|42 43|\;"; nocase; offset:1; depth:4;"#);
    let c = content(&s, 0, 0);
    assert_eq!(s.buffers[0].buffer, Buffer::Payload);
    assert_eq!(c.pattern, b"ABC;");
    assert!(c.nocase && !c.negated);
    assert_eq!(
        (c.offset, c.depth),
        (Some(Value::Lit(1)), Some(Value::Lit(4)))
    );
    let s = ok(r#"content:!"x"; content:"ab"; distance:-3; within:2;"#);
    assert!(content(&s, 0, 0).negated);
    assert_eq!(content(&s, 0, 1).distance, Some(Value::Lit(-3)));
    assert_eq!(content(&s, 0, 1).within, Some(Value::Lit(2)));
    // distance/within on the first content of a buffer are allowed (relative to its start).
    let s = ok(r#"http.uri; content:"/a"; distance:0; within:10;"#);
    assert!(content(&s, 0, 0).is_relative());
    let s = ok(r#"content:"abc"; startswith; endswith;"#);
    assert!(content(&s, 0, 0).startswith && content(&s, 0, 0).endswith);
    assert!(content(&ok(r#"content:"a"; rawbytes;"#), 0, 0).rawbytes);

    rej_has("nocase;", "nocase", "needs a preceding content");
    rej_has(r#"content:"a"; nocase; nocase;"#, "nocase", "twice");
    rej_has(r#"content:"abc"; depth:0;"#, "depth", "at least 1");
    rej_has(
        r#"content:"abc"; depth:2;"#,
        "depth",
        "smaller than the content",
    );
    assert!(with_header("alert tcp any any -> any any", r#"content:"abc"; depth:3;"#).is_ok());
    rej_has(
        r#"content:"abc"; within:2;"#,
        "within",
        "shorter than the content",
    );
    assert!(with_header(
        "alert tcp any any -> any any",
        r#"content:"abc"; within:3;"#
    )
    .is_ok());
    rej_has(r#"content:"abc"; offset:-1;"#, "offset", "out of range");
    rej_has(
        r#"content:"abc"; startswith; depth:3;"#,
        "depth",
        "startswith",
    );
    rej_has(
        r#"content:"abc"; depth:3; startswith;"#,
        "startswith",
        "cannot be mixed",
    );
    rej_has(
        r#"content:"abc"; distance:1; depth:3;"#,
        "depth",
        "relative",
    );
    rej_has(
        r#"content:"abc"; offset:1; within:3;"#,
        "within",
        "absolute",
    );
    rej_has(r#"content:"abc"; depth:3; depth:4;"#, "depth", "twice");
    rej_has(r#"content:"a"; endswith; endswith;"#, "endswith", "twice");
    rej_has(
        r#"content:"a"; depth:x;"#,
        "depth",
        "undefined variable 'x'",
    );
    rej_has(r#"content:"a|4"; "#, "content", "hex");
    rej_has("content:abc;", "content", "quoted");
    rej_has(r#"content:"";"#, "content", "empty content");
    rej_has(r#"http.uri; content:"a"; rawbytes;"#, "rawbytes", "payload");
}

#[test]
fn fast_pattern_forms() {
    let s = ok(r#"content:"abc"; content:"defgh"; fast_pattern:1,3;"#);
    assert_eq!(
        s.fast_pattern,
        Some(FastPattern {
            buffer: 0,
            matcher: 1,
            only: false,
            chop: Some((1, 3))
        })
    );
    let s = ok(r#"http.method; content:"GET"; http.uri; content:"/x"; fast_pattern:only;"#);
    assert_eq!(
        s.fast_pattern.map(|f| (f.buffer, f.matcher, f.only)),
        Some((1, 0, true))
    );
    // A negated content without positions may carry fast_pattern; it is not a prefilter.
    assert_eq!(ok(r#"content:!"abc"; fast_pattern;"#).fast_pattern, None);
    rej_has(
        r#"content:"a"; fast_pattern; content:"b"; fast_pattern;"#,
        "fast_pattern",
        "only one",
    );
    rej_has(
        r#"content:!"abc"; fast_pattern; depth:5;"#,
        "fast_pattern",
        "negated",
    );
    rej_has(
        r#"content:!"abc"; depth:5; fast_pattern;"#,
        "fast_pattern",
        "negated",
    );
    rej_has(
        r#"content:"abc"; fast_pattern:only; offset:2;"#,
        "fast_pattern",
        "only",
    );
    rej_has(
        r#"content:"abc"; fast_pattern:2,2;"#,
        "fast_pattern",
        "outside",
    );
    rej_has(
        r#"content:"abc"; fast_pattern:foo;"#,
        "fast_pattern",
        "invalid",
    );
}

#[test]
fn legacy_modifiers_and_sticky_buffers_normalise_alike() {
    let legacy = ok(
        r#"content:"GET"; http_method; content:"/a"; http_uri; nocase; content:"b"; http_uri; distance:0; content:"x"; http_header;"#,
    );
    let sticky = ok(
        r#"http.method; content:"GET"; http.uri; content:"/a"; nocase; content:"b"; distance:0; http.header; content:"x";"#,
    );
    assert_eq!(legacy.buffers, sticky.buffers);
    let uric = ok(r#"uricontent:"/a"; nocase;"#);
    let sticky = ok(r#"http.uri; content:"/a"; nocase;"#);
    assert_eq!(uric.buffers, sticky.buffers);
    // Legacy names of newer buffers are sticky aliases.
    let a = ok(r#"http_accept; content:"*/*"; http_header_names; content:!"Referer";"#);
    assert_eq!(a.buffers[0].buffer, Buffer::HttpAccept);
    assert_eq!(a.buffers[1].buffer, Buffer::HttpHeaderNames);
    let d = ok(r#"dns_query; content:"x";"#);
    assert_eq!(d.buffers[0].buffer, Buffer::DnsQuery);
    for (kw, b) in [
        ("dns.queries.rrname", Buffer::DnsQueriesName),
        ("dns.answers.rrname", Buffer::DnsAnswerName),
        ("dns.authorities.rrname", Buffer::DnsAuthorityName),
        ("dns.additionals.rrname", Buffer::DnsAdditionalName),
    ] {
        let d = ok(&format!(r#"{kw}; content:"x"; bsize:<10;"#));
        assert_eq!(d.buffers[0].buffer, b);
        assert_eq!(b.name(), kw);
        // Multi-buffers seen in requests and responses alike.
        assert!(b.is_multi() && b.direction().is_none(), "{kw}");
        rej_has(&format!("{kw};"), kw, "followed by no keyword");
        rej_has(&format!("{kw}:x;"), kw, "takes no value");
    }
    // Integer keywords: a value buffer with its comparison; the sticky buffer stays current.
    let d = ok(r#"dns.query; dns.opcode:!7-15; content:"x"; dns.rcode:3;"#);
    assert_eq!(d.buffers[0].buffer, Buffer::DnsOpcode);
    assert_eq!(
        d.buffers[0].matchers,
        vec![Matcher::Uint(NumCmp::NotBetween(7, 15))]
    );
    assert_eq!(d.buffers[1].buffer, Buffer::DnsQuery);
    assert_eq!(d.buffers[2].matchers, vec![Matcher::Uint(NumCmp::Eq(3))]);
    for (v, cmp) in [
        ("4", NumCmp::Eq(4)),
        ("!0", NumCmp::Ne(0)),
        ("<2", NumCmp::Lt(2)),
        (">=5", NumCmp::Ge(5)),
        ("7-15", NumCmp::Between(7, 15)),
        ("0x0f", NumCmp::Eq(15)),
        ("255", NumCmp::Eq(255)),
    ] {
        let d = ok(&format!("dns.rcode:{v};"));
        assert_eq!(d.buffers[0].matchers, vec![Matcher::Uint(cmp)], "{v}");
    }
    let t = ok("tls.cert_chain_len:0<>2;");
    assert_eq!(t.buffers[0].buffer, Buffer::TlsCertChainLen);
    assert_eq!(
        t.buffers[0].matchers,
        vec![Matcher::Uint(NumCmp::Between(0, 2))]
    );
    rej_has(
        "tls.cert_chain_len:4294967296;",
        "tls.cert_chain_len",
        "out of range",
    );
    rej_has("dns.opcode;", "dns.opcode", "needs a value");
    rej_has("dns.opcode:256;", "dns.opcode", "out of range");
    rej_has("dns.opcode:7-8;", "dns.opcode", "empty range");
    rej_has("dns.rcode:nxdomain;", "dns.rcode", "named values");
    rej_has("dns.rcode:&0x0f;", "dns.rcode", "bit-mask");
    // Legacy `tls.fingerprint`: an exact, case-sensitive comparison, negatable; the sticky
    // buffer and the last content stay as they were.
    let fp = "ff:15:52:d1:df:5c:d0:0e:c5:69:00:31:9e:9f:24:80:4a:e6:0c:63";
    let t = ok(&format!(
        r#"tls.sni; content:"a"; tls.fingerprint:"{fp}"; nocase; content:"b";"#
    ));
    assert_eq!(t.buffers[0].buffer, Buffer::TlsSni);
    assert_eq!(t.buffers[1].buffer, Buffer::TlsCertFingerprint);
    let Matcher::Content(c) = &t.buffers[1].matchers[0] else {
        panic!("{t:?}")
    };
    assert!(c.startswith && c.endswith && !c.negated && !c.nocase);
    assert_eq!(c.pattern, fp.as_bytes());
    let Matcher::Content(a) = &t.buffers[0].matchers[0] else {
        panic!("{t:?}")
    };
    assert!(a.nocase, "nocase applies to the sticky buffer's content");
    assert_eq!(t.buffers[0].matchers.len(), 2);
    let n = ok(&format!(r#"tls.fingerprint:!"{fp}";"#));
    assert!(matches!(&n.buffers[0].matchers[0], Matcher::Content(c) if c.negated));
    rej_has("tls.fingerprint;", "tls.fingerprint", "needs a value");
    rej_has(r#"tls.fingerprint:"";"#, "tls.fingerprint", "non-empty");
    // Legacy file-name keywords: caseless contents on `file.name`, the sticky buffer kept.
    let t = ok(r#"http.uri; content:"u"; filename:"Eicar"; fileext:"TXT"; content:"v";"#);
    assert_eq!(t.buffers[0].buffer, Buffer::HttpUri);
    assert_eq!(t.buffers[0].matchers.len(), 2);
    assert_eq!(t.buffers[1].buffer, Buffer::FileName);
    let [Matcher::Content(n), Matcher::Content(e)] = &t.buffers[1].matchers[..] else {
        panic!("{t:?}")
    };
    assert_eq!(
        (n.pattern.as_slice(), e.pattern.as_slice()),
        (&b"Eicar"[..], &b".TXT"[..])
    );
    assert!(n.nocase && !n.startswith && !n.endswith && !n.negated);
    assert!(e.nocase && !e.startswith && e.endswith);
    let t = ok(r#"filename:!"x";"#);
    assert!(matches!(&t.buffers[0].matchers[0], Matcher::Content(c) if c.negated));
    let t = ok(r#"file.name; content:"a.exe";"#);
    assert_eq!(t.buffers[0].buffer, Buffer::FileName);
    assert!(Buffer::FileName.is_multi());
    rej_has("fileext;", "fileext", "needs a value");
    let t = ok("filesize:100<>200;");
    assert_eq!(t.buffers[0].buffer, Buffer::FileSize);
    assert_eq!(
        t.buffers[0].matchers,
        vec![Matcher::Uint(NumCmp::Between(100, 200))]
    );
    for (kw, b) in [
        ("tls.random", Buffer::TlsRandom),
        ("tls.random_time", Buffer::TlsRandomTime),
        ("tls.random_bytes", Buffer::TlsRandomBytes),
    ] {
        let t = ok(&format!(r#"{kw}; content:"|01|";"#));
        assert_eq!(t.buffers[0].buffer, b);
        assert!(!b.is_multi() && b.direction().is_none() && b.name() == kw);
    }
    for (kw, b) in [
        ("tls.alpn", Buffer::TlsAlpn),
        ("tls.subjectaltname", Buffer::TlsSubjectAltName),
    ] {
        let t = ok(&format!(r#"{kw}; content:"h2";"#));
        assert_eq!(t.buffers[0].buffer, b);
        assert!(b.is_multi() && b.name() == kw);
        rej_has(&format!("{kw};"), kw, "followed by no keyword");
    }
    for (opts, kw) in [
        (
            r#"dns.response.rrname; content:"x";"#,
            "dns.response.rrname",
        ),
        ("dns.rrtype:1;", "dns.rrtype"),
        ("tls.version:1.2;", "tls.version"),
        ("ssl_version:sslv3;", "ssl_version"),
        ("ssl_state:client_hello;", "ssl_state"),
        ("tls_cert_expired;", "tls_cert_expired"),
        ("tls_cert_valid;", "tls_cert_valid"),
    ] {
        rej_has(opts, kw, "not supported yet: tapwatch does not track");
    }
    rej_has(
        r#"http.uri; content:"a"; http_header;"#,
        "http_header",
        "sticky buffer",
    );
    rej_has("http_uri;", "http_uri", "preceding content");
    rej_has(
        r#"content:"a"; http_raw_cookie;"#,
        "http_raw_cookie",
        "buffer not supported",
    );
}

#[test]
fn buffers_switch_back_and_append() {
    let s = ok(
        r#"http.uri; content:"a"; http.host; content:"b"; http.uri; content:"c"; pkt_data; content:"d";"#,
    );
    let names: Vec<_> = s.buffers.iter().map(|b| b.buffer).collect();
    assert_eq!(
        names,
        vec![Buffer::HttpUri, Buffer::HttpHost, Buffer::Payload]
    );
    assert_eq!(s.buffers[0].matchers.len(), 2);
    rej_has(
        r#"http.uri; http.host; content:"a";"#,
        "http.host",
        "no keyword that inspects",
    );
    rej_has(r#"content:"a"; http.uri;"#, "http.uri", "no keyword");
    rej_has(
        "tls.cert_notbefore; content:\"a\";",
        "tls.cert_notbefore",
        "buffer not supported",
    );
    rej_has(
        "http2.header; content:\"a\";",
        "http2.header",
        "buffer not supported",
    );
}

#[test]
fn transforms() {
    let s = ok(
        r#"dns.query; dotprefix; to_lowercase; content:".evil.com"; endswith; dns.query; content:"x";"#,
    );
    assert_eq!(s.buffers.len(), 2);
    assert_eq!(
        s.buffers[0].transforms,
        vec![Transform::DotPrefix, Transform::ToLowercase]
    );
    assert!(s.buffers[1].transforms.is_empty());
    let s = ok(
        r#"http.uri; from_base64: bytes 4, offset 2, mode strict; xor:"0a0b"; pcrexform:"a(b)"; content:"x";"#,
    );
    assert_eq!(
        s.buffers[0].transforms,
        vec![
            Transform::FromBase64 {
                bytes: Some(4),
                offset: 2,
                mode: Base64Mode::Strict
            },
            Transform::Xor(vec![10, 11]),
            Transform::PcreXform("a(b)".into())
        ]
    );
    let s = ok(r#"http.uri; to_sha256; content:"x"; http.uri; to_sha256; content:"y";"#);
    assert_eq!(s.buffers.len(), 1);
    rej_has(r#"dotprefix; content:"a";"#, "dotprefix", "sticky buffer");
    rej_has(
        r#"dns.query; content:"a"; dotprefix;"#,
        "dotprefix",
        "directly follow",
    );
    rej_has(r#"http.uri; xor:"abc"; content:"a";"#, "xor", "even");
    rej_has(
        r#"http.uri; from_base64: mode lax; content:"a";"#,
        "from_base64",
        "mode",
    );
}

#[test]
fn pcre_flags_select_buffers() {
    let s = ok(r#"pcre:"/a\;b\"c\d/smixAEGRO";"#);
    match &s.buffers[0].matchers[0] {
        Matcher::Pcre(p) => {
            assert_eq!(p.pattern, r#"a;b"c\d"#);
            assert!(p.dotall && p.multiline && p.caseless && p.extended && p.anchored);
            assert!(p.dollar_endonly && p.ungreedy && p.relative && p.override_limits);
        }
        m => panic!("{m:?}"),
    }
    for (flag, buf) in [
        ("U", Buffer::HttpUri),
        ("I", Buffer::HttpUriRaw),
        ("H", Buffer::HttpHeader),
        ("D", Buffer::HttpHeaderRaw),
        ("M", Buffer::HttpMethod),
        ("C", Buffer::HttpCookie),
        ("P", Buffer::HttpRequestBody),
        ("Q", Buffer::FileData),
        ("S", Buffer::HttpStatCode),
        ("Y", Buffer::HttpStatMsg),
        ("V", Buffer::HttpUserAgent),
        ("W", Buffer::HttpHost),
        ("Z", Buffer::HttpHostRaw),
    ] {
        let s = ok(&format!(r#"pcre:"/x/{flag}B";"#));
        assert_eq!(s.buffers[0].buffer, buf, "{flag}");
    }
    let s = ok(r#"pcre:!"/x/Ui";"#);
    assert!(matches!(&s.buffers[0].matchers[0], Matcher::Pcre(p) if p.negated && p.caseless));
    assert_eq!(ok(r#"http.uri; pcre:"/x/U";"#).buffers.len(), 1);
    rej_has(r#"pcre:"/x/UH";"#, "pcre", "different buffers");
    rej_has(r#"pcre:"/x/K";"#, "pcre", "buffer not supported");
    rej_has(r#"pcre:"/x/J";"#, "pcre", "unknown pcre flag");
    rej_has(r#"pcre:"/x/ii";"#, "pcre", "twice");
    rej_has(r#"pcre:"x";"#, "pcre", "/regex/");
    rej_has(r#"http.host; pcre:"/x/U";"#, "pcre", "sticky buffer");
}

#[test]
fn bsize_urilen_isdataat_absent() {
    let s = ok(r#"http.uri; content:"abc"; bsize:3; bsize:<=10; bsize:>=1; bsize:2<>9; bsize:!4;"#);
    let cmps: Vec<_> = s.buffers[0]
        .matchers
        .iter()
        .filter_map(|m| match m {
            Matcher::Bsize(c) => Some(*c),
            _ => None,
        })
        .collect();
    assert_eq!(
        cmps,
        vec![
            NumCmp::Eq(3),
            NumCmp::Le(10),
            NumCmp::Ge(1),
            NumCmp::Between(2, 9),
            NumCmp::Ne(4)
        ]
    );
    rej_has("bsize:3;", "bsize", "sticky buffer");
    rej_has(
        r#"http.uri; content:"abcd"; bsize:3;"#,
        "bsize",
        "never match",
    );
    let s = ok("urilen:>80; urilen:5<>10,raw;");
    assert_eq!(s.buffers[0].buffer, Buffer::HttpUri);
    assert_eq!(s.buffers[0].matchers, vec![Matcher::Bsize(NumCmp::Gt(80))]);
    assert_eq!(s.buffers[1].buffer, Buffer::HttpUriRaw);
    rej_has("urilen:5,bogus;", "urilen", "norm or raw");
    let s = ok(r#"content:"a"; isdataat:!1,relative; isdataat:5,rawbytes;"#);
    assert_eq!(
        s.buffers[0].matchers[1],
        Matcher::IsDataAt(IsDataAt {
            pos: Value::Lit(1),
            relative: true,
            negated: true
        })
    );
    rej_has(
        "isdataat:1,sideways;",
        "isdataat",
        "invalid isdataat option",
    );
    let s = ok("http.cookie; absent;");
    assert_eq!(s.buffers[0].absent, Some(Absent::Only));
    let s = ok(r#"http.cookie; absent: or_else; content:"a";"#);
    assert_eq!(s.buffers[0].absent, Some(Absent::OrElse));
    rej_has(r#"http.cookie; absent; content:"a";"#, "absent", "or_else");
    rej_has("http.cookie; absent: or_else;", "absent", "needs keywords");
    rej_has("absent;", "absent", "sticky buffer");
}

#[test]
fn byte_keywords_and_variables() {
    let s = ok(
        r#"content:"a"; byte_extract:2,0,len,relative,little; byte_extract:1,1,off; content:"b"; distance:off; within:len; byte_test:4,>,len,off,relative,string,hex; byte_jump:2,off,relative,multiplier 2,align,post_offset -3,bitmask 0x0f; isdataat:len,relative;"#,
    );
    let m = &s.buffers[0].matchers;
    match &m[1] {
        Matcher::ByteExtract(b) => {
            assert_eq!(
                (b.var, b.name.as_str(), b.endian, b.relative),
                (0, "len", Endian::Little, true)
            )
        }
        x => panic!("{x:?}"),
    }
    assert!(matches!(&m[2], Matcher::ByteExtract(b) if b.var == 1));
    let c = content(&s, 0, 3);
    assert_eq!(
        (c.distance, c.within),
        (Some(Value::Var(1)), Some(Value::Var(0)))
    );
    match &m[4] {
        Matcher::ByteTest(t) => {
            assert_eq!(
                (t.op, t.value, t.offset, t.string),
                (ByteOp::Gt, Value::Var(0), Value::Var(1), Some(NumBase::Hex))
            )
        }
        x => panic!("{x:?}"),
    }
    match &m[5] {
        Matcher::ByteJump(j) => {
            assert_eq!(
                (j.multiplier, j.align, j.post_offset, j.bitmask),
                (2, true, -3, Some(0x0f))
            )
        }
        x => panic!("{x:?}"),
    }
    let s = ok("byte_test:1,!=,5,0; byte_test:1,!&,5,0; byte_test:0,>=,8079,0,string,dec;");
    assert!(
        matches!(&s.buffers[0].matchers[0], Matcher::ByteTest(t) if t.negated && t.op == ByteOp::Eq)
    );
    assert!(
        matches!(&s.buffers[0].matchers[1], Matcher::ByteTest(t) if t.negated && t.op == ByteOp::And)
    );
    rej_has("byte_test:9,>,1,0;", "byte_test", "out of range");
    rej_has("byte_test:0,>,1,0;", "byte_test", "out of range");
    rej_has(
        "byte_test:24,>,1,0,string,dec;",
        "byte_test",
        "out of range",
    );
    rej_has("byte_extract:0,0,v,string;", "byte_extract", "out of range");
    assert!(
        matches!(&ok("byte_jump:0,0,from_end;").buffers[0].matchers[0], Matcher::ByteJump(j) if j.from_end && j.bytes == 0)
    );
    rej_has("byte_test:1,~,1,0;", "byte_test", "operator");
    rej_has("byte_test:1,>,nope,0;", "byte_test", "undefined variable");
    rej_has("byte_test:1,>,1;", "byte_test", "needs bytes");
    rej_has(
        "byte_jump:2,0,from_beginning,from_end;",
        "byte_jump",
        "exclude",
    );
    rej_has(
        "byte_extract:1,0,x; byte_extract:1,0,x;",
        "byte_extract",
        "twice",
    );
    rej_has(
        "byte_extract:1,0,9x;",
        "byte_extract",
        "invalid byte_extract variable",
    );
    rej_has("byte_extract:1,0,x,align 3;", "byte_extract", "align");
    rej_has("byte_test:1,>,1,0,hex;", "byte_test", "needs 'string'");
    let s =
        ok(r#"content:"a"; base64_decode:bytes 10, offset 2, relative; base64_data; content:"z";"#);
    assert_eq!(
        s.buffers[0].matchers[1],
        Matcher::Base64Decode(Base64Decode {
            bytes: Some(10),
            offset: 2,
            relative: true
        })
    );
    assert_eq!(s.buffers[1].buffer, Buffer::Base64Data);
    rej_has(
        r#"base64_data; content:"z";"#,
        "base64_data",
        "base64_decode",
    );
}

#[test]
fn relative_keywords_follow_a_legacy_modifier_content() {
    // base64_decode (relative or not) and relative byte keywords inspect the buffer of the
    // content before them, as in Suricata.
    let s = ok(
        r#"content:"arg"; http_uri; base64_decode:bytes 17, offset 1, relative; base64_data; content:"x";"#,
    );
    assert_eq!(s.buffers.len(), 2);
    assert_eq!(s.buffers[0].buffer, Buffer::HttpUri);
    assert!(matches!(s.buffers[0].matchers[1], Matcher::Base64Decode(_)));
    assert_eq!(s.buffers[1].buffer, Buffer::Base64Data);
    let s = ok(r#"content:"a"; http_header; isdataat:2,relative; byte_test:1,>,1,0,relative;"#);
    assert_eq!(s.buffers.len(), 1);
    assert_eq!(s.buffers[0].buffer, Buffer::HttpHeader);
    assert_eq!(s.buffers[0].matchers.len(), 3);
    // Not relative: the payload.
    let s = ok(r#"content:"a"; http_header; isdataat:2; byte_test:1,>,1,0;"#);
    let payload = s.buffers.iter().find(|b| b.buffer == Buffer::Payload);
    assert_eq!(payload.map(|b| b.matchers.len()), Some(2));
    // A payload content keeps relative keywords in the payload.
    let s = ok(r#"content:"a"; isdataat:2,relative;"#);
    assert_eq!(s.buffers.len(), 1);
    assert_eq!(s.buffers[0].buffer, Buffer::Payload);
}

#[test]
fn header_keywords() {
    let s = with_header(
        "alert tcp any any -> any any",
        "dsize:>10; ttl:<5; tos:!0x10; id:7; ip_proto:tcp; fragbits:M+; fragoffset:>0; flags:SA,CE; seq:1; ack:2; window:!1024; tcp.mss:<536; sameip; stream_size:client,>=,100;",
    )
    .unwrap();
    assert_eq!(
        s.packet,
        vec![
            PacketCondition::Dsize(NumCmp::Gt(10)),
            PacketCondition::Ttl(NumCmp::Lt(5)),
            PacketCondition::Tos {
                value: 0x10,
                negated: true
            },
            PacketCondition::IpId(7),
            PacketCondition::IpProto(NumCmp::Eq(6)),
            PacketCondition::FragBits {
                bits: 1,
                mode: FlagMode::All
            },
            PacketCondition::FragOffset(NumCmp::Gt(0)),
            PacketCondition::TcpFlags {
                bits: 0x12,
                mode: FlagMode::Exact,
                ignore: 0xc0
            },
            PacketCondition::TcpSeq(1),
            PacketCondition::TcpAck(2),
            PacketCondition::TcpWindow {
                value: 1024,
                negated: true
            },
            PacketCondition::TcpMss(NumCmp::Lt(536)),
            PacketCondition::SameIp,
            PacketCondition::StreamSize {
                side: StreamSide::Client,
                cmp: NumCmp::Ge(100)
            },
        ]
    );
    let s = with_header(
        "alert icmp any any -> any any",
        "itype:8; icode:0<>3; icmp_id:5; icmp_seq:6;",
    )
    .unwrap();
    assert_eq!(s.packet.len(), 4);
    rej_has("ttl:256;", "ttl", "out of range");
    rej_has("flags:SZ;", "flags", "invalid flag");
    rej_has("stream_size:middle,>,1;", "stream_size", "side");
    rej_has("dsize:;", "dsize", "needs a value");
}

#[test]
fn flow_and_state_keywords() {
    let s = ok("flow:established,to_server,only_stream; flowbits:isset,a|b; flowbits:isnotset,c&d; flowbits:set,e&f; flowbits:unset,g; flowbits:toggle,h; flowint:cnt,+,1; flowint:cnt,>=,other; flowint:x,notset; xbits:set,bad,track ip_src,expire 60;");
    assert_eq!(
        s.flow,
        FlowMatch {
            established: Some(true),
            direction: Some(Direction::ToServer),
            stream: Some(true),
            ..FlowMatch::default()
        }
    );
    assert_eq!(
        s.state[0],
        StateOp::FlowbitIsSet(vec!["a".into(), "b".into()])
    );
    assert_eq!(s.state[1], StateOp::FlowbitIsNotSet(vec!["c".into()]));
    assert_eq!(s.state[2], StateOp::FlowbitIsNotSet(vec!["d".into()]));
    assert_eq!(
        s.state[3],
        StateOp::FlowbitSet(vec!["e".into(), "f".into()])
    );
    assert_eq!(
        s.state[6],
        StateOp::Flowint {
            name: "cnt".into(),
            op: FlowintOp::Add(FlowintValue::Lit(1))
        }
    );
    assert_eq!(
        s.state[7],
        StateOp::Flowint {
            name: "cnt".into(),
            op: FlowintOp::Compare(CmpOp::Ge, FlowintValue::Var("other".into()))
        }
    );
    assert_eq!(
        s.state[9],
        StateOp::Xbits {
            op: XbitOp::Set,
            name: "bad".into(),
            track: XbitTrack::IpSrc,
            expire: Some(60)
        }
    );
    rej_has("flow:to_server,to_client;", "flow", "contradicts");
    rej_has("flow:established,not_established;", "flow", "contradicts");
    rej_has("flow:sideways;", "flow", "invalid flow option");
    rej_has("flowbits:set,a|b;", "flowbits", "'|'");
    rej_has("flowbits:isset,a|b&c;", "flowbits", "mix");
    rej_has("flowbits:frob,a;", "flowbits", "invalid flowbits command");
    rej_has("flowint:x,*,2;", "flowint", "operator");
    rej_has("xbits:set,a;", "xbits", "track");
    rej_has("xbits:set;", "xbits", "needs command");
    rej_has("xbits:set,a,track ip_any;", "xbits", "track");
}

#[test]
fn thresholds_and_events() {
    let s = ok("threshold: type limit, track by_src, count 1, seconds 60;");
    assert_eq!(
        s.threshold,
        Some(Threshold {
            kind: ThresholdKind::Limit,
            track: Track::BySrc,
            count: 1,
            seconds: 60
        })
    );
    let s = ok("detection_filter: track by_dst, count 5, seconds 10;");
    assert_eq!(
        s.detection_filter,
        Some(DetectionFilter {
            track: Track::ByDst,
            count: 5,
            seconds: 10
        })
    );
    rej_has(
        "threshold: type backoff, track by_flow, count 1, multiplier 10;",
        "threshold",
        "backoff",
    );
    rej_has(
        "threshold: type limit, track by_src, count 1;",
        "threshold",
        "seconds",
    );
    rej_has(
        "threshold: type limit, track by_ip, count 1, seconds 1;",
        "threshold",
        "track",
    );
    rej_has(
        "threshold: type limit, track by_src, count 1, seconds 1; detection_filter: track by_src, count 1, seconds 1;",
        "detection_filter",
        "only one",
    );
    let s = with_header(
        "alert pkthdr any any -> any any",
        "decode-event:ipv4.trunc_pkt; stream-event:3whs_ack_in_wrong_dir; app-layer-event:http.request_header_invalid; app-layer-protocol:!http1;",
    )
    .unwrap();
    assert_eq!(
        s.events,
        vec![
            EventMatch::Decode(DecodeEvent::Ipv4TruncPkt),
            EventMatch::Stream(StreamEvent::ThreeWhsAckInWrongDir),
            EventMatch::AppLayer("http.request_header_invalid".into())
        ]
    );
    assert_eq!(
        s.app_layer_protocol,
        Some(AppLayerProtocol {
            proto: AppProtoMatch::Proto(AppProto::Http),
            negated: true
        })
    );
    rej_has(
        "app-layer-protocol:http,final;",
        "app-layer-protocol",
        "modes",
    );
}

/// A rule naming an event or protocol tapwatch does not know is rejected with its sid and a
/// reason, never loaded as a rule that could never match; Suricata's names that tapwatch
/// never detects or raises are told apart from unknown ones.
#[test]
fn unknown_event_and_protocol_names_are_rejected() {
    rej_has(
        "decode-event:ipv4.trunc_pkts;",
        "decode-event",
        "unknown decoder event 'ipv4.trunc_pkts'",
    );
    rej_has(
        "decode-event:decoder.nope;",
        "decode-event",
        "unknown decoder event 'nope'",
    );
    rej_has(
        "stream-event:3whs_ack_in_wrong_direction;",
        "stream-event",
        "unknown stream event '3whs_ack_in_wrong_direction'",
    );
    rej_has(
        "stream-event:wrong_thread;",
        "stream-event",
        "'wrong_thread' is not raised by tapwatch",
    );
    rej_has(
        "app-layer-protocol:gopher;",
        "app-layer-protocol",
        "unknown protocol 'gopher'",
    );
    rej_has(
        "app-layer-protocol:!gopher;",
        "app-layer-protocol",
        "unknown protocol 'gopher'",
    );
    rej_has(
        "app-layer-protocol:modbus;",
        "app-layer-protocol",
        "'modbus' is not detected by tapwatch",
    );
    rej_has(
        "app-layer-event:gopher.bad_request;",
        "app-layer-event",
        "unknown protocol 'gopher'",
    );
    rej_has(
        "app-layer-event:http2.invalid_header;",
        "app-layer-event",
        "'http2' is not detected by tapwatch",
    );
    rej_has(
        "app-layer-event:request_header_invalid;",
        "app-layer-event",
        "names no protocol",
    );
    let r = with_header("alert gopher any any -> any any", "").unwrap_err();
    assert!(r.reason.contains("unknown protocol 'gopher'"), "{r}");
    assert_eq!(r.sid, Some(7), "{r}");
    let r = with_header("alert http2 any any -> any any", "").unwrap_err();
    assert!(
        r.reason.contains("'http2' is not detected by tapwatch"),
        "{r}"
    );
    assert_eq!(r.sid, Some(7), "{r}");
    // Prefixed names, aliases and negated protocols Suricata knows still load.
    let s = ok("decode-event:decoder.ipv6.frag_ignored; stream-event:stream.reassembly_seq_gap; app-layer-protocol:!ikev2;");
    assert_eq!(
        s.events,
        [
            EventMatch::Decode(DecodeEvent::Ipv6FragIgnored),
            EventMatch::Stream(StreamEvent::ReassemblySeqGap)
        ]
    );
    assert_eq!(
        s.app_layer_protocol.map(|p| p.proto),
        Some(AppProtoMatch::Proto(AppProto::Ike))
    );
}

#[test]
fn unsupported_keywords_are_rejected_not_ignored() {
    for (kw, opts) in [
        ("tag", "tag:session,10,packets;"),
        ("asn1", "asn1:oversize_length 100;"),
        ("ftpbounce", "ftpbounce;"),
        ("lua", "lua:script.lua;"),
        ("dataset", "dataset:isset,ua-seen;"),
        ("datarep", "http.host; datarep:h,>=,1,type string;"),
        ("ssl_state", "ssl_state:client_hello;"),
        ("frobnicate", "frobnicate;"),
        ("ipv4-csum", "ipv4-csum:valid;"),
    ] {
        let r = rej(opts);
        assert_eq!(r.keyword.as_deref(), Some(kw), "{r}");
        assert!(!r.reason.is_empty());
    }
}

#[test]
fn header_resolution() {
    let s = with_header(
        "alert tcp $HOME_NET [1024:,!8080] -> $EXTERNAL_NET $HTTP_PORTS",
        "",
    )
    .unwrap();
    assert!(s.header.src.contains("10.0.0.1".parse().unwrap()));
    assert!(!s.header.dst.contains("10.0.0.1".parse().unwrap()));
    assert_eq!(s.header.src_ports.ranges, vec![(1024, 8079), (8081, 65535)]);
    assert_eq!(s.header.dst_ports.ranges, vec![(80, 80)]);
    assert_eq!(s.header.protocol, Protocol::Tcp);
    assert!(!s.header.bidirectional);
    let s = with_header("alert http1 any any <> any any", "").unwrap();
    assert_eq!(s.header.protocol, Protocol::App(AppProto::Http));
    assert!(s.header.bidirectional);
    let r = with_header("alert tcp !any any -> any any", "").unwrap_err();
    assert!(r.reason.contains("!any"), "{r}");
    assert_eq!(r.keyword, None);
    let r = with_header("alert tcp $NOPE any -> any any", "").unwrap_err();
    assert!(r.reason.contains("undefined variable $NOPE"), "{r}");
    let r = with_header("alert frob any any -> any any", "").unwrap_err();
    assert!(r.reason.contains("unknown protocol"), "{r}");
    let r = with_header("alert modbus any any -> any any", "").unwrap_err();
    assert!(r.reason.contains("not detected by tapwatch"), "{r}");
    for p in ["smtp", "ftp", "smb", "ssh", "dcerpc", "tls", "dns", "mdns"] {
        let s = with_header(&format!("alert {p} any any -> any any"), "").unwrap();
        assert_eq!(
            s.header.protocol,
            Protocol::App(AppProto::from_name(p).unwrap())
        );
    }
    let mut opts = LoadOptions::suricata_defaults();
    opts.vars.set("HOME_NET", "[192.0.2.0/24]");
    let rule = parse_rule("alert tcp $HOME_NET any -> $EXTERNAL_NET any (sid:1;)").unwrap();
    let s = lower_rule(&rule, &opts, SourceLocation::default()).unwrap();
    assert!(s.header.src.contains("192.0.2.9".parse().unwrap()));
    assert!(s.header.dst.contains("10.0.0.1".parse().unwrap()));
}

#[test]
fn datasets_follow_the_buffer_and_its_transforms() {
    let s = ok(
        "http.user_agent; to_md5; dataset:isnotset,ua,type md5,state ua.md5; \
                dataset:set,ua; http.uri; content:\"/a\";",
    );
    let ua = &s.buffers[0];
    assert_eq!(ua.buffer, Buffer::HttpUserAgent);
    assert_eq!(ua.transforms, vec![Transform::ToMd5]);
    let ops: Vec<DatasetOp> = ua
        .matchers
        .iter()
        .filter_map(|m| match m {
            Matcher::Dataset(d) => Some(d.op),
            _ => None,
        })
        .collect();
    assert_eq!(ops, vec![DatasetOp::IsNotSet, DatasetOp::Set]);
    rej_has("dataset:isset,ua,type string;", "dataset", "sticky buffers");
    rej_has(
        "content:\"a\"; datarep:r,>,1,type string;",
        "datarep",
        "sticky buffers",
    );
    let s = ok("iprep:src,BadHosts,>,30; iprep:dst,x,isset;");
    assert_eq!(s.iprep.len(), 2);
    assert_eq!(s.iprep[0].side, IpRepSide::Src);
    assert!(s.buffers.is_empty() && s.packet.is_empty());
}

#[test]
fn mqtt_keywords() {
    let m = |opts: &str| {
        with_header("alert mqtt any any -> any any", opts).unwrap_or_else(|r| panic!("{opts}: {r}"))
    };
    for (kw, b) in [
        ("mqtt.connect.clientid", Buffer::MqttConnectClientId),
        ("mqtt.connect.username", Buffer::MqttConnectUsername),
        ("mqtt.connect.password", Buffer::MqttConnectPassword),
        (
            "mqtt.connect.protocol_string",
            Buffer::MqttConnectProtocolString,
        ),
        ("mqtt.connect.willtopic", Buffer::MqttConnectWillTopic),
        ("mqtt.connect.willmessage", Buffer::MqttConnectWillMessage),
        ("mqtt.publish.topic", Buffer::MqttPublishTopic),
        ("mqtt.publish.message", Buffer::MqttPublishMessage),
        ("mqtt.subscribe.topic", Buffer::MqttSubscribeTopic),
        ("mqtt.unsubscribe.topic", Buffer::MqttUnsubscribeTopic),
    ] {
        let s = m(&format!(r#"{kw}; content:"x";"#));
        assert_eq!(s.buffers[0].buffer, b);
        assert_eq!(b.name(), kw);
        assert_eq!(b.is_multi(), kw.contains("subscribe"), "{kw}");
    }
    let s = m("mqtt.type:CONNACK; mqtt.reason_code:134;");
    assert_eq!(s.buffers[0].buffer, Buffer::MqttType);
    assert_eq!(s.buffers[0].matchers, vec![Matcher::Uint(NumCmp::Eq(2))]);
    assert_eq!(s.buffers[1].matchers, vec![Matcher::Uint(NumCmp::Eq(134))]);
    let s = m("mqtt.type:!publish;");
    assert_eq!(s.buffers[0].matchers, vec![Matcher::Uint(NumCmp::Ne(3))]);
    let s = m("mqtt.type:14;");
    assert_eq!(s.buffers[0].matchers, vec![Matcher::Uint(NumCmp::Eq(14))]);
    let s = m("mqtt.flags: !retain,!dup;");
    assert_eq!(
        s.buffers[0].matchers,
        vec![Matcher::Uint(NumCmp::Bits { mask: 9, want: 0 })]
    );
    let s = m("mqtt.connect.flags:username,password,!will;");
    assert_eq!(s.buffers[0].buffer, Buffer::MqttConnectFlags);
    assert_eq!(
        s.buffers[0].matchers,
        vec![Matcher::Uint(NumCmp::Bits {
            mask: 0xc4,
            want: 0xc0
        })]
    );
    let s = m("mqtt.connack.session_present:true; mqtt.protocol_version:>=4; mqtt.qos:1;");
    assert_eq!(s.buffers[0].matchers, vec![Matcher::Uint(NumCmp::Eq(1))]);
    assert_eq!(s.buffers[1].matchers, vec![Matcher::Uint(NumCmp::Ge(4))]);
    assert_eq!(s.buffers[2].buffer, Buffer::MqttQos);
    let s = m("mqtt.connack.return_code:5;");
    assert_eq!(s.buffers[0].buffer, Buffer::MqttReasonCode);
    let r = |opts: &str, kw: &str, text: &str| {
        let e = with_header("alert mqtt any any -> any any", opts).unwrap_err();
        assert!(
            e.keyword.as_deref() == Some(kw) && e.reason.contains(text),
            "{opts}: {e:?}"
        );
    };
    r("mqtt.type:HELLO;", "mqtt.type", "unknown MQTT packet type");
    r("mqtt.flags:dup,bogus;", "mqtt.flags", "unknown flag");
    r("mqtt.flags:dup,!dup;", "mqtt.flags", "twice");
    r(
        "mqtt.connack.session_present:maybe;",
        "mqtt.connack.session_present",
        "expected",
    );
    r("mqtt.qos:256;", "mqtt.qos", "out of range");
    assert!(NumCmp::Bits { mask: 9, want: 8 }.matches(0x0a));
    assert!(!NumCmp::Bits { mask: 9, want: 8 }.matches(0x09));
    // `app-layer-event:mqtt.*` names a detected protocol now.
    m("app-layer-event:mqtt.missing_connect;");
}
