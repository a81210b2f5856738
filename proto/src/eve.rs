//! EVE `event_type: alert` records ↔ [`Alert`].
//!
//! [`alert_from_eve`] reads an alert record as Suricata 8 and tapwatch write it;
//! [`alert_to_eve`] writes it back in the same layout. Every field [`Alert`] carries survives
//! EVE → `Alert` → EVE (the field list is in `proto/README.md`); fields it does not carry
//! (`packet`, `frame`, `files`, ...) are dropped, and `payload_printable` is rebuilt from the
//! payload excerpt.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::time::{format_timestamp_us, parse_timestamp_us};
use crate::v1::{
    Alert, AlertFlow, Direction, DnsFields, DnsQuery, Endpoint, HttpFields, JaHash, StringList,
    TlsFields, Tunnel,
};

/// Most payload bytes an [`Alert`] carries; a longer EVE `payload` is cut and flagged.
pub const PAYLOAD_EXCERPT_MAX: usize = 4096;

/// Why an EVE record could not become an [`Alert`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EveError {
    /// The line is not valid JSON (or a field does not have the type EVE gives it).
    #[error("EVE record does not parse: {0}")]
    Json(String),
    /// The record is not a JSON object.
    #[error("EVE record is not a JSON object")]
    NotAnObject,
    /// `event_type` is not `alert`.
    #[error("event_type is {0:?}, not \"alert\"")]
    NotAnAlert(String),
    /// A required field is missing.
    #[error("missing field {0}")]
    Missing(&'static str),
    /// A field has the wrong type or an unreadable value.
    #[error("field {field}: {reason}")]
    Invalid {
        /// The field, as a dotted EVE path.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> EveError {
    EveError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// The alert's payload excerpt from EVE's base64 `payload` (when the record has one): at most
/// `PAYLOAD_EXCERPT_MAX` bytes, and whether it was cut.
pub(crate) fn payload_excerpt(base64: Option<&str>) -> Result<(Option<Vec<u8>>, bool), EveError> {
    let Some(text) = base64 else {
        return Ok((None, false));
    };
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|e| invalid("payload", e.to_string()))?;
    let truncated = bytes.len() > PAYLOAD_EXCERPT_MAX;
    bytes.truncate(PAYLOAD_EXCERPT_MAX);
    Ok((Some(bytes), truncated))
}

fn get_str(o: &Map<String, Value>, key: &str, field: &'static str) -> Result<String, EveError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(field, "expected a string")),
    }
}

fn get_u64(
    o: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<u64>, EveError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(field, "expected a non-negative integer")),
    }
}

fn get_u32(
    o: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<u32>, EveError> {
    get_u64(o, key, field)?
        .map(|v| u32::try_from(v).map_err(|_| invalid(field, "out of range")))
        .transpose()
}

fn get_obj<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a Map<String, Value>>, EveError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(invalid(field, "expected an object")),
    }
}

fn get_str_list(
    o: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Vec<String>, EveError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(field, "expected strings"))
            })
            .collect(),
        Some(_) => Err(invalid(field, "expected an array")),
    }
}

fn get_ip(o: &Map<String, Value>, key: &str, field: &'static str) -> Result<Vec<u8>, EveError> {
    let s = get_str(o, key, field)?;
    if s.is_empty() {
        return Ok(Vec::new());
    }
    ip_to_bytes(&s).ok_or_else(|| invalid(field, format!("not an IP address: {s:?}")))
}

/// Parses an IP address into 4 or 16 bytes.
pub fn ip_to_bytes(s: &str) -> Option<Vec<u8>> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some(a.octets().to_vec()),
        IpAddr::V6(a) => Some(a.octets().to_vec()),
    }
}

/// Formats 4 or 16 bytes as an IP address; other lengths give `None`.
pub fn ip_from_bytes(b: &[u8]) -> Option<IpAddr> {
    if let Ok(a) = <[u8; 4]>::try_from(b) {
        Some(IpAddr::from(a))
    } else if let Ok(a) = <[u8; 16]>::try_from(b) {
        Some(IpAddr::from(a))
    } else {
        None
    }
}

