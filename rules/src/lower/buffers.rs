//! Sticky buffers, legacy content modifiers and transforms.

use super::num::{uint, uint_cmp};
use super::{Ctx, Cursor};
use crate::parse::strings::{unquote, unquote_negatable};
use crate::signature::{Base64Mode, Buffer, Content, Matcher, NumCmp, Transform};

/// The sticky buffer a keyword selects (dotted names and their legacy aliases).
pub(crate) fn sticky(name: &str) -> Option<Buffer> {
    Some(match name {
        "file.data" | "file_data" => Buffer::FileData,
        "file.name" => Buffer::FileName,
        "http.uri" => Buffer::HttpUri,
        "http.uri.raw" => Buffer::HttpUriRaw,
        "http.method" => Buffer::HttpMethod,
        "http.protocol" | "http_protocol" => Buffer::HttpProtocol,
        "http.request_line" | "http_request_line" => Buffer::HttpRequestLine,
        "http.response_line" | "http_response_line" => Buffer::HttpResponseLine,
        "http.stat_code" => Buffer::HttpStatCode,
        "http.stat_msg" => Buffer::HttpStatMsg,
        "http.header" => Buffer::HttpHeader,
        "http.header.raw" => Buffer::HttpHeaderRaw,
        "http.header_names" | "http_header_names" => Buffer::HttpHeaderNames,
        "http.request_header" => Buffer::HttpRequestHeader,
        "http.response_header" => Buffer::HttpResponseHeader,
        "http.start" | "http_start" => Buffer::HttpStart,
        "http.host" => Buffer::HttpHost,
        "http.host.raw" => Buffer::HttpHostRaw,
        "http.user_agent" => Buffer::HttpUserAgent,
        "http.cookie" => Buffer::HttpCookie,
        "http.referer" | "http_referer" => Buffer::HttpReferer,
        "http.content_type" | "http_content_type" => Buffer::HttpContentType,
        "http.content_len" | "http_content_len" => Buffer::HttpContentLen,
        "http.accept" | "http_accept" => Buffer::HttpAccept,
        "http.accept_enc" | "http_accept_enc" => Buffer::HttpAcceptEnc,
        "http.accept_lang" | "http_accept_lang" => Buffer::HttpAcceptLang,
        "http.connection" | "http_connection" => Buffer::HttpConnection,
        "http.location" => Buffer::HttpLocation,
        "http.server" => Buffer::HttpServer,
        "http.request_body" => Buffer::HttpRequestBody,
        "http.response_body" => Buffer::HttpResponseBody,
        "dns.query" | "dns_query" => Buffer::DnsQuery,
        "dns.queries.rrname" => Buffer::DnsQueriesName,
        "dns.answers.rrname" => Buffer::DnsAnswerName,
        "dns.authorities.rrname" => Buffer::DnsAuthorityName,
        "dns.additionals.rrname" => Buffer::DnsAdditionalName,
        "tls.sni" | "tls_sni" => Buffer::TlsSni,
        "tls.cert_subject" | "tls_cert_subject" => Buffer::TlsCertSubject,
        "tls.cert_issuer" | "tls_cert_issuer" => Buffer::TlsCertIssuer,
        "tls.cert_serial" | "tls_cert_serial" => Buffer::TlsCertSerial,
        "tls.cert_fingerprint" | "tls_cert_fingerprint" => Buffer::TlsCertFingerprint,
        "tls.certs" => Buffer::TlsCerts,
        "tls.alpn" => Buffer::TlsAlpn,
        "tls.random" => Buffer::TlsRandom,
        "tls.random_time" => Buffer::TlsRandomTime,
        "tls.random_bytes" => Buffer::TlsRandomBytes,
        "tls.subjectaltname" => Buffer::TlsSubjectAltName,
        "ja3.hash" | "ja3_hash" => Buffer::Ja3Hash,
        "ja3.string" | "ja3_string" => Buffer::Ja3String,
        "ja3s.hash" | "ja3s_hash" => Buffer::Ja3sHash,
        "ja3s.string" | "ja3s_string" => Buffer::Ja3sString,
        "ja4.hash" => Buffer::Ja4Hash,
        "ssh.proto" | "ssh_proto" => Buffer::SshProto,
        "ssh.software" | "ssh_software" => Buffer::SshSoftware,
        "smb.named_pipe" | "smb_named_pipe" => Buffer::SmbNamedPipe,
        "smb.share" | "smb_share" => Buffer::SmbShare,
        "mqtt.connect.clientid" => Buffer::MqttConnectClientId,
        "mqtt.connect.username" => Buffer::MqttConnectUsername,
        "mqtt.connect.password" => Buffer::MqttConnectPassword,
        "mqtt.connect.protocol_string" => Buffer::MqttConnectProtocolString,
        "mqtt.connect.willtopic" => Buffer::MqttConnectWillTopic,
        "mqtt.connect.willmessage" => Buffer::MqttConnectWillMessage,
        "mqtt.publish.topic" => Buffer::MqttPublishTopic,
        "mqtt.publish.message" => Buffer::MqttPublishMessage,
        "mqtt.subscribe.topic" => Buffer::MqttSubscribeTopic,
        "mqtt.unsubscribe.topic" => Buffer::MqttUnsubscribeTopic,
        "ipv4.hdr" => Buffer::Ipv4Hdr,
        "ipv6.hdr" => Buffer::Ipv6Hdr,
        "tcp.hdr" => Buffer::TcpHdr,
        "udp.hdr" => Buffer::UdpHdr,
        "icmpv4.hdr" => Buffer::Icmpv4Hdr,
        "icmpv6.hdr" => Buffer::Icmpv6Hdr,
        _ => return None,
    })
}

