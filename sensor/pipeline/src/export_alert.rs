//! Alerts for the national center, built from the values their EVE record is written from.
//!
//! For every alert, the worker fills one protobuf [`Alert`] from the same envelope, `alert`
//! object and trailing fields it hands to the EVE writer, encodes it, and gives the bytes to an
//! [`AlertSink`] (the exporter's queue, whose batcher then only copies them into a batch).
//! The EVE line is not read back. The fields are filled exactly as
//! [`tapwatch_proto::eve::alert_from_eve`] reads the EVE record written for the same alert;
//! the application-layer objects (`http`, `dns`, `tls`) go through the very same conversion
//! (their EVE object, then `*_from_eve`), and `tests/export_alerts.rs` holds the two equal,
//! alert by alert, on real captures with the bundled and ET Open rules.

use std::net::IpAddr;

use prost::Message as _;
use serde::Serialize;
use tapwatch_common::Timestamp;
use tapwatch_eve::{protocol_name, AlertBody, Envelope};
use tapwatch_proto::eve::{dns_from_eve, http_from_eve, tls_from_eve, PAYLOAD_EXCERPT_MAX};
use tapwatch_proto::v1::{self, Alert, Direction, StringList};

use crate::detect_run::AlertRest;

/// Where a worker's alerts go, each as an encoded protobuf `Alert` message.
pub trait AlertSink: Send {
    /// One alert: its `timestamp_us` and its `Alert` message bytes (without a length prefix).
    fn alert(&mut self, timestamp_us: i64, encoded: &[u8]);

    /// An alert that could not be encoded (it was written to EVE but never reaches the sink);
    /// the sink counts it as lost, with `reason`.
    fn unencodable(&mut self, reason: String);
}

impl AlertSink for tapwatch_export::ExportHandle {
    fn alert(&mut self, timestamp_us: i64, encoded: &[u8]) {
        // A full queue counts the drop itself (a replay's handle waits instead).
        self.try_send_alert_encoded(timestamp_us, encoded);
    }

    fn unencodable(&mut self, reason: String) {
        self.count_unencodable_alert(reason);
    }
}

/// Why an alert could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AlertBuildError {
    /// The timestamp does not fit in `i64` microseconds.
    #[error("alert timestamp {0} out of range")]
    Timestamp(Timestamp),
    /// An application-layer object did not convert.
    #[error("alert {object} object: {reason}")]
    AppLayer {
        /// `http`, `dns` or `tls`.
        object: &'static str,
        /// What went wrong.
        reason: String,
    },
}

/// A worker's alert output to a sink: builds and encodes each alert, reusing one message and
/// one buffer.
pub(crate) struct AlertExport {
    sink: Box<dyn AlertSink>,
    encoder: AlertEncoder,
}

impl std::fmt::Debug for AlertExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertExport").finish_non_exhaustive()
    }
}

impl AlertExport {
    pub fn new(sink: Box<dyn AlertSink>) -> Self {
        AlertExport {
            sink,
            encoder: AlertEncoder::default(),
        }
    }

    /// Hands the alert of one EVE alert record (`env`, `body`, `rest`, as given to the EVE
    /// writer) to the sink.
    pub fn send(&mut self, env: &Envelope<'_>, body: &AlertBody<'_>, rest: &AlertRest<'_>) {
        match self.encoder.encode(env, body, rest) {
            Ok((ts, bytes)) => self.sink.alert(ts, bytes),
            Err(e) => self
                .sink
                .unencodable(format!("alert sid {}: {e}", body.signature_id)),
        }
    }
}

/// Builds and encodes alerts, reusing one message and one buffer.
#[derive(Debug, Default)]
struct AlertEncoder {
    alert: Alert,
    buf: Vec<u8>,
}

impl AlertEncoder {
    /// The alert of one EVE alert record (`env`, `body`, `rest`, as given to the EVE writer):
    /// its timestamp and its encoded `Alert` message.
    fn encode(
        &mut self,
        env: &Envelope<'_>,
        body: &AlertBody<'_>,
        rest: &AlertRest<'_>,
    ) -> Result<(i64, &[u8]), AlertBuildError> {
        fill(&mut self.alert, env, body, rest)?;
        self.buf.clear();
        // Encoding into a Vec cannot run out of room.
        let _ = self.alert.encode(&mut self.buf);
        Ok((self.alert.timestamp_us, &self.buf))
    }
}

/// Microseconds since the epoch, as EVE's timestamp text reads back.
fn micros(ts: Timestamp) -> Result<i64, AlertBuildError> {
    ts.secs
        .checked_mul(1_000_000)
        .and_then(|us| us.checked_add(i64::from(ts.micros())))
        .ok_or(AlertBuildError::Timestamp(ts))
}

fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

fn set_ip(dst: &mut Vec<u8>, ip: Option<IpAddr>) {
    dst.clear();
    match ip {
        Some(IpAddr::V4(a)) => dst.extend_from_slice(&a.octets()),
        Some(IpAddr::V6(a)) => dst.extend_from_slice(&a.octets()),
        None => {}
    }
}

