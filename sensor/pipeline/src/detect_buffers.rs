//! Inspection buffers of application-layer records, in Suricata's formats.

use tapwatch_common::Direction;
use tapwatch_detect::{Buffers, Engine};
use tapwatch_dns::DnsMessage;
use tapwatch_http::{Header, HttpTransaction};
use tapwatch_rules::Buffer;
use tapwatch_tls::TlsInfo;

const TS: Direction = Direction::ToServer;
const TC: Direction = Direction::ToClient;

/// `Name: value\r\n` per header (`http.header`; also `http.header.raw` for a message whose
/// raw header block was not kept).
fn header_block(headers: &[Header], out: &mut Vec<u8>) {
    for h in headers {
        out.extend_from_slice(&h.name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(&h.value);
        out.extend_from_slice(b"\r\n");
    }
}

/// `\r\nName\r\nName\r\n\r\n` (`http.header_names`).
fn header_names(headers: &[Header], out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
    for h in headers {
        out.extend_from_slice(&h.name);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

fn find<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
        .map(|h| h.value.as_slice())
}

/// The name buffers of one DNS message travelling in `dir`: `dns.query` (each question; the
/// engine inspects it on requests only) and, in requests and responses alike, as Suricata 8,
/// `dns.queries.rrname`, `dns.answers.rrname`, `dns.authorities.rrname` and
/// `dns.additionals.rrname`, one instance per record; and the header's opcode and rcode as
/// one-byte value buffers (`dns.opcode`, `dns.rcode`).
pub(crate) fn dns(engine: &Engine, msg: &DnsMessage, dir: Direction, b: &mut Buffers) {
    if engine.uses_buffer(Buffer::DnsOpcode) {
        b.push(Buffer::DnsOpcode, dir, &[msg.opcode]);
    }
    if engine.uses_buffer(Buffer::DnsRcode) {
        b.push(Buffer::DnsRcode, dir, &[msg.rcode]);
    }
    for q in &msg.queries {
        b.push(Buffer::DnsQuery, dir, &q.name);
        if engine.uses_buffer(Buffer::DnsQueriesName) {
            b.push_same(Buffer::DnsQueriesName, dir);
        }
    }
    for (buffer, records) in [
        (Buffer::DnsAnswerName, &msg.answers),
        (Buffer::DnsAuthorityName, &msg.authorities),
        (Buffer::DnsAdditionalName, &msg.additionals),
    ] {
        if engine.uses_buffer(buffer) {
            for r in records {
                b.push(buffer, dir, &r.name);
            }
        }
    }
}

/// The buffers of an HTTP transaction that the engine's rules use.
pub(crate) fn http(engine: &Engine, tx: &HttpTransaction, b: &mut Buffers) {
    let uses = |x: Buffer| engine.uses_buffer(x);
    if uses(Buffer::FileName) {
        // Each file's name, in the direction the file travelled (`file.name`, `filename`,
        // `fileext`).
        for f in &tx.files {
            b.push(Buffer::FileName, f.direction, &f.filename);
        }
    }
    if uses(Buffer::FileSize) {
        for f in &tx.files {
            b.push(Buffer::FileSize, f.direction, &f.size.to_be_bytes());
        }
    }
    if let Some(req) = &tx.request {
        if uses(Buffer::HttpMethod) {
            b.push(Buffer::HttpMethod, TS, &req.method);
        }
        if uses(Buffer::HttpUri) {
            b.push(Buffer::HttpUri, TS, &req.uri_normalized);
        }
        if uses(Buffer::HttpUriRaw) {
            b.push(Buffer::HttpUriRaw, TS, &req.uri_raw);
        }
        if uses(Buffer::HttpProtocol) && !req.protocol.is_empty() {
            b.push(Buffer::HttpProtocol, TS, &req.protocol);
        }
        if uses(Buffer::HttpRequestLine) {
            b.push_with(Buffer::HttpRequestLine, TS, |o| {
                o.extend_from_slice(&req.method);
                o.push(b' ');
                o.extend_from_slice(&req.uri_raw);
                if !req.protocol.is_empty() {
                    o.push(b' ');
                    o.extend_from_slice(&req.protocol);
                }
            });
        }
        if uses(Buffer::HttpStart) {
            b.push_with(Buffer::HttpStart, TS, |o| {
                o.extend_from_slice(&req.method);
                o.push(b' ');
                o.extend_from_slice(&req.uri_raw);
                if !req.protocol.is_empty() {
                    o.push(b' ');
                    o.extend_from_slice(&req.protocol);
                }
                o.extend_from_slice(b"\r\n");
                header_block(&req.headers, o);
                o.extend_from_slice(b"\r\n");
            });
        }
        headers(engine, &req.headers, &req.headers_raw, TS, b);
        if uses(Buffer::HttpHost) {
            if let Some(h) = find(&req.headers, "host") {
                b.push_with(Buffer::HttpHost, TS, |o| {
                    let host = strip_port(h);
                    o.extend(host.iter().map(u8::to_ascii_lowercase));
                });
            }
        }
        if uses(Buffer::HttpHostRaw) {
            if let Some(h) = find(&req.headers, "host") {
                b.push(Buffer::HttpHostRaw, TS, h);
            }
        }
        named_headers(
            engine,
            &req.headers,
            &[
                (Buffer::HttpUserAgent, "user-agent"),
                (Buffer::HttpCookie, "cookie"),
                (Buffer::HttpReferer, "referer"),
                (Buffer::HttpAccept, "accept"),
                (Buffer::HttpAcceptEnc, "accept-encoding"),
                (Buffer::HttpAcceptLang, "accept-language"),
            ],
            TS,
            b,
        );
        body(engine, &req.body, Buffer::HttpRequestBody, TS, b);
    }
    if let Some(resp) = &tx.response {
        if uses(Buffer::HttpStatCode) && !resp.status_raw.is_empty() {
            b.push(Buffer::HttpStatCode, TC, &resp.status_raw);
        }
        if uses(Buffer::HttpStatMsg) && !resp.reason.is_empty() {
            b.push(Buffer::HttpStatMsg, TC, &resp.reason);
        }
        let line = |o: &mut Vec<u8>| {
            o.extend_from_slice(&resp.protocol);
            o.push(b' ');
            o.extend_from_slice(&resp.status_raw);
            if !resp.reason.is_empty() {
                o.push(b' ');
                o.extend_from_slice(&resp.reason);
            }
        };
        if uses(Buffer::HttpResponseLine) {
            b.push_with(Buffer::HttpResponseLine, TC, line);
        }
        if uses(Buffer::HttpStart) {
            b.push_with(Buffer::HttpStart, TC, |o| {
                line(o);
                o.extend_from_slice(b"\r\n");
                header_block(&resp.headers, o);
                o.extend_from_slice(b"\r\n");
            });
        }
        if uses(Buffer::HttpProtocol) && !resp.protocol.is_empty() {
            b.push(Buffer::HttpProtocol, TC, &resp.protocol);
        }
        headers(engine, &resp.headers, &resp.headers_raw, TC, b);
        named_headers(
            engine,
            &resp.headers,
            &[
                (Buffer::HttpLocation, "location"),
                (Buffer::HttpServer, "server"),
            ],
            TC,
            b,
        );
        body(engine, &resp.body, Buffer::HttpResponseBody, TC, b);
    }
}

/// The buffers that are one header's value each (`http.user_agent`, `http.server`...), for
/// the rules that use them.
fn named_headers(
    engine: &Engine,
    headers: &[Header],
    wanted: &[(Buffer, &str)],
    dir: Direction,
    b: &mut Buffers,
) {
    for &(buf, name) in wanted {
        if engine.uses_buffer(buf) {
            if let Some(v) = find(headers, name) {
                b.push(buf, dir, v);
            }
        }
    }
}

/// A message body as its side's own buffer (`http.request_body` or `http.response_body`) and
/// as `file.data`, when not empty: one copy with two names, which the engine's prefilter
/// scans once for both (`tapwatch_detect`'s build, `scanned_as`).
fn body(engine: &Engine, body: &[u8], own: Buffer, dir: Direction, b: &mut Buffers) {
    let file_data = engine.uses_buffer(Buffer::FileData);
    if body.is_empty() || !(file_data || engine.uses_buffer(own)) {
        return;
    }
    b.push(own, dir, body);
    if file_data {
        b.push_same(Buffer::FileData, dir);
    }
}

/// Header-derived buffers present on both sides; `raw` is the header block as received
/// (`http.header.raw`: the lines with their own whitespace and terminators, and the empty
/// line that ends the block).
fn headers(engine: &Engine, headers: &[Header], raw: &[u8], dir: Direction, b: &mut Buffers) {
    let uses = |x: Buffer| engine.uses_buffer(x);
    if headers.is_empty() {
        return;
    }
    if uses(Buffer::HttpHeader) {
        b.push_with(Buffer::HttpHeader, dir, |o| header_block(headers, o));
    }
    if uses(Buffer::HttpHeaderRaw) {
        if raw.is_empty() {
            b.push_with(Buffer::HttpHeaderRaw, dir, |o| {
                header_block(headers, o);
                o.extend_from_slice(b"\r\n");
            });
        } else {
            b.push(Buffer::HttpHeaderRaw, dir, raw);
        }
    }
    if uses(Buffer::HttpHeaderNames) {
        b.push_with(Buffer::HttpHeaderNames, dir, |o| header_names(headers, o));
    }
    let multi = match dir {
        Direction::ToServer => Buffer::HttpRequestHeader,
        Direction::ToClient => Buffer::HttpResponseHeader,
    };
    if uses(multi) {
        for h in headers {
            b.push_with(multi, dir, |o| {
                o.extend_from_slice(&h.name);
                o.extend_from_slice(b": ");
                o.extend_from_slice(&h.value);
            });
        }
    }
    for (buf, name) in [
        (Buffer::HttpContentType, "content-type"),
        (Buffer::HttpContentLen, "content-length"),
        (Buffer::HttpConnection, "connection"),
    ] {
        if uses(buf) {
            if let Some(v) = find(headers, name) {
                b.push(buf, dir, v);
            }
        }
    }
}

/// A Host value without its `:port` (IPv6 literals in brackets keep their colons).
fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        return match host.iter().position(|&c| c == b']') {
            Some(end) => host.get(..=end).unwrap_or(host),
            None => host,
        };
    }
    match host.iter().rposition(|&c| c == b':') {
        Some(i) => host.get(..i).unwrap_or(host),
        None => host,
    }
}