/// The IANA protocol number of an EVE `proto` name (a number is read as such).
pub fn ip_protocol_number(proto: &str) -> Option<u32> {
    Some(match proto {
        "ICMP" => 1,
        "IGMP" => 2,
        "IPIP" => 4,
        "TCP" => 6,
        "UDP" => 17,
        "IPV6" => 41,
        "GRE" => 47,
        "ESP" => 50,
        "AH" => 51,
        "IPv6-ICMP" => 58,
        "OSPF" => 89,
        "PIM" => 103,
        "VRRP" => 112,
        "SCTP" => 132,
        other => return other.parse().ok(),
    })
}

fn parse_ts(
    o: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<i64>, EveError> {
    let s = get_str(o, key, field)?;
    if s.is_empty() {
        return Ok(None);
    }
    parse_timestamp_us(&s)
        .map(Some)
        .ok_or_else(|| invalid(field, format!("not an EVE timestamp: {s:?}")))
}

/// Reads an EVE `event_type: alert` record.
pub fn alert_from_eve(v: &Value) -> Result<Alert, EveError> {
    let o = v.as_object().ok_or(EveError::NotAnObject)?;
    let event_type = get_str(o, "event_type", "event_type")?;
    if event_type != "alert" {
        return Err(EveError::NotAnAlert(event_type));
    }
    let a = get_obj(o, "alert", "alert")?.ok_or(EveError::Missing("alert"))?;
    let timestamp_us =
        parse_ts(o, "timestamp", "timestamp")?.ok_or(EveError::Missing("timestamp"))?;
    let proto = get_str(o, "proto", "proto")?;
    let payload = get_str(o, "payload", "payload")?;
    let (payload_excerpt, payload_truncated) = payload_excerpt(
        (o.contains_key("payload") || !payload.is_empty()).then_some(payload.as_str()),
    )?;
    let direction = match get_str(o, "direction", "direction")?.as_str() {
        "to_server" => Direction::ToServer,
        "to_client" => Direction::ToClient,
        _ => Direction::Unspecified,
    };
    let vlan = match o.get("vlan") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| invalid("vlan", "expected integers"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("vlan", "expected an array")),
    };
    let metadata = get_obj(a, "metadata", "alert.metadata")?
        .map(metadata_from_eve)
        .unwrap_or_default();
    Ok(Alert {
        timestamp_us,
        flow_id: get_u64(o, "flow_id", "flow_id")?.unwrap_or(0),
        pcap_cnt: get_u64(o, "pcap_cnt", "pcap_cnt")?,
        gid: get_u32(a, "gid", "alert.gid")?.unwrap_or(1),
        sid: get_u32(a, "signature_id", "alert.signature_id")?
            .ok_or(EveError::Missing("alert.signature_id"))?,
        rev: get_u32(a, "rev", "alert.rev")?.unwrap_or(0),
        action: get_str(a, "action", "alert.action")?,
        severity: get_u32(a, "severity", "alert.severity")?.unwrap_or(0),
        category: get_str(a, "category", "alert.category")?,
        signature: get_str(a, "signature", "alert.signature")?,
        src_ip: get_ip(o, "src_ip", "src_ip")?,
        dst_ip: get_ip(o, "dest_ip", "dest_ip")?,
        src_port: get_u32(o, "src_port", "src_port")?.unwrap_or(0),
        dst_port: get_u32(o, "dest_port", "dest_port")?.unwrap_or(0),
        ip_protocol: ip_protocol_number(&proto).unwrap_or(0),
        proto,
        direction: direction as i32,
        vlan,
        tunnel: get_obj(o, "tunnel", "tunnel")?
            .map(tunnel_from_eve)
            .transpose()?,
        app_proto: get_str(o, "app_proto", "app_proto")?,
        metadata,
        http: get_obj(o, "http", "http")?.map(http_from_eve).transpose()?,
        dns: get_obj(o, "dns", "dns")?.map(dns_from_eve).transpose()?,
        tls: get_obj(o, "tls", "tls")?.map(tls_from_eve).transpose()?,
        payload_excerpt,
        payload_truncated,
        tx_id: get_u64(o, "tx_id", "tx_id")?,
        in_iface: get_str(o, "in_iface", "in_iface")?,
        pkt_src: get_str(o, "pkt_src", "pkt_src")?,
        community_id: get_str(o, "community_id", "community_id")?,
        references: get_str_list(a, "references", "alert.references")?,
        flow: get_obj(o, "flow", "flow")?.map(flow_from_eve).transpose()?,
        ip_version: get_u32(o, "ip_v", "ip_v")?.unwrap_or(0),
        icmp_type: get_u32(o, "icmp_type", "icmp_type")?,
        icmp_code: get_u32(o, "icmp_code", "icmp_code")?,
        xff: get_str(a, "xff", "alert.xff")?,
        source: get_obj(a, "source", "alert.source")?
            .map(endpoint_from_eve)
            .transpose()?,
        target: get_obj(a, "target", "alert.target")?
            .map(endpoint_from_eve)
            .transpose()?,
        stream: get_u64(o, "stream", "stream")?,
        rule: get_str(a, "rule", "alert.rule")?,
    })
}

