//! The fast path from one EVE `alert` line (JSON text) to an [`Alert`], for the sensor's
//! exporter, which converts every alert it sends.
//!
//! [`alert_from_eve_line`] gives the same [`Alert`] as parsing the line into a
//! `serde_json::Value` and calling [`alert_from_eve`](crate::eve::alert_from_eve), and fails on
//! the same lines (and also on a key repeated within one object, which the slow path reads as
//! its last value and no EVE writer produces), but reads the fields every alert has straight into borrowed structs (no
//! JSON tree, no key strings, unknown fields skipped). The rarer application-layer objects
//! (`http`, `dns`, `tls`, `tunnel`, `alert.metadata`) are read as JSON objects and converted by
//! the same code as the slow path, so the two cannot drift apart.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::eve::{
    dns_from_eve, http_from_eve, invalid, ip_protocol_number, ip_to_bytes, metadata_from_eve,
    payload_excerpt, tls_from_eve, tunnel_from_eve, EveError,
};
use crate::time::parse_timestamp_us;
use crate::v1::{Alert, AlertFlow, Direction, Endpoint};

/// A JSON string, borrowed from the line when it has no escapes.
#[derive(Debug, Default)]
struct Str<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

/// Present (even as `null`) or not: `payload: null` differs from no `payload` in the slow path.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Str<'de>>>, D::Error> {
    Option::<Str<'de>>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    timestamp: Option<Str<'a>>,
    flow_id: Option<u64>,
    pcap_cnt: Option<u64>,
    #[serde(borrow)]
    event_type: Option<Str<'a>>,
    #[serde(borrow)]
    alert: Option<AlertObj<'a>>,
    proto: Option<String>,
    #[serde(borrow, default, deserialize_with = "present")]
    payload: Option<Option<Str<'a>>>,
    #[serde(borrow)]
    direction: Option<Str<'a>>,
    vlan: Option<Vec<u32>>,
    #[serde(borrow)]
    src_ip: Option<Str<'a>>,
    #[serde(borrow)]
    dest_ip: Option<Str<'a>>,
    src_port: Option<u32>,
    dest_port: Option<u32>,
    tunnel: Option<Map<String, Value>>,
    app_proto: Option<String>,
    http: Option<Map<String, Value>>,
    dns: Option<Map<String, Value>>,
    tls: Option<Map<String, Value>>,
    tx_id: Option<u64>,
    in_iface: Option<String>,
    pkt_src: Option<String>,
    community_id: Option<String>,
    #[serde(borrow)]
    flow: Option<FlowObj<'a>>,
    ip_v: Option<u32>,
    icmp_type: Option<u32>,
    icmp_code: Option<u32>,
    stream: Option<u64>,
}

#[derive(Deserialize)]
struct AlertObj<'a> {
    action: Option<String>,
    gid: Option<u32>,
    signature_id: Option<u32>,
    rev: Option<u32>,
    signature: Option<String>,
    category: Option<String>,
    severity: Option<u32>,
    #[serde(borrow)]
    source: Option<EndpointObj<'a>>,
    #[serde(borrow)]
    target: Option<EndpointObj<'a>>,
    xff: Option<String>,
    references: Option<Vec<String>>,
    metadata: Option<Map<String, Value>>,
    rule: Option<String>,
}

#[derive(Deserialize)]
struct EndpointObj<'a> {
    #[serde(borrow)]
    ip: Option<Str<'a>>,
    port: Option<u32>,
}

#[derive(Deserialize)]
struct FlowObj<'a> {
    pkts_toserver: Option<u64>,
    pkts_toclient: Option<u64>,
    bytes_toserver: Option<u64>,
    bytes_toclient: Option<u64>,
    #[serde(borrow)]
    start: Option<Str<'a>>,
    #[serde(borrow)]
    src_ip: Option<Str<'a>>,
    #[serde(borrow)]
    dest_ip: Option<Str<'a>>,
    src_port: Option<u32>,
    dest_port: Option<u32>,
}

fn ip(s: Option<Str<'_>>, field: &'static str) -> Result<Vec<u8>, EveError> {
    match s {
        None => Ok(Vec::new()),
        Some(Str(s)) if s.is_empty() => Ok(Vec::new()),
        Some(Str(s)) => {
            ip_to_bytes(&s).ok_or_else(|| invalid(field, format!("not an IP address: {s:?}")))
        }
    }
}

fn ts(s: Option<Str<'_>>, field: &'static str) -> Result<Option<i64>, EveError> {
    match s {
        None => Ok(None),
        Some(Str(s)) if s.is_empty() => Ok(None),
        Some(Str(s)) => parse_timestamp_us(&s)
            .map(Some)
            .ok_or_else(|| invalid(field, format!("not an EVE timestamp: {s:?}"))),
    }
}

