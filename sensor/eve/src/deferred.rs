//! `flow` records that the output may format off the packet path.
//!
//! A sensor writes one `flow` record per flow, the most frequent record of all. Suricata
//! writes them from its flow-recycler thread rather than from the packet workers; here the
//! worker builds a [`FlowRecord`] (plain values, no borrowing) and offers it to its output
//! through [`RecordSink::take_flow`]. An output with a thread of its own (the EVE file
//! writer) takes it and formats it there, in its place among the other records; any other
//! output hands it back and [`EveWriter::write_flow_record`] formats it at once. The line
//! is the same either way.

use std::fs::File;
use std::io::{self, BufWriter, Sink, Stdout, StdoutLock, Write};

use tapwatch_common::Timestamp;

use crate::envelope::{Endpoint, Envelope, EventType};
use crate::records::{FlowBody, TcpFlagsBody};
use crate::writer::EveWriter;

/// Everything a `flow` record holds, owned.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    /// The flow's first packet time (the record's `timestamp`).
    pub start: Timestamp,
    /// The flow's id.
    pub flow_id: u64,
    /// VLAN ids, outermost first.
    pub vlan: Vec<u16>,
    /// Client and server.
    pub endpoints: (Endpoint, Endpoint),
    /// IP protocol number.
    pub proto: u8,
    /// ICMP type and code, for ICMP flows.
    pub icmp: Option<(u8, u8)>,
    /// The application protocol (`app_proto`), if one was detected or detection failed.
    pub app_proto: Option<&'static str>,
    /// The `flow` object.
    pub body: FlowBody,
    /// The `tcp` object, for TCP flows.
    pub tcp: Option<TcpFlagsBody>,
}

impl FlowRecord {
    /// The record's envelope.
    pub fn envelope(&self) -> Envelope<'_> {
        Envelope {
            flow_id: Some(self.flow_id),
            vlan: &self.vlan,
            endpoints: Some(self.endpoints),
            proto: Some(self.proto),
            icmp: self.icmp,
            app_proto: self.app_proto,
            ..Envelope::new(self.start, EventType::Flow)
        }
    }

    /// Writes the record as one line to `out`.
    pub fn write_to<W: Write>(&self, out: &mut EveWriter<W>) -> io::Result<()> {
        out.write_flow(&self.envelope(), &self.body, self.tcp.as_ref())
    }
}

/// An EVE output: a byte stream that may also take `flow` records to format itself.
pub trait RecordSink: Write {
    /// Takes `record` to be written, formatted, after the bytes written so far and before
    /// those written next (`None`); or hands it back (`Some`) for the caller to format. The
    /// default hands it back.
    fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
        Some(record)
    }

    /// Passes on what was gathered so far without waiting for more (an output that writes
    /// in chunks hands over its partial chunk); unlike `flush`, it does not wait for the
    /// bytes to be written. The worker calls it about once a second of packet time, so that
    /// a quiet sensor's records reach the file soon. The default does nothing.
    fn hand_over(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: RecordSink + ?Sized> RecordSink for Box<S> {
    fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
        (**self).take_flow(record)
    }

    fn hand_over(&mut self) -> io::Result<()> {
        (**self).hand_over()
    }
}

impl<S: RecordSink + ?Sized> RecordSink for &mut S {
    fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
        (**self).take_flow(record)
    }

    fn hand_over(&mut self) -> io::Result<()> {
        (**self).hand_over()
    }
}

impl RecordSink for Vec<u8> {}
impl RecordSink for File {}
impl RecordSink for Sink {}
impl RecordSink for Stdout {}
impl RecordSink for StdoutLock<'_> {}
impl<W: Write> RecordSink for BufWriter<W> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> FlowRecord {
        FlowRecord {
            start: Timestamp::new(1_700_000_000, 5_000),
            flow_id: 42,
            vlan: vec![7],
            endpoints: (
                Endpoint {
                    ip: "10.0.0.1".parse().unwrap(),
                    port: Some(40000),
                },
                Endpoint {
                    ip: "192.0.2.9".parse().unwrap(),
                    port: Some(80),
                },
            ),
            proto: 6,
            icmp: None,
            app_proto: Some("http"),
            body: FlowBody {
                pkts_toserver: 3,
                pkts_toclient: 2,
                bytes_toserver: 300,
                bytes_toclient: 200,
                start: Timestamp::new(1_700_000_000, 5_000),
                end: Timestamp::new(1_700_000_002, 0),
                state: "closed",
                reason: "timeout",
                alerted: false,
            },
            tcp: Some(TcpFlagsBody {
                flags_ts: 0x1b,
                flags_tc: 0x1b,
                state: Some("closed"),
            }),
        }
    }

    /// Takes every record and formats it into its own buffer, as a background output would.
    #[derive(Default)]
    struct Taking {
        bytes: Vec<u8>,
        taken: usize,
    }

    impl Write for Taking {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl RecordSink for Taking {
        fn take_flow(&mut self, record: FlowRecord) -> Option<FlowRecord> {
            self.taken += 1;
            let mut w = EveWriter::new(&mut self.bytes);
            record.write_to(&mut w).err().map(|_| record)
        }
    }

    #[test]
    fn a_taken_record_and_a_formatted_one_give_the_same_line() {
        let mut formatted = EveWriter::new(Vec::new());
        formatted.write_flow_record(record()).unwrap();
        assert_eq!(formatted.records(), 1);
        let line = String::from_utf8(formatted.into_inner()).unwrap();
        assert!(line.starts_with("{\"timestamp\":\"2023-11-14T22:13:20.000005+0000\",\"flow_id\":42,\"event_type\":\"flow\",\"vlan\":[7],"), "{line}");
        assert!(
            line.contains("\"app_proto\":\"http\",\"flow\":{\"pkts_toserver\":3,"),
            "{line}"
        );
        assert!(
            line.contains("\"tcp\":{") && line.ends_with("}}\n"),
            "{line}"
        );

        let mut taking = EveWriter::new(Taking::default());
        taking.write_flow_record(record()).unwrap();
        assert_eq!(taking.records(), 1);
        let out = taking.into_inner();
        assert_eq!(out.taken, 1);
        assert_eq!(String::from_utf8(out.bytes).unwrap(), line);
    }
}