/// `alert.metadata`: every key with its values as strings (a non-string value as its JSON).
pub(crate) fn metadata_from_eve(m: &Map<String, Value>) -> BTreeMap<String, StringList> {
    let mut metadata = BTreeMap::new();
    for (k, v) in m {
        let values = match v {
            Value::Array(items) => items
                .iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            Value::String(s) => vec![s.clone()],
            other => vec![other.to_string()],
        };
        metadata.insert(k.clone(), StringList { values });
    }
    metadata
}

pub(crate) fn tunnel_from_eve(t: &Map<String, Value>) -> Result<Tunnel, EveError> {
    Ok(Tunnel {
        src_ip: get_ip(t, "src_ip", "tunnel.src_ip")?,
        dst_ip: get_ip(t, "dest_ip", "tunnel.dest_ip")?,
        src_port: get_u32(t, "src_port", "tunnel.src_port")?.unwrap_or(0),
        dst_port: get_u32(t, "dest_port", "tunnel.dest_port")?.unwrap_or(0),
        proto: get_str(t, "proto", "tunnel.proto")?,
        depth: get_u32(t, "depth", "tunnel.depth")?.unwrap_or(0),
        pcap_cnt: get_u64(t, "pcap_cnt", "tunnel.pcap_cnt")?,
        pkt_src: get_str(t, "pkt_src", "tunnel.pkt_src")?,
    })
}

/// The [`HttpFields`] of an EVE `http` object.
pub fn http_from_eve(h: &Map<String, Value>) -> Result<HttpFields, EveError> {
    Ok(HttpFields {
        hostname: get_str(h, "hostname", "http.hostname")?,
        url: get_str(h, "url", "http.url")?,
        http_user_agent: get_str(h, "http_user_agent", "http.http_user_agent")?,
        http_method: get_str(h, "http_method", "http.http_method")?,
        protocol: get_str(h, "protocol", "http.protocol")?,
        status: get_u32(h, "status", "http.status")?,
        http_content_type: get_str(h, "http_content_type", "http.http_content_type")?,
        length: get_u64(h, "length", "http.length")?,
        http_refer: get_str(h, "http_refer", "http.http_refer")?,
        redirect: get_str(h, "redirect", "http.redirect")?,
        http_port: get_u32(h, "http_port", "http.http_port")?,
    })
}

/// The [`DnsFields`] of an EVE `dns` object (v3 `queries` or v2 `query`).
pub fn dns_from_eve(d: &Map<String, Value>) -> Result<DnsFields, EveError> {
    // v3 `queries`, or v2 `query` (whose items carry `type`, `id` too).
    let list = match d.get("queries").or_else(|| d.get("query")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(invalid("dns.queries", "expected an array")),
    };
    let mut queries = Vec::with_capacity(list.len());
    for q in &list {
        let q = q
            .as_object()
            .ok_or_else(|| invalid("dns.queries", "expected objects"))?;
        queries.push(DnsQuery {
            rrname: get_str(q, "rrname", "dns.queries.rrname")?,
            rrtype: get_str(q, "rrtype", "dns.queries.rrtype")?,
        });
    }
    let first = list.first().and_then(Value::as_object);
    let mut r#type = get_str(d, "type", "dns.type")?;
    let mut id = get_u32(d, "id", "dns.id")?;
    if let (true, Some(f)) = (r#type.is_empty(), first) {
        r#type = get_str(f, "type", "dns.query.type")?;
        if r#type == "query" {
            r#type = "request".to_owned();
        }
    }
    if let (None, Some(f)) = (id, first) {
        id = get_u32(f, "id", "dns.query.id")?;
    }
    Ok(DnsFields {
        queries,
        r#type,
        id,
        rcode: get_str(d, "rcode", "dns.rcode")?,
        version: get_u32(d, "version", "dns.version")?,
    })
}