/// Legacy content modifiers: the buffer the preceding content moves to (`Err` where
/// tapwatch has no such buffer).
pub(crate) fn legacy_modifier(name: &str) -> Option<Result<Buffer, String>> {
    Some(Ok(match name {
        "http_uri" => Buffer::HttpUri,
        "http_raw_uri" => Buffer::HttpUriRaw,
        "http_method" => Buffer::HttpMethod,
        "http_client_body" => Buffer::HttpRequestBody,
        "http_server_body" => Buffer::HttpResponseBody,
        "http_header" => Buffer::HttpHeader,
        "http_raw_header" => Buffer::HttpHeaderRaw,
        "http_cookie" => Buffer::HttpCookie,
        "http_user_agent" => Buffer::HttpUserAgent,
        "http_host" => Buffer::HttpHost,
        "http_raw_host" => Buffer::HttpHostRaw,
        "http_stat_code" => Buffer::HttpStatCode,
        "http_stat_msg" => Buffer::HttpStatMsg,
        "http_raw_cookie" => {
            return Some(Err(
                "buffer not supported: 'http_raw_cookie' has no tapwatch buffer".into(),
            ))
        }
        _ => return None,
    }))
}

/// Suricata buffer keywords tapwatch does not fill.
pub(crate) fn is_known_unsupported_buffer(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "http2.",
        "dns.",
        "tls.",
        "ja3",
        "ja4",
        "ssh.",
        "smb.",
        "smtp.",
        "sip.",
        "quic.",
        "krb5",
        "snmp.",
        "mqtt.",
        "rfb.",
        "dcerpc.",
        "dce_",
        "file.",
        "ike.",
        "ldap.",
        "pgsql.",
        "ftp.",
        "websocket.",
        "dhcp.",
        "email.",
        "enip.",
        "cip",
        "modbus",
        "dnp3",
        "nfs",
        "tftp",
        "ntp",
        "rdp",
        "x509.",
        "http.",
    ];
    const NAMES: &[&str] = &[
        "filemagic",
        "filemd5",
        "filesha1",
        "filesha256",
        "tls_cert_notbefore",
        "tls_cert_notafter",
        "tls.cert_notbefore",
        "tls.cert_notafter",
        "http_raw_cookie",
        "smb_ntlmssp_user",
        "smb_ntlmssp_domain",
    ];
    NAMES.contains(&name) || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Integer keywords on application-layer fields: the field becomes a value buffer of the