/// The buffers of a TLS handshake.
pub(crate) fn tls(engine: &Engine, info: &TlsInfo, b: &mut Buffers) {
    if let Some(sni) = &info.sni {
        b.push(Buffer::TlsSni, TS, sni);
    }
    if let Some(ja3) = &info.ja3 {
        b.push(Buffer::Ja3Hash, TS, ja3.hash.as_bytes());
        b.push(Buffer::Ja3String, TS, ja3.string.as_bytes());
    }
    if let Some(ja4) = &info.ja4 {
        b.push(Buffer::Ja4Hash, TS, ja4.as_bytes());
    }
    if let Some(ja3s) = &info.ja3s {
        b.push(Buffer::Ja3sHash, TC, ja3s.hash.as_bytes());
        b.push(Buffer::Ja3sString, TC, ja3s.string.as_bytes());
    }
    // `tls.alpn`: the client's offers to the server, the server's choice to the client.
    if engine.uses_buffer(Buffer::TlsAlpn) {
        for p in &info.client_alpns {
            b.push(Buffer::TlsAlpn, TS, p);
        }
        for p in &info.server_alpns {
            b.push(Buffer::TlsAlpn, TC, p);
        }
    }
    // `tls.subjectaltname`: the server certificate's names, as EVE writes them.
    if engine.uses_buffer(Buffer::TlsSubjectAltName) {
        if let Some(cert) = info.certificates.first() {
            for san in &cert.sans {
                b.push(Buffer::TlsSubjectAltName, TC, san.as_bytes());
            }
        }
    }
    // `tls.random`, `tls.random_time` (first 4 bytes), `tls.random_bytes` (last 28): the
    // client's random to the server, the server's to the client.
    for (random, dir) in [(&info.client_random, TS), (&info.server_random, TC)] {
        if let Some(r) = random {
            for (buffer, part) in [
                (Buffer::TlsRandom, &r[..]),
                (Buffer::TlsRandomTime, r.get(..4).unwrap_or_default()),
                (Buffer::TlsRandomBytes, r.get(4..).unwrap_or_default()),
            ] {
                if engine.uses_buffer(buffer) {
                    b.push(buffer, dir, part);
                }
            }
        }
    }
    // `tls.cert_chain_len`: once the server's Certificate message was parsed.
    if let Some(n) = info.server_chain_len {
        if engine.uses_buffer(Buffer::TlsCertChainLen) {
            b.push(Buffer::TlsCertChainLen, TC, &n.to_be_bytes());
        }
    }
    // `tls.certs`: each DER certificate of the server's chain, leaf first.
    if engine.uses_buffer(Buffer::TlsCerts) {
        for cert in &info.certificates {
            b.push(Buffer::TlsCerts, TC, &cert.der);
        }
    }
    if let Some(cert) = info.certificates.first() {
        b.push(Buffer::TlsCertSubject, TC, cert.subject.as_bytes());
        b.push(Buffer::TlsCertIssuer, TC, cert.issuer.as_bytes());
        b.push(Buffer::TlsCertSerial, TC, cert.serial.as_bytes());
        b.push(
            Buffer::TlsCertFingerprint,
            TC,
            cert.fingerprint_sha1.as_bytes(),
        );
    }
}