fn ja_from_eve(
    t: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<JaHash>, EveError> {
    get_obj(t, key, field)?
        .map(|j| {
            Ok(JaHash {
                hash: get_str(j, "hash", field)?,
                string: get_str(j, "string", field)?,
            })
        })
        .transpose()
}

/// The [`TlsFields`] of an EVE `tls` object.
pub fn tls_from_eve(t: &Map<String, Value>) -> Result<TlsFields, EveError> {
    Ok(TlsFields {
        sni: get_str(t, "sni", "tls.sni")?,
        version: get_str(t, "version", "tls.version")?,
        subject: get_str(t, "subject", "tls.subject")?,
        issuerdn: get_str(t, "issuerdn", "tls.issuerdn")?,
        ja3: ja_from_eve(t, "ja3", "tls.ja3")?,
        ja3s: ja_from_eve(t, "ja3s", "tls.ja3s")?,
        ja4: get_str(t, "ja4", "tls.ja4")?,
        serial: get_str(t, "serial", "tls.serial")?,
        fingerprint: get_str(t, "fingerprint", "tls.fingerprint")?,
        notbefore: get_str(t, "notbefore", "tls.notbefore")?,
        notafter: get_str(t, "notafter", "tls.notafter")?,
        client_alpns: get_str_list(t, "client_alpns", "tls.client_alpns")?,
        server_alpns: get_str_list(t, "server_alpns", "tls.server_alpns")?,
    })
}

fn flow_from_eve(f: &Map<String, Value>) -> Result<AlertFlow, EveError> {
    Ok(AlertFlow {
        pkts_toserver: get_u64(f, "pkts_toserver", "flow.pkts_toserver")?.unwrap_or(0),
        pkts_toclient: get_u64(f, "pkts_toclient", "flow.pkts_toclient")?.unwrap_or(0),
        bytes_toserver: get_u64(f, "bytes_toserver", "flow.bytes_toserver")?.unwrap_or(0),
        bytes_toclient: get_u64(f, "bytes_toclient", "flow.bytes_toclient")?.unwrap_or(0),
        start_us: parse_ts(f, "start", "flow.start")?.unwrap_or(0),
        src_ip: get_ip(f, "src_ip", "flow.src_ip")?,
        dst_ip: get_ip(f, "dest_ip", "flow.dest_ip")?,
        src_port: get_u32(f, "src_port", "flow.src_port")?.unwrap_or(0),
        dst_port: get_u32(f, "dest_port", "flow.dest_port")?.unwrap_or(0),
    })
}

fn endpoint_from_eve(e: &Map<String, Value>) -> Result<Endpoint, EveError> {
    Ok(Endpoint {
        ip: get_ip(e, "ip", "alert.source.ip")?,
        port: get_u32(e, "port", "alert.source.port")?.unwrap_or(0),
    })
}

fn put_str(o: &mut Map<String, Value>, key: &str, v: &str) {
    if !v.is_empty() {
        o.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

fn put_ip(o: &mut Map<String, Value>, key: &str, b: &[u8]) {
    if let Some(ip) = ip_from_bytes(b) {
        o.insert(key.to_owned(), Value::String(ip.to_string()));
    }
}

fn put_opt<T: Into<Value>>(o: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        o.insert(key.to_owned(), v.into());
    }
}

fn put_list(o: &mut Map<String, Value>, key: &str, v: &[String]) {
    if !v.is_empty() {
        o.insert(key.to_owned(), json!(v));
    }
}

/// Does this protocol carry ports in EVE?
fn has_ports(proto: &str) -> bool {
    matches!(proto, "TCP" | "UDP" | "SCTP")
}

/// Writes an [`Alert`] as an EVE `event_type: alert` record. `sensor_id`, when not empty, is
/// written as `host` (EVE's sensor name field).
pub fn alert_to_eve(a: &Alert, sensor_id: &str) -> Value {
    let mut o = Map::new();
    o.insert(
        "timestamp".into(),
        format_timestamp_us(a.timestamp_us).into(),
    );
    o.insert("flow_id".into(), a.flow_id.into());
    put_opt(&mut o, "pcap_cnt", a.pcap_cnt);
    put_str(&mut o, "in_iface", &a.in_iface);
    if !a.vlan.is_empty() {
        o.insert("vlan".into(), json!(a.vlan));
    }
    o.insert("event_type".into(), "alert".into());
    put_ip(&mut o, "src_ip", &a.src_ip);
    if has_ports(&a.proto) {
        o.insert("src_port".into(), a.src_port.into());
    }
    put_ip(&mut o, "dest_ip", &a.dst_ip);
    if has_ports(&a.proto) {
        o.insert("dest_port".into(), a.dst_port.into());
    }
    put_str(&mut o, "proto", &a.proto);
    if a.ip_version != 0 {
        o.insert("ip_v".into(), a.ip_version.into());
    }
    put_opt(&mut o, "icmp_type", a.icmp_type);
    put_opt(&mut o, "icmp_code", a.icmp_code);
    put_str(&mut o, "pkt_src", &a.pkt_src);
    put_str(&mut o, "community_id", &a.community_id);
    if let Some(t) = &a.tunnel {
        let mut m = Map::new();
        put_ip(&mut m, "src_ip", &t.src_ip);
        put_ip(&mut m, "dest_ip", &t.dst_ip);
        if has_ports(&t.proto) {
            m.insert("src_port".into(), t.src_port.into());
            m.insert("dest_port".into(), t.dst_port.into());
        }
        put_str(&mut m, "proto", &t.proto);
        m.insert("depth".into(), t.depth.into());
        put_opt(&mut m, "pcap_cnt", t.pcap_cnt);
        put_str(&mut m, "pkt_src", &t.pkt_src);
        o.insert("tunnel".into(), m.into());
    }
    put_opt(&mut o, "tx_id", a.tx_id);
    match Direction::try_from(a.direction) {
        Ok(Direction::ToServer) => {
            o.insert("direction".into(), "to_server".into());
        }
        Ok(Direction::ToClient) => {
            o.insert("direction".into(), "to_client".into());
        }
        _ => {}
    }
    o.insert("alert".into(), alert_object(a).into());
    put_str(&mut o, "app_proto", &a.app_proto);
    if let Some(h) = &a.http {
        o.insert("http".into(), http_to_eve(h).into());
    }
    if let Some(d) = &a.dns {
        o.insert("dns".into(), dns_to_eve(d).into());
    }
    if let Some(t) = &a.tls {
        o.insert("tls".into(), tls_to_eve(t).into());
    }
    if let Some(f) = &a.flow {
        o.insert("flow".into(), flow_to_eve(f).into());
    }
    if let Some(p) = &a.payload_excerpt {
        o.insert(
            "payload".into(),
            base64::engine::general_purpose::STANDARD.encode(p).into(),
        );
        o.insert("payload_printable".into(), printable(p).into());
    }
    put_opt(&mut o, "stream", a.stream);
    put_str(&mut o, "host", sensor_id);
    Value::Object(o)
}

fn alert_object(a: &Alert) -> Map<String, Value> {
    let mut m = Map::new();
    put_str(&mut m, "action", &a.action);
    m.insert("gid".into(), a.gid.into());
    m.insert("signature_id".into(), a.sid.into());
    m.insert("rev".into(), a.rev.into());
    put_str(&mut m, "signature", &a.signature);
    // Always, as Suricata writes it: empty for a rule without a classtype.
    m.insert("category".into(), a.category.clone().into());
    m.insert("severity".into(), a.severity.into());
    for (key, e) in [("source", &a.source), ("target", &a.target)] {
        if let Some(e) = e {
            let mut em = Map::new();
            put_ip(&mut em, "ip", &e.ip);
            em.insert("port".into(), e.port.into());
            m.insert(key.into(), em.into());
        }
    }
    put_str(&mut m, "xff", &a.xff);
    put_list(&mut m, "references", &a.references);
    if !a.metadata.is_empty() {
        let mut keys: Vec<&String> = a.metadata.keys().collect();
        keys.sort();
        let mut md = Map::new();
        for k in keys {
            let values = a
                .metadata
                .get(k)
                .map(|l| l.values.clone())
                .unwrap_or_default();
            md.insert(k.clone(), json!(values));
        }
        m.insert("metadata".into(), md.into());
    }
    put_str(&mut m, "rule", &a.rule);
    m
}

fn http_to_eve(h: &HttpFields) -> Map<String, Value> {
    let mut m = Map::new();
    put_str(&mut m, "hostname", &h.hostname);
    put_opt(&mut m, "http_port", h.http_port);
    put_str(&mut m, "url", &h.url);
    put_str(&mut m, "http_user_agent", &h.http_user_agent);
    put_str(&mut m, "http_content_type", &h.http_content_type);
    put_str(&mut m, "http_refer", &h.http_refer);
    put_str(&mut m, "http_method", &h.http_method);
    put_str(&mut m, "protocol", &h.protocol);
    put_opt(&mut m, "status", h.status);
    put_str(&mut m, "redirect", &h.redirect);
    put_opt(&mut m, "length", h.length);
    m
}

fn dns_to_eve(d: &DnsFields) -> Map<String, Value> {
    let mut m = Map::new();
    put_opt(&mut m, "version", d.version);
    put_str(&mut m, "type", &d.r#type);
    put_opt(&mut m, "id", d.id);
    put_str(&mut m, "rcode", &d.rcode);
    if !d.queries.is_empty() {
        let q: Vec<Value> = d
            .queries
            .iter()
            .map(|q| {
                let mut qm = Map::new();
                put_str(&mut qm, "rrname", &q.rrname);
                put_str(&mut qm, "rrtype", &q.rrtype);
                Value::Object(qm)
            })
            .collect();
        m.insert("queries".into(), q.into());
    }
    m
}

fn ja_to_eve(j: &JaHash) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "hash", &j.hash);
    put_str(&mut m, "string", &j.string);
    m.into()
}

fn tls_to_eve(t: &TlsFields) -> Map<String, Value> {
    let mut m = Map::new();
    put_str(&mut m, "subject", &t.subject);
    put_str(&mut m, "issuerdn", &t.issuerdn);
    put_str(&mut m, "serial", &t.serial);
    put_str(&mut m, "fingerprint", &t.fingerprint);
    put_str(&mut m, "sni", &t.sni);
    put_str(&mut m, "version", &t.version);
    put_str(&mut m, "notbefore", &t.notbefore);
    put_str(&mut m, "notafter", &t.notafter);
    if let Some(j) = &t.ja3 {
        m.insert("ja3".into(), ja_to_eve(j));
    }
    if let Some(j) = &t.ja3s {
        m.insert("ja3s".into(), ja_to_eve(j));
    }
    put_str(&mut m, "ja4", &t.ja4);
    put_list(&mut m, "client_alpns", &t.client_alpns);
    put_list(&mut m, "server_alpns", &t.server_alpns);
    m
}

fn flow_to_eve(f: &AlertFlow) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("pkts_toserver".into(), f.pkts_toserver.into());
    m.insert("pkts_toclient".into(), f.pkts_toclient.into());
    m.insert("bytes_toserver".into(), f.bytes_toserver.into());
    m.insert("bytes_toclient".into(), f.bytes_toclient.into());
    if f.start_us != 0 {
        m.insert("start".into(), format_timestamp_us(f.start_us).into());
    }
    put_ip(&mut m, "src_ip", &f.src_ip);
    put_ip(&mut m, "dest_ip", &f.dst_ip);
    if f.src_port != 0 || f.dst_port != 0 {
        m.insert("src_port".into(), f.src_port.into());
        m.insert("dest_port".into(), f.dst_port.into());
    }
    m
}