/// rule (the current sticky buffer is left as it is) with a [`Matcher::Uint`] on it.
pub(super) fn integer(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    let (buffer, max) = match name {
        // Both are read from the header's 4-bit fields (0 to 15) and compared as Suricata's
        // unsigned 8-bit integers. Suricata 8.0 also accepts an rcode's name, which tapwatch
        // does not: the number must be given.
        "dns.opcode" => (Buffer::DnsOpcode, u64::from(u8::MAX)),
        "dns.rcode" => (Buffer::DnsRcode, u64::from(u8::MAX)),
        // The server's chain, counted as Suricata's unsigned 32-bit integer.
        "tls.cert_chain_len" => (Buffer::TlsCertChainLen, u64::from(u32::MAX)),
        // MQTT's unsigned 8-bit integers (`mqtt.type` also by name, below).
        "mqtt.protocol_version" => (Buffer::MqttProtocolVersion, u64::from(u8::MAX)),
        "mqtt.qos" => (Buffer::MqttQos, u64::from(u8::MAX)),
        "mqtt.reason_code" | "mqtt.connack.return_code" => {
            (Buffer::MqttReasonCode, u64::from(u8::MAX))
        }
        "mqtt.type" => (Buffer::MqttType, u64::from(u8::MAX)),
        "mqtt.flags" => return mqtt_flags(ctx, name, v, Buffer::MqttFlags, MQTT_FLAGS),
        "mqtt.connect.flags" => {
            return mqtt_flags(ctx, name, v, Buffer::MqttConnectFlags, MQTT_CONNECT_FLAGS)
        }
        "mqtt.connack.session_present" => {
            let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
            let on = match v.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" => 1,
                "no" | "false" => 0,
                t => return Err(format!("'{name}:{t}': expected yes, true, no or false")),
            };
            let s = ctx.slot_for(Buffer::MqttConnackSessionPresent, &[]);
            ctx.push_to(s, Matcher::Uint(NumCmp::Eq(on)));
            return Ok(true);
        }
        // Each file's size in bytes, once the file has ended (Suricata's unsigned 64-bit
        // integer; tapwatch takes no unit suffixes).
        "filesize" => (Buffer::FileSize, u64::MAX),
        _ => return Ok(false),
    };
    if buffer == Buffer::MqttType {
        // A packet type by its name (`CONNECT`, ..., `UNASSIGNED`), any case, with an
        // optional `!`.
        let v = v.ok_or_else(|| format!("'{name}' needs a value"))?.trim();
        let (negated, word) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, v),
        };
        if word.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let code = MQTT_TYPES
                .iter()
                .position(|t| t.eq_ignore_ascii_case(word))
                .ok_or_else(|| format!("'{name}:{word}': unknown MQTT packet type"))?;
            let code = code as u64;
            let cmp = if negated {
                NumCmp::Ne(code)
            } else {
                NumCmp::Eq(code)
            };
            let s = ctx.slot_for(buffer, &[]);
            ctx.push_to(s, Matcher::Uint(cmp));
            return Ok(true);
        }
    }
    let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
    let t = v.trim();
    if t.trim_start_matches('!')
        .starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Err(format!(
            "'{name}:{t}': named values are not supported, give the number"
        ));
    }
    let cmp = uint_cmp(v, max).map_err(|e| format!("'{name}': {e}"))?;
    let s = ctx.slot_for(buffer, &[]);
    ctx.push_to(s, Matcher::Uint(cmp));
    Ok(true)
}

