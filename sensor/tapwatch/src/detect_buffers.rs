//! Inspection buffers of application-layer records, in Suricata's formats.

use tapwatch_detect::{Buffers, Engine};
use tapwatch_http::{Header, HttpTransaction};
use tapwatch_rules::{Buffer, FlowDirection};
use tapwatch_tls::TlsInfo;

const TS: FlowDirection = FlowDirection::ToServer;
const TC: FlowDirection = FlowDirection::ToClient;

/// `Name: value\r\n` per header (`http.header`, also `http.header.raw` as far as the parser
/// keeps it).
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

/// The buffers of an HTTP transaction that the engine's rules use.
pub(crate) fn http(engine: &Engine, tx: &HttpTransaction, b: &mut Buffers) {
    let uses = |x: Buffer| engine.uses_buffer(x);
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
        headers(engine, &req.headers, TS, b);
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
        for (buf, name) in [
            (Buffer::HttpUserAgent, "user-agent"),
            (Buffer::HttpCookie, "cookie"),
            (Buffer::HttpReferer, "referer"),
            (Buffer::HttpAccept, "accept"),
            (Buffer::HttpAcceptEnc, "accept-encoding"),
            (Buffer::HttpAcceptLang, "accept-language"),
        ] {
            if uses(buf) {
                if let Some(v) = find(&req.headers, name) {
                    b.push(buf, TS, v);
                }
            }
        }
        if !req.body.is_empty() {
            if uses(Buffer::HttpRequestBody) {
                b.push(Buffer::HttpRequestBody, TS, &req.body);
            }
            if uses(Buffer::FileData) {
                b.push(Buffer::FileData, TS, &req.body);
            }
        }
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
        headers(engine, &resp.headers, TC, b);
        for (buf, name) in [
            (Buffer::HttpLocation, "location"),
            (Buffer::HttpServer, "server"),
        ] {
            if uses(buf) {
                if let Some(v) = find(&resp.headers, name) {
                    b.push(buf, TC, v);
                }
            }
        }
        if !resp.body.is_empty() {
            if uses(Buffer::HttpResponseBody) {
                b.push(Buffer::HttpResponseBody, TC, &resp.body);
            }
            if uses(Buffer::FileData) {
                b.push(Buffer::FileData, TC, &resp.body);
            }
        }
    }
}

/// Header-derived buffers present on both sides.
fn headers(engine: &Engine, headers: &[Header], dir: FlowDirection, b: &mut Buffers) {
    let uses = |x: Buffer| engine.uses_buffer(x);
    if headers.is_empty() {
        return;
    }
    if uses(Buffer::HttpHeader) {
        b.push_with(Buffer::HttpHeader, dir, |o| header_block(headers, o));
    }
    if uses(Buffer::HttpHeaderRaw) {
        b.push_with(Buffer::HttpHeaderRaw, dir, |o| {
            header_block(headers, o);
            o.extend_from_slice(b"\r\n");
        });
    }
    if uses(Buffer::HttpHeaderNames) {
        b.push_with(Buffer::HttpHeaderNames, dir, |o| header_names(headers, o));
    }
    let multi = match dir {
        FlowDirection::ToServer => Buffer::HttpRequestHeader,
        FlowDirection::ToClient => Buffer::HttpResponseHeader,
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
pub(crate) fn tls(info: &TlsInfo, b: &mut Buffers) {
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