/// EVE's `payload_printable`: printable ASCII kept, everything else as `.`.
fn printable(p: &[u8]) -> String {
    p.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

/// Reads an EVE `event_type: flow` record (the envelope, `flow` and, for TCP, `tcp`).
pub fn flow_record_from_eve(v: &Value) -> Result<crate::v1::FlowRecord, EveError> {
    let o = v.as_object().ok_or(EveError::NotAnObject)?;
    let event_type = get_str(o, "event_type", "event_type")?;
    if event_type != "flow" {
        return Err(invalid("event_type", format!("not a flow: {event_type:?}")));
    }
    let f = get_obj(o, "flow", "flow")?.ok_or(EveError::Missing("flow"))?;
    let timestamp_us =
        parse_ts(o, "timestamp", "timestamp")?.ok_or(EveError::Missing("timestamp"))?;
    let proto = get_str(o, "proto", "proto")?;
    let vlan = match o.get("vlan") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect(),
        _ => Vec::new(),
    };
    let tcp = get_obj(o, "tcp", "tcp")?
        .map(|t| -> Result<crate::v1::TcpFlags, EveError> {
            Ok(crate::v1::TcpFlags {
                tcp_flags: get_str(t, "tcp_flags", "tcp.tcp_flags")?,
                tcp_flags_ts: get_str(t, "tcp_flags_ts", "tcp.tcp_flags_ts")?,
                tcp_flags_tc: get_str(t, "tcp_flags_tc", "tcp.tcp_flags_tc")?,
                state: get_str(t, "state", "tcp.state")?,
            })
        })
        .transpose()?;
    Ok(crate::v1::FlowRecord {
        timestamp_us,
        flow_id: get_u64(o, "flow_id", "flow_id")?.unwrap_or(0),
        src_ip: get_ip(o, "src_ip", "src_ip")?,
        dst_ip: get_ip(o, "dest_ip", "dest_ip")?,
        src_port: get_u32(o, "src_port", "src_port")?.unwrap_or(0),
        dst_port: get_u32(o, "dest_port", "dest_port")?.unwrap_or(0),
        ip_protocol: ip_protocol_number(&proto).unwrap_or(0),
        proto,
        ip_version: get_u32(o, "ip_v", "ip_v")?.unwrap_or(0),
        app_proto: get_str(o, "app_proto", "app_proto")?,
        vlan,
        tunnel: get_obj(o, "tunnel", "tunnel")?
            .map(tunnel_from_eve)
            .transpose()?,
        in_iface: get_str(o, "in_iface", "in_iface")?,
        pkts_toserver: get_u64(f, "pkts_toserver", "flow.pkts_toserver")?.unwrap_or(0),
        pkts_toclient: get_u64(f, "pkts_toclient", "flow.pkts_toclient")?.unwrap_or(0),
        bytes_toserver: get_u64(f, "bytes_toserver", "flow.bytes_toserver")?.unwrap_or(0),
        bytes_toclient: get_u64(f, "bytes_toclient", "flow.bytes_toclient")?.unwrap_or(0),
        start_us: parse_ts(f, "start", "flow.start")?.unwrap_or(0),
        end_us: parse_ts(f, "end", "flow.end")?.unwrap_or(0),
        age: get_u64(f, "age", "flow.age")?.unwrap_or(0),
        state: get_str(f, "state", "flow.state")?,
        reason: get_str(f, "reason", "flow.reason")?,
        alerted: matches!(f.get("alerted"), Some(Value::Bool(true))),
        tcp,
        community_id: get_str(o, "community_id", "community_id")?,
        icmp_type: get_u32(o, "icmp_type", "icmp_type")?,
        icmp_code: get_u32(o, "icmp_code", "icmp_code")?,
        response_icmp_type: get_u32(o, "response_icmp_type", "response_icmp_type")?,
        response_icmp_code: get_u32(o, "response_icmp_code", "response_icmp_code")?,
        app_proto_ts: get_str(o, "app_proto_ts", "app_proto_ts")?,
        app_proto_tc: get_str(o, "app_proto_tc", "app_proto_tc")?,
    })
}