fn endpoint(e: EndpointObj<'_>, field: &'static str) -> Result<Endpoint, EveError> {
    Ok(Endpoint {
        ip: ip(e.ip, field)?,
        port: e.port.unwrap_or(0),
    })
}

fn flow(f: FlowObj<'_>) -> Result<AlertFlow, EveError> {
    Ok(AlertFlow {
        pkts_toserver: f.pkts_toserver.unwrap_or(0),
        pkts_toclient: f.pkts_toclient.unwrap_or(0),
        bytes_toserver: f.bytes_toserver.unwrap_or(0),
        bytes_toclient: f.bytes_toclient.unwrap_or(0),
        start_us: ts(f.start, "flow.start")?.unwrap_or(0),
        src_ip: ip(f.src_ip, "flow.src_ip")?,
        dst_ip: ip(f.dest_ip, "flow.dest_ip")?,
        src_port: f.src_port.unwrap_or(0),
        dst_port: f.dest_port.unwrap_or(0),
    })
}

/// Reads one EVE `event_type: alert` line (JSON text, surrounding whitespace allowed) as
/// [`alert_from_eve`](crate::eve::alert_from_eve) would read its parsed `Value`.
pub fn alert_from_eve_line(line: &[u8]) -> Result<Alert, EveError> {
    // serde would also read a JSON array positionally into the struct; the slow path refuses
    // anything but an object.
    if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            Ok(_) => Err(EveError::NotAnObject),
            Err(e) => Err(EveError::Json(e.to_string())),
        };
    }
    let l: Line<'_> = serde_json::from_slice(line).map_err(|e| EveError::Json(e.to_string()))?;
    let event_type = l.event_type.map(|s| s.0).unwrap_or_default();
    if event_type != "alert" {
        return Err(EveError::NotAnAlert(event_type.into_owned()));
    }
    let a = l.alert.ok_or(EveError::Missing("alert"))?;
    let timestamp_us = ts(l.timestamp, "timestamp")?.ok_or(EveError::Missing("timestamp"))?;
    let proto = l.proto.unwrap_or_default();
    let payload = l.payload.map(|p| p.map(|s| s.0).unwrap_or_default());
    let (payload_excerpt, payload_truncated) = payload_excerpt(payload.as_deref())?;
    let direction = match l.direction.as_ref().map(|s| s.0.as_ref()) {
        Some("to_server") => Direction::ToServer,
        Some("to_client") => Direction::ToClient,
        _ => Direction::Unspecified,
    };
    Ok(Alert {
        timestamp_us,
        flow_id: l.flow_id.unwrap_or(0),
        pcap_cnt: l.pcap_cnt,
        gid: a.gid.unwrap_or(1),
        sid: a
            .signature_id
            .ok_or(EveError::Missing("alert.signature_id"))?,
        rev: a.rev.unwrap_or(0),
        action: a.action.unwrap_or_default(),
        severity: a.severity.unwrap_or(0),
        category: a.category.unwrap_or_default(),
        signature: a.signature.unwrap_or_default(),
        src_ip: ip(l.src_ip, "src_ip")?,
        dst_ip: ip(l.dest_ip, "dest_ip")?,
        src_port: l.src_port.unwrap_or(0),
        dst_port: l.dest_port.unwrap_or(0),
        ip_protocol: ip_protocol_number(&proto).unwrap_or(0),
        proto,
        direction: direction as i32,
        vlan: l.vlan.unwrap_or_default(),
        tunnel: l.tunnel.as_ref().map(tunnel_from_eve).transpose()?,
        app_proto: l.app_proto.unwrap_or_default(),
        metadata: a
            .metadata
            .as_ref()
            .map(metadata_from_eve)
            .unwrap_or_default(),
        http: l.http.as_ref().map(http_from_eve).transpose()?,
        dns: l.dns.as_ref().map(dns_from_eve).transpose()?,
        tls: l.tls.as_ref().map(tls_from_eve).transpose()?,
        payload_excerpt,
        payload_truncated,
        tx_id: l.tx_id,
        in_iface: l.in_iface.unwrap_or_default(),
        pkt_src: l.pkt_src.unwrap_or_default(),
        community_id: l.community_id.unwrap_or_default(),
        references: a.references.unwrap_or_default(),
        flow: l.flow.map(flow).transpose()?,
        ip_version: l.ip_v.unwrap_or(0),
        icmp_type: l.icmp_type,
        icmp_code: l.icmp_code,
        xff: a.xff.unwrap_or_default(),
        source: a
            .source
            .map(|e| endpoint(e, "alert.source.ip"))
            .transpose()?,
        target: a
            .target
            .map(|e| endpoint(e, "alert.source.ip"))
            .transpose()?,
        stream: l.stream,
        rule: a.rule.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests;