/// The message of an application-layer object, through its EVE JSON object.
fn app_layer<T: Serialize, F>(
    object: &'static str,
    value: Option<&T>,
    convert: impl Fn(
        &serde_json::Map<String, serde_json::Value>,
    ) -> Result<F, tapwatch_proto::eve::EveError>,
) -> Result<Option<F>, AlertBuildError> {
    let err = |reason: String| AlertBuildError::AppLayer { object, reason };
    let Some(value) = value else {
        return Ok(None);
    };
    match serde_json::to_value(value).map_err(|e| err(e.to_string()))? {
        serde_json::Value::Object(map) => convert(&map).map(Some).map_err(|e| err(e.to_string())),
        _ => Err(err("not a JSON object".into())),
    }
}

/// Fills `a` (every field set; nothing of a previous alert survives).
fn fill(
    a: &mut Alert,
    env: &Envelope<'_>,
    body: &AlertBody<'_>,
    rest: &AlertRest<'_>,
) -> Result<(), AlertBuildError> {
    a.timestamp_us = micros(env.timestamp)?;
    a.flow_id = env.flow_id.unwrap_or(0);
    a.pcap_cnt = env.pcap_cnt;
    a.gid = body.gid;
    a.sid = body.signature_id;
    a.rev = body.rev;
    set(&mut a.action, body.action);
    a.severity = u32::from(body.severity);
    set(&mut a.category, body.category.unwrap_or_default());
    set(&mut a.signature, body.signature);
    let (src, dst) = env.endpoints.unzip();
    set_ip(&mut a.src_ip, src.map(|e| e.ip));
    set_ip(&mut a.dst_ip, dst.map(|e| e.ip));
    a.src_port = src.and_then(|e| e.port).map_or(0, u32::from);
    a.dst_port = dst.and_then(|e| e.port).map_or(0, u32::from);
    a.ip_protocol = env.proto.map_or(0, u32::from);
    match env.proto {
        Some(p) => set(&mut a.proto, &protocol_name(p)),
        None => a.proto.clear(),
    }
    a.direction = match rest.direction {
        Some("to_server") => Direction::ToServer,
        Some("to_client") => Direction::ToClient,
        _ => Direction::Unspecified,
    } as i32;
    a.vlan.clear();
    a.vlan.extend(env.vlan.iter().map(|&v| u32::from(v)));
    a.tunnel = None;
    set(&mut a.app_proto, env.app_proto.unwrap_or_default());
    a.metadata.clear();
    if let Some(m) = body.metadata {
        a.metadata.extend(
            m.iter()
                .map(|(k, v)| (k.clone(), StringList { values: v.clone() })),
        );
    }
    a.http = app_layer("http", rest.http, http_from_eve)?;
    a.dns = app_layer("dns", rest.dns, dns_from_eve)?;
    a.tls = app_layer("tls", rest.tls, tls_from_eve)?;
    match rest.payload {
        Some(_) => {
            let excerpt = a.payload_excerpt.get_or_insert_with(Vec::new);
            excerpt.clear();
            excerpt.extend_from_slice(&rest.data[..rest.data.len().min(PAYLOAD_EXCERPT_MAX)]);
            a.payload_truncated = rest.data.len() > PAYLOAD_EXCERPT_MAX;
        }
        None => {
            a.payload_excerpt = None;
            a.payload_truncated = false;
        }
    }
    a.tx_id = env.tx_id;
    a.in_iface.clear();
    set(&mut a.pkt_src, env.pkt_src.map_or("", |s| s.name()));
    a.community_id.clear();
    a.references.clear();
    a.flow = match &rest.flow {
        Some(f) => Some(v1::AlertFlow {
            pkts_toserver: f.pkts_toserver,
            pkts_toclient: f.pkts_toclient,
            bytes_toserver: f.bytes_toserver,
            bytes_toclient: f.bytes_toclient,
            start_us: micros(f.start)?,
            src_ip: ip_bytes(f.src_ip),
            dst_ip: ip_bytes(f.dest_ip),
            src_port: f.src_port.map_or(0, u32::from),
            dst_port: f.dest_port.map_or(0, u32::from),
        }),
        None => None,
    };
    a.ip_version = match src.map(|e| e.ip) {
        Some(IpAddr::V4(_)) => 4,
        Some(IpAddr::V6(_)) => 6,
        None => 0,
    };
    a.icmp_type = env.icmp.map(|(t, _)| u32::from(t));
    a.icmp_code = env.icmp.map(|(_, c)| u32::from(c));
    a.xff.clear();
    a.source = None;
    a.target = None;
    a.stream = rest.stream.map(u64::from);
    a.rule.clear();
    Ok(())
}

fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    let mut v = Vec::with_capacity(16);
    set_ip(&mut v, Some(ip));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_protocol_name_reads_back_as_its_number() {
        // `ip_protocol` is set from the number; the center's EVE reader derives it from the
        // name. Both agree for every protocol the EVE writer can name.
        for p in 0..=u8::MAX {
            assert_eq!(
                tapwatch_proto::eve::ip_protocol_number(&protocol_name(p)),
                Some(u32::from(p)),
                "protocol {p} ({})",
                protocol_name(p)
            );
        }
    }

    #[test]
    fn timestamps_are_whole_microseconds_and_bounded() {
        assert_eq!(
            micros(Timestamp::new(1_700_000_000, 123_456_789)).ok(),
            Some(1_700_000_000_123_456)
        );
        assert!(micros(Timestamp::new(i64::MAX / 10, 0)).is_err());
    }
}