/// An EVE alert record with every field `Alert` carries (and some it does not), for tests.
#[cfg(test)]
pub(crate) fn sample_alert_record() -> Value {
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
            "signature": "ET POLICY curl User-Agent", "category": "Attempted Information Leak",
            "severity": 2,
            "source": {"ip": "192.0.2.10", "port": 41000},
            "target": {"ip": "2001:db8::1", "port": 80},
            "xff": "203.0.113.1",
            "references": ["url,example.com"],
            "metadata": {"created_at": ["2014_01_01"], "signature_severity": ["Informational"]},
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
        "host": "sensor-a"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_round_trip_keeps_every_field() {
        let v = sample_alert_record();
        let a = alert_from_eve(&v).expect("decodes");
        assert_eq!(a.sid, 2_019_401);
        assert_eq!(a.ip_protocol, 6);
        assert_eq!(a.dst_ip.len(), 16);
        let back = alert_to_eve(&a, "sensor-a");
        assert_eq!(back, v, "\n{back:#}\n!=\n{v:#}");
        // And through protobuf bytes.
        let bytes = prost::Message::encode_to_vec(&a);
        let a2 = <Alert as prost::Message>::decode(bytes.as_slice()).expect("protobuf");
        assert_eq!(a, a2);
    }

    #[test]
    fn minimal_icmp_alert_round_trips() {
        let v = json!({"timestamp": "1970-01-01T00:00:00.000001+0000", "flow_id": 7,
            "event_type": "alert", "src_ip": "10.0.0.1", "dest_ip": "10.0.0.2", "proto": "ICMP",
            "icmp_type": 8, "icmp_code": 0,
            "alert": {"action": "allowed", "gid": 1, "signature_id": 1, "rev": 1,
                      "signature": "ping", "category": "", "severity": 3}});
        let a = alert_from_eve(&v).expect("decodes");
        assert_eq!(alert_to_eve(&a, ""), v);
    }

    #[test]
    fn refuses_non_alerts_and_bad_fields() {
        assert_eq!(alert_from_eve(&json!([])), Err(EveError::NotAnObject));
        assert!(matches!(
            alert_from_eve(&json!({"event_type": "dns"})),
            Err(EveError::NotAnAlert(_))
        ));
        let mut v = sample_alert_record();
        v["src_ip"] = json!("not-an-ip");
        assert!(matches!(
            alert_from_eve(&v),
            Err(EveError::Invalid {
                field: "src_ip",
                ..
            })
        ));
        let mut v = sample_alert_record();
        v["alert"]["signature_id"] = json!(-1);
        assert!(alert_from_eve(&v).is_err());
        let mut v = sample_alert_record();
        v["timestamp"] = json!("yesterday");
        assert!(alert_from_eve(&v).is_err());
    }

    #[test]
    fn long_payload_is_cut_and_flagged() {
        let mut v = sample_alert_record();
        let big = vec![b'A'; PAYLOAD_EXCERPT_MAX + 10];
        v["payload"] = base64::engine::general_purpose::STANDARD
            .encode(&big)
            .into();
        let a = alert_from_eve(&v).expect("decodes");
        assert!(a.payload_truncated);
        assert_eq!(
            a.payload_excerpt.map(|p| p.len()),
            Some(PAYLOAD_EXCERPT_MAX)
        );
    }

    #[test]
    fn dns_v2_query_layout_is_read() {
        let mut v = sample_alert_record();
        v["dns"] = json!({"query": [{"type": "query", "id": 5, "rrname": "a.b", "rrtype": "AAAA", "tx_id": 0}]});
        let a = alert_from_eve(&v).expect("decodes");
        let d = a.dns.expect("dns");
        assert_eq!(d.r#type, "request");
        assert_eq!(d.id, Some(5));
        assert_eq!(d.queries[0].rrname, "a.b");
    }

    #[test]
    fn flow_record_from_eve_reads_the_counters() {
        let v: Value = serde_json::from_str(
            r#"{"timestamp":"2024-01-01T00:00:01.000000+0000","flow_id":7,"event_type":"flow",
            "src_ip":"10.0.0.1","src_port":1234,"dest_ip":"10.0.0.2","dest_port":80,
            "proto":"TCP","ip_v":4,"app_proto":"http","flow":{"pkts_toserver":3,
            "pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,
            "start":"2024-01-01T00:00:00.000000+0000","end":"2024-01-01T00:00:01.000000+0000",
            "age":1,"state":"closed","reason":"timeout","alerted":true},
            "tcp":{"tcp_flags":"1b","state":"closed"}}"#,
        )
        .unwrap();
        let f = flow_record_from_eve(&v).unwrap();
        assert_eq!(
            (f.flow_id, f.src_port, f.dst_port, f.ip_protocol),
            (7, 1234, 80, 6)
        );
        assert_eq!((f.pkts_toserver, f.bytes_toclient, f.age), (3, 200, 1));
        assert!(f.alerted);
        assert_eq!(f.tcp.map(|t| t.tcp_flags), Some("1b".to_string()));
        assert!(flow_record_from_eve(&serde_json::json!({"event_type": "alert"})).is_err());
    }
}
