//! Writing EVE records as JSON lines.

use std::io::{self, Write};

use serde::Serialize;

use crate::deferred::{FlowRecord, RecordSink};
use crate::envelope::Envelope;
use crate::format::{protocol_name, push_ip, push_json_str, push_key, push_timestamp, push_u64};
use crate::records::{FlowBody, TcpFlagsBody};

/// The fields of an alert record after its `alert` object, in Suricata's order
/// (`direction`, the application-layer object, `flow`, `payload`, ...).
pub trait AlertFields {
    /// Appends each field as `,"key":value` (see [`push_key`](crate::push_key) and
    /// [`push_json_str`](crate::push_json_str)).
    fn write_fields(&self, out: &mut Vec<u8>);
}

/// Writes EVE records, one JSON object per line.
///
/// The line is built in a reused buffer and written with one `write_all`, so a record is never
/// split between writes; wrap the output in a `BufWriter` for files.
#[derive(Debug)]
pub struct EveWriter<W: Write> {
    out: W,
    line: Vec<u8>,
    records: u64,
}

impl<W: Write> EveWriter<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            line: Vec::with_capacity(4096),
            records: 0,
        }
    }

    /// Number of records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Writes one record: the envelope's fields, then `body` under the event type's key.
    pub fn write<B: Serialize + ?Sized>(&mut self, env: &Envelope<'_>, body: &B) -> io::Result<()> {
        self.write_with::<B, ()>(env, body, None)
    }

    /// Writes one record with a second object beside the event's own, such as the `tcp`
    /// object of a `flow` record.
    pub fn write_with<B: Serialize + ?Sized, X: Serialize>(
        &mut self,
        env: &Envelope<'_>,
        body: &B,
        extra: Option<(&str, &X)>,
    ) -> io::Result<()> {
        self.begin(env);
        serde_json::to_writer(&mut self.line, body).map_err(io::Error::other)?;
        if let Some((key, value)) = extra {
            self.push_key(key);
            serde_json::to_writer(&mut self.line, value).map_err(io::Error::other)?;
        }
        self.finish()
    }

    /// Writes an `alert` record: the envelope, the `alert` object, then the fields of
    /// `rest` (`direction`, the application-layer object, `flow`, `payload`, ...).
    pub fn write_alert<R: AlertFields + ?Sized>(
        &mut self,
        env: &Envelope<'_>,
        alert: &crate::AlertBody<'_>,
        rest: &R,
    ) -> io::Result<()> {
        self.begin(env);
        alert.write_json(&mut self.line);
        rest.write_fields(&mut self.line);
        self.finish()
    }

    /// Writes a `flow` record, or hands it to the output to format in its place
    /// ([`RecordSink::take_flow`]); counted as written either way.
    pub fn write_flow_record(&mut self, record: FlowRecord) -> io::Result<()>
    where
        W: RecordSink,
    {
        match self.out.take_flow(record) {
            None => {
                self.records += 1;
                Ok(())
            }
            Some(record) => record.write_to(self),
        }
    }

    /// Writes a `flow` record (`env.event_type` should be [`EventType::Flow`]) and, for TCP,
    /// its `tcp` object: the same line as [`write_with`](Self::write_with) gives, built
    /// without serde, since one such record is written for every flow.
    ///
    /// [`EventType::Flow`]: crate::EventType::Flow
    pub fn write_flow(
        &mut self,
        env: &Envelope<'_>,
        body: &FlowBody,
        tcp: Option<&TcpFlagsBody>,
    ) -> io::Result<()> {
        self.begin(env);
        body.write_json(&mut self.line);
        if let Some(tcp) = tcp {
            self.push_key("tcp");
            tcp.write_json(&mut self.line);
        }
        self.finish()
    }

    /// Writes a `fileinfo` record as Suricata lays it out: the envelope, the object of the
    /// transaction that carried the file under its protocol's key (`http`), `app_proto`,
    /// then the `fileinfo` object. `env.app_proto` should be `None` (it is written here).
    pub fn write_fileinfo<A: Serialize + ?Sized, F: Serialize + ?Sized>(
        &mut self,
        env: &Envelope<'_>,
        app: (&str, &A),
        app_proto: &str,
        file: &F,
    ) -> io::Result<()> {
        self.begin_envelope(env);
        self.push_key(app.0);
        serde_json::to_writer(&mut self.line, app.1).map_err(io::Error::other)?;
        self.push_str("app_proto", app_proto);
        self.push_key(env.event_type.name());
        serde_json::to_writer(&mut self.line, file).map_err(io::Error::other)?;
        self.finish()
    }

    /// Starts a line: the envelope's fields, then the key of the event's own object.
    fn begin(&mut self, env: &Envelope<'_>) {
        self.begin_envelope(env);
        self.push_key(env.event_type.name());
    }

    /// Starts a line with the envelope's fields.
    fn begin_envelope(&mut self, env: &Envelope<'_>) {
        self.line.clear();
        self.line.extend_from_slice(b"{\"timestamp\":\"");
        push_timestamp(&mut self.line, env.timestamp);
        self.line.push(b'"');
        if let Some(id) = env.flow_id {
            self.push_number("flow_id", id);
        }
        if let Some(n) = env.pcap_cnt {
            self.push_number("pcap_cnt", n);
        }
        self.push_str("event_type", env.event_type.name());
        if !env.vlan.is_empty() {
            self.line.extend_from_slice(b",\"vlan\":[");
            for (i, id) in env.vlan.iter().enumerate() {
                if i > 0 {
                    self.line.push(b',');
                }
                push_u64(&mut self.line, u64::from(*id));
            }
            self.line.push(b']');
        }
        if let Some((src, dst)) = env.endpoints {
            self.push_ip("src_ip", src.ip);
            if let Some(p) = src.port {
                self.push_number("src_port", u64::from(p));
            }
            self.push_ip("dest_ip", dst.ip);
            if let Some(p) = dst.port {
                self.push_number("dest_port", u64::from(p));
            }
        }
        if let Some(proto) = env.proto {
            self.push_str("proto", &protocol_name(proto));
        }
        if let Some((src, _)) = env.endpoints {
            self.push_number("ip_v", if src.ip.is_ipv4() { 4 } else { 6 });
        }
        if let Some(src) = env.pkt_src {
            self.push_str("pkt_src", src.name());
        }
        if let Some((t, c)) = env.icmp {
            self.push_number("icmp_type", u64::from(t));
            self.push_number("icmp_code", u64::from(c));
        }
        if let Some(tx) = env.tx_id {
            self.push_number("tx_id", tx);
        }
        if let Some(app) = env.app_proto {
            self.push_str("app_proto", app);
        }
    }

    /// Ends the line and writes it.
    fn finish(&mut self) -> io::Result<()> {
        self.line.extend_from_slice(b"}\n");
        self.out.write_all(&self.line)?;
        self.records += 1;
        Ok(())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, mutably (bytes written to it directly are not records).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn push_key(&mut self, key: &str) {
        push_key(&mut self.line, key);
    }

    fn push_number(&mut self, key: &str, value: u64) {
        self.push_key(key);
        push_u64(&mut self.line, value);
    }

    fn push_str(&mut self, key: &str, value: &str) {
        self.push_key(key);
        push_json_str(&mut self.line, value);
    }

    fn push_ip(&mut self, key: &str, ip: std::net::IpAddr) {
        self.push_key(key);
        self.line.push(b'"');
        push_ip(&mut self.line, ip);
        self.line.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Endpoint, EventType, PacketSource};
    use std::net::{IpAddr, Ipv4Addr};
    use tapwatch_common::Timestamp;

    #[test]
    fn alert_record_has_the_rest_after_the_alert_object() {
        let mut w = EveWriter::new(Vec::new());
        let env = Envelope::new(Timestamp::new(0, 0), EventType::Alert);
        let alert = crate::AlertBody {
            action: "allowed",
            gid: 1,
            signature_id: 9,
            rev: 0,
            signature: "m",
            category: Some("c"),
            severity: 2,
            metadata: None,
        };
        struct Direction(Option<&'static str>);
        impl AlertFields for Direction {
            fn write_fields(&self, out: &mut Vec<u8>) {
                if let Some(d) = self.0 {
                    push_key(out, "direction");
                    push_json_str(out, d);
                }
            }
        }
        w.write_alert(&env, &alert, &Direction(Some("to_server")))
            .unwrap();
        // An empty rest adds nothing.
        w.write_alert(&env, &alert, &Direction(None)).unwrap();
        let out = String::from_utf8(w.into_inner()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "{\"timestamp\":\"1970-01-01T00:00:00.000000+0000\",\"event_type\":\"alert\",\
             \"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":9,\"rev\":0,\
             \"signature\":\"m\",\"category\":\"c\",\"severity\":2},\"direction\":\"to_server\"}"
        );
        assert!(lines[1].ends_with("\"severity\":2}}"));
        for l in lines {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }

    #[test]
    fn record_has_suricata_field_order() {
        let mut w = EveWriter::new(Vec::new());
        let env = Envelope {
            flow_id: Some(2_126_210_112_335_355),
            pcap_cnt: Some(7),
            vlan: &[1603],
            endpoints: Some((
                Endpoint {
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    port: Some(49404),
                },
                Endpoint {
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    port: Some(80),
                },
            )),
            proto: Some(6),
            pkt_src: Some(PacketSource::Wire),
            tx_id: Some(0),
            ..Envelope::new(Timestamp::new(1_668_775_143, 298_992_000), EventType::Http)
        };
        let body = serde_json::json!({"hostname": "localhost"});
        w.write(&env, &body).unwrap();
        let line = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            line,
            "{\"timestamp\":\"2022-11-18T12:39:03.298992+0000\",\"flow_id\":2126210112335355,\
             \"pcap_cnt\":7,\"event_type\":\"http\",\"vlan\":[1603],\"src_ip\":\"127.0.0.1\",\
             \"src_port\":49404,\"dest_ip\":\"127.0.0.1\",\"dest_port\":80,\"proto\":\"TCP\",\
             \"ip_v\":4,\"pkt_src\":\"wire/pcap\",\"tx_id\":0,\"http\":{\"hostname\":\"localhost\"}}\n"
        );
        // The line is valid JSON.
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["http"]["hostname"], "localhost");
    }

    #[test]
    fn fileinfo_record_has_the_app_object_then_app_proto_then_fileinfo() {
        let mut w = EveWriter::new(Vec::new());
        let env = Envelope {
            flow_id: Some(7),
            tx_id: Some(3),
            ..Envelope::new(Timestamp::new(0, 0), EventType::Fileinfo)
        };
        let app = serde_json::json!({"hostname": "h"});
        let file = serde_json::json!({"filename": "f"});
        w.write_fileinfo(&env, ("http", &app), "http", &file)
            .unwrap();
        let out = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            out,
            "{\"timestamp\":\"1970-01-01T00:00:00.000000+0000\",\"flow_id\":7,\
             \"event_type\":\"fileinfo\",\"tx_id\":3,\"http\":{\"hostname\":\"h\"},\
             \"app_proto\":\"http\",\"fileinfo\":{\"filename\":\"f\"}}\n"
        );
    }

    #[test]
    fn strings_needing_escapes_are_escaped() {
        for value in [
            "plain",
            "quote\"in",
            "back\\slash",
            "ctl\u{1}",
            "del\u{7f}",
            "\u{e9}t\u{e9}",
        ] {
            let mut w = EveWriter::new(Vec::new());
            w.push_str("k", value);
            let expected = format!(",\"k\":{}", serde_json::to_string(value).unwrap());
            assert_eq!(String::from_utf8(w.line).unwrap(), expected);
        }
    }

    #[test]
    fn flow_records_match_the_generic_path() {
        let env = Envelope {
            flow_id: Some(42),
            endpoints: Some((
                Endpoint {
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    port: Some(1),
                },
                Endpoint {
                    ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                    port: Some(2),
                },
            )),
            proto: Some(6),
            app_proto: Some("failed"),
            ..Envelope::new(Timestamp::new(1_668_775_143, 298_992_000), EventType::Flow)
        };
        let body = crate::FlowBody {
            pkts_toserver: 1,
            pkts_toclient: 2,
            bytes_toserver: 3,
            bytes_toclient: 4,
            start: Timestamp::new(1_668_775_143, 298_992_000),
            end: Timestamp::new(1_668_775_150, 0),
            state: "closed",
            reason: "shutdown",
            alerted: false,
        };
        let tcp = crate::TcpFlagsBody {
            flags_ts: 0x1b,
            flags_tc: 0x1a,
            state: Some("closed"),
        };
        for tcp in [Some(&tcp), None] {
            let mut generic = EveWriter::new(Vec::new());
            generic
                .write_with(&env, &body, tcp.map(|t| ("tcp", t)))
                .unwrap();
            let mut direct = EveWriter::new(Vec::new());
            direct.write_flow(&env, &body, tcp).unwrap();
            assert_eq!(direct.records(), 1);
            assert_eq!(direct.into_inner(), generic.into_inner());
        }
    }
}