/// MQTT's packet types by their code (0 to 15), as `mqtt.type` names them.
const MQTT_TYPES: [&str; 16] = [
    "UNASSIGNED",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// `mqtt.flags`' names and bits (the fixed header's DUP and RETAIN).
const MQTT_FLAGS: &[(&str, u64)] = &[("dup", 0x08), ("retain", 0x01)];

/// `mqtt.connect.flags`' names and bits (the CONNECT's flags byte).
const MQTT_CONNECT_FLAGS: &[(&str, u64)] = &[
    ("username", 0x80),
    ("password", 0x40),
    ("will_retain", 0x20),
    ("will", 0x04),
    ("clean_session", 0x02),
];

/// A flag keyword (`mqtt.flags:dup,!retain`): each named flag must be set, each `!`-named one
/// clear; the others do not matter.
fn mqtt_flags(
    ctx: &mut Ctx<'_>,
    name: &str,
    v: Option<&str>,
    buffer: Buffer,
    names: &[(&str, u64)],
) -> Result<bool, String> {
    let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
    let (mut mask, mut want) = (0u64, 0u64);
    for part in v.split(',').map(str::trim) {
        let (negated, flag) = match part.strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, part),
        };
        let bit = names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(flag))
            .map(|&(_, b)| b)
            .ok_or_else(|| format!("'{name}': unknown flag '{flag}'"))?;
        if mask & bit != 0 {
            return Err(format!("'{name}': flag '{flag}' given twice"));
        }
        mask |= bit;
        if !negated {
            want |= bit;
        }
    }
    let s = ctx.slot_for(buffer, &[]);
    ctx.push_to(s, Matcher::Uint(NumCmp::Bits { mask, want }));
    Ok(true)
}

/// Legacy keywords that compare a whole buffer with a string (`tls.fingerprint:[!]"..."`):
/// an exact, case-sensitive match (a content anchored at both ends, negated for `!`) on the
/// buffer, leaving the current sticky buffer and the last content as they were. As in
/// Suricata, a handshake without the field matches neither form.
pub(super) fn legacy_equals(
    ctx: &mut Ctx<'_>,
    name: &str,
    v: Option<&str>,
) -> Result<bool, String> {
    // (buffer, caseless, prefix, anchored at both ends, at the end only)
    let (buffer, nocase, prefix, whole, end) = match name {
        // The first (server) certificate's SHA-1 fingerprint, lower-case hex with colons.
        "tls.fingerprint" => (Buffer::TlsCertFingerprint, false, "", true, false),
        // As Suricata: `filename:"x"` is `file.name; content:"x"; nocase;` and
        // `fileext:"x"` is `file.name; content:".x"; nocase; endswith;`.
        "filename" => (Buffer::FileName, true, "", false, false),
        "fileext" => (Buffer::FileName, true, ".", false, true),
        _ => return Ok(false),
    };
    let v = v.ok_or_else(|| format!("'{name}' needs a value"))?;
    let (negated, body) = unquote_negatable(v)?;
    if body.is_empty() {
        return Err(format!("'{name}' needs a non-empty value"));
    }
    let content = Content {
        pattern: [prefix.as_bytes(), body.as_bytes()].concat(),
        negated,
        nocase,
        offset: None,
        depth: None,
        distance: None,
        within: None,
        startswith: whole,
        endswith: whole || end,
        rawbytes: false,
    };
    let last = ctx.last_content;
    let s = ctx.slot_for(buffer, &[]);
    ctx.push_to(s, Matcher::Content(content));
    ctx.last_content = last;
    Ok(true)
}

/// A transform keyword and its value.
fn transform(name: &str, v: Option<&str>) -> Option<Result<Transform, String>> {
    let simple = |t: Transform| -> Result<Transform, String> {
        if v.is_some() {
            return Err(format!("transform '{name}' takes no value"));
        }
        Ok(t)
    };
    Some(match name {
        "dotprefix" => simple(Transform::DotPrefix),
        "strip_whitespace" => simple(Transform::StripWhitespace),
        "compress_whitespace" => simple(Transform::CompressWhitespace),
        "to_lowercase" => simple(Transform::ToLowercase),
        "to_uppercase" => simple(Transform::ToUppercase),
        "url_decode" => simple(Transform::UrlDecode),
        "to_md5" => simple(Transform::ToMd5),
        "to_sha1" => simple(Transform::ToSha1),
        "to_sha256" => simple(Transform::ToSha256),
        "header_lowercase" => simple(Transform::HeaderLowercase),
        "strip_pseudo_headers" => simple(Transform::StripPseudoHeaders),
        "from_base64" => from_base64(v),
        "xor" => xor(v),
        "pcrexform" => v
            .ok_or_else(|| "'pcrexform' needs a regular expression".to_string())
            .and_then(|v| unquote(v).map(str::to_string))
            .and_then(|r| {
                if r.is_empty() {
                    Err("empty pcrexform expression".into())
                } else {
                    Ok(Transform::PcreXform(r))
                }
            }),
        _ => return None,
    })
}