/// The buffers of an MQTT transaction that the engine's rules use, all under the to-server
/// direction (the engine inspects MQTT's buffers on a transaction's to-server side, whatever
/// the packets' own directions, as Suricata does): the CONNECT's strings, flags and
/// protocol level, the PUBLISH's topic and message, each SUBSCRIBE and UNSUBSCRIBE topic,
/// and per packet its type, DUP/RETAIN bits, QoS and reason codes (value buffers of one
/// byte; `mqtt.type`, `mqtt.flags`, `mqtt.qos` and `mqtt.reason_code` match when any packet
/// of the transaction does).
pub(crate) fn mqtt(engine: &Engine, tx: &tapwatch_mqtt::MqttTransaction, b: &mut Buffers) {
    use tapwatch_mqtt::Body;
    let uses = |x: Buffer| engine.uses_buffer(x);
    for msg in &tx.messages {
        let h = &msg.header;
        if uses(Buffer::MqttType) {
            b.push(Buffer::MqttType, TS, &[h.kind.code()]);
        }
        if uses(Buffer::MqttFlags) {
            b.push(Buffer::MqttFlags, TS, &[h.flag_bits()]);
        }
        if uses(Buffer::MqttQos) {
            b.push(Buffer::MqttQos, TS, &[h.qos]);
        }
        if uses(Buffer::MqttReasonCode) {
            for code in msg.reason_codes() {
                b.push(Buffer::MqttReasonCode, TS, &[code]);
            }
        }
        match &msg.body {
            Body::Connect(c) => {
                if uses(Buffer::MqttProtocolVersion) {
                    b.push(Buffer::MqttProtocolVersion, TS, &[c.protocol_version]);
                }
                if uses(Buffer::MqttConnectFlags) {
                    b.push(Buffer::MqttConnectFlags, TS, &[c.flags]);
                }
                let strings = [
                    (Buffer::MqttConnectProtocolString, Some(&c.protocol_string)),
                    (Buffer::MqttConnectClientId, Some(&c.client_id)),
                    (Buffer::MqttConnectUsername, c.username.as_ref()),
                    (Buffer::MqttConnectPassword, c.password.as_ref()),
                    (Buffer::MqttConnectWillTopic, c.will_topic.as_ref()),
                    (Buffer::MqttConnectWillMessage, c.will_message.as_ref()),
                ];
                for (buffer, value) in strings {
                    if let Some(v) = value.filter(|_| uses(buffer)) {
                        b.push(buffer, TS, v);
                    }
                }
            }
            Body::Connack(c) if uses(Buffer::MqttConnackSessionPresent) => {
                b.push(
                    Buffer::MqttConnackSessionPresent,
                    TS,
                    &[u8::from(c.session_present)],
                );
            }
            Body::Publish(p) => {
                if uses(Buffer::MqttPublishTopic) {
                    b.push(Buffer::MqttPublishTopic, TS, &p.topic);
                }
                if uses(Buffer::MqttPublishMessage) {
                    b.push(Buffer::MqttPublishMessage, TS, &p.message);
                }
            }
            Body::Subscribe(s) if uses(Buffer::MqttSubscribeTopic) => {
                for (topic, _) in &s.topics {
                    b.push(Buffer::MqttSubscribeTopic, TS, topic);
                }
            }
            Body::Unsubscribe(u) if uses(Buffer::MqttUnsubscribeTopic) => {
                for topic in &u.topics {
                    b.push(Buffer::MqttUnsubscribeTopic, TS, topic);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapwatch_detect::EngineConfig;
    use tapwatch_http::{Request, Response};
    use tapwatch_rules::{load_rules_text, LoadOptions, LoadReport};
    use tapwatch_tls::CertInfo;

    fn engine(rules: &str) -> Engine {
        let mut report = LoadReport::default();
        load_rules_text(
            "t.rules",
            rules,
            &LoadOptions::suricata_defaults(),
            &mut report,
        );
        assert!(report.rejections.is_empty(), "{:?}", report.rejections);
        Engine::build(report.signatures, &EngineConfig::default())
            .expect("build")
            .0
    }

    fn cert(der: &[u8]) -> CertInfo {
        CertInfo {
            subject: "CN=a".into(),
            issuer: "CN=b".into(),
            serial: "01".into(),
            fingerprint_sha1: String::new(),
            not_before: String::new(),
            not_after: String::new(),
            sans: Vec::new(),
            der_len: der.len(),
            der: der.to_vec(),
        }
    }

    #[test]
    fn tls_certs_holds_each_der_certificate_when_rules_use_it() {
        let info = TlsInfo {
            certificates: vec![cert(b"leaf-der"), cert(b"ca-der")],
            ..TlsInfo::default()
        };
        let mut b = Buffers::new();
        tls(
            &engine(r#"alert tls any any -> any any (tls.certs; content:"ca-"; sid:1;)"#),
            &info,
            &mut b,
        );
        let certs: Vec<&[u8]> = b.get(Buffer::TlsCerts, TC).collect();
        assert_eq!(certs, vec![&b"leaf-der"[..], &b"ca-der"[..]]);
        assert!(!b.has(Buffer::TlsCerts, TS));
        // Not filled when no rule inspects it.
        let mut b = Buffers::new();
        tls(
            &engine(r#"alert tls any any -> any any (tls.sni; content:"x"; sid:1;)"#),
            &info,
            &mut b,
        );
        assert!(!b.has(Buffer::TlsCerts, TC));
    }

    #[test]
    fn tls_alpn_and_subjectaltname_hold_one_instance_per_name() {
        let mut leaf = cert(b"leaf-der");
        leaf.sans = vec!["example.com".into(), "*.example.com".into()];
        let mut ca = cert(b"ca-der");
        ca.sans = vec!["ca.example".into()];
        let info = TlsInfo {
            client_alpns: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            server_alpns: vec![b"h2".to_vec()],
            certificates: vec![leaf, ca],
            server_chain_len: Some(3),
            client_random: Some(std::array::from_fn(|i| i as u8)),
            ..TlsInfo::default()
        };
        let e = engine(
            r#"alert tls any any -> any any (tls.alpn; content:"h2"; sid:1;)
alert tls any any -> any any (tls.subjectaltname; content:"example"; sid:2;)"#,
        );
        let mut b = Buffers::new();
        tls(&e, &info, &mut b);
        let get = |x: Buffer, d: Direction| b.get(x, d).collect::<Vec<&[u8]>>();
        assert_eq!(get(Buffer::TlsAlpn, TS), vec![&b"h2"[..], &b"http/1.1"[..]]);
        assert_eq!(get(Buffer::TlsAlpn, TC), vec![&b"h2"[..]]);
        assert_eq!(
            get(Buffer::TlsSubjectAltName, TC),
            vec![&b"example.com"[..], &b"*.example.com"[..]]
        );
        assert!(!b.has(Buffer::TlsSubjectAltName, TS));
        let e = engine(r#"alert tls any any -> any any (tls.cert_chain_len:>2; sid:1;)"#);
        let mut b = Buffers::new();
        tls(&e, &info, &mut b);
        let len: Vec<&[u8]> = b.get(Buffer::TlsCertChainLen, TC).collect();
        assert_eq!(len, vec![&[0u8, 0, 0, 3][..]]);
        let e = engine(
            r#"alert tls any any -> any any (tls.random; content:"x"; sid:1;)
alert tls any any -> any any (tls.random_time; content:"x"; sid:2;)
alert tls any any -> any any (tls.random_bytes; content:"x"; sid:3;)"#,
        );
        let mut b = Buffers::new();
        tls(&e, &info, &mut b);
        let all: Vec<u8> = (0..32).collect();
        assert_eq!(
            b.get(Buffer::TlsRandom, TS).collect::<Vec<_>>(),
            vec![&all[..]]
        );
        assert_eq!(
            b.get(Buffer::TlsRandomTime, TS).collect::<Vec<_>>(),
            vec![&all[..4]]
        );
        assert_eq!(
            b.get(Buffer::TlsRandomBytes, TS).collect::<Vec<_>>(),
            vec![&all[4..]]
        );
        // No ServerHello, no server random.
        assert!(!b.has(Buffer::TlsRandom, TC));
        let mut b = Buffers::new();
        tls(
            &engine(r#"alert tls any any -> any any (tls.sni; content:"x"; sid:1;)"#),
            &info,
            &mut b,
        );
        assert!(!b.has(Buffer::TlsAlpn, TS) && !b.has(Buffer::TlsSubjectAltName, TC));
    }

    #[test]
    fn file_names_are_one_instance_per_file_in_its_direction() {
        let e = engine(r#"alert http any any -> any any (filename:"a"; filesize:>0; sid:1;)"#);
        let file = |name: &[u8], direction| tapwatch_http::FileInfo {
            filename: name.to_vec(),
            direction,
            gaps: false,
            state: tapwatch_http::FileState::Closed,
            md5: None,
            sha1: None,
            sha256: None,
            stored: false,
            size: 1,
            tx_id: 0,
        };
        let tx = HttpTransaction {
            files: vec![file(b"/up", TS), file(b"a.txt", TC), file(b"b.txt", TC)],
            ..HttpTransaction::default()
        };
        let mut b = Buffers::new();
        http(&e, &tx, &mut b);
        let tc: Vec<&[u8]> = b.get(Buffer::FileName, TC).collect();
        assert_eq!(tc, vec![&b"a.txt"[..], &b"b.txt"[..]]);
        let ts: Vec<&[u8]> = b.get(Buffer::FileName, TS).collect();
        assert_eq!(ts, vec![&b"/up"[..]]);
        let sizes: Vec<&[u8]> = b.get(Buffer::FileSize, TC).collect();
        assert_eq!(
            sizes,
            vec![&1u64.to_be_bytes()[..], &1u64.to_be_bytes()[..]]
        );
    }

    #[test]
    fn http_header_raw_is_the_block_as_received() {
        let e = engine(
            r#"alert http any any -> any any (http.header.raw; content:"Server:  "; sid:1;)"#,
        );
        let tx = HttpTransaction {
            request: Some(Request::default()),
            response: Some(Response {
                headers: vec![Header {
                    name: b"Server".to_vec(),
                    value: b"Yx(".to_vec(),
                }],
                headers_raw: b"Server:       Yx(\r\n\r\n".to_vec(),
                ..Response::default()
            }),
            ..HttpTransaction::default()
        };
        let mut b = Buffers::new();
        http(&e, &tx, &mut b);
        let raw: Vec<&[u8]> = b.get(Buffer::HttpHeaderRaw, TC).collect();
        assert_eq!(raw, vec![&b"Server:       Yx(\r\n\r\n"[..]]);
        // A message whose raw block was not kept falls back to the normalised lines.
        let mut tx = tx;
        if let Some(r) = tx.response.as_mut() {
            r.headers_raw.clear();
        }
        let mut b = Buffers::new();
        http(&e, &tx, &mut b);
        let raw: Vec<&[u8]> = b.get(Buffer::HttpHeaderRaw, TC).collect();
        assert_eq!(raw, vec![&b"Server: Yx(\r\n\r\n"[..]]);
    }

    fn rr(name: &[u8]) -> tapwatch_dns::ResourceRecord {
        tapwatch_dns::ResourceRecord {
            name: name.to_vec(),
            rrtype: 1,
            rrclass: 1,
            ttl: 60,
            data: tapwatch_dns::RData::A(std::net::Ipv4Addr::LOCALHOST),
        }
    }

    #[test]
    fn dns_names_fill_one_instance_per_record_in_the_message_direction() {
        let msg = DnsMessage {
            id: 1,
            flags: 0x8180,
            response: true,
            opcode: 0,
            rcode: 0,
            queries: vec![tapwatch_dns::Question {
                name: b"a.example".to_vec(),
                rrtype: 1,
                rrclass: 1,
            }],
            answers: vec![rr(b"a.example"), rr(b"b.example")],
            authorities: vec![rr(b"example")],
            additionals: vec![rr(b"ns1.example")],
        };
        let e = engine(
            r#"alert dns any any -> any any (dns.queries.rrname; content:"x"; sid:1;)
alert dns any any -> any any (dns.answers.rrname; content:"x"; sid:2;)
alert dns any any -> any any (dns.authorities.rrname; content:"x"; sid:3;)
alert dns any any -> any any (dns.additionals.rrname; content:"x"; sid:4;)"#,
        );
        let mut b = Buffers::new();
        dns(&e, &msg, TC, &mut b);
        let get = |x: Buffer| b.get(x, TC).collect::<Vec<&[u8]>>();
        assert_eq!(get(Buffer::DnsQuery), vec![&b"a.example"[..]]);
        assert_eq!(get(Buffer::DnsQueriesName), vec![&b"a.example"[..]]);
        assert_eq!(
            get(Buffer::DnsAnswerName),
            vec![&b"a.example"[..], &b"b.example"[..]]
        );
        assert_eq!(get(Buffer::DnsAuthorityName), vec![&b"example"[..]]);
        assert_eq!(get(Buffer::DnsAdditionalName), vec![&b"ns1.example"[..]]);
        assert!(!b.has(Buffer::DnsAnswerName, TS));
        assert!(!b.has(Buffer::DnsOpcode, TC));
        let e = engine(r#"alert dns any any -> any any (dns.opcode:4; dns.rcode:!0; sid:1;)"#);
        let msg = DnsMessage {
            opcode: 4,
            rcode: 3,
            ..msg
        };
        let mut b = Buffers::new();
        dns(&e, &msg, TC, &mut b);
        assert_eq!(
            b.get(Buffer::DnsOpcode, TC).collect::<Vec<_>>(),
            vec![&[4u8][..]]
        );
        assert_eq!(
            b.get(Buffer::DnsRcode, TC).collect::<Vec<_>>(),
            vec![&[3u8][..]]
        );
        // Only what the rules use is filled (`dns.query` always is).
        let e = engine(r#"alert dns any any -> any any (dns.query; content:"x"; sid:1;)"#);
        let mut b = Buffers::new();
        dns(&e, &msg, TS, &mut b);
        assert!(b.has(Buffer::DnsQuery, TS));
        assert!(!b.has(Buffer::DnsQueriesName, TS) && !b.has(Buffer::DnsAnswerName, TS));
    }
}