fn from_base64(v: Option<&str>) -> Result<Transform, String> {
    let (mut bytes, mut offset, mut mode) = (None, 0u32, Base64Mode::Rfc4648);
    if let Some(v) = v {
        for opt in v.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (k, val) = opt
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .unwrap_or((opt, ""));
            match k {
                "bytes" => {
                    let n = uint(val, u64::from(u32::MAX))?;
                    if n == 0 {
                        return Err("from_base64 'bytes' must be at least 1".into());
                    }
                    bytes = u32::try_from(n).ok();
                }
                "offset" => offset = u32::try_from(uint(val, u64::from(u32::MAX))?).unwrap_or(0),
                "mode" => {
                    mode = match val {
                        "strict" => Base64Mode::Strict,
                        "rfc4648" => Base64Mode::Rfc4648,
                        "rfc2045" => Base64Mode::Rfc2045,
                        m => return Err(format!("invalid from_base64 mode '{m}'")),
                    }
                }
                _ => return Err(format!("invalid from_base64 option '{opt}'")),
            }
        }
    }
    Ok(Transform::FromBase64 {
        bytes,
        offset,
        mode,
    })
}

fn xor(v: Option<&str>) -> Result<Transform, String> {
    let key = unquote(v.ok_or("'xor' needs a key")?)?;
    if key.is_empty() || key.len() % 2 != 0 {
        return Err("xor key must be an even number of hex digits".into());
    }
    let bytes: Option<Vec<u8>> = (0..key.len() / 2)
        .map(|i| {
            key.get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes
        .map(Transform::Xor)
        .ok_or_else(|| format!("invalid xor key '{key}' (expected hex digits)"))
}

/// Applies `name` when it is a sticky buffer, `pkt_data`, `base64_data` or a transform.
pub(super) fn apply(ctx: &mut Ctx<'_>, name: &str, v: Option<&str>) -> Result<bool, String> {
    if let Some(t) = transform(name, v) {
        let t = t?;
        return match &mut ctx.cursor {
            Cursor::Sticky {
                transforms,
                slot: None,
                ..
            } => {
                transforms.push(t);
                Ok(true)
            }
            Cursor::Sticky { keyword, .. } => Err(format!(
                "transform '{name}' must directly follow the sticky buffer '{keyword}'"
            )),
            Cursor::Payload => Err(format!(
                "transform '{name}' needs a sticky buffer before it"
            )),
        };
    }
    let buffer = match name {
        "pkt_data" => None,
        "base64_data" => {
            if !ctx.base64_decode_seen {
                return Err("'base64_data' needs a preceding 'base64_decode'".into());
            }
            Some(Buffer::Base64Data)
        }
        _ => match sticky(name) {
            Some(b) => Some(b),
            None => return Ok(false),
        },
    };
    if v.is_some() {
        return Err(format!("sticky buffer '{name}' takes no value"));
    }
    // The same sticky buffer named twice in a row (`file_data; file_data;`) is harmless.
    if let (
        Cursor::Sticky {
            buffer: cur,
            transforms,
            slot: None,
            ..
        },
        Some(b),
    ) = (&ctx.cursor, buffer)
    {
        if *cur == b && transforms.is_empty() {
            return Ok(true);
        }
    }
    ctx.leave_sticky()?;
    if let Some(buffer) = buffer {
        ctx.cursor = Cursor::Sticky {
            buffer,
            keyword: name.to_string(),
            transforms: Vec::new(),
            slot: None,
        };
    }
    Ok(true)
}
